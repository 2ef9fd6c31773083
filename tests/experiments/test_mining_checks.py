"""Issue 14's checks at a glance (experiments/validation/mining_checks.py): each check is
judged against its own bound, on made-up results where the answer is known."""

import datetime as dt

import pandas as pd

from experiments.validation import country_shares, mining_checks
from experiments.validation.country_shares import ShareReport


def made_up(usa_model: float = 31.0, kaz_model: float = 4.9, flat_moves=(("ROW", 12.0, False), ("PAK", 30.0, True))):
    points = pd.DataFrame({
        "country": ["USA", "KAZ", "USA", "BRA"],
        "start": pd.to_datetime(["2025-04-01", "2025-04-01", "2023-11-01", "2025-04-01"]),
        "share_pct": [35.8, 2.5, 40.0, 1.0],
        "model_pct": [usa_model, kaz_model, 41.0, 9.0],
        "bound": ["2025Q2", "2025Q2", "2023-11", "2025Q2"],  # BRA has no bound: not a check
    })
    flat = pd.DataFrame([{"country": c, "start_pct": 10.0, "end_pct": 10.0 + m, "move_pp": m, "shocked": s}
                         for c, m, s in flat_moves])
    halving_rows = pd.DataFrame({
        "halving": [dt.date(2016, 7, 9), dt.date(2024, 4, 20)], "data_dip": [-0.115, -0.111],
        "model_dip": [-0.074, -0.038], "dip_ok": [True, False], "data_weeks": [4.0, 5.0],
        "model_weeks": [8.0, None], "recovery_ok": [True, False]})
    history = pd.DataFrame({"dip": [-0.115, -0.242, -0.111]})
    return ShareReport(points, pd.DataFrame(), flat), halving_rows, history


def verdicts(checks: pd.DataFrame) -> dict[str, bool]:
    return dict(zip(checks.check, checks.holds))


def test_each_check_holds_or_misses_by_its_own_bound():
    shares, halving_rows, history = made_up()
    checks = mining_checks.rows({"fit": 0.144, "test": 0.119}, shares, halving_rows, -0.434, history)
    v = verdicts(checks)
    assert v["Network log-RMSE, fit window (2019-2024)"] and not v["Network log-RMSE, test window (2025)"]
    assert v["USA share, 2025-04-01"] and v["KAZ share, 2025-04-01"] and v["USA share, 2023-11-01"]
    assert not any(c.startswith("BRA") for c in v)
    assert v["2016 halving, dip"] and not v["2024 halving, dip"] and not v["2024 halving, recovery"]
    assert not v["2028 halving, dip of the baseline under a flat price"]
    flat = checks[checks.check.str.startswith("Baseline under a flat price")].iloc[0]
    assert flat.holds and flat.model == "+12.0 points (ROW)"  # PAK moves more, but under a dated shock

    shares, halving_rows, history = made_up(usa_model=30.7, kaz_model=5.1, flat_moves=(("CAN", -15.5, False),))
    v = verdicts(mining_checks.rows({"fit": 0.170, "test": 0.100}, shares, halving_rows, -0.20, history))
    assert not v["USA share, 2025-04-01"] and not v["KAZ share, 2025-04-01"]  # 5.1 points off; 2.04 times
    assert not v["Network log-RMSE, fit window (2019-2024)"] and v["Network log-RMSE, test window (2025)"]
    assert v["2028 halving, dip of the baseline under a flat price"]
    assert not v["Baseline under a flat price: largest five-year move of a country without a dated shock"]


def test_the_table_counts_what_holds_and_marks_each_miss():
    shares, halving_rows, history = made_up()
    checks = mining_checks.rows({"fit": 0.144, "test": 0.119}, shares, halving_rows, -0.434, history)
    text = "\n".join(mining_checks.markdown(checks))
    assert f"{int(checks.holds.sum())} of {len(checks)} hold" in text
    assert text.count("| **no** |") == int((~checks.holds).sum()) == 4


def test_the_shares_misses_and_the_glance_read_the_same_bounds():
    shares, _, _ = made_up(usa_model=30.7, kaz_model=5.1)
    missed = country_shares.misses(shares)
    assert [m.split(" ")[0] for m in missed] == ["USA", "KAZ"]
    assert "-5.1 points (bound 5)" in missed[0] and "2.04x (bound a factor of 2)" in missed[1]
