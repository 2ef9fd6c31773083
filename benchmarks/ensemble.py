"""An ensemble's wall time: prints one JSON line.

    .venv/bin/python benchmarks/ensemble.py       # 200 members, fitted, 5,000 households, to 2030 (~2-4 min)
    .venv/bin/python benchmarks/ensemble.py --members 20 --until 2026-12-31   # quicker
    .venv/bin/python benchmarks/ensemble.py --parameters all   # fitted draws and the ranged assumptions' hypercube

Issue 17 asks for ``--members 200 --parameters fitted`` at 5,000 households in about two
minutes on 2 cores. The line splits the members' runs (a process pool of ``--workers``,
pool start included) from the summary (bands, outcomes, variance split, fan charts,
report.md), and says how busy the machine was (``load_avg_1min`` at the end): timings
depend on the machine and its load, so this is a script and not a test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from experiments.ensemble import EnsembleOptions, run_ensemble
from experiments.ensemble.report import summarise


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=200)
    ap.add_argument("--households", type=int, default=5000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--price-paths", type=int, default=None)
    ap.add_argument("--parameters", choices=["point", "fitted", "all"], default="fitted")
    ap.add_argument("--until", type=dt.date.fromisoformat, default=None)
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-ensemble-"))
    try:
        opts = EnsembleOptions(scenario="south_asia_2025", members=args.members, parameters=args.parameters,
                               price_paths=args.price_paths, households=args.households, until=args.until,
                               workers=args.workers, progress=False)
        t0 = time.perf_counter()
        _, report = run_ensemble(opts, folder / "e")
        t1 = time.perf_counter()
        summarise(folder / "e")
        t2 = time.perf_counter()
        print(json.dumps({"members": args.members, "households": args.households, "workers": args.workers,
                          "parameters": args.parameters,
                          "until": str(args.until or "scenario end"), "price_paths": args.price_paths,
                          "done": report.done, "failed": report.failed, "members_s": round(t1 - t0, 1),
                          "summary_s": round(t2 - t1, 1), "total_s": round(t2 - t0, 1),
                          "load_avg_1min": round(os.getloadavg()[0], 2)}))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
