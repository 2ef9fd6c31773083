"""Backtest 1: network hashrate 2019-2025 under the real price path, against the data.

Shared by ``crypto-abm validate`` and ``crypto-abm calibrate mining``. The months
2021-05 to 2022-01 (China's ban and the migration after it) are held out: no error and
no fit uses a point in them. Data points are compared with the model's week nearest to
their date; the error is on log hashrate, so 10% too high and 10% too low weigh alike,
and each calendar year weighs alike (2019 has monthly points, later years a few).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

from data import table
from model.config import ScenarioConfig
from model.model import CryptoAdoptionModel, build_model, seed_draws
from model.scenario import load_scenario

SCENARIO = "backtest_hashrate_2019"
EARLY = "backtest_halving_2016"  # the network-only run around the 2016 halving
HISTORY = table("hashrate_history.csv")
#: Country shares of the network hashrate: CBECI's 2019-20 average, dated estimates after it.
SHARE_TABLES = (table("mining_shares_2019_2020.csv"), table("hashrate_by_country_extra.csv"),
                table("hashrate_by_country_2024_2025.csv"))
CBECI_NAMES = {"Mainland China": "CHN", "United States": "USA", "Russian Federation": "RUS", "Kazakhstan": "KAZ",
               "Malaysia": "MYS", "Iran, Islamic Rep.": "IRN"}
HELD_OUT = (dt.date(2021, 5, 1), dt.date(2022, 2, 1))  # [start, end): never used
FIT_UNTIL = dt.date(2025, 1, 1)  # fit on 2019-2024, test on 2025 (the baseline's first year)
HALVING = dt.date(2024, 4, 20)
BASELINE = "south_asia_2025"  # the projection issue 14's flat-price checks read
#: Issue 14's flat price: the baseline's price history to 2025-12, then constant at its last month's (volatility 0).
FLAT_PRICE = {"market.price.volatility_per_year": 0.0, "market.price.drift_per_year": 0.0}
FIT_DRAWS = 40  # draws of the fitted terms over which the flat-price checks are also read
FLAT_YEARS = 5  # the flat-price baseline is read over its first five years (the 2028 halving among them)
FACTS = table("mining_facts.csv")
#: S9-class machines: the S9 (98 J/TH) and older; their share of the hashrate before the
#: 2020 halving is a data point (Coin Metrics, data/mining_facts.csv, category fleet_mix).
S9_CLASS_J_PER_TH = 90.0
S9_DATE = dt.date(2020, 5, 4)  # the week before the 2020 halving (2020-05-11)


@dataclass
class HashrateFit:
    """Model against data: per-point table and summary errors."""

    points: pd.DataFrame  # date, data_ehs, model_ehs, log_error, window
    rmse_log_fit: float
    rmse_log_test: float
    mape_fit: float
    mape_test: float


def history() -> pd.DataFrame:
    """Hashrate data points outside the held-out window, with the data's note on each ("" if none)."""
    h = pd.read_csv(HISTORY, parse_dates=["date"])
    h["date"] = h["date"].dt.date
    h["note"] = h["note"].fillna("")
    keep = ~h["date"].between(HELD_OUT[0], HELD_OUT[1] - dt.timedelta(days=1))
    return h.loc[keep, ["date", "hashrate_ehs", "metric", "note"]].sort_values("date").reset_index(drop=True)


