"""``crypto-abm calibrate policy`` and ``validate policy``: the stance hazards fitted to history.

**The model fitted.** A discrete-time event-history model of the country-year panel
(:mod:`experiments.validation.policy_panel`), separately for moving up and moving down:
``P(move in the year) = 1 - exp(-exp(b0 + sum_k b_k x_k))`` (complementary log-log), whose
``exp(...)`` is the yearly hazard the model's countries use (``model/stance_hazard.py``).
The log-likelihood is the binomial one over the country-years at risk; the slopes get a weak
normal prior, sd :data:`PRIOR_SD` per unit of a feature (Gelman et al. 2008's default for
logistic slopes), which keeps a term whose events never happen (retreats from regulated in
the training years) finite instead of minus infinity. The fit is the posterior mode
(scipy BFGS) and its uncertainty the Laplace approximation: the inverse of the Hessian of
the negative log-posterior, a covariance written beside the coefficients.

**Where a move lands**: a weight per level (``model.stance_hazard.landing``), the posterior
mode of the likelihood of the observed landings given the levels each could reach, with a
Dirichlet(1.5) prior (half a pseudo-move per level), on log weights relative to the
direction's reference level (regulated up, ban down), with their Laplace covariance.

**Which terms.** Start from constant hazards; then, stage by stage, the current stance,
the neighbours' exposure, the time since a neighbour's move, the domestic covariates. A term
is kept when it raises the leave-one-region-out log-likelihood of the training years (fit on
the other regions, score the region left out) by at least :data:`MIN_GAIN` (one nat, what one
more fitted parameter is worth by Akaike's measure). The test years are not used to choose.

**Validation.** Fit on :data:`TRAIN_YEARS`, test on :data:`TEST_YEARS`: log-likelihood per
country-year beside constant hazards fitted on the same training panel; posterior-predictive
counts of moves up and down by year (coefficient draws, then a draw of moves) with 90%
intervals; leave-one-region-out over all years. Then the chosen terms are refitted on all
years: those are the coefficients the model uses, written to
``experiments/calibration/policy.toml``.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import tomli_w
from scipy.optimize import minimize

from experiments.validation.calibrate import outside_checkout
from experiments.validation.finite_differences import hessian
from experiments.validation.policy_panel import Panel, PanelError, PanelFiles, build_panel
from model.scenario import IN_CHECKOUT, package_file
from model.stance_hazard import COVARIATES, LEVELS

CALIBRATION_FILE = package_file("experiments", "calibration", "policy.toml")
TRAIN_YEARS = (2013, 2020)
TEST_YEARS = (2021, 2025)
PRIOR_SD = 2.5
HESSIAN_STEP = 1e-4  # central differences of the landing model's -log posterior, for its covariance
LANDING_PRIOR = 1.5   # Dirichlet concentration per level: half a pseudo-move each
MIN_GAIN = 1.0
DRAWS = 4000
LEVEL = 0.90
SEED = 20250708       # the draws' seed (the date of Pakistan's Virtual Assets Ordinance)
RISK = {"up": "at_risk_up", "down": "at_risk_down"}
STAGES = {
    "up": (("stance", ("at_ban", "at_restricted")), ("neighbours", ("liberal_exposure",)),
           ("timing", ("recent_up",)), ("covariates", COVARIATES)),
    "down": (("stance", ("at_regulated",)), ("neighbours", ("restrictive_exposure",)),
             ("timing", ("recent_down",)), ("covariates", COVARIATES)),
}
#: The landing weights' reference level (its log weight is 0) and the levels a move can reach.
LANDING = {"up": (3, (1, 2, 3, 4)), "down": (0, (0, 1, 2, 3))}


# ------------------------------------------------------------------ the hazard fit
def _cloglog(eta: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: log P(y), its first and second derivatives in eta, for P(1) = 1 - exp(-exp(eta))."""
    mu = np.exp(np.minimum(eta, 30.0))
    em = np.expm1(mu)
    with np.errstate(divide="ignore"):
        lp = np.where(y == 1, np.log(-np.expm1(-mu)), -mu)
    g = np.where(y == 1, mu / np.where(em > 0, em, 1.0), -mu)
    h = np.where(y == 1, mu * (em - mu * (em + 1.0)) / np.where(em > 0, em, 1.0) ** 2, -mu)
    return lp, g, h


