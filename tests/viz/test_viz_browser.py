"""The dashboard in a real browser: `solara run viz/app.py` + headless Debian Chromium via Playwright.

Starts the server on a free port in its own process group (HOME and TMPDIR in a temporary
folder, telemetry off, no internet needed), opens the page, checks that every chart and the
network map are drawn and that no front-end asset failed to load, clicks Step and sees the
new date painted (the time it takes is printed; benchmarks/dashboard.py measures it, no test
asserts on it), plays and pauses, downloads a table,
shows an invalid seed's message, changes a control and resets, then runs to the end.
The server is always stopped (fixture teardown kills its whole process group).

Screenshots go to tests/artifacts/screenshots/ (override with VIZ_SHOT_DIR).
With CI=true a missing browser or Playwright fails the test; otherwise it is skipped.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from experiments.cli import DASHBOARD_ENV

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "viz" / "app.py"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SHOT_DIR = Path(os.environ.get("VIZ_SHOT_DIR", ROOT / "tests" / "artifacts" / "screenshots"))
IN_CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SERVER_START_TIMEOUT = 120  # s
RENDER_TIMEOUT_MS = 90_000
IMAGES = ("network",)  # drawn on the server as PNG
LIVE = ("hashrate", "price", "hashprice", "volume", "exchange", "adoption", "power")  # ECharts in the browser
STEP_LINE = re.compile(r"\[viz\] step (\d+) -> (\S+): model ([\d.]+) ms, charts ([\d.]+) ms, step\+redraw ([\d.]+) ms")


def _browser_problem() -> str | None:
    """Why the browser test cannot run here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed"
    if not os.path.exists(CHROMIUM):
        return f"no browser at {CHROMIUM} (apt-get install -y chromium)"
    return None


def _missing(reason: str):
    if IN_CI:  # a CI run without the browser is a failure of the test, never a silent skip
        pytest.fail(f"{reason} (CI=true: the browser test must run)", pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _kill_group(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def viz_server(tmp_path_factory):
    """(base URL, log path) of a fresh `solara run viz/app.py`; the process group is always killed."""
    home = tmp_path_factory.mktemp("viz_home")
    log_path = home / "server.log"
    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    env = {**os.environ, "HOME": str(home), "TMPDIR": str(home), "MPLCONFIGDIR": str(home / "mpl"),
           **DASHBOARD_ENV, "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "solara", "run", str(APP), "--host", "127.0.0.1", "--port", str(port),
           "--production", "--no-open", "--no-check-version"]
    t0 = time.perf_counter()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=env,
                                start_new_session=True)  # own process group
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(f"solara exited early (rc={proc.returncode}):\n{log_path.read_text()}")
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"solara not serving after {SERVER_START_TIMEOUT} s:\n{log_path.read_text()}")
            time.sleep(0.25)
        print(f"\n[timing] server start -> HTTP 200: {time.perf_counter() - t0:.2f} s")
        yield url, log_path
    finally:
        _kill_group(proc)
        print(f"[server log] {log_path}")


@pytest.fixture(scope="module")
def viz_browser():
    """Debian's Chromium driven by Playwright (named so it never clashes with pytest-playwright's `browser`).

    None when there is no browser: the test then fails under CI=true and is skipped otherwise."""
    if _browser_problem() is not None:
        yield None
        return
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def _date(page) -> str:
    return page.locator(".viz-date").inner_text().strip()


def _shot(page, name: str) -> None:
    SHOT_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOT_DIR / f"{name}.png"))


def _charts_drawn(page) -> dict:
    return page.evaluate("""names => Object.fromEntries(names.map(n => {
        const img = document.querySelector('img.viz-' + n);
        return [n, img ? [img.complete, img.naturalWidth, img.naturalHeight, img.clientWidth] : null];
    }))""", list(IMAGES))


def _step_and_time(page) -> tuple[str, str, float]:
    before = _date(page)
    t0 = time.perf_counter()
    page.locator(".viz-step").click()
    # polling on animation frames: true in the first frame painted with the new date
    page.wait_for_function("b => document.querySelector('.viz-date').innerText.trim() !== b", arg=before,
                           polling="raf", timeout=30_000)
    return before, _date(page), time.perf_counter() - t0


def _server_steps(log_path: Path) -> list[tuple[int, float]]:
    return [(int(m.group(1)), float(m.group(5))) for m in STEP_LINE.finditer(log_path.read_text(errors="replace"))]


