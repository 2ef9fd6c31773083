"""The adoption_incentive shock (one-off push, faster abandonment, no re-adoption) and the
fast versions of backtests 2 (El Salvador) and 3 (cross-country adoption)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from conftest import MIN_HOUSEHOLDS, write_scenario

from experiments.validation.backtest_adoption import adoption_backtest, el_salvador_backtest, run_el_salvador
from experiments.validation.validate import BOUNDS, check_adoption, check_el_salvador
from model import build_model, load_scenario
from model.errors import ScenarioError

SHOCK_DATE = dt.date(2025, 3, 5)


def incentive_scenario(tmp_path, **keys):
    extra = "".join(f"{k} = {v}\n" for k, v in keys.items())
    return write_scenario(tmp_path, f'''
[shocks.ind_bonus]
date = {SHOCK_DATE}
country = "IND"
kind = "adoption_incentive"
share = 0.5
{extra}description = "a test bonus"
''')


def step_past_shock(m):
    while m.date < SHOCK_DATE:
        m.step()
    return m


def ind_block(m):
    return m.households.country == m.household_countries.index("IND")


def test_incentive_raises_adoption_at_once(tmp_path):
    m = build_model(incentive_scenario(tmp_path), households=MIN_HOUSEHOLDS)
    while m.dates[m.t + 1] < SHOCK_DATE:
        m.step()
    block = ind_block(m)
    eligible = int((block & m.households.internet & ~m.households.adopted).sum())
    before = m.countries["IND"].adoption_rate
    m.step()
    event = m.events_frame().query("kind == 'adoption_incentive'").iloc[0]
    jump = float(event["to"]) - float(event["from"])
    assert jump == pytest.approx(round(0.5 * eligible) / block.sum(), abs=1e-4)
    assert m.countries["IND"].adoption_rate > before + 0.5 * jump  # still there after the week's update
    assert not (m.households.adopted & ~m.households.internet).any()  # only online households


def test_incentive_adopters_abandon_faster_than_others(tmp_path):
    m = step_past_shock(build_model(incentive_scenario(tmp_path, abandonment_per_year=5.0), households=4000))
    hh, block = m.households, ind_block(m)
    recruits = block & hh.adopted & (hh.abandonment == 5.0)
    others = block & hh.adopted & (hh.abandonment != 5.0)
    assert recruits.sum() > 200 and others.sum() > 30
    for _ in range(26):
        m.step()
    kept_recruits = (m.households.adopted & recruits).sum() / recruits.sum()
    kept_others = (m.households.adopted & others).sum() / others.sum()
    base = m.config.households.abandonment_per_year
    assert kept_recruits == pytest.approx(np.exp(-5.0 * 0.5), abs=0.05)
    assert kept_others > np.exp(-base * 0.5) - 0.08  # some may stop and re-adopt; none at the bonus's rate
    assert kept_recruits < kept_others - 0.5
    # a recruit who stopped is back at the households' rate
    stopped = recruits & ~m.households.adopted
    assert np.all(m.households.abandonment[stopped] == base)


@pytest.mark.parametrize("factor", [0.0, 1.0])
def test_recruits_who_stop_readopt_only_as_the_factor_allows(tmp_path, factor):
    path = incentive_scenario(tmp_path, abandonment_per_year=20.0, readoption_factor=factor)
    m = step_past_shock(build_model(path, households=4000, overrides={"households.innovation_per_year": 1.0}))
    recruits = ind_block(m) & m.households.adopted & (m.households.abandonment == 20.0)
    ever_stopped = np.zeros_like(recruits)
    readopted = np.zeros_like(recruits)
    for _ in range(30):
        was = m.households.adopted.copy()
        m.step()
        readopted |= ever_stopped & m.households.adopted & ~was
        ever_stopped |= recruits & ~m.households.adopted
    assert ever_stopped.sum() > 0.9 * recruits.sum()
    assert np.all(m.households.propensity[ever_stopped] == factor)
    if factor == 0.0:
        assert not readopted.any()
    else:
        assert readopted.sum() > 0.2 * recruits.sum()


def test_incentive_moves_no_random_stream(tmp_path):
    path = incentive_scenario(tmp_path)
    on = step_past_shock(build_model(path, households=MIN_HOUSEHOLDS))
    off = step_past_shock(build_model(path, households=MIN_HOUSEHOLDS, overrides={"shocks.ind_bonus.enabled": False}))
    for name in on.streams:
        assert on.streams[name].bit_generator.state == off.streams[name].bit_generator.state, name
    assert on.households.adopted.sum() > off.households.adopted.sum()


def test_incentive_needs_a_household_country_and_a_share(tmp_path):
    bad = write_scenario(tmp_path, '''
[shocks.bonus]
date = 2025-03-05
country = "USA"
kind = "adoption_incentive"
share = 0.5
''', name="no_households.toml")
    with pytest.raises(ScenarioError, match="shocks.bonus.country"):
        load_scenario(bad)
    with pytest.raises(ScenarioError, match="shocks.ind_bonus.share"):
        load_scenario(incentive_scenario(tmp_path), {"shocks.ind_bonus.share": 1.5})


# ------------------------------------------------------------------ backtest 2: El Salvador
def test_el_salvador_rises_and_decays_within_its_bounds():
    slv = el_salvador_backtest(seeds=range(1), households=2000)
    assert check_el_salvador(slv) == []
    u = slv.usage.set_index("year")
    assert u.model[2021] > u.model[2022] > u.model[2023]  # rise at the law, then decay
    nb = slv.no_bonus.set_index("year").model
    assert nb[2024] > nb[2021]  # without the bonus, a rising curve
    # the bounds are real: a model that kept its 2021 level breaks them
    flat = slv.usage.assign(model=slv.usage.model.iloc[0])
    from experiments.validation.backtest_adoption import el_salvador_errors, logit
    flat["logit_error"] = logit(flat.model) - logit(flat.data)
    broken = type(slv)(flat, slv.band, slv.no_bonus, el_salvador_errors(flat))
    assert any("2024/2021" in p or "test-years" in p for p in check_el_salvador(broken))


def test_el_salvador_reads_usage_in_the_year_not_at_its_end():
    run = run_el_salvador(households=1000)
    assert (run.usage.model >= run.usage.model_point - 1e-12).all()
    assert run.usage.model.iloc[0] > run.usage.model_point.iloc[0]  # bonus takers who stopped by December count


# ------------------------------------------------------------------ backtest 3: cross-country
def test_cross_country_adoption_stays_within_its_bounds():
    report = adoption_backtest(seeds=range(1))
    assert check_adoption(report) == []
    assert report.rmse_logit_loo >= 0 and len(report.ranks) >= 3
    assert report.ranks.spearman.between(-1, 1).all()
    # the bounds are real: shares four times too high break the fit bound
    worse = report.points.assign(model=np.minimum(report.points.model * 4, 0.99))
    from experiments.validation.backtest_adoption import compare_ownership, rmse_logit
    modelled = worse.pivot(index="date", columns="country", values="model")
    bad = type(report)(compare_ownership(modelled, report.points[["country", "date", "share", "source"]]),
                       report.modelled, report.ranks, report.data_rank,
                       rmse_logit(compare_ownership(modelled, report.points[["country", "date", "share", "source"]])),
                       report.rmse_logit_loo, 1)
    assert any("ownership logit RMSE" in p for p in check_adoption(bad))
    assert BOUNDS["adoption_rmse_logit_loo"] >= BOUNDS["adoption_rmse_logit_fit"]
