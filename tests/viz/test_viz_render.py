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
import datetime as dt
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
from conftest import MIN_HOUSEHOLDS, USA_MORATORIUM, wait_until, write_scenario

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


def views(rc) -> dict:
    """Every view on the page by name: the map's image and the live charts' widgets."""
    import ipywidgets
    from solara.components.echarts import EchartsWidget

    from viz.live_chart import LiveChartWidget

    out = {c[4:]: f.widget for f in rc.find(ipywidgets.Image) for c in f.widget._dom_classes
           if c.startswith("viz-") and c != "viz-chart"}
    out.update({f.widget.css_class[4:]: f.widget for f in rc.find(LiveChartWidget)})
    out.update({f.widget.attributes["class"][4:]: f.widget for f in rc.find(EchartsWidget)
                if (f.widget.attributes or {}).get("class", "").startswith("viz-")})
    return out


LIVE_CHARTS = ("hashrate", "price", "hashprice", "volume", "exchange", "adoption", "power")


def is_band(series: dict) -> bool:
    return "5-95%" in series["name"]


def status(rc) -> str:
    return rc.find(v.Html, class_="viz-status").widget.children[0]


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
    # every view is drawn: the map as an image, the charts with one point per series for week 0
    shown = views(rc)
    assert shown["network"].value[:8] == b"\x89PNG\r\n\x1a\n" and len(shown["network"].value) > 5000
    for name in LIVE_CHARTS:
        series = [s for s in shown[name].option["series"] if not is_band(s)]
        assert series and all(len(s["data"]) == 1 for s in series), name
        assert all(s["unit"] for s in series), f"{name}: every series names its unit (hover text)"


def test_a_step_sends_only_the_new_points(page, monkeypatch):
    from viz.live_chart import LiveChartWidget

    rc, ctl = page
    # the counterfactual's and the ensemble's arrival rebuild the charts (dashed lines, bands): wait for both
    wait_until(lambda: "counterfactual ready" in status(rc) and "ensemble band ready" in status(rc),
               "counterfactual and ensemble band")
    sent = []
    monkeypatch.setattr(LiveChartWidget, "send", lambda self, msg, *a, **k: sent.append((self.css_class, msg)))
    widgets = {name: w for name, w in views(rc).items() if name in LIVE_CHARTS}
    before = {name: w.option for name, w in widgets.items()}
    resent = []
    for name, w in widgets.items():  # a changed option would be synced to the browser whole
        w.observe(lambda change, name=name: resent.append(name), "option")
    rc.find(v.Btn, class_="viz-step").widget.click()
    after = views(rc)
    assert not resent, f"the whole chart was sent again: {resent}"
    for name in LIVE_CHARTS:
        assert after[name] is widgets[name]
        msgs = [m for c, m in sent if c == f"viz-{name}"]
        assert len(msgs) == 1 and msgs[0]["method"] == "append", (name, msgs)
        start, points = msgs[0]["args"]
        assert len(points) == len(before[name]["series"])
        live = [p for p, s in zip(points, before[name]["series"]) if not is_band(s)]
        band = [p for p, s in zip(points, before[name]["series"]) if is_band(s)]
        assert start == 1 and all(len(p) == 1 for p in live), (name, start, points)
        assert all(p[0][0] == ctl.model.dates[1].isoformat() for p in live)
        assert all(p == [] for p in band)  # the band was sent whole with the option
    today = rc.find(v.Html, class_="viz-today-hashrate").widget.children[0]
    assert today.startswith(ctl.model.dates[1].isoformat()) and "PAK" in today, today


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


