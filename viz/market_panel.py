"""The market on screen: BTC price (data and simulated continuation apart), hashprice and
difficulty, with the halvings and their block subsidy; interactive (:mod:`viz.live_chart`).

These decide whether a country's miners run: a miner's revenue per PH/s and day is the
hashprice, which falls with difficulty and at each halving and rises with the price.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import solara

from viz.data import RunArrays
from viz.live_chart import LiveChart, Series, points, time_option

PRICE_COLOR, SIM_COLOR = "#f2a900", "#8a6d1f"
HASHPRICE_COLOR, CLEARING_COLOR, DIFFICULTY_COLOR = "#1f77b4", "#17becf", "#555555"
WORLD = "WORLD"


class MarketCharts:
    """The two market charts of one model: options built once, points read from its arrays."""

    def __init__(self, model):
        self.dates = list(model.dates)
        self.model = model
        history = np.asarray(model.market.from_history, dtype=bool)
        # the simulated line starts at the last data point, so the two lines meet
        last_data = int(np.flatnonzero(history)[-1]) if history.any() else -1
        self.history = history
        self.simulated = np.arange(len(self.dates)) >= last_data
        self.halvings = sorted((h.date, h.subsidy_btc) for h in model.config.market.halvings.values())
        source = Path(model.config.market.price.csv or "the data").name
        self.price_series = [Series(f"BTC price, data ({source})", "USD", PRICE_COLOR),
                             Series("BTC price, simulated", "USD", SIM_COLOR, dashed=True)]
        self.hash_series = [Series("hashprice", "USD/PH/day", HASHPRICE_COLOR),
                            Series("clearing hashprice", "USD/PH/day", CLEARING_COLOR, dashed=True),
                            Series("difficulty", "T", DIFFICULTY_COLOR, axis=1)]

    def _world(self, metric: str, t: int) -> np.ndarray:
        arrays = RunArrays.of(self.model)  # views of the recorder up to the model's week
        return arrays.metric(metric, t)[:, arrays.col(WORLD)]

    def price_data(self, t: int, start: int = 0) -> list[list]:
        price = self._world("btc_price_usd", t)
        return [points(self.dates, np.where(mask[: t + 1], price, np.nan), start)
                for mask in (self.history, self.simulated)]

    def hash_data(self, t: int, start: int = 0) -> list[list]:
        return [points(self.dates, self._world("hashprice_usd_per_ph_day", t), start),
                points(self.dates, self._world("clearing_hashprice_usd_per_ph_day", t), start),
                points(self.dates, self._world("difficulty", t) / 1e12, start)]

    def marks(self) -> list:
        return [(when, f"halving: {subsidy:g} BTC") for when, subsidy in self.halvings
                if self.dates[0] <= when <= self.dates[-1]]

    def price_option(self, t: int) -> dict:
        return time_option("BTC price, USD (log scale)", self.price_series, self.price_data(t), self.dates,
                           log=(True,), marks=self.marks())

    def hash_option(self, t: int) -> dict:
        return time_option("Hashprice, USD per PH/s per day (left), and difficulty, T (right)", self.hash_series,
                           self.hash_data(t), self.dates, y_axes_count=2, marks=self.marks())


@solara.component
def MarketPanel(model, generation: int, t: int):
    charts = solara.use_memo(lambda: MarketCharts(model), [generation])
    # built once per model: later weeks arrive as appended points
    price_option = solara.use_memo(lambda: charts.price_option(t), [charts])
    hash_option = solara.use_memo(lambda: charts.hash_option(t), [charts])
    with solara.Columns([1, 1], gutters_dense=True):
        LiveChart(price_option, lambda start: charts.price_data(t, start), t, height=280, name="price")
        LiveChart(hash_option, lambda start: charts.hash_data(t, start), t, height=280, name="hashprice")
