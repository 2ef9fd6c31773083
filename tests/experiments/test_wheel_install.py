"""Installed as a package, run from anywhere (issue 11, section 8).

The slow test builds the wheel from a copy of the sources, installs it into a fresh
virtual environment and runs the commands from a temporary folder. It works offline: the
wheel is built with the setuptools of this environment (``--no-build-isolation``), and
the fresh environment gets the pinned dependencies of this one through a ``.pth`` file
naming this environment's site-packages (plus links to its ``etc/`` and ``share/``, where
Jupyter and Solara keep the dashboard's front-end files), while the project itself comes
only from the wheel: the test checks that every one of its packages is imported from the
new environment's site-packages, never from the checkout.

The quick tests check the rules that make it work: every non-Python file inside a package
ships as package data, outputs go to the checkout in a checkout and to the current folder
in an installed copy, ``calibrate`` refuses to run in an installed copy, and the
``dashboard`` command's arguments.
"""

from __future__ import annotations

import os
import shutil
import site
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

import pytest

from experiments.cli import dashboard_command, parser
from model import scenario

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PACKAGES = PYPROJECT["tool"]["setuptools"]["packages"]
PACKAGE_DATA = PYPROJECT["tool"]["setuptools"].get("package-data", {})
TOP_LEVEL = sorted({p.split(".")[0] for p in PACKAGES})


# ====================================================================== quick checks
def _tracked(folder: Path) -> list[Path]:
    """The files of ``folder`` that git tracks or would track (all its files outside git)."""
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", str(folder)],
                         cwd=ROOT, capture_output=True)
    if out.returncode != 0:
        return [p for p in folder.rglob("*") if p.is_file()]
    return [ROOT / name for name in out.stdout.decode().split("\0") if name]


def test_every_file_inside_a_package_ships_as_package_data():
    """A table, scenario, calibration file or sweep spec that a command reads lives inside a
    package folder; each must match a package-data pattern of its package, or the wheel
    lacks it and an installed copy fails where the checkout works."""
    missing = []
    for pkg in PACKAGES:
        folder = ROOT / pkg.replace(".", "/")
        inner = [ROOT / p.replace(".", "/") for p in PACKAGES if p.startswith(pkg + ".")]
        shipped = {f.resolve() for pattern in PACKAGE_DATA.get(pkg, []) for f in folder.glob(pattern)}
        for f in _tracked(folder):
            if f.suffix == ".py" or "__pycache__" in f.parts or any(f.is_relative_to(d) for d in inner):
                continue
            if f.resolve() not in shipped:
                missing.append(f.relative_to(ROOT).as_posix())
    assert not missing, f"not in [tool.setuptools.package-data] of pyproject.toml: {missing}"


def test_every_package_folder_is_listed():
    """A subpackage (a folder with ``__init__.py``, e.g. experiments/analysis/) missing from
    ``packages`` would be left out of the wheel: the checkout works, an installed copy fails."""
    found = {init.parent.relative_to(ROOT).as_posix().replace("/", ".")
             for top in TOP_LEVEL for init in (ROOT / top).rglob("__init__.py") if "__pycache__" not in init.parts}
    assert found == set(PACKAGES)


def test_data_is_a_package_beside_experiments():
    """The scenarios' ``../../data/<table>.csv`` (relative to experiments/scenarios/) and
    ``data.table()`` name the same file, so it resolves in site-packages as in a checkout."""
    import data
    assert "data" in PACKAGES and "*.csv" in PACKAGE_DATA["data"]
    via_scenario = (scenario.SCENARIO_DIR / "../../data/btc_usd_monthly.csv").resolve()
    assert via_scenario == data.table("btc_usd_monthly.csv").resolve() and via_scenario.is_file()
    assert scenario.SCENARIO_DIR == scenario.package_file("experiments", "scenarios")


