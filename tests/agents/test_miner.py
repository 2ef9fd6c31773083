"""The mining rules of agents/miner.py: costs, switching off, retirement, the MW cap,
orders, the response to a ban, and the choice of a relocation host."""

from __future__ import annotations

import datetime as dt
import math
import re

import numpy as np
import pytest
from conftest import MIN_HOUSEHOLDS, USA_MORATORIUM, series, wide, write_scenario

from agents.country import Country
from agents.miner import (
    FleetSupply,
    MinerFleet,
    PipelineSupply,
    attractiveness,
    choose_destination,
    clearing_hashprice,
    power_mw,
    running_share,
)
from model import build_model
from model.mining_costs import (
    capital_usd_per_th,
    cash_cost_usd_per_th_day,
    energy_cost_usd_per_th_day,
    running_cost_usd_per_th_day,
)

WEEK = 7
DT = WEEK / 365.25
TARIFF = 0.05


@pytest.fixture(scope="module")
def host():
    """A real model to host hand-made fleets (MinerFleet is a Mesa agent) in a test country
    ``TST`` (a fleet reads its tariff and enforcement from its host country)."""
    m = build_model(households=MIN_HOUSEHOLDS)
    tst = Country(m, "TST", m.config.countries["PAK"])
    tst.mining_tariff_usd_per_kwh, tst.mining_enforcement_per_year = TARIFF, 0.0
    m.countries["TST"] = tst
    return m


@pytest.fixture(scope="module")
def cfg(host):
    return host.config.mining


def hashprice_at(ratio: float, eff: float, cfg, tariff: float = TARIFF) -> float:
    """The hashprice (USD/PH/day) at which revenue per TH is ``ratio`` x its running cost (the power bill)."""
    return ratio * float(running_cost_usd_per_th_day(eff, cfg, tariff)) * 1000.0


def hashprice_for_return(ret: float, eff: float, cfg, tariff: float = TARIFF, cost_factor: float = 1.0) -> float:
    """The hashprice (USD/PH/day) at which a new machine of ``eff`` J/TH returns ``ret`` over
    its life on its capital, at a site paying ``cost_factor`` x the cash cost at ``tariff``."""
    cost = cost_factor * float(cash_cost_usd_per_th_day(eff, cfg, tariff))
    return 1000.0 * (cost + (1.0 + ret) * capital_usd_per_th(eff, cfg) / (365.25 * cfg.machine_life_years))


def operate(fleet, hashprice, allowance=None, enforcement=0.0):
    """One week of the host model (7 days, the model's mining settings) at ``TARIFF``."""
    fleet.host.mining_enforcement_per_year = enforcement
    fleet.operate(hashprice, allowance)


# ------------------------------------------------------------------ pure functions
def test_energy_cost_and_power_follow_their_units():
    # 1 TH/s at 20 J/TH = 20 W; x PUE 1.1 = 22 W; x 24 h = 0.528 kWh/day; x $0.05 = $0.0264.
    assert float(energy_cost_usd_per_th_day(20.0, 1.1, 0.05)) == pytest.approx(0.0264)
    np.testing.assert_allclose(energy_cost_usd_per_th_day(np.array([10.0, 20.0]), 1.0, 0.1),
                               [0.024, 0.048])
    # 1e6 TH/s at 20 J/TH = 20 MW at the chip, 22 MW at the wall.
    assert power_mw(1e6, 20.0, 1.1) == pytest.approx(22.0)
    assert power_mw([1e6, 2e6], [20.0, 10.0], 1.0) == pytest.approx(40.0)


def test_cash_cost_adds_the_other_costs_to_the_power_bill_and_running_cost_does_not(cfg):
    """Power is ``power_share_of_cash_cost`` of the cash cost, which judges new machines; what
    a machine saves by switching off is its power bill alone (the other cash costs are paid
    whether it runs or not)."""
    power = float(energy_cost_usd_per_th_day(20.0, cfg.pue, 0.05))
    assert cfg.power_share_of_cash_cost < 1.0
    assert float(cash_cost_usd_per_th_day(20.0, cfg, 0.05)) == pytest.approx(power / cfg.power_share_of_cash_cost)
    assert float(running_cost_usd_per_th_day(20.0, cfg, 0.05)) == pytest.approx(power)


def test_a_machine_runs_while_it_beats_its_power_bill_though_not_its_cash_cost(host, cfg, monkeypatch):
    """Revenue 10% above the power bill: short of the cash cost when power is 80% of it, and
    yet the machine runs (a week's switching closes ``switch_share_per_week`` of the gap from
    nothing running); 10% below the power bill it does not."""
    fleet = MinerFleet(host, "TST", 1e6, [(20.0, 1.0)])
    fleet.running[:] = 0.0
    one_site = cfg.model_copy(update={"cost_spread": 0.0})
    monkeypatch.setattr(host, "config", host.config.model_copy(update={"mining": one_site}))
    above = 1.1 * float(energy_cost_usd_per_th_day(20.0, cfg.pue, TARIFF)) * 1000.0
    assert above < float(cash_cost_usd_per_th_day(20.0, cfg, TARIFF)) * 1000.0
    assert fleet.supply_ths(above, None) == pytest.approx(1e6)
    assert fleet.supply_ths(above / 1.1 * 0.9, None) == 0.0
    operate(fleet, above)
    speed = 1.0 - (1.0 - cfg.switch_share_per_week) ** (host.step_days / WEEK)
    assert fleet.operating_ths == pytest.approx(1e6 * speed)


def test_running_share_ramps_linearly_across_the_tariff_spread():
    cost = 1.0
    assert running_share(0.5, cost, 0.25) == 0.0
    assert running_share(0.75, cost, 0.25) == pytest.approx(0.0)
    assert running_share(1.0, cost, 0.25) == pytest.approx(0.5)
    assert running_share(1.25, cost, 0.25) == pytest.approx(1.0)
    assert running_share(3.0, cost, 0.25) == 1.0
    grid = np.linspace(0.0, 2.0, 201)
    shares = np.array([float(running_share(r, cost, 0.25)) for r in grid])
    assert np.all(np.diff(shares) >= 0)
    # No spread: all or nothing.
    np.testing.assert_array_equal(running_share(1.0, np.array([0.9, 1.1]), 0.0), [1.0, 0.0])


def test_capital_is_machine_and_site_and_not_the_tariff(cfg):
    e = 17.5
    assert capital_usd_per_th(e, cfg) == pytest.approx(cfg.machine_price_usd_per_w * e
                                                      + cfg.buildout_usd_per_mw * e * cfg.pue / 1e6)


def test_attractiveness_is_zero_up_to_the_hurdle_and_saturates(cfg):
    """With one site cost (no spread) the rule is the clipped return over the hurdle."""
    eff = 13.5
    one_site = cfg.model_copy(update={"cost_spread": 0.0})
    cost, capex = float(cash_cost_usd_per_th_day(eff, cfg, TARIFF)), capital_usd_per_th(eff, cfg)

    def a(ret):
        return attractiveness(hashprice_for_return(ret, eff, one_site), cost, capex, one_site)

    assert a(cfg.hurdle_margin - 0.1) == 0.0
    assert a(cfg.hurdle_margin) == pytest.approx(0.0, abs=1e-9)
    assert a(cfg.hurdle_margin + cfg.margin_scale / 2) == pytest.approx(0.5)
    assert a(cfg.hurdle_margin + 3 * cfg.margin_scale) == 1.0


