"""``crypto-abm analyze DIR``: outcomes, sensitivity indices, replicate noise, fan charts, PRIM.

For each chosen outcome (``experiments.sweep.outcomes``: one number per run, declared in
the spec's ``[analysis]`` table or with ``--outcome NAME=EXPR``) the analysis gives:

- its distribution over the runs (mean, s.d., 5/50/95% quantiles; for a yes/no outcome
  the share of "yes" with a Wilson interval; for a date the share censored at the horizon);
- the **replicate noise**: the mean over design points of the variance across replicates,
  as a share of the variance over all runs (how much of the spread is the seed), and as a
  share of the variance of the replicate means (how noisy the inputs of the indices are);
- **sensitivity indices** on the replicate means, with bootstrap confidence intervals,
  via ``SALib.analyze`` on the problem and the sample the sweep saved (``manifest.json``
  ``salib_problem``, ``sample.npy``): Sobol S1 and ST for a sobol design, Morris mu*, mu
  and sigma for a morris design (an lhs or grid design gets none). Beside them, the
  same index recomputed from each replicate alone (common random numbers make each
  replicate a complete design of its own): its spread across replicates shows how far
  the seed moves the ranking;
- for yes/no outcomes, the parameter region where it happens, by PRIM
  (``experiments.sweep.prim``).

Fan charts show chosen series over time: median and 5-95% (and 25-75%) bands across
replicates, per design point (small designs) or pooled over all runs.

Everything goes to ``DIR/analysis/``: ``report.md``, PNGs, ``outcomes.parquet`` (one row
per run), ``points.parquet`` (replicate means per point), ``indices.csv``, ``noise.csv``,
``prim_<outcome>.csv`` and ``analysis.json`` (the definitions and settings used). The
summary table is printed.

Which outcomes: ``--outcome`` flags if given (``NAME=EXPR`` defines one, a bare ``NAME``
picks one of the spec's); otherwise the ``[analysis]`` table of the spec file the
manifest names, if it is still there, else the copy in the manifest.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments.sweep.errors import SpecError
from experiments.sweep.outcomes import (
    DEFAULT_CONF, DEFAULT_RESAMPLES, Context, Outcome, OutcomeError, Panel, Series, check_analysis, compute,
    load_panel, pairs_needed, parse_flag, parse_outcome, parse_series, year_to_date,
)
from experiments.sweep.prim import PrimResult, prim
from experiments.sweep.results import open_folder
from experiments.sweep.storage import SAMPLE, atomic_write_bytes, atomic_write_json

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


# =============================================================================== definitions
def resolve_definitions(folder, manifest: dict[str, Any], flags: list[str] | None = None
                        ) -> tuple[dict[str, Outcome], dict[str, Any], str]:
    """The outcomes to analyse, the analysis settings, and where they came from."""
    ctx = Context.from_manifest(manifest)
    settings, source = _spec_analysis(manifest, ctx)
    declared = settings.get("outcomes", {})
    outcomes: dict[str, Outcome] = {}
    if flags:
        for flag in flags:
            try:
                name, expr = parse_flag(flag)
                if expr is None:
                    if name not in declared:
                        raise OutcomeError(f"no outcome {name!r} in {source or 'the spec'} (declared: "
                                           f"{', '.join(declared) or 'none'}); define one with NAME=EXPR")
                    expr = declared[name]
                outcomes[name] = parse_outcome(name, expr, ctx)
            except OutcomeError as err:
                raise SpecError.one(str(folder), "--outcome", str(err), flag) from None
        source = "command line" + (f" and {source}" if any("=" not in f for f in flags) else "")
    else:
        for name, expr in declared.items():
            outcomes[name] = parse_outcome(name, expr, ctx)
    for name, label in settings.get("labels", {}).items():
        if name in outcomes:
            outcomes[name] = Outcome(**{**outcomes[name].__dict__, "label": label})
    if not outcomes:  # nothing declared: the last value at WORLD of the first kept metrics
        for m in ctx.metrics[:4]:
            if "WORLD" in ctx.countries:
                outcomes[f"{m}_last"] = parse_outcome(f"{m}_last", f"last({m}@WORLD)", ctx)
        source = "default (no [analysis] outcomes declared: last value at WORLD of the first kept metrics)"
    return outcomes, settings, source


def _spec_analysis(manifest: dict[str, Any], ctx: Context) -> tuple[dict[str, Any], str]:
    spec_file = Path(manifest.get("spec_file", ""))
    if spec_file.is_file():
        try:
            raw = tomllib.loads(spec_file.read_text())
        except (OSError, tomllib.TOMLDecodeError):
            raw = None
        if raw is not None and "analysis" in raw:
            problems: list[tuple[str, str, Any]] = []
            settings = check_analysis(raw["analysis"], ctx, lambda f, m, v=None: problems.append((f, m, v)))
            if problems:
                raise SpecError(str(spec_file), [(f, m, v) for f, m, v in problems])
            return settings or {}, f"{spec_file.name} [analysis]"
    stored = manifest.get("analysis")
    if stored:
        return stored, "manifest.json analysis"
    return {}, ""


# =============================================================================== the analysis
def analyze(path, *, outcomes: list[str] | None = None, fan: list[str] | None = None, fan_by: str | None = None,
            prim_outcomes: list[str] | None = None, resamples: int | None = None, conf_level: float | None = None,
            figures: bool = True, write: bool = True) -> Analysis:
    """Analyse a sweep folder; write ``DIR/analysis/`` (unless ``write=False``)."""
    folder, manifest = open_folder(path)
    defs, settings, source = resolve_definitions(folder.root, manifest, outcomes)
    ctx = Context.from_manifest(manifest)
    resamples = int(resamples or settings.get("resamples") or DEFAULT_RESAMPLES)
    conf = float(conf_level or settings.get("conf_level") or DEFAULT_CONF)
    design = pd.read_parquet(folder.design_path)
    done = folder.done_ids()
    if not done:
        raise SpecError.one(str(folder.root), "DIR", "no finished runs yet (runs/ is empty)")
    runs = design[design["run_id"].isin(done)].reset_index(drop=True)
    params = list(manifest["design"]["parameters"])
    notes = [f"outcomes from {source}"]

    try:
        fan_series = [parse_series(s, ctx) for s in (fan if fan is not None else settings.get("fan", []))]
    except OutcomeError as err:
        raise SpecError.one(str(folder.root), "--fan", str(err)) from None
    if fan is None and not settings.get("fan"):
        fan_series = list(dict.fromkeys(o.series for o in defs.values() if o.series.relative_to is None))[:6]
    panel = load_panel(folder, pairs_needed(defs.values(), fan_series), run_ids=runs["run_id"].tolist())

    for name, o in defs.items():
        try:
            v, censored = compute(panel, o)
        except OutcomeError as err:
            raise SpecError.one(str(folder.root), f"outcome {name}", str(err)) from None
        runs[name] = v
        if censored is not None:
            runs[f"{name}__censored"] = censored

    n_points, reps = manifest["design"]["points"], manifest["design"]["replicates"]
    points = point_table(runs, design, params, list(defs))
    summary = summary_table(runs, defs, conf)
    noise = noise_table(runs, defs, reps)
    a = Analysis(folder=folder.root, manifest=manifest, outcomes=defs, runs=runs, points=points, summary=summary,
                 noise=noise, indices=pd.DataFrame(), notes=notes, conf=conf)
    failed = manifest["design"]["runs"] - len(runs)
    if failed:
        notes.append(f"{failed} of {manifest['design']['runs']} runs are not finished (failed or still to run); "
                     "replicate means use the finished ones")

    kind = manifest["design"]["kind"]
    if kind in ("sobol", "morris"):
        a.method = kind
        sample = np.load(folder.root / SAMPLE)
        a.indices = indices_table(a, sample, n_points, reps, resamples, conf)
    elif kind == "lhs" and params:
        notes.append("an lhs design has no Sobol or Morris structure: no indices (see the per-point table and PRIM; "
                     "use kind = \"sobol\" or \"morris\" for indices)")

    binary = [n for n, o in defs.items() if o.binary]
    chosen = prim_outcomes if prim_outcomes is not None else (settings.get("prim") or binary)
    for name in chosen:
        if name not in defs or not defs[name].binary:
            notes.append(f"PRIM: {name} is not a yes/no outcome; skipped")
            continue
        res, why = run_prim(runs, params, name)
        if res is None:
            notes.append(f"PRIM for {name}: {why}")
        else:
            a.prim[name] = res

    if write:
        a.out.mkdir(exist_ok=True)
        _write_tables(a, settings, source, resamples, conf)
        if figures:
            a.files += fan_charts(a, panel, fan_series, fan_by or settings.get("fan_by", "auto"))
            a.files += index_charts(a)
            a.files += prim_charts(a)
        report = a.out / "report.md"
        atomic_write_bytes(report, report_text(a, fan_series).encode())
        a.files.append(report)
    return a


# =============================================================================== tables
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
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SALib warns about bins, resamples and constant outputs
        if method == "sobol":
            from SALib.analyze import sobol
            second = bool(manifest["spec"]["design"].get("calc_second_order", False))
            si = sobol.analyze(problem, y, calc_second_order=second, num_resamples=resamples, conf_level=conf,
                               seed=seed)
            names = _group_names(problem)
            df = pd.DataFrame({"parameter": names, "S1": si["S1"], "S1_conf": si["S1_conf"], "ST": si["ST"],
                               "ST_conf": si["ST_conf"]})
        elif method == "morris":
            from SALib.analyze import morris
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


def run_prim(runs: pd.DataFrame, params: list[str], name: str) -> tuple[PrimResult | None, str]:
    y = runs[name].to_numpy(dtype=float)
    ok = ~np.isnan(y)
    k = int(y[ok].sum())
    if k == 0 or k == ok.sum():
        return None, f"the outcome is {'never' if k == 0 else 'always'} true: there is no region to find"
    x = runs[params]
    varying = [c for c in params if x[c].nunique() > 1]
    try:
        return prim(x[varying] if varying else x, y), ""
    except ValueError as err:
        return None, str(err)


def wilson(k: int, n: int, conf: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a share k/n."""
    if n == 0:
        return (np.nan, np.nan)
    from scipy.stats import norm
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


