"""Seasonal moves (``seasonal_move`` shocks): a share of a country's machines off the network
for the move's weeks, back where they were after; the backtest's moves are China's, from the data."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pytest
from conftest import MIN_HOUSEHOLDS, series, write_scenario

from data import table
from experiments.validation.halving_margins import mining_facts
from model import ScenarioError, build_model, load_scenario

MOVE = '''
[shocks.move]
date = 2025-09-03
country = "USA"
kind = "seasonal_move"
until = {until}
share = {{ value = {share}, assumption = "test" }}
'''
FIRST, SECOND, BACK = dt.date(2025, 9, 3), dt.date(2025, 9, 10), dt.date(2025, 9, 17)  # weekly steps


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The baseline with a move of 40% of the USA's machines from 2025-09-03 to 09-17 (the
    steps of 09-03 and 09-10), and the same run with the move switched off."""
    path = write_scenario(tmp_path_factory.mktemp("move"), MOVE.format(until="2025-09-17", share=0.4))
    out = {}
    for name, on in (("moved", True), ("still", False)):
        m = build_model(str(path), seed=3, households=MIN_HOUSEHOLDS, overrides={"shocks.move.enabled": on})
        out[name] = m.run(until=dt.date(2025, 12, 31))
    return out


def _usa(m, metric):
    return series(m.timeseries(), "USA", metric)


def test_a_move_takes_its_share_off_for_its_weeks_and_brings_it_back(runs):
    moved, still = (_usa(runs[k], "hashrate_ehs") for k in ("moved", "still"))
    before = moved.index < FIRST
    assert (moved[before] == still[before]).all()  # nothing moves before the date
    assert moved[FIRST] / still[FIRST] == pytest.approx(0.6, rel=1e-9)  # the share, exactly, in its first week
    assert moved[SECOND] / still[SECOND] == pytest.approx(0.6, rel=0.05)  # the difficulty has begun to answer
    assert moved[BACK] / still[BACK] > 0.95  # back where they were: nothing left, exited or idled
    power = [_usa(runs[k], "mining_power_mw")[FIRST] for k in ("moved", "still")]
    assert power[0] / power[1] == pytest.approx(0.6, rel=1e-9)  # moving machines draw no power
    network = [series(runs[k].timeseries(), "WORLD", "hashrate_ehs")[FIRST] for k in ("moved", "still")]
    assert network[1] - network[0] == pytest.approx(0.4 * still[FIRST], rel=1e-9)


def test_a_move_is_logged_with_its_end(runs):
    events = runs["moved"].events_frame().query("country == 'USA'")
    assert list(events.loc[events.kind.str.startswith("seasonal_move"), "date"]) == [FIRST, BACK]
    assert "seasonal_move" not in set(runs["still"].events_frame()["kind"])


@pytest.mark.parametrize("until, share, field", [
    ("2025-09-03", 0.4, "shocks.move.until"),  # the move must end after it starts
    ("2025-09-17", 1.5, "shocks.move.share"),
    ("2025-09-17", -0.1, "shocks.move.share"),
])
def test_a_bad_move_is_refused_naming_its_field(tmp_path, until, share, field):
    with pytest.raises(ScenarioError) as err:
        build_model(str(write_scenario(tmp_path, MOVE.format(until=until, share=share))), households=MIN_HOUSEHOLDS)
    assert field in str(err.value)


# ------------------------------------------------------------------ the backtest's moves
def backtest_moves():
    shocks = load_scenario("backtest_hashrate_2019").config.shocks
    return {sid: s for sid, s in shocks.items() if s.kind == "seasonal_move"}


def test_the_backtest_moves_the_share_cbeci_saw_move():
    """61.1 - 14.9 points of China's machines: Sichuan's share of China's hashrate in the 2020 wet
    season against the dry season (CBECI, in data/countries.csv's note on China)."""
    note = pd.read_csv(table("countries.csv")).set_index("iso3").at["CHN", "capacity_surplus_info"]
    dry, wet = map(float, re.search(r"Sichuan share of Chinese hashrate ([\d.]+)%->([\d.]+)%", note).groups())
    moves = backtest_moves()
    assert len(moves) == 5
    for s in moves.values():
        assert s.country == "CHN" and s.share == pytest.approx((wet - dry) / 100)


def test_the_backtest_moves_in_the_sources_months_and_not_after_the_ban():
    """Out at the season's start (April or May in the sources), back at its end (October), a week
    each, all before China's provinces shut mining."""
    facts = mining_facts()
    starts = set(facts.loc[facts.category == "wet_season_start", "value"].astype(int))
    ends = set(facts.loc[facts.category == "wet_season_end", "value"].astype(int))
    ban = load_scenario("backtest_hashrate_2019").config.shocks["chn_mining_ban"].date
    for sid, s in backtest_moves().items():
        assert s.date.month in (starts if "to_sichuan" in sid else ends), sid
        assert (s.until - s.date).days == 7 and s.until < ban