def test_capital_lowers_the_bar_by_what_cheap_power_saves_not_in_proportion(cfg):
    """At the hashprice where a machine on $0.05 power just clears the hurdle, one on power
    twice as dear does not need twice the hashprice: the capital is the same."""
    eff, one_site = 13.5, cfg.model_copy(update={"cost_spread": 0.0})
    cheap = hashprice_for_return(cfg.hurdle_margin, eff, one_site, tariff=0.05)
    dear = hashprice_for_return(cfg.hurdle_margin, eff, one_site, tariff=0.10)
    assert cheap < dear < 2 * cheap
    capex = capital_usd_per_th(eff, cfg)
    cost_dear = float(cash_cost_usd_per_th_day(eff, cfg, 0.10))
    assert attractiveness(dear * 0.99, cost_dear, capex, one_site) == 0.0
    assert attractiveness(dear * 1.05, cost_dear, capex, one_site) > 0.0


def test_attractiveness_averages_over_sites_costs(cfg):
    """Sites' costs spread by +-cost_spread: at the average site's hurdle the cheaper sites
    still invest, so a slightly dearer country keeps some investment; far above or below
    the hurdle the spread does not matter."""
    eff = 13.5
    spread = cfg.model_copy(update={"cost_spread": 0.25})
    cost, capex = float(cash_cost_usd_per_th_day(eff, cfg, TARIFF)), capital_usd_per_th(eff, cfg)
    at_hurdle = hashprice_for_return(spread.hurdle_margin, eff, spread)
    a = attractiveness(at_hurdle, cost, capex, spread)
    assert 0.0 < a < 0.5
    dearer = attractiveness(at_hurdle, cost * 1.1, capex, spread)
    assert 0.0 < dearer < a  # dearer power, less investment, but not none
    grid = [attractiveness(at_hurdle * f, cost, capex, spread) for f in np.linspace(0.3, 5.0, 30)]
    assert all(x <= y for x, y in zip(grid, grid[1:]))
    assert grid[0] == 0.0 and grid[-1] == 1.0


# ------------------------------------------------------------------ operating
def test_unprofitable_fleet_switches_off_gradually_then_idle_machines_retire(host, cfg):
    eff = 20.0
    fleet = MinerFleet(host, "TST", 1e6, [(eff, 1.0)])
    hp = hashprice_at(0.5, eff, cfg)  # revenue is half the power bill: nothing pays
    operate(fleet, hp)
    # One week closes switch_share_per_week of the gap to zero, no more.
    assert fleet.operating_ths == pytest.approx(1e6 * (1.0 - cfg.switch_share_per_week))
    previous_on, installed = fleet.operating_ths, [fleet.installed_ths]
    for _ in range(120):
        operate(fleet, hp)
        assert fleet.operating_ths < previous_on
        previous_on = fleet.operating_ths
        installed.append(fleet.installed_ths)
    assert fleet.operating_ths < 1e-9 * 1e6
    assert fleet.revenue_usd < 1e-9
    installed = np.array(installed)
    assert np.all(np.diff(installed) < 0)
    # Once all is idle, machines retire at idle_retire_per_year.
    assert installed[-1] / installed[-2] == pytest.approx(math.exp(-cfg.idle_retire_per_year * DT), rel=1e-9)
    assert installed[-1] < 0.5 * 1e6


def test_profitable_fleet_keeps_running_and_does_not_retire(host, cfg):
    eff = 20.0
    fleet = MinerFleet(host, "TST", 1e6, [(eff, 1.0)])
    hp = hashprice_at(2.0, eff, cfg)
    for _ in range(20):
        operate(fleet, hp)
    assert fleet.operating_ths == pytest.approx(1e6)
    assert fleet.installed_ths == pytest.approx(1e6)
    # Revenue: TH/s x USD per TH per day x days in the step.
    assert fleet.revenue_usd == pytest.approx(1e6 * hp / 1000.0 * WEEK)


def test_the_idle_machines_that_retire_are_the_dearest_sites_so_what_runs_keeps_running(host, cfg):
    eff = 20.0
    fleet = MinerFleet(host, "TST", 1e6, [(eff, 1.0)])
    hp = hashprice_at(1.0, eff, cfg)  # the middle site's cost: half the sites pay
    for _ in range(60):  # long enough for the running share to settle and for machines to retire
        operate(fleet, hp)
    assert fleet.installed_ths < 0.8e6  # idle machines have gone
    assert fleet.kept[0] == pytest.approx(fleet.installed_ths / 1e6)  # from the top of the range of sites
    # The machines on the sites that pay all run, and all stay: every week's operation gives the same TH/s.
    assert fleet.operating_ths == pytest.approx(0.5e6, rel=1e-3)
    assert fleet.supply_ths(hp, None) == pytest.approx(0.5e6)
    # A higher hashprice finds no idle machines on the dearest sites to switch back on.
    top = 1.0 - cfg.cost_spread + 2.0 * cfg.cost_spread * fleet.kept[0]
    assert fleet.supply_ths(hashprice_at(top, eff, cfg), None) == pytest.approx(fleet.installed_ths)
    assert running_share(top * 0.999, 1.0, cfg.cost_spread, fleet.kept[0]) < 1.0


def test_new_machines_of_a_vintage_come_on_every_site_of_the_range(host, cfg):
    fleet = MinerFleet(host, "TST", 1e6, [(20.0, 1.0)])
    fleet.kept[0] = 0.5
    fleet.add_vintage(1e6, 20.0)  # the same efficiency: one vintage, the mean of the two ranges
    assert fleet.kept.tolist() == [0.75]
    fleet.add_vintage(1e6, 15.0)
    assert fleet.kept.tolist() == [0.75, 1.0]


def test_only_the_vintages_that_do_not_pay_switch_off(host, cfg):
    fleet = MinerFleet(host, "TST", 2e6, [(30.0, 0.5), (15.0, 0.5)])
    # Revenue is 1.4 x the power cost of the 15 J/TH vintage (all its sites pay) and
    # 0.7 x that of the 30 J/TH one (none of its sites pays, with a +-25% spread).
    hp = hashprice_at(1.4, 15.0, cfg)
    for _ in range(80):
        operate(fleet, hp)
    assert fleet.running[0] < 1e-6
    assert fleet.running[1] == pytest.approx(1.0)
    assert fleet.operating_ths == pytest.approx(fleet.legal_ths[1])


def test_allowance_caps_legal_operation(host, cfg):
    eff = 20.0
    hp = hashprice_at(3.0, eff, cfg)
    installed_mw = power_mw(1e6, eff, cfg.pue)  # 22 MW
    for allowance in (None, 50.0, 10.0, 0.0):
        fleet = MinerFleet(host, "TST", 1e6, [(eff, 1.0)])
        operate(fleet, hp, allowance=allowance)
        expected = installed_mw if allowance is None else min(installed_mw, allowance)
        assert fleet.operating_mw == pytest.approx(expected, abs=1e-9)
        assert fleet.operating_ths == pytest.approx(1e6 * expected / installed_mw, abs=1e-6)


