#!/usr/bin/env python
"""The whole model (all agent types, the baseline scenario) at 10k, 100k and 1M households.

Each size runs in a process of its own, so its peak memory is its own. In that process:
build the baseline model, time ``--steps`` weekly steps, read the peak resident memory,
then time the plain numpy contagion reference (``benchmarks/households.py``'s rule) on a
graph with the same number of nodes and of edges as the model's social graph. Prints one
JSON line per size: build seconds, median step seconds, cost per household-step, peak
RSS, the reference's step seconds and the ratio model / reference.

    python benchmarks/whole_model.py                 # 10k, 100k, 1M
    python benchmarks/whole_model.py --sizes 100000 --steps 30
    python benchmarks/whole_model.py --sizes 1000000 --pairs 20   # model and reference alternating
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

import numpy as np
from households import contagion_step, outbreak, random_graph  # the same rule as benchmarks/households.py


def reference_step_s(n: int, n_edges: int, steps: int, seed: int = 0) -> float:
    """Median step time of the numpy contagion rule on a random graph of n nodes, n_edges ties."""
    rng = np.random.default_rng(seed)
    adj, state = random_graph(n, n_edges, rng), outbreak(n, rng)
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        contagion_step(adj, state, rng)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def one_size(n: int, steps: int) -> dict:
    from model import build_model

    t0 = time.perf_counter()
    m = build_model("south_asia_2025", seed=0, households=n)
    build = time.perf_counter() - t0
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        m.step()
        times.append(time.perf_counter() - t0)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    n_edges = m.households.adjacency.nnz // 2
    step = statistics.median(times)
    ref = reference_step_s(n, n_edges, steps)
    return {"households": n, "edges": n_edges, "build_s": round(build, 3), "step_s": round(step, 5),
            "ns_per_household_step": round(step / n * 1e9, 2), "peak_rss_mb": round(peak_mb, 1),
            "household_agents": m.households is not None and m.households.agents_created,
            "numpy_reference_step_s": round(ref, 5), "model_over_reference": round(step / ref, 3)}


def pairs(n: int, count: int, warmup: int = 3) -> dict:
    """The model's step against the numpy reference's, alternating in one process: ``count``
    pairs (after ``warmup`` of each), the ratio of each pair, its median and spread."""
    from model import build_model

    m = build_model("south_asia_2025", seed=0, households=n)
    rng = np.random.default_rng(0)
    adj, state = random_graph(n, m.households.adjacency.nnz // 2, rng), outbreak(n, rng)
    ratios, model_s, ref_s = [], [], []
    for k in range(warmup + count):
        t0 = time.perf_counter()
        m.step()
        t1 = time.perf_counter()
        contagion_step(adj, state, rng)
        t2 = time.perf_counter()
        if k >= warmup:
            model_s.append(t1 - t0)
            ref_s.append(t2 - t1)
            ratios.append((t1 - t0) / (t2 - t1))
    q = np.quantile(ratios, [0.0, 0.25, 0.5, 0.75, 1.0])
    return {"households": n, "pairs": count, "model_step_s_median": round(statistics.median(model_s), 5),
            "numpy_reference_step_s_median": round(statistics.median(ref_s), 5),
            "model_over_reference_median": round(float(q[2]), 3),
            "spread_min_q25_q75_max": [round(float(v), 3) for v in (q[0], q[1], q[3], q[4])]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--pairs", type=int, help="alternate model and reference steps this many times at the "
                    "largest size instead (the 1M ratio's median and spread)")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)  # internal: run one size here
    args = ap.parse_args()
    if args.pairs:
        print(json.dumps(pairs(max(args.sizes), args.pairs)), flush=True)
        return
    if args.one:
        print(json.dumps(one_size(args.one, args.steps)), flush=True)
        return
    results = []
    for n in args.sizes:
        out = subprocess.run([sys.executable, __file__, "--one", str(n), "--steps", str(args.steps)],
                             capture_output=True, text=True, check=True)
        row = json.loads(out.stdout.strip().splitlines()[-1])
        results.append(row)
        print(json.dumps(row), flush=True)
    if len(results) >= 2 and results[0]["households"] < results[-1]["households"]:
        small = next((r for r in results if r["households"] == 100_000), results[-2])
        big = results[-1]
        print(json.dumps({"per_household_step_ratio": round(big["ns_per_household_step"]
                                                              / small["ns_per_household_step"], 3),
                          "between": [small["households"], big["households"]]}), flush=True)


if __name__ == "__main__":
    main()
