"""Country: regulatory stance, mining power, reserve, and stance change by policy diffusion.

Stance is an ordered level: 0 ban, 1 restricted, 2 unclear, 3 regulated/legal,
4 legal tender. A reserve (BTC held by the state) is a separate quantity.

Each step a country whose ``stance_dynamics`` is ``"diffusion"`` may move one level, by
competing hazards of moving up and down (per year, turned into a step probability
``1 - exp(-rate x dt)``): the pull of more liberal (or more restrictive) neighbours,
stronger from neighbours whose mining paid off, domestic adoption, inflation, dated
signals decaying with their half-lives, and resistance (central bank, IMF programme).
The equations are stated once, in docs/ODD.md 7.1 (:meth:`Country.stance_hazards` is
their code).

Diffusion never moves a stance above ``max_diffusion_stance`` (3); legal tender comes only
from a dated shock. Dated shocks override at their date. Every change is logged with
its cause by the model.

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
from model.units import PER_MILLION, PERCENT, USD_PER_BN

if TYPE_CHECKING:  # agents see the model only through self.model
    from model.config import CountryConfig, PolicyConfig


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
        self.mining_enforcement_per_year = cfg.mining_enforcement_per_year
        self.power_emergency_until = None
        self.power_surplus_winter_mw = cfg.power_surplus_winter_mw
        self.power_surplus_summer_mw = cfg.power_surplus_summer_mw
        self.winter_peak_month = cfg.winter_peak_month
        self.aml_oversight = cfg.aml_oversight
        self.reserve_btc = cfg.reserve_btc
        self.reserve_programmes: list[tuple[str, float, dt.date | None]] = []  # (shock id, BTC/week, until)
        self.signals: list[tuple[float, float, float]] = []  # (time in weeks, strength, half-life)
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

    def payoff(self, policy: PolicyConfig) -> float:
        """Mining revenue as a share of GDP, in units of ``payoff_scale_pct_gdp`` (``x_j`` of docs/ODD.md 7.1)."""
        if self.gdp_usd <= 0:
            return 0.0
        return self.mining_revenue_usd_per_year / self.gdp_usd * PERCENT / policy.payoff_scale_pct_gdp

    # ----------------------------------------------------------- the rule
    def stance_hazards(self, neighbours: list[tuple["Country", float]], policy: PolicyConfig,
                       weeks: float) -> tuple[float, float, str]:
        """Yearly hazards of moving up and down one level, and a short cause text."""
        cap = policy.max_diffusion_stance
        total_w = sum(w for _, w in neighbours)
        pull_up = pull_down = 0.0
        drivers: list[tuple[float, str]] = []
        if total_w > 0 and cap > 0:
            for other, w in neighbours:
                payoff = other.payoff(policy)
                gain = 1.0 + payoff / (1.0 + payoff)  # saturates at 2: a windfall counts, boundedly
                up = max(0.0, min(other.stance, cap) - self.stance) / cap * gain * w / total_w
                pull_up += up
                pull_down += max(0.0, self.stance - other.stance) / cap * w / total_w
                if up > 0:
                    drivers.append((up, other.code))
        signal = self.signal_level(weeks)
        r = self.resistance + policy.imf_weight * float(self.imf_programme)
        log_up = (policy.diffusion_strength * pull_up + policy.adoption_weight * self.adoption_rate
                  + policy.inflation_weight * max(self.inflation_pct, 0.0) / PERCENT
                  + signal - policy.resistance_weight * r)
        log_down = policy.diffusion_strength * pull_down + policy.resistance_weight * r - signal
        up = policy.base_up_per_year * math.exp(min(log_up, 30.0)) if self.stance < cap else 0.0
        down = policy.base_down_per_year * math.exp(min(log_down, 30.0)) if self.stance > 0 else 0.0
        top = ", ".join(code for _, code in sorted(drivers, reverse=True)[:3]) or "none"
        cause = (f"diffusion: pull {pull_up:.2f} from {top}; adoption {self.adoption_rate:.1%}; "
                 f"signal {signal:+.2f}; resistance {r:.2f}")
        return up, down, cause

    def decide_stance(self, neighbours: list[tuple["Country", float]], policy: PolicyConfig,
                      weeks: float, dt_years: float, u: float) -> tuple[int, str] | None:
        """The stance this country moves to this step, with its cause, or None.

        Does not change the country, so the model can decide for every country on the
        same week's stances before applying any move (a synchronous update). ``u`` is this
        country's uniform draw, drawn by the model for every country every step so the
        countries' stream never shifts.
        """
        if self.dynamics != "diffusion":
            return None
        up, down, cause = self.stance_hazards(neighbours, policy, weeks)
        p_up = 1.0 - math.exp(-up * dt_years)
        p_down = 1.0 - math.exp(-down * dt_years)
        if u < p_up:
            return self.stance + 1, cause
        if u < p_up + p_down:
            return self.stance - 1, cause.replace("diffusion:", "retreat:", 1)
        return None


def update_stances(model) -> None:
    """Stance moves by diffusion, decided for all countries on last week's stances, then
    applied; one uniform per country per step from the countries' stream, in scenario order."""
    u = model.streams["countries"].random(len(model.codes))
    moves = []
    for code, draw in zip(model.codes, u):
        neighbours = [(model.countries[o], w) for o, w in model.neighbours[code].items()]
        moved = model.countries[code].decide_stance(neighbours, model.config.policy, model.weeks,
                                                    model.dt_years, float(draw))
        if moved:
            moves.append((code, moved))
    for code, (new, cause) in moves:
        c = model.countries[code]
        model.log(code, "stance", c.stance, new, cause)
        c.stance = new


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