@dataclass
class HazardFit:
    direction: str
    terms: list[str]          # slopes, in order; the intercept comes first in coef
    coef: np.ndarray
    cov: np.ndarray
    rows: int
    events: int

    def eta(self, rows: pd.DataFrame) -> np.ndarray:
        return design(rows, self.terms) @ self.coef

    def prob(self, rows: pd.DataFrame) -> np.ndarray:
        return -np.expm1(-np.exp(np.minimum(self.eta(rows), 30.0)))

    def loglik(self, rows: pd.DataFrame) -> float:
        return float(_cloglog(self.eta(rows), rows[self.direction].to_numpy())[0].sum())

    def se(self) -> np.ndarray:
        return np.sqrt(np.diag(self.cov))


def at_risk(rows: pd.DataFrame, direction: str) -> pd.DataFrame:
    return rows[rows[RISK[direction]]]


def design(rows: pd.DataFrame, terms: list[str]) -> np.ndarray:
    return np.column_stack([np.ones(len(rows))] + [rows[t].to_numpy(dtype=float) for t in terms])


def fit_hazard(rows: pd.DataFrame, direction: str, terms: list[str]) -> HazardFit:
    """The posterior mode and Laplace covariance on the rows at risk in ``direction``."""
    rows = at_risk(rows, direction)
    x, y = design(rows, terms), rows[direction].to_numpy()
    prec = np.r_[0.0, np.full(len(terms), 1.0 / PRIOR_SD ** 2)]

    def objective(b):
        lp, g, _ = _cloglog(x @ b, y)
        return -lp.sum() + 0.5 * np.sum(prec * b * b), -(x.T @ g) + prec * b

    start = np.r_[math.log(-math.log1p(-min(max(y.mean(), 1e-3), 0.5))), np.zeros(len(terms))]
    best = minimize(objective, start, jac=True, method="BFGS", options={"gtol": 1e-8})
    _, _, h = _cloglog(x @ best.x, y)
    hessian = -(x.T * h) @ x + np.diag(prec)
    return HazardFit(direction, list(terms), best.x, np.linalg.inv(hessian), len(rows), int(y.sum()))


# ------------------------------------------------------------------ landing
@dataclass
class LandingFit:
    direction: str
    free: list[int]           # levels with a free log weight (the reference level's is 0)
    log_w: np.ndarray
    cov: np.ndarray
    moves: int

    def weights(self) -> list[float]:
        """One weight per level 0..4, summing to 1 over the direction's levels (0 elsewhere)."""
        ref, levels = LANDING[self.direction]
        raw = {ref: 1.0, **{k: math.exp(v) for k, v in zip(self.free, self.log_w)}}
        total = sum(raw.values())
        return [raw.get(k, 0.0) / total if k in levels else 0.0 for k in range(LEVELS)]


def fit_landing(rows: pd.DataFrame, direction: str) -> LandingFit:
    ref, levels = LANDING[direction]
    free = [k for k in levels if k != ref]
    moves = rows[rows[f"{direction}_to"] >= 0]
    pairs = list(zip(moves.stance, moves[f"{direction}_to"]))

    def neg_log_post(theta):
        logw = dict(zip(free, theta)) | {ref: 0.0}
        ll = 0.0
        for s, k in pairs:
            reach = [j for j in levels if (j > s if direction == "up" else j < s)]
            ll += logw[k] - np.logaddexp.reduce([logw[j] for j in reach])
        w = np.array([logw[j] for j in levels])
        prior = (LANDING_PRIOR - 1.0) * (w - np.logaddexp.reduce(w)).sum()  # Dirichlet on the normalised weights
        return -(ll + prior)

    best = minimize(neg_log_post, np.zeros(len(free)), method="BFGS")
    return LandingFit(direction, free, best.x, np.linalg.inv(hessian(neg_log_post, best.x, HESSIAN_STEP)), len(pairs))


