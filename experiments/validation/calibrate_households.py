"""``crypto-abm calibrate households``: fit the household rule to measured ownership.

**What is fitted.** The seven parameters of the adoption rule (``docs/ODD.md`` 7.4):
innovation ``p``, imitation ``q`` and abandonment rates, and the weights of inflation,
remittances, income and internet in ``p_i``. Target: Triple-A ownership in every country
that has it and its covariates in ``data/`` (PAK, IND, IRN, CHN, USA, ARE), reproduced by
the scenario ``calibration_adoption`` (a small seed on 2015-01-01, the historical BTC
price, the dated stance changes; see ``experiments/validation/backtest_adoption.py``).

**How.** The model is stochastic and a run takes about half a second, so the search runs
on an emulator rather than on the model directly:

1. *Global design*: ``GLOBAL_RUNS`` points of a Latin hypercube over the parameter box
   (rates on a log scale), each run once with its own seed.
2. *Emulator*: per measured point, a quadratic response surface of the modelled logit
   share in the (scaled) parameters, fitted by least squares. Its residual is mostly the
   model's own seed-to-seed noise, which the regression averages out.
3. *Objective*: the sum over countries of the mean squared logit error divided by
   ``DATA_SD_LOGIT`` squared (each country weighs alike), plus a weakly informative
   Gaussian prior on each parameter (``PRIOR``): seven parameters against six countries
   are not identified by the data alone, and the prior says which way to lean.
   Minimised with L-BFGS-B (scipy.optimize) from several starts.
4. *Local design*: ``LOCAL_RUNS`` more points in a box around that optimum, a local
   emulator on the points inside it, and the final optimum.
5. *Leave one country out*: for each country, the objective without it is minimised on
   the local emulator and the country predicted by real model runs at that optimum.
6. *Check*: real runs at the optimum (``CHECK_SEEDS`` seeds) give the reported fit error.
7. *Uncertainty*: the Laplace approximation of the posterior at the optimum (:class:`Laplace`:
   the objective is -2 log posterior, so the covariance is twice the inverse of its Hessian on
   the local emulator), written as ``[households.covariance]`` on the draw's scale (the rates'
   natural log) with the search's bounds, from which ``households.draw`` draws
   (``model.config.FittedTerms.drawn``). ``--uncertainty-only`` computes it at the values
   already in households.toml (a new global and local design around them, no refit) and
   writes only that table.

Then, with the fitted rule, the two parameters of El Salvador's Chivo bonus (the share of
online non-adopters recruited at once and their abandonment rate) are fitted by
Nelder-Mead on common random numbers to the 2021 and 2022 survey points; 2023-2024 are
the test (``backtest_el_salvador_2021``).

Writes ``experiments/calibration/households.toml`` (included by every scenario after
``mining.toml``), ``experiments/calibration/el_salvador_2021.toml`` (included by the El
Salvador backtest only) and ``experiments/calibration/households_fit.csv`` (per measured
point: data, fitted model, leave-one-out prediction), which ``crypto-abm validate``
reports.
"""

from __future__ import annotations

import datetime as dt
import os
import time
import tomllib
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import tomli_w
from scipy.optimize import minimize
from scipy.stats import qmc

from experiments.validation.backtest_adoption import (
    EL_SALVADOR,
    SCENARIO,
    SLV_FIT_YEARS,
    compare_ownership,
    el_salvador_errors,
    logit,
    ownership_targets,
    rmse_logit,
    run_adoption,
    run_el_salvador,
)
from experiments.validation.calibrate import outside_checkout
from experiments.validation.finite_differences import gradient, hessian
from model.config import Covariance
from model.scenario import IN_CHECKOUT, package_file

CALIBRATION_DIR = package_file("experiments", "calibration")
HOUSEHOLDS_FILE = CALIBRATION_DIR / "households.toml"
EL_SALVADOR_FILE = CALIBRATION_DIR / "el_salvador_2021.toml"
FIT_TABLE = CALIBRATION_DIR / "households_fit.csv"

