"""The projection's nowcast (``model.config.NowcastConfig``, ``crypto-abm calibrate nowcast``):
one scale on the MW a year every country can add, fitted to 2025, carried by the projection
and by nothing the backtests run."""

from __future__ import annotations

import tomllib

import numpy as np
import pytest

from experiments.cli import main
from experiments.ensemble.members import EnsembleOptions, spec_table
from experiments.validation import calibrate_nowcast
from model import build_model
from model.config import Covariance
from model.model import seed_draws

PROJECTIONS = ("south_asia_2025", "pak_allocation_approved", "pak_ai_demand")
BACKTESTS = ("backtest_hashrate_2019", "backtest_halving_2016", "backtest_el_salvador_2021",
             "backtest_india_exchanges_2021", "calibration_adoption")


def test_only_the_projections_carry_the_fitted_scale():
    shipped = tomllib.loads(calibrate_nowcast.CALIBRATION_FILE.read_text())["nowcast"]
    for name in PROJECTIONS:
        nowcast = build_model(name, households=0).config.nowcast
        assert nowcast.capacity_scale == shipped["capacity_scale"]["value"] != 1.0
        assert nowcast.covariance is not None and nowcast.covariance.log_terms == ["capacity_scale"]
    for name in BACKTESTS:  # fitted on their own data: a 2025 fit must not reach them
        nowcast = build_model(name, households=0).config.nowcast
        assert nowcast.capacity_scale == 1.0 and nowcast.covariance is None


def test_the_scale_multiplies_what_every_country_can_add():
    one, half = (build_model(households=0, overrides={"nowcast.capacity_scale": s}) for s in (1.0, 0.5))
    for code in one.fleets:
        assert half.mining.capacity_mw_per_year(code) == pytest.approx(0.5 * one.mining.capacity_mw_per_year(code))
    assert one.mining.capacity_mw_per_year("USA") > 0


def test_the_written_table_is_a_valid_covariance_whole(tmp_path):
    result = {"capacity_scale": 0.4, "se_log": 0.3, "se": 0.12, "rmse_log": 0.1, "rmse_log_unscaled": 0.2,
              "points": 4.0, "evaluations": 9.0}
    path = calibrate_nowcast.write(result, tmp_path / "nowcast.toml")
    assert [p.name for p in tmp_path.iterdir()] == ["nowcast.toml"]  # no temporary file left
    table = tomllib.loads(path.read_text())["nowcast"]
    assert table["capacity_scale"]["value"] == 0.4 and "in-sample" in table["capacity_scale"]["fitted"]
    cov = Covariance(**table["covariance"])
    assert cov.matrix == [[pytest.approx(0.09)]] and cov.bounds == [list(calibrate_nowcast.BOUNDS)]


def test_the_scale_s_draws_are_log_normal_around_the_fit():
    point = build_model(households=0).config.nowcast
    draws = np.log([point.drawn(np.random.default_rng(k)).capacity_scale for k in range(400)])
    sd = float(np.sqrt(point.covariance.matrix[0][0]))
    assert abs(draws.mean() - np.log(point.capacity_scale)) < 4 * sd / np.sqrt(400)
    assert 0.85 < draws.std() / sd < 1.15
    assert np.all((np.exp(draws) >= calibrate_nowcast.BOUNDS[0]) & (np.exp(draws) <= calibrate_nowcast.BOUNDS[1]))


def test_evaluations_belong_to_the_searches_that_count_them(capsys):
    assert main(["calibrate", "nowcast", "--evaluations", "3"]) == 2
    err = capsys.readouterr().err
    assert "--evaluations: belongs to the households and mining targets" in err and len(err.strip().splitlines()) == 1


def test_an_ensemble_draws_the_nowcast_where_a_scenario_has_one():
    draws = spec_table(EnsembleOptions("south_asia_2025", members=2))["set"]
    assert draws["nowcast.draw"] == "seed" and draws["mining.draw"] == "seed"
    backtest = spec_table(EnsembleOptions("backtest_hashrate_2019", members=2))["set"]
    assert "nowcast.draw" not in backtest and backtest["mining.draw"] == "seed"
    drawn = [build_model(households=0, seed=s, overrides={"nowcast.draw": "seed"}).config.nowcast.capacity_scale
             for s in (1, 2)]
    assert drawn[0] != drawn[1]


def test_seed_draws_name_every_fit_a_scenario_carries():
    """What the ensembles and the dashboard's band set (model.model.seed_draws)."""
    core = {"policy.draw", "volume.draw", "mining.draw", "households.draw"}
    assert set(seed_draws(build_model(households=0).spec.config)) == core | {"nowcast.draw"}
    assert set(seed_draws(build_model("backtest_hashrate_2019", households=0).spec.config)) == core
