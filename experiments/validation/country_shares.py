"""Where the hashrate goes: the 2019 backtest's country shares against the data, and the
baseline's shares under a flat price (issue 14's bounds; ``crypto-abm validate`` section 1b).

The shares are compared point by point (:func:`~experiments.validation.backtest.share_points`):
the data before 2025 are in the fit (``crypto-abm calibrate mining``), 2025's are the test.
Randomness in the backtest (where relocating machines go) is summarised by the median of
``SEEDS`` seeds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.analysis.figures import save_figure
from experiments.validation.backtest import (
    BASELINE,
    FIT_DRAWS,
    HELD_OUT,
    SCENARIO,
    FlatRun,
    compare_shares,
    flat_price_draw_runs,
    flat_price_run,
    run_backtest,
    share_points,
)
from model.scenario import load_scenario

SEEDS = range(20)
#: Issue 14's bounds on the backtest's median shares: within ``pp`` points or a ``factor``.
SHARE_BOUNDS = {
    "2025Q2": {"USA": ("pp", 5.0), "RUS": ("pp", 5.0), "CHN": ("pp", 5.0), "KAZ": ("factor", 2.0),
               "CAN": ("factor", 2.0)},
    "2023-11": {"USA": ("pp", 8.0), "CHN+RUS": ("pp", 8.0)},
}
FLAT_MOVE_MAX_PP = 15.0  # no share moves more than this in five years of the flat-price baseline
#: Dated shocks that may move a country's share (a ban, a moratorium, an allocation, a power shock, AI demand).
SHARE_SHOCKS = ("mining_ban", "mining_moratorium", "energy_allocation", "power_emergency", "ai_demand",
                "stance_change")


@dataclass
class ShareReport:
    points: pd.DataFrame   # the data points with the model's median over seeds (model_pct), min, max
    shares: pd.DataFrame   # date x country: median share (%) over seeds
    flat: pd.DataFrame     # baseline, flat price: country, start_pct, end_pct, move_pp, shocked
    flat_draws: pd.DataFrame | None = None  # the same over the fits' draws: draw, country, move_pp (largest)


def period(p) -> str:
    """The bound a point answers to: ``2025Q2``, ``2023-11`` or ``""``."""
    if pd.Timestamp("2025-04-01") <= p.start <= pd.Timestamp("2025-06-30"):
        return "2025Q2"
    return f"{p.start:%Y-%m}" if f"{p.start:%Y-%m}" in SHARE_BOUNDS else ""


def backtest_shares(seeds: range = SEEDS) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every share point with the model's median, min and max over ``seeds``; the median
    share of each country over time (percent)."""
    runs, series = [], []
    for seed in seeds:
        model = run_backtest(seed=seed)
        runs.append(compare_shares(model, share_points(list(model.countries)))["model_pct"].to_numpy())
        ts = model.timeseries()
        series.append(ts[ts.metric == "hashrate_share"].pivot(index="date", columns="country", values="value"))
    points = share_points(list(model.countries))
    values = np.vstack(runs)
    points = points.assign(model_pct=np.median(values, axis=0), model_min=values.min(axis=0),
                           model_max=values.max(axis=0))
    points = points.assign(error_pp=points.model_pct - points.share_pct)
    shares = 100.0 * pd.concat(series).groupby(level=0).median()
    return points.assign(bound=[period(p) for p in points.itertuples()]), shares


