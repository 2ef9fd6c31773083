"""Study ai_demand: how much mining survives in Pakistan's 2,000 MW when AI data centres bid for it.

The allocation is for bitcoin mining *and* AI data centres. In the model (``model.power``)
an AI load bids its willingness to pay ($150/MWh in ``pak_ai_demand``, above what a MWh
earns a miner), so it is served first and mining gets what is left; miners also plan new
machines only for the allocation less the AI claims, from the day those are announced. The
study crosses the AI load (phase 1 of ``pak_ai_demand``, 0-2,000 MW, drawing power from
June 2026; phase 2 off) with the mining tariff, on the baseline price path: replicate r
has the same seed and price path at every point (common random numbers), so "with AI
minus without AI, same tariff and replicate" is a paired difference, with a t interval.

Revenue: the data have no tax rate for mining, so the study gives no tax figure. It gives
(a) the state's power sales under the allocation, MW served (mining + AI) x 8,760 h x the
allocation tariff, which assumes every buyer pays that tariff (the model has no price AI
pays: its $150/MWh only orders the merit order), and (b) the miners' revenue in Pakistan,
the base any mining tax would be levied on.

Full study: 5 AI loads x 5 tariffs x 6 replicates = 150 runs to 2030: measured 3.4 min of
wall time on 2 workers with the machine otherwise lightly loaded, 5.7 min beside other jobs
(load ~3). ``--quick``: 2 x 2 x 2 runs to the end of 2027 (the outcome windows start in
2027, so it keeps the same outcome definitions), about 10 s.

    crypto-abm study ai_demand [--quick]          python -m experiments study ai_demand [--quick]
"""

from __future__ import annotations

import datetime as dt

import matplotlib
import numpy as np
import pandas as pd

from experiments.analysis.report import md_table
from experiments.studies.common import PAK_ALLOCATION_MW as ALLOCATION_MW
from experiments.studies.common import PAK_TARIFF as TARIFF
from experiments.studies.common import Study, heatmaps, overlay_fans, paired_ci, study_dir

matplotlib.use("Agg")  # files only, no display; before pyplot is imported
import matplotlib.pyplot as plt  # noqa: E402

NAME = "ai_demand"
SPEC = "study_ai_demand.toml"
AI = "shocks.pak_ai_phase1.mw"
PROPOSED_TARIFF = 0.08
MIN_MW = 100.0   # "mining survives": a mean of at least this many MW over the window
HOURS_PER_YEAR = 8760.0
QUICK = {"replicates": 2, "until": dt.date(2027, 12, 31),
         ("parameters", AI, "values"): [0, 1500], ("parameters", TARIFF, "values"): [0.03, 0.08]}
#: Report grids: column of the runs table -> (title, scale, format).
GRIDS = {
    "pak_mw_mean": ("Pakistan's mining MW, mean over the window", 1.0, ",.0f"),
    "pak_ai_mw_mean": ("AI MW served, mean over the window", 1.0, ",.0f"),
    "pak_mw_before_ai": ("Mining MW at the end of May 2026 (AI announced, not yet drawing power)", 1.0, ",.0f"),
    "pak_curtailed_mw_mean": ("Mining MW curtailed (wanted but denied by the cap), mean over the window", 1.0, ",.0f"),
    "pak_share_end": ("Pakistan's share of network hashrate at the end of the run, %", 100.0, ".2f"),
    "pak_ehs_end": ("Pakistan's hashrate at the end of the run, EH/s", 1.0, ".1f"),
    "power_sales_usd_m": ("State's power sales under the allocation, USD m/yr over the window "
                          "(MW served x 8,760 h x tariff; AI pays the allocation tariff: an assumption)", 1.0, ",.0f"),
    "miner_revenue_usd_m": ("Miners' revenue in Pakistan (the base of any mining tax), USD m/yr over the window",
                            1.0, ",.0f"),
}
#: Paired differences (with AI minus without): column -> (heading, scale, format).
PAIRED = {"pak_mw_mean": ("mining MW", 1.0, ",.0f"), "pak_share_end": ("share at end, pp", 100.0, ".2f"),
          "power_sales_usd_m": ("power sales, USD m/yr", 1.0, ",.0f"),
          "miner_revenue_usd_m": ("miner revenue, USD m/yr", 1.0, ",.0f")}


