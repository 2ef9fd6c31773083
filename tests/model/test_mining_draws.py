"""Parameter uncertainty of the mining fit: ``mining.draw`` runs a draw of the fitted terms from
``[mining.covariance]`` (model.config.FittedTerms.drawn): normal on the fit's scale (the
capacities' logarithm), truncated to the fit's search bounds. What every drawn block shares:
tests/model/test_fitted_draws.py."""

from __future__ import annotations

import re

import numpy as np
import pytest

from model import build_model
from model.config import Covariance
from model.errors import ScenarioError
from model.scenario import load_scenario


@pytest.fixture(scope="module")
def point():
    return build_model("south_asia_2025", seed=0, households=0)


def test_a_draw_changes_only_the_covariances_terms(point):
    """(The draws themselves: tests/model/test_fitted_draws.py.)"""
    a = build_model("south_asia_2025", seed=0, households=0, overrides={"mining.draw": 3})
    terms = {"capacity_mw_per_year", "draw", *a.config.mining.covariance.terms}
    assert a.config.mining.model_dump(exclude=terms) == point.config.mining.model_dump(exclude=terms)
    # the UAE and the rest of the world share the drawn ROW + MYS + IRN by their shares (capacity_split)
    drawn, fitted = a.config.mining, point.config.mining
    pool = sum(drawn.capacity_mw_per_year[c] for c in ("ROW", "MYS", "IRN"))
    assert drawn.capacity_of("ARE") + drawn.capacity_of("ROW") == pytest.approx(pool)
    assert drawn.capacity_of("ARE") / drawn.capacity_of("ROW") == pytest.approx(
        fitted.capacity_of("ARE") / fitted.capacity_of("ROW"))
    assert drawn.capacity_of("ARE") != pytest.approx(fitted.capacity_of("ARE"))


def test_the_hurdle_margins_draws_are_truncated_at_its_bound(point):
    """Its estimate sits within a standard error of its lower bound: no draw lands on the
    bound (clipping would put about 40% there), and fewer than half fall below the estimate."""
    mining = point.spec.config.mining
    rng = np.random.default_rng(5)
    low = mining.covariance.bounds[0][0]
    assert mining.covariance.terms[0] == "hurdle_margin"
    assert mining.hurdle_margin - low < np.sqrt(mining.covariance.matrix[0][0])
    draws = np.array([mining.drawn(rng).hurdle_margin for _ in range(400)])
    assert draws.min() > low
    assert (draws < mining.hurdle_margin).mean() < 0.4


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
    """mining.toml's covariance: its terms, log terms and bounds are those the command writes
    (experiments/validation/calibrate.py), its variances the squares of the standard errors its
    texts state (a capacity's relative to its value: the log scale), and it is positive
    definite, so a draw can factor it (a term on its bound once got a variance of 0)."""
    from experiments.validation.calibrate import covariance_table

    cov = point.spec.config.mining.covariance
    written = covariance_table(np.array(cov.matrix), "x")
    assert (cov.terms, cov.log_terms, cov.bounds) == (written["terms"], written["log_terms"], written["bounds"])
    np.linalg.cholesky(np.array(cov.matrix))  # raises unless positive definite
    prov = point.spec.provenance
    for i, term in enumerate(cov.terms):
        se = float(re.match(r"[0-9.e+-]+", prov[f"mining.{term}"][1].split("standard error ")[1])[0])
        value = point.spec.config.mining._term(term)
        # the text states the standard error to 3 significant digits (up to 0.5% off): its square to 1%
        assert np.isclose(cov.matrix[i][i], (se / value if term in cov.log_terms else se) ** 2, rtol=1e-2)


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


def test_the_uncertainty_only_run_reads_back_the_fit_as_written(tmp_path):
    """``calibrate mining --uncertainty-only`` starts from the values the file holds."""
    from experiments.validation.calibrate import PARAMETERS, write_calibration, written_fit
    values = {name: float(k) + 0.5 for k, name in enumerate(PARAMETERS)} | {"mining.lead_time_weeks": 24}
    path = write_calibration(values, {"fit_rmse_log": 0.1, "test_rmse_log": 0.2}, path=tmp_path / "m.toml")
    assert written_fit(path) == values


def test_the_uncertainty_only_run_is_the_jacobian_covariance_at_the_written_values(tmp_path, monkeypatch):
    """At the written values and lead time, not refitted: with residuals linear in the
    search's scale (capacities' logarithm), the covariance is s^2 (A'A)^-1, nothing profiled
    (every estimate far inside its bounds), and the errors are the backtest's at those values."""
    import experiments.validation.calibrate as c
    values = {name: (800.0 if log else (low + high) / 2) for name, (_, low, high, log) in c.PARAMETERS.items()}
    path = c.write_calibration(values | {"mining.lead_time_weeks": 24}, {"fit_rmse_log": 0.1, "test_rmse_log": 0.2},
                               path=tmp_path / "m.toml")
    n = len(c.PARAMETERS)
    a = np.random.default_rng(0).normal(size=(3 * n, n))
    x = np.array([np.log(values[k]) if log else values[k] for k, (*_, log) in c.PARAMETERS.items()])
    leads = []

    def residuals_at(lead):
        leads.append(lead)
        return lambda z: a @ (z - x) + 1.0
    monkeypatch.setattr(c, "residuals_at", residuals_at)
    fitted, ses, errors, cov, profiled = c.uncertainty(path)
    assert leads == [24] and fitted["mining.lead_time_weeks"] == 24 and profiled == set()
    s2 = 3 * n / (3 * n - n)  # every residual 1 at the values
    np.testing.assert_allclose(cov, s2 * np.linalg.inv(a.T @ a), rtol=1e-6)
    assert fitted["mining.capacity_mw_per_year.USA"] == pytest.approx(800.0)
    assert 0.0 < errors["fit_rmse_log"] < 5.0


