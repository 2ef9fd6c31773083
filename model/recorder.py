"""The recorder: per-step metrics into preallocated arrays, out as one tidy table.

Rows are (step, date, country, metric, value), with ``country`` an ISO3 code, ``ROW``, or
``WORLD`` for network totals. A metric a country does not have (adoption where there are
no households, an allowance where power is not capped) has no row rather than a NaN.

"Not applicable" is said explicitly, with ``put(..., where=mask)``, never by writing NaN:
every value the model computes for a row that applies must be finite, and one that is
not (NaN, inf) raises :class:`~model.errors.ModelError` naming the metric, country and
step, so a bug in the model can never make a series vanish without a word.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from model.errors import ModelError
from model.units import TH_PER_EH

WORLD = "WORLD"

COUNTRY_METRICS = (
    "hashrate_ehs", "hashrate_share", "underground_hashrate_ehs", "mining_power_mw",
    "mining_power_allowed_mw", "ai_power_mw", "curtailed_mw", "miner_revenue_usd",
    "value_received_usd", "trading_volume_usd", "exchange_volume_usd", "p2p_volume_usd",
    "remittance_crypto_usd", "remittance_crypto_share",
    "adoption_rate", "adopters", "stance", "reserve_btc", "reserve_usd",
)
WORLD_ONLY = ("btc_price_usd", "hashprice_usd_per_ph_day", "clearing_hashprice_usd_per_ph_day", "difficulty",
              "block_subsidy_btc")
METRICS = COUNTRY_METRICS + WORLD_ONLY


class StepRows:
    """One step's metrics staged for :meth:`Recorder.write`, which checks and stores them at
    once: values by (code, metric), where each applies, and which metrics were staged."""

    def __init__(self, codes: int):
        self.values = np.full((codes, len(METRICS)), np.nan)
        self.applies = np.zeros((codes, len(METRICS)), dtype=bool)
        self.staged = np.zeros(len(METRICS), dtype=bool)

    def put(self, metric: int, values, where=None) -> None:
        self.values[:, metric] = values
        self.applies[:, metric] = True if where is None else where
        self.staged[metric] = True


class Recorder:
    def __init__(self, dates: list[dt.date], codes: list[str], exchanges: list[str],
                 markets: list[str]):
        self.dates = dates
        self.codes = list(codes) + [WORLD]
        self.code_index = {c: i for i, c in enumerate(self.codes)}
        self.metric_index = {m: i for i, m in enumerate(METRICS)}
        self.values = np.full((len(dates), len(self.codes), len(METRICS)), np.nan)  # NaN where no row
        self.present = np.zeros(self.values.shape, dtype=bool)  # the rows: where a metric applies
        self.exchanges = list(exchanges)
        self.markets = list(markets)
        self.volumes = np.zeros((len(dates), len(markets), len(exchanges)))
        self.last_step = -1

    def put(self, step: int, metric: str, values, where=None) -> None:
        """Values for every code in order (countries then WORLD).

        ``where`` (a boolean per code; default: all) marks where the metric applies; the
        values elsewhere are ignored and have no row. A value where it applies that is not
        finite raises :class:`ModelError`.
        """
        rows = StepRows(len(self.codes))
        rows.put(self.metric_index[metric], values, where)
        self.write(step, rows)

    def write(self, step: int, rows: "StepRows") -> None:
        """A step's staged metrics (:class:`StepRows`) into the table, checked all at once:
        the first value that is not finite where it applies (in metric order) raises
        :class:`ModelError`."""
        cols = np.flatnonzero(rows.staged)
        values, applies = rows.values[:, cols], rows.applies[:, cols]
        bad = applies & ~np.isfinite(values)
        if bad.any():
            m, i = (int(k) for k in np.argwhere(bad.T)[0])
            raise ModelError(METRICS[cols[m]], self.codes[i], step, self.dates[step], float(values[i, m]))
        self.values[step][:, cols] = np.where(applies, values, np.nan)
        self.present[step][:, cols] = applies
        self.last_step = max(self.last_step, step)

    def record(self, model) -> None:
        """Record this step of ``model`` from its public state (its countries, fleets, data
        centres, market, the miners' clearing, the step's trade and remittances)."""
        t, n = model.t, len(model.codes)
        rows = StepRows(n + 1)
        index = self.metric_index

        def put(metric: str, values, where=None) -> None:
            rows.put(index[metric], values, where)

        fleets = [model.fleets[c] for c in model.codes]
        countries = [model.countries[c] for c in model.codes]
        # The fleets' and countries' numbers in one pass each; row n is WORLD (a column's total).
        fleet_values = np.empty((n + 1, 5))
        fleet_values[:n] = [(f.operating_ths / TH_PER_EH, f.underground_operating_ths / TH_PER_EH, f.operating_mw,
                             f.curtailed_mw, f.revenue_usd) for f in fleets]
        for j in range(5):
            fleet_values[n, j] = fleet_values[:n, j].copy().sum()  # contiguous, summed as a 1-D array
        hashrate = fleet_values[:n, 0]
        total = fleet_values[n, 0]
        nan = np.full(n + 1, np.nan)
        # Where a metric applies is said explicitly (``where=``); the recorder raises on a
        # value that is not finite where it applies (NaN left below is never written).
        world_only_rows = np.arange(n + 1) == n

        def with_world(values, world):
            return np.append(np.asarray(values, dtype=float), world)

        put("hashrate_ehs", fleet_values[:, 0])
        put("hashrate_share", with_world(hashrate / total if total > 0 else hashrate * 0, 1.0 if total > 0 else 0.0))
        put("underground_hashrate_ehs", fleet_values[:, 1])
        put("mining_power_mw", fleet_values[:, 2])
        capped = [c.mining_allowance_mw is not None for c in countries]  # not world
        allowed = np.array([c.mining_allowance_mw if cap else np.nan for c, cap in zip(countries, capped)])
        put("mining_power_allowed_mw", with_world(allowed, np.nan), where=capped + [False])
        served: dict[str, float] = {}
        for d in model.datacentres:
            served[d.country] = served.get(d.country, 0) + d.served_mw  # in the data centres' order, as sum()
        ai = np.array([served.get(c, 0) for c in model.codes], dtype=float)
        put("ai_power_mw", with_world(ai, ai.sum()))
        put("curtailed_mw", fleet_values[:, 3])
        put("miner_revenue_usd", fleet_values[:, 4])
        stance = np.array([c.stance for c in countries], dtype=float)
        reserve = np.array([c.reserve_btc for c in countries])
        put("reserve_btc", with_world(reserve, reserve.sum()))
        put("reserve_usd", with_world(reserve * model.market.price_usd, reserve.sum() * model.market.price_usd))

        # Household-country metrics (and WORLD, their total): no row elsewhere.
        pos = {c: i for i, c in enumerate(model.codes)}
        received, vol, exchange, p2p, rate, adopters = (nan.copy() for _ in range(6))
        stance_world = np.nan
        household_rows = np.zeros(n + 1, dtype=bool)
        if model.household_countries:
            idx = [pos[c] for c in model.household_countries]
            household_rows[idx] = household_rows[-1] = True
            pops = np.array([model.countries[c].population for c in model.household_countries])
            rates = np.array([model.countries[c].adoption_rate for c in model.household_countries])
            received[idx] = [model.value_received[c] for c in model.household_countries]
            vol[idx] = model.volumes.sum(axis=1)
            exchange[idx] = model.volumes[:, :-1].sum(axis=1)
            p2p[idx] = model.volumes[:, -1]
            rate[idx] = rates
            adopters[idx] = rates * pops
            received[-1], vol[-1], exchange[-1], p2p[-1] = (a[idx].sum() for a in (received, vol, exchange, p2p))
            adopters[-1] = adopters[idx].sum()
            rate[-1] = adopters[-1] / pops.sum()
            stance_world = float(np.dot(stance[idx], pops) / pops.sum())
            self.put_volumes(t, model.volumes)
        put("value_received_usd", received, where=household_rows)
        put("trading_volume_usd", vol, where=household_rows)
        put("exchange_volume_usd", exchange, where=household_rows)
        if model.config.remittances is not None and model.household_countries:
            crypto, share = nan.copy(), nan.copy()
            for code in model.household_countries:
                crypto[pos[code]] = model.remit_crypto_usd.get(code, 0.0)
                total = model.remit_usd.get(code, 0.0)
                share[pos[code]] = crypto[pos[code]] / total if total > 0 else 0.0
            crypto[-1] = np.sum(np.where(household_rows[:-1], crypto[:-1], 0.0))
            total = sum(model.remit_usd.values())
            share[-1] = crypto[-1] / total if total > 0 else 0.0
            put("remittance_crypto_usd", crypto, where=household_rows)
            put("remittance_crypto_share", share, where=household_rows)
        put("p2p_volume_usd", p2p, where=household_rows)
        put("adoption_rate", rate, where=household_rows)
        put("adopters", adopters, where=household_rows)
        put("stance", with_world(stance, stance_world),
            where=np.append(np.ones(n, dtype=bool), bool(model.household_countries)))
        m = model.market
        for metric, value in (("btc_price_usd", m.price_usd),
                              ("hashprice_usd_per_ph_day", model.mining.hashprice_usd_per_ph_day),
                              ("clearing_hashprice_usd_per_ph_day", model.mining.clearing_hashprice_usd_per_ph_day),
                              ("difficulty", model.mining.difficulty), ("block_subsidy_btc", m.subsidy_btc)):
            world_only = nan.copy()
            world_only[-1] = value
            put(metric, world_only, where=world_only_rows)
        self.write(t, rows)

    def put_volumes(self, step: int, matrix: np.ndarray) -> None:
        """Trading volume by market and exchange; every entry computed, so every one finite."""
        matrix = np.asarray(matrix, dtype=float)
        bad = ~np.isfinite(matrix)
        if bad.any():
            r, e = (int(i[0]) for i in np.nonzero(bad))
            raise ModelError(f"trading volume on {self.exchanges[e]}", self.markets[r], step, self.dates[step],
                             float(matrix[r, e]))
        self.volumes[step] = matrix

    def timeseries(self) -> pd.DataFrame:
        steps = self.last_step + 1
        vals = self.values[:steps]
        s, c, m = np.nonzero(self.present[:steps])
        dates = pd.to_datetime(pd.Series(self.dates[:steps]))
        return pd.DataFrame({
            "step": s.astype(np.int32),
            "date": dates.to_numpy()[s],
            "country": pd.Categorical.from_codes(c, self.codes),
            "metric": pd.Categorical.from_codes(m, list(METRICS)),
            "value": vals[s, c, m],
        })

    def exchange_volumes(self) -> pd.DataFrame:
        steps = self.last_step + 1
        vol = self.volumes[:steps]
        s, c, e = np.nonzero(vol > 0)
        dates = pd.to_datetime(pd.Series(self.dates[:steps]))
        return pd.DataFrame({
            "step": s.astype(np.int32),
            "date": dates.to_numpy()[s],
            "country": pd.Categorical.from_codes(c, self.markets),
            "exchange": pd.Categorical.from_codes(e, self.exchanges),
            "volume_usd": vol[s, c, e],
        })

    def value(self, step: int, metric: str, code: str) -> float | None:
        """One recorded value; None where the metric has no row (does not apply)."""
        if metric not in self.metric_index or code not in self.code_index:
            raise KeyError(f"no metric {metric!r} for {code!r} (metrics: {', '.join(METRICS)}; "
                           f"codes: {', '.join(self.codes)})")
        if not 0 <= step <= self.last_step:
            raise IndexError(f"step {step} not recorded (0-{self.last_step})")
        v = self.values[step, self.code_index[code], self.metric_index[metric]]
        return None if np.isnan(v) else float(v)

    def volumes_of(self, step: int, market: str) -> dict[str, float]:
        """Trading volume in one market at one step, by exchange."""
        if market not in self.markets:
            return {}
        return dict(zip(self.exchanges, self.volumes[step, self.markets.index(market)].tolist()))
