#!/usr/bin/env python
"""Small runs, today's tree against an older commit: the 2025-2030 baseline at 5,000 households.

Each run is a fresh process that times, separately, the import of the package, the build
of the model and every weekly step to the end, then fingerprints the run's time series
(the values only, sorted, so that they are comparable across versions). The old commit
(default ``33a35b8``, before the speed work) is checked out in a temporary git worktree and
run from there with the same interpreter (``cwd`` and ``PYTHONPATH`` the worktree; each
process reports the file its ``model`` package came from, and the script checks it). New
and old alternate, ``--pairs`` times. Prints one JSON line per run, then a summary line:
the medians of each side, the ratios old / new and, pair by pair, the ratio of the
median step times.

    python benchmarks/small_runs.py                    # 3 pairs against 33a35b8
    python benchmarks/small_runs.py --pairs 5 --old 33a35b8 --households 5000
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

RUN = r"""
import json, sys, time
t0 = time.perf_counter()
import model
from model import build_model
import_s = time.perf_counter() - t0
t0 = time.perf_counter()
m = build_model("south_asia_2025", seed=SEED, households=HOUSEHOLDS)
build_s = time.perf_counter() - t0
steps = []
t_run = time.perf_counter()
while m.t < len(m.dates) - 1:
    t0 = time.perf_counter()
    m.step()
    steps.append(time.perf_counter() - t0)
run_s = time.perf_counter() - t_run
import hashlib
import numpy as np
ts = m.timeseries()
keys = [c for c in ts.columns if c != "value"]
ts = ts.assign(**{c: ts[c].astype(str) for c in keys}).sort_values(keys, kind="stable")
digest = hashlib.sha256("|".join(ts[keys].agg(",".join, axis=1)).encode()
                        + np.ascontiguousarray(ts["value"].to_numpy(dtype=float)).tobytes()).hexdigest()
steps.sort()
print(json.dumps({"model_file": model.__file__, "import_s": import_s, "build_s": build_s,
                  "run_s": run_s, "steps": len(steps), "step_median_ms": 1e3 * steps[len(steps) // 2],
                  "step_p10_ms": 1e3 * steps[len(steps) // 10], "step_p90_ms": 1e3 * steps[9 * len(steps) // 10],
                  "timeseries_sha256": digest[:16]}))
"""


def one_run(tree: Path, households: int, seed: int) -> dict:
    code = RUN.replace("SEED", str(seed)).replace("HOUSEHOLDS", str(households))
    env = {"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin", "HOME": str(Path.home())}
    out = subprocess.run([sys.executable, "-c", code], cwd=tree, env=env, capture_output=True, text=True,
                         check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if not Path(result["model_file"]).resolve().is_relative_to(tree.resolve()):
        raise RuntimeError(f"{tree}: imported model from {result['model_file']}")
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--old", default="33a35b8", help="the commit to compare with (default: 33a35b8)")
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--households", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    worktree = Path(tempfile.mkdtemp(prefix=f"wt-{args.old}-"))
    worktree.rmdir()
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(worktree), args.old], check=True,
                   capture_output=True)
    runs: dict[str, list[dict]] = {"new": [], "old": []}
    try:
        for pair in range(args.pairs):
            order = [("new", ROOT), ("old", worktree)]
            for side, tree in order if pair % 2 == 0 else order[::-1]:
                r = one_run(tree, args.households, args.seed)
                r.update(side=side, pair=pair, commit="working tree" if side == "new" else args.old)
                runs[side].append(r)
                print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in r.items()}), flush=True)
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(worktree)], check=True)

    def med(side: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[side])

    summary = {"summary": True, "households": args.households, "pairs": args.pairs, "old": args.old}
    for key in ("import_s", "build_s", "step_median_ms", "run_s"):
        summary[f"new_{key}"] = round(med("new", key), 4)
        summary[f"old_{key}"] = round(med("old", key), 4)
        summary[f"old_over_new_{key}"] = round(med("old", key) / med("new", key), 2)
    ratios = sorted(o["step_median_ms"] / n["step_median_ms"] for o, n in zip(runs["old"], runs["new"]))
    summary["step_old_over_new_per_pair"] = [round(r, 2) for r in ratios]
    summary["same_numbers"] = len({r["timeseries_sha256"] for side in runs for r in runs[side]}) == 1
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
