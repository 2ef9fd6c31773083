"""Section 4 of docs/VALIDATION.md: trading volume, model against data.

4a. Value received across countries: the fitted relation (``crypto-abm calibrate volume``,
    experiments/validation/volume_fit.py) per country-year, fitted and with the country left
    out; done-bound: 70% of country-years within 0.5-2x left out.
4b. India's exchanges 2021-2024 (experiments/validation/backtest_exchanges.py): every
    exchange figure in the data, each within 0.5-2x or its miss written down in ``MISSES``
    with the reason. The test suite fails if a figure outside ``MISSES`` misses, and if a
    figure in it is met (so the written misses stay true).
4c. The baseline's 2025 volumes (seed 0), by country: what the relation gives where there
    is no data to compare with.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.analysis.figures import save_figure
from experiments.validation.backtest_exchanges import RATIO_BOUND, ExchangeBacktest, exchange_backtest
from experiments.validation.volume_fit import BOUND_WITHIN_2X, PARAMETERS, T_SUPPORTED, VolumeFit, fit_volume, rmse_log
from model.model import build_model
from model.units import USD_PER_BN

# Why the model misses a figure: a reason per code, and the figures it misses (key: exchange,
# metric, period as in the data) with their codes.
REASONS = {
    "TDS": "before India's 1% TDS (July 2022) its domestic exchanges traded ~6x more per USD of value received "
           "(top-4 $14.8bn in Jan-May 2022, $2.6bn in Jan-May 2023); the exchange scale is the later regime",
    "shares": "the weights are the Jan-May 2023 shares; WazirX led in early 2022 and Bitbns took the lead "
              "during 2022 (the model has no rule for shares changing)",
    "level": "India's modelled value received is below the data (table below): the cross-country relation is "
             "0.40x India's 2022-23 figure (the exchange scale was set at the figure itself), and this scenario "
             "holds India's income at its 2015-2023 mean ($2,024, below the $2,357 of 2022-23, WDI)",
    "peak": "a peak month; the model has no within-year swings beyond the monthly price",
}
MISSES = {
    ("WazirX", "annual_trading_volume", "2021"): ("TDS", "shares"),
    ("WazirX", "annual_trading_volume", "2022"): ("TDS", "shares"),
    ("WazirX", "annual_trading_volume", "2023"): ("level",),
    ("WazirX", "avg_daily_volume", "2022-03 (peak)"): ("TDS", "shares", "peak"),
    ("CoinDCX", "avg_daily_volume", "2022-02 (peak)"): ("TDS", "peak"),
    ("WazirX", "avg_daily_volume", "2024-02"): ("level",),
    ("CoinDCX", "avg_daily_volume", "2024-02"): ("level",),
    ("WazirX", "share_of_top4_domestic_cex_volume", "early 2022"): ("shares",),
    ("Bitbns", "share_of_top4_domestic_cex_volume", "2022-06"): ("shares",),
    ("top-4 domestic", "cex_volume_top4_domestic_exchanges", "2022-01..2022-05"): ("TDS",),
    ("top-4 domestic", "cex_volume_top4_domestic_exchanges", "2023-01..2023-05"): ("level",),
}
BASELINE_YEAR = 2025


@dataclass
class VolumeReport:
    fit: VolumeFit
    exchanges: ExchangeBacktest
    baseline: pd.DataFrame    # country, value_received_usd, exchange_volume_usd, p2p_volume_usd, trading_volume_usd


def baseline_volumes(seed: int = 0, households: int = 20_000) -> pd.DataFrame:
    """The baseline's yearly volumes in BASELINE_YEAR by household country (seed ``seed``)."""
    m = build_model("south_asia_2025", seed=seed, households=households).run(until=dt.date(BASELINE_YEAR, 12, 31))
    ts = m.timeseries()
    metrics = ["value_received_usd", "exchange_volume_usd", "p2p_volume_usd", "trading_volume_usd"]
    ts = ts[(ts.step > 0) & ts.metric.isin(metrics) & (ts.country != "WORLD")]
    out = ts.pivot_table(index="country", columns="metric", values="value", aggfunc="sum", observed=True)
    return out[metrics].sort_values("value_received_usd", ascending=False).reset_index()


def volume_report(seeds: range = range(5), households: int | None = None) -> VolumeReport:
    return VolumeReport(fit_volume(), exchange_backtest(seeds, households), baseline_volumes())


def _key(p) -> tuple[str, str, str]:
    return (p.exchange, p.metric, p.period)


def check_volume(v: VolumeReport | None) -> list[str]:
    """The done-bound of the fit, and every exchange figure met unless its miss is written down
    (and a written miss that is now met, so the text is out of date)."""
    if v is None:
        return []
    out = []
    if v.fit.within_2x_loo < BOUND_WITHIN_2X:
        out.append(f"value received: {v.fit.within_2x_loo:.0%} of country-years within 0.5-2x left out "
                   f"< {BOUND_WITHIN_2X:.0%}")
    for p in v.exchanges.points.itertuples():
        written = _key(p) in MISSES
        if not p.met and not written:
            out.append(f"India {p.exchange} {p.metric} {p.period}: model {p.ratio:.2f}x the data, outside 0.5-2x")
        if p.met and written:
            out.append(f"India {p.exchange} {p.metric} {p.period} is met now ({p.ratio:.2f}x): remove it from MISSES")
    return out