# ------------------------------------------------------------------ choosing terms
@dataclass
class Step:
    direction: str
    stage: str
    term: str
    cv_gain: float       # leave-one-region-out log-likelihood gain on the training years
    test_gain: float     # log-likelihood gain on the test years (reported, not used to choose)
    kept: bool


def loro_loglik(rows: pd.DataFrame, direction: str, terms: list[str]) -> float:
    """Sum over regions of the log-likelihood of the region's rows under a fit on the others."""
    return sum(fit_hazard(rows[rows.region != r], direction, terms).loglik(at_risk(rows[rows.region == r], direction))
               for r in sorted(rows.region.unique()))


def choose_terms(train: pd.DataFrame, test: pd.DataFrame, direction: str,
                 candidates: list[str]) -> tuple[list[str], list[Step]]:
    """Stage by stage, greedily: the best term of a stage is kept while it gains MIN_GAIN or more."""
    kept: list[str] = []
    steps: list[Step] = []
    cv = loro_loglik(train, direction, kept)
    test_ll = fit_hazard(train, direction, kept).loglik(at_risk(test, direction))
    for stage, terms in STAGES[direction]:
        while True:
            trials = []
            for term in [t for t in terms if t in candidates and t not in kept]:
                fit = fit_hazard(train, direction, kept + [term])
                trials.append((loro_loglik(train, direction, kept + [term]) - cv,
                               fit.loglik(at_risk(test, direction)) - test_ll, term))
            if not trials:
                break
            trials.sort(reverse=True)
            gain, test_gain, term = trials[0]
            keep = gain >= MIN_GAIN
            steps += [Step(direction, stage, t, g, tg, keep and t == term) for g, tg, t in trials]
            if not keep:
                break
            kept.append(term)
            cv += gain
            test_ll += test_gain
    return kept, steps


# ------------------------------------------------------------------ validation
def predictive_counts(fit: HazardFit, rows: pd.DataFrame, rng: np.random.Generator,
                      draws: int = DRAWS) -> pd.DataFrame:
    """Moves by year among ``rows`` at risk: expected, and the 5%/95% quantiles of the
    posterior predictive (coefficients drawn from the fit's normal approximation, then moves)."""
    rows = at_risk(rows, fit.direction)
    coefs = rng.multivariate_normal(fit.coef, fit.cov, size=draws)
    p = -np.expm1(-np.exp(np.minimum(design(rows, fit.terms) @ coefs.T, 30.0)))  # rows x draws
    moves = rng.random(p.shape) < p
    out = []
    for year in sorted(rows.year.unique()):
        mask = (rows.year == year).to_numpy()
        counts = moves[mask].sum(axis=0)
        lo, hi = np.quantile(counts, [(1 - LEVEL) / 2, (1 + LEVEL) / 2])
        out.append({"year": int(year), "direction": fit.direction, "observed": int(rows[mask][fit.direction].sum()),
                    "expected": float(p[mask].mean(axis=1).sum()), "low": float(lo), "high": float(hi)})
    return pd.DataFrame(out)


@dataclass
class TestReport:
    up: HazardFit
    down: HazardFit
    constant_up: HazardFit
    constant_down: HazardFit
    country_years: int
    loglik: float             # chosen terms, per country-year of the test years
    loglik_constant: float
    loglik_train: float       # in sample, per country-year of the training years
    loglik_train_constant: float
    counts: pd.DataFrame      # predictive_counts of both directions


def score(up: HazardFit, down: HazardFit, rows: pd.DataFrame) -> float:
    """Log-likelihood per country-year: both directions' terms over the rows."""
    return (up.loglik(at_risk(rows, "up")) + down.loglik(at_risk(rows, "down"))) / max(len(rows), 1)


