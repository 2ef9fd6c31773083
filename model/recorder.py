"""The recorder: per-step metrics into preallocated arrays, out as one tidy table.

Rows are (step, date, country, metric, value), with ``country`` an ISO3 code, ``ROW``, or
``WORLD`` for network totals. A metric a country does not have (adoption where there are
no households, an allowance where power is not capped) has no row rather than a NaN.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

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
        self.values = np.full((len(dates), len(self.codes), len(METRICS)), np.nan)
        self.exchanges = list(exchanges)
        self.markets = list(markets)
        self.volumes = np.zeros((len(dates), len(markets), len(exchanges)))
        self.last_step = -1

    def put(self, step: int, metric: str, values) -> None:
        """Values for every code in order (countries then WORLD); NaN means no row."""
        self.values[step, :, self.metric_index[metric]] = values
        self.last_step = max(self.last_step, step)

    def put_volumes(self, step: int, matrix: np.ndarray) -> None:
        self.volumes[step] = matrix

    def timeseries(self) -> pd.DataFrame:
        steps = self.last_step + 1
        vals = self.values[:steps]
        s, c, m = np.nonzero(~np.isnan(vals))
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
