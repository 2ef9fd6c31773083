"""In-process render of the dashboard (viz/app.py) with solara.render: no server, no browser.

Checks the controls the issue asks for (a switch per dated shock, the focus country and its
MW/tariff controls), that Step advances the calendar date shown (its speed is measured in
benchmarks/dashboard.py, never asserted here), that bad input shows a message instead of crashing, that controls
act on the scenario through dotted overrides, that Play/Pause and Reset work, that the
counterfactual arrives, that downloads serve the run's tables, and that the downloaded
scenario reruns to the same numbers.
"""

from __future__ import annotations

import contextlib
import html
import io
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import wait_until

solara = pytest.importorskip("solara")
v = pytest.importorskip("ipyvuetify")

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _quiet_home(tmp_path, monkeypatch):
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / "mpl"))


@contextlib.contextmanager
def recorded_controllers():
    """While open, every page made records its session Controller in the list yielded."""
    import viz.app
    import viz.state

    made = []
    real = viz.state.Controller

    class Recording(real):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            made.append(self)

    viz.app.Controller = Recording
    try:
        yield made
    finally:
        viz.app.Controller = real


@pytest.fixture
def page():
    """The rendered page, its render context, and its session Controller."""
    import viz.app

    with recorded_controllers() as made:
        box, rc = solara.render(viz.app.Page(), handle_error=False)
        try:
            assert len(made) == 1
            yield rc, made[0]
        finally:
            made and made[0].playing.set(False)
            rc.close()


def shown_date(rc) -> str:
    return rc.find(v.Html, class_="viz-date").widget.children[0]


def text_field(rc, cls):
    return rc.find(v.TextField, class_=cls).widget


def type_into(rc, cls, text):
    field = text_field(rc, cls)
    field.v_model = text
    field.fire_event("keyup.enter", None)


def chart(rc, name: str):
    import ipywidgets

    found = [f.widget for f in rc.find(ipywidgets.Image) if f"viz-{name}" in f.widget._dom_classes]
    assert len(found) == 1, (name, found)
    return found[0]


def message(rc) -> str:
    found = rc.find(v.Alert, class_="viz-message")
    return " ".join(str(c) for c in found.widget.children) if len(found) else ""




def choose_focus(rc, code: str) -> None:
    """Pick the focus country and wait until its fields are drawn. A counterfactual thread
    finishing at that moment may be rendering, and then the focus redraw comes from that
    thread a little later: typing before it would go to the old country's field."""
    rc.find(v.Select, class_="viz-focus-country").widget.v_model = code
    wait_until(lambda: text_field(rc, "viz-mw").label.startswith(f"{code} "), f"the {code} fields")


def test_controls_exist_for_shocks_and_focus(page):
    rc, ctl = page
    base = ctl.settings.value.base()
    assert base.shocks, "the default scenario has dated shocks"
    for shock in base.shocks:
        switch = rc.find(v.Switch, label=shock.id)
        switch.assert_single()
        assert switch.widget.v_model is shock.enabled
    focus = rc.find(v.Select, class_="viz-focus-country").widget
    assert focus.v_model == "PAK"
    assert [item["value"] for item in focus.items] == [code for code, _ in base.countries]
    for cls in ("viz-seed", "viz-households", "viz-price-level", "viz-price-vol", "viz-price-drift", "viz-tariff",
                "viz-mw", "viz-diffusion", "viz-innovation", "viz-imitation"):
        text_field(rc, cls)
    for cls in ("viz-scenario", "viz-price-kind"):
        rc.find(v.Select, class_=cls).assert_single()
    # every view is drawn
    for name in ("network", "hashrate", "volume", "exchange", "adoption", "focus"):
        img = chart(rc, name)
        assert img.value[:8] == b"\x89PNG\r\n\x1a\n" and len(img.value) > 5000


def test_step_advances_date(page):
    rc, ctl = page
    model = ctl.model
    assert shown_date(rc) == model.dates[0].isoformat()
    step = rc.find(v.Btn, class_="viz-step").widget
    step.click()
    assert shown_date(rc) == model.dates[1].isoformat()
    assert model.t == 1
    # Steps once the background counterfactual run is done (it competes for the CPU).
    def status() -> str:
        return rc.find(v.Html, class_="viz-status").widget.children[0]

    wait_until(lambda: "counterfactual ready" in status(), "counterfactual")
    for k in range(2, 12):
        step.click()
        assert shown_date(rc) == model.dates[k].isoformat()
        assert model.t == k


