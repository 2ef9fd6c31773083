"""Output folders are safe (issue 11, part 2): run, sweep and study never remove a file
they did not write, refuse the folders that are never outputs, and check the folder
before any work.

A refusal must come before the work: tests of refusals replace the model's ``run`` (the
sweep's executor, the study's sweep) by one that fails the test, so the check is proven to
come first, and a version without the check could not reach the point where it deletes.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import experiments.outdir  # noqa: F401 - imported before a test drops privileges
import experiments.runs  # noqa: F401
from experiments.cli import main, parser
from model.model import CryptoAdoptionModel
from model.scenario import PROJECT_ROOT

RUN = ["run", "south_asia_2025", "--households", "1800", "--until", "2025-02-01", "--no-figures", "--quiet"]
SPEC = """
scenario = "south_asia_2025"
until = 2025-03-01
households = 1800
[design]
kind = "grid"
[parameters."shocks.pak_allocation.tariff_usd_per_kwh"]
values = [0.05]
"""


def _fail(*args, **kwargs):
    raise AssertionError("the work started: the output folder was not checked first")


@pytest.fixture
def no_work(monkeypatch):
    """The model's run, the sweep's executor and the study's sweep fail the test if reached."""
    import experiments.studies.common as common
    import experiments.sweep.runner as runner
    monkeypatch.setattr(CryptoAdoptionModel, "run", _fail)
    monkeypatch.setattr(runner, "open_executor", _fail)
    monkeypatch.setattr(common, "prepare", _fail)


def users_folder(parent: Path, name: str = "mine") -> Path:
    """A folder a user made: a file, a subfolder, and names a run or study writes."""
    folder = parent / name
    (folder / "data").mkdir(parents=True)
    (folder / "notes.txt").write_text("my notes")
    (folder / "data" / "prices.csv").write_text("a,b\n1,2\n")
    (folder / "report.md").write_text("my report")
    return folder


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def hidden_beside(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.parent.iterdir() if p.name.startswith(f".{folder.name}."))


