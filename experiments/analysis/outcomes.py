"""Computing outcomes (:mod:`experiments.sweep.outcomes` declares them): a sweep folder's
kept rows as arrays (:class:`Panel`, read with DuckDB) and one number per run (:func:`compute`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from experiments.sweep.outcomes import OPS, Outcome, OutcomeError, Series, decimal_year
from experiments.sweep.results import connect, sql_string


@dataclass
class Panel:
    """The kept rows of a set of runs as arrays: ``values[(metric, country)]`` is runs x steps."""

    run_ids: list[str]
    steps: np.ndarray
    dates: pd.DatetimeIndex
    values: dict[tuple[str, str], np.ndarray]

    @property
    def weights(self) -> np.ndarray:
        """Steps each kept row stands for: up to the next kept row (the last row: one)."""
        return np.append(np.diff(self.steps), 1).astype(float)

    def series(self, s: Series) -> np.ndarray:
        """runs x steps: the metric at the series' countries, combined, optionally made relative."""
        missing = [c for c in s.countries if (s.metric, c) not in self.values]
        if missing:
            raise OutcomeError(f"no rows for {s.metric} at {', '.join(missing)} in the runs (a metric a country "
                               "does not have, e.g. adoption where there are no households)")
        stack = np.stack([self.values[(s.metric, c)] for c in s.countries])
        with np.errstate(all="ignore"):
            y = {"sum": np.sum, "mean": np.mean, "max": np.max, "min": np.min}[s.across](stack, axis=0)
            if s.relative_to is not None:
                i = self.index_at(s.relative_to)
                y = y / y[:, i:i + 1]
        return y

    def index_at(self, date: dt.date) -> int:
        """The last kept step on or before ``date``."""
        i = int(np.searchsorted(self.dates.values, np.datetime64(date), side="right")) - 1
        return max(i, 0)


def load_panel(folder, pairs: set[tuple[str, str]], run_ids: list[str] | None = None) -> Panel:
    """Read the rows of ``pairs`` (metric, country) from a sweep folder's run files (DuckDB)."""
    con = connect(folder)
    try:
        metrics = ", ".join(sql_string(m) for m in sorted({m for m, _ in pairs}))
        countries = ", ".join(sql_string(c) for c in sorted({c for _, c in pairs}))
        df = con.execute(f"SELECT run_id, step, date, country, metric, value FROM runs "
                         f"WHERE metric IN ({metrics}) AND country IN ({countries})").df()
    finally:
        con.close()
    if run_ids is None:
        run_ids = sorted(df["run_id"].unique())
    else:
        df = df[df["run_id"].isin(run_ids)]
    steps = np.sort(df["step"].unique())
    by_step = df.drop_duplicates("step").set_index("step")["date"]
    dates = pd.DatetimeIndex(pd.to_datetime(by_step.reindex(steps).to_numpy()))
    r = pd.Categorical(df["run_id"], categories=run_ids).codes
    s = np.searchsorted(steps, df["step"].to_numpy())
    values: dict[tuple[str, str], np.ndarray] = {}
    keep = r >= 0
    for (metric, country), idx in df[keep].groupby(["metric", "country"], observed=True).indices.items():
        if (metric, country) not in pairs:
            continue
        arr = np.full((len(run_ids), len(steps)), np.nan)
        rows = np.flatnonzero(keep)[idx]
        arr[r[rows], s[rows]] = df["value"].to_numpy()[rows]
        values[(metric, country)] = arr
    return Panel(run_ids=list(run_ids), steps=steps, dates=dates, values=values)


def compute(panel: Panel, outcome: Outcome) -> tuple[np.ndarray, np.ndarray | None]:
    """One value per run (and, for first_change/first_time, whether it was censored)."""
    y = panel.series(outcome.series)
    dates = panel.dates
    lo = panel.index_at(outcome.start) if outcome.start is not None else 0
    if outcome.start is not None and dates[lo].date() < outcome.start:
        lo += 1  # the window starts at the first kept step on or after `from`
    hi = panel.index_at(outcome.end) + 1 if outcome.end is not None else len(dates)
    if lo >= hi:
        raise OutcomeError(f"{outcome.name}: no kept step between {outcome.start} and {outcome.end}")
    y, w, d = y[:, lo:hi], panel.weights[lo:hi], dates[lo:hi]
    years = decimal_year(d)
    end_year = decimal_year(outcome.end or d[-1].date())
    if outcome.end is None:  # censored at the horizon: the sweep's last date
        end_year = decimal_year(d[-1].date())
    stat, censored = outcome.stat, None
    with np.errstate(all="ignore"):
        if stat == "last":
            v = y[:, -1]
        elif stat == "first":
            v = y[:, 0]
        elif stat == "sum":
            v = np.nansum(y * w, axis=1)
            v[np.all(np.isnan(y), axis=1)] = np.nan
        elif stat == "mean":
            ok = ~np.isnan(y)
            v = np.nansum(y * w, axis=1) / (ok * w).sum(axis=1)
        elif stat == "max":
            v = _nan_reduce(np.nanmax, y)
        elif stat == "min":
            v = _nan_reduce(np.nanmin, y)
        elif stat == "change":
            v = y[:, -1] - y[:, 0]
        elif stat in ("argmax", "argmin"):
            filled = np.where(np.isnan(y), -np.inf if stat == "argmax" else np.inf, y)
            i = np.argmax(filled, axis=1) if stat == "argmax" else np.argmin(filled, axis=1)
            v = years[i].astype(float)
            v[np.all(np.isnan(y), axis=1)] = np.nan
        else:
            if stat == "first_change":
                hit = ~np.isclose(y, y[:, :1], rtol=1e-9, atol=1e-12) & ~np.isnan(y)
            else:
                op, value = outcome.when
                hit = OPS[op](y, value) & ~np.isnan(y)
            any_hit = hit.any(axis=1)
            v = np.where(any_hit, years[np.argmax(hit, axis=1)], end_year).astype(float)
            censored = ~any_hit
    v = np.asarray(v, dtype=float)
    if outcome.yes_if is not None:
        op, rhs = outcome.yes_if
        yes = OPS[op](v, rhs).astype(float)
        yes[np.isnan(v)] = np.nan
        v = yes
    return v, censored


def _nan_reduce(fn, y: np.ndarray) -> np.ndarray:
    out = np.full(y.shape[0], np.nan)
    ok = ~np.all(np.isnan(y), axis=1)
    out[ok] = fn(y[ok], axis=1)
    return out


def pairs_needed(outcomes, series=()) -> set[tuple[str, str]]:
    out = set()
    for s in [o.series for o in outcomes] + list(series):
        out |= {(s.metric, c) for c in s.countries}
    return out
