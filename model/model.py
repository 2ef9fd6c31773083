"""The regional adoption model: builds the agents from a scenario and runs the weekly step.

The order of one step is in :meth:`CryptoAdoptionModel.step` and nowhere else:
market -> dated shocks -> countries -> exchanges -> miners -> households -> trading -> record.
"""

from __future__ import annotations

import datetime as dt
import math
import zlib
from typing import Any, Iterable, Mapping

import mesa
import numpy as np
import pandas as pd

from agents.country import Country
from agents.datacentre import DataCentre
from agents.exchange import P2P, Exchange, split_volume
from agents.household import (Household, HouseholdArrays, adoption_by_block, adoption_step, block_rank,
                              exact_share, incentive_recruits, innovation_rates)
from agents.miner import MinerFleet, choose_destination, clearing_hashprice
from agents.remittance import crypto_share
from model.config import STANCE_NAMES, ScenarioConfig
from model.country_network import build_country_graph, neighbour_weights
from model.market import Market
from model.memory import check_fits, expected_ties
from model.power import merit_order, mining_bid_usd_per_mwh, power_cap_mw, seasonal_surplus_mw
from model.recorder import WORLD, Recorder
from model.scenario import Scenario, load_scenario, show_value
from model.social_graph import build_social_graph

# Spawned in this order from the run's seed; a new stream goes at the end, so adding one
# leaves the others' draws unchanged.
STREAMS = ("market", "countries", "miners", "exchanges", "households", "incidents")
EVENT_COLUMNS = ["date", "country", "kind", "from", "to", "cause"]


def _amount(x: float) -> str:
    """A quantity for the event log: 4000.0 -> "4,000", 2500.5 -> "2,500.5"."""
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.6g}"


def run_dates(start: dt.date, end: dt.date, step_days: int) -> list[dt.date]:
    n = (end - start).days // step_days
    return [start + dt.timedelta(days=step_days * k) for k in range(n + 1)]


def share_households(total: int, floor: int, populations: np.ndarray) -> np.ndarray:
    """Household agents per country: ``floor`` each, the rest by population (largest remainder)."""
    k = len(populations)
    rest = total - floor * k
    if rest < 0:
        raise ValueError("households below floor x countries")
    exact = rest * populations / populations.sum()
    n = np.floor(exact).astype(np.int64)
    n[np.argsort(-(exact - n), kind="stable")[: rest - n.sum()]] += 1
    return n + floor


def root_seed(rng: Any) -> int:
    """The run's root seed from Mesa's ``rng`` argument: a whole number >= 0 as given,
    ``None`` for fresh entropy from the OS (recorded as ``model.seed``, so the run can be
    repeated), or a numpy Generator to draw one from."""
    if rng is None:
        return int(np.random.SeedSequence().entropy)
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(2**63))
    if isinstance(rng, bool) or not isinstance(rng, (int, np.integer)) or rng < 0:
        raise ValueError(f"rng/seed must be a whole number >= 0, None or a numpy Generator (got {rng!r})")
    return int(rng)


