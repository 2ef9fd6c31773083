"""The halvings as a validation (issue 14): the dip and the recovery of the network
hashrate after the halvings of 2016 (a network-only run, ``backtest_halving_2016``), 2020
and 2024 (the 2019 backtest) against the data, and the baseline's 2028 halving under a
flat price against the range of the historical dips. Nothing here is fitted: the
switching speed and the cost spread stay as assumed (experiments/scenarios/parts/behaviour.toml);
:func:`switching_grid` checks whether any values of theirs would reach the data.

Definitions (:func:`~experiments.validation.backtest.halving_dip`): pre = mean of the two
weeks before; dip = lowest weekly value within 8 weeks after, over pre, minus 1; recovery
= first week above pre. Data: ``data/halving_dips.csv`` (from daily values, Bitcoin Visuals).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from data import table
from experiments.validation import daily_dips, halving_margins, season_end
from experiments.validation.backtest import (
    BASELINE,
    EARLY,
    FACTS,
    FIT_DRAWS,
    FLAT_PRICE,
    S9_CLASS_J_PER_TH,
    SCENARIO,
    flat_price_draw_runs,
    halving_dip,
    measured_series,
    network_series,
    run_backtest,
    run_with_s9_share,
    s9_share_pct,
    weekly_autocorrelation,
)
from model.model import CryptoAdoptionModel, build_model
from model.scenario import load_scenario
from model.units import TH_PER_EH

DIPS = table("halving_dips.csv")
WINDOWS = table("hashrate_halving_windows.csv")
HASHRATE_2014_2016 = table("hashrate_2014_2016.csv")
#: The Bitmain machines on sale before the 2016 run (CBECI's miners table, data/mining_facts.csv):
#: the fleet of 2016-05-14 holds what was installed while each was the best on sale.
MACHINES_2016 = {"s3": "2014-07", "s5": "2014-12", "s7": "2015-09"}
INSTALL_WINDOW_DAYS = 15  # the network's level on a date: the mean of the 3-day points within +-15 days
LASTING_WEEKS = 4  # a recovery that lasts: this many weekly values in a row above the pre level
BOUND_DIP_PP = 5.0         # each modelled dip within +-5 points of the data's
BOUND_RECOVERY_WEEKS = 61 / 7  # ... and its recovery within two months of the data's
SEEDS = range(5)
COBWEB_AUTOCORRELATION = -0.5  # below it a backtest's weekly changes alternate: a cobweb, not a response
HALVING_2028 = dt.date(2028, 4, 15)
SWING_WEEKS = 26  # the weeks after a halving over which the hashrate's swing is measured
HALVINGS = (dt.date(2016, 7, 9), dt.date(2020, 5, 11), dt.date(2024, 4, 20))
#: The weeks after a halving :func:`plateaus` compares: the plateau's, and two quarters on.
TROUGH_WEEKS, LATER_WEEKS = (4, 8), (22, 26)
#: A check, not a fit: the two assumed parameters of the miners' short-run response over
#: their plausible ranges (the assumption: 0.3 and 0.25, experiments/scenarios/parts/behaviour.toml).
SWITCHING_GRID = {"mining.switch_share_per_week": (0.05, 0.15, 0.3, 0.6, 1.0),
                  "mining.cost_spread": (0.05, 0.15, 0.25, 0.4)}
#: A check, not a fit: the 2028 flat-price dip over the fitted hurdle (-0.9), a zero one and
#: the old assumed 0.6, and the frontier improving 5% a year instead of the derived 14.5%.
FLAT_GRID = {"mining.hurdle_margin": (-0.9, 0.0, 0.6), "mining.efficiency_improvement_per_year": (0.05, 0.145)}


def fleet_2016() -> dict[str, tuple[float, float]]:
    """The 2016 run's fleet by machine: ``{name: (J/TH, share)}``, as built by the model's own
    rule that new machines come at the best efficiency on sale (the S9 went on sale after the run starts).
    Each machine's share is the network hashrate added from its release to the next one's
    (the last one's: to ``run.start`` of ``backtest_halving_2016``), over all added since the
    first (the S3's, 2014-07-01)::

        share_m = (H(release_{m+1}) - H(release_m)) / (H(start) - H(release_S3))

    with ``H(d)`` the mean of Blockchain.com's 3-day points within +-15 days of ``d``
    (``data/hashrate_2014_2016.csv``). What ran before the S3 (CBECI's table holds only
    "early ASICs" of 10 J/GH before it) earned less than its power in 2016 and is left out."""
    facts = pd.read_csv(FACTS)
    rows = facts[facts.category == "asic_efficiency"].set_index("date")
    series = pd.read_csv(HASHRATE_2014_2016, parse_dates=["date"])

    def level(day: dt.date) -> float:
        near = (series.date - pd.Timestamp(day)).abs() <= pd.Timedelta(days=INSTALL_WINDOW_DAYS)
        return float(series.loc[near, "hashrate_ehs"].mean())

    start = load_scenario(EARLY).config.run.start
    dates = [dt.date.fromisoformat(f"{month}-01") for month in MACHINES_2016.values()] + [start]
    levels = [level(d) for d in dates]
    total = levels[-1] - levels[0]
    return {name: (float(rows.loc[month, "value"]), (levels[i + 1] - levels[i]) / total)
            for i, (name, month) in enumerate(MACHINES_2016.items())}


def fleet_text() -> str:
    """The 2016 fleet in words, e.g. 'S3 12%, S5 10% and S7 77%'."""
    parts = [f"{name.upper()} {share:.0%}" for name, (_, share) in fleet_2016().items()]
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def data_dips() -> pd.DataFrame:
    """The data's dips: halving (date), dip (fraction), weeks_to_new_high."""
    d = pd.read_csv(DIPS)
    return pd.DataFrame({"halving": pd.to_datetime(d["halving"]).dt.date, "dip": d["dip_pct"] / 100.0,
                         "weeks_to_new_high": d["weeks_to_new_high"].astype(float)})


def weekly_data_dips() -> dict[dt.date, float]:
    """The data's dip at each historical halving on its own weekly 7-day means
    (:func:`window_series`), as the model's are measured (:func:`halving_dip`: the two weekly
    values before, the lowest of the eight after). ``data/halving_dips.csv`` takes instead the
    14 days before and the lowest of the rolling 7-day means whose days all fall in the 56
    after, which weekly steps cannot give."""
    series = window_series()
    return {h: halving_dip(series, h)["dip"] for h in HALVINGS}


def halving_runs(seed: int, overrides: dict | None = None) -> tuple[CryptoAdoptionModel, CryptoAdoptionModel]:
    """The 2019 backtest and the 2016 network-only run, with ``overrides`` of both scenarios."""
    return (run_backtest(seed=seed, overrides=overrides),
            CryptoAdoptionModel(config=load_scenario(EARLY, overrides), seed=seed).run())


def dips_of_runs(backtest: CryptoAdoptionModel, early: CryptoAdoptionModel) -> dict[dt.date, dict]:
    """The dip and recovery at each historical halving: 2016 from the network-only run
    ``early``, 2020 and 2024 from the 2019 ``backtest``; each also as the data measure it,
    from the blocks found (``measured_dip``, ``measured_weeks``:
    :func:`~experiments.validation.backtest.measured_series`), and read as
    ``data/halving_dips.csv`` reads daily values (``daily``: :func:`~experiments.validation.daily_dips.model_readings`,
    its blocks drawn after the weekly ones)."""
    series = {run: (network_series(run), measured_series(run)) for run in (backtest, early)}
    daily = {**daily_dips.model_readings(early, HALVINGS[:1]), **daily_dips.model_readings(backtest, HALVINGS[1:])}
    out = {}
    for when in HALVINGS:
        hashrate, measured = series[early if when.year == 2016 else backtest]
        as_measured = halving_dip(measured, when)
        out[when] = {**halving_dip(hashrate, when), "measured_dip": as_measured["dip"],
                     "measured_weeks": as_measured["weeks_to_new_high"], "daily": daily[when]}
    return out


def dips_of_one_seed(seed: int, overrides: dict | None = None) -> dict[dt.date, dict]:
    """One seed's dips and recoveries (:func:`dips_of_runs` of :func:`halving_runs`)."""
    return dips_of_runs(*halving_runs(seed, overrides))


def _median_weeks(weeks: list[float | None]) -> float | None:
    """The median recovery, a recovery beyond 26 weeks (None) counting as never."""
    median = float(np.median([np.inf if w is None else w for w in weeks]))
    return None if np.isinf(median) else median


def weeks_text(w: float | None) -> str:
    """A recovery in words: None (or NaN, as a table column holds it) is none within 26 weeks."""
    return "none in 26" if w is None or np.isnan(w) else f"{w:.0f}"


def model_dips(seeds: range = SEEDS) -> dict[dt.date, dict]:
    """The model's dip and recovery at each historical halving (:func:`dips_of_one_seed`),
    each the median over ``seeds``, of its hashrate and as the data measure it; and, read as
    the file reads daily values, each run's own dip and every measured one (pooled)."""
    runs = {}
    for seed in seeds:
        for when, result in dips_of_one_seed(seed).items():
            runs.setdefault(when, []).append(result)
    return {when: {"dip": float(np.median([r["dip"] for r in results])),
                   "weeks_to_new_high": _median_weeks([r["weeks_to_new_high"] for r in results]),
                   "measured_dip": float(np.median([r["measured_dip"] for r in results])),
                   "measured_weeks": _median_weeks([r["measured_weeks"] for r in results]),
                   "daily_own": [r["daily"]["own"]["dip"] for r in results],
                   "daily_measured": [d for r in results for d in r["daily"]["measured"]]}
            for when, results in runs.items()}


def switching_grid(seed: int = 0) -> pd.DataFrame:
    """Whether the switching speed and the sites' cost spread could bring the dips to the
    data: every pair of :data:`SWITCHING_GRID` (seed 0), one row each: the three dips, the
    2024 recovery in weeks (NaN: none within 26) and the backtest's weekly autocorrelation
    (:func:`~experiments.validation.backtest.weekly_autocorrelation`: a cobweb shows there)."""
    rows = []
    for switch in SWITCHING_GRID["mining.switch_share_per_week"]:
        for spread in SWITCHING_GRID["mining.cost_spread"]:
            backtest, early = halving_runs(seed, {"mining.switch_share_per_week": switch, "mining.cost_spread": spread})
            dips = dips_of_runs(backtest, early)
            weeks = dips[HALVINGS[2]]["weeks_to_new_high"]
            rows.append({"switch": switch, "spread": spread, **{f"dip_{d.year}": dips[d]["dip"] for d in HALVINGS},
                         "recovery_2024": np.nan if weeks is None else weeks,
                         "autocorrelation": weekly_autocorrelation(network_series(backtest))})
    return pd.DataFrame(rows)


def swing(series: pd.Series, halving: dt.date) -> float:
    """How much the hashrate swings after ``halving``: the mean absolute weekly change of its
    log over the :data:`SWING_WEEKS` weekly values after it. Measured on the data's weekly
    7-day means it is block luck and the halving's response; a model whose machines switch on
    and off with each retarget (a cobweb) shows it several times over."""
    after = series[series.index > halving].iloc[:SWING_WEEKS]
    return float(np.abs(np.diff(np.log(after.to_numpy(dtype=float)))).mean())


def window_series() -> pd.Series:
    """The data's weekly 7-day means around the historical halvings (EH/s) by date."""
    windows = pd.read_csv(WINDOWS, parse_dates=["date"])
    return pd.Series(windows.hashrate_ehs.to_numpy(), index=windows.date.dt.date)


def data_swings(data: pd.Series | None = None) -> dict[dt.date, float]:
    """:func:`swing` of the data's weekly 7-day means (:func:`window_series`) after each
    historical halving."""
    data = window_series() if data is None else data
    return {h: swing(data, h) for h in HALVINGS}


def baseline_2028(seed: int = 0, households: int = 1800, overrides: dict | None = None, *,
                  flat: bool = True) -> dict:
    """The baseline's 2028 halving: its dip and recovery (:func:`halving_dip`) and its
    :func:`swing`, under a flat price (history to 2025-12, then constant) or, with
    ``flat=False``, the scenario's own price paths (seed ``seed``)."""
    fixed = FLAT_PRICE if flat else {}
    m = build_model(BASELINE, seed=seed, households=households, overrides={**fixed, **(overrides or {})})
    m.run(until=HALVING_2028 + dt.timedelta(weeks=27))
    series = network_series(m)
    return {**halving_dip(series, HALVING_2028), "swing": swing(series, HALVING_2028)}


def flat_2028(seed: int = 0, households: int = 1800, overrides: dict | None = None) -> dict:
    """The baseline's 2028 halving under a flat price (:func:`baseline_2028`)."""
    return baseline_2028(seed, households, overrides)


def flat_2028_grid(seed: int = 0) -> pd.DataFrame:
    """Whether the 2028 flat-price dip hangs on the hurdle or the frontier's pace: every
    pair of :data:`FLAT_GRID` (seed 0), one row each with its dip."""
    rows = []
    for hurdle in FLAT_GRID["mining.hurdle_margin"]:
        for pace in FLAT_GRID["mining.efficiency_improvement_per_year"]:
            dip = flat_2028(seed, overrides={"mining.hurdle_margin": hurdle,
                                             "mining.efficiency_improvement_per_year": pace})["dip"]
            rows.append({"hurdle": hurdle, "pace": pace, "dip": dip})
    return pd.DataFrame(rows)


def flat_2028_draws(draws: int = FIT_DRAWS) -> list[float]:
    """The 2028 flat-price dip over ``draws`` draws of the fits
    (:func:`~experiments.validation.backtest.flat_price_draw_runs`, the runs the countries'
    moves read too): whether the miss hangs on the fits' uncertainty."""
    return [halving_dip(run.network, HALVING_2028)["dip"] for run in flat_price_draw_runs(draws)]


def _mean_over(series: pd.Series, halving: dt.date, weeks: tuple[int, int]) -> float:
    """Mean of a weekly series over ``weeks`` (first, last; inclusive) after ``halving``."""
    start, end = (halving + dt.timedelta(weeks=w) for w in weeks)
    return float(series[(series.index >= start) & (series.index <= end)].mean())


def plateaus(seed: int = 0) -> dict[dt.date, dict]:
    """What the 2020 and 2024 recoveries are made of (section 1c), in the 2019 backtest (one
    seed) and the data, in logs: the plateau (the mean of weeks :data:`TROUGH_WEEKS` after the
    halving) over the pre level (the two weeks before, as for the dip); the rise from the
    plateau to weeks :data:`LATER_WEEKS`, beside that of the day's reward in USD (the same
    monthly price and fees drive the backtest and the data) and of the model's installed
    machines; and, a quarter after the halving, the share of installed machines idle and the
    elasticity of the running hashrate to the hashprice at the clearing (d log supply / d log H,
    over +-1%): the share of new machines' hashrate that older ones switching off give back is
    e / (1 + e)."""
    model = CryptoAdoptionModel(config=load_scenario(SCENARIO), seed=seed)
    dates, reward, installed, margin = [], [], [], {}
    for halving in HALVINGS[1:]:
        model.run(until=halving)
        quarter = halving + dt.timedelta(weeks=13)
        while model.date <= halving + dt.timedelta(weeks=LATER_WEEKS[1]):
            model.step()
            sector = model.mining
            dates.append(model.date)
            reward.append(model.market.reward_btc_per_day * model.market.price_usd)
            installed.append(sum(f.installed_ths for f in sector.fleets.values()) / TH_PER_EH)
            if halving not in margin and model.date >= quarter:
                h, supply = sector.clearing_hashprice_usd_per_ph_day, sector.supply
                margin[halving] = {
                    "idle": 1.0 - sector.network_hashrate_ehs / installed[-1],
                    "elasticity": float(np.log(supply(h * 1.01) / supply(h * 0.99)) / np.log(1.01 / 0.99))}
    series = {"data": window_series(), "model": network_series(model),
              "reward": pd.Series(reward, index=dates), "installed": pd.Series(installed, index=dates)}
    out = {}
    for h in HALVINGS[1:]:
        plateau = {name: _mean_over(s, h, TROUGH_WEEKS) for name, s in series.items()}
        later = {name: _mean_over(s, h, LATER_WEEKS) for name, s in series.items()}
        out[h] = {**{f"{name}_plateau": float(np.log(plateau[name] / halving_dip(series[name], h)["pre_halving_ehs"]))
                     for name in ("data", "model")},
                  **{f"{name}_rise": float(np.log(later[name] / plateau[name])) for name in series},
                  **margin[h]}
    return out


def context(seed: int = 0) -> dict:
    """What explains the misses (section 1c): the data's and the model's lasting recoveries,
    the S9 share before 2020 against Coin Metrics', the flat-price 2028 grid, the backtest's
    own weekly autocorrelation (at the scenario's switching speed and spread), the swings after
    the halvings (the data's, the baseline's on its price paths), 2024's dip without refills and
    the flat-price 2028 dip over the fits' draws."""
    data = window_series()
    model, s9 = run_with_s9_share(seed)  # the 2019 backtest, its fleet mix read on the way
    backtest = network_series(model)
    early = network_series(CryptoAdoptionModel(config=load_scenario(EARLY), seed=seed).run())

    def lasting(series, h):
        return halving_dip(series, h, run=LASTING_WEEKS)["weeks_to_new_high"]
    return {"lasting": {h: (lasting(data, h), lasting(early if h.year == 2016 else backtest, h)) for h in HALVINGS},
            "s9_model": s9, "s9_data_pct": s9_share_pct(), "flat_grid": flat_2028_grid(seed),
            "flat_draws": flat_2028_draws(),
            "autocorrelation": weekly_autocorrelation(backtest),
            "swings": data_swings(data), "swing_paths": baseline_2028(seed, flat=False)["swing"],
            "plateaus": plateaus(seed),
            "no_refill_2024": halving_dip(network_series(run_backtest(seed, {"mining.fill_per_year": 0.0})),
                                          HALVINGS[2])["dip"]}


def table_rows(seeds: range = SEEDS) -> pd.DataFrame:
    """One row a halving: data and model dip and recovery (the model's also as the data
    measure it), whether each is in its bound (the model's own hashrate is judged), and the
    model read as the file reads daily values (``daily_*``: :func:`~experiments.validation.daily_dips.luck_row`)."""
    model = model_dips(seeds)
    weekly = weekly_data_dips()
    rows = []
    for r in data_dips().itertuples():
        m = model[r.halving]
        recovery = m["weeks_to_new_high"]
        rows.append({"halving": r.halving, "data_dip": r.dip, "data_weekly_dip": weekly[r.halving],
                     "model_dip": m["dip"],
                     "measured_dip": m["measured_dip"],
                     "dip_ok": abs(m["dip"] - r.dip) * 100 <= BOUND_DIP_PP,
                     "data_weeks": r.weeks_to_new_high, "model_weeks": recovery,
                     "measured_weeks": m["measured_weeks"],
                     "recovery_ok": recovery is not None
                     and abs(recovery - r.weeks_to_new_high) <= BOUND_RECOVERY_WEEKS,
                     **{f"daily_{k}": v for k, v in
                        daily_dips.luck_row(m["daily_own"], m["daily_measured"], r.dip).items()}})
    return pd.DataFrame(rows)


def flat_2028_in_range(dip: float, history: pd.DataFrame) -> bool:
    """The 2028 dip lies within the range of the historical dips."""
    return float(history["dip"].min()) <= dip <= float(history["dip"].max())


def markdown(rows: pd.DataFrame, flat: dict, grid: pd.DataFrame | None = None,
             why: dict | None = None) -> list[str]:
    history = data_dips()  # read once for the table, the 2028 check and the grid
    lines = [
        "### 1c. The halvings",
        "",
        "Dip = lowest weekly value within 8 weeks after the halving over the mean of the two",
        "weeks before, minus 1; recovery = first week above that mean. The data's dips and",
        "recoveries are `data/halving_dips.csv`'s, from Bitcoin Visuals' daily values: there the",
        "pre level is the 14 days before the halving and the dip the lowest of the rolling 7-day",
        "means whose days all fall in the 56 after (any day's, not only the weeks'). The model",
        "steps a week at a time, so its dip is the lowest of its eight weekly values; the column",
        "*data, weekly* applies that same reading to the data's own weekly 7-day means",
        "(`data/hashrate_halving_windows.csv`). The bounds keep the file's figures, the ones the",
        "issue names. 2016 is a network-only run (`backtest_halving_2016`: one world fleet of",
        f"{fleet_text()}: what was installed while each was the best on sale (`fleet_2016`, from",
        "Blockchain.com's hashrate 2014-2016); orders are S7s until the S9 goes on sale on 2016-06-01",
        "(CBECI's miners table); fees a stand-in); 2020 and 2024 are the 2019 backtest.",
        f"Model: the median of {len(SEEDS)} seeds. Bounds (issue 14): dip within +-{BOUND_DIP_PP:g} points of",
        "the data's, recovery within two months. Nothing is fitted to the halvings: the",
        "switching speed and the sites' cost spread stay as assumed. But the 2019 backtest moves",
        "China's machines to Sichuan in the week of May 15, four days after the 2020 halving,",
        "and that week was chosen with 2020's dip seen (below), so 2016 and 2024 are the tests of",
        "the response to a halving; 2020's dip is the move's.",
        "",
        "The data's weekly values are measured from the blocks found, which come by luck: about",
        "3% either way a week, so the lowest of eight sits below the level around them. The",
        "columns *as measured* take the model's hashrate through the same measurement (blocks",
        "drawn from each run's own `block_luck` stream; `backtest.measured_series`), to tell a",
        "miss of the model from one of the measurement. The bounds judge the model's own hashrate.",
        "",
        "| halving | data dip | data, weekly | model dip | as measured | within +-5 points | data recovery, weeks "
        "| model recovery, weeks | as measured | within two months |",
        "|---|---:|---:|---:|---:|---|---:|---:|---:|---|",
    ]
    for r in rows.itertuples():
        lines.append(f"| {r.halving} | {r.data_dip:+.1%} | {r.data_weekly_dip:+.1%} | {r.model_dip:+.1%} | "
                     f"{r.measured_dip:+.1%} | "
                     f"{'yes' if r.dip_ok else '**no**'} | {r.data_weeks:.0f} | {weeks_text(r.model_weeks)} | "
                     f"{weeks_text(r.measured_weeks)} | {'yes' if r.recovery_ok else '**no**'} |")
    near = [r for r in rows.itertuples() if abs(r.measured_dip - r.data_dip) * 100 <= BOUND_DIP_PP]
    lines += ["", f"As measured, {len(near)} of {len(rows)} dips come within +-{BOUND_DIP_PP:g} points of the data's"
              + (": " + ", ".join(str(r.halving) for r in near) if near else
                 ": the misses are the model's, not the measurement's") + "."]
    weekly = [r for r in rows.itertuples() if abs(r.model_dip - r.data_weekly_dip) * 100 <= BOUND_DIP_PP]
    below = " / ".join(f"{(r.data_weekly_dip - r.data_dip) * 100:.1f}" for r in rows.itertuples())
    lines += ["", f"Against the data's own weekly values, {len(weekly)} of the model's {len(rows)} dips come within "
              f"+-{BOUND_DIP_PP:g} points" + (": " + ", ".join(str(r.halving) for r in weekly) if weekly else "")
              + f". The file's dips lie {below} points below the weekly values' ("
              + " / ".join(str(r.halving.year) for r in rows.itertuples())
              + "): a lowest 7-day window can end on any day, and the 14 days before a halving are not the two "
              "weekly values before it. Which reading the bound should use is the issue's to say; the tests keep "
              "the file's."]
    daily = rows[["halving", "data_dip"]].join(
        rows.filter(like="daily_").rename(columns=lambda c: c.removeprefix("daily_")))
    lines += daily_dips.markdown(daily, BOUND_DIP_PP)
    ok = flat_2028_in_range(flat["dip"], history)
    flat_weeks = flat["weeks_to_new_high"]
    lines += [
        "",
        f"**2028, the baseline under a flat price** (seed 0): dip {flat['dip']:+.1%} "
        f"(the historical range is {history['dip'].min():+.1%} to {history['dip'].max():+.1%}: "
        f"{'inside' if ok else '**outside**'}); recovery "
        + ("none within 26 weeks." if flat_weeks is None else f"after {flat_weeks:.0f} weeks."),
        "",
        *halving_margins.markdown(flat.get("pre_halving_ehs")),
    ]
    if why is not None:
        lines += swing_markdown(flat["swing"], why["swing_paths"], why["swings"])
    if grid is not None:
        assumed, no_refill = (why["autocorrelation"], why["no_refill_2024"]) if why else (np.nan, np.nan)
        lines += grid_markdown(grid, history, assumed, no_refill)
    if why is not None:
        lines += context_markdown(why, history)
    return lines


def swing_markdown(flat: float, paths: float, data: dict[dt.date, float]) -> list[str]:
    """Does the hashrate settle after the 2028 halving? The baseline's swing against the data's."""
    history = ", ".join(f"{v:.3f} ({h.year})" for h, v in data.items())
    top = max(data.values())
    return [
        f"**Does the hashrate settle after it?** The mean absolute weekly change of the log hashrate over the "
        f"{SWING_WEEKS} weeks after the halving: data {history}, block luck included; the baseline under a flat "
        f"price {flat:.3f} ({'no more than' if flat <= top else '**more than**'} the data's: the test's bound), "
        f"under its own price paths (seed 0) {paths:.3f} ({'no more than' if paths <= top else 'more than'} the "
        "data's; these paths move the price by about 9% a week, 62% a year, and miners answer within weeks)."
        + " Before 2026-12-04 miners switched on what the week earned alone, with the difficulty two weeks "
        "behind, and after the 2028 halving the baseline swung by 0.235 (flat price) and 0.204 (seed 0): "
        "its machines, most of them near their cost, switched off, the difficulty fell, they switched back on, "
        "every five or six weeks by a third of the network. They now switch on a hashprice part of the way "
        "from that to the clearing one (`mining.switch_anticipation` "
        f"{load_scenario(SCENARIO).config.mining.switch_anticipation:.2f}: assumed on 2026-12-04, fitted from "
        "that evening, assumed again since machines switch off on their power bill, which left the fit no hold "
        "on it; section 1c).",
        "",
    ]


def implied_elasticity(row: dict) -> float:
    """The elasticity at which the data's rise after a halving (:func:`plateaus`) would follow,
    to first order, if the new machines had been the model's (its installed machines' rise)::

        rise_data = (e x rise_reward + rise_installed) / (1 + e)
        =>  e = (rise_installed - rise_data) / (rise_data - rise_reward)

    A rough reading: the model's installed machines stand in for the machines that arrived."""
    gap = row["data_rise"] - row["reward_rise"]
    return (row["installed_rise"] - row["data_rise"]) / gap if gap else float("nan")


def plateau_markdown(plateau: dict[dt.date, dict]) -> list[str]:
    """What the 2020 and 2024 recoveries are made of (:func:`plateaus`), in words."""
    rows = list(plateau.values())
    years = " and ".join(str(h.year) for h in plateau)

    def both(key: str, fmt: str = "+.1%", logs: bool = True) -> str:
        """The two halvings' values of ``key``, a log change shown as a percentage change."""
        return " and ".join(format(np.expm1(r[key]) if logs else r[key], fmt) for r in rows)
    implied = " and ".join(f"{implied_elasticity(r):.1f}" for r in rows)
    spread = load_scenario(SCENARIO).config.mining.cost_spread
    gaps = [abs(np.expm1(r[f"model_{k}"]) - np.expm1(r[f"data_{k}"])) * 100 for r in rows for k in ("plateau", "rise")]
    within = (f"Both plateaus and both rises lie within {BOUND_DIP_PP:g} points of the data's (the dips' "
              f"tolerance; a test), the widest gap {max(gaps):.1f} points." if max(gaps) <= BOUND_DIP_PP else
              f"The widest gap between the model's plateaus or rises and the data's is {max(gaps):.1f} points, "
              f"**more than** the dips' tolerance of {BOUND_DIP_PP:g} (a test).")
    return [
        f"**What the recoveries are made of** (the 2019 backtest, seed 0; `plateaus`). Weeks {TROUGH_WEEKS[0]}-"
        f"{TROUGH_WEEKS[1]} after the halvings of {years} the data's hashrate stood {both('data_plateau')} against "
        f"its pre level, the model's {both('model_plateau')}. From there to weeks {LATER_WEEKS[0]}-{LATER_WEEKS[1]} "
        f"the data rose {both('data_rise')}, the model {both('model_rise')}, while the day's reward in USD "
        f"(the same price and fees drive both) moved {both('reward_rise')} and the model's installed machines "
        f"{both('installed_rise')}. {within} A month after each halving the real network had lost little, as "
        "if nearly all of its machines still paid at half the hashprice. A quarter after the "
        f"halvings {both('idle', '.0%', logs=False)} of the model's installed machines stood idle and its "
        f"running hashrate's elasticity to the hashprice at the clearing was {both('elasticity', '.1f', logs=False)}: "
        "older machines switching off give back e / (1 + e) of a new machine's hashrate. Had the new machines "
        "been the model's, the data's "
        f"rises would follow, to first order, from elasticities of {implied} (`implied_elasticity`, a rough "
        "reading). Until machines switched off on their power bill alone (kept below, 2026-12-04, night) the "
        "model stood -17.8% and -11.9% at the plateau, rose +29.5% and +6.7%, with elasticities of 2.2 and 2.7: "
        "its fleet sat on thinner margins than the real one, because the staff, upkeep and site it "
        "counted as saved by switching off are paid whether the machines run or not. What stays "
        "open is the dip, the lowest week: the data's came with block luck and, in 2020, with a fifth of the "
        "network in S9s (below); and under a flat price the fleet still grows to thin margins (the 2028 "
        f"flat-price dip below). Each country's new machines land on all its sites, the dearest "
        f"(+{spread:.0%}) included, although the return that orders them comes from the cheaper ones.",
        "",
        "Probed, not refitted, not kept (2026-12-04, on the model before the retirement below; seed 0; dips "
        "2016 / 2020 / 2024, recoveries, network error fit / test; that model: -8.0 / -19.1 / -13.1%, 19 / 23 / "
        "none, 0.130 / 0.141). "
        "Refills (machines for sites already built) arriving after a machine's delivery alone, 12 weeks (the "
        "dated orders of `data/asic_prices.csv` shipped about 2 to 23 weeks after they were placed), instead "
        "of the 24-week lead of a new site: -6.3 / -21.1 / -11.6%, 9 / 26 / none, 0.135 / 0.143. Idle machines "
        "sold or scrapped at 1.5 or 4 a year instead of 0.5: 2024's dip -8.6% or -5.4%, recoveries 19 / 24 / 25 "
        "or 19 / none / 1, 0.138 / 0.143 or 0.162 / 0.156. A new machine judged on the mean clearing hashprice "
        "over its life, the halvings within it counted: -7.7 / -4.7 / -6.3%, 19 / 9 / 1, 0.193 / 0.140, and "
        "the 2028 flat-price dip still -42%. Sites' tariffs log-uniform within a factor of 2 of the country's "
        "instead of +-25%: -9.6 / -14.9 / -20.8%, 18 / 16 / none, 0.186 / 0.171. Machines switched off on the "
        "power bill alone (the other cash costs fixed in the short run; in this probe for running only, not for "
        "refills or the bid for power): -7.1 / -6.9 / -1.8%, 19 / 14 / 1, 0.155 / 0.132 (kept in full since, "
        "refitted: below). An ad hoc spread of country tariffs ($0.025-0.07, no source) shortened 2020's "
        "recovery to 13 weeks and left 2024's at 24.",
        "",
    ]


def context_markdown(why: dict, history: pd.DataFrame) -> list[str]:
    """The data's lasting recoveries, the 2020 fleet mix and the flat-price grid, in words."""
    lasting = "; ".join(f"{h.year}: data {weeks_text(d)}, model {weeks_text(m)}"
                        for h, (d, m) in why["lasting"].items())
    grid, draws = why["flat_grid"], why["flat_draws"]
    span = ", ".join(f"hurdle {r.hurdle:+g} and frontier {r.pace:.1%} a year {r.dip:+.1%}" for r in grid.itertuples())
    return [
        f"**Recoveries that last** (weeks to the first of {LASTING_WEEKS} weekly values in a row above the "
        f"pre level; seed 0; context, not the issue's definition): {lasting}. The data's 7-day means "
        "swing by several percent with block luck, so a single week above the pre level can come early: "
        "measured this way, the gap after 2024 is smaller than the table's.",
        "",
        *plateau_markdown(why["plateaus"]),
        f"**What the model had before 2020's halving.** S9-class machines ({S9_CLASS_J_PER_TH:g} J/TH or worse) ran "
        f"{why['s9_model']:.1%} of the backtest's hashrate in the week before it; Coin Metrics put the S9 at about "
        f"{why['s9_data_pct']:.0f}% of the network's from its nonces (`data/mining_facts.csv`). At the CBECI default "
        "$0.05/kWh an S9's power bill (about $130/PH/day) sat near the hashprice of the months before the halving, "
        "so the model's S9s were partly idle and partly replaced by then (0.2% of its hashrate while machines "
        "switched off on their whole cash cost, before 2026-12-04, night), and the halving found fewer old "
        "machines to switch off; the real S9s ran on cheaper power than the backtest's one tariff per country.",
        "",
        "Tried and not kept (2026-12-03): China's power price in the backtest fitted with the rest, with this "
        "S9 share as one more data point (+-5 points). The fit put it at $0.037/kWh (+-0.010) and the S9 share "
        "rose to 16.8%; the 2020 dip deepened to -10.4%, China's 2025 share rose to 8.2%, the network's test "
        "error fell to 0.140 and the shares' to 2.9 points; but the network's fit error rose to 0.177, past "
        "issue 14's 0.163, as the capacities fell to keep the S9s from overshooting 2019, and the recovery "
        "after 2020 slowed to 22 weeks (data 8). One tariff for all of China cannot keep the S9s running and "
        "the growth of late 2019 both.",
        "",
        "Tried and not kept (2026-12-03): the 2020 dip in the fit, 2016 and 2024 the tests, as issue 14 "
        "allows. The sites' cost spread derived from a source instead of assumed (+-60%: miners' grid average "
        "~$0.05/kWh while many pay $0.07-0.08, Luxor 2022, `data/mining_facts.csv`; set after this grid had "
        "shown the dips' dependence on it, so not blind) and the switching speed fitted with the rest, the 2020 "
        "dip one more point (in units of the bound, 5 points). The speed came out at 0.21 a week (+-0.25); the "
        "weighted cost with the dip was 36.4, network errors 0.132 (fit) and 0.119 (test), shares 3.5 and 2.9 "
        "points; seed 0's dips 2016 +7.1%, 2020 -15.9% (recovery 16 weeks) and 2024 -8.4%, within its bound "
        "but with no recovery within 26 weeks (data 5), and the 2028 flat-price dip -34.6%. It traded 2024's "
        "dip for its recovery and left 2020's outside its bound, so it was not kept.",
        "",
        "Kept (2026-12-03): sites that machines are swapped into. Where the host allows mining and does not "
        "cap its power, miners refill, at `fill_per_year` (the pace at which a capped allocation is filled), "
        "the MW of sites whose machines will not pay at the hashprice expected on arrival, judged on the "
        "machine's price alone (the site is built); on arrival the new machines replace the least efficient "
        "ones MW for MW, and a ban cancels them. Refitted (no new parameter), the in-sample cost fell from "
        "36.1 to 32.5, the network's errors to 0.132 (fit) and 0.120 (test), the shares' test error from 4.2 to "
        "2.5 points, and China's 2025 share came within its bound; the 2024 recovery came within its bound "
        "too, but its dip shrank out of it, as the refills ordered for the machines the halving idles arrive "
        "as it comes (real miners' new machines came over months). A first prototype the same day, before "
        "miners switched on the hashprice they earn, refilled ahead of the halving and shrank every dip "
        "(2016 +4.6%, 2020 -1.7%, 2024 -4.7%) with a network test error of 0.161.",
        "",
        f"**Does the 2028 flat-price dip hang on the hurdle?** (A check, not a fit; seed 0.) {span}. Under a flat "
        "price the fleet grows until a new machine's return meets the hurdle, so the hashprice settles at the "
        "newest machines' cash cost plus their capital over their life, times (1 + hurdle); the halving then "
        "leaves mostly the newest paying. A higher hurdle keeps more margin and a shallower dip "
        f"({grid.dip.max():+.1%} at best), but {'none' if grid.dip.max() < history['dip'].min() else 'not every pair'} "
        f"of these reaches the historical range ({history['dip'].min():+.1%} to {history['dip'].max():+.1%}), "
        "whose halvings came after prices had risen; the fit puts the hurdle at its lowest. Nor does the miss "
        f"hang on the fits' uncertainty: over {len(draws)} draws of the fitted terms (the mining fit's and the "
        f"nowcast's, as the ensembles draw them; seeds 0-{len(draws) - 1}) the dip has a median of "
        f"{np.median(draws):+.1%} ({np.percentile(draws, 5):+.1%} to {np.percentile(draws, 95):+.1%}, 5-95%), "
        f"and {sum(flat_2028_in_range(d, history) for d in draws)} of them lie inside the historical range.",
        "",
        "Tried and not kept (2026-12-03): the hurdle held at 0 or above in the fit, so that a flat price "
        "would stop orders sooner. The fit took it to 0; its weighted cost rose from 36.1 to 42.9, the "
        "network's fit error to 0.170 (past issue 14's 0.163) and the 2028 flat-price dip was still -37.8% "
        "(seed 0). Nor was it the calendar: the MW a year the countries can add grown with the industry's "
        "trailing year of block reward in USD (to a fitted power) instead of a fitted rate a year, so that a "
        "flat price would stop the growth, fitted at a cost of 45.1 with a network fit error of 0.178 and "
        "dipped -37.7% in 2028: under a flat price the orders go on because the fitted hurdle lets them.",
        "",
        "Kept (2026-12-04): the 2016 fleet as it was. Until then the 2016 run held one machine, the S7, and "
        "ordered S9s from its first week, before the S9 went on sale (2016-06-01, CBECI's miners table; the "
        "scenario said so and did not act on it). Now its fleet is what was installed while each machine was "
        "the best on sale (the model's own rule for new machines; Blockchain.com's hashrate 2014-2016, "
        "`data/hashrate_2014_2016.csv`), machines older than the S3 left out (they cost more power than they "
        "earned in 2016), and orders are S7s until the S9's release (`mining.releases`); the world's capacity "
        "is rederived in proportion to the fleet's power, as before (197 -> 259 MW a year; 267 after the "
        "refit below). Nothing was fitted, but the change was made after the 2016 miss had been seen, so "
        "the test is not blind. Seed 0: "
        "dip +6.9% -> -4.2% (-10.1% as the data measure it; data -11.5%), still outside its bound; "
        "recovery 1 -> 7 weeks (data 4); the release alone (all S7s, the old capacity) gave +1.1%, the "
        "mix alone (S9s from the start) +5.4%. Over the window's 34 weekly points the log error fell from "
        "0.216 to 0.187, over the 9 before the halving from 0.083 to 0.033, but the run ends 2016 further "
        "above the data (3.22 EH/s against 2.41, +0.31 in logs, from +0.22): new S9s replace old machines "
        "MW for MW faster than the network grew. Installed, the fleet draws 0.56 GW (all S7s: 0.43); what "
        "runs drew 0.52 GW over May 2016 (0.43 before; CBECI's best guess 0.80, range 0.39-1.30; section 1d).",
        "",
        "Kept (2026-12-04): miners switch on the mean of what the week earns and the clearing hashprice "
        "(`mining.switch_anticipation` 0.5, assumed: a decision to switch holds for weeks, and a retarget "
        "comes on average half-way through two). Before, they switched on the week's hashprice alone, and "
        "after the 2028 halving the baseline swung by a third of the network every five or six weeks (mean "
        "weekly change 0.235 under a flat price, 0.204 on seed 0's prices; the data's 0.044-0.054): most of "
        "its machines sit near their cost, so they switched off, the difficulty fell two weeks later, they "
        "switched back on. Unrefitted the change barely moved the backtest (in-sample cost 31.45 -> 31.39); "
        "refitted (10 minutes) the cost fell to 30.99, the network's errors went from 0.133 / 0.124 to "
        "0.130 / 0.125 (fit / test) and the shares' from 3.4 / 3.5 to 3.4 / 3.7 points (20 seeds), Canada's "
        "2025 share from 3.5% to 2.7% (data 2.9%) and the moratorium factor from 0.24 to 0.00 (standard "
        "error 0.65). It costs the dips, already missed: 2016 -4.2% -> -3.6%, 2020 -4.1% -> -4.1%, 2024 "
        "-3.0% -> -2.1% (5 seeds); the 2028 flat-price dip eased from -59.1% to -49.9%.",
        "",
        "Kept (2026-12-04, later): miners buy the machines the market trades, not the flagship. Orders "
        "had been at the frontier's J/TH (the best on sale), and the backtest's running fleet averaged 24.7 "
        "J/TH in the week before the 2024 halving, younger than both published figures (28.2 surveyed, CCAF; "
        "34 from nonces, CoinShares; section 1d), so a halving found few machines near their cost. Now they "
        "are at `mining.bought_over_best` (1.244) times the frontier's J/TH, derived from the one market "
        "snapshot the data hold: the median J/TH of the four models of Luxor's RFQ market in June 2023 over "
        "the best of them (`data/asic_prices.csv`). Not blind: before deriving it, an unrefitted probe had "
        "shown that ratios of 1.25 and 1.5 deepen the dips. Refitted (11 minutes, the anticipation "
        "assumed at 0.5): in-sample cost 30.99 -> 32.33, network errors 0.137 / 0.143, dips -8.5 / -21.7 / "
        "-15.7% (5 seeds), recoveries 19 / 15 / none in 26 weeks, the 2028 flat-price dip -55.0%, and after it "
        "the flat-price baseline swung by 0.070 a week (the test's bound 0.054): a damped cycle of four to "
        "five weeks. Unrefitted, the in-sample cost fell as the anticipation rose (0, 0.25, 0.5, 0.75, 1: "
        "35.28, 33.55, 32.33, 31.64, 31.64), so it joined the fit, on the in-sample network and shares "
        "alone: 0.87 (standard error 0.43, from its profile), in-sample cost 31.52, the lead time 24 weeks "
        "(12: 35.98, 36: 33.00), the capacities about 1.6 times their MW a year (each MW holds fewer TH/s). "
        "Against the model before the change: network errors 0.130 / 0.125 -> 0.130 / 0.141 (fit / test), "
        "shares 3.4 / 3.7 -> 3.5 / 2.5 points (20 seeds), China's 2025 share 6.9% -> 9.3% (within its "
        "bound); dips -3.6 / -4.1 / -2.1% -> -8.0 / -19.1 / -13.1% (2016 and 2024 within their bounds, 2020 "
        "5.1 points short), recoveries 7 / 1 / 1 -> 19 / 23 / none in 26 weeks (all three now outside: "
        "the shallow dips had recovered at once); the 2028 flat-price dip -49.9% -> -43.5%, its swing 0.036 "
        "-> 0.019; the fleet before the 2024 halving 24.7 -> 29.7 J/TH, between the published figures, and "
        "2024's electricity 140 -> 167 TWh against CCAF's 138 (section 1d). Kept: the ratio comes from a "
        "source, it puts the fleet where the fleet data put it, and the fit does not reject it (the cost rose "
        "by about one residual variance before the anticipation was fitted). Why the recoveries are slow "
        "(seed 0): 165-200 EH/s of machines were in the pipeline through 2024's halving and arrived, but the "
        "running hashrate stayed at 560-590 EH/s for 20 weeks: at the hashprice the halving leaves (about "
        "$50/PH/day, a 30 J/TH machine's cash cost at the backtest's one $0.05/kWh) each arrival displaces "
        "an older machine near its cost. Probed, not refitted, not kept: every backtest tariff at CCAF's 2024 "
        "survey median ($0.045/kWh) gave dips -8.0 / -13.2 / -10.6% and recoveries 19 / 14 / none (network "
        "0.137 / 0.152); miners extrapolating the last year's price trend to arrival (weight 0.5 or 1) left "
        "the recoveries at 19 / 13-14 / 26 weeks with network test errors of 0.155-0.178; lead times of 12 "
        "and 36 weeks gave recoveries of 8 / 24 / none and 22 / 15 / none (the fit chose 24, and the lead "
        "time is not tuned on the recoveries).",
        "",
        "Tried and not kept (2026-12-04, with the 2016 fleet as it was): the switching speed fitted to the "
        "2016 halving alone, 2020 and 2024 the tests. The 2016 run's dip as the data measure it (block luck, "
        "100 seeds) has the data's -11.5% for its median at a speed of 0.9 a week (at 0.3: -6.5%; the data's "
        "dip lies inside the runs' 10-90% band from about 0.35 up, so the data bound the speed from below "
        "only). Not blind: the switching grid (then without the anticipation) had shown 2020's and 2024's dips "
        "at each speed. Unrefitted at "
        "0.9, the 2019 backtest's in-sample cost rose from 31.45 to 33.89 (network fit error 0.149) and its "
        "dips came to -17.7% (2020) and -9.3% (2024), 2024 within its bound; but the baseline under a flat "
        "price fell 98% at the 2028 halving and then cycled between about 30 and 3,000 EH/s every four "
        "weeks: its machines sit near their cost, and switched off and on at once against a difficulty two "
        "weeks behind. With the anticipation kept above, 0.6 and 0.9 a week still cycled (mean weekly change "
        "0.50 and 1.45 after 2028, the data's 0.04-0.05) and the dips were -7.9/-4.3/-5.4% and "
        "-10.0/-6.1/-7.5% (2016/2020/2024, seed 0). A cost spread of +-60% at 0.3 a week kept the baseline "
        "smooth (2028: -43%) but took 2016's dip to -1.6%. So the speed stays at its assumed 0.3.",
        "",
        "Kept (2026-12-04): the difficulty lags the hashrate by two weekly steps, not one. The protocol "
        "retargets every 2,016 blocks on the time the last 2,016 took, so after a step change the difficulty "
        "is wholly behind until the next retarget (0 to 2 weeks) and partly behind for two more: integrated "
        "over time a two-week gap whatever the phase (docs/ODD.md 7.6); one step halved it. Refitted (14 "
        "minutes; in-sample cost 32.49 -> 32.42), the network's errors went from 0.132 / 0.120 to 0.130 / "
        "0.124, the shares' from 3.5 / 2.5 to 3.5 / 3.3 points, and China's and Canada's 2025 shares left "
        "their bounds (China 9.6% -> 7.9%, Canada 5.1% -> 6.6%; section 1b); the dips deepened a little "
        "(2020 -5.2% -> -5.6%, 2024 -2.7% -> -3.5%), 2020's recovery came to 8 weeks (11), and the 2028 "
        "flat-price dip deepened from -43.4% to -58.7%: the hashprice stays low a week longer after the "
        "halving, and more machines switch off. An explicit retarget every two steps gave -50% or -63% "
        "there by its phase (not refitted), so two steps is not the cause of the depth, only its timing.",
        "",
        "Tried and not kept (2026-12-04, with the two-step lag): the switching speed fitted with the rest, the "
        "2020 dip one more data point (in units of the bound, 5 points), 2024 and 2016 the tests, as issue 14 "
        "allows; the cost spread kept as assumed (+-25%). Fit (10 minutes): speed 0.375 a week (+-0.32, from its "
        "profile), weighted cost 34.45 with the dip term; in sample 2020's dip came to -20.9% (recovery 14 weeks; "
        "data -24.2%, 8), but the tests did not follow: 2024 -4.7% (recovery 1 week; data -11.1%, 5), 2016 "
        "+7.1%. Network errors 0.136 (fit) and 0.113 (test), shares 3.5 and 3.8 points, the 2028 flat-price dip "
        "-60.0% (all seed 0). The speed moved little (0.3 -> 0.375); the 2020 dip came with the capacities and "
        "hurdle refitted around it (China's 824 -> 1,001 MW a year, the hurdle -0.89 -> -0.83), a fit of one "
        "point that did not carry over to the held-out halving, so it was not kept.",
        "",
        "Tried and not kept (2026-12-04, with the one-step lag): miners who count the halvings within a new "
        "machine's life. A machine "
        "is judged on the hashprice expected on arrival held over its three years, so a halving after arrival "
        "is not counted; weighting the hashprice by the mean block reward over the life instead (halvings known "
        "in advance, fees as now; a 2032 halving added to the baseline) cuts orders more the nearer the next "
        "halving. Refitted (9 minutes), the hurdle went to its lower bound (-0.90), the network's errors rose to "
        "0.178 (fit, past issue 14's 0.163) and 0.218 (test), the shares' test error to 5.2 points, and the "
        "dips (seed 0) shrank to +6.2%, +0.0% and +0.9%: fewer orders before a halving leave more margin, so "
        "fewer machines switch off at it. The 2028 flat-price dip eased to -32.9%, still outside the "
        "historical range. Tried again (2026-12-05) on the model kept since (machines switch off on their "
        "power bill; orders of 1.244 times the best's J/TH), the subsidy averaged exactly over the life: "
        "refitted (13 minutes), the hurdle on its bound again (-0.90, standard error 0.23), in-sample cost "
        "34.12 -> 47.74, network errors 0.214 / 0.184 (seed 0), dips -4.8 / -2.5 / +3.9% (5 seeds), Canada "
        "+17.2 points in five years of the flat-price baseline (the bound 15), the 2028 flat-price dip "
        "-33.4%. Not kept, by the rule set before the refit (no more of issue 14's checks missed).",
        "",
        "",
        "Kept (2026-12-04, evening): the idle machines that retire are the dearest sites'. A vintage's sites "
        "spread over +-`cost_spread` of its country's tariff, and the ones idle are the dearest; yet idle "
        "machines retired (`idle_retire_per_year`) in proportion across the whole vintage, so retiring idle "
        "machines took running ones too, and a vintage that had idled kept its dear sites for the next "
        "halving. Now a vintage keeps the cheaper part of its range (`kept`, `running_share`): what runs still "
        "runs, and what comes back when the hashprice rises is only what is still installed. No new parameter; "
        "made after the plateaus above had been seen, so not blind. Refitted (15 minutes): in-sample cost "
        "31.52 -> 31.37, network errors 0.130 / 0.141 -> 0.130 / 0.139, shares 3.5 / 2.5 points (20 seeds) "
        "unchanged, China's 2025 share 9.3% -> 9.1%; dips -8.0 / -19.1 / -13.1% -> -8.1 / -18.3 / -12.5% "
        "(2020's now 5.9 points short), recoveries 19 / 23 / none -> 19 / 16 / none (2020's within its "
        "bound), seed 0's plateaus -18.6 / -12.6% -> -17.8 / -11.9%; the 2028 flat-price dip -43.5% -> -43.7%. "
        "Small moves: before the 2020 and 2024 halvings almost every machine ran, so there was little idle to "
        "retire.",
        "",
        "Tried and not kept (2026-12-04, after the retirement above): the rate at which idle machines retire "
        "(`idle_retire_per_year`, assumed 0.5 a year) fitted with the rest, on the in-sample network and shares "
        "alone. The fit put it at 2.45 a year (standard error 2.95, from its profile) and lowered the in-sample "
        "cost from 31.37 to 29.80: with 41 in-sample points and 15 parameters, F(1, 25) = 1.3 (p = 0.26), and "
        "by 1.6 units of weighted squares, less than the 2 an extra parameter must earn (AIC), so the data do "
        "not ask for it and it stays assumed. Its tests, for the record (network seed 0, shares 20 seeds, "
        "halvings 5): network errors 0.132 / 0.140, shares 3.3 / 3.0 points, China's 2025 share 8.6% and 8.8% "
        "(out of its bound by 0.1 and by less than 0.05 points), dips -8.0 / -19.4 / -8.3% (all within their "
        "bounds), recoveries 19 / 24 / 1 weeks (2024's within, 2020's no longer), the 2028 flat-price dip "
        "-44.8%: the faster idle machines go, the fewer the halving finds near their cost in 2024, and the "
        "faster China's underground fleet shrinks.",
        "",
        "Kept (2026-12-04, night): machines switch off on their power bill. What switching a machine off "
        "saves is its power; its staff, upkeep and site are paid whether it runs or not (the short-run "
        "shutdown rule: revenue below the average variable cost). Until then a machine ran only while it "
        "covered its whole cash cost (power over its 80% share, CCAF 2025); now it runs while it covers its "
        "power bill (`running_cost_usd_per_th_day`), and so do the refills' judgement of which machines will "
        "not pay and mining's weekly bid for power. New machines are still judged on their whole cash cost and "
        "their price. No new parameter. Not blind: the plateaus above had been seen, and an earlier probe had "
        "switched running alone (above). Decided before the refit: keep it if the country shares and the "
        "network's fit error stay within issue 14's bounds, no more of the issue's checks are missed, and the "
        "plateaus come nearer the data's. Refitted (8 minutes) with the anticipation held at its assumed 0.5 "
        "(fitted with the rest it came to 0.02 with a standard error of 7.6: under this rule the network does "
        "not tell it; at 0.02 the flat-price baseline swung by 0.178 a week after 2028, past the test's 0.054): "
        "in-sample cost 31.37 -> 34.12 (41 points), the lead time 24 -> 12 weeks (profile: 34.12 / 37.58 / "
        "37.75 at 12 / 24 / 36), the hurdle still on its bound (-0.90, standard error 0.80), network errors "
        "0.130 / 0.139 -> 0.147 / 0.119 (fit / test; MAPE 10.0 / 11.7% -> 10.2 / 9.0%), shares 3.5 / 2.5 -> "
        "3.5 / 2.0 points (20 seeds), every country bound held (China's 2025 share 9.1% -> 10.3%). Halvings (5 "
        "seeds): dips -8.1 / -18.3 / -12.5% -> -7.4 / -5.5 / -3.7% (-9.8 / -7.8 / -7.0% as the data measure "
        "them), so 2024's leaves its bound and 2020's moves further out; recoveries 19 / 16 / none -> 8 / 14 / 1 "
        "weeks, all three within their bounds; seed 0's plateaus -17.8 / -11.9% -> -5.1 / -2.0% (data -0.8 / "
        "-3.3%), rises +29.5 / +6.7% -> +13.7 / +7.8% (data +13.2 / +10.1%), elasticities at the clearing 2.2 / "
        "2.7 -> 0.3 / 1.1; S9-class machines before 2020's halving 0.2% -> 8.1% of the hashrate (Coin Metrics "
        "~23%); the 2028 flat-price dip -43.7% -> -47.9%, its swing 0.019 -> 0.031; no pair of the switching "
        "grid now reaches 2020's dip (at most -19.2%, before -35.7%); the fleet before the 2024 halving 29.9 -> "
        "31.4 J/TH, 2024's electricity 168 -> 172 TWh. Four of issue 14's checks missed instead of five (the "
        "network's test error, the 2020 and 2024 dips, the 2028 flat-price dip), the out-of-sample network "
        "error down by a seventh, the in-sample fit worse by about two residual variances: kept, since the "
        "rule is the textbook one, not a fitted knob, and what it gets right (how far the network falls for "
        "a month after a halving, and how it grows back) is the smoothed response, where the dips it misses "
        "are one week's lows.",
        "",
        "Probed after it (2026-12-04, night; seed 0 for the network, 3 seeds for the dips), not kept. Why "
        "2020's dip is shallow: the backtest held 22.6 EH/s of S9-class machines at the halving, 19% of what "
        "was installed, but ran only 12.4 EH/s of them (10% of the hashrate) in the week before: in March and "
        "April 2020 the hashprice (about $120/PH/day) had sat below many S9 sites' power bill ($97-162 across "
        "the +-25% sites at $0.05/kWh). China's tariff at $0.04, $0.035 or $0.03 instead (unrefitted; Sichuan's "
        "dry-season thermal power was about 0.28 yuan, its wet-season hydro 0.08, 8btc 2019, not in `data/`): "
        "2020's dip -6.7%, -6.8% or -4.8%, cheaper power keeping S9s on after the halving too. Faster "
        "switching, 0.6 or 1 of the gap a week instead of 0.3: dips -9.1 / -7.0 / -7.1% or -10.2 / -11.8 / "
        "-10.0%, but the flat-price baseline cycles after 2028 (mean weekly change 0.39 or 1.12; the test's "
        "bound 0.054) and dips -68% or -89%. The hurdle at -0.5 or 0 (unrefitted): the 2028 flat-price dip "
        "-43% or -35%, with network errors of 0.19 / 0.19 or 0.27 / 0.32. Refills whenever a new machine's "
        "extra earnings over the one it replaces pay for its price (an upgrade, not only a refill of idle "
        "sites; the same hurdle), refitted (11 minutes): in-sample cost 35.91, the hurdle off its bound "
        "(-0.40, standard error 0.31), network errors 0.186 / 0.123 (the fit's past issue 14's 0.163), shares "
        "3.0 / 4.7 points, dips -8.5 / -4.7 / -4.9%, recoveries 7 / 1 / 1 weeks, the 2028 flat-price dip -45%. "
        "Switching at once (1 of the gap a week) on the clearing hashprice (anticipation 1), the frictionless "
        "limits of both assumptions (unrefitted): dips -9.8 / -8.7 / -7.1%, recoveries 8 / 16 / 10 weeks, no "
        "cycling after 2028 (0.002), the 2028 flat-price dip -39%, network errors 0.156 / 0.121; but 2020's "
        "plateau -6.4% against the data's -0.8%, outside the plateau test's 5 points, and chosen with all three "
        "halvings seen, so no halving would be left as a test.",
        "",
        "Tried and not kept (2026-12-05): the machines miners buy priced as the market priced them. The model"
        " prices a new machine at the flagships' price per W (`mining.machine_price_usd_per_w`, $0.80, the "
        "median of 15 public miners' purchases, nearly all of the best machine then on sale) times its J/TH, "
        "and buys machines of 1.244 times the best's J/TH (`mining.bought_over_best`), so it pays 1.244 times"
        " the flagship's price per TH/s for them. In the one market snapshot that gives the ratio (Luxor's "
        "RFQ market, June 2023, `data/asic_prices.csv`) the traded models sold for 0.719 times the best's "
        "price per TH/s (median $17.25 against the S19 XP's $24.00): the generations behind the flagship cost"
        " less per TH/s, not more. Priced so (a machine's capital per TH/s 42% lower; the machine the "
        "backtest orders in 2020 at $19.4/TH, against Riot's and Marathon's $19.2-20.9 for S19s), refitted "
        "(7.5 minutes): in-sample cost 34.12 -> 33.57, the hurdle still on its bound (-0.89, standard error "
        "0.42), the lead time 12 weeks, the capacities within their standard errors of before; network errors"
        " 0.147 / 0.119 -> 0.140 / 0.120 (fit / test), every country-share bound held (20 seeds); but the "
        "dips went from -7.4 / -5.5 / -3.7% to -5.7 / -4.5 / -2.7% (5 seeds), which takes 2016's out of its "
        "bound (5.8 points short), and 2020's rise to weeks 22-26 came to +19.4% against the data's +13.2%, "
        "outside the plateau test (seed 0); the 2028 flat-price dip -48.4%. Decided before the run: kept only"
        " if no more of issue 14's checks were missed; two more were, so the model still prices the machines "
        "it buys at the flagships' price per W, 1.73 times what the snapshot implies (Known gaps). What it "
        "shows: with the hurdle on its bound, orders run at the MW the countries can add whenever a new "
        "machine returns 10% over its capital, so the backtest hardly tells the machine's price (a 42% cut "
        "moved the in-sample cost by 0.55). Nor do new machines' prices follow the hashprice in the data: "
        "over the 24 dated prices of new machines of known efficiency in `data/asic_prices.csv` (purchases, "
        "preorders, option exercises, dealer and RFQ prices, 2020-05 to 2025-08; the secondary-market S19 and"
        " the 2025 clearance bundle left out), the log of USD per W on the log of the month's hashprice (the "
        "month's mean BTC price, reward and fees over the hashrate series interpolated in logs) has a slope "
        "of 0.32 (standard error 0.24), or 0.06 (0.19) without the S19 XP's launch price of June 2022 "
        "($2.49/W). Resellers' asks and the price indices for machines at once moved far more ($97/TH for "
        "25-38 J/TH in February 2022, about $3/W; $15.7/TH for under 38 J/TH in December 2022, about $0.5/W)."
        " So a constant price per W for orders is what the purchase data support, and the issue's ASIC $/TH "
        "over time enters through the J/TH of what is on sale (the frontier's trend and `mining.releases`). "
        "Nor is the hurdle's bound a matter of how steeply orders respond: with `mining.margin_scale` 0.2 "
        "instead of 1 (orders at full speed 0.2 above the hurdle), refitted (12 minutes), the hurdle stayed "
        "on its bound (-0.90, standard error 0.18), the in-sample cost fell to 31.54 and the network's fit "
        "error to 0.123, but its test error rose to 0.125 and the shares' test error to 4.3 points (lead time "
        "36 weeks); the backtest's growth asks for orders whenever a new machine covers its cash cost. Nor "
        "the level of the backtest's tariffs (CBECI's default $0.05/kWh for every country; the medians "
        "miners reported were about $0.03 in 2020, BitOoda for Fidelity, not in `data/`, and $0.045 in "
        "2024, CCAF): unrefitted at $0.04, $0.035 or $0.03 everywhere (3 seeds), 2020's dip came to -8.9%, "
        "-7.8% or -3.5% and 2024's to +0.1%, +1.3% or +1.5%, with network errors of 0.18 / 0.16 to 0.22 / "
        "0.26: cheaper power widens every machine's margin, so a halving idles fewer of them. At CCAF's "
        "measured $0.045 (2026-12-05, the same way): 2020 -6.9%, 2024 -1.9%, network 0.163 / 0.128.",
        "",
        "Probed, not refitted, not kept (2026-12-05; dips 2016 / 2020 / 2024 over 3 seeds, network fit / test "
        "and 2020's plateau and rise on seed 0): China's wet season. Sichuan's share of China's hashrate went "
        "from 14.9% to 61.1% in the 2020 wet season (CBECI, `data/countries.csv`), where miners paid 0.08 "
        "yuan/kWh, about $0.01 (Bitcoin.com 2019), or 0.25 yuan against 0.35 in Xinjiang and Inner Mongolia "
        "(8btc 2019); the season runs from April or May to October (8btc 2019, Cointelegraph 2020; all in "
        "`data/mining_facts.csv`). China's backtest tariff was multiplied in those months by 0.52 or 0.82: "
        "61.1% of its "
        "machines on the Sichuan price, as a share of the backtest's $0.05 ($0.011 / $0.05) or of the "
        "northern price (0.25 / 0.35 yuan), the rest unchanged. The 2019 path did not move: every "
        "machine ran through 2019, so its misfit (the model 19-21% high from April to June, 8-23% low in "
        "September and October) is not the season's. With the assumed switching, May to October: dips -7.4 "
        "/ +0.3 / -2.9% (x0.52) or -7.4 / -4.8 / -3.1% (x0.82), network 0.147 / 0.122 or 0.149 / 0.121: "
        "cheap hydro at and after the halving keeps machines on, so 2020's dip shrinks. Switching at once on "
        "the clearing hashprice (1 a week, anticipation 1; without the season -9.8 / -8.7 / -7.1%, 2020's "
        "plateau -6.4% against the data's -0.8%, recovery 16 weeks against 8): May to October x0.52 -9.8 / "
        "-2.9 / -6.3%, plateau -1.7% but a rise of +19.5% against +13.2%; x0.82 -9.8 / -8.5 / -6.4%, plateau "
        "-7.1%; April to October x0.52 -9.8 / -6.5 / -6.4%, plateau -5.3%, rise +21.2%. Only a season "
        "starting in June, which the sources do not give, put 2020's plateau and recovery on the data's "
        "(-0.5%, +18.1%, 8 weeks), with 2024's dip within its bound (-7.7%), every country-share bound held "
        "(20 seeds), network 0.160 / 0.123 and the 2028 flat-price dip -39.4%; but 2020's dip stayed at "
        "-8.8%, and a calendar picked for the halving's timing would be fitted to the test. The data's "
        "-24.2% was one week's low (to 2020-05-25; pre 119.0 EH/s, `data/halving_dips.csv`): -13.3% the week "
        "after, -6.4% the week after that.",
        "",
        *season_end.markdown(window_series(), history),
        "Probed, not refitted, not kept (2026-12-05; dips over 5 seeds, the rest seed 0): the move itself. "
        "46.2% of China's machines (Sichuan's share of China's hashrate, 14.9% to 61.1% in the 2020 wet "
        "season, CBECI) off the network for one week, the week holding May 15 (the season's start: April or "
        "May in the sources, May read at its middle) and the week holding October 31 (its end, late "
        "October), in 2019, 2020 "
        "and 2021 (before China's ban; the data's autumn drop above lasted a week), nothing else changed. "
        "2020's dip came to -25.4% (-22.5% as measured; data -24.2%), within its bound, recovery 14 weeks "
        "(data 8); 2016's and 2024's did not move (-7.4%, -3.7%); the autumn 2020 drop came to -19.7% (the "
        "data's -24.0% on the weekly values); network 0.146 / 0.119. But the dip is the move's, not the "
        "halving's: in the week after the halving, before the move, the model stood -0.2% against its pre "
        "level. The move of 2019-05-15 fell on the monthly mean of May 2019, which the backtest compares with "
        "its nearest week (log error +0.21 -> -0.11); compared month for month (the model's monthly means "
        "against the data's 13 of 2019-20) the fit error is 0.1475 without the move and 0.1465 with it. And "
        "the week and the length were read from the sources and the autumn drop with 2020's dip seen. With "
        "frictionless switching as well (1 a week, anticipation 1; 3 seeds) 2020's dip overshot (-29.8%) while 2024's "
        "came within its bound (-7.1%). Refitted with the move (13 minutes, in a worktree not merged): "
        "in-sample cost 34.12 -> 35.25 (lead time 12 weeks, the hurdle on its bound), network 0.144 / 0.119, "
        "every country-share bound held (shares 3.6 / 2.4 points, 20 seeds), the flat-price baseline's "
        "15-point rule held, dips -7.4 / -25.5 / -3.8% (5 seeds; -9.7 / -25.2 / -6.7% as measured), "
        "recoveries 8 / 14 / 1 weeks, all within their bounds, the 2028 flat-price dip -48.0%: three of issue "
        "14's checks missed instead of four. But 2020's rise to weeks 22-26 came to +6.5% against the data's "
        "+13.2% (both hold the autumn drop, in week 25), outside the plateau test. Made part of the model (a "
        "dated move in the backtest's China; the baseline's China is banned and would not move), it wants "
        "that refit, and with it the golden outputs and the README's numbers: the next step, not taken here.",
        "",
        "Kept (2026-12-05, refitted): the move as a dated `seasonal_move` shock of the 2019 backtest "
        "(`experiments/scenarios/backtest_hashrate_2019.toml`, sources there): 46.2% of China's machines off "
        "the network for a week from May 15 of 2019, 2020 and 2021 and from October 31 of 2019 and 2020 (none "
        "after China's provinces shut mining in June 2021; the baseline's China is banned and has none). "
        "Decided before the refit: keep if every country-share bound held, the network fit stayed within 0.163 "
        "and its test error did not grow, 2020's dip came within its bound and none of issue 14's other checks "
        "was newly missed; the plateau test's bound stays and a miss of it is stated (the probe's refit above "
        "had already shown 2020's rise outside it). Refit (13 minutes): in-sample cost 34.12 -> 35.25, lead "
        "time 12 weeks, the hurdle on its bound; network 0.147 / 0.119 -> 0.144 / 0.119; dips -7.4 / -5.5 / "
        "-3.7% -> -7.4 / -25.5 / -3.8% (5 seeds), recoveries 8 / 14 / 1 weeks, all within; every country-share "
        "bound and the flat-price 15-point rule held; the 2028 flat-price dip -47.9% -> -48.0%. So three of "
        "issue 14's checks are missed instead of four, and the plateau test's 2020 rise is missed (+6.5% "
        "against +13.2%): both windows now hold the autumn move, and before it the model stood at 124-127 EH/s "
        "in mid-October against the data's 139-141, so from June it grows too slowly (as in 2019, when it ran "
        "8-23% low in September and October); without the move its missing autumn drop hid that. What the "
        "move does not show is that the model's response to a halving is right: 2020's dip within its bound "
        "is the move's (the week after the halving, before the move, the model stood -0.1% against its pre "
        "level), and the move's week and length were chosen with 2020's dip seen, so 2020 no longer tests the "
        "response to a halving; 2016 and 2024 do.",
        "",
        "Probed, not refitted, not kept (2026-12-05, seed 0, on the model with the moves): China's capacity "
        "to add MW concentrated in the wet season, for the plateau test's 2020 miss and the 2019 path (the "
        "model about 20% high in April and June 2019, 7-21% low in September and October). The MW a year "
        "China can add went by the month its orders arrive: a share w of the year's additions arriving from "
        "May to October (0.5 in the model). At w 0.75, 2020's rise came to +8.1% (data +13.2%); at w 1 "
        "(nothing added from November to April) to +12.2%, within the bound. But the network's errors went "
        "from 0.144 / 0.119 to 0.149 / 0.122 and 0.156 / 0.124, the test window's among them, and the model "
        "fell further below the 2020 halving day's single estimate (log error -0.21 -> -0.25 and -0.29). No "
        "source gives the share, and fitted it would be one more parameter for one seasonal pattern, so China "
        "adds its MW evenly over the year (script: a monkeypatch of `MiningSector.capacity_mw_per_year`).",
        "",
        "Tried and not kept (2026-12-05, refitted in a worktree not merged; rule written before the refit): "
        "the machines released during the 2019 backtest as `mining.releases`, as the 2016 run has them: the "
        "S19 Pro (29.5 J/TH) from 2020-05 and the S19 XP (21.5 J/TH) from 2022-Q3 (`data/mining_facts.csv`), "
        "where the frontier's trend gives 33.8 and 24.7 J/TH. Why: from 2020-03 to 2020-10 China's orders "
        "ran at 9-44% of the MW it could add (the return expected at arrival near the hurdle), so the model "
        "grew too slowly through 2020's summer, while the S19s shipped then. Unrefitted, 2020's rise came to "
        "+17.1% (data +13.2%, within) with network errors 0.155 / 0.119. Refitted (in-sample cost 35.25 -> "
        "35.22, lead time 12 weeks, the hurdle on its bound): network 0.145 / 0.134, the test window worse "
        "(2025-04-05 -0.26 against -0.20; shares 3.5 / 1.8 points); 2020's rise +16.4% and 2024's plateau "
        "+0.1% (data -3.3%), both within; dips -7.3 / -25.5 / -1.6% (seed 0), 2024's further from the data. "
        "Kept only if the test error did not grow; it did, so the backtest's frontier stays on its trend.",
        "",
        "Probed, not refitted, not kept (2026-12-05, seed 0): a financing brake on orders, for the 2028 "
        "flat-price dip. In the flat-price baseline miners spend $7.5bn on machines and sites in 2026 and "
        "$11.6bn in 2027 while the fleets' cash margin (revenue less the cash cost of what runs) is $0.5bn and "
        "-$0.4bn; in the 2019 backtest they spent 0.5-5.2 times each year's margin (0.34-0.75 of revenue: "
        "miners also raise equity and debt). With the sector's orders and refills over any 52 weeks held to "
        "kappa times its margin over them (all scaled down together), at kappa 5.24 (the backtest's largest "
        "year) or 3, the flat-price baseline held 1,713 or 1,680 EH/s before the 2028 halving instead of 2,094 "
        "and still dipped -46.6% or -46.1%, with network errors of 0.157 / 0.119 or 0.181 / 0.113. A brake "
        "slows the approach to the return at which orders stop; it does not move that return, so the halving "
        "still meets a fleet near its power bill.",
        "",
        "Tried and not kept (2026-12-05, refitted in a worktree not merged; rule written before the refit): "
        "miners who count the halvings within a new machine's life and extrapolate the BTC price's trend. "
        "Unrefitted, a new machine judged on the mean clearing hashprice over its three years (the halvings in "
        "them counted) with the hurdle at +0.5 took the 2028 flat-price dip to -22.6% (at 0: -26.7%), within "
        "the historical range, but with no price expectation the backtest could not grow (network errors "
        "0.51 / 0.47). So the price's trailing 52-week log trend, extrapolated over arrival and half the life "
        "at a weight K (0 to 1.5), joined the fit with the hurdle (started at +0.5). The fit took K to its "
        "bound (1.5, standard error 0.64) and the hurdle back down to -0.54 (0.28), the lead time to 36 weeks: "
        "in-sample cost 35.25 -> 40.37, network errors 0.144 / 0.119 -> 0.194 / 0.254, shares 3.6 / 2.4 -> "
        "3.3 / 6.5 points; dips -8.1 / -29.3 / +1.9% (3 seeds), 2016's recovery 25 weeks (data 4); the 2028 "
        "flat-price dip -43.8%. Kept only if no check was newly missed and one missed check was met; neither "
        "held. As on 2026-12-03, the backtest's growth is fitted about as well by price expectations as by a "
        "low hurdle, the test window (2025, after 2024's doubling of the price) rejects the expectations, and a "
        "hurdle high enough to stop a flat-price fleet's orders while most of it still pays after a halving "
        "leaves the backtest unable to grow.",
        "",
    ]


def grid_markdown(grid: pd.DataFrame, history: pd.DataFrame, assumed: float = float("nan"),
                  no_refill: float = float("nan")) -> list[str]:
    """Could the two assumed parameters reach the data? The ranges over the grid; ``no_refill``
    the 2024 dip without refills (seed 0)."""
    data = dict(zip((d.year for d in history.halving), history.dip))
    span = "; ".join(f"{year} {grid[f'dip_{year}'].min():+.1%} to {grid[f'dip_{year}'].max():+.1%} "
                     f"(data {data[year]:+.1%})" for year in (d.year for d in HALVINGS))
    within = {d.year: (grid[f"dip_{d.year}"] - data[d.year]).abs() * 100 <= BOUND_DIP_PP for d in HALVINGS}
    close = within[HALVINGS[2].year]  # 2024's dip in its bound
    recovered = grid.recovery_2024[close].dropna()
    fastest = f"{recovered.min():.0f} weeks" if len(recovered) else "none within 26 weeks"
    fits = grid[np.logical_and.reduce([within[d.year] for d in HALVINGS])]
    both = grid[within[HALVINGS[1].year] & within[HALVINGS[2].year]]
    both_pairs = ", ".join(f"{r.switch:g}/{r.spread:g}" for r in both.itertuples()) or "none"
    switch, spread = (", ".join(f"{v:g}" for v in SWITCHING_GRID[k]) for k in SWITCHING_GRID)
    cobweb = grid[grid.autocorrelation < COBWEB_AUTOCORRELATION]
    pairs = ", ".join(f"{r.switch:g}/{r.spread:g}" for r in cobweb.itertuples()) or "none"
    all_pairs = ", ".join(f"{r.switch:g}/{r.spread:g}" for r in fits.itertuples()) or "none"
    dipped = int((grid[f"dip_{HALVINGS[0].year}"] < 0).sum())
    return [
        "**Could the two assumed parameters close the gap?** (A check, not a fit: seed 0, every pair",
        f"of switching speed {switch} a week and cost spread +-{spread}.) Dips over the grid: {span}.",
        f"Where 2024's dip is within its bound ({int(close.sum())} pairs), its recovery takes at best {fastest} (data "
        f"{float(history.loc[history.halving == HALVINGS[2], 'weeks_to_new_high'].iloc[0]):.0f}); "
        f"{len(fits)} of {len(grid)} pairs put all three dips within +-{BOUND_DIP_PP:g} points ({all_pairs}), "
        f"{len(both)} the 2020 and 2024 dips both (switching speed/spread: {both_pairs}). Chosen by this grid, "
        "such a pair would have been fitted to the test halvings. The 2016 network-only run dips at "
        f"{dipped} of {len(grid)} pairs, the deeper the faster miners switch. Besides these two, what the "
        "fleets have and order around a halving shapes the 2019 backtest's dips",
        "(the 2020 fleet has almost no S9s left to switch off;",
        "after 2024 new machines keep arriving while the older ones switch off; with no refills",
        f"(`fill_per_year` 0, not refitted), its dip is {no_refill:+.1%}).",
        "Pairs whose backtest oscillates (switching speed/spread; the lag-1 autocorrelation of its weekly log",
        f"changes below {COBWEB_AUTOCORRELATION:g}: machines switching on and off against the difficulty's lag,",
        f"a cobweb): {pairs}. Their dips are the cobweb's, not a response to the halving"
        + (f" (the scenario's own pair: {assumed:+.2f})." if not np.isnan(assumed) else "."),
        "",
    ]
