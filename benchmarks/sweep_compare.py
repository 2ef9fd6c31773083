#!/usr/bin/env python
"""Sweep throughput, this tree against older commits: runs per minute of the 2025-2030
baseline at 5,000 households with 2 workers, through the command line users run
(``crypto-abm sweep SPEC --workers 2``), each timed from the command's start to its end
(interpreter start, imports, pool start, every run, every Parquet file written).

Each old commit is checked out in a temporary git worktree and its sweep run from there
with the same interpreter (``cwd`` and ``PYTHONPATH`` the worktree); trees alternate,
``--rounds`` times, each round a fresh sweep folder. Prints one JSON line per sweep, then a
summary: the median runs per minute of each tree and its ratio to this tree's.

    python benchmarks/sweep_compare.py                          # against 33a35b8 and 34eca4d, 2 rounds
    python benchmarks/sweep_compare.py --old 34eca4d --runs 40 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SPEC = """description = "sweep throughput benchmark: the baseline, {runs} seeds"
scenario = "south_asia_2025"
seed = 7
replicates = {runs}
households = {households}
[design]
kind = "grid"
"""


def sweep_seconds(tree: Path, spec: Path, out: Path, workers: int) -> float:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "experiments", "sweep", str(spec), "--out", str(out),
                    "--workers", str(workers), "--quiet"], cwd=tree, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old", nargs="+", default=["33a35b8", "34eca4d"], help="commits to compare with")
    ap.add_argument("--runs", type=int, default=24, help="runs per sweep (default 24)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--households", type=int, default=5000)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="sweep-compare-"))
    trees = {"this tree": ROOT}
    try:
        for commit in args.old:
            path = tmp / f"wt-{commit}"
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), commit],
                           check=True, capture_output=True)
            trees[commit] = path
        spec = tmp / "throughput.toml"
        spec.write_text(SPEC.format(runs=args.runs, households=args.households))
        print(json.dumps({"machine": {"cpus": len(os.sched_getaffinity(0)),
                                      "load_avg_1m": round(os.getloadavg()[0], 2)}}), flush=True)
        per_min: dict[str, list[float]] = {name: [] for name in trees}
        for rnd in range(args.rounds):
            for name, tree in trees.items():
                seconds = sweep_seconds(tree, spec, tmp / f"out-{rnd}-{name.replace(' ', '_')}", args.workers)
                per_min[name].append(60 * args.runs / seconds)
                print(json.dumps({"tree": name, "round": rnd, "runs": args.runs, "seconds": round(seconds, 2),
                                  "runs_per_min": round(per_min[name][-1], 1)}), flush=True)
        new = statistics.median(per_min["this tree"])
        print(json.dumps({"summary": True, "households": args.households, "workers": args.workers,
                          "runs": args.runs, "rounds": args.rounds,
                          "load_avg_1m_end": round(os.getloadavg()[0], 2),
                          "runs_per_min": {k: round(statistics.median(v), 1) for k, v in per_min.items()},
                          "this_tree_over": {k: round(new / statistics.median(v), 2) for k, v in per_min.items()
                                             if k != "this tree"}}), flush=True)
    finally:
        for name, tree in trees.items():
            if tree != ROOT:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
                               capture_output=True)
        subprocess.run(["rm", "-rf", str(tmp)])


if __name__ == "__main__":
    main()
