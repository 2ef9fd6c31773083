"""The stance hazard fitted to the global policy panel, stated once.

Both the fit (``experiments/validation/policy_fit.py``, on country-years of history) and the
model's countries (``agents/country.py``, each week) compute a country's features with
:func:`features` and its hazards with :func:`yearly_hazards`, so the equation the data
were fitted with is the one the model runs (docs/ODD.md 7.1).

**Hazards.** A country at stance ``s`` moves up at the yearly hazard
``h_up = exp(b0 + sum_k b_k x_k)`` and down at ``h_down`` of the same form with its own
coefficients. This is the complementary log-log form: while the features hold, the chance
of a move within ``t`` years is ``1 - exp(-h t)``, so the chance within a year (what the
panel's country-years record) and within a weekly step (what the model draws) are one
hazard. It is at risk of moving up below ``cap`` (``policy.max_diffusion_stance``) and of
moving down above 0.

**Where a move lands.** Given a move, the new stance is ``k`` with probability
``q_k / sum_j q_j`` over the levels it can reach (``s+1..cap`` up, ``0..s-1`` down), with one
weight ``q`` per level and direction (:func:`landing`). A jump from ban to regulated and a
step of one level are both this rule.

**Features** (every one of them a candidate of the fit; a term the fit did not keep has
coefficient 0):

- ``at_ban``, ``at_restricted`` (up), ``at_regulated`` (down; regulated or legal tender):
  the current stance, 1 or 0;
- ``liberal_exposure`` = ``sum_j w_j max(0, min(s_j, cap) - s) / cap / W`` and
  ``restrictive_exposure`` = ``sum_j w_j max(0, s - s_j) / cap / W``: how far more liberal
  (more restrictive) the neighbours are, weighted by edge (``W = sum_j w_j``; 0 with no
  neighbour);
- ``recent_up``, ``recent_down``: the weighted share of neighbours that moved up (down) in
  the last :data:`RECENT_YEARS` years;
- ``inflation`` = ``ln(1 + max(CPI inflation %, 0) / 100)``, ``log_income`` =
  ``ln(GDP per capita / 10,000 USD)``, ``remittances`` = remittances % of GDP / 100,
  ``internet`` = % of people online / 100, ``log_population`` = ``ln(population / 1e6)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

#: Stance levels 0 ban .. 4 legal tender.
LEVELS = 5
COVARIATES = ("inflation", "log_income", "remittances", "internet", "log_population")
UP_TERMS = ("at_ban", "at_restricted", "liberal_exposure", "recent_up") + COVARIATES
DOWN_TERMS = ("at_regulated", "restrictive_exposure", "recent_down") + COVARIATES
#: The features read from the neighbours (the others are the country's own).
NEIGHBOUR_TERMS = ("liberal_exposure", "restrictive_exposure", "recent_up", "recent_down")
#: A neighbour's move counts as recent for this many years: part of the definition of the
#: ``recent_*`` features (two yearly panel rows after the move).
RECENT_YEARS = 2.0
#: The log-hazard is capped here so that an extreme what-if cannot overflow exp().
MAX_LOG_HAZARD = 30.0


@dataclass(frozen=True)
class Neighbour:
    """What a country sees of one neighbour: its stance, the edge weight, and the years since
    its last move up and down (``inf`` when none is known)."""

    stance: int
    weight: float
    years_since_up: float = math.inf
    years_since_down: float = math.inf


def covariate_features(inflation_pct: float, gdp_per_capita_usd: float, remittances_pct_gdp: float,
                       internet_pct: float, population: float) -> dict[str, float]:
    """The domestic covariates as the hazard uses them (units in the module docstring)."""
    return {"inflation": math.log1p(max(inflation_pct, 0.0) / 100.0),
            "log_income": math.log(gdp_per_capita_usd / 10_000.0),
            "remittances": remittances_pct_gdp / 100.0,
            "internet": internet_pct / 100.0,
            "log_population": math.log(population / 1e6)}


def features(stance: int, neighbours: Sequence[Neighbour], covariates: Mapping[str, float],
             cap: int) -> dict[str, float]:
    """Every feature of a country (``covariates`` from :func:`covariate_features`)."""
    total = sum(n.weight for n in neighbours)
    lib = res = up = down = 0.0
    if total > 0 and cap > 0:
        for n in neighbours:
            share = n.weight / total
            lib += max(0, min(n.stance, cap) - stance) / cap * share
            res += max(0, stance - n.stance) / cap * share
            up += share * (n.years_since_up < RECENT_YEARS)
            down += share * (n.years_since_down < RECENT_YEARS)
    return {"at_ban": float(stance == 0), "at_restricted": float(stance == 1), "at_regulated": float(stance >= 3),
            "liberal_exposure": lib, "restrictive_exposure": res, "recent_up": up, "recent_down": down,
            **covariates}


def nonzero(terms: tuple[float, Mapping[str, float]]) -> tuple[float, dict[str, float]]:
    """(intercept, coefficients) without the terms whose coefficient is 0, in their order:
    the same :func:`log_hazard`, and says which features a hazard needs at all."""
    intercept, coefficients = terms
    return intercept, {k: b for k, b in coefficients.items() if b != 0.0}


def log_hazard(intercept: float, coefficients: Mapping[str, float], x: Mapping[str, float]) -> float:
    """``b0 + sum_k b_k x_k`` over the terms with a coefficient other than 0."""
    return intercept + sum(b * x[k] for k, b in coefficients.items() if b != 0.0)


def yearly_hazards(up: tuple[float, Mapping[str, float]], down: tuple[float, Mapping[str, float]],
                   x: Mapping[str, float], stance: int, cap: int, shift_up: float = 0.0,
                   shift_down: float = 0.0) -> tuple[float, float]:
    """Yearly hazards of moving up and down: ``up``/``down`` are (intercept, coefficients);
    ``shift_*`` are log-hazard terms outside the fit (the model's signals, docs/ODD.md 7.1)."""
    h_up = h_down = 0.0
    if stance < cap:
        h_up = math.exp(min(log_hazard(*up, x) + shift_up, MAX_LOG_HAZARD))
    if stance > 0:
        h_down = math.exp(min(log_hazard(*down, x) + shift_down, MAX_LOG_HAZARD))
    return h_up, h_down


def step_probability(rate_per_year: float, dt_years: float) -> float:
    """The chance of a move within ``dt_years`` at a constant yearly hazard."""
    return -math.expm1(-rate_per_year * dt_years)


def reachable(stance: int, direction: str, cap: int) -> range:
    """The levels a move from ``stance`` can land on."""
    return range(stance + 1, cap + 1) if direction == "up" else range(0, stance)


def landing(weights: Sequence[float], stance: int, direction: str, cap: int) -> dict[int, float]:
    """Where a move lands: level -> probability, ``weights`` one per level (0..4)."""
    levels = reachable(stance, direction, cap)
    total = sum(weights[k] for k in levels)
    if total <= 0:  # no weight on any level it can reach: the nearest one
        nearest = stance + 1 if direction == "up" else stance - 1
        return {nearest: 1.0}
    return {k: weights[k] / total for k in levels if weights[k] > 0}


def land(weights: Sequence[float], stance: int, direction: str, cap: int, u: float) -> int:
    """The level a move lands on for a uniform ``u`` in [0, 1) (inverse of :func:`landing`)."""
    acc = 0.0
    probs = landing(weights, stance, direction, cap)
    for level, p in probs.items():
        acc += p
        if u < acc:
            return level
    return list(probs)[-1]  # u within rounding of 1
