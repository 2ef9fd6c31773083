"""What a halving leaves paying, and what new machines earned, from the data alone (section
1c): no model run.

For the halvings of 2020 and 2024, and for 2028 at the flat price issue 14's check holds
(the 2025-12 price), the hashprice before the subsidy halves and just after (at the
difficulty of before), from the data's monthly BTC price and fees of the month before the
halving and the hashrate before it; then the least efficient machine whose power bill the
hashprice after still pays, at the miners' surveyed median tariff (CCAF 2024) and the
scenarios' PUE. It asks whether issue 14's 2028 criterion (a flat-price dip inside the
historical range) is one the data's 2025 hashprice allows, whatever the model.

And month by month since 2019 (:func:`flagship_returns`), what the best machine on sale
would have returned on its capital over its life at that month's hashprice, on the model's
own formula: how often history shows new machines that did not pay, which is what tells the
return at which miners stop ordering (the model's hurdle).
"""

from __future__ import annotations

import datetime as dt
from functools import cache

import numpy as np
import pandas as pd

from data import table
from experiments.validation.backtest import BASELINE, HELD_OUT, SCENARIO, s9_share_pct
from model.mining_costs import capital_usd_per_th, cash_cost_usd_per_th_day, energy_cost_usd_per_th_day
from model.scenario import load_scenario
from model.units import DAYS_PER_YEAR, PH_PER_EH, TH_PER_PH

#: The past halvings compared (their hashrate before: data/halving_dips.csv).
HALVINGS = (dt.date(2020, 5, 11), dt.date(2024, 4, 20))
FLAT_MONTH = "2025-12"  # the flat price of issue 14's 2028 check: this month's mean
BUY_2026 = dt.date(2026, 1, 1)  # a flagship bought as the flat price begins
FIRST_MONTH = "2019-04"  # the 2019 backtest's months, from the first machine released in them (the S17 Pro)


@cache
def _baseline():
    return load_scenario(BASELINE).config


def mining_config():
    """The baseline's mining parameters (PUE, machine price, site cost, life: sourced or
    assumed in the scenario files)."""
    return _baseline().mining


def halving_2028() -> dt.date:
    """The baseline's last halving, as its scenario dates it."""
    return max(h.date for h in _baseline().market.halvings.values())


@cache
def mining_facts() -> pd.DataFrame:
    """The data's mining facts (``data/mining_facts.csv``), read once."""
    return pd.read_csv(table("mining_facts.csv"))


@cache
def _prices() -> pd.Series:
    """The data's monthly mean BTC price, by month."""
    return pd.read_csv(table("btc_usd_monthly.csv")).set_index("month").mean_usd


def monthly_price_usd(day: dt.date) -> float:
    """The data's mean BTC price in the month of ``day``, USD."""
    return float(_prices()[_month(day)])


@cache
def _fees() -> pd.Series:
    """The data's fees, BTC per day, by month (the yearly rows left out)."""
    fees = pd.read_csv(table("fees.csv"))
    return fees[fees.period.str.fullmatch(r"\d{4}-\d{2}")].set_index("period").fees_btc_per_day


@cache
def _history() -> pd.DataFrame:
    return pd.read_csv(table("hashrate_history.csv"))


def _fact(category: str, unit: str, date: str | None = None) -> float:
    facts = mining_facts()
    rows = facts[(facts.category == category) & (facts.unit == unit)]
    if date is not None:
        rows = rows[rows.date == date]
    return float(rows.value.iloc[0])


def median_tariff_usd_per_kwh() -> float:
    """CCAF's median delivered electricity price of surveyed miners, 2024 (USD/MWh in the data)."""
    return _fact("cost", "USD/MWh", "2024") / 1000.0


def fleet_j_per_th() -> float:
    """CCAF's surveyed-fleet average, 2024."""
    return _fact("fleet_efficiency", "J/TH", "2024")


def flagship_j_per_th() -> float:
    """The best machine in the data's efficiency table (the S21 XP)."""
    facts = mining_facts()
    return float(facts.loc[facts.category == "asic_efficiency", "value"].min())


