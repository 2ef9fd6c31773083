"""Issue 14's halving bounds: each modelled dip within 5 points of the data's and its
recovery within two months (2016 network-only, 2020, 2024), and the flat-price baseline's
2028 dip inside the historical range. A missed bound stays and is marked
xfail(strict=True) with the miss (docs/VALIDATION.md, section 1c)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from experiments.validation import halvings

#: (halving, measure) the model misses today, with the miss; the rest must hold.
MISSES: dict[tuple[str, str], str] = {
    ("2024-04-20", "dip"): "-3.8% against -11.1% (-6.7% as the data measure it), 7.3 points: at half the "
                           "hashprice nearly every machine still beat its power bill; weeks 4-8 after the "
                           "halving the model stood 2.2% below its pre level and the data 3.3%, whose dip is "
                           "the lowest rolling window of daily values: on its own weekly values the data dip "
                           "-6.8%, 3.0 points from the model's; measured from the blocks and read as the file "
                           "reads daily values, the model's dips have a median of -8.8% and 20% of them are as "
                           "deep as the data's (VALIDATION 1c, daily_dips.py)",
    ("2028", "flat"): "the flat-price baseline dips -43.4% in 2028, below the historical range (-24.2% to -11.1%): "
                      "its orders go on at the hurdle's bound to 1,861 EH/s; at the 2025-12 price the data's own "
                      "hashprice would ask three quarters of the fleet to be better than 20.4 J/TH by then "
                      "(VALIDATION 1c, halving_margins.py); over 40 draws of the fitted terms the dip's median is "
                      "-42.1% and none lies inside the range",
}


@pytest.fixture(scope="module")
def rows():
    return halvings.table_rows().set_index("halving")


def _case(halving: str, measure: str, misses: dict[tuple[str, str], str] = MISSES):
    key = (halving, measure)
    return pytest.param(*key, marks=pytest.mark.xfail(strict=True, reason=misses[key])) if key in misses else key


@pytest.mark.parametrize("halving, measure", [_case(h, m) for h in ("2016-07-09", "2020-05-11", "2024-04-20")
                                              for m in ("dip", "recovery")])
def test_halving_within_the_issue_bounds(rows, halving, measure):
    r = rows.loc[dt.date.fromisoformat(halving)]
    if measure == "dip":
        assert abs(r.model_dip - r.data_dip) * 100 <= halvings.BOUND_DIP_PP
    else:
        assert r.model_weeks is not None
        assert abs(r.model_weeks - r.data_weeks) <= halvings.BOUND_RECOVERY_WEEKS


def test_the_table_gives_each_halving_as_the_data_measure_it_too(rows):
    """Block luck moves the measured dips (about 3% a week) but not by a halving's worth."""
    moved = (rows.measured_dip - rows.model_dip).abs()
    assert (moved > 0).all() and (moved < 0.10).all()
    text = "\n".join(halvings.markdown(rows.reset_index(), {"dip": -0.2, "weeks_to_new_high": None}))
    assert f"{rows.measured_dip.iloc[2]:+.1%}" in text and "As measured, " in text


def test_weekly_autocorrelation_tells_a_cobweb_from_a_random_walk():
    import pandas as pd

    from experiments.validation.backtest import weekly_autocorrelation
    cobweb = pd.Series([100.0, 110.0] * 50)
    walk = pd.Series(np.exp(np.cumsum(np.random.default_rng(0).normal(0.0, 0.02, 2000))))
    assert weekly_autocorrelation(cobweb) == pytest.approx(-1.0)
    assert abs(weekly_autocorrelation(walk)) < 0.1


def test_block_luck_is_unbiased_with_the_spread_of_the_blocks_found():
    """The measurement's relative spread is 1/sqrt(blocks expected): 1008 a week at the
    difficulty set for the hashrate; twice as many where the hashrate has doubled since."""
    from experiments.validation.backtest import block_luck
    rng = np.random.default_rng(0)
    week = 7 * 86400.0
    hashrate = np.full(40_000, 500.0)
    set_for_it = hashrate * 1e18 * 600.0 / 2**32  # the difficulty set for that hashrate
    measured = block_luck(hashrate, set_for_it, week, rng)
    assert abs(measured.mean() / 500.0 - 1.0) < 0.001
    assert abs((measured / 500.0).std() * np.sqrt(1008) - 1.0) < 0.02
    doubled = block_luck(hashrate, set_for_it / 2.0, week, rng)
    assert abs((doubled / 500.0).std() * np.sqrt(2016) - 1.0) < 0.02


def test_the_measured_hashrate_draws_its_blocks_from_the_run_s_seed():
    from experiments.validation.backtest import measured_series, run_backtest
    a, b, c = (measured_series(run_backtest(seed=s)) for s in (3, 3, 4))
    assert a.equals(b) and not a.equals(c)


