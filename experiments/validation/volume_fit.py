"""``crypto-abm calibrate volume``: value received on chain, fitted across countries.

**The relation** (``docs/ODD.md`` 7.5). Per country ``i`` and Chainalysis window ``t``
(12 months, July to June), value received per person is

    ln(VR_it / pop_it) = a + gamma x ln(y_it / y_ref) + eps x ln(P_t / P_ref) + u_it

with ``y`` GDP per capita (WDI, mean of the window's two calendar years), ``P`` the mean
BTC price over the window (Bitstamp monthly means) and ``y_ref``, ``P_ref`` the geometric
means over the fitted rows (so ``a`` is the level at a typical row). Population enters
with elasticity 1 (value received per person); a departure from 1 is tested with the
candidates below. Three parameters against 14 country rows.

**Why two stages.** Chainalysis publishes country values only for each region's leaders,
and mostly in the year a country led, so across countries the year of a row (and its
price) goes with which countries made the list. The price elasticity is therefore taken
from the *within* variation only (stage 1: the same country or region in different
windows, a fixed level each; the country rows with two or more windows and the regional
totals of Central & Southern Asia, North America and Eastern Europe). Stage 2 fits ``a``
and ``gamma`` on the country rows given that ``eps``; the covariance adds stage 1's
uncertainty through ``eps`` (a generated-regressor correction: stage 2's coefficients
move with ``eps`` by ``-(X'X)^-1 X' ln P``). The regions' rows of North Africa and
Sub-Saharan Africa are held out (``data/README.md``) and never read.

**Candidates not in the relation unless the data support them** (|t| >= 2 added to
stage 2): the stance in force at the window's middle (``data/policy_events.csv``),
inflation, ``ln(1 + CPI/100)``, and ``ln population`` (its estimate is the population
elasticity minus 1). Each is reported with its estimate either way.

**Leave one country out**: both stages without the country's rows (and without a region
that contains it), then its rows predicted; reported per country-year with the share
within 0.5-2x of the data (done-bound 70%, ``BOUND_WITHIN_2X``).

**For the model** the relation is turned per adopter: the data have adopter counts for
three of the nine countries only (Triple-A 2023: IND, PAK, USA), so the level per person
``exp(a)`` is divided by the geometric mean of those ownership shares (``s_ref``, its
spread added to the uncertainty of the scale). A country's value received in the model is
its adopters x ``k = exp(a) / s_ref`` x ``(y / y_ref)^gamma x (P / P_ref)^eps``.

**Exchange scale**: centralised spot trading on the exchanges serving India per USD of
India's value received, from the data's exchange totals (``exchange_share`` below).

Writes ``experiments/calibration/volume.toml`` (included by every scenario) and
``experiments/calibration/volume_fit.csv`` (per country-year: data, fitted, left out).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels.api as sm
import tomli_w

from experiments.provenance import atomic_write_bytes
from experiments.validation.calibrate import outside_checkout
from model.config import Covariance
from model.scenario import IN_CHECKOUT, package_file
from model.units import USD_PER_BN

DATA = package_file("data")
CALIBRATION_DIR = package_file("experiments", "calibration")
VOLUME_FILE = CALIBRATION_DIR / "volume.toml"
FIT_TABLE = CALIBRATION_DIR / "volume_fit.csv"
BOUND_WITHIN_2X = 0.70   # done-bound: share of country-years predicted within 0.5-2x, left out
T_SUPPORTED = 2.0        # a candidate covariate joins the relation at |t| >= this

# Regional totals used for the within-region price response, and the fitted countries each
# contains (left out with them). Chainalysis regions: Central & Southern Asia and Oceania,
# North America (US and Canada), Eastern Europe.
REGIONS = {"REGION:CSAO": ("IND", "PAK"), "REGION:NAM": ("USA",), "REGION:EEU": ("RUS",)}
# Triple-A 2023 ownership of the fitted countries that have it (data/crypto_activity.csv);
# Pakistan's is owners / Triple-A's population basis (its row and note).
OWNERSHIP_2023 = {"IND": ("tripleA_ownership_pct", None), "USA": ("tripleA_ownership_pct", None),
                  "PAK": ("tripleA_owners", 240_485_658)}
PARAMETERS = ("ln_value_received_per_adopter", "income_elasticity", "price_elasticity")
#: The same, as the fields of [volume] they fit (the first on its log scale in the covariance).
TERMS = ("value_received_usd_per_adopter_per_year", "income_elasticity", "price_elasticity")


# ===================================================================== data
def btc_window_price(start_year: int) -> float:
    """Mean BTC/USD over July of ``start_year`` to June of the next (Bitstamp monthly means)."""
    p = pd.read_csv(DATA / "btc_usd_monthly.csv")
    window = p[(p.month >= f"{start_year}-07") & (p.month <= f"{start_year + 1}-06")]
    if len(window) != 12:
        raise ValueError(f"data/btc_usd_monthly.csv: {len(window)} months for the window {start_year}-07..")
    return float(window.mean_usd.mean())


def wdi() -> pd.DataFrame:
    w = pd.read_csv(DATA / "policy_covariates.csv")
    return w.pivot_table(index=["iso3", "year"], columns="indicator", values="value")


def stance_at(iso3: str, date: dt.date) -> int:
    """The stance in force on ``date`` (policy panel: the 2013 stance, then the dated changes)."""
    start = pd.read_csv(DATA / "policy_stance_2013.csv").set_index("iso3").stance_2013
    events = pd.read_csv(DATA / "policy_events.csv")
    events = events[(events.iso3 == iso3) & (events.from_stance != events.to_stance)]
    stance = int(start[iso3])
    for r in events.sort_values("date").itertuples():
        day = dt.date.fromisoformat(r.date if len(r.date) == 10 else f"{r.date}-15")
        if day <= date:
            stance = int(r.to_stance)
    return stance


def _window(period: str) -> int:
    m = re.fullmatch(r"(\d{4})-07\.\.(\d{4})-06", period)
    if not m or int(m[2]) != int(m[1]) + 1:
        raise ValueError(f"value-received period {period!r} is not a July-June window")
    return int(m[1])


def country_rows() -> pd.DataFrame:
    """The country rows of value received with their covariates: country, start (year the
    window starts), value_usd, pop, gdp_pc, cpi_pct, price_usd, stance, source, note.
    Countries without WDI covariates in data/ (Ukraine) are left out."""
    vr = pd.read_csv(DATA / "chainalysis_value_received.csv")
    vr = vr[(vr.metric == "value_received") & ~vr.iso3.str.startswith("REGION:") & vr.value.notna()]
    w = wdi()
    rows = []
    for r in vr.itertuples():
        start = _window(r.period)
        years = [(r.iso3, y) for y in (start, start + 1)]
        if not all(k in w.index for k in years):
            continue
        cov = w.loc[years].mean()
        rows.append({"country": r.iso3, "start": start, "value_usd": float(r.value) * USD_PER_BN,
                     "pop": cov["SP.POP.TOTL"], "gdp_pc": cov["NY.GDP.PCAP.CD"], "cpi_pct": cov["FP.CPI.TOTL.ZG"],
                     "price_usd": btc_window_price(start), "stance": stance_at(r.iso3, dt.date(start + 1, 1, 1)),
                     "source": r.source, "note": r.note if isinstance(r.note, str) else ""})
    out = pd.DataFrame(rows).sort_values(["country", "start"]).reset_index(drop=True)
    if not np.isfinite(out[["value_usd", "pop", "gdp_pc", "price_usd"]].to_numpy()).all():
        raise ValueError("a value-received row has a missing covariate")
    return out


def region_rows() -> pd.DataFrame:
    """Regional totals of value received (data/crypto_activity.csv) of the regions in REGIONS."""
    act = pd.read_csv(DATA / "crypto_activity.csv")
    act = act[(act.metric == "chainalysis_value_received") & act.iso3.isin(REGIONS) & act.value.notna()]
    return pd.DataFrame([{"group": r.iso3, "start": _window(r.period), "value_usd": float(r.value) * USD_PER_BN,
                          "price_usd": btc_window_price(_window(r.period))} for r in act.itertuples()])


def reference_ownership() -> tuple[float, float]:
    """Geometric mean of the fitted countries' Triple-A 2023 ownership shares and the
    standard error of its log (spread over countries / sqrt(n))."""
    act = pd.read_csv(DATA / "crypto_activity.csv")
    shares = []
    for iso3, (metric, basis) in OWNERSHIP_2023.items():
        v = float(act[(act.iso3 == iso3) & (act.metric == metric) & (act.period.astype(str) == "2023")].value.iloc[0])
        shares.append(v / basis if basis else v / 100.0)
    logs = np.log(shares)
    return float(np.exp(logs.mean())), float(logs.std(ddof=1) / np.sqrt(len(logs)))


def exchange_share() -> tuple[float, str]:
    """Centralised spot trading on the exchanges serving a market per USD of its value
    received: India's top-4 domestic exchanges' volume in Jan-May 2023 (CoinGecko), a year's
    worth, over the domestic share of Indian exchange use (1 - the ~40% on offshore exchanges,
    Chainalysis 2024), over India's value received in 2022-07..2023-06 (Chainalysis 2023).
    The only country with exchange totals in the data; the months after India's 1% TDS
    (July 2022), the regime in force since."""
    act = pd.read_csv(DATA / "crypto_activity.csv").set_index(["iso3", "metric", "period"]).value
    top4 = float(act[("IND", "cex_volume_top4_domestic_exchanges", "2023-01..2023-05")]) * USD_PER_BN * 12 / 5
    offshore = float(act[("IND", "share_of_cex_usage_on_9_fiu_blocked_offshore_exchanges", "2024-04")]) / 100.0
    vr = float(act[("IND", "chainalysis_value_received", "2022-07..2023-06")]) * USD_PER_BN
    share = top4 / (1.0 - offshore) / vr
    text = (f"India: top-4 domestic CEX volume ${top4 / USD_PER_BN:.2f}bn a year (Jan-May 2023 x 12/5, CoinGecko "
            f"Research 2023) / (1 - {offshore:.0%} of Indian CEX use on offshore exchanges, Chainalysis 2024) / "
            f"value received ${vr / USD_PER_BN:.0f}bn (2022-07..2023-06, Chainalysis 2023); data/crypto_activity.csv")
    return share, text


# ===================================================================== the fit
@dataclass
class VolumeFit:
    values: dict[str, float]          # PARAMETERS: ln k (USD per adopter per year), gamma, eps
    cov: np.ndarray                   # their covariance, in PARAMETERS order
    reference: dict[str, float]       # gdp_pc_usd, btc_price_usd, ownership_share, ownership_log_se
    rows: pd.DataFrame                # per country-year: data, fitted, left out (USD) and their ratios
    stage1: dict                      # rows, groups, eps, se
    candidates: dict[str, tuple[float, float]]   # candidate covariate -> (estimate, s.e.) in stage 2
    exchange_share: float
    exchange_share_text: str

    @property
    def se(self) -> dict[str, float]:
        return dict(zip(PARAMETERS, np.sqrt(np.diag(self.cov))))

    @property
    def within_2x_fit(self) -> float:
        return within_2x(self.rows.fit_ratio)

    @property
    def within_2x_loo(self) -> float:
        return within_2x(self.rows.loo_ratio)


def within_2x(ratios) -> float:
    r = np.asarray(ratios, dtype=float)
    return float(np.mean((r >= 0.5) & (r <= 2.0)))


def rmse_log(ratios) -> float:
    return float(np.sqrt(np.mean(np.log(np.asarray(ratios, dtype=float)) ** 2)))


def price_response(countries: pd.DataFrame, regions: pd.DataFrame, p_ref: float, leave_out: str | None = None):
    """Stage 1: the within-group price elasticity (a level per country or region, one slope)."""
    c = countries[countries.country != leave_out].rename(columns={"country": "group"})
    r = regions[[leave_out not in REGIONS[g] for g in regions.group]]
    rows = pd.concat([c[["group", "start", "value_usd", "price_usd"]], r], ignore_index=True)
    rows = rows[rows.groupby("group").group.transform("size") >= 2]
    x = pd.get_dummies(rows.group, dtype=float).assign(lp=np.log(rows.price_usd / p_ref))
    fit = sm.OLS(np.log(rows.value_usd), x).fit()
    return float(fit.params["lp"]), float(fit.bse["lp"]), rows


def _design(rows: pd.DataFrame, y_ref: float, extra: tuple[str, ...] = ()) -> pd.DataFrame:
    x = pd.DataFrame({"const": 1.0, "ly": np.log(rows.gdp_pc / y_ref)}, index=rows.index)
    for name in extra:
        x[name] = candidate_values(rows, name)
    return x


CANDIDATES = {"stance": lambda r: r.stance.astype(float), "inflation": lambda r: np.log1p(r.cpi_pct / 100.0),
              "population": lambda r: np.log(r["pop"])}


def candidate_values(rows: pd.DataFrame, name: str) -> pd.Series:
    return CANDIDATES[name](rows)


def level(rows: pd.DataFrame, eps: float, y_ref: float, p_ref: float, extra: tuple[str, ...] = ()):
    """Stage 2: ln(VR / pop) - eps ln(P / P_ref) on a constant and ln(y / y_ref) (and ``extra``)."""
    z = np.log(rows.value_usd / rows["pop"]) - eps * np.log(rows.price_usd / p_ref)
    return sm.OLS(z, _design(rows, y_ref, extra)).fit()


def predict(rows: pd.DataFrame, params: pd.Series, eps: float, y_ref: float, p_ref: float) -> np.ndarray:
    x = _design(rows, y_ref, tuple(k for k in params.index if k not in ("const", "ly")))
    return np.exp(x.to_numpy() @ params.to_numpy() + eps * np.log(rows.price_usd / p_ref)) * rows["pop"]


def fit_volume() -> VolumeFit:
    countries, regions = country_rows(), region_rows()
    y_ref = float(np.exp(np.log(countries.gdp_pc).mean()))
    p_ref = float(np.exp(np.log(countries.price_usd).mean()))
    eps, eps_se, used = price_response(countries, regions, p_ref)
    candidates = {}
    for name in CANDIDATES:
        f = level(countries, eps, y_ref, p_ref, (name,))
        candidates[name] = (float(f.params[name]), float(f.bse[name]))
    extra = tuple(n for n, (b, s) in candidates.items() if abs(b / s) >= T_SUPPORTED)
    stage2 = level(countries, eps, y_ref, p_ref, extra)

    # Covariance of (a, gamma, eps): stage 2's, plus eps's through the generated regressor.
    x = _design(countries, y_ref, extra).to_numpy()
    g = -np.linalg.solve(x.T @ x, x.T @ np.log(countries.price_usd / p_ref).to_numpy())[:2]
    cov = np.zeros((3, 3))
    cov[:2, :2] = stage2.cov_params().to_numpy()[:2, :2] + np.outer(g, g) * eps_se**2
    cov[:2, 2] = cov[2, :2] = g * eps_se**2
    cov[2, 2] = eps_se**2
    share, share_log_se = reference_ownership()
    cov[0, 0] += share_log_se**2   # ln k = a - ln s_ref

    rows = countries.copy()
    rows["fit_usd"] = predict(rows, stage2.params, eps, y_ref, p_ref)
    loo = pd.Series(np.nan, index=rows.index)
    for code in rows.country.unique():
        e, _, _ = price_response(countries, regions, p_ref, leave_out=code)
        train = countries[countries.country != code]
        f = level(train, e, y_ref, p_ref, extra)
        test = rows.country == code
        loo[test] = predict(rows[test], f.params, e, y_ref, p_ref)
    rows["loo_usd"] = loo
    rows["fit_ratio"] = rows.fit_usd / rows.value_usd
    rows["loo_ratio"] = rows.loo_usd / rows.value_usd
    values = {PARAMETERS[0]: float(stage2.params["const"] - np.log(share)),
              PARAMETERS[1]: float(stage2.params["ly"]), PARAMETERS[2]: eps}
    exchange, exchange_text = exchange_share()
    return VolumeFit(values, cov, {"gdp_pc_usd": y_ref, "btc_price_usd": p_ref, "ownership_share": share,
                                   "ownership_log_se": share_log_se},
                     rows, {"rows": len(used), "groups": sorted(set(used.group)), "eps": eps, "se": eps_se},
                     candidates, exchange, exchange_text)


# ===================================================================== writing
def fitted_note(fit: VolumeFit, today: str) -> str:
    return (f"crypto-abm calibrate volume ({today}): value received across countries "
            f"(data/chainalysis_value_received.csv, {len(fit.rows)} country-years of "
            f"{fit.rows.country.nunique()} countries; WDI covariates), price response within countries and regions, "
            f"level and income scaling between countries; within 0.5-2x: {fit.within_2x_fit:.0%} fitted, "
            f"{fit.within_2x_loo:.0%} left out by country (experiments/validation/volume_fit.py)")


def calibration_tree(fit: VolumeFit, today: str) -> dict:
    note, se, ref = fitted_note(fit, today), fit.se, fit.reference
    return {"volume": {
        "value_received_usd_per_adopter_per_year": {
            "value": round(float(np.exp(fit.values[PARAMETERS[0]])), 1),
            "fitted": f"{note}; level per person / the fitted countries' geometric-mean ownership "
                      f"{ref['ownership_share']:.2%} (Triple-A 2023: IND, PAK, USA); s.e. of its log "
                      f"{se[PARAMETERS[0]]:.3f}"},
        "income_elasticity": {"value": round(fit.values[PARAMETERS[1]], 4),
                              "fitted": f"{note}; s.e. {se[PARAMETERS[1]]:.3f}"},
        "price_elasticity": {"value": round(fit.values[PARAMETERS[2]], 4),
                             "fitted": f"{note}; within {len(fit.stage1['groups'])} countries and regions "
                                       f"({fit.stage1['rows']} windows); s.e. {se[PARAMETERS[2]]:.3f}"},
        "reference_gdp_per_capita_usd": {"value": round(ref["gdp_pc_usd"], 1),
                                         "derived": "geometric mean of the fitted rows' GDP per capita (WDI)"},
        "reference_btc_price_usd": {"value": round(ref["btc_price_usd"], 1),
                                    "derived": "geometric mean of the fitted windows' mean BTC price (Bitstamp)"},
        "covariance": Covariance.record(
            list(TERMS), [[round(float(v), 6) for v in row] for row in fit.cov],
            f"{note}; covariance of (ln value_received_usd_per_adopter_per_year, income_elasticity, "
            "price_elasticity)", log_terms=[TERMS[0]]),
        "exchange_share_of_value_received": {"value": round(fit.exchange_share, 5), "derived": fit.exchange_share_text},
    }}


def write_calibration(fit: VolumeFit, path: Path = VOLUME_FILE, today: str | None = None) -> Path:
    header = ("# Fitted volume relation: written by `crypto-abm calibrate volume`; do not edit by hand.\n"
              "# Scenarios include this file after parts/behaviour.toml, so these values win.\n\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    text = header + tomli_w.dumps(calibration_tree(fit, today or dt.date.today().isoformat()))
    atomic_write_bytes(path, text.encode())
    return path


def write_table(fit: VolumeFit, path: Path = FIT_TABLE) -> Path:
    t = fit.rows.assign(period=[f"{s}-07..{s + 1}-06" for s in fit.rows.start])
    t = t[["country", "period", "value_usd", "fit_usd", "loo_usd", "fit_ratio", "loo_ratio", "gdp_pc", "price_usd",
           "stance", "note"]]
    atomic_write_bytes(path, t.to_csv(index=False, float_format="%.5g").encode())
    return path


def main() -> int:
    if not IN_CHECKOUT:
        return outside_checkout("volume")
    fit = fit_volume()
    se = fit.se
    print("fitted: " + ", ".join(f"{k} = {v:.4g} (s.e. {se[k]:.3f})" for k, v in fit.values.items()))
    print(f"  value received per adopter at ${fit.reference['gdp_pc_usd']:,.0f} GDP per capita and "
          f"${fit.reference['btc_price_usd']:,.0f}/BTC: ${np.exp(fit.values[PARAMETERS[0]]):,.0f} a year")
    for name, (b, s) in fit.candidates.items():
        print(f"  candidate {name}: {b:+.3f} (s.e. {s:.3f}) -> {'in' if abs(b / s) >= T_SUPPORTED else 'left out'}")
    for r in fit.rows.itertuples():
        print(f"  {r.country} {r.start}-{r.start + 1}: data ${r.value_usd / USD_PER_BN:.1f}bn, fitted "
              f"{r.fit_ratio:.2f}x, left out {r.loo_ratio:.2f}x")
    print(f"within 0.5-2x: fitted {fit.within_2x_fit:.0%}, left out {fit.within_2x_loo:.0%} "
          f"(bound {BOUND_WITHIN_2X:.0%}); log-RMSE fitted {rmse_log(fit.rows.fit_ratio):.2f}, "
          f"left out {rmse_log(fit.rows.loo_ratio):.2f}")
    print(f"exchange share of value received: {fit.exchange_share:.4f}")
    print(f"wrote {write_calibration(fit)} and {write_table(fit)}")
    return 0 if fit.within_2x_loo >= BOUND_WITHIN_2X else 1
