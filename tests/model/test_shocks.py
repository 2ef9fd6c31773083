"""Dated shocks as documented in docs/SCENARIOS.md, section 8 and "Time"."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from conftest import MIN_HOUSEHOLDS, series, write_scenario

from model import ScenarioError, build_model
from model.recorder import WORLD


def test_a_shock_dated_on_the_start_day_acts_before_anything_is_recorded():
    m = build_model(households=MIN_HOUSEHOLDS, overrides={"shocks.pak_vao.date": dt.date(2025, 1, 1)})
    ts = m.timeseries()
    assert series(ts, "PAK", "stance").iloc[0] == 3
    ev = m.events_frame()
    vao = ev[ev["cause"].str.contains("pak_vao")]
    assert list(vao["date"]) == [dt.date(2025, 1, 1)]


def test_a_shock_takes_effect_at_the_first_step_on_or_after_its_date():
    for day in (dt.date(2025, 3, 5), dt.date(2025, 3, 6), dt.date(2025, 3, 12)):  # 03-05, 03-12 are step dates
        m = build_model(households=MIN_HOUSEHOLDS, overrides={"shocks.pak_vao.date": day,
                                                              "countries.PAK.stance_dynamics": "fixed"})
        m.run(until=dt.date(2025, 4, 1))
        stance = series(m.timeseries(), "PAK", "stance")
        first = stance[stance == 3].index.min()
        assert first == min(d for d in m.dates if d >= day)


def test_a_shock_after_the_last_step_is_rejected_and_one_on_it_fires():
    last = build_model(households=MIN_HOUSEHOLDS).dates[-1]
    assert last < dt.date(2030, 12, 31)  # the last step falls a few days before run.end
    with pytest.raises(ScenarioError, match=r"shocks\.pak_vao\.date"):
        build_model(households=MIN_HOUSEHOLDS, overrides={"shocks.pak_vao.date": last + dt.timedelta(days=1)})
    m = build_model(households=MIN_HOUSEHOLDS, overrides={"shocks.pak_vao.date": last,
                                                          "countries.PAK.stance_dynamics": "fixed"})
    m.run()
    ev = m.events_frame()
    assert list(ev[ev["cause"].str.contains("pak_vao")]["date"]) == [last]
    assert m.countries["PAK"].stance == 3


def test_shocks_in_the_same_step_apply_in_file_order(tmp_path):
    path = write_scenario(tmp_path, """
[shocks.first]
date = 2025-03-05
country = "BGD"
kind = "stance_change"
to = 4

[shocks.second]
date = 2025-03-04
country = "BGD"
kind = "stance_change"
to = 2
""")
    m = build_model(str(path), households=MIN_HOUSEHOLDS, overrides={"countries.BGD.stance_dynamics": "fixed"})
    m.run(until=dt.date(2025, 3, 10))
    assert m.countries["BGD"].stance == 2
    ev = m.events_frame()
    bgd = ev[(ev["country"] == "BGD") & (ev["kind"] == "stance")]
    assert list(bgd["to"]) == ["4", "2"]
    assert list(bgd["from"]) == ["0", "4"]


def test_price_shock_scales_the_path_from_its_step_on(tmp_path):
    path = write_scenario(tmp_path, """
[shocks.crash]
date = 2025-06-04
country = "USA"
kind = "price_shock"
factor = 0.5
""")
    until = dt.date(2026, 6, 1)
    shocked = build_model(str(path), seed=5, households=MIN_HOUSEHOLDS).run(until=until)
    plain = build_model(seed=5, households=MIN_HOUSEHOLDS).run(until=until)
    a = series(shocked.timeseries(), WORLD, "btc_price_usd")
    b = series(plain.timeseries(), WORLD, "btc_price_usd")
    before = a.index < dt.date(2025, 6, 4)
    np.testing.assert_allclose(a[before], b[before])
    np.testing.assert_allclose(a[~before], 0.5 * b[~before])
    ev = shocked.events_frame()
    assert (ev["kind"] == "price_shock").sum() == 1


def test_temporary_mining_ban_drives_miners_underground_then_legalises_them(tmp_path):
    path = write_scenario(tmp_path, """
