"""Runs side by side: the live run and the session's kept runs (viz/kept_runs.py) on one chart.

The live run is drawn solid and grows week by week (only its new points are sent); each kept
run is a fixed line, labelled with what made it (scenario, seed, households, the settings
that differ from the scenario file, how far it ran).
"""

from __future__ import annotations

import numpy as np
import solara

from viz.data import RunArrays
from viz.fastfig import FOCUS_COLOR
from viz.kept_runs import MAX_RUNS, KeptRun
from viz.live_chart import LiveChart, Series, points, time_option
from viz.settings import Settings
from viz.state import Controller
from viz.time_charts import metric_of

KEPT_COLORS = ("#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#bcbd22", "#7f7f7f")
FOCUS = "focus"
#: What can be compared: label -> (metric, country or FOCUS, scale, unit)
QUANTITIES = {
    "network hashrate, EH/s": ("hashrate_ehs", "WORLD", 1.0, "EH/s"),
    "focus country's hashrate, EH/s": ("hashrate_ehs", FOCUS, 1.0, "EH/s"),
    "focus country's mining power, MW": ("mining_power_mw", FOCUS, 1.0, "MW"),
    "focus country's trading volume, USD/week": ("trading_volume_usd", FOCUS, 1.0, "USD/week"),
    "focus country's adoption, %": ("adoption_rate", FOCUS, 100.0, "%"),
    "focus country's stance (0 ban .. 4 legal tender)": ("stance", FOCUS, 1.0, "level"),
    "BTC price, USD": ("btc_price_usd", "WORLD", 1.0, "USD"),
}


def run_label(s: Settings, date) -> str:
    """What made a run, to tell kept runs apart."""
    parts = [s.scenario, f"seed {s.seed}", f"{s.households_value:,} households"]
    parts += [f"{path}={value}" for path, value in s.params]
    return ", ".join(parts) + f" (to {date})"


def series_of(run: RunArrays, quantity: str, focus: str, t: int | None = None) -> np.ndarray | None:
    metric, code, scale, _ = QUANTITIES[quantity]
    code = focus if code == FOCUS else code
    if code not in run.codes:
        return None
    return metric_of(metric, code, scale)(run, t)


class Comparison:
    """The chart of one quantity for the live run and the kept runs."""

    def __init__(self, quantity: str, focus: str, kept: list[KeptRun], live_label: str):
        self.quantity, self.focus = quantity, focus
        unit = QUANTITIES[quantity][3]
        self.kept = [(k, v) for k in kept if (v := series_of(k.arrays, quantity, focus)) is not None]
        self.series = [Series(f"this run: {live_label}", unit, FOCUS_COLOR, extra={"lineStyle": {"width": 2.4}})]
        self.series += [Series(f"kept {i + 1}: {k.label}", unit, KEPT_COLORS[i % len(KEPT_COLORS)])
                        for i, (k, _) in enumerate(self.kept)]

    def data(self, live: RunArrays, t: int, start: int = 0) -> list[list]:
        values = series_of(live, self.quantity, self.focus, t)
        first = points(live.dates, values if values is not None else np.full(t + 1, np.nan), start)
        if start:  # kept runs are drawn whole in the option; later weeks add only the live run's points
            return [first] + [[] for _ in self.kept]
        return [first] + [points(k.arrays.dates, v) for k, v in self.kept]

    def option(self, live: RunArrays, t: int) -> dict:
        dates = sorted({*live.dates, *(d for k, _ in self.kept for d in k.arrays.dates)})
        option = time_option(f"Runs side by side: {self.quantity.replace('focus country', self.focus)}",
                             self.series, self.data(live, t), dates)
        option["legend"].update({"orient": "vertical", "left": 4, "top": 26, "type": "plain"})
        option["grid"]["top"] = 40 + 20 * len(self.series)
        return option


@solara.component
def CompareRuns(ctl: Controller, model, s: Settings, focus: str, generation: int, t: int):
    kept = ctl.kept.value
    quantity, set_quantity = solara.use_state(next(iter(QUANTITIES)))
    label = run_label(s, model.date)
    comparison = solara.use_memo(lambda: Comparison(quantity, focus, kept, run_label(s, "now")),
                                 [quantity, focus, tuple(k.name for k in kept), generation])
    option = solara.use_memo(lambda: comparison.option(RunArrays.of(model), t), [comparison])
    with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"}, gap="8px"):
        solara.Button(f"Keep this run ({len(kept)} of {MAX_RUNS} kept)", on_click=lambda: ctl.keep_run(label),
                      icon_name="mdi-pin", outlined=True, classes=["viz-keep"])
        solara.Select("Compare", values=list(QUANTITIES), value=quantity, on_value=set_quantity,
                      classes=["viz-compare-quantity"], style={"max-width": "420px"})
        if kept:
            solara.Button("Forget kept runs", on_click=ctl.forget_kept, text=True, classes=["viz-forget"])
    if kept:
        LiveChart(option, lambda start: comparison.data(RunArrays.of(model), t, start), t,
                  height=300 + 20 * len(kept), name="compare")
    else:
        solara.Text("Keep a run, change a setting or the seed, and the runs are drawn here side by side "
                    "(kept for a day; they survive a page reload).", style={"font-size": "0.85rem", "color": "#555"})