def test_machines_held_back_by_the_allowance_do_not_retire(host, cfg):
    eff = 20.0
    fleet = MinerFleet(host, "TST", 1e6, [(eff, 1.0)])
    hp = hashprice_at(3.0, eff, cfg)
    for _ in range(52):
        operate(fleet, hp, allowance=5.0)  # a quarter of the 22 MW installed
    assert fleet.operating_mw == pytest.approx(5.0)
    assert fleet.installed_ths == pytest.approx(1e6)


def test_orders_never_exceed_free_mw_and_operation_never_exceeds_a_cut_allowance(host, cfg, monkeypatch):
    frontier = 13.5
    hp = hashprice_at(5.0, frontier, cfg)  # far above the hurdle
    # With an absurd fill rate the first order takes exactly the free MW, the next nothing.
    greedy = cfg.model_copy(update={"fill_per_year": 1e6})
    fleet = MinerFleet(host, "TST", 0.0, [(frontier, 1.0)])
    with monkeypatch.context() as patch:
        patch.setattr(host, "config", host.config.model_copy(update={"mining": greedy}))
        assert fleet.order(hp, 100.0, frontier, 4, 0.0) == pytest.approx(100.0)
        assert fleet.pipeline_mw(cfg.pue) == pytest.approx(100.0)
        assert fleet.order(hp, 100.0, frontier, 4, 0.0) == 0.0

    # The ordinary rule, stepped with arrivals: installed + ordered never passes the cap.
    allowance = 100.0
    fleet = MinerFleet(host, "TST", 0.0, [(frontier, 1.0)])
    ordered = 0.0
    for step in range(150):
        monkeypatch.setattr(host, "t", step)  # orders arrive 4 steps after the model's step
        fleet.receive_arrivals(step)
        operate(fleet, hp, allowance=allowance)
        free = fleet.headroom_mw(allowance, cfg.pue)
        mw = fleet.order(hp, allowance, frontier, 4, 0.0)
        assert 0.0 <= mw <= free + 1e-9
        ordered += mw
        assert fleet.installed_mw(cfg.pue) + fleet.pipeline_mw(cfg.pue) <= allowance + 1e-6
        assert fleet.operating_mw <= allowance + 1e-9
    assert ordered > 0.9 * allowance  # the cap was actually approached (not vacuous)

    # Cut the allowance below what is installed: operation obeys it, no new orders.
    cut = 0.3 * fleet.installed_mw(cfg.pue)
    operate(fleet, hp, allowance=cut)
    assert fleet.operating_mw <= cut + 1e-9
    assert fleet.operating_mw == pytest.approx(cut)
    assert fleet.order(hp, cut, frontier, 4, 0.0) == 0.0


def test_uncapped_orders_fill_the_country_capacity_not_the_fleet_size(host, cfg):
    """Where power is not capped a fleet adds the country's capacity (MW a year) scaled by
    attractiveness, whatever its own size: growth does not compound."""
    frontier = 13.5
    hp = hashprice_at(5.0, frontier, cfg)
    small = MinerFleet(host, "TST", 1e6, [(20.0, 1.0)])
    big = MinerFleet(host, "TST", 2e6, [(20.0, 1.0)])
    a = small.order(hp, None, frontier, 4, 500.0)
    assert a == pytest.approx(500.0 * DT)  # attractiveness 1 at this margin
    assert big.order(hp, None, frontier, 4, 500.0) == pytest.approx(a)
    assert small.order(hp, None, frontier, 4, 1000.0) == pytest.approx(2 * a)
    assert small.order(hp, None, frontier, 4, 0.0) == 0.0  # no room, no order
    # Half-way between the hurdle and full speed: the capacity times the attractiveness.
    half = hashprice_for_return(cfg.hurdle_margin + 0.5 * cfg.margin_scale, frontier, cfg)
    share = attractiveness(half, float(cash_cost_usd_per_th_day(frontier, cfg, TARIFF)),
                           capital_usd_per_th(frontier, cfg), cfg)
    assert 0.0 < share < 1.0
    assert small.order(half, None, frontier, 4, 500.0) == pytest.approx(share * a)


def test_underground_fleets_reinvest_at_a_penalty_and_their_machines_arrive_underground(host, cfg, monkeypatch):
    frontier = 13.5
    hp = hashprice_at(5.0, frontier, cfg)
    fleet = MinerFleet(host, "TST", 1e6, [(20.0, 1.0)], underground=True)
    factor = 0.25
    penal = cfg.model_copy(update={"underground_investment_factor": factor})
    with monkeypatch.context() as patch:
        patch.setattr(host, "config", host.config.model_copy(update={"mining": penal}))
        mw = fleet.order(hp, 0.0, frontier, 4, 500.0, underground=True)  # the allowance does not bind it
    assert mw == pytest.approx(factor * 500.0 * DT)
    (arrival, ths, eff, hidden), = fleet.pipeline
    assert hidden and arrival == host.t + 4
    banned = host.countries["TST"]
    with monkeypatch.context() as patch:
        patch.setattr(banned, "mining_banned", True)
        fleet.receive_arrivals(arrival)
    assert fleet.underground_ths.sum() == pytest.approx(1e6 + ths)
    assert fleet.legal_ths.sum() == 0.0


@pytest.mark.parametrize("allowance", [None, 500.0])
def test_no_orders_when_margin_is_below_the_hurdle(host, cfg, allowance):
    frontier = 13.5
    fleet = MinerFleet(host, "TST", 1e6, [(20.0, 1.0)])
    # below the hurdle at every site, the cheapest included (costs spread by +-cost_spread)
    below = hashprice_for_return(cfg.hurdle_margin - 0.05, frontier, cfg, cost_factor=1.0 - cfg.cost_spread)
    assert fleet.order(below, allowance, frontier, 4, 500.0) == 0.0
    assert fleet.pipeline == []
    above = hashprice_for_return(cfg.hurdle_margin + 0.05, frontier, cfg)
    assert fleet.order(above, allowance, frontier, 4, 500.0) > 0.0
    assert len(fleet.pipeline) == 1
    arrival, ths, eff, underground = fleet.pipeline[0]
    assert arrival == 4 and eff == frontier and ths > 0 and not underground


def test_arrivals_join_the_fleet_at_their_step(host, cfg):
    fleet = MinerFleet(host, "TST", 1e6, [(20.0, 1.0)])
    fleet.pipeline.append((5, 3e5, 13.5, False))
    fleet.receive_arrivals(4)
    assert fleet.installed_ths == pytest.approx(1e6)
    fleet.receive_arrivals(5)
    assert fleet.installed_ths == pytest.approx(1.3e6)
    assert fleet.pipeline == []
    assert 13.5 in fleet.eff



