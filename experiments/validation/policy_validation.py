"""The stance hazards' validation for ``crypto-abm validate`` (docs/VALIDATION.md, section 5).

1. The fit against history (:func:`experiments.validation.policy_fit.calibrate`): the terms
   compared, the 2021-2025 test (log-likelihood per country-year against constant hazards,
   posterior-predictive moves by year with 90% intervals), leave-one-region-out.
2. The model against the fit: in the baseline (2025-2030, several seeds) the region's
   endogenous moves per year (not made by a dated shock), up and down, against the 90%
   interval the fit predicts for the same countries in the same states: for each run and
   year, each country's stance on 1 January gives its yearly chances under coefficient
   drawn from the fit's covariance; a draw of moves from them, summed over countries and
   years and divided by the years, is one predictive draw of the region's moves per year.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.validation.policy_fit import LEVEL, SEED, PolicyFit
from model.model import build_model
from model.stance_hazard import covariate_features, features

REGION = ("PAK", "IND", "BGD", "LKA", "AFG", "NPL", "BTN", "MDV")
SCENARIO = "south_asia_2025"


@dataclass
class RegionCheck:
    seeds: int
    years: int
    moves: pd.DataFrame       # seed, year, direction, moves (endogenous, the region's)
    observed: dict[str, float]  # direction -> mean moves per year over seeds and years
    low: dict[str, float]     # direction -> 5% of the predictive moves per year
    high: dict[str, float]

    def inside(self, direction: str) -> bool:
        return self.low[direction] <= self.observed[direction] <= self.high[direction]


def _draws(mean: np.ndarray, cov: np.ndarray, rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.multivariate_normal(mean, cov, size=n)


def region_check(seeds: range = range(6), households: int = 1800, draws: int = 2000) -> RegionCheck:
    """The baseline's endogenous moves in :data:`REGION` against the fit's predictive interval."""
    counts, probs = [], []
    for seed in seeds:
        m = build_model(SCENARIO, seed=seed, households=households)
        policy = m.config.policy
        cap = policy.max_diffusion_stance
        up_names = ["intercept"] + [t for t, b in policy.up.coefficients()[1].items() if b != 0]
        down_names = ["intercept"] + [t for t, b in policy.down.coefficients()[1].items() if b != 0]
        first, last = m.dates[0].year, m.dates[-1].year
        states = {}
        while m.running:
            if m.date.month == 1 and m.date.day <= 7:  # the first week of a year: its 1 January state
                states[m.date.year] = {c: m.countries[c].stance for c in REGION}
            m.step()
        events = m.events_frame()
        endogenous = events[(events.kind == "stance") & events.country.isin(REGION)
                            & events.cause.str.match(r"^(diffusion|retreat):")]
        for year in range(first, last + 1):
            mine = endogenous[pd.to_datetime(endogenous.date).dt.year == year]
            counts.append({"seed": seed, "year": year, "up": int((mine["to"] > mine["from"]).sum()),
                           "down": int((mine["to"] < mine["from"]).sum())})
            for code, stance in states.get(year, {}).items():
                c = m.countries[code]
                x = features(stance, [], covariate_features(c.inflation_pct, c.gdp_per_capita_usd,
                                                            c.remittances_pct_gdp, c.internet_pct, c.population), cap)
                probs.append({"seed": seed, "year": year, "stance": stance, "cap": cap,
                              "x_up": [1.0] + [x[t] for t in up_names[1:]],
                              "x_down": [1.0] + [x[t] for t in down_names[1:]]})
    fit = m.config.policy.fit
    rng = np.random.default_rng(SEED)
    out = {}
    frame = pd.DataFrame(probs)
    years = len(frame.groupby(["seed", "year"]))
    for direction, names, hazard in (("up", up_names, m.config.policy.up), ("down", down_names, m.config.policy.down)):
        cov = fit.covariance[direction]
        order = [cov.terms.index(n) for n in names]
        b0, b = hazard.coefficients()
        mean = np.array([b0] + [b[n] for n in names[1:]])
        beta = _draws(mean, np.array(cov.matrix)[np.ix_(order, order)], rng, draws)
        x = np.array(frame[f"x_{direction}"].tolist())
        at_risk = (frame.stance < frame.cap).to_numpy() if direction == "up" else (frame.stance > 0).to_numpy()
        p = np.where(at_risk[:, None], -np.expm1(-np.exp(np.minimum(x @ beta.T, 30.0))), 0.0)
        per_year = (rng.random(p.shape) < p).sum(axis=0) / years  # one realisation's moves per year, per draw
        out[direction] = np.quantile(per_year, [(1 - LEVEL) / 2, (1 + LEVEL) / 2])
    moves = pd.DataFrame(counts)
    observed = {d: float(moves[d].sum() / len(moves)) for d in ("up", "down")}
    return RegionCheck(len(seeds), years // len(seeds), moves, observed,
                       {d: float(v[0]) for d, v in out.items()}, {d: float(v[1]) for d, v in out.items()})


def figure(fit: PolicyFit, path: Path) -> Path:
    """Observed against predicted moves by year, up and down, the test years' 90% intervals."""
    import matplotlib.pyplot as plt

    rows = fit.panel.rows
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for ax, direction in zip(axes, ("up", "down")):
        risk = rows[rows[f"at_risk_{direction}"]]
        observed = risk.groupby("year")[direction].sum()
        ax.bar(observed.index, observed.values, color="black", width=0.35, label="observed")
        c = fit.test.counts[fit.test.counts.direction == direction]
        ax.errorbar(c.year + 0.3, c.expected, yerr=[c.expected - c.low, c.high - c.expected], fmt="s", color="C0",
                    capsize=3, label=f"predicted, fit on {fit.panel.rows.year.min()}-2020 ({LEVEL:.0%} interval)")
        hazard = fit.test.up if direction == "up" else fit.test.down
        train = risk[risk.year <= 2020]
        inside = train.assign(p=hazard.prob(train)).groupby("year").p.sum()
        ax.plot(inside.index + 0.3, inside.values, "o", color="C1", label="fitted, training years (in sample)")
        ax.set(title=f"moves {direction}", xlabel="year")
        ax.axvline(2020.5, color="grey", ls=":", lw=1)
    axes[0].set_ylabel("countries moving in the year")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


