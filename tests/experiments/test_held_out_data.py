"""No data file of the project holds a row of the held-out months (2021-05..2022-01) of
a mining series: network hashrate, country shares, halving windows and fees (fees per
day give blocks per day, a proxy of hashrate; the brief cuts fees too). Other tables
(the price, policy events, exchanges) are model inputs dated by what happened and are
not held out."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from data import table
from experiments.validation.backtest import HELD_OUT

DATA = table("README.md").parent
MINING_SERIES = sorted(p for p in DATA.glob("*.csv")
                       if re.match(r"(hashrate|mining|fees|halving|transaction_fees)", p.name))
MONTH = re.compile(r"(?<![0-9])((?:19|20)[0-9]{2})-([0-9]{2})(?![0-9])")


def held_out_months(text: str) -> list[str]:
    first, last = f"{HELD_OUT[0]:%Y-%m}", f"{HELD_OUT[1]:%Y-%m}"
    return [f"{y}-{m}" for y, m in MONTH.findall(text) if first <= f"{y}-{m}" < last]


def test_the_mining_series_are_found():
    names = {p.name for p in MINING_SERIES}
    assert {"hashrate_history.csv", "fees.csv", "mining_shares_2019_2020.csv"} <= names


@pytest.mark.parametrize("path", MINING_SERIES, ids=lambda p: p.name)
def test_no_mining_series_holds_a_held_out_month(path: Path):
    frame = pd.read_csv(path, dtype=str)
    dated = [c for c in ("date", "period", "halving") if c in frame]
    assert dated, f"{path.name}: no date or period column"
    for column in dated:
        hits = [v for v in frame[column].dropna() if held_out_months(v)]
        assert hits == [], f"{path.name} holds held-out months in '{column}': {hits}"


def test_the_check_catches_a_held_out_month():
    assert held_out_months("2021-06") == ["2021-06"]
    assert held_out_months("2021-04..2022-02") == []
    assert held_out_months("2022-01-15") == ["2022-01"]
    assert held_out_months("2021-2022") == []  # a span of years, not a month
