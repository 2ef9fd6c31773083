"""``crypto-abm validate``: the backtests, model against data, written to docs/VALIDATION.md.

1. Network hashrate 2019-2025 under the real price path with the dated bans (China's
   included): log error over the data points in the fit window (2019-2024) and the test
   window (2025), the months 2021-05..2022-01 held out; the dip and recovery after the
   April 2024 halving.
2. El Salvador's legal-tender episode: the share of people using bitcoin for a purchase
   2021-2024, the wallet bonus fitted to 2021-2022 and tested on 2023-2024
   (experiments/validation/backtest_adoption.py).
3. Cross-country adoption: the calibrated household rule against measured ownership, its
   leave-one-country-out error (from ``crypto-abm calibrate households``) and the rank
   correlation with the Chainalysis index.
4. Trading volume: the baseline's modelled 2025 volume for Pakistan and India against
   Chainalysis' on-chain value received (order of magnitude).

The bounds below are what the test suite holds the model to (``tests/experiments/test_validation.py``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd

from experiments.validation import country_shares, halvings
from experiments.validation.backtest import (
    FIT_UNTIL,
    HALVING,
    HELD_OUT,
    compare,
    halving_dip,
    network_series,
    run_backtest,
)
from experiments.validation.backtest_adoption import (
    SLV_FIT_YEARS,
    SLV_TEST_YEARS,
    AdoptionReport,
    ElSalvadorReport,
    adoption_backtest,
    el_salvador_backtest,
)
from model.model import build_model
from model.scenario import load_scenario, output_root

matplotlib.use("Agg")  # files only, no display; before pyplot is imported
import matplotlib.pyplot as plt  # noqa: E402

# The report and its figures: the checkout's docs/, or ./docs/ in an installed copy (model.scenario.output_root).
DOC = output_root() / "docs" / "VALIDATION.md"
FIGURE = DOC.parent / "figures" / "validation_hashrate.png"
FIGURE_SLV = DOC.parent / "figures" / "validation_el_salvador.png"
FIGURE_ADOPTION = DOC.parent / "figures" / "validation_adoption.png"
FIGURE_SHARES = DOC.parent / "figures" / "validation_country_shares.png"

# Bounds a backtest must stay within (checked by the tests): log-RMSE, halving dip.
BOUNDS = {"rmse_log_fit": 0.30, "rmse_log_test": 0.30, "dip_min": -0.40, "dip_max": -0.01,
          "volume_ratio_low": 0.1, "volume_ratio_high": 10.0,
          # El Salvador (logit RMSE of the yearly share; the model's 2024 share over its 2021 share)
          "slv_rmse_logit_fit": 0.30, "slv_rmse_logit_test": 0.90, "slv_decay_max": 0.75,
          # cross-country ownership (logit RMSE, each country alike)
          "adoption_rmse_logit_fit": 0.60, "adoption_rmse_logit_loo": 1.00}
#: Issue 14: the network fit no worse than before the country-share work (log-RMSE, fit and test windows).
NETWORK_BEFORE_ISSUE_14 = {"fit": 0.163, "test": 0.111}
# Chainalysis value received (USD per year), data/crypto_activity.csv.
VALUE_RECEIVED = {"IND": (250e9, "2022-07..2023-06, Chainalysis 2023 (approximate)"),
                  "PAK": (20e9, "2020-07..2021-06, Chainalysis 2021 (approximate)")}


@dataclass
class Report:
    hashrate: object          # HashrateFit of seed 0
    band: pd.DataFrame        # date x seed network hashrate
    dip: dict
    volumes: pd.DataFrame     # country, model_usd, data_usd, ratio, data_period
    el_salvador: ElSalvadorReport | None = None
    adoption: AdoptionReport | None = None
    shares: country_shares.ShareReport | None = None
    halvings: tuple[pd.DataFrame, dict] | None = None  # halvings.table_rows(), halvings.flat_2028()


def hashrate_backtest(seeds: range = range(5)) -> tuple[object, pd.DataFrame, dict]:
    series = {seed: network_series(run_backtest(seed=seed)) for seed in seeds}
    band = pd.DataFrame(series)
    return compare(series[seeds[0]]), band, halving_dip(series[seeds[0]])


def volume_backtest(seed: int = 0, households: int = 20_000) -> pd.DataFrame:
    """Modelled 2025 trading volume against value received on chain."""
    m = build_model("south_asia_2025", seed=seed, households=households).run(until=dt.date(2025, 12, 31))
    ts = m.timeseries()
    rows = []
    for code, (value, period) in VALUE_RECEIVED.items():
        v = ts[(ts.country == code) & (ts.metric == "trading_volume_usd") & (ts.step > 0)]
        model_usd = float(v.value.sum())
        rows.append({"country": code, "model_usd": model_usd, "data_usd": value, "ratio": model_usd / value,
                     "data_period": period})
    return pd.DataFrame(rows)


def run(seeds: range = range(5)) -> Report:
    fit, band, dip = hashrate_backtest(seeds)
    return Report(fit, band, dip, volume_backtest(), el_salvador_backtest(seeds), adoption_backtest(seeds),
                  country_shares.run(), (halvings.table_rows(), halvings.flat_2028()))


def check(report: Report) -> list[str]:
    """The bounds a report breaks (empty when it passes)."""
    b, out = BOUNDS, []
    if report.hashrate.rmse_log_fit > b["rmse_log_fit"]:
        out.append(f"hashrate fit-window log-RMSE {report.hashrate.rmse_log_fit:.3f} > {b['rmse_log_fit']}")
    if report.hashrate.rmse_log_test > b["rmse_log_test"]:
        out.append(f"hashrate test-window log-RMSE {report.hashrate.rmse_log_test:.3f} > {b['rmse_log_test']}")
    if not b["dip_min"] <= report.dip["dip"] <= b["dip_max"]:
        out.append(f"2024 halving dip {report.dip['dip']:+.1%} outside [{b['dip_min']:+.0%}, {b['dip_max']:+.0%}]")
    for r in report.volumes.itertuples():
        if not b["volume_ratio_low"] <= r.ratio <= b["volume_ratio_high"]:
            out.append(f"{r.country} volume {r.ratio:.2f}x the data, outside 0.1x-10x")
    out += check_el_salvador(report.el_salvador) + check_adoption(report.adoption)
    return out


def check_el_salvador(slv: ElSalvadorReport | None) -> list[str]:
    """Rise and decay: the modelled share peaks in 2021 and falls by 2024; errors in bounds."""
    if slv is None:
        return []
    b, e, out = BOUNDS, slv.errors, []
    if e["rmse_logit_fit"] > b["slv_rmse_logit_fit"]:
        out.append(f"El Salvador fit-years logit RMSE {e['rmse_logit_fit']:.3f} > {b['slv_rmse_logit_fit']}")
    if e["rmse_logit_test"] > b["slv_rmse_logit_test"]:
        out.append(f"El Salvador test-years logit RMSE {e['rmse_logit_test']:.3f} > {b['slv_rmse_logit_test']}")
    if e["peak_year"] != 2021:
        out.append(f"El Salvador's modelled usage peaks in {e['peak_year']}, not 2021")
    if e["decay_2021_2024"] > b["slv_decay_max"]:
        out.append(f"El Salvador's modelled usage 2024/2021 = {e['decay_2021_2024']:.2f} > {b['slv_decay_max']} "
                   "(no decay)")
    return out


def check_adoption(adoption: AdoptionReport | None) -> list[str]:
    if adoption is None:
        return []
    b, out = BOUNDS, []
    if adoption.rmse_logit_fit > b["adoption_rmse_logit_fit"]:
        out.append(f"ownership logit RMSE {adoption.rmse_logit_fit:.3f} > {b['adoption_rmse_logit_fit']}")
    if not adoption.rmse_logit_loo <= b["adoption_rmse_logit_loo"]:  # NaN (no table) fails too
        out.append(f"ownership leave-one-country-out logit RMSE {adoption.rmse_logit_loo:.3f} > "
                   f"{b['adoption_rmse_logit_loo']}")
    return out


def _pyplot(path: Path):
    """matplotlib's pyplot without a display, with the figure's folder made."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return plt


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def figure(report: Report, path: Path = FIGURE) -> Path:
    plt = _pyplot(path)
    band = report.band
    x = pd.to_datetime(pd.Series(band.index))
    fig, ax = plt.subplots(figsize=(10, 5))
    ax.fill_between(x, band.min(axis=1), band.max(axis=1), alpha=0.3, label=f"model, {band.shape[1]} seeds (range)")
    ax.plot(x, band.median(axis=1), lw=1.2, label="model, median")
    pts = report.hashrate.points
    for window, marker in (("fit", "o"), ("test", "s")):
        p = pts[pts.window == window]
        ax.scatter(pd.to_datetime(p.date), p.hashrate_ehs, marker=marker, color="black", s=18, zorder=3,
                   label=f"data, {window} window")
    ax.axvspan(pd.Timestamp(HELD_OUT[0]), pd.Timestamp(HELD_OUT[1]), color="grey", alpha=0.15, label="held out")
    ax.axvline(pd.Timestamp(HALVING), color="grey", ls=":", lw=1)
    ax.set(yscale="log", ylabel="network hashrate, EH/s", title="Backtest: network hashrate 2019-2025")
    ax.legend(fontsize=8)
    return _save(fig, path)


