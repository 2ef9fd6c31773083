"""The country network on fixed geographic positions (longitude, latitude).

Nodes are countries at their scenario coordinates (``country_graph`` node attributes
``lon``/``lat``; never a spring layout), coloured by stance (0 ban .. 4 legal tender) and
sized by operating hashrate; edges are styled by kind (border, remittance, alliance;
parallel edges between the same two countries are offset so each stays visible).

Two panels: the whole network, and a zoom on the focus country's neighbourhood (the
countries within ``ZOOM_RADIUS_DEG`` of it), since a region such as South Asia is a few
degrees wide on a world-wide network. Edges, graticule and legends are the cached frame;
nodes and labels are redrawn, and only when :func:`signature` changes (a stance, a
visible change of node size, a new edge).
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from viz.data import stance_label
from viz.fastfig import FOCUS_COLOR, FONT, STANCE_COLORS, FastFigure

ZOOM_RADIUS_DEG = 30.0
EDGE_STYLES = {
    "border": dict(color="#525252", linestyle="solid", base=1.3, per_weight=0.0),
    "remittance": dict(color="#3182bd", linestyle=(0, (3, 2)), base=0.5, per_weight=3.0),
    "alliance": dict(color="#e6a700", linestyle="solid", base=2.6, per_weight=0.0),
}
SIZE_PER_EHS = 1.6   # marker area (pt^2) per EH/s
SIZE_MIN = 22.0
SIZE_MAX = 1500.0


def node_size(ehs: float) -> float:
    return float(min(SIZE_MAX, SIZE_MIN + SIZE_PER_EHS * max(ehs, 0.0)))


def edge_list(graph) -> list[tuple[str, str, str, float]]:
    """(a, b, kind, weight) for every edge of the MultiGraph, in a stable order."""
    out = []
    for a, b, key, data in graph.edges(keys=True, data=True):
        out.append((a, b, str(data.get("kind", "border")), float(data.get("weight", 1.0) or 0.0), str(key)))
    out.sort(key=lambda e: (min(e[0], e[1]), max(e[0], e[1]), e[2], e[4]))
    return [e[:4] for e in out]


def signature(model) -> tuple:
    """What the picture depends on: stances, node sizes (in steps of ~15% of the area, so weekly
    wobbles do not redraw it), the edges."""
    stances = tuple(int(model.countries[c].stance) for c in model.codes)
    sizes = tuple(int(round(math.log1p(node_size(model.fleets[c].operating_ths / 1e6)) / 0.14)) for c in model.codes)
    return stances, sizes, model.country_graph.number_of_edges()


def positions(graph, countries) -> dict[str, tuple[float, float]]:
    pos = {}
    for code in countries:
        data = graph.nodes[code] if code in graph else {}
        c = countries[code]
        pos[code] = (float(data.get("lon", getattr(c, "lon", 0.0))), float(data.get("lat", getattr(c, "lat", 0.0))))
    return pos


def zoom_members(pos: dict[str, tuple[float, float]], focus: str) -> list[str]:
    fx, fy = pos[focus]
    return [c for c, (x, y) in pos.items() if math.hypot(x - fx, y - fy) <= ZOOM_RADIUS_DEG]


class NetworkMap:
    """Both panels of the map, for one model (positions and codes fixed)."""

    def __init__(self, *, codes: list[str], pos: dict[str, tuple[float, float]], focus: str,
                 names: dict[str, str], width: int = 640, height: int = 390):
        self.ff = FastFigure(width, height)
        self.codes, self.pos, self.focus, self.names = codes, pos, focus, names
        self.xy = np.array([pos[c] for c in codes])
        members = zoom_members(pos, focus) if focus in pos else []
        self.zoom = members if len(members) >= 3 and len(members) < len(codes) else []
        fig = self.ff.fig
        legend_h = self._legend_h = 78 / height
        self._legend_row = 36 / height
        top = 1 - 36 / height
        if self.zoom:
            self.axes = [fig.add_axes((0.01, legend_h, 0.47, top - legend_h)),
                         fig.add_axes((0.515, legend_h, 0.47, top - legend_h))]
        else:
            self.axes = [fig.add_axes((0.01, legend_h, 0.98, top - legend_h))]
        self._limits()
        self._graticule()
        self._edge_artists: list = []
        self._edges_key = None
        self.scatters = []
        self.labels = []
        for k, ax in enumerate(self.axes):
            sc = self.ff.dyn(ax.scatter(self.xy[:, 0], self.xy[:, 1], s=SIZE_MIN, zorder=3,
                                        edgecolors="black", linewidths=0.6))
            self.scatters.append(sc)
            show = self.zoom if (k == 1) else ([c for c in codes if c not in self.zoom] or codes)
            if k == 0 and self.zoom:
                show = [c for c in codes if c not in self.zoom] + [focus]
            for c in show:
                x, y = pos[c]
                t = ax.annotate(c, (x, y), xytext=(4, 4), textcoords="offset points", fontsize=FONT - 1,
                                fontweight="bold" if c == focus else "normal",
                                color=FOCUS_COLOR if c == focus else "#222222", zorder=4)
                self.labels.append(self.ff.dyn(t))
        self.title = self.ff.dyn(fig.text(0.01, 0.985, "", fontsize=FONT + 1, fontweight="bold", va="top"))
        self._legend()

    # ------------------------------------------------------------ frame
    def _limits(self) -> None:
        def fit(ax, members, pad_frac):
            pts = np.array([self.pos[c] for c in members])
            (x0, y0), (x1, y1) = pts.min(axis=0), pts.max(axis=0)
            px, py = max((x1 - x0) * pad_frac, 4.0), max((y1 - y0) * pad_frac, 4.0)
            ax.set_xlim(x0 - px, x1 + px)
            ax.set_ylim(y0 - py, y1 + py)
            for side in ax.spines.values():
                side.set_color("#bbbbbb")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_facecolor("#f7fbff")
        fit(self.axes[0], self.codes, 0.08)
        if self.zoom:
            fit(self.axes[1], self.zoom, 0.12)
            zx, zy = self.axes[1].get_xlim(), self.axes[1].get_ylim()
            self.axes[0].add_patch(Rectangle((zx[0], zy[0]), zx[1] - zx[0], zy[1] - zy[0], fill=False,
                                             edgecolor=FOCUS_COLOR, linewidth=0.8, linestyle="--", zorder=1))
            self.axes[1].set_title(f"zoom: within {ZOOM_RADIUS_DEG:g} deg of {self.focus}",
                                   fontsize=FONT - 1, loc="right", color="#555555", pad=2)
            self.axes[0].set_title("whole network (lon/lat)", fontsize=FONT - 1, loc="right",
                                   color="#555555", pad=2)

    def _graticule(self) -> None:
        for k, ax in enumerate(self.axes):
            step = 30 if k == 0 else 10
            (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
            for lon in np.arange(math.ceil(x0 / step) * step, x1, step):
                ax.axvline(lon, color="#dde6ee", linewidth=0.5, zorder=0)
            for lat in np.arange(math.ceil(y0 / step) * step, y1, step):
                ax.axhline(lat, color="#dde6ee", linewidth=0.5, zorder=0)

    def _legend(self) -> None:
        fig = self.ff.fig
        small = FONT - 1.5
        stance_handles = [Line2D([], [], marker="o", linestyle="", markerfacecolor=STANCE_COLORS[i],
                                 markeredgecolor="black", markersize=6, label=stance_label(i)) for i in range(5)]
        edge_handles = [Line2D([], [], color=st["color"], linestyle=st["linestyle"],
                               linewidth=max(st["base"], 1.2), label=kind) for kind, st in EDGE_STYLES.items()]
        fig.legend(handles=stance_handles, loc="lower left", bbox_to_anchor=(0.0, 0.0), ncol=5,
                   fontsize=small, frameon=False, title="stance (colour)", title_fontsize=small,
                   handletextpad=0.1, columnspacing=0.8, alignment="left", borderaxespad=0.1)
        fig.legend(handles=edge_handles, loc="lower left", bbox_to_anchor=(0.0, self._legend_row), ncol=3,
                   fontsize=small, frameon=False, title="ties (lines)", title_fontsize=small,
                   handlelength=2.4, columnspacing=1.0, alignment="left", borderaxespad=0.1)
        # size key: real markers in a small axes of their own, so big circles never cover the labels
        key = fig.add_axes((0.74, 0.005, 0.25, self._legend_h - 0.03))
        key.set_axis_off()
        key.set_xlim(0, 1)
        key.set_ylim(0, 1)
        values = (10, 100, 400)
        xs = (0.12, 0.42, 0.8)
        key.scatter(xs, [0.45] * 3, s=[node_size(v) for v in values], facecolors="white", edgecolors="black",
                    linewidths=0.6, clip_on=False)
        for x, v in zip(xs, values):
            key.text(x, 0.0, f"{v:g}", ha="center", va="bottom", fontsize=small)
        key.text(0.5, 1.0, "operating hashrate, EH/s (size)", ha="center", va="top", fontsize=small)

    def _draw_edges(self, edges: list[tuple[str, str, str, float]]) -> None:
        key = tuple(edges)
        if key == self._edges_key:
            return
        self._edges_key = key
        for artist in self._edge_artists:
            artist.remove()
        self._edge_artists = []
        # index parallel edges between the same pair, to offset them sideways
        pair_count: dict[tuple[str, str], int] = {}
        slots = []
        for a, b, _kind, _w in edges:
            pair = (min(a, b), max(a, b))
            slots.append(pair_count.get(pair, 0))
            pair_count[pair] = pair_count.get(pair, 0) + 1
        for ax in self.axes:
            (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
            span = 0.006 * math.hypot(x1 - x0, y1 - y0)
            by_kind: dict[str, tuple[list, list]] = {}
            for (a, b, kind, w), slot in zip(edges, slots):
                (ax_, ay), (bx, by) = self.pos[a], self.pos[b]
                pair = (min(a, b), max(a, b))
                n = pair_count[pair]
                off = (slot - (n - 1) / 2.0) * span
                dx, dy = bx - ax_, by - ay
                norm = math.hypot(dx, dy) or 1.0
                ox, oy = -dy / norm * off, dx / norm * off
                if (a, b) != pair:  # keep the offset direction independent of the edge's orientation
                    ox, oy = -ox, -oy
                segs, widths = by_kind.setdefault(kind, ([], []))
                segs.append([(ax_ + ox, ay + oy), (bx + ox, by + oy)])
                st = EDGE_STYLES.get(kind, EDGE_STYLES["border"])
                widths.append(st["base"] + st["per_weight"] * w)
            for kind, (segs, widths) in by_kind.items():
                st = EDGE_STYLES.get(kind, EDGE_STYLES["border"])
                lc = LineCollection(segs, colors=st["color"], linestyles=st["linestyle"], linewidths=widths,
                                    zorder=2, alpha=0.85, capstyle="round")
                ax.add_collection(lc)
                self._edge_artists.append(lc)
        self.ff.invalidate()

    # ------------------------------------------------------------ per update
    def update(self, *, stances: list[int], hashrate_ehs: list[float], edges) -> bytes:
        self._draw_edges(edges)
        colors = [STANCE_COLORS[int(s)] for s in stances]
        sizes = [node_size(h) for h in hashrate_ehs]
        widths = [2.2 if c == self.focus else 0.6 for c in self.codes]
        edgecolors = [FOCUS_COLOR if c == self.focus else "black" for c in self.codes]
        for sc in self.scatters:
            sc.set_facecolors(colors)
            sc.set_sizes(sizes)
            sc.set_linewidths(widths)
            sc.set_edgecolors(edgecolors)
        # no date in the title: the picture is redrawn only when it changes visibly (signature)
        self.title.set_text("Country network: stance (colour), hashrate (size), ties (lines)")
        return self.ff.png()


def map_inputs(model) -> dict:
    """The per-step inputs of :meth:`NetworkMap.update`, read from a model."""
    return dict(stances=[int(model.countries[c].stance) for c in model.codes],
                hashrate_ehs=[model.fleets[c].operating_ths / 1e6 for c in model.codes],
                edges=edge_list(model.country_graph))