# name: (prior centre, low, high, prior s.d., log10 scale?) in natural units. The centres
# are the values assumed before calibration (parts/behaviour.toml); the s.d. is a
# factor of about 3 for rates and a plausible range for weights (assumptions).
PARAMETERS = {
    "households.innovation_per_year": (0.01, 1e-4, 0.3, 0.5, True),
    "households.imitation_per_year": (0.4, 0.01, 5.0, 0.5, True),
    "households.abandonment_per_year": (0.1, 0.005, 1.0, 0.5, True),
    "households.inflation_weight": (3.0, 0.0, 10.0, 3.0, False),
    "households.remittance_weight": (0.5, 0.0, 3.0, 1.0, False),
    "households.income_weight": (0.0, -1.0, 1.0, 0.5, False),
    "households.internet_weight": (0.0, -3.0, 3.0, 1.5, False),
}
# Spread of a measured ownership share on the logit scale: Triple-A's two figures for the
# UAE (30.4% for 2023, 25.3% in its 2024 report) differ by 0.26.
DATA_SD_LOGIT = 0.25
GLOBAL_RUNS, LOCAL_RUNS, LOCAL_HALF_WIDTH = 120, 100, 0.15
CHECK_SEEDS, LOO_SEEDS = 4, 2
HOUSEHOLDS = 9000            # 1,000 household agents per country of calibration_adoption
SLV_SEEDS, SLV_HOUSEHOLDS, SLV_EVALUATIONS = 3, 4000, 40
SLV_PARAMETERS = {"share": (0.4, 0.0, 0.9, False), "abandonment_per_year": (0.5, 0.03, 10.0, True)}


# ===================================================================== parameter scaling
def _bounds(spec) -> tuple[float, float]:
    """The search range in scaled units (log10 for rates)."""
    _, lo, hi, _, log = spec
    return (np.log10(lo), np.log10(hi)) if log else (lo, hi)


def _span(spec) -> float:
    """The search range's width in scaled units."""
    a, b = _bounds(spec)
    return b - a


def natural(u: np.ndarray) -> dict[str, float]:
    """Unit-cube point -> parameter values."""
    out = {}
    for (name, spec), v in zip(PARAMETERS.items(), np.clip(u, 0.0, 1.0)):
        lo, hi = _bounds(spec)
        x = lo + float(v) * (hi - lo)
        out[name] = 10.0**x if spec[-1] else x
    return out


def unit(values: dict[str, float]) -> np.ndarray:
    out = []
    for name, spec in PARAMETERS.items():
        lo, hi = _bounds(spec)
        x = np.log10(values[name]) if spec[-1] else values[name]
        out.append((x - lo) / (hi - lo))
    return np.array(out)


def prior_penalty(u: np.ndarray) -> float:
    """Sum of squared standardised distances from the prior centres (in the scaled units)."""
    total = 0.0
    for spec, v in zip(PARAMETERS.values(), u):
        centre, _, _, sd, log = spec
        a, b = _bounds(spec)
        total += ((a + v * (b - a) - (np.log10(centre) if log else centre)) / sd) ** 2
    return float(total)


# ===================================================================== model runs
def _run_point(args) -> np.ndarray:
    """Modelled shares at the targets (in target order) for one parameter point and seed."""
    values, seed, targets = args
    dates = sorted(set(targets.date))
    modelled = run_adoption(values, seed=seed, households=HOUSEHOLDS, dates=dates)
    return np.array([modelled.loc[r.date, r.country] for r in targets.itertuples()])


