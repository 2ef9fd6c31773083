"""The controls: run buttons, model settings, focus country, shock switches, counterfactual, downloads.

Every control edits one dotted parameter path of the loaded scenario (the paths
``crypto-abm run --set`` takes) through :class:`~viz.state.Controller`, which rebuilds the
model or shows a message; nothing here is specific to one region: the focus country's
choices and the shock switches come from the scenario. Numbers are typed (exact values,
committed on Enter or when the field loses focus); a bad number or a value the scenario
schema rejects shows a message in the page and leaves the running model untouched, and its
field stays red with that text until it is fixed or Reset (edits of other fields leave it so);
every other field shows the value the model uses. Valid but unusual values get a note of what
they do (:func:`viz.settings.value_note`). Shock switches carry the shock's description.
"""

from __future__ import annotations

import html
import io
import shlex

import reacton.ipyvuetify as rv
import solara

from viz.settings import (
    DIFFUSION,
    IMITATION,
    INNOVATION,
    PRICE_DRIFT,
    PRICE_KIND,
    PRICE_KINDS,
    PRICE_LEVEL,
    PRICE_VOL,
    format_number,
    parse_float,
    parse_int,
    scenario_choices,
    value_note,
)
from viz.state import Controller

KIND_NAMES = {"stance_change": "stance change", "energy_allocation": "energy allocation", "signal": "signal",
              "reserve_purchase": "reserve purchase", "alliance_edge": "alliance", "price_shock": "price shock",
              "mining_ban": "mining ban", "mining_moratorium": "mining moratorium",
              "power_emergency": "power emergency", "seasonal_move": "seasonal move"}


# ------------------------------------------------------------------ run buttons
@solara.component
def RunButtons(ctl: Controller, playing: bool, at_end: bool, has_model: bool):
    disabled = not has_model

    def toggle():
        if not playing and ctl.at_end():
            return
        ctl.playing.value = not playing

    with solara.Row(gap="6px", style={"align-items": "center", "flex-wrap": "wrap"}):
        solara.Button("Step", on_click=lambda: ctl.step(1), color="primary", icon_name="mdi-step-forward",
                      disabled=disabled or playing or at_end, classes=["viz-step"])
        solara.Button("Pause" if playing else "Play", on_click=toggle, color="primary",
                      icon_name="mdi-pause" if playing else "mdi-play", disabled=disabled or (at_end and not playing),
                      classes=["viz-play"])
        solara.Button("Reset", on_click=ctl.reset, color="primary", outlined=True, icon_name="mdi-restore",
                      classes=["viz-reset"])
        solara.Button("To end", on_click=ctl.run_to_end, outlined=True, disabled=disabled or playing or at_end,
                      icon_name="mdi-skip-forward", classes=["viz-end"])
        solara.Select("weeks per frame", values=[1, 2, 4, 13], value=ctl.weeks_per_frame,
                      style={"max-width": "110px"}, classes=["viz-speed"])


# ------------------------------------------------------------------ fields
@solara.component
def NumberField(label: str, text: str, on_commit, error: str | None = None, hint: str | None = None,
                classes: list[str] = [], note: str | None = None):
    """A text box showing ``text`` (the value the model uses, or the kept invalid text) unless
    something has been typed since the last commit; commits on Enter or when it loses focus.

    The widget's text is always the component's own ``v_model`` (every keystroke is tracked),
    so after a commit it shows exactly what the caller passes: never a stale earlier entry.
    ``error`` turns it red with the message; ``note`` (a valid but unusual value) is shown
    below it in orange.
    """
    typed, set_typed = solara.use_state(None)  # text typed since the last commit; None: none
    current = solara.use_ref(text)
    current.current = text
    commit_ref = solara.use_ref(on_commit)
    commit_ref.current = on_commit
    shown = text if typed is None else typed

    def on_v_model(value):
        set_typed(None if value == current.current else value)

    with solara.Div(classes=["viz-field"]):  # one container always: the text box is never remounted
        field = rv.TextField(label=label, v_model=shown, on_v_model=on_v_model, error=bool(error),
                             messages=[error] if error else ([hint] if hint else []), hide_details="auto",
                             class_=" ".join(classes))
        if note and not error:
            solara.Text(note, classes=["viz-note"] + [f"{c}-note" for c in classes],
                        style={"font-size": "0.75rem", "color": "#b35900", "display": "block",
                               "margin": "-4px 0 4px 0"})

    def listen():
        widget = solara.get_widget(field)

        def commit(widget, event, data):
            value = widget.v_model
            set_typed(None)
            commit_ref.current(value)

        for event in ("keyup.enter", "focusout"):
            widget.on_event(event, commit)

        def cleanup():
            for event in ("keyup.enter", "focusout"):
                widget.on_event(event, commit, remove=True)

        return cleanup

    solara.use_effect(listen, [])


def _section(title: str):
    return solara.Text(title, style={"font-weight": "600", "font-size": "0.85rem", "color": "#444",
                                     "margin-top": "10px", "display": "block"})


