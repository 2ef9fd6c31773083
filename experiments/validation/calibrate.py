"""``crypto-abm calibrate mining``: fit the miners' response to hashprice to the hashrate history.

Driven by the historical BTC price, the backtest scenario (``backtest_hashrate_2019``)
should follow the network hashrate. Three parameters of the shared behaviour
(``parts/behaviour.toml``) are fitted by Nelder-Mead (scipy.optimize) on the log error of
the data points before 2024 (the fit window, held-out months excluded), then judged on
2024-2025 (the test window): ``growth_per_year`` (how fast fleets grow where power is not
capped), ``hurdle_margin`` (the margin new machines must promise) and
``lead_time_weeks`` (ordering to operating; searched within its prior, 12-36 weeks). The
fitted values are written, each with its provenance, to
``experiments/calibration/mining.toml``, which the scenarios include.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import numpy as np
import tomli_w
from scipy.optimize import minimize

from experiments.validation.backtest import FIT_UNTIL, HELD_OUT, SCENARIO, compare, network_series, run_backtest
from model.scenario import IN_CHECKOUT, package_file

#: Model runs the search may use (``crypto-abm calibrate mining --evaluations``).
EVALUATIONS = 60
CALIBRATION_FILE = package_file("experiments", "calibration", "mining.toml")
# name: (start, low, high) in natural units; the search runs on [0, 1] scaled values.
PARAMETERS = {
    "mining.growth_per_year": (0.6, 0.1, 3.0),
    "mining.hurdle_margin": (0.6, 0.0, 2.0),
    "mining.lead_time_weeks": (26.0, 12.0, 36.0),  # the prior: 12-36 weeks (issue 14), a uniform
}


def _natural(x: np.ndarray) -> dict[str, float]:
    out = {}
    for (name, (_, lo, hi)), v in zip(PARAMETERS.items(), np.clip(x, 0.0, 1.0)):
        value = lo + v * (hi - lo)
        out[name] = round(value) if name.endswith("_weeks") else float(value)
    return out


def objective(x: np.ndarray) -> float:
    return compare(network_series(run_backtest(overrides=_natural(x)))).rmse_log_fit


def fit(max_evaluations: int = 60) -> tuple[dict[str, float], dict[str, float]]:
    """Fitted parameter values and the errors before and after."""
    x0 = np.array([(s - lo) / (hi - lo) for s, lo, hi in PARAMETERS.values()])
    before = compare(network_series(run_backtest(overrides=_natural(x0))))
    result = minimize(objective, x0, method="Nelder-Mead",
                      options={"maxfev": max_evaluations, "xatol": 1e-3, "fatol": 1e-4})
    best = _natural(result.x)
    after = compare(network_series(run_backtest(overrides=best)))
    errors = {"fit_rmse_log_before": before.rmse_log_fit, "test_rmse_log_before": before.rmse_log_test,
              "fit_rmse_log_after": after.rmse_log_fit, "test_rmse_log_after": after.rmse_log_test,
              "evaluations": float(result.nfev)}
    return best, errors


def write_calibration(values: dict[str, float], errors: dict[str, float], path: Path = CALIBRATION_FILE) -> Path:
    today = dt.date.today().isoformat()
    note = (f"crypto-abm calibrate mining ({today}): Nelder-Mead on the log-RMSE of network hashrate, "
            f"{SCENARIO} vs data/hashrate_history.csv before {FIT_UNTIL}, months "
            f"{HELD_OUT[0]:%Y-%m}..{(HELD_OUT[1] - dt.timedelta(days=1)):%Y-%m} held out; "
            f"fit error {errors['fit_rmse_log_after']:.3f}, test error (2024-2025) {errors['test_rmse_log_after']:.3f}")
    tree: dict = {}
    for dotted, value in values.items():
        section, key = dotted.split(".")
        tree.setdefault(section, {})[key] = {"value": value, "fitted": note}
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


def main(max_evaluations: int = EVALUATIONS) -> int:
    if not IN_CHECKOUT:
        return outside_checkout("mining")
    values, errors = fit(max_evaluations)
    path = write_calibration(values, errors)
    print("fitted:", ", ".join(f"{k} = {v:.4g}" for k, v in values.items()))
    print(f"log-RMSE fit window  {errors['fit_rmse_log_before']:.3f} -> {errors['fit_rmse_log_after']:.3f}")
    print(f"log-RMSE test window {errors['test_rmse_log_before']:.3f} -> {errors['test_rmse_log_after']:.3f}")
    print(f"wrote {path}")
    return 0
