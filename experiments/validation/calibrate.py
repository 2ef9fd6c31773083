"""``crypto-abm calibrate mining``: fit where the hashrate goes, the network total and the
country shares, to the data of 2019-2024.

Driven by the historical BTC price, the backtest scenario (``backtest_hashrate_2019``)
should follow the network hashrate and the countries' shares of it. Fitted: the MW a
year each of its countries can add (``mining.capacity_mw_per_year``, where power is not
capped, in 2019) and how fast that capacity grows (``capacity_growth_per_year``), the margin
new machines must promise (``hurdle_margin``), the rate at which an underground fleet
reinvests (``underground_investment_factor``), what is left of a country's capacity after
a power emergency (``emergency_capacity_factor``: Kazakhstan's of 2022) and while its grids
refuse new mining connections (``moratorium_capacity_factor``: Canada's provinces from
2022-11), by weighted least squares (scipy's ``least_squares``) on

* the network: the log error of each point before :data:`FIT_UNTIL`, each calendar year
  weighing as one observation, in units of ``SIGMA_LOG_HASHRATE``;
* the shares: each country point before :data:`FIT_UNTIL` (:func:`share_points`), in units of
  ``SIGMA_SHARE_PP``;

the months 2021-05..2022-01 held out, 2025 the test. The lead time is profiled over its
prior (``LEADS``, 12-36 weeks): one fit per value, the best kept. Standard errors are from
the Jacobian at the optimum (``cov = s^2 (J'J)^-1``, ``s^2`` the residual variance; forward
differences of 5% of each parameter's search range, :func:`jacobian`),
capacities' by the delta method on their logarithm; for an estimate on or near a bound of
the search, where the Jacobian's linear picture fails, from its profile (:func:`covariance`).
``--uncertainty-only`` recomputes these at the values already written, without a refit.
The fitted values are written, each with its standard error and provenance, to
``experiments/calibration/mining.toml``,
which the scenarios include, with ``[mining.covariance]``: that covariance on the search's
scale (the capacities' logarithm) and the search's bounds, from which ``mining.draw``
draws (``model.config.MiningConfig.drawn``; the lead time is profiled, not drawn).
"""

from __future__ import annotations

import datetime as dt
import sys
import tomllib
from functools import reduce
from pathlib import Path

import numpy as np
import tomli_w
from scipy.optimize import least_squares

from experiments.validation.backtest import (
    FIT_UNTIL,
    HELD_OUT,
    SCENARIO,
    compare,
    compare_shares,
    network_series,
    run_backtest,
    share_points,
)
from experiments.validation.country_shares import rmse
from model.config import Covariance
from model.scenario import IN_CHECKOUT, package_file

#: Model runs each lead time's fit may use (``crypto-abm calibrate mining --evaluations``).
EVALUATIONS = 150
CALIBRATION_FILE = package_file("experiments", "calibration", "mining.toml")
LEADS = (12, 24, 36)  # the lead time's prior, 12-36 weeks (issue 14), profiled
SIGMA_LOG_HASHRATE = 0.10  # trackers of network hashrate differ by up to ~10% (docs/VALIDATION.md)
JACOBIAN_STEP = 0.05  # of each parameter's search range (its log for a capacity): the standard errors' step
BOUND_TOLERANCE = 0.01  # of its search range: an estimate this close to a bound is on it
WALD_REACH = 2.0  # Jacobian standard errors: an estimate nearer a bound than this is treated as on it
PROFILE_STEP = 0.25  # of its search range: how far inside its bound an estimate on a bound is held for its profile
PROFILE_EVALUATIONS = 30  # evaluations of each such profile's refit (scipy's max_nfev; its Jacobians run more)
PROFILED = ", from its profile: the estimate is on or near a bound of the search"
SIGMA_SHARE_PP = 3.0  # share estimates of one date differ by ~1-3 points (data/hashrate_by_country_*.csv)
COUNTRIES = ("CHN", "USA", "RUS", "KAZ", "MYS", "IRN", "CAN", "ROW")
# name: (start, low, high, log); the search runs on natural values, or their logarithm.
PARAMETERS = {
    "mining.hurdle_margin": (-0.3, -0.9, 2.0, False),
    "mining.underground_investment_factor": (0.3, 0.0, 1.0, False),
    "mining.emergency_capacity_factor": (0.5, 0.0, 1.0, False),
    "mining.moratorium_capacity_factor": (0.5, 0.0, 1.0, False),
    "mining.capacity_growth_per_year": (0.2, -0.5, 1.0, False),
    **{f"mining.capacity_mw_per_year.{c}": (500.0, 10.0, 20_000.0, True) for c in COUNTRIES},
}


