"""Parameter uncertainty of the blocks that draw through ``model.config.FittedTerms`` (mining,
households, volume): ``BLOCK.draw`` runs a draw of the fitted terms from ``[BLOCK.covariance]``, normal on
the fit's scale (a log term's logarithm), clipped to the fit's search bounds; a numbered draw is
the same in every run, a seed's draw comes from the block's own stream."""

from __future__ import annotations

import numpy as np
import pytest

from model import build_model

#: block -> a log term whose estimate is far from its bounds (its draws are not clipped)
BLOCKS = {"mining": "capacity_mw_per_year.USA", "households": "imitation_per_year",
          "volume": "value_received_usd_per_adopter_per_year"}


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
    none); an unclipped log term's draws have the fit's mean and spread on the log scale."""
    settings = getattr(point.spec.config, block)
    cov = settings.covariance
    rng = np.random.default_rng(5)
    n = 3000
    draws = np.array([[s._term(t) for t in cov.terms] for s in (settings.drawn(rng) for _ in range(n))])
    assert (cov.bounds is None) == (block == "volume")
    if cov.bounds is not None:
        low, high = np.array(cov.bounds).T
        assert np.all(draws >= low) and np.all(draws <= high)
    i = cov.terms.index(term)
    sd = np.sqrt(cov.matrix[i][i])
    logs = np.log(draws[:, i])
    assert abs(logs.mean() - np.log(settings._term(term))) < 4 * sd / np.sqrt(n)
    assert abs(logs.std() / sd - 1) < 0.08
