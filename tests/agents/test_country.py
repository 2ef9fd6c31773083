"""Policy diffusion (agents/country.py) and the country network (model/country_network.py)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import MIN_HOUSEHOLDS, wide

from agents.country import update_stances
from model import build_model
from model.config import EdgeKindWeights, LevelWeights
from model.country_network import build_country_graph, neighbour_weights
from model.stance_hazard import Neighbour, covariate_features, features


@pytest.fixture
def m(small_model):
    return small_model


def setup_pair(m, own=1, other=1):
    """PAK with IND as its only neighbour, no signals, no recent moves."""
    pak, ind = m.countries["PAK"], m.countries["IND"]
    pak.stance, ind.stance = own, other
    pak.signals, pak.last_move_weeks, ind.last_move_weeks = [], {}, {}
    return pak, [(ind, 1.0)]


def hazards(m, country, neighbours, weeks=0.0, policy=None):
    return country.stance_hazards(neighbours, policy or m.config.policy, weeks)


def with_terms(policy, up=None, down=None, **fields):
    """The policy with some coefficients of the up/down hazards (and other fields) changed."""
    return policy.model_copy(update={"up": policy.up.model_copy(update=up or {}),
                                     "down": policy.down.model_copy(update=down or {}), **fields})


def test_the_hazards_are_the_fitted_form(m):
    """stance_hazards computes exactly model.stance_hazard's equation from the country's fields."""
    pak, nb = setup_pair(m, own=1, other=3)
    p = m.config.policy
    up, down, cause = hazards(m, pak, nb)
    x = features(1, [Neighbour(3, 1.0)], covariate_features(pak.inflation_pct, pak.gdp_per_capita_usd,
                                                              pak.remittances_pct_gdp, pak.internet_pct,
                                                              pak.population), p.max_diffusion_stance)
    b0, b = p.up.coefficients()
    assert up == pytest.approx(np.exp(b0 + sum(v * x[k] for k, v in b.items())))
    b0, b = p.down.coefficients()
    assert down == pytest.approx(np.exp(b0 + sum(v * x[k] for k, v in b.items())))
    assert up > 0 and down > 0 and "internet" in cause


def test_neighbours_pull_only_through_their_fitted_coefficient(m):
    fitted = m.config.policy
    pull = with_terms(fitted, up={"liberal_exposure": 3.0}, down={"restrictive_exposure": 3.0})
    ups, downs = [], []
    for other in (0, 1, 2, 3):
        pak, nb = setup_pair(m, own=1, other=other)
        ups.append(hazards(m, pak, nb, policy=pull)[0])
        downs.append(hazards(m, pak, nb, policy=pull)[1])
    assert ups[0] == ups[1] < ups[2] < ups[3]  # less or equally liberal neighbours exert no upward pull
    assert downs[0] > downs[1] == downs[2] == downs[3]
    pak, nb = setup_pair(m, own=1, other=4)  # above the cap pulls no harder than at it
    assert hazards(m, pak, nb, policy=pull)[0] == pytest.approx(ups[3])
    if fitted.up.liberal_exposure == 0:  # the shipped fit: neighbours' stances do not move the hazard
        assert hazards(m, *setup_pair(m, 1, 0))[0] == hazards(m, *setup_pair(m, 1, 3))[0]


def test_pull_is_an_edge_weighted_mean(m):
    policy = with_terms(m.config.policy, up={"liberal_exposure": 3.0})
    pak, ind, afg = m.countries["PAK"], m.countries["IND"], m.countries["AFG"]
    pak.stance, ind.stance, afg.stance = 1, 3, 1
    pak.signals = []
    heavy_liberal = hazards(m, pak, [(ind, 3.0), (afg, 1.0)], policy=policy)[0]
    light_liberal = hazards(m, pak, [(ind, 1.0), (afg, 3.0)], policy=policy)[0]
    assert heavy_liberal > light_liberal
    # Scaling all weights together changes nothing.
    assert hazards(m, pak, [(ind, 6.0), (afg, 2.0)], policy=policy)[0] == pytest.approx(heavy_liberal)


def test_a_neighbours_recent_move_counts_for_two_years(m):
    policy = with_terms(m.config.policy, up={"recent_up": 1.0})
    pak, nb = setup_pair(m, own=1, other=2)
    quiet = hazards(m, pak, nb, weeks=100.0, policy=policy)[0]
    nb[0][0].set_stance(3, weeks=100.0)
    nb[0][0].set_stance(2, weeks=100.0)  # up and back down: the up move is remembered
    assert hazards(m, pak, nb, weeks=150.0, policy=policy)[0] == pytest.approx(quiet * np.e)
    assert hazards(m, pak, nb, weeks=100.0 + 2.01 * 365.25 / 7, policy=policy)[0] == pytest.approx(quiet)
    assert nb[0][0].years_since("down", 100.0) == 0 and pak.years_since("up", 0.0) == np.inf


def test_adoption_resistance_and_imf_act_only_with_their_assumed_weights(m):
    pak, nb = setup_pair(m, own=1, other=1)
    pak.imf_programme, pak.resistance = True, 1.0
    base = hazards(m, pak, nb)
    pak.adoption_rate = 0.3
    assert hazards(m, pak, nb) == base  # off in the baseline (weights 0)
    on = with_terms(m.config.policy, adoption_weight=10.0, resistance_weight=1.0, imf_weight=0.5)
    up, down, _ = hazards(m, pak, nb, policy=on)
    assert up == pytest.approx(base[0] * np.exp(10.0 * 0.3 - 1.5))
    assert down == pytest.approx(base[1] * np.exp(1.5))


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


def test_a_move_lands_by_the_fitted_weights(m):
    """Given a move, the same uniform rescaled picks the level: the shares of a fine grid of
    draws below p_up match the landing probabilities."""
    policy = with_terms(m.config.policy, landing_up=LevelWeights(restricted=0.1, unclear=0.3, regulated=0.6))
    pak, nb = setup_pair(m, own=0, other=0)
    up = hazards(m, pak, nb, policy=policy)[0]
    dt_years = 7 / 365.25
    p_up = 1 - np.exp(-up * dt_years)
    landed = [pak.decide_stance(nb, policy, 0.0, dt_years, float(u))[0] for u in (np.arange(1000) + 0.5) / 1000 * p_up]
    shares = np.bincount(landed, minlength=4)[1:] / 1000
    assert shares == pytest.approx([0.1, 0.3, 0.6], abs=0.002)
    assert pak.decide_stance(nb, policy, 0.0, dt_years, float(p_up) * 1.001) is None  # at a ban: no move down


def test_diffusion_never_lifts_a_stance_above_the_cap(m):
    policy = with_terms(m.config.policy, up={"intercept": 14.0})
    pak, nb = setup_pair(m, own=policy.max_diffusion_stance, other=4)
    up, _, _ = hazards(m, pak, nb, policy=policy)
    assert up == 0.0
    for u in np.linspace(0.0, 0.999, 50):
        moved = pak.decide_stance(nb, policy, 0.0, 7 / 365.25, float(u))
        assert moved is None or moved[0] <= policy.max_diffusion_stance
    # A lower cap binds the same way, also for where a move lands.
    low = policy.model_copy(update={"max_diffusion_stance": 2})
    pak, nb = setup_pair(m, own=2, other=3)
    assert hazards(m, pak, nb, policy=low)[0] == 0.0
    pak, nb = setup_pair(m, own=0, other=3)
    assert {pak.decide_stance(nb, low, 0.0, 7 / 365.25, float(u))[0] for u in np.linspace(0, 0.99, 40)} <= {1, 2}


def test_diffusion_cap_holds_over_a_run_with_overwhelming_pressure():
    m = build_model(households=MIN_HOUSEHOLDS, overrides={
        "policy.up.intercept": 5.0, "policy.max_diffusion_stance": 2})
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
        "policy.up.intercept": 5.0, "policy.down.intercept": 5.0,
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
    policy = with_terms(m.config.policy, up={"intercept": 14.0})
    assert pak.decide_stance(nb, policy, 0.0, 7 / 365.25, 0.0) == (2, pytest.approx(pak.stance_hazards(
        nb, policy, 0.0)[2]))
    assert pak.stance == 1


def test_countries_decide_on_last_weeks_stances(m):
    """A neighbour's move in the same step must not change another country's decision."""
    m.config.policy = with_terms(m.config.policy, up={"liberal_exposure": 3.0})
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
    draws[m.codes.index("PAK")] = 0.0                  # PAK surely moves up (to the lowest level it can)
    draws[m.codes.index("AFG")] = (before + after) / 2  # AFG moves only if it saw that
    m.streams["countries"] = _Draws(draws)
    update_stances(m)
    assert pak.stance == 2 and pak.last_move_weeks == {"up": m.weeks}
    assert afg.stance == 0