[shocks.kaz_ban]
date = 2025-03-05
country = "KAZ"
kind = "mining_ban"
until = 2025-09-03
""")
    m = build_model(str(path), households=MIN_HOUSEHOLDS).run(until=dt.date(2026, 1, 1))
    ts, cfg = m.timeseries(), m.config.mining
    hr, ug = series(ts, "KAZ", "hashrate_ehs"), series(ts, "KAZ", "underground_hashrate_ehs")
    during = (hr.index >= dt.date(2025, 3, 5)) & (hr.index < dt.date(2025, 9, 3))
    np.testing.assert_allclose(hr[during], ug[during])
    assert (ug[during] > 0).all()
    assert (ug[hr.index < dt.date(2025, 3, 5)] == 0).all()
    assert (ug[hr.index >= dt.date(2025, 9, 3)] == 0).all()
    assert hr[hr.index >= dt.date(2025, 9, 3)].iloc[0] > 0
    # The underground share of the fleet at the ban is underground_share of it.
    pre = hr[hr.index < dt.date(2025, 3, 5)].iloc[-1]
    assert ug[during].iloc[0] == pytest.approx(cfg.underground_share * pre, rel=0.05)
    kinds = list(m.events_frame().query("country == 'KAZ'")["kind"])
    assert kinds.index("mining_ban") < kinds.index("miners_banned") < kinds.index("mining_ban_end")


def test_energy_allocation_caps_an_uncapped_country(tmp_path):
    path = write_scenario(tmp_path, """
[shocks.usa_cap]
date = 2025-03-05
country = "USA"
kind = "energy_allocation"
mw = 1000
tariff_usd_per_kwh = 0.05
""")
    m = build_model(str(path), households=MIN_HOUSEHOLDS).run(until=dt.date(2025, 6, 1))
    ts = m.timeseries()
    allowed = series(ts, "USA", "mining_power_allowed_mw")
    assert allowed.index.min() >= dt.date(2025, 3, 5)
    assert (allowed == 1000).all()
    power = series(ts, "USA", "mining_power_mw")
    assert power[power.index < dt.date(2025, 3, 5)].min() > 1000  # so the cap binds
    assert (power[allowed.index] <= 1000 + 1e-6).all()
    assert m.countries["USA"].mining_tariff_usd_per_kwh == 0.05


def test_reserve_purchase_adds_to_the_reserve(tmp_path):
    m = build_model(households=MIN_HOUSEHOLDS, overrides={"shocks.pak_reserve.btc": 1234.0})
    m.run(until=dt.date(2025, 7, 1))
    reserve = series(m.timeseries(), "PAK", "reserve_btc")
    assert reserve.iloc[0] == 0 and reserve.iloc[-1] == pytest.approx(1234.0)
    usd = series(m.timeseries(), "PAK", "reserve_usd")
    price = series(m.timeseries(), WORLD, "btc_price_usd")
    np.testing.assert_allclose(usd, reserve * price)


def test_a_short_mining_ban_still_ends(tmp_path):
    # Steps fall on 2025-03-05 and 2025-03-12: the ban starts at the 03-12 step, and its
    # end date is that same step, so by the docs it ends there (or at the latest at the
    # next step) rather than never.
    path = write_scenario(tmp_path, """
[shocks.kaz_short_ban]
date = 2025-03-06
country = "KAZ"
kind = "mining_ban"
until = 2025-03-12
""")
    m = build_model(str(path), households=MIN_HOUSEHOLDS).run(until=dt.date(2025, 6, 1))
    kinds = list(m.events_frame().query("country == 'KAZ'")["kind"])
    assert "mining_ban" in kinds
    assert "mining_ban_end" in kinds
    assert not m.countries["KAZ"].mining_banned
