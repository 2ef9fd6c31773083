"""Study 4, halving_2028: the dip and recovery of network and regional hashrate around the 2028 halving.

Two arms with paired seeds: the halving on its date (``market.halvings.h2028.date`` =
2028-04-15) and moved past the end of the run (2031-06-01). Each replicate has the same
seed, hence the same BTC price path, in both arms. Per run (weekly rows):

- the pre-halving level: hashrate in the last week before 2028-04-15;
- the dip: the lowest hashrate within 12 months after, as a share of the pre-halving
  level; its date;
- the recovery: the first week after that low when hashrate is back at the pre-halving
  level (censored at the end of 2030);

measured the same way in the no-halving arm, where a "dip" is the price path's doing
alone. The halving's own effect is the ratio of hashrate with to without it, replicate by
replicate (fan chart), and its value 1, 3, 6, 12 and 24 months after. "Regional" is the
hashrate of the countries with households (Pakistan, India, Bangladesh, Sri Lanka,
Afghanistan, Nepal, Bhutan, Maldives, El Salvador).

    crypto-abm study halving_2028 [--quick]          python -m experiments study halving_2028 [--quick]
"""

from __future__ import annotations

import datetime as dt

import matplotlib
import numpy as np
import pandas as pd

from experiments.analysis.figures import draw_fan
from experiments.analysis.outcomes import load_panel, pairs_needed
from experiments.analysis.report import md_table
from experiments.studies.common import Study, overlay_fans, study_dir
from experiments.sweep.outcomes import Context, parse_series
from experiments.sweep.results import open_folder

matplotlib.use("Agg")  # files only, no display; before pyplot is imported
import matplotlib.pyplot as plt  # noqa: E402

NAME = "halving_2028"
SPEC = "study_halving_2028.toml"
QUICK = {"replicates": 4}
PARAM = "market.halvings.h2028.date"
HALVING = dt.date(2028, 4, 15)
AFTER_MONTHS = (1, 3, 6, 12, 24)
SERIES = {"network": "hashrate_ehs@WORLD", "region": "hashrate_ehs@region"}


