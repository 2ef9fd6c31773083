"""VALIDATION 1e: the baseline's 2025, price as history, against the data's 2025 points,
beside the 2019 backtest whose fitted miners it reuses. Its bound is the backtest's own test
error: a projection built on the fit should start no further from the data than the fit's
test window. It misses today, so the test is a strict expected failure stating the miss."""

from __future__ import annotations

import numpy as np
import pytest

from experiments.validation import first_year
from experiments.validation.backtest import compare, network_series, run_backtest


@pytest.fixture(scope="module")
def first():
    return first_year.run(compare(network_series(run_backtest(seed=0))))


def test_the_first_year_is_judged_at_the_data_s_2025_points(first):
    p = first.points
    assert len(p) >= 4 and all(d.year == 2025 for d in p.date)
    assert np.allclose(p.baseline_log_error, np.log(p.baseline_ehs / p.data_ehs))
    assert np.allclose(p.backtest_log_error, np.log(p.backtest_ehs / p.data_ehs))
    assert first.backtest.rmse_log_test == pytest.approx(float(np.sqrt(np.mean(p.backtest_log_error ** 2))))


def test_the_section_gives_both_models_at_every_point(first):
    text = "\n".join(first_year.markdown(first))
    assert "### 1e." in text and first_year.PROBES in text
    for r in first.points.itertuples():
        assert f"| {r.date} | {r.metric} | {r.data_ehs:g} | {r.backtest_ehs:.0f} ({r.backtest_log_error:+.2f})" in text


@pytest.mark.xfail(strict=True, reason="the baseline's 2025 log-RMSE is 0.193 against the backtest's 0.119: on its "
                   "sourced inputs (country tariffs, the S21 XP) the fitted miners, whose hurdle is on its bound, "
                   "order faster, and it ends 2025 at about 1,400 EH/s against the data's 1,100 (VALIDATION 1e)")
def test_the_baseline_s_first_year_is_no_further_from_the_data_than_the_backtest_s_test_window(first):
    assert first.baseline.rmse_log_test <= first.backtest.rmse_log_test