def test_refills_replace_the_least_efficient_machines_megawatt_for_megawatt(host, cfg):
    """A refill's MW scraps the worst machines first, only those less efficient than it;
    the MW of the fleet stays where it was, while its hashrate rises."""
    fleet = MinerFleet(host, "TST", 3e6, [(90.0, 1 / 3), (30.0, 1 / 3), (15.0, 1 / 3)])
    before_mw = fleet.installed_mw(cfg.pue)
    new_mw = 1e6 * 90.0 * cfg.pue / 1e6 + 0.25 * 1e6 * 30.0 * cfg.pue / 1e6  # all the S9s' MW, a quarter of the 30s'
    ths = new_mw * 1e6 / (13.5 * cfg.pue)
    fleet.refills.append((3, ths, 13.5))
    fleet.receive_arrivals(2)
    assert len(fleet.refills) == 1 and 13.5 not in fleet.eff  # not due yet
    fleet.receive_arrivals(3)
    assert fleet.refills == []
    legal = dict(zip(fleet.eff.tolist(), fleet.legal_ths.tolist()))
    assert legal[90.0] == pytest.approx(0.0, abs=1e-6) and legal[30.0] == pytest.approx(0.75e6)
    assert legal[15.0] == pytest.approx(1e6) and legal[13.5] == pytest.approx(ths)
    assert fleet.installed_mw(cfg.pue) == pytest.approx(before_mw)
    # More than the less efficient machines' MW: they all go, the better ones stay.
    fleet.swap_in(1e7, 20.0)
    legal = dict(zip(fleet.eff.tolist(), fleet.legal_ths.tolist()))
    assert legal[90.0] == pytest.approx(0.0, abs=1e-6) and legal[30.0] == pytest.approx(0.0, abs=1e-6)
    assert legal[15.0] == pytest.approx(1e6) and legal[20.0] == pytest.approx(1e7)


def test_refills_are_ordered_for_the_sites_whose_machines_will_not_pay(host, cfg):
    """Room for refills: the MW of machines that would idle at the expected hashprice, less
    refills under way; the order is that room x attractiveness x (1 - exp(-fill x dt))."""
    fleet = MinerFleet(host, "TST", 2e6, [(90.0, 0.5), (15.0, 0.5)])
    hp = hashprice_at(3.0, 15.0, cfg)  # the 15s earn thrice their power bill; the S9s (90) are far under theirs
    idle_mw = 1e6 * 90.0 * cfg.pue / 1e6
    assert fleet.refill_room_mw(hp) == pytest.approx(idle_mw)
    mw = fleet.place_refill(0.5, fleet.refill_room_mw(hp), 13.5, lead_steps=4)
    assert mw == pytest.approx(0.5 * (1 - math.exp(-cfg.fill_per_year * host.dt_years)) * idle_mw)
    (step, ths, eff), = fleet.refills
    assert step == host.t + 4 and eff == 13.5 and ths * eff * cfg.pue / 1e6 == pytest.approx(mw)
    assert fleet.refill_room_mw(hp) == pytest.approx(idle_mw - mw)
    assert fleet.place_refill(0.0, 100.0, 13.5, lead_steps=4) == 0.0
    assert MinerFleet(host, "TST", 2e6, [(15.0, 1.0)]).refill_room_mw(hp) == 0.0  # every machine pays


def test_refills_cost_the_machine_not_the_site(cfg):
    e = 13.5
    assert capital_usd_per_th(e, cfg, site=False) == pytest.approx(cfg.machine_price_usd_per_w * e)
    assert capital_usd_per_th(e, cfg) > capital_usd_per_th(e, cfg, site=False)

# ------------------------------------------------------------------ clearing hashprice
def test_supply_is_what_operate_would_converge_to(host, cfg):
    fleet = MinerFleet(host, "TST", 2e6, [(30.0, 0.5), (15.0, 0.5)])
    hps = [hashprice_at(r, 15.0, cfg) for r in (0.2, 1.0, 1.4, 2.2, 5.0)]
    supplies = [fleet.supply_ths(hp, None) for hp in hps]
    assert supplies[0] == 0.0 and supplies[-1] == pytest.approx(2e6)
    assert all(a <= b for a, b in zip(supplies, supplies[1:]))
    # The allowance caps supply just as it caps operation.
    cap = 0.25 * fleet.installed_mw(cfg.pue)
    # With everything running, the cap scales all vintages alike: a quarter of the MW.
    assert fleet.supply_ths(hps[-1], cap) == pytest.approx(0.25 * 2e6)
    # Operating long enough at a fixed hashprice reaches the supply at that hashprice.
    for _ in range(100):
        operate(fleet, hps[2], allowance=cap)
    assert fleet.operating_mw == pytest.approx(cap)
    assert fleet.operating_ths == pytest.approx(fleet.supply_ths(hps[2], cap), rel=1e-6)


def bisection(reward, supply_one):
    """The clearing's specification: plain bisection on log H over [1e-6, 1e9], one
    supply evaluation per halving (:func:`clearing_hashprice` must give this bit for bit)."""
    lo, hi = 1e-6, 1e9
    if supply_one(hi) <= 0:
        return reward / 1e-3
    for _ in range(80):
        mid = math.sqrt(lo * hi)
        if mid * supply_one(mid) / 1000.0 < reward:
            lo = mid
        else:
            hi = mid
        if hi / lo < 1.0 + 1e-9:
            break
    return math.sqrt(lo * hi)


def each(supply_one):
    """A supply of one hashprice as the clearing calls it, with an array of hashprices."""
    return lambda hps: [supply_one(float(h)) for h in hps]


def test_clearing_hashprice_solves_reward_equals_earnings(host, cfg):
    fleet = MinerFleet(host, "TST", 800e6, [(34.0, 0.3), (21.5, 0.4), (15.0, 0.3)])  # 800 EH/s

    def one(hp):
        return fleet.supply_ths(hp, None)

    supply = each(one)

    for reward in (5e6, 2e7, 4.5e7, 2e8):
        hp = clearing_hashprice(reward, supply)
        earned = hp * one(hp) / 1000.0  # USD per day: (USD/PH/day) x PH/s
        assert earned == pytest.approx(reward, rel=1e-6)
        # The same halvings as plain bisection, whatever the guess.
        for guess in (None, hp, hp * 1.3, hp / 1e4, 1e12):
            assert clearing_hashprice(reward, supply, guess=guess) == bisection(reward, one)
    # A higher reward clears at a higher hashprice.
    assert clearing_hashprice(4e7, supply) < clearing_hashprice(8e7, supply)
    # When every machine runs, it is just reward / hashrate.
    big = 1e10
    assert clearing_hashprice(big, supply) == pytest.approx(big / (800e6 / 1000.0), rel=1e-6)
    # No machines at all: the hashprice a single TH/s would earn.
    assert clearing_hashprice(1000.0, each(lambda hp: 0.0)) == pytest.approx(1000.0 / 1e-3)


@pytest.fixture()
def scrambled():
    """A model whose fleets get random vintages (1-40 of them: numpy sums 8 or more in
    blocks), machines, running shares, caps and enforcement, 12 times over."""
    m = build_model(households=MIN_HOUSEHOLDS)
    m.step()
    rng = np.random.default_rng(7)
    cfg = m.config.mining

    def scramble():
        for code, f in m.mining.fleets.items():
            n = int(rng.integers(1, 41))
            f.eff = rng.uniform(10, 100, n)
            f.legal_ths = rng.random(n) * 10 ** rng.uniform(3, 8, n) * (rng.random(n) > 0.2)
            f.underground_ths = rng.random(n) * 1e6 * (rng.random(n) > 0.7)
            f.running = rng.random(n)
            f.kept = rng.uniform(0.2, 1.0, n)
            m.mining.mining_cap_mw[code] = (None if rng.random() < 0.4
                                            else float(rng.uniform(0, 1.5) * f.installed_mw(cfg.pue)))
            m.countries[code].mining_enforcement_per_year = float(rng.uniform(0, 2))
        return float(10 ** rng.uniform(0, 3))

    return m, scramble, range(12)