@solara.component
def Controls(ctl: Controller, s, errors: dict, generation: int, texts: dict | None = None):
    base = s.base()
    model = ctl.model
    texts = texts or {}

    def shown(name: str, valid_text: str) -> str:
        """An invalid field keeps what was typed (with its error); a valid one shows the model's value."""
        return texts[name] if name in errors and name in texts else valid_text

    def param_text(path: str, what: str, *, optional: bool = False):
        def commit(text):
            ctl.apply_text(path, lambda: parse_float(text, what, optional=optional),
                           lambda v: s.with_param(path, v), text=text)
        return commit

    def param_field(label: str, path: str, what: str, cls: str, *, optional: bool = False, hint=None):
        NumberField(label, shown(path, format_number(s.value(path))),
                    on_commit=param_text(path, what, optional=optional), error=errors.get(path), hint=hint,
                    note=value_note(path, s.value(path)), classes=[cls])

    with solara.Column(gap="2px", classes=["viz-controls"]):
        # overrides of the model shown that a dated shock overwrites (model.scenario.Shadowed),
        # as `crypto-abm run` warns of them. The MW/tariff fields below edit the focus country's
        # allocation shock while it is on and the country's own fields while it is off, so one
        # appears when such an edit is followed by switching the shock back on.
        for text in (model.spec.warnings if model is not None else []):
            solara.Warning(text, dense=True, classes=["viz-warning"])
        # ------------------------------------------------ model
        _section("Model")
        solara.Select("Scenario (experiments/scenarios/)", values=scenario_choices(), value=s.scenario,
                      on_value=lambda name: ctl.apply(s.with_scenario(name), "scenario"), classes=["viz-scenario"])
        NumberField("Seed", shown("seed", str(s.seed)), error=errors.get("seed"), classes=["viz-seed"],
                    on_commit=lambda text: ctl.apply_text("seed", lambda: parse_int(text, "seed", 0),
                                                          lambda v: s.replace(seed=v), text=text))
        NumberField("Households (agents)", shown("households", str(s.households_value)),
                    error=errors.get("households"), classes=["viz-households"],
                    note=value_note("households", s.households_value),
                    on_commit=lambda text: ctl.apply_text(
                        "households", lambda: parse_int(text, "households", 0), lambda v: s.replace(households=v),
                        text=text))

        # ------------------------------------------------ market
        _section("BTC price")
        kind = s.value(PRICE_KIND)

        def set_kind(new_kind):
            nxt = s.with_param(PRICE_KIND, new_kind)
            if new_kind in ("gbm", "constant") and s.value(PRICE_LEVEL) is None and model is not None:
                nxt = nxt.with_param(PRICE_LEVEL, round(float(model.market.prices[0]), 2))  # start where the data start
            ctl.apply(nxt, PRICE_KIND)

        solara.Select("Price path (market.price.kind)", values=list(PRICE_KINDS), value=kind, on_value=set_kind,
                      classes=["viz-price-kind"])
        param_field("Start level, USD/BTC (constant / gbm)", PRICE_LEVEL, "BTC price level", "viz-price-level",
                    optional=True, hint="ignored by kind = csv" if kind == "csv" else None)
        param_field("Volatility per year", PRICE_VOL, "volatility", "viz-price-vol")
        vol = s.value(PRICE_VOL)
        param_field("Drift per year (GBM mu)", PRICE_DRIFT, "drift", "viz-price-drift",
                    hint=(f"{vol * vol / 2:.3g} keeps the median path flat, 0 the mean" if vol is not None else None))

        # ------------------------------------------------ focus country
        _section("Focus country")
        items = [{"text": f"{code} {name}", "value": code} for code, name in base.countries]
        rv.Select(label="Country (views, panel and the two fields below)", items=items, v_model=s.focus, dense=True,
                  class_="viz-focus-country",
                  on_v_model=lambda code: code and ctl.apply(s.with_focus(code), "focus"))
        mw_path, tariff_path, shock_id = s.focus_paths()
        shock = base.shock(shock_id) if shock_id else None
        off = [sh.id for sh in base.allocation_shocks(s.focus) if not s.shock_enabled(sh.id)]
        where = (f"sets shock {shock_id} ({shock.date})" if shock else
                 f"sets countries.{s.focus}" + (f" (shock {', '.join(off)} is off)" if off else ""))
        param_field(f"{s.focus} mining tariff, USD/kWh", tariff_path, f"{s.focus} mining tariff", "viz-tariff",
                    hint=where)
        param_field(f"{s.focus} MW allowance for mining", mw_path, f"{s.focus} MW allowance", "viz-mw",
                    optional=shock_id is None, hint=(f"{where}; blank = no cap" if shock_id is None else where))

        # ------------------------------------------------ behaviour
        _section("Behaviour")
        param_field("Neighbour pull (fitted: 0)", DIFFUSION, "neighbour pull", "viz-diffusion")
        param_field("Household innovation per year (p)", INNOVATION, "household innovation", "viz-innovation")
        param_field("Household imitation per year (q)", IMITATION, "household imitation", "viz-imitation")

        # ------------------------------------------------ shocks
        _section(f"Dated shocks ({len(base.shocks)})")
        for shock in base.shocks:
            ShockSwitch(ctl, s, shock)

        # ------------------------------------------------ counterfactual
        _section("Counterfactual (dashed lines)")
        all_ids = [sh.id for sh in base.shocks]
        chosen = sorted(s.cf_shocks())
        solara.SelectMultiple("Shocks switched off", values=chosen, all_values=all_ids, dense=True,
                              on_value=lambda ids: ctl.apply(s.replace(counterfactual_off=frozenset(ids)), "cf"),
                              classes=["viz-cf"])
        solara.Text("Same settings and seed with these shocks off; run once per change, in the background.",
                    style={"font-size": "0.75rem", "color": "#666"})