def figure_el_salvador(slv: ElSalvadorReport, path: Path = FIGURE_SLV) -> Path:
    plt = _pyplot(path)
    band = slv.band[slv.band.index >= dt.date(2019, 1, 1)]
    x = pd.to_datetime(pd.Series(band.index))
    fig, ax = plt.subplots(figsize=(10, 4.5))
    ax.fill_between(x, 100 * band.min(axis=1), 100 * band.max(axis=1), alpha=0.3,
                    label=f"model, share adopting each week, {band.shape[1]} seeds (range)")
    u = slv.usage
    mid = pd.to_datetime([dt.date(y, 12, 1) for y in u.year])  # the surveys ask at the end of each year
    ax.errorbar(mid, 100 * u.model, yerr=[100 * (u.model - u.model_min), 100 * (u.model_max - u.model)], fmt="s",
                color="C0", capsize=3, label="model, share adopting at some time in the year")
    ax.scatter(mid, 100 * u.data, marker="o", color="black", zorder=3,
               label="data: used bitcoin for a purchase in the year (UCA-IUDOP)")
    ax.plot(mid, 100 * slv.no_bonus.model, ls="--", color="grey", label="model without the bonus (seed mean)")
    ax.axvline(pd.Timestamp(2021, 9, 7), color="grey", ls=":", lw=1)
    ax.axvline(pd.Timestamp(2025, 1, 29), color="grey", ls=":", lw=1)
    ax.set(ylabel="% of people", title="Backtest: El Salvador's legal-tender episode")
    ax.legend(fontsize=8, loc="upper left")
    return _save(fig, path)


