"""Exchanges (agents/exchange.py): entry after legalisation, exit on a crackdown, and the
split of trading volume among exchanges and P2P."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from conftest import MIN_HOUSEHOLDS, VAO_DATE, write_scenario

from agents.exchange import P2P, Exchange, split_volume
from model import build_model


# ------------------------------------------------------------------ split_volume
def test_split_volume_shares_by_weight():
    out = split_volume(1000.0, [("A", 3.0), ("B", 1.0)], p2p_factor=0.5)
    assert out == pytest.approx({"A": 750.0, "B": 250.0})
    assert P2P not in out
    out = split_volume(1000.0, [("A", 40.0), ("B", 8.0), ("C", 2.0)], p2p_factor=0.5)
    assert sum(out.values()) == pytest.approx(1000.0)
    assert out["A"] / out["B"] == pytest.approx(5.0)


@pytest.mark.parametrize("factor", [0.0, 0.25, 1.0])
def test_split_volume_without_exchanges_goes_p2p_scaled(factor):
    assert split_volume(1000.0, [], p2p_factor=factor) == pytest.approx({P2P: 1000.0 * factor})


def test_model_volumes_follow_weights_and_p2p(baseline_model):
    m = baseline_model
    vol = m.exchange_volumes()
    first = vol[vol["step"] == 0]
    rows = first[first["country"] == "IND"]
    ind = rows.set_index(rows["exchange"].astype(str))["volume_usd"]
    present = sorted(n for n, e in m.config.exchanges.items() if "IND" in e.present)
    assert sorted(ind.index) == present
    weights = {n: m.config.exchanges[n].weight for n in present}
    total_w, total_v = sum(weights.values()), ind.sum()
    for n in present:
        assert ind[n] / total_v == pytest.approx(weights[n] / total_w)
    # Bangladesh has no licensed exchange at the start: everything is P2P.
    bgd = first[first["country"] == "BGD"]
    assert list(bgd["exchange"].astype(str)) == [P2P]


def test_trading_volume_is_exchange_plus_p2p_and_value_received_follows_the_fit(baseline_model, baseline_ts):
    m, ts = baseline_model, baseline_ts
    wide = ts[ts.metric.isin(["value_received_usd", "trading_volume_usd", "exchange_volume_usd", "p2p_volume_usd",
                              "adopters", "btc_price_usd"])].pivot_table(
        index=["step", "country"], columns="metric", values="value", observed=True)
    region = wide.dropna(subset=["trading_volume_usd"])
    assert np.allclose(region.trading_volume_usd, region.exchange_volume_usd + region.p2p_volume_usd, rtol=1e-12)
    # value received = adopters x k x (y / y_ref)^gamma x (P / P_ref)^eps x dt (docs/ODD.md 7.5)
    v, price = m.config.volume, wide.xs("WORLD", level="country").btc_price_usd
    for code in ("IND", "PAK"):
        c = wide.xs(code, level="country")
        expected = (c.adopters * v.value_received_usd_per_adopter_per_year * m.dt_years
                    * (m.countries[code].gdp_per_capita_usd / v.reference_gdp_per_capita_usd) ** v.income_elasticity
                    * (price / v.reference_btc_price_usd) ** v.price_elasticity)
        assert np.allclose(c.value_received_usd, expected, rtol=1e-9)
    # richer per adopter where income is higher (gamma > 0) and more in a dearer year (eps > 0)
    assert v.income_elasticity > 0 and v.price_elasticity > 0


def test_exchange_trading_is_its_share_of_value_received_and_p2p_a_fraction_of_it():
    """Step 0 of the baseline: India's exchanges carry exchange_share x value received (plus crypto
    remittances); Bangladesh, with no licensed exchange, trades only p2p_factor of it P2P."""
    m = build_model("south_asia_2025", seed=0, households=MIN_HOUSEHOLDS)
    v = m.config.volume
    for code, kind, factor in (("IND", "exchange_volume_usd", 1.0), ("BGD", "p2p_volume_usd", v.p2p_factor)):
        remitted = m.remittances_usd(code)[1]
        trade = m.value(kind, code) - remitted
        assert trade == pytest.approx(factor * v.exchange_share_of_value_received * m.value("value_received_usd", code))
    assert m.value("p2p_volume_usd", "IND") == 0.0 and m.value("exchange_volume_usd", "BGD") == 0.0


# ------------------------------------------------------------------ step_markets
def _exchange(model, **update):
    cfg = model.config.exchanges["Binance"].model_copy(update={"present": [], **update})
    return Exchange(model, "Test", cfg)


def test_entry_waits_for_stance_and_lead_time(small_model):
    ex = _exchange(small_model, min_stance_enter=3, entry_per_year=1e9, entry_lead_weeks=2)
    big = 1e15  # yearly volume: fee income beats any licence cost
    u = np.array([0.5])
    for step in range(5):
        assert ex.step_markets([("PAK", 2, big, 0.0)], step, 7, u) == []
    assert "PAK" not in ex.present and not ex.pending
    assert ex.step_markets([("PAK", 3, big, 0.0)], 5, 7, u) == []  # applied
    assert ex.step_markets([("PAK", 3, big, 0.0)], 6, 7, u) == []  # still waiting
    events = ex.step_markets([("PAK", 3, big, 0.0)], 7, 7, u)
    assert [(c, k) for c, k, _ in events] == [("PAK", "exchange_entry")]
    assert "PAK" in ex.present


def test_pending_entry_is_dropped_if_the_market_stops_qualifying(small_model):
    ex = _exchange(small_model, min_stance_enter=3, entry_per_year=1e9, entry_lead_weeks=14)
    u = np.array([0.5])
    ex.step_markets([("PAK", 3, 1e15, 0.0)], 0, 7, u)
    assert "PAK" in ex.pending
    ex.step_markets([("PAK", 2, 1e15, 0.0)], 1, 7, u)
    assert "PAK" not in ex.pending
    ex.step_markets([("PAK", 3, 1e15, 0.0)], 2, 7, u)
    assert "PAK" not in ex.present


def test_no_entry_when_fee_income_does_not_cover_the_licence(small_model):
    ex = _exchange(small_model, min_stance_enter=1, entry_per_year=1e9, entry_lead_weeks=0,
                   fee_pct=0.1, weight=10.0, licence_cost_usd_per_year=1e6)
    # income = 0.1% x volume x 10 / (10 + 30): needs volume > 4e9 a year.
    ex.step_markets([("PAK", 3, 3.9e9, 30.0)], 0, 7, np.array([0.0]))
    assert "PAK" not in ex.present
    ex.step_markets([("PAK", 3, 4.1e9, 30.0)], 1, 7, np.array([0.0]))
    assert "PAK" in ex.present


def test_local_exchange_serves_only_its_home(small_model):
    cfg = small_model.config.exchanges["CoinDCX"].model_copy(update={"present": [], "entry_per_year": 1e9,
                                                                      "entry_lead_weeks": 0})
    ex = Exchange(small_model, "Local", cfg)
    markets = [("PAK", 3, 1e15, 0.0), ("IND", 3, 1e15, 0.0)]
    ex.step_markets(markets, 0, 7, np.array([0.1, 0.1]))
    assert ex.present == {"IND"}


def test_entry_hazard_follows_entry_per_year(small_model):
    rate = 2.0
    p = 1.0 - math.exp(-rate * 7 / 365.25)
    ex = _exchange(small_model, min_stance_enter=1, entry_per_year=rate, entry_lead_weeks=0)
    assert ex.step_markets([("PAK", 3, 1e15, 0.0)], 0, 7, np.array([p * 1.01])) == []
    assert len(ex.step_markets([("PAK", 3, 1e15, 0.0)], 1, 7, np.array([p * 0.99]))) == 1


# ------------------------------------------------------------------ in the model
def test_global_exchange_enters_pakistan_only_after_the_vao_plus_lead_time():
    m = build_model(households=MIN_HOUSEHOLDS, overrides={
        "countries.PAK.stance_dynamics": "fixed",   # PAK moves only by dated shocks
        "exchanges.Binance.entry_per_year": 1e6})   # applying is certain once it qualifies
    binance = m.exchanges["Binance"]
    assert binance.rules.min_stance_enter == 3
    lead = math.ceil(binance.rules.entry_lead_weeks * 7 / m.step_days)
    vao_step = next(i for i, d in enumerate(m.dates) if d >= VAO_DATE)
    presence = []  # presence[i]: Binance serves PAK at step i
    while m.t < vao_step + lead + 5:
        presence.append("PAK" in binance.present)
        if m.t < vao_step:
            assert m.countries["PAK"].stance < 3
        m.step()
    first_present = presence.index(True)
    assert all(presence[first_present:])
    assert first_present == vao_step + lead
    ev = m.events_frame()
    entry = ev[(ev["kind"] == "exchange_entry") & (ev["to"] == "Binance") & (ev["country"] == "PAK")]
    assert list(entry["date"]) == [m.dates[vao_step + lead]]


def test_baseline_has_no_stance3_exchange_in_pakistan_before_the_vao(baseline_model):
    m = baseline_model
    vol = m.exchange_volumes()
    needs_three = {n for n, e in m.config.exchanges.items() if e.min_stance_enter >= 3}
    pak = vol[vol["country"] == "PAK"]
    before = pak[pd_dates(pak) < VAO_DATE]
    assert len(before) > 0
    assert set(before["exchange"].astype(str)) == {P2P}
    after = pak[pd_dates(pak) > VAO_DATE + dt.timedelta(weeks=52)]
    assert set(after["exchange"].astype(str)) & needs_three  # some did enter later


def pd_dates(frame):
    return frame["date"].dt.date


EXIT_SCENARIO = """
[countries.PAK]
stance_dynamics = "fixed"

