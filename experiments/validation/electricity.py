"""Electricity use, an output the model is never fitted to: the backtests' network power
against the range of the Cambridge Bitcoin Electricity Consumption Index (CBECI) month by
month (2016 around the halving, 2019), and the 2019 backtest's 2024 use against CCAF's
figure, with its running fleet's efficiency before the 2024 halving beside the published
fleet estimates.

CBECI's range is the data's own statement of what it allows: its floor puts every miner on
the most efficient machine on sale, its ceiling on the least efficient still paying, so a
modelled fleet outside it runs machines that were not on sale or would not pay. Its best
guess (an even basket of the paying machines) is reported, not used as a bound.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from data import table
from experiments.validation.backtest import EARLY, FACTS, SCENARIO, running_vintages, world_series
from model.model import CryptoAdoptionModel
from model.scenario import load_scenario
from model.units import TH_PER_EH

POWER = table("mining_power_cbeci.csv")
RUNS = (EARLY, SCENARIO)
ENERGY_YEAR = 2024  # CCAF's yearly use (data/mining_facts.csv, category energy)
FLEET_DATE = dt.date(2024, 4, 13)  # the week before the 2024 halving (2024-04-20)
MWH_PER_TWH = 1e6
WH_PER_TWH = 1e12


@dataclass
class ElectricityReport:
    months: pd.DataFrame   # run, month, model_gw, guess_gw, min_gw, max_gw, within
    twh: float             # the 2019 backtest's use in ENERGY_YEAR
    twh_data: float        # CCAF's
    hashrate_ehs: float    # the 2019 backtest's mean network hashrate in ENERGY_YEAR
    fleet_j_per_th: float  # its running fleet's J/TH (machines only) in the week before the 2024 halving
    fleet_facts: pd.DataFrame  # data/mining_facts.csv, category fleet_efficiency
    pue: float             # the 2019 backtest's data-centre overhead


def monthly(power_mw: pd.Series, cbeci: pd.DataFrame) -> pd.DataFrame:
    """Monthly means of a run's weekly network power (MW, by date) beside CBECI's monthly
    means of its daily guess and range (GW), for the months both cover, and whether the
    model lies within the range."""
    model = (pd.Series(power_mw.to_numpy() / 1e3, index=pd.to_datetime(power_mw.index))
             .resample("MS").mean().rename("model_gw"))
    data = cbeci.set_index("date")[["guess_gw", "min_gw", "max_gw"]].resample("MS").mean().dropna()
    both = data.join(model, how="inner").dropna()
    return both.assign(within=(both.model_gw >= both.min_gw) & (both.model_gw <= both.max_gw))


def running_efficiency(model: CryptoAdoptionModel) -> float:
    """J/TH of the machines running now, all fleets, weighted by their TH/s (at the machine,
    before data-centre overhead)."""
    on, eff = running_vintages(model)
    return float((on * eff).sum() / on.sum())


def in_year(series: pd.Series, year: int) -> pd.Series:
    """The values of a series by date that fall in ``year``."""
    return series[[d.year == year for d in series.index]]


def hours_in(year: int) -> int:
    return 24 * (dt.date(year + 1, 1, 1) - dt.date(year, 1, 1)).days


def yearly_twh(power_mw: pd.Series, year: int) -> float:
    """A year's use, TWh: the mean of the weekly network power in that year times its hours."""
    return float(in_year(power_mw, year).mean()) * hours_in(year) / MWH_PER_TWH


def run(seed: int = 0) -> ElectricityReport:
    cbeci = pd.read_csv(POWER, parse_dates=["date"])
    early = CryptoAdoptionModel(config=load_scenario(EARLY), seed=seed).run()
    backtest = CryptoAdoptionModel(config=load_scenario(SCENARIO), seed=seed)
    fleet = running_efficiency(backtest.run(until=FLEET_DATE))  # read on the way, then to the end
    backtest.run()
    power = {name: world_series(m, "mining_power_mw") for name, m in ((EARLY, early), (SCENARIO, backtest))}
    months = pd.concat([monthly(p, cbeci).assign(run=name) for name, p in power.items()])
    facts = pd.read_csv(FACTS)
    energy = facts[(facts.category == "energy") & (facts.date.astype(str) == str(ENERGY_YEAR))]
    return ElectricityReport(months.rename_axis("month").reset_index(), yearly_twh(power[SCENARIO], ENERGY_YEAR),
                             float(energy.value.iloc[0]),
                             float(in_year(world_series(backtest, "hashrate_ehs"), ENERGY_YEAR).mean()), fleet,
                             facts[facts.category == "fleet_efficiency"].reset_index(drop=True),
                             backtest.config.mining.pue)