def test_report(train: pd.DataFrame, test: pd.DataFrame, up_terms: list[str], down_terms: list[str],
                rng: np.random.Generator) -> TestReport:
    up, down = fit_hazard(train, "up", up_terms), fit_hazard(train, "down", down_terms)
    c_up, c_down = fit_hazard(train, "up", []), fit_hazard(train, "down", [])
    counts = pd.concat([predictive_counts(up, test, rng), predictive_counts(down, test, rng)], ignore_index=True)
    return TestReport(up, down, c_up, c_down, len(test), score(up, down, test), score(c_up, c_down, test),
                      score(up, down, train), score(c_up, c_down, train), counts)


def leave_region_out(rows: pd.DataFrame, up_terms: list[str], down_terms: list[str]) -> pd.DataFrame:
    """Per region: fit on the others (all years), score the region; constant hazards alike."""
    out = []
    for region in sorted(rows.region.unique()):
        rest, mine = rows[rows.region != region], rows[rows.region == region]
        up, down = fit_hazard(rest, "up", up_terms), fit_hazard(rest, "down", down_terms)
        c_up, c_down = fit_hazard(rest, "up", []), fit_hazard(rest, "down", [])
        out.append({"region": region, "countries": mine.iso3.nunique(), "country_years": len(mine),
                    "moves_up": int(at_risk(mine, "up").up.sum()), "moves_down": int(at_risk(mine, "down").down.sum()),
                    "expected_up": float(up.prob(at_risk(mine, "up")).sum()),
                    "expected_down": float(down.prob(at_risk(mine, "down")).sum()),
                    "loglik": score(up, down, mine), "loglik_constant": score(c_up, c_down, mine)})
    return pd.DataFrame(out)


# ------------------------------------------------------------------ the whole calibration
@dataclass
class PolicyFit:
    panel: Panel
    up: HazardFit             # chosen terms, all years: the model's coefficients
    down: HazardFit
    constant_up: HazardFit    # constant hazards, all years (validate policy's reference)
    constant_down: HazardFit
    landing_up: LandingFit
    landing_down: LandingFit
    steps: list[Step]
    test: TestReport
    loro: pd.DataFrame
    made: str = field(default_factory=lambda: dt.date.today().isoformat())


def calibrate(files: PanelFiles = PanelFiles(), seed: int = SEED) -> PolicyFit:
    panel = build_panel(files)
    rows = panel.rows
    train = rows[rows.year.between(*TRAIN_YEARS)]
    test = rows[rows.year.between(*TEST_YEARS)]
    if train.empty or test.empty:
        raise PanelError.one(str(files.events), "date",
                             f"the panel needs years in {TRAIN_YEARS[0]}-{TRAIN_YEARS[1]} (fit) and "
                             f"{TEST_YEARS[0]}-{TEST_YEARS[1]} (test)", f"{rows.year.min()}-{rows.year.max()}")
    candidates = [t for d in STAGES.values() for stage, terms in d if stage != "covariates" for t in terms]
    candidates += panel.covariates
    up_terms, up_steps = choose_terms(train, test, "up", candidates)
    down_terms, down_steps = choose_terms(train, test, "down", candidates)
    rng = np.random.default_rng(seed)
    report = test_report(train, test, up_terms, down_terms, rng)
    return PolicyFit(panel, fit_hazard(rows, "up", up_terms), fit_hazard(rows, "down", down_terms),
                     fit_hazard(rows, "up", []), fit_hazard(rows, "down", []),
                     fit_landing(rows, "up"), fit_landing(rows, "down"),
                     up_steps + down_steps, report, leave_region_out(rows, up_terms, down_terms))


# ------------------------------------------------------------------ the fit file
LEVEL_NAMES = ("ban", "restricted", "unclear", "regulated", "legal_tender")


