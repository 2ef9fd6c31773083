"""AI data centres, seasonal grid strain, power emergencies and illicit-finance reversals."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from conftest import APPROVED, MIN_HOUSEHOLDS, series, write_scenario

from agents.power import merit_order, mining_bid_usd_per_mwh, power_cap_mw, seasonal_surplus_mw
from model import ScenarioError, build_model

CHEAP = {"shocks.pak_allocation.tariff_usd_per_kwh": 0.04}  # a tariff at which the (approved) allocation fills

AI = '''
[shocks.ai]
date = 2025-06-04
country = "PAK"
kind = "ai_demand"
mw = {{ value = {mw}, assumption = "test" }}
willingness_to_pay_usd_per_mwh = {{ value = {wtp}, assumption = "test" }}
lead_weeks = 8
'''


# ------------------------------------------------------------------ the pure rules
def test_merit_order_serves_the_highest_bidder_first():
    served = merit_order(1000.0, [("mining", 800.0, 90.0), ("ai", 600.0, 150.0)])
    assert served == {"ai": 600.0, "mining": 400.0}
    served = merit_order(1000.0, [("mining", 800.0, 200.0), ("ai", 600.0, 150.0)])
    assert served == {"mining": 800.0, "ai": 200.0}
    assert merit_order(None, [("mining", 800.0, 1.0)]) == {"mining": 800.0}


def test_seasonal_surplus_swings_between_winter_and_summer():
    jan = seasonal_surplus_mw(dt.date(2025, 1, 1), 7000, 1000, winter_peak_month=1)
    jul = seasonal_surplus_mw(dt.date(2025, 7, 1), 7000, 1000, winter_peak_month=1)
    apr = seasonal_surplus_mw(dt.date(2025, 4, 1), 7000, 1000, winter_peak_month=1)
    assert jan == pytest.approx(7000) and jul == pytest.approx(1000, abs=5)
    assert jul < apr < jan
    assert seasonal_surplus_mw(dt.date(2025, 1, 1), None, None) is None
    assert power_cap_mw(2000, 1000) == 1000 and power_cap_mw(2000, None) == 2000 and power_cap_mw(None, 500) == 500


def test_mining_bid_rises_with_hashprice_and_efficiency():
    assert mining_bid_usd_per_mwh(50, 15, 1.1) > mining_bid_usd_per_mwh(40, 15, 1.1)
    assert mining_bid_usd_per_mwh(50, 15, 1.1) > mining_bid_usd_per_mwh(50, 30, 1.1)
    # 50 USD/PH/day at 15 J/TH and PUE 1.1: 0.05 USD per 0.396 kWh
    assert mining_bid_usd_per_mwh(50, 15, 1.1) == pytest.approx(0.05 / 0.000396)


# ------------------------------------------------------------------ in the model
def _pak(path_or_name, overrides, until=dt.date(2027, 6, 30)):
    m = build_model(str(path_or_name), seed=1, households=MIN_HOUSEHOLDS, overrides=overrides).run(until=until)
    ts = m.timeseries()
    return m, {k: series(ts, "PAK", k) for k in ("mining_power_mw", "ai_power_mw", "curtailed_mw",
                                                   "mining_power_allowed_mw")}


def test_ai_outbids_mining_only_when_it_pays_more(tmp_path):
    high = write_scenario(tmp_path, AI.format(mw=1800, wtp=1000), name="high.toml", base=APPROVED)
    low = write_scenario(tmp_path, AI.format(mw=1800, wtp=1), name="low.toml", base=APPROVED)
    _, rich = _pak(high, CHEAP)
    _, poor = _pak(low, CHEAP)
    _, none = _pak("pak_allocation_approved", CHEAP)
    late = rich["ai_power_mw"].index > dt.date(2026, 1, 1)
    # Paying more, AI takes its load first; mining gets at most the rest of the 2,000 MW.
    assert rich["ai_power_mw"][late].min() > 0
    assert (rich["mining_power_mw"] + rich["ai_power_mw"] <= 2000 + 1e-6).all()
    assert rich["mining_power_mw"].max() < none["mining_power_mw"].max()
    # Paying less, AI only gets what mining leaves, so mining runs as without AI.
    assert poor["mining_power_mw"].max() == pytest.approx(none["mining_power_mw"].max(), rel=0.05)
    assert poor["ai_power_mw"][late].mean() > 0  # and AI still uses the rest


def test_curtailment_never_lets_mining_exceed_the_seasonal_surplus():
    m, pak = _pak("pak_allocation_approved", {**CHEAP, "countries.PAK.power_surplus_summer_mw": 300})
    c = m.countries["PAK"]
    caps = np.array([seasonal_surplus_mw(d, c.power_surplus_winter_mw, c.power_surplus_summer_mw, c.winter_peak_month)
                     for d in pak["mining_power_mw"].index])
    assert (pak["mining_power_mw"].to_numpy() <= np.minimum(caps, 2000) + 1e-6).all()
    summer = [d.month in (6, 7, 8) and d.year == 2026 for d in pak["mining_power_mw"].index]
    assert pak["curtailed_mw"][summer].max() > 0  # the summer surplus binds


def test_power_emergency_stops_mining_and_sends_a_share_of_the_miners_away(tmp_path):
    """Mining draws no power during the emergency and resumes after it; at its start
    ``emergency_relocate_share`` of the legal fleet leaves (none with 0) and the MW a year the
    country can add is multiplied by ``emergency_capacity_factor``."""
    body = '''
[shocks.blackout]
date = 2026-06-03
country = "PAK"
kind = "power_emergency"
until = 2026-09-02
description = "test blackout"
'''
    path = write_scenario(tmp_path, body, base=APPROVED)
    m, pak = _pak(path, {**CHEAP, "mining.emergency_relocate_share": 0.0, "mining.emergency_capacity_factor": 1.0})
    during = [dt.date(2026, 6, 10) <= d <= dt.date(2026, 8, 26) for d in pak["mining_power_mw"].index]
    after = [dt.date(2026, 10, 1) <= d for d in pak["mining_power_mw"].index]
    assert pak["mining_power_mw"][[d < dt.date(2026, 6, 1) for d in pak["mining_power_mw"].index]].max() > 0
    assert pak["mining_power_mw"][during].max() == 0
    assert pak["mining_power_mw"][after].max() > 0
    kinds = set(m.events_frame().query("country == 'PAK'")["kind"])
    assert {"power_emergency", "power_emergency_end", "miners_power_cut"} <= kinds
    assert "miners_relocate" not in kinds and "miners_banned" not in kinds
    assert m.fleets["PAK"].capacity_factor == 1.0

    def cut_with(share, factor):
        return build_model(str(path), seed=1, households=MIN_HOUSEHOLDS, overrides={
            **CHEAP, "mining.emergency_relocate_share": share, "mining.emergency_capacity_factor": factor,
        }).run(until=dt.date(2026, 6, 4))

    stay, cut = cut_with(0.0, 1.0), cut_with(0.5, 0.3)
    # about half the legal fleet left (arrivals after the cut and the clearing's change to who
    # idles and retires move it a little; MinerFleet.depart's own test is exact)
    assert 0.45 < cut.fleets["PAK"].legal_ths.sum() / stay.fleets["PAK"].legal_ths.sum() < 0.6
    assert cut.fleets["PAK"].capacity_factor == pytest.approx(0.3)
    kinds = set(cut.events_frame().query("country == 'PAK'")["kind"])
    assert {"miners_power_cut", "miners_relocate"} <= kinds


LOUD = {"policy.incident_rate_per_year": 200.0, "policy.incident_volume_scale_usd_per_year": 1e9}


def test_incidents_push_toward_a_crackdown():
    quiet = build_model(seed=2, households=MIN_HOUSEHOLDS, overrides={"policy.incident_rate_per_year": 0.0})
    # a hazard of 200 a year at $1bn of potential exchange trading: incidents within weeks
    loud = build_model(seed=2, households=MIN_HOUSEHOLDS,
                       overrides={**LOUD, "countries.PAK.aml_oversight": 0.0})
    for m in (quiet, loud):
        m.run(until=dt.date(2025, 3, 1))
    assert not (quiet.events_frame()["kind"] == "illicit_finance_incident").any()
    incidents = loud.events_frame().query("kind == 'illicit_finance_incident' and country == 'PAK'")
    assert len(incidents) > 0 and "AML oversight 0.00" in incidents["cause"].iloc[0]
    pak_q, pak_l = quiet.countries["PAK"], loud.countries["PAK"]
    assert pak_l.signal_level(loud.weeks) < pak_q.signal_level(quiet.weeks)
    pak_l.stance = pak_q.stance  # compare the hazards at the same stance
    neighbours = [(loud.countries[o], w) for o, w in loud.neighbours["PAK"].items()]
    up_q, down_q, _ = pak_q.stance_hazards(neighbours, quiet.config.policy, quiet.weeks)
    up_l, down_l, _ = pak_l.stance_hazards(neighbours, loud.config.policy, loud.weeks)
    assert down_l > down_q and up_l < up_q
    # More AML oversight, fewer incidents: with full oversight none happen at all.
    safe = build_model(seed=2, households=MIN_HOUSEHOLDS,
                       overrides={**LOUD, "countries.PAK.aml_oversight": 1.0})
    safe.run(until=dt.date(2025, 3, 1))
    assert not safe.events_frame().query("kind == 'illicit_finance_incident' and country == 'PAK'").shape[0]


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("overrides, field", [
    ({"countries.PAK.aml_oversight": 1.5}, "countries.PAK.aml_oversight"),
    ({"countries.PAK.power_surplus_summer_mw": -1}, "countries.PAK.power_surplus_summer_mw"),
    ({"countries.IND.power_surplus_winter_mw": 100}, "countries.IND"),
    ({"countries.PAK.winter_peak_month": 13}, "countries.PAK.winter_peak_month"),
    ({"policy.incident_rate_per_year": -1}, "policy.incident_rate_per_year"),
])
def test_bad_new_fields_are_refused(overrides, field):
    with pytest.raises(ScenarioError) as err:
        build_model(households=MIN_HOUSEHOLDS, overrides=overrides)
    assert field in str(err.value) and "south_asia_2025.toml" in str(err.value)


@pytest.mark.parametrize("body, field", [
    (AI.format(mw=-5, wtp=100), "shocks.ai.mw"),
    (AI.format(mw=5, wtp=0), "shocks.ai.willingness_to_pay_usd_per_mwh"),
    ('[shocks.b]\ndate = 2026-01-07\ncountry = "PAK"\nkind = "power_emergency"\n', "shocks.b.until"),
])
def test_bad_new_shocks_are_refused(tmp_path, body, field):
    with pytest.raises(ScenarioError) as err:
        build_model(str(write_scenario(tmp_path, body)), households=MIN_HOUSEHOLDS)
    assert field in str(err.value)


# ------------------------------------------------------------------ remittance rails
def test_crypto_share_of_a_corridor_rises_when_its_cost_falls():
    from agents.remittance import crypto_share
    from model import load_scenario
    cfg = load_scenario("south_asia_2025").config.remittances
    base = crypto_share(0.1, 4.0, cfg, exchange_access=True, stance=3)
    assert crypto_share(0.1, 6.0, cfg, True, 3) > base            # the bank corridor dearer
    assert crypto_share(0.1, 4.0, cfg.model_copy(update={"crypto_cost_pct": 0.2}), True, 3) > base  # crypto cheaper
    assert crypto_share(0.1, 4.0, cfg, False, 3) < base           # no licensed exchange
    assert crypto_share(0.1, 4.0, cfg, True, 0) < base            # a ban
    assert crypto_share(0.0, 4.0, cfg, True, 3) == 0.0            # no adopting receivers, no crypto rails
    assert 0.0 < base < 0.1


def test_cheaper_crypto_rails_carry_more_of_the_flows_and_add_to_volume():
    def run(cost):
        m = build_model(seed=4, households=MIN_HOUSEHOLDS, overrides={"remittances.crypto_cost_pct": cost})
        ts = m.run(until=dt.date(2025, 6, 30)).timeseries()
        return ts
    dear, cheap = run(3.0), run(0.1)
    for code in ("PAK", "IND", "SLV"):
        share = "remittance_crypto_share"
        assert series(cheap, code, share).mean() > series(dear, code, share).mean()
    assert series(cheap, "WORLD", "trading_volume_usd").sum() > series(dear, "WORLD", "trading_volume_usd").sum()
    share = series(cheap, "WORLD", "remittance_crypto_share")
    assert ((share >= 0) & (share <= 1)).all()


@pytest.mark.parametrize("overrides, message", [
    ({"network.edges.AFG_PAK_border.flow_usd_per_year": 5.0}, "remittance edges only"),
    ({"network.edges.ARE_PAK_remit.cost_pct": 150}, "network.edges.ARE_PAK_remit.cost_pct"),
    ({"remittances.cost_weight": -1}, "remittances.cost_weight"),
])
def test_bad_remittance_input_is_refused(overrides, message):
    with pytest.raises(ScenarioError) as err:
        build_model(households=MIN_HOUSEHOLDS, overrides=overrides)
    assert message in str(err.value)