def test_the_data_dips_are_the_issue_s():
    d = halvings.data_dips().set_index("halving")["dip"]
    assert d.round(3).tolist() == [-0.115, -0.242, -0.111]


def test_the_data_s_weekly_values_dip_less_than_its_daily_windows():
    """Read as the model's weekly values are (the two weeks before, the lowest of the eight
    after), the data's own weekly 7-day means dip less than the file's lowest rolling window
    of daily values: a window can end on any day, so it finds the lower luck."""
    weekly = halvings.weekly_data_dips()
    daily = halvings.data_dips().set_index("halving")["dip"]
    assert [round(weekly[h], 3) for h in halvings.HALVINGS] == [-0.099, -0.215, -0.068]
    assert all(daily[h] < weekly[h] < 0 for h in halvings.HALVINGS)


def test_the_table_gives_the_data_s_weekly_dip_beside_the_file_s(rows):
    text = "\n".join(halvings.markdown(rows.reset_index(), {"dip": -0.2, "weeks_to_new_high": None}))
    assert "| data, weekly |" in text and f"{rows.data_weekly_dip.iloc[2]:+.1%}" in text
    assert "Against the data's own weekly values, " in text


@pytest.fixture(scope="module")
def flat():
    return halvings.flat_2028()


@pytest.mark.parametrize("halving, measure", [_case("2028", "flat")])
def test_flat_price_2028_dip_inside_the_historical_range(flat, halving, measure):
    assert halvings.flat_2028_in_range(flat["dip"], halvings.data_dips())


def test_the_flat_price_baseline_settles_after_2028_as_the_network_did_after_its_halvings(flat):
    """No cobweb: after the 2028 halving the flat-price baseline's weekly changes are no
    larger on average than the data's after any historical halving (block luck included)."""
    assert flat["swing"] <= max(halvings.data_swings().values())


def test_the_swing_tells_a_cobweb_from_a_level_that_settles():
    import pandas as pd
    halving = dt.date(2028, 4, 15)
    dates = [halving + dt.timedelta(weeks=k) for k in range(-2, 30)]
    settles = pd.Series([100.0, 100.0] + [60.0 + 40.0 * (1.0 - 0.8 ** k) for k in range(30)], index=dates)
    cobweb = pd.Series([100.0, 100.0] + [60.0 if k % 4 < 2 else 100.0 for k in range(30)], index=dates)
    assert halvings.swing(settles, halving) < 0.02 < 0.2 < halvings.swing(cobweb, halving)
    data = halvings.data_swings()
    assert set(data) == set(halvings.HALVINGS) and all(0.0 < v < 0.1 for v in data.values())


def test_the_switching_check_reads_the_grid_it_is_given():
    """grid_markdown's counts come from the grid: a pair within every bound is counted, a
    recovery is read only where 2024's dip is within its bound."""
    import pandas as pd
    history = halvings.data_dips()
    data = dict(zip((d.year for d in history.halving), history.dip))
    grid = pd.DataFrame([
        {"switch": 0.3, "spread": 0.25, "dip_2016": data[2016], "dip_2020": data[2020], "dip_2024": data[2024],
         "recovery_2024": 7.0, "autocorrelation": 0.05},
        {"switch": 1.0, "spread": 0.4, "dip_2016": 0.1, "dip_2020": 0.0, "dip_2024": 0.0, "recovery_2024": 1.0,
         "autocorrelation": -0.9}])
    text = " ".join(halvings.grid_markdown(grid, history))
    assert "1 of 2 pairs put all three dips within +-5 points (0.3/0.25)" in text
    assert "The 2016 network-only run dips at 1 of 2 pairs" in text
    assert "1 the 2020 and 2024 dips both (switching speed/spread: 0.3/0.25)" in text
    assert "(1 pairs), its recovery takes at best 7 weeks" in text
    assert "a cobweb): 1/0.4." in text
    assert "the scenario's own pair: +0.05" in " ".join(halvings.grid_markdown(grid, history, 0.05))


