"""The household fit's uncertainty (experiments/validation/calibrate_households.py): the Laplace
approximation (covariance 2 H^-1 of the objective, -2 log posterior), its transform to the draw's
scale, and ``--uncertainty-only``'s writing of ``[households.covariance]`` beside values it
leaves alone."""

from __future__ import annotations

import shutil
import tomllib

import numpy as np
import pandas as pd
import pytest

from experiments.cli import main
from experiments.validation import calibrate_households as ch
from experiments.validation.backtest_adoption import logit, ownership_targets
from model.scenario import load_scenario

K = len(ch.PARAMETERS)


def _known_covariance(seed: int = 0) -> np.ndarray:
    a = np.random.default_rng(seed).normal(size=(K, K)) * 0.02
    return a @ a.T + np.eye(K) * 1e-4  # correlated, positive definite


def test_laplace_recovers_the_covariance_of_a_quadratic_objective():
    """-2 log of a normal density N(m, S) is (u - m)' S^-1 (u - m) + const: its Laplace
    covariance is S, its gradient at m 0."""
    cov = _known_covariance()
    prec = np.linalg.inv(cov)
    m = np.linspace(0.2, 0.8, K)
    laplace = ch.Laplace.of(lambda u: float((u - m) @ prec @ (u - m)) + 3.0, m)
    np.testing.assert_allclose(laplace.cov_u, cov, rtol=1e-5, atol=1e-10)
    np.testing.assert_allclose(laplace.gradient, 0.0, atol=1e-6)
    assert laplace.repair == ""
    off = ch.Laplace.of(lambda u: float((u - m) @ prec @ (u - m)), m + 0.01)  # away from the optimum
    np.testing.assert_allclose(off.gradient, 2 * prec @ np.full(K, 0.01), rtol=1e-6)


def test_a_hessian_that_is_not_positive_definite_keeps_the_priors_curvature_there():
    """Where the data's part curves down, the data say nothing: the repaired curvature is the
    prior's there, the data's elsewhere."""
    m = np.full(K, 0.5)
    prior = np.diag(ch.prior_curvature())
    data = np.array([-4.0 - prior[0, 0]] + [200.0] * (K - 1))  # the whole curves down in the first direction
    laplace = ch.Laplace.of(lambda u: float(np.sum((data + np.diag(prior)) / 2 * (u - m) ** 2)), m, prior)
    assert "not positive definite" in laplace.repair
    np.testing.assert_allclose(np.diag(laplace.cov_u), 2 / (np.r_[0.0, data[1:]] + np.diag(prior)), rtol=1e-6)
    assert np.all(np.linalg.eigvalsh(laplace.cov_u) > 0)


def test_the_objective_weighs_countries_and_the_prior_as_its_hessian_says():
    """On an emulator whose logit shares are linear in z = 2u - 1 (logit = c + B z), the objective's
    Hessian is sum over countries of the mean over its points of 2 (2 B_p)(2 B_p)' / sd^2, plus
    the prior's diagonal; the Laplace covariance is twice its inverse."""
    targets = ownership_targets()
    n = len(targets)
    b = np.random.default_rng(1).normal(size=(n, K))
    coef = np.zeros((ch._features(np.zeros(K)).shape[1], n))
    coef[0] = logit(targets.share.to_numpy())
    coef[1:1 + K] = b.T
    emulator = ch.Emulator(coef, np.zeros(n), np.zeros(n), 0)
    per_point = pd.Series(1.0, index=targets.country.to_numpy()).groupby(level=0).transform("size").to_numpy()
    h = sum(2 * np.outer(2 * b[p], 2 * b[p]) / per_point[p] for p in range(n)) / ch.DATA_SD_LOGIT**2
    h += np.diag(ch.prior_curvature())
    u = np.full(K, 0.5)
    laplace = ch.Laplace.at(u, emulator, targets)
    np.testing.assert_allclose(laplace.hessian, h, rtol=1e-5)
    np.testing.assert_allclose(laplace.cov_u, 2 * np.linalg.inv(h), rtol=1e-4)