def test_invalid_seed_shows_message_and_keeps_model(page):
    rc, ctl = page
    model = ctl.model
    type_into(rc, "viz-seed", "not a seed")
    assert "seed" in message(rc) and "not a whole number" in message(rc)
    assert ctl.model is model  # nothing rebuilt, nothing crashed
    assert text_field(rc, "viz-seed").error
    type_into(rc, "viz-seed", " 7 ")  # coerced to int
    assert message(rc) == ""
    assert ctl.model is not model and ctl.model.seed == 7 and ctl.settings.value.seed == 7


def test_scenario_error_shows_message(page):
    rc, ctl = page
    model = ctl.model
    type_into(rc, "viz-tariff", "-0.5")  # the schema wants a positive tariff
    text = message(rc)
    assert "tariff_usd_per_kwh" in text and "-0.5" in text, text
    assert ctl.model is model
    type_into(rc, "viz-diffusion", "lots")
    assert "not a number" in message(rc)
    assert ctl.model is model


def approve_allocation(rc) -> None:
    """Switch Pakistan's allocation on: the baseline leaves it unapproved (pak_allocation_approved)."""
    rc.find(v.Switch, label="pak_allocation").widget.v_model = True


def test_controls_become_dotted_overrides(page):
    rc, ctl = page
    approve_allocation(rc)
    mw_path, tariff_path, shock_id = ctl.settings.value.focus_paths()
    assert shock_id is not None and mw_path == f"shocks.{shock_id}.mw"
    type_into(rc, "viz-mw", "4000")
    type_into(rc, "viz-tariff", "0.05")
    type_into(rc, "viz-diffusion", "1.5")
    type_into(rc, "viz-imitation", "0.3")
    rc.find(v.Switch, label="pak_vao").widget.v_model = False
    over = ctl.settings.value.overrides
    assert over == {mw_path: 4000.0, tariff_path: 0.05, "policy.diffusion_strength": 1.5,
                    "households.imitation_per_year": 0.3, "shocks.pak_vao.enabled": False,
                    "shocks.pak_allocation.enabled": True}
    cfg = ctl.model.config
    assert cfg.shocks[shock_id].mw == 4000 and cfg.shocks[shock_id].tariff_usd_per_kwh == 0.05
    assert cfg.policy.diffusion_strength == 1.5 and cfg.shocks["pak_vao"].enabled is False
    # untouched values keep their sources in the resolved scenario
    toml = ctl.model.spec.to_toml()
    assert "World Bank WDI" in toml
    # a country without an allocation shock: the controls edit the country itself
    choose_focus(rc, "IND")
    assert ctl.settings.value.focus == "IND"
    type_into(rc, "viz-mw", "300")
    assert ctl.settings.value.overrides["countries.IND.mining_allowance_mw"] == 300.0
    assert ctl.model.countries["IND"].mining_allowance_mw == 300.0
    # price path: switching to GBM fills the start level from the data
    rc.find(v.Select, class_="viz-price-kind").widget.v_model = "gbm"
    over = ctl.settings.value.overrides
    assert over["market.price.kind"] == "gbm" and over["market.price.initial_usd"] > 1000
    # the drift field edits the GBM mu; its hint says which value keeps the median flat
    drift = text_field(rc, "viz-price-drift")
    vol = ctl.model.config.market.price.volatility_per_year
    assert f"{vol * vol / 2:.3g}" in str(drift.messages)
    type_into(rc, "viz-price-drift", "0")
    assert ctl.settings.value.overrides["market.price.drift_per_year"] == 0.0
    assert ctl.model.config.market.price.drift_per_year == 0.0
    type_into(rc, "viz-households", "5000")
    assert ctl.model.config.run.households == 5000


def test_play_pause_reset(page):
    rc, ctl = page
    model = ctl.model
    play = rc.find(v.Btn, class_="viz-play").widget
    play.click()
    wait_until(lambda: model.t >= 3, "play to advance")
    rc.find(v.Btn, class_="viz-play").widget.click()  # now "Pause"
    assert ctl.playing.value is False
    time.sleep(0.6)
    t = model.t
    time.sleep(0.6)
    assert model.t == t, "still stepping after Pause"
    assert shown_date(rc) == model.date.isoformat()
    rc.find(v.Btn, class_="viz-reset").widget.click()
    assert ctl.model is not model and ctl.model.t == 0
    # the page redraws on its render thread; the date must follow the fresh model
    wait_until(lambda: shown_date(rc) == ctl.model.dates[0].isoformat(), "the start date after Reset")