def test_leaving_one_halving_out_fits_on_the_other_two_and_tests_on_it():
    """Each fit takes the pair that matches the two halvings it is given, whatever it does at
    the third, and the third's dip is judged against its own bound."""
    history = halvings.data_dips()
    d = dict(zip((h.year for h in history.halving), history.dip))
    grid = pd.DataFrame([
        {"switch": 0.1, "spread": 0.1, "dip_2016": d[2016], "dip_2020": d[2020], "dip_2024": d[2024] + 0.10},
        {"switch": 0.2, "spread": 0.2, "dip_2016": d[2016] - 0.03, "dip_2020": d[2020], "dip_2024": d[2024]},
        {"switch": 0.3, "spread": 0.3, "dip_2016": d[2016], "dip_2020": d[2020] - 0.08, "dip_2024": d[2024]}])
    loo = halvings.leave_one_out(grid, history).set_index("held_out")
    assert loo.switch.to_dict() == {2016: 0.2, 2020: 0.3, 2024: 0.1}
    assert loo.within.to_dict() == {2016: True, 2020: False, 2024: False}
    assert loo.dip[2024] == pytest.approx(d[2024] + 0.10)
    text = halvings.leave_one_out_markdown(loo.reset_index())
    assert "1 of 3 held-out halvings come within +-5 points: a fit of the two would pass or fail" in text
    assert text.count("**outside**") == 2
    none = halvings.leave_one_out(grid.assign(dip_2016=0.0, dip_2020=0.0, dip_2024=0.0), history)
    assert "0 of 3 held-out halvings come within +-5 points: a fit of the two carries to none" in (
        halvings.leave_one_out_markdown(none))


def test_overriding_the_assumed_switching_values_with_themselves_changes_nothing():
    from model.scenario import load_scenario
    mining = load_scenario("backtest_hashrate_2019").config.mining
    assumed = {"mining.switch_share_per_week": mining.switch_share_per_week, "mining.cost_spread": mining.cost_spread}
    assert halvings.dips_of_one_seed(0, assumed) == halvings.dips_of_one_seed(0)
    assert set(halvings.SWITCHING_GRID) == set(assumed)  # the grid varies the scenario's own two values


def test_a_lasting_recovery_ignores_a_single_week_above_the_pre_level():
    import pandas as pd
    halving = dt.date(2024, 4, 20)
    dates = [halving + dt.timedelta(weeks=k) for k in range(-2, 27)]
    values = [100.0, 100.0] + [90.0] * 3 + [101.0] + [95.0] * 5 + [102.0] * 18  # weeks -2..26: a spike at week 3
    series = pd.Series(values, index=dates)
    assert halvings.halving_dip(series, halving)["weeks_to_new_high"] == 3.0
    assert halvings.halving_dip(series, halving, run=halvings.LASTING_WEEKS)["weeks_to_new_high"] == 9.0
    assert halvings.halving_dip(series.clip(upper=99.0), halving, run=4)["weeks_to_new_high"] is None


def test_the_s9_share_counts_only_s9_class_machines_running():
    from experiments.validation.backtest import S9_DATE, run_with_s9_share, s9_share
    from model.model import CryptoAdoptionModel
    from model.scenario import load_scenario
    model, share = run_with_s9_share()
    assert 0.0 <= share < 1.0 and model.t == len(model.dates) - 1  # the share on S9_DATE, the run to its end
    m = CryptoAdoptionModel(config=load_scenario("backtest_hashrate_2019"), seed=0).run(until=S9_DATE)
    for f in m.fleets.values():  # with every S9-class machine idle the share is 0
        f.running = np.where(f.eff >= halvings.S9_CLASS_J_PER_TH, 0.0, f.running)
    assert s9_share(m) == 0.0
    cfg = m.config.mining
    s9, s17 = cfg.vintages["s9"].efficiency_j_per_th, cfg.vintages["s17"].efficiency_j_per_th
    assert s9 >= halvings.S9_CLASS_J_PER_TH > s17


def test_the_fleet_mix_fact_is_the_one_the_section_quotes():
    import pandas as pd

    from experiments.validation.backtest import FACTS, s9_share_pct
    facts = pd.read_csv(FACTS)
    mix = facts[facts.category == "fleet_mix"]
    assert len(mix) == 1 and "Coin Metrics" in mix.source.iloc[0]
    assert s9_share_pct() == mix.value.iloc[0] == 23


def test_the_2016_fleet_is_what_was_installed_while_each_machine_was_the_best_on_sale(tmp_path, monkeypatch):
    """The scenario's S3/S5/S7 shares are the derivation's (to their 5 printed decimals);
    on a network growing by the same EH/s every day each share is the span of days its
    machine was the best on sale over the days from the S3's release to the run's start."""
    import pandas as pd

    from model.scenario import load_scenario
    vintages = load_scenario("backtest_halving_2016").config.mining.vintages
    derived = halvings.fleet_2016()
    assert set(derived) == set(vintages)
    for name, (eff, share) in derived.items():
        assert vintages[name].efficiency_j_per_th == eff
        assert vintages[name].share == pytest.approx(share, abs=5e-6)
    days = pd.date_range("2014-05-01", "2016-06-30", freq="D")
    linear = tmp_path / "linear.csv"
    pd.DataFrame({"date": days.date, "hashrate_ehs": np.arange(len(days)) * 0.001}).to_csv(linear, index=False)
    monkeypatch.setattr(halvings, "HASHRATE_2014_2016", linear)
    start = load_scenario(halvings.EARLY).config.run.start
    releases = [dt.date(2014, 7, 1), dt.date(2014, 12, 1), dt.date(2015, 9, 1), start]
    spans = np.diff([d.toordinal() for d in releases])
    assert [s for _, s in halvings.fleet_2016().values()] == pytest.approx(spans / spans.sum())


