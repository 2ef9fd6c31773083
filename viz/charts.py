"""Time-series charts: hashrate stack, trading volume, volume by exchange, adoption, focus panel.

Each chart is a small class built once per (model, focus) and updated with the live
run's arrays up to the current week and, when ready, the counterfactual's arrays up to
the same week (dashed). ``update`` returns PNG bytes; see :mod:`viz.fastfig` for why
that is fast. x axes are calendar dates fixed to the run; units are in every axis label.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
from matplotlib.collections import PolyCollection
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from viz.data import FleetBands, RunArrays, day_numbers
from viz.fastfig import (
    FOCUS_COLOR,
    FONT,
    FastFigure,
    YRatchet,
    date_axis,
    format_usd,
    mpl_text,
    nice_ceiling,
    percent_formatter,
    style_axes,
    usd_formatter,
)

CF_STYLE = dict(linestyle=(0, (4, 2.5)), linewidth=1.5)
AI_COLOR = "#7b3fa0"          # AI data centres' power
CURTAILED_COLOR = "#9a9a9a"   # mining power denied by the cap or the season


def _stack_verts(x: np.ndarray, ys: np.ndarray) -> list[np.ndarray]:
    """Polygons of a stacked area: ys is [series, step], stacked bottom-up."""
    cum = np.cumsum(ys, axis=0)
    lows = np.vstack([np.zeros_like(cum[:1]), cum[:-1]])
    xx = np.concatenate([x, x[::-1]])
    return [np.column_stack([xx, np.concatenate([hi, lo[::-1]])]) for lo, hi in zip(lows, cum)]


def today_text(ff: FastFigure, ax):
    """The line of text above an axes that says what the chart shows at the current date
    (left-aligned, small, redrawn every update: a dynamic artist of ``ff``)."""
    return ff.dyn(ax.text(0.0, 1.012, "", transform=ax.transAxes, fontsize=FONT - 1,
                          va="bottom", ha="left", color="#333333"))


class TimeChart:
    """A date-axis chart with a legend at the right and the focus country's shock dates marked."""

    LEFT, RIGHT, BOTTOM, TOP = 66, 118, 24, 40  # pixel margins

    def __init__(self, *, dates: list[dt.date], title: str, ylabel: str, width: int = 560, height: int = 300,
                 markers: list[tuple[dt.date, str]] = (), marker_label: str = "", halvings: list[dt.date] = (),
                 log: bool = False, minimum: float = 1.0, legend_width: int | None = None):
        self.ff = FastFigure(width, height)
        right = self.RIGHT if legend_width is None else legend_width
        rect = (self.LEFT / width, self.BOTTOM / height,
                1 - (self.LEFT + right) / width, 1 - (self.BOTTOM + self.TOP) / height)
        self.ax = ax = self.ff.fig.add_axes(rect)
        self.x = day_numbers(dates)
        style_axes(ax, title, ylabel)
        date_axis(ax, dates[0], dates[-1])
        if log:
            ax.set_yscale("log")
        self.ylim = YRatchet(ax, minimum, log=log)
        self.legend_items: list = []
        self._legend = None
        for when, kind in markers:
            ax.axvline(day_numbers([when])[0], color=FOCUS_COLOR, linewidth=0.8, linestyle=":", alpha=0.8)
        if markers and marker_label:
            self.legend_extra = [Line2D([], [], color=FOCUS_COLOR, linewidth=0.8, linestyle=":", label=marker_label)]
        else:
            self.legend_extra = []
        for when in halvings:
            if dates[0] <= when <= dates[-1]:
                xv = day_numbers([when])[0]
                ax.axvline(xv, color="#555555", linewidth=0.8, linestyle="--", alpha=0.6)
                ax.text(xv, 0.02, " halving", transform=ax.get_xaxis_transform(), fontsize=FONT - 1.5,
                        color="#555555", va="bottom", ha="left")

    def set_legend(self, handles: list) -> None:
        key = [h.get_label() for h in handles]
        if key == [h.get_label() for h in self.legend_items]:
            return
        self.legend_items = handles
        if self._legend is not None:
            self._legend.remove()
        self._legend = self.ax.legend(handles=handles + self.legend_extra, loc="upper left",
                                      bbox_to_anchor=(1.01, 1.02), fontsize=FONT - 1, frameon=False,
                                      handlelength=1.6, borderaxespad=0.2, labelspacing=0.35)
        self.ff.invalidate()

    def fit(self, *arrays) -> None:
        if self.ylim.fit(*arrays):
            self.ff.invalidate()

    def country_lines(self, codes, colors: dict[str, str], focus: str, focus_width: float,
                      width: float) -> dict[str, Line2D]:
        """One dynamic line per country, the focus country's thicker."""
        return {c: self.ff.dyn(self.ax.add_line(Line2D([], [], color=colors[c],
                                                       linewidth=focus_width if c == focus else width)))
                for c in codes}

    def set_country_lines(self, live: RunArrays, values: np.ndarray, t: int) -> np.ndarray:
        """Put each country's column of ``values`` (weeks 0..t) on its line; returns the x values."""
        x = self.x[: t + 1]
        for c, line in self.lines.items():
            line.set_data(x, values[:, live.col(c)])
        return x


