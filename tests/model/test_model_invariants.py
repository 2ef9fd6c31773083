"""Invariants over a full baseline run (2025-2030, 2,000 households, shared fixture)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from conftest import ALLOCATION_DATE, VAO_DATE, series, wide

from model import build_model
from model.recorder import COUNTRY_METRICS, WORLD, WORLD_ONLY


def test_table_is_complete_tidy_and_finite(baseline_model, baseline_ts):
    ts, m = baseline_ts, baseline_model
    assert list(ts.columns) == ["step", "date", "country", "metric", "value"]
    n_steps = len(m.dates)
    assert ts["step"].max() == n_steps - 1 == m.t
    assert np.isfinite(ts["value"].to_numpy()).all()  # no NaN and no inf anywhere
    assert not ts.duplicated(["step", "country", "metric"]).any()
    # NaN would be dropped silently, so check that no expected row is missing.
    counts = ts.groupby(["metric", "country"], observed=True).size()
    for metric in ("hashrate_ehs", "hashrate_share", "mining_power_mw", "stance", "reserve_btc"):
        for code in m.codes + [WORLD]:
            assert counts[(metric, code)] == n_steps, (metric, code)
    for metric in ("adoption_rate", "adopters", "trading_volume_usd"):
        for code in m.household_countries + [WORLD]:
            assert counts[(metric, code)] == n_steps, (metric, code)
        assert not set(ts[ts["metric"] == metric]["country"]) - set(m.household_countries + [WORLD])
    for metric in WORLD_ONLY:
        assert set(ts[ts["metric"] == metric]["country"]) == {WORLD}
        assert counts[(metric, WORLD)] == n_steps
    capped = [c for c in m.codes if m.config.countries[c].mining_allowance_mw is not None]
    assert sorted(set(ts[ts["metric"] == "mining_power_allowed_mw"]["country"])) == sorted(capped)
    assert set(ts["metric"]) <= set(COUNTRY_METRICS + WORLD_ONLY)
    # Dates are the weekly grid.
    dates = ts.drop_duplicates("step").sort_values("step")["date"].dt.date.tolist()
    assert dates == m.dates


def test_country_hashrates_add_up_to_the_world(baseline_model, baseline_ts):
    for metric in ("hashrate_ehs", "underground_hashrate_ehs", "mining_power_mw", "miner_revenue_usd"):
        w = wide(baseline_ts, metric)
        countries = w.drop(columns=WORLD)
        np.testing.assert_allclose(countries.sum(axis=1), w[WORLD], rtol=1e-9, err_msg=metric)
    # And the world hashrate is the network hashrate the market saw.
    hist = baseline_model.market.hashrate_history
    w = wide(baseline_ts, "hashrate_ehs")[WORLD].to_numpy()
    np.testing.assert_allclose(hist[1:], w[1:], rtol=1e-12)


def test_shares_sum_to_one(baseline_ts):
    share = wide(baseline_ts, "hashrate_share")
    np.testing.assert_allclose(share.drop(columns=WORLD).sum(axis=1), 1.0, rtol=1e-9)
    assert (share.drop(columns=WORLD) >= 0).all().all()
    np.testing.assert_allclose(share[WORLD], 1.0)


def test_adoption_is_a_rate_and_adopters_add_up(baseline_model, baseline_ts):
    rate = wide(baseline_ts, "adoption_rate")
    assert ((rate >= 0) & (rate <= 1)).all().all()
    adopters = wide(baseline_ts, "adopters")
    pops = pd.Series({c: baseline_model.countries[c].population for c in baseline_model.household_countries})
    np.testing.assert_allclose(adopters.drop(columns=WORLD).sum(axis=1), adopters[WORLD], rtol=1e-9)
    np.testing.assert_allclose(adopters[WORLD] / pops.sum(), rate[WORLD], rtol=1e-9)
    np.testing.assert_allclose(adopters[pops.index], rate[pops.index] * pops, rtol=1e-9)


def test_volumes_are_never_negative_and_match_the_exchange_table(baseline_model, baseline_ts):
    for metric in ("trading_volume_usd", "p2p_volume_usd", "miner_revenue_usd", "hashrate_ehs",
                   "mining_power_mw", "reserve_btc"):
        assert (baseline_ts[baseline_ts["metric"] == metric]["value"] >= 0).all(), metric
    vol = baseline_model.exchange_volumes()
    assert (vol["volume_usd"] > 0).all()
    by_country = vol.groupby(["step", "country"], observed=True)["volume_usd"].sum().unstack()
    total = wide(baseline_ts, "trading_volume_usd").drop(columns=WORLD)
    np.testing.assert_allclose(by_country[total.columns].fillna(0.0), total, rtol=1e-9)
    p2p = vol[vol["exchange"] == "P2P"].groupby(["step", "country"], observed=True)["volume_usd"].sum()
    p2p_ts = wide(baseline_ts, "p2p_volume_usd").drop(columns=WORLD).stack()
    p2p_ts = p2p_ts[p2p_ts > 0]
    np.testing.assert_allclose(p2p.reindex(p2p_ts.index).to_numpy(), p2p_ts.to_numpy(), rtol=1e-9)


@pytest.fixture(scope="module")
def cheap_power_ts():
    """Pakistan's allocation approved (as announced) at a tariff that pays (so it fills)."""
    m = build_model("pak_allocation_approved", seed=0, households=1800,
                    overrides={"shocks.pak_allocation.tariff_usd_per_kwh": 0.04})
    return m, m.run(until=dt.date(2028, 1, 1)).timeseries()


