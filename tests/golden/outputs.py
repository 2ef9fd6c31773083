"""Golden outputs: fingerprints of a fixed set of runs and one small sweep.

Why: the architecture work moves code between files and must not move a number. Every
table is fingerprinted bit for bit (a SHA-256 over pandas' row hashes of the sorted table,
so neither the Parquet writer's bytes nor row order matter), beside a few headline values
so that a mismatch shows *what* moved. A commit that changes a number on purpose
regenerates the file, and says why in its message:

    .venv/bin/python -m tests.golden.outputs   # rewrites tests/golden/golden.json

The runs: the baseline, ``pak_ai_demand``, ``backtest_hashrate_2019`` and
``backtest_el_salvador_2021``, two seeds each, at the household counts below (small, so the
test stays cheap; the rules are the same at every size), and a grid sweep of 2 x 2 settings
x 2 replicates through the sweep engine.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.sweep.results import query
from experiments.sweep.runner import run_sweep
from experiments.sweep.spec import load_spec
from model.model import CryptoAdoptionModel

GOLDEN = Path(__file__).with_name("golden.json")
SEEDS = (0, 1)
RUNS = {  # scenario -> household agents (None: the scenario's own)
    "south_asia_2025": 1_800,
    "pak_allocation_approved": 1_800,
    "pak_ai_demand": 1_800,
    "backtest_hashrate_2019": None,
    "backtest_el_salvador_2021": None,
}
HEADLINES = (  # (metric, country, reducer): a few values that say what moved
    ("hashrate_ehs", "WORLD", "last"), ("hashrate_ehs", "PAK", "max"), ("mining_power_mw", "PAK", "max"),
    ("trading_volume_usd", "WORLD", "sum"), ("adoption_rate", "WORLD", "last"), ("btc_price_usd", "WORLD", "last"),
    ("stance", "WORLD", "last"),
)
SWEEP = textwrap.dedent("""
    scenario = "pak_allocation_approved"
    until = 2025-09-01
    households = 1800
    replicates = 2
    [design]
    kind = "grid"
    [parameters."shocks.pak_allocation.tariff_usd_per_kwh"]
    values = [0.05, 0.08]
    [parameters."policy.up.liberal_exposure"]
    values = [0.5, 2.0]
    """)


def fingerprint(frame: pd.DataFrame) -> str:
    """SHA-256 of a table's values, independent of row order and file format."""
    frame = frame.reset_index(drop=True)
    frame = frame.sort_values(list(frame.columns), kind="stable").reset_index(drop=True)
    for col in frame.columns:
        if isinstance(frame[col].dtype, pd.CategoricalDtype):
            frame[col] = frame[col].astype(str)
    rows = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    head = ",".join(f"{c}:{frame[c].dtype}" for c in frame.columns)
    return hashlib.sha256(head.encode() + rows.tobytes()).hexdigest()


def _headline(ts: pd.DataFrame) -> dict[str, float | None]:
    out = {}
    for metric, country, how in HEADLINES:
        v = ts.loc[(ts["metric"] == metric) & (ts["country"] == country), "value"]
        value = None if v.empty else v.iloc[-1] if how == "last" else getattr(v, how)()
        out[f"{how}({metric}@{country})"] = None if value is None else float(value)
    return out


def run_entry(scenario: str, seed: int, households: int | None) -> dict:
    m = CryptoAdoptionModel(scenario_name=scenario, rng=seed, households=households).run()
    ts, ex, ev = m.timeseries(), m.exchange_volumes(), m.events_frame().astype(str)
    return {"timeseries": fingerprint(ts), "exchanges": fingerprint(ex), "events": fingerprint(ev),
            "rows": len(ts), "events_count": len(ev), "headline": _headline(ts)}


def sweep_entry() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        spec_file = Path(tmp) / "golden_sweep.toml"
        spec_file.write_text(SWEEP)
        # Threads, not processes: the numbers do not depend on the executor (tests/experiments/test_sweep_run.py)
        with ThreadPoolExecutor(max_workers=1) as pool:
            run_sweep(load_spec(spec_file), Path(tmp) / "out", pool)
        runs = query(Path(tmp) / "out", "SELECT * FROM runs")
    return {"runs": fingerprint(runs), "rows": len(runs),
            "headline": {"sum(value)": float(np.nansum(runs["value"].to_numpy(dtype=float)))}}


def compute() -> dict:
    out = {f"{name}@seed{seed}": run_entry(name, seed, n) for name, n in RUNS.items() for seed in SEEDS}
    out["sweep"] = sweep_entry()
    return out


if __name__ == "__main__":
    GOLDEN.write_text(json.dumps(compute(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN}", file=sys.stderr)