def run(quick: bool = False, out=None, workers: int | None = None, progress: bool = True) -> Study:
    study = Study(NAME, quick, study_dir(NAME, quick, out), workers=workers, progress=progress)
    study.sweep(study.write_spec(SPEC, QUICK if quick else None))
    a = study.analyze()
    start, until = a.outcomes["pak_mw_mean"].start, study.specs["sweep"].until
    window = f"{start:%b %Y}-{until:%b %Y}"
    runs = with_revenue(a.runs, years=(until - start).days / 365.25)

    grids = {name: runs.pivot_table(index=TARIFF, columns=AI, values=name, aggfunc="mean").sort_index(ascending=False)
             for name in list(GRIDS) + ["pak_mw_peak", "world_ehs_end", "power_sales_ai_usd_m"]}
    study.numbers["window"] = {"from": start, "to": until}
    study.numbers["grids"] = {k: {f"{t:g}": {f"{int(ai)}": v for ai, v in row.items()} for t, row in g.iterrows()}
                              for k, g in grids.items()}
    paired, table = crowd_out(runs)
    study.numbers["paired"] = paired

    _heatmaps(study, grids)
    _lines(study, runs)
    low = runs[TARIFF].min()
    overlay_fans(study, a, ["mining_power_mw@PAK", "ai_power_mw@PAK"], AI,
                 {ai: f"AI load {int(ai):,} MW" for ai in sorted(runs[AI].unique())}, "mw_over_time.png",
                 f"Pakistan's mining and AI MW at ${low:g}/kWh, by AI load: median, 25-75% and 5-95% across replicates",
                 {"mining_power_mw": "MW", "ai_power_mw": "MW"}, runs=runs[runs[TARIFF] == low])

    def grid_md(name: str) -> str:
        title, scale, fmt = GRIDS[name]
        g = grids[name] * scale
        g.index = [f"${t:g}/kWh" for t in g.index]
        g.columns = [f"AI {int(c):,} MW" for c in g.columns]
        return f"{title}:\n\n" + md_table(g.reset_index().rename(columns={"index": "tariff \\ AI load"}), fmt)

    shows = what_it_shows(grids, paired, runs)
    study.numbers["_summary"] = shows
    question = (
        "Pakistan's 2,000 MW allocation is for bitcoin mining and AI data centres. When AI bids for the same "
        "megawatts at a higher willingness to pay, how much mining survives, at what tariff, and what does it "
        "mean for Pakistan's share of network hashrate and for the state's revenue?")
    body = ["## Design", "",
            f"AI load ({AI}: {', '.join(f'{int(v):,}' for v in sorted(runs[AI].unique()))} MW; announced June 2025, "
            "drawing power a year later, $150/MWh, phase 2 of the scenario off) x mining tariff "
            f"({TARIFF}: {', '.join(f'${v:g}' for v in sorted(runs[TARIFF].unique()))}/kWh; ~$0.08 proposed), "
            "on the baseline price path (the 2025 history, then a random continuation). Replicate r has the same "
            "seed, hence the same price path, at every point, so the effect of AI is a paired difference at each "
            f"tariff. Window of the means and sums: {window} (after the AI build-out).", "",
            "## What it shows", "", " ".join(shows), "",
            "## Grids (replicate means)", ""]
    for name in GRIDS:
        body += [grid_md(name), ""]
    body += ["![heatmaps](ai_demand_heatmaps.png)", "", "![mining MW by AI load](mining_mw_by_ai_load.png)", "",
             "![MW over time](mw_over_time.png)", "",
             "## Crowd-out: with AI minus without AI (same tariff, same replicate)", "",
             "Mean paired difference over replicates with a 95% t interval; `MW lost per AI MW` is minus the change "
             "in mining MW over the AI load. Where no replicate mines with or without AI, the difference is 0.", "",
             md_table(table), "",
             "## Revenue", "",
             "**Power sales.** The state's revenue from the allocation is computed by the study, not the model: mean "
             "MW served to mining and to AI over the window x 8,760 h x the allocation's tariff. That every buyer "
             "under the allocation pays the allocation tariff is an assumption: the model has no price that AI pays "
             "(its $150/MWh is the bid that puts it first in the merit order, not a tariff). `numbers.json` keeps "
             "the AI part apart (`power_sales_ai_usd_m`) so another price for AI can be applied.", "",
             "**Tax.** The project's data have no tax rate for bitcoin mining in Pakistan, so this study gives no tax "
             "figure: a tax estimate needs a rate the data do not have. The miners' revenue grid above is the base "
             "such a tax would be levied on (revenue, not profit: power costs are not subtracted).", "",
             "The generic analysis of the sweep (distributions, replicate noise, pooled fan charts) is in "
             "[sweep/analysis/report.md](sweep/analysis/report.md).", ""]
    study.write_report("Pakistan's 2,000 MW under growing AI demand", question, body,
                       f"{study.specs['sweep'].households:,} household agents (the minimum): households do not "
                       "enter mining decisions, so the layer is kept as small as the scenario allows.")
    return study


