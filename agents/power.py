"""The power market: miners and AI data centres bid for a country's allocation.

The power a country can give to mining and AI in a week is its allocation
(``mining_allowance_mw``; none means uncapped), further limited by its seasonal surplus
when the scenario gives one: the surplus swings between ``power_surplus_winter_mw`` (in
``winter_peak_month``) and ``power_surplus_summer_mw`` six months later, on a cosine. When
it falls below what is wanted, the lowest bidders are curtailed first. Bidders are served
in order of willingness to pay (USD/MWh): AI data centres at their stated price, miners
at what a MWh earns them at the current hashprice.
"""

from __future__ import annotations

import datetime as dt
import math

from model.units import HOURS_PER_DAY, TH_PER_PH, W_PER_MW


def seasonal_surplus_mw(date: dt.date, winter_mw: float | None, summer_mw: float | None,
                        winter_peak_month: int = 1) -> float | None:
    """Surplus power available on ``date``, MW (None when the scenario gives no season)::

        surplus = summer + (winter - summer) x (1 + cos(2 pi (m - (winter_peak_month - 1)) / 12)) / 2
        m       = month - 1 + (day - 1) / 31
    """
    if winter_mw is None or summer_mw is None:
        return None
    month = date.month - 1 + (date.day - 1) / 31.0
    phase = 2.0 * math.pi * (month - (winter_peak_month - 1)) / 12.0
    return summer_mw + (winter_mw - summer_mw) * (1.0 + math.cos(phase)) / 2.0


def power_cap_mw(allowance_mw: float | None, surplus_mw: float | None) -> float | None:
    """Power for mining and AI this week: the allocation, no more than the surplus; either
    alone when the other is None; None (uncapped) when both are."""
    if allowance_mw is None:
        return surplus_mw
    return allowance_mw if surplus_mw is None else min(allowance_mw, surplus_mw)


def merit_order(cap_mw: float | None, bids: list[tuple[str, float, float]]) -> dict[str, float]:
    """MW served to each bidder: highest willingness to pay first, until the cap.

    ``bids`` are (name, MW wanted, USD/MWh); ties keep the given order. No cap serves all.
    """
    if cap_mw is None:
        return {name: wanted for name, wanted, _ in bids}
    left = cap_mw
    served = {}
    for name, wanted, _ in sorted(bids, key=lambda b: -b[2]):
        served[name] = max(0.0, min(wanted, left))
        left -= served[name]
    return served


def mining_bid_usd_per_mwh(hashprice_usd_per_ph_day: float, efficiency_j_per_th: float, pue: float) -> float:
    """The most a miner can pay for a MWh this week: revenue per TH-day over the MWh a TH-day
    uses, ``(H / 1000) / (e x pue x 24 / 1e6)`` USD/MWh at hashprice ``H`` (USD/PH/day) and
    efficiency ``e`` (J/TH). The other cash costs are paid whether the machine runs or not,
    so they do not lower the bid (as for running, :func:`model.mining_costs.running_cost_usd_per_th_day`)."""
    mwh_per_th_day = efficiency_j_per_th * pue * HOURS_PER_DAY / W_PER_MW
    return hashprice_usd_per_ph_day / TH_PER_PH / mwh_per_th_day
