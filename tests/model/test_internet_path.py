"""Internet access that follows a dated path (``countries.CODE.internet_path``): the share
by date, households coming online in a fixed order, adoption only online, bad paths
refused, and the same numbers from the same seed."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from model import ScenarioError, build_model, load_scenario
from model.scenario import SCENARIO_DIR

CALIBRATION = SCENARIO_DIR / "calibration_adoption.toml"
SMALL = {"run.household_floor": 200}  # 9 countries x 200 household agents
HOUSEHOLDS = 1800


def small(seed: int = 0, **overrides):
    return build_model("calibration_adoption", seed=seed, households=HOUSEHOLDS, overrides={**SMALL, **overrides})


def reference_pct(path: dict[str, float], date: dt.date) -> float:
    """The path's share on ``date`` written out by hand: a year's figure on 1 July, linear
    in days between two years, the first figure before and the last after."""
    points = sorted((dt.date(int(y), 7, 1), v) for y, v in path.items())
    if date <= points[0][0]:
        return points[0][1]
    for (d0, v0), (d1, v1) in zip(points, points[1:]):
        if date <= d1:
            return v0 + (v1 - v0) * (date - d0).days / (d1 - d0).days
    return points[-1][1]


def online_by_country(m) -> np.ndarray:
    hh = m.households
    return np.bincount(hh.country, weights=hh.internet, minlength=len(m.household_countries))


# ------------------------------------------------------------------ the share by date
def test_share_is_linear_between_years_and_held_at_both_ends():
    m = small()
    pak = m.countries["PAK"]
    assert pak.internet_pct == 11.0  # the run starts 2015-01-01, before 2015's 1 July: held
    for date, expected in [(dt.date(2010, 1, 1), 11.0), (dt.date(2015, 7, 1), 11.0), (dt.date(2016, 7, 1), 12.4),
                           (dt.date(2017, 1, 1), 12.4 + 1.4 * 184 / 365), (dt.date(2022, 7, 1), 32.9),
                           (dt.date(2030, 1, 1), 32.9)]:
        pak.follow_internet(date)
        assert pak.internet_pct == pytest.approx(expected, abs=1e-9), date


def test_years_form_a_mapping_in_any_order(tmp_path):
    path = tmp_path / "later_years.toml"
    path.write_text(f'include = ["{CALIBRATION.as_posix()}"]\n\n[countries.PAK.internet_path]\n'
                    '2024 = { value = 40.0, assumption = "test" }\n2023 = { value = 35.0, assumption = "test" }\n')
    m = build_model(str(path), households=HOUSEHOLDS, overrides=SMALL)
    pak = m.countries["PAK"]
    pak.follow_internet(dt.date(2023, 7, 1))
    assert pak.internet_pct == pytest.approx(35.0)
    pak.follow_internet(dt.date(2024, 1, 1))
    assert pak.internet_pct == pytest.approx(35.0 + 5.0 * 184 / 366)


def test_without_a_path_access_is_constant():
    m = build_model("south_asia_2025", seed=0, households=HOUSEHOLDS)
    before, innovation = m.households.internet.copy(), m.households.innovation.copy()
    shares = {c: m.countries[c].internet_pct for c in m.household_countries}
    for _ in range(10):
        m.step()
    np.testing.assert_array_equal(m.households.internet, before)
    np.testing.assert_array_equal(m.households.innovation, innovation)
    assert shares == {c: m.countries[c].internet_pct for c in m.household_countries}


# ------------------------------------------------------------------ households coming online
@pytest.fixture(scope="module")
def history():
    """calibration_adoption, 2015-2024, step by step: who is online and adopting."""
    m = small(seed=3, **{"households.innovation_per_year": 0.3})
    cfg = m.config.countries
    online, adopted, counts, expected = [], [], [], []
    while True:
        online.append(m.households.internet.copy())
        adopted.append(m.households.adopted.copy())
        counts.append(online_by_country(m))
        expected.append([reference_pct(cfg[c].internet_path, m.date) / 100 for c in m.household_countries])
        if m.t >= len(m.dates) - 1:
            break
        m.step()
    return m, np.array(online), np.array(adopted), np.array(counts), np.array(expected)


def test_online_share_matches_the_path_within_one_household(history):
    m, _, _, counts, expected = history
    sizes = np.bincount(m.households.country)
    assert np.abs(counts - expected * sizes).max() <= 0.5 + 1e-9
    assert (counts[-1] > counts[0]).all()  # every country gained households online


def test_the_online_set_only_grows_while_the_share_grows(history):
    _, online, _, _, _ = history
    assert not (online[:-1] & ~online[1:]).any()  # nobody online goes offline (all paths rise)


def test_a_household_coming_online_can_adopt_and_one_offline_never_does(history):
    m, online, adopted, _, _ = history
    newly = adopted[1:] & ~adopted[:-1]
    assert newly.sum() > 100
    assert not (newly & ~online[1:]).any()  # every adoption happens online
    assert not (adopted[0] & ~online[0]).any()  # starting adopters are online
    came_online = online[-1] & ~online[0]
    assert (adopted.any(axis=0) & came_online).sum() > 10  # some of the newcomers adopted
    assert (m.households.innovation[came_online] > 0).all()
    never = ~online.any(axis=0)
    assert never.sum() > 100 and not adopted[:, never].any()


def test_a_falling_share_takes_the_last_households_online_off_first():
    m = small(**{"countries.PAK.internet_path.2016": 5.0})  # 11% in mid-2015, 5% a year later
    b = m.household_countries.index("PAK")
    block = m.households.country == b
    rank = m.households.online_rank[block]
    m.run(until=dt.date(2015, 7, 2))
    high = m.households.internet[block].copy()
    m.run(until=dt.date(2016, 7, 2))
    low = m.households.internet[block]
    assert low.sum() < high.sum()
    assert not (low & ~high).any()  # the set shrank, nobody new came online
    np.testing.assert_array_equal(low, rank < low.sum())  # the lowest ranks stay online
    np.testing.assert_array_equal(high, rank < high.sum())


def test_same_seed_same_numbers():
    until = dt.date(2019, 1, 1)
    a, b, c = small(seed=5).run(until=until), small(seed=5).run(until=until), small(seed=6).run(until=until)
    pd.testing.assert_frame_equal(a.timeseries(), b.timeseries())
    np.testing.assert_array_equal(a.households.internet, b.households.internet)
    np.testing.assert_array_equal(a.households.innovation, b.households.innovation)
    assert not np.array_equal(a.households.internet, c.households.internet)


# ------------------------------------------------------------------ the scenario file
@pytest.mark.parametrize("overrides, field, shown", [
    ({"countries.PAK.internet_path.2016": 120}, "countries.PAK.internet_path.2016", "120"),
    ({"countries.PAK.internet_path.2016": -1}, "countries.PAK.internet_path.2016", "-1"),
    ({"countries.PAK.internet_path.2016": "many"}, "countries.PAK.internet_path.2016", "'many'"),
    ({"countries.PAK.internet_path.16": 12.0}, "countries.PAK.internet_path.16", "'16'"),
    ({"countries.PAK.internet_path.year2016": 12.0}, "countries.PAK.internet_path.year2016", "'year2016'"),
    ({"countries.PAK.internet_pct": 30.0}, "countries.PAK.internet_path", "not both"),
])
def test_bad_paths_name_file_field_and_value(overrides, field, shown):
    with pytest.raises(ScenarioError) as info:
        load_scenario("calibration_adoption", overrides)
    text = str(info.value)
    assert str(CALIBRATION) in text and f"{field}:" in text and shown in text, text


NEW_COUNTRY = """
[countries.LKA]
name = "Sri Lanka"
lat = 6.93
lon = 79.85
stance = 2
population_millions = 22.0
gdp_per_capita_usd = 3800
inflation_pct = 5.0
remittances_pct_gdp = 6.0
ownership_pct = 0.1
has_households = true
mining_tariff_usd_per_kwh = 0.05
"""


@pytest.mark.parametrize("extra, field, shown", [
    ("internet_path = {}", "countries.LKA.internet_path", "at least 1 item"),
    ("", "countries.LKA", "needs internet_pct (or internet_path)"),
])
def test_bad_paths_in_a_file(tmp_path, extra, field, shown):
    path = tmp_path / "bad.toml"
    path.write_text(f'include = ["{CALIBRATION.as_posix()}"]\n' + NEW_COUNTRY + extra + "\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert str(path) in message and f"{field}:" in message and shown in message, message


def test_the_written_scenario_keeps_each_year_and_its_source(tmp_path):
    spec = load_scenario("calibration_adoption")
    kind, text = spec.provenance["countries.PAK.internet_path.2015"]
    assert kind == "source" and "IT.NET.USER.ZS" in text and "wdi_extract_2015_2024.csv" in text
    path = tmp_path / "resolved.toml"
    path.write_text(spec.to_toml())
    again = load_scenario(path)
    assert again.config == spec.config and again.provenance == spec.provenance