def test_outputs_go_to_the_checkout_or_the_current_folder(tmp_path, monkeypatch):
    from experiments.studies.common import study_dir
    assert scenario.IN_CHECKOUT and (ROOT / "pyproject.toml").is_file()   # this is a checkout
    assert scenario.output_root() == scenario.PROJECT_ROOT == ROOT
    assert study_dir("contagion", True, None) == ROOT / "runs" / "studies" / "contagion-quick"
    monkeypatch.setattr(scenario, "IN_CHECKOUT", False)                      # as in site-packages
    monkeypatch.chdir(tmp_path)
    assert scenario.output_root() == tmp_path
    assert study_dir("contagion", False, None) == tmp_path.resolve() / "runs" / "studies" / "contagion"
    assert study_dir("contagion", False, "elsewhere") == tmp_path.resolve() / "elsewhere"


@pytest.mark.parametrize("target", ["mining", "households"])
def test_calibrate_is_refused_in_an_installed_copy(target, monkeypatch, capsys):
    """It would rewrite the package's own calibration files (or write ones no scenario reads)."""
    import experiments.validation.calibrate as cm
    import experiments.validation.calibrate_households as ch
    module = cm if target == "mining" else ch
    monkeypatch.setattr(module, "IN_CHECKOUT", False)
    for name in ("fit", "fit_households"):
        if hasattr(module, name):
            monkeypatch.setattr(module, name, lambda *a, **k: pytest.fail("the fit started"))
    assert module.main(1) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: crypto-abm calibrate {target} rewrites experiments/calibration/")
    assert "source checkout" in err


def test_dashboard_arguments():
    args = parser().parse_args(["dashboard"])
    assert (args.host, args.port) == ("127.0.0.1", 8765)                   # loopback by default
    args = parser().parse_args(["dashboard", "--port", "9000", "--host", "0.0.0.0"])
    assert (args.host, args.port) == ("0.0.0.0", 9000)
    for bad in ("0", "65536", "x"):
        with pytest.raises(SystemExit) as exc:
            parser().parse_args(["dashboard", "--port", bad])
        assert exc.value.code == 2
    cmd = dashboard_command("127.0.0.1", 8765)
    assert cmd[:5] == [sys.executable, "-m", "solara", "run", "viz.app"]
    assert cmd[5:9] == ["--host", "127.0.0.1", "--port", "8765"]
    assert {"--production", "--no-open", "--no-check-version"} <= set(cmd)
    makefile = (ROOT / "Makefile").read_text()
    assert "crypto-abm dashboard --host $(HOST) --port $(PORT)" in makefile