def run_many(points: list[dict[str, float]], seeds: list[int], targets: pd.DataFrame,
             workers: int | None = None) -> np.ndarray:
    """Shares (points x targets); runs in parallel processes."""
    jobs = [(p, s, targets) for p, s in zip(points, seeds)]
    workers = workers or max(1, min(len(jobs), os.cpu_count() or 1))
    if workers == 1:
        return np.array([_run_point(j) for j in jobs])
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return np.array(list(pool.map(_run_point, jobs, chunksize=max(1, len(jobs) // (4 * workers)))))


# ===================================================================== emulator
def _features(u: np.ndarray) -> np.ndarray:
    z = 2.0 * np.atleast_2d(u) - 1.0
    n, k = z.shape
    cols = [np.ones(n)] + [z[:, i] for i in range(k)]
    cols += [z[:, i] * z[:, j] for i in range(k) for j in range(i, k)]
    return np.column_stack(cols)


@dataclass
class Emulator:
    """Quadratic response surfaces of the logit share, one per target."""

    coef: np.ndarray          # features x targets
    residual_sd: np.ndarray   # per target, in-sample
    cv_rmse: np.ndarray       # per target, 5-fold cross-validated
    n: int

    @classmethod
    def fit(cls, u: np.ndarray, shares: np.ndarray, ridge: float = 1e-6) -> "Emulator":
        y = logit(shares)
        x = _features(u)
        coef = cls._solve(x, y, ridge)
        resid = y - x @ coef
        dof = max(1, len(u) - x.shape[1])
        folds = np.arange(len(u)) % 5
        cv = np.zeros_like(y)
        for f in range(5):
            tr = folds != f
            cv[~tr] = y[~tr] - x[~tr] @ cls._solve(x[tr], y[tr], ridge)
        return cls(coef, np.sqrt((resid**2).sum(axis=0) / dof), np.sqrt((cv**2).mean(axis=0)), len(u))

    @staticmethod
    def _solve(x, y, ridge):
        a = x.T @ x + ridge * np.eye(x.shape[1])
        return np.linalg.solve(a, x.T @ y)

    def predict(self, u: np.ndarray) -> np.ndarray:
        """Logit shares (targets,) at one point."""
        return (_features(u) @ self.coef)[0]


def objective(u: np.ndarray, emulator: Emulator, targets: pd.DataFrame, leave_out: str | None = None) -> float:
    err = emulator.predict(u) - logit(targets.share.to_numpy())
    per_point = pd.Series(err**2, index=targets.country.to_numpy())
    per_country = per_point.groupby(level=0).mean()
    if leave_out is not None:
        per_country = per_country.drop(leave_out)
    return float(per_country.sum() / DATA_SD_LOGIT**2 + prior_penalty(u))


def optimise(emulator: Emulator, targets: pd.DataFrame, box: tuple[np.ndarray, np.ndarray],
             starts: list[np.ndarray], leave_out: str | None = None) -> np.ndarray:
    best = None
    for x0 in starts:
        r = minimize(objective, np.clip(x0, *box), args=(emulator, targets, leave_out), method="L-BFGS-B",
                     bounds=list(zip(*box)))
        if best is None or r.fun < best.fun:
            best = r
    return best.x


# ===================================================================== uncertainty
#: Step of the finite differences, in unit-cube units (0.1% of each parameter's range): the
#: objective on the emulator is a smooth polynomial, so the step's error is negligible.
HESSIAN_STEP = 1e-3


def prior_curvature() -> np.ndarray:
    """The Hessian of :func:`prior_penalty` on the unit scale (diagonal: 2 ((b - a) / s.d.)^2)."""
    return np.array([2 * (_span(spec) / spec[3]) ** 2 for spec in PARAMETERS.values()])


@dataclass
class Laplace:
    """The fit's posterior as a normal around ``u`` on the search scale (the unit cube).

    The objective is -2 log posterior up to a constant (squared logit errors over
    ``DATA_SD_LOGIT`` squared, plus the prior's penalty), so the covariance is ``2 H^-1``,
    ``H`` its Hessian at ``u``. Where ``H`` is not positive definite (the objective curves
    down in some direction: ``u`` is not a minimum of it there), the data's part ``H - P``
    (``P`` the prior's curvature, given) is replaced by the nearest positive semi-definite
    matrix (its negative eigenvalues set to 0: the data then say nothing in those directions)
    and the prior's added back; ``repair`` says so."""

    u: np.ndarray
    gradient: np.ndarray
    hessian: np.ndarray
    cov_u: np.ndarray
    repair: str = ""

    @classmethod
    def of(cls, f, u: np.ndarray, prior: np.ndarray | None = None, step: float = HESSIAN_STEP) -> "Laplace":
        """At ``u`` on the objective ``f``, whose prior part has the Hessian ``prior`` (none: 0)."""
        g, h = gradient(f, u, step), hessian(f, u, step)
        curvature, repair = h, ""
        if np.linalg.eigvalsh(h).min() <= 0:
            p = np.zeros_like(h) if prior is None else prior
            w, v = np.linalg.eigh(h - p)
            curvature = (v * np.maximum(w, 0.0)) @ v.T + p
            repair = (f"the Hessian was not positive definite (eigenvalues of its data part "
                      f"{', '.join(f'{x:.3g}' for x in w if x < 0)} set to 0: the nearest positive semi-definite, "
                      "then the prior's curvature added back)")
        cov = 2 * np.linalg.inv(curvature)
        return cls(np.asarray(u, float), g, h, (cov + cov.T) / 2, repair)

    @classmethod
    def at(cls, u: np.ndarray, emulator: Emulator, targets: pd.DataFrame) -> "Laplace":
        """At ``u`` on the emulator's objective."""
        return cls.of(lambda x: objective(x, emulator, targets), u, np.diag(prior_curvature()))

    def natural(self) -> tuple[np.ndarray, np.ndarray]:
        """(covariance, standard errors) of :data:`PARAMETERS` on the draw's scale: the natural
        log of a log10-scaled rate (``ln x = ln10 (a + u (b - a))``), else the value itself."""
        scale = np.array([np.log(10) * _span(spec) if spec[-1] else _span(spec) for spec in PARAMETERS.values()])
        cov = self.cov_u * np.outer(scale, scale)
        return cov, np.sqrt(np.diag(cov))

    def table(self, note: str) -> dict:
        """``[households.covariance]`` (``model.config.Covariance``): the terms, the log terms,
        the matrix on the draw's scale, the search's bounds."""
        terms = [name.split(".", 1)[1] for name in PARAMETERS]
        cov, _ = self.natural()
        repair = f"; {self.repair}" if self.repair else ""
        return Covariance.record(
            terms, cov, note + "; covariance 2 H^-1, H the Hessian of the objective (-2 log posterior: squared "
                               f"logit errors / {DATA_SD_LOGIT}^2 + the prior's penalty) on the local emulator "
                               f"(central differences, step {HESSIAN_STEP} of each range), the rates on the "
                               "natural-log scale (log_terms); the emulator's own error is not in it" + repair
                               + "; bounds: the search's (calibrate_households.py PARAMETERS), which truncate a draw",
            log_terms=[t for t, spec in zip(terms, PARAMETERS.values()) if spec[-1]],
            bounds=[(spec[1], spec[2]) for spec in PARAMETERS.values()])


# ===================================================================== the fit
@dataclass
class HouseholdFit:
    values: dict[str, float]
    points: pd.DataFrame              # per target: data, model (seed mean), loo model, errors
    errors: dict[str, float]
    loo_values: dict[str, dict[str, float]] = field(default_factory=dict)
    emulator_cv: float = float("nan")
    model_noise: float = float("nan")
    laplace: "Laplace | None" = None  # the posterior's normal approximation at the optimum


def global_design(targets: pd.DataFrame, runs: int = GLOBAL_RUNS, seed: int = 0,
                  workers: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``runs`` points of a Latin hypercube over the whole box (seeded by ``seed``), each run
    once with its own model seed: (unit points, shares)."""
    u = qmc.LatinHypercube(d=len(PARAMETERS), seed=seed).random(runs)
    return u, run_many([natural(x) for x in u], [1000 * seed + i for i in range(runs)], targets, workers)


def local_emulator(centre: np.ndarray, u_global: np.ndarray, y_global: np.ndarray, targets: pd.DataFrame,
                   runs: int = LOCAL_RUNS, seed: int = 0, workers: int | None = None) -> tuple[Emulator, tuple]:
    """``runs`` more points in the box of half-width ``LOCAL_HALF_WIDTH`` around ``centre``
    (inside the unit cube), and the emulator of every design point inside that box: (emulator, box)."""
    lo, hi = np.clip(centre - LOCAL_HALF_WIDTH, 0, 1), np.clip(centre + LOCAL_HALF_WIDTH, 0, 1)
    u_local = lo + qmc.LatinHypercube(d=len(PARAMETERS), seed=seed + 1).random(runs) * (hi - lo)
    y_local = run_many([natural(u) for u in u_local], [1000 * seed + len(u_global) + i for i in range(runs)],
                       targets, workers)
    u_all, y_all = np.vstack([u_global, u_local]), np.vstack([y_global, y_local])
    inside = np.all((u_all >= lo - 1e-12) & (u_all <= hi + 1e-12), axis=1)
    return Emulator.fit(u_all[inside], y_all[inside]), (lo, hi)


def fit_households(global_runs: int = GLOBAL_RUNS, local_runs: int = LOCAL_RUNS, seed: int = 0,
                   log=print, workers: int | None = None) -> HouseholdFit:
    targets = ownership_targets()
    k = len(PARAMETERS)
    u0 = unit({n: s[0] for n, s in PARAMETERS.items()})
    started = time.perf_counter()

    # 1. global design
    u_global, y_global = global_design(targets, global_runs, seed, workers)
    em = Emulator.fit(u_global, y_global)
    full = (np.zeros(k), np.ones(k))
    u1 = optimise(em, targets, full, [u0, np.full(k, 0.5)] + list(u_global[np.argsort(
        [objective(u, em, targets) for u in u_global])[:3]]))
    log(f"  global design: {global_runs} runs, emulator CV error {em.cv_rmse.mean():.2f} (logit), "
        f"{time.perf_counter() - started:.0f} s")

    # 2. local design around the global optimum
    em_local, box = local_emulator(u1, u_global, y_global, targets, local_runs, seed, workers)
    u_star = optimise(em_local, targets, box, [u1, (box[0] + box[1]) / 2])
    log(f"  local design: {local_runs} runs, {em_local.n} points in the box, emulator CV error "
        f"{em_local.cv_rmse.mean():.2f}, model noise {em_local.residual_sd.mean():.2f} (logit), "
        f"{time.perf_counter() - started:.0f} s")
    laplace = Laplace.at(u_star, em_local, targets)

    # 3. leave one country out (emulator optimum, real runs to predict the country left out)
    countries = list(dict.fromkeys(targets.country))
    u_loo = {c: optimise(em_local, targets, box, [u_star], leave_out=c) for c in countries}

    # 4. real runs: the optimum over CHECK_SEEDS seeds, each leave-one-out optimum over LOO_SEEDS
    check_seeds = [10_000 + s for s in range(CHECK_SEEDS)]
    jobs_p = [natural(u_star)] * CHECK_SEEDS
    jobs_s = list(check_seeds)
    for c in countries:
        jobs_p += [natural(u_loo[c])] * LOO_SEEDS
        jobs_s += check_seeds[:LOO_SEEDS]
    y_check = run_many(jobs_p, jobs_s, targets, workers)
    fitted = y_check[:CHECK_SEEDS].mean(axis=0)
    points = compare_ownership_from(targets, fitted)
    loo_pred = np.full(len(targets), np.nan)
    for i, c in enumerate(countries):
        block = y_check[CHECK_SEEDS + i * LOO_SEEDS: CHECK_SEEDS + (i + 1) * LOO_SEEDS].mean(axis=0)
        rows = (targets.country == c).to_numpy()
        loo_pred[rows] = block[rows]
    points["loo_model"] = loo_pred
    points["loo_logit_error"] = logit(points.loo_model) - logit(points.share)
    per_seed = [rmse_logit(compare_ownership_from(targets, y)) for y in y_check[:CHECK_SEEDS]]
    points["prior_model"] = run_many([natural(u0)] * CHECK_SEEDS, check_seeds, targets, workers).mean(axis=0)
    loo_country = points.groupby("country").loo_logit_error.apply(lambda e: float(np.mean(e**2)))
    errors = {
        "fit_rmse_logit": rmse_logit(points),
        "fit_rmse_logit_per_seed_mean": float(np.mean(per_seed)),
        "loo_rmse_logit": float(np.sqrt(loo_country.mean())),
        "fit_mape": float(np.mean(np.abs(points.model / points.share - 1.0))),
        "loo_mape": float(np.mean(np.abs(points.loo_model / points.share - 1.0))),
        "prior_rmse_logit": rmse_logit(compare_ownership_from(targets, points.prior_model.to_numpy())),
        "runs": float(global_runs + local_runs + len(jobs_p) + CHECK_SEEDS),
        "seconds": time.perf_counter() - started,
    }
    return HouseholdFit(natural(u_star), points, errors, {c: natural(u) for c, u in u_loo.items()},
                        float(em_local.cv_rmse.mean()), float(em_local.residual_sd.mean()), laplace)


def compare_ownership_from(targets: pd.DataFrame, shares: np.ndarray) -> pd.DataFrame:
    """compare_ownership for shares given in target order."""
    wide = targets.assign(v=shares).pivot(index="date", columns="country", values="v")
    return compare_ownership(wide, targets)


def stored_values(path: Path = HOUSEHOLDS_FILE) -> dict[str, float]:
    """The fitted values in a households calibration file, by dotted name."""
    table = tomllib.loads(path.read_text())["households"]
    return {name: float(table[name.split(".", 1)[1]]["value"]) for name in PARAMETERS}


@dataclass
class Uncertainty:
    """The posterior's curvature at given values, without refitting them (``--uncertainty-only``)."""

    values: dict[str, float]
    laplace: Laplace
    emulator_cv: float
    model_noise: float
    points_in_box: int
    global_runs: int
    local_runs: int
    seconds: float


def uncertainty_at(values: dict[str, float], global_runs: int = GLOBAL_RUNS, local_runs: int = LOCAL_RUNS,
                   seed: int = 0, workers: int | None = None, log=print) -> Uncertainty:
    """:class:`Laplace` at ``values`` (e.g. those in households.toml) on today's model: the
    fit's global design, a local design centred on the values, the local emulator, its
    objective's Hessian there. The values are not moved."""
    targets = ownership_targets()
    started = time.perf_counter()
    centre = unit(values)
    u_global, y_global = global_design(targets, global_runs, seed, workers)
    log(f"  global design: {global_runs} runs, {time.perf_counter() - started:.0f} s")
    em, _ = local_emulator(centre, u_global, y_global, targets, local_runs, seed, workers)
    log(f"  local design: {local_runs} runs, {em.n} points in the box, emulator CV error {em.cv_rmse.mean():.2f}, "
        f"model noise {em.residual_sd.mean():.2f} (logit), {time.perf_counter() - started:.0f} s")
    return Uncertainty(values, Laplace.at(centre, em, targets), float(em.cv_rmse.mean()),
                       float(em.residual_sd.mean()), em.n, global_runs, local_runs, time.perf_counter() - started)


# ===================================================================== El Salvador's bonus
def _slv_point(args):
    values, seed = args
    return run_el_salvador(values, seed=seed, households=SLV_HOUSEHOLDS).usage


def _slv_natural(x: np.ndarray) -> dict[str, float]:
    out = {}
    for (name, (_, lo, hi, log)), v in zip(SLV_PARAMETERS.items(), np.clip(x, 0, 1)):
        a, b = (np.log10(lo), np.log10(hi)) if log else (lo, hi)
        val = a + float(v) * (b - a)
        out[f"shocks.slv_chivo_bonus.{name}"] = 10**val if log else val
    return out


def fit_el_salvador(max_evaluations: int = SLV_EVALUATIONS, log=print) -> tuple[dict[str, float], dict]:
    """The Chivo bonus fitted to the 2021-2022 usage, with the household rule as calibrated
    (households.toml must already hold it)."""
    seeds = list(range(SLV_SEEDS))
    workers = max(1, min(SLV_SEEDS, os.cpu_count() or 1))
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        def usage(x):
            runs = list(pool.map(_slv_point, [(_slv_natural(x), s) for s in seeds]))
            table = runs[0][["year", "data", "window"]].copy()
            table["model"] = np.mean([r.model.to_numpy() for r in runs], axis=0)
            table["model_point"] = np.mean([r.model_point.to_numpy() for r in runs], axis=0)
            table["logit_error"] = logit(table.model) - logit(table.data)
            return table

        def loss(x):
            t = usage(x)
            return float(np.mean(t.loc[t.year.isin(SLV_FIT_YEARS), "logit_error"] ** 2))

        x0 = np.array([(s[0] - s[1]) / (s[2] - s[1]) if not s[3] else
                       (np.log10(s[0]) - np.log10(s[1])) / (np.log10(s[2]) - np.log10(s[1]))
                       for s in SLV_PARAMETERS.values()])
        before = usage(x0)
        r = minimize(loss, x0, method="Nelder-Mead",
                     options={"maxfev": max_evaluations, "xatol": 1e-3, "fatol": 1e-5,
                              "initial_simplex": [x0, x0 + [0.15, 0], x0 + [0, 0.15]]})
        after = usage(r.x)
    values = _slv_natural(r.x)
    log(f"  El Salvador bonus: {r.nfev} evaluations x {SLV_SEEDS} seeds, {time.perf_counter() - started:.0f} s")
    return values, {"before": before, "after": after, "errors": el_salvador_errors(after),
                    "errors_before": el_salvador_errors(before), "evaluations": r.nfev}


# ===================================================================== writing
HEADER = ("# Fitted parameters: written by `crypto-abm calibrate households`; do not edit by hand.\n"
          "# Scenarios include this file after parts/behaviour.toml and mining.toml, so these values win.\n\n")


def _write_toml(path: Path, header: str, tree: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text(header + tomli_w.dumps(tree))
    tmp.replace(path)
    return path


def households_note(fit: HouseholdFit, today: str) -> str:
    e = fit.errors
    return (f"crypto-abm calibrate households ({today}): emulator search (Latin hypercube of model runs, quadratic "
            f"response surfaces, L-BFGS-B with a weak prior) on the logit error of ownership, calibration_adoption "
            f"(2015-2024) vs Triple-A 2023-2024 for {', '.join(dict.fromkeys(fit.points.country))} "
            f"(data/crypto_activity.csv); fit error {e['fit_rmse_logit']:.2f}, leave-one-country-out error "
            f"{e['loo_rmse_logit']:.2f} (logit RMSE; {e['prior_rmse_logit']:.2f} before)")


def write_households(fit: HouseholdFit, path: Path = HOUSEHOLDS_FILE, today: str | None = None) -> Path:
    note = households_note(fit, today or dt.date.today().isoformat())
    tree: dict = {"households": {}}
    for dotted, value in fit.values.items():
        tree["households"][dotted.split(".", 1)[1]] = {"value": float(round(value, 6)), "fitted": note}
    if fit.laplace is not None:
        tree["households"]["covariance"] = fit.laplace.table(note + "; at the fitted values")
    return _write_toml(path, HEADER, tree)


def write_covariance(result: Uncertainty, path: Path = HOUSEHOLDS_FILE, today: str | None = None) -> Path:
    """Put ``[households.covariance]`` of ``result`` into the calibration file at ``path``,
    its values (and every other table) as they are."""
    tree = tomllib.loads(path.read_text())
    if stored_values(path) != result.values:
        raise ValueError(f"{path}: the values changed since the covariance was computed; run it again")
    today = today or dt.date.today().isoformat()
    g = np.abs(result.laplace.gradient).max()
    note = (f"crypto-abm calibrate households --uncertainty-only ({today}): the curvature of the fit's objective "
            f"AT THE VALUES STORED HERE (not refitted) on today's model, from a new design of "
            f"{result.global_runs + result.local_runs} runs of {SCENARIO} ({result.global_runs} global, "
            f"{result.local_runs} in the box of half-width "
            f"{LOCAL_HALF_WIDTH} around the values; {result.points_in_box} points in the box), local emulator CV error "
            f"{result.emulator_cv:.2f}, model noise {result.model_noise:.2f} (logit); the objective's largest "
            f"gradient there {g:.3g} a unit of range (0 at an optimum)")
    tree["households"]["covariance"] = result.laplace.table(note)
    header = HEADER.rstrip("\n") + ("\n# [households.covariance] by `crypto-abm calibrate households "
                                    f"--uncertainty-only` ({today}): the curvature at the\n# values above on "
                                    "today's model; the values themselves untouched.\n\n")
    return _write_toml(path, header, tree)


def write_el_salvador(values: dict[str, float], result: dict, path: Path = EL_SALVADOR_FILE,
                      today: str | None = None) -> Path:
    e = result["errors"]
    note = (f"crypto-abm calibrate households ({today or dt.date.today().isoformat()}): Nelder-Mead on the logit "
            f"error of the share using bitcoin in {SLV_FIT_YEARS[0]}-{SLV_FIT_YEARS[-1]} (UCA-IUDOP, "
            f"data/countries.csv), {EL_SALVADOR}, {SLV_SEEDS} seeds; fit error {e['rmse_logit_fit']:.2f}, "
            f"test error (2023-2024) {e['rmse_logit_test']:.2f}")
    tree: dict = {"shocks": {"slv_chivo_bonus": {}}}
    for dotted, value in values.items():
        tree["shocks"]["slv_chivo_bonus"][dotted.rsplit(".", 1)[1]] = {"value": float(round(value, 6)), "fitted": note}
    header = ("# Fitted values of El Salvador's Chivo bonus: written by `crypto-abm calibrate households`;\n"
              "# do not edit by hand. Included by backtest_el_salvador_2021.toml only.\n\n")
    return _write_toml(path, header, tree)


def write_table(fit: HouseholdFit, path: Path = FIT_TABLE) -> Path:
    t = fit.points.assign(date=lambda p: p.date.astype(str))
    t = t[["country", "date", "share", "model", "logit_error", "loo_model", "loo_logit_error", "prior_model",
           "source"]]
    t.to_csv(path, index=False, float_format="%.5g")
    return path


def main(max_evaluations: int = SLV_EVALUATIONS) -> int:
    if not IN_CHECKOUT:
        return outside_checkout("households")
    print(f"calibrate households: {GLOBAL_RUNS} + {LOCAL_RUNS} design runs of {SCENARIO}, then checks")
    fit = fit_households()
    e = fit.errors
    write_households(fit)
    write_table(fit)
    print_uncertainty(fit.values, fit.laplace)
    print(f"ownership, logit RMSE: prior {e['prior_rmse_logit']:.3f} -> fit {e['fit_rmse_logit']:.3f}; "
          f"leave-one-country-out {e['loo_rmse_logit']:.3f} (mean abs. error {e['fit_mape']:.0%} fit, "
          f"{e['loo_mape']:.0%} left out)")
    for r in fit.points.itertuples():
        print(f"  {r.country} {r.date}: data {r.share:.1%}, model {r.model:.1%}, left out {r.loo_model:.1%}")
    values, result = fit_el_salvador(max_evaluations)
    write_el_salvador(values, result)
    es = result["errors"]
    print("El Salvador bonus:", ", ".join(f"{k.rsplit('.', 1)[1]} = {v:.4g}" for k, v in values.items()))
    for r in result["after"].itertuples():
        print(f"  {r.year} ({r.window}): data {r.data:.1%}, model {r.model:.1%}")
    print(f"  logit RMSE fit {es['rmse_logit_fit']:.3f}, test {es['rmse_logit_test']:.3f}")
    print(f"wrote {HOUSEHOLDS_FILE}, {EL_SALVADOR_FILE} and {FIT_TABLE} ({e['seconds']:.0f} s for the households)")
    return 0


def print_uncertainty(values: dict[str, float], laplace: Laplace) -> None:
    """Each value with its standard error (a rate's as a factor: the s.e. of its logarithm)."""
    _, se = laplace.natural()
    for (name, spec), s in zip(PARAMETERS.items(), se):
        spread = f"x/ {np.exp(s):.3g} (s.e. of ln {s:.3g})" if spec[-1] else f"+- {s:.3g}"
        print(f"  {name.split('.')[1]} = {values[name]:.4g} {spread}")
    if laplace.repair:
        print(f"  note: {laplace.repair}")


def uncertainty_main(workers: int | None = None) -> int:
    """``crypto-abm calibrate households --uncertainty-only``: the covariance at the values in
    households.toml, written beside them; nothing else changes."""
    if not IN_CHECKOUT:
        return outside_checkout("households")
    values = stored_values()
    print(f"calibrate households --uncertainty-only: {GLOBAL_RUNS} + {LOCAL_RUNS} design runs of {SCENARIO} "
          f"around the values in {HOUSEHOLDS_FILE.name}")
    result = uncertainty_at(values, workers=workers)
    write_covariance(result)
    print_uncertainty(values, result.laplace)
    print(f"wrote [households.covariance] into {HOUSEHOLDS_FILE} ({result.seconds:.0f} s)")
    return 0
