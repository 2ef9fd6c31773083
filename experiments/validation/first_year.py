"""1e. The baseline's first year against the data: ``south_asia_2025`` under its price history
(2025 is history) at the data's 2025 network points, beside the 2019 backtest's.

The baseline reuses the backtest's fitted miners (hurdle, capacities, lead time) on its own
inputs: each country's sourced tariff, the best machine on sale in 2025 (the S21 XP), the
fleet and shares of early 2025, a pipeline warm-started at the start's hashprice. Its 2025
is no further from the data than the backtest's test window only if the fit carries over
to those inputs; this section measures whether it does (nothing here is fitted).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from experiments.validation.backtest import FIT_UNTIL, HashrateFit, compare, network_series
from model.model import build_model

SCENARIO = "south_asia_2025"
HOUSEHOLDS = 1800  # the mining side does not depend on the households; the scenario's floor
UNTIL = dt.date(2026, 1, 1)

#: What each difference of inputs does to the baseline's hashrate at the end of 2025 (seed 0;
#: probes with overrides and a monkeypatch of the warm start, 2026-12-05, not kept; the live
#: numbers are the table's). Text, so the section says what was tried.
PROBES = (
    "Where the gap comes from (seed 0, end of 2025, each input alone, probed 2026-12-05 and not kept): "
    "every mining country at the backtest's one $0.05/kWh instead of its sourced tariff, 1,413 -> "
    "1,356 EH/s; the backtest's own frontier for 2025 (its trend, 15.2 J/TH) instead of the S21 XP's "
    "13.5, 1,283; the warm-start pipeline held to 2024's pace of growth (72 EH/s over the 12-week lead "
    "time, against the 228 the ordering rule puts there at January 2025's hashprice), 1,375; all three, "
    "1,204. With the hurdle on its bound (-0.90) orders turn on cost near 2025's hashprice: at $45/PH/day "
    "a new machine of 1.244 x 15.2 = 18.9 J/TH at $0.05/kWh returns -27% over its life and is ordered at "
    "63% of the MW its country can add, one of 1.244 x 13.5 = 16.8 J/TH at $0.045 returns +19% and is "
    "ordered at 95%. None is kept: the first two swap sourced inputs for the backtest's cruder ones, all "
    "three were tried with 2025 seen, and together they still end 2025 9% above the data. So the "
    "projection's first year runs hot, and the hashprice after it runs low (README, Headlines). How "
    "much that matters: with the MW a year every country can add scaled by 0.3 (chosen, with 2025 seen, "
    "to bring 2025 near the data: 1,030 EH/s on 2025-09-15, 1,043 on 2025-11-15), the hashprice at the "
    "end of 2025 comes to $38.5/PH/day (data $38.2, not used in choosing it; unscaled $28.7), and with "
    "Pakistan's allocation approved (`pak_allocation_approved`, seed 0) Pakistan's mining peaks at 345 MW "
    "at $0.08/kWh instead of 7, and at 1,209 MW at $0.06 instead of 266. The allocation's answer hangs on "
    "the baseline's first year; making 2025 a fitted nowcast (a scale on the countries' MW a year, with "
    "its uncertainty drawn in the ensembles) would settle it, at the cost of 2025 as a test."
)


@dataclass
class FirstYear:
    """The baseline's and the backtest's errors at the data's 2025 points."""

    baseline: HashrateFit  # only its test window (2025) means anything: the run starts on 2025-01-01
    backtest: HashrateFit

    @property
    def points(self) -> pd.DataFrame:
        """date, data, both models and their log errors at the 2025 points."""
        b = self.baseline.points[self.baseline.points.window == "test"]
        t = self.backtest.points[self.backtest.points.window == "test"].set_index("date")
        return pd.DataFrame({"date": b.date, "metric": b.metric, "data_ehs": b.hashrate_ehs,
                             "backtest_ehs": b.date.map(t.model_ehs), "backtest_log_error": b.date.map(t.log_error),
                             "baseline_ehs": b.model_ehs, "baseline_log_error": b.log_error})


def baseline_series(seed: int = 0) -> pd.Series:
    """The baseline's weekly network hashrate (EH/s) through 2025, price as history."""
    model = build_model(SCENARIO, seed=seed, households=HOUSEHOLDS)
    model.run(until=UNTIL)
    return network_series(model)


def run(backtest: HashrateFit, seed: int = 0) -> FirstYear:
    """The baseline (seed ``seed``) at the data's points from 2025 (:data:`FIT_UNTIL`), beside
    the 2019 backtest's fit ``backtest`` (:func:`~experiments.validation.backtest.compare`)."""
    return FirstYear(compare(baseline_series(seed)), backtest)


def markdown(first: FirstYear) -> list[str]:
    p = first.points
    rows = "\n".join(
        f"| {r.date} | {r.metric} | {r.data_ehs:g} | {r.backtest_ehs:.0f} ({r.backtest_log_error:+.2f}) "
        f"| {r.baseline_ehs:.0f} ({r.baseline_log_error:+.2f}) |" for r in p.itertuples())
    base, back = first.baseline.rmse_log_test, first.backtest.rmse_log_test
    return [
        "",
        f"### 1e. The baseline's first year against the data (`{SCENARIO}`, seed 0)",
        "",
        f"The baseline runs from {FIT_UNTIL:%Y-%m-%d} on the price history of 2025, with the backtest's fitted "
        "miners and its own sourced inputs (country tariffs, the S21 XP as the best machine on sale, the fleet "
        "and shares of early 2025, a warm-started pipeline). Nothing in it is fitted to 2025's hashrate, so the "
        "data's 2025 points test it as they test the backtest (model EH/s, log error in brackets):",
        "",
        "| date | data metric | data EH/s | 2019 backtest | baseline |",
        "|---|---|---:|---:|---:|",
        rows,
        "",
        f"Log-RMSE over these points: baseline {base:.3f}, backtest {back:.3f}. "
        + ("The baseline's first year is no further from the data than the backtest's test window."
           if base <= back else
           f"**The baseline's first year misses by more than the backtest's test window**: it ends 2025 at "
           f"{p.baseline_ehs.iloc[-1]:,.0f} EH/s against the data's {p.data_ehs.iloc[-1]:,g} and the backtest's "
           f"{p.backtest_ehs.iloc[-1]:,.0f} (tests: a strict expected failure)."),
        "",
        PROBES,
        "",
    ]
