"""Building the household population of a model from its scenario: how many agents each
country gets, who is online, who receives remittances, who adopts at the start, and the
social ties (the rules they then follow are in ``agents/household.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from agents.household import HouseholdPopulation, block_rank, exact_share, online_counts
from model.memory import check_fits, expected_ties
from model.social_graph import build_social_graph
from model.units import PERCENT

if TYPE_CHECKING:
    from model.model import CryptoAdoptionModel


def share_households(total: int, floor: int, populations: np.ndarray) -> np.ndarray:
    """Household agents per country: ``floor`` each, the rest by population (largest remainder)."""
    k = len(populations)
    rest = total - floor * k
    if rest < 0:
        raise ValueError("households below floor x countries")
    exact = rest * populations / populations.sum()
    n = np.floor(exact).astype(np.int64)
    n[np.argsort(-(exact - n), kind="stable")[: rest - n.sum()]] += 1
    return n + floor


def build_households(model: CryptoAdoptionModel) -> HouseholdPopulation | None:
    """The starting household population of ``model`` (None when it has no household agents),
    drawn from the households' stream in this order: online ranks, receivers, adopters, ties."""
    cfg = model.config
    rng = model.streams["households"]
    codes = model.household_countries
    n_total = cfg.run.households if codes else 0
    if n_total == 0:
        return None
    pops = np.array([model.countries[c].population for c in codes])
    sizes = share_households(n_total, cfg.run.household_floor, pops)
    check_memory(model, sizes)
    # With run.household_floor = 0 a small country may get no agent: nothing simulates its
    # households, so it keeps its measured ownership (the run's starting value everywhere)
    # rather than a made-up 0, and its trading volume follows from that.
    for code in (c for c, k in zip(codes, sizes) if k == 0):
        model.log(code, "no_household_agents", None, None,
                  f"no household agent ({n_total:,} in all, run.household_floor = {cfg.run.household_floor}): "
                  f"adoption held at the measured ownership, {model.countries[code].ownership_pct:g}%")
    country = np.repeat(np.arange(len(codes), dtype=np.int16), sizes)
    h = cfg.households
    # Each country's households come online in a fixed random order, at the start and
    # whenever the share moves (the rule: docs/ODD.md 7.4, "Internet access over time").
    online_rank = block_rank(country, rng)
    internet = online_rank < online_counts([model.countries[c].internet_pct for c in codes], sizes)[country]
    receiver = exact_share(country, np.array([min(1.0, model.countries[c].remittances_pct_gdp / PERCENT
                                                  * h.remittance_receiver_scale) for c in codes]), rng)
    # Starting adopters: the measured ownership share, drawn among internet users.
    adopted = exact_share(country, np.array([model.countries[c].ownership_pct / PERCENT for c in codes]), rng,
                          eligible=internet)
    adj = build_social_graph(sizes, local_degree=h.graph.local_degree, random_degree=h.graph.random_degree,
                             pareto_shape=h.graph.pareto_shape, corridors=remittance_corridors(model),
                             cross_border_ties_per_household=h.graph.cross_border_ties_per_household, rng=rng)
    return HouseholdPopulation(
        model, sizes=sizes, country=country, adopted=adopted, internet=internet, online_rank=online_rank,
        receiver=receiver, adjacency=adj,
        persons=np.divide(pops, sizes, out=np.full(len(sizes), np.nan), where=sizes > 0),
        abandonment=np.full(n_total, h.abandonment_per_year),
        create_agents=n_total <= cfg.run.household_agents_max)


def check_memory(model: CryptoAdoptionModel, sizes: np.ndarray) -> None:
    """Refuse, before allocating, a household population that cannot fit in memory."""
    cfg = model.config
    g = cfg.households.graph
    ties = expected_ties(sizes, g.local_degree, g.random_degree, remittance_corridors(model),
                         g.cross_border_ties_per_household)
    check_fits(sizes, ties, int(sizes.sum()) <= cfg.run.household_agents_max, str(model.spec.file))


def remittance_corridors(model: CryptoAdoptionModel) -> list[tuple[int, int, float]]:
    """Remittance edges between two household countries, as (block a, block b, weight)."""
    index = {c: i for i, c in enumerate(model.household_countries)}
    return [(index[e.a], index[e.b], e.weight) for e in model.config.network.edges.values()
            if e.kind == "remittance" and e.a in index and e.b in index]