# ------------------------------------------------------------------ hashrate
class HashrateChart(TimeChart):
    """Hashrate by country, stacked, in EH/s, with the network total; focus at the bottom."""

    STRIP = 92  # px: the focus country's own hashrate, under the stack

    def __init__(self, *, dates, countries: list[str], region: list[str], colors: dict[str, str], focus: str,
                 height: int = 400, **kw):
        super().__init__(dates=dates, title="Hashrate by country (stacked)", ylabel="EH/s", minimum=100,
                         height=height, **kw)
        self.focus = focus
        region = [c for c in countries if c != focus and c in region]
        rest = [c for c in countries if c != focus and c not in region]
        self.order = [focus] + region + rest
        self.colors = colors
        # the stack above, the focus country's own hashrate in a strip below (same dates)
        x0, y0, w, h = self.ax.get_position().bounds
        strip = self.STRIP / height
        gap = 30 / height
        self.ax.set_position((x0, y0 + strip + gap, w, h - strip - gap))
        date_axis(self.ax, dates[0], dates[-1], labels=False)
        sx = self.sx = self.ff.fig.add_axes((x0, y0, w, strip))
        style_axes(sx, "", "EH/s", pad=2)
        date_axis(sx, dates[0], dates[-1])
        sx.set_title(f"{focus} hashrate", fontsize=FONT, loc="left", pad=2, color=FOCUS_COLOR, fontweight="bold")
        for line in self.ax.lines:  # shock markers and halving, repeated on the strip
            if line.get_linestyle() in (":", "--"):
                sx.axvline(line.get_xdata()[0], color=line.get_color(), linewidth=0.8,
                           linestyle=line.get_linestyle(), alpha=0.7)
        self.slim = YRatchet(sx, 10.0)
        self.poly = self.ff.dyn(PolyCollection([], facecolors=[colors[c] for c in self.order], linewidths=0))
        self.ax.add_collection(self.poly)
        self.total = self.ff.dyn(self.ax.add_line(Line2D([], [], color="black", linewidth=1.3)))
        self.cf_total = self.ff.dyn(self.ax.add_line(Line2D([], [], color="black", **CF_STYLE)))
        self.focus_line = self.ff.dyn(sx.add_line(Line2D([], [], color=FOCUS_COLOR, linewidth=1.6)))
        self.cf_focus = self.ff.dyn(sx.add_line(Line2D([], [], color=FOCUS_COLOR, **CF_STYLE)))
        self.today = today_text(self.ff, self.ax)

    def update(self, live: RunArrays, t: int, cf: RunArrays | None) -> bytes:
        h = live.metric("hashrate_ehs", t)
        x = self.x[: t + 1]
        cols = [live.col(c) for c in self.order]
        ys = np.nan_to_num(h[:, cols].T)
        self.poly.set_verts(_stack_verts(x, ys))
        world = h[:, live.col("WORLD")]
        self.total.set_data(x, world)
        mine = ys[0]
        self.focus_line.set_data(x, mine)
        shown = {c for c, col in zip(self.order, cols) if np.nanmax(np.nan_to_num(h[:, col])) > 0}
        cf_world = cf_mine = None
        if cf is not None:
            ch = cf.metric("hashrate_ehs", t)
            cf_world = ch[:, cf.col("WORLD")]
            cf_mine = np.nan_to_num(ch[:, cf.col(self.focus)])
            self.cf_total.set_data(x, cf_world)
            self.cf_focus.set_data(x, cf_mine)
            full = cf.metric("hashrate_ehs")
            shown |= {c for c in self.order if np.nanmax(np.nan_to_num(full[:, cf.col(c)])) > 0}
        for line in (self.cf_total, self.cf_focus):
            line.set_visible(cf is not None)
        self.fit(world, cf_world)
        if self.slim.fit(mine, cf_mine):
            self.ff.invalidate()
        handles = [Line2D([], [], color="black", linewidth=1.3, label="network total")]
        if cf is not None:
            handles += [Line2D([], [], color="black", label="total, counterf.", **CF_STYLE),
                        Line2D([], [], color=FOCUS_COLOR, label=f"{self.focus}, counterf.", **CF_STYLE)]
        handles += [Patch(color=self.colors[c], label=c) for c in self.order if c in shown or c == self.focus]
        self.set_legend(handles)
        share = mine[-1] / world[-1] * 100 if world[-1] > 0 else 0.0
        self.today.set_text(f"{live.dates[t]}: network {world[-1]:,.0f} EH/s, {self.focus} {mine[-1]:,.1f} EH/s "
                            f"({share:.1f}%)")
        return self.ff.png()