def with_revenue(runs: pd.DataFrame, years: float) -> pd.DataFrame:
    """The runs with their yearly power sales (USD m: MW x h x USD/kWh x 1,000 kWh/MWh / 1e6) and miner revenue."""
    runs = runs.copy()
    usd_m_per_mw_year = HOURS_PER_YEAR * runs[TARIFF] * 1000.0 / 1e6
    runs["power_sales_ai_usd_m"] = runs["pak_ai_mw_mean"] * usd_m_per_mw_year
    runs["power_sales_usd_m"] = (runs["pak_mw_mean"] + runs["pak_ai_mw_mean"]) * usd_m_per_mw_year
    runs["miner_revenue_usd_m"] = runs["pak_miner_revenue"] / years / 1e6
    return runs


def crowd_out(runs: pd.DataFrame) -> tuple[dict, pd.DataFrame]:
    """Paired differences, with AI minus without, per tariff and AI load; and their report table."""
    paired, rows = {}, []
    for tariff, g in runs.groupby(TARIFF):
        wide = {col: g.pivot(index="replicate", columns=AI, values=col) for col in PAIRED}
        for ai in sorted(a for a in g[AI].unique() if a > 0):
            r = {col: paired_ci(w[ai].to_numpy(), w[0].to_numpy()) for col, w in wide.items()}
            paired.setdefault(f"{tariff:g}", {})[f"{int(ai)}"] = r
            row = {"tariff": f"${tariff:g}", "AI MW": f"{int(ai):,}",
                   "mining MW without AI": f"{r['pak_mw_mean']['mean_off']:,.0f}",
                   "MW lost per AI MW": f"{(0.0 - r['pak_mw_mean']['diff']) / ai:.2f}"}
            for col, (head, scale, fmt) in PAIRED.items():
                c = r[col]
                row[f"change in {head}"] = (f"{c['diff'] * scale:{fmt}} "
                                            f"[{c['ci_low'] * scale:{fmt}}, {c['ci_high'] * scale:{fmt}}]")
            row["pairs"] = r["pak_mw_mean"]["n"]
            rows.append(row)
    return paired, pd.DataFrame(rows)


