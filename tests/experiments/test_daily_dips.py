"""The halvings read as ``data/halving_dips.csv`` reads daily values (``daily_dips``): the
reading gives back the file's figures from the daily data, and the model's days and blocks
are what the reading assumes."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from experiments.validation import daily_dips, halvings


@pytest.mark.parametrize("halving", halvings.HALVINGS, ids=str)
def test_the_reading_gives_back_the_files_figures_from_the_daily_values(halving):
    """An independent check of the reading and of the shared file's derived figures."""
    row = pd.read_csv(halvings.DIPS).set_index("halving").loc[halving.isoformat()]
    got = daily_dips.file_reading(daily_dips.data_daily(halving), halving)
    assert got["pre_ehs"] == pytest.approx(row.pre_ehs, abs=6e-4)
    assert got["trough_ehs"] == pytest.approx(row.min_ehs_8w, abs=6e-4)
    assert round(got["dip"] * 100, 1) == row.dip_pct
    assert round(got["trough_week"], 1) == row.weeks_to_min
    assert got["weeks_to_new_high"] == row.weeks_to_new_high


def test_the_reading_refuses_days_that_do_not_cover_its_windows():
    daily = daily_dips.data_daily(halvings.HALVINGS[2])
    with pytest.raises(ValueError, match="do not cover"):
        daily_dips.file_reading(daily.iloc[1:], halvings.HALVINGS[2])


def test_a_step_holds_over_the_days_that_end_on_its_date():
    weekly = pd.Series([1.0, 2.0, 3.0], index=[dt.date(2024, 1, 7), dt.date(2024, 1, 14), dt.date(2024, 1, 21)])
    daily = daily_dips.held_daily(weekly, 7)
    assert daily.index[0] == pd.Timestamp("2024-01-01") and daily.index[-1] == pd.Timestamp("2024-01-21")
    assert (daily["2024-01-01":"2024-01-07"] == 1.0).all()
    assert (daily["2024-01-08":"2024-01-14"] == 2.0).all() and daily["2024-01-15"] == 3.0


def test_daily_blocks_are_unbiased_with_a_day_of_blocks_spread():
    """At a difficulty set for the hashrate a day finds 144 blocks on average, so a day's
    measurement scatters by about 1/12 around the truth, and a week's mean by 1/sqrt(7) of that."""
    dates = [dt.date(2020, 1, 5) + dt.timedelta(weeks=k) for k in range(300)]
    hashrate = pd.Series(500.0, index=dates)
    difficulty = hashrate * 1e18 * 600.0 / 2**32
    measured = daily_dips.measured_daily(daily_dips.held_daily(hashrate, 7), daily_dips.held_daily(difficulty, 7),
                                          np.random.default_rng(3))
    ratio = measured.to_numpy() / 500.0
    assert len(ratio) == 300 * 7
    assert ratio.mean() == pytest.approx(1.0, abs=0.005)
    assert ratio.std() == pytest.approx(1 / np.sqrt(144), rel=0.08)


def test_a_flat_path_read_with_luck_dips_and_without_does_not():
    """The lowest of 50 rolling weeks of a noisy flat path lies below its level: the reason the
    data's dips and the model's measured ones are deeper than a smooth path's."""
    dates = [dt.date(2024, 1, 7) + dt.timedelta(weeks=k) for k in range(40)]
    hashrate = pd.Series(600.0, index=dates)
    difficulty = hashrate * 1e18 * 600.0 / 2**32
    halving = dt.date(2024, 4, 20)
    own = daily_dips.file_reading(daily_dips.held_daily(hashrate, 7), halving)
    assert own["dip"] == pytest.approx(0.0) and own["weeks_to_new_high"] is None
    rng = np.random.default_rng(0)
    held = daily_dips.held_daily(hashrate, 7), daily_dips.held_daily(difficulty, 7)
    dips = [daily_dips.file_reading(daily_dips.measured_daily(*held, rng), halving)["dip"] for _ in range(20)]
    assert all(d < 0 for d in dips) and -0.08 < np.median(dips) < -0.01


def test_luck_row_counts_the_measured_dips_as_deep_as_the_data():
    row = daily_dips.luck_row([-0.04, -0.05], [-0.02, -0.06, -0.10, -0.12], data_dip=-0.10)
    assert row["share_as_deep"] == 0.5 and row["own_dip"] == pytest.approx(-0.045)
    assert row["low"] < row["measured_dip"] < row["high"] and row["draws"] == 4


def test_the_model_read_the_files_way_dips_deeper_measured_than_its_own():
    """Where the model's low is a plateau (2016, 2024) its measured dips (block luck) lie well
    below its own: the lowest of many noisy windows; where it is one week's (2020, China's
    move) near it. The table says where the data's dip falls among them."""
    rows = halvings.table_rows(range(2)).set_index("halving")
    plateaus = [halvings.HALVINGS[0], halvings.HALVINGS[2]]
    assert (rows.loc[plateaus, "daily_measured_dip"] < rows.loc[plateaus, "daily_own_dip"] - 0.02).all()
    move = rows.loc[halvings.HALVINGS[1]]
    assert abs(move.daily_measured_dip - move.daily_own_dip) < 0.03
    rows = rows.reset_index()
    assert (rows["daily_low"] < rows["daily_measured_dip"]).all()
    assert (rows["daily_draws"] == 2 * daily_dips.LUCK_DRAWS).all()
    text = "\n".join(daily_dips.markdown(rows[["halving", "data_dip"]].join(
        rows.filter(like="daily_").rename(columns=lambda c: c.removeprefix("daily_"))), halvings.BOUND_DIP_PP))
    assert f"{rows['daily_measured_dip'].iloc[2]:+.1%}" in text and "of 3 halvings" in text