def test_counterfactual_and_event_log(page):
    rc, ctl = page
    approve_allocation(rc)
    status = lambda: rc.find(v.Html, class_="viz-status").widget.children[0]  # noqa: E731
    wait_until(lambda: "counterfactual ready" in status(), "counterfactual")
    # default: the focus country's shocks are off in the counterfactual
    chosen = rc.find(v.Select, class_="viz-cf").widget.v_model
    assert set(chosen) == {s.id for s in ctl.settings.value.base().shocks if s.country == "PAK" and s.enabled}
    rc.find(v.Btn, class_="viz-end").widget.click()
    assert ctl.model.t == len(ctl.model.dates) - 1
    text = rc.find(attributes={"class": "viz-events-box"}).widget.unsafe_innerHTML
    assert "pak_allocation" in text and "stance" in text
    # another choice recomputes
    rc.find(v.Select, class_="viz-cf").widget.v_model = ["pak_vao"]
    assert "computing" in status() or "ready: 1 shock" in status()
    wait_until(lambda: "ready: 1 shock" in status(), "second counterfactual")


def _download(rc, label: str) -> bytes:
    from solara.components.file_download import FileDownloadWidget

    widgets = [w.widget for w in rc.find(FileDownloadWidget)]
    widget = next(w for w in widgets if w.filename.endswith(label))
    widget.request_download = True
    wait_until(lambda: widget.bytes is not None, f"download {label}")
    return widget.bytes


def test_downloads_rerun_exactly(page, tmp_path):
    import numpy as np
    import pandas as pd

    from model import CryptoAdoptionModel, load_scenario

    rc, ctl = page
    approve_allocation(rc)
    type_into(rc, "viz-tariff", "0.06")
    for _ in range(22):  # past the 2025-05-25 allocation
        rc.find(v.Btn, class_="viz-step").widget.click()
    live = ctl.model
    events = pd.read_csv(io.BytesIO(_download(rc, "_events.csv")))
    assert list(events.columns) == ["date", "country", "kind", "from", "to", "cause"]
    assert (events["kind"] == "energy_allocation").any()
    ts_csv = pd.read_csv(io.BytesIO(_download(rc, "_timeseries.csv")))
    ts_parquet = pd.read_parquet(io.BytesIO(_download(rc, "_timeseries.parquet")))
    assert len(ts_csv) == len(ts_parquet) == len(live.timeseries())
    toml = _download(rc, "_scenario.toml").decode()
    # saved two folders below a root holding data/ (as in runs/<name>/), its relative paths resolve
    (tmp_path / "data").symlink_to(ROOT / "data")
    target = tmp_path / "runs" / "dashboard" / "scenario.toml"
    target.parent.mkdir(parents=True)
    target.write_text(toml)
    again = CryptoAdoptionModel(config=load_scenario(target), seed=live.seed)
    again.run(until=live.date)
    assert again.t == live.t
    pd.testing.assert_frame_equal(again.timeseries(), live.timeseries())
    # the command shown reruns the same numbers too
    shown = rc.find(attributes={"class": "viz-rerun"}).widget.unsafe_innerHTML
    cmd = html.unescape(re.search(r"<pre class='viz-cmd'>(.*?)</pre>", shown).group(1))
    assert "--until " + live.date.isoformat() in cmd and "shocks.pak_allocation.tariff_usd_per_kwh=0.06" in cmd
    argv = shlex.split(cmd)
    assert argv[:2] == ["crypto-abm", "run"]
    out = tmp_path / "cli_out"
    subprocess.run([sys.executable, "-m", "experiments", *argv[1:], "--out", str(out), "--no-figures", "--quiet"],
                   cwd=ROOT, check=True, timeout=300, env={**os.environ, "MPLBACKEND": "Agg"})
    cli = pd.read_parquet(out / "timeseries.parquet")
    mine = live.timeseries()
    assert len(cli) == len(mine)
    np.testing.assert_allclose(cli["value"].to_numpy(), mine["value"].to_numpy(), rtol=0, atol=0)


def test_another_scenario_brings_its_own_controls(page, tmp_path):
    """Nothing is tied to one region: a scenario with other shocks gets its own switches."""
    import viz.settings

    rc, ctl = page
    path = tmp_path / "other.toml"
    base_file = ROOT / "experiments" / "scenarios" / "south_asia_2025.toml"
    path.write_text(
        f'include = ["{base_file}"]\n'
        'name = "other"\n'
        "[shocks.ind_power]\n"
        'date = 2026-03-01\ncountry = "IND"\nkind = "energy_allocation"\n'
        "mw = 500\ntariff_usd_per_kwh = 0.07\n"
        'description = "test allocation"\n')
    ok = ctl.apply(ctl.settings.value.with_scenario(str(path)))
    assert ok, ctl.message.value
    rc.find(v.Switch, label="ind_power").assert_single()
    choose_focus(rc, "IND")
    mw_path, tariff_path, sid = viz.settings.baseline(str(path)).focus_paths("IND")
    assert sid == "ind_power"
    type_into(rc, "viz-mw", "900")
    assert ctl.model.config.shocks["ind_power"].mw == 900
    # the what-if choice stays put when the focus country changes (issue 18): still PAK's shocks
    assert ctl.settings.value.cf_shocks() == frozenset(
        sh.id for sh in viz.settings.baseline(str(path)).shocks if sh.country == "PAK" and sh.enabled)


