"""The regional adoption model: builds the agents from a scenario and runs the weekly step.

The order of one step is in :meth:`CryptoAdoptionModel.step` and nowhere else:
market -> internet -> dated shocks -> countries -> exchanges -> miners -> households ->
remittances and trading -> record. Each phase's rule lives with its agent type in
``agents/`` (the mining sector, the household population, ...), each shock's in
``model/shocks.py``, the recording in ``model/recorder.py``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Iterable, Mapping

import mesa
import numpy as np
import pandas as pd

from agents.country import Country, illicit_finance_incidents, update_stances
from agents.datacentre import DataCentre
from agents.exchange import P2P, Exchange, route_trade, step_exchanges, update_access, value_received_usd
from agents.household import Household, HouseholdPopulation
from agents.miner import MinerFleet
from agents.mining_sector import MiningSector
from agents.remittance import remittance_flows
from model.config import STANCE_NAMES, ScenarioConfig
from model.country_network import build_country_graph, neighbour_weights
from model.market import Market
from model.population import build_households
from model.recorder import WORLD, Recorder
from model.scenario import Scenario, load_scenario, parse_overrides
from model.shocks import apply_shocks
from model.units import DAYS_PER_WEEK, DAYS_PER_YEAR, TH_PER_EH

# Spawned from the seed in this order; a new stream goes at the end, so the others keep their numbers.
# block_luck: the blocks found in the validation's measurement of the network hashrate
# (experiments/validation/backtest.measured_series); the run itself draws nothing from it.
STREAMS = ("market", "countries", "miners", "exchanges", "households", "incidents", "policy_draw", "volume_draw",
           "mining_draw", "households_draw", "block_luck", "nowcast_draw")
#: The scenario's tables of fitted values with a covariance (model.config.FittedTerms, Draw).
FITTED_BLOCKS = ("policy", "volume", "mining", "households", "nowcast")
EVENT_COLUMNS = ["date", "country", "kind", "from", "to", "cause"]


def run_dates(start: dt.date, end: dt.date, step_days: int) -> list[dt.date]:
    n = (end - start).days // step_days
    return [start + dt.timedelta(days=step_days * k) for k in range(n + 1)]


def stream_generators(seed: int) -> dict[str, np.random.Generator]:
    """The run's random streams (:data:`STREAMS`), each spawned from ``seed``."""
    return dict(zip(STREAMS, map(np.random.default_rng, np.random.SeedSequence(seed).spawn(len(STREAMS)))))


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
            extra = parse_overrides(overrides, "--set")
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
        self.streams = stream_generators(seed)
        if cfg.run.market_seed is not None:  # the price path of a run seeded market_seed, the rest from seed
            self.streams["market"] = stream_generators(cfg.run.market_seed)["market"]
        # the fitted blocks this run uses: the fits' values, or a draw of them (model.config.Draw)
        drawn = {name: self._drawn(getattr(cfg, name), f"{name}_draw") for name in FITTED_BLOCKS
                 if getattr(cfg, name).draw is not None}
        if drawn:
            self.config = cfg = cfg.model_copy(update=drawn)
        self.dates = run_dates(cfg.run.start, cfg.run.end, cfg.run.step_days)
        self.step_days = cfg.run.step_days
        self.dt_years = self.step_days / DAYS_PER_YEAR
        self.t = 0
        self.events: list[dict[str, Any]] = []

        csv = config.resolve_path(cfg.market.price.csv) if cfg.market.price.kind == "csv" else None
        fees = None if cfg.market.fees_csv is None else config.resolve_path(cfg.market.fees_csv, "market.fees_csv")
        self.market = Market(cfg.market, self.dates, self.streams["market"], csv, fees)

        self.country_graph = build_country_graph(cfg)
        self.countries: dict[str, Country] = {code: Country(self, code, c) for code, c in cfg.countries.items()}
        self.codes = list(self.countries)
        self.neighbours = {code: neighbour_weights(self.country_graph, code, cfg.policy.edge_kind_weights)
                           for code in self.codes}  # country -> {neighbour: weight}; alliance shocks add

        vintages = [(v.efficiency_j_per_th, v.share) for v in cfg.mining.vintages.values()]
        self.fleets: dict[str, MinerFleet] = {
            code: MinerFleet(self, code, c.hashrate_ehs * TH_PER_EH, vintages,
                             underground=not self.countries[code].mining_allowed,
                             capacity_factor=cfg.mining.emergency_capacity_factor ** c.mining_power_cuts)
            for code, c in cfg.countries.items()}
        self.mining = MiningSector(self, self.fleets)

        self.exchanges: dict[str, Exchange] = {name: Exchange(self, name, e) for name, e in cfg.exchanges.items()}
        self.datacentres: list[DataCentre] = []
        self.household_countries = [c for c in self.codes if self.countries[c].has_households]
        self.remit_usd: dict[str, float] = {}  # this step's remittance inflow by country
        self.remit_crypto_usd: dict[str, float] = {}  # ... and the part over crypto rails
        self.value_received: dict[str, float] = {}  # this step's value received on chain by household country
        self.households: HouseholdPopulation | None = build_households(self)  # None: no household agents

        self.recorder = Recorder(self.dates, self.codes, list(self.exchanges) + [P2P], self.household_countries)
        # Step 0, a partial week: shocks dated on the first day, exchange access, fleets
        # operate (no orders but the warm start's pipeline), trade, record.
        apply_shocks(self, self.dates[0] - dt.timedelta(days=1), self.dates[0])
        update_access(self)
        self.mining.operate(order=False)
        self.mining.warm_start()
        self._trade()
        self.recorder.record(self)
        self.datacollector = mesa.DataCollector(model_reporters=self._headline_reporters())
        self.datacollector.collect(self)
        self.agents_removed = False

    def _drawn(self, block, stream: str):
        """``block`` with its fitted values drawn: from the run's own stream ("seed"), or draw k
        from a generator of k and the stream's place, the same in every run."""
        rng = self.streams[stream] if block.draw == "seed" else np.random.default_rng(
            np.random.SeedSequence([block.draw, STREAMS.index(stream)]))
        return block.drawn(rng)

    # ================================================================= the step
    def step(self) -> None:
        """One week: market and internet access, dated shocks, countries (stances, then
        incidents), exchanges, miners, households, remittances and trade, record."""
        self._refuse_if_removed()
        if self.t >= len(self.dates) - 1:
            self.running = False
            return
        previous = self.date
        self.t += 1
        self.market.advance()
        moved = {code for code, c in self.countries.items() if c.follow_internet(self.date)}
        if self.households is not None:
            self.households.follow_internet(moved)
        apply_shocks(self, previous, self.date)
        update_stances(self)
        illicit_finance_incidents(self)
        step_exchanges(self)
        self.mining.step()
        if self.households is not None:
            self.households.step()
        self._trade()
        self.recorder.record(self)
        self.datacollector.collect(self)
        if self.t >= len(self.dates) - 1:
            self.running = False

    def _trade(self) -> None:
        """This step's remittances, value received on chain and trade by exchange (P2P last)."""
        self.remit_usd, self.remit_crypto_usd = remittance_flows(self)
        self.value_received = {code: value_received_usd(self, code) for code in self.household_countries}
        self.volumes = route_trade(self)

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
            from tqdm import tqdm  # only for a progress bar: not imported by runs without one
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
        return self.t * self.step_days / DAYS_PER_WEEK

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
        return float(self.remit_usd.get(country, 0.0)), float(self.remit_crypto_usd.get(country, 0.0))

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
        self.households = None
        self.household_countries = []
        self.agents_removed = True
        self.running = False

    def household(self, index: int) -> Household:
        """The Mesa agent of household ``index`` (made on demand above ``household_agents_max``)."""
        return self.households.agent(index)

    # ================================================================= recording
    def log(self, country: str, kind: str, old, new, cause: str) -> None:
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


def seed_draws(config: ScenarioConfig) -> dict[str, str]:
    """The settings that give a run its own draw of every fitted block ``config``'s scenario
    gives (``BLOCK.draw = "seed"``, :data:`FITTED_BLOCKS`): what ``crypto-abm ensemble
    --parameters fitted`` and the dashboard's band set. A block the file leaves out (the
    optional ``[nowcast]`` of a backtest) is not in pydantic's ``model_fields_set``, and an
    override of a table a scenario does not give is refused."""
    return {f"{block}.draw": "seed" for block in FITTED_BLOCKS if block in config.model_fields_set}


def build_model(scenario: str = "south_asia_2025", *, seed: int = 0, households: int | None = None,
                overrides: Mapping[str, Any] | Iterable[str] | None = None) -> CryptoAdoptionModel:
    """Build a model from a scenario name or file, with optional overrides.

    >>> m = build_model("south_asia_2025", seed=1, households=2000,
    ...                 overrides={"countries.PAK.mining_tariff_usd_per_kwh": 0.10})
    >>> df = m.run().timeseries()
    """
    return CryptoAdoptionModel(scenario_name=scenario, seed=seed, households=households, overrides=overrides)
