"""State reserves: one-off and recurring purchases, their USD value, and bad input refused."""

from __future__ import annotations

import datetime as dt

import pytest

from model.errors import ScenarioError
from model.model import build_model


def _reserve(model, code: str) -> float:
    return model.countries[code].reserve_btc


def test_el_salvador_buys_at_its_2025_pace():
    """From ~6,049 BTC in January 2025, one a day brings El Salvador to ~6,240 by July (the data's figure)."""
    m = build_model("south_asia_2025", seed=0, households=1800)
    m.run(until=dt.date(2025, 7, 16))
    assert 6200 < _reserve(m, "SLV") < 6280
    ts = m.recorder.timeseries()
    slv = ts[(ts.country == "SLV") & (ts.metric == "reserve_usd")].sort_values("step")
    price = ts[(ts.country == "WORLD") & (ts.metric == "btc_price_usd")].sort_values("step")
    assert slv.value.iloc[-1] == pytest.approx(_reserve(m, "SLV") * price.value.iloc[-1])


def test_a_programme_stops_at_its_date_and_logs_the_end():
    m = build_model("south_asia_2025", seed=0, households=1800,
                    overrides={"shocks.slv_purchases.until": "2025-03-01"})
    m.run(until=dt.date(2025, 6, 1))
    held = _reserve(m, "SLV")
    assert 6049 + 6 * 7.3 < held < 6049 + 8 * 7.3
    m.run(until=dt.date(2025, 9, 1))
    assert _reserve(m, "SLV") == held
    assert any(e["kind"] == "reserve_programme_end" and e["country"] == "SLV" for e in m.events)


def test_switching_the_purchases_off_keeps_the_holdings_flat():
    m = build_model("south_asia_2025", seed=0, households=1800, overrides={"shocks.slv_purchases.enabled": False})
    m.run(until=dt.date(2025, 12, 31))
    assert _reserve(m, "SLV") == 6049


@pytest.mark.parametrize("override, field", [
    ({"shocks.slv_purchases.btc_per_week": -1}, "btc_per_week"),
    ({"shocks.slv_purchases.until": "2024-12-01"}, "until"),
    ({"shocks.slv_purchases.btc_per_week": 0, "shocks.slv_purchases.until": "2026-01-01"}, "until"),
])
def test_bad_purchase_programmes_are_refused(override, field):
    with pytest.raises(ScenarioError) as err:
        build_model("south_asia_2025", seed=0, households=1800, overrides=override)
    assert f"shocks.slv_purchases.{field}" in str(err.value)
