"""Miner: a country's mining fleet (:class:`MinerFleet`), by vintage of machine, its rules
and their vectorised forms over all fleets. The mining sector
(:class:`~agents.mining_sector.MiningSector`, ``agents/mining_sector.py``) holds the fleets
and runs the miners' phase of the week across them, in the order below.

Units: hashrate in TH/s (reported in EH/s), efficiency in J/TH, power in MW, prices in
USD/kWh, hashprice in USD per PH/s per day.

Each step, in this order (:meth:`~agents.mining_sector.MiningSector.step`); each rule's equations are stated
once, in the docstring of the function named with it (docs/ODD.md 7.3 points here):

1. **Arrivals.** Ordered machines (after ``lead_time_weeks``) and relocated machines
   (in equal parts over ``relocation_weeks``) join the fleet, refills in place of the
   least efficient machines (:meth:`MinerFleet.receive_arrivals`).
2. **Ban.** When the host bans mining (a ``mining_ban`` shock, or stance 0), the legal
   fleet splits (:meth:`MinerFleet.respond_to_ban`): ``relocate_share`` moves to another
   country, the cheaper its power and the more room it has the likelier, among hosts that
   allow mining and have power, a sanctioned host at a discount (:meth:`~agents.mining_sector.MiningSector.relocate`,
   :func:`choose_destination`),
   ``underground_share`` keeps running illegally and is seized at the host's
   ``mining_enforcement_per_year``, the rest exits. Orders and refills under way are cancelled.
   When the ban ends, the underground fleet becomes legal again. When a power emergency
   cuts the host's miners off, ``emergency_relocate_share`` of the legal fleet leaves in the
   same way (:meth:`MinerFleet.depart`); the rest idles until power returns, and the MW a
   year the country can add is multiplied by ``emergency_capacity_factor`` from then on (a
   grid that had to cut its miners off stops taking new ones: Kazakhstan from 2022).
3. **Operate.** First each country's power for the week is split between AI data centres
   and mining by willingness to pay (:meth:`~agents.mining_sector.MiningSector.allocate_power`, ``agents/power.py``).
   A vintage runs when the hashprice it earns this week (the difficulty's) beats what
   switching it off would save, its power bill (:func:`running_cost_usd_per_th_day`: staff,
   maintenance and the site are paid whether it runs or not); sites' tariffs spread by ``+-cost_spread`` around
   the country's, so a vintage switches off gradually (:func:`running_share`), and each
   week miners close only ``switch_share_per_week`` of the gap between the share running
   and the share that pays (curtailment and restart take time). Since a decision to switch
   holds for weeks, miners judge it on the hashprice over them
   (:meth:`~agents.mining_sector.MiningSector.switching_hashprice`): ``switch_anticipation``
   of the way from what they earn this week to the clearing hashprice the next retargets
   bring. Right after a halving the difficulty is still set for the hashrate before it, so
   the hashprice halves, marginal machines switch off, the difficulty falls and some come
   back (the dip and recovery of every halving). The partial switching and the anticipation
   keep the fleet from chasing the difficulty's lag (a cobweb where many machines sit near
   their cost). The *clearing* hashprice, the one at which the hashrate miners would
   run earns exactly the day's block reward (a fixed point found by bisection,
   :func:`clearing_hashprice`), prices mining's bid for power and starts the expectation
   of orders. Idle machines retire at ``idle_retire_per_year``; they are the ones on the
   dearest sites, so a vintage keeps the cheaper part of its range of sites (``kept``)
   and what runs keeps running. Legal operation never
   draws more than the host's MW allowance (:meth:`MinerFleet.operate`).
4. **Expand.** Orders are judged at the hashprice expected when the machines arrive
   (:meth:`~agents.mining_sector.MiningSector.expected_hashprice`: the clearing hashprice
   at the reward then, with every pipeline's machines joined to today's fleets,
   :class:`PipelineSupply`, so that machines that will not pay after a halving count as
   switched off). New machines come at ``bought_over_best`` times the frontier efficiency
   (the best on sale, improving by ``efficiency_improvement_per_year``, or stepping to a
   machine of ``mining.releases`` on its date:
   :meth:`~agents.mining_sector.MiningSector.bought_j_per_th`), since most of the market buys
   the generations before the flagship; what one would
   earn over its life against its price and site (:func:`capital_usd_per_th`), above a
   hurdle, sets an attractiveness (:func:`attractiveness`), which scales orders: a share of
   the free MW where the host caps power, a share of the MW a year the country can add
   (``capacity_mw_per_year``: sites, grid, hosting) where it does not (:meth:`MinerFleet.order`). Investment so goes
   where the return is and there is room, and no fleet's growth compounds on its own size.
   A fleet whose host bans mining but that still mines underground reinvests at
   ``underground_investment_factor`` of that. Where the host allows mining and does not cap
   its power, miners also refill the sites whose machines will not pay at the expected
   hashprice, at the machine's price alone (:meth:`MinerFleet.place_refill`); the new
   machines replace the least efficient ones when they arrive (:meth:`MinerFleet.swap_in`).

Rest-of-world fleets follow the same rule, so the region's entry lowers everyone's
hashprice through difficulty.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import mesa
import numpy as np

from agents.ordered_sums import fleet_layout, fleet_sums
from model.mining_costs import (
    capital_usd_per_th,
    cash_cost_usd_per_th_day,
    running_cost_usd_per_th_day,
)
from model.units import DAYS_PER_WEEK, DAYS_PER_YEAR, PH_PER_TH, TH_PER_PH, W_PER_MW

if TYPE_CHECKING:  # agents see the model only through self.model
    from model.config import MiningConfig


def power_mw(ths, efficiency_j_per_th, pue: float) -> float:
    """Wall power of a fleet, MW: ``MW(ths, e) = sum ths x e x pue / 1e6`` (TH/s x J/TH = W)."""
    return float(np.sum(np.asarray(ths) * np.asarray(efficiency_j_per_th)) * pue / W_PER_MW)


#: Sites a country's attractiveness averages over: midpoints of equal slices of +-cost_spread.
SITES = 8


def attractiveness(hashprice_usd_per_ph_day: float, cost_usd_per_th_day, capex_usd_per_th: float,
                   cfg: MiningConfig):
    """How much a country's miners want new machines, 0-1: the return of a new machine over
    its life against its price. At the hashprice ``H`` (USD/PH/day) expected when it
    arrives, its cash cost per TH/s per day at the country's tariff, spread over the
    country's sites within ``+-cost_spread`` (``SITES`` midpoints ``u_j``, as for running,
    :func:`running_share`), and its capital ``capex`` per TH/s (:func:`capital_usd_per_th`)::

        return_j = (H / 1000 - cost x (1 + u_j)) x 365.25 x machine_life_years / capex - 1
        A = mean_j clip((return_j - hurdle_margin) / margin_scale, 0, 1)

    Capital does not scale with the power tariff, so cheap power lowers the bar by what it
    saves, not in proportion; a slightly dearer country keeps the sites that still pay.

    A float for one cost; an array for an array of costs (one country each), the same numbers."""
    u = cfg.cost_spread * ((np.arange(SITES) + 0.5) / SITES * 2.0 - 1.0)
    cost = np.asarray(cost_usd_per_th_day, dtype=float)[..., None]
    earned = (hashprice_usd_per_ph_day / TH_PER_PH - cost * (1.0 + u)) * DAYS_PER_YEAR
    ret = earned * cfg.machine_life_years / capex_usd_per_th - 1.0
    a = np.mean(np.clip((ret - cfg.hurdle_margin) / cfg.margin_scale, 0.0, 1.0), axis=-1)
    return float(a) if a.ndim == 0 else a


def running_share(revenue_usd_per_th_day: float, cost_usd_per_th_day, spread: float, kept=1.0) -> np.ndarray:
    """Share of a vintage that covers its running cost (:func:`running_cost_usd_per_th_day`).

    A vintage arrives on sites whose tariffs spread uniformly within ``+-spread`` of the
    country's; as its idle machines are sold or scrapped it keeps the cheapest ``kept``
    of that range (:meth:`MinerFleet.operate`), so its sites run from ``(1 - spread)`` to
    ``top = 1 - spread + 2 x spread x kept`` times the tariff. The share running rises
    linearly from 0 (revenue at ``(1 - spread) x cost``) to 1 (revenue at ``top x cost``)
    rather than switching all at once. With revenue per TH/s per day ``H / 1000`` at
    hashprice ``H`` (USD/PH/day):

        ratio_v = (H / 1000) / cost(e_v, tariff)
        sigma_v = clip((ratio_v - (1 - spread)) / (2 x spread x kept_v), 0, 1)   (spread = 0: 1 if ratio_v > 1, else 0)
    """
    ratio = revenue_usd_per_th_day / np.asarray(cost_usd_per_th_day)
    if spread <= 0:
        return (ratio > 1.0).astype(float)
    return np.clip((ratio - (1.0 - spread)) / (2.0 * spread * np.asarray(kept)), 0.0, 1.0)


class MinerFleet(mesa.Agent):
    """All the mining in one country, by vintage of machine."""

    def __init__(self, model: mesa.Model, country: str, hashrate_ths: float,
                 vintages: list[tuple[float, float]], *, underground: bool = False, capacity_factor: float = 1.0):
        super().__init__(model)
        self.country = country
        self.eff = np.array([e for e, _ in vintages], dtype=float)
        legal = np.array([hashrate_ths * s for _, s in vintages], dtype=float)
        self.legal_ths = np.zeros_like(legal) if underground else legal
        self.underground_ths = legal if underground else np.zeros_like(legal)
        self.running = np.ones_like(legal)  # share of each vintage switched on
        self.kept = np.ones_like(legal)  # share of each vintage's range of sites it still holds, cheapest first
        # (arrival step, TH/s, J/TH, underground): orders and relocations under way
        self.pipeline: list[tuple[int, float, float, bool]] = []
        self.operating_ths = 0.0
        self.underground_operating_ths = 0.0
        self.operating_mw = 0.0
        self.curtailed_mw = 0.0  # MW the running machines wanted but the power cap denied
        self.revenue_usd = 0.0
        self.banned = underground  # the fleet has answered a ban of its host
        self.cut_off = False  # the fleet has answered a power emergency of its host
        self.capacity_factor = capacity_factor  # of the MW a year its country can add, after power emergencies
        self._relocating = np.zeros(0)  # TH/s by vintage leaving in a ban response, until taken
        # (arrival step, TH/s, J/TH): new machines ordered for sites already built, replacing old ones
        self.refills: list[tuple[int, float, float]] = []

    # ----------------------------------------------------------- bookkeeping
    @property
    def host(self):
        """The country the fleet mines in (its tariff, enforcement): a ``Country`` agent."""
        return self.model.countries[self.country]

    @property
    def installed_ths(self) -> float:
        return float(self.legal_ths.sum() + self.underground_ths.sum())

    def installed_mw(self, pue: float) -> float:
        return power_mw(self.legal_ths, self.eff, pue)

    def pipeline_mw(self, pue: float) -> float:
        return sum(ths * eff * pue / W_PER_MW for _, ths, eff, _ in self.pipeline)

    def headroom_mw(self, allowance_mw: float | None, pue: float) -> float:
        if allowance_mw is None:
            return math.inf
        return max(0.0, allowance_mw - self.installed_mw(pue) - self.pipeline_mw(pue))

    def add_vintage(self, ths: float, eff: float, *, underground: bool = False) -> None:
        """Add machines to the vintage of the same efficiency (as ``np.isclose``: within
        1e-8 + 1e-5 x eff), or as a new vintage switched on. New machines come on every site
        of the range (``kept`` 1); joined to a vintage that keeps less, the vintage keeps the
        TH/s-weighted mean of the two (one uniform range of the same mean tariff)."""
        match = np.flatnonzero(np.abs(self.eff - eff) <= 1e-8 + 1e-5 * abs(eff))
        if match.size:
            v = match[0]
            held = self.legal_ths[v] + self.underground_ths[v]
            if held + ths > 0:
                self.kept[v] = (held * self.kept[v] + ths) / (held + ths)
            target = self.underground_ths if underground else self.legal_ths
            target[v] += ths
            return
        self.eff = np.append(self.eff, eff)
        self.running = np.append(self.running, 1.0)
        self.kept = np.append(self.kept, 1.0)
        self.legal_ths = np.append(self.legal_ths, 0.0 if underground else ths)
        self.underground_ths = np.append(self.underground_ths, ths if underground else 0.0)

    def swap_in(self, ths: float, eff: float) -> None:
        """New machines (``ths`` TH/s at ``eff`` J/TH) go into sites already built: the least
        efficient legal machines less efficient than them are scrapped, vintage by vintage,
        until the MW scrapped equals the MW arriving (or none less efficient is left), then
        the new ones join (:meth:`add_vintage`)::

            free = ths x eff x pue / 1e6
            for v by J/TH, worst first, while free > 0 and e_v > eff:
                scrapped_v = min(MW(legal_ths_v), free)
                legal_ths_v x= 1 - scrapped_v / MW(legal_ths_v);   free -= scrapped_v
        """
        pue = self.model.config.mining.pue
        free = ths * eff * pue / W_PER_MW
        for v in np.argsort(-self.eff, kind="stable"):
            if free <= 0 or self.eff[v] <= eff:
                break
            mw = self.legal_ths[v] * self.eff[v] * pue / W_PER_MW
            if mw > 0:
                scrapped = min(mw, free)
                self.legal_ths[v] -= self.legal_ths[v] * scrapped / mw
                free -= scrapped
        self.add_vintage(ths, eff)

    # ----------------------------------------------------------- the rule
    def receive_arrivals(self, step: int) -> None:
        """Pipeline entries due at or before ``step`` join the fleet (:meth:`add_vintage`):
        the legal fleet, or the underground one for machines ordered underground while the
        host still does not allow mining. Refills due join the legal fleet in place of the
        machines they replace (:meth:`swap_in`) where the host allows mining (where it has
        just stopped, its ban response cancels them)."""
        if self.refills and self.host.mining_allowed:
            due = [r for r in self.refills if r[0] <= step]
            self.refills = [r for r in self.refills if r[0] > step]
            for _, ths, eff in due:
                self.swap_in(ths, eff)
        if not self.pipeline:
            return
        due = [p for p in self.pipeline if p[0] <= step]
        self.pipeline = [p for p in self.pipeline if p[0] > step]
        for _, ths, eff, underground in due:
            self.add_vintage(ths, eff, underground=underground and not self.host.mining_allowed)

    def respond_to_ban(self, cfg: MiningConfig) -> tuple[float, float, float]:
        """Answer a ban of the host: split the legal fleet by vintage, cancel the pipeline.

            relocating_v   = legal_ths_v x relocate_share
            underground_v += legal_ths_v x underground_share
            legal_ths_v    = 0;   pipeline and refills cancelled
            exiting        = legal total x (1 - relocate_share - underground_share) + the cancelled orders

        Returns the TH/s totals (relocating, underground, exiting); the relocating machines
        are handed back by the caller through :meth:`take_relocating`.
        """
        legal = self.legal_ths.copy()
        self._relocating = legal * cfg.relocate_share
        self.underground_ths += legal * cfg.underground_share
        self.legal_ths[:] = 0.0
        cancelled = sum(ths for _, ths, _, _ in self.pipeline) + sum(ths for _, ths, _ in self.refills)
        self.pipeline, self.refills = [], []
        exiting = legal.sum() * (1.0 - cfg.relocate_share - cfg.underground_share) + cancelled
        return float(self._relocating.sum()), float(legal.sum() * cfg.underground_share), float(exiting)

    def take_relocating(self) -> list[tuple[float, float]]:
        """The (TH/s, J/TH) by vintage that left in the last ban response."""
        out = [(float(t), float(e)) for t, e in zip(self._relocating, self.eff) if t > 0]
        self._relocating = np.zeros(0)
        return out

    def depart(self, share: float) -> list[tuple[float, float]]:
        """Send ``share`` of the legal fleet away, vintage by vintage (its host has cut its
        power): ``leaving_v = legal_ths_v x share``, ``legal_ths_v -= leaving_v``. Returns the
        (TH/s, J/TH) leaving, for the mining sector to relocate; the pipeline stays."""
        leaving = self.legal_ths * share
        self.legal_ths = self.legal_ths - leaving
        return [(float(t), float(e)) for t, e in zip(leaving, self.eff) if t > 0]

    def legalise_underground(self) -> None:
        """Mining is legal again (ban ended, stance above 0): the underground machines become legal."""
        self.legal_ths += self.underground_ths
        self.underground_ths[:] = 0.0

    def wanted_mw(self, hashprice_usd_per_ph_day: float) -> float:
        """MW the legal fleet would draw at a hashprice, with no cap."""
        cfg = self.model.config.mining
        cost = running_cost_usd_per_th_day(self.eff, cfg, self.host.mining_tariff_usd_per_kwh)
        share = running_share(hashprice_usd_per_ph_day / TH_PER_PH, cost, cfg.cost_spread, self.kept)
        return power_mw(share * self.legal_ths, self.eff, cfg.pue)

    def mean_efficiency(self) -> float:
        """Capacity-weighted J/TH of the legal fleet (the frontier-ish 20 J/TH if empty)."""
        total = self.legal_ths.sum()
        return float((self.legal_ths * self.eff).sum() / total) if total > 0 else float(self.eff.min(initial=20.0))

    def supply_ths(self, hashprice_usd_per_ph_day: float, allowance_mw: float | None) -> float:
        """TH/s this fleet would run at hashprice ``H`` (no switching delay) under a MW cap:

            supply(H) = k(H) x sum_v sigma_v(H) x legal_ths_v + sum_v sigma_v(H) x underground_ths_v
            k(H)      = min(1, allowance_mw / MW(sigma(H) x legal_ths))      (1 where uncapped: None)

        with ``sigma_v`` the running share (:func:`running_share`) at the host's tariff.
        """
        cfg = self.model.config.mining
        cost = running_cost_usd_per_th_day(self.eff, cfg, self.host.mining_tariff_usd_per_kwh)
        share = running_share(hashprice_usd_per_ph_day / TH_PER_PH, cost, cfg.cost_spread, self.kept)
        legal = share * self.legal_ths
        mw = power_mw(legal, self.eff, cfg.pue)
        scale = allowance_mw / mw if allowance_mw is not None and mw > allowance_mw else 1.0
        return float(legal.sum() * scale + (share * self.underground_ths).sum())

    def operate(self, hashprice_usd_per_ph_day: float, allowance_mw: float | None,
                switch_hashprice_usd_per_ph_day: float | None = None) -> None:
        """Run the vintages that cover their running cost (the power bill) at ``switch_hashprice``
        (:meth:`~agents.mining_sector.MiningSector.switching_hashprice`; ``hashprice`` if not
        given), at the host's tariff, legal ones within ``allowance_mw``; idle (and retire) the
        others; the host seizes underground machines at its enforcement rate. What runs earns
        ``hashprice``, the difficulty's.

        With ``H_d`` the hashprice (docs/ODD.md 7.6), ``H_s`` the switching hashprice and
        ``sigma_v`` the running share (:func:`running_share`)::

            speed      = 1 - (1 - switch_share_per_week) ^ (step_days / 7)
            running_v <- running_v + speed x (sigma_v(H_s) - running_v)
            legal_on_v = running_v x legal_ths_v, scaled down pro rata if MW(legal_on) > allowance_mw
            underground_ths_v <- underground_ths_v x exp(-mining_enforcement_per_year x dt)
            ug_on_v    = running_v x underground_ths_v
            operating_ths = sum legal_on + sum ug_on;   operating_mw = MW(legal_on) + MW(ug_on)
            revenue_usd   = operating_ths x (H_d / 1000) x step_days
            retire_v   = (1 - running_v) x (1 - exp(-idle_retire_per_year x dt))
            legal_ths_v, underground_ths_v, kept_v <- x (1 - retire_v)   (after the output is computed)
            running_v  <- running_v / (1 - retire_v)

        The machines retired are the idle ones, on the dearest sites: the vintage keeps the
        cheaper part of its range of sites (``kept``, :func:`running_share`) and what runs
        still runs. Underground machines ignore the allowance. Machines held back only by
        the allowance are not idle and do not retire; the MW they wanted is ``curtailed_mw``.
        """
        cfg, host = self.model.config.mining, self.host
        dt_years, step_days = self.model.dt_years, self.model.step_days
        cost = running_cost_usd_per_th_day(self.eff, cfg, host.mining_tariff_usd_per_kwh)
        switch = switch_hashprice_usd_per_ph_day
        if switch is None:
            switch = hashprice_usd_per_ph_day
        target = running_share(switch / TH_PER_PH, cost, cfg.cost_spread, self.kept)
        speed = 1.0 - (1.0 - cfg.switch_share_per_week) ** (step_days / DAYS_PER_WEEK)
        on = self.running + speed * (target - self.running)
        legal_on = on * self.legal_ths
        mw = power_mw(legal_on, self.eff, cfg.pue)
        self.curtailed_mw = 0.0
        if allowance_mw is not None and mw > allowance_mw:
            legal_on *= allowance_mw / mw if mw > 0 else 0.0
            self.curtailed_mw = mw - allowance_mw
        self.underground_ths *= math.exp(-host.mining_enforcement_per_year * dt_years)
        ug_on = on * self.underground_ths
        retire = (1.0 - on) * (1.0 - math.exp(-cfg.idle_retire_per_year * dt_years))
        self.legal_ths = self.legal_ths * (1.0 - retire)
        self.underground_ths = self.underground_ths * (1.0 - retire)
        self.kept = self.kept * (1.0 - retire)
        self.running = on / (1.0 - retire)
        self.operating_ths = float(legal_on.sum() + ug_on.sum())
        self.underground_operating_ths = float(ug_on.sum())
        self.operating_mw = power_mw(legal_on, self.eff, cfg.pue) + power_mw(ug_on, self.eff, cfg.pue)
        self.revenue_usd = self.operating_ths * hashprice_usd_per_ph_day / TH_PER_PH * step_days

    def pause(self, share: float) -> None:
        """Take ``share`` of the week's running machines off the network (a ``seasonal_move``
        within the host): their hashrate, power and revenue go; they keep their running state,
        are not idle (so do not retire) and run again when the move ends."""
        kept = 1.0 - share
        self.operating_ths *= kept
        self.underground_operating_ths *= kept
        self.operating_mw *= kept
        self.revenue_usd *= kept

    def order(self, hashprice_usd_per_ph_day: float, allowance_mw: float | None, bought_j_per_th: float,
              lead_steps: int, capacity_mw_per_year: float, *, underground: bool = False) -> float:
        """Order new machines of ``bought_j_per_th`` J/TH
        (:meth:`~agents.mining_sector.MiningSector.bought_j_per_th`), arriving ``lead_steps``
        from now; returns the MW ordered.

        ``A`` is :func:`attractiveness` at ``hashprice`` (the one expected at arrival,
        :meth:`~agents.mining_sector.MiningSector.expected_hashprice`), the cash cost of such a machine at the
        host's tariff and its capital, times ``underground_investment_factor``
        for an ``underground`` order (a fleet whose host bans mining reinvests at a penalty:
        hidden sites, seizure risk); no order if ``A = 0``. Where the host caps power for
        mining (``allowance_mw``, the MW the fleet may plan for) the allocation is filled;
        elsewhere the country adds at most ``capacity_mw_per_year`` (its sites and grid:
        ``mining.capacity_mw_per_year``), whatever the size of its fleet::

            headroom = max(0, allowance_mw - MW(legal_ths) - MW(pipeline))
            capped:   mw = A x (1 - exp(-fill_per_year x dt)) x headroom       (never more than headroom)
            uncapped or underground: mw = A x capacity_mw_per_year x dt
            order mw x 1e6 / (bought x pue) TH/s at that efficiency

        So new investment goes where the return is and the country has room, and a fleet's
        growth does not compound on its own size.
        """
        cfg = self.model.config.mining
        cost = float(cash_cost_usd_per_th_day(bought_j_per_th, cfg, self.host.mining_tariff_usd_per_kwh))
        a = attractiveness(hashprice_usd_per_ph_day, cost, capital_usd_per_th(bought_j_per_th, cfg), cfg)
        return self.place_order(a, allowance_mw, bought_j_per_th, lead_steps, capacity_mw_per_year,
                                underground=underground)

    def place_order(self, attractive: float, allowance_mw: float | None, bought_j_per_th: float,
                    lead_steps: int, capacity_mw_per_year: float, *, underground: bool = False) -> float:
        """:meth:`order` given the attractiveness ``A`` (the mining sector computes it for all
        fleets at once); returns the MW ordered."""
        cfg, dt_years, step = self.model.config.mining, self.model.dt_years, self.model.t
        a = attractive
        if underground:
            a *= cfg.underground_investment_factor
        if a <= 0:
            return 0.0
        if allowance_mw is None or underground:
            mw = a * capacity_mw_per_year * dt_years
        else:
            mw = a * (1.0 - math.exp(-cfg.fill_per_year * dt_years)) * self.headroom_mw(allowance_mw, cfg.pue)
        if mw <= 0:
            return 0.0
        ths = mw * W_PER_MW / (bought_j_per_th * cfg.pue)
        self.pipeline.append((step + lead_steps, ths, bought_j_per_th, underground))
        return mw

    def refill_room_mw(self, hashprice_usd_per_ph_day: float) -> float:
        """MW of the legal fleet's sites whose machines would not run at ``hashprice`` (the
        one expected when new machines arrive), less the MW of refills already under way::

            room = MW(legal_ths) - wanted_mw(H) - MW(refills)      (never below 0)

        the MW the legal fleet would leave idle (:meth:`wanted_mw`: what it would draw)."""
        pue = self.model.config.mining.pue
        coming = sum(ths * eff for _, ths, eff in self.refills) * pue / W_PER_MW
        return max(0.0, self.installed_mw(pue) - self.wanted_mw(hashprice_usd_per_ph_day) - coming)

    def place_refill(self, attractive: float, room_mw: float, bought_j_per_th: float, lead_steps: int) -> float:
        """Order new machines (``bought_j_per_th``) for sites already built, arriving ``lead_steps`` from now
        in place of old ones (:meth:`swap_in`); returns the MW ordered. ``A`` is
        :func:`attractiveness` with the machine's capital only (the site is there), ``room``
        :meth:`refill_room_mw`::

            mw = A x (1 - exp(-fill_per_year x dt)) x room

        (the pace at which a capped allocation's free MW is filled: the same sites-to-machines
        step). So before a halving miners replace the machines that will not pay after it, at
        a pace, and after it they refill the sites the old machines leave idle."""
        cfg = self.model.config.mining
        mw = attractive * (1.0 - math.exp(-cfg.fill_per_year * self.model.dt_years)) * room_mw
        if mw <= 0:
            return 0.0
        self.refills.append((self.model.t + lead_steps, mw * W_PER_MW / (bought_j_per_th * cfg.pue),
                             bought_j_per_th))
        return mw


#: Relative offsets of the points the clearing evaluates either side of its predicted root.
BRACKET_OFFSETS = tuple(sign * 10.0 ** -k for k in range(1, 11) for sign in (-1, 1))


def clearing_hashprice(reward_usd_per_day: float, supply_ths, *, guess: float | None = None,
                       kinks=None) -> float:
    """The clearing hashprice ``H*`` (USD/PH/day) at which the hashrate miners choose to run
    earns the day's reward: ``H x supply(H) / 1000 = reward_usd_per_day`` (``supply`` in TH/s).

    Bisection on ``log H`` over [1e-6, 1e9] (at most 80 halvings, to a relative width of
    1e-9); ``supply`` is non-decreasing in ``H``, so the root is unique. If ``supply(1e9) =
    0`` (no machine would run), returns ``reward_usd_per_day / 1e-3``, the hashprice one TH/s
    would earn.

    ``supply_ths`` takes an array of hashprices and returns their supplies. The halvings are
    the bisection's, bit for bit, but the supply is evaluated in a few batches rather than
    once per halving. The first batch holds points ever closer either side of ``guess`` (e.g.
    last week's clearing hashprice) out to +-10%, and the ``kinks`` of the supply within that
    window (where a vintage starts or stops switching on), so that the root is bracketed by
    points with no kink between them. The next batches hold the midpoints the bisection would
    visit if the root were at a prediction (the root of the supply interpolated linearly
    between the nearest evaluated points either side, exact where no kink lies between them)
    and points around that. A halving whose midpoint was not evaluated takes its side from
    the nearest evaluated point beyond it (``H x supply(H)`` does not decrease in ``H``); one
    within 1e-12 of the nearest evaluated points, or between them, is evaluated itself, so no
    side rests on rounding. A batch leaves out the points whose side is known already.
    """
    lo, hi = 1e-6, 1e9
    below: dict[float, bool] = {}  # evaluated hashprice -> it earns less than the reward
    earned: dict[float, float] = {}
    under, over = lo, math.inf  # the highest evaluated point below the reward, the lowest not below

    def evaluate(points: list[float]) -> None:
        nonlocal under, over
        h = np.array([p for p in dict.fromkeys(points) if p not in below and inferred(p) is None])
        e = h * np.asarray(supply_ths(h), dtype=float) / TH_PER_PH  # as h x supply / 1000 in floats
        less = e < reward_usd_per_day
        earned.update(zip(h.tolist(), e.tolist()))
        below.update(zip(h.tolist(), less.tolist()))
        under = max(under, h[less].max(initial=under))
        over = min(over, h[~less].min(initial=over))

    def inferred(h: float) -> bool | None:
        """Whether ``h`` earns less than the reward, read from the nearest evaluated point
        beyond it (None if ``h`` lies within 1e-12 of them or between them)."""
        if under > h * (1.0 + 1e-12):
            return True
        if over < h * (1.0 - 1e-12):
            return False
        return None

    def path(lo: float, hi: float, root: float) -> list[float]:
        """The midpoints the bisection visits from [lo, hi] if the root is at ``root``, and
        points ever closer either side of it (so that the next batch brackets the root tightly)."""
        mids = []
        while len(mids) < 80 and hi / lo >= 1.0 + 1e-9:
            mids.append(mid := math.sqrt(lo * hi))
            lo, hi = (mid, hi) if mid < root else (lo, mid)
        return mids + [root * (1.0 + d) for d in BRACKET_OFFSETS]

    def predicted_root() -> float:
        """Where ``H x supply(H) / 1000 = reward`` if supply is linear in ``H`` between the
        nearest evaluated points (it is, where no vintage starts or stops switching on between
        them): the root of ``k H^2 + (s_u - k u) H - 1000 x reward`` with ``s_u`` the supply at
        ``u`` (the point below) and ``k`` the supply's slope, clipped to the bracket."""
        if not math.isfinite(over):
            return math.sqrt(lo * hi)
        s_u, s_o = earned.get(under, 0.0) * TH_PER_PH / under, earned[over] * TH_PER_PH / over
        k = (s_o - s_u) / (over - under)
        b, c = s_u - k * under, reward_usd_per_day * TH_PER_PH
        disc = b * b + 4.0 * k * c
        root = 2.0 * c / (b + math.sqrt(disc)) if disc >= 0 and b + math.sqrt(disc) > 0 else math.sqrt(lo * hi)
        return min(max(root, under), over)

    if guess is not None and guess > 0:
        near = [] if kinks is None else [k for k in kinks if guess * 0.9 < k < guess * 1.1]
        evaluate([hi] + [guess * (1.0 + d) for d in BRACKET_OFFSETS] + near)
    else:
        evaluate([hi] + np.geomspace(lo, hi, 64)[1:-1].tolist())
    if earned[hi] <= 0:
        return reward_usd_per_day / PH_PER_TH
    for _ in range(80):
        mid = math.sqrt(lo * hi)
        known = below[mid] if mid in below else inferred(mid)
        if known is None:  # between the nearest evaluated points: predict the root from them
            evaluate([mid] + path(lo, hi, predicted_root()))
            known = below[mid]
        lo, hi = (mid, hi) if known else (lo, mid)
        if hi / lo < 1.0 + 1e-9:
            break
    return math.sqrt(lo * hi)


class FleetSupply:
    """All fleets' supply at a hashprice as one vectorised expression over the (fleet,
    vintage) pairs: ``supply(H) = sum_f MinerFleet.supply_ths(H, cap_f)`` over ``fleets``
    (pairs of fleet and MW cap, None: uncapped), the same numbers bit for bit.

    Built from the fleets as they are (the vintages concatenated, with their running
    cost at their host's tariff), so it is rebuilt whenever they change: the mining sector builds one a week, after
    arrivals and bans, for the power split, the clearing and operation. Called with a hashprice
    it returns a float; with an array of hashprices, an array. Each fleet's sums over its
    vintages repeat numpy's own order (:func:`~agents.ordered_sums.fleet_sums`) and the fleets are added in
    order with Python's ``sum``, as fleet by fleet. Without a layout (a fleet of more than
    128 vintages, or no fleets) it sums :meth:`MinerFleet.supply_ths` fleet by fleet.
    """

    def __init__(self, fleets: list[tuple[MinerFleet, float | None]], cfg: MiningConfig):
        self.fleets = fleets
        self.cfg = cfg
        lengths = tuple(len(f.eff) for f, _ in fleets)
        self.layout = fleet_layout(lengths)
        if self.layout is None:
            return
        self.n = sum(lengths)
        self.eff = np.concatenate([f.eff for f, _ in fleets])
        self.legal = np.concatenate([f.legal_ths for f, _ in fleets])
        self.underground = np.concatenate([f.underground_ths for f, _ in fleets])
        tariff = np.repeat([f.host.mining_tariff_usd_per_kwh for f, _ in fleets], lengths)
        self.cost = running_cost_usd_per_th_day(self.eff, cfg, tariff)
        self.caps = np.array([np.nan if cap is None else cap for _, cap in fleets], dtype=float)
        self.running = np.concatenate([f.running for f, _ in fleets])
        self.kept = np.concatenate([f.kept for f, _ in fleets])
        self.lengths = lengths

    def kinks(self) -> list[float] | None:
        """The hashprices (USD/PH/day) where a vintage starts or stops switching on
        (:func:`running_share`: revenue at ``(1 - spread) x cost`` and at the top of the sites
        it keeps, ``(1 - spread + 2 x spread x kept) x cost``), sorted: between two of them
        supply is linear in the hashprice unless a cap starts or stops binding."""
        if self.layout is None:
            return None
        spread = max(self.cfg.cost_spread, 0.0)
        top = 1.0 - spread + 2.0 * spread * self.kept
        return np.sort(np.concatenate([self.cost * (1.0 - spread), self.cost * top]) * TH_PER_PH).tolist()

    def set_caps(self, caps: list[float | None]) -> None:
        """This week's MW caps, one per fleet (None: uncapped), e.g. after the power split."""
        self.caps = np.array([np.nan if cap is None else cap for cap in caps], dtype=float)

    def mean_efficiency(self) -> list[float]:
        """Each fleet's :meth:`MinerFleet.mean_efficiency`, the same numbers."""
        if self.layout is None:
            return [f.mean_efficiency() for f, _ in self.fleets]
        values = np.zeros((2, self.n + 1))
        values[0, :self.n] = self.legal
        np.multiply(self.legal, self.eff, out=values[1, :self.n])
        total, weighted = fleet_sums(values, self.layout).tolist()
        return [w / t if t > 0 else float(f.eff.min(initial=20.0))
                for (f, _), t, w in zip(self.fleets, total, weighted)]

    def wanted_mw(self, hashprice_usd_per_ph_day: float) -> list[float]:
        """Each fleet's :meth:`MinerFleet.wanted_mw` at a hashprice (the MW its legal fleet
        would draw, no cap), the same numbers."""
        if self.layout is None:
            return [f.wanted_mw(hashprice_usd_per_ph_day) for f, _ in self.fleets]
        cfg = self.cfg
        share = running_share(hashprice_usd_per_ph_day / TH_PER_PH, self.cost, cfg.cost_spread, self.kept)
        values = np.zeros(self.n + 1)
        np.multiply(np.multiply(share, self.legal), self.eff, out=values[:self.n])
        return (fleet_sums(values, self.layout) * cfg.pue / W_PER_MW).tolist()

    def __call__(self, hashprice_usd_per_ph_day):
        if self.layout is None:
            def one(hp: float) -> float:
                return sum(f.supply_ths(hp, cap) for f, cap in self.fleets)
            if np.ndim(hashprice_usd_per_ph_day):
                return np.array([one(float(hp)) for hp in hashprice_usd_per_ph_day], dtype=float)
            return one(hashprice_usd_per_ph_day)
        cfg = self.cfg
        hps = np.asarray(hashprice_usd_per_ph_day, dtype=float)
        revenue = (hps.reshape(-1) / TH_PER_PH)[:, None]
        share = running_share(revenue, self.cost, cfg.cost_spread, self.kept)  # (hashprice, vintage)
        values = np.zeros((3, share.shape[0], self.n + 1))
        legal = np.multiply(share, self.legal, out=values[1, :, :self.n])
        np.multiply(legal, self.eff, out=values[0, :, :self.n])
        np.multiply(share, self.underground, out=values[2, :, :self.n])
        sums = fleet_sums(values, self.layout)  # (3, hashprice, fleet)
        mw = sums[0] * cfg.pue / W_PER_MW
        capped = mw > self.caps
        scale = np.ones_like(mw)
        if capped.any():
            scale[capped] = np.broadcast_to(self.caps, mw.shape)[capped] / mw[capped]
        per_fleet = (sums[1] * scale + sums[2]).tolist()
        supply = [sum(row) for row in per_fleet]  # Python's sum, as fleet by fleet
        return supply[0] if hps.ndim == 0 else np.array(supply)


class PipelineSupply:
    """The TH/s the machines in every fleet's pipeline would run at a hashprice once they
    have arrived: ``supply(H) = sum_p sigma_p(H) x ths_p`` over the pipeline entries ``p``
    (orders and relocations, legal or underground, and refills: the machines they replace
    are the ones that would not run), each at the running cost of its efficiency
    at its host's tariff (:func:`running_share`; no MW cap: orders in a capped host are
    sized to fit its allowance). Called with a hashprice it returns a float; with an array
    of hashprices, an array."""

    def __init__(self, fleets: list[MinerFleet], cfg: MiningConfig):
        entries = [(ths, eff, f.host.mining_tariff_usd_per_kwh) for f in fleets
                   for _, ths, eff, *_ in (*f.pipeline, *f.refills)]
        ths, eff, tariff = (np.array(column, dtype=float) for column in zip(*entries)) if entries \
            else (np.zeros(0),) * 3
        self.ths = ths
        self.cost = running_cost_usd_per_th_day(eff, cfg, tariff)
        self.spread = cfg.cost_spread

    def __call__(self, hashprice_usd_per_ph_day):
        hps = np.asarray(hashprice_usd_per_ph_day, dtype=float)
        supply = running_share((hps.reshape(-1) / TH_PER_PH)[:, None], self.cost, self.spread) @ self.ths
        return float(supply[0]) if hps.ndim == 0 else supply


def choose_destination(origin: str, candidates: list[tuple[str, float, float]], scale_usd_per_kwh: float,
                       u: float) -> str | None:
    """A relocation destination among ``candidates`` other than ``origin``; None if there is none.

    ``candidates`` are (country ``k``, tariff ``tau_k``, room ``R_k`` > 0, MW) triples of
    hosts that allow mining, have power and room (a sanctioned host's room already
    discounted by the caller); ``u``, a uniform draw from the miners'
    stream, picks ``k`` with ``P(k)`` proportional to
    ``R_k x exp(-(tau_k - min tau) / scale_usd_per_kwh)``: the return (power is the cost
    that differs between hosts) and the room to put machines in.
    """
    options = [(c, t, r) for c, t, r in candidates if c != origin]
    if not options:
        return None
    tariffs = np.array([t for _, t, _ in options])
    w = np.array([r for _, _, r in options]) * np.exp(-(tariffs - tariffs.min()) / scale_usd_per_kwh)
    idx = int(np.searchsorted(np.cumsum(w) / w.sum(), u, side="right"))
    return options[min(idx, len(options) - 1)][0]