#: China's miss against the fit's own uncertainty: a profile of the underground reinvestment
#: factor (2026-12-04, seed 0; lead 12 weeks, 60 evaluations from the optimum, the rest refitted).
CHINA_PROFILE = (
    "**China's share and the fit's uncertainty** (made on the fit before the machines the market buys). "
    "After its 2021 ban the fit sees China in one point, the "
    "2023-11 China+Russia total, so how fast its underground fleet reinvests "
    "(`underground_investment_factor`, 0.098, standard error 0.15) is barely informed. A profile (the "
    "factor held, everything else refitted; seed 0): at 0.20 the in-sample weighted cost is 31.47 against "
    "30.99 at the optimum, about 0.4 in units of the residual variance, inside the factor's 68% interval, "
    "and China's 2025 share would be 12.5% (Russia's 13.7%, the shares' test error 2.2 points, the "
    "network's 0.121); at 0.35 the cost rises to 34.55 and China's share overshoots to 18.4%. So the "
    "point fit's 6.9% is one end of what the data allow, and the ensembles, which draw this factor from "
    "the fit's covariance (section 6), hold the 2025 points in their 90% bands. The test's 2025 points "
    "were looked at to make this profile, so no value along it is chosen: the fitted 0.098 stays. "
    "Since the refit with the machines the market buys (section 1c, kept 2026-12-04) the factor is "
    "fitted at 0.153 (standard error 0.15) and China's 2025 share is 9.3% and 9.5% (20 seeds), "
    "within its bound."
)


def moves(run: FlatRun) -> pd.DataFrame:
    """Each country's share at the start and after :data:`~experiments.validation.backtest.FLAT_YEARS`
    years of a flat-price run, whether a dated shock that may move it (:data:`SHARE_SHOCKS`) is in
    force for it, and the MW a year it could add in the base year as the run read it (a draw's
    where the fit is drawn; 0 if none, :meth:`~model.config.MiningConfig.capacity_of`)."""
    w, config = run.shares, run.config
    shocked = {s.country for s in config.shocks.values() if s.enabled and s.kind in SHARE_SHOCKS}
    rows = [{"country": c, "start_pct": 100 * w[c].iloc[0], "end_pct": 100 * w[c].iloc[-1],
             "move_pp": 100 * (w[c].iloc[-1] - w[c].iloc[0]), "shocked": c in shocked,
             "capacity_mw_per_year": config.mining.capacity_of(c)}
            for c in w.columns if c != "WORLD"]
    return pd.DataFrame(rows)


def flat_price_baseline(seed: int = 0, households: int = 1800, overrides: dict | None = None) -> pd.DataFrame:
    """The baseline under a flat price (the history to 2025-12, then constant, volatility
    0), with ``overrides``: its countries' :func:`moves`."""
    return moves(flat_price_run(seed, households, overrides))


def flat_price_draws(draws: int = FIT_DRAWS) -> pd.DataFrame:
    """The flat-price baseline over ``draws`` draws of the fits
    (:func:`~experiments.validation.backtest.flat_price_draw_runs`, the runs the 2028 dip reads
    too): in each, the country with no dated shock whose share moves most in five years (draw,
    country, move_pp) and its drawn MW a year over the fitted (``capacity_ratio``)."""
    fitted = load_scenario(BASELINE).config.mining.capacity_of
    rows = []
    for seed, run in enumerate(flat_price_draw_runs(draws)):
        free = moves(run).query("not shocked")
        top = free.loc[free.move_pp.abs().idxmax()]
        rows.append({"draw": seed, "country": top.country, "move_pp": float(top.move_pp),
                     "capacity_ratio": top.capacity_mw_per_year / fitted(top.country)})
    return pd.DataFrame(rows)


def run(seeds: range = SEEDS) -> ShareReport:
    points, shares = backtest_shares(seeds)
    return ShareReport(points, shares, flat_price_baseline(), flat_price_draws())


def bound_checks(points: pd.DataFrame) -> pd.DataFrame:
    """The points issue 14 bounds, each with its bound (``kind`` "pp" or "factor", ``limit``)
    and whether the model's median meets it (``holds``)."""
    rows = []
    for p in points[points.bound != ""].itertuples():
        kind, limit = SHARE_BOUNDS[p.bound].get(p.country, (None, None))
        if kind is None:
            continue
        holds = (abs(p.model_pct - p.share_pct) <= limit if kind == "pp"
                 else 1 / limit <= p.model_pct / p.share_pct <= limit)
        rows.append({"country": p.country, "bound": p.bound, "start": p.start, "share_pct": p.share_pct,
                     "model_pct": p.model_pct, "kind": kind, "limit": limit, "holds": bool(holds)})
    return pd.DataFrame(rows, columns=["country", "bound", "start", "share_pct", "model_pct", "kind", "limit",
                                       "holds"])