def _natural(x: np.ndarray) -> dict[str, float]:
    return {name: float(np.exp(v) if log else v) for (name, (_, _, _, log)), v in zip(PARAMETERS.items(), x)}


def _scaled(v: float, log: bool) -> float:
    return float(np.log(v)) if log else v


def _start_and_bounds() -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    x0 = np.array([_scaled(s, log) for s, _, _, log in PARAMETERS.values()])
    lo = np.array([_scaled(low, log) for _, low, _, log in PARAMETERS.values()])
    hi = np.array([_scaled(high, log) for _, _, high, log in PARAMETERS.values()])
    return x0, (lo, hi)


def residual_variance(residuals: np.ndarray, parameters: int) -> float:
    """``s^2``: the weighted sum of squares over the degrees of freedom."""
    return float(residuals @ residuals) / max(residuals.size - parameters, 1)


def evaluate(overrides: dict[str, float]) -> tuple[np.ndarray, dict[str, float]]:
    """The weighted residuals of the fit window (the least-squares vector) and the errors
    of both windows for one backtest run."""
    model = run_backtest(overrides=overrides)
    net = compare(network_series(model))
    shares = compare_shares(model, share_points(list(model.countries)))
    fit = net.points[net.points.window == "fit"]
    years = fit["date"].map(lambda d: d.year)
    weight = 1.0 / years.map(years.value_counts()).to_numpy()  # each year one observation
    r_net = np.sqrt(weight) * fit["log_error"].to_numpy() / SIGMA_LOG_HASHRATE
    fit_shares = shares[shares.window == "fit"]
    r_share = fit_shares["error_pp"].to_numpy() / SIGMA_SHARE_PP
    errors = {"fit_rmse_log": net.rmse_log_fit, "test_rmse_log": net.rmse_log_test,
              "fit_rmse_share_pp": rmse(shares, "fit"), "test_rmse_share_pp": rmse(shares, "test")}
    return np.concatenate([r_net, r_share]), errors


def jacobian(residuals, x: np.ndarray, at_x: np.ndarray, bounds) -> np.ndarray:
    """The residuals' Jacobian at ``x`` (where they are ``at_x``) for the standard errors: one
    forward difference per parameter, a step of :data:`JACOBIAN_STEP` of its search range
    (backward where that would leave the range). The search's own Jacobian steps relative to
    the value, so a parameter on a bound of 0 gets no step at all and the model, whose
    responses move in small jumps, can look flat to a tiny step."""
    lo, hi = bounds
    jac = np.empty((at_x.size, x.size))
    for k in range(x.size):
        step = JACOBIAN_STEP * (hi[k] - lo[k])
        step = step if x[k] + step <= hi[k] else -step
        moved = x.copy()
        moved[k] += step
        jac[:, k] = (residuals(moved) - at_x) / step
    return jac


def on_bound(x: np.ndarray, bounds, se: np.ndarray | None = None) -> dict[int, float]:
    """The parameters whose estimate sits on a bound of the search (within
    :data:`BOUND_TOLERANCE` of its range: the search stops near a bound, not on it), or, given
    the Jacobian's standard errors ``se``, so near one that ``x +- WALD_REACH se`` crosses it
    (the normal picture would put a share of the draws past the bound, where the model was
    never fitted), each with the direction into the range (+1 from the lower bound, -1 from
    the upper; away from the nearer bound where the interval crosses both)."""
    lo, hi = bounds
    tol = BOUND_TOLERANCE * (hi - lo)
    reach = np.zeros_like(x) if se is None else WALD_REACH * np.asarray(se)
    near_lo, near_hi = x <= lo + np.maximum(tol, reach), x >= hi - np.maximum(tol, reach)
    return {k: (1.0 if x[k] - lo[k] <= hi[k] - x[k] else -1.0)
            for k in range(x.size) if near_lo[k] or near_hi[k]}