class CryptoAdoptionModel(mesa.Model):
    """Countries, miner fleets, exchanges and households over a country network.

    Arguments are keyword-only with defaults, as Mesa's ``batch_run`` passes them.
    ``scenario_name`` is a name in ``experiments/scenarios/`` or a path; ``overrides`` maps
    dotted parameter paths to values; ``config`` (a loaded :class:`~model.scenario.Scenario`)
    takes precedence over both. ``rng`` is the root seed as in Mesa 3.5 (``seed`` is its
    alias): ``None`` draws one from the OS and records it as ``model.seed``.
    """

    def __init__(self, *, scenario_name: str = "south_asia_2025", rng: Any = None, seed: Any = None,
                 households: int | None = None,
                 overrides: Mapping[str, Any] | Iterable[str] | None = None,
                 config: Scenario | None = None):
        if rng is not None and seed is not None:
            raise ValueError("give rng or seed (its alias), not both")
        seed = root_seed(rng if rng is not None else seed)
        if config is None:
            extra = dict(_as_mapping(overrides))
            if households is not None:
                extra["run.households"] = int(households)
            config = load_scenario(scenario_name, extra)
        elif households is not None:
            raise ValueError("give households through the scenario when passing config")
        super().__init__(rng=seed)
        self.spec = config  # not `scenario`: Mesa's Model owns that name
        self.config: ScenarioConfig = config.config
        self.seed = seed
        cfg = self.config
        self.streams = dict(zip(STREAMS, (np.random.default_rng(s) for s in
                                          np.random.SeedSequence(seed).spawn(len(STREAMS)))))
        self.dates = run_dates(cfg.run.start, cfg.run.end, cfg.run.step_days)
        self.step_days = cfg.run.step_days
        self.dt_years = self.step_days / 365.25
        self.t = 0
        self.events: list[dict[str, Any]] = []

        csv = config.resolve_path(cfg.market.price.csv) if cfg.market.price.kind == "csv" else None
        self.market = Market(cfg.market, self.dates, self.streams["market"], csv)

        self.country_graph = build_country_graph(cfg)
        self.countries: dict[str, Country] = {code: Country(self, code, c) for code, c in cfg.countries.items()}
        self.codes = list(self.countries)
        self._neighbours = {code: neighbour_weights(self.country_graph, code, cfg.policy.edge_kind_weights)
                            for code in self.codes}

        vintages = [(v.efficiency_j_per_th, v.share) for v in cfg.mining.vintages.values()]
        self.fleets: dict[str, MinerFleet] = {
            code: MinerFleet(self, code, c.hashrate_ehs * 1e6, vintages,
                             underground=not self.countries[code].mining_allowed)
            for code, c in cfg.countries.items()}

        self.exchanges: dict[str, Exchange] = {name: Exchange(self, name, e) for name, e in cfg.exchanges.items()}
        self.datacentres: list[DataCentre] = []
        self.household_countries = [c for c in self.codes if self.countries[c].has_households]
        self._build_households()

        self.recorder = Recorder(self.dates, self.codes, list(self.exchanges) + [P2P], self.household_countries)
        self._apply_shocks(self.dates[0] - dt.timedelta(days=1), self.dates[0])
        self._update_access()
        self._operate_fleets(order=False)
        self._trade()
        self._record()
        self.datacollector = mesa.DataCollector(model_reporters=self._headline_reporters())
        self.datacollector.collect(self)
        self.agents_removed = False

    # ================================================================= the step
    def step(self) -> None:
        """One week: market and internet access, shocks, countries, exchanges, miners,
        households, trade, record."""
        self._refuse_if_removed()
        if self.t >= len(self.dates) - 1:
            self.running = False
            return
        previous = self.date
        self.t += 1
        self.market.advance()
        self._update_internet()
        self._apply_shocks(previous, self.date)
        self._update_countries()
        self._update_exchanges()
        self._update_miners()
        self._update_households()
        self._trade()
        self._record()
        self.datacollector.collect(self)
        if self.t >= len(self.dates) - 1:
            self.running = False

    def _refuse_if_removed(self) -> None:
        if self.agents_removed:
            raise RuntimeError("this model's agents were removed (remove_all_agents): it cannot step; "
                               "build a new model")

    def run(self, until: dt.date | None = None, progress: bool = False) -> "CryptoAdoptionModel":
        """Step to ``until`` (inclusive of the last step on or before it) or to the end."""
        self._refuse_if_removed()
        last = len(self.dates) - 1
        if until is not None:
            last = max(i for i, d in enumerate(self.dates) if d <= until) if until >= self.dates[0] else 0
        todo = max(0, last - self.t)
        bar = None
        if progress and todo:
            from tqdm import tqdm
            bar = tqdm(total=todo, unit="wk", desc=self.config.name, leave=False)
        while self.t < last:
            self.step()
            if bar:
                bar.update(1)
                bar.set_postfix_str(str(self.date))
        if bar:
            bar.close()
        return self

    # ================================================================= state
    @property
    def date(self) -> dt.date:
        return self.dates[self.t]

    @property
    def weeks(self) -> float:
        return self.t * self.step_days / 7.0

    def network_hashrate_ehs(self) -> float:
        return sum(f.operating_ths for f in self.fleets.values()) / 1e6

    # ================================================================= the public read API
    # What the dashboard, reporters and users read of a running model: recorded values,
    # never private attributes. Country codes are ISO3, ``ROW`` or ``WORLD``.
    def value(self, metric: str, country: str = WORLD, step: int | None = None) -> float | None:
        """A recorded metric at this step (or ``step``); None where it does not apply
        (adoption where there are no households, an allowance where power is not capped)."""
        return self.recorder.value(self.t if step is None else step, metric, country)

    def exchange_volumes_usd(self, country: str, step: int | None = None) -> dict[str, float]:
        """This step's trading volume in ``country`` by exchange (``P2P`` last); empty for a
        country without households."""
        return self.recorder.volumes_of(self.t if step is None else step, country)

    def remittances_usd(self, country: str) -> tuple[float, float]:
        """This step's remittance inflow into ``country`` and the part over crypto rails."""
        return float(self._remit_usd.get(country, 0.0)), float(self._remit_crypto_usd.get(country, 0.0))

    def _headline_reporters(self) -> dict[str, Any]:
        """Mesa DataCollector reporters: network hashrate, each region country's share of
        it, the region's trading volume and adoption, and the BTC price (read from the
        recorder, so they equal the tidy table)."""
        reporters: dict[str, Any] = {
            "network_hashrate_ehs": lambda m: m.value("hashrate_ehs"),
            "btc_price_usd": lambda m: m.value("btc_price_usd"),
            "trading_volume_usd": lambda m: m.value("trading_volume_usd"),
            "adoption_rate": lambda m: m.value("adoption_rate"),
        }
        for code in self.household_countries:
            reporters[f"hashrate_share_{code}"] = lambda m, c=code: m.value("hashrate_share", c)
        return reporters

    def remove_all_agents(self) -> None:
        """Mesa's removal, and the model's own views of its agents emptied: stepping after it
        is refused (a model without its agents has nothing to step)."""
        super().remove_all_agents()
        self.countries.clear()
        self.fleets.clear()
        self.exchanges.clear()
        self.datacentres.clear()
        self._household_views.clear()
        self.households = None
        self.household_countries = []
        self.agents_removed = True
        self.running = False

    # ================================================================= shocks
    def _apply_shocks(self, after: dt.date, upto: dt.date) -> None:
        """Apply enabled shocks dated in (after, upto], then end mining bans whose time is up
        (a ban shorter than a step is logged but never reaches the miners)."""
        self._apply_dated(after, upto)
        for code, c in self.countries.items():
            if c.mining_ban_until is not None and c.mining_ban_until <= upto:
                c.mining_banned, c.mining_ban_until = False, None
                self._log(code, "mining_ban_end", True, False, "temporary mining ban ended")
            if c.power_emergency_until is not None and c.power_emergency_until <= upto:
                c.power_emergency_until = None
                self._log(code, "power_emergency_end", None, None, "power emergency ended: mining may draw power again")
            self._buy_reserves(c, upto)

    def _buy_reserves(self, c, upto: dt.date) -> None:
        """Recurring state purchases: a step's worth of each programme, which ends after its date."""
        for programme in list(c.reserve_programmes):
            sid, per_week, until = programme
            if until is not None and until < upto:
                c.reserve_programmes.remove(programme)
                self._log(c.code, "reserve_programme_end", per_week, 0, f"shock {sid}: purchases end on {until}")
                continue
            c.reserve_btc += per_week * self.step_days / 7.0

    def _apply_dated(self, after: dt.date, upto: dt.date) -> None:
        for sid, shock in self.config.shocks.items():
            if not shock.enabled or not (after < shock.date <= upto):
                continue
            c = self.countries[shock.country]
            cause = self._shock_cause(sid, shock)
            if shock.kind == "stance_change":
                old, c.stance = c.stance, shock.to
                self._log(c.code, "stance", old, c.stance, cause)
            elif shock.kind == "signal":
                c.signals.append((self.weeks, shock.strength, shock.half_life_weeks))
                self._log(c.code, "signal", None, shock.strength, cause)
            elif shock.kind == "energy_allocation":
                old = c.mining_allowance_mw
                c.mining_allowance_mw = shock.mw
                c.mining_tariff_usd_per_kwh = shock.tariff_usd_per_kwh
                self._log(c.code, "energy_allocation", old, shock.mw,
                          f"{cause} ({_amount(shock.mw)} MW at ${shock.tariff_usd_per_kwh}/kWh)")
            elif shock.kind == "reserve_purchase":
                old = c.reserve_btc
                c.reserve_btc += shock.btc
                if shock.btc_per_week > 0:
                    c.reserve_programmes.append((sid, shock.btc_per_week, shock.until))
                    cause += f" (then {shock.btc_per_week:g} BTC a week until {shock.until or 'the end'})"
                self._log(c.code, "reserve", old, c.reserve_btc, cause)
            elif shock.kind == "alliance_edge":
                self.country_graph.add_edge(c.code, shock.partner, key=sid, kind="alliance", weight=shock.weight)
                for code in (c.code, shock.partner):
                    self._neighbours[code] = neighbour_weights(self.country_graph, code,
                                                               self.config.policy.edge_kind_weights)
                self._log(c.code, "alliance", None, shock.partner, cause)
            elif shock.kind == "price_shock":
                old = self.market.price_usd
                self.market.apply_price_shock(shock.factor)
                self._log(c.code, "price_shock", round(old, 2), round(self.market.price_usd, 2), cause)
            elif shock.kind == "mining_ban":
                c.mining_banned, c.mining_ban_until = True, shock.until
                self._log(c.code, "mining_ban", False, True, cause + (f" (until {shock.until})" if shock.until else ""))
            elif shock.kind == "adoption_incentive":
                self._adoption_incentive(sid, shock, cause)
            elif shock.kind == "power_emergency":
                c.power_emergency_until = shock.until
                self._log(c.code, "power_emergency", None, str(shock.until), cause)
            elif shock.kind == "ai_demand":
                ready = self.t + math.ceil(shock.lead_weeks * 7 / self.step_days)
                self.datacentres.append(DataCentre(self, c.code, shock.mw, shock.willingness_to_pay_usd_per_mwh,
                                                   ready, name=sid))
                self._log(c.code, "ai_demand", None, shock.mw,
                          f"{cause} (${shock.willingness_to_pay_usd_per_mwh}/MWh, ready {self.dates[min(ready, len(self.dates) - 1)]})")

    def _shock_cause(self, sid: str, shock) -> str:
        """"shock ID: description", the description marked when a field of the shock was
        overridden: it was written for the file's values, the event shows those in force."""
        cause = f"shock {sid}: {shock.description}".rstrip(": ")
        changed = {k: v for k, v in self.spec.overridden_fields(f"shocks.{sid}").items()
                   if k not in ("enabled", "description")}
        if changed:
            cause += " [overridden: " + ", ".join(f"{k}={show_value(v)}" for k, v in changed.items()) + "]"
        return cause

    # ================================================================= countries
    def _update_countries(self) -> None:
        """Stance moves by diffusion, decided for all countries on last week's stances,
        then applied; one uniform per country per step, in scenario order."""
        u = self.streams["countries"].random(len(self.codes))
        moves = []
        for code, draw in zip(self.codes, u):
            neighbours = [(self.countries[o], w) for o, w in self._neighbours[code].items()]
            moved = self.countries[code].decide_stance(neighbours, self.config.policy, self.weeks,
                                                       self.dt_years, float(draw))
            if moved:
                moves.append((code, moved))
        for code, (new, cause) in moves:
            c = self.countries[code]
            self._log(code, "stance", c.stance, new, cause)
            c.stance = new
        self._illicit_finance_incidents()

    def _illicit_finance_incidents(self) -> None:
        """Incidents likelier with high trading volume and weak AML oversight; each is a
        negative signal (crackdown pressure) that raises the hazard of a reversal.

        Yearly hazard ``incident_rate_per_year x volume / incident_volume_scale x (1 - aml)``;
        one uniform per country per step from the incidents stream.
        """
        p = self.config.policy
        u = self.streams["incidents"].random(len(self.codes))
        if p.incident_rate_per_year <= 0:
            return
        for code, draw in zip(self.codes, u):
            c = self.countries[code]
            if not c.has_households:
                continue
            volume = self._potential_volume_usd(code) / self.dt_years
            rate = p.incident_rate_per_year * volume / p.incident_volume_scale_usd_per_year * (1.0 - c.aml_oversight)
            if draw < -math.expm1(-rate * self.dt_years):
                c.signals.append((self.weeks, p.incident_signal, p.incident_half_life_weeks))
                self._log(code, "illicit_finance_incident", None, p.incident_signal,
                          f"incident: trading ${volume / 1e9:.1f}bn/yr, AML oversight {c.aml_oversight:.2f}; "
                          f"crackdown pressure {p.incident_signal:+.2f} (half-life {p.incident_half_life_weeks:g} weeks)")

    # ================================================================= exchanges
    def _update_exchanges(self) -> None:
        rng = self.streams["exchanges"]
        u = rng.random((len(self.exchanges), len(self.household_countries)))
        for (name, ex), draws in zip(self.exchanges.items(), u):
            markets = []
            for code in self.household_countries:
                others = sum(e.weight for e in self.exchanges.values() if code in e.present and e is not ex)
                markets.append((code, self.countries[code].stance,
                                self._potential_volume_usd(code) / self.dt_years, others))
            for code, kind, cause in ex.step_markets(markets, self.t, self.step_days, draws):
                self._log(code, kind, None, name, cause)
        self._update_access()

    def _update_access(self) -> None:
        for code in self.household_countries:
            self.countries[code].exchange_access = any(code in e.present for e in self.exchanges.values())

    # ================================================================= miners
    def _update_miners(self) -> None:
        """Arrivals, ban responses, then every fleet operates and orders."""
        cfg = self.config.mining
        move = math.ceil(cfg.relocation_weeks * 7 / self.step_days)
        for fleet in self.fleets.values():
            fleet.receive_arrivals(self.t)
        for code, fleet in self.fleets.items():
            c = self.countries[code]
            if not c.mining_allowed and not fleet.banned:
                fleet.banned = True
                relocating, underground, exiting = fleet.respond_to_ban(cfg)
                self._log(code, "miners_banned", None, None,
                          f"ban: {relocating / 1e6:.1f} EH/s relocating, {underground / 1e6:.1f} EH/s "
                          f"underground, {exiting / 1e6:.1f} EH/s exiting (incl. cancelled orders)")
                self._relocate(code, fleet.take_relocating(), move, cfg)
            elif c.mining_allowed and fleet.banned:
                fleet.banned = False
                fleet.legalise_underground()
        self._operate_fleets(order=True)
        self.market.record_hashrate(self.network_hashrate_ehs())

    def _operate_fleets(self, *, order: bool) -> None:
        """Switch machines against the clearing hashprice; earn at the difficulty's."""
        cfg = self.config.mining
        self._hashprice_seen = self.market.hashprice_usd_per_ph_day
        self._difficulty_seen = self.market.difficulty
        self._allocate_power()
        clearing = self._clearing_hashprice()
        self._clearing_seen = clearing
        lead = math.ceil(cfg.lead_time_weeks * 7 / self.step_days)
        # Machines bought in the same year share a vintage (and an efficiency).
        years = (self.date.year - self.dates[0].year)
        frontier = cfg.frontier_efficiency_j_per_th * (1.0 - cfg.efficiency_improvement_per_year) ** years
        for code, fleet in self.fleets.items():
            c = self.countries[code]
            fleet.operate(clearing, c.mining_tariff_usd_per_kwh, self._mining_cap[code], cfg,
                          self.dt_years, self.step_days, c.mining_enforcement_per_year,
                          revenue_hashprice_usd_per_ph_day=self._hashprice_seen)
            if order and c.mining_allowed:
                fleet.order(clearing, c.mining_tariff_usd_per_kwh, self._mining_planning_mw(code), frontier,
                            cfg, self.dt_years, self.t, lead)
            c.mining_revenue_usd_per_year = fleet.revenue_usd / self.dt_years

    def _allocate_power(self) -> None:
        """Split each country's power for the week between AI data centres and mining.

        The cap is the allocation, no more than the seasonal surplus; bidders are served by
        willingness to pay (miners bid what a MWh earns them at last week's clearing
        hashprice). A power emergency leaves legal mining nothing.
        """
        cfg = self.config.mining
        hashprice = getattr(self, "_clearing_seen", self._hashprice_seen)
        self._mining_cap: dict[str, float | None] = {}
        self._power_cap: dict[str, float | None] = {}
        self._mining_bid: dict[str, float] = {}
        for code, c in self.countries.items():
            fleet = self.fleets[code]
            cap = power_cap_mw(c.mining_allowance_mw, seasonal_surplus_mw(
                self.date, c.power_surplus_winter_mw, c.power_surplus_summer_mw, c.winter_peak_month))
            self._power_cap[code] = cap
            centres = [d for d in self.datacentres if d.country == code]
            wanted = fleet.wanted_mw(hashprice, c.mining_tariff_usd_per_kwh, cfg)
            bids = [(str(i), d.built_mw(self.t), d.willingness_to_pay_usd_per_mwh) for i, d in enumerate(centres)]
            self._mining_bid[code] = mining_bid_usd_per_mwh(hashprice, fleet.mean_efficiency(), cfg.pue,
                                                             cfg.power_share_of_cash_cost)
            bids.append(("mining", wanted, self._mining_bid[code]))
            served = merit_order(cap, bids)
            for i, d in enumerate(centres):
                d.served_mw = served[str(i)]
            # Mining may use whatever the higher bidders leave (all of it if it outbids them).
            mining = None if cap is None else max(0.0, cap - sum(d.served_mw for d in centres))
            self._mining_cap[code] = 0.0 if c.power_emergency_until is not None else mining

    def _mining_planning_mw(self, code: str) -> float | None:
        """The MW miners may plan new machines for: the allocation less the claims (built
        or not) of data centres that outbid them."""
        allowance = self.countries[code].mining_allowance_mw
        if allowance is None:
            return None
        claimed = sum(d.committed_mw() for d in self.datacentres
                      if d.country == code and d.willingness_to_pay_usd_per_mwh > self._mining_bid[code])
        return max(0.0, allowance - claimed)

    def _clearing_hashprice(self) -> float:
        """The hashprice at which the fleets' chosen hashrate earns the day's reward."""
        cfg = self.config.mining
        fleets = [(f, self.countries[code]) for code, f in self.fleets.items() if f.installed_ths > 0]

        def supply(hp: float) -> float:
            return sum(f.supply_ths(hp, c.mining_tariff_usd_per_kwh, self._mining_cap[c.code], cfg) for f, c in fleets)

        return clearing_hashprice(self.market.reward_btc_per_day * self.market.price_usd, supply)

    def _relocate(self, origin: str, machines: list[tuple[float, float]], move_steps: int, cfg) -> None:
        """Send relocating machines, vintage by vintage, to hosts that allow mining and have
        room (an uncapped host must already have miners); what finds no room exits."""
        rng = self.streams["miners"]
        arriving_at: dict[str, float] = {}
        lost = 0.0
        for ths, eff in machines:
            candidates = []
            for code, c in self.countries.items():
                if not c.mining_allowed:
                    continue
                fleet = self.fleets[code]
                room = (fleet.installed_ths > 0 if c.mining_allowance_mw is None
                        else fleet.headroom_mw(c.mining_allowance_mw, cfg.pue) > 0)
                if room:
                    candidates.append((code, c.mining_tariff_usd_per_kwh))
            dest = choose_destination(origin, candidates, cfg.relocation_choice_scale_usd_per_kwh, rng.random())
            if dest is None:
                lost += ths
                continue
            moving = ths * (1.0 - cfg.relocation_loss)
            room_mw = self.fleets[dest].headroom_mw(self.countries[dest].mining_allowance_mw, cfg.pue)
            fits = min(moving, room_mw * 1e6 / (eff * cfg.pue))
            lost += ths - fits
            self.fleets[dest].pipeline.append((self.t + move_steps, fits, eff))
            arriving_at[dest] = arriving_at.get(dest, 0.0) + fits
        for dest, ths in arriving_at.items():
            self._log(origin, "miners_relocate", origin, dest,
                      f"{ths / 1e6:.2f} EH/s arriving in {move_steps} steps")
        if lost > 0:
            self._log(origin, "miners_exit", None, None,
                      f"{lost / 1e6:.2f} EH/s lost in transit or found no host with room")

    # ================================================================= households
    def _build_households(self) -> None:
        cfg = self.config
        rng = self.streams["households"]
        codes = self.household_countries
        n_total = cfg.run.households if codes else 0
        if n_total == 0:
            self.households = None
            self.household_agents_created = False
            return
        pops = np.array([self.countries[c].population for c in codes])
        sizes = share_households(n_total, cfg.run.household_floor, pops)
        self._check_memory(sizes)
        self._household_sizes = sizes
        # With run.household_floor = 0 a small country may get no agent: nothing simulates its
        # households, so it keeps its measured ownership (the run's starting value everywhere)
        # rather than a made-up 0, and its trading volume follows from that.
        self._measured_ownership = np.array([self.countries[c].ownership_pct / 100.0 for c in codes])
        for code in (c for c, k in zip(codes, sizes) if k == 0):
            self._log(code, "no_household_agents", None, None,
                      f"no household agent ({n_total:,} in all, run.household_floor = {cfg.run.household_floor}): "
                      f"adoption held at the measured ownership, {self.countries[code].ownership_pct:g}%")
        self._household_starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        self._household_blocks = [slice(a, a + n) for a, n in zip(self._household_starts, sizes)]
        country = np.repeat(np.arange(len(codes), dtype=np.int16), sizes)
        h = cfg.households
        # Each country's households come online in a fixed random order: the first
        # round(share x n_c) are online, at the start and whenever the share moves.
        online_rank = block_rank(country, rng)
        internet = online_rank < self._online_counts()[country]
        receiver = exact_share(country, np.array([min(1.0, self.countries[c].remittances_pct_gdp / 100.0
                                                      * h.remittance_receiver_scale) for c in codes]), rng)
        # Starting adopters: the measured ownership share, drawn among internet users.
        adopted = exact_share(country, np.array([self.countries[c].ownership_pct / 100.0 for c in codes]), rng,
                              eligible=internet)
        index = {c: i for i, c in enumerate(codes)}
        corridors = [(index[e.a], index[e.b], e.weight) for e in cfg.network.edges.values()
                     if e.kind == "remittance" and e.a in index and e.b in index]
        adj = build_social_graph(sizes, local_degree=h.graph.local_degree, random_degree=h.graph.random_degree,
                                 pareto_shape=h.graph.pareto_shape, corridors=corridors,
                                 cross_border_ties_per_household=h.graph.cross_border_ties_per_household, rng=rng)
        degree = np.maximum(np.diff(adj.indptr), 1).astype(np.float32)
        self.households = HouseholdArrays(country=country, adopted=adopted, internet=internet, online_rank=online_rank,
                                          receiver=receiver, innovation=np.empty(n_total, dtype=np.float32),
                                          adjacency=adj, degree=degree,
                                          persons=np.divide(pops, sizes, out=np.full(len(sizes), np.nan),
                                                            where=sizes > 0),
                                          abandonment=np.full(n_total, h.abandonment_per_year),
                                          propensity=np.ones(n_total, dtype=np.float32),
                                          readoption=np.ones(n_total, dtype=np.float32))
        self._internet_f = internet.astype(np.float32)
        for b in range(len(codes)):
            self._set_innovation(b)
        self._stance_mult = np.array(h.stance_multiplier.as_tuple())
        self.household_agents_created = n_total <= cfg.run.household_agents_max
        self._household_views: dict[int, Household] = {}
        if self.household_agents_created:
            for i in range(n_total):
                Household(self, i)
        self._set_adoption()

    def _check_memory(self, sizes: np.ndarray) -> None:
        """Refuse, before allocating, a household population that cannot fit in memory."""
        cfg = self.config
        index = {c: i for i, c in enumerate(self.household_countries)}
        g = cfg.households.graph
        corridors = [(index[e.a], index[e.b], e.weight) for e in cfg.network.edges.values()
                     if e.kind == "remittance" and e.a in index and e.b in index]
        ties = expected_ties(sizes, g.local_degree, g.random_degree, corridors, g.cross_border_ties_per_household)
        check_fits(sizes, ties, int(sizes.sum()) <= cfg.run.household_agents_max, str(self.spec.file))

    def _online_counts(self) -> np.ndarray:
        """Household agents online per household country today: round(share online x n_c)."""
        shares = np.array([self.countries[c].internet_pct / 100.0 for c in self.household_countries])
        return np.rint(shares * self._household_sizes).astype(np.int64)

    def _set_innovation(self, b: int) -> None:
        """``p_i`` of household country ``b``'s agents, from their own access and remittances
        and the country's covariates today (docs/ODD.md 7.4)."""
        hh, h = self.households, self.config.households
        c, part = self.countries[self.household_countries[b]], self._household_blocks[b]
        hh.innovation[part] = innovation_rates(h.innovation_per_year, h.inflation_weight, h.remittance_weight,
                                               h.income_weight, h.internet_weight, max(c.inflation_pct, 0.0) / 100.0,
                                               hh.receiver[part], c.gdp_per_capita_usd, c.internet_pct / 100.0,
                                               hh.internet[part])

    def _update_internet(self) -> None:
        """Countries with an ``internet_path`` take today's share online. Where it moved,
        the households ranked below round(share x n_c) are online (the set only grows
        while the share grows, shrinks in reverse order if it falls; nobody is redrawn)
        and the country's ``p_i`` is recomputed: one slice per country, no household loop."""
        moved = {code for code, c in self.countries.items() if c.follow_internet(self.date)}
        if self.households is None or not moved:
            return
        hh, wanted = self.households, self._online_counts()
        for b, code in enumerate(self.household_countries):
            if code in moved:
                part = self._household_blocks[b]
                hh.internet[part] = hh.online_rank[part] < wanted[b]
                self._internet_f[part] = hh.internet[part]
                self._set_innovation(b)

    def household(self, index: int) -> Household:
        """The Mesa agent of household ``index`` (made on demand above ``household_agents_max``)."""
        if self.household_agents_created:
            return self.agents_by_type[Household][index]
        if index not in self._household_views:
            self._household_views[index] = Household(self, index)
        return self._household_views[index]

    def _set_adoption(self) -> None:
        hh = self.households
        sizes = self._household_sizes
        if sizes.min() > 0:  # blocks are contiguous: one pass of reduceat, no bincount
            rates = np.add.reduceat(hh.adopted.view(np.int8), self._household_starts, dtype=np.int64) / sizes
        else:  # a country without agents keeps its measured ownership (see _build_households)
            rates = np.where(sizes > 0, adoption_by_block(hh.country, hh.adopted, len(self.household_countries)),
                             self._measured_ownership)
        for code, r in zip(self.household_countries, rates):
            self.countries[code].adoption_rate = float(r)

    def _update_households(self) -> None:
        if self.households is None:
            return
        hh = self.households
        u = self.streams["households"].random(hh.n, dtype=np.float32)
        h = self.config.households
        mult_c = np.array([self._stance_mult[self.countries[c].stance]
                           * (1.0 if self.countries[c].exchange_access else h.no_exchange_access_factor)
                           for c in self.household_countries], dtype=np.float32)
        was = hh.adopted
        hh.adopted = adoption_step(hh.adopted, hh.adjacency, hh.degree, hh.innovation, self._internet_f,
                                   mult_c[hh.country] * hh.propensity, h.imitation_per_year, hh.abandonment,
                                   self.dt_years, u)
        stopped = was & ~hh.adopted  # an incentive's rates end when its recruit first stops
        hh.abandonment[stopped] = h.abandonment_per_year
        hh.propensity[stopped] = hh.readoption[stopped]
        self._set_adoption()

    def _adoption_incentive(self, sid: str, shock, cause: str) -> None:
        """A share of the country's internet households not adopting adopt at once (drawn
        from a generator of the seed and the shock's id, so no stream's draws move)."""
        c = self.countries[shock.country]
        if (self.households is None or shock.country not in self.household_countries
                or self._household_sizes[self.household_countries.index(shock.country)] == 0):
            self._log(c.code, "adoption_incentive", None, None, f"{cause} (no household agents: no effect)")
            return
        hh = self.households
        block = hh.country == self.household_countries.index(shock.country)
        u = np.random.default_rng([self.seed, zlib.crc32(sid.encode())]).random(hh.n)
        chosen = incentive_recruits(block & hh.internet & ~hh.adopted, shock.share, u)
        before = c.adoption_rate
        hh.adopted[chosen] = True
        if shock.abandonment_per_year is not None:
            hh.abandonment[chosen] = shock.abandonment_per_year
        hh.readoption[chosen] = shock.readoption_factor
        self._set_adoption()
        self._log(c.code, "adoption_incentive", round(before, 4), round(c.adoption_rate, 4),
                  f"{cause} ({len(chosen)} household agents recruited)")

    # ================================================================= trading
    def _potential_volume_usd(self, code: str) -> float:
        """Trading volume this step if every adopter could trade on a licensed exchange."""
        c = self.countries[code]
        adopters = c.adoption_rate * c.population
        price_factor = (self.market.price_usd / self.market.prices[0]) ** self.config.market.volume_price_elasticity
        return adopters * self.config.households.volume_per_adopter_gdp_pc_per_year * c.gdp_per_capita_usd \
            * self.dt_years * price_factor

    def _trade(self) -> None:
        """Adopters' trading plus remittances over crypto rails, shared among the exchanges
        present (or P2P: trading at a discount, remittances in full)."""
        names = list(self.exchanges) + [P2P]
        col = {n: i for i, n in enumerate(names)}
        self._volumes = np.zeros((len(self.household_countries), len(names)))
        self._remittances()
        for row, code in enumerate(self.household_countries):
            present = [(n, e.weight) for n, e in self.exchanges.items() if code in e.present]
            flows = (split_volume(self._potential_volume_usd(code), present, self.config.households.p2p_volume_factor),
                     split_volume(self._remit_crypto_usd.get(code, 0.0), present, 1.0))
            for flow in flows:
                for name, v in flow.items():
                    self._volumes[row, col[name]] += v

    def _remittances(self) -> None:
        """This step's remittance flows into each household country, and their crypto part."""
        self._remit_usd: dict[str, float] = {}
        self._remit_crypto_usd: dict[str, float] = {}
        cfg = self.config.remittances
        if cfg is None or self.households is None:
            return
        hh = self.households
        n_blocks = len(self.household_countries)
        receivers = np.bincount(hh.country, weights=hh.receiver, minlength=n_blocks)
        adopting = np.bincount(hh.country, weights=hh.receiver & hh.adopted, minlength=n_blocks)
        share_adopting = dict(zip(self.household_countries,
                                  np.divide(adopting, receivers, out=np.zeros(n_blocks), where=receivers > 0)))
        for code, size in zip(self.household_countries, self._household_sizes):
            if size == 0:  # no agents: its receivers adopt as its people do (the measured ownership)
                share_adopting[code] = self.countries[code].adoption_rate
        for e in self.config.network.edges.values():
            if e.kind != "remittance" or e.flow_usd_per_year is None or e.b not in share_adopting:
                continue
            c = self.countries[e.b]
            flow = e.flow_usd_per_year * self.dt_years
            crypto = flow * crypto_share(share_adopting[e.b], e.cost_pct, cfg, c.exchange_access, c.stance)
            self._remit_usd[e.b] = self._remit_usd.get(e.b, 0.0) + flow
            self._remit_crypto_usd[e.b] = self._remit_crypto_usd.get(e.b, 0.0) + crypto

    # ================================================================= recording
    def _record(self) -> None:
        rec, t = self.recorder, self.t
        n = len(self.codes)
        hashrate = np.array([self.fleets[c].operating_ths / 1e6 for c in self.codes])
        total = hashrate.sum()
        nan = np.full(n + 1, np.nan)
        # Where a metric applies is said explicitly (``where=``); the recorder raises on a
        # value that is not finite where it applies (NaN left below is never written).
        world_only_rows = np.arange(n + 1) == n

        def with_world(values, world):
            return np.append(np.asarray(values, dtype=float), world)

        rec.put(t, "hashrate_ehs", with_world(hashrate, total))
        rec.put(t, "hashrate_share", with_world(hashrate / total if total > 0 else hashrate * 0, 1.0 if total > 0 else 0.0))
        ug = np.array([self.fleets[c].underground_operating_ths / 1e6 for c in self.codes])
        rec.put(t, "underground_hashrate_ehs", with_world(ug, ug.sum()))
        mw = np.array([self.fleets[c].operating_mw for c in self.codes])
        rec.put(t, "mining_power_mw", with_world(mw, mw.sum()))
        capped = [self.countries[c].mining_allowance_mw is not None for c in self.codes]  # not world
        allowed = np.array([self.countries[c].mining_allowance_mw if cap else np.nan
                            for c, cap in zip(self.codes, capped)])
        rec.put(t, "mining_power_allowed_mw", with_world(allowed, np.nan), where=capped + [False])
        ai = np.array([sum(d.served_mw for d in self.datacentres if d.country == c) for c in self.codes])
        rec.put(t, "ai_power_mw", with_world(ai, ai.sum()))
        curtailed = np.array([self.fleets[c].curtailed_mw for c in self.codes])
        rec.put(t, "curtailed_mw", with_world(curtailed, curtailed.sum()))
        revenue = np.array([self.fleets[c].revenue_usd for c in self.codes])
        rec.put(t, "miner_revenue_usd", with_world(revenue, revenue.sum()))
        stance = np.array([self.countries[c].stance for c in self.codes], dtype=float)
        reserve = np.array([self.countries[c].reserve_btc for c in self.codes])
        rec.put(t, "reserve_btc", with_world(reserve, reserve.sum()))
        rec.put(t, "reserve_usd", with_world(reserve * self.market.price_usd, reserve.sum() * self.market.price_usd))

        # Household-country metrics (and WORLD, their total): no row elsewhere.
        pos = {c: i for i, c in enumerate(self.codes)}
        vol, p2p, rate, adopters = (nan.copy() for _ in range(4))
        stance_world = np.nan
        household_rows = np.zeros(n + 1, dtype=bool)
        if self.household_countries:
            idx = [pos[c] for c in self.household_countries]
            household_rows[idx] = household_rows[-1] = True
            pops = np.array([self.countries[c].population for c in self.household_countries])
            rates = np.array([self.countries[c].adoption_rate for c in self.household_countries])
            vol[idx] = self._volumes.sum(axis=1)
            p2p[idx] = self._volumes[:, -1]
            rate[idx] = rates
            adopters[idx] = rates * pops
            vol[-1], p2p[-1] = vol[idx].sum(), p2p[idx].sum()
            adopters[-1] = adopters[idx].sum()
            rate[-1] = adopters[-1] / pops.sum()
            stance_world = float(np.dot(stance[idx], pops) / pops.sum())
            rec.put_volumes(t, self._volumes)
        rec.put(t, "trading_volume_usd", vol, where=household_rows)
        if self.config.remittances is not None and self.household_countries:
            crypto, share = nan.copy(), nan.copy()
            for code in self.household_countries:
                crypto[pos[code]] = self._remit_crypto_usd.get(code, 0.0)
                total = self._remit_usd.get(code, 0.0)
                share[pos[code]] = crypto[pos[code]] / total if total > 0 else 0.0
            crypto[-1] = np.sum(np.where(household_rows[:-1], crypto[:-1], 0.0))
            total = sum(self._remit_usd.values())
            share[-1] = crypto[-1] / total if total > 0 else 0.0
            rec.put(t, "remittance_crypto_usd", crypto, where=household_rows)
            rec.put(t, "remittance_crypto_share", share, where=household_rows)
        rec.put(t, "p2p_volume_usd", p2p, where=household_rows)
        rec.put(t, "adoption_rate", rate, where=household_rows)
        rec.put(t, "adopters", adopters, where=household_rows)
        rec.put(t, "stance", with_world(stance, stance_world),
                where=np.append(np.ones(n, dtype=bool), bool(self.household_countries)))
        m = self.market
        for metric, value in (("btc_price_usd", m.price_usd), ("hashprice_usd_per_ph_day", self._hashprice_seen),
                              ("clearing_hashprice_usd_per_ph_day", self._clearing_seen),
                              ("difficulty", self._difficulty_seen), ("block_subsidy_btc", m.subsidy_btc)):
            world_only = nan.copy()
            world_only[-1] = value
            rec.put(t, metric, world_only, where=world_only_rows)

    def _log(self, country: str, kind: str, old, new, cause: str) -> None:
        self.events.append({"date": self.date, "country": country, "kind": kind,
                            "from": "" if old is None else str(old), "to": "" if new is None else str(new),
                            "cause": cause})

    # ================================================================= outputs
    def timeseries(self) -> pd.DataFrame:
        """The tidy table: step, date, country, metric, value."""
        return self.recorder.timeseries()

    def exchange_volumes(self) -> pd.DataFrame:
        """Trading volume by step, country and exchange (``P2P`` for peer-to-peer)."""
        return self.recorder.exchange_volumes()

    def events_frame(self) -> pd.DataFrame:
        """Dated stance changes, shocks and market moves with their causes."""
        return pd.DataFrame(self.events, columns=EVENT_COLUMNS)

    @staticmethod
    def stance_name(level: int) -> str:
        return STANCE_NAMES[int(level)]


def _as_mapping(overrides) -> Mapping[str, Any]:
    if overrides is None:
        return {}
    if isinstance(overrides, Mapping):
        return overrides
    from model.scenario import _parse_overrides
    return _parse_overrides(list(overrides), "--set")


def build_model(scenario: str = "south_asia_2025", *, seed: int = 0, households: int | None = None,
                overrides: Mapping[str, Any] | Iterable[str] | None = None) -> CryptoAdoptionModel:
    """Build a model from a scenario name or file, with optional overrides.

    >>> m = build_model("south_asia_2025", seed=1, households=2000,
    ...                 overrides={"countries.PAK.mining_tariff_usd_per_kwh": 0.10})
    >>> df = m.run().timeseries()
    """
    return CryptoAdoptionModel(scenario_name=scenario, seed=seed, households=households, overrides=overrides)
