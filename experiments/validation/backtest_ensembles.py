"""Ensembles of the backtests and how often their bands hold the data (issue 17).

A band that is honest about the model's uncertainty holds about as many data points as it
claims: the 5-95% band about 90% of them, the 25-75% band about half. Fewer means the
members agree with each other more than with the world (the spread of seeds and fitted
draws leaves out an error the model makes); many more, with a wide band, means the band
says little. So each target reports both coverages and the band's width.

- **Network hashrate 2019-2025** (``backtest_hashrate_2019``): an ensemble run by
  :func:`experiments.ensemble.run_ensemble` (the sweep engine), every week kept. Each
  data point of :func:`~experiments.validation.backtest.history` (the held-out months
  2021-05..2022-01 are never read) is matched to each member's week as the single-run
  backtest matches it (:func:`~experiments.validation.backtest.compare`); the country
  shares at their dated estimates are each member's mean over the point's span
  (:func:`~experiments.validation.backtest.shares_over_spans`). Fit window before 2025,
  test 2025, as there.
- **El Salvador 2021-2024** (``backtest_el_salvador_2021``): the survey asks who used
  bitcoin in a year, which the model reads as the share of people adopting at some time in
  the year (:func:`~experiments.validation.backtest_adoption.run_el_salvador`). That is not
  a recorded metric, so the sweep engine cannot store it: the members are the same
  ensemble's (its spec and design: seeds, fitted draws, sampled parameters), each run by
  that reader in a process pool of the sweep engine.

Bands are quantiles across members at each point (linear interpolation, as the ensemble's
bands). The issue's bounds: the 90% band of the hashrate backtest holds at least 80% of
its data points; the El Salvador band holds its survey years.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.analysis.figures import save_figure
from experiments.analysis.outcomes import load_panel
from experiments.ensemble import EnsembleOptions, run_ensemble
from experiments.ensemble.members import SWEEP, make_spec
from experiments.ensemble.summary import BAND_COLUMNS, QUANTILES
from experiments.sweep.design import make_design
from experiments.sweep.results import open_folder
from experiments.sweep.runner import open_executor, tasks_for
from experiments.sweep.worker import RunTask
from experiments.validation.backtest import HELD_OUT, SCENARIO, compare, share_points, shares_over_spans
from experiments.validation.backtest_adoption import EL_SALVADOR, run_el_salvador
from model.scenario import load_scenario

MEMBERS = 40            # validate's ensembles (measured: see docs/VALIDATION.md, section 6)
PARAMETERS = "fitted"   # each member its own draw of the fitted blocks
HASHRATE_COVERAGE_MIN = 0.80  # issue 17: the 90% band holds at least ~80% of the hashrate points
#: Each member's network hashrate and country shares, every week (the backtest's date matching).
OUTPUT = {"metrics": ["hashrate_ehs", "hashrate_share"], "every": 1}
LEVELS = {"90%": ("q05", "q95"), "50%": ("q25", "q75")}


@dataclass
class BacktestCoverage:
    """Per data point: the data, the band (q05..q95 across members) and whether each band holds it."""

    hashrate: pd.DataFrame     # date, data (EH/s), window, q05..q95, in_90%, in_50%
    shares: pd.DataFrame       # start, end, country, data (%), window, q05..q95, in_90%, in_50%
    el_salvador: pd.DataFrame  # year, data (share), window, q05..q95, in_90%, in_50%
    network: pd.DataFrame      # the weekly band of network hashrate: date, q05..q95
    members: int
    parameters: str


def band(values: np.ndarray) -> pd.DataFrame:
    """Quantiles across members (rows of ``values``) per point (columns): q05, q25, q50, q75, q95."""
    q = np.quantile(np.asarray(values, dtype=float), QUANTILES, axis=0)
    return pd.DataFrame(dict(zip(BAND_COLUMNS, q)))


def judged(points: pd.DataFrame, values: np.ndarray) -> pd.DataFrame:
    """``points`` (with a ``data`` column) with the members' band and whether each band holds the data."""
    if values.shape[1] != len(points) or not np.isfinite(values).all():
        raise ValueError(f"expected finite members x {len(points)} values, got shape {values.shape}")
    out = pd.concat([points.reset_index(drop=True), band(values)], axis=1)
    for level, (low, high) in LEVELS.items():
        out[f"in_{level}"] = (out[low] <= out["data"]) & (out["data"] <= out[high])
    return out


def coverage(points: pd.DataFrame, level: str = "90%") -> float:
    """The share of the points inside the band of ``level`` (NaN for no points)."""
    return float(points[f"in_{level}"].mean()) if len(points) else float("nan")


