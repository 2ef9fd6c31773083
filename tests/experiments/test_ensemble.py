"""Ensembles: reproducible from the root seed, bands that are the members' quantiles, fitted
draws per member (shared across price paths), a variance split that adds up, and the command
line's refusals.

Members are tiny (300 household agents with a household floor of 30, to mid-2026: about a
second each); one crossed ensemble (2 price paths x 3 seeds) is shared by the module.
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from experiments.cli import main
from experiments.ensemble import EnsembleOptions, market_seeds, run_ensemble
from experiments.ensemble.members import MARKET_SEED, SWEEP, make_spec
from experiments.ensemble.report import summarise
from experiments.ensemble.summary import BAND_COLUMNS, QUANTILES, _shares
from experiments.sweep.design import make_design
from experiments.sweep.runner import tasks_for
from model.model import CryptoAdoptionModel
from model.scenario import load_scenario

UNTIL = dt.date(2026, 6, 30)
SMALL = {"run.household_floor": 30}
OPTIONS = EnsembleOptions(scenario="south_asia_2025", members=6, price_paths=2, households=300, until=UNTIL,
                          overrides=SMALL, workers=2, progress=False)


@pytest.fixture(scope="module")
def ensemble(tmp_path_factory):
    out = tmp_path_factory.mktemp("ensemble")
    spec, report = run_ensemble(OPTIONS, out)
    assert report.done == 6 and report.failed == 0
    return out, spec, summarise(out, figures=False)


def models(spec):
    """Each member's model as its sweep task builds it (at its first step: the draws and price path exist)."""
    return {t.run_id: (t, CryptoAdoptionModel(scenario_name=t.scenario, seed=t.seed, households=t.households,
                                              overrides=t.overrides()))
            for t in tasks_for(spec, make_design(spec))}


def test_same_root_seed_same_numbers_another_root_seed_other_members(ensemble, tmp_path):
    out, spec, tables = ensemble
    again, _ = run_ensemble(OPTIONS, tmp_path / "again")
    pd.testing.assert_frame_equal(summarise(tmp_path / "again", figures=False)["members"], tables["members"])
    other, _ = make_spec(EnsembleOptions(**{**OPTIONS.__dict__, "seed": 1}), tmp_path)
    ours, theirs = make_design(spec).table, make_design(other).table
    assert set(ours["seed"]).isdisjoint(theirs["seed"])
    assert set(ours[MARKET_SEED]).isdisjoint(theirs[MARKET_SEED])


def test_rerunning_resumes_and_runs_nothing(ensemble):
    out, _, _ = ensemble
    _, report = run_ensemble(OPTIONS, out)
    assert report.ran == 0 and report.done == 6
    # the session is recorded like a sweep's resume (experiments.sweep.runner.run_prepared)
    session = json.loads((out / "sweep" / "manifest.json").read_text())["sessions"][-1]
    assert session["ran"] == 0 and session["done"] == 6 and session["failed"] == 0


def test_bands_are_ordered_and_are_the_members_quantiles(ensemble):
    out, _, tables = ensemble
    b = tables["bands"]
    assert len(b) and (np.diff(b[list(BAND_COLUMNS)].to_numpy(), axis=1) >= -1e-9 * b["q95"].abs().max()).all()
    runs = pd.read_parquet(out / SWEEP / "runs")
    runs = runs[~np.isnan(runs["value"])]
    for (metric, country) in [("hashrate_ehs", "WORLD"), ("trading_volume_usd", "PAK"), ("adoption_rate", "BGD")]:
        sub = runs[(runs["metric"] == metric) & (runs["country"] == country)]
        wide = sub.pivot(index="run_id", columns="step", values="value")
        expect = np.quantile(wide.to_numpy(), QUANTILES, axis=0).T
        got = b[(b["metric"] == metric) & (b["country"] == country)].set_index("step").loc[wide.columns]
        assert (got["members"] == 6).all()
        np.testing.assert_allclose(got[list(BAND_COLUMNS)].to_numpy(), expect, rtol=1e-9)
    s = tables["summary"].set_index("outcome")
    v = tables["members"]["region_volume_usd"]
    assert s.loc["region_volume_usd", "median"] == pytest.approx(v.median())
    assert s.loc["region_volume_usd", "q05"] <= s.loc["region_volume_usd", "median"] <= s.loc["region_volume_usd",
                                                                                              "q95"]


def test_fitted_draws_differ_between_members_and_are_shared_across_price_paths(ensemble):
    _, spec, _ = ensemble
    built = models(spec)
    draws = {rid: (m.config.policy.up.model_dump_json(), m.config.volume.value_received_usd_per_adopter_per_year,
                   m.config.volume.price_elasticity, m.config.mining.capacity_mw_per_year["USA"],
                   m.config.households.imitation_per_year, m.config.households.internet_weight)
             for rid, (_, m) in built.items()}
    prices = {rid: m.market.prices for rid, (_, m) in built.items()}
    by_seed: dict[int, set] = {}
    by_path: dict[int, list] = {}
    for rid, (task, _) in built.items():
        by_seed.setdefault(task.seed, set()).add(draws[rid])
        by_path.setdefault(dict(task.params)[MARKET_SEED], []).append(prices[rid])
    assert len(by_seed) == 3 and all(len(d) == 1 for d in by_seed.values())  # a seed's draws on every path
    for part in range(6):  # ... and each seed its own policy, volume, mining and household draw
        assert len({next(iter(d))[part] for d in by_seed.values()}) == 3
    for paths in by_path.values():  # a price path shared by the members that have it ...
        assert all(np.array_equal(paths[0], p) for p in paths)
    first, second = (p[0] for p in by_path.values())
    assert not np.array_equal(first, second)  # ... and two paths differ
    m = market_seeds(OPTIONS.seed, 2)[0]  # a price path is the one a run seeded with its market seed has
    alone = CryptoAdoptionModel(scenario_name="south_asia_2025", seed=m, households=300, overrides=SMALL)
    np.testing.assert_array_equal(alone.market.prices, by_path[m][0])


