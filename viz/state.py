"""Per-session state of the dashboard and the actions on it (apply settings, step, reset).

One :class:`Controller` is made per browser session (``solara.use_memo`` in the page),
so every session has its own settings, model, counterfactual and charts; nothing mutable
lives at module level. Its reactive values are what the components read:

* ``settings``: the :class:`~viz.settings.Settings` in force (the controls show these);
* ``live``: the session's :class:`Live` run (model + generation number, replaced on a
  rebuild, stepped in place);
* ``tick``: bumped after every step, so exactly the components that show the run redraw;
* ``playing``, ``message`` (a user-facing error, e.g. a ScenarioError), ``busy``;
* ``field_errors`` / ``field_texts``: per text field, the message and the text typed while
  it is invalid. A field keeps both until a valid value is committed to it or Reset, so a
  field is either red with its message or shows exactly the value the model uses.

Changing a model input (scenario, seed, households, any dotted parameter) rebuilds the
model at the start date, like Mesa's SolaraViz does on a parameter change; view choices
(focus country, counterfactual shocks, exchange country) do not touch the model.
Stepping times the model step and the redraw that follows (logged per step on the
``viz.timing`` logger, shown in the page).
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field

import solara

from viz.data import RunArrays
from viz.kept_runs import KeptRuns
from viz.settings import InputError, Settings, build, describe_error, initial_settings

log = logging.getLogger("viz.timing")
if not log.handlers:  # print timings to the server's stdout even when logging is not configured
    _handler = logging.StreamHandler(sys.stdout)
    _handler.setFormatter(logging.Formatter("[viz] %(message)s"))
    log.addHandler(_handler)
    log.setLevel(logging.INFO)
    log.propagate = False


def session_id() -> str:
    """The browser session's id (Solara keeps it in a cookie, so a reload keeps it); outside a
    served page (tests rendering in-process) a fresh one."""
    try:
        return solara.get_session_id()
    except RuntimeError:  # no kernel context: not served
        return uuid.uuid4().hex


FRAME_SECONDS = 0.06  # shortest time between two frames while playing (the redraw paces it beyond that)
#: A rebuild with more households than this runs in the background (measured: ~0.2 s at
#: 20,000 households, ~2.6 s at 200,000), with the page showing that it is computing.
SYNC_HOUSEHOLDS = 50_000


def model_key(s: Settings) -> tuple:
    """The settings that define the model (the rest are view choices)."""
    return s.scenario, s.seed, s.households, s.params


@dataclass(eq=False)
class Live:
    model: object
    settings: Settings  # the settings the model was built from
    generation: int

    @property
    def key(self) -> tuple:
        return model_key(self.settings)


@dataclass
class Timing:
    """Server time per step: the model step alone, and step plus redraw of everything shown."""

    count: int = 0
    last_model_ms: float = 0.0
    last_total_ms: float = 0.0
    sum_total_ms: float = 0.0
    max_total_ms: float = 0.0
    pending: tuple | None = None  # (t0, model_ms, t) while a step's redraw is under way
    history: list = field(default_factory=list)
    drawn: threading.Event = field(default_factory=threading.Event)

    charts_ms: float = 0.0        # chart drawing (matplotlib + PNG) of the pending step
    last_charts_ms: float = 0.0

    def start(self, t0: float, model_ms: float, t: int, what: str = "step") -> None:
        self.pending = (t0, model_ms, t, what)
        self.charts_ms = 0.0
        self.drawn.clear()

    def timed(self, fn, *args, **kwargs):
        """Call a chart's update and add its time to the pending step's chart time."""
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            self.charts_ms += (time.perf_counter() - t0) * 1000.0

    def finish(self, date) -> float | None:
        if self.pending is None:
            self.drawn.set()
            return None
        t0, model_ms, t, what = self.pending
        self.pending = None
        self.drawn.set()
        total = (time.perf_counter() - t0) * 1000.0
        if what != "step":  # a jump of many weeks (To end, several weeks per frame): logged, not averaged
            log.info("%s to step %d (%s): model %.1f ms, charts %.1f ms, total %.1f ms", what, t, date, model_ms,
                     self.charts_ms, total)
            return total
        self.count += 1
        self.last_model_ms, self.last_total_ms, self.last_charts_ms = model_ms, total, self.charts_ms
        self.sum_total_ms += total
        self.max_total_ms = max(self.max_total_ms, total)
        self.history.append(total)
        del self.history[:-500]
        log.info("step %d -> %s: model %.1f ms, charts %.1f ms, step+redraw %.1f ms", t, date, model_ms,
                 self.charts_ms, total)
        return total

    @property
    def mean_total_ms(self) -> float:
        return self.sum_total_ms / self.count if self.count else 0.0

    def summary(self) -> str:
        if not self.count:
            return "server time per step: (no step yet)"
        return (f"server time per step: last {self.last_total_ms:.0f} ms (model {self.last_model_ms:.0f} ms, "
                f"charts {self.last_charts_ms:.0f} ms), "
                f"mean {self.mean_total_ms:.0f} ms, max {self.max_total_ms:.0f} ms over {self.count} step(s)")


class Controller:
    """Everything one session can do; components call these methods from event handlers."""

    def __init__(self, settings: Settings | None = None):
        self.settings = solara.reactive(settings or initial_settings())
        self.live: solara.Reactive[Live | None] = solara.reactive(None)
        self.tick = solara.reactive(0)
        self.playing = solara.reactive(False)
        self.message: solara.Reactive[str | None] = solara.reactive(None)
        # fields whose committed text is invalid: field -> message, and field -> the text typed.
        # An invalid field keeps both until a valid value is committed to it or Reset; other
        # fields' edits leave them alone (the model keeps the field's last valid value).
        self.field_errors: solara.Reactive[dict] = solara.reactive({})
        self.field_texts: solara.Reactive[dict] = solara.reactive({})
        self.weeks_per_frame = solara.reactive(1)
        # a rebuild under way in the background: (settings, field) of the latest edit; an edit
        # made meanwhile replaces it, and only the latest is installed (older builds are dropped)
        self.requested: solara.Reactive[tuple[Settings, str | None] | None] = solara.reactive(None)
        self.timing = Timing()
        self.timing.drawn.set()  # nothing pending yet
        # runs kept side by side, on disk under the browser session (they survive a reload)
        self.kept_store = KeptRuns(session_id())
        self.kept = solara.reactive(self.kept_store.load())
        self.lock = threading.RLock()  # one model step or rebuild at a time
        self._generation = 0
        try:
            self.live.value = self._build(self.settings.peek())
        except Exception as err:  # a broken scenario file: show it, keep the page up
            self.message.value = describe_error(err)

    # ------------------------------------------------------------ building
    def _build(self, s: Settings) -> Live:
        model = build(s)
        self._generation += 1
        return Live(model=model, settings=s, generation=self._generation)

    def attach(self, render_context) -> None:
        """Remember the session's render context, to batch several state changes into one redraw."""
        self._rc = render_context

    def batch(self):
        rc = getattr(self, "_rc", None)
        return rc if rc is not None else contextlib.nullcontext()

    def apply(self, new: Settings, field_name: str | None = None) -> bool:
        """Use new settings; rebuild the model if a model input changed. Errors become messages.

        A large rebuild (or any edit while one is under way) goes to the background
        (:meth:`build_requested`): the page shows it is computing, and edits made meanwhile
        coalesce to the latest. False if the settings were refused here."""
        with self.batch():
            self.playing.value = False
            live = self.live.peek()
            rebuild = live is None or model_key(new) != live.key
            if self.requested.peek() is not None or (rebuild and new.households_value > SYNC_HOUSEHOLDS):
                self.requested.value = (new, field_name)
                return True
            try:
                if rebuild:
                    with self.lock:
                        self.live.value = self._build(new)
                        self.tick.value = 0
            except Exception as err:  # ScenarioError, InputError, or a value the model rejects
                self.fail(describe_error(err), field_name)
                return False
            self._installed(new, field_name)
        return True

    def _installed(self, new: Settings, field_name: str | None) -> None:
        self.settings.value = new
        self.message.value = None
        self.clear_field(field_name)

    def build_requested(self, cancel: threading.Event, request: tuple[Settings, str | None] | None) -> None:
        """Build the requested model (run by the page in a thread, see ``viz.app.Builder``); a
        newer request sets ``cancel``, and then this build is dropped when it is done."""
        if request is None:
            return
        new, field_name = request
        try:
            model = build(new)
        except Exception as err:
            if not cancel.is_set():
                with self.batch():
                    self.fail(describe_error(err), field_name)
                    self.requested.value = None
            return
        with self.lock, self.batch():
            if cancel.is_set() or self.requested.peek() is not request:
                return  # superseded by a later edit: its own build installs
            self._generation += 1
            self.live.value = Live(model=model, settings=new, generation=self._generation)
            self.tick.value = 0
            self._installed(new, field_name)
            self.requested.value = None

    def clear_field(self, field_name: str | None) -> None:
        """The field now holds a valid value: drop its error and its kept text."""
        if field_name is None:
            return
        errors, texts = self.field_errors.peek(), self.field_texts.peek()
        if field_name in errors:
            self.field_errors.value = {k: v for k, v in errors.items() if k != field_name}
        if field_name in texts:
            self.field_texts.value = {k: v for k, v in texts.items() if k != field_name}

    def fail(self, text: str, field_name: str | None = None, typed: str | None = None) -> None:
        self.message.value = text
        if field_name is not None:
            self.field_errors.value = {**self.field_errors.peek(), field_name: text}
            if typed is not None:
                self.field_texts.value = {**self.field_texts.peek(), field_name: typed}

    def apply_text(self, field_name: str, parse, make, text: str | None = None) -> bool:
        """Parse a text box, then apply ``make(parsed)``; a bad number or a value the model
        rejects shows a message, and the field keeps ``text`` (what was typed) in red."""
        with self.batch():
            try:
                value = parse()
                new = make(value)
            except InputError as err:
                self.fail(str(err), field_name, text)
                return False
            ok = self.apply(new, field_name)
            if not ok and text is not None:
                self.field_texts.value = {**self.field_texts.peek(), field_name: text}
            return ok

    def reset(self) -> None:
        """Back to the start date with the same settings (a fresh model)."""
        with self.batch():
            self.playing.value = False
            self.requested.value = None  # a rebuild under way is dropped
            s = self.settings.peek()
            try:
                with self.lock:
                    self.live.value = self._build(s)
                    self.tick.value = 0
                self.message.value = None
                self.field_errors.value = {}  # every field back to the value the model uses
                self.field_texts.value = {}
            except Exception as err:
                self.fail(describe_error(err))

    # ------------------------------------------------------------ kept runs
    def keep_run(self, label: str) -> None:
        """Save the live run's tables up to today (viz/kept_runs.py) to draw beside later runs."""
        m = self.model
        if m is None:
            return
        with self.lock:
            arrays = RunArrays.of(m, copy=True)
        self.kept_store.keep(label, arrays)
        self.kept.value = self.kept_store.load()

    def forget_kept(self) -> None:
        self.kept_store.clear()
        self.kept.value = []

    # ------------------------------------------------------------ stepping
    @property
    def model(self):
        """The live model (read without subscribing the caller to changes)."""
        live = self.live.peek()
        return None if live is None else live.model

    def at_end(self) -> bool:
        m = self.model
        return m is None or m.t >= len(m.dates) - 1

    def step(self, n: int = 1) -> bool:
        """Advance n weeks and redraw; False at the end of the run."""
        m = self.model
        if m is None or self.at_end():
            return False
        with self.lock:
            t0 = time.perf_counter()
            for _ in range(max(1, n)):
                if m.t >= len(m.dates) - 1:
                    break
                m.step()
            model_ms = (time.perf_counter() - t0) * 1000.0
            self.timing.start(t0, model_ms, m.t, "step" if n <= 1 else f"{n} weeks")
        self.tick.value = self.tick.peek() + 1  # redraws what shows the run; the page's effect closes the timing
        return True

    def run_to_end(self) -> None:
        m = self.model
        if m is None:
            return
        self.playing.value = False
        with self.lock:
            t0 = time.perf_counter()
            m.run()
            self.timing.start(t0, (time.perf_counter() - t0) * 1000.0, m.t, "run to end")
        self.tick.value = self.tick.peek() + 1

    def play_loop(self, cancel: threading.Event, frame_seconds: float = FRAME_SECONDS) -> None:
        """Step until paused, cancelled (settings changed) or at the end.

        Paced by the redraw: the next step waits until the page has redrawn the last one
        (the page's effect closes the step's timing), and frames are at least
        ``frame_seconds`` apart so the browser can paint and a Pause lands where the user
        sees it. Faster progress through time: more weeks per frame.
        """
        while not cancel.is_set() and self.playing.peek():
            t0 = time.perf_counter()
            if not self.step(self.weeks_per_frame.peek()):
                self.playing.value = False
                break
            self.timing.drawn.wait(timeout=10.0)
            rest = frame_seconds - (time.perf_counter() - t0)
            if rest > 0:
                cancel.wait(rest)


def run_in_background(ctl: Controller, settings: Settings, overrides: dict | None, cancel) -> RunArrays | None:
    """A whole run of ``settings`` with ``overrides`` for a background thread (the counterfactual,
    the ensemble band): it yields to a pending redraw before each step, so the live view keeps
    its pace, and gives up (None) as soon as ``cancel`` is set."""
    model = build(settings, overrides)
    last = len(model.dates) - 1
    while model.t < last:
        if cancel.is_set():
            return None
        ctl.timing.drawn.wait(0.5)  # background priority: let a pending step's redraw finish first
        model.step()
    return RunArrays.of(model, copy=True)