def _write_tables(a: Analysis, settings: dict, source: str, resamples: int, conf: float) -> None:
    import io
    out = a.out

    def parquet(df: pd.DataFrame, name: str) -> None:
        buf = io.BytesIO()
        df.to_parquet(buf, index=False)
        atomic_write_bytes(out / name, buf.getvalue())
        a.files.append(out / name)

    def csv(df: pd.DataFrame, name: str) -> None:
        atomic_write_bytes(out / name, df.to_csv(index=False).encode())
        a.files.append(out / name)

    parquet(a.runs, "outcomes.parquet")
    parquet(a.points, "points.parquet")
    csv(a.summary, "summary.csv")
    csv(a.noise, "noise.csv")
    if len(a.indices):
        csv(a.indices, "indices.csv")
    for name, res in a.prim.items():
        csv(res.trajectory, f"prim_{name}.csv")
    from experiments.outputs import git_commit
    atomic_write_json(out / "analysis.json", {
        "kind": "crypto-abm analysis", "sweep": str(a.folder), "spec_sha256": a.manifest.get("spec_sha256"),
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "source": source,
        "outcomes": {n: o.expr for n, o in a.outcomes.items()}, "method": a.method, "resamples": resamples,
        "conf_level": conf, "fan": settings.get("fan"), "git": git_commit(),
        "prim": {n: {"box": r.box.limits, "restricted": r.box.restricted, "coverage": r.box.coverage,
                     "density": r.box.density, "mass": r.box.mass, "density_outside": r.box.density_outside,
                     "pvalues": r.box.pvalues} for n, r in a.prim.items()},
        "notes": a.notes})
    a.files.append(out / "analysis.json")