def test_a_value_outside_the_fit_bounds_runs_but_is_not_drawn_around(point):
    """A what-if below the hurdle's search bound (-0.9) runs as given; asked to draw around it,
    the scenario is refused in one line naming the term (a truncated draw needs it inside)."""
    m = build_model("south_asia_2025", seed=0, households=0, overrides={"mining.hurdle_margin": -0.95})
    assert m.config.mining.hurdle_margin == -0.95
    with pytest.raises(ScenarioError, match="covariance term 'hurdle_margin' is -0.95, outside its bounds"):
        build_model("south_asia_2025", seed=0, households=0,
                    overrides={"mining.hurdle_margin": -0.95, "mining.draw": 1})


def test_a_covariance_that_is_not_positive_definite_is_refused_when_read_and_when_written():
    """A draw factors the matrix; one with a term of no variance (the fit's estimate once sat
    on its bound with a step of 0) is refused in one line naming the field, and a calibration
    cannot write it (Covariance.record checks what it writes)."""
    with pytest.raises(ValueError, match="positive definite"):
        Covariance(terms=["a", "b"], matrix=[[1.0, 0.0], [0.0, 0.0]], fitted="x")
    with pytest.raises(ValueError, match="positive definite"):
        Covariance.record(["a", "b"], np.array([[1.0, 2.0], [2.0, 1.0]]), "x")
    assert Covariance.record(["a"], np.array([[0.5]]), "x", bounds=[(0, 1)]) == {
        "terms": ["a"], "log_terms": [], "matrix": [[0.5]], "fitted": "x", "bounds": [[0.0, 1.0]]}
    n = len(load_scenario("south_asia_2025").config.mining.covariance.terms)
    singular = np.eye(n)
    singular[2, 2] = 0.0
    with pytest.raises(ScenarioError, match="mining.covariance.*positive definite"):
        build_model("south_asia_2025", seed=0, households=0,
                    overrides={"mining.covariance.matrix": singular.tolist()})


def test_a_split_country_adds_its_share_of_the_pooled_capacities(point):
    """The baseline's UAE and rest of the world split the backtest's fitted ROW + MYS + IRN by
    their 2025 shares; a country outside the split reads its own entry, one not named none."""
    mining = point.config.mining
    pool = sum(mining.capacity_mw_per_year[c] for c in mining.capacity_split.pooled)
    shares = mining.capacity_split.shares
    assert mining.capacity_of("ARE") == pytest.approx(pool * shares["ARE"] / (shares["ARE"] + shares["ROW"]))
    assert mining.capacity_of("ROW") == pytest.approx(pool * shares["ROW"] / (shares["ARE"] + shares["ROW"]))
    assert mining.capacity_of("USA") == mining.capacity_mw_per_year["USA"] and mining.capacity_of("PAK") == 0.0
    assert point.mining.capacity_mw_per_year("ARE") == pytest.approx(
        mining.capacity_of("ARE") * point.mining.capacity_growth() * point.config.nowcast.capacity_scale)


def test_a_split_that_pools_a_country_with_no_capacity_is_refused():
    with pytest.raises(ScenarioError, match=r"capacity_split.pooled: \['XYZ'\]"):
        build_model("south_asia_2025", seed=0, households=0, overrides={"mining.capacity_split.pooled": ["XYZ"]})


def test_the_2016_worlds_capacity_is_the_pooled_fit_at_the_networks_power_and_follows_its_draws():
    """The 2016 network-only run's one fleet adds the 2019 fit's capacities pooled, times the
    ratio of the networks' power (~387 MW a year), and a draw of that fit moves it."""
    fitted = load_scenario("backtest_halving_2016").config.mining
    pool = sum(fitted.capacity_mw_per_year[c] for c in fitted.capacity_split.pooled)
    assert fitted.capacity_of("ROW") == pytest.approx(pool * 557.3 / 3863.6, rel=1e-4)
    assert 380 < fitted.capacity_of("ROW") < 395
    drawn = fitted.drawn(np.random.default_rng(1))
    assert drawn.capacity_of("ROW") == pytest.approx(
        sum(drawn.capacity_mw_per_year[c] for c in fitted.capacity_split.pooled) * fitted.capacity_split.scale)
    assert drawn.capacity_of("ROW") != pytest.approx(fitted.capacity_of("ROW"))