def hashprice(subsidy_btc: float, fees_btc_per_day: float, price_usd: float, ehs: float) -> float:
    """USD per PH/s per day: the day's reward in USD over the hashrate."""
    return (subsidy_btc * _baseline().market.blocks_per_day + fees_btc_per_day) * price_usd / (ehs * PH_PER_EH)


def _month(date: dt.date) -> str:
    return f"{date.year:04d}-{date.month:02d}"


def _month_before(date: dt.date) -> str:
    return _month(date.replace(day=1) - dt.timedelta(days=1))


def rows() -> pd.DataFrame:
    """One row a halving: the month whose price and fees it uses, the hashrate, the
    hashprice before and after, and the J/TH whose power bill the hashprice after pays at the
    median tariff (``pays_after``) and once the deepest historical dip has gone and the
    difficulty followed (``pays_at_deepest``: the hashprice after over one plus that dip)."""
    prices, fees = _prices(), _fees()
    dips = pd.read_csv(table("halving_dips.csv"))
    deepest = float(dips.dip_pct.min()) / 100.0
    pue = mining_config().pue
    per_j = float(energy_cost_usd_per_th_day(1.0, pue, median_tariff_usd_per_kwh())) * TH_PER_PH  # USD/PH/day per J/TH
    cases = [(h, float(dips.loc[dips.halving == str(h), "pre_ehs"].iloc[0]), _month_before(h)) for h in HALVINGS]
    cases.append((halving_2028(), float(_history().hashrate_ehs.iloc[-1]), FLAT_MONTH))
    out = []
    for halving, ehs, month in cases:
        subsidy = subsidy_on(halving - dt.timedelta(days=1))
        before = hashprice(subsidy, fees[month], prices[month], ehs)
        after = hashprice(subsidy / 2, fees[month], prices[month], ehs)
        out.append({"halving": halving, "month": month, "ehs": ehs, "before": before, "after": after,
                    "pays_after": after / per_j, "pays_at_deepest": after / (1 + deepest) / per_j})
    return pd.DataFrame(out)


def flagship_earnings_2026() -> tuple[float, float]:
    """USD per TH/s that the flagship bought on :data:`BUY_2026` earns over the scenarios'
    machine life at the flat-price hashprice (:func:`rows`' 2028 row, halved after the
    halving at the same hashrate) less its cash cost at the median tariff, on the model's own
    formula (:func:`~agents.miner.attractiveness`), and its capital (price and site,
    :func:`~model.mining_costs.capital_usd_per_th`)."""
    cfg = mining_config()
    flat = rows().iloc[-1]
    e = flagship_j_per_th()
    cost = float(cash_cost_usd_per_th_day(e, cfg, median_tariff_usd_per_kwh()))
    life_days = cfg.machine_life_years * DAYS_PER_YEAR
    before_days = min((halving_2028() - BUY_2026).days, life_days)
    earned = ((flat.before / TH_PER_PH - cost) * before_days
              + (flat.after / TH_PER_PH - cost) * (life_days - before_days))
    return earned, capital_usd_per_th(e, cfg)


def flagship_return_2026() -> float:
    """The flagship's return on its capital over its life (:func:`flagship_earnings_2026`)."""
    earned, capital = flagship_earnings_2026()
    return earned / capital - 1.0


def breakeven_usd_per_w() -> float:
    """The machine price per W at which the flagship only pays back its capital over its life:
    what it earns less its site, over its J/TH."""
    earned, capital = flagship_earnings_2026()
    cfg = mining_config()
    site = capital - capital_usd_per_th(flagship_j_per_th(), cfg, site=False)
    return (earned - site) / flagship_j_per_th()


def release_month(date: str) -> str | None:
    """The month from which a machine of the data's efficiency table counts as on sale, read
    late where the table gives less than a month (a quarter: its last month; a year: its
    December), so the best machine on sale is never better than the data say; None for a
    span of years."""
    year, _, rest = date.partition("-")
    if not rest:
        return f"{year}-12"
    if rest.startswith("Q"):
        return f"{year}-{3 * int(rest[1]):02d}"
    return date if len(rest) == 2 and rest.isdigit() and int(rest) <= 12 else None


