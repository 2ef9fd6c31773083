"""What a run leaves behind: tables, the resolved scenario, a manifest, figures, a summary.

(``crypto-abm run``; the command line is :mod:`experiments.cli`.)

Everything is written into a temporary folder beside the target and renamed into place
at the end, so an interrupted or failed run never leaves a half-written result. The
manifest lists the files the run wrote (``files``): that list is how a later run knows
what it may replace in the folder and what is someone else's (:func:`experiments.outdir.run_folder`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd

from experiments.outdir import (
    EVENTS,
    EXCHANGES,
    MANIFEST,
    RUN_KIND,
    SCENARIO,
    TIMESERIES,
    OutputFolderError,
    clean_beside,
    run_folder,
    run_out,
)
from experiments.provenance import git_commit, versions
from model.config import STANCE_NAMES
from model.model import CryptoAdoptionModel

matplotlib.use("Agg")  # files only, no display; before pyplot is imported
import matplotlib.pyplot as plt  # noqa: E402


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
        (tmp / SCENARIO).write_text(_scenario_with_data_copies(model, tmp))
        if figures:
            write_figures(ts, tmp)
        written = sorted(os.listdir(tmp)) + [MANIFEST]
        record = {**manifest(model, argv), "files": written}
        (tmp / MANIFEST).write_text(json.dumps(record, indent=2) + "\n")  # last: it marks a whole run
        _install(tmp, out_dir, written)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


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
        raise OutputFolderError.at(out_dir, f"holds {', '.join(clash)}, which crypto-abm did not write and the "
                                            "new run would overwrite: nothing was written; move them away")
    for name in ours:  # the earlier run's files; the manifest goes last, so a kill keeps a readable folder
        if name not in written and name != MANIFEST:
            (out_dir / name).unlink(missing_ok=True)
    for name in written:
        os.replace(tmp / name, out_dir / name)
    tmp.rmdir()


def _scenario_with_data_copies(model: CryptoAdoptionModel, folder: Path) -> str:
    """The resolved scenario; the CSV series it reads (price, fees) are copied beside it so it reruns anywhere."""
    copies = {}
    for field, path in model.spec.data_files().items():
        source = model.spec.resolve_path(path, field)
        shutil.copyfile(source, folder / source.name)
        copies[field] = source.name
    return model.spec.to_toml(copies)


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


# ---------------------------------------------------------------------------- figures
# PNG figures of a run, drawn from the tidy table (dates on the x-axis).
def _wide(ts: pd.DataFrame, metric: str) -> pd.DataFrame:
    part = ts[(ts.metric == metric) & (ts.country != "WORLD")]
    wide = part.pivot_table(index="date", columns="country", values="value", observed=True)
    return wide.loc[:, wide.abs().max() > 0] if len(wide.columns) else wide


def write_figures(ts: pd.DataFrame, out: Path) -> list[Path]:
    paths = []

    hr = _wide(ts, "hashrate_ehs")
    order = hr.mean().sort_values(ascending=False).index
    fig, ax = plt.subplots(figsize=(10, 5))
    ax.stackplot(hr.index, *(hr[c] for c in order), labels=list(order))
    world = ts[(ts.metric == "hashrate_ehs") & (ts.country == "WORLD")]
    ax.plot(world.date, world.value, color="black", lw=1, label="network")
    ax.set(title="Hashrate by country", ylabel="EH/s")
    ax.legend(ncol=4, fontsize=8, loc="upper left")
    paths.append(_save_figure(fig, out / "hashrate_by_country.png"))

    vol = _wide(ts, "trading_volume_usd")
    ad = _wide(ts, "adoption_rate")
    if vol.empty:  # a scenario without households: mining only
        return paths
    fig, ax = plt.subplots(figsize=(10, 5))
    for c in vol.columns:
        ax.plot(vol.index, vol[c], label=c)
    ax.set(title="Trading volume by country (per week)", ylabel="USD per week", yscale="log")
    ax.legend(ncol=5, fontsize=8)
    paths.append(_save_figure(fig, out / "volume_by_country.png"))

    fig, ax = plt.subplots(figsize=(10, 5))
    for c in ad.columns:
        ax.plot(ad.index, ad[c] * 100, label=c)
    ax.set(title="Adoption by country", ylabel="% of population holding crypto")
    ax.legend(ncol=5, fontsize=8)
    paths.append(_save_figure(fig, out / "adoption.png"))

    st = ts[(ts.metric == "stance") & (ts.country != "WORLD")].pivot_table(
        index="date", columns="country", values="value", observed=True)
    moved = [c for c in st.columns if st[c].nunique() > 1]
    # Countries with households (the region) plus any other country whose stance moved.
    st = st[[c for c in st.columns if c in ad.columns or c in moved]]
    fig, ax = plt.subplots(figsize=(10, 5))
    for i, c in enumerate(st.columns):
        ax.step(st.index, st[c] + (i - len(st.columns) / 2) * 0.02, where="post", label=c,
                lw=2.0 if c in moved else 0.8)
    ax.set_yticks(range(len(STANCE_NAMES)), STANCE_NAMES)
    ax.set(title="Regulatory stance by country")
    ax.legend(ncol=6, fontsize=8)
    paths.append(_save_figure(fig, out / "stance_timeline.png"))
    return paths


def _save_figure(fig, path: Path) -> Path:
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
