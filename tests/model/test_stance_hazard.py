"""The fitted stance hazard's one statement: features, hazards, the step conversion, landing."""

import math

import pytest

from model.stance_hazard import Neighbour, covariate_features, features, land, landing, step_probability, yearly_hazards

COV = covariate_features(inflation_pct=10.0, gdp_per_capita_usd=10_000.0, remittances_pct_gdp=5.0,
                         internet_pct=40.0, population=1e6)


def test_exposures_weigh_neighbours_by_edge():
    nb = [Neighbour(3, 1.0), Neighbour(0, 3.0, years_since_down=1.0), Neighbour(4, 0.0)]
    x = features(1, nb, COV, cap=3)
    assert x["liberal_exposure"] == pytest.approx((3 - 1) / 3 * 1 / 4)  # legal tender counts as the cap
    assert x["restrictive_exposure"] == pytest.approx(1 / 3 * 3 / 4)
    assert x["recent_down"] == pytest.approx(3 / 4) and x["recent_up"] == 0
    assert x["at_restricted"] == 1 and x["at_ban"] == 0
    assert COV["log_income"] == 0 and COV["log_population"] == 0 and COV["internet"] == pytest.approx(0.4)
    alone = features(1, [], COV, cap=3)
    assert alone["liberal_exposure"] == alone["restrictive_exposure"] == alone["recent_up"] == 0


def test_hazards_are_exp_of_the_linear_predictor_and_respect_the_bounds():
    x = features(2, [], COV, cap=3)
    up, down = yearly_hazards((-2.0, {"internet": 1.5}), (-3.0, {"at_regulated": -5.0}), x, stance=2, cap=3)
    assert up == pytest.approx(math.exp(-2.0 + 1.5 * 0.4)) and down == pytest.approx(math.exp(-3.0))
    assert yearly_hazards((0.0, {}), (0.0, {}), features(3, [], COV, 3), stance=3, cap=3)[0] == 0  # at the cap
    assert yearly_hazards((0.0, {}), (0.0, {}), features(0, [], COV, 3), stance=0, cap=3)[1] == 0  # at ban


def test_weekly_steps_compound_to_the_yearly_chance():
    h = 0.37
    stay_a_year = (1 - step_probability(h, 1 / 52)) ** 52
    assert 1 - stay_a_year == pytest.approx(step_probability(h, 1.0)) == pytest.approx(1 - math.exp(-h))


def test_a_move_lands_by_the_weights_of_the_levels_it_can_reach():
    q = [0.0, 0.1, 0.3, 0.6, 0.2]
    assert landing(q, 0, "up", cap=3) == pytest.approx({1: 0.1, 2: 0.3, 3: 0.6})
    assert landing(q, 2, "up", cap=3) == {3: 1.0}
    assert landing(q, 2, "down", cap=3) == pytest.approx({1: 1.0})  # no weight on a ban: only restricted
    assert land(q, 0, "up", 3, 0.05) == 1 and land(q, 0, "up", 3, 0.2) == 2 and land(q, 0, "up", 3, 0.99) == 3
    assert landing([0.0] * 5, 2, "down", cap=3) == {1: 1.0}  # no weight at all: the nearest level
