"""Sweep folders that are damaged or shared: broken run files are recomputed on resume and
refused by readers; one sweep at a time holds a folder (issue 11, section 5).

One small finished sweep (2 points x 2 replicates, 1,800 households, two months) is made
once per module and copied for each test that damages it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from conftest import read_runs

from experiments.cli import main
from experiments.sweep.errors import SpecError
from experiments.sweep.runner import prepare, run_sweep
from experiments.sweep.spec import load_spec
from experiments.sweep.storage import LOCK, SweepFolder
from model.scenario import PROJECT_ROOT

SPEC = """
scenario = "south_asia_2025"
until = 2025-03-01
households = 1800
replicates = 2
[design]
kind = "grid"
[parameters."shocks.pak_allocation.tariff_usd_per_kwh"]
values = [0.05, 0.12]
[output]
metrics = ["hashrate_ehs", "adoption_rate"]
countries = ["PAK", "WORLD"]
"""
VICTIM = "run_p0001_r00.parquet"



@pytest.fixture(scope="module")
def finished(tmp_path_factory, pool):
    """(spec path, folder of a finished sweep, its runs as a table)."""
    root = tmp_path_factory.mktemp("integrity")
    spec = root / "spec.toml"
    spec.write_text(textwrap.dedent(SPEC))
    ex, slots = pool
    report = run_sweep(load_spec(spec), root / "out", ex, slots=slots)
    assert report.done == report.runs == 4
    return spec, root / "out", read_runs(root / "out")


@pytest.fixture
def copy(finished, tmp_path):
    spec, out, runs = finished
    dest = tmp_path / "out"
    shutil.copytree(out, dest)
    return spec, dest, runs


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


# ----------------------------------------------------------------------------- broken run files
def test_a_truncated_run_file_is_recomputed_on_resume(copy, pool, capsys):
    spec, out, expected = copy
    victim = out / "runs" / VICTIM
    truncate(victim)
    others = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in (out / "runs").iterdir() if p != victim}
    ex, slots = pool
    report = run_sweep(load_spec(spec), out, ex, slots=slots)
    assert report.ran == 1 and report.done == 4 and report.failed == 0
    err = capsys.readouterr().err
    assert "1 run file(s) broken" in err and "p0001_r00" in err
    pq.read_table(victim)  # whole again
    pd.testing.assert_frame_equal(read_runs(out), expected)  # the same numbers as the first time
    assert {p.name: (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in (out / "runs").iterdir() if p != victim} == others  # whole files untouched
    session = json.loads((out / "manifest.json").read_text())["sessions"][-1]
    assert session["recomputed"] == ["p0001_r00"] and session["ran"] == 1
    assert not (out / LOCK).exists()  # released at the end


def test_an_empty_or_short_run_file_is_recomputed_by_the_command_line(copy, capsys):
    spec, out, expected = copy
    (out / "runs" / "run_p0000_r00.parquet").write_bytes(b"")
    table = pq.read_table(out / "runs" / VICTIM)  # whole Parquet, but rows missing (recorded count kept)
    pq.write_table(table.slice(0, table.num_rows // 2), out / "runs" / VICTIM)
    assert main(["sweep", str(spec), "--out", str(out), "--workers", "1", "--quiet"]) == 0
    assert "2 run file(s) broken" in capsys.readouterr().err
    pd.testing.assert_frame_equal(read_runs(out), expected)


@pytest.mark.parametrize("damage", ["truncate", "rows"])
def test_results_and_analyze_refuse_a_broken_file_naming_it(copy, capsys, damage):
    spec, out, _ = copy
    victim = out / "runs" / VICTIM
    if damage == "truncate":
        truncate(victim)
    else:
        table = pq.read_table(victim)
        pq.write_table(table.slice(0, table.num_rows - 1), victim)
    commands = [["results", str(out)],
                ["results", str(out), "--sql", "SELECT count(*) FROM runs"],
                ["analyze", str(out), "--no-figures", "--outcome", "x=last(hashrate_ehs@WORLD)"]]
    for argv in commands:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("error: ") and "Traceback" not in err, err
        assert VICTIM in err and "rerunning the sweep" in err and str(spec) in err, err
    assert not (out / "analysis").exists()


# ----------------------------------------------------------------------------- one sweep at a time
HOLDER = """
import sys
from experiments.sweep.storage import SweepFolder
lock = SweepFolder(sys.argv[1]).acquire()
print("locked", flush=True)
sys.stdin.read()  # hold until the test closes our stdin (or kills us)
lock.release()
"""


def hold(out: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(out)], cwd=PROJECT_ROOT, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    return proc


def test_a_second_sweep_into_a_locked_folder_is_refused_naming_the_holder(copy, capsys):
    spec, out, _ = copy
    manifest = (out / "manifest.json").read_text()
    holder = hold(out)
    try:
        assert main(["sweep", str(spec), "--out", str(out), "--workers", "1", "--quiet"]) == 2
        err = capsys.readouterr().err
        assert f"pid {holder.pid}" in err and "in use by another sweep" in err and "Traceback" not in err
        assert (out / "manifest.json").read_text() == manifest  # the refused sweep wrote nothing
        with pytest.raises(SpecError, match=f"pid {holder.pid}"):
            prepare(load_spec(spec), out)
    finally:
        holder.stdin.close()  # the holder releases and exits
        holder.wait(timeout=30)
    assert holder.returncode == 0 and not (out / LOCK).exists()
    assert main(["sweep", str(spec), "--out", str(out), "--quiet"]) == 0  # free again (nothing left to run)


def test_two_identical_sweeps_at_once_one_is_refused(finished, tmp_path, capsys):
    """The user's case: the same command started twice into one folder."""
    spec, _, _ = finished
    out = tmp_path / "out"
    bigger = tmp_path / "spec.toml"
    bigger.write_text(spec.read_text().replace("replicates = 2", "replicates = 4"))  # 8 runs
    first = subprocess.Popen([sys.executable, "-m", "experiments", "sweep", str(bigger), "--out", str(out),
                              "--workers", "1", "--quiet"], cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not (out / "manifest.json").exists() and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert first.poll() is None, "the first sweep ended before the second started"
        assert main(["sweep", str(bigger), "--out", str(out), "--workers", "1", "--quiet"]) == 2
        err = capsys.readouterr().err
        assert f"in use by another sweep (pid {first.pid} " in err, err
        assert first.wait(timeout=300) == 0, first.stderr.read()
    finally:
        if first.poll() is None:  # only on a failure above: stop the sweep we started, by its id
            os.killpg(first.pid, signal.SIGKILL)
            first.wait()
    sessions = json.loads((out / "manifest.json").read_text())["sessions"]
    assert len(sessions) == 1 and sessions[0]["ran"] == sessions[0]["done"] == 8  # nothing lost or doubled
    assert len(list((out / "runs").glob("run_*.parquet"))) == 8 and not (out / LOCK).exists()


def test_the_lock_is_per_open_file_so_one_process_cannot_take_it_twice(copy):
    spec, out, _ = copy
    with SweepFolder(out).acquire():
        with pytest.raises(SpecError, match=f"in use by another sweep \\(pid {os.getpid()} "):
            SweepFolder(out).acquire()
    with SweepFolder(out).acquire() as lock:  # released by the with block: free again
        assert lock.held
    assert not lock.held and not (out / LOCK).exists()


def test_the_lock_of_a_killed_sweep_is_taken_over(copy, capsys):
    spec, out, _ = copy
    holder = hold(out)
    holder.kill()  # SIGKILL: no chance to clean up; the kernel drops the flock
    holder.wait(timeout=30)
    assert holder.returncode == -signal.SIGKILL
    assert json.loads((out / LOCK).read_text())["pid"] == holder.pid  # left behind
    assert main(["sweep", str(spec), "--out", str(out), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert f"pid {holder.pid}" in err and "taken over" in err
    assert not (out / LOCK).exists()


def test_a_lock_file_naming_a_dead_pid_is_taken_over(copy):
    spec, out, _ = copy
    (out / LOCK).write_text(json.dumps({"pid": 2**22 + 12345, "host": "elsewhere"}) + "\n")
    prep = prepare(load_spec(spec), out)
    try:
        assert prep.lock.held and json.loads((out / LOCK).read_text())["pid"] == os.getpid()
    finally:
        prep.release()
    assert not (out / LOCK).exists()


def test_the_lock_is_released_when_the_sweep_is_interrupted(copy):
    spec, out, _ = copy
    (out / "runs" / VICTIM).unlink()  # one run to do

    class Interrupting:
        def submit(self, fn, *args, **kwargs):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(load_spec(spec), out, Interrupting(), slots=1)
    assert not (out / LOCK).exists()
    SweepFolder(out).acquire().release()  # and nothing holds it


def test_a_non_sweep_folder_gets_no_lock_file(tmp_path, finished):
    spec, _, _ = finished
    out = tmp_path / "busy"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(SpecError, match="not a sweep folder"):
        SweepFolder(out).acquire()
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