def test_sessions_do_not_share_models():
    import viz.app

    with recorded_controllers() as made:
        _, rc1 = solara.render(viz.app.Page(), handle_error=False)
        _, rc2 = solara.render(viz.app.Page(), handle_error=False)
        assert len(made) == 2 and made[0].model is not made[1].model
        rc1.find(v.Btn, class_="viz-step").widget.click()
        assert made[0].model.t == 1 and made[1].model.t == 0
        rc1.close()
        rc2.close()


def test_parse_helpers():
    from viz.settings import InputError, parse_float, parse_int

    assert parse_int(" 20,000 ", "households") == 20000
    assert parse_int("1e3", "seed") == 1000
    with pytest.raises(InputError):
        parse_int("3.5", "seed")
    with pytest.raises(InputError):
        parse_int("-1", "seed", 0)
    assert parse_float("$0.08", "tariff") == 0.08
    assert parse_float("", "mw", optional=True) is None
    with pytest.raises(InputError):
        parse_float("nan", "x")


def test_a_scenario_without_households_renders_and_steps(page):
    """The mining-only backtest (no households, other countries) draws and steps."""
    rc, ctl = page
    ok = ctl.apply(ctl.settings.value.with_scenario("backtest_hashrate_2019"))
    assert ok, ctl.message.value
    rc.find(v.Switch, label="chn_mining_ban").assert_single()
    before = shown_date(rc)
    ctl.step()
    wait_until(lambda: shown_date(rc) != before, "the date to advance")
    assert shown_date(rc).startswith("2019-01")
    assert message(rc) == ""


# ------------------------------------------------------------------ issue 18: honest fields, stable what-if, ...
def field_state(rc, cls):
    field = text_field(rc, cls)
    return field.v_model, bool(field.error), " ".join(str(m) for m in (field.messages or []))


def test_invalid_field_keeps_its_text_and_error_while_others_change(page):
    """Seed `abc` stays red with its message whatever other field changes; valid fields show the model's value."""
    rc, ctl = page
    type_into(rc, "viz-seed", "abc")
    assert field_state(rc, "viz-seed") == ("abc", True, "seed: 'abc' is not a whole number")
    type_into(rc, "viz-households", "5000")
    assert ctl.model.config.run.households == 5000 and ctl.model.seed == 0
    assert field_state(rc, "viz-seed") == ("abc", True, "seed: 'abc' is not a whole number")
    assert field_state(rc, "viz-households")[:2] == ("5000", False)
    # a value the scenario rejects is kept too, through edits of other fields
    type_into(rc, "viz-tariff", "-0.5")
    type_into(rc, "viz-diffusion", "2")
    assert ctl.model.config.policy.diffusion_strength == 2.0
    value, red, text = field_state(rc, "viz-tariff")
    assert value == "-0.5" and red and "tariff_usd_per_kwh" in text
    assert field_state(rc, "viz-seed")[:2] == ("abc", True)
    # fixed: the field shows the value the model uses, not red
    type_into(rc, "viz-seed", " 7 ")
    assert ctl.model.seed == 7 and field_state(rc, "viz-seed") == ("7", False, "")
    assert field_state(rc, "viz-tariff")[:2] == ("-0.5", True)
    # Reset: every field back to the model's value
    rc.find(v.Btn, class_="viz-reset").widget.click()
    tariff = ctl.settings.value.value(ctl.settings.value.focus_paths()[1])
    assert field_state(rc, "viz-tariff")[:2] == (viz_format(tariff), False)
    # rapid edits: the field always ends on what the model has
    for text in ("20000", "0", "abc", "0"):
        type_into(rc, "viz-households", text)
    assert ctl.model.config.run.households == 0
    assert field_state(rc, "viz-households")[:2] == ("0", False)


def viz_format(value):
    from viz.settings import format_number

    return format_number(value)