def subsidy_on(day: dt.date) -> float:
    """The block subsidy on ``day``, from the dated halvings of data/mining_facts.csv."""
    facts = mining_facts()
    rows = facts[(facts.category == "block_subsidy") & facts.date.str.fullmatch(r"\d{4}-\d{2}-\d{2}")]
    halvings = sorted((dt.date.fromisoformat(d), float(v)) for d, v in zip(rows.date, rows.value))
    return next((v for d, v in reversed(halvings) if d <= day), halvings[0][1] * 2)


def subsidy_btc(month: str) -> float:
    """The block subsidy averaged over a month's days (a halving month counts each side's days)."""
    first = dt.date.fromisoformat(f"{month}-01")
    days = [first + dt.timedelta(days=k) for k in range(31) if (first + dt.timedelta(days=k)).month == first.month]
    return float(np.mean([subsidy_on(day) for day in days]))


def flagship_returns() -> pd.DataFrame:
    """Month by month from :data:`FIRST_MONTH`: the hashrate (the data's points interpolated in
    logs to the 15th), the hashprice at the month's mean price and fees, the best machine on
    sale (:func:`release_month`), its cash cost at the median tariff and its capital, and its
    return over the scenarios' machine life at that hashprice held (the model's rule for
    orders, :func:`~agents.miner.attractiveness`, at its mid-site). Months without fees in the
    data and the held-out months are left out."""
    cfg = mining_config()
    tariff = median_tariff_usd_per_kwh()
    prices, fees, history = _prices(), _fees(), _history()
    days = pd.to_datetime(history.date).map(pd.Timestamp.toordinal).to_numpy()
    log_ehs = np.log(history.hashrate_ehs.to_numpy())
    facts = mining_facts()
    machines = sorted((month, float(row.value)) for row in facts[facts.category == "asic_efficiency"].itertuples()
                      if (month := release_month(str(row.date))) is not None)
    held_out = (_month(HELD_OUT[0]), _month(HELD_OUT[1] - dt.timedelta(days=1)))
    out = []
    for month in fees.index:
        if month < FIRST_MONTH or held_out[0] <= month <= held_out[1] or month not in prices.index:
            continue
        day = dt.date.fromisoformat(f"{month}-15").toordinal()
        ehs = float(np.exp(np.interp(day, days, log_ehs)))
        e = min(j for m, j in machines if m <= month)
        h = hashprice(subsidy_btc(month), fees[month], prices[month], ehs)
        cost = float(cash_cost_usd_per_th_day(e, cfg, tariff))
        capital = capital_usd_per_th(e, cfg)
        out.append({"month": month, "ehs": ehs, "j_per_th": e, "hashprice": h, "cash_cost": cost * TH_PER_PH,
                    "capital": capital,
                    "return": (h / TH_PER_PH - cost) * DAYS_PER_YEAR * cfg.machine_life_years / capital - 1.0})
    return pd.DataFrame(out)


