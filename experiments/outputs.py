"""What a run leaves behind: tables, the resolved scenario, a manifest, figures, a summary.

Everything is written into a temporary folder beside the target and renamed into place
at the end, so an interrupted or failed run never leaves a half-written result. The
manifest lists the files the run wrote (``files``): that list is how a later run knows
what it may replace in the folder and what is someone else's (see :mod:`experiments.outdir`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import tomllib
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from model.model import CryptoAdoptionModel
from model.scenario import PROJECT_ROOT

#: The files every run writes (figures and the copied price CSV come on top), by these names.
TIMESERIES, EXCHANGES, EVENTS, SCENARIO, MANIFEST = (
    "timeseries.parquet", "exchanges.parquet", "events.csv", "scenario.toml", "manifest.json")
RUN_KIND = "crypto-abm run"
PACKAGES = ("crypto-abm", "mesa", "numpy", "scipy", "pandas", "pyarrow", "networkx", "pydantic", "matplotlib")


def git_commit() -> dict[str, object]:
    """The project's commit and whether the work tree had changes (None outside git)."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True,
                              text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=PROJECT_ROOT,
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return {"commit": None, "dirty": None}
    if head.returncode != 0:
        return {"commit": None, "dirty": None}
    return {"commit": head.stdout.strip(), "dirty": bool(dirty.stdout.strip())}


def versions(extra: tuple[str, ...] = ()) -> dict[str, str]:
    """Python's and the packages' versions (``extra`` adds more package names)."""
    out = {"python": platform.python_version()}
    for name in PACKAGES + tuple(extra):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def manifest(model: CryptoAdoptionModel, argv: list[str] | None = None) -> dict[str, object]:
    toml_text = model.spec.to_toml()
    return {
        "kind": RUN_KIND,
        "scenario": model.config.name,
        "scenario_file": str(model.spec.file),
        "scenario_sha256": hashlib.sha256(toml_text.encode()).hexdigest(),
        "seed": model.seed,
        "households": model.config.run.households,
        "start": str(model.dates[0]),
        "end": str(model.date),
        "steps": model.t,
        # overrides a dated shock overwrote in this run (as the command line warned)
        "warnings": model.spec.warnings_until(model.date),
        "command": argv if argv is not None else sys.argv,
        "versions": versions(),
        "git": git_commit(),
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }


def write_run(model: CryptoAdoptionModel, out_dir: Path, *, figures: bool = True,
              argv: list[str] | None = None, force: bool = False) -> Path:
    """Write every output of a finished run to ``out_dir``, replacing an earlier run there.

    ``out_dir`` must pass :func:`experiments.outdir.run_out` (with ``force``): empty, new, or
    an earlier run's folder. An earlier run that holds only its own files is swapped out
    whole (atomically); with ``force`` and other files beside, the earlier run's files are
    replaced one by one and the others are kept. Leftovers of a killed run beside
    ``out_dir`` are removed first.
    """
    from experiments.outdir import clean_beside, run_out

    out_dir = run_out(out_dir, force=force)
    clean_beside(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-{os.getpid()}-", dir=out_dir.parent))
    tmp.chmod(0o755)
    try:
        ts = model.timeseries()
        ts.to_parquet(tmp / TIMESERIES, index=False)
        model.exchange_volumes().to_parquet(tmp / EXCHANGES, index=False)
        model.events_frame().to_csv(tmp / EVENTS, index=False)
        (tmp / SCENARIO).write_text(_scenario_with_price_copy(model, tmp))
        if figures:
            from experiments.figures import write_figures
            write_figures(ts, tmp)
        written = sorted(os.listdir(tmp)) + [MANIFEST]
        record = {**manifest(model, argv), "files": written}
        (tmp / MANIFEST).write_text(json.dumps(record, indent=2) + "\n")  # last: it marks a whole run
        _install(tmp, out_dir, written)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def run_folder(folder: Path) -> tuple[list[str], list[str]] | None:
    """``(ours, foreign)``: the names in ``folder`` an earlier run wrote and the others, or
    None if ``folder`` has no run manifest (it is not a run's folder).

    "Ours" is what the run's manifest lists (``files``). A manifest written before that list
    existed is read as: the fixed names above, the PNG figures and the price CSV its
    scenario.toml names. Only plain files count as ours; a folder is always foreign.
    """
    try:
        record = json.loads((folder / MANIFEST).read_text())
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("kind", RUN_KIND) != RUN_KIND or "scenario_sha256" not in record:
        return None
    listed = record.get("files")
    if isinstance(listed, list):
        names = {n for n in listed if isinstance(n, str)}
    else:
        names = {TIMESERIES, EXCHANGES, EVENTS, SCENARIO} | {p.name for p in folder.glob("*.png")}
        try:
            names.add(tomllib.loads((folder / SCENARIO).read_text())["market"]["price"]["csv"])
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError):
            pass
    names.add(MANIFEST)
    ours, foreign = [], []
    for name in sorted(os.listdir(folder)):
        path = folder / name
        (ours if name in names and path.is_file() and not path.is_symlink() else foreign).append(name)
    return ours, foreign


