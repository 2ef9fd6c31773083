"""The figures of an analysis: fan charts (median and 5-95% / 25-75% bands across runs), the
sensitivity indices, PRIM's peeling trajectory and chosen box."""

from __future__ import annotations

import math
import re
import warnings
from pathlib import Path

import matplotlib
import numpy as np

from experiments.analysis.indices import MAIN_INDEX
from experiments.analysis.outcomes import Panel
from experiments.analysis.tables import FAN_POINTS_MAX, Analysis, fmtv, short
from experiments.sweep.outcomes import Series

matplotlib.use("Agg")  # files only, no display; before pyplot is imported
import matplotlib.pyplot as plt  # noqa: E402


def save_figure(fig, path: Path) -> Path:
    """Lay out, write and close one figure."""
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")[:80]


def fan_quantiles(y: np.ndarray) -> dict[str, np.ndarray]:
    """Quantiles across runs (rows) at each step: q05, q25, median, q75, q95."""
    with np.errstate(all="ignore"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            q = np.nanquantile(y, [0.05, 0.25, 0.5, 0.75, 0.95], axis=0)
    return dict(zip(("q05", "q25", "median", "q75", "q95"), q))


def draw_fan(ax, dates, y: np.ndarray, color: str = "C0", label: str | None = None) -> None:
    q = fan_quantiles(y)
    ax.fill_between(dates, q["q05"], q["q95"], color=color, alpha=0.18, lw=0,
                    label=None if label is None else f"{label}: 5-95%")
    ax.fill_between(dates, q["q25"], q["q75"], color=color, alpha=0.3, lw=0,
                    label=None if label is None else f"{label}: 25-75%")
    ax.plot(dates, q["median"], color=color, lw=1.6, label=None if label is None else f"{label}: median")


def fan_charts(a: Analysis, panel: Panel, series: list[Series], fan_by: str) -> list[Path]:
    if not series:
        return []
    paths = []
    n_points = a.manifest["design"]["points"]
    per_point = fan_by == "point" or (fan_by == "auto" and 1 < n_points <= FAN_POINTS_MAX)
    params = a.manifest["design"]["parameters"]
    for s in series:
        y = panel.series(s)
        if per_point:
            pts = sorted(a.runs["point"].unique())[:FAN_POINTS_MAX * 3]
            ncol = min(4, len(pts))
            nrow = math.ceil(len(pts) / ncol)
            fig, axes = plt.subplots(nrow, ncol, figsize=(3.6 * ncol, 2.6 * nrow + 0.6), sharex=True, sharey=True,
                                     squeeze=False)
            for ax, p in zip(axes.flat, pts):
                rows = (a.runs["point"] == p).to_numpy()
                draw_fan(ax, panel.dates, y[rows])
                row = a.points.set_index("point").loc[p]
                ax.set_title("\n".join(f"{short(c)}={fmtv(row[c])}" for c in params) or f"point {p}", fontsize=7)
                ax.tick_params(labelsize=7)
            for ax in list(axes.flat)[len(pts):]:
                ax.axis("off")
            fig.suptitle(f"{s.label()}: median, 25-75% and 5-95% across replicates "
                         f"({a.manifest['design']['replicates']} per point)", fontsize=9)
        else:
            fig, ax = plt.subplots(figsize=(9, 4.5))
            draw_fan(ax, panel.dates, y, label="all runs")
            ax.set_title(f"{s.label()}: median, 25-75% and 5-95% over {len(y)} runs (pooled over design points)",
                         fontsize=9)
            ax.legend(fontsize=8)
        paths.append(save_figure(fig, a.out / f"fan_{slug(s.label())}.png"))
    return paths


def index_charts(a: Analysis) -> list[Path]:
    if a.indices.empty:
        return []
    paths = []
    main = MAIN_INDEX[a.method]
    for name, df in a.indices.groupby("outcome", sort=False):
        df = df.sort_values(main)
        h = max(2.5, 0.26 * len(df) + 1.2)
        fig, ax = plt.subplots(figsize=(8, h))
        yy = np.arange(len(df))
        if a.method == "sobol":
            ax.barh(yy + 0.2, df["ST"], height=0.4, xerr=df["ST_conf"], color="C0", label="ST (total)", capsize=2)
            ax.barh(yy - 0.2, df["S1"], height=0.4, xerr=df["S1_conf"], color="C1", label="S1 (first order)",
                    capsize=2)
        else:
            ax.barh(yy, df[main], height=0.6, xerr=df["mu_star_conf"], color="C0", label=main, capsize=2)
        if f"{main}_rep_min" in df:
            ax.hlines(yy + (0.2 if a.method == "sobol" else 0), df[f"{main}_rep_min"], df[f"{main}_rep_max"],
                      color="black", lw=2.5, alpha=0.5, label=f"{main} from single replicates (min-max)")
        ax.set_yticks(yy, [short(p, 48) for p in df["parameter"]], fontsize=7)
        title = {"sobol": "Sobol indices", "morris": "Morris mu* (elementary effects)"}[a.method]
        ax.set_title(f"{name}: {title} on replicate means, {int(a.manifest['spec']['replicates'])} replicates; "
                     f"bars = {a.conf:.0%} CI", fontsize=8)
        ax.legend(fontsize=7, loc="lower right")
        paths.append(save_figure(fig, a.out / f"indices_{slug(name)}.png"))
    return paths


def prim_charts(a: Analysis) -> list[Path]:
    paths = []
    for name, res in a.prim.items():
        t = res.trajectory
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
        sc = axes[0].scatter(t["coverage"], t["density"], c=t["restricted"], cmap="viridis", s=18)
        ch = t[t["chosen"]]
        axes[0].scatter(ch["coverage"], ch["density"], s=90, facecolors="none", edgecolors="red",
                        label="peel chosen (before pasting)")
        axes[0].scatter([res.box.coverage], [res.box.density], marker="*", s=140, color="red", label="chosen box")
        axes[0].set(xlabel="coverage (share of 'yes' runs in the box)", ylabel="density (share of 'yes' in the box)",
                    title=f"PRIM peeling trajectory: {name}")
        axes[0].axhline(res.base_density, color="grey", ls=":", lw=1, label="share of 'yes' overall")
        fig.colorbar(sc, ax=axes[0], label="restricted parameters")
        axes[0].legend(fontsize=7)
        ax = axes[1]
        names = list(res.box.limits)
        for i, c in enumerate(names):
            lo, hi = res.box.full[c]
            blo, bhi = res.box.limits[c]
            span = (hi - lo) or 1.0
            ax.plot([0, 1], [i, i], color="lightgrey", lw=6, solid_capstyle="butt")
            ax.plot([(blo - lo) / span, (bhi - lo) / span], [i, i], color="C3" if c in res.box.restricted else "C0",
                    lw=6, solid_capstyle="butt")
            ax.text(1.02, i, f"{fmtv(blo)} .. {fmtv(bhi)}", va="center", fontsize=7)
        ax.set_yticks(range(len(names)), [short(c, 40) for c in names], fontsize=7)
        ax.set_xlim(0, 1.35)
        ax.set_title(f"chosen box: coverage {res.box.coverage:.2f}, density {res.box.density:.2f} "
                     f"(outside {res.box.density_outside:.2f})", fontsize=8)
        ax.set_xlabel("share of each parameter's range (red: restricted)")
        paths.append(save_figure(fig, a.out / f"prim_{slug(name)}.png"))
    return paths
