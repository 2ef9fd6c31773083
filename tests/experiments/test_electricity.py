"""Electricity use against CBECI's range and CCAF's 2024 figure (docs/VALIDATION.md 1d)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from experiments.validation import electricity
from experiments.validation.validate import Report, check


@pytest.fixture(scope="module")
def report():
    return electricity.run()


def test_the_cbeci_table_covers_the_backtests_and_states_a_range():
    cbeci = pd.read_csv(electricity.POWER, parse_dates=["date"])
    assert (cbeci.min_gw <= cbeci.guess_gw).all() and (cbeci.guess_gw <= cbeci.max_gw).all()
    assert cbeci.date.min() == pd.Timestamp("2016-05-14") and cbeci.date.max() == pd.Timestamp("2019-08-31")
    assert "ccaf_cbeci_api" in cbeci.source.iloc[0] and cbeci.date.is_unique


def test_monthly_compares_means_and_flags_a_month_outside_the_range():
    days = pd.date_range("2019-01-01", "2019-02-28")
    cbeci = pd.DataFrame({"date": days, "guess_gw": 4.0, "min_gw": 3.0, "max_gw": 5.0})
    weeks = pd.date_range("2019-01-02", "2019-02-27", freq="7D")
    power = pd.Series(np.where(weeks.month == 1, 4500.0, 5500.0), index=weeks.date)  # MW: in, then above
    months = electricity.monthly(power, cbeci)
    assert months.model_gw.tolist() == [4.5, 5.5]
    assert months.within.tolist() == [True, False]


def test_running_efficiency_weighs_only_machines_running(report):
    from model.model import CryptoAdoptionModel
    from model.scenario import load_scenario
    m = CryptoAdoptionModel(config=load_scenario(electricity.SCENARIO), seed=0).run(until=electricity.FLEET_DATE)
    assert electricity.running_efficiency(m) == pytest.approx(report.fleet_j_per_th)
    best = min(float(f.eff.min()) for f in m.fleets.values())
    for f in m.fleets.values():  # only the best vintage left running: its efficiency
        f.running = np.where(f.eff == best, f.running, 0.0)
    assert electricity.running_efficiency(m) == pytest.approx(best)


def test_yearly_twh_is_mean_power_times_the_years_hours():
    index = [dt.date(2024, 1, 1) + dt.timedelta(weeks=k) for k in range(60)]
    power = pd.Series(1000.0, index=index)  # 1 GW all year
    assert electricity.yearly_twh(power, 2024) == pytest.approx(366 * 24 / 1000)


def test_every_backtest_month_lies_within_cbecis_range(report):
    """The bound: CBECI's floor and ceiling (every miner on the best machine on sale; on the
    worst that still pays). A fleet outside runs machines not yet on sale or not paying."""
    assert len(report.months) == 17 and set(report.months.run) == set(electricity.RUNS)
    assert electricity.misses(report) == []


def test_a_month_outside_the_range_is_a_broken_bound(report):
    outside = report.months.assign(within=False)
    broken = electricity.ElectricityReport(outside, report.twh, report.twh_data, report.hashrate_ehs,
                                           report.fleet_j_per_th, report.fleet_facts, report.pue)
    series = pd.Series([1.0], index=[dt.date(2019, 1, 1)])
    problems = check(Report(hashrate=_passing_fit(), band=pd.DataFrame({0: series}),
                            dip={"dip": -0.05}, electricity=broken))
    assert sum("outside CBECI" in p for p in problems) == len(outside)


def test_the_2024_figures_are_the_ones_the_section_quotes(report):
    assert report.twh_data == 138 and len(report.fleet_facts) == 2
    text = "\n".join(electricity.markdown(report))
    assert f"{report.twh:.0f} TWh against CCAF's 138 TWh" in text and "28.2 J/TH" in text and "34 J/TH" in text
    assert 0 < report.fleet_j_per_th < 98 and report.twh > 0


def test_the_fleet_before_the_2024_halving_lies_between_the_published_fleet_figures(report):
    """What the data allow: surveyed fleets averaged 28.2 J/TH over 2024 (CCAF, large miners on
    newer machines), the whole network 34 in 2024-Q1 (CoinShares, from nonces). Before
    miners bought the generations behind the flagship (``mining.bought_over_best``) the
    backtest ran 24.7 J/TH, younger than either."""
    low, high = report.fleet_facts.value.min(), report.fleet_facts.value.max()
    assert (low, high) == (28.2, 34)
    assert low <= report.fleet_j_per_th <= high
    assert "J/TH, between the published fleet figures" in "\n".join(electricity.markdown(report))


def _passing_fit():
    class Fit:
        rmse_log_fit = rmse_log_test = 0.0
    return Fit()