# ---------------------------------------------------------------------------- the hashrate backtest
def hashrate_members(members: int = MEMBERS, parameters: str = PARAMETERS, seed: int = 0,
                     workers: int | None = None) -> tuple[pd.DatetimeIndex, dict[tuple[str, str], np.ndarray]]:
    """Run the hashrate backtest's ensemble (in a temporary folder); its weekly dates and, per
    (metric, country), the members x weeks values."""
    countries = list(load_scenario(SCENARIO).config.countries)
    pairs = {("hashrate_ehs", "WORLD")} | {("hashrate_share", c) for c in countries}
    with tempfile.TemporaryDirectory(prefix="backtest-ensemble-") as tmp:
        out = Path(tmp) / "hashrate"
        opts = EnsembleOptions(SCENARIO, members=members, parameters=parameters, seed=seed, workers=workers,
                               progress=False, output=OUTPUT)
        _, report = run_ensemble(opts, out, argv=["crypto-abm", "validate"])
        if report.failures or report.done != members:
            raise RuntimeError(f"{members - report.done} of {members} members of the {SCENARIO} ensemble failed: "
                               + "; ".join(report.failures[:3]))
        folder, _ = open_folder(out / SWEEP)
        panel = load_panel(folder, pairs)
    return panel.dates, {k: v for k, v in panel.values.items() if k in pairs}


def hashrate_coverage(dates: pd.DatetimeIndex, values: dict[tuple[str, str], np.ndarray]
                      ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The network points, the share points and the weekly network band, judged against the members."""
    days = dates.date
    net = values[("hashrate_ehs", "WORLD")]
    fits = [compare(pd.Series(row, index=days)).points for row in net]
    points = fits[0][["date", "hashrate_ehs", "window"]].rename(columns={"hashrate_ehs": "data"})
    network = judged(points, np.vstack([f.model_ehs.to_numpy() for f in fits]))
    countries = sorted(c for m, c in values if m == "hashrate_share")
    spans = share_points(countries)
    member_shares = [pd.DataFrame({c: values[("hashrate_share", c)][i] for c in countries}, index=dates)
                     for i in range(net.shape[0])]
    shares = judged(spans.rename(columns={"share_pct": "data"}).drop(columns="source"),
                    np.vstack([shares_over_spans(s, spans) for s in member_shares]))
    weekly = band(net).assign(date=days)
    return network, shares, weekly


# ---------------------------------------------------------------------------- El Salvador
def el_salvador_member(task: RunTask) -> pd.DataFrame:
    """One member of the El Salvador ensemble: per survey year, the data and the member's share of
    people adopting at some time in the year (``model``)."""
    return run_el_salvador(overrides=task.overrides(), seed=task.seed, households=task.households).usage


def el_salvador_coverage(members: int = MEMBERS, parameters: str = PARAMETERS, seed: int = 0,
                         workers: int | None = None) -> pd.DataFrame:
    """The survey years judged against the ensemble's members (its spec's design, run by the survey reader)."""
    opts = EnsembleOptions(EL_SALVADOR, members=members, parameters=parameters, seed=seed)
    with tempfile.TemporaryDirectory(prefix="backtest-ensemble-") as tmp:
        spec, _ = make_spec(opts, Path(tmp))
    tasks = tasks_for(spec, make_design(spec))
    with open_executor("process", workers) as (executor, _, _):
        usage = list(executor.map(el_salvador_member, tasks))
    return judged(usage[0][["year", "data", "window"]], np.vstack([u["model"].to_numpy() for u in usage]))


def run(members: int = MEMBERS, parameters: str = PARAMETERS, seed: int = 0,
        workers: int | None = None) -> BacktestCoverage:
    network, shares, weekly = hashrate_coverage(*hashrate_members(members, parameters, seed, workers))
    slv = el_salvador_coverage(members, parameters, seed, workers)
    return BacktestCoverage(network, shares, slv, weekly, members, parameters)


def misses(report: BacktestCoverage) -> list[str]:
    """The issue's bounds the ensembles miss (empty when both hold)."""
    out = []
    cover = coverage(report.hashrate)
    if not cover >= HASHRATE_COVERAGE_MIN:
        out.append(f"the 90% band of the 2019-2025 hashrate backtest holds {cover:.0%} of its "
                   f"{len(report.hashrate)} data points (bound: at least {HASHRATE_COVERAGE_MIN:.0%})")
    outside = report.el_salvador[~report.el_salvador["in_90%"]]
    if len(outside):
        out.append("the 90% band of the El Salvador backtest misses the survey year(s) " + ", ".join(
            f"{r.year} (data {r.data:.1%}, band {r.q05:.1%}-{r.q95:.1%})" for r in outside.itertuples()))
    return out


# ---------------------------------------------------------------------------- report
def summary(report: BacktestCoverage) -> pd.DataFrame:
    """Per target and window: points, the coverage of each band and the 90% band's median width
    (hashrate: q95 / q05 - 1, as the band is read on a log scale; shares and El Salvador: points)."""
    targets = (("network hashrate", report.hashrate, "ratio"), ("country shares", report.shares, "points"),
               ("El Salvador, survey years", report.el_salvador, "points"))
    rows = []
    for name, points, unit in targets:
        width = points.q95 / points.q05 - 1.0 if unit == "ratio" else points.q95 - points.q05
        if name.startswith("El Salvador"):
            width = 100.0 * width  # shares of people, in percentage points
        for window in ("fit", "test", "all"):
            keep = points.window == window if window != "all" else np.ones(len(points), dtype=bool)
            rows.append({"target": name, "window": window, "points": int(keep.sum()),
                         "in_90": coverage(points[keep], "90%"), "in_50": coverage(points[keep], "50%"),
                         "width_90": float(np.median(width[keep])) if keep.any() else float("nan"), "unit": unit})
    return pd.DataFrame(rows)


