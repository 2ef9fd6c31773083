"""Sweep throughput and parent memory: prints JSON lines.

    .venv/bin/python benchmarks/sweep_throughput.py            # ~1 min on 2 cores
    .venv/bin/python benchmarks/sweep_throughput.py --runs 8 --memory-runs 60   # quicker

1. Runs/s with 1 and 2 process-pool workers for runs of ~1.2 s (20,000 household agents,
   2025-01-01 to 2028-07-01), and the speed-up ratio (the aim is >= 1.7x on 2 cores).
   ``runs_per_s`` counts the whole sweep from the call (pool start included, the fork
   server already warm); ``steady_runs_per_s`` counts from the first wave of completions
   to the last, i.e. what a long sweep sees.
2. The parent's resident memory as a sweep of many small runs goes on (current RSS and
   peak RSS at checkpoints): results stream to disk, so it should stay flat.

Why a script and not a test: timings depend on the machine and its load; run it on an
otherwise idle machine (``machine_busy_pct`` near 50 with 1 worker and 100 with 2 on 2 cores
says nothing else competed; a mean_run_s that grows with 2 workers says something did).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

from experiments.sweep.runner import open_executor, run_sweep
from experiments.sweep.spec import load_spec

SPEC = """
scenario = "south_asia_2025"
seed = 1
replicates = {replicates}
until = {until}
households = {households}
[design]
kind = "grid"
[parameters."shocks.pak_allocation.mw"]
values = {values}
"""


def write_spec(folder: Path, name: str, points: int, replicates: int, households: int, until: str) -> Path:
    values = [500 * (i + 1) for i in range(points)]
    path = folder / f"{name}.toml"
    path.write_text(SPEC.format(replicates=replicates, until=until, households=households, values=values))
    return path


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, to tell whether something else ran too."""
    with open("/proc/stat") as fh:
        user, nice, system, idle, iowait, irq, softirq, steal = map(int, fh.readline().split()[1:9])
    total = user + nice + system + idle + iowait + irq + softirq + steal
    return total - idle - iowait, total


def emit(**record) -> None:
    print(json.dumps(record), flush=True)


def throughput(tmp: Path, workers: int, runs: int, households: int, until: str) -> dict:
    spec = load_spec(write_spec(tmp, f"tp{workers}", runs, 1, households, until))
    done: list[float] = []
    run_seconds: list[float] = []

    def on_result(result: dict) -> None:
        done.append(time.perf_counter())
        if result.get("seconds"):
            run_seconds.append(result["seconds"])

    busy0, total0 = cpu_ticks()
    start = time.perf_counter()
    with open_executor("process", workers) as (ex, slots, _label):
        report = run_sweep(spec, tmp / f"out{workers}", ex, slots=slots, on_result=on_result)
    wall = time.perf_counter() - start
    busy1, total1 = cpu_ticks()
    assert report.failed == 0 and report.done == runs, report
    first_wave = done[workers - 1]
    steady = (runs - workers) / (done[-1] - first_wave) if runs > workers and done[-1] > first_wave else None
    record = {"bench": "throughput", "workers": workers, "runs": runs, "households": households, "until": until,
              "seconds": round(wall, 2), "runs_per_s": round(runs / wall, 3),
              "steady_runs_per_s": round(steady, 3) if steady else None,
              "mean_run_s": round(sum(run_seconds) / len(run_seconds), 3),
              # all cores' busy share while it ran: ~workers/cpus when nothing else competes
              "machine_busy_pct": round(100 * (busy1 - busy0) / max(1, total1 - total0), 1),
              "parent_peak_rss_mb": round(peak_rss_mb(), 1)}
    emit(**record)
    return record


def memory(tmp: Path, runs: int, workers: int) -> None:
    spec = load_spec(write_spec(tmp, "mem", runs // 10, 10, 1800, "2025-04-01"))
    checkpoints = {c for c in (1, runs // 8, runs // 4, runs // 2, runs) if c > 0}
    count = 0

    def on_result(_result: dict) -> None:
        nonlocal count
        count += 1
        if count in checkpoints:
            emit(bench="parent_rss", runs_done=count, rss_mb=round(rss_mb(), 1), peak_rss_mb=round(peak_rss_mb(), 1))

    with open_executor("process", workers) as (ex, slots, _label):
        run_sweep(spec, tmp / "outmem", ex, slots=slots, on_result=on_result)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=12, help="runs per throughput measurement (default 12)")
    ap.add_argument("--households", type=int, default=20000)
    ap.add_argument("--until", default="2028-07-01")
    ap.add_argument("--memory-runs", type=int, default=200, help="runs of the memory sweep (default 200)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="sweep-bench-"))
    try:
        emit(bench="machine", cpus=len(os.sched_getaffinity(0)), load_avg_1m=round(os.getloadavg()[0], 2))
        # Warm the fork server (it imports the model once), so both measurements start equal.
        warm = load_spec(write_spec(tmp, "warm", 1, 1, 1800, "2025-02-01"))
        with open_executor("process", 1) as (ex, slots, _):
            run_sweep(warm, tmp / "outwarm", ex, slots=slots)
        one = throughput(tmp, 1, args.runs, args.households, args.until)
        two = throughput(tmp, 2, args.runs, args.households, args.until)
        ratio = two["runs_per_s"] / one["runs_per_s"]
        steady = (two["steady_runs_per_s"] / one["steady_runs_per_s"]
                  if two["steady_runs_per_s"] and one["steady_runs_per_s"] else None)
        emit(bench="speedup", workers="2 vs 1", ratio=round(ratio, 2),
             steady_ratio=round(steady, 2) if steady else None,
             target=1.7, ok=ratio >= 1.7)
        memory(tmp, args.memory_runs, 2)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
