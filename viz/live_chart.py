"""Interactive charts that grow week by week: hover values with units and dates, zoom, legend toggles.

A chart is an ECharts option (a JSON-able dict: axes, series with their names, colours and
units) drawn in the browser by ``live_chart.vue``; ECharts' JavaScript ships in
solara-assets, so the page works offline. The option, with the data up to the week it was
built, is sent once; after that each step sends only the new points of every series
(ipyvue's custom message calling the template's ``jupyter_append``), so a step costs a few
numbers on the wire, not a re-sent chart. A browser that missed points (or a chart
re-mounted by the page) asks for the whole data back (``vue_sync``).

:class:`Series` and :func:`time_option` build the options; :func:`LiveChart` is the
component; the panels decide what to draw.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from dataclasses import dataclass, field
from typing import Callable

import ipyvuetify
import numpy as np
import solara
import solara.settings
import traitlets

REVISIONS = itertools.count(1)
#: ECharts' axis/tooltip text size and the charts' font, matching the rest of the page.
FONT = {"fontSize": 11}


@dataclass(frozen=True)
class Series:
    """One line of a chart: its name (the legend and hover text), unit, colour and style."""

    name: str
    unit: str
    color: str
    dashed: bool = False
    area: bool = False
    stack: str | None = None
    axis: int = 0  # y axis index (0 left, 1 right)
    extra: dict = field(default_factory=dict)  # more ECharts series settings (markLine, step, ...)

    def option(self, data: list) -> dict:
        out = {"type": "line", "name": self.name, "unit": self.unit, "showSymbol": False, "data": data,
               "yAxisIndex": self.axis, "color": self.color, "emphasis": {"focus": "series"},
               "lineStyle": {"width": 1.6, "type": "dashed" if self.dashed else "solid"}}
        if self.area:
            out["areaStyle"] = {"opacity": 0.55}
        if self.stack:
            out["stack"] = self.stack
        return {**out, **self.extra}


def points(dates: list[dt.date], values: np.ndarray, start: int = 0, positive: bool = False) -> list[list]:
    """``[[date, value], ...]`` for ECharts' time axis; a non-finite value is a gap (None), and
    so is a value <= 0 where the axis is logarithmic (``positive``)."""
    return [[d.isoformat(), float(v) if math.isfinite(v) and (v > 0 or not positive) else None]
            for d, v in zip(dates[start:], values[start:].tolist())]


def time_option(title: str, series: list[Series], data: list[list], dates: list[dt.date], *,
                y_axes_count: int = 1, log: tuple[bool, ...] = (False,),
                marks: list[tuple[dt.date, str]] = ()) -> dict:
    """The option of a date-axis chart: the x axis fixed to the run, one or two y axes, a
    tooltip for all series at the hovered date, zoom by wheel/drag and a slider, a legend whose
    entries switch series on and off, and dated marks as lines (a mark whose label starts with
    "halving" is labelled on the chart; the others, shocks, say theirs on hover)."""
    # the units are in the title (and in every hover value), so the axes carry no name that
    # could collide with the legend
    y_axes = [{"type": "log" if lg else "value", "axisLabel": FONT, "scale": True, "splitLine": {"show": i == 0}}
              for i, lg in enumerate(log + (False,) * (y_axes_count - len(log)))]
    option = {
        # unique per build: a rebuilt chart whose first weeks equal the old one's (the price data
        # do not depend on the seed) must still reach the browser, which syncs on a change only
        "revision": next(REVISIONS),
        "animation": False,
        "title": {"text": title, "textStyle": {"fontSize": 13}, "left": 4},
        "grid": {"left": 8, "right": 8, "top": 60, "bottom": 40, "containLabel": True},
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "line"}, "confine": True},
        "legend": {"top": 26, "type": "scroll", "textStyle": FONT},
        "xAxis": {"type": "time", "min": dates[0].isoformat(), "max": dates[-1].isoformat(), "axisLabel": FONT},
        "yAxis": y_axes,
        "dataZoom": [{"type": "inside", "filterMode": "none"},
                     {"type": "slider", "height": 18, "bottom": 8, "filterMode": "none"}],
        "series": [s.option(d) for s, d in zip(series, data)],
    }
    if marks and option["series"]:
        option["series"][0]["markLine"] = {
            "symbol": "none", "lineStyle": {"type": "dotted", "color": "#888"},
            "label": {"formatter": "{b}", "fontSize": 10, "position": "insideEndTop"},
            "data": [{"xAxis": when.isoformat(), "name": label,
                      "label": {"show": label.startswith("halving")}, "emphasis": {"label": {"show": True}}}
                     for when, label in marks]}
    return option


class LiveChartWidget(ipyvuetify.VuetifyTemplate):
    template_file = (__file__, "live_chart.vue")

    option = traitlets.Any({}).tag(sync=True)
    height = traitlets.Int(300).tag(sync=True)
    css_class = traitlets.Unicode("").tag(sync=True)
    cdn = traitlets.Unicode(None, allow_none=True).tag(sync=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.whole: Callable[[], list[list]] | None = None  # every series' points so far (set by LiveChart)

    @traitlets.default("cdn")
    def _cdn(self):
        return None if solara.settings.assets.proxy else solara.settings.assets.cdn

    def vue_sync(self, _data=None):
        if self.whole is not None:
            self.send({"method": "replace", "args": [self.whole()]})


@solara.component
def LiveChart(option: dict, data_of: Callable[[int], list[list]], t: int, *, height: int = 300, name: str = ""):
    """A chart whose ``option`` holds the data up to the week it was built (``option`` changes
    only on a rebuild); every later week ``data_of(start)`` gives each series' points from
    index ``start`` on, and only those are sent."""
    sent = solara.use_ref(None)  # (option id, points the browser has)
    el = LiveChartWidget.element(option=option, height=height, css_class=f"viz-{name}" if name else "")

    def send_new():
        widget = solara.get_widget(el)
        widget.whole = lambda: data_of(0)
        have = len(option["series"][0]["data"]) if option.get("series") else 0
        if sent.current is not None and sent.current[0] == id(option):
            have = sent.current[1]
        new = data_of(have)
        if new and new[0]:
            widget.send({"method": "append", "args": [have, new]})
            have += len(new[0])
        sent.current = (id(option), have)

    solara.use_effect(send_new, [id(option), t])
    return el
