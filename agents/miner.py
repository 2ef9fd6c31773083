"""Miner: a country's mining fleet (:class:`MinerFleet`), by vintage of machine, and the
mining sector (:class:`MiningSector`), which holds the fleets and runs the miners' phase
of the week across them.

Units: hashrate in TH/s (reported in EH/s), efficiency in J/TH, power in MW, prices in
USD/kWh, hashprice in USD per PH/s per day.

Each step, in this order (:meth:`MiningSector.step`); each rule's equations are stated
once, in the docstring of the function named with it (docs/ODD.md 7.3 points here):

1. **Arrivals.** Ordered machines (after ``lead_time_weeks``) and relocated machines
   (in equal parts over ``relocation_weeks``) join the fleet (:meth:`MinerFleet.receive_arrivals`).
2. **Ban.** When the host bans mining (a ``mining_ban`` shock, or stance 0), the legal
   fleet splits (:meth:`MinerFleet.respond_to_ban`): ``relocate_share`` moves to another
   country, the cheaper its power and the more room it has the likelier, among hosts that
   allow mining and have power (:meth:`MiningSector.relocate`, :func:`choose_destination`),
   ``underground_share`` keeps running illegally and is seized at the host's
   ``mining_enforcement_per_year``, the rest exits. Orders in the pipeline are cancelled.
   When the ban ends, the underground fleet becomes legal again.
3. **Operate.** First each country's power for the week is split between AI data centres
   and mining by willingness to pay (:meth:`MiningSector.allocate_power`, ``agents/power.py``).
   A vintage runs when the hashprice beats its cash operating cost, the power bill plus
   the other cash costs (:func:`cash_cost_usd_per_th_day`); sites' tariffs spread by
   ``+-cost_spread`` around the country's, so a vintage switches off gradually
   (:func:`running_share`), and each week miners close only
   ``switch_share_per_week`` of the gap between the share running and the share that
   pays (curtailment and restart take time; without it the fleet and difficulty
   oscillate). Miners switch on and off against the *clearing* hashprice, the one at which
   the hashrate they would run earns exactly the day's block reward (a fixed point
   found by bisection, :func:`clearing_hashprice`), not against last week's difficulty:
   decisions on a lagged difficulty make the fleet and the difficulty chase each other.
   Revenue is earned at the difficulty's hashprice, as on the real network. Idle machines
   retire at ``idle_retire_per_year``. Legal operation never draws more than the host's
   MW allowance (:meth:`MinerFleet.operate`).
4. **Expand.** Orders are judged at the hashprice expected when the machines arrive
   (:meth:`MiningSector.expected_hashprice`: the clearing hashprice, the reward then, every
   pipeline joining the network). New machines come at the frontier efficiency (improving
   by ``efficiency_improvement_per_year``); what one would earn over its life against its
   price and site (:func:`capital_usd_per_th`), above a hurdle, sets an attractiveness
   (:func:`attractiveness`), which scales orders: a share of the free MW where the host caps power, a share of the MW a
   year the country can add (``capacity_mw_per_year``: sites, grid, hosting) where it does
   not (:meth:`MinerFleet.order`). Investment so goes where the return is and there is
   room, and no fleet's growth compounds on its own size. A fleet whose host bans mining
   but that still mines underground reinvests at ``underground_investment_factor`` of that.

Rest-of-world fleets follow the same rule, so the region's entry lowers everyone's
hashprice through difficulty.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING

import mesa
import numpy as np

from agents.ordered_sums import fleet_layout, fleet_sums
from agents.power import merit_order, mining_bid_usd_per_mwh, power_cap_mw, seasonal_surplus_mw
from model.units import DAYS_PER_WEEK, DAYS_PER_YEAR, HOURS_PER_DAY, PH_PER_TH, TH_PER_EH, TH_PER_PH, W_PER_KW, W_PER_MW

if TYPE_CHECKING:  # agents see the model only through self.model
    from model.config import MiningConfig


KWH_PER_TH_DAY_PER_J = HOURS_PER_DAY / W_PER_KW  # 1 J/TH at 1 TH/s for 24 h = 0.024 kWh


def energy_cost_usd_per_th_day(efficiency_j_per_th, pue: float, tariff_usd_per_kwh: float):
    """Power cost of one TH/s for a day, USD: ``power(e, tariff) = e x pue x 0.024 x tariff``
    (1 J/TH at 1 TH/s for 24 h is 0.024 kWh)."""
    return np.asarray(efficiency_j_per_th) * pue * KWH_PER_TH_DAY_PER_J * tariff_usd_per_kwh


def cash_cost_usd_per_th_day(efficiency_j_per_th, cfg: MiningConfig, tariff_usd_per_kwh: float):
    """Cash operating cost of one TH/s for a day, USD: ``cost(e, tariff) = power(e, tariff) /
    power_share_of_cash_cost``, the power bill plus the other cash costs (staff, maintenance,
    hosting), which ``power_share_of_cash_cost`` sizes from it (power is ~80% of miners' cash
    costs, CCAF 2025)."""
    return energy_cost_usd_per_th_day(efficiency_j_per_th, cfg.pue, tariff_usd_per_kwh) / cfg.power_share_of_cash_cost


def power_mw(ths, efficiency_j_per_th, pue: float) -> float:
    """Wall power of a fleet, MW: ``MW(ths, e) = sum ths x e x pue / 1e6`` (TH/s x J/TH = W)."""
    return float(np.sum(np.asarray(ths) * np.asarray(efficiency_j_per_th)) * pue / W_PER_MW)


#: Sites a country's attractiveness averages over: midpoints of equal slices of +-cost_spread.
SITES = 8


def capital_usd_per_th(efficiency_j_per_th: float, cfg: MiningConfig) -> float:
    """Capital for one TH/s of new machines, USD: the machine and the site it needs,

        capex(e) = machine_price_usd_per_w x e + buildout_usd_per_mw x e x pue / 1e6

    (a machine of e J/TH draws e W per TH/s; its site is sized for the wall power)."""
    return cfg.machine_price_usd_per_w * efficiency_j_per_th \
        + cfg.buildout_usd_per_mw * efficiency_j_per_th * cfg.pue / W_PER_MW


def attractiveness(hashprice_usd_per_ph_day: float, cost_usd_per_th_day: float, capex_usd_per_th: float,
                   cfg: MiningConfig) -> float:
    """How much a country's miners want new machines, 0-1: the return of a new machine over
    its life against its price. At the hashprice ``H`` (USD/PH/day) expected when it
    arrives, its cash cost per TH/s per day at the country's tariff, spread over the
    country's sites within ``+-cost_spread`` (``SITES`` midpoints ``u_j``, as for running,
    :func:`running_share`), and its capital ``capex`` per TH/s (:func:`capital_usd_per_th`)::

        return_j = (H / 1000 - cost x (1 + u_j)) x 365.25 x machine_life_years / capex - 1
        A = mean_j clip((return_j - hurdle_margin) / margin_scale, 0, 1)

    Capital does not scale with the power tariff, so cheap power lowers the bar by what it
    saves, not in proportion; a slightly dearer country keeps the sites that still pay."""
    u = cfg.cost_spread * ((np.arange(SITES) + 0.5) / SITES * 2.0 - 1.0)
    earned = (hashprice_usd_per_ph_day / TH_PER_PH - cost_usd_per_th_day * (1.0 + u)) * DAYS_PER_YEAR
    ret = earned * cfg.machine_life_years / capex_usd_per_th - 1.0
    return float(np.mean(np.clip((ret - cfg.hurdle_margin) / cfg.margin_scale, 0.0, 1.0)))


def running_share(revenue_usd_per_th_day: float, cost_usd_per_th_day, spread: float) -> np.ndarray:
    """Share of a vintage that covers its cash operating cost.

    Sites of one vintage pay tariffs spread uniformly within ``+-spread`` of the mean, so
    the share running rises linearly from 0 (revenue at ``(1 - spread) x cost``) to 1
    (revenue at ``(1 + spread) x cost``) rather than switching all at once. With revenue
    per TH/s per day ``H / 1000`` at hashprice ``H`` (USD/PH/day):

        ratio_v = (H / 1000) / cost(e_v, tariff)
        sigma_v = clip((ratio_v - (1 - spread)) / (2 x spread), 0, 1)   (spread = 0: 1 if ratio_v > 1, else 0)
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
        # (arrival step, TH/s, J/TH, underground): orders and relocations under way
        self.pipeline: list[tuple[int, float, float, bool]] = []
        self.operating_ths = 0.0
        self.underground_operating_ths = 0.0
        self.operating_mw = 0.0
        self.curtailed_mw = 0.0  # MW the running machines wanted but the power cap denied
        self.revenue_usd = 0.0
        self.banned = underground  # the fleet has answered a ban of its host
        self._relocating = np.zeros(0)  # TH/s by vintage leaving in a ban response, until taken

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
        """Add machines to the vintage of the same efficiency (``np.isclose``: relative
        tolerance 1e-5), or as a new vintage switched on."""
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
        """Pipeline entries due at or before ``step`` join the fleet (:meth:`add_vintage`):
        the legal fleet, or the underground one for machines ordered underground while the
        host still does not allow mining."""
        due = [p for p in self.pipeline if p[0] <= step]
        self.pipeline = [p for p in self.pipeline if p[0] > step]
        for _, ths, eff, underground in due:
            self.add_vintage(ths, eff, underground=underground and not self.host.mining_allowed)

    def respond_to_ban(self, cfg: MiningConfig) -> tuple[float, float, float]:
        """Answer a ban of the host: split the legal fleet by vintage, cancel the pipeline.

            relocating_v   = legal_ths_v x relocate_share
            underground_v += legal_ths_v x underground_share
            legal_ths_v    = 0;   pipeline cancelled
            exiting        = legal total x (1 - relocate_share - underground_share) + the cancelled pipeline

        Returns the TH/s totals (relocating, underground, exiting); the relocating machines
        are handed back by the caller through :meth:`take_relocating`.
        """
        legal = self.legal_ths.copy()
        self._relocating = legal * cfg.relocate_share
        self.underground_ths += legal * cfg.underground_share
        self.legal_ths[:] = 0.0
        cancelled = sum(ths for _, ths, _, _ in self.pipeline)
        self.pipeline = []
        exiting = legal.sum() * (1.0 - cfg.relocate_share - cfg.underground_share) + cancelled
        return float(self._relocating.sum()), float(legal.sum() * cfg.underground_share), float(exiting)

    def take_relocating(self) -> list[tuple[float, float]]:
        """The (TH/s, J/TH) by vintage that left in the last ban response."""
        out = [(float(t), float(e)) for t, e in zip(self._relocating, self.eff) if t > 0]
        self._relocating = np.zeros(0)
        return out

    def legalise_underground(self) -> None:
        """Mining is legal again (ban ended, stance above 0): the underground machines become legal."""
        self.legal_ths += self.underground_ths
        self.underground_ths[:] = 0.0

    def wanted_mw(self, hashprice_usd_per_ph_day: float) -> float:
        """MW the legal fleet would draw at a hashprice, with no cap."""
        cfg = self.model.config.mining
        cost = cash_cost_usd_per_th_day(self.eff, cfg, self.host.mining_tariff_usd_per_kwh)
        share = running_share(hashprice_usd_per_ph_day / TH_PER_PH, cost, cfg.cost_spread)
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
        cost = cash_cost_usd_per_th_day(self.eff, cfg, self.host.mining_tariff_usd_per_kwh)
        share = running_share(hashprice_usd_per_ph_day / TH_PER_PH, cost, cfg.cost_spread)
        legal = share * self.legal_ths
        mw = power_mw(legal, self.eff, cfg.pue)
        scale = allowance_mw / mw if allowance_mw is not None and mw > allowance_mw else 1.0
        return float(legal.sum() * scale + (share * self.underground_ths).sum())

    def operate(self, hashprice_usd_per_ph_day: float, allowance_mw: float | None,
                revenue_hashprice_usd_per_ph_day: float | None = None) -> None:
        """Run the vintages that cover their cash operating cost at ``hashprice`` (at the
        host's tariff), legal ones within ``allowance_mw``; idle (and retire) the others; the
        host seizes underground machines at its enforcement rate. Revenue is earned at
        ``revenue_hashprice`` (the difficulty's), which defaults to the same hashprice.

        With ``H*`` the hashprice (the clearing one), ``H_d`` the revenue hashprice
        (docs/ODD.md 7.6) and ``sigma_v`` the running share (:func:`running_share`)::

            speed      = 1 - (1 - switch_share_per_week) ^ (step_days / 7)
            running_v <- running_v + speed x (sigma_v(H*) - running_v)
            legal_on_v = running_v x legal_ths_v, scaled down pro rata if MW(legal_on) > allowance_mw
            underground_ths_v <- underground_ths_v x exp(-mining_enforcement_per_year x dt)
            ug_on_v    = running_v x underground_ths_v
            operating_ths = sum legal_on + sum ug_on;   operating_mw = MW(legal_on) + MW(ug_on)
            revenue_usd   = operating_ths x (H_d / 1000) x step_days
            retire_v   = (1 - running_v) x (1 - exp(-idle_retire_per_year x dt))
            legal_ths_v, underground_ths_v <- x (1 - retire_v)       (after the output is computed)

        Underground machines ignore the allowance. Machines held back only by the allowance
        are not idle and do not retire; the MW they wanted is ``curtailed_mw``.
        """
        cfg, host = self.model.config.mining, self.host
        dt_years, step_days = self.model.dt_years, self.model.step_days
        cost = cash_cost_usd_per_th_day(self.eff, cfg, host.mining_tariff_usd_per_kwh)
        target = running_share(hashprice_usd_per_ph_day / TH_PER_PH, cost, cfg.cost_spread)
        speed = 1.0 - (1.0 - cfg.switch_share_per_week) ** (step_days / DAYS_PER_WEEK)
        on = self.running + speed * (target - self.running)
        self.running = on
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
        self.operating_ths = float(legal_on.sum() + ug_on.sum())
        self.underground_operating_ths = float(ug_on.sum())
        self.operating_mw = power_mw(legal_on, self.eff, cfg.pue) + power_mw(ug_on, self.eff, cfg.pue)
        earned = hashprice_usd_per_ph_day if revenue_hashprice_usd_per_ph_day is None \
            else revenue_hashprice_usd_per_ph_day
        self.revenue_usd = self.operating_ths * earned / TH_PER_PH * step_days

    def order(self, hashprice_usd_per_ph_day: float, allowance_mw: float | None, frontier_j_per_th: float,
              lead_steps: int, capacity_mw_per_year: float, *, underground: bool = False) -> float:
        """Order new frontier machines, arriving ``lead_steps`` from now; returns the MW ordered.

        ``A`` is :func:`attractiveness` at ``hashprice`` (the one expected at arrival,
        :meth:`MiningSector.expected_hashprice`), the cash cost of a frontier machine at the
        host's tariff and its capital, times ``underground_investment_factor``
        for an ``underground`` order (a fleet whose host bans mining reinvests at a penalty:
        hidden sites, seizure risk); no order if ``A = 0``. Where the host caps power for
        mining (``allowance_mw``, the MW the fleet may plan for) the allocation is filled;
        elsewhere the country adds at most ``capacity_mw_per_year`` (its sites and grid:
        ``mining.capacity_mw_per_year``), whatever the size of its fleet::

            headroom = max(0, allowance_mw - MW(legal_ths) - MW(pipeline))
            capped:   mw = A x (1 - exp(-fill_per_year x dt)) x headroom       (never more than headroom)
            uncapped or underground: mw = A x capacity_mw_per_year x dt
            order mw x 1e6 / (frontier x pue) TH/s at the frontier efficiency

        So new investment goes where the return is and the country has room, and a fleet's
        growth does not compound on its own size.
        """
        cfg, dt_years, step = self.model.config.mining, self.model.dt_years, self.model.t
        cost = float(cash_cost_usd_per_th_day(frontier_j_per_th, cfg, self.host.mining_tariff_usd_per_kwh))
        a = attractiveness(hashprice_usd_per_ph_day, cost, capital_usd_per_th(frontier_j_per_th, cfg), cfg)
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
        ths = mw * W_PER_MW / (frontier_j_per_th * cfg.pue)
        self.pipeline.append((step + lead_steps, ths, frontier_j_per_th, underground))
        return mw


