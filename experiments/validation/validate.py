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
4. Trading volume (experiments/validation/validate_volume.py): value received across
   countries, fitted and left out by country; India's exchanges 2021-2024 against every
   exchange figure in the data; the baseline's 2025 volumes.
5. Stance changes: the stance hazards fitted to the global panel (2013-2020 fit, 2021-2025
   test, leave-one-region-out) and the baseline's endogenous moves in South Asia against
   the fit's predictive interval (experiments/validation/policy_validation.py).
6. Ensembles of the backtests (hashrate 2019-2025, El Salvador): how many data points their
   90% and 50% bands hold, and how wide the bands are (experiments/validation/backtest_ensembles.py).

The bounds below are what the test suite holds the model to (``tests/experiments/test_validation.py``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd

from experiments.analysis.figures import save_figure
from experiments.provenance import atomic_write_bytes
from experiments.validation import (
    backtest_ensembles,
    country_shares,
    electricity,
    first_year,
    halvings,
    mining_checks,
)
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
from experiments.validation.markdown import table
from experiments.validation.mining_checks import NETWORK_BEFORE_ISSUE_14
from experiments.validation.policy_fit import MIN_GAIN, TEST_YEARS, TRAIN_YEARS, PolicyFit, calibrate
from experiments.validation.policy_validation import REGION, RegionCheck, region_check
from experiments.validation.policy_validation import figure as policy_figure
from experiments.validation.validate_volume import (
    VolumeReport,
    check_volume,
    figure_volume,
    markdown_volume,
    volume_report,
)
from model.scenario import load_scenario, output_root

matplotlib.use("Agg")  # files only, no display; before pyplot is imported
import matplotlib.pyplot as plt  # noqa: E402

# The report and its figures: the checkout's docs/, or ./docs/ in an installed copy (model.scenario.output_root).
DOC = output_root() / "docs" / "VALIDATION.md"
FIGURE = DOC.parent / "figures" / "validation_hashrate.png"
FIGURE_SLV = DOC.parent / "figures" / "validation_el_salvador.png"
FIGURE_ADOPTION = DOC.parent / "figures" / "validation_adoption.png"
FIGURE_POLICY = DOC.parent / "figures" / "validation_policy.png"
SCENARIO_BASELINE = "south_asia_2025"
FIGURE_VOLUME = DOC.parent / "figures" / "validation_volume.png"
FIGURE_SHARES = DOC.parent / "figures" / "validation_country_shares.png"
FIGURE_ENSEMBLES = DOC.parent / "figures" / "validation_ensembles.png"

# Bounds a backtest must stay within (checked by the tests): log-RMSE, halving dip.
BOUNDS = {"rmse_log_fit": 0.30, "rmse_log_test": 0.30, "dip_min": -0.40, "dip_max": -0.01,
          # El Salvador (logit RMSE of the yearly share; the model's 2024 share over its 2021 share)
          "slv_rmse_logit_fit": 0.30, "slv_rmse_logit_test": 0.90, "slv_decay_max": 0.75,
          # cross-country ownership (logit RMSE, each country alike)
          "adoption_rmse_logit_fit": 0.60, "adoption_rmse_logit_loo": 1.00,
          # stance changes: the fitted hazards' test-year log-likelihood per country-year minus the constant
          # hazards'; year-direction counts of the test years outside their 90% intervals (of 10, a 90%
          # interval misses 1 on average)
          "policy_test_gain_min": 0.0, "policy_interval_misses_max": 1}


@dataclass
class Report:
    hashrate: object          # HashrateFit of seed 0
    band: pd.DataFrame        # date x seed network hashrate
    dip: dict
    volume: VolumeReport | None = None
    el_salvador: ElSalvadorReport | None = None
    adoption: AdoptionReport | None = None
    policy: PolicyFit | None = None
    region: RegionCheck | None = None
    shares: country_shares.ShareReport | None = None
    # halvings.table_rows(), halvings.flat_2028(), halvings.switching_grid(), halvings.context()
    halvings: tuple[pd.DataFrame, dict, pd.DataFrame, dict] | None = None
    ensembles: backtest_ensembles.BacktestCoverage | None = None
    electricity: electricity.ElectricityReport | None = None
    first_year: first_year.FirstYear | None = None


def worst_test_point(h) -> str:
    """A sentence on how much of the test error its worst point holds (its metric named, and
    the data's note on it, where the data file gives one)."""
    test = h.points[h.points.window == "test"]
    worst = test.loc[test.log_error.abs().idxmax()]
    rest = test.drop(worst.name)
    note = f" The data's note on that point: \"{worst.note}\"." if worst.note else ""
    return (f"Of the test's squared log error, {worst.log_error ** 2 / (test.log_error ** 2).sum():.0%} is one point: "
            f"{worst.date} ({worst.metric}, {worst.hashrate_ehs:g} EH/s, model {worst.model_ehs:.0f}); "
            f"the other {len(rest)} lie within +-{rest.log_error.abs().max():.2f}.{note}")


def hashrate_backtest(seeds: range = range(5)) -> tuple[object, pd.DataFrame, dict]:
    series = {seed: network_series(run_backtest(seed=seed)) for seed in seeds}
    band = pd.DataFrame(series)
    return compare(series[seeds[0]]), band, halving_dip(series[seeds[0]])


def run(seeds: range = range(5)) -> Report:
    fit, band, dip = hashrate_backtest(seeds)
    return Report(fit, band, dip, volume_report(seeds), el_salvador_backtest(seeds), adoption_backtest(seeds),
                  calibrate(), region_check(range(max(len(seeds), 6))), country_shares.run(),
                  (halvings.table_rows(), halvings.flat_2028(), halvings.switching_grid(), halvings.context()),
                  backtest_ensembles.run(), electricity.run(), first_year.run(band[seeds[0]]))


def check(report: Report) -> list[str]:
    """The bounds a report breaks (empty when it passes)."""
    b, out = BOUNDS, []
    if report.hashrate.rmse_log_fit > b["rmse_log_fit"]:
        out.append(f"hashrate fit-window log-RMSE {report.hashrate.rmse_log_fit:.3f} > {b['rmse_log_fit']}")
    if report.hashrate.rmse_log_test > b["rmse_log_test"]:
        out.append(f"hashrate test-window log-RMSE {report.hashrate.rmse_log_test:.3f} > {b['rmse_log_test']}")
    if not b["dip_min"] <= report.dip["dip"] <= b["dip_max"]:
        out.append(f"2024 halving dip {report.dip['dip']:+.1%} outside [{b['dip_min']:+.0%}, {b['dip_max']:+.0%}]")
    out += check_volume(report.volume) + check_el_salvador(report.el_salvador) + check_adoption(report.adoption)
    if report.electricity is not None:
        out += electricity.misses(report.electricity)
    return out + check_policy(report.policy, report.region)


def check_policy(fit: PolicyFit | None, region: RegionCheck | None = None) -> list[str]:
    """Fitted beats constant hazards on the test years; the predictive intervals cover the
    observed counts (up to the misses a 90% interval allows); the baseline's region moves lie
    inside the fit's interval."""
    out = []
    if fit is not None:
        gain = fit.test.loglik - fit.test.loglik_constant
        if not gain > BOUNDS["policy_test_gain_min"]:
            out.append(f"stance hazards: test log-likelihood per country-year {fit.test.loglik:.3f} is not above "
                       f"constant hazards' {fit.test.loglik_constant:.3f}")
        c = fit.test.counts
        misses = c[(c.observed < c.low) | (c.observed > c.high)]
        if len(misses) > BOUNDS["policy_interval_misses_max"]:
            out.append(f"stance hazards: {len(misses)} test-year counts outside their 90% intervals "
                       f"(at most {BOUNDS['policy_interval_misses_max']})")
    if region is not None:
        for d in ("up", "down"):
            if not region.inside(d):
                out.append(f"baseline region moves {d} {region.observed[d]:.2f}/yr outside the fit's 90% interval "
                           f"{region.low[d]:.2f}-{region.high[d]:.2f}")
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
    return save_figure(fig, path)


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


def markdown_policy(fit: PolicyFit, region: RegionCheck | None) -> list[str]:
    t, rows = fit.test, fit.panel.rows
    lines = [
        "## 5. Stance changes: the hazards fitted to the global panel (`crypto-abm calibrate policy`)",
        "",
        f"{rows.iso3.nunique()} countries outside Africa (the panel's African countries are held back for an",
        f"independent test), {len(rows)} country-years {rows.year.min()}-{rows.year.max()}, "
        f"{int(rows[rows.at_risk_up].up.sum())} moves up and {int(rows[rows.at_risk_down].down.sum())} down",
        "(`data/policy_*.csv`). A complementary log-log event-history model by direction",
        "(`experiments/validation/policy_fit.py`; the form the model runs, `model/stance_hazard.py`).",
        "Terms are tried in stages (stance, neighbours' exposure, a neighbour's recent move,",
        f"covariates) and kept when the leave-one-region-out log-likelihood of {TRAIN_YEARS[0]}-{TRAIN_YEARS[1]}",
        f"gains at least {MIN_GAIN:g} nat; the test years {TEST_YEARS[0]}-{TEST_YEARS[1]} are not used to choose.",
        "Gains are against the model of the row before (log-likelihood summed over country-years):",
        "",
        "| direction | stage | term | leave-one-region-out gain (fit years) | test-year gain | kept |",
        "|---|---|---|---:|---:|---|",
    ]
    lines += [f"| {s.direction} | {s.stage} | {s.term} | {s.cv_gain:+.2f} | {s.test_gain:+.2f} | "
              f"{'yes' if s.kept else ''} |" for s in fit.steps]
    lines += ["", "Coefficients refitted on all years (the model's; standard errors from the Laplace",
              "approximation, the covariance is in `experiments/calibration/policy.toml`):", "",
              "| direction | term | coefficient | s.e. |", "|---|---|---:|---:|"]
    for h in (fit.up, fit.down):
        lines += [f"| {h.direction} | {n} | {v:+.3f} | {s:.3f} |" for n, v, s in zip(["intercept"] + h.terms, h.coef,
                                                                                     h.se())]
    misses = t.counts[(t.counts.observed < t.counts.low) | (t.counts.observed > t.counts.high)]
    lines += [
        "",
        f"**Test, fitted on {TRAIN_YEARS[0]}-{TRAIN_YEARS[1]}.** Log-likelihood per country-year: "
        f"{t.loglik:.3f} against {t.loglik_constant:.3f} for constant hazards fitted on the same years "
        f"(in sample, on the fit years: {t.loglik_train:.3f} against {t.loglik_train_constant:.3f}); bound: "
        "above the constant hazards.",
        "",
        f"![moves by year, observed and predicted]({FIGURE_POLICY.relative_to(DOC.parent).as_posix()})",
        "",
        "| year | direction | observed | expected | 90% interval |", "|---|---|---:|---:|---|",
    ]
    lines += [f"| {r.year} | {r.direction} | {r.observed} | {r.expected:.1f} | {r.low:.0f}-{r.high:.0f} |"
              for r in t.counts.itertuples()]
    lines += [
        "",
        f"{len(misses)} of {len(t.counts)} counts fall outside their interval (bound: at most "
        f"{BOUNDS['policy_interval_misses_max']}, what a 90% interval misses on average)"
        + (": " + ", ".join(f"{r.year} {r.direction} ({r.observed} observed, interval {r.low:.0f}-{r.high:.0f})"
                            for r in misses.itertuples()) if len(misses) else "") + ".",
    ]
    if ((misses.year == 2023) & (misses.direction == "up")).any():
        lines += ["The 2023 miss is a wave of registration regimes (Brazil, Chile, Georgia, Hong Kong, India,",
                  "Kazakhstan) that no country-level covariate predicts: a common shock (FATF's standards, MiCA)",
                  "the model has no term for."]
    lines += [
        "The predicted counts fall over the test years as more countries are regulated and stop being",
        "at risk of moving up.",
        "",
        "**Leave one region out** (fit on the other regions, all years; log-likelihood per country-year):",
        "",
    ]
    lines += table({"region": "l", "countries": "r", "moves up (expected)": "l", "moves down (expected)": "l",
                    "fitted": "r", "constant": "r"},
                   ([r.region, r.countries, f"{r.moves_up} ({r.expected_up:.1f})",
                     f"{r.moves_down} ({r.expected_down:.1f})", f"{r.loglik:.3f}", f"{r.loglik_constant:.3f}"]
                    for r in fit.loro.itertuples()))
    better = int((fit.loro.loglik > fit.loro.loglik_constant).sum())
    lines += [
        "",
        f"The fitted terms beat constant hazards in {better} of {len(fit.loro)} regions left out.",
        "",
        "**What the data say about spread.** No neighbour term survives: exposure to more liberal",
        "(or more restrictive) neighbours over land borders and remittance corridors, and a",
        "neighbour's move in the last two years, lose held-out likelihood. The share of people",
        "online is the strongest term (more online: more liberalisations, fewer retreats); larger",
        "countries liberalise more; regulated countries rarely retreat. So in the model Pakistan's",
        "2025 move does not raise its neighbours' hazards: that is the finding (the neighbour terms'",
        "gains in the table above).",
        "",
    ]
    if region is not None:
        lines += [
            f"**The model against the fit.** In the baseline (`{SCENARIO_BASELINE}`, 2025-2030, {region.seeds} seeds),",
            f"the region ({' '.join(REGION)}) makes {region.observed['up']:.2f} endogenous moves up and "
            f"{region.observed['down']:.2f} down a year (not made by a dated shock); the fit predicts "
            f"{region.low['up']:.2f}-{region.high['up']:.2f} up and {region.low['down']:.2f}-{region.high['down']:.2f} "
            "down (90% interval of one run's yearly mean, from the same countries' stances on 1 January, with",
            "coefficient uncertainty). The difference is what the model adds to the fit: dated signals (Sri",
            "Lanka's task force, the Maldives' financial centre, Pakistan's council) and illicit-finance",
            "incidents. History in the region (2017-2025) has about one change a year, two thirds restrictive.",
            "",
        ]
    return lines


def glance(report: Report) -> list[str]:
    """Issue 14's checks at a glance (:mod:`~experiments.validation.mining_checks`), when the
    report holds the shares and the halvings they read."""
    if report.shares is None or report.halvings is None:
        return []
    h = report.hashrate
    rows, flat = report.halvings[0], report.halvings[1]
    checks = mining_checks.rows({"fit": h.rmse_log_fit, "test": h.rmse_log_test}, report.shares, rows,
                                flat["dip"], halvings.data_dips())
    return mining_checks.markdown(checks)


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
        *glance(report),
        "## 1. Network hashrate 2019-2025 (`experiments/scenarios/backtest_hashrate_2019.toml`)",
        "",
        "Driven by the monthly BTC price (Bitstamp), the halvings of 2020 and 2024, and the",
        "dated bans of the policy timeline (China's 2021 mining ban, Iran's summer bans) and China's",
        "seasonal moves to and from Sichuan (2019-2021, section 1c), from",
        "the CBECI 2019-20 fleets by country. The miners' response (each country's capacity to add MW",
        "and its growth, hurdle margin, underground reinvestment, what a power emergency or a moratorium",
        "leaves of a country's capacity; the lead time profiled over its prior) is fitted on",
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
        "Orders are judged on a new machine's return over its price at today's BTC price, with",
        "no expectation of its path: the model misses the spring 2025 peak and overshoots autumn's.",
        "Price expectations, fitted, were dropped: the data could not tell them from a low hurdle",
        "(`docs/MINING_RECORD.md`, with everything else tried against issue 14's checks).",
        f"{worst_test_point(h)}"
        + ("" if report.first_year is None else
           f" Against the data's monthly means of 2025 (section 1e: daily values, "
           f"{len(report.first_year.backtest.months)} months), which the bound does not use, the backtest's 2025 "
           "log-RMSE is "
           f"{first_year.rmse(report.first_year.backtest.months):.3f}."),
        "",
        "Point by point (seed 0; data metrics differ: monthly means, 7-day averages, daily",
        "records; trackers differ by up to ~10%):",
        "",
        "| date | data EH/s | model EH/s | log error | window | data metric |",
        "|---|---:|---:|---:|---|---|",
    ]
    lines += [f"| {r.date} | {r.hashrate_ehs:g} | {r.model_ehs:.1f} | {r.log_error:+.2f} | {r.window} | {r.metric} |"
              for r in pts.itertuples()]
    weeks = ("not within six months" if d["weeks_to_new_high"] is None
             else f"after {halvings.weeks_with_unit(d['weeks_to_new_high'])}")
    lines += [
        "",
        "**The April 2024 halving.** Data: the 7-day average fell about 10% over 2.5 months",
        "and made a new high within six months. Model (seed 0, weekly): from "
        f"{d['pre_halving_ehs']:.0f} EH/s in the week before the halving to a low of "
        f"{d['trough_ehs']:.0f} EH/s within 2.5 months ({d['dip']:+.1%}); above the pre-halving "
        f"level {weeks}. Bound: between {BOUNDS['dip_min']:+.0%} and {BOUNDS['dip_max']:+.0%}.",
        "",
        "Machines switch off when the hashprice they earn no longer covers their power bill",
        "(staff, maintenance and the site are paid whether they run or not). Right after the halving the",
        "difficulty is still set for the hashrate before it, so the hashprice halves and the older",
        "vintages switch off; as the difficulty falls some come back. Miners switch on a hashprice",
        "part of the way from what the week earns to the clearing one (`switch_anticipation`,",
        "assumed), refill the sites whose machines will not pay at the hashprice expected on",
        "arrival, and buy the machines the market trades, a generation behind the flagship",
        "(section 1c): at half the hashprice most machines still beat their power bill, so the",
        "network dips little and soon grows again, as the data's did week to week (the data's",
        "lowest week adds block luck). New sites are ordered on a new machine's return over its price",
        "(its whole cash cost, power over its 80% share, CCAF 2025) at that expected hashprice",
        "(the clearing hashprice at the reward then, today's fleets and every pipeline's",
        "machines counted, the BTC price as today), on no price expectations (the fitted hurdle",
        "sits near its lower bound). Fees follow",
        "the monthly data (`data/fees.csv`), the halving month's spike included. The bound guards",
        "against drift; treat the model's short-run response to a halving as weak evidence.",
        "",
    ]
    if report.shares is not None:
        lines += country_shares.markdown(report.shares, FIGURE_SHARES.relative_to(DOC.parent).as_posix())
    if report.halvings is not None:
        lines += halvings.markdown(*report.halvings)
    if report.electricity is not None:
        lines += electricity.markdown(report.electricity)
    if report.first_year is not None:
        lines += first_year.markdown(report.first_year)
    if report.el_salvador is not None:
        lines += markdown_el_salvador(report.el_salvador)
    if report.adoption is not None:
        lines += markdown_adoption(report.adoption)
    if report.volume is not None:
        lines += markdown_volume(report.volume, FIGURE_VOLUME.relative_to(DOC.parent).as_posix())
    if report.policy is not None:
        lines += markdown_policy(report.policy, report.region)
    if report.ensembles is not None:
        lines += backtest_ensembles.markdown(report.ensembles, FIGURE_ENSEMBLES.relative_to(DOC.parent).as_posix())
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
        "- Volume: value received has no stance or access term (tested on 14 rows, not supported),",
        "  so a licensing move changes it only through adoption; exchange shares are fixed weights",
        "  (no rule moves them); there is no transaction tax (India's 1% TDS cut its domestic",
        "  exchanges' volume ~6x in 2022); the P2P share without exchanges is an assumption. The",
        "  Chainalysis figures are approximate, several are lower bounds, and countries appear only",
        "  in the years they led their region (section 4a).",
        "- Mining: the 2019 backtest starts with 20% of its fleet at the S17 Pro's 39.5 J/TH and orders",
        "  at that efficiency from January 2019, three months before the S17's release (2019-04, CBECI's",
        "  miners table); the 2016 run's rule (what was installed while each machine was the best on",
        "  sale, `mining.releases`) would make the January 2019 fleet almost all S9-class, whose power",
        "  bill at the backtest's one $0.05/kWh per country (about $130/PH/day) sits near the hashprice",
        "  of 2019-20; the real S9s ran on cheaper power (section 1c). Every country's sites spread by",
        "  +-25% around one tariff, so the baseline's machines sit in a narrow band of cost: a halving",
        "  under a flat price idles over 40% of the network (section 1c), while the backtest's 2016 and",
        "  2024 halvings dip less than the data's (whose lowest weeks carry block luck: measured from",
        "  the blocks and read as the data's file reads daily values, the model's dips put the data's",
        "  inside their 5-95% band); 2020's dip within its bound is China's seasonal move, dated with",
        "  that dip seen (section 1c).",
        "  New machines are priced at the flagships' price per W times their J/TH, so the generations",
        "  behind the flagship that the model buys cost 1.244 times the flagship's price per TH/s;",
        "  the one market snapshot in the data prices them at 0.719 times it. Correcting it cut a",
        "  machine's capital by 42%, barely moved the fit (the hurdle is on its bound) and made the",
        "  halvings' checks worse (section 1c), so it was not kept. The baseline reuses the backtest's",
        "  fitted miners on its own sourced inputs (country tariffs, the S21 XP), on which they order",
        "  faster: with the capacities as fitted its 2025 runs hot against the data (section 1e). The",
        "  projection carries a fitted nowcast instead (one scale on every country's MW a year), so its",
        "  2025 is in-sample and the projection has no out-of-sample test of its own.",
        "",
    ]
    return "\n".join(lines)


