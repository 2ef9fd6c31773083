"""What a run leaves behind: tables, the resolved scenario, a manifest, figures, a summary.

Everything is written into a temporary folder beside the target and renamed into place
at the end, so an interrupted or failed run never leaves a half-written result.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import platform
import shutil
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from model.model import CryptoAdoptionModel
from model.scenario import PROJECT_ROOT

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
        "scenario": model.config.name,
        "scenario_file": str(model.spec.file),
        "scenario_sha256": hashlib.sha256(toml_text.encode()).hexdigest(),
        "seed": model.seed,
        "households": model.config.run.households,
        "start": str(model.dates[0]),
        "end": str(model.date),
        "steps": model.t,
        "command": argv if argv is not None else sys.argv,
        "versions": versions(),
        "git": git_commit(),
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }


def write_run(model: CryptoAdoptionModel, out_dir: Path, *, figures: bool = True,
              argv: list[str] | None = None) -> Path:
    """Write every output of a finished run to ``out_dir`` (replacing it atomically)."""
    out_dir = Path(out_dir).resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    tmp.chmod(0o755)
    try:
        ts = model.timeseries()
        ts.to_parquet(tmp / "timeseries.parquet", index=False)
        model.exchange_volumes().to_parquet(tmp / "exchanges.parquet", index=False)
        model.events_frame().to_csv(tmp / "events.csv", index=False)
        (tmp / "scenario.toml").write_text(_scenario_with_price_copy(model, tmp))
        (tmp / "manifest.json").write_text(json.dumps(manifest(model, argv), indent=2) + "\n")
        if figures:
            from experiments.figures import write_figures
            write_figures(ts, tmp)
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old-{dt.datetime.now():%Y%m%d%H%M%S%f}")
            out_dir.rename(old)
            tmp.rename(out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


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
