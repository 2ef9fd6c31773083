"""What a halving leaves paying, from the data alone (experiments/validation/halving_margins.py):
its arithmetic against a published hashprice, and the statements VALIDATION 1c makes of it."""

import math
import re

import pandas as pd
import pytest

from data import table
from experiments.validation import halving_margins as hm


@pytest.fixture(scope="module")
def rows():
    return hm.rows()


def facts_j_per_th(date: str) -> float:
    facts = pd.read_csv(table("mining_facts.csv"))
    return float(facts.loc[(facts.category == "asic_efficiency") & (facts.date == date), "value"].iloc[0])


def test_the_hashprice_reproduces_the_one_luxor_published():
    """Late 2025 (data/hashrate_history.csv's last note): the same formula at that month's
    price and fees and the note's hashrate comes within 10% of Luxor's figure."""
    last = pd.read_csv(table("hashrate_history.csv")).iloc[-1]
    published = float(re.search(r"hashprice[^$]*\$([\d.]+)/PH/day", last.note).group(1))
    month = last.date[:7]
    price = pd.read_csv(table("btc_usd_monthly.csv")).set_index("month").mean_usd[month]
    fees = pd.read_csv(table("fees.csv")).set_index("period").fees_btc_per_day[month]
    ours = hm.hashprice(hm.subsidy_btc(month), fees, price, float(last.hashrate_ehs))
    assert abs(math.log(ours / published)) < 0.1


def test_a_halving_halves_the_subsidy_not_the_fees(rows):
    assert (rows.after < rows.before).all() and (rows.after > rows.before / 2).all()


def test_2020s_line_falls_between_the_s17_pro_and_the_s9(rows):
    """The reading section 1c states: after the 2020 halving the S17 Pro still paid its power, the S9 did not."""
    line = rows.set_index("month").loc["2020-04", "pays_after"]
    assert facts_j_per_th("2019-04") < line < facts_j_per_th("2016-06")


def test_2024s_line_lies_above_the_surveyed_fleet_and_2028s_below_it(rows):
    fleet = hm.fleet_j_per_th()
    by_year = rows.set_index(rows.halving.map(lambda d: d.year))
    assert by_year.loc[2024, "pays_after"] > fleet
    assert by_year.loc[2028, "pays_at_deepest"] < fleet
    assert by_year.loc[2028, "pays_after"] < by_year.loc[2028, "pays_at_deepest"]


def test_the_flagship_breaks_even_at_the_break_even_price(monkeypatch):
    """Priced at :func:`breakeven_usd_per_w`, the flagship's return over its life is zero; the
    paragraph's two numbers (its return and that price) agree in sign with each other."""
    cfg = hm.mining_config()
    price = hm.breakeven_usd_per_w()
    assert (hm.flagship_return_2026() < 0) == (price < cfg.machine_price_usd_per_w)
    monkeypatch.setattr(hm, "mining_config", lambda: cfg.model_copy(update={"machine_price_usd_per_w": price}))
    assert hm.flagship_return_2026() == pytest.approx(0.0, abs=1e-9)


def test_the_paragraph_states_the_computed_numbers(rows):
    text = " ".join(hm.markdown(2000.0))
    flat = rows.iloc[-1]
    assert f"${flat.before:.1f} to ${flat.after:.1f}/PH/day" in text
    assert f"{flat.pays_at_deepest:.1f} J/TH or better" in text
    assert "holds 2,000 EH/s before the halving" in text


@pytest.mark.parametrize("date, month", [("2019-04", "2019-04"), ("2022-Q3", "2022-09"), ("2023", "2023-12"),
                                         ("2021-2022", None), ("2024-25", None)])
def test_a_release_counts_from_the_latest_month_its_date_allows(date, month):
    assert hm.release_month(date) == month


def test_a_halving_month_averages_the_subsidy_over_its_days():
    assert hm.subsidy_btc("2020-04") == 12.5 and hm.subsidy_btc("2020-06") == 6.25
    assert hm.subsidy_btc("2020-05") == pytest.approx((10 * 12.5 + 21 * 6.25) / 31)


@pytest.fixture(scope="module")
def returns():
    return hm.flagship_returns()


def test_the_monthly_returns_leave_the_held_out_months_out(returns):
    assert not returns.month.between("2021-05", "2022-01").any()
    assert returns.month.is_monotonic_increasing and returns.month.iloc[0] == hm.FIRST_MONTH


def test_the_monthly_hashprice_comes_near_luxors_record_low_of_july_2024(returns):
    """Luxor's index on its record low day (data/mining_facts.csv) against the month's mean: a
    day's low lies below its month's mean, within 15% here."""
    facts = pd.read_csv(table("mining_facts.csv"))
    luxor = facts[(facts.category == "hashprice") & (facts.date == "2024-07-04")].iloc[0]
    month = returns.set_index("month").loc[luxor.date[:7], "hashprice"]
    assert float(luxor.value) < month < float(luxor.value) * 1.15


def test_the_best_machine_on_sale_never_gets_worse(returns):
    assert returns.j_per_th.is_monotonic_decreasing


def test_the_returns_paragraph_names_every_month_below_zero(returns):
    text = " ".join(hm.returns_markdown(-0.9))
    below = returns[returns["return"] < 0]
    assert all(m in text for m in below.month)
    assert f"{len(returns) - len(below)} of the {len(returns)} months" in text
