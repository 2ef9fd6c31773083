"""Typed, checked scenario configuration.

The TOML file is unwrapped (see ``model.scenario``) into plain values and validated here.
Every model is ``extra="forbid"``, so a misspelt key is an error that names its path.
Units are in the field names: ``_usd``, ``_mw``, ``_ehs`` (EH/s), ``_j_per_th``,
``_per_year`` (a rate per year), ``_pct`` (percent, 0-100), ``_weeks``.
Field documentation lives in ``docs/SCENARIOS.md``.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, ClassVar, Literal, Union

import numpy as np
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationInfo,
    field_validator,
    model_validator,
)

Iso3 = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
Prob = Annotated[float, Field(ge=0.0, le=1.0)]
NonNeg = Annotated[float, Field(ge=0.0)]
Pos = Annotated[float, Field(gt=0.0)]
Stance = Annotated[int, Field(ge=0, le=4)]
Pct = Annotated[float, Field(ge=0.0, le=100.0)]


def _year(key: str) -> str:
    if not re.fullmatch(r"(19|20)[0-9]{2}", key):
        raise ValueError("must be a year, four digits (e.g. 2015)")
    return key


Year = Annotated[str, AfterValidator(_year)]  # a TOML key; four digits, so no two keys name one year


def _draw(value: Any) -> int | str | None:
    if value is None or value == "seed" or (type(value) is int and value >= 0):
        return value
    raise ValueError('must be a whole number >= 0 (draw k of the fit) or "seed" (the run\'s own draw)')


#: Parameter uncertainty of a fitted block (policy, volume, mining, households, nowcast): absent runs the
#: fit's values; k runs draw k from the fit's covariance (the same in every run); "seed" the run's own draw
#: (its own stream), so each replicate of a sweep has its own and paired arms share it. The
#: model applies it (model.model, ``drawn``); the block's ``drawn(rng)`` makes the draw.
Draw = Annotated[int | str | None, PlainValidator(_draw)]

# A date, validated lax in a strict schema (an ISO string from a Python caller is a date).
Date = Annotated[dt.date, Field(strict=False)]

STANCE_NAMES = ("ban", "restricted", "unclear", "regulated", "legal_tender")
#: The stance hazard's covariates (model/stance_hazard.py) and the country fields they come from.
COVARIATE_FIELDS = {"inflation": "inflation_pct", "log_income": "gdp_per_capita_usd",
                    "remittances": "remittances_pct_gdp", "internet": "internet_pct",
                    "log_population": "population_millions"}


class Strict(BaseModel):
    """The base of every table of the schema.

    * ``extra="forbid"``: a misspelt key is an error naming its path.
    * ``strict=True``: a number is a number: ``true`` is not 1, ``"0.1"`` is not 0.1, and an
      int field takes no 3.0 (a whole-number field written with a decimal point is a typo
      worth reporting). An int is still a valid float (``price = 100`` is fine), and a bool
      field takes only ``true``/``false``. Dates (:data:`Date`) stay lax, so a Python caller
      may pass ``"2025-09-01"``; TOML and ``--set`` give real dates anyway.
    * ``allow_inf_nan=False``: every float of the schema, including those inside tables,
      lists and tuples, is finite (``nan``, ``inf`` and ``-inf`` are TOML floats, and would
      otherwise flow into the run and silently blank or corrupt its output). A field that
      needs a non-finite value must say so itself with ``Field(allow_inf_nan=True)``;
      none does today.
    """

    model_config = ConfigDict(extra="forbid", frozen=False, strict=True, allow_inf_nan=False)


# --------------------------------------------------------------------------- run
class RunConfig(Strict):
    start: Date
    end: Date
    step_days: Annotated[int, Field(ge=1, le=366)] = 7
    households: Annotated[int, Field(ge=0)] = 20_000
    household_floor: Annotated[int, Field(ge=0)] = 200
    household_agents_max: Annotated[int, Field(ge=0)] = 200_000
    # None: the market stream (the price path) comes from the run's seed like every other
    # stream; a whole number: the market stream is the one a run with this seed would have,
    # and every other stream still comes from the run's seed, so runs can share a price path
    # while the rest varies (crypto-abm ensemble --price-paths).
    market_seed: Annotated[int, Field(ge=0)] | None = None

    @model_validator(mode="after")
    def _order(self) -> "RunConfig":
        if self.end <= self.start:
            raise ValueError(f"end ({self.end}) must be after start ({self.start})")
        return self


# ------------------------------------------------------------------------ market
class PriceConfig(Strict):
    kind: Literal["constant", "gbm", "csv"]
    initial_usd: Pos | None = None
    csv: str | None = None
    csv_column: str = "mean_usd"
    drift_per_year: float = 0.0
    volatility_per_year: NonNeg = 0.0

    @model_validator(mode="after")
    def _needs(self) -> "PriceConfig":
        if self.kind == "csv" and not self.csv:
            raise ValueError("kind = 'csv' needs a csv path")
        if self.kind in ("constant", "gbm") and self.initial_usd is None:
            raise ValueError(f"kind = '{self.kind}' needs initial_usd")
        return self


class Halving(Strict):
    date: Date
    subsidy_btc: Pos


class MarketConfig(Strict):
    price: PriceConfig
    halvings: Annotated[dict[str, Halving], Field(min_length=1)]
    fees_btc_per_block: NonNeg
    # Fees by month (columns period YYYY-MM, fees_btc_per_block, fees_btc_per_day): where
    # given, the month's fees replace fees_btc_per_block inside the months the file spans
    # (model.market.fee_path); outside them fees_btc_per_block holds.
    fees_csv: str | None = None
    blocks_per_day: Pos = 144.0
    initial_network_hashrate_ehs: Pos
    difficulty_lag_steps: Annotated[int, Field(ge=1, le=52)] = 2  # weekly steps: the protocol's lag (docs/ODD.md 7.6)


# --------------------------------------------------------------- fitted blocks
MAX_REDRAWS = 100_000  # draws of a truncated covariance before giving up (Covariance.draw)

class Covariance(Strict):
    """A fit's covariance of some of its terms (the Laplace approximation), for draws of them.

    ``log_terms`` are on the log scale in ``matrix`` (their draw is exp of a normal one);
    ``bounds`` (natural scale, one [low, high] per term) hold a draw to where the fit searched:
    the normal truncated to them (:meth:`draw`)."""
    terms: Annotated[list[str], Field(min_length=1)]
    matrix: list[list[float]]
    fitted: str  # how the matrix was made: the provenance of its entries
    log_terms: list[str] = []
    bounds: list[Annotated[list[float], Field(min_length=2, max_length=2)]] | None = None

    @model_validator(mode="after")
    def _square(self) -> "Covariance":
        n = len(self.terms)
        if len(self.matrix) != n or any(len(row) != n for row in self.matrix):
            raise ValueError(f"matrix must be {n} x {n}, one row and column per term")
        if not set(self.log_terms) <= set(self.terms):
            raise ValueError(f"log_terms must be terms; {sorted(set(self.log_terms) - set(self.terms))[0]} is not")
        if self.bounds is not None and (len(self.bounds) != n or any(lo > hi for lo, hi in self.bounds)):
            raise ValueError(f"bounds must be {n} pairs [low, high] with low <= high, one per term")
        try:
            np.linalg.cholesky(np.array(self.matrix, dtype=float))
        except np.linalg.LinAlgError:
            raise ValueError("matrix must be symmetric positive definite: a draw factors it (Cholesky); "
                             "a term with no variance (e.g. a fit's estimate on its bound) breaks that") from None
        return self

    @classmethod
    def record(cls, terms: list[str], matrix, fitted: str, log_terms: list[str] = (),
               bounds=None) -> dict[str, Any]:
        """The table a calibration writes (``[<block>.covariance]``), checked against this
        schema first, so a fit cannot write one that a scenario would then refuse: the matrix
        as plain floats, ``bounds`` as [low, high] pairs where given."""
        table = {"terms": list(terms), "log_terms": list(log_terms),
                 "matrix": [[float(v) for v in row] for row in matrix], "fitted": fitted}
        if bounds is not None:
            table["bounds"] = [[float(lo), float(hi)] for lo, hi in bounds]
        cls(**table)
        return table

    def draw(self, values: dict[str, float], rng: np.random.Generator) -> dict[str, float]:
        """``{term: value}`` replaced by one multivariate-normal draw around ``values`` (its
        log for a log term), truncated to ``bounds`` where given: a draw with a term outside
        them is drawn again (at most :data:`MAX_REDRAWS` times). The bounds are where the fit
        searched, the support of its flat prior; clipping instead would pile the draws of an
        estimate near a bound onto the bound itself, a value the fit gives no weight."""
        logs = [t in self.log_terms for t in self.terms]
        mean = np.array([np.log(values[t]) if log else values[t] for t, log in zip(self.terms, logs)])
        low, high = np.array(self.bounds, dtype=float).T if self.bounds is not None else (-np.inf, np.inf)
        matrix = np.array(self.matrix)
        for _ in range(MAX_REDRAWS):
            x = rng.multivariate_normal(mean, matrix, method="cholesky")
            x = np.where(logs, np.exp(x), x)
            if np.all((x >= low) & (x <= high)):
                return dict(zip(self.terms, map(float, x)))
        raise ValueError(f"no draw of {self.terms} within their bounds in {MAX_REDRAWS} tries: the covariance "
                         "puts almost no weight inside them")


class FittedTerms(Strict):
    """A block whose fitted values carry a :class:`Covariance`: one way to name a term, check it
    and draw it, for every such block. The subclass declares the fields ``covariance:
    Covariance | None`` and ``draw: Draw`` (where its table wants them). A term is a decimal
    field of the block, or ``field.KEY``: the entry KEY of a table of numbers (a ``dict``
    field), e.g. ``capacity_mw_per_year.USA`` of ``[mining]``."""

    def _term(self, term: str) -> float:
        name, _, key = term.partition(".")
        return getattr(self, name)[key] if key else getattr(self, name)

    def drawn(self, rng: np.random.Generator) -> Any:
        """These settings with the covariance's terms replaced by one draw (:meth:`Covariance.draw`:
        normal on the fit's scale, truncated to the fit's bounds), using ``rng``. Without a
        covariance, the settings unchanged."""
        if self.covariance is None:
            return self
        update: dict[str, Any] = {}
        for term, value in self.covariance.draw({t: self._term(t) for t in self.covariance.terms}, rng).items():
            name, _, key = term.partition(".")
            if key:
                update.setdefault(name, dict(getattr(self, name)))[key] = value
            else:
                update[name] = value
        return self.model_copy(update=update)

    @model_validator(mode="after")
    def _terms(self) -> Any:
        for term in self.covariance.terms if self.covariance else ():
            try:
                value = self._term(term)
            except (AttributeError, KeyError, TypeError):
                value = None
            if not isinstance(value, float):
                raise ValueError(f"covariance term {term!r} is not a decimal number of this table (nor "
                                 "<field>.<key> of a table of numbers given there)")
        if getattr(self, "draw", None) is not None and self.covariance.bounds is not None:
            for term, (low, high) in zip(self.covariance.terms, self.covariance.bounds):
                if not low <= self._term(term) <= high:
                    raise ValueError(f"covariance term {term!r} is {self._term(term):g}, outside its bounds "
                                     f"[{low:g}, {high:g}]: a draw is truncated to them, so it needs the value "
                                     "inside (or no draw)")
        return self


# ------------------------------------------------------------------------ mining
class Vintage(Strict):
    efficiency_j_per_th: Pos
    share: Prob


class Release(Strict):
    """A machine put on sale during a run: from ``date`` new machines are at most its J/TH."""
    date: Date
    efficiency_j_per_th: Pos


class CapacitySplit(Strict):
    """Countries a scenario groups otherwise than the fit that gave their MW a year: each
    code of ``shares`` adds its share (of the shares' sum) of the ``pooled`` fitted
    capacities times ``scale`` (a world smaller than the fit's), so a draw of the fitted
    ones carries into it (:meth:`MiningConfig.capacity_of`)."""
    pooled: Annotated[list[Iso3], Field(min_length=1)]
    shares: Annotated[dict[Iso3, Pos], Field(min_length=1)]
    scale: Pos = 1.0


class MiningConfig(FittedTerms):
    vintages: dict[str, Vintage]
    frontier_efficiency_j_per_th: Pos
    # Below 1: the frontier (agents.mining_sector.MiningSector.order) shrinks by the factor
    # (1 - rate) a year, so a rate of 1 makes new machines need 0 J/TH (free hashing) after a
    # year and orders divide by zero.
    efficiency_improvement_per_year: Annotated[float, Field(ge=0.0, lt=1.0)]
    # Machines put on sale during the run: from each one's date the frontier is at most its
    # J/TH, a step where a generation ships (the S9 of June 2016) beside the smooth trend.
    releases: dict[str, Release] = {}
    # J/TH of the machines miners buy over the best on sale's: most of the market trades the
    # generations before the flagship (agents.mining_sector.MiningSector.bought_j_per_th).
    bought_over_best: Annotated[float, Field(ge=1.0, le=3.0)] = 1.0
    pue: Annotated[float, Field(ge=1.0, le=3.0)] = 1.1
    power_share_of_cash_cost: Annotated[float, Field(gt=0.0, le=1.0)] = 1.0
    cost_spread: Prob = 0.25
    switch_share_per_week: Annotated[float, Field(gt=0.0, le=1.0)] = 0.3
    # Miners switch on this share of the way from this week's hashprice to the clearing one
    # (agents.mining_sector.MiningSector.switching_hashprice): the retarget they see coming.
    switch_anticipation: Prob = 0.0
    # Orders weigh a new machine's return over machine_life_years against its capital:
    # the machine (machine_price_usd_per_w x J/TH per TH/s) and its site (buildout_usd_per_mw);
    # hurdle_margin is the return over the capital a machine must promise (agents.miner.attractiveness).
    machine_price_usd_per_w: Pos
    buildout_usd_per_mw: NonNeg
    machine_life_years: Pos
    # Above -1: a machine must at least earn something over its cash cost.
    hurdle_margin: Annotated[float, Field(gt=-1.0)]
    margin_scale: Pos
    # MW a country's miners can add a year where power is not capped (sites, grid
    # connections, hosting), by country code, in capacity_base_year; a country not named
    # adds none. Every country's capacity grows at capacity_growth_per_year (the industry's
    # sites and capital, not any one fleet's size).
    capacity_mw_per_year: dict[Iso3, NonNeg] = {}
    # Countries whose MW a year is a share of others' fitted ones (the split's codes read
    # that share, not their own entry, which for a pooled code is the fit's).
    capacity_split: CapacitySplit | None = None
    capacity_base_year: Annotated[int, Field(ge=2009, le=2100)] = 2019
    capacity_growth_per_year: Annotated[float, Field(ge=-1.0, le=2.0)] = 0.0
    fill_per_year: NonNeg
    # Underground fleets (their host bans mining) reinvest at this share of the legal rate.
    underground_investment_factor: Prob = 0.0
    lead_time_weeks: Annotated[int, Field(ge=0, le=520)]
    # Start with the pipeline the ordering rule would have filled in the lead time before
    # the start (agents.mining_sector.MiningSector.warm_start), not an empty one.
    warm_start_pipeline: bool = False
    idle_retire_per_year: NonNeg
    relocate_share: Prob
    underground_share: Prob
    # Share of a fleet's legal machines that leave for hosts with power when a power
    # emergency of its host cuts them off (the rest idles until power returns).
    emergency_relocate_share: Prob = 0.0
    # ... and the MW a year the country can add is multiplied by this from then on.
    emergency_capacity_factor: Prob = 1.0
    # While a grid's moratorium on new mining connections holds (countries.X.mining_moratorium,
    # a mining_moratorium shock), the MW a year the country can add is multiplied by this.
    moratorium_capacity_factor: Prob = 1.0
    # A sanctioned host (countries.X.sanctioned) weighs its room as a relocation destination at this share.
    sanctioned_host_factor: Prob = 1.0
    relocation_weeks: Annotated[int, Field(ge=0, le=520)]
    relocation_loss: Prob
    relocation_choice_scale_usd_per_kwh: Pos
    # The fit's uncertainty (crypto-abm calibrate mining): terms are fields of this table,
    # a capacity written capacity_mw_per_year.<code>; the model reads it only for a draw.
    covariance: Covariance | None = None
    draw: Draw = None  # the covariance's terms' draw (FittedTerms.drawn)

    def capacity_of(self, code: str) -> float:
        """The MW a year ``code`` can add in ``capacity_base_year``: its entry of
        ``capacity_mw_per_year`` (0 if none), or, for a code of ``capacity_split``, its share
        of the pooled entries::

            capacity_k = sum_{p in pooled} capacity_mw_per_year_p x scale x share_k / sum_j share_j
        """
        split = self.capacity_split
        if split is not None and code in split.shares:
            pool = sum(self.capacity_mw_per_year[p] for p in split.pooled)
            return pool * split.scale * split.shares[code] / sum(split.shares.values())
        return self.capacity_mw_per_year.get(code, 0.0)

    @model_validator(mode="after")
    def _shares(self) -> "MiningConfig":
        split = self.capacity_split
        missing = [] if split is None else [p for p in split.pooled if p not in self.capacity_mw_per_year]
        if missing:
            raise ValueError(f"capacity_split.pooled: {missing} have no MW a year of their own to pool")
        total = sum(v.share for v in self.vintages.values())
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"vintage shares must sum to 1 (they sum to {total:.6g})")
        if self.relocate_share + self.underground_share > 1.0 + 1e-9:
            raise ValueError("relocate_share + underground_share must not exceed 1")
        return self


class NowcastConfig(FittedTerms):
    """A scenario's first year fitted to the data (``crypto-abm calibrate nowcast``,
    experiments/calibration/nowcast.toml). The miners' capacities are fitted on the 2019
    backtest's inputs (one tariff, a trend frontier); on a projection's own sourced inputs
    (country tariffs, the newest machine) the same capacities order faster than history
    did, so one scale on the MW a year every country can add is fitted to the projection's
    first year of data. That year is then in-sample for the projection (docs/VALIDATION.md 1e)."""
    # Multiplies mining.capacity_mw_per_year (agents.mining_sector.MiningSector.capacity_mw_per_year).
    capacity_scale: Pos = 1.0
    # The fit's uncertainty (crypto-abm calibrate nowcast): capacity_scale on its log scale; the
    # model reads it only for a draw.
    covariance: Covariance | None = None
    draw: Draw = None  # the covariance's terms' draw (FittedTerms.drawn)


# ------------------------------------------------------------------------ policy
class EdgeKindWeights(Strict):
    border: NonNeg = 1.0
    remittance: NonNeg = 1.0
    alliance: NonNeg = 1.0


class _Hazard(Strict):
    """Coefficients of a yearly log-hazard of moving (``model/stance_hazard.py`` defines each
    feature); a term at 0 is not in the model. Written by ``crypto-abm calibrate policy``."""
    intercept: float
    inflation: float = 0.0
    log_income: float = 0.0
    remittances: float = 0.0
    internet: float = 0.0
    log_population: float = 0.0

    def coefficients(self) -> tuple[float, dict[str, float]]:
        """(intercept, {term: coefficient}) as ``model.stance_hazard.yearly_hazards`` takes them."""
        terms = self.model_dump()
        return terms.pop("intercept"), terms


class UpHazard(_Hazard):
    at_ban: float = 0.0
    at_restricted: float = 0.0
    liberal_exposure: float = 0.0
    recent_up: float = 0.0


class DownHazard(_Hazard):
    at_regulated: float = 0.0
    restrictive_exposure: float = 0.0
    recent_down: float = 0.0


class LevelWeights(Strict):
    """Where a move lands: a weight per stance level (``model.stance_hazard.landing``); all 0
    (the default) makes every move one level."""
    ban: NonNeg = 0.0
    restricted: NonNeg = 0.0
    unclear: NonNeg = 0.0
    regulated: NonNeg = 0.0
    legal_tender: NonNeg = 0.0

    def as_tuple(self) -> tuple[float, ...]:
        return tuple(getattr(self, name) for name in STANCE_NAMES)


class PolicyFitRecord(Strict):
    """What ``crypto-abm calibrate policy`` writes beside the coefficients, for ``validate policy``
    and for draws of the coefficients: the model's rule does not read it."""
    constant_up_per_year: NonNeg
    constant_down_per_year: NonNeg
    covariance: dict[Literal["up", "down", "landing_up", "landing_down"], Covariance] = {}


class PolicyConfig(Strict):
    # The fitted stance hazards (experiments/calibration/policy.toml); needed when a country
    # moves by diffusion.
    up: UpHazard | None = None
    down: DownHazard | None = None
    landing_up: LevelWeights = LevelWeights()
    landing_down: LevelWeights = LevelWeights()
    fit: PolicyFitRecord | None = None
    draw: Draw = None  # the up/down coefficients' draw (PolicyConfig.drawn)
    # Log-hazard terms the panel cannot estimate: assumptions (docs/ODD.md 7.1), 0 = off.
    adoption_weight: NonNeg = 0.0
    resistance_weight: NonNeg = 0.0
    imf_weight: NonNeg = 0.0
    max_diffusion_stance: Stance = 3
    edge_kind_weights: EdgeKindWeights = EdgeKindWeights()
    # Illicit-finance incidents (0 switches them off): yearly hazard at the reference
    # volume with no AML oversight; an incident is a negative signal (crackdown pressure).
    incident_rate_per_year: NonNeg = 0.0
    incident_volume_scale_usd_per_year: Pos = 1e11
    incident_signal: float = -1.0
    incident_half_life_weeks: Pos = 26.0

    def drawn(self, rng: np.random.Generator) -> "PolicyConfig":
        """These settings with the up and down coefficients replaced by one multivariate-normal
        draw from the fit's covariance (Laplace approximation), using ``rng``. The landing
        weights stay at their estimates. Without a fit covariance, the settings unchanged."""
        if self.fit is None or self.up is None or self.down is None:
            return self
        hazards = {}
        for direction, hazard in (("up", self.up), ("down", self.down)):
            cov = self.fit.covariance.get(direction)
            if cov is None:
                hazards[direction] = hazard
                continue
            hazards[direction] = hazard.model_copy(update=cov.draw({t: getattr(hazard, t) for t in cov.terms}, rng))
        return self.model_copy(update=hazards)


# -------------------------------------------------------------------- households
class StanceMultipliers(Strict):
    ban: NonNeg
    restricted: NonNeg
    unclear: NonNeg
    regulated: NonNeg
    legal_tender: NonNeg

    def as_tuple(self) -> tuple[float, ...]:
        return tuple(getattr(self, name) for name in STANCE_NAMES)


class SocialGraphConfig(Strict):
    local_degree: Annotated[int, Field(ge=0, le=50)]
    random_degree: NonNeg
    pareto_shape: Annotated[float, Field(gt=1.0)]
    cross_border_ties_per_household: NonNeg


class HouseholdConfig(FittedTerms):
    innovation_per_year: NonNeg
    imitation_per_year: NonNeg
    abandonment_per_year: NonNeg
    inflation_weight: NonNeg
    remittance_weight: NonNeg
    # log-multipliers of p for income and for the internet share (the rule: the docstring of
    # agents/household.py); 0 (the default) leaves p as without them
    income_weight: float = 0.0
    internet_weight: float = 0.0
    remittance_receiver_scale: NonNeg
    no_exchange_access_factor: NonNeg
    stance_multiplier: StanceMultipliers
    graph: SocialGraphConfig
    # The fit's uncertainty (crypto-abm calibrate households): terms are fields of this table
    # (the adoption rule's rates and weights); the model reads it only for a draw.
    covariance: Covariance | None = None
    draw: Draw = None  # the covariance's terms' draw (FittedTerms.drawn)


# ------------------------------------------------------------------------ volume
class VolumeConfig(FittedTerms):
    """Value received on chain per adopter and the trading it carries (docs/ODD.md 7.5).

    Fitted by ``crypto-abm calibrate volume`` (experiments/calibration/volume.toml), except
    the P2P factor (an assumption in parts/behaviour.toml)."""
    value_received_usd_per_adopter_per_year: Pos   # at the reference income and price
    income_elasticity: float
    price_elasticity: float
    reference_gdp_per_capita_usd: Pos
    reference_btc_price_usd: Pos
    # The fit's uncertainty (crypto-abm calibrate volume): the level (on its log scale) and the
    # two elasticities; the model reads it only for a draw.
    covariance: Covariance | None = None
    draw: Draw = None  # the covariance's terms' draw (FittedTerms.drawn)
    exchange_share_of_value_received: NonNeg        # centralised spot trading per USD of value received
    p2p_factor: Prob                                # share of that trading still done P2P with no exchange present


# --------------------------------------------------------------------- exchanges
class ExchangeConfig(Strict):
    tier: Literal["global", "regional", "local"]
    home: Iso3 | None = None
    fee_pct: Annotated[float, Field(ge=0.0, le=100.0)]
    weight: Pos
    min_stance_enter: Stance
    min_stance_stay: Stance
    licence_cost_usd_per_year: NonNeg
    entry_per_year: NonNeg
    entry_lead_weeks: Annotated[int, Field(ge=0, le=520)]
    present: list[Iso3] = []

    @model_validator(mode="after")
    def _home(self) -> "ExchangeConfig":
        if self.tier == "local" and self.home is None:
            raise ValueError("a local exchange needs a home country")
        if self.min_stance_stay > self.min_stance_enter:
            raise ValueError("min_stance_stay must not exceed min_stance_enter")
        return self


# --------------------------------------------------------------------- countries
class CountryConfig(Strict):
    name: str
    lat: Annotated[float, Field(ge=-90, le=90)]
    lon: Annotated[float, Field(ge=-180, le=180)]
    stance: Stance
    stance_dynamics: Literal["diffusion", "fixed"] = "fixed"
    resistance: NonNeg = 0.0
    imf_programme: bool = False
    population_millions: Pos | None = None
    gdp_per_capita_usd: Pos | None = None
    inflation_pct: float | None = None
    remittances_pct_gdp: NonNeg | None = None
    internet_pct: Pct | None = None
    # The share online by year (one figure a year, % of people), instead of a constant
    # internet_pct; the model joins the years linearly in time (docs/SCENARIOS.md).
    internet_path: Annotated[dict[Year, Pct], Field(min_length=1)] | None = None
    ownership_pct: Pct | None = None
    has_households: bool = False
    hashrate_ehs: NonNeg = 0.0
    mining_tariff_usd_per_kwh: Pos
    mining_allowance_mw: NonNeg | None = None
    mining_banned: bool = False
    mining_enforcement_per_year: NonNeg = 0.0
    # Power emergencies that cut the country's miners off between mining.capacity_base_year
    # and the run's start: each multiplies the MW a year it can add by
    # mining.emergency_capacity_factor, as one within the run does.
    mining_power_cuts: Annotated[int, Field(ge=0, le=100)] = 0
    # Grid operators refuse new mining connections (machines already connected run on):
    # the MW a year the country can add is multiplied by mining.moratorium_capacity_factor.
    mining_moratorium: bool = False
    # Under sanctions that reach mining (machines imported, paid for in dollars): a relocating
    # fleet weighs this host's room at mining.sanctioned_host_factor.
    sanctioned: bool = False
    power_surplus_winter_mw: NonNeg | None = None
    power_surplus_summer_mw: NonNeg | None = None
    winter_peak_month: Annotated[int, Field(ge=1, le=12)] = 1
    aml_oversight: Prob = 0.5
    reserve_btc: NonNeg = 0.0

    @model_validator(mode="after")
    def _surplus_pair(self) -> "CountryConfig":
        if (self.power_surplus_winter_mw is None) != (self.power_surplus_summer_mw is None):
            raise ValueError("power_surplus_winter_mw and power_surplus_summer_mw go together")
        return self

    @field_validator("internet_path")
    @classmethod
    def _one_internet(cls, path, info: ValidationInfo):
        if path is not None and info.data.get("internet_pct") is not None:
            raise ValueError("give internet_pct (constant) or internet_path (by year), not both")
        return path

    @model_validator(mode="after")
    def _household_fields(self) -> "CountryConfig":
        needed = ("population_millions", "gdp_per_capita_usd", "inflation_pct",
                  "remittances_pct_gdp", "ownership_pct")
        if self.has_households:
            missing = [f for f in needed if getattr(self, f) is None]
            if self.internet_pct is None and self.internet_path is None:
                missing.append("internet_pct (or internet_path)")
            if missing:
                raise ValueError(f"has_households = true needs {', '.join(missing)}")
        return self


# ----------------------------------------------------------------------- network
class EdgeConfig(Strict):
    a: Iso3
    b: Iso3
    kind: Literal["border", "remittance", "alliance"]
    weight: NonNeg = 1.0
    flow_usd_per_year: NonNeg | None = None  # remittance edges: yearly flow from a to b
    cost_pct: Annotated[float, Field(ge=0.0, le=100.0)] | None = None  # bank cost of sending $200

    @model_validator(mode="after")
    def _remittance_only(self) -> "EdgeConfig":
        if self.kind != "remittance" and (self.flow_usd_per_year is not None or self.cost_pct is not None):
            raise ValueError("flow_usd_per_year and cost_pct belong to remittance edges only")
        if (self.flow_usd_per_year is None) != (self.cost_pct is None):
            raise ValueError("a remittance corridor needs both flow_usd_per_year and cost_pct (or neither)")
        return self


class RemittanceConfig(Strict):
    """Remittances over crypto rails: receivers choose bank or crypto by cost, access, stance."""
    crypto_cost_pct: Annotated[float, Field(ge=0.0, le=100.0)]
    cost_weight: NonNeg
    intercept: float
    no_exchange_penalty: NonNeg
    ban_penalty: NonNeg


class NetworkConfig(Strict):
    edges: dict[str, EdgeConfig] = {}


# ------------------------------------------------------------------------ shocks
def _after_shock_date(until: dt.date, info: ValidationInfo) -> dt.date:
    """An end date that must come after the shock's own (a field validator's check)."""
    if "date" in info.data and until <= info.data["date"]:
        raise ValueError(f"must come after the shock's date ({info.data['date']})")
    return until


class _ShockBase(Strict):
    #: The fields of the shock's country (:class:`CountryConfig`, the model's ``Country``)
    #: this kind overwrites on its date, each with the field of the shock whose value it puts
    #: there: what its apply function in ``model.shocks`` does, said once, here. An override of
    #: such a country field holds only until the shock's date (``model.scenario`` warns and
    #: names the shock's field, the path that acts). Kinds that add to the country (a
    #: signal, a reserve purchase, an alliance, a data centre) or act elsewhere overwrite none.
    overwrites: ClassVar[dict[str, str]] = {}

    date: Date
    country: Iso3
    enabled: bool = True
    description: str = ""

    def sets(self) -> dict[str, tuple[str, object]]:
        """``{country field: (shock field, the value the shock puts there)}`` (see :attr:`overwrites`)."""
        return {target: (source, getattr(self, source)) for target, source in self.overwrites.items()}


class StanceChange(_ShockBase):
    overwrites: ClassVar[dict[str, str]] = {"stance": "to"}
    kind: Literal["stance_change"]
    to: Stance


class Signal(_ShockBase):
    kind: Literal["signal"]
    strength: float
    half_life_weeks: Pos = 26.0


class EnergyAllocation(_ShockBase):
    overwrites: ClassVar[dict[str, str]] = {"mining_allowance_mw": "mw",
                                            "mining_tariff_usd_per_kwh": "tariff_usd_per_kwh"}
    kind: Literal["energy_allocation"]
    mw: NonNeg
    tariff_usd_per_kwh: Pos


class ReservePurchase(_ShockBase):
    """A state buys ``btc`` on the date and, with ``btc_per_week``, keeps buying at that pace
    until ``until`` (or the end of the run): El Salvador's daily purchases, for example."""
    kind: Literal["reserve_purchase"]
    btc: NonNeg = 0.0
    btc_per_week: NonNeg = 0.0
    until: Date | None = None

    @field_validator("until")
    @classmethod
    def _programme(cls, until, info: ValidationInfo):
        """Checked on the field itself, so the error names ``until`` and its value."""
        if until is None:
            return until
        if not info.data.get("btc_per_week"):
            raise ValueError("until is for recurring purchases: set btc_per_week too")
        return _after_shock_date(until, info)


class AllianceEdge(_ShockBase):
    kind: Literal["alliance_edge"]
    partner: Iso3
    weight: NonNeg = 1.0


class PriceShock(_ShockBase):
    kind: Literal["price_shock"]
    factor: Pos


class MiningBan(_ShockBase):
    # A ban sets ``mining_banned`` to true, which is what its ``enabled`` says (the path that
    # switches it off); with ``until`` it sets it back to false then.
    overwrites: ClassVar[dict[str, str]] = {"mining_banned": "enabled"}
    kind: Literal["mining_ban"]
    until: Date | None = None


class MiningMoratorium(_ShockBase):
    """Grid operators stop connecting new mining load (a utility's or a province's pause),
    until a date or for the rest of the run: machines already connected run on and sites
    are refilled, but the MW a year the country can add is multiplied by
    ``mining.moratorium_capacity_factor`` while it holds. Sets ``mining_moratorium`` to
    true, which is what its ``enabled`` says."""
    overwrites: ClassVar[dict[str, str]] = {"mining_moratorium": "enabled"}
    kind: Literal["mining_moratorium"]
    until: Date | None = None


class PowerEmergency(_ShockBase):
    """Mining switched off for a power shortage until a date; ``mining.emergency_relocate_share``
    of the host's legal fleet leaves for hosts with power, the rest idles until then, and the
    MW a year the country can add is multiplied by ``mining.emergency_capacity_factor``."""
    kind: Literal["power_emergency"]
    until: Date


class SeasonalMove(_ShockBase):
    """Machines moving between the country's regions at the turn of a season (China's miners to
    Sichuan's hydropower for the wet season and back north after it): ``share`` of the fleet's
    machines is off the network from the date until ``until``, then runs again where it was;
    none leaves the country, exits or changes its running state."""
    kind: Literal["seasonal_move"]
    share: Prob
    until: Date

    @field_validator("until")
    @classmethod
    def _after_start(cls, until, info: ValidationInfo):
        """Checked on the field itself, so the error names ``until`` and its value."""
        return _after_shock_date(until, info)


class AiDemand(_ShockBase):
    """AI data centres that will bid for the country's allocated power."""
    kind: Literal["ai_demand"]
    mw: NonNeg
    willingness_to_pay_usd_per_mwh: Pos
    lead_weeks: Annotated[int, Field(ge=0, le=520)] = 52


class AdoptionIncentive(_ShockBase):
    """A one-off push (e.g. a wallet bonus): a share of the country's internet households
    not adopting adopt at once; with ``abandonment_per_year`` they abandon at that rate
    (instead of the households' own) until they first stop; once stopped, their adoption
    hazard is multiplied by ``readoption_factor`` for the rest of the run."""
    kind: Literal["adoption_incentive"]
    share: Prob
    abandonment_per_year: NonNeg | None = None
    readoption_factor: NonNeg = 1.0


Shock = Annotated[
    Union[StanceChange, Signal, EnergyAllocation, ReservePurchase, AllianceEdge, PriceShock, MiningBan,
          MiningMoratorium, PowerEmergency, SeasonalMove, AiDemand, AdoptionIncentive],
    Field(discriminator="kind"),
]
SHOCK_KINDS = ("stance_change", "signal", "energy_allocation", "reserve_purchase",
               "alliance_edge", "price_shock", "mining_ban", "mining_moratorium", "power_emergency",
               "seasonal_move", "ai_demand", "adoption_incentive")


# ---------------------------------------------------------------------- scenario
class ScenarioConfig(Strict):
    name: str
    description: str = ""
    run: RunConfig
    market: MarketConfig
    mining: MiningConfig
    policy: PolicyConfig
    households: HouseholdConfig
    volume: VolumeConfig
    nowcast: NowcastConfig = NowcastConfig()
    exchanges: dict[str, ExchangeConfig]
    countries: dict[str, CountryConfig]
    network: NetworkConfig = NetworkConfig()
    remittances: RemittanceConfig | None = None
    shocks: dict[str, Shock] = {}

    @model_validator(mode="after")
    def _diffusion_inputs(self) -> "ScenarioConfig":
        """A country that moves by diffusion needs the fitted hazards and every covariate they use."""
        movers = [code for code, c in self.countries.items() if c.stance_dynamics == "diffusion"]
        if not movers:
            return self
        if self.policy.up is None or self.policy.down is None:
            raise ValueError(f"{movers[0]} moves by diffusion: policy.up and policy.down (the fitted hazards, "
                             "experiments/calibration/policy.toml) are needed")
        used = {t for h in (self.policy.up, self.policy.down) for t, b in h.coefficients()[1].items() if b != 0}
        for code in movers:
            c = self.countries[code]
            missing = [f for term, f in COVARIATE_FIELDS.items() if term in used and getattr(c, f) is None
                       and not (f == "internet_pct" and c.internet_path is not None)]
            if missing:
                raise ValueError(f"countries.{code} moves by diffusion and the stance hazard uses {missing[0]}, "
                                 "which it does not give")
        return self

    @field_validator("countries")
    @classmethod
    def _codes(cls, countries: dict[str, CountryConfig]) -> dict[str, CountryConfig]:
        for code in countries:
            if not (len(code) == 3 and code.isalpha() and code.isupper()):
                raise ValueError(f"country key {code!r} is not a three-letter upper-case code")
        return countries