def what_it_shows(grids: dict[str, pd.DataFrame], paired: dict, runs: pd.DataFrame) -> list[str]:
    """The plain-language findings, every number from the run."""
    mw, share, sales, base = (grids[k] for k in ("pak_mw_mean", "pak_share_end", "power_sales_usd_m",
                                                 "miner_revenue_usd_m"))
    low = mw.index.min()
    high = PROPOSED_TARIFF if PROPOSED_TARIFF in mw.index else mw.index.max()
    top = mw.columns.max()
    d_low, d_high = (paired[f"{t:g}"][f"{int(top)}"] for t in (low, high))
    network = runs["world_ehs_end"]

    def change(r: dict, unit: str = "MW") -> str:
        return f"{r['diff']:+,.0f} {unit} [{r['ci_low']:+,.0f}, {r['ci_high']:+,.0f}]"

    def highest(ai: float) -> str:
        """The highest tariff at which mining averages at least MIN_MW, with an AI load of ``ai``."""
        ok = mw.index[mw[ai] >= MIN_MW]
        return (f"up to ${ok.max():g}/kWh" if len(ok) else "at no tariff in the grid") + \
            (f" with {ai:,.0f} MW of AI" if ai else " without AI")

    return [
        f"Without AI, Pakistan's miners use on average {mw.at[low, 0]:,.0f} of the {ALLOCATION_MW:,.0f} MW at "
        f"${low:g}/kWh and {mw.at[high, 0]:,.0f} MW at ${high:g}/kWh. Mining averages at least {MIN_MW:,.0f} MW "
        + ", ".join(highest(ai) for ai in mw.columns) + ".",
        f"An AI load of {top:,.0f} MW is served {grids['pak_ai_mw_mean'].at[low, top]:,.0f} MW on average (the "
        "summer surplus can fall below the allocation and curtail it too) and changes mining by "
        f"{change(d_low['pak_mw_mean'])} at ${low:g} and by {change(d_high['pak_mw_mean'])} at ${high:g} (paired, "
        f"95% CI): {(0.0 - d_low['pak_mw_mean']['diff']) / top:.2f} and "
        f"{(0.0 - d_high['pak_mw_mean']['diff']) / top:.2f} MW of mining per MW of AI.",
        "Mining is crowded out before the data centres draw power, since miners plan only for the allocation "
        f"less the announced AI claim: at the end of May 2026, at ${low:g}, mining uses "
        f"{grids['pak_mw_before_ai'].at[low, 0]:,.0f} MW without AI and {grids['pak_mw_before_ai'].at[low, top]:,.0f} "
        f"MW with {top:,.0f} MW of AI announced.",
        f"Pakistan's share of network hashrate at the end of the run goes from {share.at[low, 0]:.2%} to "
        f"{share.at[low, top]:.2%} at ${low:g}, and from {share.at[high, 0]:.2%} to {share.at[high, top]:.2%} "
        f"at ${high:g}; the network it is a share of ends at {network.median():,.0f} EH/s (median over runs; "
        f"{network.min():,.0f}-{network.max():,.0f} across the price paths).",
        f"The state's power sales under the allocation (every buyer at the allocation tariff) change by "
        f"{change(d_high['power_sales_usd_m'], 'USD m/yr')} at ${high:g} ({sales.at[high, 0]:,.0f} to "
        f"{sales.at[high, top]:,.0f}) and by {change(d_low['power_sales_usd_m'], 'USD m/yr')} at ${low:g}; the "
        f"miners' revenue, the base of any mining tax, goes from {base.at[low, 0]:,.0f} to {base.at[low, top]:,.0f} "
        f"USD m/yr at ${low:g} and from {base.at[high, 0]:,.0f} to {base.at[high, top]:,.0f} at ${high:g}.",
    ]


def _heatmaps(study: Study, grids: dict[str, pd.DataFrame]) -> None:
    shown = {"pak_mw_mean": "mining MW (mean)", "pak_ai_mw_mean": "AI MW served (mean)",
             "pak_share_end": "PAK hashrate share at end, %", "power_sales_usd_m": "power sales, USD m/yr"}
    heatmaps(study, [(grids[k] * GRIDS[k][1], title, "viridis", GRIDS[k][2]) for k, title in shown.items()],
             "ai_demand_heatmaps.png", "AI load (MW)", "PAK mining tariff (USD/kWh)")


def _lines(study: Study, runs: pd.DataFrame) -> None:
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    for i, (tariff, g) in enumerate(runs.groupby(TARIFF)):
        s = g.groupby(AI)["pak_mw_mean"].agg(["mean", "std"])
        ax.errorbar(s.index, s["mean"], yerr=s["std"].fillna(0), marker="o", ms=3, capsize=2, color=f"C{i}",
                    label=f"${tariff:g}/kWh")
    loads = np.sort(runs[AI].unique())
    ax.plot(loads, ALLOCATION_MW - loads, color="grey", ls=":", label="allocation less AI load")
    ax.set(xlabel="AI load under the allocation (MW)", ylabel="mining MW, mean over window (+- sd)",
           title="Pakistan's mining by AI load, one line per mining tariff")
    ax.legend(fontsize=7)
    study.figure(fig, "mining_mw_by_ai_load.png")

