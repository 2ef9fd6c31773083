"""The dip without a halving (experiments/validation/season_end.py): the anchored dips on
made-up weeks, and each statement its paragraph makes, against the data."""

import datetime as dt

import pandas as pd
import pytest

from data import table
from experiments.validation import halvings, season_end
from experiments.validation.halving_margins import monthly_price_usd

HALVING = dt.date(2020, 1, 6)


def weekly(values, start=dt.date(2019, 9, 2)) -> pd.Series:
    return pd.Series(values, index=[start + dt.timedelta(weeks=i) for i in range(len(values))], dtype=float)


def test_an_anchor_needs_two_weeks_before_and_one_after():
    dips = season_end.anchored_dips(weekly([100.0] * 6), (HALVING,))
    assert list(dips.anchor) == [dt.date(2019, 9, 16), dt.date(2019, 9, 23), dt.date(2019, 9, 30)]


def test_a_one_week_fall_is_the_dip_of_the_anchors_before_it():
    values = [100.0] * 30
    values[25] = 70.0  # 2020-02-24, seven weeks after HALVING
    dips = season_end.anchored_dips(weekly(values), (HALVING,)).set_index("anchor")
    fall = dt.date(2020, 2, 24)
    assert dips.loc[fall - dt.timedelta(weeks=1), "dip"] == pytest.approx(-0.3)
    assert dips.loc[fall - dt.timedelta(weeks=1), "low_date"] == fall
    assert dips.loc[fall, "dip"] == pytest.approx(0.0)  # the anchor's own week is not after it
    # within AWAY_WEEKS of the halving, so no anchor before the fall is away from it
    assert not dips.loc[dips.low_date == fall, "away"].any()
    far = (dt.date(2019, 1, 7),)  # every anchor away from it
    assert season_end.deepest_away(season_end.anchored_dips(weekly(values), far)).dip == pytest.approx(-0.3)


def test_a_shorter_look_ahead_at_the_end_of_the_window_only_sees_what_is_there():
    values = [100.0] * 10 + [90.0]
    dips = season_end.anchored_dips(weekly(values), (HALVING,)).set_index("anchor")
    assert dips.dip.min() == pytest.approx(-0.1)
    assert dips.index.max() == weekly(values).index[-2]


@pytest.fixture(scope="module")
def data():
    series, dips = halvings.window_series(), halvings.data_dips()
    return series, dips, season_end.deepest_away(season_end.anchored_dips(series, tuple(dips.halving)))


def test_the_deepest_dip_away_from_a_halving_is_the_end_of_the_2020_wet_season(data):
    _, dips, deepest = data
    assert dt.date(2020, 10, 1) <= deepest.low_date <= dt.date(2020, 11, 30)
    daily_2020 = float(dips.loc[dips.halving == dt.date(2020, 5, 11), "dip"].iloc[0])
    # as deep as the 2020 halving's: within the issue's +-5 points of it
    assert abs(deepest.dip - daily_2020) * 100 <= halvings.BOUND_DIP_PP


def test_no_other_year_falls_as_deep_away_from_its_halving(data):
    series, dips, deepest = data
    all_dips = season_end.anchored_dips(series, tuple(dips.halving))
    others = all_dips[all_dips.away & all_dips.anchor.map(lambda a: a.year != 2020)]
    assert not others.empty and others.dip.min() > -0.10 > deepest.dip


def test_the_price_rose_over_the_fall(data):
    _, _, deepest = data
    assert monthly_price_usd(deepest.low_date) > monthly_price_usd(deepest.anchor)


def test_the_paragraph_cites_what_the_data_hold(data):
    series, dips, deepest = data
    countries = pd.read_csv(table("countries.csv"))
    china = countries.set_index("iso3").loc["CHN", "capacity_surplus_info"]
    assert "14.9%->61.1%" in china and "wet season" in china
    text = "\n".join(season_end.markdown(series, dips))
    others = dips[dips.halving != dt.date(2020, 5, 11)].dip
    assert "14.9% to 61.1%" in text and f"deepest is {deepest.dip:+.1%}" in text
    assert " and ".join(f"{d:+.1%}" for d in others) in text


def test_the_reported_drop_and_the_season_come_from_the_data_with_their_sources():
    facts = pd.read_csv(table("mining_facts.csv"))
    season = facts[facts.category.str.contains("season")]
    assert season.source.str.len().min() > 20  # every row names where it comes from
    before, after = season_end.reported_drop()
    assert before > after > 0  # a drop, as the paragraph says
    starts = season.loc[season.category == "wet_season_start", "value"]
    assert set(starts) <= {4, 5}  # April or May, as the move probe reads it