def test_no_country_draws_more_than_its_allowance(baseline_ts, cheap_power_ts):
    for ts in (baseline_ts, cheap_power_ts[1]):
        power, allowed = wide(ts, "mining_power_mw"), wide(ts, "mining_power_allowed_mw")
        for code in allowed.columns:
            assert (power[code] <= allowed[code] + 1e-6).all(), code
    # The baseline leaves Pakistan's allocation unapproved: no MW for its miners at any time.
    assert series(baseline_ts, "PAK", "mining_power_allowed_mw").max() == 0
    pak = series(cheap_power_ts[1], "PAK", "mining_power_allowed_mw")
    assert pak[pak.index < ALLOCATION_DATE].max() == 0
    assert pak[pak.index > ALLOCATION_DATE + dt.timedelta(days=7)].min() > 0
    # With power that pays, the allocation is used, so the bound is not vacuous.
    ts = cheap_power_ts[1]
    assert series(ts, "PAK", "mining_power_mw").max() > 0.5 * series(ts, "PAK", "mining_power_allowed_mw").max()


def test_network_hashrate_starts_plausibly(baseline_ts):
    world = series(baseline_ts, WORLD, "hashrate_ehs")
    assert 700 <= world.iloc[0] <= 1200
    assert (world > 300).all()


def test_pakistan_mines_only_after_the_allocation(baseline_ts, cheap_power_ts):
    assert (series(baseline_ts, "PAK", "hashrate_ehs") == 0).all()  # never approved in the baseline
    m, ts = cheap_power_ts
    pak = series(ts, "PAK", "hashrate_ehs")
    assert (pak[pak.index < ALLOCATION_DATE] == 0).all()
    assert pak[pak.index >= ALLOCATION_DATE].max() > 0
    # Orders take lead_time_weeks to arrive.
    first = pak[pak > 0].index.min()
    assert first >= ALLOCATION_DATE + dt.timedelta(weeks=m.config.mining.lead_time_weeks)


def test_pakistan_starting_adoption_matches_ownership(baseline_model, baseline_ts):
    rate = series(baseline_ts, "PAK", "adoption_rate")
    assert abs(rate.iloc[0] * 100 - baseline_model.config.countries["PAK"].ownership_pct) < 2.0


def test_vao_stance_change_is_logged_on_its_week(baseline_model):
    ev = baseline_model.events_frame()
    assert list(ev.columns) == ["date", "country", "kind", "from", "to", "cause"]
    vao = ev[(ev["country"] == "PAK") & (ev["kind"] == "stance") & ev["cause"].str.contains("pak_vao")]
    assert len(vao) == 1
    row = vao.iloc[0]
    assert row["to"] == "3"
    assert VAO_DATE <= row["date"] < VAO_DATE + dt.timedelta(days=7)
    # Events come in date order.
    assert ev["date"].is_monotonic_increasing


