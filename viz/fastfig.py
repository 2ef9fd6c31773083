"""Fast matplotlib images for a chart that changes every step.

Drawing a matplotlib figure from scratch costs 50-100 ms, most of it in axes, tick labels
and legends that do not change from one week to the next; the data itself draws in
2-3 ms. A :class:`FastFigure` therefore draws its *frame* (everything not marked as
dynamic) once, keeps the pixels, and per update only restores those pixels, draws the
dynamic artists on top (matplotlib's blitting) and encodes a PNG: ~8-12 ms per chart.
The frame is redrawn only when something in it changes (a y-limit that the data
outgrew, a new legend entry), which :meth:`FastFigure.invalidate` signals.

Figures are ``matplotlib.figure.Figure`` objects with their own Agg canvas, never
pyplot figures, so nothing is registered globally and nothing needs closing: a chart is
freed with its session. All drawing goes through one lock, because matplotlib's text
and font caches are not meant for concurrent use from several sessions' threads.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import threading

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullFormatter
from PIL import Image

from viz.data import day_numbers

matplotlib.use("Agg", force=False)

DRAW_LOCK = threading.RLock()
DPI = 100
FONT = 8.5
GRID = "#e6e6e6"

STANCE_COLORS = ("#b2182b", "#ef8a62", "#bdbdbd", "#67a9cf", "#2166ac")  # ban .. legal tender
FOCUS_COLOR = "#d62728"
PALETTE = ("#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
           "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173")
GREYS = ("#525252", "#737373", "#969696", "#aaaaaa", "#bdbdbd", "#cccccc", "#d9d9d9", "#e3e3e3")


def country_colors(codes: list[str], region: list[str], focus: str) -> dict[str, str]:
    """Focus in red, the region (countries with households) in colours, the rest in greys."""
    colors: dict[str, str] = {}
    k = g = 0
    for code in codes:
        if code == focus:
            colors[code] = FOCUS_COLOR
        elif code in region:
            colors[code] = PALETTE[k % len(PALETTE)]
            k += 1
        else:
            colors[code] = GREYS[g % len(GREYS)]
            g += 1
    return colors


class FastFigure:
    """A figure whose static frame is cached and whose dynamic artists are blitted."""

    def __init__(self, width_px: int, height_px: int):
        with DRAW_LOCK:
            self.fig = Figure(figsize=(width_px / DPI, height_px / DPI), dpi=DPI)
            self.canvas = FigureCanvasAgg(self.fig)
        self.dynamic: list = []
        self._background = None
        self.frame_draws = 0

    def dyn(self, artist):
        """Mark an artist as dynamic: drawn every update, never part of the cached frame."""
        artist.set_animated(True)
        self.dynamic.append(artist)
        return artist

    def invalidate(self) -> None:
        self._background = None

    def png(self) -> bytes:
        with DRAW_LOCK:
            if self._background is None:
                self.canvas.draw()  # animated (dynamic) artists are skipped here
                self._background = self.canvas.copy_from_bbox(self.fig.bbox)
                self.frame_draws += 1
            else:
                self.canvas.restore_region(self._background)
            for artist in self.dynamic:
                if artist.get_visible():
                    self.fig.draw_artist(artist)
            w, h = self.canvas.get_width_height()
            img = Image.frombuffer("RGBA", (w, h), self.canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
            out = io.BytesIO()
            img.convert("RGB").save(out, format="png", compress_level=1)
            return out.getvalue()


# ------------------------------------------------------------------ axes helpers
def nice_ceiling(x: float) -> float:
    """1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 x 10^k at or above x."""
    if not math.isfinite(x) or x <= 0:
        return 1.0
    exp = math.floor(math.log10(x))
    for m in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if m * 10**exp >= x * (1 - 1e-12):
            return m * 10**exp
    return 10 ** (exp + 1)


class YRatchet:
    """A y-limit that only grows (so the frame is redrawn a handful of times per run)."""

    def __init__(self, ax, minimum: float, headroom: float = 1.15, log: bool = False, floor: float = 0.0):
        self.ax, self.top, self.headroom, self.log, self.floor = ax, minimum, headroom, log, floor
        self.bottom = None
        if log:
            ax.set_ylim(minimum / 10, minimum)
        else:
            ax.set_ylim(floor, minimum)

    def fit(self, *arrays) -> bool:
        """Raise the limit if the data outgrew it; True if the frame must be redrawn."""
        vals = [np.asarray(a, dtype=float) for a in arrays if a is not None and np.size(a)]
        if not vals:
            return False
        finite = np.concatenate([v[np.isfinite(v)].ravel() for v in vals])
        if self.log:
            finite = finite[finite > 0]
        if not finite.size:
            return False
        changed = False
        hi = float(finite.max())
        if hi > self.top:
            self.top = nice_ceiling(hi * self.headroom) if not self.log else 10 ** math.ceil(math.log10(hi * 1.05))
            changed = True
        if self.log:
            lo = float(finite.min())
            new_bottom = 10 ** math.floor(math.log10(lo))
            if self.bottom is None or new_bottom < self.bottom:
                self.bottom = new_bottom
                changed = True
            if changed:
                self.ax.set_ylim(self.bottom, max(self.top, self.bottom * 10))
        elif changed:
            self.ax.set_ylim(self.floor, self.top)
        return changed


def date_axis(ax, start: dt.date, end: dt.date, labels: bool = True, every: int = 1) -> None:
    """x axis in calendar time: years labelled (every ``every`` years), quarters ticked, fixed to the run."""
    x0, x1 = day_numbers([start, end])
    ax.set_xlim(x0, x1)
    years = [dt.date(y, 1, 1) for y in range(start.year, end.year + 2)]
    major = [d for d in years if start <= d <= end]
    quarters = [dt.date(y, m, 1) for y in range(start.year, end.year + 1) for m in (1, 4, 7, 10)]
    ax.set_xticks(day_numbers(major), [str(d.year) if (d.year - major[0].year) % every == 0 else ""
                                       for d in major] if labels else [])
    ax.set_xticks(day_numbers([q for q in quarters if start <= q <= end]), minor=True)
    if not labels:
        ax.xaxis.set_major_formatter(NullFormatter())


def style_axes(ax, title: str, ylabel: str, pad: float = 13) -> None:
    """Title at the left (leaving a line under it for the chart's dated readout), light grid."""
    ax.set_title(title, fontsize=FONT + 1, loc="left", fontweight="bold", pad=pad)
    ax.set_ylabel(ylabel, fontsize=FONT)
    ax.tick_params(labelsize=FONT - 0.5)
    ax.grid(True, color=GRID, linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def usd_formatter() -> FuncFormatter:
    return FuncFormatter(lambda v, _pos: mpl_text(format_usd(v)))


def format_usd(v: float) -> str:
    """$1.2bn, $350M, ... (plain text; use :func:`mpl_text` inside matplotlib)."""
    if v is None or not math.isfinite(v):
        return "n/a"
    a = abs(v)
    for div, suffix in ((1e12, "T"), (1e9, "bn"), (1e6, "M"), (1e3, "k")):
        if a >= div:
            return f"${v / div:.3g}{suffix}"
    return f"${v:.3g}"


def mpl_text(text: str) -> str:
    """Escape dollar signs so matplotlib does not read them as mathtext."""
    return text.replace("$", r"\$")


def percent_formatter() -> FuncFormatter:
    return FuncFormatter(lambda v, _pos: f"{v * 100:.3g}%")
