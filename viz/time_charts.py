"""The run's time charts, interactive (:mod:`viz.live_chart`): hashrate by country, trading
volume by country and by exchange, adoption, and the focus country's power and fleet.

A :class:`TimePanel` is a list of :class:`Line` s, each a named series with its unit and a
function that reads its values from a run's recorded arrays (:class:`viz.data.RunArrays`);
lines marked ``counterfactual`` read the counterfactual run instead and are drawn (dashed)
only once it is ready. The panel gives the chart's option (the data up to the week it is
built) and, each week, the new points. Every country has its own colour; the focus
country is red and drawn thicker, its dated shocks and the halvings are marked.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from viz.data import FleetBands, RunArrays
from viz.fastfig import FOCUS_COLOR, format_usd
from viz.live_chart import Series, points, time_option

#: Distinct colours for up to 20 countries besides the focus (red), in scenario order.
COUNTRY_PALETTE = ("#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
                   "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd", "#31a354", "#756bb1",
                   "#e6550d", "#636363", "#fdae6b", "#9ecae1")
EXCHANGE_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf",
                   "#bcbd22", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#5254a3")
P2P_COLOR, AI_COLOR, CURTAILED_COLOR, TOTAL_COLOR = "#b0b0b0", "#7b3fa0", "#9a9a9a", "#000000"
CF = ", counterf."
WORLD = "WORLD"

Values = Callable[[RunArrays, int], np.ndarray]  # a run's arrays and the week -> values for weeks 0..t


def country_colors(codes: list[str], focus: str) -> dict[str, str]:
    """The focus country red, every other country its own colour."""
    others = [c for c in codes if c != focus]
    return {focus: FOCUS_COLOR, **{c: COUNTRY_PALETTE[i % len(COUNTRY_PALETTE)] for i, c in enumerate(others)}}


def metric_of(metric: str, code: str, scale: float = 1.0, fill: float | None = None) -> Values:
    """One country's (or WORLD's) column of a recorded metric; ``fill`` replaces NaN (no row)."""
    def values(run: RunArrays, t: int) -> np.ndarray:
        v = run.metric(metric, t)[:, run.col(code)] * scale
        return v if fill is None else np.nan_to_num(v, nan=fill)
    return values


def exchange_of(market: str, index: int) -> Values:
    return lambda run, t: run.country_volumes(market, t)[:, index]


def market_total(market: str) -> Values:
    return lambda run, t: run.country_volumes(market, t).sum(axis=1)


@dataclass(frozen=True)
class Line:
    series: Series
    values: Values
    counterfactual: bool = False


def cf_line(line: Line, name: str | None = None) -> Line:
    """The same series read from the counterfactual run, dashed, not stacked, not filled."""
    s = replace(line.series, name=name or line.series.name + CF, dashed=True, area=False, stack=None)
    return Line(s, line.values, counterfactual=True)


@dataclass(frozen=True)
class Ensemble:
    """Finished runs of the same settings with other seeds (and fitted draws): the band behind a line."""

    members: tuple[RunArrays, ...]
    label: str  # what the members are, for the legend

    def quantiles(self, line: Line, q=(0.05, 0.95)) -> np.ndarray:
        """[len(q), date] quantiles of ``line`` over the members' whole runs."""
        runs = np.array([line.values(m, m.t) for m in self.members], dtype=float)
        return np.nanquantile(runs, q, axis=0)


BAND_COLOR = "#888888"


