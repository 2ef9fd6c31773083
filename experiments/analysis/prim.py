"""PRIM scenario discovery (Friedman and Fisher 1999): where in parameter space does it happen?

Given the design (one row per run: parameter values) and a yes/no outcome per run, PRIM
looks for a box (an interval per parameter) that holds many of the "yes" runs (coverage)
at a high share (density). It *peels*: repeatedly cuts the ``alpha`` share of runs off
the low or high end of one parameter, choosing the cut that leaves the highest density,
until the box holds fewer than ``mass_min`` of the runs; every intermediate box is one
point of the peeling trajectory (coverage falls as density rises). The chosen box is then
*pasted*: widened again wherever that raises its density.

Why our own, not EMA Workbench's ``prim``: EMA Workbench 3.0.0 would add eleven packages
to this environment (scikit-learn, statsmodels, seaborn, Platypus and their dependencies)
that the project's lock file does not carry, for about 150 lines of algorithm; the
interface and the defaults here follow it (``alpha`` 0.05 peel and paste, ``mass_min``
0.05, coverage/density/mass, restricted dimensions), so boxes read the same way.

Which box: on the trajectory, the densest box that still covers at least ``min_coverage``
(default 0.5) of the "yes" runs; among equally dense ones, the one with more coverage. The
whole trajectory is returned too, for a user who prefers another trade-off.

Parameters may be numbers, whole numbers or booleans (as 0/1); a parameter with a handful
of distinct values (a grid) is peeled one value at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import binom


@dataclass
class Box:
    limits: dict[str, tuple[float, float]]   # parameter -> (low, high), inclusive
    restricted: list[str]                    # parameters whose limits are narrower than the data's
    coverage: float                          # share of all "yes" runs inside the box
    density: float                           # share of "yes" among runs inside the box
    mass: float                              # share of runs inside the box
    n: int                                   # runs inside the box
    density_outside: float                   # share of "yes" among runs outside the box
    pvalues: dict[str, float] = field(default_factory=dict)  # quasi-p-value of each restriction
    full: dict[str, tuple[float, float]] = field(default_factory=dict)  # the data's range of each parameter

    def describe(self, fmt=lambda v: f"{v:.4g}") -> str:
        if not self.restricted:
            return "the whole parameter range (no restriction helps)"
        parts = []
        for name in self.restricted:
            lo, hi = self.limits[name]
            full_lo, full_hi = self.full.get(name, (None, None))
            if full_lo is not None and lo <= full_lo:
                parts.append(f"{name} <= {fmt(hi)}")
            elif full_hi is not None and hi >= full_hi:
                parts.append(f"{name} >= {fmt(lo)}")
            else:
                parts.append(f"{fmt(lo)} <= {name} <= {fmt(hi)}")
        return " and ".join(parts)


@dataclass
class PrimResult:
    trajectory: pd.DataFrame        # one row per peel: coverage, density, mass, n, restricted, limits
    box: Box                        # the chosen box, after pasting
    base_density: float             # share of "yes" in all runs
    n: int
    n_yes: int
    boxes: list[dict[str, tuple[float, float]]] = field(default_factory=list)


def prim(x: pd.DataFrame, y, *, alpha: float = 0.05, paste_alpha: float = 0.05, mass_min: float = 0.05,
         min_coverage: float = 0.5, significance: float = 0.05) -> PrimResult:
    """Peel a box around the runs where ``y`` holds; see the module docstring."""
    X = _numeric(x)
    yv = np.asarray(y, dtype=float)
    ok = ~np.isnan(yv) & ~np.isnan(X.to_numpy()).any(axis=1)
    X, yv = X[ok].reset_index(drop=True), yv[ok] > 0.5
    n, n_yes = len(yv), int(yv.sum())
    if n == 0:
        raise ValueError("no runs with both parameters and the outcome")
    names = list(X.columns)
    A = X.to_numpy(dtype=float)
    full = {c: (float(A[:, j].min()), float(A[:, j].max())) for j, c in enumerate(names)}
    inside = np.ones(n, dtype=bool)
    limits = dict(full)
    rows, boxes = [], []

    def record(mask, lim):
        rows.append(_stats(mask, yv, lim, full, n_yes))
        boxes.append(dict(lim))

    record(inside, limits)
    while n_yes:
        cur_n, cur_d = int(inside.sum()), float(yv[inside].mean())
        if cur_d >= 1.0:
            break  # nothing left to gain, only coverage to lose
        best = None
        for j, c in enumerate(names):
            col = A[:, j]
            for side in ("low", "high"):
                cut = _peel(col[inside], side, alpha)
                if cut is None:
                    continue
                keep = inside & (col >= cut if side == "low" else col <= cut)
                k = int(keep.sum())
                if k == 0 or k == cur_n or k / n < mass_min:
                    continue
                # Friedman and Fisher's criterion: density gained per share of runs peeled off
                gain = (yv[keep].mean() - cur_d) / ((cur_n - k) / n)
                if best is None or gain > best[0]:
                    best = (gain, keep, c, side, cut)
        if best is None or best[0] <= 0:
            break
        _, keep, c, side, cut = best
        inside = keep
        lo, hi = limits[c]
        limits[c] = (cut, hi) if side == "low" else (lo, cut)
        record(inside, limits)

    traj = pd.DataFrame(rows)
    # the chosen box: densest with coverage >= min_coverage; ties -> more coverage
    cand = traj[traj["coverage"] >= min_coverage - 1e-12]
    if cand.empty:
        cand = traj
    pick = cand.sort_values(["density", "coverage"], ascending=[False, False]).index[0]
    chosen = dict(boxes[pick])
    chosen = _paste(A, names, yv, chosen, full, paste_alpha)
    chosen, pvalues = _drop_spurious(A, names, yv, chosen, full, significance)
    mask = _inside(A, names, chosen)
    box = Box(limits=chosen, restricted=_restricted(chosen, full), pvalues=pvalues, full=full,
              **_box_stats(mask, yv, n_yes))
    traj.insert(0, "peel", np.arange(len(traj)))
    traj["chosen"] = traj["peel"] == pick
    return PrimResult(trajectory=traj, box=box, base_density=n_yes / n, n=n, n_yes=n_yes, boxes=boxes)


def _peel(vals: np.ndarray, side: str, alpha: float) -> float | None:
    """The new lower (upper) limit after cutting ~alpha of ``vals`` off that end; None if impossible.

    With ties at the end (a grid, whole numbers), the end value goes as a whole."""
    uniq = np.unique(vals)
    if len(uniq) < 2:
        return None
    if side == "low":
        new = uniq[uniq >= np.quantile(vals, alpha)][0]
        return float(uniq[1] if new <= uniq[0] else new)
    new = uniq[uniq <= np.quantile(vals, 1 - alpha)][-1]
    return float(uniq[-2] if new >= uniq[-1] else new)


def _paste(A, names, yv, limits, full, alpha) -> dict[str, tuple[float, float]]:
    """Widen the box one limit at a time while that raises its density."""
    limits = dict(limits)
    while True:
        mask = _inside(A, names, limits)
        dens = yv[mask].mean() if mask.any() else 0.0
        best = None
        for j, c in enumerate(names):
            lo, hi = limits[c]
            col = A[:, j]
            others = _inside(A, names, limits, skip=c)
            n_add = max(1, int(round(alpha * mask.sum())))
            for side in ("low", "high"):
                outside = others & ((col < lo) if side == "low" else (col > hi))
                if not outside.any():
                    continue
                cand = np.sort(col[outside])
                new = cand[-min(n_add, len(cand))] if side == "low" else cand[min(n_add, len(cand)) - 1]
                lim = (float(new), hi) if side == "low" else (lo, float(new))
                trial = others & (col >= lim[0]) & (col <= lim[1])
                d = yv[trial].mean()
                if d > dens + 1e-12 and (best is None or d > best[0]):
                    best = (d, c, lim)
        if best is None:
            return limits
        limits[best[1]] = best[2]


def _drop_spurious(A, names, yv, limits, full, significance) -> tuple[dict, dict[str, float]]:
    """Release restrictions the data do not support; return the box and each kept one's quasi-p-value.

    A restriction's quasi-p-value (as in EMA Workbench) is the chance of at least as many
    "yes" runs in the box if its density were that of the box without the restriction
    (binomial). Peeling a grid parameter one value at a time can restrict it by chance;
    the least significant restriction is released while its p-value exceeds ``significance``."""
    limits = dict(limits)
    while True:
        mask = _inside(A, names, limits)
        k, m = int(yv[mask].sum()), int(mask.sum())
        pvalues = {}
        for c in _restricted(limits, full):
            released = _inside(A, names, limits, skip=c)
            p0 = float(yv[released].mean())
            pvalues[c] = float(binom.sf(k - 1, m, p0)) if m else 1.0
        if not pvalues:
            return limits, {}
        worst = max(pvalues, key=pvalues.get)
        if pvalues[worst] <= significance:
            return limits, pvalues
        limits[worst] = full[worst]


def _inside(A, names, limits, skip: str | None = None) -> np.ndarray:
    mask = np.ones(len(A), dtype=bool)
    for j, c in enumerate(names):
        if c == skip:
            continue
        lo, hi = limits[c]
        mask &= (A[:, j] >= lo) & (A[:, j] <= hi)
    return mask


def _restricted(limits, full) -> list[str]:
    return [c for c in limits if limits[c][0] > full[c][0] or limits[c][1] < full[c][1]]


def _box_stats(mask, yv, n_yes) -> dict:
    n = len(yv)
    inside, outside = mask.sum(), (~mask).sum()
    return {"coverage": float(yv[mask].sum() / n_yes) if n_yes else 0.0,
            "density": float(yv[mask].mean()) if inside else 0.0,
            "mass": float(inside / n), "n": int(inside),
            "density_outside": float(yv[~mask].mean()) if outside else float("nan")}


def _stats(mask, yv, limits, full, n_yes) -> dict:
    out = _box_stats(mask, yv, n_yes)
    restricted = _restricted(limits, full)
    out["restricted"] = len(restricted)
    out["limits"] = "; ".join(f"{c} in [{limits[c][0]:.4g}, {limits[c][1]:.4g}]" for c in restricted)
    return out


def _numeric(x: pd.DataFrame) -> pd.DataFrame:
    """Numbers and booleans (as 0/1); other columns (strings, dates) are left out."""
    cols = {}
    for c in x.columns:
        s = x[c]
        if s.dtype == bool or str(s.dtype) == "boolean":
            cols[c] = s.astype(float)
        elif pd.api.types.is_numeric_dtype(s):
            cols[c] = s.astype(float)
    if not cols:
        raise ValueError("PRIM needs numeric (or true/false) parameters; this design has none")
    return pd.DataFrame(cols)