def _install(tmp: Path, out_dir: Path, written: list[str]) -> None:
    """Move the finished run from ``tmp`` to ``out_dir``, removing only an earlier run's files."""
    if not os.path.lexists(out_dir):
        tmp.rename(out_dir)
        return
    split = run_folder(out_dir)
    ours, foreign = split if split is not None else ([], sorted(os.listdir(out_dir)))
    if ours and not foreign:  # an earlier run and nothing else: swap it out whole
        old = out_dir.with_name(f".{out_dir.name}.old-{dt.datetime.now():%Y%m%d%H%M%S%f}")
        out_dir.rename(old)
        tmp.rename(out_dir)
        shutil.rmtree(old, ignore_errors=True)
        return
    clash = sorted(set(foreign) & set(written))
    if clash:
        from experiments.outdir import OutputFolderError
        raise OutputFolderError.at(out_dir, f"holds {', '.join(clash)}, which crypto-abm did not write and the "
                                            "new run would overwrite: nothing was written; move them away")
    for name in ours:  # the earlier run's files; the manifest goes last, so a kill keeps a readable folder
        if name not in written and name != MANIFEST:
            (out_dir / name).unlink(missing_ok=True)
    for name in written:
        os.replace(tmp / name, out_dir / name)
    tmp.rmdir()


def _scenario_with_price_copy(model: CryptoAdoptionModel, folder: Path) -> str:
    """The resolved scenario; a CSV price series is copied beside it so it reruns anywhere."""
    price = model.config.market.price
    if price.kind != "csv":
        return model.spec.to_toml()
    source = model.spec.resolve_path(price.csv)
    shutil.copyfile(source, folder / source.name)
    return model.spec.to_toml(price_csv=source.name)


def summary_table(model: CryptoAdoptionModel) -> pd.DataFrame:
    """Per country: hashrate and share at the end and at the peak, cumulative volume,
    adoption at start and end, and the dated stance changes."""
    ts = model.timeseries()
    wide = ts.pivot_table(index=["country", "date"], columns="metric", values="value", observed=True)
    events = model.events_frame()
    rows = []
    for code in model.codes + ["WORLD"]:
        if code not in wide.index.get_level_values(0):
            continue
        c = wide.loc[code]
        hr = c["hashrate_ehs"]
        peak_at = hr.idxmax()
        row = {
            "country": code,
            "hashrate_end_ehs": hr.iloc[-1],
            "share_end": c["hashrate_share"].iloc[-1],
            "hashrate_peak_ehs": hr.max(),
            "peak_date": peak_at.date() if hr.max() > 0 else None,
            "share_peak": c["hashrate_share"].max(),
            "volume_cum_usd": c["trading_volume_usd"].sum(min_count=1) if "trading_volume_usd" in c else np.nan,
            "adoption_start": c["adoption_rate"].iloc[0] if "adoption_rate" in c else np.nan,
            "adoption_end": c["adoption_rate"].iloc[-1] if "adoption_rate" in c else np.nan,
        }
        moves = events[(events.country == code) & (events.kind == "stance")]
        row["stance_changes"] = "; ".join(f"{d}: {a}->{b}" for d, a, b in
                                          zip(moves["date"], moves["from"], moves["to"])) or "-"
        rows.append(row)
    return pd.DataFrame(rows)


def format_summary(table: pd.DataFrame) -> str:
    def num(x, fmt):
        return "-" if x is None or (isinstance(x, float) and np.isnan(x)) else format(x, fmt)

    lines = [f"{'country':<7} {'EH/s end':>9} {'share':>6} {'EH/s peak':>9} {'peak date':>10} "
             f"{'volume USD':>11} {'adopt 0':>7} {'adopt T':>7}  stance changes"]
    for r in table.itertuples():
        lines.append(
            f"{r.country:<7} {num(r.hashrate_end_ehs, '9.1f')} {num(r.share_end, '6.1%')} "
            f"{num(r.hashrate_peak_ehs, '9.1f')} {str(r.peak_date or '-'):>10} "
            f"{_money(r.volume_cum_usd):>11} {num(r.adoption_start, '7.1%')} {num(r.adoption_end, '7.1%')}"
            f"  {r.stance_changes}")
    return "\n".join(lines)


def _money(x: float) -> str:
    if x is None or np.isnan(x):
        return "-"
    for unit, scale in (("T", 1e12), ("B", 1e9), ("M", 1e6)):
        if abs(x) >= scale:
            return f"${x / scale:.1f}{unit}"
    return f"${x:,.0f}"
