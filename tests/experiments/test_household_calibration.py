"""Household calibration: the income and internet terms of the rule, the fit's machinery,
and the calibration file (written with provenance, included by the shipped scenarios)."""

from __future__ import annotations

import tomllib

import numpy as np
import pandas as pd
import pytest
from conftest import MIN_HOUSEHOLDS

from agents.household import INCOME_REFERENCE_USD, innovation_rates
from experiments.validation import calibrate_households as ch
from experiments.validation.backtest_adoption import chainalysis_ranks, ownership_targets
from model import build_model, load_scenario
from model.scenario import SCENARIO_DIR

CALIBRATED = ["households." + k for k in ("innovation_per_year", "imitation_per_year", "abandonment_per_year",
                                          "inflation_weight", "remittance_weight", "income_weight",
                                          "internet_weight")]
SHIPPED = ["south_asia_2025", "backtest_hashrate_2019", "calibration_adoption", "backtest_el_salvador_2021"]


# ------------------------------------------------------------------ the rule
def _rates(income_weight=0.0, internet_weight=0.0, gdp=(1_000.0, 50_000.0), share=(0.3, 0.9)):
    n = len(gdp)
    return innovation_rates(0.01, 3.0, 0.5, income_weight, internet_weight, np.full(n, 0.05), np.zeros(n),
                            np.array(gdp), np.array(share), np.ones(n, dtype=bool))


def test_income_weight_moves_the_hazard_in_its_direction():
    poor, rich = _rates(income_weight=0.0)
    assert poor == pytest.approx(rich)  # no income term by default
    poor_up, rich_up = _rates(income_weight=0.5)
    assert rich_up > rich and poor_up < poor  # richer than the reference adopts more, poorer less
    poor_dn, rich_dn = _rates(income_weight=-0.5)
    assert rich_dn < rich and poor_dn > poor
    assert rich_up / poor_up == pytest.approx((50_000 / 1_000) ** 0.5, rel=1e-5)
    # at the reference income the term is zero whatever the weight
    at_ref = innovation_rates(0.01, 0.0, 0.0, 2.0, 0.0, np.zeros(1), np.zeros(1), np.array([INCOME_REFERENCE_USD]),
                              np.zeros(1), np.ones(1, dtype=bool))
    assert at_ref[0] == pytest.approx(0.01)


def test_internet_weight_moves_the_hazard_in_its_direction_and_the_gate_stays():
    low, high = _rates(internet_weight=1.0, gdp=(5_000.0, 5_000.0))
    assert high / low == pytest.approx(np.exp(1.0 * (0.9 - 0.3)), rel=1e-5)
    offline = innovation_rates(0.01, 0.0, 0.0, 0.0, 5.0, np.zeros(1), np.zeros(1), np.array([5_000.0]),
                               np.array([0.9]), np.zeros(1, dtype=bool))
    assert offline[0] == 0.0


def test_default_weights_keep_the_old_formula():
    rng = np.random.default_rng(0)
    n = 500
    inflation, receiver, internet = rng.normal(0.05, 0.1, n), rng.random(n) < 0.3, rng.random(n) < 0.6
    old = (0.01 * np.exp(3.0 * np.maximum(inflation, 0.0) + 0.5 * receiver) * internet).astype(np.float32)
    new = innovation_rates(0.01, 3.0, 0.5, 0.0, 0.0, inflation, receiver, rng.uniform(300, 80_000, n),
                           rng.random(n), internet)
    np.testing.assert_array_equal(new, old)


def test_income_weight_reaches_the_households_of_a_model():
    base = build_model(households=MIN_HOUSEHOLDS, overrides={"households.income_weight": 0.0})
    rich = build_model(households=MIN_HOUSEHOLDS, overrides={"households.income_weight": 0.5})
    hh0, hh1 = base.households, rich.households
    gdp = np.array([base.countries[c].gdp_per_capita_usd for c in base.household_countries])[hh0.country]
    on = hh0.internet
    np.testing.assert_allclose(hh1.innovation[on] / hh0.innovation[on], (gdp[on] / INCOME_REFERENCE_USD) ** 0.5,
                               rtol=1e-5)


# ------------------------------------------------------------------ the data
def test_ownership_targets_are_the_measured_countries():
    t = ownership_targets()
    assert set(t.country) == {"PAK", "IND", "IRN", "CHN", "USA", "ARE"}  # SAU: no covariates in data/
    pak = t[t.country == "PAK"].share.iloc[0]
    assert pak == pytest.approx(0.066, abs=5e-4)
    assert t.share.between(0.01, 0.5).all()
    ranks = chainalysis_ranks()
    assert not ((ranks.country == "USA") & (ranks.year == 2021)).any()  # reported inconsistently
    assert ranks[ranks.year == 2024].set_index("country")["rank"].to_dict()["IND"] == 1