class TimePanel:
    """One chart: its lines, axes and marks, the line that gets an ensemble band; the option
    and each week's new points."""

    def __init__(self, *, title: str, dates: list[dt.date], lines: list[Line], log: bool = False,
                 marks: list[tuple[dt.date, str]] = (), band: Line | None = None,
                 summary: Callable[[RunArrays, int], str] = lambda run, t: ""):
        self.title, self.dates, self.lines, self.band = title, dates, lines, band
        self.log, self.marks, self.summary = log, list(marks), summary

    def drawn(self, cf: RunArrays | None) -> list[Line]:
        return [ln for ln in self.lines if cf is not None or not ln.counterfactual]

    def band_series(self, ens: Ensemble | None) -> list[Series]:
        """The band as two stacked lines: the 5% line (hidden) and the 5-95% width (shaded)."""
        if ens is None or self.band is None:
            return []
        name = f"{self.band.series.name}: 5-95% of {ens.label}"
        hidden = {"lineStyle": {"opacity": 0}, "tooltip": {"show": False}}
        return [Series(name, self.band.series.unit, BAND_COLOR, stack="band", extra=hidden),
                Series(name, self.band.series.unit, BAND_COLOR, stack="band",
                       extra={**hidden, "areaStyle": {"opacity": 0.18, "color": BAND_COLOR}})]

    def data(self, live: RunArrays, cf: RunArrays | None, t: int, start: int = 0,
             ens: Ensemble | None = None) -> list[list]:
        out = [points(self.dates, ln.values(cf if ln.counterfactual else live, t), start, positive=self.log)
               for ln in self.drawn(cf)]
        if ens is not None and self.band is not None:  # drawn whole with the option; later weeks add nothing
            low, high = ens.quantiles(self.band) if not start else (np.array([]), np.array([]))
            out += [points(self.dates, low, start, positive=self.log), points(self.dates, high - low, start)]
        return out

    def option(self, live: RunArrays, cf: RunArrays | None, t: int, ens: Ensemble | None = None) -> dict:
        return time_option(self.title, [ln.series for ln in self.drawn(cf)] + self.band_series(ens),
                           self.data(live, cf, t, ens=ens), self.dates,
                           y_axes_count=1 + any(ln.series.axis for ln in self.lines), log=(self.log,),
                           marks=self.marks)


def _today(run: RunArrays, t: int) -> str:
    return run.dates[min(t, run.t)].isoformat()


# ------------------------------------------------------------------ the charts
def hashrate_panel(dates, codes: list[str], colors: dict[str, str], focus: str, marks) -> TimePanel:
    """Hashrate by country, stacked (focus at the bottom), the network total, and the focus
    country on its own right axis so that a small fleet stays readable."""
    order = [focus] + [c for c in codes if c != focus]
    stack = [Line(Series(c, "EH/s", colors[c], area=True, stack="countries"), metric_of("hashrate_ehs", c, fill=0.0))
             for c in order]
    total = Line(Series("network total", "EH/s", TOTAL_COLOR), metric_of("hashrate_ehs", WORLD))
    own = Line(Series(f"{focus} alone (right axis)", "EH/s", FOCUS_COLOR, axis=1,
                      extra={"lineStyle": {"width": 2.2}}), metric_of("hashrate_ehs", focus, fill=0.0))
    lines = stack + [total, own, cf_line(total), cf_line(own, f"{focus}{CF} (right axis)")]

    def summary(run, t):
        world = float(metric_of("hashrate_ehs", WORLD)(run, t)[-1])
        mine = float(metric_of("hashrate_ehs", focus, fill=0.0)(run, t)[-1])
        share = mine / world * 100 if world > 0 else 0.0
        return f"{_today(run, t)}: network {world:,.0f} EH/s, {focus} {mine:,.1f} EH/s ({share:.1f}%)"

    return TimePanel(title=f"Hashrate by country, EH/s (stacked; {focus} alone on the right axis)", dates=dates,
                     lines=lines, marks=marks, band=total, summary=summary)


def volume_panel(dates, markets: list[str], colors, focus: str, marks) -> TimePanel:
    """Trading volume per week by country (log scale) and the regional total."""
    country = [Line(Series(c, "USD/week", colors[c], extra={"lineStyle": {"width": 2.2 if c == focus else 1.2}}),
                    metric_of("trading_volume_usd", c)) for c in markets]
    total = Line(Series("total", "USD/week", TOTAL_COLOR), metric_of("trading_volume_usd", WORLD))
    lines = [total] + country + [cf_line(total)] + [cf_line(ln) for ln in country if ln.series.name == focus]

    def summary(run, t):
        text = f"{_today(run, t)}: total {format_usd(float(total.values(run, t)[-1]))}/wk"
        if focus in markets:
            text += f", {focus} {format_usd(float(metric_of('trading_volume_usd', focus)(run, t)[-1]))}/wk"
        return text

    return TimePanel(title="Trading volume by country (USD per week, log scale)", dates=dates, lines=lines,
                     log=True, marks=marks, band=total, summary=summary)


