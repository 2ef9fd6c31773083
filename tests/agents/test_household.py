"""Households: the vectorised adoption rule (agents/household.py), the social graph
(model/social_graph.py) and the split of household agents among countries."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from conftest import MIN_HOUSEHOLDS

from agents.household import adoption_by_block, adoption_step, exact_share
from model import build_model
from model.population import share_households
from model.social_graph import build_social_graph

DT = 7 / 365.25


def graph(sizes, corridors=(), local_degree=6, random_degree=4.0, pareto_shape=2.5, ties=0.5, seed=0):
    return build_social_graph(np.asarray(sizes), local_degree=local_degree, random_degree=random_degree,
                              pareto_shape=pareto_shape, corridors=list(corridors),
                              cross_border_ties_per_household=ties, rng=np.random.default_rng(seed))


def degree_of(adj):
    return np.maximum(np.diff(adj.indptr), 1).astype(np.float32)


# ------------------------------------------------------------------ adoption rule
def ego_network(n_egos, k):
    """Egos 0..n_egos-1, each tied to k alters of its own (no other ties)."""
    rows, cols = [], []
    for e in range(n_egos):
        for j in range(k):
            a = n_egos + e * k + j
            rows += [e, a]
            cols += [a, e]
    n = n_egos * (k + 1)
    return sp.csr_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n, n))


def test_adoption_probability_rises_with_adopting_neighbours():
    n_egos, k = 4000, 4
    adj = ego_network(n_egos, k)
    n = adj.shape[0]
    p, q, mult = 0.5, 5.0, 1.0
    innovation = np.full(n, p, dtype=np.float32)
    internet = np.ones(n, dtype=np.float32)
    multiplier = np.full(n, mult, dtype=np.float32)
    u = np.random.default_rng(3).random(n)
    results = {}
    for adopting_alters in (0, 2, 4):
        adopted = np.zeros(n, dtype=bool)
        alters = n_egos + np.arange(n_egos)[:, None] * k + np.arange(adopting_alters)[None, :]
        adopted[alters.ravel()] = True
        new = adoption_step(adopted, adj, degree_of(adj), innovation, internet, multiplier, q, 0.0, DT, u)
        results[adopting_alters] = new[:n_egos]
    # Same draws: more adopting neighbours can only add adopters (a monotone coupling).
    assert np.all(results[2] >= results[0]) and np.all(results[4] >= results[2])
    rates = {a: r.mean() for a, r in results.items()}
    assert rates[0] < rates[2] < rates[4]
    for a, rate in rates.items():
        expected = 1 - math.exp(-(p + q * a / k) * mult * DT)
        assert rate == pytest.approx(expected, abs=4 * math.sqrt(expected / n_egos))


def reference_step(adopted, adj, innovation, internet, multiplier, q, abandon, dt_years, u):
    """Plain per-household loop written from the docstring of agents/household.py."""
    out = np.zeros(len(adopted), dtype=bool)
    p_abandon = 1.0 - math.exp(-abandon * dt_years)
    for i in range(len(adopted)):
        ties = adj.indices[adj.indptr[i]:adj.indptr[i + 1]]
        share = sum(bool(adopted[j]) for j in ties) / max(len(ties), 1)
        if adopted[i]:
            out[i] = not (u[i] < p_abandon)
        else:
            hazard = (float(innovation[i]) + q * share * float(internet[i])) * float(multiplier[i])
            out[i] = u[i] < 1.0 - math.exp(-hazard * dt_years)
    return out


def test_vectorised_step_equals_a_per_household_loop():
    rng = np.random.default_rng(11)
    adj = graph([150, 100, 60, 3], corridors=[(0, 1, 0.4), (1, 2, 1.0)], seed=5)
    n = adj.shape[0]
    internet = rng.random(n) < 0.7
    innovation = (rng.uniform(0.5, 3.0, n) * internet).astype(np.float32)
    multiplier = rng.choice([0.3, 0.85, 1.0, 1.1], n).astype(np.float32)
    adopted = internet & (rng.random(n) < 0.4)
    q, abandon = 6.0, 4.0  # large rates so that every branch is taken in one step
    for step in range(5):
        u = rng.random(n)
        fast = adoption_step(adopted, adj, degree_of(adj), innovation, internet.astype(np.float32),
                             multiplier, q, abandon, DT * 4, u)
        slow = reference_step(adopted, adj, innovation, internet, multiplier, q, abandon, DT * 4, u)
        np.testing.assert_array_equal(fast, slow)
        # The step really exercised adoption and abandonment.
        assert (fast & ~adopted).any() and (~fast & adopted).any()
        adopted = fast


def test_households_without_internet_never_adopt():
    m = build_model(households=MIN_HOUSEHOLDS, overrides={
        "households.innovation_per_year": 5.0, "households.imitation_per_year": 20.0,
        "households.abandonment_per_year": 0.0})
    hh = m.households
    offline = ~hh.internet
    assert offline.sum() > 100
    assert np.all(hh.innovation[offline] == 0)
    assert not hh.adopted[offline].any()
    # Every offline household has online, adopting neighbours by the end: a real test.
    for _ in range(52):
        m.step()
        assert not m.households.adopted[offline].any()
    assert m.households.adopted[hh.internet].mean() > 0.9
    share = (hh.adjacency @ m.households.adopted.astype(float)) / hh.degree
    assert share[offline].max() > 0.5


def test_adoption_by_block_is_the_share_per_block():
    country = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2], dtype=np.int16)
    adopted = np.array([1, 0, 1, 0, 0, 1, 1, 1, 0], dtype=bool)
    np.testing.assert_allclose(adoption_by_block(country, adopted, 4), [2 / 3, 0.0, 0.75, 0.0])


def test_exact_share_marks_the_rounded_share_of_each_block():
    rng = np.random.default_rng(0)
    block = np.repeat(np.arange(4), [200, 333, 7, 1000])
    share = np.array([0.066, 0.5, 0.3, 0.0])
    marked = exact_share(block, share, rng)
    counts = np.bincount(block, weights=marked, minlength=4)
    np.testing.assert_array_equal(counts, np.rint(share * np.bincount(block)))
    # Among eligible households only; all of them when they are too few.
    eligible = rng.random(len(block)) < 0.5
    eligible[block == 2] = [True, False, False, False, False, False, False]
    marked = exact_share(block, np.array([0.2, 0.4, 0.5, 0.1]), rng, eligible=eligible)
    assert not marked[~eligible].any()
    counts = np.bincount(block, weights=marked, minlength=4)
    assert counts[0] == 40 and counts[1] == round(0.4 * 333) and counts[3] == 100
    assert counts[2] == 1  # wanted 4 (rint 3.5), only one eligible
    # Different draws mark different households.
    again = exact_share(block, np.array([0.2, 0.4, 0.5, 0.1]), rng, eligible=eligible)
    assert not np.array_equal(marked, again)


def test_starting_shares_match_the_data_in_every_country(small_model):
    m, hh = small_model, small_model.households
    for i, code in enumerate(m.household_countries):
        c, mine = m.countries[code], hh.country == i
        n = mine.sum()
        assert hh.internet[mine].sum() == round(c.internet_pct / 100 * n), code
        assert abs(c.adoption_rate - c.ownership_pct / 100) <= 0.5 / n + 1e-12, code
        assert not (hh.adopted & ~hh.internet).any()


# ------------------------------------------------------------------ social graph
@pytest.fixture(scope="module")
def big_graph():
    sizes = np.array([1600, 1000, 400, 5])
    corridors = [(0, 1, 0.5), (1, 2, 0.2)]
    return sizes, corridors, graph(sizes, corridors=corridors, seed=1)


def test_graph_is_symmetric_binary_without_self_loops(big_graph):
    sizes, _, adj = big_graph
    assert adj.shape == (sizes.sum(), sizes.sum())
    assert (adj != adj.T).nnz == 0
    assert np.all(adj.diagonal() == 0)
    assert set(np.unique(adj.data)) == {1}


def test_every_household_in_a_large_block_has_its_local_ties(big_graph):
    sizes, _, adj = big_graph
    block = np.repeat(np.arange(len(sizes)), sizes)
    deg = np.diff(adj.indptr)
    large = sizes[block] > 6
    assert np.all(deg[large] >= 6)
    # The tiny block (5 households) is a complete ring: 4 local ties each.
    assert np.all(deg[block == 3] >= 4)


@pytest.mark.parametrize("k", [0, 1, 4, 5, 6, 7])
def test_local_ring_gives_local_degree_rounded_down_to_even(k):
    # docs/SCENARIOS.md: local_degree // 2 ties on each side; an odd value rounds down.
    adj = graph([300, 300], local_degree=k, random_degree=0.0, ties=0.0)
    deg = np.diff(adj.indptr)
    assert np.all(deg == 2 * (k // 2))


def test_graph_is_clustered_and_heavy_tailed(big_graph):
    sizes, _, adj = big_graph
    g = nx.from_scipy_sparse_array(adj)
    n, m = g.number_of_nodes(), g.number_of_edges()
    ours = nx.average_clustering(g)
    er = nx.average_clustering(nx.gnm_random_graph(n, m, seed=1))
    assert ours > 20 * max(er, 1e-3)
    assert ours > 0.2
    deg = np.diff(adj.indptr)
    assert deg.max() > 8 * deg.mean()
    # Without long ties the tail disappears.
    plain = graph(sizes, random_degree=0.0, ties=0.0)
    assert np.diff(plain.indptr).max() <= 6


def test_cross_border_ties_follow_corridors_only(big_graph):
    sizes, corridors, adj = big_graph
    block = np.repeat(np.arange(len(sizes)), sizes)
    coo = adj.tocoo()
    cross = block[coo.row] != block[coo.col]
    pairs = {tuple(sorted(p)) for p in zip(block[coo.row][cross], block[coo.col][cross])}
    allowed = {tuple(sorted((a, b))) for a, b, _ in corridors}
    assert pairs == allowed
    # Tie counts scale with the corridor: ties x weight x min(n_a, n_b), give or take
    # the few duplicates removed.
    n01 = np.sum((block[coo.row] == 0) & (block[coo.col] == 1))
    assert 0.9 * 0.5 * 0.5 * 1000 <= n01 <= 0.5 * 0.5 * 1000
    none = graph(sizes, corridors=[], seed=1)
    c2 = none.tocoo()
    assert np.all(block[c2.row] == block[c2.col])


# ------------------------------------------------------------------ sizes
@pytest.mark.parametrize("total, floor", [(1800, 200), (2000, 200), (20_000, 200), (12_345, 7), (9, 1)])
def test_share_households_sums_to_total_and_respects_floor(total, floor):
    pops = np.array([251.27, 1450.94, 173.56, 21.92, 42.65, 29.65, 0.79, 0.53, 6.34])
    n = share_households(total, floor, pops)
    assert n.sum() == total
    assert np.all(n >= floor)
    rest = total - floor * len(pops)
    exact = rest * pops / pops.sum()
    assert np.all(np.abs((n - floor) - exact) < 1.0)  # largest remainder: off by less than one
    assert n[1] == n.max()


def test_share_households_rejects_totals_below_the_floor():
    with pytest.raises(ValueError):
        share_households(1799, 200, np.ones(9))


def test_model_household_counts_match_share_households(small_model):
    m = small_model
    counts = np.bincount(m.households.country, minlength=len(m.household_countries))
    pops = np.array([m.countries[c].population for c in m.household_countries])
    np.testing.assert_array_equal(counts, share_households(MIN_HOUSEHOLDS, 200, pops))
    assert counts.sum() == MIN_HOUSEHOLDS and counts.min() == 200
    # The Mesa household agents are views of those arrays.
    h = m.household(5)
    assert h.country == m.household_countries[int(m.households.country[5])]
    assert h.adopted == bool(m.households.adopted[5])
    assert set(h.ties) == set(m.households.adjacency[5].indices)
    hh = m.households
    for i in (0, 5, MIN_HOUSEHOLDS - 1):  # every view property reads its own entry, typed
        v = m.household(i)
        assert (v.adopted, v.internet, v.receives_remittances) == (bool(hh.adopted[i]), bool(hh.internet[i]),
                                                                 bool(hh.receiver[i]))
        assert (v.abandonment_per_year, v.propensity) == (float(hh.abandonment[i]), float(hh.propensity[i]))
        assert v.persons == float(hh.persons[hh.country[i]])
        assert type(v.adopted) is bool and type(v.propensity) is float


def test_on_demand_household_views_do_not_accumulate():
    m = build_model(households=MIN_HOUSEHOLDS, overrides={"run.household_agents_max": 100})
    assert not m.households.agents_created
    before = len(m.agents)
    a, b = m.household(5), m.household(5)
    assert a.index == b.index == 5 and a.adopted == bool(m.households.adopted[5])
    assert len(m.agents) <= before + 1


def test_block_counts_equal_bincount_whatever_the_path():
    """HouseholdArrays.counts (reduceat over contiguous blocks) counts as bincount does, and
    so does its bincount path for a population with an empty block."""
    hh = build_model(households=MIN_HOUSEHOLDS, seed=3).households
    mask = np.random.default_rng(0).random(hh.n) < 0.3
    expected = np.bincount(hh.country[mask], minlength=len(hh.codes))
    assert hh.counts(mask).tolist() == expected.tolist()
    hh.sizes = hh.sizes.copy()
    hh.sizes[0] = 0  # as if a block had no agents: the bincount path
    assert hh.counts(mask).tolist() == expected.tolist()