def covariance(residuals, x: np.ndarray, cost: float, jac: np.ndarray, bounds, s2: float,
               max_evaluations: int = PROFILE_EVALUATIONS) -> tuple[np.ndarray, dict[int, float]]:
    """The fit's covariance on the search's scale: ``s^2 (J'J)^-1``, unless estimates sit on
    or near a bound of the search (:func:`on_bound`, given that covariance's standard errors).

    At a bound the Jacobian's linear picture fails: the model can be flat just inside the
    bound (a saturated response) and steep further in, so ``s^2 (J'J)^-1`` gives such a
    parameter a standard error wider than its range and, through their correlation with it,
    inflates the others'. So for each parameter ``k`` on or near a bound the fit is rerun
    (from the optimum, at most ``max_evaluations`` evaluations of the search, the other such
    ones held) with ``x_k`` held :data:`PROFILE_STEP` of its range from its estimate into the
    range, ``d`` away; with ``z`` the refitted free parameters ``F``::

        chi2_k = (cost_k - cost) / s^2,   se_k = |d| / sqrt(chi2_k),   b_k = (z - x_F) / d

    (``se_k``: the distance at which the profile's cost rises by one ``s^2`` if it rises as
    a square from the bound; ``b_k``: how the others move along it). Then, ``C`` the free
    parameters' covariance with the bound ones held, ``s^2 (J_F'J_F)^-1``::

        var(x_k) = se_k^2,   cov(x_F, x_k) = b_k se_k^2,   cov(x_F) = C + sum_k b_k b_k' se_k^2

    (bound parameters independent of one another; positive definite whenever ``C`` is). If
    a profile does not rise (``chi2_k <= 0``) the Jacobian's covariance is kept whole.
    Returns the covariance and ``{k: se_k}`` for the profiled parameters."""
    full = np.linalg.pinv(jac.T @ jac) * s2
    bound = on_bound(x, bounds, np.sqrt(np.clip(np.diag(full), 0.0, None)))
    if not bound:
        return full, {}
    lo, hi = bounds
    free = np.array([k not in bound for k in range(x.size)])
    ses, slopes = {}, {}
    for k, inward in bound.items():
        d = PROFILE_STEP * (hi[k] - lo[k]) * inward

        def held(z, k=k, d=d):
            moved = x.copy()
            moved[k] += d
            moved[free] = z
            return residuals(moved)

        result = least_squares(held, x[free], bounds=(lo[free], hi[free]), diff_step=0.05,
                               max_nfev=max_evaluations, x_scale="jac")
        chi2 = (float(result.fun @ result.fun) - cost) / s2
        if chi2 <= 0:
            return full, {}
        ses[k] = float(abs(d) / np.sqrt(chi2))
        slopes[k] = (result.x - x[free]) / d
    cov = np.zeros_like(full)
    cov[np.ix_(free, free)] = np.linalg.pinv(jac[:, free].T @ jac[:, free]) * s2
    for k, se in ses.items():
        cov[k, k] = se ** 2
        cov[free, k] = cov[k, free] = slopes[k] * se ** 2
        cov[np.ix_(free, free)] += np.outer(slopes[k], slopes[k]) * se ** 2
    return cov, ses


def residuals_at(lead: int):
    """The fit's weighted residuals as a function of the parameters on the search's scale,
    at one lead time."""
    def residuals(x):
        return evaluate({**_natural(x), "mining.lead_time_weeks": lead})[0]
    return residuals


def standard_errors(values: dict[str, float], cov: np.ndarray) -> dict[str, float]:
    """Each parameter's standard error from the covariance on the search's scale (the delta
    method for a capacity, searched on its logarithm)."""
    se_x = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    return {name: float(values[name] * se if log else se)
            for (name, (_, _, _, log)), se in zip(PARAMETERS.items(), se_x)}


