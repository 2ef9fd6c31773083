"""Household: adoption of crypto through social ties, vectorised over the population.

State lives in the arrays of :class:`HouseholdPopulation` (one entry per household agent,
``model.households``), which also holds the households' rules for the week; the rule,
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

import zlib

import mesa
import numpy as np
import scipy.sparse as sp

from model.units import PERCENT

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


def online_counts(internet_pct: list[float], sizes: np.ndarray) -> np.ndarray:
    """Household agents online per household country today: round(share online x n_c)."""
    shares = np.array([pct / PERCENT for pct in internet_pct])
    return np.rint(shares * sizes).astype(np.int64)


def _entry(array: str, cast: type, doc: str) -> property:
    """A read-only property of a household view: its entry of the population's ``array``."""
    return property(lambda self: cast(getattr(self._arrays, array)[self.index]), doc=doc)


class Household(mesa.Agent):
    """A view of household ``index``: reads the model's household arrays, holds no state."""

    def __init__(self, model: mesa.Model, index: int):
        super().__init__(model)
        self.index = index

    @property
    def _arrays(self) -> HouseholdPopulation:
        return self.model.households

    @property
    def country(self) -> str:
        return self.model.household_countries[int(self._arrays.country[self.index])]

    # Each of these reads its own entry of one array of the population.
    adopted = _entry("adopted", bool, "Whether it holds crypto now.")
    internet = _entry("internet", bool, "Whether it is online now.")
    receives_remittances = _entry("receiver", bool, "Whether it receives remittances from abroad.")
    abandonment_per_year = _entry("abandonment", float,
                                  "Its abandonment hazard (the households' rate unless an incentive recruited it).")
    propensity = _entry("propensity", float,
                        "Multiplier of its adoption hazard (1 unless it stopped after an incentive).")

    @property
    def persons(self) -> float:
        """The people it stands for (its country's population / its country's agents)."""
        return float(self._arrays.persons[self._arrays.country[self.index]])

    @property
    def ties(self) -> np.ndarray:
        adj = self._arrays.adjacency
        return adj.indices[adj.indptr[self.index]:adj.indptr[self.index + 1]]


