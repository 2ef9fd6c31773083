"""Policy diffusion (agents/country.py) and the country network (model/country_network.py)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import MIN_HOUSEHOLDS, wide

from agents.country import update_stances
from model import build_model
from model.config import EdgeKindWeights
from model.country_network import build_country_graph, neighbour_weights


@pytest.fixture
def m(small_model):
    return small_model


def setup_pair(m, own=1, other=1):
    """PAK with IND as its only neighbour, no mining revenue anywhere, no signals."""
    pak, ind = m.countries["PAK"], m.countries["IND"]
    pak.stance, ind.stance = own, other
    pak.signals, ind.mining_revenue_usd_per_year = [], 0.0
    return pak, [(ind, 1.0)]


def hazards(m, country, neighbours, weeks=0.0, policy=None):
    return country.stance_hazards(neighbours, policy or m.config.policy, weeks)


def test_up_hazard_rises_with_more_liberal_neighbours(m):
    ups = []
    for other in (0, 1, 2, 3):
        pak, nb = setup_pair(m, own=1, other=other)
        ups.append(hazards(m, pak, nb)[0])
    assert ups[0] == ups[1]  # less or equally liberal neighbours exert no upward pull
    assert ups[1] < ups[2] < ups[3]
    # Neighbours above the diffusion cap pull no harder than at the cap.
    pak, nb = setup_pair(m, own=1, other=4)
    assert hazards(m, pak, nb)[0] == pytest.approx(ups[3])


def test_down_hazard_rises_with_more_restrictive_neighbours(m):
    downs = []
    for other in (3, 2, 1, 0):
        pak, nb = setup_pair(m, own=2, other=other)
        downs.append(hazards(m, pak, nb)[1])
    assert downs[0] == downs[1]
    assert downs[1] < downs[2] < downs[3]


def test_pull_is_an_edge_weighted_mean(m):
    pak, ind, afg = m.countries["PAK"], m.countries["IND"], m.countries["AFG"]
    pak.stance, ind.stance, afg.stance = 1, 3, 1
    pak.signals = []
    heavy_liberal = hazards(m, pak, [(ind, 3.0), (afg, 1.0)])[0]
    light_liberal = hazards(m, pak, [(ind, 1.0), (afg, 3.0)])[0]
    assert heavy_liberal > light_liberal
    # Scaling all weights together changes nothing.
    assert hazards(m, pak, [(ind, 6.0), (afg, 2.0)])[0] == pytest.approx(heavy_liberal)


def test_neighbour_mining_payoff_adds_pull_but_at_most_doubles_it(m):
    policy = m.config.policy
    pak, nb = setup_pair(m, own=1, other=3)
    base = hazards(m, pak, nb)[0]
    ind = nb[0][0]
    ind.mining_revenue_usd_per_year = 0.01 * ind.gdp_usd  # 1% of GDP
    paid = hazards(m, pak, nb)[0]
    assert paid > base
    ind.mining_revenue_usd_per_year = 1e6 * ind.gdp_usd  # absurd windfall
    huge = hazards(m, pak, nb)[0]
    pull = (3 - 1) / policy.max_diffusion_stance
    # log-hazard gain from pull is diffusion_strength x pull x gain, gain < 2.
    assert np.log(huge / base) < policy.diffusion_strength * pull * 1.0 + 1e-9
    assert np.log(huge / base) > policy.diffusion_strength * pull * 0.99


def test_up_hazard_rises_with_adoption_and_down_hazard_does_not_move(m):
    pak, nb = setup_pair(m, own=1, other=1)
    results = []
    for rate in (0.0, 0.1, 0.3):
        pak.adoption_rate = rate
        results.append(hazards(m, pak, nb))
    ups = [u for u, _, _ in results]
    assert ups[0] < ups[1] < ups[2]
    assert len({d for _, d, _ in results}) == 1


def test_positive_signal_raises_up_lowers_down_and_decays(m):
    pak, nb = setup_pair(m, own=1, other=1)
    up0, down0, _ = hazards(m, pak, nb, weeks=10.0)
    pak.signals = [(10.0, 1.0, 26.0)]
    up1, down1, _ = hazards(m, pak, nb, weeks=10.0)
    assert up1 > up0 and down1 < down0
    assert up1 == pytest.approx(up0 * np.e)
    up_later, _, _ = hazards(m, pak, nb, weeks=36.0)  # one half-life later
    assert up_later == pytest.approx(up0 * np.exp(0.5))
    # A signal dated in the future does not act yet.
    pak.signals = [(50.0, 1.0, 26.0)]
    assert hazards(m, pak, nb, weeks=10.0)[0] == pytest.approx(up0)
    # A negative signal does the opposite.
    pak.signals = [(10.0, -1.0, 26.0)]
    up_neg, down_neg, _ = hazards(m, pak, nb, weeks=10.0)
    assert up_neg < up0 and down_neg > down0


def test_resistance_and_imf_programme_lower_up_and_raise_down(m):
    pak, nb = setup_pair(m, own=1, other=3)
    pak.imf_programme = False
    results = []
    for r in (0.0, 1.0, 2.0):
        pak.resistance = r
        results.append(hazards(m, pak, nb))
    ups, downs = [u for u, _, _ in results], [d for _, d, _ in results]
    assert ups[0] > ups[1] > ups[2]
    assert downs[0] < downs[1] < downs[2]
    pak.resistance = 1.0
    pak.imf_programme = True
    with_imf = hazards(m, pak, nb)
    assert with_imf[0] < ups[1] and with_imf[1] > downs[1]


def test_diffusion_never_lifts_a_stance_above_the_cap(m):
    policy = m.config.policy.model_copy(update={"base_up_per_year": 1e6})
    pak, nb = setup_pair(m, own=policy.max_diffusion_stance, other=4)
    up, _, _ = hazards(m, pak, nb, policy=policy)
    assert up == 0.0
    for u in np.linspace(0.0, 0.999, 50):
        moved = pak.decide_stance(nb, policy, 0.0, 7 / 365.25, float(u))
        assert moved is None or moved[0] <= policy.max_diffusion_stance
    # A lower cap binds the same way.
    low = policy.model_copy(update={"max_diffusion_stance": 2})
    pak, nb = setup_pair(m, own=2, other=3)
    assert hazards(m, pak, nb, policy=low)[0] == 0.0
    # Below the cap the same huge hazard does move it up.
    pak, nb = setup_pair(m, own=1, other=3)
    moved = pak.decide_stance(nb, low, 0.0, 7 / 365.25, 0.5)
    assert moved is not None and moved[0] == 2


def test_diffusion_cap_holds_over_a_run_with_overwhelming_pressure():
    m = build_model(households=MIN_HOUSEHOLDS, overrides={
        "policy.base_up_per_year": 50.0, "policy.max_diffusion_stance": 2})
    start = {c: country.stance for c, country in m.countries.items()}
    m.run(until=dt.date(2026, 6, 30))
    stance = wide(m.timeseries(), "stance")
    shocked = {s.country for s in m.config.shocks.values() if s.kind == "stance_change"}
    checked = [c for c, country in m.config.countries.items()
               if country.stance_dynamics == "diffusion" and c not in shocked and start[c] <= 2]
    assert checked
    assert (stance[checked].max() <= 2).all()
    # Not vacuous: some country was lifted to the cap by diffusion.
    assert any(start[c] < 2 and stance[c].max() == 2 for c in checked)


def test_fixed_stance_never_moves():
    m = build_model(households=MIN_HOUSEHOLDS, overrides={
        "policy.base_up_per_year": 50.0, "policy.base_down_per_year": 50.0,
        "countries.AFG.stance_dynamics": "fixed"})
    afg = m.countries["AFG"]
    neighbours = [(m.countries[o], w) for o, w in m.neighbours["AFG"].items()]
    for u in (0.0, 1e-9, 0.5, 0.999):
        assert afg.decide_stance(neighbours, m.config.policy, 0.0, 7 / 365.25, u) is None
    m.run(until=dt.date(2026, 1, 1))
    stance = wide(m.timeseries(), "stance")
    fixed_codes = [c for c, country in m.config.countries.items() if country.stance_dynamics == "fixed"]
    assert "AFG" in fixed_codes and "USA" in fixed_codes
    assert (stance[fixed_codes].nunique() == 1).all()
    moving = [c for c in stance.columns if c not in fixed_codes and c != "WORLD"]
    assert (stance[moving].nunique() > 1).any()  # the pressure was real


# ------------------------------------------------------------------ network
def _graph(edges):
    cfg = SimpleNamespace(
        countries={c: SimpleNamespace(name=c, lat=0.0, lon=0.0) for c in ("AAA", "BBB", "CCC", "DDD")},
        network=SimpleNamespace(edges={f"e{i}": SimpleNamespace(a=a, b=b, kind=k, weight=w)
                                       for i, (a, b, k, w) in enumerate(edges)}))
    return build_country_graph(cfg)


def test_remittance_edges_weigh_only_on_the_receiver():
    g = _graph([("AAA", "BBB", "remittance", 0.3),   # AAA sends to BBB
                ("AAA", "CCC", "border", 1.0),
                ("CCC", "BBB", "remittance", 0.2),
                ("BBB", "CCC", "remittance", 0.5),
                ("DDD", "AAA", "alliance", 0.7)])
    kinds = EdgeKindWeights()
    assert neighbour_weights(g, "AAA", kinds) == pytest.approx({"CCC": 1.0, "DDD": 0.7})
    assert neighbour_weights(g, "BBB", kinds) == pytest.approx({"AAA": 0.3, "CCC": 0.2})
    assert neighbour_weights(g, "CCC", kinds) == pytest.approx({"AAA": 1.0, "BBB": 0.5})
    assert neighbour_weights(g, "DDD", kinds) == pytest.approx({"AAA": 0.7})
    doubled = EdgeKindWeights(remittance=2.0, border=0.5)
    assert neighbour_weights(g, "BBB", doubled) == pytest.approx({"AAA": 0.6, "CCC": 0.4})
    assert neighbour_weights(g, "CCC", doubled) == pytest.approx({"AAA": 0.5, "BBB": 1.0})


def test_baseline_network_remittance_direction(m):
    edges = list(m.config.network.edges.values())
    kinds = m.config.policy.edge_kind_weights
    checked = 0
    for e in edges:
        if e.kind != "remittance":
            continue
        assert neighbour_weights(m.country_graph, e.b, kinds)[e.a] >= e.weight * kinds.remittance - 1e-12
        # Where this corridor is the only edge between the two, the sender ignores it.
        if [o for o in edges if {o.a, o.b} == {e.a, e.b}] == [e]:
            assert e.b not in neighbour_weights(m.country_graph, e.a, kinds)
            checked += 1
    assert checked >= 5
    # A concrete case: ARE sends to PAK; PAK weighs ARE, ARE does not weigh PAK.
    assert "ARE" in m.neighbours["PAK"] and "PAK" not in m.neighbours["ARE"]


def test_alliance_shock_joins_both_countries():
    m = build_model(households=MIN_HOUSEHOLDS)
    m.run(until=dt.date(2025, 7, 1))
    assert "SLV" not in m.neighbours["PAK"] and "PAK" not in m.neighbours["SLV"]
    m.run(until=dt.date(2025, 8, 1))
    assert m.neighbours["PAK"]["SLV"] > 0 and m.neighbours["SLV"]["PAK"] > 0


class _Draws:
    """Stands in for the countries' random stream with chosen uniforms."""

    def __init__(self, values):
        self.values = np.asarray(values, dtype=float)

    def random(self, n):
        assert n == len(self.values)
        return self.values


