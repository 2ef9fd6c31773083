"""The dashboard in a real browser: Step click to paint, Play rate, rebuild after a settings change.

Serves viz/app.py with ``solara run`` and drives Debian's Chromium with Playwright (every
request off this machine blocked), at the default 20,000 households:

* **step**: click Step, wait for the animation frame that paints the new date; ``--steps``
  times after the background counterfactual is ready; with the server's own timing of each
  step (model, chart data, step plus redraw) read from its log;
* **rebuild**: type a new seed and press Enter, until the page shows the new model's first
  date with every chart fed (its ``data-points`` back to 1);
* **play**: weeks advanced per second over ``--play-seconds`` of Play (1 week per frame).

Prints one JSON line. ``--screenshot FILE`` also saves the page after keeping a run to
2027 and running another seed to the end, its ensemble band drawn (the README's picture). The tests never assert
on these times; the targets are in benchmarks/README.md.

    .venv/bin/python benchmarks/dashboard_browser.py [--steps 30] [--screenshot docs/figures/dashboard.png]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

from experiments.cli import DASHBOARD_ENV

ROOT = Path(__file__).resolve().parents[1]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
STEP_LINE = re.compile(r"\[viz\] step (\d+) -> \S+: model ([\d.]+) ms, charts ([\d.]+) ms, step\+redraw ([\d.]+) ms")


def serve(home: Path) -> tuple[subprocess.Popen, str, Path]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = home / "server.log"
    env = {**os.environ, "HOME": str(home), "TMPDIR": str(home), "MPLCONFIGDIR": str(home / "mpl"),
           **DASHBOARD_ENV, "PYTHONUNBUFFERED": "1"}
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "solara", "run", str(ROOT / "viz" / "app.py"), "--host",
                                 "127.0.0.1", "--port", str(port), "--production", "--no-open", "--no-check-version"],
                                stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    for _ in range(480):
        try:
            urllib.request.urlopen(url, timeout=2)
            return proc, url, log
        except OSError:
            time.sleep(0.25)
    raise SystemExit(f"the server did not start: {log.read_text()}")


def date(page) -> str:
    return page.locator(".viz-date").inner_text().strip()


def step(page) -> float:
    before = date(page)
    t0 = time.perf_counter()
    page.locator(".viz-step").click()
    page.wait_for_function("b => document.querySelector('.viz-date').innerText.trim() !== b", arg=before,
                           polling="raf", timeout=60_000)
    return (time.perf_counter() - t0) * 1000


def measure(page, log: Path, steps: int, play_seconds: float) -> dict:
    page.wait_for_selector("text=counterfactual ready", timeout=120_000)
    clicks = [step(page) for _ in range(steps)]
    server = [(float(m[1]), float(m[2]), float(m[3])) for m in STEP_LINE.findall(log.read_text())][-steps:]
    seed = page.locator(".viz-seed input")
    seed.fill("11")
    t0 = time.perf_counter()
    seed.press("Enter")
    page.wait_for_function("""() => document.querySelector('.viz-week').innerText.includes('seed 11,')
        && [...document.querySelectorAll('.viz-live-chart')].every(c => c.dataset.points === '1')""",
                           polling="raf", timeout=120_000)
    rebuild = (time.perf_counter() - t0) * 1000
    week = lambda: int(page.locator(".viz-week").inner_text().split()[1])  # noqa: E731
    start = week()
    page.locator(".viz-play").click()
    time.sleep(play_seconds)
    page.locator(".viz-play").click()
    played = week() - start

    def spread(xs):
        return {"median": round(statistics.median(xs), 1), "min": round(min(xs), 1), "max": round(max(xs), 1)}

    return {"households": 20000, "steps": steps, "click_to_paint_ms": spread(clicks),
            "server_step_ms": spread([s[2] for s in server]), "server_model_ms": spread([s[0] for s in server]),
            "server_charts_ms": spread([s[1] for s in server]),
            "play_weeks_per_s": round(played / play_seconds, 2), "rebuild_ms": round(rebuild, 1),
            "load_avg_1min": os.getloadavg()[0]}


def picture(page, path: Path) -> None:
    """A run kept at 2027, then seed 3 run to the end beside it."""
    page.locator(".viz-reset").click()
    page.wait_for_function("() => document.querySelector('.viz-week').innerText.startsWith('week 0')")
    for _ in range(104):  # two years
        step(page)
    page.locator(".viz-keep").click()
    page.locator(".viz-seed input").fill("3")
    page.locator(".viz-seed input").press("Enter")
    page.wait_for_function("() => document.querySelector('.viz-week').innerText.includes('seed 3,')")
    page.wait_for_selector("text=counterfactual ready", timeout=120_000)
    page.wait_for_selector("text=ensemble band ready", timeout=300_000)
    page.locator(".viz-end").click()
    page.wait_for_function("() => document.querySelector('.viz-date').innerText.trim() >= '2030'", timeout=120_000)
    page.wait_for_timeout(2000)
    path.parent.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1500, "height": 2500})  # the page scrolls inside: show it whole
    page.wait_for_timeout(1500)
    page.screenshot(path=str(path))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--play-seconds", type=float, default=10.0)
    ap.add_argument("--screenshot", type=Path)
    args = ap.parse_args()
    home = Path(tempfile.mkdtemp(prefix="viz-bench-"))
    proc, url, log = serve(home)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"), args=FLAGS)
            page = browser.new_page(viewport={"width": 1500, "height": 1200})
            outside = []
            page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(url)
                       else (outside.append(r.request.url), r.abort()))
            page.goto(url)
            page.locator(".viz-price canvas").first.wait_for(timeout=120_000)
            result = measure(page, log, args.steps, args.play_seconds)
            result["blocked_requests"] = len(outside)
            print(json.dumps(result))
            if args.screenshot:
                picture(page, args.screenshot)
            browser.close()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)


if __name__ == "__main__":
    main()