class HouseholdPopulation:
    """All household agents: their state as arrays (index ``i`` is household agent ``i``,
    in contiguous blocks by country) and their rules, each a pass over the arrays.

    The model builds the starting arrays (``CryptoAdoptionModel.build_households``); each
    step the population follows the countries' internet shares (:meth:`follow_internet`)
    and updates adoption (:meth:`step`); an ``adoption_incentive`` shock recruits adopters
    (:meth:`recruit`). A country given no agent (``run.household_floor = 0``) keeps its
    measured ownership as its adoption rate.
    """

    def __init__(self, model: mesa.Model, *, sizes: np.ndarray, country: np.ndarray, adopted: np.ndarray,
                 internet: np.ndarray, online_rank: np.ndarray, receiver: np.ndarray, adjacency: sp.csr_matrix,
                 persons: np.ndarray, abandonment: np.ndarray, create_agents: bool):
        self.model = model
        self.codes: list[str] = list(model.household_countries)
        self.sizes = sizes  # household agents per country block
        self.starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        self.blocks = [slice(a, a + n) for a, n in zip(self.starts, sizes)]
        self.country = country          # int16, index into the household countries
        self.adopted = adopted          # bool
        self.internet = internet        # bool, online now
        self.internet_f = internet.astype(np.float32)  # the same as float32, for the rule
        self.online_rank = online_rank  # int64, 0..n_c-1: order in which its country's households come online
        self.receiver = receiver        # bool, receives remittances
        self.innovation = np.empty(len(adopted), dtype=np.float32)  # p_i per year (0 without internet)
        self.adjacency = adjacency      # symmetric social ties
        self.degree = np.maximum(np.diff(adjacency.indptr), 1).astype(np.float32)  # ties (>= 1 to divide by)
        self.persons = persons          # float64 per country: people one household agent stands for
        # Only adoption_incentive shocks change these three from the rule's values:
        self.abandonment = abandonment  # float64 a_i per year
        self.propensity = np.ones(len(adopted), dtype=np.float32)  # multiplier of the adoption hazard
        self.readoption = np.ones(len(adopted), dtype=np.float32)  # propensity taken when it next stops
        h = model.config.households
        self.stance_multiplier = np.array(h.stance_multiplier.as_tuple())
        # A country without agents keeps its measured ownership (see the class docstring).
        self.measured_ownership = np.array([model.countries[c].ownership_pct / PERCENT for c in self.codes])
        self.agents_created = create_agents  # one Mesa agent per household, or views made on demand
        self.views: dict[int, Household] = {}
        for b in range(len(self.codes)):
            self.set_innovation(b)
        if create_agents:
            for i in range(len(adopted)):
                Household(model, i)
        self.set_adoption()

    @property
    def n(self) -> int:
        return len(self.adopted)

    def agent(self, index: int) -> Household:
        """The Mesa agent of household ``index`` (made on demand when not all were created)."""
        if self.agents_created:
            return self.model.agents_by_type[Household][index]
        if index not in self.views:
            self.views[index] = Household(self.model, index)
        return self.views[index]

    def online_counts(self) -> np.ndarray:
        return online_counts([self.model.countries[c].internet_pct for c in self.codes], self.sizes)

    def set_innovation(self, b: int) -> None:
        """``p_i`` of household country ``b``'s agents, from their own access and remittances
        and the country's covariates today (:func:`innovation_rates`, the module docstring)."""
        h = self.model.config.households
        c, part = self.model.countries[self.codes[b]], self.blocks[b]
        self.innovation[part] = innovation_rates(h.innovation_per_year, h.inflation_weight, h.remittance_weight,
                                                 h.income_weight, h.internet_weight,
                                                 max(c.inflation_pct, 0.0) / PERCENT, self.receiver[part],
                                                 c.gdp_per_capita_usd, c.internet_pct / PERCENT, self.internet[part])

    def follow_internet(self, moved: set[str]) -> None:
        """Where a country's share online moved, its households online follow it in their
        fixed order (``online_rank``, :func:`online_counts`; the rule: docs/ODD.md 7.4) and
        the country's ``p_i`` is recomputed: one slice per country, no household loop."""
        if not moved:
            return
        wanted = self.online_counts()
        for b, code in enumerate(self.codes):
            if code in moved:
                part = self.blocks[b]
                self.internet[part] = self.online_rank[part] < wanted[b]
                self.internet_f[part] = self.internet[part]
                self.set_innovation(b)

    def counts(self, mask: np.ndarray) -> np.ndarray:
        """Households of each country block where ``mask`` holds (blocks are contiguous: one
        pass of reduceat; bincount where a block is empty, as reduceat cannot say so)."""
        if self.sizes.min() > 0:
            return np.add.reduceat(mask.view(np.int8), self.starts, dtype=np.int64)
        return np.bincount(self.country[mask], minlength=len(self.codes))

    def set_adoption(self) -> None:
        """Each household country's adoption rate: the share of its agents adopting."""
        sizes = self.sizes
        if sizes.min() > 0:
            rates = self.counts(self.adopted) / sizes
        else:  # a country without agents keeps its measured ownership
            rates = np.where(sizes > 0, adoption_by_block(self.country, self.adopted, len(self.codes)),
                             self.measured_ownership)
        for code, r in zip(self.codes, rates):
            self.model.countries[code].adoption_rate = float(r)

    def step(self) -> None:
        """Every household adopts or abandons (:func:`adoption_step`, one draw each from the
        households' stream); recruits of an incentive who stop take their readoption factor."""
        model = self.model
        u = model.streams["households"].random(self.n, dtype=np.float32)
        h = model.config.households
        mult_c = np.array([self.stance_multiplier[model.countries[c].stance]
                           * (1.0 if model.countries[c].exchange_access else h.no_exchange_access_factor)
                           for c in self.codes], dtype=np.float32)
        was = self.adopted
        self.adopted = adoption_step(self.adopted, self.adjacency, self.degree, self.innovation, self.internet_f,
                                     mult_c[self.country] * self.propensity, h.imitation_per_year, self.abandonment,
                                     model.dt_years, u)
        stopped = was & ~self.adopted  # an incentive's rates end when its recruit first stops
        self.abandonment[stopped] = h.abandonment_per_year
        self.propensity[stopped] = self.readoption[stopped]
        self.set_adoption()

    def recruit(self, sid: str, shock, cause: str) -> None:
        """An ``adoption_incentive``: a share of the country's internet households not
        adopting adopt at once (drawn from a generator of the seed and the shock's id, so
        no stream's draws move)."""
        model = self.model
        c = model.countries[shock.country]
        if shock.country not in self.codes or self.sizes[self.codes.index(shock.country)] == 0:
            model.log(c.code, "adoption_incentive", None, None, f"{cause} (no household agents: no effect)")
            return
        block = self.country == self.codes.index(shock.country)
        u = np.random.default_rng([model.seed, zlib.crc32(sid.encode())]).random(self.n)
        chosen = incentive_recruits(block & self.internet & ~self.adopted, shock.share, u)
        before = c.adoption_rate
        self.adopted[chosen] = True
        if shock.abandonment_per_year is not None:
            self.abandonment[chosen] = shock.abandonment_per_year
        self.readoption[chosen] = shock.readoption_factor
        self.set_adoption()
        model.log(c.code, "adoption_incentive", round(before, 4), round(c.adoption_rate, 4),
                  f"{cause} ({len(chosen)} household agents recruited)")

    def adopting_receivers(self) -> dict[str, float]:
        """Share of each household country's remittance receivers adopting (a country
        without agents: its measured ownership, as its people adopt)."""
        n_blocks = len(self.codes)
        receivers = self.counts(self.receiver).astype(float)
        adopting = self.counts(self.receiver & self.adopted).astype(float)
        share = dict(zip(self.codes, np.divide(adopting, receivers, out=np.zeros(n_blocks), where=receivers > 0)))
        for code, size in zip(self.codes, self.sizes):
            if size == 0:
                share[code] = self.model.countries[code].adoption_rate
        return share