def test_all_fleets_at_once_give_the_fleet_by_fleet_numbers_bit_for_bit(scrambled):
    m, scramble, trials = scrambled
    sector, cfg = m.mining, m.config.mining
    for _ in trials:
        hp = scramble()
        fleets = [(f, sector.mining_cap_mw[code]) for code, f in sector.fleets.items()]
        supply = FleetSupply(fleets, cfg)

        def one_by_one(h):
            return sum(f.supply_ths(h, cap) for f, cap in fleets)

        hps = hp * np.geomspace(0.1, 10, 9)
        assert supply(hps).tolist() == [one_by_one(float(h)) for h in hps]
        assert supply(hp) == one_by_one(hp)
        assert supply.wanted_mw(hp) == [f.wanted_mw(hp) for f, _ in fleets]
        assert supply.mean_efficiency() == [f.mean_efficiency() for f, _ in fleets]
        for reward in (1e6, 3e7, 1e9):
            for guess in (None, hp, hp * 1.01):
                assert clearing_hashprice(reward, supply, guess=guess) == bisection(reward, one_by_one)
                assert clearing_hashprice(reward, supply, guess=guess, kinks=supply.kinks()) \
                    == bisection(reward, one_by_one)
        # Operating all fleets at once, as each would alone.
        before = {code: [f.legal_ths.copy(), f.underground_ths.copy(), f.running.copy(), f.kept.copy()]
                  for code, f in sector.fleets.items()}
        alone = {}
        sector.hashprice_usd_per_ph_day, sector.clearing_hashprice_usd_per_ph_day = hp, hp * 0.7
        switch = sector.switching_hashprice()
        assert hp * 0.7 < switch < hp  # the scenario's anticipation, between the two
        for code, f in sector.fleets.items():
            f.operate(hp, sector.mining_cap_mw[code], switch)
            alone[code] = (f.legal_ths, f.underground_ths, f.running, f.kept, f.operating_ths,
                           f.underground_operating_ths, f.operating_mw, f.curtailed_mw, f.revenue_usd)
            f.legal_ths, f.underground_ths, f.running, f.kept = before[code]
        assert sector.operate_fleets()
        for code, f in sector.fleets.items():
            together = (f.legal_ths, f.underground_ths, f.running, f.kept, f.operating_ths,
                        f.underground_operating_ths, f.operating_mw, f.curtailed_mw, f.revenue_usd)
            for a, b in zip(alone[code], together):
                assert np.array_equal(a, b), code


# ------------------------------------------------------------------ bans
@pytest.mark.parametrize("relocate, underground", [(None, None), (0.1, 0.6)])
def test_ban_splits_the_fleet_by_relocate_and_underground_shares(host, cfg, relocate, underground):
    if relocate is not None:
        cfg = cfg.model_copy(update={"relocate_share": relocate, "underground_share": underground})
    fleet = MinerFleet(host, "TST", 2e6, [(30.0, 0.25), (15.0, 0.75)])
    fleet.pipeline.append((10, 1e5, 13.5, False))
    fleet.refills.append((12, 5e4, 13.5))
    legal = fleet.legal_ths.copy()
    moving, hidden, leaving = fleet.respond_to_ban(cfg)
    r, u = cfg.relocate_share, cfg.underground_share
    assert moving == pytest.approx(r * 2e6)
    assert hidden == pytest.approx(u * 2e6)
    assert leaving == pytest.approx((1 - r - u) * 2e6 + 1.5e5)  # cancelled orders and refills exit too
    assert moving + hidden + leaving == pytest.approx(2e6 + 1.5e5)
    np.testing.assert_allclose(fleet.legal_ths, 0.0)
    np.testing.assert_allclose(fleet.underground_ths, u * legal)
    assert fleet.pipeline == [] and fleet.refills == []
    taken = fleet.take_relocating()
    assert [e for _, e in taken] == [30.0, 15.0]
    np.testing.assert_allclose([t for t, _ in taken], r * legal)


def test_a_power_cut_sends_a_share_of_each_vintage_away_and_keeps_the_pipeline(host):
    fleet = MinerFleet(host, "TST", 2e6, [(30.0, 0.25), (15.0, 0.75)])
    fleet.pipeline.append((10, 1e5, 13.5, False))
    legal = fleet.legal_ths.copy()
    leaving = fleet.depart(0.4)
    assert leaving == [(pytest.approx(0.4 * 0.5e6), 30.0), (pytest.approx(0.4 * 1.5e6), 15.0)]
    np.testing.assert_allclose(fleet.legal_ths, 0.6 * legal)
    assert fleet.pipeline == [(10, 1e5, 13.5, False)]
    assert fleet.depart(0.0) == []


def test_power_cuts_before_the_run_shrink_what_a_country_can_add():
    """Kazakhstan's 2022 power cut (``mining_power_cuts = 1`` in the baseline) leaves it
    ``emergency_capacity_factor`` of its fitted MW a year; a country without one keeps all."""
    m = build_model(households=MIN_HOUSEHOLDS, overrides={"mining.emergency_capacity_factor": 0.4})
    cfg, sector = m.config.mining, m.mining
    assert m.config.countries["KAZ"].mining_power_cuts == 1
    assert m.fleets["KAZ"].capacity_factor == pytest.approx(0.4)
    assert m.fleets["USA"].capacity_factor == 1.0
    growth = sector.capacity_growth() * m.config.nowcast.capacity_scale
    assert sector.capacity_mw_per_year("KAZ") == pytest.approx(0.4 * cfg.capacity_mw_per_year["KAZ"] * growth)
    assert sector.capacity_mw_per_year("USA") == pytest.approx(cfg.capacity_mw_per_year["USA"] * growth)


def test_a_moratorium_scales_what_a_country_can_add_while_it_holds(tmp_path):
    """The baseline's Canada starts under its provinces' moratoria: it can add
    ``moratorium_capacity_factor`` of its MW a year, machines arriving and running as before;
    a dated moratorium elsewhere scales that country's from its date to its end, orders and
    the room it offers relocating machines alike."""
    path = write_scenario(tmp_path, USA_MORATORIUM)
    m = build_model(str(path), households=MIN_HOUSEHOLDS, overrides={"mining.moratorium_capacity_factor": 0.25})
    cfg, sector = m.config.mining, m.mining
    assert m.countries["CAN"].mining_moratorium and not m.countries["USA"].mining_moratorium
    scale = m.config.nowcast.capacity_scale  # the projection's fitted 2025 (model.config.NowcastConfig)
    growth = sector.capacity_growth() * scale
    assert sector.capacity_mw_per_year("CAN") == pytest.approx(0.25 * cfg.capacity_mw_per_year["CAN"] * growth)
    full = sector.capacity_mw_per_year("USA")
    assert full == pytest.approx(cfg.capacity_mw_per_year["USA"] * growth)
    m.run(until=dt.date(2025, 3, 5))
    assert m.countries["USA"].mining_moratorium
    assert sector.capacity_mw_per_year("USA") == pytest.approx(
        0.25 * cfg.capacity_mw_per_year["USA"] * sector.capacity_growth() * scale)
    m.run(until=dt.date(2025, 6, 4))
    assert not m.countries["USA"].mining_moratorium
    assert sector.capacity_mw_per_year("USA") == pytest.approx(
        cfg.capacity_mw_per_year["USA"] * sector.capacity_growth() * scale)
    kinds = list(m.events_frame().query("country == 'USA'")["kind"])
    assert kinds.index("mining_moratorium") < kinds.index("mining_moratorium_end")