# =============================================================================== figures
def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _save(fig, path: Path) -> Path:
    """Lay out, write and close one figure."""
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    _plt().close(fig)
    return path


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")[:80]


def fan_quantiles(y: np.ndarray) -> dict[str, np.ndarray]:
    """Quantiles across runs (rows) at each step: q05, q25, median, q75, q95."""
    with np.errstate(all="ignore"):
        import warnings
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
    plt = _plt()
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
                ax.set_title("\n".join(f"{_short(c)}={_fmtv(row[c])}" for c in params) or f"point {p}", fontsize=7)
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
        paths.append(_save(fig, a.out / f"fan_{_slug(s.label())}.png"))
    return paths


def index_charts(a: Analysis) -> list[Path]:
    if a.indices.empty:
        return []
    plt = _plt()
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
        ax.set_yticks(yy, [_short(p, 48) for p in df["parameter"]], fontsize=7)
        title = {"sobol": "Sobol indices", "morris": "Morris mu* (elementary effects)"}[a.method]
        ax.set_title(f"{name}: {title} on replicate means, {int(a.manifest['spec']['replicates'])} replicates; "
                     f"bars = {a.conf:.0%} CI", fontsize=8)
        ax.legend(fontsize=7, loc="lower right")
        paths.append(_save(fig, a.out / f"indices_{_slug(name)}.png"))
    return paths