[countries.IND]
stance_dynamics = "fixed"

[exchanges.Binance]
entry_per_year = 1000000.0

[exchanges.Coinbase]
entry_per_year = 1000000.0
licence_cost_usd_per_year = 0.0  # enters Pakistan whatever its volume: this test is about leaving

[shocks.pak_crackdown]
date = 2026-06-03
country = "PAK"
kind = "stance_change"
to = 1
description = "test: back to restricted"

[shocks.ind_ban]
date = 2026-06-03
country = "IND"
kind = "stance_change"
to = 0
description = "test: ban"
"""


def test_exchanges_exit_when_stance_falls_below_min_stance_stay(tmp_path):
    m = build_model(str(write_scenario(tmp_path, EXIT_SCENARIO)), households=MIN_HOUSEHOLDS)
    crackdown = dt.date(2026, 6, 3)
    m.run(until=crackdown - dt.timedelta(days=1))
    binance, coinbase = m.exchanges["Binance"], m.exchanges["Coinbase"]
    assert {"PAK", "IND"} <= binance.present
    assert "PAK" in coinbase.present
    ind_before = {n for n, e in m.exchanges.items() if "IND" in e.present}
    assert len(ind_before) >= 3
    m.step()
    assert m.date >= crackdown and m.countries["PAK"].stance == 1
    # Coinbase needs stance 2 to stay, Binance 1: only Coinbase leaves Pakistan.
    assert "PAK" not in coinbase.present
    assert "PAK" in binance.present
    # India banned: every exchange with min_stance_stay >= 1 leaves.
    assert not any("IND" in e.present for e in m.exchanges.values() if e.rules.min_stance_stay >= 1)
    ev = m.events_frame()
    exits = ev[(ev["kind"] == "exchange_exit") & (ev["date"] == m.date)]
    assert set(exits[exits["country"] == "IND"]["to"]) == ind_before
    assert set(exits[exits["country"] == "PAK"]["to"]) == {n for n, e in m.exchanges.items()
                                                          if e.rules.min_stance_stay > 1} & set(
        ev[(ev["kind"] == "exchange_entry") & (ev["country"] == "PAK")]["to"])
    # And they do not come back while the stance stays below min_stance_enter.
    m.run(until=dt.date(2027, 6, 30))
    assert "PAK" not in coinbase.present
    assert not any("IND" in e.present for e in m.exchanges.values())
    assert not m.countries["IND"].exchange_access