def share_points(countries: list[str]) -> pd.DataFrame:
    """Country shares of the network hashrate from the data, as (start, end, country,
    share, source, window): the model's mean share over [start, end] is compared with it.

    Kept: CBECI's Sep 2019-Apr 2020 average (a model start condition, compared as it
    drifts), CBECI monthly shares after that average (but none marked LOW CONFIDENCE), and
    the estimates of the global share 2023-2025 (Hashrate Index, MinerMetrics; the 2024
    Cambridge survey is a share of its respondents, not of the network, and is left out).
    ``country`` is one of ``countries`` or a sum of them (``CHN+RUS``). A point dated a
    month stands for the month; a day, for the week around it. ``window`` is ``fit``
    before :data:`FIT_UNTIL`, else ``test``.
    """
    rows = []
    average, monthly, estimates = (pd.read_csv(t, dtype=str) for t in SHARE_TABLES)
    for r in average.itertuples():
        first, last = r.period.split("/")
        rows.append((pd.Period(first, "M").start_time, pd.Period(last, "M").end_time,
                     CBECI_NAMES.get(r.country, r.country), float(r.share_pct), r.source))
    for r in monthly.dropna(subset=["share_pct"]).itertuples():
        month = pd.Period(r.date, "M")
        if month > pd.Period("2020-04", "M") and "LOW CONFIDENCE" not in str(r.note):
            rows.append((month.start_time, month.end_time, r.iso3, float(r.share_pct), r.source))
    global_share = estimates["basis"].str.contains("share of global hashrate|bottom-up estimate", na=False)
    for r in estimates[global_share & estimates["share_pct"].notna()].itertuples():
        when = str(r.period).split(" ")[0]
        if len(when) == 7:
            span = (pd.Period(when, "M").start_time, pd.Period(when, "M").end_time)
        else:
            day = pd.Timestamp(when)
            span = (day - pd.Timedelta(days=3), day + pd.Timedelta(days=3))
        rows.append((*span, r.iso3, float(r.share_pct), r.source))
    frame = pd.DataFrame(rows, columns=["start", "end", "country", "share_pct", "source"])
    known = frame["country"].map(lambda c: all(part in countries for part in c.split("+")))
    frame = frame[known].reset_index(drop=True)
    return frame.assign(window=np.where(frame["start"] < pd.Timestamp(FIT_UNTIL), "fit", "test"))


def compare_shares(model: CryptoAdoptionModel, points: pd.DataFrame) -> pd.DataFrame:
    """The model's mean share (percent of the network's operating hashrate) over each data
    point's span (the nearest week where the span holds none) beside the data's."""
    ts = model.timeseries()
    values = shares_over_spans(ts[ts.metric == "hashrate_share"].pivot(index="date", columns="country",
                                                                         values="value"), points)
    return points.assign(model_pct=values, error_pp=values - points["share_pct"].to_numpy())


def shares_over_spans(shares: pd.DataFrame, points: pd.DataFrame) -> np.ndarray:
    """Per share point: the mean modelled share (percent) over its span, from ``shares`` (date x
    country, fractions); the nearest date where the span holds none. Shared by one run's
    comparison and the ensembles' (experiments/validation/backtest_ensembles.py)."""
    shares = shares.set_axis(pd.to_datetime(shares.index))
    values = []
    for p in points.itertuples():
        within = shares[(shares.index >= p.start) & (shares.index <= p.end)]
        if within.empty:
            within = shares.iloc[[int(np.abs((shares.index - p.start).days).argmin())]]
        values.append(100.0 * float(sum(within[c].mean() for c in p.country.split("+"))))
    return np.array(values)


def s9_share_pct() -> float:
    """The data's share of S9-class machines in the network's hashrate the week before the
    2020 halving, percent (``data/mining_facts.csv``, the one ``fleet_mix`` row)."""
    facts = pd.read_csv(FACTS)
    return float(facts.loc[facts.category == "fleet_mix", "value"].iloc[0])


def running_vintages(model: CryptoAdoptionModel) -> tuple[np.ndarray, np.ndarray]:
    """Every fleet's vintages, concatenated: the TH/s running now (legal and underground) and
    their J/TH."""
    fleets = model.fleets.values()
    return (np.concatenate([f.running * (f.legal_ths + f.underground_ths) for f in fleets]),
            np.concatenate([f.eff for f in fleets]))