# ------------------------------------------------------------------ volume by country
class VolumeChart(TimeChart):
    """Trading volume per week by country (log scale), with the regional total."""

    def __init__(self, *, dates, markets: list[str], colors: dict[str, str], focus: str, **kw):
        super().__init__(dates=dates, title="Trading volume by country", ylabel="USD per week (log)",
                         log=True, minimum=1e6, **kw)
        self.ax.yaxis.set_major_formatter(usd_formatter())
        self.markets = markets
        self.focus = focus
        self.colors = colors
        self.lines = self.country_lines(markets, colors, focus, 2.0, 1.1)
        self.total = self.ff.dyn(self.ax.add_line(Line2D([], [], color="black", linewidth=1.3)))
        self.cf_total = self.ff.dyn(self.ax.add_line(Line2D([], [], color="black", **CF_STYLE)))
        self.cf_focus = self.ff.dyn(self.ax.add_line(Line2D([], [], color=FOCUS_COLOR, **CF_STYLE)))
        self.today = today_text(self.ff, self.ax)

    def update(self, live: RunArrays, t: int, cf: RunArrays | None) -> bytes:
        v = live.metric("trading_volume_usd", t)
        x = self.set_country_lines(live, v, t)
        world = v[:, live.col("WORLD")]
        self.total.set_data(x, world)
        cfw = None
        focus_has = self.focus in self.markets
        if cf is not None:
            cv = cf.metric("trading_volume_usd", t)
            cfw = cv[:, cf.col("WORLD")]
            self.cf_total.set_data(x, cfw)
            if focus_has:
                self.cf_focus.set_data(x, cv[:, cf.col(self.focus)])
        self.cf_total.set_visible(cf is not None)
        self.cf_focus.set_visible(cf is not None and focus_has)
        self.fit(v[:, [live.col(c) for c in self.markets]], world, cfw)
        handles = [Line2D([], [], color="black", linewidth=1.3, label="total")]
        if cf is not None:
            handles.append(Line2D([], [], color="black", label="total, counterf.", **CF_STYLE))
            if focus_has:
                handles.append(Line2D([], [], color=FOCUS_COLOR, label=f"{self.focus}, counterf.", **CF_STYLE))
        handles += [Line2D([], [], color=self.colors[c], linewidth=2.0 if c == self.focus else 1.1, label=c)
                    for c in self.markets]
        self.set_legend(handles)
        fv = v[-1, live.col(self.focus)] if focus_has else np.nan
        text = f"{live.dates[t]}: total {format_usd(world[-1])}/wk"
        if focus_has:
            text += f", {self.focus} {format_usd(fv)}/wk"
        self.today.set_text(mpl_text(text))
        return self.ff.png()