def figure_adoption(adoption: AdoptionReport, path: Path = FIGURE_ADOPTION) -> Path:
    plt = _pyplot(path)
    pts = adoption.points
    labels = [f"{r.country} {str(r.date)[:7]}" for r in pts.itertuples()]
    x = range(len(pts))
    fig, ax = plt.subplots(figsize=(10, 4.5))
    ax.bar([i - 0.27 for i in x], 100 * pts.share, width=0.27, color="black", label="data (Triple-A)")
    ax.bar(x, 100 * pts.model, width=0.27, color="C0",
           yerr=[100 * (pts.model - pts.model_min), 100 * (pts.model_max - pts.model)], capsize=2,
           label=f"model, fitted ({adoption.seeds} seeds: mean, range)")
    ax.bar([i + 0.27 for i in x], 100 * pts.loo_model, width=0.27, color="C1",
           label="model, country left out of the fit")
    ax.set_xticks(list(x), labels, rotation=30, fontsize=8)
    ax.set(ylabel="% of people owning crypto", title="Backtest: cross-country ownership")
    ax.legend(fontsize=8)
    return _save(fig, path)


def markdown_el_salvador(slv: ElSalvadorReport) -> list[str]:
    cfg = load_scenario("backtest_el_salvador_2021").config
    shock, online = cfg.shocks["slv_chivo_bonus"], sorted(cfg.countries["SLV"].internet_path.items())
    e, u = slv.errors, slv.usage
    seeds = slv.band.shape[1]
    lines = [
        "## 2. El Salvador's legal-tender episode (`experiments/scenarios/backtest_el_salvador_2021.toml`)",
        "",
        "Households follow the rule fitted across countries (section 3) from the same 0.1% seed",
        f"on 2015-01-01, online as the ITU figures grow ({online[0][1]:.0f}% in {online[0][0]}, "
        f"{online[-1][1]:.0f}% in {online[-1][0]}).",
        "The Bitcoin Law of 2021-09-07 is a stance change to legal tender; the",
        "$30 Chivo bonus is an `adoption_incentive` shock: a share of the online households not",
        f"yet adopting adopt at once ({shock.share:.1%}), abandon at their own rate "
        f"({shock.abandonment_per_year:.2f} per year, a mean stay of {12 / shock.abandonment_per_year:.0f} months),",
        "and once they stop do not take bitcoin up again (`readoption_factor = 0`, an assumption:",
        "almost no new adopters after the launch, Alvarez, Argente & Van Patten 2023). The",
        f"share and the rate are fitted to {SLV_FIT_YEARS[0]}-{SLV_FIT_YEARS[-1]} "
        f"(`crypto-abm calibrate households`) and tested on {SLV_TEST_YEARS[0]}-{SLV_TEST_YEARS[-1]}. The survey",
        "asks whether people used bitcoin for a purchase in the year, so the model's figure is the",
        "share of people who were adopters at some time in that calendar year.",
        "",
        f"![El Salvador, model against data]({FIGURE_SLV.relative_to(DOC.parent).as_posix()})",
        "",
        f"| year | data | model ({seeds} seeds, mean) | range | share adopting at year end | without the bonus "
        "| window | logit error |",
        "|---|---:|---:|---|---:|---:|---|---:|",
    ]
    for r, nb in zip(u.itertuples(), slv.no_bonus.itertuples()):
        lines.append(f"| {r.year} | {r.data:.1%} | {r.model:.1%} | {r.model_min:.1%}-{r.model_max:.1%} | "
                     f"{r.model_point:.1%} | {nb.model:.1%} | {r.window} | {r.logit_error:+.2f} |")
    lines += [
        "",
        f"Logit RMSE: fit years {e['rmse_logit_fit']:.3f} (bound {BOUNDS['slv_rmse_logit_fit']}), test years "
        f"{e['rmse_logit_test']:.3f} (bound {BOUNDS['slv_rmse_logit_test']}); mean absolute error "
        f"{e['mape']:.0%}. The modelled share peaks in {e['peak_year']} and its 2024 value is "
        f"{e['decay_2021_2024']:.2f} times its 2021 value (data: {u.data.iloc[-1] / u.data.iloc[0]:.2f}; bounds: "
        f"peak in 2021, ratio at most {BOUNDS['slv_decay_max']}).",
        "",
        "Without the bonus the same rule gives a rising curve; the bonus gives the rise and",
        "the decay. The model's decay stops too early: by 2024 the households who never took",
        "the bonus keep adopting at the cross-country rule's pace, so the modelled share stays",
        "above the survey's 8.1%. The rule knows nothing of what turned Salvadorans away (the",
        "wallet's problems, distrust after the episode) beyond the bonus takers themselves.",
        "",
    ]
    return lines


