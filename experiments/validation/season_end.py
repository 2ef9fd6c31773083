"""A dip without a halving (section 1c), from the data alone: no model run.

The data's weekly 7-day means run 26 weeks past each halving; after 2020's they reach
November, past the end of that year's wet season in Sichuan, when China's miners moved
their machines north. Measured as the halvings' dips are, anchored at every week well away
from a halving, how deep does the hashrate fall with no halving? It asks how much of the
2020 halving's dip, the one issue 14 bounds at +-5 points, the halving explains: the 2020
halving came as the wet season began, when the machines move south, while 2016's came in
mid-season and 2024's after China's ban.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from experiments.validation.backtest import halving_dip
from experiments.validation.halving_margins import mining_facts, monthly_price_usd

#: An anchor this far or farther from every halving: neither its look-ahead nor the weeks
#: before it hold a halving's own dip.
AWAY_WEEKS = 8


def anchored_dips(series: pd.Series, halvings: tuple[dt.date, ...]) -> pd.DataFrame:
    """Every week of ``series`` (weekly values by date) with two weeks before it in the
    series, as an anchor of :func:`~experiments.validation.backtest.halving_dip`: its dip,
    the date of its lowest week, and whether it lies more than :data:`AWAY_WEEKS` weeks
    from every halving. Where the series ends within eight weeks the look-ahead is shorter,
    which can only make a dip shallower."""
    dates = pd.to_datetime(pd.Series(series.index))
    rows = []
    for anchor in series.index:
        when = pd.Timestamp(anchor)
        before = ((dates >= when - pd.Timedelta(days=14)) & (dates < when)).sum()
        after = series[((dates > when) & (dates <= when + pd.Timedelta(weeks=8))).to_numpy()]
        if before < 2 or after.empty:
            continue
        dip = halving_dip(series, anchor)
        rows.append({"anchor": anchor, "pre_ehs": dip["pre_halving_ehs"], "low_ehs": dip["trough_ehs"],
                     "low_date": after.idxmin(), "dip": dip["dip"],
                     "away": all(abs((anchor - h).days) > 7 * AWAY_WEEKS for h in halvings)})
    return pd.DataFrame(rows)


def deepest_away(dips: pd.DataFrame) -> pd.Series:
    """The deepest row of :func:`anchored_dips` away from the halvings."""
    away = dips[dips.away]
    return away.loc[away.dip.idxmin()]


def reported_drop() -> tuple[float, float]:
    """Blockchain.com's hashrate estimate (EH/s) before and after the drop reported at the end
    of the 2020 wet season (``data/mining_facts.csv``, ``season_end_hashrate``, by date)."""
    facts = mining_facts()
    before, after = facts[facts.category == "season_end_hashrate"].sort_values("date").value
    return float(before), float(after)


def markdown(series: pd.Series, data_dips: pd.DataFrame) -> list[str]:
    """The paragraph: ``series`` the data's weekly 7-day means around the halvings,
    ``data_dips`` the data's halving dips (halving, dip) from the daily values."""
    halvings = tuple(data_dips.halving)
    dips = anchored_dips(series, halvings)
    deepest = deepest_away(dips)
    same = dips.set_index("anchor").dip  # the halvings' own dips on these weekly values
    daily = dict(zip(data_dips.halving, data_dips.dip))
    low = deepest.low_date
    price_before, price_at = monthly_price_usd(deepest.anchor), monthly_price_usd(low)
    nearest = max(h for h in halvings if h < deepest.anchor)  # the halving before the deepest dip
    others = [h for h in halvings if h != nearest]
    rest = dips[dips.away & dips.anchor.map(lambda a: a.year != low.year)]
    reported = reported_drop()
    return [
        f"**A dip without a halving** (the data alone; `season_end.py`). The data's weekly 7-day means run "
        f"26 weeks past each halving. Measured as the halvings' dips are, anchored at every week more than "
        f"{AWAY_WEEKS} weeks from a halving (near a window's end the look-ahead is shorter, which can only make a "
        f"dip shallower), the deepest is {deepest.dip:+.1%}: {deepest.pre_ehs:.1f} EH/s in the two weeks before "
        f"{deepest.anchor}, {deepest.low_ehs:.1f} in the week to {low}. The 2020 halving's on the same weekly "
        f"values is {same[nearest]:+.1%} ({daily[nearest]:+.1%} from the daily values); away from the halvings the "
        f"other years' windows fall no deeper than {rest.dip.min():+.1%}. No halving came, and the BTC price's "
        f"monthly mean rose from ${price_before:,.0f} to ${price_at:,.0f}: the hashrate fell as China's miners "
        "left Sichuan at the end of the 2020 wet season (Sichuan's share of China's hashrate went from 14.9% to "
        "61.1% in that season, CBECI, `data/countries.csv`; Blockchain.com's estimate fell from "
        f"{reported[0]:.1f} EH/s on 2020-10-24 to {reported[1]:.1f}, put down then to the move north, "
        "`data/mining_facts.csv`). The 2020 halving came as that "
        "season began, when the machines move south; the halvings of "
        f"{' and '.join(str(h.year) for h in others)} came in mid-season and after China's ban, and dipped "
        f"{' and '.join(f'{daily[h]:+.1%}' for h in others)}. So the 2020 "
        "dip that issue 14 bounds within 5 points mixes the halving with a move. Until 2026-12-05 the model "
        "had none (its China mined all year on one tariff with no machines in transit; the wet-season probe "
        "above gave it the season's cheaper power, not the move); since then the 2019 backtest moves China's "
        "machines at the season's turns (below).",
        "",
    ]