def markdown(model_pre_ehs: float | None = None) -> list[str]:
    """The paragraph of section 1c; ``model_pre_ehs``, the model's flat-price hashrate before
    the 2028 halving, adds the hashprice it implies at the same price and fees."""
    r = rows()
    dips = pd.read_csv(table("halving_dips.csv")).set_index("halving").dip_pct
    deepest = float(dips.min())
    tariff = median_tariff_usd_per_kwh()
    past = "; ".join(f"{row.halving.year} (price and fees of {row.month}, {row.ehs:,.0f} EH/s): ${row.before:.0f} -> "
                     f"${row.after:.0f}/PH/day, which pays the power of machines up to {row.pays_after:.0f} J/TH"
                     for row in r.iloc[:-1].itertuples())
    flat = r.iloc[-1]
    cfg = mining_config()
    facts = mining_facts()
    nonces = facts[(facts.category == "fleet_efficiency") & (facts.date != "2024")].iloc[0]
    model = ""
    if model_pre_ehs is not None:
        h = flat.before * flat.ehs / model_pre_ehs  # the same reward over the model's hashrate
        model = (f" The model's flat-price run does neither: its orders go on at the hurdle's bound, so it "
                 f"holds {model_pre_ehs:,.0f} EH/s before the halving, at a hashprice of ${h:.1f}/PH/day, and "
                 "the halving meets a fleet already near its power bill (above).")
    return [
        f"**What a halving leaves paying, from the data alone** (no model; `halving_margins.py`). The "
        f"hashprice before the subsidy halves and just after it, at the difficulty of before, from the data's "
        f"monthly mean price and fees of the month before and the hashrate before; machines' power bills at "
        f"CCAF's surveyed median ${tariff * 1000:.0f}/MWh (2024) and the scenarios' PUE: {past}. In 2020 that "
        "line fell between the S17 Pro (39.5 J/TH) and the S9 class (98), which ran about "
        f"{s9_share_pct():.0f}% of the hashrate before it (Coin Metrics; the dip {dips[str(r.halving[0])]:+.1f}%); in "
        f"2024 the surveyed fleet averaged {fleet_j_per_th():g} J/TH, well inside it (the dip "
        f"{dips[str(r.halving[1])]:+.1f}%). At the {FLAT_MONTH} price and fees and the data's last hashrate "
        f"({flat.ehs:,.0f} EH/s, {history_date()}), the 2028 halving takes the hashprice from "
        f"${flat.before:.1f} to ${flat.after:.1f}/PH/day, which pays machines up to {flat.pays_after:.1f} J/TH. "
        f"For the network to fall no more than the deepest historical dip ({deepest:+.1f}%), about "
        f"{1 + deepest / 100:.0%} of its hashrate would have to run on machines of {flat.pays_at_deepest:.1f} "
        f"J/TH or better by then (or on power cheaper in proportion), against a fleet surveyed at "
        f"{fleet_j_per_th():g} J/TH in 2024 (CCAF; CoinShares: {nonces.value:g} J/TH in {nonces.date}, "
        f"{nonces.description}). At that hashprice the best machine in the data "
        f"({flagship_j_per_th():g} J/TH), bought on {BUY_2026} at the model's price "
        f"(${cfg.machine_price_usd_per_w:.2f}/W, the median of public miners' purchases) and site cost and "
        f"run for its {cfg.machine_life_years:g}-year life at the same tariff, returns "
        f"{flagship_return_2026():+.0%} on its capital; it pays its capital back only below "
        f"${breakeven_usd_per_w():.2f}/W. So the check asks for most of the fleet renewed, or moved to cheaper "
        "power, by 2028, at a hashprice where the newest machine about pays back its capital; the "
        "historical halvings came after prices had risen." + model,
        "",
        *returns_markdown(cfg.hurdle_margin),
    ]


def returns_markdown(hurdle: float) -> list[str]:
    """The paragraph on :func:`flagship_returns`, against the model's fitted ``hurdle``."""
    r, cfg = flagship_returns(), mining_config()
    below = r[r["return"] < 0]
    spans = ", ".join(below.month)
    tariffs = sorted({c.mining_tariff_usd_per_kwh for c in load_scenario(SCENARIO).config.countries.values()})
    tariff = f"one ${tariffs[0]:g}/kWh per country" if len(tariffs) == 1 else f"${tariffs[0]:g}-{tariffs[-1]:g}/kWh"
    return [
        f"**What new machines earned, month by month** (the same data; `flagship_returns`). The best "
        "machine on sale (from the data's efficiency table, read late: a quarter's last month, a year's "
        "December), at the median tariff and the model's price and site cost, at each month's hashprice "
        "(the data's hashrate points interpolated in logs) held over its "
        f"{cfg.machine_life_years:g}-year life: it would have returned its capital in "
        f"{len(r) - len(below)} of the {len(r)} months from {FIRST_MONTH} with fees in the data (the held-out "
        f"months left out). Its return fell below zero only in {spans}, never below "
        f"{r['return'].min():+.0%}, and in no month came near the model's fitted hurdle ({hurdle:+.2f}): the "
        f"model's own economics (machines of {cfg.bought_over_best:g} times the best's J/TH, "
        f"{tariff} in the 2019 backtest, the hashprice expected on arrival) make new machines pay less than "
        "the data's flagship did. So history "
        "holds few months in which new machines did not pay: it does not tell at which return miners stop "
        "ordering, and the fit puts the hurdle on its bound. The flat-price check turns on exactly that "
        "return.",
        "",
    ]


def history_date() -> str:
    """The date of the data's last hashrate point."""
    return str(_history().date.iloc[-1])