@pytest.mark.slow
def test_dashboard_in_browser(viz_browser, request, tmp_path):
    if viz_browser is None:  # checked in the test itself, so that under CI it is a FAILED test
        _missing(_browser_problem() or "no browser")
    url, log_path = request.getfixturevalue("viz_server")  # start the server only when there is a browser
    context = viz_browser.new_context(viewport={"width": 1500, "height": 2300}, accept_downloads=True)
    page = context.new_page()
    problems: list[str] = []
    outside: list[str] = []  # every request that would leave the machine is blocked and listed

    def local_only(route):
        if route.request.url.startswith((url, "data:", "blob:")):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", local_only)
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    try:
        # ---------------------------------------------------------------- first render
        t0 = time.perf_counter()
        page.goto(url, wait_until="domcontentloaded")
        page.locator(".viz-date").wait_for(timeout=RENDER_TIMEOUT_MS)
        for name in IMAGES:
            page.locator(f"img.viz-{name}").wait_for(timeout=RENDER_TIMEOUT_MS)
        for name in LIVE:
            page.locator(f".viz-{name} canvas").first.wait_for(timeout=RENDER_TIMEOUT_MS)
        page.wait_for_function("""() => [...document.querySelectorAll('img.viz-chart')]
                                  .every(i => i.complete && i.naturalWidth > 300)""", timeout=RENDER_TIMEOUT_MS)
        print(f"[timing] first render (all charts painted): {time.perf_counter() - t0:.2f} s")
        drawn = _charts_drawn(page)
        for name, info in drawn.items():
            assert info and info[0] and info[1] > 300 and info[3] > 200, (name, info)
        start = _date(page)
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", start), start
        assert page.locator(".viz-focus-country").count() == 1
        assert page.locator(".viz-shock").count() >= 1
        _shot(page, "01_first_render")

        # ---------------------------------------------------------------- step: click to paint
        page.wait_for_selector("text=counterfactual ready", timeout=RENDER_TIMEOUT_MS)
        paints = []
        for _ in range(5):
            before, after, seconds = _step_and_time(page)
            assert after > before, (before, after)
            paints.append(seconds)
        print("[timing] Step click -> new date painted: "
              + ", ".join(f"{s * 1000:.0f}" for s in paints) + " ms")
        page.wait_for_timeout(400)
        _shot(page, "02_after_steps")
        steps = _server_steps(log_path)
        assert len(steps) >= 5, log_path.read_text()
        manual = [ms for _, ms in steps[-5:]]
        print("[timing] server step+redraw for those steps: " + ", ".join(f"{ms:.0f}" for ms in manual)
              + f" ms (median {statistics.median(manual):.0f})")

        # ---------------------------------------------------------------- the ensemble band, computed in the background
        page.wait_for_selector("text=ensemble band ready", timeout=RENDER_TIMEOUT_MS * 3)

        # ---------------------------------------------------------------- interactive charts
        page.locator(".viz-market-card").scroll_into_view_if_needed()
        for name in LIVE:
            # built at week 0 (or when the counterfactual arrived), then fed the new points: 6 weeks so far
            page.wait_for_function("n => document.querySelector('.viz-' + n).dataset.points === '6'", arg=name,
                                   timeout=30_000)
        chart = page.locator(".viz-hashprice")
        box = chart.bounding_box()
        page.mouse.move(box["x"] + box["width"] * 0.08, box["y"] + box["height"] * 0.5)
        tip = page.locator(".viz-hashprice div", has_text="USD/PH/day").first
        tip.wait_for(timeout=10_000)
        assert re.search(r"20\d\d-\d\d-\d\d", tip.inner_text()), tip.inner_text()  # the hovered date
        assert re.search(r"hashprice\s+[\d.,]+ USD/PH/day", tip.inner_text()), tip.inner_text()
        _shot(page, "02b_market_hover")
        assert chart.get_attribute("data-zoom") is None
        page.mouse.wheel(0, -600)
        page.wait_for_function("() => document.querySelector('.viz-hashprice').dataset.zoom", timeout=10_000)
        assert chart.get_attribute("data-zoom") != "0.0-100.0", "the wheel must zoom into the run"

        # ---------------------------------------------------------------- a second session has its own model
        other = viz_browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        try:
            other.goto(url, wait_until="domcontentloaded")
            other.locator(".viz-date").wait_for(timeout=RENDER_TIMEOUT_MS)
            assert _date(other) == start, "a new browser session must not see another session's run"
        finally:
            other.context.close()
        assert _date(page) > start

        # ---------------------------------------------------------------- play and pause
        before = _date(page)
        page.locator(".viz-play").click()
        page.wait_for_function("b => document.querySelector('.viz-date').innerText.trim() > b", arg=before,
                               timeout=30_000)
        page.wait_for_timeout(1500)
        _shot(page, "03_playing")
        page.locator(".viz-play").click()  # now "Pause"
        page.locator(".viz-play", has_text="Play").wait_for(timeout=10_000)
        page.wait_for_timeout(800)
        paused = _date(page)
        assert paused > before
        page.wait_for_timeout(1500)
        assert _date(page) == paused, "still advancing after Pause"

        # ---------------------------------------------------------------- a download
        with page.expect_download(timeout=30_000) as info:
            page.locator(".viz-downloads button", has_text="events.csv").click()
        saved = tmp_path / info.value.suggested_filename
        info.value.save_as(saved)
        assert saved.read_text().splitlines()[0] == "date,country,kind,from,to,cause"
        assert paused in saved.name

        # ---------------------------------------------------------------- invalid input
        seed = page.locator(".viz-seed input")
        seed.fill("abc")
        seed.press("Enter")
        page.locator(".viz-message").wait_for(timeout=10_000)
        assert "not a whole number" in page.locator(".viz-message").inner_text()
        assert _date(page) == paused  # the run was left alone
        _shot(page, "04_invalid_seed")

        # ---------------------------------------------------------------- a large rebuild: computing, then the model
        # (the invalid seed stays as typed and red meanwhile: a stale field cannot show a value the model lacks)
        households = page.locator(".viz-households input")
        households.fill("60000")
        households.press("Enter")
        page.locator(".viz-computing-text").wait_for(timeout=30_000)  # visible while the model is built
        assert page.locator(".viz-step").is_disabled()
        page.locator(".viz-computing-text").wait_for(state="detached", timeout=120_000)
        page.wait_for_function("() => document.querySelector('.viz-week').innerText.includes('60,000 households')",
                               timeout=30_000)
        assert seed.input_value() == "abc"
        assert page.locator(".viz-seed .error--text").count() >= 1, "the invalid seed is no longer marked"
        households.fill("20000")
        households.press("Enter")
        page.wait_for_function("() => document.querySelector('.viz-week').innerText.includes('20,000 households')",
                               timeout=120_000)

        # ---------------------------------------------------------------- change a control, reset
        seed.fill("5")
        seed.press("Enter")
        page.wait_for_function("() => document.querySelector('.viz-week').innerText.includes('seed 5')",
                               timeout=30_000)
        page.locator(".viz-message").wait_for(state="hidden", timeout=10_000)  # the message went away
        assert _date(page) == start  # a new model starts at the start date
        _step_and_time(page)
        _step_and_time(page)
        assert _date(page) > start
        page.locator(".viz-reset").click()
        page.wait_for_function("s => document.querySelector('.viz-date').innerText.trim() === s", arg=start,
                               timeout=30_000)
        assert "seed 5" in page.locator(".viz-week").inner_text()
        _shot(page, "05_after_reset")

        # ---------------------------------------------------------------- runs side by side, across a reload
        page.locator(".viz-keep").click()
        page.locator(".viz-compare canvas").first.wait_for(timeout=30_000)
        page.wait_for_function("() => document.querySelector('.viz-compare').dataset.series === '2'",
                               timeout=30_000)  # this run and the kept one
        page.reload(wait_until="domcontentloaded")
        page.locator(".viz-date").wait_for(timeout=RENDER_TIMEOUT_MS)
        page.locator(".viz-compare canvas").first.wait_for(timeout=RENDER_TIMEOUT_MS)
        page.wait_for_function("() => document.querySelector('.viz-compare').dataset.series === '2'",
                               timeout=30_000)  # the kept run is still there after the reload
        seed = page.locator(".viz-seed input")

        # ---------------------------------------------------------------- the whole run, default settings
        seed.fill("0")
        seed.press("Enter")
        page.wait_for_function("() => document.querySelector('.viz-week').innerText.includes('seed 0,')",
                               timeout=30_000)
        page.wait_for_selector("text=counterfactual ready", timeout=RENDER_TIMEOUT_MS)
        page.locator(".viz-end").click()
        page.wait_for_function("() => document.querySelector('.viz-date').innerText.trim() >= '2030'",
                               timeout=60_000)
        page.wait_for_timeout(1500)
        assert all(v and v[1] > 300 for v in _charts_drawn(page).values())
        weeks = page.evaluate("() => document.querySelector('.viz-price').dataset.points")
        assert int(weeks) > 300, weeks  # the whole 2025-2030 run arrived point by point
        _shot(page, "06_run_to_end")

        steps = _server_steps(log_path)
        all_ms = [ms for _, ms in steps]
        print(f"[timing] server step+redraw over all {len(all_ms)} single steps: median "
              f"{statistics.median(all_ms):.0f} ms, max {max(all_ms):.0f} ms")
        failed_assets = [p for p in problems if "/_solara/cdn/" in p or "/static/" in p]
        assert not failed_assets, f"front-end assets failed to load (offline?): {failed_assets}"
        assert not [p for p in problems if p.startswith("pageerror")], problems
        assert not outside, f"the page asked for something off this machine: {outside}"
        assert "samesite" not in log_path.read_text(), "the cookie warning is logged again"
    finally:
        context.close()
