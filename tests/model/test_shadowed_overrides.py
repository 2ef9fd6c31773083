"""Overrides that a dated shock overwrites are said, never silently dropped (issue 11, part 4).

The README's old example ``--set countries.PAK.mining_tariff_usd_per_kwh=0.10`` changed
nothing: the ``pak_allocation`` energy allocation sets Pakistan's tariff on 2025-05-25 (in
force in ``pak_allocation_approved``; the baseline leaves it unapproved).
Such an override now gives a warning naming the shock, its date, the value it sets and
the path that acts instead: on stderr (also with ``--quiet``), in the run's manifest, at a
sweep's start and in the dashboard. A shock switched off, dated after the run's last
step, or one that only adds (a reserve purchase) gives none. And an event shows the
values in force when a field of its shock was overridden.
"""

from __future__ import annotations

import datetime as dt
import json
import textwrap
import typing
from pathlib import Path

import pandas as pd
import pytest
from conftest import MIN_HOUSEHOLDS, wait_until, write_scenario

from experiments.cli import main
from model.config import SHOCK_KINDS, _ShockBase
from model.model import CryptoAdoptionModel
from model.scenario import load_scenario

SCENARIO = "pak_allocation_approved"  # the baseline with the allocation in force
OLD_EXAMPLE = "countries.PAK.mining_tariff_usd_per_kwh=0.10"
ACTING = "shocks.pak_allocation.tariff_usd_per_kwh"


def small_run(tmp_path: Path, *sets: str, until: str = "2025-07-01", name: str = "out") -> list[str]:
    argv = ["run", SCENARIO, "--households", str(MIN_HOUSEHOLDS), "--until", until, "--no-figures",
            "--quiet", "--out", str(tmp_path / name)]
    for item in sets:
        argv += ["--set", item]
    return argv


def run_manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def assert_names_the_allocation(text: str) -> None:
    for part in ("countries.PAK.mining_tariff_usd_per_kwh", "0.1", "pak_allocation", "2025-05-25", "0.08", ACTING):
        assert part in text, (part, text)


# ---------------------------------------------------------------------- load time
def test_loader_lists_the_shadowed_override():
    spec = load_scenario(SCENARIO, [OLD_EXAMPLE])
    [shadow] = spec.shadowed
    assert (shadow.path, shadow.shock, shadow.kind, shadow.date, shadow.sets, shadow.acting) == (
        "countries.PAK.mining_tariff_usd_per_kwh", "pak_allocation", "energy_allocation", dt.date(2025, 5, 25),
        0.08, ACTING)
    [text] = spec.warnings
    assert_names_the_allocation(text)
    # the stance is the pak_vao stance change's from 2025-07-08; an additive shock (the
    # pak_reserve purchase) and a country no shock touches give nothing
    spec = load_scenario(SCENARIO, {"countries.PAK.stance": 2, "countries.PAK.reserve_btc": 10.0,
                                             "countries.IND.mining_tariff_usd_per_kwh": 0.1})
    [text] = spec.warnings
    assert "countries.PAK.stance=2" in text and "pak_vao" in text and "shocks.pak_vao.to" in text
    # no override, no warning
    assert load_scenario(SCENARIO).warnings == []


def test_off_or_later_shocks_overwrite_nothing():
    assert load_scenario(SCENARIO, [OLD_EXAMPLE, "shocks.pak_allocation.enabled=false"]).warnings == []
    spec = load_scenario(SCENARIO, [OLD_EXAMPLE])
    # the first weekly step on or after 2025-05-25 is 2025-05-28: a run stopping before it never sees the shock
    assert spec.warnings_until(dt.date(2025, 5, 27)) == []
    assert len(spec.warnings_until(dt.date(2025, 5, 28))) == 1


