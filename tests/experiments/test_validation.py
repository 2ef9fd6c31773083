"""The fast version of `crypto-abm validate`: fails if a backtest drifts past its bound."""

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd

from experiments.validation.backtest import HELD_OUT, compare, halving_dip, history, network_series, run_backtest
from experiments.validation.calibrate import write_calibration
from experiments.validation.validate import BOUNDS, Report, check
from model import load_scenario


def test_backtests_stay_within_their_bounds():
    series = network_series(run_backtest(seed=0))
    report = Report(compare(series), pd.DataFrame({0: series}), halving_dip(series))
    assert check(report) == []
    # the bounds are real: a run twice too high breaks the hashrate bound
    doubled = Report(compare(series * 2.0), report.band, report.dip)
    assert any("log-RMSE" in p for p in check(doubled))


def test_no_held_out_point_is_used():
    dates = history()["date"]
    assert not dates.between(HELD_OUT[0], HELD_OUT[1] - dt.timedelta(days=1)).any()
    assert len(dates) > 20


def test_halving_dip_measures_fall_and_recovery():
    days = pd.date_range("2024-03-01", "2024-12-31", freq="7D").date
    values = np.where(days < dt.date(2024, 4, 20), 100.0, np.where(days < dt.date(2024, 7, 1), 90.0, 110.0))
    dip = halving_dip(pd.Series(values, index=days))
    assert abs(dip["dip"] + 0.10) < 1e-9
    assert 10 <= dip["weeks_to_new_high"] <= 11


def test_calibration_file_is_included_with_fitted_provenance(tmp_path):
    calibration = write_calibration({"mining.growth_per_year": 0.5, "mining.lead_time_weeks": 8},
                                    {"fit_rmse_log_after": 0.1, "test_rmse_log_after": 0.2},
                                    path=tmp_path / "calibration.toml")
    scenario = tmp_path / "s.toml"
    scenario.write_text(f'include = ["{(load_scenario("backtest_hashrate_2019").file).as_posix()}", '
                        f'"{calibration.as_posix()}"]\n')
    spec = load_scenario(scenario)
    assert spec.config.mining.growth_per_year == 0.5
    assert spec.config.mining.lead_time_weeks == 8
    kind, text = spec.provenance["mining.growth_per_year"]
    assert kind == "fitted" and "calibrate mining" in text
    # the note records the errors the fit was written with, so a reader sees how good it was
    assert "fit error 0.100" in text and "test error (2024-2025) 0.200" in text


def test_the_test_window_bound_is_enforced():
    """A fit that is fine before the held-out months but off after them fails `check`, and only
    on the test-window bound (the fit-window one is not what catches it)."""
    series = network_series(run_backtest(seed=0))
    fit = compare(series)
    off = dataclasses.replace(fit, rmse_log_test=BOUNDS["rmse_log_test"] + 0.01)
    problems = check(Report(off, pd.DataFrame({0: series}), halving_dip(series)))
    assert [p for p in problems if "log-RMSE" in p] == [
        f"hashrate test-window log-RMSE {BOUNDS['rmse_log_test'] + 0.01:.3f} > {BOUNDS['rmse_log_test']}"]
