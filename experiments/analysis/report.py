"""The text of an analysis: the printed summary and ``report.md`` (Markdown tables)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.analysis.figures import slug
from experiments.analysis.indices import MAIN_INDEX
from experiments.analysis.tables import POINT_TABLE_MAX, Analysis, fmtv, short
from experiments.sweep.outcomes import Outcome, Series, year_to_date


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
            top = "; ".join(f"{short(p, 36)} {v:.3g}±{c:.2g}" for p, v, c in zip(d["parameter"], d[main], d[conf]))
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


def md_table(df: pd.DataFrame, floatfmt: str = ".4g") -> str:
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
                cells.append(fmtv(v))
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
        md_table(pd.DataFrame([{"outcome": n, "kind": o.kind, "definition": f"`{o.expr}`",
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
    lines += [md_table(summ), ""]
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
        md_table(a.noise),
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
            lines += [f"### {name}", "", md_table(df, ".3g"), "", f"![{name}](indices_{slug(name)}.png)", ""]
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
                      md_table(lim), "", f"![{name}](prim_{slug(name)}.png)", ""]
    if d["points"] <= POINT_TABLE_MAX:
        cols = ["point"] + d["parameters"] + ["runs"] + list(a.outcomes)
        lines += ["## Replicate means per design point", "", md_table(a.points[cols]), ""]
    if fan_series:
        lines += ["## Fan charts", ""]
        for s in fan_series:
            lines += [f"![{s.label()}](fan_{slug(s.label())}.png)", ""]
    if a.notes:
        lines += ["## Notes", ""] + [f"- {n}" for n in a.notes] + [""]
    lines += ["Files: `outcomes.parquet` (one row per run), `points.parquet` (replicate means per point), "
              "`summary.csv`, `noise.csv`" + (", `indices.csv`" if a.method else "")
              + (", `prim_<outcome>.csv` (peeling trajectories)" if a.prim else "") + ", `analysis.json`.", ""]
    return "\n".join(lines)