def test_shock_classes_say_what_apply_dated_overwrites(tmp_path):
    """``overwrites`` on each shock class is what the model does: a shock of each kind that
    overwrites puts exactly its ``sets()`` values into the country's fields on its date."""
    kinds = {typing.get_args(cls.model_fields["kind"].annotation)[0]: cls for cls in _ShockBase.__subclasses__()}
    assert set(kinds) == set(SHOCK_KINDS)
    assert {k for k, cls in kinds.items() if cls.overwrites} == {"stance_change", "energy_allocation", "mining_ban",
                                                                      "mining_moratorium"}
    body = textwrap.dedent("""
        [shocks.t_stance]
        date = 2025-01-08
        country = "IND"
        kind = "stance_change"
        to = 4
        [shocks.t_allocation]
        date = 2025-01-08
        country = "IND"
        kind = "energy_allocation"
        mw = 123
        tariff_usd_per_kwh = 0.07
        [shocks.t_ban]
        date = 2025-01-08
        country = "BGD"
        kind = "mining_ban"
        [shocks.t_moratorium]
        date = 2025-01-08
        country = "LKA"
        kind = "mining_moratorium"
        """)
    spec = load_scenario(write_scenario(tmp_path, body))
    model = CryptoAdoptionModel(config=spec, seed=0).run(until=dt.date(2025, 1, 8))
    for sid in ("t_stance", "t_allocation", "t_ban", "t_moratorium"):
        shock = spec.config.shocks[sid]
        for field, (_, value) in shock.sets().items():
            assert getattr(model.countries[shock.country], field) == value, (sid, field)


# ---------------------------------------------------------------------- the command line and the manifest
def test_readme_old_example_warns_on_stderr_and_in_the_manifest(tmp_path, capsys):
    assert main(small_run(tmp_path, OLD_EXAMPLE)) == 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("warning: ")]
    assert len(lines) == 1, err  # said once, with --quiet too
    assert_names_the_allocation(lines[0])
    assert run_manifest(tmp_path / "out")["warnings"] == [lines[0].removeprefix("warning: ")]


@pytest.mark.parametrize("sets, until", [
    ((OLD_EXAMPLE, "shocks.pak_allocation.enabled=false"), "2025-07-01"),  # the shock is off
    ((OLD_EXAMPLE,), "2025-05-20"),                                        # the run ends before it
    (("shocks.pak_allocation.tariff_usd_per_kwh=0.10",), "2025-07-01"),   # the path that acts
])
def test_no_warning_when_nothing_overwrites_the_override(tmp_path, capsys, sets, until):
    assert main(small_run(tmp_path, *sets, until=until)) == 0
    assert "warning" not in capsys.readouterr().err
    assert run_manifest(tmp_path / "out")["warnings"] == []


def test_event_of_an_overridden_shock_shows_the_values_in_force(tmp_path, capsys):
    assert main(small_run(tmp_path, "shocks.pak_allocation.mw=4000")) == 0
    events = pd.read_csv(tmp_path / "out" / "events.csv")
    [row] = events[events["kind"] == "energy_allocation"].to_dict("records")
    assert float(row["to"]) == 4000
    assert "[overridden: mw=4000]" in row["cause"], row["cause"]  # the file's "2,000 MW" text is marked
    assert "(4,000 MW at $0.08/kWh)" in row["cause"], row["cause"]
    # a rerun of the run's resolved scenario.toml (where the override is an assumption) says the same
    rerun = ["run", str(tmp_path / "out" / "scenario.toml"), "--households", str(MIN_HOUSEHOLDS), "--until",
             "2025-07-01", "--no-figures", "--quiet", "--out", str(tmp_path / "rerun")]
    assert main(rerun) == 0
    assert (tmp_path / "rerun" / "events.csv").read_text() == (tmp_path / "out" / "events.csv").read_text()
    # without the override: no mark, the file's values
    assert main(small_run(tmp_path, name="plain")) == 0
    events = pd.read_csv(tmp_path / "plain" / "events.csv")
    [row] = events[events["kind"] == "energy_allocation"].to_dict("records")
    assert "overridden" not in row["cause"] and "(2,000 MW at $0.08/kWh)" in row["cause"]


