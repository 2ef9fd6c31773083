"""Non-finite and mistyped numbers, and the inputs that crashed (issue 11, section 3).

Every number of a scenario is finite and of its type (``true`` is not 1); values the
schema accepts do not crash; a run that cannot fit in memory is refused before it is
built; unreadable files, missing sections, a dead Dask scheduler, a negative seed and
out-of-range command-line numbers are one-line errors (exit 2); and a number the model
computes that is not finite stops the run naming metric, country and step instead of
making a series vanish.
"""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pytest
from conftest import BASELINE, MIN_HOUSEHOLDS, write_scenario

from experiments.cli import main
from experiments.sweep.errors import SpecError
from experiments.sweep.spec import load_spec
from model import ScenarioError, build_model, load_scenario
from model.errors import ModelError
from model.recorder import WORLD, Recorder


def error_for(name_or_path, overrides=None) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        load_scenario(name_or_path, overrides)
    return info.value


def one_problem(err: ScenarioError) -> tuple[str, str, object]:
    assert len(err.problems) == 1, err.problems
    return err.problems[0]


# ------------------------------------------------------------------ non-finite numbers
NON_FINITE = [
    "market.price.drift_per_year=nan",
    "market.price.volatility_per_year=inf",
    "market.fees_btc_per_block=inf",
    "shocks.pak_allocation.mw=inf",
    "remittances.intercept=nan",
    "countries.PAK.population_millions=inf",
    "shocks.pak_council_proposal.strength=nan",  # a signal
    "countries.PAK.mining_tariff_usd_per_kwh=inf",
    "market.price.drift_per_year=-inf",
    "market.price.drift_per_year=1e400",    # TOML reads it as inf
]


@pytest.mark.parametrize("item", NON_FINITE)
def test_non_finite_overrides_are_refused(item):
    path, raw = item.split("=")
    field, message, value = one_problem(error_for("south_asia_2025", [item]))
    assert field == path
    assert "finite" in message
    assert not np.isfinite(value), value
    assert str(BASELINE) in str(error_for("south_asia_2025", [item]))


def test_non_finite_numbers_in_a_file_are_refused_wherever_they_are(tmp_path):
    """Plain, sourced, and inside a table keyed by year (a dict of floats)."""
    path = write_scenario(tmp_path, '[market.price]\ndrift_per_year = nan\n\n'
                                    '[remittances]\nintercept = { value = -inf, assumption = "x" }\n\n'
                                    '[countries.PAK]\ninternet_pct = 20.0\n\n'
                                    '[countries.IND]\ninternet_path = { 2016 = 20.0, 2020 = nan }\n')
    err = error_for(path)
    fields = {f: m for f, m, _ in err.problems}
    assert {"market.price.drift_per_year", "remittances.intercept", "countries.IND.internet_path.2020"} <= set(fields)
    assert all("finite" in fields[f] for f in ("market.price.drift_per_year", "remittances.intercept",
                                                "countries.IND.internet_path.2020"))
    assert str(path) in str(err)


