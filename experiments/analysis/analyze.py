"""``crypto-abm analyze DIR`` (:func:`analyze`): outcomes, sensitivity indices, replicate noise, fan charts, PRIM.

For each chosen outcome (one number per run, declared in the spec's ``[analysis]`` table
or with ``--outcome NAME=EXPR``; the language is :mod:`experiments.sweep.outcomes`, the
computing :mod:`experiments.analysis.outcomes`) the analysis gives:

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
  (``experiments.analysis.prim``).

Fan charts show chosen series over time: median and 5-95% (and 25-75%) bands across
replicates, per design point (small designs) or pooled over all runs.

Everything goes to ``DIR/analysis/``: ``report.md``, PNGs, ``outcomes.parquet`` (one row
per run), ``points.parquet`` (replicate means per point), ``indices.csv``, ``noise.csv``,
``prim_<outcome>.csv`` and ``analysis.json`` (the definitions and settings used). The
summary table is printed by the command line.

The pieces: ``tables`` (per point, across runs, noise), ``indices`` (SALib), ``prim``,
``figures`` (fans, indices, PRIM), ``report`` (the printed summary and ``report.md``).

Which outcomes: ``--outcome`` flags if given (``NAME=EXPR`` defines one, a bare ``NAME``
picks one of the spec's); otherwise the ``[analysis]`` table of the spec file the
manifest names, if it is still there, else the copy in the manifest.
"""

from __future__ import annotations

import datetime as dt
import io
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments.analysis.figures import fan_charts, index_charts, prim_charts
from experiments.analysis.indices import indices_table
from experiments.analysis.outcomes import compute, load_panel, pairs_needed
from experiments.analysis.prim import PrimResult, prim
from experiments.analysis.report import report_text
from experiments.analysis.tables import Analysis, noise_table, point_table, summary_table
from experiments.provenance import atomic_write_bytes, atomic_write_json, git_commit
from experiments.sweep.errors import SpecError
from experiments.sweep.outcomes import (
    DEFAULT_CONF,
    DEFAULT_RESAMPLES,
    Context,
    Outcome,
    OutcomeError,
    check_analysis,
    parse_flag,
    parse_outcome,
    parse_series,
)
from experiments.sweep.results import open_folder
from experiments.sweep.storage import SAMPLE
from model.errors import MISSING


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
            settings = check_analysis(raw["analysis"], ctx, lambda f, m, v=MISSING: problems.append((f, m, v)))
            if problems:
                raise SpecError(str(spec_file), [(f, m, v) for f, m, v in problems])
            return settings or {}, f"{spec_file.name} [analysis]"
    stored = manifest.get("analysis")
    if stored:
        return stored, "manifest.json analysis"
    return {}, ""


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


def _write_tables(a: Analysis, settings: dict, source: str, resamples: int, conf: float) -> None:
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
