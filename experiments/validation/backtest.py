"""Backtest 1: network hashrate 2019-2025 under the real price path, against the data.

Shared by ``crypto-abm validate`` and ``crypto-abm calibrate mining``. The months
2021-05 to 2022-01 (China's ban and the migration after it) are held out: no error and
no fit uses a point in them. Data points are compared with the model's week nearest to
their date; the error is on log hashrate, so 10% too high and 10% too low weigh alike,
and each calendar year weighs alike (2019 has monthly points, later years a few).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from data import table
from model.model import CryptoAdoptionModel
from model.scenario import load_scenario

SCENARIO = "backtest_hashrate_2019"
HISTORY = table("hashrate_history.csv")
HELD_OUT = (dt.date(2021, 5, 1), dt.date(2022, 2, 1))  # [start, end): never used
FIT_UNTIL = dt.date(2025, 1, 1)  # fit on 2019-2024, test on 2025 (the baseline's first year)
HALVING = dt.date(2024, 4, 20)


@dataclass
class HashrateFit:
    """Model against data: per-point table and summary errors."""

    points: pd.DataFrame  # date, data_ehs, model_ehs, log_error, window
    rmse_log_fit: float
    rmse_log_test: float
    mape_fit: float
    mape_test: float


def history() -> pd.DataFrame:
    """Hashrate data points outside the held-out window."""
    h = pd.read_csv(HISTORY, parse_dates=["date"])
    h["date"] = h["date"].dt.date
    keep = ~h["date"].between(HELD_OUT[0], HELD_OUT[1] - dt.timedelta(days=1))
    return h.loc[keep, ["date", "hashrate_ehs", "metric"]].sort_values("date").reset_index(drop=True)


def run_backtest(seed: int = 0, overrides: dict | None = None) -> CryptoAdoptionModel:
    return CryptoAdoptionModel(config=load_scenario(SCENARIO, overrides), seed=seed).run()


def network_series(model: CryptoAdoptionModel) -> pd.Series:
    ts = model.timeseries()
    w = ts[(ts.country == "WORLD") & (ts.metric == "hashrate_ehs")]
    return pd.Series(w["value"].to_numpy(), index=pd.to_datetime(w["date"]).dt.date)


def compare(series: pd.Series) -> HashrateFit:
    data = history()
    index = pd.to_datetime(pd.Series(series.index))
    nearest = index.searchsorted(pd.to_datetime(data["date"]))
    nearest = np.clip(nearest, 0, len(series) - 1)
    # pick the closer of the two neighbouring weeks
    prev = np.clip(nearest - 1, 0, len(series) - 1)
    dates = pd.to_datetime(data["date"])
    use_prev = (dates - index.iloc[prev].to_numpy()).abs() < (index.iloc[nearest].to_numpy() - dates).abs()
    pos = np.where(use_prev, prev, nearest)
    model_ehs = series.to_numpy()[pos]
    points = data.assign(model_ehs=model_ehs, log_error=np.log(model_ehs / data["hashrate_ehs"].to_numpy()),
                         window=np.where(data["date"] < FIT_UNTIL, "fit", "test"))
    fit, test = points[points.window == "fit"], points[points.window == "test"]

    def rmse(p):
        # Each calendar year weighs alike: 2019 has monthly points, later years a few.
        years = pd.to_datetime(p["date"]).dt.year
        w = 1.0 / years.map(years.value_counts()).to_numpy()
        return float(np.sqrt(np.sum(w * p.log_error**2) / np.sum(w)))

    def mape(p):
        return float(np.mean(np.abs(p.model_ehs / p.hashrate_ehs - 1.0)))

    return HashrateFit(points, rmse(fit), rmse(test), mape(fit), mape(test))


def halving_dip(series: pd.Series, halving: dt.date = HALVING) -> dict[str, float | None]:
    """Fall from the last pre-halving week to the lowest week within 2.5 months after, and
    the weeks until the pre-halving level is beaten (None if not within six months).

    Data (Luxor 7-day average): about -10% over 2.5 months, a new high within six months.
    """
    before = series[series.index <= halving]
    peak = float(before.iloc[-1])
    after = series[(series.index > halving) & (series.index <= halving + dt.timedelta(days=76))]
    trough = float(after.min())
    later = series[(series.index > halving) & (series.index <= halving + dt.timedelta(days=183))]
    above = later[later > peak]
    weeks = None if above.empty else (above.index[0] - halving).days / 7.0
    return {"pre_halving_ehs": peak, "trough_ehs": trough, "dip": trough / peak - 1.0,
            "weeks_to_new_high": weeks}