# ---------------------------------------------------------------------- sweeps
def _spec(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "spec.toml"
    path.write_text(textwrap.dedent("""
        scenario = "pak_allocation_approved"
        households = 1800
        design = "grid"
        """) + textwrap.dedent(body))
    return path


def test_sweep_warns_once_at_its_start(tmp_path, capsys, monkeypatch):
    import experiments.sweep.runner as runner
    from experiments.sweep.spec import load_spec

    path = _spec(tmp_path, """
        until = 2025-12-31
        [set]
        "countries.PAK.mining_tariff_usd_per_kwh" = 0.1
        [parameters."countries.PAK.stance"]
        values = [1, 2]
        """)
    spec = load_spec(path)
    assert spec.scenario == SCENARIO and spec.sha256()  # the spec itself is as without warnings
    assert len(spec.warnings) == 2
    tariff = next(w for w in spec.warnings if "mining_tariff" in w)
    assert tariff.startswith("[set] countries.PAK.mining_tariff_usd_per_kwh=0.1 ") and ACTING in tariff
    stance = next(w for w in spec.warnings if "stance" in w)
    assert stance.startswith("parameter countries.PAK.stance ")
    assert "pak_vao" in stance and "shocks.pak_vao.to" in stance

    from experiments.sweep.design import make_design
    assert runner.build_manifest(spec, make_design(spec))["warnings"] == list(spec.warnings)

    class Stop(Exception):
        pass

    def stop(*args, **kwargs):
        raise Stop

    monkeypatch.setattr(runner, "prepare", stop)  # the warnings come before any folder or run
    with pytest.raises(Stop):
        main(["sweep", str(path), "--quiet", "--out", str(tmp_path / "sweep")])
    err = capsys.readouterr().err
    for text in spec.warnings:
        assert err.count(text) == 1, err
    # a sweep stopping before both shocks: nothing to say
    assert load_spec(_spec(tmp_path, """
        until = 2025-05-01
        [set]
        "countries.PAK.mining_tariff_usd_per_kwh" = 0.1
        """)).warnings == ()


# ---------------------------------------------------------------------- the dashboard
def test_dashboard_shows_a_shadowed_override(tmp_path, monkeypatch):
    solara = pytest.importorskip("solara")
    v = pytest.importorskip("ipyvuetify")
    import viz.app

    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / "mpl"))
    made = []
    real = viz.app.Controller

    class Recording(real):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            made.append(self)

    def warnings() -> list[str]:
        return [" ".join(str(c) for c in w.widget.children) for w in rc.find(v.Alert, class_="viz-warning")]

    monkeypatch.setattr(viz.app, "Controller", Recording)
    _, rc = solara.render(viz.app.Page(), handle_error=False)
    try:
        [ctl] = made
        assert warnings() == []
        # with Pakistan's allocation switched off, its MW field edits the country itself (editing
        # the switched-off shock would change nothing) ...
        rc.find(v.Switch, label="pak_allocation").widget.v_model = False
        mw = rc.find(v.TextField, class_="viz-mw").widget
        wait_until(lambda: "countries.PAK" in str(mw.messages), "the MW field to edit the country")
        mw.v_model = "3000"
        mw.fire_event("keyup.enter", None)
        assert ctl.settings.value.overrides["countries.PAK.mining_allowance_mw"] == 3000.0
        assert warnings() == []
        # ... and switched on again, the allocation overwrites that value: the page says so
        rc.find(v.Switch, label="pak_allocation").widget.v_model = True
        wait_until(lambda: warnings(), "the warning")
        [text] = warnings()
        for part in ("countries.PAK.mining_allowance_mw=3000", "pak_allocation", "2025-05-25",
                     "shocks.pak_allocation.mw"):
            assert part in text, (part, text)
        # an override set any other way (here the caller's settings) is shown the same way
        assert ctl.apply(ctl.settings.value.with_param("countries.PAK.mining_tariff_usd_per_kwh", 0.1))
        wait_until(lambda: len(warnings()) == 2, "the second warning")
        assert any(ACTING in t for t in warnings())
    finally:
        made and made[0].playing.set(False)
        rc.close()