def test_a_non_finite_override_is_a_one_line_error_with_exit_2(tmp_path, capsys):
    code = main(["run", "south_asia_2025", "--households", str(MIN_HOUSEHOLDS), "--out", str(tmp_path / "o"),
                 "--set", "market.price.drift_per_year=nan", "--quiet", "--no-figures"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.count("\n") == 0, err
    assert "market.price.drift_per_year" in err and "nan" in err and str(BASELINE) in err
    assert not (tmp_path / "o").exists()


# ------------------------------------------------------------------ strict numbers
@pytest.mark.parametrize("item, field", [
    ("mining.cost_spread=true", "mining.cost_spread"),           # a float
    ("countries.PAK.stance=true", "countries.PAK.stance"),       # an int
    ("run.step_days=false", "run.step_days"),
    ("countries.PAK.stance=3.0", "countries.PAK.stance"),        # a whole-number field
    ('mining.cost_spread="0.2"', "mining.cost_spread"),          # a string is not a number
    ("shocks.pak_vao.enabled=1", "shocks.pak_vao.enabled"),      # and 1 is not true
])
def test_numbers_and_booleans_are_strict(item, field):
    f, message, value = one_problem(error_for("south_asia_2025", [item]))
    assert f == field
    if isinstance(value, bool):
        assert "not true/false" in message


def test_an_int_is_still_a_float_and_python_values_still_load():
    s = load_scenario("south_asia_2025", {"mining.cost_spread": 0, "market.price.volatility_per_year": np.float64(0.5),
                                          "countries.PAK.stance": np.int64(2),
                                          "shocks.pak_vao.enabled": np.bool_(False),
                                          "shocks.pak_allocation.date": "2025-06-01"})
    cfg = s.config
    assert cfg.mining.cost_spread == 0.0 and isinstance(cfg.mining.cost_spread, float)
    assert cfg.countries["PAK"].stance == 2 and type(cfg.countries["PAK"].stance) is int
    assert cfg.shocks["pak_vao"].enabled is False
    assert cfg.shocks["pak_allocation"].date == dt.date(2025, 6, 1)  # a date may still be an ISO string


# ------------------------------------------------------------------ valid values that crashed
def test_efficiency_improvement_of_one_is_refused():
    field, message, value = one_problem(error_for("south_asia_2025", ["mining.efficiency_improvement_per_year=1"]))
    assert field == "mining.efficiency_improvement_per_year" and "less than 1" in message
    load_scenario("south_asia_2025", ["mining.efficiency_improvement_per_year=0.5"])


@pytest.mark.parametrize("households", [1, 10])
def test_countries_without_household_agents_keep_their_measured_ownership(households):
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no division by zero
        m = build_model("south_asia_2025", households=households, overrides={"run.household_floor": 0})
        m.run(until=dt.date(2025, 6, 30))
    sizes = dict(zip(m.household_countries, m.households.sizes))
    empty = [c for c, n in sizes.items() if n == 0]
    assert empty and sum(sizes.values()) == households
    ts = m.timeseries()
    for code in empty:
        rates = ts[(ts.country == code) & (ts.metric == "adoption_rate")].value
        assert len(rates) == m.t + 1
        assert (rates == m.config.countries[code].ownership_pct / 100.0).all(), code
    logged = set(m.events_frame().query("kind == 'no_household_agents'").country)
    assert logged == set(empty)


# ------------------------------------------------------------------ seeds, memory
def test_a_negative_seed_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as info:
        main(["run", "south_asia_2025", "--seed", "-1"])
    assert info.value.code == 2
    assert "--seed: must be >= 0: -1" in capsys.readouterr().err


def test_a_run_that_cannot_fit_in_memory_is_refused_before_it_is_built(capsys, tmp_path, monkeypatch):
    import model.population

    def never(*a, **k):  # the social graph is the first large allocation
        raise AssertionError("the households were built before the memory check refused them")

    monkeypatch.setattr(model.population, "build_social_graph", never)
    code = main(["run", "south_asia_2025", "--households", str(10**11), "--out", str(tmp_path / "o"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert "run.households" in err and "needs about" in err and "TB of memory" in err and "available" in err


def test_the_memory_check_uses_the_available_memory(monkeypatch):
    import model.memory as memory
    monkeypatch.setattr(memory, "available_bytes", lambda: 100_000_000)
    with pytest.raises(ScenarioError, match=r"needs about .* 100.0 MB is available, enough for about"):
        build_model("south_asia_2025", households=10_000_000)
    build_model("south_asia_2025", households=MIN_HOUSEHOLDS)  # small runs are not even checked


def test_the_tie_estimate_matches_the_graph_built():
    from model.memory import expected_ties
    m = build_model("south_asia_2025", households=20_000)
    g, index = m.config.households.graph, {c: i for i, c in enumerate(m.household_countries)}
    corridors = [(index[e.a], index[e.b], e.weight) for e in m.config.network.edges.values()
                 if e.kind == "remittance" and e.a in index and e.b in index]
    ties = expected_ties(m.households.sizes, g.local_degree, g.random_degree, corridors,
                         g.cross_border_ties_per_household)
    built = m.households.adjacency.nnz / 2  # each tie stored twice; duplicates merged
    assert built <= ties <= 1.1 * built


# ------------------------------------------------------------------ files
BINARY = b"\xff\xfe\x00\x01PK\x03\x04 not text"


def test_a_binary_scenario_file_is_a_one_line_error(tmp_path, capsys):
    path = tmp_path / "binary.toml"
    path.write_bytes(BINARY)
    field, message, _ = one_problem(error_for(path))
    assert "not a UTF-8 text file" in message
    assert main(["run", str(path), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and str(path) in err and "UTF-8" in err


def test_a_latin1_included_file_is_named(tmp_path):
    inc = tmp_path / "latin1.toml"
    inc.write_bytes('description = "Café"\n'.encode("latin-1"))
    path = tmp_path / "main.toml"
    path.write_text('include = ["latin1.toml"]\n')
    assert str(inc) in str(error_for(path))


def test_a_binary_sweep_spec_is_a_one_line_error(tmp_path, capsys):
    path = tmp_path / "spec.toml"
    path.write_bytes(BINARY)
    with pytest.raises(SpecError, match="not a UTF-8 text file"):
        load_spec(path)
    assert main(["sweep", str(path), "--out", str(tmp_path / "sw")]) == 2
    assert "UTF-8" in capsys.readouterr().err


@pytest.mark.parametrize("body, wrong", [("", None), ("countries = 5\n", "countries")])
def test_an_empty_or_wrongly_shaped_file_names_what_is_wrong(tmp_path, body, wrong):
    path = tmp_path / "bad.toml"
    path.write_text(body)
    for overrides in (None, {"run.households": 2000}):  # --households used to hide it
        err = error_for(path, overrides)
        fields = {f: m for f, m, _ in err.problems}
        assert "'run' does not exist" not in str(err)
        for section in ("run", "market", "mining", "policy", "households", "exchanges"):
            assert fields[section] == f"required section [{section}] is missing"
        if wrong:
            assert "must be a table" in fields[wrong] and "(got 5)" in str(err)
        else:
            assert fields["countries"] == "required section [countries] is missing"


def test_a_mistyped_override_path_is_still_reported_as_such():
    field, message, _ = one_problem(error_for("south_asia_2025", ["rn.households=3"]))
    assert field == "rn.households" and "'rn' does not exist" in message


# ------------------------------------------------------------------ sweep specs
def test_a_non_finite_range_in_a_sweep_spec_is_refused(tmp_path):
    path = tmp_path / "spec.toml"
    path.write_text('scenario = "south_asia_2025"\nhouseholds = 1800\n[design]\nkind = "lhs"\nsamples = 4\n'
                    '[parameters."mining.cost_spread"]\nlow = 0.1\nhigh = inf\n')
    with pytest.raises(SpecError, match=r"parameters\.mining\.cost_spread\.high: must be a finite number"):
        load_spec(path)


def test_a_non_finite_set_value_in_a_sweep_spec_is_refused(tmp_path):
    path = tmp_path / "spec.toml"
    path.write_text('scenario = "south_asia_2025"\nhouseholds = 1800\n[design]\nkind = "grid"\n'
                    '[set]\n"market.price.drift_per_year" = nan\n')
    with pytest.raises(SpecError, match=r"set\.market\.price\.drift_per_year: .*finite"):
        load_spec(path)


# ------------------------------------------------------------------ command line
def test_a_dead_scheduler_is_a_fast_one_line_error(monkeypatch):
    from distributed import Client

    import experiments.sweep.runner as runner
    monkeypatch.setattr(runner, "SCHEDULER_CONNECT_SECONDS", 1)
    timeouts = []

    def client(address, **kwargs):  # the real client, with the connect timeout it was given recorded
        timeouts.append(kwargs.get("timeout"))
        return Client(address, **kwargs)

    with pytest.raises(SpecError) as info:
        runner.connect_scheduler(client, "tcp://127.0.0.1:1")
    assert timeouts == [1]  # bounded by the short connect timeout, not Dask's default 30 s
    field, message, value = info.value.problems[0]
    assert field == "--scheduler" and value == "tcp://127.0.0.1:1" and "no Dask scheduler answered" in message
    with pytest.raises(SpecError, match="not a scheduler address"):
        runner.connect_scheduler(Client, "nonsense")


def test_until_after_the_scenario_end_is_said(tmp_path, capsys):
    code = main(["run", "south_asia_2025", "--households", str(MIN_HOUSEHOLDS), "--until", "2100-01-01",
                 "--out", str(tmp_path / "o"), "--quiet", "--no-figures"])
    assert code == 0
    err = capsys.readouterr().err
    assert "--until 2100-01-01 is after the scenario's last step (2030-12-25, run.end 2030-12-31)" in err


@pytest.mark.parametrize("argv, shown", [
    (["sweep", "x.toml", "--workers", "-1"], "--workers: must be >= 1: -1"),
    (["sweep", "x.toml", "--workers", "0"], "--workers: must be >= 1: 0"),
    (["study", "tariff_price", "--workers", "-1"], "--workers: must be >= 1: -1"),
    (["analyze", "x", "--conf-level", "nan"], "--conf-level: must be between 0 and 1"),
    (["analyze", "x", "--resamples", "-5"], "--resamples: must be >= 1: -5"),
])
def test_command_line_numbers_name_their_bound(argv, shown, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert shown in capsys.readouterr().err


# ------------------------------------------------------------------ the recorder
def test_a_computed_nan_stops_the_run_naming_metric_country_and_step(small_model):
    m = small_model
    m.step()
    m.countries["PAK"].adoption_rate = float("nan")  # as a model bug would leave it
    with pytest.raises(ModelError) as info:
        m.recorder.record(m)
    err = info.value
    assert (err.metric, err.country, err.step) == ("adoption_rate", "PAK", 1)
    assert "adoption_rate of PAK at step 1" in str(err) and "nan" in str(err)


def test_a_computed_inf_in_a_step_stops_the_run(monkeypatch, small_model):
    m = small_model
    monkeypatch.setattr(type(m.market), "price_usd", property(lambda self: float("inf")))
    with pytest.raises(ModelError, match=r"step 1"):
        m.step()


def test_the_recorder_keeps_not_applicable_apart_from_computed_values():
    dates = [dt.date(2025, 1, 1), dt.date(2025, 1, 8)]
    rec = Recorder(dates, ["AAA", "BBB"], ["ex"], ["AAA"])
    rec.put(0, "adoption_rate", [0.1, np.nan, 0.05], where=[True, False, True])  # BBB: not applicable
    rec.put(0, "hashrate_ehs", [1.0, 0.0, 1.0])
    ts = rec.timeseries()
    got = {(r.country, r.metric): r.value for r in ts.itertuples()}
    assert got == {("AAA", "adoption_rate"): 0.1, (WORLD, "adoption_rate"): 0.05, ("AAA", "hashrate_ehs"): 1.0,
                   ("BBB", "hashrate_ehs"): 0.0, (WORLD, "hashrate_ehs"): 1.0}
    with pytest.raises(ModelError, match="adoption_rate of BBB at step 1"):
        rec.put(1, "adoption_rate", [0.1, np.nan, 0.05])  # NaN where it applies
    with pytest.raises(ModelError, match="hashrate_ehs of WORLD at step 1"):
        rec.put(1, "hashrate_ehs", [1.0, 0.0, np.inf])
    with pytest.raises(ModelError, match="trading volume on ex of AAA"):
        rec.put_volumes(1, np.array([[np.nan]]))