def largest_unshocked_move(flat: pd.DataFrame):
    """The flat-price baseline's country without a dated shock that moves most (a row of
    ``flat``), or None when every country has one."""
    free = flat[~flat.shocked.astype(bool)]
    return None if free.empty else free.loc[free.move_pp.abs().idxmax()]


def misses(report: ShareReport) -> list[str]:
    """The issue's bounds the report misses (empty when all hold)."""
    out = []
    for p in bound_checks(report.points).itertuples():
        if p.holds:
            continue
        against = (f"{p.model_pct - p.share_pct:+.1f} points (bound {p.limit:g})" if p.kind == "pp" else
                   f"{p.model_pct / p.share_pct:.2f}x (bound a factor of {p.limit:g})")
        out.append(f"{p.country} {p.bound} ({p.start:%Y-%m-%d}): model {p.model_pct:.1f}% vs data "
                   f"{p.share_pct:.1f}%, {against}")
    for r in report.flat.itertuples():
        if not r.shocked and abs(r.move_pp) > FLAT_MOVE_MAX_PP:
            out.append(f"baseline, flat price: {r.country} moves {r.move_pp:+.1f} points in five years "
                       f"(bound {FLAT_MOVE_MAX_PP:g}, no dated shock for it)")
    return out


def draws_text(draws: pd.DataFrame) -> str:
    """The flat-price moves over the fits' draws (:func:`flat_price_draws`), in words."""
    over = draws[draws.move_pp.abs() > FLAT_MOVE_MAX_PP]
    top = draws.loc[draws.move_pp.abs().idxmax()]
    often = over.country.value_counts()
    return (f"**Over the fits' draws.** The bound reads the baseline at the fitted values, as above. Over {len(draws)} "
            "draws of the fitted terms (the mining fit's and the nowcast's, as the ensembles draw them; seeds "
            f"0-{len(draws) - 1}) the largest five-year move of a country with no dated shock has a median of "
            f"{draws.move_pp.abs().median():.1f} points, and {len(over)} of the {len(draws)} draws move one by more "
            f"than {FLAT_MOVE_MAX_PP:g}" + (" (" + ", ".join(f"{c} in {n}" for c, n in often.items()) + ")"
                                            if len(over) else "")
            + f"; the largest, {top.country} {top.move_pp:+.1f} points (draw {top.draw}, its MW a year drawn at "
            f"{top.capacity_ratio:.2f} times the fitted). "
            + (f"In the draws past the bound the country that moves has its MW a year drawn at a median of "
               f"{over.capacity_ratio.median():.2f} times the fitted: the fit leaves the capacities uncertain "
               "enough that, drawn, one fleet outgrows the others under a flat price, and the ensembles' "
               "country shares carry that spread." if len(over) else ""))


def rmse(points: pd.DataFrame, window: str) -> float:
    e = points.loc[points.window == window, "error_pp"].to_numpy()
    return float(np.sqrt(np.mean(e**2))) if e.size else float("nan")


def figure(report: ShareReport, path: Path, plt) -> Path:
    """Median modelled shares over time (lines) against the data points (markers)."""
    fig, ax = plt.subplots(figsize=(10, 5))
    shares = report.shares
    x = pd.to_datetime(pd.Series(shares.index))
    for i, c in enumerate([c for c in shares.columns if c != "WORLD"]):
        colour = f"C{i}"
        ax.plot(x, shares[c].to_numpy(), lw=1.2, color=colour, label=c)
        pts = report.points[report.points.country == c]
        for window, marker in (("fit", "o"), ("test", "s")):
            p = pts[pts.window == window]
            ax.scatter(p.start + (p.end - p.start) / 2, p.share_pct, marker=marker, color=colour,
                       edgecolor="black", s=28, zorder=3)
    ax.axvspan(pd.Timestamp(HELD_OUT[0]), pd.Timestamp(HELD_OUT[1]), color="grey", alpha=0.15, label="held out")
    ax.set(ylabel="% of network hashrate", title=f"Backtest: country shares, model median of {len(SEEDS)} seeds "
           "(lines) against data (o fit, s test)")
    ax.legend(fontsize=8, ncol=3)
    return save_figure(fig, path)