def clearing_hashprice(reward_usd_per_day: float, supply_ths, *, lookahead: int = 1) -> float:
    """The clearing hashprice ``H*`` (USD/PH/day) at which the hashrate miners choose to run
    earns the day's reward: ``H x supply(H) / 1000 = reward_usd_per_day`` (``supply`` in TH/s).

    Bisection on ``log H`` over [1e-6, 1e9] (at most 80 halvings, to a relative width of
    1e-9); ``supply`` is non-decreasing in ``H``, so the root is unique. If ``supply(1e9) =
    0`` (no machine would run), returns ``reward_usd_per_day / 1e-3``, the hashprice one TH/s
    would earn.

    With ``lookahead = d > 1``, ``supply_ths`` takes an array of hashprices and returns
    their supplies: the midpoints the next ``d`` halvings could visit (``2^d - 1`` of them,
    each ``sqrt(lo x hi)`` of its own bracket) are evaluated in one call, then the same
    halvings are taken, so the result is the same bit for bit; only the calls are fewer.
    """
    lo, hi = 1e-6, 1e9
    if lookahead <= 1:
        if supply_ths(hi) <= 0:
            return reward_usd_per_day / PH_PER_TH
        for _ in range(80):
            mid = math.sqrt(lo * hi)
            if mid * supply_ths(mid) / TH_PER_PH < reward_usd_per_day:
                lo = mid
            else:
                hi = mid
            if hi / lo < 1.0 + 1e-9:
                break
        return math.sqrt(lo * hi)
    rounds, first = 0, True
    while rounds < 80:
        depth = min(lookahead, 80 - rounds)
        # The tree of brackets the next `depth` halvings could reach, breadth first:
        # node i's children are 2i + 1 (lo <- mid) and 2i + 2 (hi <- mid).
        brackets, mids = [(lo, hi)], []
        for i in range(2 ** depth - 1):
            b_lo, b_hi = brackets[i]
            mid = math.sqrt(b_lo * b_hi)
            mids.append(mid)
            brackets += [(mid, b_hi), (b_lo, mid)]
        points = [hi] + mids if first else mids
        supplies = np.asarray(supply_ths(np.array(points)), dtype=float).tolist()
        if first:
            if supplies[0] <= 0:
                return reward_usd_per_day / PH_PER_TH
            supplies, first = supplies[1:], False
        node = 0
        for _ in range(depth):
            mid = mids[node]
            if mid * supplies[node] / TH_PER_PH < reward_usd_per_day:
                lo, node = mid, 2 * node + 1
            else:
                hi, node = mid, 2 * node + 2
            rounds += 1
            if hi / lo < 1.0 + 1e-9:
                return math.sqrt(lo * hi)
    return math.sqrt(lo * hi)


