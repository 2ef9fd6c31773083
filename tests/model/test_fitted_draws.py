"""Parameter uncertainty of the blocks that draw through ``model.config.FittedTerms`` (mining,
households, volume, nowcast): ``BLOCK.draw`` runs a draw of the fitted terms from ``[BLOCK.covariance]``, normal on
the fit's scale (a log term's logarithm), truncated to the fit's search bounds; a numbered draw is
the same in every run, a seed's draw comes from the block's own stream."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest

from model import build_model
from model.scenario import load_scenario, package_file

#: block -> a log term whose estimate is far from its bounds
BLOCKS = {"mining": "capacity_mw_per_year.USA", "households": "imitation_per_year",
          "volume": "value_received_usd_per_adopter_per_year", "nowcast": "capacity_scale"}


def _terms(model, block: str) -> dict[str, float]:
    settings = getattr(model.config, block)
    return {t: settings._term(t) for t in settings.covariance.terms}


@pytest.fixture(scope="module")
def point():
    return build_model("south_asia_2025", seed=0, households=0)


@pytest.mark.parametrize("block", BLOCKS)
def test_no_draw_runs_the_estimates(point, block):
    assert getattr(point.config, block) is getattr(point.spec.config, block)


@pytest.mark.parametrize("block", BLOCKS)
def test_a_numbered_draw_is_the_same_in_every_run_and_differs_between_numbers(point, block):
    a, b, c = (build_model("south_asia_2025", seed=seed, households=0, overrides={f"{block}.draw": k})
               for seed, k in ((0, 3), (7, 3), (0, 4)))
    assert _terms(a, block) == _terms(b, block)  # the draw does not depend on the seed
    assert _terms(a, block) != _terms(c, block) != _terms(point, block)
    for other in set(BLOCKS) - {block}:  # the other blocks keep their estimates
        assert getattr(a.config, other) == getattr(point.config, other)


@pytest.mark.parametrize("block", BLOCKS)
def test_seed_draws_differ_between_seeds_and_keep_the_price_path(block):
    one, two = (build_model("south_asia_2025", seed=seed, households=0, overrides={f"{block}.draw": "seed"})
                for seed in (1, 2))
    assert _terms(one, block) != _terms(two, block)
    plain = build_model("south_asia_2025", seed=1, households=0)
    np.testing.assert_array_equal(one.market.prices, plain.market.prices)  # the price path keeps its numbers


@pytest.mark.parametrize("block, term", BLOCKS.items())
def test_draws_stay_within_the_bounds_and_follow_the_variances(point, block, term):
    """Many draws: every one inside the fit's bounds (mining and households have bounds, volume
    none), and a log term's draws have the mean and spread on the log scale of the fit's
    normal given that the draw falls inside the bounds (the reference: plain normal draws of
    the whole covariance, those outside the bounds dropped)."""
    settings = getattr(point.spec.config, block)
    cov = settings.covariance
    rng = np.random.default_rng(5)
    n = 3000
    draws = np.array([[s._term(t) for t in cov.terms] for s in (settings.drawn(rng) for _ in range(n))])
    logs_mask = np.array([t in cov.log_terms for t in cov.terms])
    mean = np.array([np.log(settings._term(t)) if log else settings._term(t) for t, log in zip(cov.terms, logs_mask)])
    ref = rng.multivariate_normal(mean, np.array(cov.matrix), size=40_000)
    ref = np.where(logs_mask, np.exp(ref), ref)
    assert (cov.bounds is None) == (block == "volume")
    if cov.bounds is not None:
        low, high = np.array(cov.bounds).T
        assert np.all(draws >= low) and np.all(draws <= high)
        ref = ref[np.all((ref >= low) & (ref <= high), axis=1)]
    i = cov.terms.index(term)
    sd = np.log(ref[:, i]).std()
    logs = np.log(draws[:, i])
    assert abs(logs.mean() - np.log(ref[:, i]).mean()) < 4 * sd / np.sqrt(n)
    assert abs(logs.std() / sd - 1) < 0.08


def test_a_draw_near_a_bound_is_the_normal_truncated_there_not_clipped():
    """One term, estimate 0.1 with standard error 0.1, bounds [0, 1]: no draw sits on the
    bound, and the draws have the truncated normal's mean and its share below the estimate
    ((Phi(0) - Phi(-1)) / (1 - Phi(-1)) = 0.406)."""
    from scipy.stats import truncnorm

    from model.config import Covariance
    cov = Covariance(terms=["a"], matrix=[[0.01]], bounds=[[0.0, 1.0]], fitted="test")
    rng = np.random.default_rng(0)
    draws = np.array([cov.draw({"a": 0.1}, rng)["a"] for _ in range(20_000)])
    assert draws.min() > 0.0 and draws.max() <= 1.0
    assert abs(draws.mean() - truncnorm.mean(-1.0, 9.0, loc=0.1, scale=0.1)) < 0.003
    assert abs((draws < 0.1).mean() - 0.406) < 0.015


def test_a_covariance_with_no_weight_inside_its_bounds_is_refused():
    from model.config import Covariance
    cov = Covariance(terms=["a"], matrix=[[1e-4]], bounds=[[0.0, 1.0]], fitted="test")
    with pytest.raises(ValueError, match="no draw of \\['a'\\] within their bounds"):
        cov.draw({"a": -1.0}, np.random.default_rng(0))


@pytest.mark.parametrize("scenario", sorted(p.stem for p in (Path(__file__).parents[2] / "experiments" / "scenarios")
                                            .glob("*.toml")))
def test_every_scenario_draws_around_the_fits_own_values(scenario):
    """A draw perturbs a term with the variance of the quantity the fit estimated, so a shipped
    scenario holds each covariance term at the fit's value: one that groups countries otherwise
    derives them from the fitted entries (``mining.capacity_split``), not by a value of its own
    (a rest of the world written over the fit's took the fit's smaller one's variance)."""
    config = load_scenario(scenario).config
    for block in BLOCKS:
        settings = getattr(config, block)
        if settings.covariance is None:
            continue
        fitted = tomllib.loads(package_file("experiments", "calibration", f"{block}.toml").read_text())[block]
        for term in settings.covariance.terms:
            name, _, key = term.partition(".")
            entry = fitted[name][key] if key else fitted[name]
            assert settings._term(term) == pytest.approx(entry["value"], rel=1e-12), (scenario, term)
