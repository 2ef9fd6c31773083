"""An ensemble folder's numbers: quantile bands, the members' headline outcomes, and how much of
each headline's variance the price path explains.

Variance split (members run as a crossed design, :mod:`experiments.ensemble.members`): an
outcome y[p, k] of price path p and replicate seed k is split as in a two-way analysis of
variance without replication, SS_total = SS_price + SS_rest + SS_interaction, where SS_price
= K * sum_p (row mean - grand mean)^2, SS_rest = P * sum_k (column mean - grand mean)^2
and the interaction is what is left (the price path and the rest acting together). The
shares are these sums over SS_total and add up to 1. A main-effect share also holds noise
(its expectation includes the interaction's variance / K, resp. / P), so with few paths
or few seeds it overstates a small effect: read it with its P and K.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from experiments.analysis.outcomes import compute, load_panel, pairs_needed
from experiments.ensemble.members import MARKET_SEED
from experiments.sweep.design import ID_COLUMNS
from experiments.sweep.outcomes import Context, Outcome, OutcomeError, parse_outcome
from experiments.sweep.results import connect, open_folder

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
BAND_COLUMNS = ("q05", "q25", "q50", "q75", "q95")
#: The headline outcomes every ensemble reports (the outcome syntax of experiments/sweeps/README.md).
HEADLINES = {
    "hashrate_end_ehs": "last(hashrate_ehs@WORLD)",
    "pak_hashrate_share_end": "last(hashrate_share@PAK)",
    "region_volume_usd": "sum(trading_volume_usd@region)",
    "pak_volume_usd": "sum(trading_volume_usd@PAK)",
    "adoption_end": "last(adoption_rate@WORLD)",
    "bgd_first_stance_change": "first_change(stance@BGD)",
    "lka_first_stance_change": "first_change(stance@LKA)",
    "afg_first_stance_change": "first_change(stance@AFG)",
    "npl_first_stance_change": "first_change(stance@NPL)",
}


def bands(sweep: Path) -> pd.DataFrame:
    """Quantiles across members per metric, country and date (linear interpolation, as numpy's
    default), with the number of members that have a value there."""
    folder, _ = open_folder(sweep)
    qs = ", ".join(f"quantile_cont(value, {q}) AS {c}" for q, c in zip(QUANTILES, BAND_COLUMNS))
    con = connect(folder)
    try:
        df = con.execute(f"SELECT metric, country, date, step, count(*) AS members, {qs} FROM runs "
                         "WHERE NOT isnan(value) GROUP BY metric, country, date, step "
                         "ORDER BY metric, country, step").df()
    finally:
        con.close()
    df["date"] = pd.to_datetime(df["date"]).dt.date
    return df


def headline_outcomes(context: Context) -> dict[str, Outcome]:
    """The headlines this ensemble can compute (a scenario without a country leaves its rows out)."""
    out = {}
    for name, expr in HEADLINES.items():
        try:
            out[name] = parse_outcome(name, expr, context)
        except OutcomeError:  # e.g. a backtest without Pakistan or Bangladesh
            continue
    return out


def member_outcomes(sweep: Path, outcomes: dict[str, Outcome]) -> pd.DataFrame:
    """One row per member: run_id, replicate, seed, its design values (the market seed, the ranged
    inputs of ``--parameters all``), each outcome and, for a first-change date, whether it was
    censored at the horizon (then it holds the horizon)."""
    folder, _ = open_folder(sweep)
    design = pd.read_parquet(folder.design_path)
    done = sorted(folder.done_ids())
    panel = load_panel(folder, pairs_needed(outcomes.values()), run_ids=done)
    table = design.set_index("run_id").loc[done].reset_index()
    keep = ["run_id", "replicate", "seed"] + [c for c in table if c not in ID_COLUMNS and c != "point"]
    table = table[keep].copy()
    for name, outcome in outcomes.items():
        values, censored = compute(panel, outcome)
        table[name] = values
        if censored is not None:
            table[f"{name}_censored"] = censored
    return table


def variance_split(members: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """Per outcome: the shares of its sum of squares from the price path, the rest and their
    interaction (see the module's docstring); empty without price paths."""
    if MARKET_SEED not in members:
        return pd.DataFrame(columns=["outcome", "price_paths", "seeds", "price", "rest", "interaction"])
    rows = []
    for name in names:
        y = members.pivot(index=MARKET_SEED, columns="replicate", values=name).to_numpy(dtype=float)
        rows.append({"outcome": name, "price_paths": y.shape[0], "seeds": y.shape[1], **_shares(y)})
    return pd.DataFrame(rows)


def _shares(y: np.ndarray) -> dict[str, float]:
    nan = {"price": np.nan, "rest": np.nan, "interaction": np.nan}
    if np.isnan(y).any():
        return nan  # a member missing (failed) or an outcome without a value: no split
    p, k = y.shape
    grand = y.mean()
    total = ((y - grand) ** 2).sum()
    if total == 0:
        return nan  # no variance to split
    price = k * ((y.mean(axis=1) - grand) ** 2).sum()
    rest = p * ((y.mean(axis=0) - grand) ** 2).sum()
    return {"price": price / total, "rest": rest / total, "interaction": (total - price - rest) / total}


def summary_table(members: pd.DataFrame, outcomes: dict[str, Outcome]) -> pd.DataFrame:
    """Per outcome: median, the 90% interval (5% and 95% quantiles across members), mean, members,
    and for a date the share of members censored at the horizon."""
    rows = []
    for name, outcome in outcomes.items():
        v = members[name].to_numpy(dtype=float)
        ok = v[~np.isnan(v)]
        q05, q50, q95 = np.quantile(ok, [0.05, 0.5, 0.95]) if len(ok) else (np.nan,) * 3
        rows.append({"outcome": name, "expression": outcome.expr, "kind": outcome.kind, "median": q50,
                     "q05": q05, "q95": q95, "mean": ok.mean() if len(ok) else np.nan, "members": len(ok),
                     "censored_share": (members[f"{name}_censored"].mean()
                                        if f"{name}_censored" in members else np.nan)})
    return pd.DataFrame(rows)