def run(quick: bool = False, out=None, workers: int | None = None, progress: bool = True) -> Study:
    study = Study(NAME, quick, study_dir(NAME, quick, out), workers=workers, progress=progress)
    study.sweep(study.write_spec(SPEC, QUICK if quick else None))
    a = study.analyze()
    folder, manifest = open_folder(a.folder)
    ctx = Context.from_manifest(manifest)
    runs = a.runs.copy()
    runs["halving"] = pd.to_datetime(runs[PARAM]).dt.date == HALVING
    series = {k: parse_series(v, ctx) for k, v in SERIES.items()}
    panel = load_panel(folder, pairs_needed([], series.values()), run_ids=runs["run_id"].tolist())
    dates = panel.dates
    pre_i = panel.index_at(HALVING - dt.timedelta(days=1))
    end_i = panel.index_at(HALVING + dt.timedelta(days=365))

    measures, ratios, effect_rows, dip_rows = {}, {}, [], []
    for key, s in series.items():
        y = panel.series(s)
        pre = y[:, pre_i]
        window = y[:, pre_i + 1:end_i + 1]
        low_j = np.nanargmin(window, axis=1)
        low = window[np.arange(len(y)), low_j] / pre
        low_i = pre_i + 1 + low_j
        rec = np.full(len(y), np.nan)
        censored = np.zeros(len(y), bool)
        for r in range(len(y)):
            back = np.flatnonzero(y[r, low_i[r]:] >= pre[r])
            if len(back):
                rec[r] = (dates[low_i[r] + back[0]] - pd.Timestamp(HALVING)).days / 7.0
            else:
                rec[r] = (dates[-1] - pd.Timestamp(HALVING)).days / 7.0
                censored[r] = True
        runs[f"{key}_pre"] = pre
        runs[f"{key}_low"] = low
        runs[f"{key}_low_weeks"] = (dates[low_i] - pd.Timestamp(HALVING)).days / 7.0
        runs[f"{key}_recovery_weeks"] = rec
        runs[f"{key}_recovery_censored"] = censored
        for arm, label in ((True, "halving 2028-04-15"), (False, "no halving in the run")):
            sel = (runs["halving"] == arm).to_numpy()
            lows, rw, cz = low[sel], rec[sel], censored[sel]
            dip_rows.append({
                "hashrate": key, "arm": label, "runs": int(sel.sum()),
                "pre-halving EH/s (median)": float(np.nanmedian(pre[sel])),
                "low within 12 months / pre: median": float(np.nanmedian(lows)),
                "5%": float(np.nanquantile(lows, 0.05)), "95%": float(np.nanquantile(lows, 0.95)),
                "share dipping >= 10%": float(np.mean(lows <= 0.9)),
                "weeks to the low (median)": float(np.nanmedian(runs.loc[sel, f"{key}_low_weeks"])),
                "weeks to recover (median)": _median_censored(rw, cz),
                "not recovered by 2031": float(cz.mean()),
            })
        # the halving's own effect: with / without, replicate by replicate
        on = runs[runs["halving"]].set_index("replicate")
        off = runs[~runs["halving"]].set_index("replicate")
        both = on.index.intersection(off.index)
        pos = pd.Series(np.arange(len(runs)), index=runs["run_id"])
        yon = y[pos[on.loc[both, "run_id"]].to_numpy()]
        yoff = y[pos[off.loc[both, "run_id"]].to_numpy()]
        with np.errstate(all="ignore"):
            ratio = yon / yoff
        ratios[key] = ratio
        row = {"hashrate": key, "pairs": len(both)}
        for m in AFTER_MONTHS:
            i = panel.index_at(HALVING + dt.timedelta(days=int(30.44 * m)))
            v = ratio[:, i]
            row[f"+{m} mo: median"] = float(np.nanmedian(v))
            row[f"+{m} mo: 5-95%"] = f"{np.nanquantile(v, 0.05):.3f}-{np.nanquantile(v, 0.95):.3f}"
        after = ratio[:, pre_i + 1:]
        row["lowest ratio (median over replicates)"] = float(np.nanmedian(np.nanmin(after, axis=1)))
        effect_rows.append(row)
        measures[key] = {"dip": [r for r in dip_rows if r["hashrate"] == key], "effect": row}

    dips, effects = pd.DataFrame(dip_rows), pd.DataFrame(effect_rows)
    study.numbers["measures"] = measures
    _ratio_figure(study, dates, ratios, pre_i)
    overlay_fans(study, a, [SERIES["network"], SERIES["region"]],
                 "halving", {True: "halving 2028-04-15", False: "no halving in the run"}, "fan_with_without.png",
                 "Hashrate with and without the 2028 halving (same seeds): median, 25-75% and 5-95%",
                 {"hashrate_ehs": "EH/s"}, start="2027-07-01", runs=runs)
    summary = []
    for r in dip_rows:
        if r["arm"].startswith("halving"):
            rec = r["weeks to recover (median)"]
            rec_text = "median recovery after the end of the run" if rec == "> end of run" else \
                f"median recovery {rec} weeks after the halving"
            summary.append(f"{r['hashrate']}: low within 12 months "
                           f"{r['low within 12 months / pre: median']:.3f} of the pre-halving level "
                           f"(median; 5-95% {r['5%']:.3f}-{r['95%']:.3f}), "
                           f"{r['share dipping >= 10%']:.0%} of runs dip >= 10%, {rec_text}")
    for r in effect_rows:
        summary.append(f"{r['hashrate']} with/without halving: +6 months {r['+6 mo: median']:.3f}, "
                       f"+12 months {r['+12 mo: median']:.3f} (medians)")
    study.numbers["_summary"] = summary
    question = (
        "How deep is the dip in network and regional hashrate after the April 2028 halving, and how long until "
        "hashrate is back at its pre-halving level; how much of it is the halving itself rather than the price?")
    body = ["## Result", "",
            "Dip and recovery per run (the low within 12 months after 2028-04-15 as a share of the last pre-halving "
            "week; recovery = weeks from the halving until hashrate is back at the pre-halving level after that "
            "low, median over runs counting censored runs as late; in the no-halving arm the same dates measure "
            "what the price path alone does):", "",
            md_table(dips, ".3g"), "",
            "The halving's own effect: hashrate with / without the halving, same seed (so the same price path), "
            "months after 2028-04-15 (median and 5-95% over replicates):", "",
            md_table(effects, ".3g"), "",
            "![with and without](fan_with_without.png)", "", "![ratio](halving_ratio.png)", "",
            "In short: " + "; ".join(summary) + ".", "",
            "Generic analysis (declared outcomes such as `net_low_6m`, fan charts of hashrate and hashprice over "
            "all runs, replicate noise): [sweep/analysis/report.md](sweep/analysis/report.md).", ""]
    study.write_report("The 2028 halving: dip and recovery of network and regional hashrate", question, body,
                       f"{study.specs['sweep'].households:,} household agents (the minimum): households do not "
                       "enter mining decisions.")
    return study


def _median_censored(weeks: np.ndarray, censored: np.ndarray) -> float | str:
    """The median with censored runs counted as later than any observed one."""
    n = len(weeks)
    if n == 0:
        return float("nan")
    order = np.sort(np.where(censored, np.inf, weeks))
    m = order[(n - 1) // 2]
    return "> end of run" if not np.isfinite(m) else round(float(m), 1)


def _ratio_figure(study: Study, dates, ratios: dict[str, np.ndarray], pre_i: int) -> None:
    fig, axes = plt.subplots(1, len(ratios), figsize=(12, 4), squeeze=False)
    keep = dates >= pd.Timestamp("2027-07-01")
    for ax, (key, r) in zip(axes[0], ratios.items()):
        draw_fan(ax, dates[keep], r[:, keep], label=f"{r.shape[0]} replicates")
        ax.axvline(pd.Timestamp(HALVING), color="grey", ls="--", lw=0.8)
        ax.axhline(1.0, color="grey", ls=":", lw=0.8)
        ax.set(title=f"{key} hashrate: with / without the 2028 halving (same seed)", ylabel="ratio")
        ax.legend(fontsize=7)
    study.figure(fig, "halving_ratio.png")