def test_a_full_moratorium_stops_new_machines_but_not_running_ones(tmp_path):
    """Factor 0: a country under a moratorium from the start orders nothing for new sites,
    yet keeps mining with what it has."""
    m = build_model(households=MIN_HOUSEHOLDS, overrides={"mining.moratorium_capacity_factor": 0.0,
                                                         "countries.USA.mining_moratorium": True})
    assert m.mining.capacity_mw_per_year("USA") == 0.0
    m.run(until=dt.date(2025, 9, 3))
    usa = m.fleets["USA"]
    assert usa.operating_ths > 0
    assert usa.pipeline == []  # nothing ordered for new sites (refills of built ones go on)


def test_underground_fleet_ignores_the_allowance_and_is_seized_at_the_enforcement_rate(host, cfg):
    eff = 20.0
    fleet = MinerFleet(host, "TST", 1e6, [(eff, 1.0)], underground=True)
    hp = hashprice_at(3.0, eff, cfg)
    operate(fleet, hp, allowance=0.0, enforcement=2.0)
    kept = math.exp(-2.0 * DT)
    assert fleet.underground_ths.sum() == pytest.approx(1e6 * kept)
    assert fleet.underground_operating_ths == pytest.approx(1e6 * kept)
    assert fleet.operating_ths == pytest.approx(fleet.underground_operating_ths)
    fleet.legalise_underground()
    assert fleet.underground_ths.sum() == 0.0
    assert fleet.legal_ths.sum() == pytest.approx(1e6 * kept)


USA_BAN = """
[shocks.usa_ban]
date = 2026-01-07
country = "USA"
kind = "mining_ban"
description = "test ban"
"""


def test_a_sanctioned_host_draws_fewer_relocating_machines(tmp_path):
    """Russia (sanctioned in the baseline) gets the USA's banned machines at
    ``sanctioned_host_factor`` of its weight: none at 0, its share of them at 1."""
    path = write_scenario(tmp_path, USA_BAN)

    def to_russia(factor):
        m = build_model(str(path), households=MIN_HOUSEHOLDS, overrides={"mining.sanctioned_host_factor": factor})
        m.run(until=__import__("datetime").date(2026, 1, 14))
        moves = m.events_frame().query("kind == 'miners_relocate'")
        assert len(moves) > 0 and m.countries["RUS"].sanctioned
        return (moves["to"] == "RUS").sum()

    assert to_russia(0.0) == 0
    assert to_russia(1.0) > 0


def test_a_ban_in_the_model_sends_miners_abroad_and_leaves_only_underground_hashrate(tmp_path):
    path = write_scenario(tmp_path, USA_BAN)
    m = build_model(str(path), households=MIN_HOUSEHOLDS)
    m.run(until=__import__("datetime").date(2026, 12, 31))
    ev = m.events_frame()
    banned = ev[(ev["country"] == "USA") & (ev["kind"] == "miners_banned")]
    assert len(banned) == 1
    numbers = [float(x) for x in re.findall(r"([\d.]+) EH/s", banned["cause"].iloc[0])]
    moving, hidden = numbers[0], numbers[1]
    assert moving / hidden == pytest.approx(m.config.mining.relocate_share / m.config.mining.underground_share,
                                            rel=0.02)
    moves = ev[ev["kind"] == "miners_relocate"]
    assert len(moves) > 0
    assert set(moves["from"]) == {"USA"}
    assert "USA" not in set(moves["to"])
    allowed = {c for c, country in m.countries.items() if country.mining_allowed}
    assert set(moves["to"]) <= allowed
    ts = m.timeseries()
    ban_day = banned["date"].iloc[0]
    usa = series(ts, "USA", "hashrate_ehs")
    usa_ug = series(ts, "USA", "underground_hashrate_ehs")
    after = [d for d in usa.index if d >= ban_day]
    np.testing.assert_allclose(usa[after], usa_ug[after], rtol=1e-12)
    assert usa_ug[ban_day] > 0
    before = max(d for d in usa.index if d < ban_day)
    assert usa[ban_day] < 0.3 * usa[before]
    # Relocated machines arrive after relocation_weeks, within the hosts' caps.
    power, allowed_mw = wide(ts, "mining_power_mw"), wide(ts, "mining_power_allowed_mw")
    capped = allowed_mw.columns
    assert (power[capped] <= allowed_mw[capped] + 1e-6).all().all()


# ------------------------------------------------------------------ relocation choice
def test_choose_destination_prefers_cheaper_tariffs():
    candidates = [("CHEAP", 0.03, 100.0), ("DEAR", 0.05, 100.0), ("ORIGIN", 0.01, 100.0)]
    scale = 0.01
    n = 20_000
    draws = (np.arange(n) + 0.5) / n  # evenly spread uniforms
    picks = [choose_destination("ORIGIN", candidates, scale, u) for u in draws]
    assert "ORIGIN" not in picks
    share_cheap = picks.count("CHEAP") / n
    expected = 1.0 / (1.0 + math.exp(-(0.05 - 0.03) / scale))
    assert share_cheap == pytest.approx(expected, abs=0.005)
    # Random draws too, and a larger scale makes the choice less sharp.
    rng = np.random.default_rng(1)
    u = rng.random(5000)
    hosts = candidates[:2]
    sharp = np.mean([choose_destination("X", hosts, 0.005, x) == "CHEAP" for x in u])
    flat = np.mean([choose_destination("X", hosts, 0.1, x) == "CHEAP" for x in u])
    assert sharp > flat > 0.5


def test_choose_destination_weighs_room():
    """At equal tariffs a host with three times the room is three times as likely."""
    n = 20_000
    draws = (np.arange(n) + 0.5) / n
    picks = [choose_destination("X", [("BIG", 0.04, 300.0), ("SMALL", 0.04, 100.0)], 0.01, u) for u in draws]
    assert picks.count("BIG") / n == pytest.approx(0.75, abs=0.005)


def test_choose_destination_with_no_candidates_returns_none():
    assert choose_destination("PAK", [], 0.01, 0.5) is None
    assert choose_destination("PAK", [("PAK", 0.02, 10.0)], 0.01, 0.5) is None
    assert choose_destination("PAK", [("KAZ", 0.05, 10.0)], 0.01, 0.999999) == "KAZ"


