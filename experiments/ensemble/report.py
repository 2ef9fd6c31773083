"""An ensemble's files: bands and members (Parquet), the summary and variance split (CSV), fan
charts (PNG) and ``report.md``, all written atomically into the ensemble folder."""

from __future__ import annotations

import io
import math
from pathlib import Path

import matplotlib
import pandas as pd

from experiments.analysis.figures import draw_fan, save_figure, slug
from experiments.analysis.outcomes import load_panel, pairs_needed
from experiments.ensemble.members import MARKET_SEED, SWEEP
from experiments.ensemble.summary import bands, headline_outcomes, member_outcomes, summary_table, variance_split
from experiments.provenance import atomic_write_bytes
from experiments.sweep.outcomes import Context, OutcomeError, parse_series
from experiments.sweep.results import open_folder

matplotlib.use("Agg")  # files only, no display; before pyplot is imported
import matplotlib.pyplot as plt  # noqa: E402

#: The fan charts every ensemble draws (those its scenario has).
FANS = ("btc_price_usd@WORLD", "hashrate_ehs@WORLD", "hashrate_share@PAK", "trading_volume_usd@WORLD",
        "adoption_rate@WORLD")


def write_parquet(df: pd.DataFrame, path: Path) -> None:
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    atomic_write_bytes(path, buf.getvalue())


def write_csv(df: pd.DataFrame, path: Path) -> None:
    atomic_write_bytes(path, df.to_csv(index=False).encode())


def summarise(out: Path, figures: bool = True) -> dict[str, pd.DataFrame]:
    """Write the ensemble's files from ``out/sweep``; return its tables."""
    sweep = out / SWEEP
    _, manifest = open_folder(sweep)
    context = Context.from_manifest(manifest)
    outcomes = headline_outcomes(context)
    members = member_outcomes(sweep, outcomes)
    tables = {"bands": bands(sweep), "members": members, "summary": summary_table(members, outcomes),
              "variance": variance_split(members, list(outcomes))}
    write_parquet(tables["bands"], out / "bands.parquet")
    write_parquet(members, out / "members.parquet")
    write_csv(tables["summary"], out / "summary.csv")
    write_csv(tables["variance"], out / "variance.csv")
    pictures = fan_charts(sweep, context, out) if figures else []
    atomic_write_bytes(out / "report.md", report_text(manifest, tables, pictures).encode())
    return tables


def fan_charts(sweep: Path, context: Context, out: Path) -> list[Path]:
    series = []
    for text in FANS:
        try:
            series.append(parse_series(text, context))
        except OutcomeError:  # a country or metric this scenario does not have
            continue
    folder, _ = open_folder(sweep)
    panel = load_panel(folder, pairs_needed([], series))
    paths = []
    for s in series:
        fig, ax = plt.subplots(figsize=(9, 4.2))
        draw_fan(ax, panel.dates, panel.series(s), label="members")
        ax.set_title(f"{s.label()}: median, 25-75% and 5-95% over {len(panel.run_ids)} members", fontsize=9)
        ax.legend(fontsize=8)
        paths.append(save_figure(fig, out / f"fan_{slug(s.label())}.png"))
    return paths


def _fmt(v: float) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    return f"{v:.4g}"


def report_text(manifest: dict, tables: dict[str, pd.DataFrame], pictures: list[Path]) -> str:
    spec, d = manifest["spec"], manifest["design"]
    members = tables["members"]
    drawn = spec["set"].get("policy.draw") == "seed"
    ranged = [p for p in spec["parameters"] if "low" in p]
    parameters = ("fitted (each member its own draw of the policy, volume, mining and household fits)" if drawn
                  else "point estimates") + (f", and a Latin hypercube over {len(ranged)} ranged assumptions"
                                             if ranged else "")
    lines = [f"# Ensemble of {manifest['scenario']['name']}", "",
             f"{len(members)} of {d['runs']} members done; root seed {spec['seed']}; "
             f"{spec['households']} households; to {spec['until']}; "
             f"parameters: {parameters}"
             + (f"; {d['points']} price paths x {spec['replicates']} seeds"
                if any(p["path"] == MARKET_SEED for p in spec["parameters"]) else "") + ".",
             "", "## Headlines: median and 90% interval across members", "",
             "| outcome | median | 5% | 95% | censored | expression |", "|---|---|---|---|---|---|"]
    for r in tables["summary"].itertuples():
        lines.append(f"| {r.outcome} | {_fmt(r.median)} | {_fmt(r.q05)} | {_fmt(r.q95)} | "
                     f"{_fmt(r.censored_share)} | `{r.expression}` |")
    lines += ["", "Dates are decimal years; a first change that did not happen by the horizon counts as the "
                  "horizon (its share is 'censored')."]
    if len(tables["variance"]):
        lines += ["", "## Which inputs matter: share of each headline's sum of squares", "",
                  "| outcome | price path | rest | interaction |", "|---|---|---|---|"]
        for r in tables["variance"].itertuples():
            lines.append(f"| {r.outcome} | {_fmt(r.price)} | {_fmt(r.rest)} | {_fmt(r.interaction)} |")
        lines += ["", "A crossed design (every price path with every seed), split as a two-way analysis of "
                      "variance without replication (experiments/ensemble/summary.py); a main-effect share also "
                      "holds noise, so small shares from few paths or seeds are upper-biased."]
    if ranged:
        lines += ["", "## Ranged inputs: sampled uniformly (a Latin hypercube, one row per member)", "",
                  "| input | low | high |", "|---|---|---|"]
        lines += [f"| `{p['path']}` | {_fmt(p['low'])} | {_fmt(p['high'])} |" for p in ranged]
        lines += ["", "Each range is an assumption; the scenario says why beside its value. Each member's values "
                      "are in members.parquet."]
    if pictures:
        lines += ["", "## Fan charts", ""] + [f"![{p.stem}]({p.name})" for p in pictures]
    lines += ["", "Files: bands.parquet (quantiles per metric, country, date), members.parquet (each member's "
                  "outcomes), summary.csv, variance.csv, ensemble.toml (the sweep spec), sweep/ (the runs).", ""]
    return "\n".join(lines)
