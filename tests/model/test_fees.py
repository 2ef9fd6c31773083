"""Fees by month (model.market.fee_path): the table's months, the gaps between them, and
bad tables refused with the file, the field and the value."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from model.errors import ScenarioError
from model.market import fee_path
from model.scenario import load_scenario

HEADER = "period,fees_btc_per_block,fees_btc_per_day,source\n"


@pytest.fixture(scope="module")
def market():
    return load_scenario("backtest_hashrate_2019").config.market


def weekly(start: dt.date, weeks: int) -> list[dt.date]:
    return [start + dt.timedelta(weeks=k) for k in range(weeks)]


def test_months_gaps_and_the_constant_outside(tmp_path, market):
    csv = tmp_path / "fees.csv"
    csv.write_text(HEADER + "2020-01,0.1,,a\n2020-02,,28.8,b\n2020-04,0.4,,c\n2020,9.9,,a whole year\n")
    dates = [dt.date(2019, 12, 15), dt.date(2020, 1, 10), dt.date(2020, 2, 10), dt.date(2020, 3, 10),
             dt.date(2020, 4, 10), dt.date(2020, 5, 10)]
    fees = fee_path(market, dates, csv)
    # per block where given; per day over blocks per day where not
    assert fees[1] == pytest.approx(0.1) and fees[2] == pytest.approx(28.8 / market.blocks_per_day)
    # the missing March lies between February and April on a log scale
    assert fees[3] == pytest.approx(np.sqrt(fees[2] * 0.4))
    # before and after the table: the scenario's constant (the yearly row is ignored)
    assert fees[0] == fees[5] == market.fees_btc_per_block
    assert fee_path(market, dates, None).tolist() == [market.fees_btc_per_block] * len(dates)


@pytest.mark.parametrize("body, message", [
    ("2020-01,-0.1,,a\n", "month 2020-01: fees must be positive"),
    ("2020-01,nan,,a\n", "month 2020-01: fees must be positive"),
    ("2020-01,0.1,,a\n2020-01,0.2,,b\n", "a month appears twice"),
    ("2020,0.1,,a year only\n", "no month"),
])
def test_bad_tables_are_refused_naming_the_field(tmp_path, market, body, message):
    csv = tmp_path / "fees.csv"
    csv.write_text(HEADER + body)
    with pytest.raises(ScenarioError) as err:
        fee_path(market, weekly(dt.date(2020, 1, 1), 3), csv)
    assert "market.fees_csv" in str(err.value) and message in str(err.value) and str(csv) in str(err.value)


def test_missing_columns_are_refused(tmp_path, market):
    csv = tmp_path / "fees.csv"
    csv.write_text("month,fees\n2020-01,0.1\n")
    with pytest.raises(ScenarioError, match="needs columns"):
        fee_path(market, weekly(dt.date(2020, 1, 1), 3), csv)


def test_the_backtest_pays_each_months_fees():
    """The 2019 backtest reads data/fees.csv: the fees of a month with data are in the run."""
    from model.model import CryptoAdoptionModel
    m = CryptoAdoptionModel(config=load_scenario("backtest_hashrate_2019"), seed=0)
    fees = dict(zip(m.dates, m.market.fees))
    assert fees[dt.date(2019, 1, 2)] == pytest.approx(0.140687)   # 2019-01, Coin Metrics
    assert fees[dt.date(2025, 12, 3)] == pytest.approx(0.019193)  # 2025-12, Bitcoin Core
    assert max(fees.values()) / min(fees.values()) > 20  # not a constant
