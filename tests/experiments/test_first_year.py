"""VALIDATION 1e: the baseline's 2025, price as history, against the data's 2025 points,
beside the 2019 backtest whose fitted miners it reuses; once with the capacities as the
backtest fitted them (the transfer: nothing fitted to 2025) and once with the shipped nowcast
(fitted to these points). The transfer's bound is the backtest's own test error: a projection
built on the fit should start no further from the data than the fit's test window. It misses,
so that test is a strict expected failure stating the miss, and the projection carries the
fitted nowcast instead."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from data import table
from experiments.validation import first_year
from experiments.validation.backtest import network_series, run_backtest
from model.scenario import load_scenario


@pytest.fixture(scope="module")
def first():
    return first_year.run(network_series(run_backtest(seed=0)))


def test_the_first_year_is_judged_at_the_data_s_2025_points(first):
    p = first.points
    assert len(p) >= 4 and all(d.year == 2025 for d in p.date)
    for name in ("transfer", "nowcast", "backtest"):
        assert np.allclose(p[f"{name}_log_error"], np.log(p[f"{name}_ehs"] / p.data_ehs))
    assert first.backtest.fit.rmse_log_test == pytest.approx(float(np.sqrt(np.mean(p.backtest_log_error ** 2))))
    assert first.nowcast.fit.rmse_log_test == pytest.approx(float(np.sqrt(np.mean(p.nowcast_log_error ** 2))))


def test_the_monthly_means_are_whole_months_of_2025_and_every_run_is_judged_on_them(first):
    data = first_year.monthly_data()
    daily = pd.read_csv(table("hashrate_2025_daily.csv"), parse_dates=["date"])
    assert (daily.date.dt.year == 2025).all() and np.isfinite(daily.hashrate_ehs).all()
    assert len(data) >= 6 and all(str(m).startswith("2025-") for m in data.index)
    for month, mean in data.items():  # each a mean of at least MIN_DAYS days of its month
        days = daily[daily.date.dt.to_period("M") == month]
        assert len(days) >= first_year.MIN_DAYS and mean == pytest.approx(days.hashrate_ehs.mean())
    for run in (first.backtest, first.transfer, first.nowcast):
        m = run.months
        assert list(m.month) == [str(x) for x in data.index] and np.isfinite(m.model_ehs).all()
        assert np.allclose(m.log_error, np.log(m.model_ehs / m.data_ehs))


def test_the_section_gives_every_run_at_every_point_and_says_which_is_in_sample(first):
    text = "\n".join(first_year.markdown(first))
    assert "### 1e." in text and first_year.PROBES in text and "in sample" in text
    for r in first.points.itertuples():
        assert (f"| {r.date} | {r.metric} | {r.data_ehs:g} | {r.backtest_ehs:.0f} ({r.backtest_log_error:+.2f}) "
                f"| {r.transfer_ehs:.0f} ({r.transfer_log_error:+.2f}) | {r.nowcast_ehs:.0f}") in text


def test_the_shipped_nowcast_is_the_fit_of_these_points(first):
    """The shipped scale fits the data's 2025 monthly means better than the capacities as fitted
    on the backtest and than the scale a standard error either side (``nowcast.toml`` is not
    stale)."""
    cov = load_scenario(first_year.SCENARIO).config.nowcast.covariance
    se_log = float(np.sqrt(cov.matrix[0][0]))
    best = first_year.rmse(first.nowcast.months)
    assert best < first_year.rmse(first.transfer.months)
    for side in (-1, 1):
        moved = first_year.baseline_run(0, first.nowcast_scale * float(np.exp(side * se_log)))
        assert best <= first_year.rmse(moved.months)


def test_the_nowcast_s_hashprice_is_nearer_the_data_than_the_transfer_s(first):
    """Not fitted: the end-2025 hashprice follows from the hashrate and the price history."""
    data = first_year.data_hashprice()
    assert abs(first.nowcast.hashprice_usd_per_ph_day - data) < abs(first.transfer.hashprice_usd_per_ph_day - data)


@pytest.mark.xfail(strict=True, reason="with the capacities as the backtest fitted them the baseline's 2025 "
                   "log-RMSE is 0.193 against the backtest's 0.119: on its sourced inputs (country tariffs, the S21 "
                   "XP) the fitted miners, whose hurdle is on its bound, order faster, and it ends 2025 at about "
                   "1,400 EH/s against the data's 1,100 (VALIDATION 1e); the shipped projection carries a fitted "
                   "nowcast instead")
def test_the_transfer_s_first_year_is_no_further_from_the_data_than_the_backtest_s_test_window(first):
    assert first.transfer.fit.rmse_log_test <= first.backtest.rmse_log_test


def test_a_run_that_misses_a_month_of_the_data_is_refused():
    short = pd.Series([800.0, 810.0], index=[pd.Timestamp("2025-01-08").date(), pd.Timestamp("2025-02-05").date()])
    with pytest.raises(ValueError, match="no week in 2025-09"):
        first_year.monthly(short)