def prim_charts(a: Analysis) -> list[Path]:
    plt = _plt()
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
            ax.text(1.02, i, f"{_fmtv(blo)} .. {_fmtv(bhi)}", va="center", fontsize=7)
        ax.set_yticks(range(len(names)), [_short(c, 40) for c in names], fontsize=7)
        ax.set_xlim(0, 1.35)
        ax.set_title(f"chosen box: coverage {res.box.coverage:.2f}, density {res.box.density:.2f} "
                     f"(outside {res.box.density_outside:.2f})", fontsize=8)
        ax.set_xlabel("share of each parameter's range (red: restricted)")
        paths.append(_save(fig, a.out / f"prim_{_slug(name)}.png"))
    return paths


def _short(name: str, n: int = 32) -> str:
    return name if len(name) <= n else "..." + name[-(n - 3):]


def _fmtv(v) -> str:
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v)).lower()
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.4g}"
    return str(v)


# =============================================================================== text
def fmt_value(o: Outcome, v: float) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "-"
    if o.is_date:
        d = year_to_date(v)
        return f"{v:.2f} ({d.strftime('%Y-%m')})" if d else f"{v:.2f}"
    return f"{v:.4g}"


def summary_lines(a: Analysis) -> list[str]:
    """The printed summary: one row per outcome, with its top parameters when there are indices."""
    rows = []
    main = MAIN_INDEX.get(a.method or "", "")
    for _, s in a.summary.iterrows():
        o = a.outcomes[s["outcome"]]
        if o.binary:
            value = f"P(yes) {s['mean']:.3f} [{s['ci_low']:.3f}, {s['ci_high']:.3f}]"
        else:
            value = f"mean {fmt_value(o, s['mean'])}, sd {s['sd']:.3g}" if np.isfinite(s["sd"]) else \
                f"mean {fmt_value(o, s['mean'])}"
        if o.censorable:
            value += f", censored {s['censored']:.0%}"
        nz = a.noise.set_index("outcome").loc[s["outcome"], "noise_share"]
        top = ""
        if not a.indices.empty and s["outcome"] in set(a.indices["outcome"]):
            d = a.indices[a.indices["outcome"] == s["outcome"]].sort_values(main, ascending=False).head(3)
            conf = f"{main}_conf"
            top = "; ".join(f"{_short(p, 36)} {v:.3g}±{c:.2g}" for p, v, c in zip(d["parameter"], d[main], d[conf]))
        rows.append({"outcome": s["outcome"], "kind": o.kind, "value": value,
                     "seed share of variance": "-" if not np.isfinite(nz) else f"{nz:.0%}",
                     **({f"top {main}": top} if main else {})})
    table = pd.DataFrame(rows).to_string(index=False)
    lines = [table]
    for name, res in a.prim.items():
        b = res.box
        lines.append(f"PRIM {name}: {b.describe()}: coverage {b.coverage:.2f}, density {b.density:.2f} "
                     f"(outside {b.density_outside:.2f}, overall {res.base_density:.2f})")
    return lines


