"""Resume: a sweep killed with SIGKILL picks up where it stopped; a folder belongs to one spec.

The kill test runs the real command line in a subprocess and kills the parent process
once some run files exist, as a user's ``kill -9`` or an out-of-memory kill would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from experiments.cli import main
from experiments.sweep.errors import SpecError
from experiments.sweep.runner import prepare
from experiments.sweep.spec import load_spec
from model.scenario import PROJECT_ROOT

HEAD = """
scenario = "south_asia_2025"
until = 2025-03-01
households = 1800
"""
GRID = """
replicates = 4
[design]
kind = "grid"
[parameters."shocks.pak_allocation.mw"]
values = [500, 1000, 2000, 3000, 4000]
[parameters."shocks.pak_allocation.tariff_usd_per_kwh"]
values = [0.05, 0.1]
[output]
metrics = ["hashrate_ehs", "adoption_rate"]
"""


def spec_file(tmp_path: Path, body: str, name: str = "spec.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(HEAD) + textwrap.dedent(body))
    return path


def sweep_cmd(spec: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "experiments", "sweep", str(spec), "--out", str(out), "--workers", "2", *extra]


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of a process group, from /proc."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            pids.append(int(stat.parent.name))
    return pids


def test_sigkill_then_resume_runs_each_run_exactly_once(tmp_path):
    spec_path = spec_file(tmp_path, GRID)
    out = tmp_path / "out"
    runs = out / "runs"
    proc = subprocess.Popen(sweep_cmd(spec_path, out), cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if runs.is_dir() and len(list(runs.glob("run_*.parquet"))) >= 4:
                break
            time.sleep(0.01)
        assert proc.poll() is None, "the sweep ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)  # the parent only, as the kernel's OOM killer would
        proc.wait(timeout=10)
        # Its workers and fork server notice and exit by themselves (no orphans left waiting).
        deadline = time.monotonic() + 15
        while group_members(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not group_members(proc.pid)
    finally:
        try:  # in case of a failure above: stop what we started (its own session, by id)
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert proc.returncode == -signal.SIGKILL

    design = pd.read_parquet(out / "design.parquet")
    before = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in runs.glob("run_*.parquet")}
    assert 4 <= len(before) < len(design)  # killed in the middle
    # whatever the kill left, a glob of *.parquet reads only whole files
    for p in out.rglob("*.parquet"):
        pq.read_table(p)

    resumed = subprocess.run(sweep_cmd(spec_path, out, "--quiet"), cwd=PROJECT_ROOT, capture_output=True,
                             text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    files = sorted(p.name for p in runs.iterdir())
    assert files == sorted(f"run_{r}.parquet" for r in design["run_id"])  # each run once, nothing else
    assert not [p for p in out.rglob("*") if ".tmp-" in p.name]
    after = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in runs.glob("run_*.parquet")}
    assert {k: after[k] for k in before} == before  # done runs were not run or written again
    df = pd.read_parquet(runs)
    assert df.groupby("run_id").size().nunique() == 1 and df["run_id"].nunique() == len(design)
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["sessions"]) == 2
    assert manifest["sessions"][1]["ran"] == len(design) - len(before)


def test_leftover_temporary_files_are_removed_and_never_globbed(tmp_path):
    spec = load_spec(spec_file(tmp_path, GRID))
    out = tmp_path / "out"
    prepare(spec, out)
    stale = out / "runs" / ".run_p0000_r00.parquet.tmp-123-0"
    stale.write_bytes(b"PAR1 half a file")
    assert not list((out / "runs").glob("*.parquet"))  # not what a reader's glob picks up
    prep = prepare(spec, out)
    assert prep.cleaned == 1 and not stale.exists()
    assert len(prep.todo) == 40 and prep.resumed


def test_a_folder_made_by_another_spec_is_refused(tmp_path, capsys):
    first = spec_file(tmp_path, GRID, "first.toml")
    second = spec_file(tmp_path, GRID.replace("replicates = 4", "replicates = 3"), "second.toml")
    out = tmp_path / "out"
    prepare(load_spec(first), out)
    with pytest.raises(SpecError, match="made by a different spec"):
        prepare(load_spec(second), out)
    assert main(["sweep", str(second), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "error: " in err and "different spec" in err and "first.toml" in err
    # the same spec, even reformatted, resumes
    same = spec_file(tmp_path, "# reformatted\n" + GRID, "same.toml")
    assert prepare(load_spec(same), out).resumed


def test_a_non_sweep_folder_is_refused(tmp_path, capsys):
    out = tmp_path / "busy"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    spec = spec_file(tmp_path, GRID)
    assert main(["sweep", str(spec), "--out", str(out)]) == 2
    assert "not a sweep folder" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