def figure(report: BacktestCoverage, path: Path, plt) -> Path:
    """The hashrate ensemble's band (log scale) against the data; El Salvador's bands at the survey years."""
    fig, (ax, side) = plt.subplots(1, 2, figsize=(12, 4.8), gridspec_kw={"width_ratios": [3, 1]})
    w = report.network
    x = pd.to_datetime(w.date)
    ax.fill_between(x, w.q05, w.q95, color="C0", alpha=0.25, lw=0, label="members: 5-95%")
    ax.fill_between(x, w.q25, w.q75, color="C0", alpha=0.45, lw=0, label="members: 25-75%")
    ax.plot(x, w.q50, color="C0", lw=1.2, label="members: median")
    for window, marker in (("fit", "o"), ("test", "s")):
        p = report.hashrate[report.hashrate.window == window]
        ax.scatter(pd.to_datetime(p.date), p.data, marker=marker, color="black", s=18, zorder=3,
                   label=f"data, {window} window")
    ax.axvspan(pd.Timestamp(HELD_OUT[0]), pd.Timestamp(HELD_OUT[1]), color="grey", alpha=0.15, label="held out")
    ax.set(yscale="log", ylabel="network hashrate, EH/s",
           title=f"Hashrate backtest: {report.members} members ({report.parameters} parameters)")
    ax.legend(fontsize=8)
    s = report.el_salvador
    side.vlines(s.year, 100 * s.q05, 100 * s.q95, color="C0", lw=3, alpha=0.5, label="members: 5-95%")
    side.vlines(s.year, 100 * s.q25, 100 * s.q75, color="C0", lw=7, label="members: 25-75%")
    side.scatter(s.year, 100 * s.data, marker="o", color="black", zorder=3, label="data (UCA-IUDOP)")
    side.set(xticks=list(s.year), ylabel="% of people using bitcoin in the year", title="El Salvador backtest")
    side.legend(fontsize=8)
    return save_figure(fig, path)


def _pct(v: float) -> str:
    return "n/a" if np.isnan(v) else f"{v:.0%}"


def markdown(report: BacktestCoverage, figure_link: str) -> list[str]:
    lines = [
        "## 6. Ensembles of the backtests: coverage",
        "",
        f"Each backtest run as an ensemble of {report.members} members (`{report.parameters}` parameters:",
        "each member its own seed and its own draw of the fitted blocks that carry a covariance;",
        "`experiments/validation/backtest_ensembles.py`). A band honest about the model's uncertainty holds",
        "about as many points as it claims: the 5-95% band about 90%, the 25-75% band about half. The",
        "hashrate points and the country shares are read as in section 1 (each member's week nearest",
        "a point; its mean share over a point's span; the held-out months never read); El Salvador's as in",
        "section 2 (the share of people adopting at some time in the survey year). Width: the median over",
        "the points of the 90% band's width (hashrate: q95 / q05 - 1; shares and El Salvador: points).",
        "",
        f"![ensemble bands against data]({figure_link})",
        "",
        "| target | window | points | in the 90% band | in the 50% band | median width of the 90% band |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in summary(report).itertuples():
        width = "n/a" if np.isnan(r.width_90) else (f"{100 * r.width_90:.2g}%" if r.unit == "ratio"
                                                     else f"{r.width_90:.2g} points")
        lines.append(f"| {r.target} | {r.window} | {r.points} | {_pct(r.in_90)} | {_pct(r.in_50)} | {width} |")
    missed = misses(report)
    lines += [
        "",
        f"Bounds (issue 17): the 90% band of the hashrate backtest holds at least {HASHRATE_COVERAGE_MIN:.0%}",
        "of its data points; the El Salvador band holds its survey years. Misses (the tests,",
        "`tests/experiments/test_backtest_ensembles.py`, keep the bounds and mark these as expected failures)"
        + (": none." if not missed else ":"),
        "",
    ]
    lines += [f"- {m}" for m in missed] + ([""] if missed else [])
    lines += [
        "What the bands hold: in the backtests the price path is the history and the bans and the El",
        "Salvador law are dated, so members differ in their seeds and in their draws of the fitted blocks",
        "that carry an uncertainty: the stance hazards, the volume fit, the mining fit (`[mining.covariance]`:",
        "the Jacobian's, with profiles for the estimates on or near a bound) and the household rule (the",
        "Laplace approximation of its emulator fit, `[households.covariance]`), each normal truncated to",
        "its fit's search bounds; El Salvador's own bonus fit has none, and no",
        "assumption's range is sampled here (`--parameters all`). The bands are the fits' parameter",
        "uncertainty; they leave out the model's structural error (section 1's log-RMSE, section 2's test",
        "years), which is why they hold fewer points than they claim.",
        "",
    ]
    return lines
