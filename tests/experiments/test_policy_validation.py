"""The stance hazards' validation bounds (docs/VALIDATION.md, section 5): the fit beats constant
hazards on the test years, its predictive intervals cover the observed counts up to the misses
a 90% interval allows, and the baseline's region moves lie inside the fit's interval."""

import dataclasses

import pytest

from experiments.validation.policy_fit import calibrate
from experiments.validation.policy_validation import region_check
from experiments.validation.validate import BOUNDS, check_policy


@pytest.fixture(scope="module")
def fit():
    return calibrate()


def test_the_fit_holds_its_bounds_on_the_test_years(fit):
    assert check_policy(fit) == []
    assert fit.test.loglik > fit.test.loglik_constant
    # the bound is real: a fit no better than constant hazards breaks it
    worse = dataclasses.replace(fit, test=dataclasses.replace(fit.test, loglik=fit.test.loglik_constant - 0.01))
    assert any("not above" in p for p in check_policy(worse))
    wide_miss = fit.test.counts.assign(high=-1.0)
    missed = dataclasses.replace(fit, test=dataclasses.replace(fit.test, counts=wide_miss))
    assert any(f"at most {BOUNDS['policy_interval_misses_max']}" in p for p in check_policy(missed))


def test_the_baselines_region_moves_lie_in_the_fits_interval():
    region = region_check(range(4))
    assert check_policy(None, region) == []
    assert region.low["up"] < region.high["up"] and region.moves.shape[0] == 4 * region.years
