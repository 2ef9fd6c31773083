"""The BTC market: price path, block subsidy halvings, fees, difficulty and hashprice.

Units: price in USD/BTC, hashrate in EH/s, hashprice in USD per PH/s per day.
The whole price path is drawn when the market is built, from the market's own random
stream, so nothing else in the model can shift it; price shocks then scale it from their
date on.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from model.config import MarketConfig
from model.errors import ScenarioError
from model.file_cache import cached_read
from model.units import DAYS_PER_YEAR, PH_PER_EH


def price_path(cfg: MarketConfig, dates: list[dt.date], rng: np.random.Generator,
               csv_path=None) -> tuple[np.ndarray, np.ndarray]:
    """USD/BTC at each date: constant, geometric Brownian motion, or a monthly CSV series
    continued by GBM where it has no value; the equations are stated once, in docs/ODD.md 7.6.
    Also which dates took their price from the CSV (all False for constant and GBM)."""
    p = cfg.price
    n = len(dates)
    step_years = np.array([(b - a).days / DAYS_PER_YEAR for a, b in zip(dates[:-1], dates[1:])])
    shocks = rng.standard_normal(max(n - 1, 0))
    log_steps = (p.drift_per_year - 0.5 * p.volatility_per_year**2) * step_years \
        + p.volatility_per_year * np.sqrt(step_years) * shocks
    simulated = np.zeros(n, dtype=bool)
    if p.kind == "constant":
        return np.full(n, float(p.initial_usd)), simulated
    if p.kind == "gbm":
        return float(p.initial_usd) * np.exp(np.concatenate([[0.0], np.cumsum(log_steps)])), simulated
    series = cached_read(_read_monthly, csv_path, p.csv_column)
    months = pd.PeriodIndex([pd.Period(d, "M") for d in dates])
    known = series.reindex(months).to_numpy(dtype=float)
    if np.isnan(known[0]):
        raise ScenarioError.one(str(csv_path), "market.price.csv",
                                f"series has no value for the start month {months[0]}")
    out = known.copy()
    for i in range(1, n):
        if np.isnan(out[i]):
            out[i] = out[i - 1] * np.exp(log_steps[i - 1])
    return out, ~np.isnan(known)


def fee_path(cfg: MarketConfig, dates: list[dt.date], csv_path=None) -> np.ndarray:
    """BTC of fees per block at each date: ``fees_btc_per_block`` throughout, or, with a
    monthly table (``market.fees_csv``), the month's fees within the months it spans.

    A month's fees are its ``fees_btc_per_block``, else ``fees_btc_per_day / blocks_per_day``
    (the table gives per-day totals only for some months); a month without either, between
    two with one, is interpolated log-linearly between them (fees swing by factors, so a
    geometric path); before the first month and after the last, ``fees_btc_per_block``.
    Rows that are not months (yearly totals) are ignored.
    """
    if csv_path is None:
        return np.full(len(dates), float(cfg.fees_btc_per_block))
    monthly = cached_read(_read_fees, csv_path, cfg.blocks_per_day)
    span = pd.period_range(monthly.index.min(), monthly.index.max(), freq="M")
    logs = np.log(monthly.reindex(span))
    known = ~logs.isna().to_numpy()
    filled = np.interp(np.arange(len(span)), np.flatnonzero(known), logs.to_numpy()[known])
    by_month = pd.Series(np.exp(filled), index=span)
    months = pd.PeriodIndex([pd.Period(d, "M") for d in dates])
    return by_month.reindex(months).fillna(float(cfg.fees_btc_per_block)).to_numpy(dtype=float)


def _read_fees(path, blocks_per_day: float) -> pd.Series:
    """Fees per block by month from a fees table (:func:`fee_path`), checked: positive and finite."""
    field = "market.fees_csv"
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])  # "nan" is not blank
    except (OSError, pd.errors.ParserError) as err:
        raise ScenarioError.one(str(path), field, f"cannot read CSV: {err}") from None
    needed = ("period", "fees_btc_per_block", "fees_btc_per_day")
    if any(c not in frame for c in needed):
        raise ScenarioError.one(str(path), field, f"CSV needs columns {', '.join(needed)}", list(frame.columns))
    months = frame[frame["period"].str.fullmatch(r"[0-9]{4}-[0-9]{2}", na=False)]
    per_block = pd.to_numeric(months["fees_btc_per_block"], errors="coerce")
    per_day = pd.to_numeric(months["fees_btc_per_day"], errors="coerce")
    fees = per_block.fillna(per_day / blocks_per_day)
    given = months["fees_btc_per_block"].notna() | months["fees_btc_per_day"].notna()
    bad = given & ~(np.isfinite(fees) & (fees > 0))
    if bad.any():
        row = months[bad].iloc[0]
        raise ScenarioError.one(str(path), field, f"month {row['period']}: fees must be positive finite numbers",
                                [row["fees_btc_per_block"], row["fees_btc_per_day"]])
    fees = pd.Series(fees[given].to_numpy(), index=pd.PeriodIndex(months.loc[given, "period"], freq="M"))
    if fees.empty:
        raise ScenarioError.one(str(path), field, "no month (YYYY-MM) with fees in the table")
    if fees.index.has_duplicates:
        raise ScenarioError.one(str(path), field, "a month appears twice", str(fees.index[fees.index.duplicated()][0]))
    return fees.sort_index()


def _read_monthly(path, column: str) -> pd.Series:
    try:
        frame = pd.read_csv(path)
    except (OSError, pd.errors.ParserError) as err:
        raise ScenarioError.one(str(path), "market.price.csv", f"cannot read CSV: {err}") from None
    if "month" not in frame or column not in frame:
        raise ScenarioError.one(str(path), "market.price.csv_column",
                                f"CSV needs columns 'month' and '{column}'", list(frame.columns))
    values = pd.to_numeric(frame[column], errors="coerce")
    if values.isna().any() or (values <= 0).any():
        raise ScenarioError.one(str(path), "market.price.csv_column",
                                f"column '{column}' must hold positive numbers")
    return pd.Series(values.to_numpy(), index=pd.PeriodIndex(frame["month"], freq="M"))


class Market:
    """Price, subsidy and difficulty; miners read ``hashprice_usd_per_ph_day``.

    Difficulty follows network hashrate with a lag of ``difficulty_lag_steps`` steps, so a
    sudden loss of hashrate raises the revenue per hash of those still mining only after
    the retarget, as on the real network. The equations (subsidy, reward, difficulty,
    hashprice) are stated once, in docs/ODD.md 7.6.
    """

    def __init__(self, cfg: MarketConfig, dates: list[dt.date], rng: np.random.Generator, csv_path=None,
                 fees_csv_path=None):
        self.cfg = cfg
        self.dates = dates
        # from_history: the dates whose price is data (the CSV), not the random continuation
        self.prices, self.from_history = price_path(cfg, dates, rng, csv_path)
        self.fees = fee_path(cfg, dates, fees_csv_path)
        self._halvings = sorted((h.date, h.subsidy_btc) for h in cfg.halvings.values())
        self.hashrate_history = [cfg.initial_network_hashrate_ehs]
        self.t = 0

    # ----------------------------------------------------------- state
    @property
    def date(self) -> dt.date:
        return self.dates[self.t]

    @property
    def price_usd(self) -> float:
        return float(self.prices[self.t])

    @property
    def subsidy_btc(self) -> float:
        return self.subsidy_at(self.date)

    def subsidy_at(self, date: dt.date) -> float:
        """The block subsidy on ``date`` (halvings are known in advance)."""
        subsidy = self._halvings[0][1] * 2 if self._halvings else 0.0
        for when, value in self._halvings:
            if date >= when:
                subsidy = value
        return subsidy

    def reward_btc_per_day_at(self, date: dt.date) -> float:
        """The day's BTC reward on ``date`` at this step's fees: the subsidy then, the fees now."""
        return (self.subsidy_at(date) + self.fees_btc_per_block) * self.cfg.blocks_per_day

    @property
    def difficulty_hashrate_ehs(self) -> float:
        """The hashrate the current difficulty was set for: the network's
        ``difficulty_lag_steps`` steps ago (the history holds one entry per past step;
        ``D(t)`` of docs/ODD.md 7.6)."""
        hist = self.hashrate_history
        return max(hist[max(len(hist) - self.cfg.difficulty_lag_steps, 0)], 1e-9)

    @property
    def difficulty(self) -> float:
        """Bitcoin difficulty implied by the difficulty hashrate (docs/ODD.md 7.6)."""
        return self.difficulty_hashrate_ehs * 1e18 * 600.0 / 2**32

    @property
    def fees_btc_per_block(self) -> float:
        """This step's fees per block (:func:`fee_path`)."""
        return float(self.fees[self.t])

    @property
    def reward_btc_per_day(self) -> float:
        return (self.subsidy_btc + self.fees_btc_per_block) * self.cfg.blocks_per_day

    @property
    def hashprice_usd_per_ph_day(self) -> float:
        """Expected USD per PH/s per day at the difficulty hashrate (docs/ODD.md 7.6)."""
        return self.reward_btc_per_day * self.price_usd / (self.difficulty_hashrate_ehs * PH_PER_EH)

    # ----------------------------------------------------------- dynamics
    def advance(self) -> None:
        self.t += 1

    def record_hashrate(self, network_ehs: float) -> None:
        self.hashrate_history.append(float(network_ehs))

    def apply_price_shock(self, factor: float) -> None:
        """Scale the price from now on (a crash or a rally)."""
        self.prices[self.t:] *= factor