def _provenance(fit: PolicyFit) -> str:
    files = "the shipped panel (data/policy_*.csv)" if fit.panel.files.shipped() else ", ".join(
        f"{k}={v}" for k, v in vars(fit.panel.files).items() if v is not None)
    t = fit.test
    return (f"crypto-abm calibrate policy ({fit.made}): complementary log-log event-history fit of "
            f"{fit.panel.rows.year.min()}-{fit.panel.rows.year.max()} country-years, {files}; terms chosen by "
            f"leave-one-region-out log-likelihood on {TRAIN_YEARS[0]}-{TRAIN_YEARS[1]}; test "
            f"{TEST_YEARS[0]}-{TEST_YEARS[1]}: log-likelihood per country-year {t.loglik:.3f} "
            f"(constant hazards {t.loglik_constant:.3f}); refitted on all years")


def fit_tree(fit: PolicyFit) -> dict:
    """The calibration file's contents: coefficients with provenance and s.e., landing weights,
    constant hazards and covariances (docs/POLICY_DATA.md)."""
    note = _provenance(fit)
    tree: dict = {}
    for h in (fit.up, fit.down):
        tree[h.direction] = {name: {"value": float(v), "fitted": note, "note": f"s.e. {s:.3g}"}
                             for name, v, s in zip(["intercept"] + h.terms, h.coef, h.se())}
    covariance = {h.direction: {"terms": ["intercept"] + h.terms, "matrix": h.cov.tolist(),
                                "fitted": f"{note}; Laplace approximation (inverse Hessian of the log-posterior)"}
                  for h in (fit.up, fit.down)}
    for lf in (fit.landing_up, fit.landing_down):
        ref, levels = LANDING[lf.direction]
        tree[f"landing_{lf.direction}"] = {  # a level no move this way can reach keeps the default 0
            LEVEL_NAMES[k]: {"value": w, "fitted": f"{note}; {lf.moves} moves, Dirichlet(1.5) prior, weights "
                             f"normalised over the levels a move {lf.direction} can reach"}
            for k, w in enumerate(lf.weights()) if k in levels}
        covariance[f"landing_{lf.direction}"] = {
            "terms": [f"log_{LEVEL_NAMES[k]}_vs_{LEVEL_NAMES[ref]}" for k in lf.free], "matrix": lf.cov.tolist(),
            "fitted": f"{note}; Laplace approximation of the log weights' posterior"}
    tree["fit"] = {
        "constant_up_per_year": {"value": float(math.exp(fit.constant_up.coef[0])), "fitted": note},
        "constant_down_per_year": {"value": float(math.exp(fit.constant_down.coef[0])), "fitted": note},
        "covariance": covariance}
    return {"policy": tree}


HEADER = ("# Fitted stance hazards: written by `crypto-abm calibrate policy`; do not edit by hand.\n"
          "# The south_asia_2025 scenario includes this file after parts/behaviour.toml, so these values win.\n"
          "# Coefficients of the yearly log-hazards (model/stance_hazard.py, docs/ODD.md 7.1), each with its\n"
          "# standard error; [policy.fit.covariance] holds the covariances (Laplace approximation) for draws.\n\n")


