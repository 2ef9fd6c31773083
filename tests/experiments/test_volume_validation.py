"""Section 4 of docs/VALIDATION.md held to its bounds: the volume fit's done-bound, and India's
exchange figures each met within 0.5-2x or written down as a miss (and the written misses
still true)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
import pytest

from experiments.validation import backtest_exchanges as bx
from experiments.validation import validate_volume as vv
from experiments.validation.volume_fit import fit_volume


@pytest.fixture(scope="module")
def report():
    return vv.VolumeReport(fit_volume(), bx.exchange_backtest(range(2)), pd.DataFrame())


def test_every_exchange_figure_is_met_or_its_miss_written_down(report):
    assert vv.check_volume(report) == []
    # every written miss names a figure that exists in the data
    keys = {vv._key(p) for p in report.exchanges.points.itertuples()}
    assert set(vv.MISSES) <= keys


def test_the_checks_bite(report):
    points = report.exchanges.points
    met = points[points.met].index[0]
    missed = points[~points.met].index[0]
    broken = points.copy()
    broken.loc[met, ["ratio", "met"]] = [5.0, False]      # a figure not in MISSES now misses
    broken.loc[missed, ["ratio", "met"]] = [1.0, True]    # a written miss is now met
    problems = vv.check_volume(dataclasses.replace(report, exchanges=dataclasses.replace(report.exchanges,
                                                                                          points=broken)))
    assert any("outside 0.5-2x" in p for p in problems) and any("remove it from MISSES" in p for p in problems)
    worse = dataclasses.replace(report.fit, rows=report.fit.rows.assign(loo_ratio=10.0))
    assert any("left out" in p for p in vv.check_volume(dataclasses.replace(report, fit=worse)))


def test_figures_are_read_over_their_published_periods():
    assert bx._months("2021") == (dt.date(2021, 1, 1), dt.date(2022, 1, 1))
    assert bx._months("2022-03 (peak)") == (dt.date(2022, 3, 1), dt.date(2022, 4, 1))
    assert bx._months("2023-01..2023-05") == (dt.date(2023, 1, 1), dt.date(2023, 6, 1))
    assert bx._months("2024-12") == (dt.date(2024, 12, 1), dt.date(2025, 1, 1))
    figs = bx.figures()
    assert (figs.start >= bx.FROM).all() and len(figs) >= 10
    # a published range is met anywhere inside it
    assert bx.ratio_to_range(0.5, 0.387, 0.653) == 1.0
    assert bx.ratio_to_range(0.2, 0.387, 0.653) == pytest.approx(0.2 / 0.387)


def test_modelled_reading_of_a_figure():
    dates = pd.date_range("2022-01-05", periods=10, freq="7D")
    weekly = pd.DataFrame({"WazirX": 7e6, "CoinDCX": 0.0, "Bitbns": 21e6, "ZebPay": 0.0, "Offshore": 1e9},
                          index=dates)
    feb = pd.Series({"exchange": "WazirX", "metric": "avg_daily_volume", "start": dt.date(2022, 2, 1),
                     "end": dt.date(2022, 3, 1)})
    assert bx.modelled(weekly, feb) == pytest.approx(1e6)                  # per day
    share = feb.copy()
    share["metric"] = "share_of_top4_domestic_cex_volume"
    assert bx.modelled(weekly, share) == pytest.approx(0.25)               # offshore not in the four