# ------------------------------------------------------------------ volume by exchange
EXCHANGE_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf",
                   "#bcbd22", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#5254a3")


class ExchangeChart(TimeChart):
    """One country's trading volume per week, stacked by exchange (P2P hatched grey)."""

    def __init__(self, *, dates, exchanges: list[str], country: str, country_name: str, **kw):
        super().__init__(dates=dates, title=f"Volume by exchange: {country_name} ({country})",
                         ylabel="USD per week", minimum=1e6, **kw)
        self.ax.yaxis.set_major_formatter(usd_formatter())
        self.country = country
        self.exchanges = exchanges
        self.colors = {e: ("#b0b0b0" if e == "P2P" else EXCHANGE_COLORS[i % len(EXCHANGE_COLORS)])
                       for i, e in enumerate(exchanges)}
        self.poly = self.ff.dyn(PolyCollection([], facecolors=[self.colors[e] for e in exchanges], linewidths=0))
        self.ax.add_collection(self.poly)
        self.cf_total = self.ff.dyn(self.ax.add_line(Line2D([], [], color="black", **CF_STYLE)))
        self.today = today_text(self.ff, self.ax)

    def update(self, live: RunArrays, t: int, cf: RunArrays | None) -> bytes:
        vol = live.country_volumes(self.country, t)
        x = self.x[: t + 1]
        self.poly.set_verts(_stack_verts(x, vol.T))
        total = vol.sum(axis=1)
        cft = None
        if cf is not None:
            cft = cf.country_volumes(self.country, t).sum(axis=1)
            self.cf_total.set_data(x, cft)
        self.cf_total.set_visible(cf is not None)
        self.fit(total, cft)
        used = [e for i, e in enumerate(self.exchanges) if vol[:, i].max() > 0]
        handles = [Line2D([], [], color="black", label="total, counterf.", **CF_STYLE)] if cf is not None else []
        handles += [Patch(color=self.colors[e], label=e) for e in reversed(used)]
        self.set_legend(handles)
        now = [e for i, e in enumerate(self.exchanges) if vol[-1, i] > 0]
        text = f"{live.dates[t]}: {format_usd(total[-1])}/wk on {len(now)} venue(s)"
        if self.country not in live.markets:
            text = f"{self.country} has no household layer: no trading modelled"
        self.today.set_text(mpl_text(text))
        return self.ff.png()


# ------------------------------------------------------------------ adoption
class AdoptionChart(TimeChart):
    """Share of the population holding crypto, by country; counterfactual dashed."""

    def __init__(self, *, dates, markets: list[str], colors: dict[str, str], focus: str, **kw):
        super().__init__(dates=dates, title="Adoption by country", ylabel="share of population holding crypto",
                         minimum=0.05, **kw)
        self.ax.yaxis.set_major_formatter(percent_formatter())
        self.markets, self.focus, self.colors = markets, focus, colors
        self.lines = self.country_lines(markets, colors, focus, 2.2, 1.2)
        self.cf_lines = {c: self.ff.dyn(self.ax.add_line(Line2D([], [], color=colors[c], alpha=0.8,
                                                                dashes=(3, 2), linewidth=1.0)))
                         for c in markets}
        self.today = today_text(self.ff, self.ax)

    def update(self, live: RunArrays, t: int, cf: RunArrays | None) -> bytes:
        a = live.metric("adoption_rate", t)
        x = self.set_country_lines(live, a, t)
        ca = cf.metric("adoption_rate", t) if cf is not None else None
        for c, line in self.cf_lines.items():
            line.set_visible(cf is not None)
            if ca is not None:
                line.set_data(x, ca[:, cf.col(c)])
        self.fit(a[:, [live.col(c) for c in self.markets]],
                 ca[:, [cf.col(c) for c in self.markets]] if ca is not None else None)
        handles = []
        if cf is not None:
            handles.append(Line2D([], [], color="#555555", dashes=(3, 2), linewidth=1.0, label="counterfactual"))
        handles += [Line2D([], [], color=self.colors[c], linewidth=2.2 if c == self.focus else 1.2, label=c)
                    for c in self.markets]
        self.set_legend(handles)
        if self.focus in self.markets:
            self.today.set_text(f"{live.dates[t]}: {self.focus} {a[-1, live.col(self.focus)] * 100:.2f}%")
        else:
            self.today.set_text(f"{live.dates[t]}")
        return self.ff.png()