# ====================================================================== the installed wheel
def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under ``folder`` (symbolic links not followed): size, mtime."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            st = (Path(dirpath) / name).lstat()
            out[os.path.relpath(Path(dirpath) / name, folder)] = (st.st_size, st.st_mtime_ns)
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_installed_wheel_runs_from_any_folder(tmp_path):
    # 1. Build the wheel from a copy of the sources (so nothing is written into the checkout).
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, src / name)
    for pkg in TOP_LEVEL:
        shutil.copytree(ROOT / pkg, src / pkg, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*"))
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                    "--disable-pip-version-check", "-q", "--wheel-dir", str(dist), str(src)],
                   check=True, timeout=300)
    (wheel,) = dist.glob("crypto_abm-*.whl")

    # 2. A fresh environment: the project from the wheel only, the dependencies from this one.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
                    "--disable-pip-version-check", "-q", str(wheel)], check=True, timeout=300)
    purelib = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                  capture_output=True, text=True, check=True).stdout.strip())
    (purelib / "_crypto_abm_test_dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    for folder in ("etc", "share"):                     # Jupyter/Solara front-end files of the dependencies
        if (Path(sys.prefix) / folder).is_dir() and not (venv / folder).exists():
            (venv / folder).symlink_to(Path(sys.prefix) / folder)
    for pkg in TOP_LEVEL:
        assert (purelib / pkg / "__init__.py").is_file(), pkg
    assert (purelib / "data" / "btc_usd_monthly.csv").is_file()
    assert (purelib / "experiments" / "sweeps" / "study_contagion.toml").is_file()
    assert not (purelib / "pyproject.toml").exists()

    work = tmp_path / "work"        # another folder: not the checkout, not the environment
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", PYTHONDONTWRITEBYTECODE="1",
               MPLCONFIGDIR=str(tmp_path / "mpl"), MPLBACKEND="Agg")
    before = _snapshot(venv)

    def cli(*args, code=0, timeout=180):
        out = subprocess.run([str(venv / "bin" / "crypto-abm"), *args], cwd=work, env=env, capture_output=True,
                             text=True, timeout=timeout)
        assert out.returncode == code, (args, out.returncode, out.stdout, out.stderr)
        return out

    def py(code):
        out = subprocess.run([str(python), "-c", code], cwd=work, env=env, capture_output=True, text=True,
                             timeout=180)
        assert out.returncode == 0, (code, out.stdout, out.stderr)
        return out.stdout

    # 3. The project is imported from the new environment, never from the checkout.
    where = py(f"import importlib; print('\\n'.join(importlib.import_module(p).__file__ for p in {TOP_LEVEL!r}))")
    for line in where.split():
        assert Path(line).is_relative_to(purelib), line

    # 4. The commands, from the temporary folder.
    assert {"south_asia_2025", "backtest_hashrate_2019"} <= set(cli("scenarios").stdout.split())
    cli("run", "south_asia_2025", "--households", "1800", "--until", "2025-06-01", "--no-figures", "--quiet",
        "--out", "baseline")
    for name in ("manifest.json", "timeseries.parquet", "events.csv", "scenario.toml", "btc_usd_monthly.csv"):
        assert (work / "baseline" / name).is_file(), name
    assert "--seeds" in cli("validate", "--help").stdout
    assert "127.0.0.1" in cli("dashboard", "--help").stdout
    refused = cli("calibrate", "mining", code=2)
    assert "source checkout" in refused.stderr and not refused.stdout

    # 5. What validate and the studies read and where they write, in an installed copy.
    report = py("from model.scenario import IN_CHECKOUT, output_root\n"
                "from experiments.validation.validate import DOC, FIGURE\n"
                "from experiments.validation.backtest import HISTORY\n"
                "from experiments.validation.backtest_adoption import FIT_TABLE, ownership_targets\n"
                "from experiments.studies.common import SPECS, study_dir\n"
                "from experiments.studies.sensitivity import behaviour_paths\n"
                "assert HISTORY.is_file() and FIT_TABLE.is_file() and len(ownership_targets()) > 0\n"
                "assert (SPECS / 'study_contagion.toml').is_file() and behaviour_paths()\n"
                "print(IN_CHECKOUT, output_root(), DOC, FIGURE, study_dir('contagion', True, None), sep='\\n')")
    in_checkout, root, doc, figure, study = report.split("\n")[:5]
    assert in_checkout == "False" and Path(root) == work
    assert Path(doc) == work / "docs" / "VALIDATION.md" and Path(figure).parent == work / "docs" / "figures"
    assert Path(study) == work / "runs" / "studies" / "contagion-quick"

    # 6. The dashboard renders its page and `crypto-abm dashboard` serves it.
    shown = py("import solara, ipyvuetify as v, viz.app\n"
               "box, rc = solara.render(viz.app.Page(), handle_error=False)\n"
               "print(rc.find(v.Html, class_='viz-date').widget.children[0])\n"
               "rc.close()")
    assert shown.strip() == "2025-01-01"
    port = _free_port()
    log = tmp_path / "dashboard.log"
    with open(log, "w") as fh:
        proc = subprocess.Popen([str(venv / "bin" / "crypto-abm"), "dashboard", "--port", str(port)], cwd=work,
                                env=env, stdout=fh, stderr=subprocess.STDOUT)
    try:
        deadline, status = time.monotonic() + 90, None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
                    status = r.status
                    break
            except OSError:
                time.sleep(0.5)
        assert status == 200, log.read_text()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    text = log.read_text()
    assert f"http://127.0.0.1:{port}/" in text and "Traceback" not in text, text

    # 7. Nothing was written into the environment; the outputs are in the temporary folder.
    after = _snapshot(venv)
    assert after == before, sorted(set(after.items()) ^ set(before.items()))
    assert sorted(p.name for p in work.iterdir()) == ["baseline"]