def fit_lead(lead: int, max_evaluations: int = EVALUATIONS, start: np.ndarray | None = None):
    """The least-squares fit at one lead time, from ``start`` (the search's scale) or
    :data:`PARAMETERS`' starting values: (result, values, errors, the residuals' Jacobian on
    the search's scale, residual variance ``s^2``)."""
    x0, bounds = _start_and_bounds()
    x0 = x0 if start is None else start
    residuals = residuals_at(lead)
    result = least_squares(residuals, x0, bounds=bounds, diff_step=0.05, max_nfev=max_evaluations,
                           x_scale="jac")
    values = _natural(result.x)
    s2 = residual_variance(result.fun, result.x.size)
    jac = jacobian(residuals, result.x, result.fun, bounds)
    errors = evaluate({**values, "mining.lead_time_weeks": lead})[1]
    errors.update(cost=float(result.fun @ result.fun), points=float(result.fun.size),
                  parameters=float(result.x.size), evaluations=float(result.nfev))
    return result, values, errors, jac, s2


def fit(max_evaluations: int = EVALUATIONS):
    """The best fit over the lead times of the prior: values, standard errors, errors
    (with each lead time's weighted sum of squares as ``cost_lead_N``), covariance, and the
    parameters on or near a bound of the search, whose variance comes from their profile
    (:func:`covariance`, at the best lead time). Each lead time after the first starts from
    the best fit so far: from :data:`PARAMETERS`' start the search stalled at 24 weeks
    (a weighted cost of 42.5 against 35.7 from the 12-week optimum, 2026-12-03)."""
    best = None
    profile = {}
    for lead in LEADS:
        result, values, errors, jac, s2 = fit_lead(lead, max_evaluations, None if best is None else best[1].x)
        profile[f"cost_lead_{lead}"] = errors["cost"]
        if best is None or errors["cost"] < best[2]["cost"]:
            best = (lead, result, errors, values, jac, s2)
    lead, result, errors, values, jac, s2 = best
    cov, profiled = covariance(residuals_at(lead), result.x, errors["cost"], jac, _start_and_bounds()[1], s2)
    errors.update(profile)
    return _fit_result(values, lead, errors, cov, profiled)


def _fit_result(values: dict[str, float], lead: int, errors: dict[str, float], cov: np.ndarray,
                profiled: dict[int, float]):
    """What :func:`fit` and :func:`uncertainty` return: values with the lead time, standard
    errors, errors, covariance and the names of the profiled parameters."""
    return ({**values, "mining.lead_time_weeks": lead}, standard_errors(values, cov), errors, cov,
            {list(PARAMETERS)[k] for k in profiled})


def written_fit(path: Path = CALIBRATION_FILE) -> dict[str, float]:
    """The values of :data:`PARAMETERS` and the lead time that ``path`` holds."""
    tree = tomllib.loads(path.read_text())
    return {name: reduce(dict.__getitem__, name.split("."), tree)["value"]
            for name in (*PARAMETERS, "mining.lead_time_weeks")}


def uncertainty(path: Path = CALIBRATION_FILE):
    """As :func:`fit` (without the lead-time profile), at the values ``path`` holds, not
    refitted: their errors, the Jacobian's covariance and, for estimates on or near a bound,
    their profiles (:func:`covariance`)."""
    written = written_fit(path)
    lead = int(written.pop("mining.lead_time_weeks"))
    x = np.array([_scaled(written[name], log) for name, (*_, log) in PARAMETERS.items()])
    bounds = _start_and_bounds()[1]
    residuals = residuals_at(lead)
    at_x = residuals(x)
    cov, profiled = covariance(residuals, x, float(at_x @ at_x), jacobian(residuals, x, at_x, bounds), bounds,
                               residual_variance(at_x, x.size))
    values = _natural(x)
    return _fit_result(values, lead, evaluate({**values, "mining.lead_time_weeks": lead})[1], cov, profiled)


def covariance_table(cov: np.ndarray, note: str) -> dict:
    """``[mining.covariance]`` (``model.config.Covariance``): the fit's covariance of
    :data:`PARAMETERS` on the search's scale, the log terms, and the search's bounds."""
    terms = [name.removeprefix("mining.") for name in PARAMETERS]
    return Covariance.record(
        terms, cov, note + "; covariance s^2 (J'J)^-1 at the optimum on the search's scale (log of the capacities), "
                           "a term on or near a bound from its profile, the others' given it; "
                           "bounds: the search's, which truncate a draw",
        log_terms=[t for t, (*_, log) in zip(terms, PARAMETERS.values()) if log],
        bounds=[(low, high) for _, low, high, _ in PARAMETERS.values()])


