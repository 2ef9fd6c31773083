"""Ensembles of the backtests (issue 17): the coverage computation, the date matching, and the
issue's bounds on a small ensemble (the misses are written in docs/VALIDATION.md, section 6)."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from experiments.ensemble import EnsembleOptions
from experiments.ensemble.members import make_spec
from experiments.sweep.design import make_design, replicate_seeds
from experiments.sweep.runner import tasks_for
from experiments.validation import backtest_ensembles as be
from experiments.validation.backtest import (
    HELD_OUT,
    compare,
    compare_shares,
    network_series,
    run_backtest,
    share_points,
)
from model.model import seed_draws
from model.scenario import load_scenario

#: Members CI can afford (about 25 s on 2 cores for both ensembles); the bands' spread is the
#: seeds', which 20 members resolve well enough for coverages of 0-100% of a few dozen points.
CI_MEMBERS = 20


def test_coverage_counts_points_inside_each_band():
    """101 members valued 0..100 at every point: the 90% band is [5, 95], the 50% band [25, 75]."""
    members = np.tile(np.arange(101.0)[:, None], (1, 6))
    points = pd.DataFrame({"data": [0.0, 5.0, 50.0, 80.0, 96.0, 95.0]})
    out = be.judged(points, members)
    assert out[["q05", "q25", "q50", "q75", "q95"]].iloc[0].tolist() == [5.0, 25.0, 50.0, 75.0, 95.0]
    assert out["in_90%"].tolist() == [False, True, True, True, False, True]
    assert out["in_50%"].tolist() == [False, False, True, False, False, False]
    assert be.coverage(out, "90%") == pytest.approx(4 / 6)
    assert be.coverage(out, "50%") == pytest.approx(1 / 6)
    # a band that moves with the point: shifted members hold a shifted datum
    shifted = be.judged(pd.DataFrame({"data": [1030.0]}), np.arange(101.0)[:, None] + 950.0)  # [955, 1045]
    assert shifted["in_90%"].item() and not shifted["in_50%"].item()


def test_coverage_refuses_missing_or_mismatched_values():
    points = pd.DataFrame({"data": [1.0, 2.0]})
    with pytest.raises(ValueError):
        be.judged(points, np.array([[1.0, np.nan], [2.0, 3.0]]))
    with pytest.raises(ValueError):
        be.judged(points, np.ones((3, 1)))


def test_members_are_read_as_the_single_run_backtest_reads_one():
    """One member's values (from its recorded weeks) give the same model values as the single-run
    backtest's comparison, for the network points and the share points alike."""
    model = run_backtest(seed=3)
    ts = model.timeseries()
    dates = pd.DatetimeIndex(sorted(pd.to_datetime(ts.date.unique())))
    values = {}
    for (metric, country), grp in ts[ts.metric.isin(["hashrate_ehs", "hashrate_share"])].groupby(
            ["metric", "country"], observed=True):
        if metric == "hashrate_ehs" and country != "WORLD":
            continue
        values[(metric, country)] = np.vstack([grp.sort_values("step").value.to_numpy()] * 2)  # two like members
    network, shares, weekly = be.hashrate_coverage(dates, values)
    single = compare(network_series(model)).points
    assert network.q50.to_numpy() == pytest.approx(single.model_ehs.to_numpy())
    assert network.data.to_numpy() == pytest.approx(single.hashrate_ehs.to_numpy())
    countries = sorted(c for m, c in values if m == "hashrate_share")
    one = compare_shares(model, share_points(countries))
    assert shares.q05.to_numpy() == pytest.approx(one.model_pct.to_numpy())
    assert len(weekly) == len(dates)


@pytest.fixture(scope="module")
def ensembles():
    return be.run(members=CI_MEMBERS)


def test_the_ensembles_read_no_held_out_month_and_every_member(ensembles):
    days = pd.to_datetime(ensembles.hashrate.date).dt.date
    assert not days.between(HELD_OUT[0], HELD_OUT[1] - dt.timedelta(days=1)).any()
    start = pd.Timestamp(HELD_OUT[0])
    end = pd.Timestamp(HELD_OUT[1])
    assert not ((ensembles.shares.start < end) & (ensembles.shares.end >= start)).any()
    assert set(ensembles.hashrate.window) == {"fit", "test"} and set(ensembles.shares.window) == {"fit", "test"}
    assert ensembles.el_salvador.year.tolist() == [2021, 2022, 2023, 2024]
    assert ensembles.members == CI_MEMBERS and ensembles.parameters == "fitted"


def test_el_salvador_members_are_the_ensembles_seeds_and_draws(tmp_path):
    """Member k of the El Salvador ensemble runs with replicate seed k and the fitted draws on
    (the members of `crypto-abm ensemble backtest_el_salvador_2021`)."""
    spec, _ = make_spec(EnsembleOptions(be.EL_SALVADOR, members=2), tmp_path)
    tasks = tasks_for(spec, make_design(spec))
    assert [t.seed for t in tasks] == replicate_seeds(0, 2)
    draws = seed_draws(load_scenario(be.EL_SALVADOR).config)
    assert all(dict(t.fixed).items() >= draws.items() for t in tasks)
    assert "mining.draw" in draws and "nowcast.draw" not in draws


@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="the band carries the mining fit's parameter uncertainty but not the model's "
                          "structural error: it holds about three in five of the hashrate points (docs/VALIDATION.md, "
                          "section 6)")
def test_hashrate_band_holds_at_least_80_percent_of_the_points(ensembles):
    assert be.coverage(ensembles.hashrate, "90%") >= be.HASHRATE_COVERAGE_MIN


@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="the modelled decay stops too early: the band misses the 2024 survey year "
                          "(docs/VALIDATION.md, sections 2 and 6)")
def test_el_salvador_band_holds_its_survey_years(ensembles):
    assert ensembles.el_salvador["in_90%"].all()


def test_misses_name_each_missed_bound(ensembles):
    """`misses` reports a bound exactly when the coverage breaks it (checked both ways)."""
    missed = be.misses(ensembles)
    hashrate_missed = be.coverage(ensembles.hashrate) < be.HASHRATE_COVERAGE_MIN
    assert any("hashrate" in m for m in missed) == hashrate_missed
    assert any("El Salvador" in m for m in missed) == (not ensembles.el_salvador["in_90%"].all())
    held = be.BacktestCoverage(ensembles.hashrate.assign(**{"in_90%": True}), ensembles.shares,
                               ensembles.el_salvador.assign(**{"in_90%": True}), ensembles.network,
                               ensembles.members, ensembles.parameters)
    assert be.misses(held) == []