# ===================================================================== figure and text
def figure_volume(v: VolumeReport, path: Path, plt) -> Path:
    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 5))
    r = v.fit.rows
    lo, hi = r.value_usd.min() / 3 / USD_PER_BN, r.value_usd.max() * 3 / USD_PER_BN
    line = np.array([lo, hi])
    a.fill_between(line, line / 2, line * 2, color="grey", alpha=0.15, label="within 0.5-2x")
    a.plot(line, line, color="grey", lw=0.8)
    a.scatter(r.value_usd / USD_PER_BN, r.fit_usd / USD_PER_BN, marker="o", color="C0", label="fitted")
    a.scatter(r.value_usd / USD_PER_BN, r.loo_usd / USD_PER_BN, marker="x", color="C1", label="country left out")
    for p in r.itertuples():
        a.annotate(f"{p.country} {str(p.start)[2:]}", (p.value_usd / USD_PER_BN, p.loo_usd / USD_PER_BN),
                   fontsize=7, xytext=(3, 3), textcoords="offset points")
    a.set(xscale="log", yscale="log", xlabel="data: Chainalysis value received, USD bn a year",
          ylabel="model, USD bn a year",
          title="Value received across countries (label: country, year the July-June window starts)")
    a.legend(fontsize=8)
    p = v.exchanges.points
    x = np.arange(len(p))
    b.axhspan(*RATIO_BOUND, color="grey", alpha=0.15, label="within 0.5-2x")
    colours = ["C2" if m else "C3" for m in p.met]
    b.scatter(x, p.ratio, c=colours, zorder=3)
    b.errorbar(x, p.ratio, yerr=[p.ratio * (1 - p.model_min / p.model), p.ratio * (p.model_max / p.model - 1)],
               fmt="none", ecolor="black", lw=0.8, capsize=2)
    b.axhline(1.0, color="grey", lw=0.8)
    labels = [f"{q.exchange} {q.metric.split('_')[0]} {q.period.split(' (')[0]}" + (" *" if q.input else "")
              for q in p.itertuples()]
    b.set_xticks(x, labels, rotation=70, fontsize=7, ha="right")
    b.set(yscale="log", ylabel="model / data", title="India's exchanges 2021-2024 (* an input of the model)")
    b.legend(fontsize=8)
    return save_figure(fig, path)


def _usd(x: float) -> str:
    if x == 0:
        return "0"
    return f"${x / USD_PER_BN:,.1f}bn" if x >= 1e8 else f"${x / 1e6:,.1f}M"


def _figure_value(p, x: float) -> str:
    if p.metric.startswith("share"):
        return f"{100 * x:.1f}%"
    return _usd(x) + ("/day" if p.metric == "avg_daily_volume" else "")


