"""The dashboard's Step, in process: server time of one click (model step plus redraw).

Renders viz/app.py with ``solara.render`` (no server, no browser), waits for the
background counterfactual run, then clicks Step ``--steps`` times and prints one JSON line
with the median, spread and the model/chart split of the page's own timing. This is where
the dashboard's speed is measured; the tests only check that a click advances the date.

    .venv/bin/python benchmarks/dashboard.py [--steps 20]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time

os.environ.setdefault("MPLCONFIGDIR", tempfile.mkdtemp(prefix="mpl-"))

import ipyvuetify as v  # noqa: E402  (after MPLCONFIGDIR, which matplotlib reads at import)
import solara  # noqa: E402

import viz.app  # noqa: E402
import viz.state  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20)
    args = ap.parse_args()

    made = []

    class Recording(viz.state.Controller):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            made.append(self)

    viz.app.Controller = Recording
    t0 = time.perf_counter()
    _, rc = solara.render(viz.app.Page(), handle_error=False)
    first_render_s = time.perf_counter() - t0
    ctl = made[0]
    status = rc.find(v.Html, class_="viz-status").widget
    deadline = time.monotonic() + 300
    while "counterfactual ready" not in status.children[0] and time.monotonic() < deadline:
        time.sleep(0.05)
    step = rc.find(v.Btn, class_="viz-step").widget
    clicks = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        step.click()
        clicks.append((time.perf_counter() - t0) * 1000.0)
    timing = ctl.timing
    print(json.dumps({
        "benchmark": "dashboard_step_in_process",
        "households": ctl.model.config.run.households,
        "first_render_s": round(first_render_s, 2),
        "steps": args.steps,
        "click_median_ms": round(statistics.median(clicks), 1),
        "click_min_ms": round(min(clicks), 1),
        "click_max_ms": round(max(clicks), 1),
        "last_model_ms": round(timing.last_model_ms, 1),
        "last_charts_ms": round(timing.last_charts_ms, 1),
    }))
    rc.close()


if __name__ == "__main__":
    main()
