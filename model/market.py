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
    series = _read_monthly(csv_path, p.csv_column)
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

    def __init__(self, cfg: MarketConfig, dates: list[dt.date], rng: np.random.Generator, csv_path=None):
        self.cfg = cfg
        self.dates = dates
        # from_history: the dates whose price is data (the CSV), not the random continuation
        self.prices, self.from_history = price_path(cfg, dates, rng, csv_path)
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
        subsidy = self._halvings[0][1] * 2 if self._halvings else 0.0
        for when, value in self._halvings:
            if self.date >= when:
                subsidy = value
        return subsidy

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
    def reward_btc_per_day(self) -> float:
        return (self.subsidy_btc + self.cfg.fees_btc_per_block) * self.cfg.blocks_per_day

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