def _md_table(df: pd.DataFrame, floatfmt: str = ".4g") -> str:
    if df.empty:
        return "(none)"
    cols = list(df.columns)
    out = ["| " + " | ".join(str(c) for c in cols) + " |", "|" + "---|" * len(cols)]
    for _, r in df.iterrows():
        cells = []
        for c in cols:
            v = r[c]
            if isinstance(v, (float, np.floating)):
                cells.append("-" if not np.isfinite(v) else format(float(v), floatfmt))
            else:
                cells.append(_fmtv(v))
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def report_text(a: Analysis, fan_series: list[Series]) -> str:
    m = a.manifest
    d, sc = m["design"], m["scenario"]
    lines = [
        f"# Analysis of sweep `{Path(a.folder).name}`",
        "",
        f"Spec `{m['spec_file']}` (sha256 `{m['spec_sha256'][:12]}`), scenario `{sc['name']}` "
        f"{sc['start']} to {sc['until']}, {sc['households']} household agents; {d['kind']} design over "
        f"{', '.join(f'`{p}`' for p in d['parameters']) or 'no parameters'}: {d['points']} points x "
        f"{d['replicates']} replicates = {d['runs']} runs ({len(a.runs)} finished); root seed {m['root_seed']}. "
        f"Written by `crypto-abm analyze` on {dt.date.today().isoformat()}.",
        "",
        "## Outcomes",
        "",
        _md_table(pd.DataFrame([{"outcome": n, "kind": o.kind, "definition": f"`{o.expr}`",
                                 "label": o.label} for n, o in a.outcomes.items()])),
        "",
        "Dates are decimal years; `first_change`/`first_time` are censored at the horizon (a run where it never "
        "happens counts at the window's end). A yes/no outcome is 1 or 0 per run; its mean is a probability.",
        "",
        "## Across runs",
        "",
    ]
    summ = a.summary.drop(columns=["definition"]).astype(object)
    for i, r in summ.iterrows():  # dates as decimal year and month
        o = a.outcomes[r["outcome"]]
        if o.is_date:
            for c in ("mean", "q05", "median", "q95"):
                summ.at[i, c] = fmt_value(o, r[c])
    lines += [_md_table(summ), ""]
    lines += [
        "## Replicate noise",
        "",
        "`noise_share`: mean over design points of the variance across replicates (seeds), as a share of the "
        "variance over all runs. `noise_share_of_means`: the same within-point variance divided by the number "
        "of replicates, as a share of the variance of the replicate means the indices are computed on (near 1: "
        "the indices mostly see noise). Both are estimates: above 1 means the design points differ less than "
        "seed noise alone would make them differ. With common random numbers, Morris and Sobol compare points "
        "run with the same seed, so the indices see less noise than these shares suggest; the indices "
        "recomputed from single replicates (below) show how far the seed actually moves them.",
        "",
        _md_table(a.noise),
        "",
    ]
    if a.method:
        main = MAIN_INDEX[a.method]
        what = {"sobol": "Sobol first-order (S1) and total (ST) indices",
                "morris": "Morris elementary effects: mu* (mean absolute effect, the ranking), mu, sigma "
                          "(non-linearity or interaction); mu_star_norm = mu*/max mu*"}[a.method]
        lines += [f"## Sensitivity: {what}", "",
                  f"On replicate means ({d['replicates']} per point), via `SALib.analyze.{a.method}` on the sweep's "
                  f"`salib_problem` and `sample.npy`; `_conf` columns are half-widths of the bootstrap "
                  f"confidence intervals. `{main}_rep_*`: the index computed from each replicate alone "
                  "(mean, s.d., min, max across replicates).", ""]
        if a.indices.empty:
            lines += ["(no indices: see the notes)", ""]
        for name, df in (a.indices.groupby("outcome", sort=False) if not a.indices.empty else []):
            df = df.drop(columns=["outcome"]).sort_values(main, ascending=False)
            lines += [f"### {name}", "", _md_table(df, ".3g"), "", f"![{name}](indices_{_slug(name)}.png)", ""]
    if a.prim:
        lines += ["## Where yes/no outcomes happen (PRIM)", "",
                  "Peeling trajectory and the chosen box: the densest box covering at least half of the 'yes' runs, "
                  "pasted, with restrictions the data do not support (quasi-p > 0.05) released.", ""]
        for name, res in a.prim.items():
            b = res.box
            lim = pd.DataFrame([{"parameter": c, "box low": b.limits[c][0], "box high": b.limits[c][1],
                                 "range low": b.full[c][0], "range high": b.full[c][1],
                                 "quasi-p": b.pvalues.get(c, np.nan)} for c in b.restricted])
            lines += [f"### {name}", "",
                      f"{b.describe()}: {b.n} runs, coverage {b.coverage:.3f}, density {b.density:.3f}, mass "
                      f"{b.mass:.3f}; share of 'yes' outside the box {b.density_outside:.3f}, overall "
                      f"{res.base_density:.3f} ({res.n_yes} of {res.n} runs).", "",
                      _md_table(lim), "", f"![{name}](prim_{_slug(name)}.png)", ""]
    if d["points"] <= POINT_TABLE_MAX:
        cols = ["point"] + d["parameters"] + ["runs"] + list(a.outcomes)
        lines += ["## Replicate means per design point", "", _md_table(a.points[cols]), ""]
    if fan_series:
        lines += ["## Fan charts", ""]
        for s in fan_series:
            lines += [f"![{s.label()}](fan_{_slug(s.label())}.png)", ""]
    if a.notes:
        lines += ["## Notes", ""] + [f"- {n}" for n in a.notes] + [""]
    lines += ["Files: `outcomes.parquet` (one row per run), `points.parquet` (replicate means per point), "
              "`summary.csv`, `noise.csv`" + (", `indices.csv`" if a.method else "")
              + (", `prim_<outcome>.csv` (peeling trajectories)" if a.prim else "") + ", `analysis.json`.", ""]
    return "\n".join(lines)


# =============================================================================== command line
def main_analyze(args) -> int:
    """``crypto-abm analyze DIR [--outcome NAME=EXPR ...] [--fan SERIES ...] [--fan-by ...] [--no-figures]``."""
    a = analyze(args.folder, outcomes=args.outcomes, fan=args.fan, fan_by=args.fan_by,
                prim_outcomes=args.prim, resamples=args.resamples, conf_level=args.conf_level,
                figures=not args.no_figures)
    d = a.manifest["design"]
    print(f"analysis of {a.folder}: {d['kind']} design, {len(a.runs)} of {d['runs']} runs")
    print("\n".join(summary_lines(a)))
    for n in a.notes:
        print(f"note: {n}")
    print(f"\nwrote {a.out}/report.md and {len(a.files) - 1} more files")
    return 0
