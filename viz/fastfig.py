"""Fast matplotlib images for a picture that changes every step (the network map).

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

import io
import math
import threading

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

matplotlib.use("Agg", force=False)

DRAW_LOCK = threading.RLock()
DPI = 100
FONT = 8.5

STANCE_COLORS = ("#b2182b", "#ef8a62", "#bdbdbd", "#67a9cf", "#2166ac")  # ban .. legal tender
FOCUS_COLOR = "#d62728"


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


def format_usd(v: float) -> str:
    """$1.2bn, $350M, ... (plain text)."""
    if v is None or not math.isfinite(v):
        return "n/a"
    a = abs(v)
    for div, suffix in ((1e12, "T"), (1e9, "bn"), (1e6, "M"), (1e3, "k")):
        if a >= div:
            return f"${v / div:.3g}{suffix}"
    return f"${v:.3g}"