def main(seeds: int = 5) -> int:
    report = run(range(seeds))
    figure(report)
    figure_el_salvador(report.el_salvador)
    figure_adoption(report.adoption)
    country_shares.figure(report.shares, FIGURE_SHARES, _pyplot(FIGURE_SHARES))
    policy_figure(report.policy, FIGURE_POLICY)
    figure_volume(report.volume, FIGURE_VOLUME, _pyplot(FIGURE_VOLUME))
    backtest_ensembles.figure(report.ensembles, FIGURE_ENSEMBLES, _pyplot(FIGURE_ENSEMBLES))
    atomic_write_bytes(DOC, markdown(report).encode())
    h, d = report.hashrate, report.dip
    print(f"hashrate 2019-2025: log-RMSE fit {h.rmse_log_fit:.3f}, test {h.rmse_log_test:.3f} "
          f"(bounds {BOUNDS['rmse_log_fit']}, {BOUNDS['rmse_log_test']}); "
          f"MAPE fit {h.mape_fit:.1%}, test {h.mape_test:.1%}")
    print(f"2024 halving: {d['pre_halving_ehs']:.0f} -> {d['trough_ehs']:.0f} EH/s ({d['dip']:+.1%}); "
          "new high " + ("none in 6 months" if d["weeks_to_new_high"] is None
                          else f"after {halvings.weeks_with_unit(d['weeks_to_new_high'])}"))
    v = report.volume
    print(f"value received: within 0.5-2x {v.fit.within_2x_fit:.0%} fitted, {v.fit.within_2x_loo:.0%} left out by "
          f"country; India's exchanges: {int(v.exchanges.points.met.sum())} of {len(v.exchanges.points)} figures met")
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
    rows, flat, grid, why = report.halvings
    for r in rows.itertuples():
        print(f"halving {r.halving}: dip model {r.model_dip:+.1%} vs data {r.data_dip:+.1%}; recovery model "
              f"{halvings.weeks_text(r.model_weeks)} vs data {r.data_weeks:.0f} weeks")
    flat_weeks = halvings.weeks_text(flat["weeks_to_new_high"])
    print(f"2028 halving, flat price: dip {flat['dip']:+.1%}, recovery {flat_weeks} weeks")
    print(f"switching grid: {len(grid)} pairs of switching speed and cost spread; 2020 dip at most "
          f"{grid.dip_2020.min():+.1%}, 2016 at most {grid.dip_2016.min():+.1%}")
    print(f"S9-class share before the 2020 halving: model {why['s9_model']:.1%}, "
          f"Coin Metrics ~{why['s9_data_pct']:.0f}%; "
          f"2028 flat-price dip over hurdle x frontier pace: {why['flat_grid'].dip.min():+.1%} to "
          f"{why['flat_grid'].dip.max():+.1%}")
    for r in backtest_ensembles.summary(report.ensembles).itertuples():
        print(f"ensemble of {report.ensembles.members}, {r.target}, {r.window}: {r.in_90:.0%} of {r.points} points "
              f"in the 90% band, {r.in_50:.0%} in the 50% band")
    for miss in backtest_ensembles.misses(report.ensembles):
        print(f"misses issue 17's bound: {miss}")
    e = report.electricity
    print(f"electricity: {int(e.months.within.sum())} of {len(e.months)} months within CBECI's range; "
          f"{e.twh:.0f} TWh in 2024 vs CCAF {e.twh_data:g}; fleet before the 2024 halving {e.fleet_j_per_th:.1f} J/TH")
    problems = check(report)
    for p in problems:
        print(f"OUT OF BOUNDS: {p}")
    t, r = report.policy.test, report.region
    print(f"stance hazards, test {TEST_YEARS[0]}-{TEST_YEARS[1]}: log-likelihood per country-year {t.loglik:.3f} "
          f"(constant {t.loglik_constant:.3f}); baseline region moves up {r.observed['up']:.2f}/yr "
          f"(fit {r.low['up']:.2f}-{r.high['up']:.2f}), down {r.observed['down']:.2f}/yr "
          f"(fit {r.low['down']:.2f}-{r.high['down']:.2f})")
    print(f"wrote {DOC}, {FIGURE}, {FIGURE_SHARES}, {FIGURE_SLV}, {FIGURE_ADOPTION}, {FIGURE_POLICY}, "
          f"{FIGURE_VOLUME} and {FIGURE_ENSEMBLES}")
    return 1 if problems else 0