# ------------------------------------------------------------------ warm start
def test_warm_start_fills_the_pipeline_for_the_lead_time():
    """With the warm start the order pipeline holds one order per week of the lead time,
    arriving at steps 1..lead; without it the pipeline is empty and nothing arrives in the
    first lead time."""
    from model.model import CryptoAdoptionModel
    from model.scenario import load_scenario
    warm = CryptoAdoptionModel(config=load_scenario("backtest_hashrate_2019",
                                                     {"mining.lead_time_weeks": 20}), seed=0)
    cold = CryptoAdoptionModel(config=load_scenario("backtest_hashrate_2019", {"mining.lead_time_weeks": 20,
                                                    "mining.warm_start_pipeline": False}), seed=0)
    lead = warm.mining.lead_steps
    assert lead == 20
    usa = warm.fleets["USA"].pipeline
    assert sorted(step for step, _, _, _ in usa) == list(range(1, lead + 1))
    assert all(ths > 0 for _, ths, _, _ in usa)
    assert all(f.pipeline == [] for f in cold.fleets.values())
    warm.run(until=warm.dates[lead - 1])
    cold.run(until=cold.dates[lead - 1])
    assert warm.fleets["USA"].installed_ths > cold.fleets["USA"].installed_ths


def test_machines_ordered_before_a_release_are_at_the_old_frontier_and_after_it_at_the_new():
    """The 2016 run starts with the S7 the best on sale and the S9 released on 2016-06-01:
    orders (the warm start's included) are S7-generation machines before that date and
    S9-generation ones from it (at ``bought_over_best`` times the best's J/TH), whatever the
    smooth trend says; with the release later, orders stay at the trend."""
    from model.model import CryptoAdoptionModel
    from model.scenario import load_scenario
    m = CryptoAdoptionModel(config=load_scenario("backtest_halving_2016"), seed=0)
    s7, s9 = 273.36, m.config.mining.releases["s9"].efficiency_j_per_th
    bought = m.config.mining.bought_over_best
    assert m.mining.frontier_j_per_th() == pytest.approx(s7)
    assert all(eff == pytest.approx(s7 * bought) for _, _, eff, _ in m.fleets["ROW"].pipeline)
    m.run(until=dt.date(2016, 5, 28))
    assert m.mining.frontier_j_per_th() == pytest.approx(s7)
    m.run(until=dt.date(2016, 6, 4))
    assert m.mining.frontier_j_per_th() == pytest.approx(s9)
    assert m.mining.bought_j_per_th() == pytest.approx(s9 * bought)
    assert any(eff == pytest.approx(s9 * bought) for _, _, eff, _ in m.fleets["ROW"].pipeline)
    plain = CryptoAdoptionModel(config=load_scenario("backtest_halving_2016",
                                                     {"mining.releases.s9.date": dt.date(2016, 7, 1)}), seed=0)
    plain.run(until=dt.date(2016, 6, 4))
    assert plain.mining.frontier_j_per_th() == pytest.approx(s7)


def test_miners_buy_machines_less_efficient_than_the_best_and_get_fewer_th_per_mw():
    """With ``bought_over_best`` r, every order (new sites, refills, the warm start's) is of
    machines at r times the best's J/TH; the same attractiveness and room buy the same MW
    (so 1/r of the TH/s) and a worse machine is less attractive at the same hashprice."""
    from model.model import CryptoAdoptionModel
    from model.scenario import load_scenario

    def pipeline(ratio):
        m = CryptoAdoptionModel(config=load_scenario("backtest_hashrate_2019", {"mining.bought_over_best": ratio}),
                                seed=0)
        return m, [(ths, eff) for _, ths, eff, _ in m.fleets["USA"].pipeline]
    best, flagship = pipeline(1.0)
    worse, mass = pipeline(1.5)
    assert flagship and all(eff == pytest.approx(best.mining.frontier_j_per_th()) for _, eff in flagship)
    assert all(eff == pytest.approx(1.5 * worse.mining.frontier_j_per_th()) for _, eff in mass)
    cfg = best.config.mining
    e, tariff, hp = best.mining.frontier_j_per_th(), 0.05, 120.0
    a_best = attractiveness(hp, float(cash_cost_usd_per_th_day(e, cfg, tariff)), capital_usd_per_th(e, cfg), cfg)
    a_mass = attractiveness(hp, float(cash_cost_usd_per_th_day(1.5 * e, cfg, tariff)),
                            capital_usd_per_th(1.5 * e, cfg), cfg)
    assert a_mass < a_best
    fleet = best.fleets["USA"]
    fleet.pipeline = []
    mw = fleet.place_order(0.5, None, 1.5 * e, 4, 100.0)
    (_, ths, eff, _), = fleet.pipeline
    assert eff == pytest.approx(1.5 * e) and ths == pytest.approx(mw * 1e6 / (1.5 * e * cfg.pue))


def test_the_bought_over_best_ratio_is_derived_from_the_rfq_market_it_names():
    """behaviour.toml's ratio: the median J/TH of the models Luxor's RFQ market traded in
    June 2023 over the best of them (data/asic_prices.csv), to its 3 printed decimals."""
    import pandas as pd

    from data import table
    from model.scenario import load_scenario
    prices = pd.read_csv(table("asic_prices.csv"))
    rfq = prices[(prices.date == "2023-06") & prices.model_or_index.str.contains("Luxor RFQ market price")]
    assert len(rfq) == 4
    ratio = rfq.efficiency_j_per_th.median() / rfq.efficiency_j_per_th.min()
    assert load_scenario("south_asia_2025").config.mining.bought_over_best == pytest.approx(round(ratio, 3), abs=1e-12)


def test_relocated_machines_avoid_hosts_without_power_and_arrive_over_months():
    """Hosts in a power emergency are no destination; what moves arrives in equal parts
    over the relocation's steps, less the transit loss."""
    import datetime as dt

    from model.model import CryptoAdoptionModel
    from model.scenario import load_scenario
    m = CryptoAdoptionModel(config=load_scenario("backtest_hashrate_2019"), seed=0)
    for code, c in m.countries.items():
        if code not in ("KAZ", "CHN"):
            c.power_emergency_until = dt.date(2030, 1, 1)
    before = list(m.fleets["KAZ"].pipeline)
    cfg = m.config.mining
    m.mining.relocate("CHN", [(1e6, 30.0), (2e6, 15.0)], 10, cfg)
    new = [p for p in m.fleets["KAZ"].pipeline if p not in before]
    assert sorted({step for step, *_ in new}) == list(range(m.t + 1, m.t + 11))
    assert sum(ths for _, ths, _, _ in new) == pytest.approx(3e6 * (1 - cfg.relocation_loss))
    assert all(not underground for *_, underground in new)
    moved = m.events_frame().query("kind == 'miners_relocate'")
    assert list(moved["to"]) == ["KAZ"]


