"""Shared fixtures and small helpers for the test suite.

Models are small (the household floor is 200 in each of the 9 household countries, so
1,800 is the minimum) and most runs are short. The one full-horizon baseline run is
shared through a session fixture; tests must not change its state.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pandas as pd
import pytest

from experiments.sweep.runner import open_executor
from model import build_model
from model.scenario import PROJECT_ROOT, SCENARIO_DIR

BASELINE = SCENARIO_DIR / "south_asia_2025.toml"
APPROVED = SCENARIO_DIR / "pak_allocation_approved.toml"  # the baseline with Pakistan's allocation in force
PRICE_CSV = PROJECT_ROOT / "data" / "btc_usd_monthly.csv"
MIN_HOUSEHOLDS = 1800
SHORT = dt.date(2026, 1, 1)
VAO_DATE = dt.date(2025, 7, 8)
ALLOCATION_DATE = dt.date(2025, 5, 25)
#: A scenario body: the USA under a moratorium on new mining connections, 2025-03-05 to 2025-06-04.
USA_MORATORIUM = """
[shocks.usa_pause]
date = 2025-03-05
country = "USA"
kind = "mining_moratorium"
until = 2025-06-04
description = "test pause"
"""


def write_scenario(directory: Path, body: str, *, name: str = "variant.toml", base: Path = BASELINE) -> Path:
    """A scenario file in ``directory`` that includes ``base`` (the baseline) and adds ``body``."""
    path = Path(directory) / name
    path.write_text(f'include = ["{base.as_posix()}"]\n\n' + body)
    return path


def wide(ts: pd.DataFrame, metric: str) -> pd.DataFrame:
    """One metric as a step x country table (NaN where a country has no row)."""
    sub = ts[ts["metric"] == metric]
    return sub.pivot(index="step", columns="country", values="value")


def series(ts: pd.DataFrame, country: str, metric: str) -> pd.Series:
    """One country's metric indexed by date."""
    sub = ts[(ts["country"] == country) & (ts["metric"] == metric)]
    return sub.set_index(pd.to_datetime(sub["date"]).dt.date)["value"]


@pytest.fixture(scope="session")
def baseline_model():
    """The baseline scenario run to its end (2030-12-31), 2,000 households, seed 0."""
    return build_model("south_asia_2025", seed=0, households=2000).run()


@pytest.fixture(scope="session")
def baseline_ts(baseline_model) -> pd.DataFrame:
    return baseline_model.timeseries()


@pytest.fixture
def small_model():
    """A fresh minimum-size model at its first step (cheap: ~0.05 s)."""
    return build_model("south_asia_2025", seed=0, households=MIN_HOUSEHOLDS)


def wait_until(predicate, what: str, hang_guard_s: float = 300.0) -> None:
    """Poll ``predicate`` until true (the dashboard redraws on its own threads). The guard
    only keeps a broken test from hanging the suite; it is not a speed check, which belongs
    in benchmarks/ (so it is generous: a loaded machine never comes near it)."""
    t0 = time.monotonic()
    while not predicate():
        if time.monotonic() - t0 > hang_guard_s:
            raise AssertionError(f"never happened: {what} (gave up after {hang_guard_s:g} s)")
        time.sleep(0.05)


def read_runs(out: Path) -> pd.DataFrame:
    """A sweep folder's run files as one table, in a fixed order (not completion order)."""
    df = pd.read_parquet(out / "runs")
    return df.sort_values(["run_id", "step", "country", "metric"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def pool():
    """One process pool (forkserver, 2 workers) shared by a module's sweeps, as a user's
    sweep shares one pool across its runs."""
    with open_executor("process", 2) as (ex, slots, _label):
        yield ex, slots