def s9_share(model: CryptoAdoptionModel) -> float:
    """The model's share of operating hashrate run now by S9-class machines
    (:data:`S9_CLASS_J_PER_TH` J/TH or worse), 0-1."""
    on, eff = running_vintages(model)
    return float(on[eff >= S9_CLASS_J_PER_TH].sum() / on.sum())


def run_with_s9_share(seed: int = 0, overrides: dict | None = None) -> tuple[CryptoAdoptionModel, float]:
    """The backtest run to its end, and its S9-class share (:func:`s9_share`) on :data:`S9_DATE`."""
    model = CryptoAdoptionModel(config=load_scenario(SCENARIO, overrides), seed=seed)
    share = s9_share(model.run(until=S9_DATE))
    return model.run(), share


@dataclass(frozen=True)
class FlatRun:
    """What issue 14's two flat-price checks (the 2028 dip, the countries' moves) read of one
    run of the baseline under the flat price (:func:`flat_price_run`)."""

    config: ScenarioConfig  # as the run used it: a draw's values where the fit is drawn
    network: pd.Series      # weekly network hashrate (EH/s) by date
    shares: pd.DataFrame    # step x country: share of the network's hashrate


def flat_price_run(seed: int = 0, households: int = 1800, overrides: dict | None = None) -> FlatRun:
    """The baseline under :data:`FLAT_PRICE`, with ``overrides``, over its first :data:`FLAT_YEARS` years."""
    m = build_model(BASELINE, seed=seed, households=households, overrides={**FLAT_PRICE, **(overrides or {})})
    m.run(until=m.dates[0] + dt.timedelta(days=FLAT_YEARS * 365))
    ts = m.timeseries()
    shares = ts[ts.metric == "hashrate_share"].pivot(index="step", columns="country", values="value")
    return FlatRun(m.config, network_series(m), shares)


@cache
def flat_price_draw_runs(draws: int = FIT_DRAWS) -> tuple[FlatRun, ...]:
    """:func:`flat_price_run` over ``draws`` draws of every fitted block the baseline has
    (:func:`~model.model.seed_draws`, as the ensembles draw them; seeds 0..draws-1), run once
    for both checks (kept for the process: a few hundred weekly values a run)."""
    fitted = seed_draws(load_scenario(BASELINE).config)
    return tuple(flat_price_run(seed, overrides=fitted) for seed in range(draws))


def run_backtest(seed: int = 0, overrides: dict | None = None) -> CryptoAdoptionModel:
    return CryptoAdoptionModel(config=load_scenario(SCENARIO, overrides), seed=seed).run()


def world_series(model: CryptoAdoptionModel, metric: str) -> pd.Series:
    """A run's weekly world ``metric`` (``hashrate_ehs``, ``difficulty``, ...) by date."""
    ts = model.timeseries()
    w = ts[(ts.country == "WORLD") & (ts.metric == metric)]
    return pd.Series(w["value"].to_numpy(), index=pd.to_datetime(w["date"]).dt.date)


def network_series(model: CryptoAdoptionModel) -> pd.Series:
    return world_series(model, "hashrate_ehs")


def block_luck(hashrate_ehs: np.ndarray, difficulty: np.ndarray, seconds: float,
               rng: np.random.Generator) -> np.ndarray:
    """The hashrate as the data measure it, from the blocks found in each period of
    ``seconds`` at the difficulty then (Bitcoin Visuals' daily value is difficulty x blocks
    found x 2^32 / 86400; the data's weekly values are 7-day means of it)::

        expected blocks  lambda = seconds x H x 1e18 / (D x 2^32)
        blocks found     N ~ Poisson(lambda)
        measured         H x N / lambda

    Unbiased, with a relative spread of 1 / sqrt(lambda): about 3% a week, which is why the
    lowest of eight weekly values sits below the level around it."""
    expected = seconds * np.asarray(hashrate_ehs) * 1e18 / (np.asarray(difficulty) * 2.0**32)
    return np.asarray(hashrate_ehs) * rng.poisson(expected) / expected