def markdown_adoption(a: AdoptionReport) -> list[str]:
    p = a.points
    lines = [
        "## 3. Cross-country adoption (`experiments/scenarios/calibration_adoption.toml`)",
        "",
        "Every country with a measured ownership share (Triple-A) and its covariates in `data/`",
        "(PAK, IND, IRN, CHN, USA, ARE) starts from the same 0.1% seed on 2015-01-01 and runs to",
        "mid-2024 under the historical BTC price, the dated stance changes of the policy",
        "timeline and each country's yearly share of people online (ITU via World Bank WDI,",
        "`internet_path`: households come online as it grows); BGD, NPL and AFG run along for",
        "the rank check. The household rule (innovation,",
        "imitation and abandonment rates; weights of inflation, remittances, income and internet)",
        "is fitted to the ownership figures by `crypto-abm calibrate households`",
        "(`experiments/validation/calibrate_households.py`: an emulator search over model runs with a weak",
        "prior; each country weighs alike). *Left out*: the country's share when the rule is",
        "fitted without it (from `experiments/calibration/households_fit.csv`, the last",
        "calibration). Errors are on the logit scale (a 10% relative error weighs about alike",
        "at 5% and at 30% ownership).",
        "",
        f"![ownership, model against data]({FIGURE_ADOPTION.relative_to(DOC.parent).as_posix()})",
        "",
        f"| country | compared at | data | model ({a.seeds} seeds, mean) | range | logit error | left out "
        "| logit error |",
        "|---|---|---:|---:|---|---:|---:|---:|",
    ]
    lines += [f"| {r.country} | {r.date} | {r.share:.1%} | {r.model:.1%} | {r.model_min:.1%}-{r.model_max:.1%} | "
              f"{r.logit_error:+.2f} | {r.loo_model:.1%} | {r.loo_logit_error:+.2f} |" for r in p.itertuples()]
    lines += [
        "",
        f"Logit RMSE over countries: fitted {a.rmse_logit_fit:.3f} (bound {BOUNDS['adoption_rmse_logit_fit']}), "
        f"leave-one-country-out {a.rmse_logit_loo:.3f} (bound {BOUNDS['adoption_rmse_logit_loo']}); with the "
        f"values assumed before calibration {a.rmse_logit_prior:.3f}.",
        "",
        "**Rank correlation with the Chainalysis Global Crypto Adoption Index** (a check, not",
        "fitted): Spearman correlation between the modelled share in June of an index year and",
        "the index rank that year (sign flipped, so +1 means the same order), over the modelled",
        "countries ranked that year:",
        "",
        "| index year | countries (rank) | n | Spearman |",
        "|---|---|---:|---:|",
    ]
    lines += [f"| {r.year} | {r.countries} | {r.n} | {r.spearman:+.2f} |" for r in a.ranks.itertuples()]
    d = a.data_rank
    lines += [
        "",
        f"For reference, the measured ownership (Triple-A 2023) against the 2024 index ranks "
        f"({d['countries']}): {d['spearman']:+.2f}. The index weighs activity by population and",
        "purchasing power and counts on-chain and exchange use, not owners, so even the data",
        "disagree in order; with three to six countries a year the correlations are weak evidence.",
        "",
    ]
    ratio = (p.loo_model / p.share).groupby(p.country).mean()
    ratio = np.exp(np.abs(np.log(ratio)))
    near = list(ratio[ratio <= 1.5].index)
    close = " and ".join([", ".join(near[:-1]), near[-1]] if len(near) > 1 else near)
    worst = ratio.idxmax()
    verdict = ("better than" if a.rmse_logit_loo < a.rmse_logit_prior - 0.05 else
               "no better than" if a.rmse_logit_loo > a.rmse_logit_prior + 0.05 else "about as well as")
    lines += [
        "How far to trust it: the leave-one-country-out error is the honest one. Six countries",
        "cannot pin down seven parameters, so the fit leans on its prior. The fitted rule",
        "reproduces the six countries better than the assumed values did, but predicts a country",
        f"it has not seen {verdict} they did: left out, {close or 'no country'} "
        f"{'are' if len(near) > 1 else 'is'} predicted within 50%, {worst} only within a "
        f"factor of {ratio.max():.1f}. The UAE's high ownership is not explained by any covariate in the data.",
        "",
    ]
    return lines


