"""Miner: a country's mining fleet, by vintage of machine.

Units: hashrate in TH/s (reported in EH/s), efficiency in J/TH, power in MW, prices in
USD/kWh, hashprice in USD per PH/s per day.

Each step, in this order:

1. **Arrivals.** Ordered machines (after ``lead_time_weeks``) and relocated machines
   (after ``relocation_weeks``) join the fleet as a vintage of their own.
2. **Ban.** When the host bans mining (a ``mining_ban`` shock, or stance 0), the legal
   fleet splits: ``relocate_share`` moves to another country (chosen with probability
   proportional to ``exp(-tariff / relocation_choice_scale)`` among hosts that allow
   mining and have room), ``underground_share`` keeps running illegally and is seized at
   the host's ``mining_enforcement_per_year``, the rest exits. Orders in the pipeline
   are cancelled. When the ban ends, the underground fleet becomes legal again.
3. **Operate.** A vintage runs when the hashprice beats its cash operating cost, the
   power bill ``J/TH x PUE x 24 h x tariff`` over ``power_share_of_cash_cost`` (power is
   ~80% of miners' cash costs, CCAF 2025); sites' tariffs spread by ``+-cost_spread`` around the
   country's, so a vintage switches off gradually, and each week miners close only
   ``switch_share_per_week`` of the gap between the share running and the share that
   pays (curtailment and restart take time; without it the fleet and difficulty
   oscillate). Miners switch on and off against the *clearing* hashprice, the one at which
   the hashrate they would run earns exactly the day's block reward (a fixed point
   found by bisection), not against last week's difficulty: decisions on a lagged
   difficulty make the fleet and the difficulty chase each other. Revenue is earned at
   the difficulty's hashprice, as on the real network. Idle machines retire at
   ``idle_retire_per_year``. Legal operation never draws more than the host's MW
   allowance.
4. **Expand.** Orders are judged at the clearing hashprice. New machines come at the frontier efficiency (improving by
   ``efficiency_improvement_per_year``). Their margin ``hashprice / cost - 1`` sets an
   attractiveness ``clip((margin - hurdle_margin) / margin_scale, 0, 1)``. Where the host
   caps power, orders are ``attractiveness x fill_per_year`` of the free MW per year;
   where it does not, ``attractiveness x growth_per_year`` of the installed MW per year.
   Orders never exceed the free MW, so a capped host is never overfilled.

Rest-of-world fleets follow the same rule, so the region's entry lowers everyone's
hashprice through difficulty.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import math

import mesa
import numpy as np

if TYPE_CHECKING:  # agents see the model only through self.model
    from model.config import MiningConfig


W_PER_MW = 1e6
KWH_PER_TH_DAY_PER_J = 24.0 / 1000.0  # 1 J/TH at 1 TH/s for 24 h = 0.024 kWh


def energy_cost_usd_per_th_day(efficiency_j_per_th, pue: float, tariff_usd_per_kwh: float):
    """Power cost of one TH/s for a day."""
    return np.asarray(efficiency_j_per_th) * pue * KWH_PER_TH_DAY_PER_J * tariff_usd_per_kwh


def cash_cost_usd_per_th_day(efficiency_j_per_th, cfg: MiningConfig, tariff_usd_per_kwh: float):
    """Cash operating cost of one TH/s for a day: power, plus the other cash costs (staff,
    maintenance, hosting), which ``power_share_of_cash_cost`` sizes from the power bill."""
    return energy_cost_usd_per_th_day(efficiency_j_per_th, cfg.pue, tariff_usd_per_kwh) / cfg.power_share_of_cash_cost


def power_mw(ths, efficiency_j_per_th, pue: float) -> float:
    """Wall power of a fleet: TH/s x J/TH = W, times PUE."""
    return float(np.sum(np.asarray(ths) * np.asarray(efficiency_j_per_th)) * pue / W_PER_MW)


def attractiveness(hashprice_usd_per_ph_day: float, cost_usd_per_th_day: float, cfg: MiningConfig) -> float:
    margin = hashprice_usd_per_ph_day / 1000.0 / cost_usd_per_th_day - 1.0
    return float(np.clip((margin - cfg.hurdle_margin) / cfg.margin_scale, 0.0, 1.0))


def running_share(revenue_usd_per_th_day: float, cost_usd_per_th_day, spread: float) -> np.ndarray:
    """Share of a vintage that covers its cash operating cost.

    Sites of one vintage pay tariffs spread uniformly within ``+-spread`` of the mean, so
    the share running rises linearly from 0 (revenue at ``(1 - spread) x cost``) to 1
    (revenue at ``(1 + spread) x cost``) rather than switching all at once.
    """
    ratio = revenue_usd_per_th_day / np.asarray(cost_usd_per_th_day)
    if spread <= 0:
        return (ratio > 1.0).astype(float)
    return np.clip((ratio - (1.0 - spread)) / (2.0 * spread), 0.0, 1.0)


class MinerFleet(mesa.Agent):
    """All the mining in one country, by vintage of machine."""

    def __init__(self, model: mesa.Model, country: str, hashrate_ths: float,
                 vintages: list[tuple[float, float]], *, underground: bool = False):
        super().__init__(model)
        self.country = country
        self.eff = np.array([e for e, _ in vintages], dtype=float)
        legal = np.array([hashrate_ths * s for _, s in vintages], dtype=float)
        self.legal_ths = np.zeros_like(legal) if underground else legal
        self.underground_ths = legal if underground else np.zeros_like(legal)
        self.running = np.ones_like(legal)  # share of each vintage switched on
        self.pipeline: list[tuple[int, float, float]] = []  # (arrival step, TH/s, J/TH)
        self.operating_ths = 0.0
        self.underground_operating_ths = 0.0
        self.operating_mw = 0.0
        self.curtailed_mw = 0.0  # MW the running machines wanted but the power cap denied
        self.revenue_usd = 0.0
        self.banned = underground  # the fleet has answered a ban of its host

    # ----------------------------------------------------------- bookkeeping
    @property
    def installed_ths(self) -> float:
        return float(self.legal_ths.sum() + self.underground_ths.sum())

    def installed_mw(self, pue: float) -> float:
        return power_mw(self.legal_ths, self.eff, pue)

    def pipeline_mw(self, pue: float) -> float:
        return sum(ths * eff * pue / W_PER_MW for _, ths, eff in self.pipeline)

    def headroom_mw(self, allowance_mw: float | None, pue: float) -> float:
        if allowance_mw is None:
            return math.inf
        return max(0.0, allowance_mw - self.installed_mw(pue) - self.pipeline_mw(pue))

    def add_vintage(self, ths: float, eff: float, *, underground: bool = False) -> None:
        match = np.flatnonzero(np.isclose(self.eff, eff))
        if match.size:
            target = self.underground_ths if underground else self.legal_ths
            target[match[0]] += ths
            return
        self.eff = np.append(self.eff, eff)
        self.running = np.append(self.running, 1.0)
        self.legal_ths = np.append(self.legal_ths, 0.0 if underground else ths)
        self.underground_ths = np.append(self.underground_ths, ths if underground else 0.0)

    # ----------------------------------------------------------- the rule
    def receive_arrivals(self, step: int) -> None:
        due = [p for p in self.pipeline if p[0] <= step]
        self.pipeline = [p for p in self.pipeline if p[0] > step]
        for _, ths, eff in due:
            self.add_vintage(ths, eff)

    def respond_to_ban(self, cfg: MiningConfig) -> tuple[float, float, float]:
        """Split the legal fleet into (relocating, underground, exiting) TH/s by vintage.

        Returns the TH/s totals; the relocating machines are handed back by the caller
        through :meth:`take_relocating`.
        """
        legal = self.legal_ths.copy()
        self._relocating = legal * cfg.relocate_share
        self.underground_ths += legal * cfg.underground_share
        self.legal_ths[:] = 0.0
        cancelled = sum(ths for _, ths, _ in self.pipeline)
        self.pipeline = []
        exiting = legal.sum() * (1.0 - cfg.relocate_share - cfg.underground_share) + cancelled
        return float(self._relocating.sum()), float(legal.sum() * cfg.underground_share), float(exiting)

    def take_relocating(self) -> list[tuple[float, float]]:
        """The (TH/s, J/TH) by vintage that left in the last ban response."""
        out = [(float(t), float(e)) for t, e in zip(self._relocating, self.eff) if t > 0]
        self._relocating = np.zeros(0)
        return out

    def legalise_underground(self) -> None:
        self.legal_ths += self.underground_ths
        self.underground_ths[:] = 0.0

    def wanted_mw(self, hashprice_usd_per_ph_day: float, tariff: float, cfg: MiningConfig) -> float:
        """MW the legal fleet would draw at a hashprice, with no cap."""
        cost = cash_cost_usd_per_th_day(self.eff, cfg, tariff)
        share = running_share(hashprice_usd_per_ph_day / 1000.0, cost, cfg.cost_spread)
        return power_mw(share * self.legal_ths, self.eff, cfg.pue)

    def mean_efficiency(self) -> float:
        """Capacity-weighted J/TH of the legal fleet (the frontier-ish 20 J/TH if empty)."""
        total = self.legal_ths.sum()
        return float((self.legal_ths * self.eff).sum() / total) if total > 0 else float(self.eff.min(initial=20.0))

    def supply_ths(self, hashprice_usd_per_ph_day: float, tariff: float, allowance_mw: float | None,
                   cfg: MiningConfig) -> float:
        """TH/s this fleet would run at a given hashprice (no switching delay)."""
        cost = cash_cost_usd_per_th_day(self.eff, cfg, tariff)
        share = running_share(hashprice_usd_per_ph_day / 1000.0, cost, cfg.cost_spread)
        legal = share * self.legal_ths
        mw = power_mw(legal, self.eff, cfg.pue)
        scale = allowance_mw / mw if allowance_mw is not None and mw > allowance_mw else 1.0
        return float(legal.sum() * scale + (share * self.underground_ths).sum())

    def operate(self, hashprice_usd_per_ph_day: float, tariff: float, allowance_mw: float | None,
                cfg: MiningConfig, dt_years: float, step_days: float, enforcement_per_year: float,
                revenue_hashprice_usd_per_ph_day: float | None = None) -> None:
        """Run the vintages that cover their cash operating cost at ``hashprice``; idle (and retire)
        the others. Revenue is earned at ``revenue_hashprice`` (the difficulty's), which
        defaults to the same hashprice."""
        cost = cash_cost_usd_per_th_day(self.eff, cfg, tariff)
        target = running_share(hashprice_usd_per_ph_day / 1000.0, cost, cfg.cost_spread)
        speed = 1.0 - (1.0 - cfg.switch_share_per_week) ** (step_days / 7.0)
        on = self.running + speed * (target - self.running)
        self.running = on
        legal_on = on * self.legal_ths
        mw = power_mw(legal_on, self.eff, cfg.pue)
        self.curtailed_mw = 0.0
        if allowance_mw is not None and mw > allowance_mw:
            legal_on *= allowance_mw / mw if mw > 0 else 0.0
            self.curtailed_mw = mw - allowance_mw
        self.underground_ths *= math.exp(-enforcement_per_year * dt_years)
        ug_on = on * self.underground_ths
        retire = (1.0 - on) * (1.0 - math.exp(-cfg.idle_retire_per_year * dt_years))
        self.legal_ths = self.legal_ths * (1.0 - retire)
        self.underground_ths = self.underground_ths * (1.0 - retire)
        self.operating_ths = float(legal_on.sum() + ug_on.sum())
        self.underground_operating_ths = float(ug_on.sum())
        self.operating_mw = power_mw(legal_on, self.eff, cfg.pue) + power_mw(ug_on, self.eff, cfg.pue)
        earned = hashprice_usd_per_ph_day if revenue_hashprice_usd_per_ph_day is None \
            else revenue_hashprice_usd_per_ph_day
        self.revenue_usd = self.operating_ths * earned / 1000.0 * step_days

    def order(self, hashprice_usd_per_ph_day: float, tariff: float, allowance_mw: float | None,
              frontier_j_per_th: float, cfg: MiningConfig, dt_years: float, step: int,
              lead_steps: int) -> float:
        """Order new frontier machines; returns the MW ordered."""
        cost = float(cash_cost_usd_per_th_day(frontier_j_per_th, cfg, tariff))
        a = attractiveness(hashprice_usd_per_ph_day, cost, cfg)
        if a <= 0:
            return 0.0
        headroom = self.headroom_mw(allowance_mw, cfg.pue)
        if allowance_mw is None:
            mw = a * (1.0 - math.exp(-cfg.growth_per_year * dt_years)) * self.installed_mw(cfg.pue)
        else:
            mw = a * (1.0 - math.exp(-cfg.fill_per_year * dt_years)) * headroom
        mw = min(mw, headroom)
        if mw <= 0:
            return 0.0
        ths = mw * W_PER_MW / (frontier_j_per_th * cfg.pue)
        self.pipeline.append((step + lead_steps, ths, frontier_j_per_th))
        return mw


def clearing_hashprice(reward_usd_per_day: float, supply_ths) -> float:
    """The hashprice (USD/PH/day) at which the hashrate miners choose to run earns it.

    Solves ``hp = reward / (supply(hp) in PH/s)`` by bisection on log(hp); ``supply`` is
    non-decreasing in hp, so the root is unique. With no machines at all, returns the
    hashprice one TH/s would earn.
    """
    lo, hi = 1e-6, 1e9
    if supply_ths(hi) <= 0:
        return reward_usd_per_day / 1e-3
    for _ in range(80):
        mid = math.sqrt(lo * hi)
        if mid * supply_ths(mid) / 1000.0 < reward_usd_per_day:
            lo = mid
        else:
            hi = mid
        if hi / lo < 1.0 + 1e-9:
            break
    return math.sqrt(lo * hi)


def choose_destination(origin: str, candidates: list[tuple[str, float]], scale_usd_per_kwh: float,
                       u: float) -> str | None:
    """A relocation destination, chosen with probability ~ exp(-tariff / scale).

    ``candidates`` are (country, tariff) pairs that allow mining and have room; ``u`` is a
    uniform draw from the miners' stream.
    """
    options = [(c, t) for c, t in candidates if c != origin]
    if not options:
        return None
    tariffs = np.array([t for _, t in options])
    w = np.exp(-(tariffs - tariffs.min()) / scale_usd_per_kwh)
    idx = int(np.searchsorted(np.cumsum(w) / w.sum(), u, side="right"))
    return options[min(idx, len(options) - 1)][0]