def write_calibration(values: dict[str, float], errors: dict[str, float], ses: dict[str, float] | None = None,
                      path: Path = CALIBRATION_FILE, cov: np.ndarray | None = None,
                      profiled: set[str] = frozenset()) -> Path:
    """Write the fitted values (dotted names, e.g. ``mining.capacity_mw_per_year.USA``), each
    with its provenance: the fit, its errors and the value's standard error (``profiled``:
    the names whose error comes from their profile, on or near a bound); and, given the fit's
    covariance of :data:`PARAMETERS`, ``[mining.covariance]`` for draws."""
    ses = ses or {}
    today = dt.date.today().isoformat()
    note = (f"crypto-abm calibrate mining ({today}): weighted least squares on network hashrate and country "
            f"shares, {SCENARIO} vs data/hashrate_history.csv and the share tables before {FIT_UNTIL}, months "
            f"{HELD_OUT[0]:%Y-%m}..{(HELD_OUT[1] - dt.timedelta(days=1)):%Y-%m} held out; "
            f"fit error {errors['fit_rmse_log']:.3f}, test error (2024-2025) {errors['test_rmse_log']:.3f}")
    if "fit_rmse_share_pp" in errors:
        note += (f"; shares RMSE fit {errors['fit_rmse_share_pp']:.1f} pp, "
                 f"test (2025) {errors['test_rmse_share_pp']:.1f} pp")
    tree: dict = {}
    for dotted, value in values.items():
        *parents, key = dotted.split(".")
        node = tree
        for part in parents:
            node = node.setdefault(part, {})
        se = f" (standard error {ses[dotted]:.3g}{PROFILED if dotted in profiled else ''})" if dotted in ses else \
            (" (profiled over the prior 12-36 weeks)" if dotted.endswith("lead_time_weeks") else "")
        node[key] = {"value": value, "fitted": note + se}
    if cov is not None:
        tree.setdefault("mining", {})["covariance"] = covariance_table(cov, note)
    header = ("# Fitted parameters: written by `crypto-abm calibrate mining`; do not edit by hand.\n"
              "# Scenarios include this file after parts/behaviour.toml, so these values win.\n\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text(header + tomli_w.dumps(tree))
    tmp.replace(path)
    return path


def outside_checkout(target: str) -> int:
    """Refuse a calibration in an installed copy (exit status 2): it would rewrite the package's
    own files, and one written elsewhere would be used by no scenario."""
    print(f"error: crypto-abm calibrate {target} rewrites experiments/calibration/, which the shipped scenarios "
          "include; an installed copy does not change its own files: run it in a source checkout "
          "(git clone, then make setup)", file=sys.stderr)
    return 2


def main(max_evaluations: int = EVALUATIONS, uncertainty_only: bool = False) -> int:
    """Fit and write (or, ``uncertainty_only``, recompute the errors at the written values)."""
    if not IN_CHECKOUT:
        return outside_checkout("mining")
    values, ses, errors, cov, profiled = uncertainty() if uncertainty_only else fit(max_evaluations)
    path = write_calibration(values, errors, ses, cov=cov, profiled=profiled)
    for name, value in values.items():
        print(f"{name} = {value:.4g}" + (f" (se {ses[name]:.3g}{', profiled' if name in profiled else ''})"
                                         if name in ses else ""))
    if not uncertainty_only:
        print("lead-time profile (weighted sum of squares): " + ", ".join(
            f"{lead} weeks {errors[f'cost_lead_{lead}']:.2f}" for lead in LEADS))
    print(f"network log-RMSE fit {errors['fit_rmse_log']:.3f}, test {errors['test_rmse_log']:.3f}; "
          f"share RMSE fit {errors['fit_rmse_share_pp']:.1f} pp, test {errors['test_rmse_share_pp']:.1f} pp")
    print(f"wrote {path}")
    return 0
