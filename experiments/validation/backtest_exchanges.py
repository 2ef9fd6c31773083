"""Backtest 4b: India's exchange volumes 2021-2024 against every exchange figure in the data.

Scenario ``backtest_india_exchanges_2021``: the household calibration's world with India's
four domestic exchanges and the offshore ones (weights: the Jan-May 2023 shares and the
~40% offshore share). Each figure of ``data/exchanges_market_share.csv`` for India (and
the top-4 totals of ``data/crypto_activity.csv``) is read the way it was published:

* ``annual_trading_volume``: the modelled volume summed over the calendar year;
* ``avg_daily_volume``: the modelled volume over the month, per day;
* ``share_of_top4_domestic_cex_volume``: the exchange's share of the four domestic
  exchanges' modelled volume over the period (a range is met anywhere inside it);
* ``cex_volume_top4_domestic_exchanges``: the four's modelled volume over the period.

A figure is met within 0.5-2x (``RATIO_BOUND``); each miss is written down, never bounded
away. Figures the model's inputs were taken from are marked: the 2023 shares are the
exchanges' weights and the Jan-May 2023 total sets the exchange scale
(``experiments/validation/volume_fit.py``), so they are not independent tests.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from model.model import CryptoAdoptionModel
from model.scenario import load_scenario, package_file
from model.units import PERCENT, USD_PER_BN

SCENARIO = "backtest_india_exchanges_2021"
VALUE_RECEIVED = "value received"   # the column of run_india beside the exchanges
DATA = package_file("data")
DOMESTIC = ("WazirX", "CoinDCX", "Bitbns", "ZebPay")   # the "top-4 domestic" of CoinGecko's figures
FROM = dt.date(2021, 1, 1)   # figures compared: 2021-2024
RATIO_BOUND = (0.5, 2.0)
# Periods written in words in the data, with the months they are read as (an assumption).
WORDS = {"early 2022": ("2022-01", "2022-03")}
# Figures the model's inputs come from: (exchange, metric, period).
INPUTS = {("Bitbns", "share_of_top4_domestic_cex_volume", "2023-01..2023-05"): "weight",
          ("WazirX", "share_of_top4_domestic_cex_volume", "2023-01..2023-05"): "weight",
          ("CoinDCX", "share_of_top4_domestic_cex_volume", "2023-01..2023-05"): "weight",
          ("ZebPay", "share_of_top4_domestic_cex_volume", "2023-01..2023-05"): "weight",
          ("top-4 domestic", "cex_volume_top4_domestic_exchanges", "2023-01..2023-05"): "exchange scale"}


def _months(period: str) -> tuple[dt.date, dt.date]:
    """[first day, day after the last) of a period: ``2021``, ``2022-03 (peak)``, ``2023-01..2023-05``
    or a period in words (WORDS)."""
    text = period.split(" (")[0].strip()
    first, last = WORDS.get(text, tuple(text.split("..")) if ".." in text else (text, text))
    if re.fullmatch(r"\d{4}", first):
        first, last = f"{first}-01", f"{last}-12"
    start = dt.date.fromisoformat(f"{first}-01")
    end = dt.date.fromisoformat(f"{last}-01")
    end = dt.date(end.year + end.month // 12, end.month % 12 + 1, 1)
    return start, end


def figures() -> pd.DataFrame:
    """Every exchange figure for India from 2021 on: exchange, metric, period, low, high (a
    range, or low == high), unit factor to USD or share, start, end, source, input."""
    ex = pd.read_csv(DATA / "exchanges_market_share.csv")
    ex = ex[(ex.iso3 == "IND") & ex.exchange.isin(DOMESTIC) & ex.value.notna()]
    act = pd.read_csv(DATA / "crypto_activity.csv")
    act = act[(act.iso3 == "IND") & (act.metric == "cex_volume_top4_domestic_exchanges")]
    rows = [(r.exchange, r.metric, str(r.value), r.unit, r.period, r.source) for r in ex.itertuples()]
    rows += [("top-4 domestic", r.metric, str(r.value), r.unit, r.period, r.source) for r in act.itertuples()]
    out = []
    scale = {"USD billion": USD_PER_BN, "USD million": 1e6, "percent": 1 / PERCENT, "percent (range)": 1 / PERCENT}
    for exchange, metric, value, unit, period, source in rows:
        low, _, high = value.partition("-")
        start, end = _months(period)
        if start < FROM:
            continue
        out.append({"exchange": exchange, "metric": metric, "period": period, "low": float(low) * scale[unit],
                    "high": float(high or low) * scale[unit], "start": start, "end": end, "source": source,
                    "input": INPUTS.get((exchange, metric, period), "")})
    return pd.DataFrame(out)


def run_india(seed: int = 0, households: int | None = None) -> pd.DataFrame:
    """Weekly volume (USD) by exchange in India, and India's value received on chain (column
    VALUE_RECEIVED), indexed by the step's date (the week ending then)."""
    extra = {} if households is None else {"run.households": households, "run.household_floor": households // 9}
    m = CryptoAdoptionModel(config=load_scenario(SCENARIO, extra), seed=seed).run()
    ex = m.exchange_volumes()
    ex = ex[(ex.country == "IND") & (ex.step > 0)]
    weekly = ex.pivot_table(index="date", columns="exchange", values="volume_usd", aggfunc="sum",
                            observed=True).fillna(0.0)
    ts = m.timeseries()
    vr = ts[(ts.country == "IND") & (ts.metric == "value_received_usd") & (ts.step > 0)].set_index("date").value
    return weekly.assign(**{VALUE_RECEIVED: vr.reindex(weekly.index).to_numpy()})


def value_received_by_window(weekly: pd.DataFrame) -> pd.DataFrame:
    """India's modelled value received over each Chainalysis window the run covers, beside the data."""
    vr = pd.read_csv(DATA / "chainalysis_value_received.csv")
    vr = vr[(vr.iso3 == "IND") & (vr.metric == "value_received")]
    dates = pd.to_datetime(weekly.index).date
    out = []
    for r in vr.itertuples():
        start, end = _months(r.period)
        if start >= FROM - dt.timedelta(days=366) and end <= max(dates):
            model = float(weekly.loc[(dates >= start) & (dates < end), VALUE_RECEIVED].sum())
            out.append({"period": r.period, "data": float(r.value) * USD_PER_BN, "model": model,
                        "ratio": model / (float(r.value) * USD_PER_BN)})
    return pd.DataFrame(out)


def modelled(weekly: pd.DataFrame, f) -> float:
    """The model's reading of one figure ``f`` from weekly volumes by exchange."""
    dates = pd.to_datetime(weekly.index).date
    w = weekly[(dates >= f.start) & (dates < f.end)]
    domestic = w[[e for e in DOMESTIC if e in w]].sum(axis=1)
    if f.metric == "share_of_top4_domestic_cex_volume":
        return float(w[f.exchange].sum() / domestic.sum())
    volume = float(domestic.sum() if f.exchange == "top-4 domestic" else w[f.exchange].sum())
    if f.metric == "avg_daily_volume":
        return volume / (len(w) * 7.0)
    return volume   # annual totals and totals over a period


@dataclass
class ExchangeBacktest:
    points: pd.DataFrame      # per figure: data low/high, model (seed mean), model_min/max, ratio, met, input
    weekly: pd.DataFrame      # seed-mean weekly volume by exchange and value received
    value_received: pd.DataFrame   # India's modelled value received per Chainalysis window, beside the data
    seeds: int


def ratio_to_range(model: float, low: float, high: float) -> float:
    """Model over data; 1 anywhere inside a published range, else over its nearer end."""
    return 1.0 if low <= model <= high else model / (low if model < low else high)


def exchange_backtest(seeds: range = range(5), households: int | None = None) -> ExchangeBacktest:
    runs = [run_india(seed=20_000 + s, households=households) for s in seeds]
    figs = figures()
    values = np.array([[modelled(r, f) for f in figs.itertuples()] for r in runs])
    points = figs.assign(model=values.mean(axis=0), model_min=values.min(axis=0), model_max=values.max(axis=0))
    points["ratio"] = [ratio_to_range(p.model, p.low, p.high) for p in points.itertuples()]
    points["met"] = points.ratio.between(*RATIO_BOUND)
    weekly = sum(runs) / len(runs)
    return ExchangeBacktest(points, weekly, value_received_by_window(weekly), len(runs))