def test_block_subsidy_halves_in_april_2028(baseline_ts):
    subsidy = series(baseline_ts, WORLD, "block_subsidy_btc")
    changes = subsidy[subsidy.diff().fillna(0) != 0]
    assert len(changes) == 1
    when = changes.index[0]
    assert (when.year, when.month) == (2028, 4)
    before = subsidy[subsidy.index < when]
    assert before.nunique() == 1
    assert changes.iloc[0] == pytest.approx(before.iloc[0] / 2)


def test_price_follows_the_csv_history_while_it_lasts(baseline_model, baseline_ts):
    csv = pd.read_csv(baseline_model.spec.resolve_path(baseline_model.config.market.price.csv))
    monthly = dict(zip(csv["month"], csv["mean_usd"]))
    price = series(baseline_ts, WORLD, "btc_price_usd")
    checked = 0
    for d, p in price.items():
        key = f"{d.year}-{d.month:02d}"
        if key in monthly:
            assert p == pytest.approx(monthly[key])
            checked += 1
    assert checked >= 40
    assert (price > 0).all()


def implied_hashprice(ts, mk, fees):
    """reward x price / difficulty hashrate, from the recorded world rows and the fees by step."""
    w = {m: series(ts, WORLD, m) for m in ("btc_price_usd", "block_subsidy_btc", "difficulty")}
    difficulty_ehs = w["difficulty"] * 2**32 / 600.0 / 1e18
    return (w["block_subsidy_btc"] + fees) * mk.blocks_per_day * w["btc_price_usd"] / (difficulty_ehs * 1000.0)


def test_recorded_hashprice_agrees_with_recorded_difficulty(baseline_model, baseline_ts):
    implied = implied_hashprice(baseline_ts, baseline_model.config.market, baseline_model.market.fees)
    np.testing.assert_allclose(series(baseline_ts, WORLD, "hashprice_usd_per_ph_day"), implied, rtol=1e-9)
    # Revenue is earned at that hashprice.
    revenue = wide(baseline_ts, "miner_revenue_usd")[WORLD].to_numpy()
    hashrate = wide(baseline_ts, "hashrate_ehs")[WORLD].to_numpy()
    hp = series(baseline_ts, WORLD, "hashprice_usd_per_ph_day").to_numpy()
    np.testing.assert_allclose(revenue, hashrate * 1000 * hp * baseline_model.step_days, rtol=1e-9)


@pytest.mark.parametrize("lag", [1, 3])
def test_difficulty_follows_hashrate_with_its_lag(lag):
    m = build_model(households=1800, overrides={"market.difficulty_lag_steps": lag})
    m.run(until=dt.date(2025, 9, 1))
    ts = m.timeseries()
    hashrate = series(ts, WORLD, "hashrate_ehs").to_numpy()
    difficulty_ehs = series(ts, WORLD, "difficulty").to_numpy() * 2**32 / 600.0 / 1e18
    # Step t's difficulty was set for step t - lag's network hashrate...
    np.testing.assert_allclose(difficulty_ehs[lag + 1:], hashrate[1:-lag], rtol=1e-12)
    # ...and for the initial hashrate until then.
    np.testing.assert_allclose(difficulty_ehs[:lag + 1], m.config.market.initial_network_hashrate_ehs)
    assert not np.allclose(hashrate[1:-lag], m.config.market.initial_network_hashrate_ehs)


def test_clearing_hashprice_balances_reward_and_operating_hashrate(baseline_model, baseline_ts):
    # Miners switch against the difficulty's hashprice, which lags the network by a step;
    # the clearing hashprice is where that switching heads, so the two agree only roughly,
    # but typically.
    clearing = series(baseline_ts, WORLD, "clearing_hashprice_usd_per_ph_day")
    difficulty_hp = series(baseline_ts, WORLD, "hashprice_usd_per_ph_day")
    assert (clearing > 0).all()
    ratio = clearing / difficulty_hp
    assert ratio.between(0.5, 2.0).all()
    assert abs(ratio.median() - 1.0) < 0.05


def test_short_runs_stop_where_asked(small_model):
    m = small_model.run(until=dt.date(2025, 3, 1))
    assert m.date <= dt.date(2025, 3, 1) < m.date + dt.timedelta(days=7)
    assert m.timeseries()["step"].max() == m.t
    m.run(until=dt.date(2025, 1, 1))  # never steps backwards
    assert m.date <= dt.date(2025, 3, 1)
    full = build_model(households=1800).run()
    assert not full.running
    t = full.t
    full.step()
    assert full.t == t == len(full.dates) - 1