def markdown(report: Report) -> str:
    h, d = report.hashrate, report.dip
    before = NETWORK_BEFORE_ISSUE_14
    verdict = lambda value, bound: "holds" if value <= bound else "**misses**"  # noqa: E731

    pts = h.points.assign(date=lambda p: p.date.astype(str))
    lines = [
        "# Validation: how far to trust the model",
        "",
        "Written by `crypto-abm validate` (do not edit by hand). The test suite holds the model",
        "to the bounds stated here (`tests/experiments/test_validation.py`).",
        "",
        "## 1. Network hashrate 2019-2025 (`experiments/scenarios/backtest_hashrate_2019.toml`)",
        "",
        "Driven by the monthly BTC price (Bitstamp), the halvings of 2020 and 2024, and the",
        "dated bans of the policy timeline (China's 2021 mining ban, Iran's summer bans), from",
        "the CBECI 2019-20 fleets by country. The miners' response (each country's capacity to add MW,",
        "hurdle margin, underground reinvestment; the lead time profiled over its prior) is fitted on",
        "2019-2024 with the country shares (`crypto-abm calibrate mining`, each year weighted",
        f"alike) and tested on 2025. Points from {HELD_OUT[0]:%Y-%m} to "
        f"{HELD_OUT[1] - dt.timedelta(days=1):%Y-%m} are held out of every error and fit.",
        "",
        f"![model band against data]({FIGURE.relative_to(DOC.parent).as_posix()})",
        "",
        "| window | points | log-RMSE | mean abs. % error | bound (log-RMSE) |",
        "|---|---:|---:|---:|---:|",
        f"| fit (before {FIT_UNTIL}) | {int((h.points.window == 'fit').sum())} | {h.rmse_log_fit:.3f} | "
        f"{h.mape_fit:.1%} | {BOUNDS['rmse_log_fit']} |",
        f"| test ({FIT_UNTIL.year}) | {int((h.points.window == 'test').sum())} | {h.rmse_log_test:.3f} | "
        f"{h.mape_test:.1%} | {BOUNDS['rmse_log_test']} |",
        "",
        "Issue 14 asks that the network fit be no worse than before the country shares were fitted "
        f"(log-RMSE {before['fit']} fit, {before['test']} test): fit {h.rmse_log_fit:.3f} "
        f"({verdict(h.rmse_log_fit, before['fit'])}), test {h.rmse_log_test:.3f} "
        f"({verdict(h.rmse_log_test, before['test'])}). "
        "Orders are now judged on a new machine's return over its price at today's BTC price; they",
        "under-invest in 2024-25, when miners deployed on expectations the model does not have.",
        "",
        "Point by point (seed 0; data metrics differ: monthly means, 7-day averages, daily",
        "records; trackers differ by up to ~10%):",
        "",
        "| date | data EH/s | model EH/s | log error | window | data metric |",
        "|---|---:|---:|---:|---|---|",
    ]
    lines += [f"| {r.date} | {r.hashrate_ehs:g} | {r.model_ehs:.1f} | {r.log_error:+.2f} | {r.window} | {r.metric} |"
              for r in pts.itertuples()]
    weeks = "not within six months" if d["weeks_to_new_high"] is None else f"after {d['weeks_to_new_high']:.0f} weeks"
    lines += [
        "",
        "**The April 2024 halving.** Data: the 7-day average fell about 10% over 2.5 months",
        "and made a new high within six months. Model (seed 0, weekly): from "
        f"{d['pre_halving_ehs']:.0f} EH/s in the week before the halving to a low of "
        f"{d['trough_ehs']:.0f} EH/s within 2.5 months ({d['dip']:+.1%}); above the pre-halving "
        f"level {weeks}. Bound: between {BOUNDS['dip_min']:+.0%} and {BOUNDS['dip_max']:+.0%}.",
        "",
        "Machines switch off when the hashprice no longer covers their cash operating cost (power",
        "over its 80% share of cash costs, CCAF 2025), so the halving pushes the older vintages",
        "off, but the model's dip is shallower than the data's and its recovery slower. What we",
        "measured (seed 0, 2026-11-21): the depth depends on two assumed parameters that the",
        "level fit cannot identify, the switching speed (`switch_share_per_week` 0.6 instead of",
        "0.3 gave -6.5%) and the spread of sites' tariffs (`cost_spread` 0.4 instead of 0.25 gave",
        "-4.7%); we left them assumed rather than fit two parameters to one dip. The recovery",
        "needs machines ordered at post-halving hashprices: the model orders on a new machine's",
        "return over its price at the hashprice expected on arrival (the halving and the pipeline",
        "counted, the BTC price as today), which the post-halving hashprice barely clears, while",
        "real miners kept deploying (737 EH/s by October 2024), on price expectations the model",
        "does not have (the fitted hurdle sits at its lower bound for the same reason). Fees follow",
        "the monthly data (`data/fees.csv`), the halving month's spike included. The bound guards",
        "against drift; treat the model's short-run response to a halving as weak evidence.",
        "",
    ]
    if report.shares is not None:
        lines += country_shares.markdown(report.shares, FIGURE_SHARES.relative_to(DOC.parent).as_posix())
    if report.halvings is not None:
        lines += halvings.markdown(*report.halvings)
    if report.el_salvador is not None:
        lines += markdown_el_salvador(report.el_salvador)
    if report.adoption is not None:
        lines += markdown_adoption(report.adoption)
    lines += [
        "## 4. Trading volume (baseline, 2025)",
        "",
        "Modelled yearly trading volume against the on-chain value received reported by",
        "Chainalysis (`data/crypto_activity.csv`). These are different measures (on-chain value",
        "received includes transfers that are not trades; exchange volumes reported for India",
        "were $2.6bn over Jan-May 2023 for the top four domestic exchanges alone), the",
        "Chainalysis figures are read from charts and approximate, and the years differ, so",
        "only the order of magnitude is checked (bound: 0.1x to 10x).",
        "",
        "| country | model 2025, USD | data, USD per year | data period | ratio |",
        "|---|---:|---:|---|---:|",
    ]
    lines += [f"| {r.country} | {r.model_usd / 1e9:.1f} bn | {r.data_usd / 1e9:.0f} bn | {r.data_period} "
               f"| {r.ratio:.2f} |"
              for r in report.volumes.itertuples()]
    lines += [
        "",
        "## Known gaps",
        "",
        "- Households: adoption does not respond to the BTC price (only trading volume does).",
        "  Internet access follows the yearly ITU figures in the 2015-start backtests but is",
        "  held at the last figure in the data after it (2020 for India and Afghanistan, 2022",
        "  or 2023 for the others), which understates access late in the calibration runs",
        "  where use kept growing.",
        "- Ownership figures come from one source (Triple-A, model-based estimates); Saudi",
        "  Arabia's are left out (no covariates in the data), El Salvador's are usage after a",
        "  policy shock (section 2).",
        "",
    ]
    return "\n".join(lines)


