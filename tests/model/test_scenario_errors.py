"""Scenario loading: every bad input is a ScenarioError naming file, field and value;
every shipped number has provenance; includes, overrides and the written scenario."""

from __future__ import annotations

import datetime as dt
import os
import tomllib

import pandas as pd
import pytest
from conftest import BASELINE, MIN_HOUSEHOLDS, PRICE_CSV, write_scenario

from model import ScenarioError, build_model, load_scenario
from model.model import CryptoAdoptionModel
from model.scenario import PROVENANCE_KEYS, SCENARIO_DIR


def error_for(name_or_path, overrides=None) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        load_scenario(name_or_path, overrides)
    return info.value


def assert_names(err: ScenarioError, file, field: str, value: str | None):
    text = str(err)
    assert str(file) in text, text
    assert field in text, text
    if value is not None:
        assert value in text, text
    assert any(f == field for f, _, _ in err.problems), err.problems


# ------------------------------------------------------------------ overrides
@pytest.mark.parametrize("overrides, field, shown", [
    ({"shocks.pak_vao.country": "XYZ"}, "shocks.pak_vao.country", "'XYZ'"),
    ({"shocks.pak_slv_alliance.partner": "QQQ"}, "shocks.pak_slv_alliance.partner", "'QQQ'"),
    ({"exchanges.Binance.present": ["IND", "ZZZ"]}, "exchanges.Binance.present", "'ZZZ'"),
    ({"shocks.pak_allocation.mw": -5}, "shocks.pak_allocation.mw", "-5"),
    ({"countries.PAK.mining_allowance_mw": -1}, "countries.PAK.mining_allowance_mw", "-1"),
    ({"mining.relocate_share": 1.5}, "mining.relocate_share", "1.5"),
    ({"volume.p2p_factor": -0.1}, "volume.p2p_factor", "-0.1"),
    (["shocks.pak_vao.date=2040-01-01"], "shocks.pak_vao.date", "2040"),
    ({"shocks.pak_vao.date": dt.date(2024, 12, 31)}, "shocks.pak_vao.date", "2024"),
    ({"shocks.pak_vao.kind": "explode"}, "shocks.pak_vao.kind", "'explode'"),
    ({"countries.PAK.colour": 1}, "countries.PAK.colour", "1"),
    ({"countries.PAK.stance": 7}, "countries.PAK.stance", "7"),
    ({"run.households": 100}, "run.households", "100"),
    ({"countries.XYZ.stance": 1}, "countries.XYZ.stance", "1"),
    ({"countries.PAK": 1}, "countries.PAK", "1"),
])
def test_bad_overrides_name_file_field_and_value(overrides, field, shown):
    err = error_for("south_asia_2025", overrides)
    assert_names(err, BASELINE, field, shown)


def test_date_overrides_are_parsed_as_toml_dates():
    err = error_for("south_asia_2025", ["shocks.pak_vao.date=2040-01-01"])
    (field, message, value), = err.problems
    assert str(value) == "2040-01-01"
    assert "outside the run" in message
    ok = load_scenario("south_asia_2025", ["shocks.pak_vao.date=2025-09-01"])
    assert ok.config.shocks["pak_vao"].date == dt.date(2025, 9, 1)


def test_several_problems_are_reported_together():
    err = error_for("south_asia_2025", {"mining.relocate_share": 1.5, "countries.PAK.stance": 9})
    fields = {f for f, _, _ in err.problems}
    assert {"mining.relocate_share", "countries.PAK.stance"} <= fields
    assert "2 problem(s)" in str(err)


def test_build_model_raises_the_same_errors():
    with pytest.raises(ScenarioError, match=r"mining\.relocate_share"):
        build_model(households=MIN_HOUSEHOLDS, overrides={"mining.relocate_share": 1.5})
    with pytest.raises(ScenarioError, match="run.households"):
        build_model(households=MIN_HOUSEHOLDS - 1)


# ------------------------------------------------------------------ files
def test_unknown_key_in_a_file(tmp_path):
    path = write_scenario(tmp_path, '[countries.PAK]\ncolour = "green"\n')
    err = error_for(path)
    assert_names(err, path, "countries.PAK.colour", "'green'")
    assert "unknown key" in str(err)


def test_unknown_shock_kind_in_a_file(tmp_path):
    path = write_scenario(tmp_path, '[shocks.z]\ndate = 2026-01-07\ncountry = "PAK"\nkind = "coup"\n')
    assert_names(error_for(path), path, "shocks.z.kind", "'coup'")