class FleetSupply:
    """All fleets' supply at a hashprice as one vectorised expression over the (fleet,
    vintage) pairs: ``supply(H) = sum_f MinerFleet.supply_ths(H, cap_f)`` over ``fleets``
    (pairs of fleet and MW cap, None: uncapped), the same numbers bit for bit.

    Built from the fleets as they are (the vintages concatenated, with their host's cash
    cost), so it is rebuilt whenever they change (each clearing). Called with a hashprice
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
        self.cost = cash_cost_usd_per_th_day(self.eff, cfg, tariff)
        self.caps = np.array([np.nan if cap is None else cap for _, cap in fleets], dtype=float)

    def wanted_mw(self, hashprice_usd_per_ph_day: float) -> list[float]:
        """Each fleet's :meth:`MinerFleet.wanted_mw` at a hashprice (the MW its legal fleet
        would draw, no cap), the same numbers."""
        if self.layout is None:
            return [f.wanted_mw(hashprice_usd_per_ph_day) for f, _ in self.fleets]
        cfg = self.cfg
        share = running_share(hashprice_usd_per_ph_day / TH_PER_PH, self.cost, cfg.cost_spread)
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
        share = running_share(revenue, self.cost, cfg.cost_spread)  # (hashprice, vintage)
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


def choose_destination(origin: str, candidates: list[tuple[str, float, float]], scale_usd_per_kwh: float,
                       u: float) -> str | None:
    """A relocation destination among ``candidates`` other than ``origin``; None if there is none.

    ``candidates`` are (country ``k``, tariff ``tau_k``, room ``R_k`` > 0, MW) triples of
    hosts that allow mining, have power and room; ``u``, a uniform draw from the miners'
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