def exchange_panel(dates, exchanges: list[str], market: str, name: str, marks) -> TimePanel:
    """One market's trading volume per week, stacked by exchange (P2P grey)."""
    lines = [Line(Series(e, "USD/week", P2P_COLOR if e == "P2P" else EXCHANGE_COLORS[i % len(EXCHANGE_COLORS)],
                         area=True, stack="venues"), exchange_of(market, i)) for i, e in enumerate(exchanges)]
    total = Line(Series("total", "USD/week", TOTAL_COLOR), market_total(market))
    lines += [cf_line(total)]

    def summary(run, t):
        vol = run.country_volumes(market, t)
        venues = int((vol[-1] > 0).sum()) if len(vol) else 0
        return f"{_today(run, t)}: {format_usd(float(vol[-1].sum()) if len(vol) else 0.0)}/wk on {venues} venue(s)"

    return TimePanel(title=f"Volume by exchange: {name} ({market}), USD per week", dates=dates, lines=lines,
                     marks=marks, summary=summary)


def adoption_panel(dates, markets: list[str], colors, focus: str, marks) -> TimePanel:
    """Share of the population holding crypto, by country, in percent."""
    country = [Line(Series(c, "%", colors[c], extra={"lineStyle": {"width": 2.2 if c == focus else 1.2}}),
                    metric_of("adoption_rate", c, scale=100.0)) for c in markets]
    lines = country + [cf_line(ln) for ln in country]

    def summary(run, t):
        if focus not in markets:
            return _today(run, t)
        return f"{_today(run, t)}: {focus} {float(metric_of('adoption_rate', focus, 100.0)(run, t)[-1]):.2f}%"

    band = next((ln for ln in country if ln.series.name == focus), None)
    return TimePanel(title="Adoption by country (% of population holding crypto)", dates=dates, lines=lines,
                     marks=marks, band=band, summary=summary)


def power_panel(dates, focus: str, name: str, marks) -> TimePanel:
    """The focus country's mining power against its allowance, AI load and curtailment, in MW."""
    mining = Line(Series("mining", "MW", FOCUS_COLOR, extra={"lineStyle": {"width": 2.0}}),
                  metric_of("mining_power_mw", focus))
    allowed = metric_of("mining_power_allowed_mw", focus)
    lines = [mining,
             Line(Series("allowed", "MW", TOTAL_COLOR, extra={"step": "end"}), allowed),
             Line(Series("AI", "MW", AI_COLOR), metric_of("ai_power_mw", focus, fill=0.0)),
             Line(Series("curtailed", "MW", CURTAILED_COLOR), metric_of("curtailed_mw", focus, fill=0.0)),
             cf_line(mining, "mining" + CF)]

    def summary(run, t):
        cap = float(allowed(run, t)[-1])
        cap_text = f"{cap:,.0f} MW allowed" if np.isfinite(cap) else "no cap"
        used = float(np.nan_to_num(mining.values(run, t)[-1]))
        ai = float(metric_of("ai_power_mw", focus, fill=0.0)(run, t)[-1])
        return f"{_today(run, t)}: mining {used:,.0f} MW, AI {ai:,.0f} MW, {cap_text}"

    return TimePanel(title=f"{name}: power (mining, AI, curtailed), MW", dates=dates, lines=lines,
                     marks=marks, band=mining, summary=summary)


FLEET_COLORS = {"running": FOCUS_COLOR, "underground": "#4d0000", "idle": "#d0d0d0"}


def fleet_option(fleet: FleetBands) -> dict:
    """The focus country's fleet by machine efficiency band (EH/s), stacked bars: small, so sent whole."""
    installed = float(fleet.running.sum() + fleet.underground.sum() + fleet.idle.sum())
    return {
        "animation": False,
        "title": {"text": "Fleet by machine efficiency (EH/s)", "textStyle": {"fontSize": 13}, "left": 4,
                  "subtext": f"{installed:,.1f} EH/s installed, {fleet.pipeline_ehs:,.1f} on order",
                  "subtextStyle": {"fontSize": 11, "color": "#333"}, "itemGap": 4},
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}, "confine": True},
        "legend": {"top": 44, "textStyle": {"fontSize": 11}},
        "grid": {"left": 8, "right": 16, "top": 76, "bottom": 10, "containLabel": True},
        "xAxis": {"type": "value", "name": "EH/s", "axisLabel": {"fontSize": 11}},
        "yAxis": {"type": "category", "name": "J/TH", "data": list(fleet.labels), "axisLabel": {"fontSize": 11}},
        "series": [{"type": "bar", "name": kind, "stack": "fleet", "color": color,
                    "data": [round(float(v), 4) for v in getattr(fleet, kind)]}
                   for kind, color in FLEET_COLORS.items()],
    }
