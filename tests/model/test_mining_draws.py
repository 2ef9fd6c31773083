"""Parameter uncertainty of the mining fit: ``mining.draw`` runs a draw of the fitted terms from
``[mining.covariance]`` (model.config.MiningConfig.drawn): normal on the fit's scale (the
capacities' logarithm), clipped to the fit's search bounds."""

from __future__ import annotations

import numpy as np
import pytest

from model import build_model
from model.config import Covariance
from model.errors import ScenarioError


def _terms(model) -> dict[str, float]:
    mining = model.config.mining
    return {t: mining._term(t) for t in mining.covariance.terms}


@pytest.fixture(scope="module")
def point():
    return build_model("south_asia_2025", seed=0, households=0)


def test_no_draw_runs_the_estimates(point):
    assert point.config.mining is point.spec.config.mining


def test_a_numbered_draw_is_the_same_in_every_run_and_differs_between_numbers(point):
    a = build_model("south_asia_2025", seed=0, households=0, overrides={"mining.draw": 3})
    b = build_model("south_asia_2025", seed=7, households=0, overrides={"mining.draw": 3})
    c = build_model("south_asia_2025", seed=0, households=0, overrides={"mining.draw": 4})
    assert _terms(a) == _terms(b)  # the draw does not depend on the seed
    assert _terms(a) != _terms(c) != _terms(point)
    # what is not a term of the covariance stays as it was
    kept = point.config.mining.model_dump(exclude={"capacity_mw_per_year", "draw", *a.config.mining.covariance.terms})
    assert a.config.mining.model_dump(exclude={"capacity_mw_per_year", "draw",
                                               *a.config.mining.covariance.terms}) == kept
    assert a.config.mining.capacity_mw_per_year["ARE"] == point.config.mining.capacity_mw_per_year["ARE"]


def test_seed_draws_differ_between_seeds_and_not_other_streams(point):
    one = build_model("south_asia_2025", seed=1, households=0, overrides={"mining.draw": "seed"})
    two = build_model("south_asia_2025", seed=2, households=0, overrides={"mining.draw": "seed"})
    assert _terms(one) != _terms(two)
    plain = build_model("south_asia_2025", seed=1, households=0)
    np.testing.assert_array_equal(one.market.prices, plain.market.prices)  # the price path keeps its numbers


def test_draws_stay_within_the_bounds_and_follow_the_variances(point):
    """Many draws: every one inside the fit's bounds; an unclipped term's draws have the fit's
    mean and spread on its scale (the log for a capacity)."""
    mining = point.spec.config.mining
    cov = mining.covariance
    rng = np.random.default_rng(5)
    n = 3000
    draws = np.array([[m._term(t) for t in cov.terms] for m in (mining.drawn(rng) for _ in range(n))])
    low, high = np.array(cov.bounds).T
    assert np.all(draws >= low) and np.all(draws <= high)
    assert np.any(draws[:, 0] == low[0])  # the hurdle margin's estimate sits at its bound: draws clip there
    usa = cov.terms.index("capacity_mw_per_year.USA")
    sd = np.sqrt(cov.matrix[usa][usa])
    logs = np.log(draws[:, usa])
    assert abs(logs.mean() - np.log(mining.capacity_mw_per_year["USA"])) < 4 * sd / np.sqrt(n)
    assert abs(logs.std() / sd - 1) < 0.08


def test_a_covariance_of_an_unknown_term_or_bad_bounds_is_refused():
    with pytest.raises(ScenarioError, match="covariance term 'not_a_field'"):
        build_model("south_asia_2025", seed=0, households=0,
                    overrides={"mining.covariance.terms": ["not_a_field"], "mining.covariance.matrix": [[1.0]],
                               "mining.covariance.log_terms": [], "mining.covariance.bounds": [[0.0, 1.0]]})
    with pytest.raises(ValueError, match="bounds"):
        Covariance(terms=["a"], matrix=[[1.0]], fitted="x", bounds=[[1.0, 0.0]])
    with pytest.raises(ValueError, match="log_terms"):
        Covariance(terms=["a"], matrix=[[1.0]], fitted="x", log_terms=["b"])


def test_the_shipped_covariance_has_the_form_calibrate_mining_writes(point):
    """mining.toml's covariance was added by hand: its terms, log terms and bounds are those the
    command writes (experiments/validation/calibrate.py), its variances the squares of the
    standard errors its texts state (a capacity's relative to its value: the log scale)."""
    from experiments.validation.calibrate import covariance_table

    cov = point.spec.config.mining.covariance
    written = covariance_table(np.array(cov.matrix), "x")
    assert (cov.terms, cov.log_terms, cov.bounds) == (written["terms"], written["log_terms"], written["bounds"])
    prov = point.spec.provenance
    for i, term in enumerate(cov.terms):
        if term == "capacity_mw_per_year.ROW":
            continue  # this scenario's ROW is derived (its own value), the fit's is the backtest's
        se = float(prov[f"mining.{term}"][1].split("standard error ")[1].rstrip(")"))
        value = point.spec.config.mining._term(term)
        assert np.isclose(cov.matrix[i][i], (se / value if term in cov.log_terms else se) ** 2, rtol=1e-4)


def test_calibrate_mining_writes_a_covariance_the_scenarios_read(tmp_path):
    from experiments.validation.calibrate import PARAMETERS, write_calibration
    from model.scenario import load_scenario

    n = len(PARAMETERS)
    cov = np.diag(np.linspace(0.01, 0.1, n)) + 0.001  # correlated, positive definite
    values = {"mining.hurdle_margin": 0.5, "mining.capacity_mw_per_year.USA": 900.0}
    path = write_calibration(values, {"fit_rmse_log": 0.1, "test_rmse_log": 0.2}, path=tmp_path / "m.toml", cov=cov)
    scenario = tmp_path / "s.toml"
    scenario.write_text(f'include = ["{load_scenario("backtest_hashrate_2019").file.as_posix()}", '
                        f'"{path.as_posix()}"]\n')
    mining = load_scenario(scenario).config.mining
    np.testing.assert_allclose(mining.covariance.matrix, cov)
    assert "capacity_mw_per_year.USA" in mining.covariance.log_terms
    assert "hurdle_margin" not in mining.covariance.log_terms
    assert mining.drawn(np.random.default_rng(0)) != mining
