"""Sensitivity indices on replicate means (``SALib.analyze``: Sobol S1/ST, Morris mu*), with
the same index recomputed from each replicate alone to show how far the seed moves it."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from SALib.analyze import morris, sobol

from experiments.analysis.tables import REPLICATE_RESAMPLES, Analysis


def indices_table(a: Analysis, sample: np.ndarray, n_points: int, reps: int, resamples: int,
                  conf: float) -> pd.DataFrame:
    problem = dict(a.manifest["salib_problem"])
    seed = int(a.manifest.get("sampler_seed") or 1) % (2**31 - 1) or 1
    frames = []
    for name in a.outcomes:
        y = a.points.set_index("point")[name].reindex(range(n_points)).to_numpy(dtype=float)
        if np.isnan(y).any():
            a.notes.append(f"{name}: no indices ({int(np.isnan(y).sum())} design points have no finished run "
                           "or no value)")
            continue
        if np.nanstd(y) == 0:
            a.notes.append(f"{name}: no indices (the outcome does not vary across the design)")
            continue
        df = _indices(a.method, problem, sample, y, resamples, conf, seed, a.manifest)
        if df[MAIN_INDEX[a.method]].isna().all():
            a.notes.append(f"{name}: no indices (SALib returned none: too few samples for {a.method}?)")
            continue
        # the same index from each replicate alone: its spread across replicates
        per_rep = []
        for r in range(reps):
            sub = a.runs[a.runs["replicate"] == r].set_index("point")[name].reindex(range(n_points))
            yr = sub.to_numpy(dtype=float)
            if np.isnan(yr).any() or np.nanstd(yr) == 0:
                continue
            d = _indices(a.method, problem, sample, yr, REPLICATE_RESAMPLES, conf, seed, a.manifest)
            per_rep.append(d[MAIN_INDEX[a.method]].to_numpy())
        main = MAIN_INDEX[a.method]
        if len(per_rep) >= 2:
            arr = np.vstack(per_rep)
            df[f"{main}_rep_mean"] = arr.mean(axis=0)
            df[f"{main}_rep_sd"] = arr.std(axis=0, ddof=1)
            df[f"{main}_rep_min"] = arr.min(axis=0)
            df[f"{main}_rep_max"] = arr.max(axis=0)
            df["replicates_used"] = len(per_rep)
        df.insert(0, "outcome", name)
        frames.append(df)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


MAIN_INDEX = {"sobol": "ST", "morris": "mu_star"}


def _indices(method: str, problem: dict, sample: np.ndarray, y: np.ndarray, resamples: int, conf: float,
             seed: int, manifest: dict) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SALib warns about bins, resamples and constant outputs
        if method == "sobol":
            second = bool(manifest["spec"]["design"].get("calc_second_order", False))
            si = sobol.analyze(problem, y, calc_second_order=second, num_resamples=resamples, conf_level=conf,
                               seed=seed)
            names = _group_names(problem)
            df = pd.DataFrame({"parameter": names, "S1": si["S1"], "S1_conf": si["S1_conf"], "ST": si["ST"],
                               "ST_conf": si["ST_conf"]})
        elif method == "morris":
            levels = int(manifest["spec"]["design"].get("levels", 4))
            si = morris.analyze(problem, sample, y, num_resamples=resamples, conf_level=conf, num_levels=levels,
                                seed=seed)
            df = pd.DataFrame({"parameter": list(si["names"]), "mu_star": np.asarray(si["mu_star"], float),
                               "mu_star_conf": np.asarray(si["mu_star_conf"], float),
                               "mu": np.asarray(si["mu"], float), "sigma": np.asarray(si["sigma"], float)})
            top = df["mu_star"].max()
            df["mu_star_norm"] = df["mu_star"] / top if top > 0 else 0.0
    return df


def _group_names(problem: dict) -> list[str]:
    groups = problem.get("groups")
    return list(dict.fromkeys(groups)) if groups else list(problem["names"])