def test_a_large_rebuild_computes_in_the_background_and_keeps_only_the_latest_edit(page, monkeypatch):
    import threading

    import viz.state

    rc, ctl = page
    shown = ctl.model
    gate, built = threading.Event(), []
    real = viz.state.build

    def held_build(s, *args, **kwargs):  # builds wait until the test has looked at the page
        gate.wait(120)
        built.append((s.households, s.seed))
        return real(s, *args, **kwargs)

    monkeypatch.setattr(viz.state, "build", held_build)
    type_into(rc, "viz-households", str(viz.state.SYNC_HOUSEHOLDS + 1000))
    wait_until(lambda: len(rc.find(v.Alert, class_="viz-computing-text")) == 1, "the computing state")
    assert "Computing" in str(rc.find(v.Alert, class_="viz-computing-text").widget.children)
    assert rc.find(v.Btn, class_="viz-step").widget.disabled, "Step must wait for the new model"
    assert ctl.model is shown  # the run on screen is still the old one, and says so
    type_into(rc, "viz-seed", "9")  # an edit while building: it replaces the first request
    assert ctl.model is shown
    gate.set()
    wait_until(lambda: ctl.requested.peek() is None and ctl.model is not shown, "the new model")
    assert (ctl.model.seed, ctl.model.config.run.households) == (9, viz.state.SYNC_HOUSEHOLDS + 1000)
    assert ctl.settings.value.seed == 9
    wait_until(lambda: len(rc.find(v.Alert, class_="viz-computing-text")) == 0, "the computing state to go")
    assert not rc.find(v.Btn, class_="viz-step").widget.disabled
    assert (viz.state.SYNC_HOUSEHOLDS + 1000, 9) in built


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
    assert over == {mw_path: 4000.0, tariff_path: 0.05, "policy.up.liberal_exposure": 1.5,
                    "households.imitation_per_year": 0.3, "shocks.pak_vao.enabled": False,
                    "shocks.pak_allocation.enabled": True}
    cfg = ctl.model.config
    assert cfg.shocks[shock_id].mw == 4000 and cfg.shocks[shock_id].tariff_usd_per_kwh == 0.05
    assert cfg.policy.up.liberal_exposure == 1.5 and cfg.shocks["pak_vao"].enabled is False
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
    assert ctl.model.config.policy.up.liberal_exposure == 2.0
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
    # rapid edits: the field always ends on what the model has (the page redraws on its own
    # threads too, so on a loaded machine the last redraw can land after the commit returns)
    for text in ("20000", "0", "abc", "0"):
        type_into(rc, "viz-households", text)
    assert ctl.model.config.run.households == 0
    wait_until(lambda: field_state(rc, "viz-households")[:2] == ("0", False), "households to show 0, not red")


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

    rc, ctl = page
    ok = ctl.apply(ctl.settings.value.with_scenario("backtest_hashrate_2019"))
    assert ok, ctl.message.value
    assert not ctl.model.household_countries
    names = set(views(rc))
    for gone in ("volume", "exchange", "adoption"):
        assert gone not in names, names
    for kept in ("network", "hashrate", "price", "hashprice", "power"):
        assert kept in names, names
    ctl.step()
    wait_until(lambda: shown_date(rc) != ctl.model.dates[0].isoformat(), "a step")


def test_fleet_panel_hidden_for_a_country_without_miners(page):
    rc, ctl = page
    choose_focus(rc, "BGD")
    assert not any(f.operating_ths for f in [ctl.model.fleets["BGD"]])
    assert "fleet" not in views(rc), "an empty fleet chart is drawn for a country with no miners"
    choose_focus(rc, "USA")
    bars = views(rc)["fleet"].option
    assert sum(sum(s["data"]) for s in bars["series"]) > 0


def test_shock_switches_show_plain_language_names(page):
    rc, ctl = page
    for shock in ctl.settings.value.base().shocks:
        rc.find(v.Switch, label=shock.id).assert_single()
        assert html_text(rc, "viz-shock-row", f"viz-shock-desc-{shock.id}") == [shock.description]


def test_each_chart_says_what_it_shows_today():
    """The line under each chart's title: the date and the focus country's value."""
    from viz.data import RunArrays
    from viz.panels import ChartSet
    from viz.settings import build, initial_settings

    s = initial_settings().replace(households=2000)
    model = build(s)
    model.step()
    charts = ChartSet(model, s, "PAK")
    arrays = RunArrays.of(model)
    for panel in (charts.hashrate, charts.volume, charts.exchange, charts.adoption, charts.power):
        text = panel.summary(arrays, model.t)
        assert text.startswith(model.dates[1].isoformat()), text
    assert "PAK" in charts.hashrate.summary(arrays, 1) and "MW" in charts.power.summary(arrays, 1)


