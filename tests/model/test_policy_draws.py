"""Parameter uncertainty of the stance hazards: ``policy.draw`` runs a draw of the fitted
coefficients from the fit's covariance (model.config.PolicyConfig.drawn)."""

from __future__ import annotations

import numpy as np
import pytest

from model import build_model


def _coefficients(model) -> tuple[dict, dict]:
    return model.config.policy.up.model_dump(), model.config.policy.down.model_dump()


@pytest.fixture(scope="module")
def point():
    return build_model("south_asia_2025", seed=0, households=0)


def test_no_draw_runs_the_estimates(point):
    assert point.config.policy is point.spec.config.policy


def test_a_numbered_draw_is_the_same_in_every_run_and_differs_between_numbers(point):
    a = build_model("south_asia_2025", seed=0, households=0, overrides={"policy.draw": 3})
    b = build_model("south_asia_2025", seed=7, households=0, overrides={"policy.draw": 3})
    c = build_model("south_asia_2025", seed=0, households=0, overrides={"policy.draw": 4})
    assert _coefficients(a) == _coefficients(b)  # the draw does not depend on the seed
    assert _coefficients(a) != _coefficients(c) != _coefficients(point)
    # only the fitted terms move; a term the fit did not keep stays at 0
    up = a.config.policy.up.model_dump()
    kept = set(a.spec.config.policy.fit.covariance["up"].terms)
    assert all(v == 0.0 for k, v in up.items() if k not in kept)


def test_seed_draws_pair_the_arms_of_a_replicate():
    runs = {(seed, package): build_model("south_asia_2025", seed=seed, households=0,
                                         overrides={"policy.draw": "seed", "shocks.pak_vao.enabled": package})
            for seed in (1, 2) for package in (True, False)}
    assert _coefficients(runs[1, True]) == _coefficients(runs[1, False])
    assert _coefficients(runs[1, True]) != _coefficients(runs[2, True])


def test_draws_follow_the_fit_covariance(point):
    """Many draws: their mean and covariance are the fit's (within sampling error)."""
    policy = point.spec.config.policy
    cov = policy.fit.covariance["up"]
    rng = np.random.default_rng(11)
    n = 4000
    ups = [policy.drawn(rng).up for _ in range(n)]
    draws = np.array([[getattr(up, t) for t in cov.terms] for up in ups])
    mean = np.array([getattr(policy.up, t) for t in cov.terms])
    sd = np.sqrt(np.diag(cov.matrix))
    assert np.all(np.abs(draws.mean(axis=0) - mean) < 4 * sd / np.sqrt(n))
    assert np.allclose(draws.std(axis=0), sd, rtol=0.08)
    assert np.allclose(np.corrcoef(draws.T), np.array(cov.matrix) / np.outer(sd, sd), atol=0.08)


def test_a_bad_draw_is_refused():
    from model.errors import ScenarioError

    with pytest.raises(ScenarioError, match="policy.draw"):
        build_model("south_asia_2025", seed=0, households=0, overrides={"policy.draw": -1})