def error_of(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    return err


def manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


# ---------------------------------------------------------------------------- run: refused folders
@pytest.mark.parametrize("force", [False, True])
def test_run_into_a_users_folder_is_refused_and_the_folder_kept(tmp_path, capsys, no_work, force):
    mine = users_folder(tmp_path)
    before = snapshot(mine)
    assert main(RUN + ["--out", str(mine)] + (["--force"] if force else [])) == 2
    err = error_of(capsys)
    assert str(mine) in err and "not an earlier run's folder" in err
    assert snapshot(mine) == before and hidden_beside(mine) == []


@pytest.mark.parametrize("out", [".", ""])
@pytest.mark.parametrize("force", [False, True])
def test_run_into_the_current_folder_is_refused(tmp_path, monkeypatch, capsys, no_work, out, force):
    mine = users_folder(tmp_path)
    before = snapshot(mine)
    monkeypatch.chdir(mine)
    assert main(RUN + ["--out", out] + (["--force"] if force else [])) == 2
    err = error_of(capsys)
    assert str(mine) in err and "current folder" in err
    assert snapshot(mine) == before and hidden_beside(mine) == []


@pytest.mark.parametrize("out", ["..", "ABOVE"])
@pytest.mark.parametrize("force", [False, True])
def test_run_into_a_parent_of_the_current_folder_is_refused(tmp_path, monkeypatch, capsys, no_work, out, force):
    mine = users_folder(tmp_path)
    before = snapshot(mine)
    monkeypatch.chdir(mine / "data")
    assert main(RUN + ["--out", str(mine) if out == "ABOVE" else out] + (["--force"] if force else [])) == 2
    assert "holds the current folder" in error_of(capsys)
    assert snapshot(mine) == before


@pytest.mark.parametrize("place", ["home", "project", "root"])
@pytest.mark.parametrize("force", [False, True])
def test_run_into_home_the_project_or_the_filesystem_root_is_refused(capsys, no_work, place, force):
    out = {"home": Path.home(), "project": PROJECT_ROOT, "root": Path("/")}[place]
    assert main(RUN + ["--out", str(out)] + (["--force"] if force else [])) == 2
    assert "never used as an output folder" in error_of(capsys)


@pytest.mark.parametrize("force", [False, True])
def test_an_existing_file_at_out_is_refused(tmp_path, capsys, no_work, force):
    path = tmp_path / "results"
    path.write_text("a user's file")
    assert main(RUN + ["--out", str(path)] + (["--force"] if force else [])) == 2
    assert "is a file, not a folder" in error_of(capsys)
    assert path.read_text() == "a user's file" and hidden_beside(path) == []


def test_a_parent_that_is_a_file_is_refused_before_the_run(tmp_path, capsys, no_work):
    (tmp_path / "notes.txt").write_text("mine")
    assert main(RUN + ["--out", str(tmp_path / "notes.txt" / "run")]) == 2
    assert f"{tmp_path / 'notes.txt'} is a file" in error_of(capsys)
    assert (tmp_path / "notes.txt").read_text() == "mine"


@contextlib.contextmanager
def unprivileged():
    """Drop root's effective ids to 'nobody' (root writes through any permission bits);
    as another user, the permission bits already apply."""
    if os.geteuid() != 0:
        yield
        return
    os.setegid(65534)
    os.seteuid(65534)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


def test_a_read_only_parent_is_refused_before_the_run(capsys, no_work):
    parser()  # its lazy imports happen with our own rights
    base = Path(tempfile.mkdtemp(prefix="crypto-abm-readonly-"))  # in /tmp: reachable by an unprivileged user
    readonly = base / "readonly"
    try:
        base.chmod(0o755)
        readonly.mkdir()
        readonly.chmod(0o555)
        with unprivileged():
            code = main(RUN + ["--out", str(readonly / "run")])
        assert code == 2
        err = error_of(capsys)
        assert str(readonly / "run") in err and "cannot be written" in err
        assert list(readonly.iterdir()) == []
    finally:
        readonly.chmod(0o755)
        shutil.rmtree(base)


# ---------------------------------------------------------------------------- run: earlier runs
def test_a_rerun_replaces_an_earlier_run_folder(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()  # an empty folder is used
    assert main(RUN + ["--out", str(out), "--seed", "1"]) == 0
    first = manifest(out)
    # the manifest lists what the run wrote: how a later run knows what it may replace
    assert first["seed"] == 1 and set(first["files"]) == {p.name for p in out.iterdir()}
    assert main(RUN + ["--out", str(out), "--seed", "2"]) == 0
    assert manifest(out)["seed"] == 2
    assert {p.name for p in out.iterdir()} == set(first["files"])
    assert hidden_beside(out) == []


def test_force_reuses_an_earlier_run_folder_and_keeps_a_users_files(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(RUN + ["--out", str(out), "--seed", "1"]) == 0
    ours = {p.name for p in out.iterdir()}
    (out / "notes.txt").write_text("my notes")
    (out / "mine").mkdir()
    (out / "mine" / "timeseries.parquet").write_text("mine too")
    theirs = {k: v for k, v in snapshot(out).items() if k in ("notes.txt", "mine/timeseries.parquet")}

    assert main(RUN + ["--out", str(out), "--seed", "2"]) == 2  # without --force: refused
    err = error_of(capsys)
    assert str(out) in err and "notes.txt" in err and "--force" in err
    assert manifest(out)["seed"] == 1 and snapshot(out).items() >= theirs.items()

    for seed in ("2", "3"):  # with --force, as often as asked: the run is replaced, the user's files stay
        assert main(RUN + ["--out", str(out), "--seed", seed, "--force"]) == 0
        assert manifest(out)["seed"] == int(seed)
        assert {p.name for p in out.iterdir()} == ours | {"notes.txt", "mine"}
        assert snapshot(out).items() >= theirs.items()
    assert hidden_beside(out) == []


def test_a_run_folder_of_an_older_version_is_recognised_and_a_users_file_in_it_kept(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(RUN + ["--out", str(out), "--seed", "1"]) == 0
    record = manifest(out)
    del record["files"], record["kind"]  # as written before manifests listed their files
    (out / "manifest.json").write_text(json.dumps(record))
    (out / "adoption.png").write_bytes(b"an old figure")
    (out / "notes.txt").write_text("my notes")
    assert main(RUN + ["--out", str(out), "--seed", "2"]) == 2
    assert "notes.txt" in error_of(capsys) and (out / "adoption.png").exists()
    assert main(RUN + ["--out", str(out), "--seed", "2", "--force"]) == 0
    assert manifest(out)["seed"] == 2 and (out / "notes.txt").read_text() == "my notes"
    assert not (out / "adoption.png").exists()  # the old run's figure went with it (this run draws none)


def test_stale_leftovers_of_a_killed_run_are_cleaned_and_only_those(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(RUN + ["--out", str(out)]) == 0
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = [tmp_path / ".run.tmp-k3x_9q2a", tmp_path / f".run.tmp-{dead.pid}-ab12cd34"]
    for path in stale:
        path.mkdir()
        (path / "timeseries.parquet").write_bytes(b"PAR1 half a file")
    old_run = tmp_path / ".run.old-20250101120000123456"
    shutil.copytree(out, old_run)  # an earlier run being replaced when the kill came
    stale.append(old_run)
    kept = {
        tmp_path / f".run.tmp-{os.getppid()}-ab12cd34": "a run writing now",   # its process is alive
        tmp_path / ".run.old-20240101120000000000": "a user's file",           # moved there by an old version
        tmp_path / ".runs.tmp-k3x_9q2a": "another name",
        tmp_path / ".run.tmp-k3x_9q2a.bak": "not the pattern",
        tmp_path / "run.tmp-k3x_9q2a": "not hidden",
    }
    for path, text in kept.items():
        path.write_text(text)
    assert main(RUN + ["--out", str(out), "--seed", "5"]) == 0
    assert not any(p.exists() for p in stale)
    assert all(p.read_text() == text for p, text in kept.items())
    assert "kept " + str(tmp_path / ".run.old-20240101120000000000") in capsys.readouterr().err
    assert manifest(out)["seed"] == 5


def test_write_run_itself_refuses_a_users_folder(tmp_path):
    from experiments.outdir import OutputFolderError
    from experiments.runs import write_run
    mine = users_folder(tmp_path)
    before = snapshot(mine)
    with pytest.raises(OutputFolderError, match="not an earlier run's folder"):
        write_run(object(), mine)  # refused before the model is read
    assert snapshot(mine) == before


# ---------------------------------------------------------------------------- sweep and study
def sweep_spec(folder: Path) -> Path:
    path = folder / "spec.toml"
    path.write_text(SPEC)
    return path


@pytest.mark.parametrize("case, says", [("file", "is a file"), ("cwd", "current folder"),
                                        ("parent_is_file", "is a file"), ("run_folder", "not a sweep's"),
                                        ("users_folder", "not a sweep")])
@pytest.mark.parametrize("force", [False, True])
def test_sweep_out_is_checked_like_runs(tmp_path, monkeypatch, capsys, no_work, case, says, force):
    spec = sweep_spec(tmp_path)
    target = tmp_path / "out"
    if case == "file":
        target.write_text("a user's file")
    elif case == "cwd":
        target.mkdir()
        monkeypatch.chdir(target)
    elif case == "parent_is_file":
        target.write_text("a user's file")
        target = target / "sweep"
    elif case == "run_folder":  # an earlier run's folder is not a sweep's
        target.mkdir()
        (target / "manifest.json").write_text(json.dumps({"kind": "crypto-abm run", "scenario_sha256": "0" * 64}))
        (target / "timeseries.parquet").write_bytes(b"PAR1")
    else:  # already refused before issue 11 (by the sweep's storage): a guard
        target = users_folder(tmp_path)
    root = tmp_path / ("out" if case != "users_folder" else "mine")
    before = snapshot(root) if root.is_dir() else root.read_bytes()
    out = "." if case == "cwd" else str(target)
    assert main(["sweep", str(spec), "--out", out] + (["--force"] if force else [])) == 2
    err = error_of(capsys)
    assert str(target) in err and says in err
    assert (snapshot(root) if root.is_dir() else root.read_bytes()) == before


@pytest.mark.parametrize("case", ["users_folder", "cwd", "other_study"])
@pytest.mark.parametrize("force", [False, True])
def test_study_out_at_a_folder_not_its_own_is_refused(tmp_path, monkeypatch, capsys, no_work, case, force):
    mine = users_folder(tmp_path)
    out = str(mine)
    if case == "cwd":
        monkeypatch.chdir(mine)
        out = "."
    elif case == "other_study":  # another study's folder is not this one's
        (mine / "pak_package.toml").write_text("# Sweep spec of study pak_package, from somewhere.\n")
    before = snapshot(mine)
    force_flag = ["--force"] if force else []
    assert main(["study", "tariff_price", "--quick", "--out", out, "--workers", "1", "--quiet", *force_flag]) == 2
    assert str(mine) in error_of(capsys)
    assert snapshot(mine) == before