def markdown(report: ShareReport, figure_link: str) -> list[str]:
    p = report.points
    lines = [
        "### 1b. Where the hashrate goes: country shares",
        "",
        "The same backtest's share of each country in the network hashrate against the data",
        "(`data/mining_shares_2019_2020.csv`, `hashrate_by_country_extra.csv`,",
        "`hashrate_by_country_2024_2025.csv`; `experiments/validation/backtest.py: share_points`).",
        "New machines go to a country by its return and within the MW a year it can add",
        "(`mining.capacity_mw_per_year`, fitted with the network total by `crypto-abm calibrate mining`",
        "on the points before 2025, with standard errors in `experiments/calibration/mining.toml`);",
        "2025's points are the test. Kazakhstan's grid cut its miners off from 2022-01-24 (the",
        "backtest's `kaz_power_cut_2022`, KEGOC): a share of its fleet leaves",
        "(`emergency_relocate_share`, assumed) and the MW a year it can add are multiplied by",
        "`emergency_capacity_factor`, fitted with the rest (it lands on 0: no new capacity after",
        "the cut). Canada's hydro provinces stopped connecting new mining load from 2022-11-28",
        "(the backtest's `can_moratoria_2022`: Quebec, Manitoba and British Columbia, New Brunswick",
        "a year later; Alberta's grid not covered): while it holds the MW a year Canada can add are",
        "multiplied by `moratorium_capacity_factor`, fitted with the rest "
        f"({load_scenario(SCENARIO).config.mining.moratorium_capacity_factor:.2f}; what adding them changed: "
        "`docs/MINING_RECORD.md`). Model: the median of "
        f"{len(SEEDS)} seeds over each point's span (range in brackets).",
        "",
        f"![country shares, model against data]({figure_link})",
        "",
        "| span | country | data % | model % (median) | range | error, points | window | issue bound |",
        "|---|---|---:|---:|---|---:|---|---|",
    ]
    for r in p.sort_values("start").itertuples():
        span = f"{r.start:%Y-%m-%d}" + ("" if (r.end - r.start).days < 8 else f"..{r.end:%Y-%m-%d}")
        kind, limit = SHARE_BOUNDS.get(r.bound, {}).get(r.country, (None, None))
        bound = "" if kind is None else (f"+-{limit:g} points" if kind == "pp" else f"within {limit:g}x")
        lines.append(f"| {span} | {r.country} | {r.share_pct:.1f} | {r.model_pct:.1f} | "
                     f"{r.model_min:.1f}-{r.model_max:.1f} | {r.error_pp:+.1f} | {r.window} | {bound} |")
    lines += [
        "",
        f"RMSE over the points: fit {rmse(p, 'fit'):.1f} points, test (2025) {rmse(p, 'test'):.1f} points.",
        "",
        "**The baseline under a flat price** (the price history to 2025-12, then constant at",
        "its last month's mean; volatility 0), seed 0, the share after five years; the bound",
        "(issue 14): no country without a dated ban, allocation or power shock moves more than "
        f"{FLAT_MOVE_MAX_PP:g} points.",
        "",
        "| country | start % | after five years % | move, points | dated shock |",
        "|---|---:|---:|---:|---|",
    ]
    lines += [f"| {r.country} | {r.start_pct:.1f} | {r.end_pct:.1f} | {r.move_pp:+.1f} | "
              f"{'yes' if r.shocked else 'no'} |" for r in report.flat.itertuples()]
    if report.flat_draws is not None:
        lines += ["", draws_text(report.flat_draws)]
    lines += ["", CHINA_PROFILE]
    missed = misses(report)
    lines += ["", "Misses of the issue's bounds (the tests keep the bounds and mark these as expected "
              "failures): " + ("none." if not missed else ""), ""]
    lines += [f"- {m}" for m in missed] + ([""] if missed else [])
    return lines