class MiningSector:
    """The miners' rules across all fleets, in the order of the miners' phase of the week:
    arrivals, answers to bans (relocation), power allocation against AI data centres, the
    clearing hashprice, then every fleet operates and orders (see the module's docstring).

    Holds the fleets (``fleets``, by country, in scenario order) and what the week's
    clearing saw: the difficulty's hashprice and difficulty, the clearing hashprice, each
    country's MW cap for mining and mining's bid for power.
    """

    LOOKAHEAD = 4  # halvings of the clearing bisection evaluated per call of the fleets' supply

    def __init__(self, model: mesa.Model, fleets: dict[str, MinerFleet]):
        self.model = model
        self.fleets = fleets
        self.hashprice_usd_per_ph_day = 0.0  # the difficulty's, as this week's revenue is earned
        self.difficulty = 0.0
        self.clearing_hashprice_usd_per_ph_day: float | None = None  # None before the first clearing
        self.mining_cap_mw: dict[str, float | None] = {}  # MW legal mining may draw this week (None: no cap)
        self.mining_bid_usd_per_mwh: dict[str, float] = {}

    @property
    def network_hashrate_ehs(self) -> float:
        return sum(f.operating_ths for f in self.fleets.values()) / TH_PER_EH

    def step(self) -> None:
        """Arrivals, ban transitions, then every fleet operates and orders (:meth:`operate`);
        finally the network's operating hashrate (EH/s) joins the difficulty history.

        A fleet whose host does not allow mining (``mining_banned`` or stance 0) and has not
        yet answered a ban responds (:meth:`MinerFleet.respond_to_ban`), its relocating
        machines arriving ``move = ceil(relocation_weeks x 7 / step_days)`` steps later
        (:meth:`relocate`); one whose host allows mining again legalises its underground
        machines.
        """
        model = self.model
        cfg = model.config.mining
        move = math.ceil(cfg.relocation_weeks * DAYS_PER_WEEK / model.step_days)
        for fleet in self.fleets.values():
            fleet.receive_arrivals(model.t)
        for code, fleet in self.fleets.items():
            c = model.countries[code]
            if not c.mining_allowed and not fleet.banned:
                fleet.banned = True
                relocating, underground, exiting = fleet.respond_to_ban(cfg)
                model.log(code, "miners_banned", None, None,
                          f"ban: {relocating / TH_PER_EH:.1f} EH/s relocating, {underground / TH_PER_EH:.1f} EH/s "
                          f"underground, {exiting / TH_PER_EH:.1f} EH/s exiting (incl. cancelled orders)")
                self.relocate(code, fleet.take_relocating(), move, cfg)
            elif c.mining_allowed and fleet.banned:
                fleet.banned = False
                fleet.legalise_underground()
        self.operate(order=True)
        model.market.record_hashrate(self.network_hashrate_ehs)

    def operate(self, *, order: bool) -> None:
        """Switch machines against the clearing hashprice; earn at the difficulty's.

        Power is split (:meth:`allocate_power`) and the clearing hashprice found
        (:meth:`clearing_hashprice`); every fleet operates (:meth:`MinerFleet.operate`, all
        at once: :meth:`operate_fleets`) and, with ``order``, orders (:meth:`order`)
        arriving :attr:`lead_steps` later. Then each country's
        ``mining_revenue_usd_per_year = revenue_usd / dt``.
        """
        model = self.model
        self.hashprice_usd_per_ph_day = model.market.hashprice_usd_per_ph_day
        self.difficulty = model.market.difficulty
        self.allocate_power()
        clearing = self.clearing_hashprice()
        self.clearing_hashprice_usd_per_ph_day = clearing
        if not self.operate_fleets(clearing):
            for code, fleet in self.fleets.items():
                fleet.operate(clearing, self.mining_cap_mw[code],
                              revenue_hashprice_usd_per_ph_day=self.hashprice_usd_per_ph_day)
        if order:
            self.order(self.lead_steps)
        for code, fleet in self.fleets.items():
            model.countries[code].mining_revenue_usd_per_year = fleet.revenue_usd / model.dt_years

    @property
    def lead_steps(self) -> int:
        """Steps from order to arrival: ``ceil(lead_time_weeks x 7 / step_days)``."""
        return math.ceil(self.model.config.mining.lead_time_weeks * DAYS_PER_WEEK / self.model.step_days)

    def order(self, arrival_steps: int) -> None:
        """Every fleet orders (:meth:`MinerFleet.order`) at this week's clearing hashprice
        within its country's ``capacity_mw_per_year`` (0 where the scenario names none), legal
        machines where the host allows mining, underground ones (at a penalty) where it does
        not but the fleet still mines there; machines arrive ``arrival_steps`` from now at

            frontier(t) = frontier_efficiency_j_per_th
                          x (1 - efficiency_improvement_per_year) ^ (calendar year of t - start year)

        (machines bought in the same year share a vintage, and an efficiency)."""
        model = self.model
        cfg = model.config.mining
        years = model.date.year - model.dates[0].year
        frontier = cfg.frontier_efficiency_j_per_th * (1.0 - cfg.efficiency_improvement_per_year) ** years
        expected = self.expected_hashprice(arrival_steps)
        for code, fleet in self.fleets.items():
            capacity = self.capacity_mw_per_year(code)
            if model.countries[code].mining_allowed:
                fleet.order(expected, self.planning_mw(code), frontier, arrival_steps, capacity)
            elif fleet.underground_ths.sum() > 0:
                fleet.order(expected, None, frontier, arrival_steps, capacity, underground=True)

    def expected_hashprice(self, arrival_steps: int) -> float:
        """The hashprice miners expect when machines ordered now arrive, ``arrival_steps``
        from now: this week's clearing hashprice ``H*``, the reward then (a halving on the
        way counts; price and fees as now) and every fleet's pipeline joining the network::

            H_arr = H* x reward(t + arrival) / reward(t) x S / (S + P)

        with ``S`` the network's operating TH/s and ``P`` all the TH/s in the pipelines."""
        model = self.model
        market = model.market
        arrival = model.date + dt.timedelta(days=arrival_steps * model.step_days)
        running = sum(f.operating_ths for f in self.fleets.values())
        coming = sum(ths for f in self.fleets.values() for _, ths, _, _ in f.pipeline)
        share = running / (running + coming) if running + coming > 0 else 1.0
        return (self.clearing_hashprice_usd_per_ph_day * market.reward_btc_per_day_at(arrival)
                / market.reward_btc_per_day * share)

    def capacity_mw_per_year(self, code: str) -> float:
        """The MW a year country ``code`` can add where power is not capped, this week:

            capacity_k(t) = capacity_mw_per_year_k x exp(capacity_growth_per_year x (t - 1 Jan capacity_base_year))

        (t in years; 0 for a country the scenario does not name)."""
        cfg = self.model.config.mining
        years = (self.model.date - dt.date(cfg.capacity_base_year, 1, 1)).days / DAYS_PER_YEAR
        return cfg.capacity_mw_per_year.get(code, 0.0) * math.exp(cfg.capacity_growth_per_year * years)

    def warm_start(self) -> None:
        """Fill the order pipeline as if the ordering rule had run in each of the lead time's
        weeks before the start, at the start's clearing hashprice: orders arriving at steps
        1, 2, ..., ``lead_steps`` (:meth:`order` once for each). Without it a run starts with
        an empty pipeline and no machine arrives in its first lead time, which a fit of the
        lead time to a backtest then mistakes for a short lead time. Called after the
        first clearing (step 0); a no-op unless ``warm_start_pipeline``."""
        if self.model.config.mining.warm_start_pipeline:
            for arrival in range(1, self.lead_steps + 1):
                self.order(arrival)

    def operate_fleets(self, clearing_usd_per_ph_day: float) -> bool:
        """:meth:`MinerFleet.operate` for every fleet at once, over all fleets' vintages
        concatenated (its equations, the same numbers bit for bit: per-fleet sums as numpy's,
        :func:`~agents.ordered_sums.fleet_sums`), at the clearing hashprice, under this week's caps, earning at the
        difficulty's hashprice. Returns False, having done nothing, where there is no layout
        (:func:`~agents.ordered_sums.fleet_layout`); the caller then operates fleet by fleet."""
        model = self.model
        cfg = model.config.mining
        codes, fleets = list(self.fleets), list(self.fleets.values())
        lengths = tuple(len(f.eff) for f in fleets)
        layout = fleet_layout(lengths)
        if layout is None:
            return False
        n = sum(lengths)
        dt_years, step_days = model.dt_years, model.step_days
        hosts = [f.host for f in fleets]
        caps = np.array([np.nan if (cap := self.mining_cap_mw[code]) is None else cap for code in codes])
        eff = np.concatenate([f.eff for f in fleets])
        legal = np.concatenate([f.legal_ths for f in fleets])
        underground = np.concatenate([f.underground_ths for f in fleets])
        running = np.concatenate([f.running for f in fleets])
        cost = cash_cost_usd_per_th_day(eff, cfg, np.repeat([h.mining_tariff_usd_per_kwh for h in hosts], lengths))
        target = running_share(clearing_usd_per_ph_day / TH_PER_PH, cost, cfg.cost_spread)
        speed = 1.0 - (1.0 - cfg.switch_share_per_week) ** (step_days / DAYS_PER_WEEK)
        on = running + speed * (target - running)
        values = np.zeros((4, n + 1))
        legal_on = values[1, :n]
        np.multiply(on, legal, out=legal_on)
        np.multiply(legal_on, eff, out=values[0, :n])
        mw = fleet_sums(values[0], layout) * cfg.pue / W_PER_MW
        capped = mw > caps
        curtailed = np.zeros(len(fleets))
        if capped.any():
            factor = np.ones(len(fleets))
            with np.errstate(divide="ignore", invalid="ignore"):
                factor[capped] = np.where(mw[capped] > 0, caps[capped] / mw[capped], 0.0)
            legal_on *= np.repeat(factor, lengths)
            curtailed[capped] = mw[capped] - caps[capped]
            np.multiply(legal_on, eff, out=values[0, :n])
        underground = underground * np.repeat(
            [math.exp(-h.mining_enforcement_per_year * dt_years) for h in hosts], lengths)
        ug_on = values[3, :n]
        np.multiply(on, underground, out=ug_on)
        np.multiply(ug_on, eff, out=values[2, :n])
        retire = (1.0 - on) * (1.0 - math.exp(-cfg.idle_retire_per_year * dt_years))
        legal = legal * (1.0 - retire)
        underground = underground * (1.0 - retire)
        # sums[0]: MW(legal_on) x 1e6 / pue, [1]: legal_on, [2]: MW(ug_on) x 1e6 / pue, [3]: ug_on
        sums = fleet_sums(values, layout)
        legal_mw = (sums[0] * cfg.pue / W_PER_MW).tolist()
        ug_mw = (sums[2] * cfg.pue / W_PER_MW).tolist()
        operating = (sums[1] + sums[3]).tolist()
        ug_ths = sums[3].tolist()
        curtailed = curtailed.tolist()
        cuts = np.cumsum(lengths)[:-1]
        earned = self.hashprice_usd_per_ph_day
        for i, (fleet, r, lg, ug) in enumerate(zip(fleets, np.split(on, cuts), np.split(legal, cuts),
                                                    np.split(underground, cuts))):
            fleet.running, fleet.legal_ths, fleet.underground_ths = r, lg, ug
            fleet.curtailed_mw = curtailed[i]
            fleet.operating_ths = operating[i]
            fleet.underground_operating_ths = ug_ths[i]
            fleet.operating_mw = legal_mw[i] + ug_mw[i]
            fleet.revenue_usd = operating[i] * earned / TH_PER_PH * step_days
        return True

    def allocate_power(self) -> None:
        """Split each country's power for the week between AI data centres and mining.

        The cap is the allocation, no more than the seasonal surplus; bidders are served by
        willingness to pay (miners bid what a MWh earns them at last week's clearing
        hashprice). A power emergency leaves legal mining nothing.
        """
        model = self.model
        cfg = model.config.mining
        hashprice = (self.hashprice_usd_per_ph_day if self.clearing_hashprice_usd_per_ph_day is None
                     else self.clearing_hashprice_usd_per_ph_day)
        self.mining_cap_mw = {}
        self.mining_bid_usd_per_mwh = {}
        codes = list(model.countries)
        every_fleet = FleetSupply([(self.fleets[code], None) for code in codes], cfg)
        wanted_mw = dict(zip(codes, every_fleet.wanted_mw(hashprice)))
        for code, c in model.countries.items():
            fleet = self.fleets[code]
            cap = power_cap_mw(c.mining_allowance_mw, seasonal_surplus_mw(
                model.date, c.power_surplus_winter_mw, c.power_surplus_summer_mw, c.winter_peak_month))
            centres = [d for d in model.datacentres if d.country == code]
            wanted = wanted_mw[code]  # fleet.wanted_mw(hashprice), for all fleets at once
            bids = [(str(i), d.built_mw(model.t), d.willingness_to_pay_usd_per_mwh) for i, d in enumerate(centres)]
            self.mining_bid_usd_per_mwh[code] = mining_bid_usd_per_mwh(hashprice, fleet.mean_efficiency(), cfg.pue,
                                                                       cfg.power_share_of_cash_cost)
            bids.append(("mining", wanted, self.mining_bid_usd_per_mwh[code]))
            served = merit_order(cap, bids)
            for i, d in enumerate(centres):
                d.served_mw = served[str(i)]
            # Mining may use whatever the higher bidders leave (all of it if it outbids them).
            mining = None if cap is None else max(0.0, cap - sum(d.served_mw for d in centres))
            self.mining_cap_mw[code] = 0.0 if c.power_emergency_until is not None else mining

    def planning_mw(self, code: str) -> float | None:
        """The MW miners may plan new machines for: the allocation less the claims (built
        or not) of data centres that outbid them."""
        allowance = self.model.countries[code].mining_allowance_mw
        if allowance is None:
            return None
        claimed = sum(d.committed_mw() for d in self.model.datacentres
                      if d.country == code and d.willingness_to_pay_usd_per_mwh > self.mining_bid_usd_per_mwh[code])
        return max(0.0, allowance - claimed)

    def clearing_hashprice(self) -> float:
        """The hashprice at which the fleets' chosen hashrate earns the day's reward
        (:func:`clearing_hashprice`): the supply of every fleet with installed machines
        (:meth:`MinerFleet.supply_ths` under its country's cap for mining this week), the
        reward the day's BTC (``Market.reward_btc_per_day``) at today's price. The fleets'
        supply is evaluated all at once (:class:`FleetSupply`, the same numbers as fleet by
        fleet), ``LOOKAHEAD`` halvings per call."""
        model = self.model
        fleets = [(f, self.mining_cap_mw[code]) for code, f in self.fleets.items() if f.installed_ths > 0]
        return clearing_hashprice(model.market.reward_btc_per_day * model.market.price_usd,
                                  FleetSupply(fleets, model.config.mining), lookahead=self.LOOKAHEAD)

    def relocate(self, origin: str, machines: list[tuple[float, float]], move_steps: int, cfg) -> None:
        """Send relocating machines, vintage by vintage, to hosts that allow mining, have
        power and room; what finds no room exits. Called only in the step of the ban.

        Candidates are the countries that allow mining and are not in a power emergency,
        with room: free MW in a capped host (:meth:`MinerFleet.headroom_mw`), the MW a
        year it can add (``capacity_mw_per_year``) in an uncapped one. Each vintage ``v``
        draws its host ``k`` (:func:`choose_destination`, one uniform from the miners'
        stream: the cheaper the power and the larger the room, the likelier). What goes
        there,

            arriving = min(relocating_v x (1 - relocation_loss), headroom_k x 1e6 / (e_v x pue))   TH/s

        (no headroom limit where uncapped), arrives in equal parts over steps 1, ..., ``move_steps``
        from now (machines are moved site by site over months, not all at once). What finds no
        candidate, does not fit or is lost in transit is logged as one ``miners_exit`` event;
        arrivals as one ``miners_relocate`` event per host.
        """
        model = self.model
        rng = model.streams["miners"]
        arriving_at: dict[str, float] = {}
        lost = 0.0
        steps = max(move_steps, 1)
        for ths, eff in machines:
            candidates = []
            for code, c in model.countries.items():
                if not c.mining_allowed or c.power_emergency_until is not None:
                    continue
                room = (self.capacity_mw_per_year(code) if c.mining_allowance_mw is None
                        else self.fleets[code].headroom_mw(c.mining_allowance_mw, cfg.pue))
                if room > 0:
                    candidates.append((code, c.mining_tariff_usd_per_kwh, room))
            dest = choose_destination(origin, candidates, cfg.relocation_choice_scale_usd_per_kwh, rng.random())
            if dest is None:
                lost += ths
                continue
            moving = ths * (1.0 - cfg.relocation_loss)
            room_mw = self.fleets[dest].headroom_mw(model.countries[dest].mining_allowance_mw, cfg.pue)
            fits = min(moving, room_mw * W_PER_MW / (eff * cfg.pue))
            lost += ths - fits
            self.fleets[dest].pipeline.extend((model.t + k, fits / steps, eff, False) for k in range(1, steps + 1))
            arriving_at[dest] = arriving_at.get(dest, 0.0) + fits
        for dest, ths in arriving_at.items():
            model.log(origin, "miners_relocate", origin, dest,
                      f"{ths / TH_PER_EH:.2f} EH/s arriving over the next {steps} steps")
        if lost > 0:
            model.log(origin, "miners_exit", None, None,
                      f"{lost / TH_PER_EH:.2f} EH/s lost in transit or found no host with room")
