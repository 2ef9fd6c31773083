"""``crypto-abm validate``: the backtests, model against data, written to docs/VALIDATION.md.

Done so far (the other backtests of the validation issue are still to come):

1. Network hashrate 2019-2025 under the real price path with the dated bans (China's
   included): log error over the data points in the fit window (2019-2024) and the test
   window (2025), the months 2021-05..2022-01 held out; the dip and recovery after the
   April 2024 halving.
4. Trading volume: the baseline's modelled 2025 volume for Pakistan and India against
   Chainalysis' on-chain value received (order of magnitude).

The bounds below are what the test suite holds the model to (``tests/test_validation.py``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from experiments.backtest import FIT_UNTIL, HALVING, HELD_OUT, compare, halving_dip, network_series, run_backtest
from model.model import build_model
from model.scenario import PROJECT_ROOT

DOC = PROJECT_ROOT / "docs" / "VALIDATION.md"
FIGURE = PROJECT_ROOT / "docs" / "figures" / "validation_hashrate.png"

# Bounds a backtest must stay within (checked by the tests): log-RMSE, halving dip.
BOUNDS = {"rmse_log_fit": 0.30, "rmse_log_test": 0.30, "dip_min": -0.40, "dip_max": 0.05,
          "volume_ratio_low": 0.1, "volume_ratio_high": 10.0}
# Chainalysis value received (USD per year), data/crypto_activity.csv.
VALUE_RECEIVED = {"IND": (250e9, "2022-07..2023-06, Chainalysis 2023 (approximate)"),
                  "PAK": (20e9, "2020-07..2021-06, Chainalysis 2021 (approximate)")}


@dataclass
class Report:
    hashrate: object          # HashrateFit of seed 0
    band: pd.DataFrame        # date x seed network hashrate
    dip: dict
    volumes: pd.DataFrame     # country, model_usd, data_usd, ratio, data_period


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
    return Report(fit, band, dip, volume_backtest())


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
    return out


def figure(report: Report, path: Path = FIGURE) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
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
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def markdown(report: Report) -> str:
    h, d = report.hashrate, report.dip
    pts = h.points.assign(date=lambda p: p.date.astype(str))
    lines = [
        "# Validation: how far to trust the model",
        "",
        "Written by `crypto-abm validate` (do not edit by hand). The test suite holds the model",
        "to the bounds stated here (`tests/test_validation.py`).",
        "",
        "## 1. Network hashrate 2019-2025 (`experiments/scenarios/backtest_hashrate_2019.toml`)",
        "",
        "Driven by the monthly BTC price (Bitstamp), the halvings of 2020 and 2024, and the",
        "dated bans of the policy timeline (China's 2021 mining ban, Iran's summer bans), from",
        "the CBECI 2019-20 fleets by country. The miners' response (growth, hurdle margin,",
        "lead time) is fitted on 2019-2024 (`crypto-abm calibrate mining`, each year weighted",
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
        "The model does not reproduce the ~10% dip: its fleet before the halving is smaller",
        "than the data's (the pre-halving error above), so fewer machines are pushed below",
        "break-even, and fees are a constant 0.33 BTC per block in this backtest where the",
        "halving month saw fee spikes. The bound guards against drift; it is not a pass on",
        "this pattern. Treat the model's short-run response to a halving as weak evidence.",
        "",
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
    lines += [f"| {r.country} | {r.model_usd / 1e9:.1f} bn | {r.data_usd / 1e9:.0f} bn | {r.data_period} | {r.ratio:.2f} |"
              for r in report.volumes.itertuples()]
    lines += [
        "",
        "## Still to come",
        "",
        "- Backtest 2: El Salvador's legal-tender episode (use rising then decaying after a",
        "  mandatory-acceptance shock with an incentive).",
        "- Backtest 3: cross-country adoption with a leave-one-country-out error and the rank",
        "  correlation with the Chainalysis ranks, after the household calibration.",
        "- Household calibration (innovation, imitation, abandonment, weights) to measured",
        "  ownership.",
        "",
    ]
    return "\n".join(lines)


def main(seeds: int = 5) -> int:
    report = run(range(seeds))
    figure(report)
    DOC.write_text(markdown(report))
    h, d = report.hashrate, report.dip
    print(f"hashrate 2019-2025: log-RMSE fit {h.rmse_log_fit:.3f}, test {h.rmse_log_test:.3f} "
          f"(bounds {BOUNDS['rmse_log_fit']}, {BOUNDS['rmse_log_test']}); MAPE fit {h.mape_fit:.1%}, test {h.mape_test:.1%}")
    print(f"2024 halving: {d['pre_halving_ehs']:.0f} -> {d['trough_ehs']:.0f} EH/s ({d['dip']:+.1%}); "
          f"new high {'none in 6 months' if d['weeks_to_new_high'] is None else f'after {d['weeks_to_new_high']:.0f} weeks'}")
    for r in report.volumes.itertuples():
        print(f"{r.country} volume 2025: model ${r.model_usd / 1e9:.1f}bn vs data ${r.data_usd / 1e9:.0f}bn "
              f"({r.data_period}): {r.ratio:.2f}x")
    problems = check(report)
    for p in problems:
        print(f"OUT OF BOUNDS: {p}")
    print(f"wrote {DOC} and {FIGURE}")
    return 1 if problems else 0