def misses(report: ElectricityReport) -> list[str]:
    """The months a run's network power leaves CBECI's range (empty when none does)."""
    return [f"{r.run} {r.month:%Y-%m}: {r.model_gw:.2f} GW outside CBECI's {r.min_gw:.2f}-{r.max_gw:.2f}"
            for r in report.months.itertuples() if not r.within]


def markdown(report: ElectricityReport) -> list[str]:
    m = report.months
    out = m[~m.within]
    lines = [
        "### 1d. Electricity use",
        "",
        "Nothing is fitted to it. Month by month the backtests' network power (PUE included) against",
        "the Cambridge Bitcoin Electricity Consumption Index (`data/mining_power_cbeci.csv`, daily,",
        "its method before the 2023 revision). Bound: within CBECI's range, whose floor puts every",
        "miner on the most efficient machine on sale and whose ceiling on the least efficient that",
        "still pays; its best guess, an even basket of the paying machines, is shown, not used.",
        "",
        "| run | month | model GW | CBECI guess | CBECI range | within |",
        "|---|---|---:|---:|---|---|",
    ]
    lines += [f"| {r.run} | {r.month:%Y-%m} | {r.model_gw:.2f} | {r.guess_gw:.2f} | {r.min_gw:.2f}-{r.max_gw:.2f} | "
              f"{'yes' if r.within else '**no**'} |" for r in m.itertuples()]
    below = float((m.model_gw < m.guess_gw).mean())
    facts = "; ".join(f"{r.value:g} J/TH ({r.description.split(';')[0]}, {r.source}, {r.date})"
                      for r in report.fleet_facts.itertuples())
    wall_th_hours = report.hashrate_ehs * TH_PER_EH * report.pue * hours_in(ENERGY_YEAR)
    implied = [wall_th_hours * v / WH_PER_TWH for v in report.fleet_facts.value]
    energy_j_per_th = report.twh_data * WH_PER_TWH / wall_th_hours  # the fleet CCAF's energy figure implies
    low, high = report.fleet_facts.value.min(), report.fleet_facts.value.max()
    between = low <= report.fleet_j_per_th <= high
    where = ("between the" if between else "below both" if report.fleet_j_per_th < low else "above both")
    to_fleet = 0.0 if between else min(abs(report.fleet_j_per_th - v) for v in (low, high))
    nearer = "the fleet figures" if to_fleet < abs(report.fleet_j_per_th - energy_j_per_th) else "the energy figure"
    lines += [
        "",
        f"{len(m) - len(out)} of {len(m)} months lie within the range; the model sits below CBECI's best guess in "
        f"{below:.0%} of them: its fleets are younger than an even basket of every machine that still pays.",
        "",
        f"**{ENERGY_YEAR}** (seed 0, the 2019 backtest): {report.twh:.0f} TWh against CCAF's {report.twh_data:g} TWh "
        f"(`data/mining_facts.csv`), {report.twh / report.twh_data - 1:+.0%}. In the week before the {ENERGY_YEAR} "
        f"halving its running machines averaged {report.fleet_j_per_th:.1f} J/TH, {where} published fleet "
        f"figures: {facts}. At those, the backtest's {ENERGY_YEAR} hashrate ({report.hashrate_ehs:.0f} EH/s) would "
        f"draw {min(implied):.0f}-{max(implied):.0f} TWh with PUE {report.pue:g}; CCAF's {report.twh_data:g} TWh "
        f"at that hashrate means {energy_j_per_th:.1f} J/TH. The fleet figures and the energy figure do not agree "
        f"with each other, and the model is nearer {nearer}.",
        "",
    ]
    return lines