def test_kept_runs_are_drawn_beside_the_live_one_and_survive_a_new_session(page, tmp_path, monkeypatch):
    import numpy as np

    import viz.state
    from viz.kept_runs import KeptRuns

    rc, ctl = page
    store = ctl.kept_store
    for _ in range(3):
        rc.find(v.Btn, class_="viz-step").widget.click()
    rc.find(v.Btn, class_="viz-keep").widget.click()
    assert len(ctl.kept.value) == 1 and store.names()
    type_into(rc, "viz-seed", "4")  # another run
    rc.find(v.Btn, class_="viz-step").widget.click()
    chart = views(rc)["compare"].option
    names = [s["name"] for s in chart["series"]]
    assert names[0].startswith("this run: south_asia_2025, seed 4")
    assert names[1].startswith("kept 1: south_asia_2025, seed 0") and "(to 2025-01-22)" in names[1]
    assert len(chart["series"][1]["data"]) == 4  # the kept run as it was kept: weeks 0-3
    # a reload is a new page of the same browser session: it finds the kept run
    monkeypatch.setattr(viz.state, "session_id", lambda: store.folder.name)
    again = viz.state.Controller()
    assert [k.label for k in again.kept.value] == [k.label for k in ctl.kept.value]
    assert np.array_equal(again.kept.value[0].arrays.values, ctl.kept.value[0].arrays.values, equal_nan=True)
    rc.find(v.Btn, class_="viz-forget").widget.click()
    assert ctl.kept.value == [] and not KeptRuns(store.folder.name, store.base).names()


def test_at_most_eight_runs_are_kept_and_old_sessions_are_forgotten(tmp_path):
    import os
    import time

    from viz.data import RunArrays
    from viz.kept_runs import MAX_RUNS, KeptRuns, forget_old
    from viz.settings import build, initial_settings

    model = build(initial_settings().replace(households=0))
    model.step()
    store = KeptRuns("abc", tmp_path)
    for i in range(MAX_RUNS + 2):
        store.keep(f"run {i}", RunArrays.of(model, copy=True))
    kept = store.load()
    assert [k.label for k in kept] == [f"run {i}" for i in range(2, MAX_RUNS + 2)]  # the oldest went first
    assert not list(store.folder.glob(".*tmp*")), "no half-written file is left behind"
    other = KeptRuns("../../etc", tmp_path)  # a session id cannot leave the folder
    assert other.folder.parent == tmp_path
    day_ago = time.time() - 2 * 24 * 3600
    os.utime(store.folder, (day_ago, day_ago))
    forget_old(tmp_path)
    assert not store.folder.exists()


def test_a_rebuild_resends_every_chart_even_where_its_first_week_is_unchanged(page):
    """The BTC price of the first weeks is data, the same for every seed: a chart rebuilt for
    another seed must still differ from the old one, or the browser keeps the old run's points."""
    rc, ctl = page
    for _ in range(3):
        rc.find(v.Btn, class_="viz-step").widget.click()
    before = {name: w.option for name, w in views(rc).items() if name in LIVE_CHARTS}
    type_into(rc, "viz-seed", "11")
    after = views(rc)
    for name in LIVE_CHARTS:
        assert after[name].option != before[name], f"{name}: the rebuilt chart would not reach the browser"
        assert all(len(s["data"]) == 1 for s in after[name].option["series"] if not is_band(s)), name


def test_an_ensemble_band_is_drawn_behind_the_headline_lines(page):
    """Once its background runs are done, the hashrate, volume, adoption and power charts shade
    the 5-95% band of the same settings over other seeds and fitted draws."""
    import numpy as np

    from viz.ensemble_band import MEMBERS, member_seeds

    rc, ctl = page
    wait_until(lambda: "ensemble band ready" in status(rc), "the ensemble band")
    assert ctl.model.seed not in member_seeds(ctl.model.seed) and len(set(member_seeds(0))) == MEMBERS
    n = len(ctl.model.dates)
    for name in ("hashrate", "volume", "adoption", "power"):
        band = [s for s in views(rc)[name].option["series"] if is_band(s)]
        assert len(band) == 2 and f"{MEMBERS} runs" in band[0]["name"], name
        low = np.array([np.nan if p[1] is None else p[1] for p in band[0]["data"]])
        width = np.array([np.nan if p[1] is None else p[1] for p in band[1]["data"]])
        assert len(low) == len(width) == n, name
        assert np.nanmin(width) >= 0 and np.isfinite(width).sum() > n // 2, name  # 95% above 5%
    hashrate = [s for s in views(rc)["hashrate"].option["series"] if is_band(s)]
    assert np.nanmax([p[1] for p in hashrate[1]["data"] if p[1] is not None]) > 0, "the members all agree?"



def test_policy_moves_name_a_moratorium_and_its_end(tmp_path):
    """The focus country's facts list a moratorium on new mining connections and its end."""
    from model import build_model
    from viz.panels import policy_moves

    path = write_scenario(tmp_path, USA_MORATORIUM)
    m = build_model(str(path), households=MIN_HOUSEHOLDS).run(until=dt.date(2025, 7, 1))
    moves = policy_moves(m, "USA")
    assert any("moratorium on new mining connections" in line for line in moves), moves
    assert any("moratorium ended" in line for line in moves), moves
