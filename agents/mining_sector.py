"""The mining sector (:class:`MiningSector`): the miners' phase of the week across all fleets.

It holds the fleets (:class:`~agents.miner.MinerFleet`, one per country) and runs, in
order, arrivals, answers to bans (relocation), the power split against AI data centres,
the clearing hashprice, then every fleet operates and orders. The order of the step and
the reasons for it are in the docstring of ``agents/miner.py``; the fleet's own rules and
their vectorised forms over all fleets stay there, this module holds what spans countries:
the clearing, the power split, where new machines go and where banned ones move.
"""

from __future__ import annotations

import datetime as dt
import math

import mesa
import numpy as np

from agents.miner import (
    FleetSupply,
    MinerFleet,
    PipelineSupply,
    attractiveness,
    choose_destination,
    clearing_hashprice,
    running_share,
)
from agents.ordered_sums import fleet_sums
from agents.power import merit_order, mining_bid_usd_per_mwh, power_cap_mw, seasonal_surplus_mw
from model.mining_costs import capital_usd_per_th, cash_cost_usd_per_th_day
from model.units import DAYS_PER_WEEK, DAYS_PER_YEAR, TH_PER_EH, TH_PER_PH, W_PER_MW


class MiningSector:
    """The miners' rules across all fleets, in the order of the miners' phase of the week:
    arrivals, answers to bans (relocation), power allocation against AI data centres, the
    clearing hashprice, then every fleet operates and orders (see the module's docstring).

    Holds the fleets (``fleets``, by country, in scenario order) and what the week's
    clearing saw: the difficulty's hashprice and difficulty, the clearing hashprice, each
    country's MW cap for mining and mining's bid for power.
    """

    def __init__(self, model: mesa.Model, fleets: dict[str, MinerFleet]):
        self.model = model
        self.fleets = fleets
        self.hashprice_usd_per_ph_day = 0.0  # the difficulty's, as this week's revenue is earned
        self.difficulty = 0.0
        self.clearing_hashprice_usd_per_ph_day: float | None = None  # None before the first clearing
        self.supply: FleetSupply | None = None  # the fleets' supply at the last clearing, under its caps
        self.mining_cap_mw: dict[str, float | None] = {}  # MW legal mining may draw this week (None: no cap)
        self.mining_bid_usd_per_mwh: dict[str, float] = {}
        self._last_reward_usd = 0.0  # the day's reward at the last clearing (for the next one's guess)

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
        machines. A fleet whose host has just entered a power emergency sends
        ``emergency_relocate_share`` of its legal machines away in the same way
        (:meth:`MinerFleet.depart`), and the MW a year the country can add is multiplied by
        ``emergency_capacity_factor`` from then on (:meth:`capacity_mw_per_year`).
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
            cut = c.power_emergency_until is not None
            if cut and not fleet.cut_off:
                fleet.capacity_factor *= cfg.emergency_capacity_factor
                leaving = fleet.depart(cfg.emergency_relocate_share)
                model.log(code, "miners_power_cut", None, None,
                          f"power cut: {sum(t for t, _ in leaving) / TH_PER_EH:.1f} EH/s relocating; "
                          f"the MW a year the country can add x {cfg.emergency_capacity_factor:.3g}")
                self.relocate(code, leaving, move, cfg)
            fleet.cut_off = cut
        self.operate(order=True)
        model.market.record_hashrate(self.network_hashrate_ehs)

    def operate(self, *, order: bool) -> None:
        """Switch machines against the difficulty's hashprice, the one they earn.

        Power is split (:meth:`allocate_power`) and the clearing hashprice found
        (:meth:`clearing_hashprice`: it prices next week's bid for power and starts the
        expectation of orders); every fleet operates (:meth:`MinerFleet.operate`, all
        at once: :meth:`operate_fleets`), the machines of a host's seasonal move are taken off
        (:meth:`MinerFleet.pause`) and, with ``order``, every fleet orders (:meth:`order`)
        arriving :attr:`lead_steps` later. Then each country's
        ``mining_revenue_usd_per_year = revenue_usd / dt``.
        """
        model = self.model
        self.hashprice_usd_per_ph_day = model.market.hashprice_usd_per_ph_day
        self.difficulty = model.market.difficulty
        supply = FleetSupply([(f, None) for f in self.fleets.values()], model.config.mining)  # the week's fleets
        self.allocate_power(supply)
        supply.set_caps([self.mining_cap_mw[code] for code in self.fleets])
        clearing = self.clearing_hashprice(supply)
        self.clearing_hashprice_usd_per_ph_day, self.supply = clearing, supply
        if not self.operate_fleets(supply):
            for code, fleet in self.fleets.items():
                fleet.operate(self.hashprice_usd_per_ph_day, self.mining_cap_mw[code], self.switching_hashprice())
        for fleet in self.fleets.values():
            if fleet.host.moving_share > 0:
                fleet.pause(fleet.host.moving_share)
        if order:
            self.order(self.lead_steps)
        for code, fleet in self.fleets.items():
            model.countries[code].mining_revenue_usd_per_year = fleet.revenue_usd / model.dt_years

    def switching_hashprice(self) -> float:
        """The hashprice miners switch on this week (USD/PH/day)::

            H_s = (1 - switch_anticipation) x H_d + switch_anticipation x H*

        ``H_d`` the difficulty's (what runs earns this week), ``H*`` the clearing hashprice
        (the one the difficulty moves to as it catches up with the hashrate). A decision to
        switch holds for weeks (``switch_share_per_week``), over which the difficulty
        retargets, so the clearing one counts too (0.5 assumed: a retarget comes on average
        half-way through two weeks; the network does not tell the weight, docs/VALIDATION.md 1c).
        With 0, miners chase a difficulty two weeks behind and a fleet whose machines sit near
        their cost swings from one retarget to the next."""
        w, clearing = self.model.config.mining.switch_anticipation, self.clearing_hashprice_usd_per_ph_day
        if clearing is None:  # before the first clearing
            return self.hashprice_usd_per_ph_day
        return (1.0 - w) * self.hashprice_usd_per_ph_day + w * clearing

    @property
    def lead_steps(self) -> int:
        """Steps from order to arrival: ``ceil(lead_time_weeks x 7 / step_days)``."""
        return math.ceil(self.model.config.mining.lead_time_weeks * DAYS_PER_WEEK / self.model.step_days)

    def order(self, arrival_steps: int) -> None:
        """Every fleet orders (:meth:`MinerFleet.order`) at this week's clearing hashprice
        within the MW a year its country can add (:meth:`capacity_mw_per_year`), legal
        machines where the host allows mining, underground ones (at a penalty) where it does
        not but the fleet still mines there; machines arrive ``arrival_steps`` from now at
        :meth:`bought_j_per_th` (machines bought in the same year share a vintage, and an
        efficiency, unless a machine is released among them). Where the host
        allows mining and does not cap its power, the fleet first orders refills for the
        sites whose machines will not pay at the expected hashprice
        (:meth:`MinerFleet.place_refill`), at the attractiveness of the machine's price alone."""
        model = self.model
        cfg = model.config.mining
        bought = self.bought_j_per_th()
        expected = self.expected_hashprice(arrival_steps)
        tariffs = np.array([model.countries[code].mining_tariff_usd_per_kwh for code in self.fleets])
        cost = cash_cost_usd_per_th_day(bought, cfg, tariffs)
        wanted = attractiveness(expected, cost, capital_usd_per_th(bought, cfg), cfg).tolist()  # MinerFleet.order's
        refill = attractiveness(expected, cost, capital_usd_per_th(bought, cfg, site=False), cfg).tolist()
        for a, (code, fleet) in zip(refill, self.fleets.items()):
            host = model.countries[code]
            if a > 0 and host.mining_allowed and host.mining_allowance_mw is None:
                fleet.place_refill(a, fleet.refill_room_mw(expected), bought, arrival_steps)
        for a, (code, fleet) in zip(wanted, self.fleets.items()):
            capacity = self.capacity_mw_per_year(code)
            if model.countries[code].mining_allowed:
                fleet.place_order(a, self.planning_mw(code), bought, arrival_steps, capacity)
            elif fleet.underground_ths.sum() > 0:
                fleet.place_order(a, None, bought, arrival_steps, capacity, underground=True)

    def bought_j_per_th(self) -> float:
        """J/TH of the machines ordered this week: the best on sale's
        (:meth:`frontier_j_per_th`) times ``bought_over_best``. Most of the market buys the
        generations before the flagship, cheaper per TH, so the fleet a halving meets holds
        more machines near their cost than a fleet of flagships would."""
        return self.frontier_j_per_th() * self.model.config.mining.bought_over_best

    def frontier_j_per_th(self) -> float:
        """J/TH of the best machine on sale this week::

            frontier(t) = frontier_efficiency_j_per_th
                          x (1 - efficiency_improvement_per_year) ^ (calendar year of t - start year)

        or, where a machine of ``mining.releases`` dated on or before t is better, its J/TH:
        a new generation ships on a date (the S9 on 2016-06-01), and no order before it gets it."""
        model = self.model
        cfg = model.config.mining
        trend = cfg.frontier_efficiency_j_per_th * (1.0 - cfg.efficiency_improvement_per_year) ** (
            model.date.year - model.dates[0].year)
        return min([trend] + [r.efficiency_j_per_th for r in cfg.releases.values() if r.date <= model.date])

    def expected_hashprice(self, arrival_steps: int) -> float:
        """The hashprice miners expect when machines ordered now arrive, ``arrival_steps``
        from now: the clearing hashprice (:func:`clearing_hashprice`) at the reward then (a
        halving on the way counts; price and fees as now) for the supply of today's fleets
        under this week's caps (:attr:`supply`) plus every fleet's pipeline
        (:class:`PipelineSupply`)::

            H_arr x (supply(H_arr) + pipeline(H_arr)) / 1000 = reward(t + arrival) x price

        So machines that will not pay at the reward then count as switched off: a halving
        cuts the expected hashprice by less than half. The search starts from the guess
        ``H* x reward(t + arrival) / reward(t) x S / (S + P)`` (``H*`` this week's clearing
        hashprice, ``S`` the network's operating TH/s, ``P`` all the TH/s in the pipelines:
        everything keeps running), which it is where every machine pays."""
        model = self.model
        market = model.market
        arrival = model.date + dt.timedelta(days=arrival_steps * model.step_days)
        running = sum(f.operating_ths for f in self.fleets.values())
        coming = sum(p[1] for f in self.fleets.values() for p in f.pipeline + f.refills)
        share = running / (running + coming) if running + coming > 0 else 1.0
        guess = (self.clearing_hashprice_usd_per_ph_day * market.reward_btc_per_day_at(arrival)
                 / market.reward_btc_per_day * share)
        pipeline, supply = PipelineSupply(list(self.fleets.values()), model.config.mining), self.supply
        return clearing_hashprice(market.reward_btc_per_day_at(arrival) * market.price_usd,
                                  lambda h: supply(h) + pipeline(h), guess=guess)

    def capacity_mw_per_year(self, code: str) -> float:
        """The MW a year country ``code`` can add where power is not capped, this week:

            capacity_k(t) = capacity_k x exp(capacity_growth_per_year x (t - 1 Jan capacity_base_year))
                            x emergency_capacity_factor ^ (power emergencies the country has had)
                            x moratorium_capacity_factor (while a moratorium on new connections holds)
                            x nowcast.capacity_scale

        (``capacity_k`` from :meth:`~model.config.MiningConfig.capacity_of`: a country's own or
        its share of a ``capacity_split``, 0 for a country the scenario does not name; t in
        years; the fleet's ``capacity_factor`` holds the emergencies' term; the nowcast's scale,
        1 unless a scenario's first year is fitted, ``model.config.NowcastConfig``)."""
        cfg = self.model.config.mining
        moratorium = cfg.moratorium_capacity_factor if self.model.countries[code].mining_moratorium else 1.0
        return (cfg.capacity_of(code) * self.capacity_growth()
                * self.fleets[code].capacity_factor * moratorium * self.model.config.nowcast.capacity_scale)

    def capacity_growth(self) -> float:
        """``exp(capacity_growth_per_year x (t - 1 Jan capacity_base_year))`` this week."""
        cfg = self.model.config.mining
        years = (self.model.date - dt.date(cfg.capacity_base_year, 1, 1)).days / DAYS_PER_YEAR
        return math.exp(cfg.capacity_growth_per_year * years)

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

    def operate_fleets(self, supply: FleetSupply | None = None) -> bool:
        """:meth:`MinerFleet.operate` for every fleet at once, over all fleets' vintages
        concatenated (its equations, the same numbers bit for bit: per-fleet sums as numpy's,
        :func:`~agents.ordered_sums.fleet_sums`), at the difficulty's hashprice, under this
        week's caps. ``supply``: the week's :class:`FleetSupply` of every fleet
        (built here if not given). Returns False, having done nothing, where there is no layout
        (:func:`~agents.ordered_sums.fleet_layout`); the caller then operates fleet by fleet."""
        model = self.model
        cfg = model.config.mining
        fleets = list(self.fleets.values())
        if supply is None:
            supply = FleetSupply([(f, self.mining_cap_mw[code]) for code, f in self.fleets.items()], cfg)
        lengths, layout = supply.lengths, supply.layout
        if layout is None:
            return False
        n = supply.n
        dt_years, step_days = model.dt_years, model.step_days
        hosts = [f.host for f in fleets]
        caps, eff, legal, underground = supply.caps, supply.eff, supply.legal, supply.underground
        running, cost, kept = supply.running, supply.cost, supply.kept
        earned = self.hashprice_usd_per_ph_day
        target = running_share(self.switching_hashprice() / TH_PER_PH, cost, cfg.cost_spread, kept)
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
        kept = kept * (1.0 - retire)  # the idle machines retired are the dearest sites' (MinerFleet.operate)
        still_on = on / (1.0 - retire)
        # sums[0]: MW(legal_on) x 1e6 / pue, [1]: legal_on, [2]: MW(ug_on) x 1e6 / pue, [3]: ug_on
        sums = fleet_sums(values, layout)
        legal_mw = (sums[0] * cfg.pue / W_PER_MW).tolist()
        ug_mw = (sums[2] * cfg.pue / W_PER_MW).tolist()
        operating = (sums[1] + sums[3]).tolist()
        ug_ths = sums[3].tolist()
        curtailed = curtailed.tolist()
        ends = np.cumsum(lengths).tolist()
        for i, (fleet, start, end) in enumerate(zip(fleets, [0] + ends[:-1], ends)):
            part = slice(start, end)
            fleet.running, fleet.legal_ths, fleet.underground_ths = still_on[part], legal[part], underground[part]
            fleet.kept = kept[part]
            fleet.curtailed_mw = curtailed[i]
            fleet.operating_ths = operating[i]
            fleet.underground_operating_ths = ug_ths[i]
            fleet.operating_mw = legal_mw[i] + ug_mw[i]
            fleet.revenue_usd = operating[i] * earned / TH_PER_PH * step_days
        return True

    def allocate_power(self, supply: FleetSupply) -> None:
        """Split each country's power for the week between AI data centres and mining.

        The cap is the allocation, no more than the seasonal surplus; bidders are served by
        willingness to pay (miners bid what a MWh earns them at last week's clearing
        hashprice). A power emergency leaves legal mining nothing. ``supply``: the week's
        :class:`FleetSupply` of every fleet, in the countries' order.
        """
        model = self.model
        cfg = model.config.mining
        hashprice = (self.hashprice_usd_per_ph_day if self.clearing_hashprice_usd_per_ph_day is None
                     else self.clearing_hashprice_usd_per_ph_day)
        self.mining_cap_mw = {}
        self.mining_bid_usd_per_mwh = {}
        codes = list(model.countries)
        wanted_mw = dict(zip(codes, supply.wanted_mw(hashprice)))  # fleet.wanted_mw(hashprice), all at once
        efficiency = dict(zip(codes, supply.mean_efficiency()))  # fleet.mean_efficiency(), all at once
        centres_in: dict[str, list] = {}
        for d in model.datacentres:
            centres_in.setdefault(d.country, []).append(d)
        for code, c in model.countries.items():
            cap = power_cap_mw(c.mining_allowance_mw, seasonal_surplus_mw(
                model.date, c.power_surplus_winter_mw, c.power_surplus_summer_mw, c.winter_peak_month))
            centres = centres_in.get(code, [])
            self.mining_bid_usd_per_mwh[code] = mining_bid_usd_per_mwh(hashprice, efficiency[code], cfg.pue)
            if centres or cap is not None:  # else nothing to split: mining is uncapped and alone
                bids = [(str(i), d.built_mw(model.t), d.willingness_to_pay_usd_per_mwh) for i, d in enumerate(centres)]
                bids.append(("mining", wanted_mw[code], self.mining_bid_usd_per_mwh[code]))
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

    def clearing_hashprice(self, supply: FleetSupply) -> float:
        """The hashprice at which the fleets' chosen hashrate earns the day's reward
        (:func:`clearing_hashprice`): the supply of every fleet (``supply``, the week's
        :class:`FleetSupply`: :meth:`MinerFleet.supply_ths` under its country's cap for
        mining this week, all fleets at once, the same numbers as fleet by fleet; a fleet
        with no machines supplies exactly 0), the reward the day's BTC
        (``Market.reward_btc_per_day``) at today's price; evaluated in batches around last
        week's clearing hashprice scaled by the change of the day's reward in USD."""
        model = self.model
        reward = model.market.reward_btc_per_day * model.market.price_usd
        last, self._last_reward_usd = self._last_reward_usd, reward
        guess = (None if self.clearing_hashprice_usd_per_ph_day is None or not last
                 else self.clearing_hashprice_usd_per_ph_day * reward / last)
        return clearing_hashprice(reward, supply, guess=guess, kinks=supply.kinks())

    def relocate(self, origin: str, machines: list[tuple[float, float]], move_steps: int, cfg) -> None:
        """Send relocating machines, vintage by vintage, to hosts that allow mining, have
        power and room; what finds no room exits. Called only in the step of a ban or a power cut.

        Candidates are the countries that allow mining and are not in a power emergency,
        with room: free MW in a capped host (:meth:`MinerFleet.headroom_mw`), the MW a
        year it can add (``capacity_mw_per_year``) in an uncapped one. Each vintage ``v``
        draws its host ``k`` (:func:`choose_destination`, one uniform from the miners'
        stream: the cheaper the power and the larger the room, the likelier; a host under
        sanctions, ``sanctioned``, weighs its room at ``sanctioned_host_factor``: machines are
        imported and paid for in dollars). What goes there,

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
                weight = room * (cfg.sanctioned_host_factor if c.sanctioned else 1.0)
                if weight > 0:
                    candidates.append((code, c.mining_tariff_usd_per_kwh, weight))
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
