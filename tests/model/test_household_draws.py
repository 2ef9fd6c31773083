"""Parameter uncertainty of the household fit: ``households.draw`` runs a draw of the adoption
rule's fitted rates and weights from ``[households.covariance]`` (model.config.FittedTerms.drawn,
the mechanism mining's draws use; what they share: tests/model/test_fitted_draws.py)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import MIN_HOUSEHOLDS

from model import build_model
from model.errors import ScenarioError
from model.model import STREAMS


@pytest.fixture(scope="module")
def point():
    return build_model("south_asia_2025", seed=0, households=0)


def test_the_shipped_calibration_has_a_covariance_of_the_fitted_terms(point):
    cov = point.spec.config.households.covariance
    assert cov is not None and "innovation_per_year" in cov.log_terms and "income_weight" not in cov.log_terms
    assert np.all(np.linalg.eigvalsh(np.array(cov.matrix)) > 0)  # a covariance a draw can use


def test_a_draw_changes_only_the_covariances_terms(point):
    a = build_model("south_asia_2025", seed=0, households=0, overrides={"households.draw": 3})
    terms = {"draw", *a.config.households.covariance.terms}
    assert a.config.households.model_dump(exclude=terms) == point.config.households.model_dump(exclude=terms)
    assert all(getattr(a.config.households, t) != getattr(point.config.households, t)
               for t in ("innovation_per_year", "imitation_per_year", "internet_weight"))


def test_a_seed_draw_leaves_every_other_stream_alone_and_reaches_the_agents():
    drawn = build_model("south_asia_2025", seed=1, households=MIN_HOUSEHOLDS, overrides={"households.draw": "seed"})
    plain = build_model("south_asia_2025", seed=1, households=MIN_HOUSEHOLDS)
    for name in (s for s in STREAMS if s != "households_draw"):  # every other stream where the plain run left it
        assert drawn.streams[name].bit_generator.state == plain.streams[name].bit_generator.state, name
    np.testing.assert_array_equal(drawn.households.adopted, plain.households.adopted)  # the same starting adopters
    assert not np.array_equal(drawn.households.innovation, plain.households.innovation)  # the drawn rule


def test_a_covariance_of_an_unknown_or_non_numeric_term_is_refused():
    for term in ("not_a_field", "graph", "stance_multiplier.ban"):
        with pytest.raises(ScenarioError, match=f"covariance term '{term}'"):
            build_model("south_asia_2025", seed=0, households=0,
                        overrides={"households.covariance.terms": [term], "households.covariance.matrix": [[1.0]],
                                   "households.covariance.log_terms": [],
                                   "households.covariance.bounds": [[0.0, 1.0]]})