def test_expected_hashprice_clears_the_fleets_and_the_pipeline_at_the_reward_on_arrival():
    """Orders are judged at the hashprice expected on arrival: the clearing hashprice at the
    reward then (a halving before arrival halves the subsidy) of today's fleets and every
    pipeline's machines; where every machine pays, that is today's clearing hashprice
    scaled by the reward and by the share of the network running now, and after a halving
    it is higher than that, as the machines that no longer pay switch off."""
    from model.model import CryptoAdoptionModel
    from model.scenario import load_scenario
    m = CryptoAdoptionModel(config=load_scenario("backtest_hashrate_2019"), seed=0)
    sector, market = m.mining, m.market
    coming = sum(p[1] for f in m.fleets.values() for p in f.pipeline + f.refills)
    assert coming > 0  # the warm start's pipeline
    after_halving = 80  # weeks from 2019-01-02: past 2020-05-11
    reward_then = market.reward_btc_per_day_at(m.date + dt.timedelta(weeks=after_halving)) * market.price_usd
    expected = sector.expected_hashprice(after_halving)
    pipeline = PipelineSupply(list(m.fleets.values()), m.config.mining)
    earned = expected * (sector.supply(expected) + pipeline(expected)) / 1000.0
    assert earned == pytest.approx(reward_then, rel=1e-8)
    fees = market.fees_btc_per_block
    running = sum(f.operating_ths for f in m.fleets.values())
    everything_runs = (sector.clearing_hashprice_usd_per_ph_day * (6.25 + fees) / (12.5 + fees)
                       * running / (running + coming))
    assert expected > everything_runs * 1.01  # S9s at $0.05/kWh stop paying after the halving

    # A fleet of machines that pay at any hashprice: the scaled clearing hashprice, exactly.
    for f in m.fleets.values():
        f.eff, f.running = np.full_like(f.eff, 1e-6), np.ones_like(f.running)
        f.pipeline = [(s, ths, 1e-6, u) for s, ths, _, u in f.pipeline]
        f.refills = [(s, ths, 1e-6) for s, ths, _ in f.refills]
    sector.operate(order=False)
    running = sum(f.operating_ths for f in m.fleets.values())
    share = running / (running + coming)
    now = sector.clearing_hashprice_usd_per_ph_day
    assert sector.expected_hashprice(1) == pytest.approx(now * share, rel=1e-8)
    assert sector.expected_hashprice(after_halving) == pytest.approx(now * share * (6.25 + fees) / (12.5 + fees),
                                                                     rel=1e-8)


def test_supply_is_linear_between_kinks_where_no_cap_binds(scrambled):
    m, scramble, trials = scrambled
    for _ in trials:
        scramble()
        supply = FleetSupply([(f, None) for f in m.mining.fleets.values()], m.config.mining)
        kinks = np.array(supply.kinks())
        assert np.all(np.diff(kinks) >= 0)
        a, b = kinks[:-1], kinks[1:]
        wide = b > a * (1 + 1e-6)
        a, b = a[wide], b[wide]
        mid = supply((a + b) / 2)
        assert mid == pytest.approx((supply(a) + supply(b)) / 2, rel=1e-9)
        # and not across a kink: the supply bends at some of them
        outer = supply(kinks[1:-1] * 1.01) + supply(kinks[1:-1] * 0.99)
        assert not np.allclose(outer, 2 * supply(kinks[1:-1]), rtol=1e-9)


def test_pipeline_supply_runs_each_entry_at_its_hosts_cost():
    """The pipeline's machines supply what each would run at its host's tariff once
    arrived, orders and relocations, legal or underground, and refills; an empty pipeline
    supplies 0."""
    m = build_model("backtest_hashrate_2019", households=0)
    cfg = m.config.mining
    fleets = list(m.fleets.values())
    for f in fleets:
        f.pipeline, f.refills = [], []
    assert PipelineSupply(fleets, cfg)(50.0) == 0.0
    usa, chn = m.fleets["USA"], m.fleets["CHN"]
    m.countries["CHN"].mining_tariff_usd_per_kwh = 0.02
    usa.pipeline = [(5, 1e6, 40.0, False), (9, 2e6, 90.0, False)]
    chn.pipeline = [(5, 3e6, 90.0, True)]
    usa.refills = [(7, 5e5, 30.0)]
    pipeline = PipelineSupply(fleets, cfg)
    hps = np.array([10.0, 100.0, 300.0])
    expected = sum(ths * running_share(hps / 1000.0, running_cost_usd_per_th_day(eff, cfg, tariff), cfg.cost_spread)
                   for ths, eff, tariff in [(1e6, 40.0, 0.05), (2e6, 90.0, 0.05), (5e5, 30.0, 0.05),
                                            (3e6, 90.0, 0.02)])
    np.testing.assert_allclose(pipeline(hps), expected, rtol=1e-12)
    assert pipeline(100.0) == pytest.approx(float(expected[1]), rel=1e-12)
    assert 0 < pipeline(100.0) < 6.5e6  # the S9-class machines at $0.05 do not all pay


def test_fleets_switch_part_way_from_what_the_week_earns_to_the_clearing_so_a_halving_overshoots():
    """Each week every vintage closes its share of the gap to the running share that pays at
    the switching hashprice: ``switch_anticipation`` (w, assumed) of the way from the difficulty's
    (what the week earns) to the clearing one. In the second week of the 2024 halving the
    difficulty is still set (two weeks behind) for the hashrate before it, so the hashprice
    the week earns falls below the clearing one (which counts the machines that will switch
    off); miners switch on
    ``(1 - w) x earned + w x clearing``, and marginal vintages head lower than the clearing
    would take them. What
    runs earns the difficulty's hashprice."""
    m = build_model("backtest_hashrate_2019", households=0)
    sector, cfg = m.mining, m.config.mining
    cleared = sector.clearing_hashprice_usd_per_ph_day
    sector.clearing_hashprice_usd_per_ph_day = None  # before any clearing: what the week earns
    assert sector.switching_hashprice() == sector.hashprice_usd_per_ph_day
    sector.clearing_hashprice_usd_per_ph_day = cleared
    m.run(until=dt.date(2024, 4, 26))
    w = cfg.switch_anticipation
    assert 0.0 < w < 1.0  # both hashprices count
    assert m.market.subsidy_at(m.date) == 3.125  # the halving's week, 2024-04-24
    m.step()
    earned, clearing_hp = sector.hashprice_usd_per_ph_day, sector.clearing_hashprice_usd_per_ph_day
    assert earned < clearing_hp
    apart = 0.0
    before = {code: (f.running.copy(), f.kept.copy()) for code, f in sector.fleets.items()}
    sector.operate(order=False)
    earned, clearing_hp = sector.hashprice_usd_per_ph_day, sector.clearing_hashprice_usd_per_ph_day
    switch = (1.0 - w) * earned + w * clearing_hp
    assert sector.switching_hashprice() == pytest.approx(switch, rel=1e-12)
    speed = 1.0 - (1.0 - cfg.switch_share_per_week) ** (m.step_days / 7.0)
    retiring = 1.0 - np.exp(-cfg.idle_retire_per_year * m.dt_years)
    for code, f in sector.fleets.items():
        running, kept = before[code]
        cost = running_cost_usd_per_th_day(f.eff, cfg, f.host.mining_tariff_usd_per_kwh)
        target = running_share(switch / 1000.0, cost, cfg.cost_spread, kept)
        on = running + speed * (target - running)
        retire = (1.0 - on) * retiring  # the idle ones go, so the share of what is left that runs rises
        np.testing.assert_allclose(f.running, on / (1.0 - retire), rtol=1e-12, atol=1e-15, err_msg=code)
        assert f.revenue_usd == pytest.approx(f.operating_ths * earned / 1000.0 * m.step_days, rel=1e-12)
        clearing = running_share(clearing_hp / 1000.0, cost, cfg.cost_spread, kept)
        apart = max(apart, float(np.abs(clearing - target).max()))
    assert apart > 0.01  # the week tells the rules apart
