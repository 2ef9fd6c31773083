"""The country-year panel of stances: rebuilt from the events, features as the model computes
them, covariates lagged with stated fallbacks, and bad files refused with file, field and value."""

import math

import pytest

from experiments.validation.policy_panel import PanelError, PanelFiles, build_panel


@pytest.fixture(scope="module")
def shipped():
    return build_panel()


def test_stances_are_rebuilt_from_the_events(shipped):
    rows = shipped.rows.set_index(["iso3", "year"])
    assert len(shipped.rows) == 51 * 13
    assert rows.loc[("PAK", 2018), "stance"] == 2 and rows.loc[("PAK", 2018), "down"] == 1
    assert rows.loc[("PAK", 2019), "stance"] == 0
    assert rows.loc[("PAK", 2025), "up_to"] == 3  # the 2025 jump from ban to regulated
    assert rows.loc[("IND", 2020), "up_to"] == 2 and rows.loc[("IND", 2021), "stance"] == 2
    assert not rows.loc[("USA", 2014), "at_risk_up"] and rows.loc[("USA", 2014), "at_regulated"] == 1
    up, down = shipped.rows, shipped.rows
    assert up[up.at_risk_up].up.sum() == 35 and down[down.at_risk_down].down.sum() == 24  # 59 changes


def test_neighbours_come_from_borders_and_remittance_links(shipped):
    rows = shipped.rows.set_index(["iso3", "year"])
    assert rows.loc[("LKA", 2020), "neighbours"] > 0  # an island with remittance links
    assert rows.loc[("JPN", 2020), "neighbours"] == 0
    assert rows.loc[("JPN", 2020), "liberal_exposure"] == 0 == rows.loc[("JPN", 2020), "recent_up"]
    # Afghanistan on 2019-01-01 (stance 2): Pakistan and Iran had banned in 2018, Uzbekistan licensed
    afg = rows.loc[("AFG", 2019)]
    assert afg.restrictive_exposure > 0 and afg.recent_down > afg.recent_up > 0


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def _tiny(tmp_path, events="iso3,date,from_stance,to_stance\nAAA,2014-03,2,0\n", covariates=None):
    initial = _write(tmp_path, "initial.csv", "iso3,stance_2013\nAAA,2\nBBB,2\n")
    borders = _write(tmp_path, "borders.csv", "iso3_a,iso3_b\nAAA,BBB\n")
    cov = covariates or ("iso3,year,indicator,value\n"
                         "AAA,2013,FP.CPI.TOTL.ZG,10\nAAA,2014,FP.CPI.TOTL.ZG,\nAAA,2015,FP.CPI.TOTL.ZG,30\n"
                         "BBB,2013,FP.CPI.TOTL.ZG,\nBBB,2014,FP.CPI.TOTL.ZG,\nBBB,2015,FP.CPI.TOTL.ZG,\n")
    return PanelFiles(events=_write(tmp_path, "events.csv", events), initial=initial, borders=borders, links=None,
                      covariates=_write(tmp_path, "cov.csv", cov), regions=None)


def test_covariates_are_the_year_befores_with_stated_fallbacks(tmp_path):
    panel = build_panel(_tiny(tmp_path), last_year=2016)
    rows = panel.rows.set_index(["iso3", "year"])
    infl = lambda pct: math.log1p(pct / 100)  # noqa: E731
    assert rows.loc[("AAA", 2014), "inflation"] == pytest.approx(infl(10))   # 2013's
    assert rows.loc[("AAA", 2015), "inflation"] == pytest.approx(infl(10))   # 2014 missing: 2013 and 2015 tie, earlier
    assert rows.loc[("AAA", 2016), "inflation"] == pytest.approx(infl(30))   # 2015's
    assert rows.loc[("BBB", 2016), "inflation"] == pytest.approx(infl(30))   # no value at all: the year's median
    # inflation has a value in 2 of 6 country-years, the others in none: all left out of the candidates
    assert panel.covariates == [] and "FP.CPI.TOTL.ZG" in panel.notes[0]
    # BBB on 2015-01-01 sees AAA's ban of 2014 as recent and more restrictive
    assert rows.loc[("BBB", 2015), "recent_down"] == 1 and rows.loc[("BBB", 2015), "restrictive_exposure"] > 0
    assert rows.loc[("AAA", 2014), "down"] == 1 and rows.loc[("AAA", 2014), "down_to"] == 0


@pytest.mark.parametrize("events, field, value", [
    ("iso3,date,from_stance,to_stance\nAAA,2014-13-01,2,0\n", "date (row 2)", "2014-13-01"),
    ("iso3,date,from_stance,to_stance\nAAA,2014-03,2,7\n", "to_stance (row 2)", "7"),
    ("iso3,date,from_stance,to_stance\nAAA,2014-03,1,0\n", "from_stance (row 2)", 1),
    ("iso3,date,from_stance,to_stance\nZZZ,2014-03,2,0\n", "iso3 (row 2)", "ZZZ"),
    ("iso3,date,stance\nAAA,2014-03,2\n", "from_stance", None),
])
def test_a_bad_events_file_is_refused_by_file_field_and_value(tmp_path, events, field, value):
    with pytest.raises(PanelError) as err:
        build_panel(_tiny(tmp_path, events=events))
    text = str(err.value)
    assert "events.csv" in text and field in text and (value is None or repr(value) in text)
    assert "\n" not in text


def test_a_non_finite_covariate_is_refused(tmp_path):
    with pytest.raises(PanelError, match=r"cov.csv: value \(row 2\): not a finite number \(got 'nan'\)"):
        build_panel(_tiny(tmp_path, covariates="iso3,year,indicator,value\nAAA,2013,FP.CPI.TOTL.ZG,nan\n"))
