"""Outcome definitions, their computation, the spec hooks of the analysis, and PRIM.

No model runs: outcomes are computed on small hand-made panels, specs are only loaded,
and PRIM runs on synthetic data, so this file is fast.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments.analysis.outcomes import Panel, compute
from experiments.analysis.prim import prim
from experiments.sweep.design import make_design
from experiments.sweep.errors import SpecError
from experiments.sweep.outcomes import (
    Context,
    OutcomeError,
    decimal_year,
    parse_flag,
    parse_outcome,
    parse_series,
    year_to_date,
)
from experiments.sweep.spec import load_spec
from experiments.sweep.worker import RunTask

CTX = Context(metrics=("hashrate_share", "stance", "trading_volume_usd", "mining_power_mw", "btc_price_usd"),
              countries=("PAK", "IND", "BGD", "WORLD"), region=("PAK", "IND", "BGD"),
              start=dt.date(2025, 1, 1), until=dt.date(2030, 12, 31))
HEAD = """
scenario = "south_asia_2025"
until = 2025-03-01
households = 1800
"""


def spec_file(tmp_path: Path, body: str, name: str = "spec.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(HEAD) + textwrap.dedent(body))
    return path


def panel(values: dict[tuple[str, str], list[list[float]]], every: int = 1) -> Panel:
    n_steps = len(next(iter(values.values()))[0])
    steps = np.arange(n_steps) * every
    dates = pd.DatetimeIndex([pd.Timestamp("2025-01-01") + pd.Timedelta(weeks=int(s)) for s in steps])
    arrays = {k: np.asarray(v, dtype=float) for k, v in values.items()}
    return Panel(run_ids=[f"r{i}" for i in range(len(next(iter(arrays.values()))))], steps=steps, dates=dates,
                 values=arrays)


# ----------------------------------------------------------------------------- the syntax
@pytest.mark.parametrize("expr, stat, countries, kind", [
    ("last(hashrate_share@PAK)", "last", ("PAK",), "number"),
    ("sum(trading_volume_usd@region)", "sum", ("PAK", "IND", "BGD"), "number"),
    ("sum(trading_volume_usd@PAK+IND, from=2026-01-01)", "sum", ("PAK", "IND"), "number"),
    ("first_change(stance@BGD)", "first_change", ("BGD",), "date"),
    ("first_time(stance@BGD >= 3)", "first_time", ("BGD",), "date"),
    ("max(stance@BGD, to=2027-12-31) >= 3", "max", ("BGD",), "yes/no"),
    ("first_change(stance@BGD) < 2028-01-01", "first_change", ("BGD",), "yes/no"),
    ("max(btc_price_usd)", "max", ("WORLD",), "number"),
    ("min(mining_power_mw@all, across=max)", "min", ("PAK", "IND", "BGD"), "number"),
])
def test_expressions_parse(expr, stat, countries, kind):
    o = parse_outcome("x", expr, CTX)
    assert (o.stat, o.series.countries, o.kind) == (stat, countries, kind)
    assert parse_outcome("x", o.expr, CTX) == o  # the normalised text parses back to the same outcome


def test_table_form_equals_the_expression():
    table = {"stat": "max", "metric": "stance", "countries": "BGD", "to": dt.date(2027, 12, 31), "yes_if": ">= 3"}
    assert parse_outcome("x", table, CTX) == parse_outcome("x", "max(stance@BGD, to=2027-12-31) >= 3", CTX)


@pytest.mark.parametrize("expr, words", [
    ("lst(hashrate_share@PAK)", "unknown statistic"),
    ("last(hashrate_shar@PAK)", "unknown metric"),
    ("last(adoption_rate@PAK)", "not kept by this sweep"),
    ("last(hashrate_share@NPL)", "not kept by this sweep: NPL"),
    ("last(btc_price_usd@PAK)", "WORLD only"),
    ("first_time(stance@BGD)", "needs a condition"),
    ("max(stance@BGD >= 3)", "first_time only"),
    ("last(stance@BGD, to=2032-01-01)", "outside the sweep's run"),
    ("last(stance@BGD, from=2027-01-01, to=2026-01-01)", "is after"),
    ("last(stance@BGD, frm=2027-01-01)", "unknown key"),
    ("last(stance@BGD) > 2028-01-01", "compares a number"),
    ("hashrate_share@PAK", "not an outcome expression"),
])
def test_bad_expressions_say_why(expr, words):
    with pytest.raises(OutcomeError, match=words):
        parse_outcome("x", expr, CTX)


def test_flags_and_series():
    assert parse_flag("pak=last(hashrate_share@PAK)") == ("pak", "last(hashrate_share@PAK)")
    assert parse_flag("pak") == ("pak", None)
    with pytest.raises(OutcomeError, match="give the outcome a name"):
        parse_flag("max(stance@BGD, to=2027-12-31)")
    assert parse_series("trading_volume_usd@region", CTX).countries == ("PAK", "IND", "BGD")
    with pytest.raises(OutcomeError):
        parse_series("last(stance@BGD)", CTX)


def test_decimal_years_round_trip():
    for d in (dt.date(2025, 1, 1), dt.date(2028, 2, 29), dt.date(2030, 12, 31)):
        assert year_to_date(decimal_year(d)) == d
    assert decimal_year(dt.date(2028, 7, 2)) == pytest.approx(2028.5, abs=0.003)


# ----------------------------------------------------------------------------- computing
def test_statistics_on_a_panel():
    p = panel({("stance", "BGD"): [[0, 0, 1, 1, 3], [0, 0, 0, 0, 0]],
               ("trading_volume_usd", "PAK"): [[1, 2, 3, 4, 5], [1, 1, 1, 1, 1]],
               ("trading_volume_usd", "IND"): [[10, 10, 10, 10, 10], [0, 0, 0, 0, 0]]})
    v = lambda expr: compute(p, parse_outcome("x", expr, CTX))  # noqa: E731
    np.testing.assert_allclose(v("last(stance@BGD)")[0], [3, 0])
    np.testing.assert_allclose(v("sum(trading_volume_usd@PAK+IND)")[0], [65, 5])
    np.testing.assert_allclose(v("mean(trading_volume_usd@PAK)")[0], [3, 1])
    np.testing.assert_allclose(v("change(trading_volume_usd@PAK)")[0], [4, 0])
    np.testing.assert_allclose(v("max(stance@BGD, to=2025-01-20)")[0], [1, 0])  # steps 0..2 only
    np.testing.assert_allclose(v("max(stance@BGD) >= 3")[0], [1, 0])
    first, censored = v("first_change(stance@BGD)")
    assert year_to_date(first[0]) == dt.date(2025, 1, 15) and list(censored) == [False, True]
    assert year_to_date(first[1]) == dt.date(2025, 1, 29)  # censored at the last kept date
    reach, censored = v("first_time(stance@BGD >= 3)")
    assert year_to_date(reach[0]) == dt.date(2025, 1, 29) and not censored[0] and censored[1]
    yes = v("first_change(stance@BGD) < 2025-01-20")[0]
    np.testing.assert_allclose(yes, [1, 0])
    rel = v("last(trading_volume_usd@PAK, relative_to=2025-01-08)")[0]
    np.testing.assert_allclose(rel, [2.5, 1.0])


def test_sum_counts_each_kept_row_for_the_steps_it_stands_for():
    # kept every 4th step plus the last (step 9): rows at 0, 4, 8, 9 stand for 4, 4, 1, 1 steps
    p = panel({("trading_volume_usd", "PAK"): [[1.0, 1.0, 1.0, 1.0]]})
    p.steps = np.array([0, 4, 8, 9])
    assert compute(p, parse_outcome("x", "sum(trading_volume_usd@PAK)", CTX))[0][0] == pytest.approx(10.0)


def test_a_country_without_the_metric_is_reported():
    p = panel({("stance", "BGD"): [[0, 1]]})
    with pytest.raises(OutcomeError, match="no rows for stance at IND"):
        compute(p, parse_outcome("x", "last(stance@BGD+IND)", CTX))


# ----------------------------------------------------------------------------- spec hooks
def test_analysis_table_is_checked_when_the_spec_loads(tmp_path):
    with pytest.raises(SpecError) as err:
        load_spec(spec_file(tmp_path, """
            [design]
            kind = "grid"
            [parameters."mining.hurdle_margin"]
            values = [0.5, 1.0]
            [output]
            metrics = ["hashrate_share"]
            countries = ["PAK", "WORLD"]
            [analysis]
            fan = ["stance@PAK"]
            prim = ["share"]
            [analysis.outcomes]
            share = "last(hashrate_share@PAK)"
            moved = "first_change(stance@PAK)"
            """))
    text = str(err.value)
    assert "analysis.outcomes.moved" in text and "not kept by this sweep" in text
    assert "analysis.fan" in text
    assert "PRIM needs a yes/no outcome" in text


def test_analysis_table_is_not_part_of_the_sweep_hash(tmp_path):
    body = """
        [design]
        kind = "grid"
        [parameters."mining.hurdle_margin"]
        values = [0.5, 1.0]
        """
    a = load_spec(spec_file(tmp_path, body, "a.toml"))
    b = load_spec(spec_file(tmp_path, body + '[analysis.outcomes]\nx = "last(hashrate_share@PAK)"\n', "b.toml"))
    assert a.sha256() == b.sha256()
    assert b.analysis["outcomes"] == {"x": "last(hashrate_share@PAK)"}


def test_linked_parameter_sets_every_path(tmp_path):
    spec = load_spec(spec_file(tmp_path, """
        [design]
        kind = "grid"
        [parameters.package]
        values = [true, false]
        paths = ["shocks.pak_vao.enabled", "shocks.pak_allocation.enabled"]
        """))
    assert spec.names == ["package"]
    assert spec.links == (("package", ("shocks.pak_vao.enabled", "shocks.pak_allocation.enabled")),)
    task = RunTask(run_id="p0001_r00", point=1, replicate=0, seed=1, params=(("package", False),), fixed=(),
                   scenario="south_asia_2025", households=1800, until=dt.date(2025, 3, 1), metrics=("stance",),
                   countries=("PAK",), every=4, links=spec.links)
    assert task.overrides() == {"shocks.pak_vao.enabled": False, "shocks.pak_allocation.enabled": False}


def test_linked_parameter_mistakes_are_reported(tmp_path):
    with pytest.raises(SpecError, match="shocks.pak_vao.enabeld: no such parameter"):
        load_spec(spec_file(tmp_path, """
            [design]
            kind = "grid"
            [parameters.package]
            values = [true, false]
            paths = ["shocks.pak_vao.enabled", "shocks.pak_vao.enabeld"]
            """, "typo.toml"))
    with pytest.raises(SpecError, match="sets a path that parameter shocks.pak_allocation.enabled sets too"):
        load_spec(spec_file(tmp_path, """
            [design]
            kind = "grid"
            [parameters."shocks.pak_allocation.enabled"]
            values = [true, false]
            [parameters.again]
            values = [true, false]
            paths = ["shocks.pak_allocation.enabled"]
            """, "twice.toml"))


def test_groups_reach_the_salib_problem(tmp_path):
    spec = load_spec(spec_file(tmp_path, """
        [design]
        kind = "sobol"
        samples = 4
        [parameters."households.imitation_per_year"]
        low = 0.2
        high = 0.6
        group = "adoption"
        [parameters."households.innovation_per_year"]
        low = 0.005
        high = 0.02
        group = "adoption"
        [parameters."mining.hurdle_margin"]
        low = 0.5
        high = 1.5
        """))
    design = make_design(spec)
    assert design.problem["groups"] == ["adoption", "adoption", "mining.hurdle_margin"]
    assert len(design.points) == 4 * (2 + 2)  # N x (groups + 2)
    with pytest.raises(SpecError, match="groups are for sobol and morris"):
        load_spec(spec_file(tmp_path, """
            [design]
            kind = "lhs"
            samples = 4
            [parameters."mining.hurdle_margin"]
            low = 0.5
            high = 1.5
            group = "g"
            [parameters."mining.pue"]
            low = 1.05
            high = 1.2
            """, "lhs.toml"))


def test_a_set_value_may_rely_on_a_varied_parameter(tmp_path):
    # a constant price needs initial_usd, which the sweep varies
    spec = load_spec(spec_file(tmp_path, """
        [design]
        kind = "grid"
        [parameters."market.price.initial_usd"]
        values = [60000, 120000]
        [set]
        "market.price.kind" = "constant"
        """))
    assert spec.fixed == {"market.price.kind": "constant"}


# ----------------------------------------------------------------------------- PRIM
def test_prim_finds_the_box_on_synthetic_data():
    rng = np.random.default_rng(7)
    n = 600
    x = pd.DataFrame({"a": rng.uniform(0, 1, n), "b": rng.uniform(0, 1, n), "c": rng.integers(0, 4, n),
                      "flag": rng.uniform(size=n) < 0.5})
    y = ((x["a"] < 0.3) & (x["b"] > 0.5)).to_numpy().astype(float)
    flip = rng.uniform(size=n) < 0.05
    y[flip] = 1 - y[flip]
    res = prim(x, y)
    box = res.box
    assert set(box.restricted) == {"a", "b"}  # c and flag do not matter: not restricted
    assert box.limits["a"][1] == pytest.approx(0.3, abs=0.06)
    assert box.limits["b"][0] == pytest.approx(0.5, abs=0.06)
    assert box.density > 0.85 and box.coverage > 0.6 and box.density_outside < 0.15
    assert res.trajectory["density"].iloc[-1] >= res.trajectory["density"].iloc[0]
    assert all(p < 0.05 for p in box.pvalues.values())