def measured_series(model: CryptoAdoptionModel) -> pd.Series:
    """The run's network hashrate measured as the data are (:func:`block_luck`), its blocks
    drawn from the run's ``block_luck`` stream: same seed, same blocks."""
    hashrate = network_series(model)
    difficulty = world_series(model, "difficulty").reindex(hashrate.index)
    return pd.Series(block_luck(hashrate.to_numpy(), difficulty.to_numpy(), model.step_days * 86400.0,
                                model.streams["block_luck"]), index=hashrate.index)


def weekly_autocorrelation(series: pd.Series) -> float:
    """Lag-1 autocorrelation of a weekly series' log changes: near 0 for a smooth path, near
    -1 where it alternates up and down week by week (a cobweb: machines switching against a
    difficulty that lags them by a week)."""
    changes = np.diff(np.log(series.to_numpy(dtype=float)))
    return float(np.corrcoef(changes[:-1], changes[1:])[0, 1])


def compare(series: pd.Series) -> HashrateFit:
    data = history()
    index = pd.to_datetime(pd.Series(series.index))
    nearest = index.searchsorted(pd.to_datetime(data["date"]))
    nearest = np.clip(nearest, 0, len(series) - 1)
    # pick the closer of the two neighbouring weeks
    prev = np.clip(nearest - 1, 0, len(series) - 1)
    dates = pd.to_datetime(data["date"])
    use_prev = (dates - index.iloc[prev].to_numpy()).abs() < (index.iloc[nearest].to_numpy() - dates).abs()
    pos = np.where(use_prev, prev, nearest)
    model_ehs = series.to_numpy()[pos]
    points = data.assign(model_ehs=model_ehs, log_error=np.log(model_ehs / data["hashrate_ehs"].to_numpy()),
                         window=np.where(data["date"] < FIT_UNTIL, "fit", "test"))
    fit, test = points[points.window == "fit"], points[points.window == "test"]

    def rmse(p):
        # Each calendar year weighs alike: 2019 has monthly points, later years a few.
        years = pd.to_datetime(p["date"]).dt.year
        w = 1.0 / years.map(years.value_counts()).to_numpy()
        return float(np.sqrt(np.sum(w * p.log_error**2) / np.sum(w)))

    def mape(p):
        return float(np.mean(np.abs(p.model_ehs / p.hashrate_ehs - 1.0)))

    return HashrateFit(points, rmse(fit), rmse(test), mape(fit), mape(test))


def halving_dip(series: pd.Series, halving: dt.date = HALVING, run: int = 1) -> dict[str, float | None]:
    """Dip and recovery after a halving, as issue 14 defines them on weekly values:
    ``pre`` = mean of the weekly values in the two weeks before the halving; ``dip`` =
    the lowest weekly value within 8 weeks after it, over ``pre``, minus 1; recovery =
    weeks from the halving to the first weekly value above ``pre`` (None if none within
    26 weeks, the data's window). With ``run`` > 1, the recovery is to the first of ``run``
    weekly values in a row above ``pre`` (one that lasts; not the issue's definition).
    """
    h = pd.Timestamp(halving)
    index = pd.to_datetime(pd.Series(series.index)).to_numpy()
    values = series.to_numpy(dtype=float)
    before = values[(index >= h - pd.Timedelta(days=14)) & (index < h)]
    pre = float(before.mean())
    after = (index > h) & (index <= h + pd.Timedelta(weeks=8))
    trough = float(values[after].min())
    window = (index > h) & (index <= h + pd.Timedelta(weeks=26))
    above = (values[window] > pre).astype(int)
    lasting = np.flatnonzero(np.convolve(above, np.ones(run, dtype=int), mode="valid") == run)
    weeks = None if lasting.size == 0 else float(np.ceil((index[window][lasting[0]] - h) / pd.Timedelta(days=7)))
    return {"pre_halving_ehs": pre, "trough_ehs": trough, "dip": trough / pre - 1.0, "weeks_to_new_high": weeks}