def test_point_parameters_run_the_fits_estimates(tmp_path):
    spec, _ = make_spec(EnsembleOptions(**{**OPTIONS.__dict__, "parameters": "point"}), tmp_path)
    base = CryptoAdoptionModel(scenario_name="south_asia_2025", seed=0, households=300, overrides=SMALL)
    for _, m in models(spec).values():
        assert m.config.policy == base.config.policy and m.config.volume == base.config.volume
        assert m.config.mining == base.config.mining and m.config.households == base.config.households


def test_variance_split_adds_up_and_finds_a_price_only_outcome(ensemble):
    _, _, tables = ensemble
    v = tables["variance"].dropna()
    assert len(v)
    np.testing.assert_allclose(v[["price", "rest", "interaction"]].sum(axis=1), 1.0, atol=1e-9)
    assert (v[["price", "rest", "interaction"]] >= -1e-9).all().all()
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(4, 1)), rng.normal(size=(1, 5))
    assert _shares(a + 0 * b)["price"] == pytest.approx(1.0)
    additive = _shares(a + b)
    assert additive["interaction"] == pytest.approx(0.0, abs=1e-12)
    assert additive["price"] == pytest.approx(5 * ((a - a.mean()) ** 2).sum() / (((a + b) - (a + b).mean()) ** 2)
                                              .sum())


@pytest.mark.parametrize("args, field", [
    (["--members", "1"], "--members"),
    (["--members", "6", "--price-paths", "4"], "--price-paths"),
    (["--set", "policy.draw=3"], "--set"),
    (["--set", "households.imitation_per_year=-1"], "--set households.imitation_per_year"),
    (["--households", "10"], "--households"),
    (["--scheduler", "tcp://127.0.0.1:1"], "--scheduler"),
    (["--parameters", "all", "--price-paths", "2"], "--price-paths"),
    (["--parameters", "all", "--set", "mining.draw=3"], "--set"),
])
def test_bad_options_are_one_line_and_exit_2(tmp_path, capsys, args, field):
    assert main(["ensemble", "south_asia_2025", "--out", str(tmp_path / "e"), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and field in err and "Traceback" not in err
    assert not (tmp_path / "e").exists()


def test_bad_parameters_choice_exits_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["ensemble", "south_asia_2025", "--parameters", "everything"])
    assert exc.value.code == 2 and "--parameters" in capsys.readouterr().err


# ------------------------------------------------------------------ --parameters all
ALL = EnsembleOptions(scenario="south_asia_2025", members=4, parameters="all", households=300, until=UNTIL,
                      overrides=SMALL, workers=2, progress=False)


def test_all_samples_every_ranged_input_one_row_per_member(tmp_path):
    spec, _ = make_spec(ALL, tmp_path)
    ranges = load_scenario("south_asia_2025").ranges
    table = make_design(spec).table
    assert len(table) == 4 and set(spec.fixed) >= {"policy.draw", "volume.draw", "mining.draw",
                                                          "households.draw"}
    for path, (low, high) in ranges.items():
        assert table[path].between(low, high).all()
        assert table[path].nunique() > 1  # members differ in every ranged input
    assert table["mining.relocation_weeks"].dtype.kind == "i"  # a whole-number value stays whole
    assert table["volume.p2p_factor"].dtype.kind == "f"
    # members keep their own seeds: member k's is the one it has under --parameters fitted
    fitted, _ = make_spec(EnsembleOptions(**{**ALL.__dict__, "parameters": "fitted"}), tmp_path)
    assert table["seed"].tolist() == make_design(fitted).table["seed"].tolist()
    assert table["seed"].nunique() == 4
    # reproducible from the root seed, and another root seed samples other rows
    again, _ = make_spec(ALL, tmp_path)
    pd.testing.assert_frame_equal(make_design(again).table, table)
    other, _ = make_spec(EnsembleOptions(**{**ALL.__dict__, "seed": 1}), tmp_path)
    assert not np.allclose(make_design(other).table["volume.p2p_factor"], table["volume.p2p_factor"])


def test_all_pins_an_overridden_range(tmp_path):
    spec, _ = make_spec(EnsembleOptions(**{**ALL.__dict__, "overrides": {**SMALL, "volume.p2p_factor": 0.4}}),
                        tmp_path)
    assert "volume.p2p_factor" not in {p.path for p in spec.parameters}
    assert spec.fixed["volume.p2p_factor"] == 0.4


def test_all_members_run_their_rows_and_the_report_lists_the_ranges(tmp_path):
    out = tmp_path / "all"
    spec, report = run_ensemble(ALL, out)
    assert report.done == 4 and report.failed == 0
    built = models(spec)
    for task, m in built.values():
        row = dict(task.params)
        assert m.spec.config.volume.p2p_factor == row["volume.p2p_factor"]
        assert m.spec.config.shocks["pak_council"].strength == row["shocks.pak_council.strength"]
    tables = summarise(out, figures=False)
    assert "volume.p2p_factor" in tables["members"]
    text = (out / "report.md").read_text()
    ranged = len(load_scenario("south_asia_2025").ranges)  # every ranged assumption the scenario resolves
    assert f"Latin hypercube over {ranged} ranged assumptions" in text and "`shocks.lka_task_force.strength`" in text
    assert "price paths" not in text  # one row per member, no crossed design