def main(seeds: int = 5) -> int:
    report = run(range(seeds))
    figure(report)
    figure_el_salvador(report.el_salvador)
    figure_adoption(report.adoption)
    country_shares.figure(report.shares, FIGURE_SHARES, _pyplot(FIGURE_SHARES))
    DOC.write_text(markdown(report))
    h, d = report.hashrate, report.dip
    print(f"hashrate 2019-2025: log-RMSE fit {h.rmse_log_fit:.3f}, test {h.rmse_log_test:.3f} "
          f"(bounds {BOUNDS['rmse_log_fit']}, {BOUNDS['rmse_log_test']}); "
          f"MAPE fit {h.mape_fit:.1%}, test {h.mape_test:.1%}")
    print(f"2024 halving: {d['pre_halving_ehs']:.0f} -> {d['trough_ehs']:.0f} EH/s ({d['dip']:+.1%}); "
          "new high " + ("none in 6 months" if d["weeks_to_new_high"] is None
                          else f"after {d['weeks_to_new_high']:.0f} weeks"))
    for r in report.volumes.itertuples():
        print(f"{r.country} volume 2025: model ${r.model_usd / 1e9:.1f}bn vs data ${r.data_usd / 1e9:.0f}bn "
              f"({r.data_period}): {r.ratio:.2f}x")
    slv = report.el_salvador
    print("El Salvador, share using bitcoin in the year: " + ", ".join(
        f"{r.year} model {r.model:.1%} vs data {r.data:.1%}" for r in slv.usage.itertuples()))
    print(f"  logit RMSE fit years {slv.errors['rmse_logit_fit']:.3f}, test years {slv.errors['rmse_logit_test']:.3f} "
          f"(bounds {BOUNDS['slv_rmse_logit_fit']}, {BOUNDS['slv_rmse_logit_test']})")
    a = report.adoption
    print(f"ownership across countries: logit RMSE fitted {a.rmse_logit_fit:.3f}, leave-one-country-out "
          f"{a.rmse_logit_loo:.3f} (bounds {BOUNDS['adoption_rmse_logit_fit']}, {BOUNDS['adoption_rmse_logit_loo']})")
    print("  rank correlation with Chainalysis: " + ", ".join(
        f"{r.year} {r.spearman:+.2f} (n={r.n})" for r in a.ranks.itertuples()))
    pts = report.shares.points
    print(f"country shares: RMSE fit {country_shares.rmse(pts, 'fit'):.1f} points, "
          f"test (2025) {country_shares.rmse(pts, 'test'):.1f} points")
    for miss in country_shares.misses(report.shares):
        print(f"misses issue 14's bound: {miss}")
    rows, flat = report.halvings
    for r in rows.itertuples():
        print(f"halving {r.halving}: dip model {r.model_dip:+.1%} vs data {r.data_dip:+.1%}; recovery model "
              f"{r.model_weeks} vs data {r.data_weeks:.0f} weeks")
    print(f"2028 halving, flat price: dip {flat['dip']:+.1%}, recovery {flat['weeks_to_new_high']} weeks")
    problems = check(report)
    for p in problems:
        print(f"OUT OF BOUNDS: {p}")
    print(f"wrote {DOC}, {FIGURE}, {FIGURE_SHARES}, {FIGURE_SLV} and {FIGURE_ADOPTION}")
    return 1 if problems else 0

