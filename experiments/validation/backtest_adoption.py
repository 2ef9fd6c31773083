"""Backtests 2 and 3: households against measured adoption.

Shared by ``crypto-abm calibrate households`` (experiments/validation/calibrate_households.py) and
``crypto-abm validate``.

**Cross-country adoption** (scenario ``calibration_adoption``): every country with a
measured ownership share (Triple-A, ``data/crypto_activity.csv``) and its covariates in
``data/`` runs from the same small seed on 2015-01-01 under the historical BTC price, the
dated stance changes and the yearly share of people online (``internet_path``); the
modelled share of people adopting is compared with the measured share at the
measurement's date on the logit scale (a 10% relative error weighs about alike at 5% and
at 30% ownership). Each country weighs alike (USA and ARE have two
Triple-A figures, the others one). Countries without an ownership figure but with
Chainalysis adoption ranks (BGD, NPL, AFG) run along for the rank check, not fitted.

**El Salvador** (scenario ``backtest_el_salvador_2021``): the share of people who used
Bitcoin for a purchase in a year (UCA-IUDOP surveys) is read as the model's share of
people who were adopters at some time in that calendar year (an annual prevalence); the
law and its wallet bonus are a stance change to legal tender and an
``adoption_incentive`` shock on 2021-09-07.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Mapping

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from model.model import CryptoAdoptionModel
from model.scenario import load_scenario, package_file

SCENARIO = "calibration_adoption"
EL_SALVADOR = "backtest_el_salvador_2021"
DATA = package_file("data")
LOGIT_FLOOR = 1e-4  # shares are clipped to [floor, 1 - floor] before the logit

# When a figure is compared with the model: Triple-A's "2023 data" at the end of 2023; its
# 2024 report (May 2024) at its publication; a Chainalysis index year Y (activity from
# July Y-1 to June Y) at the end of June Y.
TRIPLE_A_DATES = {"2023": dt.date(2023, 12, 31), "2024": dt.date(2024, 5, 1)}
# PAK has Triple-A owners but no published percentage: owners / Triple-A's population basis.
PAK_OWNERS, PAK_POPULATION_BASIS = 15_879_216, 240_485_658  # data/crypto_activity.csv (row and its note)

# El Salvador: share of people using Bitcoin for a purchase in the year (UCA-IUDOP
# annual surveys; data/countries.csv, SLV ownership basis; published_models.csv).
SLV_USAGE = {2021: 25.7, 2022: 21.0, 2023: 12.0, 2024: 8.1}
SLV_FIT_YEARS = (2021, 2022)    # the incentive is fitted to these
SLV_TEST_YEARS = (2023, 2024)   # and tested on these


def logit(p):
    p = np.clip(np.asarray(p, dtype=float), LOGIT_FLOOR, 1.0 - LOGIT_FLOOR)
    return np.log(p / (1.0 - p))


# ===================================================================== data
def ownership_targets(countries: list[str] | None = None) -> pd.DataFrame:
    """Measured ownership (share of population) with the date it is compared at.

    Columns: country, date, share, source. Only countries of the calibration scenario
    (they have covariates); SAU's Triple-A figures have none in data/ and are left out.
    """
    act = pd.read_csv(DATA / "crypto_activity.csv")
    rows = act[(act.metric == "tripleA_ownership_pct") & act.value.notna()
               & act.period.astype(str).isin(TRIPLE_A_DATES)]
    out = [{"country": r.iso3, "date": TRIPLE_A_DATES[str(r.period)], "share": float(r.value) / 100.0,
            "source": r.source} for r in rows.itertuples()]
    out.append({"country": "PAK", "date": TRIPLE_A_DATES["2023"], "share": PAK_OWNERS / PAK_POPULATION_BASIS,
                "source": "Triple-A 2023 data: 15,879,216 owners / population basis 240,485,658 (derived)"})
    df = pd.DataFrame(out)
    keep = countries if countries is not None else household_countries()
    return df[df.country.isin(keep)].sort_values(["country", "date"]).reset_index(drop=True)


def chainalysis_ranks() -> pd.DataFrame:
    """Chainalysis Global Crypto Adoption Index ranks by country and index year: the rows
    of data/crypto_activity.csv, completed by data/countries.csv (column
    chainalysis_adoption_rank, "rank (year)" pairs) where the former has none.

    The United States' 2021 rank is left out: data/crypto_activity.csv notes that it was
    reported inconsistently.
    """
    act = pd.read_csv(DATA / "crypto_activity.csv")
    act = act[(act.metric == "chainalysis_global_crypto_adoption_index_rank") & act.value.notna()]
    rows = {(r.iso3, int(r.period)): int(r.value) for r in act.itertuples()}
    c = pd.read_csv(DATA / "countries.csv")
    for r in c.itertuples():
        text = r.chainalysis_adoption_rank if isinstance(r.chainalysis_adoption_rank, str) else ""
        for rank, year in re.findall(r"(\d+)\s*\((\d{4})\)", text):
            rows.setdefault((r.iso3, int(year)), int(rank))
    rows.pop(("USA", 2021), None)
    return pd.DataFrame([{"country": k[0], "year": k[1], "rank": v} for k, v in sorted(rows.items())])


@lru_cache(maxsize=8)
def household_countries(scenario: str = SCENARIO) -> tuple[str, ...]:
    cfg = load_scenario(scenario).config
    return tuple(code for code, c in cfg.countries.items() if c.has_households)


# ===================================================================== cross-country runs
def snapshot_dates(targets: pd.DataFrame, years: list[int]) -> list[dt.date]:
    return sorted(set(targets.date) | {dt.date(y, 6, 30) for y in years})


def run_adoption(overrides: Mapping | None = None, seed: int = 0, households: int | None = None,
                 dates: list[dt.date] | None = None, scenario: str = SCENARIO) -> pd.DataFrame:
    """Modelled adoption share per household country at the given dates (rows: dates)."""
    extra = dict(overrides or {})
    if households is not None:
        extra.update({"run.households": households,
                      "run.household_floor": households // len(household_countries(scenario))})
    m = CryptoAdoptionModel(config=load_scenario(scenario, extra), seed=seed)
    rows = {}
    for d in sorted(dates or []):
        m.run(until=d)
        rows[d] = {code: m.countries[code].adoption_rate for code in m.household_countries}
    return pd.DataFrame.from_dict(rows, orient="index")


def compare_ownership(modelled: pd.DataFrame, targets: pd.DataFrame) -> pd.DataFrame:
    """Per target: data and model share, logit and log errors."""
    model_share = [float(modelled.loc[r.date, r.country]) for r in targets.itertuples()]
    out = targets.assign(model=model_share)
    out["logit_error"] = logit(out.model) - logit(out.share)
    out["log_ratio"] = np.log(np.clip(out.model, LOGIT_FLOOR, None) / out.share)
    return out


def country_errors(points: pd.DataFrame) -> pd.Series:
    """Mean squared logit error per country (each country weighs alike)."""
    return points.groupby("country").logit_error.apply(lambda e: float(np.mean(e**2)))


def rmse_logit(points: pd.DataFrame) -> float:
    return float(np.sqrt(country_errors(points).mean()))


def rank_correlations(modelled: pd.DataFrame, ranks: pd.DataFrame | None = None) -> pd.DataFrame:
    """Spearman correlation between modelled adoption at the end of June of an index year
    and the Chainalysis rank (rank 1 = most adoption, so the sign is flipped), per year,
    over the household countries that have a rank that year."""
    ranks = chainalysis_ranks() if ranks is None else ranks
    out = []
    for year, grp in ranks.groupby("year"):
        d = dt.date(year, 6, 30)
        grp = grp[grp.country.isin(modelled.columns)]
        if d not in modelled.index or len(grp) < 3:
            continue
        model = modelled.loc[d, grp.country].to_numpy(dtype=float)
        rho = spearmanr(model, -grp["rank"].to_numpy()).statistic
        out.append({"year": int(year), "countries": ", ".join(f"{c} {r}" for c, r in zip(grp.country, grp["rank"])),
                    "n": len(grp), "spearman": float(rho)})
    return pd.DataFrame(out)


def data_rank_correlation(targets: pd.DataFrame | None = None, ranks: pd.DataFrame | None = None) -> dict:
    """The same correlation for the measured ownership (Triple-A 2023 data) against the 2024
    index ranks: how far the two measures agree with each other (a ceiling of sorts)."""
    targets = ownership_targets() if targets is None else targets
    ranks = chainalysis_ranks() if ranks is None else ranks
    own = targets[targets.date == TRIPLE_A_DATES["2023"]].set_index("country").share
    r = ranks[ranks.year == 2024].set_index("country")["rank"]
    both = own.index.intersection(r.index)
    rho = spearmanr(own[both].to_numpy(), -r[both].to_numpy()).statistic if len(both) >= 3 else float("nan")
    return {"countries": ", ".join(both), "n": len(both), "spearman": float(rho)}


# ===================================================================== El Salvador
@dataclass
class ElSalvadorRun:
    usage: pd.DataFrame      # year, data, model (annual prevalence), model_point (share at year end), window
    weekly: pd.Series        # date -> share adopting


def run_el_salvador(overrides: Mapping | None = None, seed: int = 0, households: int | None = None,
                    scenario: str = EL_SALVADOR, until: dt.date = dt.date(2024, 12, 31)) -> ElSalvadorRun:
    """Run the El Salvador backtest and read its survey measure year by year."""
    extra = dict(overrides or {})
    if households is not None:
        extra.update({"run.households": households, "run.household_floor": households})
    m = CryptoAdoptionModel(config=load_scenario(scenario, extra), seed=seed)
    block = m.households.country == m.household_countries.index("SLV")
    ever: dict[int, np.ndarray] = {}
    weekly, year_end = {}, {}
    while True:
        now = m.households.adopted[block]
        year = m.date.year
        ever[year] = now.copy() if year not in ever else (ever[year] | now)
        weekly[m.date] = year_end[year] = float(now.mean())
        if m.t >= len(m.dates) - 1 or m.date >= until:
            break
        m.step()
    rows = [{"year": y, "data": SLV_USAGE[y] / 100.0, "model": float(ever[y].mean()), "model_point": year_end[y],
             "window": "fit" if y in SLV_FIT_YEARS else "test"} for y in sorted(SLV_USAGE) if y in ever]
    usage = pd.DataFrame(rows)
    usage["logit_error"] = logit(usage.model) - logit(usage.data)
    return ElSalvadorRun(usage, pd.Series(weekly))


def el_salvador_errors(usage: pd.DataFrame) -> dict[str, float]:
    def rmse(w):
        e = usage.loc[usage.window == w, "logit_error"]
        return float(np.sqrt(np.mean(e**2))) if len(e) else float("nan")

    peak = usage.loc[usage.model.idxmax(), "year"]
    return {"rmse_logit_fit": rmse("fit"), "rmse_logit_test": rmse("test"),
            "mape": float(np.mean(np.abs(usage.model / usage.data - 1.0))),
            "peak_year": int(peak), "decay_2021_2024": float(usage.model.iloc[-1] / usage.model.iloc[0])}


# ===================================================================== validation reports
FIT_TABLE = package_file("experiments", "calibration", "households_fit.csv")
RANK_YEARS = (2020, 2021, 2022, 2023, 2024)


@dataclass
class AdoptionReport:
    """Backtest 3: the calibrated rule across countries, over seeds."""

    points: pd.DataFrame      # per measured point: share, model (seed mean), model_min, model_max, logit_error,
                              # loo_model, loo_logit_error (from the calibration table; NaN if absent)
    modelled: pd.DataFrame    # seed-mean share per snapshot date (rows) and country
    ranks: pd.DataFrame       # year, countries, n, spearman
    data_rank: dict
    rmse_logit_fit: float
    rmse_logit_loo: float
    seeds: int
    rmse_logit_prior: float = float("nan")   # the values assumed before calibration (from the table)


def adoption_backtest(seeds: range = range(5), households: int | None = None) -> AdoptionReport:
    targets = ownership_targets()
    dates = snapshot_dates(targets, list(RANK_YEARS))
    runs = [run_adoption(seed=10_000 + s, households=households, dates=dates) for s in seeds]
    modelled = sum(runs) / len(runs)
    points = compare_ownership(modelled, targets)
    stack = np.stack([[r.loc[t.date, t.country] for t in targets.itertuples()] for r in runs])
    points["model_min"], points["model_max"] = stack.min(axis=0), stack.max(axis=0)
    points["loo_model"] = points["prior_model"] = np.nan
    if FIT_TABLE.exists():
        table = pd.read_csv(FIT_TABLE, parse_dates=["date"])
        table["date"] = table.date.dt.date
        table = table.set_index(["country", "date"])
        for column in ("loo_model", "prior_model"):
            if column in table:
                points[column] = [table[column].get((r.country, r.date), np.nan) for r in points.itertuples()]
    points["loo_logit_error"] = logit(points.loo_model) - logit(points.share)

    def rmse_of(errors) -> float:
        per_country = pd.Series(np.asarray(errors) ** 2, index=points.index).groupby(points.country).mean()
        return float(np.sqrt(per_country.mean()))

    prior = rmse_of(logit(points.prior_model) - logit(points.share))
    return AdoptionReport(points, modelled, rank_correlations(modelled), data_rank_correlation(targets),
                          rmse_logit(points), rmse_of(points.loo_logit_error), len(runs), prior)


@dataclass
class ElSalvadorReport:
    """Backtest 2: El Salvador's legal-tender episode, over seeds, and without the bonus."""

    usage: pd.DataFrame       # year, data, model (seed mean), model_min, model_max, model_point, window, logit_error
    band: pd.DataFrame        # date x seed: share adopting each week
    no_bonus: pd.DataFrame    # the same years with the bonus switched off (seed mean)
    errors: dict


def el_salvador_backtest(seeds: range = range(5), households: int | None = None) -> ElSalvadorReport:
    runs = [run_el_salvador(seed=s, households=households) for s in seeds]
    usage = runs[0].usage[["year", "data", "window"]].copy()
    models = np.stack([r.usage.model.to_numpy() for r in runs])
    usage["model"], usage["model_min"], usage["model_max"] = models.mean(0), models.min(0), models.max(0)
    usage["model_point"] = np.mean([r.usage.model_point.to_numpy() for r in runs], axis=0)
    usage["logit_error"] = logit(usage.model) - logit(usage.data)
    off = [run_el_salvador({"shocks.slv_chivo_bonus.enabled": False}, seed=s, households=households).usage
           for s in seeds]
    no_bonus = off[0][["year", "data"]].assign(model=np.mean([o.model.to_numpy() for o in off], axis=0))
    band = pd.DataFrame({s: r.weekly for s, r in zip(seeds, runs)})
    return ElSalvadorReport(usage, band, no_bonus, el_salvador_errors(usage))
