"""The halvings' dips read exactly as ``data/halving_dips.csv`` reads the data, for the data
and for the model. The file works on daily values: pre = the mean of the 14 UTC days before
the halving day; dip = the lowest rolling 7-day mean whose days all fall in days 1-56 after
it, over pre, minus 1; recovery = the first week k whose 7-day mean over days 7k-6..7k
exceeds pre. The model steps a week at a time, so the issue's bounds read its eight weekly
values (:func:`~experiments.validation.backtest.halving_dip`); here its hashrate is held
through each step's days and measured from the blocks a day would find (Bitcoin Visuals'
daily value: difficulty x blocks x 2^32 / 86400), many times over, to say how often block luck
alone would give the model a dip as deep as the data's. The daily values themselves are
``data/hashrate_halving_daily.csv`` (the days the file reads, from the series it names).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from data import table
from experiments.validation.backtest import block_luck, network_series, world_series
from model.model import CryptoAdoptionModel

DAILY = table("hashrate_halving_daily.csv")
BEFORE_DAYS, AFTER_DAYS, WINDOW_DAYS = 14, 56, 7  # halving_dips.csv's windows
RECOVERY_WEEKS = 26  # as the weekly reading: a recovery later than this is none
LUCK_DRAWS = 20  # block-luck paths measured per run
BAND = (5.0, 95.0)  # the percentiles of the measured dips the table gives


def data_daily(halving: dt.date) -> pd.Series:
    """The data's daily hashrate (EH/s) around ``halving``, by day."""
    d = pd.read_csv(DAILY, parse_dates=["date"])
    d = d[d["halving"] == halving.isoformat()]
    return pd.Series(d["hashrate_ehs"].to_numpy(float), index=pd.DatetimeIndex(d["date"]))


def file_reading(daily: pd.Series, halving: dt.date) -> dict[str, float | None]:
    """A halving's pre level, trough, dip and recovery from daily values, as
    ``data/halving_dips.csv`` defines them (module docstring). The recovery is None when no
    week within :data:`RECOVERY_WEEKS` (or within the days given) exceeds pre."""
    h = pd.Timestamp(halving)
    index = pd.DatetimeIndex(daily.index)
    days = ((index - h) / pd.Timedelta(days=1)).to_numpy()
    values = daily.to_numpy(dtype=float)
    before = values[(days >= -BEFORE_DAYS) & (days < 0)]
    after = pd.Series(values[(days >= 1) & (days <= AFTER_DAYS)])
    if len(before) != BEFORE_DAYS or len(after) != AFTER_DAYS:
        raise ValueError(f"{halving}: the daily values do not cover days -{BEFORE_DAYS}..{AFTER_DAYS}")
    pre = float(before.mean())
    rolling = after.rolling(WINDOW_DAYS).mean()
    trough = float(rolling.min())
    weeks = None
    for k in range(1, RECOVERY_WEEKS + 1):
        week = values[(days >= WINDOW_DAYS * k - WINDOW_DAYS + 1) & (days <= WINDOW_DAYS * k)]
        if len(week) < WINDOW_DAYS:
            break
        if week.mean() > pre:
            weeks = float(k)
            break
    return {"pre_ehs": pre, "trough_ehs": trough, "dip": trough / pre - 1.0,
            "trough_week": float(int(rolling.idxmin()) + 1) / WINDOW_DAYS, "weeks_to_new_high": weeks}


def held_daily(weekly: pd.Series, step_days: int) -> pd.Series:
    """A stepped series through its days: each step's value over the ``step_days`` days that
    end on its date (a step covers the week since the last, as its dated shocks do, and as a
    data point dated d is the 7-day mean of days d-6..d)."""
    steps = pd.DatetimeIndex(pd.to_datetime(pd.Series(weekly.index)))
    days = pd.date_range(steps[0] - pd.Timedelta(days=step_days - 1), steps[-1], freq="D")
    pos = np.searchsorted(steps.to_numpy(), days.to_numpy(), side="left")
    return pd.Series(weekly.to_numpy(dtype=float)[pos], index=days)


