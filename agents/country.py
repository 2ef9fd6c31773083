"""Country: regulatory stance, mining power, reserve, and stance change by policy diffusion.

Stance is an ordered level: 0 ban, 1 restricted, 2 unclear, 3 regulated/legal,
4 legal tender. A reserve (BTC held by the state) is a separate quantity.

Each step a country whose ``stance_dynamics`` is ``"diffusion"`` may move, by competing
yearly hazards of moving up and down (turned into a step probability ``1 - exp(-rate x dt)``)
of exactly the form fitted to the global panel of stance changes (``model/stance_hazard.py``,
coefficients in ``experiments/calibration/policy.toml``): its stance, its neighbours' stances
and recent moves over the country network, and its covariates; plus the log-hazard terms the
panel cannot estimate (dated signals and illicit-finance incidents; adoption, resistance and
an IMF programme, off unless a scenario sets their weights). A move lands on a level drawn by
the fitted landing weights. The equations are stated in docs/ODD.md 7.1.

Diffusion never moves a stance above ``max_diffusion_stance`` (3); legal tender comes only
from a dated shock. Dated shocks override at their date. Every change is logged with
its cause by the model, and each country remembers when it last moved up and down (its
neighbours' ``recent_*`` features).

The share of people online, ``internet_pct``, is constant or, with an ``internet_path``,
follows the date (:meth:`Country.follow_internet`, called by the model each step).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING

import mesa
import numpy as np

from agents.exchange import potential_volume_usd
from model.stance_hazard import (
    COVARIATES,
    NEIGHBOUR_TERMS,
    Neighbour,
    covariate_features,
    features,
    land,
    nonzero,
    step_probability,
    yearly_hazards,
)
from model.units import PER_MILLION, PERCENT, USD_PER_BN

if TYPE_CHECKING:  # agents see the model only through self.model
    from model.config import CountryConfig, PolicyConfig


WEEKS_PER_YEAR = 365.25 / 7

# A year's internet figure (WDI/ITU: the share of people who used the internet in the year)
# stands for 1 July, the middle of its year; an assumption, docs/ODD.md 7.4.
PATH_DAY = (7, 1)


def dated_path(by_year: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """A yearly path as (day ordinals, values), sorted by date, for ``np.interp``."""
    points = sorted((dt.date(int(year), *PATH_DAY).toordinal(), value) for year, value in by_year.items())
    return np.array([d for d, _ in points], dtype=float), np.array([v for _, v in points])


class Country(mesa.Agent):
    """One country (or the rest of the world) with its policy and mining settings."""

    def __init__(self, model: mesa.Model, code: str, cfg: CountryConfig):
        super().__init__(model)
        self.code = code
        self.name = cfg.name
        self.lat, self.lon = cfg.lat, cfg.lon
        self.stance: int = cfg.stance
        self.dynamics = cfg.stance_dynamics
        self.resistance = cfg.resistance
        self.imf_programme = cfg.imf_programme
        self.has_households = cfg.has_households
        self.population = (cfg.population_millions or 0.0) * PER_MILLION
        self.gdp_per_capita_usd = cfg.gdp_per_capita_usd or 0.0
        self.gdp_usd = self.population * self.gdp_per_capita_usd
        self.inflation_pct = cfg.inflation_pct or 0.0
        self.remittances_pct_gdp = cfg.remittances_pct_gdp or 0.0
        self.internet_path = None if cfg.internet_path is None else dated_path(cfg.internet_path)
        self.internet_pct = cfg.internet_pct or 0.0  # with a path: today's share, see follow_internet
        self.follow_internet(model.dates[0])
        self.ownership_pct = cfg.ownership_pct or 0.0
        self.mining_tariff_usd_per_kwh = cfg.mining_tariff_usd_per_kwh
        self.mining_allowance_mw: float | None = cfg.mining_allowance_mw
        self.mining_banned = cfg.mining_banned
        self.mining_ban_until = None
        self.mining_moratorium = cfg.mining_moratorium
        self.mining_moratorium_until = None
        self.mining_enforcement_per_year = cfg.mining_enforcement_per_year
        self.sanctioned = cfg.sanctioned
        self.power_emergency_until = None
        self.moving_share = 0.0  # of the fleet's machines between regions (a seasonal_move), until moving_until
        self.moving_until = None
        self.power_surplus_winter_mw = cfg.power_surplus_winter_mw
        self.power_surplus_summer_mw = cfg.power_surplus_summer_mw
        self.winter_peak_month = cfg.winter_peak_month
        self.aml_oversight = cfg.aml_oversight
        self.reserve_btc = cfg.reserve_btc
        self.reserve_programmes: list[tuple[str, float, dt.date | None]] = []  # (shock id, BTC/week, until)
        self.signals: list[tuple[float, float, float]] = []  # (time in weeks, strength, half-life)
        self.last_move_weeks: dict[str, float] = {}  # "up"/"down" -> model time in weeks of the last such move
        # Updated by the model each step.
        self.adoption_rate = self.ownership_pct / PERCENT
        self.mining_revenue_usd_per_year = 0.0
        self.exchange_access = False

    def follow_internet(self, date: dt.date) -> bool:
        """Take the share online on ``date`` from ``internet_path`` (linear between its
        years, held before the first and after the last); True if it moved. Without a path
        ``internet_pct`` is constant."""
        if self.internet_path is None:
            return False
        pct = float(np.interp(date.toordinal(), *self.internet_path))
        moved, self.internet_pct = pct != self.internet_pct, pct
        return moved

    # ----------------------------------------------------------- derived state
    @property
    def mining_allowed(self) -> bool:
        """Legal mining needs no mining ban and a stance above ban."""
        return not self.mining_banned and self.stance > 0

    def signal_level(self, weeks: float) -> float:
        return sum(s * 0.5 ** ((weeks - t0) / hl) for t0, s, hl in self.signals if weeks >= t0)

    def set_stance(self, new: int, weeks: float) -> None:
        """Change the stance (diffusion or a dated shock) and remember when it moved which way."""
        if new != self.stance:
            self.last_move_weeks["up" if new > self.stance else "down"] = weeks
        self.stance = new

    def years_since(self, direction: str, weeks: float) -> float:
        """Years since this country last moved ``direction`` in the run (inf if it has not)."""
        last = self.last_move_weeks.get(direction)
        return math.inf if last is None else (weeks - last) / WEEKS_PER_YEAR

    def covariates(self) -> dict[str, float]:
        """The hazard's covariates from this country's fields; 0 where a field is absent (the
        scenario's checks require every field a nonzero coefficient uses)."""
        if self.population <= 0 or self.gdp_per_capita_usd <= 0:
            return dict.fromkeys(COVARIATES, 0.0)
        return covariate_features(self.inflation_pct, self.gdp_per_capita_usd, self.remittances_pct_gdp,
                                  self.internet_pct, self.population)

    # ----------------------------------------------------------- the rule
    def stance_hazards(self, neighbours: list[tuple["Country", float]], policy: PolicyConfig,
                       weeks: float) -> tuple[float, float, str]:
        """Yearly hazards of moving up and down, and a short cause text."""
        up, down, x, signal = self.hazards(neighbours, policy, weeks)
        return up, down, self.hazard_cause(up, down, x, signal, policy)

    def hazards(self, neighbours: list[tuple["Country", float]], policy: PolicyConfig, weeks: float,
                terms: tuple | None = None) -> tuple[float, float, dict[str, float], float]:
        """Yearly hazards of moving up and down, with the features and signal behind them;
        ``terms`` the hazards' (intercept, nonzero coefficients) pairs if the caller has them
        (:func:`update_stances` reads them once a step for every country). The neighbours
        are read only if a term uses them (the fitted hazards have none)."""
        cap = policy.max_diffusion_stance
        up_terms, down_terms = terms or (nonzero(policy.up.coefficients()), nonzero(policy.down.coefficients()))
        if any(k in NEIGHBOUR_TERMS for k in (*up_terms[1], *down_terms[1])):
            seen = [Neighbour(o.stance, w, o.years_since("up", weeks), o.years_since("down", weeks))
                    for o, w in neighbours]
        else:
            seen = []
        x = features(self.stance, seen, self.covariates(), cap)
        signal = self.signal_level(weeks)
        r = self.resistance + policy.imf_weight * float(self.imf_programme)
        shift_up = signal + policy.adoption_weight * self.adoption_rate - policy.resistance_weight * r
        shift_down = policy.resistance_weight * r - signal
        up, down = yearly_hazards(up_terms, down_terms, x, self.stance, cap, shift_up, shift_down)
        return up, down, x, signal

    @staticmethod
    def hazard_cause(up: float, down: float, x: dict[str, float], signal: float, policy: PolicyConfig) -> str:
        """The cause text of a move: the hazards, the terms with a coefficient, the signal."""
        used = dict.fromkeys(t for h in (policy.up, policy.down) for t, b in h.coefficients()[1].items() if b != 0)
        terms = ", ".join(f"{t} {x[t]:.2f}" for t in used) or "none"
        return f"diffusion: up {up:.3f}/yr, down {down:.3f}/yr; {terms}; signal {signal:+.2f}"

    def decide_stance(self, neighbours: list[tuple["Country", float]], policy: PolicyConfig,
                      weeks: float, dt_years: float, u: float, terms: tuple | None = None) -> tuple[int, str] | None:
        """The stance this country moves to this step, with its cause, or None.

        Does not change the country, so the model can decide for every country on the
        same week's stances before applying any move (a synchronous update). ``u`` is this
        country's uniform draw, drawn by the model for every country every step so the
        countries' stream never shifts; given a move, where it lands is decided by the same
        draw rescaled to [0, 1) (it is uniform there, given the move). ``terms`` as for
        :meth:`hazards`; the cause text is written only for a move.
        """
        if self.dynamics != "diffusion":
            return None
        up, down, x, signal = self.hazards(neighbours, policy, weeks, terms)
        p_up, p_down = step_probability(up, dt_years), step_probability(down, dt_years)
        if u >= p_up + p_down:
            return None
        cap = policy.max_diffusion_stance
        cause = self.hazard_cause(up, down, x, signal, policy)
        if u < p_up:
            return land(policy.landing_up.as_tuple(), self.stance, "up", cap, u / p_up), cause
        to = land(policy.landing_down.as_tuple(), self.stance, "down", cap, (u - p_up) / p_down)
        return to, cause.replace("diffusion:", "retreat:", 1)


def update_stances(model) -> None:
    """Stance moves by diffusion, decided for all countries on last week's stances, then
    applied; one uniform per country per step from the countries' stream, in scenario order."""
    u = model.streams["countries"].random(len(model.codes))
    policy = model.config.policy
    terms = None if policy.up is None else (nonzero(policy.up.coefficients()), nonzero(policy.down.coefficients()))
    moves = []
    for code, draw in zip(model.codes, u.tolist()):
        neighbours = [(model.countries[o], w) for o, w in model.neighbours[code].items()]
        moved = model.countries[code].decide_stance(neighbours, policy, model.weeks, model.dt_years, draw, terms)
        if moved:
            moves.append((code, moved))
    for code, (new, cause) in moves:
        c = model.countries[code]
        model.log(code, "stance", c.stance, new, cause)
        c.set_stance(new, model.weeks)


def illicit_finance_incidents(model) -> None:
    """Incidents likelier with high trading volume and weak AML oversight; each is a
    negative signal (crackdown pressure) that raises the hazard of a reversal.

    Yearly hazard ``incident_rate_per_year x volume / incident_volume_scale x (1 - aml)``;
    one uniform per country per step from the incidents stream.
    """
    p = model.config.policy
    u = model.streams["incidents"].random(len(model.codes))
    if p.incident_rate_per_year <= 0:
        return
    for code, draw in zip(model.codes, u):
        c = model.countries[code]
        if not c.has_households:
            continue
        volume = potential_volume_usd(model, code) / model.dt_years
        rate = p.incident_rate_per_year * volume / p.incident_volume_scale_usd_per_year * (1.0 - c.aml_oversight)
        if draw < -math.expm1(-rate * model.dt_years):
            c.signals.append((model.weeks, p.incident_signal, p.incident_half_life_weeks))
            model.log(code, "illicit_finance_incident", None, p.incident_signal,
                      f"incident: trading ${volume / USD_PER_BN:.1f}bn/yr, AML oversight {c.aml_oversight:.2f}; "
                      f"crackdown pressure {p.incident_signal:+.2f} (half-life {p.incident_half_life_weeks:g} weeks)")
