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

WORLD = "WORLD"

COUNTRY_METRICS = (
    "hashrate_ehs", "hashrate_share", "underground_hashrate_ehs", "mining_power_mw",
    "mining_power_allowed_mw", "ai_power_mw", "curtailed_mw", "miner_revenue_usd",
    "trading_volume_usd", "p2p_volume_usd", "remittance_crypto_usd", "remittance_crypto_share",
    "adoption_rate", "adopters", "stance", "reserve_btc", "reserve_usd",
)
WORLD_ONLY = ("btc_price_usd", "hashprice_usd_per_ph_day", "clearing_hashprice_usd_per_ph_day", "difficulty",
              "block_subsidy_btc")
METRICS = COUNTRY_METRICS + WORLD_ONLY


class Recorder:
    def __init__(self, dates: list[dt.date], codes: list[str], exchanges: list[str],
                 markets: list[str]):
        self.dates = dates
        self.codes = list(codes) + [WORLD]
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
        m = self.metric_index[metric]
        values = np.broadcast_to(np.asarray(values, dtype=float), (len(self.codes),))
        applies = np.ones(len(self.codes), dtype=bool) if where is None else np.asarray(where, dtype=bool)
        bad = applies & ~np.isfinite(values)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ModelError(metric, self.codes[i], step, self.dates[step], float(values[i]))
        self.values[step, :, m] = np.where(applies, values, np.nan)
        self.present[step, :, m] = applies
        self.last_step = max(self.last_step, step)

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
        if metric not in self.metric_index or code not in self.codes:
            raise KeyError(f"no metric {metric!r} for {code!r} (metrics: {', '.join(METRICS)}; "
                           f"codes: {', '.join(self.codes)})")
        if not 0 <= step <= self.last_step:
            raise IndexError(f"step {step} not recorded (0-{self.last_step})")
        v = self.values[step, self.codes.index(code), self.metric_index[metric]]
        return None if np.isnan(v) else float(v)

    def volumes_of(self, step: int, market: str) -> dict[str, float]:
        """Trading volume in one market at one step, by exchange."""
        if market not in self.markets:
            return {}
        return dict(zip(self.exchanges, self.volumes[step, self.markets.index(market)].tolist()))