def test_the_plateau_means_the_weeks_it_names():
    halving = dt.date(2024, 4, 20)
    weeks = range(-4, 30)
    series = pd.Series([float(w) for w in weeks], index=[halving + dt.timedelta(weeks=w) for w in weeks])
    assert halvings._mean_over(series, halving, halvings.TROUGH_WEEKS) == pytest.approx(6.0)
    assert halvings._mean_over(series, halving, halvings.LATER_WEEKS) == pytest.approx(24.0)


def test_the_implied_elasticity_inverts_the_first_order_response():
    e, reward, installed = 0.5, 0.2, 0.1
    row = {"reward_rise": reward, "installed_rise": installed, "data_rise": (e * reward + installed) / (1 + e)}
    assert halvings.implied_elasticity(row) == pytest.approx(e)


@pytest.fixture(scope="module")
def plateaus():
    return halvings.plateaus(0)


def test_the_data_s_plateaus_are_read_from_the_windows_file(plateaus):
    data = pd.read_csv(halvings.WINDOWS, parse_dates=["date"]).set_index("date").hashrate_ehs
    for h, row in plateaus.items():
        t = pd.Timestamp(h)
        pre = data[(data.index >= t - pd.Timedelta(days=14)) & (data.index < t)].mean()
        trough = data[(data.index >= t + pd.Timedelta(weeks=4)) & (data.index <= t + pd.Timedelta(weeks=8))].mean()
        later = data[(data.index >= t + pd.Timedelta(weeks=22)) & (data.index <= t + pd.Timedelta(weeks=26))].mean()
        assert row["data_plateau"] == pytest.approx(np.log(trough / pre))
        assert row["data_rise"] == pytest.approx(np.log(later / trough))


def test_the_model_s_plateau_lies_between_its_lowest_week_and_its_pre_level(plateaus):
    from experiments.validation.backtest import halving_dip, network_series, run_backtest
    series = network_series(run_backtest(0))
    for h, row in plateaus.items():
        dip = halving_dip(series, h)["dip"]
        assert np.log1p(dip) <= row["model_plateau"] < 0.0  # the mean of weeks 4-8 is no lower than the lowest
        assert 0.0 < row["idle"] < 1.0 and row["elasticity"] > 0.0  # a halving idles machines near their cost


#: The plateau test's misses (halving, plateau or rise), with the miss; the bound stays.
PLATEAU_MISSES: dict[tuple[str, str], str] = {
    ("2020-05-11", "rise"): "+6.5% against +13.2% from weeks 4-8 to weeks 22-26, 6.7 points: both windows hold "
                            "China's autumn move (the data's week to 2020-11-02, the model's of 2020-11-04), and "
                            "before it the model stood at 124-127 EH/s in mid-October against the data's 139-141: "
                            "it grows too slowly from June, which its missing autumn drop hid before the moves "
                            "(2026-12-05; VALIDATION 1c)",
}


@pytest.mark.parametrize("halving, key", [_case(h, k, PLATEAU_MISSES) for h in ("2020-05-11", "2024-04-20")
                                          for k in ("plateau", "rise")])
def test_a_month_after_the_2020_and_2024_halvings_and_the_rise_after_follow_the_data(plateaus, halving, key):
    """The smoothed response to a halving: the model's plateau (weeks 4-8 over the pre level)
    and its rise from there to weeks 22-26 each within the dips' tolerance (5 points) of the
    data's. Machines switching off on their whole cash cost (before 2026-12-04, night) put the
    plateaus at -17.8% and -11.9% against the data's -0.8% and -3.3%."""
    row = plateaus[dt.date.fromisoformat(halving)]
    gap = np.expm1(row[f"model_{key}"]) - np.expm1(row[f"data_{key}"])
    assert abs(gap) * 100 <= halvings.BOUND_DIP_PP


def test_the_flat_price_dip_over_the_fits_draws_moves_with_the_draw(flat):
    """The draws reach the run (each draw its own dip, none the fitted values' own), and each
    dip is a finite share of the network."""
    dips = halvings.flat_2028_draws(3)
    assert len(set(np.round(dips, 6))) == 3 and flat["dip"] not in dips
    assert all(np.isfinite(d) and -1.0 < d < 1.0 for d in dips)
