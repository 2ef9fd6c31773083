"""The tables of an analysis (:class:`Analysis` holds them): per design point, per outcome
across runs, replicate noise; the Wilson interval; how values are shown."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from experiments.analysis.prim import PrimResult
from experiments.sweep.outcomes import DEFAULT_CONF, Outcome

ANALYSIS_DIR = "analysis"
FAN_POINTS_MAX = 12       # per-point fan charts up to this many design points ("auto")
REPLICATE_RESAMPLES = 100  # bootstrap resamples of the per-replicate indices (only their values are used)
POINT_TABLE_MAX = 60       # the report lists replicate means per point up to this many points


@dataclass
class Analysis:
    folder: Path
    manifest: dict[str, Any]
    outcomes: dict[str, Outcome]
    runs: pd.DataFrame                 # one row per finished run: ids, parameters, outcomes, <name>__censored
    points: pd.DataFrame               # one row per design point: parameters, <name> mean, <name>__sd, n
    summary: pd.DataFrame              # one row per outcome
    noise: pd.DataFrame                # one row per outcome
    indices: pd.DataFrame              # one row per outcome x parameter (sampled designs)
    prim: dict[str, PrimResult] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    method: str | None = None          # "sobol", "morris" or None
    conf: float = DEFAULT_CONF

    @property
    def out(self) -> Path:
        return self.folder / ANALYSIS_DIR


def point_table(runs: pd.DataFrame, design: pd.DataFrame, params: list[str], names: list[str]) -> pd.DataFrame:
    pts = design.drop_duplicates("point")[["point"] + params].set_index("point").sort_index()
    g = runs.groupby("point")
    out = pts.copy()
    out["runs"] = g.size().reindex(pts.index).fillna(0).astype(int)
    for n in names:
        out[n] = g[n].mean().reindex(pts.index)
        out[f"{n}__sd"] = g[n].std(ddof=1).reindex(pts.index)
    return out.reset_index()


def summary_table(runs: pd.DataFrame, defs: dict[str, Outcome], conf: float) -> pd.DataFrame:
    rows = []
    for name, o in defs.items():
        v = runs[name].to_numpy(dtype=float)
        ok = v[~np.isnan(v)]
        row = {"outcome": name, "kind": o.kind, "definition": o.expr, "runs": len(ok),
               "mean": _nanstat(np.mean, ok), "sd": float(np.std(ok, ddof=1)) if len(ok) > 1 else np.nan,
               "q05": _q(ok, 0.05), "median": _q(ok, 0.5), "q95": _q(ok, 0.95)}
        if o.binary:
            k = int(ok.sum())
            row["ci_low"], row["ci_high"] = wilson(k, len(ok), conf)
        if o.censorable:
            c = runs[f"{name}__censored"].to_numpy(dtype=bool)
            row["censored"] = float(c.mean()) if len(c) else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def noise_table(runs: pd.DataFrame, defs: dict[str, Outcome], reps: int) -> pd.DataFrame:
    """Replicate noise per outcome: within-point variance as a share of the total and of the means'."""
    rows = []
    for name in defs:
        v = runs[["point", name]].dropna()
        total = float(v[name].var(ddof=1)) if len(v) > 1 else np.nan
        g = v.groupby("point")[name]
        within = g.var(ddof=1).dropna()
        means = g.mean()
        r = float(g.size().mean()) if len(v) else np.nan
        w = float(within.mean()) if len(within) else np.nan
        var_means = float(means.var(ddof=1)) if len(means) > 1 else np.nan
        rows.append({
            "outcome": name, "replicates": reps, "total_var": total, "within_var": w,
            "noise_share": _ratio(w, total),
            "noise_share_of_means": _ratio(w / r if r else np.nan, var_means),
        })
    return pd.DataFrame(rows)


def wilson(k: int, n: int, conf: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a share k/n."""
    if n == 0:
        return (np.nan, np.nan)
    z = float(norm.ppf(0.5 + conf / 2))
    p = k / n
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(0.0, mid - half), min(1.0, mid + half)


def _q(v, q):
    return float(np.quantile(v, q)) if len(v) else np.nan


def _nanstat(fn, v):
    return float(fn(v)) if len(v) else np.nan


def _ratio(a, b):
    return float(a / b) if b and np.isfinite(a) and np.isfinite(b) and b > 0 else np.nan


def short(name: str, n: int = 32) -> str:
    return name if len(name) <= n else "..." + name[-(n - 3):]


def fmtv(v) -> str:
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v)).lower()
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.4g}"
    return str(v)