def markdown_volume(v: VolumeReport, figure_link: str) -> list[str]:
    f, e, se = v.fit, v.exchanges, v.fit.se
    ref = f.reference
    label = {"population": "ln population (the population elasticity minus 1)", "inflation": "ln(1 + inflation)",
             "stance": "stance (0-4)"}
    cand = "; ".join(f"{label.get(n, n)} {b:+.2f} (s.e. {s:.2f})" for n, (b, s) in f.candidates.items())
    lines = [
        "## 4. Trading volume",
        "",
        "Three outputs, three meanings (README, \"Which volume answers which question\"):",
        "`value_received_usd` is on-chain value received in Chainalysis' sense, fitted across",
        "countries; `exchange_volume_usd` is centralised spot trading on licensed exchanges,",
        "a share of it scaled by India's exchange totals; `p2p_volume_usd` is the trading",
        "left where no licensed exchange serves a market; `trading_volume_usd` is the sum of",
        "the last two.",
        "",
        f"![value received and India's exchanges, model against data]({figure_link})",
        "",
        "### 4a. Value received across countries (`crypto-abm calibrate volume`)",
        "",
        "ln(value received / population) = a + gamma ln(GDP per capita / y_ref) + eps ln(BTC price / P_ref),",
        f"over {len(f.rows)} country-years of {f.rows.country.nunique()} countries (Chainalysis, July-June",
        "windows; WDI covariates; Ukraine has no WDI row in `data/` and is left out). Chainalysis",
        "reports countries only in the years they lead their region, so the year of a row goes",
        "with which countries made the list; the price elasticity is therefore taken within",
        f"countries and regions only ({f.stage1['rows']} windows of {', '.join(f.stage1['groups'])};",
        "North Africa and Sub-Saharan Africa held out), the level and the income scaling between",
        "countries given it; the covariance carries the first stage's uncertainty into the second.",
        f"Tested and not supported (|t| < {T_SUPPORTED:g}), so left out: {cand}.",
        "",
        "| parameter | estimate | s.e. |",
        "|---|---:|---:|",
        f"| value received per adopter, USD a year (at ${ref['gdp_pc_usd']:,.0f} GDP per capita, "
        f"${ref['btc_price_usd']:,.0f}/BTC) | {np.exp(f.values[PARAMETERS[0]]):,.0f} | "
        f"{se[PARAMETERS[0]]:.2f} (log) |",
        f"| income elasticity | {f.values[PARAMETERS[1]]:.2f} | {se[PARAMETERS[1]]:.2f} |",
        f"| price elasticity | {f.values[PARAMETERS[2]]:.2f} | {se[PARAMETERS[2]]:.2f} |",
        "",
        f"Per adopter: the level per person over {ref['ownership_share']:.1%}, the geometric mean of the",
        "fitted countries' measured ownership (Triple-A 2023: India, Pakistan, USA; the others have",
        "none in the data): the model's value received follows its own adopters.",
        "",
        "| country | window | data | fitted | ratio | country left out | ratio | note |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    lines += [f"| {r.country} | {r.start}-07..{r.start + 1}-06 | {_usd(r.value_usd)} | {_usd(r.fit_usd)} | "
              f"{r.fit_ratio:.2f} | {_usd(r.loo_usd)} | {r.loo_ratio:.2f} | {r.note} |" for r in f.rows.itertuples()]
    lines += [
        "",
        f"Within 0.5-2x: {f.within_2x_fit:.0%} fitted, **{f.within_2x_loo:.0%} with the country left out** "
        f"(bound {BOUND_WITHIN_2X:.0%}); log-RMSE {rmse_log(f.rows.fit_ratio):.2f} fitted, "
        f"{rmse_log(f.rows.loo_ratio):.2f} left out. The misses: Mexico 2019-20 and Pakistan 2019-20",
        "(a lower bound, \"in excess of $1.5bn\") are far below any relation that fits the later years;",
        "Turkey 2021-22 and India 2022-23 are above it. Three parameters from 14 rows: the relation",
        "says how value received scales, not why Turkey or India stand out.",
        "",
        "### 4b. India's exchanges 2021-2024 (`experiments/scenarios/backtest_india_exchanges_2021.toml`)",
        "",
        "The household calibration's world (section 3) with India's four domestic exchanges and the",
        "offshore ones, weighted by the Jan-May 2023 shares and the ~40% offshore share; exchange",
        "volume = India's modelled value received x the exchange scale x the exchange's share. Every",
        f"exchange figure in the data from 2021 on ({e.seeds} seeds; *input*: a figure the model's inputs",
        "come from, not an independent test). Bound: 0.5-2x; each miss is written down with its reason.",
        "",
        "| exchange | figure | period | data | model | range | ratio | met | input | why it misses (below) |",
        "|---|---|---|---:|---:|---|---:|---|---|---|",
    ]
    for p in e.points.itertuples():
        data = _figure_value(p, p.low) + (f"-{_figure_value(p, p.high)}" if p.high != p.low else "")
        lines.append(f"| {p.exchange} | {p.metric} | {p.period} | {data} | {_figure_value(p, p.model)} | "
                     f"{_figure_value(p, p.model_min)}-{_figure_value(p, p.model_max)} | {p.ratio:.2f} | "
                     f"{'yes' if p.met else '**no**'} | {p.input} | {', '.join(MISSES.get(_key(p), ()))} |")
    independent = e.points[e.points.input == ""]
    lines += [""] + [f"- *{code}*: {text}." for code, text in REASONS.items()]
    lines += [
        "",
        "India's modelled value received over the Chainalysis windows of the run (all three are",
        "rows of the fit in 4a):",
        "",
        "| window | data | model | ratio |",
        "|---|---:|---:|---:|",
    ]
    lines += [f"| {r.period} | {_usd(r.data)} | {_usd(r.model)} | {r.ratio:.2f} |"
              for r in e.value_received.itertuples()]
    late = e.points[[("level",) == MISSES.get(_key(p)) for p in e.points.itertuples()]].ratio
    lines += [
        "",
        f"Met: {int(independent.met.sum())} of {len(independent)} independent figures. How far to trust the",
        f"exchange level: the order of magnitude after mid-2022 (the model is {late.min():.2f}-{late.max():.2f}x the",
        "data there, as India's modelled value received is), not the years before India's 1% TDS,",
        "nor the split among India's exchanges, which is fixed at the 2023 shares. The P2P share where",
        "no licensed exchange serves a market (`volume.p2p_factor` 0.5) is an assumption with a",
        "range of 0.2-1.0: the data have no P2P share for a market without exchanges.",
        "",
        f"### 4c. The baseline's {BASELINE_YEAR} volumes (seed 0, 20,000 households)",
        "",
        "| country | value received | exchange | P2P | trading (exchange + P2P) |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += [f"| {r.country} | {_usd(r.value_received_usd)} | {_usd(r.exchange_volume_usd)} | "
              f"{_usd(r.p2p_volume_usd)} | {_usd(r.trading_volume_usd)} |"
              for r in v.baseline.itertuples() if r.value_received_usd > 0]
    lines += [""]
    return lines