def measured_daily(hashrate: pd.Series, difficulty: pd.Series, rng: np.random.Generator) -> pd.Series:
    """Daily hashrate (the model's held through its days, :func:`held_daily`) measured from the
    blocks each day finds at the day's difficulty (:func:`~experiments.validation.backtest.block_luck`)."""
    return pd.Series(block_luck(hashrate.to_numpy(), difficulty.to_numpy(), 86400.0, rng), index=hashrate.index)


def model_readings(model: CryptoAdoptionModel, halvings: tuple[dt.date, ...],
                   draws: int = LUCK_DRAWS) -> dict[dt.date, dict]:
    """For each halving within the run: the file's reading of the model's own hashrate held
    through its days (``own``), and the dips of ``draws`` measurements of it (``measured``),
    the blocks drawn from the run's ``block_luck`` stream."""
    hashrate = network_series(model)
    own = held_daily(hashrate, model.step_days)
    difficulty = held_daily(world_series(model, "difficulty").reindex(hashrate.index), model.step_days)
    paths = [measured_daily(own, difficulty, model.streams["block_luck"]) for _ in range(draws)]
    return {h: {"own": file_reading(own, h), "measured": [file_reading(p, h)["dip"] for p in paths]}
            for h in halvings}


def luck_row(own_dips: list[float], measured: list[float], data_dip: float) -> dict[str, float]:
    """One halving's line: the model's own dip read the file's way (median over runs), its
    measured dips' median and :data:`BAND`, and the share of them at or below the data's."""
    m = np.asarray(measured, dtype=float)
    low, high = np.percentile(m, BAND)
    return {"own_dip": float(np.median(own_dips)), "measured_dip": float(np.median(m)), "low": float(low),
            "high": float(high), "share_as_deep": float(np.mean(m <= data_dip)), "draws": len(m)}


def markdown(rows: pd.DataFrame, within_pp: float) -> list[str]:
    """The paragraph and table of VALIDATION 1c: the model read the file's way, and how many
    of its median measured dips come within ``within_pp`` points of the data's."""
    lo, hi = BAND
    lines = ["", "**Read the file's way** (`daily_dips.py`). `data/halving_dips.csv` reads daily values (above); "
             "its own reading of the data's daily values (`data/hashrate_halving_daily.csv`) gives back the file's "
             "figures (a test). Here the model's hashrate is held through each step's days and measured from the "
             "blocks each day finds, as Bitcoin Visuals' daily values are, "
             f"{int(rows['draws'].iloc[0])} times ({LUCK_DRAWS} draws of block luck a run), and read as the file "
             "reads. "
             "*Own* is the model's hashrate read so without the luck. The bounds still judge the model's "
             "weekly values; this says how often block luck alone would give the model the data's dip.",
             "",
             f"| halving | data dip | model, own | model as measured, median | {lo:g}-{hi:g}% of the measured "
             "| measured dips as deep as the data's |",
             "|---|---:|---:|---:|---|---:|"]
    for r in rows.itertuples():
        lines.append(f"| {r.halving} | {r.data_dip:+.1%} | {r.own_dip:+.1%} | {r.measured_dip:+.1%} | "
                     f"{r.low:+.1%} to {r.high:+.1%} | {r.share_as_deep:.0%} |")
    inside = [r for r in rows.itertuples() if r.low <= r.data_dip <= r.high]
    near = sum(abs(r.measured_dip - r.data_dip) * 100 <= within_pp for r in rows.itertuples())
    lines += ["", f"The data's dip lies inside the model's {lo:g}-{hi:g}% band of measured dips for {len(inside)} "
              f"of {len(rows)} halvings" + (": " + ", ".join(str(r.halving) for r in inside) if inside else "")
              + f". Its median measured dip comes within +-{within_pp:g} points of the data's for "
              + f"{near} of {len(rows)}."]
    return lines
