"""Study 3, tariff_price: Pakistan's hashrate and MW filled over mining tariff x BTC price.

A grid of the tariff of Pakistan's 2,000 MW allocation (``shocks.pak_allocation.
tariff_usd_per_kwh``) against the BTC price level. The price is held constant over the
whole run at each level (``market.price.kind = "constant"``, ``market.price.initial_usd``):
the question is "what if BTC stayed at $X", and a constant price answers it without the
noise of a random path (62% a year volatility would blur the grid; scaling the historical
path would need a price shock that the scenario does not have as a parameter). Difficulty
and hashprice still respond, since the rest of the world's miners grow or idle with the
price, and the April 2028 halving still halves the subsidy; so each cell also has "before
the halving" (end of 2027) and "end of 2030" figures.

    crypto-abm study tariff_price [--quick]          python -m experiments study tariff_price [--quick]
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd

from experiments.analysis.report import md_table
from experiments.studies.common import PAK_ALLOCATION_MW as ALLOCATION_MW
from experiments.studies.common import PAK_TARIFF as TARIFF
from experiments.studies.common import Study, heatmaps, study_dir

matplotlib.use("Agg")  # files only, no display; before pyplot is imported
import matplotlib.pyplot as plt  # noqa: E402

NAME = "tariff_price"
SPEC = "study_tariff_price.toml"
PRICE = "market.price.initial_usd"
QUICK = {"replicates": 2, ("parameters", TARIFF, "values"): [0.04, 0.08],
         ("parameters", PRICE, "values"): [60000, 120000]}


def run(quick: bool = False, out=None, workers: int | None = None, progress: bool = True) -> Study:
    study = Study(NAME, quick, study_dir(NAME, quick, out), workers=workers, progress=progress)
    study.sweep(study.write_spec(SPEC, QUICK if quick else None))
    a = study.analyze()
    p = a.points

    grids = {}
    for name in ("pak_mw_peak", "pak_mw_2027", "pak_mw_2030", "pak_ehs_2030", "pak_share_2030", "pak_fills_half"):
        grids[name] = p.pivot(index=TARIFF, columns=PRICE, values=name).sort_index(ascending=False)
    study.numbers["grids"] = {k: {f"{t:g}": {f"{int(c)}": v for c, v in row.items()} for t, row in g.iterrows()}
                              for k, g in grids.items()}
    # the highest tariff at which Pakistan fills half its allocation (mean peak >= 1,000 MW), per price
    thresholds = []
    for price in sorted(p[PRICE].unique()):
        col = grids["pak_mw_peak"][price]
        ok = col[col >= ALLOCATION_MW / 2]
        any_mw = col[col > 1.0]
        thresholds.append({"BTC price (USD)": int(price),
                           "highest tariff filling >= 1,000 MW": f"{ok.index.max():g}" if len(ok) else "none",
                           "highest tariff with any mining (> 1 MW)": f"{any_mw.index.max():g}" if len(any_mw)
                           else "none",
                           "peak MW at $0.08": float(col.get(0.08, np.nan))})
    thr = pd.DataFrame(thresholds)
    study.numbers["thresholds"] = thresholds
    _heatmaps(study, grids)
    _lines(study, p)

    def grid_md(name: str, scale: float = 1.0, fmt: str = ".0f") -> str:
        g = grids[name] * scale
        g.index = [f"${t:g}/kWh" for t in g.index]
        g.columns = [f"${int(c) // 1000}k" for c in g.columns]
        return md_table(g.reset_index().rename(columns={"index": "tariff \\ BTC price"}), fmt)

    summary = [f"${r['BTC price (USD)']:,}: fills >= 1,000 MW up to tariff {r['highest tariff filling >= 1,000 MW']}, "
               f"mines at all up to {r['highest tariff with any mining (> 1 MW)']}" for r in thresholds]
    study.numbers["_summary"] = summary
    question = (
        "How much of its 2,000 MW allocation does Pakistan fill, and with how much hashrate, as a function of the "
        "tariff it charges miners and the BTC price?")
    body = ["## Result", "",
            "Replicate means per cell. Peak MW used by Pakistan's miners over 2025-2030:", "", grid_md("pak_mw_peak"),
            "", "MW in use at the end of 2027 (before the April 2028 halving):", "", grid_md("pak_mw_2027"), "",
            "MW in use at the end of 2030:", "", grid_md("pak_mw_2030"), "",
            "Pakistan's hashrate at the end of 2030, EH/s:", "", grid_md("pak_ehs_2030", 1.0, ".1f"), "",
            "Share of replicates in which Pakistan fills at least half the allocation (1,000 MW) at some point:", "",
            grid_md("pak_fills_half", 1.0, ".2f"), "",
            "Thresholds (from the replicate means):", "", md_table(thr, ".0f"), "",
            "![heatmaps](tariff_price_heatmaps.png)", "", "![peak MW by tariff](peak_mw_by_tariff.png)", "",
            "The PRIM box of `pak_fills_half` over tariff x price, the fan chart of Pakistan's MW and the replicate "
            "noise are in [sweep/analysis/report.md](sweep/analysis/report.md).", "",
            "**Price as a constant.** Each cell holds BTC at one price for the whole run (2025-2030), replacing the "
            "2025 history and its random continuation; the response of the rest of the network (difficulty, "
            "hashprice) stays endogenous. Cells are therefore comparative statics of the price *level*; the "
            "baseline's price path (history, then 62%/year volatility) gives a spread around them (see the "
            "pak_package study for Pakistan's mining under the baseline path).", ""]
    study.write_report("Pakistan's mining over tariff x BTC price", question, body,
                       f"{study.specs['sweep'].households:,} household agents (the minimum): households do not "
                       "enter mining decisions, so the layer is kept as small as the scenario allows.")
    return study


def _heatmaps(study: Study, grids: dict[str, pd.DataFrame]) -> None:
    shown = [("pak_mw_peak", "peak MW (of 2,000 allocated)", "viridis", ".0f"),
             ("pak_mw_2030", "MW at end of 2030", "viridis", ".0f"),
             ("pak_ehs_2030", "EH/s at end of 2030", "magma", ".0f"),
             ("pak_fills_half", "P(fills >= 1,000 MW)", "Blues", ".2f")]
    heatmaps(study, [(grids[k], title, cmap, fmt) for k, title, cmap, fmt in shown], "tariff_price_heatmaps.png",
             "BTC price (USD, constant)", "PAK tariff (USD/kWh)", xtick="{:,.0f}")


def _lines(study: Study, p: pd.DataFrame) -> None:
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    for i, (price, g) in enumerate(p.groupby(PRICE)):
        g = g.sort_values(TARIFF)
        sd = g["pak_mw_peak__sd"].fillna(0).to_numpy()
        ax.errorbar(g[TARIFF], g["pak_mw_peak"], yerr=sd, marker="o", ms=3, capsize=2, color=f"C{i}",
                    label=f"${int(price):,}")
    ax.axhline(ALLOCATION_MW, color="grey", ls=":", label="allocation (2,000 MW)")
    ax.axvline(0.08, color="grey", ls="--", lw=0.8, label="proposed tariff ~$0.08")
    ax.set(xlabel="PAK mining tariff (USD/kWh)", ylabel="peak MW in use (mean +- sd over replicates)",
           title="Pakistan's peak mining load by tariff, one line per constant BTC price")
    ax.legend(fontsize=7, ncol=2)
    study.figure(fig, "peak_mw_by_tariff.png")

