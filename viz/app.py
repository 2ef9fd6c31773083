"""crypto-abm dashboard: explore a scenario week by week in the browser (Solara, works offline).

Serve it with ``crypto-abm dashboard [--port N] [--host H]`` (``make dashboard`` runs it), which
runs Solara on this module (127.0.0.1 by default)::

    solara run viz.app --host 127.0.0.1 --port 8765 --production --no-open --no-check-version

The page is ``Page`` below; the code is split into small modules:

* ``viz/settings.py``  what the controls mean: :class:`Settings` (immutable), dotted
  overrides that differ from the scenario file, ``build()`` of
  ``CryptoAdoptionModel(scenario_name=, seed=, households=, overrides=)``, text parsing;
* ``viz/state.py``     one :class:`Controller` per browser session: reactive settings,
  the live model, step/play/reset, per-step server timing (logged as ``[viz] step ...``);
* ``viz/controls.py``  run buttons, settings, focus country, shock switches,
  counterfactual choice, downloads (tables, resolved scenario, rerun command);
* ``viz/panels.py``    the views and the background counterfactual run;
* ``viz/live_chart.py`` + ``live_chart.vue``  interactive charts: ECharts from
  solara-assets (offline), hover values with units and dates, zoom (wheel, slider),
  legend toggles; a chart's option is sent once and a step sends only the new points;
* ``viz/time_charts.py``  the run's charts (hashrate by country, volume by country and by
  exchange, adoption, the focus country's power and fleet) as lines read from the arrays;
* ``viz/market_panel.py``  BTC price (data and simulated apart), hashprice, difficulty,
  halvings;
* ``viz/ensemble_band.py``  the 5-95% band of 8 background runs (other seeds, fitted draws)
  behind the headline lines; ``viz/compare_panel.py`` + ``viz/kept_runs.py`` runs side by side;
* ``viz/network_view.py`` the map, a matplotlib picture (``viz/fastfig.py``: cached-frame
  PNG rendering, ~10 ms a redraw); ``viz/data.py`` reads the model's recorded arrays.

Rendering: ``Body`` is the only component that reads the session's reactive state; the
others get plain values, so one step is one render pass, and a part whose inputs did not
change (the settings panel, the map when no stance or node size changed, the event log
when no event was added) is not redrawn.

Run controls: Step (one week), Play/Pause (a thread steps and waits for each redraw,
at most 4 frames a second; "weeks per frame" goes faster through time), Reset (a fresh
model with the same settings, at the start date), To end. Changing any model setting
rebuilds the model at the start date, like Mesa's SolaraViz; invalid input shows a
message and leaves the run alone. Every step's server time is logged on stdout as
``[viz] step N -> DATE: model .. ms, charts .. ms, step+redraw .. ms``.

State: nothing mutable is built at module level. ``Page`` makes its Controller with
``solara.use_memo``, so each browser session gets its own model, counterfactual and
charts; the only shared objects are read-only (cached scenario baselines) and a lock
around matplotlib drawing.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import reacton.core
import solara

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `solara run viz/app.py` from anywhere finds model/, agents/, viz/
    sys.path.insert(0, str(ROOT))

# Served over http on 127.0.0.1, Solara warns (11 lines, every page load) that it falls back to a
# samesite=lax session cookie: right for a page on this machine, so the warning is noise.
warnings.filterwarnings("ignore", message="Cookies with samesite=none require https", category=UserWarning)

from viz.controls import Controls, Downloads, RunButtons  # noqa: E402
from viz.panels import Dashboard, DateBanner  # noqa: E402
from viz.state import Controller  # noqa: E402

CSS = """
.viz-controls .v-input--switch { margin-top: 0 !important; padding-top: 0 !important; }
.viz-controls .v-input--switch .v-messages { display: none; }
.viz-controls .v-input--switch .v-input__slot { margin-bottom: 0 !important; }
.viz-controls .v-input--switch label { font-size: 0.82rem; }
.viz-chart { display: block; max-width: 100%; height: auto; }
.viz-events-box { max-height: 330px; overflow-y: auto; }
table.viz-events { border-collapse: collapse; font-size: 0.78rem; width: 100%; }
table.viz-events th { position: sticky; top: 0; background: #fafafa; text-align: left; }
table.viz-events td, table.viz-events th { padding: 2px 6px; border-bottom: 1px solid #eee; vertical-align: top; }
table.viz-events tr.viz-ev-focus td { background: #fff1f0; }
table.viz-events td:nth-child(-n+3) { white-space: nowrap; }
table.viz-facts { border-collapse: collapse; font-size: 0.8rem; margin-bottom: 4px; }
table.viz-facts th { text-align: left; padding: 1px 10px 1px 0; color: #555; font-weight: 600;
                  white-space: nowrap; vertical-align: top; }
table.viz-facts td { padding: 1px 0; }
.viz-facts-title { font-weight: 700; font-size: 0.9rem; }
.viz-message { white-space: pre-wrap; }
.viz-rerun { font-size: 0.8rem; }
.viz-rerun pre.viz-cmd { background: #f5f5f5; padding: 6px 8px; white-space: pre-wrap; word-break: break-all;
                         margin: 4px 0; }
"""


@solara.component
def Page():
    ctl = solara.use_memo(Controller, [])  # one per browser session
    ctl.attach(reacton.core.get_render_context(required=False))
    solara.Title("crypto-abm dashboard")
    solara.Style(CSS)
    Body(ctl)


@solara.component
def Body(ctl: Controller):
    """The only component that reads the session's reactive state; the rest get plain values,
    so one step is one render pass and unchanged parts (the controls) are skipped."""
    s = ctl.settings.value
    live = ctl.live.value
    ctl.tick.value  # subscribe: a step bumps it
    playing = ctl.playing.value
    message = ctl.message.value
    errors = ctl.field_errors.value
    texts = ctl.field_texts.value
    requested = ctl.requested.value
    model = live.model if live is not None else None
    t = model.t if model is not None else -1
    generation = live.generation if live is not None else 0
    PlayLoop(ctl, playing, generation)
    Builder(ctl, requested)
    with solara.Column(gap="6px", style={"padding": "8px 14px", "max-width": "1800px"}):
        with solara.Row(gap="18px", style={"align-items": "center", "flex-wrap": "wrap"}):
            solara.Text("crypto-abm", style={"font-size": "1.25rem", "font-weight": "700"})
            RunButtons(ctl, playing, ctl.at_end(), model is not None and requested is None)
            DateBanner(model, t)
        Message(ctl, message)
        Computing(requested[0] if requested else None, live.settings if live is not None else None)
        # while a model is being built the fields show (and edits start from) what it is built with
        s = requested[0] if requested else s
        with solara.Columns([3, 9], gutters_dense=True):
            with solara.Card("Settings", style={"padding": "8px"}, classes=["viz-settings-card"]):
                Controls(ctl, s, errors, generation, texts)
            with solara.Column(gap="0px"):
                Dashboard(ctl, live, s, t)
                with solara.Card("Downloads: this run's tables and resolved scenario", style={"padding": "8px"}):
                    Downloads(ctl, s, model, model.date if model is not None else None)


@solara.component
def Message(ctl: Controller, text: str | None):
    if text:
        with solara.Row(style={"align-items": "center"}):
            solara.Error(f"Not applied: {text}", classes=["viz-message"], dense=True)
            solara.Button("dismiss", text=True, on_click=lambda: ctl.message.set(None))


@solara.component
def Computing(building, shown):
    """While a model is built in the background: what is being built, and that the run shown
    is still the previous one; the run buttons are off until it is installed."""
    if building is None:
        return
    with solara.Column(gap="2px", classes=["viz-computing"]):
        solara.ProgressLinear(True)
        what = f"{building.scenario}, seed {building.seed}, {building.households_value:,} households"
        still = f"; the run shown is still {shown.scenario}, seed {shown.seed}" if shown is not None else ""
        solara.Info(f"Computing: building the model ({what}){still}. Edits made now apply when it is done "
                    "(only the latest is built).", dense=True, classes=["viz-computing-text"])


@solara.component
def Builder(ctl: Controller, requested):
    """Runs the requested rebuild in a thread; a newer request cancels (drops) the older one."""
    solara.use_thread(lambda cancel: ctl.build_requested(cancel, requested), dependencies=[requested],
                      intrusive_cancel=False)


@solara.component
def PlayLoop(ctl: Controller, playing: bool, generation: int):
    """Runs the play loop in a thread while Play is on; cancelled by Pause or a rebuild."""

    def loop(cancel):
        if playing:
            ctl.play_loop(cancel)

    solara.use_thread(loop, dependencies=[playing, generation], intrusive_cancel=False)