# ------------------------------------------------------------------ focus country: power and fleet
class FocusChart:
    """The focus country's mining: MW used vs allowed over time, and its fleet by machine efficiency."""

    def __init__(self, *, dates, focus: str, name: str, markers=(), width: int = 560, height: int = 300):
        self.ff = FastFigure(width, height)
        fig = self.ff.fig
        self.focus = focus
        self.x = day_numbers(dates)
        # left: power over time
        self.narrow = (58 / width, 40 / height, 0.50 - 58 / width, 1 - 80 / height)  # beside the fleet panel
        self.wide = (58 / width, 40 / height, 0.97 - 58 / width, 1 - 80 / height)    # alone (no fleet)
        ax = self.ax = fig.add_axes(self.narrow)
        style_axes(ax, f"{name}: power (mining, AI, curtailed)", "MW")
        date_axis(ax, dates[0], dates[-1], every=2)
        for when, _ in markers:
            ax.axvline(day_numbers([when])[0], color=FOCUS_COLOR, linewidth=0.8, linestyle=":", alpha=0.8)
        self.ylim = YRatchet(ax, 100)
        self.used = self.ff.dyn(ax.add_line(Line2D([], [], color=FOCUS_COLOR, linewidth=1.8)))
        self.allowed = self.ff.dyn(ax.add_line(Line2D([], [], color="black", linewidth=1.2,
                                                      drawstyle="steps-post")))
        self.cf_used = self.ff.dyn(ax.add_line(Line2D([], [], color=FOCUS_COLOR, **CF_STYLE)))
        self.ai = self.ff.dyn(ax.add_line(Line2D([], [], color=AI_COLOR, linewidth=1.4)))
        self.curtailed = self.ff.dyn(ax.add_line(Line2D([], [], color=CURTAILED_COLOR, linewidth=1.0)))
        ax.legend(handles=[Line2D([], [], color=FOCUS_COLOR, linewidth=1.8, label="mining"),
                           Line2D([], [], color=AI_COLOR, linewidth=1.4, label="AI"),
                           Line2D([], [], color=CURTAILED_COLOR, linewidth=1.0, label="curtailed"),
                           Line2D([], [], color="black", linewidth=1.2, label="allowed"),
                           Line2D([], [], color=FOCUS_COLOR, label="mining, counterf.", **CF_STYLE)],
                  loc="upper center", bbox_to_anchor=(0.5, -0.09), ncol=5, fontsize=FONT - 2, frameon=False,
                  handlelength=1.2, columnspacing=0.5)
        self.note = today_text(self.ff, ax)
        # right: fleet by efficiency band
        bx = self.bx = fig.add_axes((0.64, 40 / height, 0.34, 1 - 80 / height))
        style_axes(bx, "fleet, EH/s", "machine efficiency, J/TH")
        bx.grid(True, axis="x", color="#e6e6e6")
        bx.grid(False, axis="y")
        self.bars: PolyCollection | None = None
        self.band_count = 0
        self.xtop = 1.0
        self.bar_note = today_text(self.ff, bx)
        self.fleet_shown = True
        self._show_fleet(False)  # until the country has a machine installed or on order

    BAR_COLORS = {"running": FOCUS_COLOR, "underground": "#4d0000", "idle": "#d0d0d0"}

    def _show_fleet(self, show: bool) -> None:
        """Show the fleet panel (power chart at half width) or hide it (power chart full width):
        a country with no miners gets no empty fleet axes."""
        if show == self.fleet_shown:
            return
        self.fleet_shown = show
        self.bx.set_visible(show)
        self.bar_note.set_visible(show)
        if self.bars is not None:
            self.bars.set_visible(show)
        self.ax.set_position(self.narrow if show else self.wide)
        self.ff.invalidate()

    def _ensure_bars(self, fleet: FleetBands) -> None:
        if self.band_count == len(fleet.labels):
            return
        n = self.band_count = len(fleet.labels)
        self.bx.set_yticks(range(n), fleet.labels)
        self.bx.set_ylim(-0.6, n - 0.4)
        colors = [self.BAR_COLORS[kind] for kind in ("running", "underground", "idle") for _ in range(n)]
        if self.bars is None:  # one collection for all bars: one draw call per update
            self.bars = self.ff.dyn(PolyCollection([], facecolors=colors, linewidths=0))
            self.bx.add_collection(self.bars)
            self.bars.set_visible(self.fleet_shown)
        self.bars.set_facecolors(colors)
        self.bx.legend(handles=[Patch(label=kind, color=color) for kind, color in self.BAR_COLORS.items()],
                       loc="upper center", bbox_to_anchor=(0.45, -0.09), ncol=3, fontsize=FONT - 1.5,
                       frameon=False, handlelength=1.2, columnspacing=0.6)
        self.xtop = 1.0
        self.bx.set_xlim(0, self.xtop)
        self.ff.invalidate()

    def update(self, live: RunArrays, t: int, cf: RunArrays | None, fleet: FleetBands) -> bytes:
        x = self.x[: t + 1]
        col = live.col(self.focus)
        used = live.metric("mining_power_mw", t)[:, col]
        allowed = live.metric("mining_power_allowed_mw", t)[:, col]
        self.used.set_data(x, used)
        self.allowed.set_data(x, allowed)
        ai = np.nan_to_num(live.metric("ai_power_mw", t)[:, col])
        curtailed = np.nan_to_num(live.metric("curtailed_mw", t)[:, col])
        self.ai.set_data(x, ai)
        self.curtailed.set_data(x, curtailed)
        cfu = None
        if cf is not None:
            cfu = cf.metric("mining_power_mw", t)[:, cf.col(self.focus)]
            self.cf_used.set_data(x, cfu)
        self.cf_used.set_visible(cf is not None)
        if self.ylim.fit(used, allowed, cfu, ai, curtailed):
            self.ff.invalidate()
        cap = allowed[-1]
        cap_text = "no cap" if not np.isfinite(cap) else f"{cap:,.0f} allowed"
        self.note.set_text(f"{live.dates[t]}: mining {used[-1]:,.0f} MW, AI {ai[-1]:,.0f} MW, {cap_text}")
        # fleet bars
        self._ensure_bars(fleet)
        left = np.zeros(self.band_count)
        verts = []
        for kind in ("running", "underground", "idle"):
            widths = np.asarray(getattr(fleet, kind), dtype=float)
            for i in range(self.band_count):
                x0, x1 = left[i], left[i] + widths[i]
                verts.append(np.array([(x0, i - 0.35), (x1, i - 0.35), (x1, i + 0.35), (x0, i + 0.35)]))
            left = left + widths
        self.bars.set_verts(verts)
        total = left.max() if left.size else 0.0
        if total > self.xtop:  # the EH/s axis only grows, so the frame is rarely redrawn
            self.xtop = nice_ceiling(total * 1.15)
            self.bx.set_xlim(0, self.xtop)
            self.ff.invalidate()
        installed = fleet.running.sum() + fleet.underground.sum() + fleet.idle.sum()
        if installed > 0 or fleet.pipeline_ehs > 0:
            self._show_fleet(True)  # stays shown once the country has had machines (its history matters)
        self.bar_note.set_text(f"{installed:,.1f} installed, {fleet.pipeline_ehs:,.1f} on order")
        return self.ff.png()
