"""``crypto-abm calibrate nowcast``: fit the projection's first year to the data.

The baseline (``south_asia_2025``) reuses the 2019 backtest's fitted miners on its own
sourced inputs (country tariffs, the S21 XP as the best machine on sale); on them the
backtest's capacities order faster than 2025 did (docs/VALIDATION.md 1e: 1,406 EH/s at
2025-11-15 against the data's 1,100). So one scale on the MW a year every country can add
(``nowcast.capacity_scale``) is fitted to the data's monthly means of 2025
(:func:`~experiments.validation.first_year.monthly`: ``data/hashrate_2025_daily.csv``, the
months with enough whole days) by least squares on their log errors: the baseline under its
price history (2025 is history), seed :data:`SEED`, at
:data:`~experiments.validation.first_year.HOUSEHOLDS` households (mining does not depend on
them, nor, under the price history, on the seed). One parameter, six months; the scale is
searched on its logarithm (scipy's bounded ``minimize_scalar``), its standard error from the
Jacobian at the optimum (``s^2 / J'J``, forward differences of
:data:`~experiments.validation.calibrate.JACOBIAN_STEP` of the search's range, as for the
mining fit; the months' errors are correlated, so it is if anything too narrow). 2025 is then
in-sample for the baseline, and the backtest's test window (a separate run, not touched by
the scale) stays its test. Written to ``experiments/calibration/nowcast.toml``, which only
the projection includes, with ``[nowcast.covariance]`` for ``nowcast.draw``. The draw is
independent of the mining fit's: the scale is fitted at the mining fit's values, not refitted
for each of its draws.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import tomli_w
from scipy.optimize import minimize_scalar

from experiments.provenance import atomic_write_bytes
from experiments.validation.calibrate import JACOBIAN_STEP, jacobian, outside_checkout, residual_variance
from experiments.validation.first_year import HOUSEHOLDS, SCENARIO, baseline_run
from model.config import Covariance
from model.scenario import IN_CHECKOUT, package_file

CALIBRATION_FILE = package_file("experiments", "calibration", "nowcast.toml")
SEED = 0
BOUNDS = (0.05, 2.0)  # the scale's search range (natural scale); 1 runs the backtest's capacities as fitted
TOLERANCE_LOG = 0.01  # the search stops within ~1% of the scale


def month_errors(scale: float, seed: int = SEED) -> np.ndarray:
    """The log errors of the baseline with ``scale`` against the data's monthly means of 2025
    (:func:`~experiments.validation.first_year.monthly`)."""
    return baseline_run(seed, scale).months.log_error.to_numpy()


def fit(seed: int = SEED) -> dict[str, float]:
    """The fitted scale, its standard error on the log scale (and, by the delta method, on
    its own), the log-RMSE over the months at the fit and at scale 1, their number (``points``) and
    the model runs."""
    evaluations = 0

    def residuals(x: np.ndarray) -> np.ndarray:
        nonlocal evaluations
        evaluations += 1
        return month_errors(float(np.exp(x[0])), seed)

    lo, hi = np.log(BOUNDS)
    result = minimize_scalar(lambda v: float(np.sum(residuals(np.array([v])) ** 2)), bounds=(lo, hi),
                             method="bounded", options={"xatol": TOLERANCE_LOG})
    x = np.array([result.x])
    at_x = residuals(x)
    jac = jacobian(residuals, x, at_x, (np.array([lo]), np.array([hi])))
    var_log = residual_variance(at_x, 1) / float(jac[:, 0] @ jac[:, 0])
    scale = float(np.exp(result.x))
    unscaled = residuals(np.array([0.0]))
    return {"capacity_scale": scale, "se_log": float(np.sqrt(var_log)), "se": scale * float(np.sqrt(var_log)),
            "rmse_log": float(np.sqrt(np.mean(at_x ** 2))), "rmse_log_unscaled": float(np.sqrt(np.mean(unscaled ** 2))),
            "points": float(at_x.size), "evaluations": float(evaluations)}


def table(result: dict[str, float], today: dt.date | None = None) -> dict:
    """``[nowcast]`` with its provenance and ``[nowcast.covariance]`` (``model.config.NowcastConfig``)."""
    note = (f"crypto-abm calibrate nowcast ({(today or dt.date.today()).isoformat()}): least squares on the log "
            f"errors of {SCENARIO} (seed {SEED}, {HOUSEHOLDS} households, the 2025 price history) against the "
            f"data's monthly mean network hashrate in {result['points']:.0f} months of 2025 "
            f"(data/hashrate_2025_daily.csv); "
            f"log-RMSE {result['rmse_log']:.3f} at the fit (in-sample), {result['rmse_log_unscaled']:.3f} at scale 1 "
            f"(standard error {result['se']:.3g}, {result['se_log']:.3g} on the log scale)")
    covariance = Covariance.record(
        ["capacity_scale"], [[result["se_log"] ** 2]],
        note + f"; variance s^2 / J'J on the log scale, a forward difference of {JACOBIAN_STEP:g} of the search's "
               "range; bounds: the search's, which truncate a draw; drawn independently of the mining fit's terms",
        log_terms=["capacity_scale"], bounds=[BOUNDS])
    return {"nowcast": {"capacity_scale": {"value": result["capacity_scale"], "fitted": note},
                        "covariance": covariance}}


def write(result: dict[str, float], path: Path = CALIBRATION_FILE) -> Path:
    """Write :func:`table` to ``path`` whole (a temporary file moved into place)."""
    header = ("# Fitted parameters: written by `crypto-abm calibrate nowcast`; do not edit by hand.\n"
              "# Only the projection (south_asia_2025 and the scenarios built on it) includes this file.\n\n")
    atomic_write_bytes(path, (header + tomli_w.dumps(table(result))).encode())
    return path


def main() -> int:
    """Fit and write."""
    if not IN_CHECKOUT:
        return outside_checkout("nowcast")
    result = fit()
    path = write(result)
    print(f"nowcast.capacity_scale = {result['capacity_scale']:.4g} (se {result['se']:.3g}); log-RMSE over the "
          f"{result['points']:.0f} months of 2025 {result['rmse_log']:.3f} (scale 1: "
          f"{result['rmse_log_unscaled']:.3f}); {result['evaluations']:.0f} runs")
    print(f"wrote {path}")
    return 0