# ------------------------------------------------------------------ the fit's machinery
def test_parameter_scaling_round_trips_and_the_prior_is_centred():
    centre = {n: s[0] for n, s in ch.PARAMETERS.items()}
    u = ch.unit(centre)
    assert np.all((u >= 0) & (u <= 1))
    back = ch.natural(u)
    for name, value in centre.items():
        assert back[name] == pytest.approx(value, rel=1e-9, abs=1e-12)
    assert ch.prior_penalty(u) == pytest.approx(0.0, abs=1e-12)
    assert ch.prior_penalty(np.clip(u + 0.1, 0, 1)) > 0


def test_emulator_recovers_a_quadratic_and_leaving_out_drops_a_country():
    rng = np.random.default_rng(1)
    k = len(ch.PARAMETERS)
    u = rng.random((120, k))
    def surface(v):  # quadratic on the logit scale, as the emulator assumes
        return np.stack([-1.0 + 0.5 * v[..., 0] - 1.5 * v[..., 1] ** 2, -2.0 + 1.2 * v[..., 2] * v[..., 3]], axis=-1)

    noise = rng.normal(0.0, 0.1, (120, 2))
    em = ch.Emulator.fit(u, 1.0 / (1.0 + np.exp(-(surface(u) + noise))))
    x = rng.random(k)
    np.testing.assert_allclose(em.predict(x), surface(x), atol=0.1)
    assert 0.05 < em.residual_sd.mean() < 0.15  # it sees the noise, not more
    targets = pd.DataFrame({"country": ["AAA", "BBB"], "share": [0.3, 0.05]})
    full = ch.objective(x, em, targets)
    assert ch.objective(x, em, targets, leave_out="AAA") < full
    assert ch.objective(x, em, targets, leave_out="BBB") < full


# ------------------------------------------------------------------ the calibration file
def test_calibration_file_holds_every_fitted_value_with_provenance():
    data = tomllib.loads(ch.HOUSEHOLDS_FILE.read_text())
    assert set(data) == {"households"}
    for dotted in CALIBRATED:
        entry = data["households"][dotted.split(".", 1)[1]]
        assert set(entry) == {"value", "fitted"}
        assert "crypto-abm calibrate households" in entry["fitted"] and "leave-one-country-out" in entry["fitted"]
    slv = tomllib.loads(ch.EL_SALVADOR_FILE.read_text())["shocks"]["slv_chivo_bonus"]
    assert set(slv) == {"share", "abandonment_per_year"}
    assert all("crypto-abm calibrate households" in v["fitted"] for v in slv.values())


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_scenarios_include_the_calibration_after_mining(name):
    raw = tomllib.loads((SCENARIO_DIR / f"{name}.toml").read_text())["include"]
    assert raw.index("../calibration/households.toml") > raw.index("../calibration/mining.toml")
    spec = load_scenario(name)
    fitted = tomllib.loads(ch.HOUSEHOLDS_FILE.read_text())["households"]
    for dotted in CALIBRATED:
        kind, text = spec.provenance[dotted]
        assert kind == "fitted" and "calibrate households" in text
        assert getattr(spec.config.households, dotted.split(".", 1)[1]) == pytest.approx(
            fitted[dotted.split(".", 1)[1]]["value"])


def test_written_calibration_is_read_back_with_fitted_provenance(tmp_path):
    values = {n: s[0] * 1.5 if s[0] else 0.25 for n, s in ch.PARAMETERS.items()}
    points = ownership_targets().assign(model=0.1, loo_model=0.1, logit_error=0.0, loo_logit_error=0.0)
    fit = ch.HouseholdFit(values, points, {"fit_rmse_logit": 0.4, "loo_rmse_logit": 0.7, "prior_rmse_logit": 0.6})
    path = ch.write_households(fit, path=tmp_path / "households.toml", today="2030-01-01")
    scenario = tmp_path / "s.toml"
    scenario.write_text(f'include = ["{load_scenario("south_asia_2025").file.as_posix()}", "{path.as_posix()}"]\n')
    spec = load_scenario(scenario)
    assert spec.config.households.income_weight == pytest.approx(0.25)
    assert spec.config.households.innovation_per_year == pytest.approx(0.015)
    kind, text = spec.provenance["households.imitation_per_year"]
    assert kind == "fitted" and "2030-01-01" in text and "0.70" in text


def test_fit_table_has_a_left_out_prediction_for_every_measured_point():
    table = pd.read_csv(ch.FIT_TABLE)
    assert set(table.country) == set(ownership_targets().country)
    assert table.loo_model.between(0, 1, inclusive="neither").all()
    assert table.model.between(0, 1, inclusive="neither").all()
