"""The stance-hazard fit: it recovers known coefficients, writes and reads its file safely,
and its commands refuse what they must (exit status 2, one line naming file, field, value)."""

import numpy as np
import pandas as pd
import pytest

from experiments.cli import main
from experiments.validation.policy_fit import (
    CALIBRATION_FILE,
    calibrate_main,
    fit_hazard,
    fit_landing,
    read_fit,
    write_fit,
)
from experiments.validation.policy_panel import PanelError, PanelFiles


def _simulated(n=4000, seed=3):
    rng = np.random.default_rng(seed)
    x = rng.random(n)
    eta = -2.0 + 1.5 * x
    moved = rng.random(n) < -np.expm1(-np.exp(eta))
    return pd.DataFrame({"at_risk_up": True, "up": moved.astype(int), "internet": x})


def test_the_fit_recovers_known_coefficients_within_their_standard_errors():
    fit = fit_hazard(_simulated(), "up", ["internet"])
    z = (fit.coef - np.array([-2.0, 1.5])) / fit.se()
    assert np.all(np.abs(z) < 3) and np.all(fit.se() < 0.3)
    assert fit.events == _simulated().up.sum()
    # and a term that does nothing gets a coefficient near 0
    noise = _simulated().assign(noise=np.random.default_rng(9).random(4000))
    assert abs(fit_hazard(noise, "up", ["internet", "noise"]).coef[2]) < 3 * 0.3


def test_landing_weights_follow_the_observed_landings():
    rows = pd.DataFrame({"stance": [2] * 20 + [0] * 4, "down_to": [0] * 14 + [1] * 6 + [-1] * 4})
    lf = fit_landing(rows, "down")
    w = lf.weights()
    assert w[4] == 0 and abs(sum(w) - 1) < 1e-9
    assert 1.5 < w[0] / w[1] < 2.8  # 14 against 6, pulled a little toward even by the prior


@pytest.fixture(scope="module")
def shipped_fit(tmp_path_factory):
    from experiments.validation.policy_fit import calibrate
    fit = calibrate()
    return fit, write_fit(fit, tmp_path_factory.mktemp("fit") / "policy.toml")


def test_the_file_round_trips_and_is_written_atomically(shipped_fit):
    fit, path = shipped_fit
    up, down, c_up, c_down = read_fit(path)
    assert up.terms == fit.up.terms and np.allclose(up.coef, fit.up.coef) and np.allclose(down.cov, fit.down.cov)
    assert np.isclose(np.exp(c_up.coef[0]), np.exp(fit.constant_up.coef[0]))
    assert [p.name for p in path.parent.iterdir()] == ["policy.toml"]  # no temporary file left behind


def test_the_fitted_form_is_what_the_scenario_loader_reads(shipped_fit):
    from model.scenario import load_scenario
    fit, path = shipped_fit
    scenario = path.parent / "s.toml"
    scenario.write_text(f'include = ["{load_scenario("south_asia_2025").file.as_posix()}", "{path.as_posix()}"]\n')
    policy = load_scenario(scenario).config.policy
    assert policy.up.intercept == pytest.approx(fit.up.coef[0])
    for term, value in zip(fit.down.terms, fit.down.coef[1:]):
        assert getattr(policy.down, term) == pytest.approx(value)


def test_a_fit_on_another_panel_never_replaces_the_shipped_file_unasked(tmp_path):
    before = CALIBRATION_FILE.read_bytes()
    other = PanelFiles(regions=None)
    with pytest.raises(PanelError, match="--out"):
        calibrate_main(other, None, force=False)
    existing = tmp_path / "mine.toml"
    existing.write_text("keep me")
    with pytest.raises(PanelError, match="exists; --force replaces it"):
        calibrate_main(PanelFiles(), existing, force=False)
    assert existing.read_text() == "keep me" and CALIBRATION_FILE.read_bytes() == before


def test_bad_input_exits_2_with_one_line(tmp_path, capsys):
    events = tmp_path / "events.csv"
    events.write_text("iso3,date,from_stance,to_stance\nPAK,2018-04-06,2,inf\n")
    assert main(["validate", "policy", "--events", str(events)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: {events}: to_stance (row 2): not a stance 0..4 (got 'inf')"
    assert main(["calibrate", "mining", "--events", str(events)]) == 2  # a policy option elsewhere
    assert "--events: belongs to the policy target" in capsys.readouterr().err
