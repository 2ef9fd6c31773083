"""Household: adoption of crypto through social ties, vectorised over the population.

State lives in arrays (one entry per household agent) from the start; the rule,
:func:`adoption_step`, is a function from arrays to arrays with no Python loop over
households, so a million households step in milliseconds. :class:`Household` is the Mesa
face of one entry: a light view that reads the arrays, so ``model.agents_by_type``
and agent reporters keep working.

Each household agent stands for ``persons`` people (its country's population over the
number of household agents there). Per year, a non-adopter adopts with hazard

    (p_i + q x f_i) x m_c x propensity_i,
    p_i = p x exp(w_infl x inflation_c + w_remit x receiver_i
                  + w_income x ln(gdp_pc_c / 10,000 USD) + w_internet x internet_share_c)

where ``f_i`` is the adopting share of its ties (Bass imitation over the social graph),
``inflation_c`` a fraction per year (deflation counts as 0), ``receiver_i`` whether it
receives remittances, ``gdp_pc_c`` its country's GDP per capita, ``internet_share_c`` the
share of its country online (0-1), and ``m_c`` the country's multiplier for its stance
times ``no_exchange_access_factor`` when no licensed exchange serves it. Households
without internet access never adopt; where the country's share online follows a dated
path, households come online (or go offline) in a fixed random order drawn at the start
(``online_rank``), so the online set grows with the share and nobody is redrawn.
Adopters abandon with hazard ``a_i``: the households' ``abandonment_per_year``, except
for adopters recruited by an ``adoption_incentive`` shock with its own rate, who keep
that rate until they first stop; from then on their adoption hazard is multiplied by the
shock's ``readoption_factor`` (their ``propensity``; 1 for everyone else). A step's
probability is ``1 - exp(-hazard x dt)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import mesa
import numpy as np
import scipy.sparse as sp


@dataclass
class HouseholdArrays:
    """Per-household state and attributes; index ``i`` is household agent ``i``."""

    country: np.ndarray      # int16, index into the model's household countries
    adopted: np.ndarray      # bool
    internet: np.ndarray     # bool, online now
    online_rank: np.ndarray  # int64, 0..n_c-1: order in which its country's households come online
    receiver: np.ndarray     # bool, receives remittances
    innovation: np.ndarray   # float32, p_i per year (0 without internet)
    adjacency: sp.csr_matrix  # symmetric social ties
    degree: np.ndarray       # float32, number of ties (>= 1 to divide by)
    persons: np.ndarray      # float64 per country: people one household agent stands for
    # Filled at the rule's values by the model; only adoption_incentive shocks change them:
    abandonment: np.ndarray | None = None  # float64 a_i per year
    propensity: np.ndarray | None = None   # float32 multiplier of the adoption hazard (1 unless changed)
    readoption: np.ndarray | None = None   # float32 propensity a household takes when it next stops

    @property
    def n(self) -> int:
        return len(self.adopted)


INCOME_REFERENCE_USD = 10_000.0  # GDP per capita at which the income term is 0 (a unit choice)


def innovation_rates(innovation_per_year: float, inflation_weight: float, remittance_weight: float,
                     income_weight: float, internet_weight: float, inflation: float | np.ndarray,
                     receiver: np.ndarray, gdp_per_capita_usd: float | np.ndarray,
                     internet_share: float | np.ndarray, internet: np.ndarray) -> np.ndarray:
    """``p_i`` per household (float32, 0 without internet); arguments are per household, or
    one value for all of them (the model passes a country's covariates as one value).

    ``inflation`` is a fraction per year (negative values count as 0), ``internet_share``
    the country's share online (0-1), ``internet`` the household's own access.
    """
    log_mult = (inflation_weight * np.maximum(inflation, 0.0) + remittance_weight * receiver
                + income_weight * np.log(gdp_per_capita_usd / INCOME_REFERENCE_USD)
                + internet_weight * internet_share)
    return (innovation_per_year * np.exp(log_mult) * internet).astype(np.float32)


def incentive_recruits(eligible: np.ndarray, share: float, u: np.ndarray) -> np.ndarray:
    """Indices of exactly ``round(share x eligible.sum())`` eligible households: those with
    the smallest draws ``u`` (one per household), so the choice is uniform at random."""
    idx = np.flatnonzero(eligible)
    k = int(np.rint(share * len(idx)))
    return idx[np.argsort(u[idx], kind="stable")[:k]]


def adoption_step(adopted: np.ndarray, adjacency: sp.csr_matrix, degree: np.ndarray,
                  innovation: np.ndarray, internet: np.ndarray, multiplier: np.ndarray,
                  imitation_per_year: float, abandonment_per_year: float | np.ndarray, dt_years: float,
                  u: np.ndarray) -> np.ndarray:
    """One synchronous update of every household; returns the new ``adopted``.

    Args:
        multiplier: per-household hazard multiplier (country stance and access).
        abandonment_per_year: one rate for all, or one per household.
        u: one uniform draw per household (the same draw decides adoption for
           non-adopters and abandonment for adopters).
    """
    share = (adjacency @ adopted.astype(np.float32)) / degree
    hazard = (innovation + imitation_per_year * share * internet) * multiplier
    p_adopt = -np.expm1(-hazard * dt_years)
    p_abandon = -np.expm1(-abandonment_per_year * dt_years)
    return np.where(adopted, u >= p_abandon, u < p_adopt)


def block_rank(block: np.ndarray, rng: np.random.Generator, eligible: np.ndarray | None = None) -> np.ndarray:
    """A random order of the households within each block: rank 0..n_b-1, eligible ones first.

    One uniform per household whatever the shares later asked of it, so "rank below k" marks
    k households at random, and raising k only adds households (the online set grows with
    the share without redrawing anyone).
    """
    sizes = np.bincount(block)
    keys = rng.random(len(block))
    if eligible is not None:
        keys[~eligible] = 2.0  # sorts after every eligible household
    order = np.lexsort((keys, block))
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    rank = np.empty(len(block), dtype=np.int64)
    rank[order] = np.arange(len(block)) - starts[block[order]]
    return rank


def exact_share(block: np.ndarray, share: np.ndarray, rng: np.random.Generator,
                eligible: np.ndarray | None = None) -> np.ndarray:
    """Mark exactly ``round(share[b] x n_b)`` households of each block ``b``, drawn at
    random among the eligible ones (all of them if there are fewer).

    Starting states drawn this way match the data exactly even in a country with a few
    hundred household agents, where independent draws would be off by whole points.
    """
    rank = block_rank(block, rng, eligible)
    wanted = np.rint(np.asarray(share) * np.bincount(block, minlength=len(share))).astype(np.int64)
    marked = rank < wanted[block]
    return marked & eligible if eligible is not None else marked


def adoption_by_block(country: np.ndarray, adopted: np.ndarray, n_blocks: int) -> np.ndarray:
    """Share of household agents adopting, per country block."""
    counts = np.bincount(country, minlength=n_blocks)
    hits = np.bincount(country, weights=adopted, minlength=n_blocks)
    return np.divide(hits, counts, out=np.zeros(n_blocks), where=counts > 0)


class Household(mesa.Agent):
    """A view of household ``index``: reads the model's household arrays, holds no state."""

    def __init__(self, model: mesa.Model, index: int):
        super().__init__(model)
        self.index = index

    @property
    def _arrays(self) -> HouseholdArrays:
        return self.model.households

    @property
    def country(self) -> str:
        return self.model.household_countries[int(self._arrays.country[self.index])]

    @property
    def adopted(self) -> bool:
        return bool(self._arrays.adopted[self.index])

    @property
    def internet(self) -> bool:
        return bool(self._arrays.internet[self.index])

    @property
    def receives_remittances(self) -> bool:
        return bool(self._arrays.receiver[self.index])

    @property
    def persons(self) -> float:
        return float(self._arrays.persons[self._arrays.country[self.index]])

    @property
    def abandonment_per_year(self) -> float:
        """Its abandonment hazard (the households' rate unless an incentive recruited it)."""
        return float(self._arrays.abandonment[self.index])

    @property
    def propensity(self) -> float:
        """Multiplier of its adoption hazard (1 unless it stopped after an incentive)."""
        return float(self._arrays.propensity[self.index])

    @property
    def ties(self) -> np.ndarray:
        adj = self._arrays.adjacency
        return adj.indices[adj.indptr[self.index]:adj.indptr[self.index + 1]]