def descendants(widget):
    """The widget and every widget below it (rc.find stops at the outermost match)."""
    yield widget
    for child in getattr(widget, "children", None) or []:
        if hasattr(child, "children"):
            yield from descendants(child)


def html_text(rc, outer_cls: str, cls: str) -> list[str]:
    """Text of the v.Html elements of class ``cls`` inside those of class ``outer_cls``."""
    return [str(w.children[0]) for found in rc.find(v.Html, class_=outer_cls) for w in descendants(found.widget)
            if isinstance(w, v.Html) and cls in (w.class_ or "").split()]


def note(rc, cls) -> str:
    return " ".join(html_text(rc, "viz-field", f"{cls}-note"))


def test_implausible_values_get_a_visible_note(page):
    rc, ctl = page
    assert note(rc, "viz-households") == "" and note(rc, "viz-innovation") == ""
    type_into(rc, "viz-households", "0")
    assert ctl.model.config.run.households == 0 and ctl.model.households is None
    assert "no household agents" in note(rc, "viz-households")
    type_into(rc, "viz-innovation", "5")
    assert ctl.model.config.households.innovation_per_year == 5.0
    assert "very high" in note(rc, "viz-innovation")
    type_into(rc, "viz-innovation", "0.01")
    assert note(rc, "viz-innovation") == ""


def test_focus_change_keeps_the_counterfactual(page):
    rc, ctl = page
    before = ctl.settings.value.cf_shocks()
    assert before, "PAK has shocks: the default what-if switches them off"
    shown = set(rc.find(v.Select, class_="viz-cf").widget.v_model)
    choose_focus(rc, "BGD")  # BGD has no shocks of its own
    assert ctl.settings.value.cf_shocks() == before
    assert set(rc.find(v.Select, class_="viz-cf").widget.v_model) == shown == set(before)
    status = rc.find(v.Html, class_="viz-status").widget.children[0]
    assert "no shock chosen" not in status


def test_miners_only_scenario_hides_household_panels(page):
    import ipywidgets

    rc, ctl = page
    ok = ctl.apply(ctl.settings.value.with_scenario("backtest_hashrate_2019"))
    assert ok, ctl.message.value
    assert not ctl.model.household_countries
    names = [c for w in rc.find(ipywidgets.Image) for c in w.widget._dom_classes if c.startswith("viz-")]
    for gone in ("viz-volume", "viz-exchange", "viz-adoption"):
        assert gone not in names, names
    for kept in ("viz-network", "viz-hashrate", "viz-focus"):
        assert kept in names, names
    ctl.step()
    wait_until(lambda: shown_date(rc) != ctl.model.dates[0].isoformat(), "a step")


def test_fleet_panel_hidden_for_a_country_without_miners():
    import numpy as np

    from viz.charts import FocusChart
    from viz.data import FleetBands, RunArrays, band_labels
    from viz.settings import build, initial_settings

    model = build(initial_settings().replace(households=2000))
    arrays = RunArrays.of(model)
    n = len(band_labels())
    chart = FocusChart(dates=model.dates, focus="BGD", name="Bangladesh")
    empty = FleetBands(tuple(band_labels()), np.zeros(n), np.zeros(n), np.zeros(n), 0.0)
    png = chart.update(arrays, 0, None, empty)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert not chart.bx.get_visible(), "an empty 0-1 fleet axis is drawn for a country with no miners"
    some = FleetBands(tuple(band_labels()), np.ones(n), np.zeros(n), np.zeros(n), 0.0)
    chart.update(arrays, 0, None, some)
    assert chart.bx.get_visible()


def test_shock_switches_show_plain_language_names(page):
    rc, ctl = page
    for shock in ctl.settings.value.base().shocks:
        rc.find(v.Switch, label=shock.id).assert_single()
        assert html_text(rc, "viz-shock-row", f"viz-shock-desc-{shock.id}") == [shock.description]


def test_today_text_made_by_one_helper(monkeypatch):
    """The "today" line above each chart comes from one helper (was copied into four charts)."""
    import viz.charts
    from viz.panels import ChartSet
    from viz.settings import build, initial_settings

    made = []
    real = viz.charts.today_text

    def counting(ff, ax):
        made.append(ax)
        return real(ff, ax)

    monkeypatch.setattr(viz.charts, "today_text", counting)
    s = initial_settings().replace(households=2000)
    charts = ChartSet(build(s), s, "PAK")
    for chart in (charts.hashrate, charts.volume, charts.exchange, charts.adoption):
        assert chart.ax in made
        assert chart.today.get_position() == (0.0, 1.012)
    assert charts.focus_chart.ax in made and charts.focus_chart.bx in made