def test_decide_stance_does_not_change_the_country(m):
    pak, nb = setup_pair(m, own=1, other=3)
    policy = m.config.policy.model_copy(update={"base_up_per_year": 1e6})
    assert pak.decide_stance(nb, policy, 0.0, 7 / 365.25, 0.0) == (2, pytest.approx(pak.stance_hazards(
        nb, policy, 0.0)[2]))
    assert pak.stance == 1


def test_countries_decide_on_last_weeks_stances(m):
    """A neighbour's move in the same step must not change another country's decision."""
    policy, dt_years = m.config.policy, m.dt_years
    afg, pak = m.countries["AFG"], m.countries["PAK"]
    assert m.codes.index("PAK") < m.codes.index("AFG")  # PAK is decided first
    nb = [(m.countries[o], w) for o, w in m.neighbours["AFG"].items()]

    def p_up():
        return 1.0 - np.exp(-afg.stance_hazards(nb, policy, m.weeks)[0] * dt_years)

    before = p_up()
    pak.stance += 1
    after = p_up()
    pak.stance -= 1
    assert after > 1.5 * before  # PAK moving up would raise AFG's chance
    draws = np.full(len(m.codes), 0.999999)
    draws[m.codes.index("PAK")] = 0.0                  # PAK surely moves up
    draws[m.codes.index("AFG")] = (before + after) / 2  # AFG moves only if it saw that
    m.streams["countries"] = _Draws(draws)
    update_stances(m)
    assert pak.stance == 2
    assert afg.stance == 0