def test_unknown_country_in_a_shock_in_a_file(tmp_path):
    path = write_scenario(tmp_path, '[shocks.z]\ndate = 2026-01-07\ncountry = "XXX"\nkind = "stance_change"\n'
                                    'to = 3\n')
    assert_names(error_for(path), path, "shocks.z.country", "'XXX'")


def test_malformed_toml(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text('name = "x"\n[run\nstart = 2025-01-01\n')
    err = error_for(path)
    assert str(path) in str(err)
    assert "malformed TOML" in str(err)
    assert "line 2" in str(err)


def test_missing_scenario_name_and_missing_file(tmp_path):
    err = error_for("no_such_scenario_here")
    assert "no_such_scenario_here" in str(err) and "no such scenario" in str(err)
    assert "south_asia_2025" in str(err)  # lists the known ones
    missing = tmp_path / "nowhere.toml"
    err = error_for(missing)
    assert str(missing) in str(err) and "not found" in str(err)


def test_missing_included_file_and_include_cycle(tmp_path):
    path = tmp_path / "a.toml"
    path.write_text('include = ["gone.toml"]\n')
    err = error_for(path)
    assert_names(err, path, "include", "'gone.toml'")
    b = tmp_path / "b.toml"
    path.write_text('include = ["b.toml"]\n')
    b.write_text('include = ["a.toml"]\n')
    assert "include cycle" in str(error_for(path))


def test_sourced_value_with_two_provenance_keys(tmp_path):
    path = write_scenario(tmp_path, '[mining]\npue = { value = 1.2, source = "a", assumption = "b" }\n')
    err = error_for(path)
    assert_names(err, path, "mining.pue", "'source'")
    assert "'assumption'" in str(err)


def test_sourced_value_with_empty_provenance(tmp_path):
    path = write_scenario(tmp_path, '[mining]\npue = { value = 1.2, source = "  " }\n')
    assert_names(error_for(path), path, "mining.pue.source", None)


def test_includes_resolve_relative_to_the_including_file(tmp_path):
    sub = tmp_path / "variants" / "deep"
    sub.mkdir(parents=True)
    rel = os.path.relpath(BASELINE, sub)
    path = sub / "cheap.toml"
    path.write_text(f'include = ["{rel}"]\nname = "cheap"\n\n[market.price]\ncsv = "{PRICE_CSV.as_posix()}"\n\n'
                    '[countries.PAK]\nmining_tariff_usd_per_kwh = { value = 0.05, assumption = "what-if" }\n')
    spec = load_scenario(path)
    assert spec.config.name == "cheap"
    assert spec.config.countries["PAK"].mining_tariff_usd_per_kwh == 0.05
    assert spec.provenance["countries.PAK.mining_tariff_usd_per_kwh"] == ("assumption", "what-if")
    # Everything else comes from the baseline.
    base = load_scenario("south_asia_2025")
    assert spec.config.countries["IND"] == base.config.countries["IND"]
    assert spec.config.shocks == base.config.shocks


# ------------------------------------------------------------------ provenance
# Integers that are structure, not measurements, may be written plainly: the run's step
# length and agent counts, the stance scale's cap for diffusion, stance thresholds of
# exchanges and the target stance of a stance_change shock (levels on the 0-4 scale).
PLAIN_ALLOWED = {
    ("run", "step_days"), ("run", "households"), ("run", "household_floor"),
    ("run", "household_agents_max"), ("policy", "max_diffusion_stance"),
    ("exchanges", "*", "min_stance_enter"), ("exchanges", "*", "min_stance_stay"),
    ("shocks", "*", "to"), ("countries", "*", "winter_peak_month"),
    # a fitted covariance's entries: their provenance is the table's own `fitted` text
    ("policy", "fit", "covariance", "*", "matrix", "*", "*"),
    ("mining", "covariance", "matrix", "*", "*"), ("mining", "covariance", "bounds", "*", "*"),
    ("households", "covariance", "matrix", "*", "*"), ("households", "covariance", "bounds", "*", "*"),
    ("volume", "covariance", "matrix", "*", "*"),
    ("nowcast", "covariance", "matrix", "*", "*"), ("nowcast", "covariance", "bounds", "*", "*"),
}


def _allowed(path: tuple[str, ...]) -> bool:
    return any(len(p) == len(path) and all(a in ("*", b) for a, b in zip(p, path)) for p in PLAIN_ALLOWED)


def _plain_numbers(obj, path=()):
    if isinstance(obj, dict):
        if "value" in obj and any(k in obj for k in PROVENANCE_KEYS):
            return
        for k, v in obj.items():
            yield from _plain_numbers(v, path + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _plain_numbers(v, path + (str(i),))
    elif isinstance(obj, (int, float)) and not isinstance(obj, bool):
        yield path, obj


SHIPPED = sorted(SCENARIO_DIR.glob("*.toml"))
# Parts and calibration files are included by scenarios; they are not scenarios alone.
INCLUDED = sorted(SCENARIO_DIR.glob("*/*.toml")) + sorted((SCENARIO_DIR.parent / "calibration").glob("*.toml"))


@pytest.mark.parametrize("path", SHIPPED + INCLUDED, ids=[p.name for p in SHIPPED + INCLUDED])
def test_every_shipped_number_has_provenance(path):
    raw = tomllib.loads(path.read_text())
    unsourced = [".".join(p) + f" = {v}" for p, v in _plain_numbers(raw) if not _allowed(p)]
    assert unsourced == []
    if path in SHIPPED:
        load_scenario(path)  # and the scenario itself is valid


def test_provenance_walker_catches_plain_numbers():
    raw = {"mining": {"pue": 1.1, "hurdle_margin": {"value": 0.6, "assumption": "x"}},
           "run": {"step_days": 7}, "shocks": {"a": {"to": 3, "strength": -1.0}}}
    found = [p for p, _ in _plain_numbers(raw) if not _allowed(p)]
    assert found == [("mining", "pue"), ("shocks", "a", "strength")]


# ------------------------------------------------------------------ written scenario
def test_to_toml_round_trip_gives_an_equal_config(tmp_path):
    spec = load_scenario("south_asia_2025", {"countries.PAK.mining_tariff_usd_per_kwh": 0.1,
                                             "shocks.pak_vao.enabled": False})
    path = tmp_path / "resolved.toml"
    path.write_text(spec.to_toml())
    again = load_scenario(path)
    assert again.config == spec.config
    assert again.config.countries["PAK"].mining_tariff_usd_per_kwh == 0.1
    assert again.provenance["countries.PAK.mining_tariff_usd_per_kwh"][0] == "assumption"
    assert again.to_toml() == spec.to_toml()
    plain = load_scenario("south_asia_2025")
    path.write_text(plain.to_toml())
    assert load_scenario(path).provenance == plain.provenance


def test_a_written_run_folder_reruns_to_the_same_numbers_from_anywhere(tmp_path):
    from experiments.runs import write_run

    until = dt.date(2025, 6, 1)
    spec = load_scenario("south_asia_2025", {"run.households": MIN_HOUSEHOLDS,
                                             "countries.PAK.mining_tariff_usd_per_kwh": 0.07})
    first = CryptoAdoptionModel(config=spec, seed=4).run(until=until)
    out = write_run(first, tmp_path / "somewhere" / "else" / "deeper" / "run", figures=False)
    again = build_model(str(out / "scenario.toml"), seed=4).run(until=until)
    pd.testing.assert_frame_equal(first.timeseries(), again.timeseries())
    pd.testing.assert_frame_equal(first.events_frame(), again.events_frame())
    assert again.config.countries["PAK"].mining_tariff_usd_per_kwh == 0.07


def test_variant_in_another_folder_that_includes_the_baseline_builds(tmp_path):
    path = write_scenario(tmp_path, 'name = "variant"\n')
    m = build_model(str(path), households=MIN_HOUSEHOLDS)
    assert m.market.prices[0] > 0


def test_a_long_bad_value_is_cut_so_the_message_stays_readable():
    """A bad covariance table is shown in its first characters with its full length, on one line."""
    from model.errors import SHOWN_CHARS
    n = len(load_scenario("south_asia_2025").config.mining.covariance.terms)
    singular = [[0.123456789 * (i == j and i > 0) for j in range(n)] for i in range(n)]
    with pytest.raises(ScenarioError) as err:
        build_model("south_asia_2025", seed=0, households=0, overrides={"mining.covariance.matrix": singular})
    text = str(err.value)
    assert "positive definite" in text and "\n" not in text
    got = text.split("(got ", 1)[1]
    assert len(got) < SHOWN_CHARS + 40 and got.endswith(" characters))")


def test_a_tables_own_check_shows_the_entries_its_message_names():
    """A check across a table's fields shows those fields' values, not the table's first keys."""
    with pytest.raises(ScenarioError) as err:
        build_model("south_asia_2025", seed=0, households=0, overrides={"mining.relocate_share": 0.99})
    text = str(err.value)
    assert "relocate_share + underground_share must not exceed 1" in text
    assert "'relocate_share': 0.99" in text and "'underground_share'" in text and "'pue'" not in text