@solara.component
def ShockSwitch(ctl: Controller, s, shock):
    path = f"shocks.{shock.id}.enabled"
    on = s.shock_enabled(shock.id)
    label = f"{shock.id}"
    with solara.Div(style={"line-height": "1.1", "margin-bottom": "2px"}, classes=["viz-shock-row"]):
        solara.Switch(label=label, value=on, on_value=lambda v: ctl.apply(s.with_param(path, bool(v)), path),
                      classes=["viz-shock", f"viz-shock-{shock.id}"], style={"margin": "0", "padding": "0"})
        solara.Text(f"{shock.date} {shock.country} {KIND_NAMES.get(shock.kind, shock.kind)}",
                    style={"font-size": "0.72rem", "color": "#666", "margin-left": "44px", "display": "block"})
        if shock.description:  # the plain-language name, beside the id
            solara.Text(shock.description, classes=["viz-shock-desc", f"viz-shock-desc-{shock.id}"],
                        style={"font-size": "0.72rem", "color": "#333", "margin-left": "44px", "display": "block"})


# ------------------------------------------------------------------ downloads
def _rerun_command(s, model) -> str:
    parts = ["crypto-abm", "run", s.scenario, "--seed", str(s.seed), "--households", str(s.households_value),
             "--until", model.date.isoformat()]
    for path, value in s.params:
        if value is None:
            continue  # no TOML literal for "unset": use the scenario file instead
        text = ("true" if value else "false") if isinstance(value, bool) else format_number(value)
        parts += ["--set", f"{path}={text}"]
    return " ".join(shlex.quote(p) for p in parts)


def download_makers(ctl: Controller) -> dict:
    """What each download button serves, read from the session's live model when clicked."""

    def timeseries_csv():
        return ctl.model.timeseries().to_csv(index=False)

    def timeseries_parquet():
        buf = io.BytesIO()
        ctl.model.timeseries().to_parquet(buf, index=False)
        return buf.getvalue()

    def exchanges_csv():
        return ctl.model.exchange_volumes().to_csv(index=False)

    def events_csv():
        return ctl.model.events_frame().to_csv(index=False)

    def scenario_toml():
        return ctl.model.spec.to_toml()

    return dict(timeseries_csv=timeseries_csv, timeseries_parquet=timeseries_parquet, exchanges_csv=exchanges_csv,
                events_csv=events_csv, scenario_toml=scenario_toml)


@solara.component
def Downloads(ctl: Controller, s, model, date):
    # stable callables (read the live model when the download is asked for): FileDownload
    # resets itself whenever its data argument changes identity
    get = solara.use_memo(lambda: download_makers(ctl), [ctl])
    if model is None:
        solara.Text("No model to download.")
        return
    stem = f"{s.scenario}_seed{s.seed}_{model.date.isoformat()}"

    with solara.Column(gap="4px", classes=["viz-downloads"]):
        with solara.Row(gap="6px", style={"flex-wrap": "wrap"}):
            solara.FileDownload(get["timeseries_csv"], f"{stem}_timeseries.csv", label="timeseries.csv",
                                mime_type="text/csv")
            solara.FileDownload(get["timeseries_parquet"], f"{stem}_timeseries.parquet", label="timeseries.parquet")
            solara.FileDownload(get["exchanges_csv"], f"{stem}_exchanges.csv", label="exchanges.csv",
                                mime_type="text/csv")
            solara.FileDownload(get["events_csv"], f"{stem}_events.csv", label="events.csv", mime_type="text/csv")
            solara.FileDownload(get["scenario_toml"], f"{stem}_scenario.toml", label="scenario.toml",
                                mime_type="application/toml")
        cmd = _rerun_command(s, model)
        until = model.date.isoformat()
        # plain HTML, not solara.Markdown: Markdown's math support asks a CDN for KaTeX (offline here)
        solara.HTML(tag="div", classes=["viz-rerun"], unsafe_innerHTML=(
            "Rerun this exact run from the command line (tables up to the date shown):"
            f"<pre class='viz-cmd'>{html.escape(cmd)}</pre>"
            "or save <code>scenario.toml</code> (the resolved scenario: includes merged, every override applied, "
            "sources kept) and run "
            f"<code>crypto-abm run path/to/scenario.toml --seed {s.seed} --until {until}</code>."))