def test_the_draws_scale_is_the_rates_natural_log_and_the_weights_themselves():
    laplace = ch.Laplace(np.full(K, 0.5), np.zeros(K), np.eye(K), np.eye(K) * 1e-4)
    cov, se = laplace.natural()
    width = [np.log(hi / lo) if log else hi - lo for _, lo, hi, _, log in ch.PARAMETERS.values()]
    np.testing.assert_allclose(np.diag(cov), 1e-4 * np.square(width))
    np.testing.assert_allclose(se, 0.01 * np.array(width))
    table = laplace.table("test")
    assert table["log_terms"] == ["innovation_per_year", "imitation_per_year", "abandonment_per_year"]
    assert table["bounds"][3] == [0.0, 10.0] and table["fitted"].startswith("test; covariance 2 H^-1")


def _uncertainty(values, seed=0) -> ch.Uncertainty:
    cov = _known_covariance(seed)
    m = ch.unit(values)
    laplace = ch.Laplace.of(lambda u: float((u - m) @ np.linalg.inv(cov) @ (u - m)), m)
    return ch.Uncertainty(values, laplace, 0.1, 0.2, 90, 120, 100, 1.0)


def test_uncertainty_only_writes_the_covariance_and_leaves_the_values(tmp_path):
    path = tmp_path / "households.toml"
    shutil.copy(ch.HOUSEHOLDS_FILE, path)
    before = tomllib.loads(path.read_text())["households"]
    values = ch.stored_values(path)
    result = _uncertainty(values)
    ch.write_covariance(result, path, today="2026-01-01")
    assert ch.stored_values(path) == values
    assert [p.name for p in tmp_path.iterdir()] == ["households.toml"]  # written by replacing, no temp left
    after = tomllib.loads(path.read_text())["households"]
    before.pop("covariance", None)
    assert {k: v for k, v in after.items() if k != "covariance"} == before  # each value and its provenance
    scenario = tmp_path / "s.toml"
    scenario.write_text(f'include = ["{load_scenario("calibration_adoption").file.as_posix()}", '
                        f'"{path.as_posix()}"]\n')
    loaded = load_scenario(scenario)
    households = loaded.config.households
    cov, _ = result.laplace.natural()
    np.testing.assert_allclose(households.covariance.matrix, cov)
    assert "AT THE VALUES STORED HERE" in households.covariance.fitted
    assert households.imitation_per_year == values["households.imitation_per_year"]
    # the values changed meanwhile: refused, the file as it was
    with pytest.raises(ValueError, match="values changed"):
        ch.write_covariance(_uncertainty({**values, "households.income_weight": 0.1}), path)
    assert ch.stored_values(path) == values


def test_uncertainty_only_belongs_to_the_households_and_mining_targets(capsys):
    for target in ("policy", "volume"):
        assert main(["calibrate", target, "--uncertainty-only"]) == 2
        assert "--uncertainty-only: belongs to the households and mining targets" in capsys.readouterr().err
    for target in ("households", "mining"):
        assert main(["calibrate", target, "--uncertainty-only", "--evaluations", "3"]) == 2


def test_a_full_fit_writes_its_covariance_beside_its_values(tmp_path):
    values = {n: s[0] for n, s in ch.PARAMETERS.items()}
    points = ownership_targets().assign(model=0.1, loo_model=0.1, logit_error=0.0, loo_logit_error=0.0)
    fit = ch.HouseholdFit(values, points, {"fit_rmse_logit": 0.4, "loo_rmse_logit": 0.7, "prior_rmse_logit": 0.6},
                          laplace=_uncertainty(values).laplace)
    path = ch.write_households(fit, path=tmp_path / "households.toml", today="2030-01-01")
    cov = tomllib.loads(path.read_text())["households"]["covariance"]
    np.testing.assert_allclose(cov["matrix"], fit.laplace.natural()[0])
    assert "at the fitted values" in cov["fitted"] and "2030-01-01" in cov["fitted"]


def test_uncertainty_only_is_refused_in_an_installed_copy(monkeypatch, capsys):
    monkeypatch.setattr(ch, "IN_CHECKOUT", False)
    monkeypatch.setattr(ch, "uncertainty_at", lambda *a, **k: pytest.fail("the design started"))
    assert ch.uncertainty_main() == 2
    assert "source checkout" in capsys.readouterr().err