def write_fit(fit: PolicyFit, path: Path) -> Path:
    """Write atomically: a temporary file in the same folder, then os.replace."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(HEADER + tomli_w.dumps(fit_tree(fit)))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _value(node: object) -> object:
    return node["value"] if isinstance(node, dict) and "value" in node else node


def read_fit(path: Path) -> tuple[HazardFit, HazardFit, HazardFit, HazardFit]:
    """The fitted and the constant hazards of a calibration file (for ``validate policy``)."""
    try:
        policy = tomllib.loads(Path(path).read_text())["policy"]
        out = []
        for direction in ("up", "down"):
            table = {k: float(_value(v)) for k, v in policy[direction].items()}
            cov = policy["fit"]["covariance"][direction]
            terms = [t for t in cov["terms"] if t != "intercept"]
            coef = np.array([table["intercept"]] + [table.get(t, 0.0) for t in terms])
            out.append(HazardFit(direction, terms, coef, np.array(cov["matrix"], dtype=float), 0, 0))
        for direction in ("up", "down"):
            rate = float(_value(policy["fit"][f"constant_{direction}_per_year"]))
            out.append(HazardFit(direction, [], np.array([math.log(rate)]), np.zeros((1, 1)), 0, 0))
    except OSError as err:
        raise PanelError.one(str(path), "", f"cannot be read: {err.strerror}") from None
    except tomllib.TOMLDecodeError as err:
        raise PanelError.one(str(path), "", f"not TOML: {err}") from None
    except (KeyError, TypeError, ValueError) as err:
        raise PanelError.one(str(path), "policy", "not a calibration file of `crypto-abm calibrate policy` "
                             f"(missing or bad {err})") from None
    if not all(np.isfinite(h.coef).all() and np.isfinite(h.cov).all() for h in out):
        raise PanelError.one(str(path), "policy", "a coefficient or covariance is not finite")
    return out[0], out[1], out[2], out[3]


# ------------------------------------------------------------------ the commands
def comparison_lines(fit: PolicyFit) -> list[str]:
    """The term-by-term comparison (printed by calibrate, a table in docs/VALIDATION.md)."""
    lines = []
    for s in fit.steps:
        lines.append(f"  {s.direction:<5} {s.stage:<11} +{s.term:<21} leave-one-region-out {s.cv_gain:+6.2f}  "
                     f"test {s.test_gain:+6.2f}  {'kept' if s.kept else ''}")
    return lines


def calibrate_main(files: PanelFiles, out: Path | None, force: bool) -> int:
    """``crypto-abm calibrate policy``: fit and write; a fit on another panel needs ``--out``
    (or ``--force`` to replace the shipped file), and an existing ``--out`` needs ``--force``."""
    if out is None:
        if not files.shipped() and not force:
            raise PanelError.one(str(CALIBRATION_FILE), "--out", "a fit on a panel other than the shipped one "
                                 "needs --out FILE (or --force to replace the file the scenarios include)")
        if not IN_CHECKOUT:
            return outside_checkout("policy")
        out = CALIBRATION_FILE
    elif out.exists() and not force:
        raise PanelError.one(str(out), "--out", "exists; --force replaces it")
    fit = calibrate(files)
    t = fit.test
    for note in fit.panel.notes:
        print(f"note: {note}")
    print("terms (leave-one-region-out log-likelihood gain on the training years; test-year gain, not used):")
    print("\n".join(comparison_lines(fit)))
    for h in (fit.up, fit.down):
        print(f"{h.direction}: " + ", ".join(f"{n} {v:+.3f} (s.e. {s:.3f})"
                                             for n, v, s in zip(["intercept"] + h.terms, h.coef, h.se())))
    print(f"test {TEST_YEARS[0]}-{TEST_YEARS[1]}: log-likelihood per country-year {t.loglik:.3f}, constant hazards "
          f"{t.loglik_constant:.3f} (training years in sample: {t.loglik_train:.3f} vs {t.loglik_train_constant:.3f})")
    print(f"wrote {write_fit(fit, out)}")
    return 0


def validate_main(fit_file: Path, files: PanelFiles, since: int | None = None) -> int:
    """``crypto-abm validate policy``: a panel's transitions scored under a fit."""
    up, down, c_up, c_down = read_fit(fit_file)
    panel = build_panel(files)
    rows = panel.rows if since is None else panel.rows[panel.rows.year >= since]
    for h in (up, down):
        missing = [t for t in h.terms if t not in rows or rows[t].isna().any()]
        if missing:
            raise PanelError.one(str(files.covariates), missing[0], "the fit uses it; the panel does not give it")
    print(f"{len(rows)} country-years {rows.year.min()}-{rows.year.max()}, {rows.iso3.nunique()} countries")
    print(f"log-likelihood per country-year: fit {score(up, down, rows):.3f}, constant hazards "
          f"{score(c_up, c_down, rows):.3f}")
    print("year  up: observed expected   down: observed expected")
    for year, mine in rows.groupby("year"):
        print(f"{year}  {at_risk(mine, 'up').up.sum():>4} {up.prob(at_risk(mine, 'up')).sum():>8.2f}   "
              f"{at_risk(mine, 'down').down.sum():>14} {down.prob(at_risk(mine, 'down')).sum():>8.2f}")
    return 0
