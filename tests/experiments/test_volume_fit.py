"""The volume fit (``crypto-abm calibrate volume``): its data, its honesty (a left-out country
never informs its own prediction) and its done-bound, and the calibration file it writes."""

from __future__ import annotations

import datetime as dt
import tomllib

import numpy as np
import pandas as pd
import pytest

from experiments.validation import volume_fit as vf
from model.scenario import load_scenario, package_file

DATA = package_file("data")
HELD_BACK = ("NGA", "REGION:SSA", "REGION:MENA")  # African rows: never in the project's copies


@pytest.fixture(scope="module")
def fit():
    return vf.fit_volume()


def test_no_held_back_african_row_is_in_the_data_the_fit_reads():
    for name in ("chainalysis_value_received.csv", "crypto_activity.csv", "exchanges_market_share.csv"):
        assert not pd.read_csv(DATA / name).iso3.isin(HELD_BACK).any(), name
    assert not set(vf.region_rows().group) - set(vf.REGIONS)


def test_rows_have_finite_covariates_and_windows_match_the_price_series():
    rows = vf.country_rows()
    assert len(rows) >= 10 and rows.country.nunique() >= 8
    assert np.isfinite(rows[["value_usd", "pop", "gdp_pc", "price_usd"]].to_numpy()).all()
    # the window 2022-07..2023-06 averages twelve monthly means around the 2022 crash
    assert 15_000 < vf.btc_window_price(2022) < 30_000
    with pytest.raises(ValueError, match="July-June"):
        vf._window("2022-01..2022-12")


def test_stance_follows_the_dated_events():
    assert vf.stance_at("IND", dt.date(2019, 1, 1)) == 0   # RBI circular 2018-04
    assert vf.stance_at("IND", dt.date(2021, 1, 1)) == 2   # quashed 2020-03
    assert vf.stance_at("IND", dt.date(2024, 1, 1)) == 3   # FIU registration 2023-03


def test_the_fit_meets_its_done_bound_left_out_and_has_fewer_parameters_than_rows(fit):
    assert fit.within_2x_loo >= vf.BOUND_WITHIN_2X
    assert len(vf.PARAMETERS) < len(fit.rows)
    assert np.all(np.linalg.eigvalsh(fit.cov) > 0)            # a proper covariance
    assert all(0 < s < abs(v) for s, v in zip(fit.se.values(), fit.values.values()))  # each estimate > its s.e.


def test_a_left_out_country_does_not_inform_its_own_prediction(monkeypatch, fit):
    """Scale India's data tenfold: its left-out predictions do not move, its fitted ones do."""
    rows = vf.country_rows()
    regions = vf.region_rows()
    scaled = rows.assign(value_usd=np.where(rows.country == "IND", rows.value_usd * 10, rows.value_usd))
    monkeypatch.setattr(vf, "country_rows", lambda: scaled)
    # the regions holding India are left out with it; scale them too, so a leak would show
    monkeypatch.setattr(vf, "region_rows", lambda: regions.assign(
        value_usd=np.where(regions.group == "REGION:CSAO", regions.value_usd * 10, regions.value_usd)))
    moved = vf.fit_volume()
    india = fit.rows.country == "IND"
    assert np.allclose(moved.rows.loo_usd[india], fit.rows.loo_usd[india])
    assert not np.allclose(moved.rows.fit_usd[india], fit.rows.fit_usd[india])


def test_within_2x_counts_both_ends():
    assert vf.within_2x([0.5, 2.0, 0.49, 2.01]) == 0.5


def test_calibration_file_has_fitted_provenance_and_uncertainty(tmp_path, fit):
    path = vf.write_calibration(fit, path=tmp_path / "volume.toml", today="2026-01-01")
    tree = tomllib.loads(path.read_text())["volume"]
    for key in ("value_received_usd_per_adopter_per_year", "income_elasticity", "price_elasticity", "covariance"):
        assert "crypto-abm calibrate volume (2026-01-01)" in tree[key]["fitted"]
    assert "s.e." in tree["price_elasticity"]["fitted"]
    assert np.allclose(np.array(tree["covariance"]["matrix"]), fit.cov, atol=1e-6)
    assert tree["covariance"]["terms"] == list(vf.TERMS)
    assert tree["covariance"]["log_terms"] == ["value_received_usd_per_adopter_per_year"]
    assert tree["exchange_share_of_value_received"]["derived"].startswith("India")
    assert [p.name for p in tmp_path.iterdir()] == ["volume.toml"]   # written atomically, nothing left behind


@pytest.mark.parametrize("name", ["south_asia_2025", "pak_ai_demand", "backtest_hashrate_2019", "calibration_adoption",
                                  "backtest_el_salvador_2021", "backtest_india_exchanges_2021"])
def test_shipped_scenarios_take_the_fitted_volume_relation(name):
    spec = load_scenario(name)
    fitted = tomllib.loads(vf.VOLUME_FILE.read_text())["volume"]
    for key in ("value_received_usd_per_adopter_per_year", "income_elasticity", "price_elasticity"):
        kind, text = spec.provenance[f"volume.{key}"]
        assert kind == "fitted" and "calibrate volume" in text
        assert getattr(spec.config.volume, key) == pytest.approx(fitted[key]["value"])
    assert spec.provenance["volume.p2p_factor"][0] == "assumption"


def test_calibrate_volume_is_refused_in_an_installed_copy(monkeypatch, capsys):
    monkeypatch.setattr(vf, "IN_CHECKOUT", False)
    monkeypatch.setattr(vf, "fit_volume", lambda: pytest.fail("the fit started"))
    assert vf.main() == 2
    assert capsys.readouterr().err.startswith("error: crypto-abm calibrate volume rewrites experiments/calibration/")
