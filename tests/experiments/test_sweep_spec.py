"""Sweep specs and designs: parsing, checking against the scenario, hashing, design tables, seeds.

No model is run here (a spec check builds the scenario only), so this file is fast.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from experiments.cli import main
from experiments.sweep.design import make_design, replicate_seeds, sampler_seed
from experiments.sweep.errors import SpecError
from experiments.sweep.spec import HEADLINE_METRICS, load_spec
from model.scenario import PROJECT_ROOT, SCENARIO_DIR

EXAMPLE = PROJECT_ROOT / "experiments" / "sweeps" / "pak_tariff_grid.toml"
HEAD = """
scenario = "south_asia_2025"
until = 2025-03-01
households = 1800
"""


def spec_file(tmp_path: Path, body: str, name: str = "spec.toml", head: str = HEAD) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(head) + textwrap.dedent(body))
    return path


# ----------------------------------------------------------------------------- the example
def test_example_spec_is_a_small_tariff_by_mw_grid():
    spec = load_spec(EXAMPLE)
    design = make_design(spec)
    assert spec.design.kind == "grid" and spec.replicates == 2
    assert spec.names == ["shocks.pak_allocation.tariff_usd_per_kwh", "shocks.pak_allocation.mw"]
    assert len(design.points) == 9 and len(design.table) == 18
    assert spec.until < spec.start.replace(year=spec.start.year + 2)  # a short horizon


# ----------------------------------------------------------------------------- defaults and hash
def test_defaults_are_filled_in(tmp_path):
    spec = load_spec(spec_file(tmp_path, """
        [design]
        kind = "grid"
        [parameters."mining.hurdle_margin"]
        values = [0.5, 1]
        """))
    assert spec.replicates == 1 and spec.seed == 0 and spec.every == 4
    assert spec.metrics == HEADLINE_METRICS
    assert "WORLD" in spec.countries and "PAK" in spec.countries
    assert spec.parameters[0].values == (0.5, 1.0)  # one type per column: mixed int/float -> float
    assert spec.households == 1800


def test_hash_ignores_layout_comments_and_description_but_not_values(tmp_path):
    a = load_spec(spec_file(tmp_path, """
        description = "first"
        [design]
        kind = "grid"
        [parameters."shocks.pak_allocation.mw"]
        values = [1000, 2000]
        """, "a.toml"))
    # Same sweep: nested tables instead of a quoted path, keys moved, a comment, explicit defaults.
    b = load_spec(spec_file(tmp_path, """
        # a comment
        description = "reworded"
        replicates = 1
        seed = 0
        [parameters.shocks.pak_allocation.mw]
        values = [1000, 2000]
        [design]
        kind = "grid"
        [output]
        every = 4
        """, "b.toml"))
    c = load_spec(spec_file(tmp_path, """
        [design]
        kind = "grid"
        [parameters."shocks.pak_allocation.mw"]
        values = [1000, 3000]
        """, "c.toml"))
    assert a.sha256() == b.sha256()
    assert a.sha256() != c.sha256()


def test_scenario_path_is_relative_to_the_spec(tmp_path):
    scen_dir = tmp_path / "scenarios"
    scen_dir.mkdir()
    (scen_dir / "variant.toml").write_text(
        f'include = ["{(SCENARIO_DIR / "south_asia_2025.toml").as_posix()}"]\n'
        f'[market.price]\ncsv = "{(PROJECT_ROOT / "data" / "btc_usd_monthly.csv").as_posix()}"\n'
        '[mining]\nhurdle_margin = 0.9\n')
    spec_dir = tmp_path / "specs"
    spec_dir.mkdir()
    spec = load_spec(spec_file(spec_dir, """
        [design]
        kind = "grid"
        """, head='scenario = "../scenarios/variant.toml"\nuntil = 2025-03-01\nhouseholds = 1800\n'))
    assert Path(spec.scenario_ref) == (scen_dir / "variant.toml").resolve()
    assert len(make_design(spec).table) == 1  # no parameters: one point


# ----------------------------------------------------------------------------- clear errors
BAD = [
    # (body, field named in the message, value named in the message)
    ('[design]\nkind = "grid"\n[parameters."shocks.pak_allocation.tarif_usd_per_kwh"]\nvalues = [0.1]\n',
     "parameters.shocks.pak_allocation.tarif_usd_per_kwh", "no such parameter"),
    ('[design]\nkind = "grid"\n[parameters."countries.XXX.stance"]\nvalues = [1]\n',
     "parameters.countries.XXX.stance", "'countries.XXX' does not exist"),
    ('[design]\nkind = "grid"\n[parameters."mining.relocate_share"]\nvalues = [0.2, 1.5]\n',
     "parameters.mining.relocate_share", "(got 1.5)"),
    ('[design]\nkind = "lhs"\nsamples = 4\n[parameters."countries.PAK.stance"]\nlow = 1\nhigh = 3\n',
     "parameters.countries.PAK.stance", "integer = true"),
    ('[design]\nkind = "annealing"\n', "design.kind", "'annealing'"),
    ('[design]\nkind = "sobol"\nsamples = 12\n[parameters."mining.hurdle_margin"]\nlow = 0.1\nhigh = 1\n',
     "design.samples", "power of 2"),
    ('[design]\nkind = "lhs"\nsamples = 4\n[parameters."mining.hurdle_margin"]\nvalues = [0.1, 1]\n',
     "parameters.mining.hurdle_margin", "give low and high"),
    ('[design]\nkind = "grid"\n[parameters."mining.hurdle_margin"]\nlow = 0.1\nhigh = 1\n',
     "parameters.mining.hurdle_margin", "grid design needs values"),
    ('[design]\nkind = "lhs"\nsamples = 4\n[parameters."mining.hurdle_margin"]\nlow = 0\nhigh = 1\nlog = true\n',
     "parameters.mining.hurdle_margin.low", "log = true needs low > 0"),
    ('[design]\nkind = "morris"\n[parameters."mining.hurdle_margin"]\nlow = 0.1\nhigh = 1\n',
     "design.trajectories", "required"),
    ('[design]\nkind = "grid"\n[output]\nmetrics = ["hashrate"]\n', "output.metrics", "'hashrate'"),
    ('[design]\nkind = "grid"\n[output]\ncountries = ["PAK", "ATL"]\n', "output.countries", "'ATL'"),
    ('[design]\nkind = "grid"\n[set]\n"mining.hurdle_margn" = 1\n', "set.mining.hurdle_margn", "unknown key"),
    ('replcates = 3\n[design]\nkind = "grid"\n', "replcates", "unknown key"),
]


@pytest.mark.parametrize("body,field,text", BAD, ids=[b[1] + ":" + b[2][:12] for b in BAD])
def test_spec_errors_name_file_field_and_value(tmp_path, body, field, text):
    path = spec_file(tmp_path, body)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    message = str(info.value)
    line = next((ln for ln in message.splitlines() if f": {field}:" in ln), None)
    assert line is not None, message
    assert line.startswith(str(path)) and text in line, message


def test_until_outside_the_run_and_bad_households(tmp_path):
    path = spec_file(tmp_path, '[design]\nkind = "grid"\n',
                     head='scenario = "south_asia_2025"\nuntil = 2040-01-01\n')
    with pytest.raises(SpecError, match=r"until: outside the scenario's run .*'2040-01-01'"):
        load_spec(path)
    path = spec_file(tmp_path, '[design]\nkind = "grid"\n', head='scenario = "south_asia_2025"\nhouseholds = 100\n')
    with pytest.raises(SpecError, match=r"households: fewer than household_floor"):
        load_spec(path)


def test_cli_refuses_a_bad_spec_with_exit_2_before_any_run(tmp_path, capsys):
    path = spec_file(tmp_path, '[design]\nkind = "grid"\n[parameters."mining.hurdle_margn"]\nvalues = [1]\n')
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "parameters.mining.hurdle_margn" in err and "Traceback" not in err
    assert not out.exists()
    assert main(["sweep", str(tmp_path / "missing.toml")]) == 2
    assert "spec file not found" in capsys.readouterr().err


# ----------------------------------------------------------------------------- designs and seeds
def test_grid_design_table_ids_and_common_random_numbers(tmp_path):
    spec = load_spec(spec_file(tmp_path, """
        replicates = 3
        seed = 7
        [design]
        kind = "grid"
        [parameters."shocks.pak_allocation.mw"]
        values = [1000, 2000]
        [parameters."shocks.pak_vao.enabled"]
        values = [true, false]
        """))
    d = make_design(spec)
    t = d.table
    assert list(t.columns) == ["run_id", "point", "replicate", "seed", "shocks.pak_allocation.mw",
                               "shocks.pak_vao.enabled"]
    assert len(t) == 12 and t["run_id"].is_unique
    assert t["run_id"].iloc[0] == "p0000_r00" and t["run_id"].iloc[-1] == "p0003_r02"
    assert t["shocks.pak_allocation.mw"].dtype == np.int64 and t["shocks.pak_vao.enabled"].dtype == bool
    # cartesian, first parameter slowest
    assert d.points[spec.names].values.tolist() == [[1000, True], [1000, False], [2000, True], [2000, False]]
    # common random numbers: replicate r has one seed at every point, from spawn index r
    per_rep = t.groupby("replicate")["seed"].nunique()
    assert (per_rep == 1).all()
    seeds = t.groupby("replicate")["seed"].first().tolist()
    assert len(set(seeds)) == 3
    expected = [int(c.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))
                for c in np.random.SeedSequence(7).spawn(3)]
    assert seeds == expected == replicate_seeds(7, 3)
    assert replicate_seeds(7, 5)[:3] == seeds  # more replicates keep the earlier seeds
    assert make_design(spec).table.equals(t)  # same spec, same table


def test_lhs_design_is_seeded_stratified_and_transformed(tmp_path):
    spec = load_spec(spec_file(tmp_path, """
        seed = 3
        [design]
        kind = "lhs"
        samples = 8
        [parameters."mining.hurdle_margin"]
        low = 0.1
        high = 10
        log = true
        [parameters."mining.lead_time_weeks"]
        low = 10
        high = 30
        integer = true
        [parameters."mining.cost_spread"]
        low = 0.1
        high = 0.4
        """))
    d = make_design(spec)
    again = make_design(spec)
    assert d.table.equals(again.table) and np.array_equal(d.sample, again.sample)
    assert d.problem == {"num_vars": 3, "names": spec.names,
                         "bounds": [[-1.0, 1.0], [10.0, 31.0], [0.1, 0.4]]}
    # one sample per eighth of every problem-space range
    b = np.array(d.problem["bounds"])
    u = (d.sample - b[:, 0]) / (b[:, 1] - b[:, 0])
    for j in range(3):
        assert sorted(np.floor(u[:, j] * 8).astype(int)) == list(range(8))
    hm = d.points["mining.hurdle_margin"].to_numpy()
    assert np.allclose(np.log10(hm), d.sample[:, 0]) and hm.min() >= 0.1 and hm.max() <= 10
    lead = d.points["mining.lead_time_weeks"]
    assert lead.dtype == np.int64 and lead.between(10, 30).all()
    assert (lead.to_numpy() == np.floor(d.sample[:, 1])).all()
    other = load_spec(spec_file(tmp_path, spec.file.read_text().replace("seed = 3", "seed = 4"), "o.toml", head=""))
    assert not np.array_equal(make_design(other).sample, d.sample)


@pytest.mark.parametrize("second,rows", [(False, 4 * (2 + 2)), (True, 4 * (2 * 2 + 2))])
def test_sobol_design_matches_salib(tmp_path, second, rows):
    from SALib.sample import sobol
    spec = load_spec(spec_file(tmp_path, f"""
        seed = 11
        replicates = 2
        [design]
        kind = "sobol"
        samples = 4
        calc_second_order = {str(second).lower()}
        [parameters."mining.hurdle_margin"]
        low = 0.2
        high = 1.2
        [parameters."shocks.pak_allocation.tariff_usd_per_kwh"]
        low = 0.04
        high = 0.14
        """))
    d = make_design(spec)
    assert len(d.points) == rows and len(d.table) == 2 * rows
    direct = sobol.sample(d.problem, 4, calc_second_order=second, scramble=True, seed=sampler_seed(11))
    assert np.array_equal(d.sample, direct)
    assert np.allclose(d.points[spec.names].to_numpy(), direct)


def test_morris_design_rows_and_levels(tmp_path):
    spec = load_spec(spec_file(tmp_path, """
        [design]
        kind = "morris"
        trajectories = 3
        levels = 4
        [parameters."mining.hurdle_margin"]
        low = 0.2
        high = 1.2
        [parameters."mining.cost_spread"]
        low = 0.1
        high = 0.4
        """))
    d = make_design(spec)
    assert len(d.points) == 3 * (2 + 1)
    b = np.array(d.problem["bounds"])
    levels = (d.sample - b[:, 0]) / (b[:, 1] - b[:, 0]) * 3  # 4 levels: 0, 1/3, 2/3, 1
    assert np.allclose(levels, np.round(levels))


# ----------------------------------------------------------------------------- shape errors (pydantic)
SHAPE = [
    # (body, field, text in the line)
    ('[design]\nkind = "lhs"\nsamples = 4\nlevels = 3\n[parameters."mining.hurdle_margin"]\nlow = 0.1\nhigh = 1\n',
     "design.levels", "not a setting of a lhs design (its settings: own_seeds, samples)"),
    ('[design]\nkind = "grid"\n[parameters."mining.hurdle_margin"]\nvalues = [1]\nstep = 2\n',
     "parameters.mining.hurdle_margin.step", "unknown key (known: group, high, integer, log, low, paths, values)"),
    ('[design]\nkind = "grid"\n[parameters]\n"mining.hurdle_margin" = 0.5\n',
     "parameters.mining.hurdle_margin", "must be a table with values = [...] or low/high (got 0.5)"),
    ('[design]\nkind = "lhs"\nsamples = 4\n[parameters."mining.lead_time_weeks"]\nlow = 10.5\nhigh = 30\n'
     'integer = true\n', "parameters.mining.lead_time_weeks.low", "integer = true needs a whole number (got 10.5)"),
    ('[design]\nkind = "lhs"\nsamples = 4\n[parameters."mining.hurdle_margin"]\nlow = 2\nhigh = 1\n',
     "parameters.mining.hurdle_margin.high", "low must be below high (low = 2) (got 1)"),
    ('[design]\nkind = "grid"\n[parameters."mining.hurdle_margin"]\nvalues = [1, "a"]\n',
     "parameters.mining.hurdle_margin.values", "all numbers, all booleans, all strings or all dates"),
    ('seed = true\n[design]\nkind = "grid"\n', "seed", "not true/false (got True)"),
    ('[design]\nkind = "grid"\n[output]\nevery = 0\n', "output.every", "greater than or equal to 1 (got 0)"),
    ('[design]\nkind = "grid"\n[output]\nmetrics = ["stance", "stance"]\n', "output.metrics", "lists a metric twice"),
    ("[design]\n", "design.kind", "must be one of grid, lhs, sobol, morris"),
    ('design = 3\n', "design", 'must be a table, e.g. [design] kind = "grid" (got 3)'),
]


@pytest.mark.parametrize("body,field,text", SHAPE, ids=[s[1] for s in SHAPE])
def test_shape_errors_name_file_dotted_field_and_value(tmp_path, body, field, text):
    path = spec_file(tmp_path, body)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    lines = [ln for ln in str(info.value).splitlines() if ln.startswith(f"{path}: {field}: ")]
    assert len(lines) == 1 and text in lines[0], str(info.value)


def test_every_shape_problem_is_reported_at_once(tmp_path):
    path = spec_file(tmp_path, 'foo = 1\nseed = -3\nreplicates = "x"\n[design]\nkind = "morris"\n'
                               '[parameters."mining.hurdle_margin"]\nlow = nan\nhigh = 1\n[output]\nbar = 2\n')
    with pytest.raises(SpecError) as info:
        load_spec(path)
    fields = [f for f, _, _ in info.value.problems]
    assert sorted(fields) == sorted(["foo", "seed", "replicates", "design.trajectories",
                                     "parameters.mining.hurdle_margin.low", "output.bar"])
    assert "design.trajectories: required" in str(info.value)


def test_the_hash_input_of_a_spec_is_unchanged(tmp_path):
    """The canonical spec is what identifies a sweep folder: an old folder resumes only if it is the same."""
    spec = load_spec(spec_file(tmp_path, """
        seed = 5
        [design]
        kind = "sobol"
        samples = 4
        [parameters."mining.lead_time_weeks"]
        low = 10
        high = 30
        integer = true
        group = "mining"
        [parameters."mining.hurdle_margin"]
        low = 0.5
        high = 2
        log = true
        group = "mining"
        [parameters.prices]
        low = 0.04
        high = 0.1
        paths = ["shocks.pak_allocation.tariff_usd_per_kwh"]
        [set]
        "shocks.pak_vao.date" = 2025-02-01
        [output]
        metrics = ["stance"]
        countries = ["PAK"]
        """))
    canonical = spec.canonical()
    assert len(canonical.pop("scenario_sha256")) == 64
    assert canonical == {
        "scenario": "south_asia_2025", "seed": 5, "replicates": 1,
        "design": {"kind": "sobol", "samples": 4, "calc_second_order": False},
        "parameters": [
            {"path": "mining.lead_time_weeks", "low": 10, "high": 30, "log": False, "integer": True, "group": "mining"},
            {"path": "mining.hurdle_margin", "low": 0.5, "high": 2.0, "log": True, "integer": False, "group": "mining"},
            {"path": "prices", "low": 0.04, "high": 0.1, "log": False, "integer": False,
             "paths": ["shocks.pak_allocation.tariff_usd_per_kwh"]}],
        "set": {"shocks.pak_vao.date": "2025-02-01"}, "until": "2025-03-01", "households": 1800,
        "output": {"metrics": ["stance"], "countries": ["PAK"], "every": 4}}
    assert [type(v) for p in canonical["parameters"] for v in (p["low"], p["high"])] == [int, int] + [float] * 4
    grid = load_spec(spec_file(tmp_path, '[design]\nkind = "grid"\n[parameters."countries.PAK.stance"]\n'
                                         'values = [1, 2.0]\ninteger = true\n', "grid.toml")).canonical()
    assert grid["design"] == {"kind": "grid"}
    assert grid["parameters"] == [{"path": "countries.PAK.stance", "values": [1, 2]}]


# ----------------------------------------------------------------------------- what None means
def test_a_problem_without_a_value_says_none_and_none_is_a_value():
    import pickle

    from model.errors import MISSING, ScenarioError
    for cls in (ScenarioError, SpecError):
        assert str(cls.one("f.toml", "x", "bad")) == "f.toml: x: bad"
        assert str(cls.one("f.toml", "x", "bad", MISSING)) == "f.toml: x: bad"
        assert str(cls.one("f.toml", "x", "bad", None)) == "f.toml: x: bad (got None)"
        again = pickle.loads(pickle.dumps(cls.one("f.toml", "x", "bad")))  # as from a worker process
        assert type(again) is cls and again.problems[0][2] is MISSING and str(again) == "f.toml: x: bad"


def test_own_seeds_is_in_the_hash_only_when_set():
    """An LHS spec written before ``own_seeds`` existed keeps its hash (its folder resumes)."""
    from experiments.sweep.spec import Lhs

    assert Lhs(kind="lhs", samples=3).canonical() == {"kind": "lhs", "samples": 3}
    assert Lhs(kind="lhs", samples=3, own_seeds=True).canonical()["own_seeds"] is True
