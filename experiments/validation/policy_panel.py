"""The country-year panel of national crypto stances that the policy-spread fit reads.

From dated stance events, the stances on 2013-01-01, land borders, weighted links
(remittance corridors), WDI covariates and a region per country (the shipped files in
``data/``, or any given by path; formats in ``docs/POLICY_DATA.md``), one row per country
and year: the stance on 1 January, whether the country was at risk of moving up (below
``cap``) and down (above 0), whether it moved (and where it landed), and every feature of
``model.stance_hazard`` computed as the model computes it, from the neighbours' stances on
1 January and the years since their last moves.

Covariates are the year before's (known by 1 January); a gap takes the country's nearest
year with a value (the earlier one on a tie), and a country with no value at all takes the
panel's median of that year. An indicator with a value for fewer than
:data:`MIN_COVERAGE` of the panel's country-years is left out of the candidate terms.

A file that cannot be used raises :class:`PanelError`: one line naming the file, the
field (column, with the row) and the value; the command line exits with status 2.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from data import table
from model.errors import MISSING, ScenarioError
from model.stance_hazard import COVARIATES, LEVELS, Neighbour, covariate_features, features

#: WDI indicator -> the covariate it feeds (``model.stance_hazard.covariate_features``).
INDICATORS = {"FP.CPI.TOTL.ZG": "inflation_pct", "NY.GDP.PCAP.CD": "gdp_per_capita_usd",
              "BX.TRF.PWKR.DT.GD.ZS": "remittances_pct_gdp", "IT.NET.USER.ZS": "internet_pct",
              "SP.POP.TOTL": "population"}
#: The feature each indicator gives.
FEATURE_OF = dict(zip(INDICATORS, ("inflation", "log_income", "remittances", "internet", "log_population")))
#: An indicator needs a value for at least this share of country-years to be a candidate.
MIN_COVERAGE = 0.8
POSITIVE = ("gdp_per_capita_usd", "population")  # taken logs of
FIRST_YEAR = 2013  # the initial stances are those of 2013-01-01 (column stance_2013)
EDGE_KINDS = ("border", "remittance", "alliance")


class PanelError(ScenarioError):
    """A panel file that cannot be used (file, field, value)."""


@dataclass(frozen=True)
class PanelFiles:
    """The files a panel is built from (the shipped ones by default); ``None`` leaves one out."""

    events: Path = table("policy_events.csv")
    initial: Path = table("policy_stance_2013.csv")
    borders: Path = table("policy_land_borders.csv")
    links: Path | None = table("policy_links.csv")
    covariates: Path | None = table("policy_covariates.csv")
    regions: Path | None = table("policy_regions.csv")

    def shipped(self) -> bool:
        return self == PanelFiles()


@dataclass
class Panel:
    rows: pd.DataFrame                 # one row per country and year (columns: see build_panel)
    covariates: list[str]              # covariate features kept as candidates
    coverage: dict[str, float]         # indicator -> share of country-years with a value
    files: PanelFiles
    cap: int
    dropped_equal: int = 0             # event rows with from_stance == to_stance, dropped
    notes: list[str] = field(default_factory=list)


# ------------------------------------------------------------------ reading
def _read(path: Path, columns: list[str]) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise PanelError.one(str(path), "", f"cannot be read as CSV: {err}") from None
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise PanelError.one(str(path), missing[0], "column missing", MISSING)
    return frame


def _code(path: Path, col: str, i: int, text: str) -> str:
    if not (len(text) == 3 and text.isalpha() and text.isupper()):
        raise PanelError.one(str(path), f"{col} (row {i + 2})", "not an ISO3 code (three capital letters)", text)
    return text


def _stance(path: Path, col: str, i: int, text: str) -> int:
    if text.strip() not in {str(k) for k in range(LEVELS)}:
        raise PanelError.one(str(path), f"{col} (row {i + 2})", f"not a stance 0..{LEVELS - 1}", text)
    return int(text)


def _number(path: Path, col: str, i: int, text: str, empty_ok: bool = False) -> float:
    if empty_ok and not text.strip():
        return math.nan
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise PanelError.one(str(path), f"{col} (row {i + 2})", "not a finite number", text)
    return value


def _date(path: Path, i: int, text: str) -> dt.date:
    """``YYYY-MM-DD``, or ``YYYY-MM`` (the day not known: dated the 15th)."""
    try:
        return dt.date.fromisoformat(text if len(text) != 7 else f"{text}-15")
    except ValueError:
        raise PanelError.one(str(path), f"date (row {i + 2})", "not a date (YYYY-MM-DD or YYYY-MM)", text) from None


def read_initial(path: Path) -> dict[str, int]:
    frame = _read(path, ["iso3", f"stance_{FIRST_YEAR}"])
    out: dict[str, int] = {}
    for i, r in enumerate(frame.itertuples(index=False)):
        code = _code(path, "iso3", i, r.iso3)
        if code in out:
            raise PanelError.one(str(path), f"iso3 (row {i + 2})", "listed twice", code)
        out[code] = _stance(path, f"stance_{FIRST_YEAR}", i, getattr(r, f"stance_{FIRST_YEAR}"))
    if not out:
        raise PanelError.one(str(path), "", "no country")
    return out


def read_events(path: Path, initial: dict[str, int]) -> tuple[pd.DataFrame, int]:
    """Stance changes in date order (rows with ``from_stance == to_stance`` dropped, counted);
    each country's rows must chain from its initial stance."""
    frame = _read(path, ["iso3", "date", "from_stance", "to_stance"])
    rows = []
    for i, r in enumerate(frame.itertuples(index=False)):
        code = _code(path, "iso3", i, r.iso3)
        _known(path, (("iso3", code),), i, initial)
        date = _date(path, i, r.date)
        if date.year < FIRST_YEAR:
            raise PanelError.one(str(path), f"date (row {i + 2})",
                                 f"before {FIRST_YEAR}-01-01, the initial stances' date", r.date)
        rows.append((code, date, _stance(path, "from_stance", i, r.from_stance),
                     _stance(path, "to_stance", i, r.to_stance), i))
    events = pd.DataFrame(rows, columns=["iso3", "date", "from_stance", "to_stance", "row"]).sort_values(
        ["iso3", "date"], kind="stable")
    current = dict(initial)
    for r in events.itertuples():
        if r.from_stance != current[r.iso3]:
            raise PanelError.one(str(path), f"from_stance (row {r.row + 2})",
                                 f"{r.iso3}'s stance before {r.date} is {current[r.iso3]} (from its initial stance and "
                                 "earlier rows)", r.from_stance)
        current[r.iso3] = r.to_stance
    equal = events.from_stance == events.to_stance
    kept = events[~equal].drop(columns="row").sort_values("date", kind="stable").reset_index(drop=True)
    return kept, int(equal.sum())


def _known(path: Path, cells: tuple[tuple[str, str], ...], i: int, initial: dict[str, int]) -> None:
    for col, code in cells:
        if code not in initial:
            raise PanelError.one(str(path), f"{col} (row {i + 2})", "not in the initial stances file", code)


def read_edges(files: PanelFiles, initial: dict[str, int]) -> list[tuple[str, str, str, float]]:
    """(a, b, kind, weight): borders weigh 1 both ways; a link weighs on its receiver only."""
    edges = []
    frame = _read(files.borders, ["iso3_a", "iso3_b"])
    for i, r in enumerate(frame.itertuples(index=False)):
        a, b = (_code(files.borders, c, i, getattr(r, c)) for c in ("iso3_a", "iso3_b"))
        _known(files.borders, (("iso3_a", a), ("iso3_b", b)), i, initial)
        edges += [(a, b, "border", 1.0), (b, a, "border", 1.0)]
    if files.links is not None:
        frame = _read(files.links, ["sender", "receiver", "kind", "weight"])
        for i, r in enumerate(frame.itertuples(index=False)):
            a, b = (_code(files.links, c, i, getattr(r, c)) for c in ("sender", "receiver"))
            _known(files.links, (("sender", a), ("receiver", b)), i, initial)
            if r.kind not in EDGE_KINDS:
                raise PanelError.one(str(files.links), f"kind (row {i + 2})", f"not one of {', '.join(EDGE_KINDS)}",
                                     r.kind)
            weight = _number(files.links, "weight", i, r.weight)
            if weight < 0:
                raise PanelError.one(str(files.links), f"weight (row {i + 2})", "must be >= 0", r.weight)
            edges.append((a, b, r.kind, weight))
            if r.kind != "remittance":  # borders and alliances weigh both ways
                edges.append((b, a, r.kind, weight))
    return edges


def read_covariates(path: Path, initial: dict[str, int]) -> pd.DataFrame:
    """country x year table of the raw covariates (NaN = not found)."""
    frame = _read(path, ["iso3", "year", "indicator", "value"])
    rows = []
    for i, r in enumerate(frame.itertuples(index=False)):
        if r.indicator not in INDICATORS or r.iso3 not in initial:
            continue
        year = _number(path, "year", i, r.year)
        value = _number(path, "value", i, r.value, empty_ok=True)
        if INDICATORS[r.indicator] in POSITIVE and value <= 0:  # NaN (not found) passes
            raise PanelError.one(str(path), f"value (row {i + 2})", f"{r.indicator} must be > 0", r.value)
        rows.append((r.iso3, int(year), INDICATORS[r.indicator], value))
    long = pd.DataFrame(rows, columns=["iso3", "year", "name", "value"])
    if long.duplicated(["iso3", "year", "name"]).any():
        first = long[long.duplicated(["iso3", "year", "name"])].iloc[0]
        raise PanelError.one(str(path), "iso3, year, indicator", "listed twice",
                             f"{first.iso3} {first.year} {first['name']}")
    wide = long.pivot(index=["iso3", "year"], columns="name", values="value")
    return wide.reindex(columns=list(INDICATORS.values()))


def read_regions(path: Path, initial: dict[str, int]) -> dict[str, str]:
    frame = _read(path, ["iso3", "region"])
    out = {_code(path, "iso3", i, r.iso3): r.region.strip() for i, r in enumerate(frame.itertuples(index=False))}
    missing = sorted(set(initial) - set(out))
    if missing:
        raise PanelError.one(str(path), "iso3", "a country of the initial stances file has no region", missing[0])
    return out


# ------------------------------------------------------------------ building
def _filled(raw: pd.DataFrame, codes: list[str], years: range) -> tuple[pd.DataFrame, dict[str, float]]:
    """Covariates of each country-year from the year before, gaps filled (module docstring)."""
    have = raw.reindex(pd.MultiIndex.from_product([codes, range(FIRST_YEAR, years[-1])], names=["iso3", "year"]))
    coverage = {ind: float(have[name].notna().mean()) for ind, name in INDICATORS.items()}
    out = {}
    for code in codes:
        mine = have.loc[code]
        for year in years:
            row = {}
            for name in INDICATORS.values():
                known = mine[name].dropna()
                if known.empty:
                    row[name] = np.nan
                    continue
                gaps = np.abs(known.index.to_numpy() - (year - 1))
                row[name] = float(known.iloc[int(np.argmin(gaps))])  # argmin: the earlier year on a tie
            out[(code, year)] = row
    filled = pd.DataFrame.from_dict(out, orient="index")
    filled.index.names = ["iso3", "year"]
    medians = filled.groupby(level="year").transform("median")
    return filled.fillna(medians), coverage


def build_panel(files: PanelFiles = PanelFiles(), cap: int = 3, last_year: int | None = None,
                kind_weights: dict[str, float] | None = None) -> Panel:
    """The country-year panel (see the module docstring)."""
    initial = read_initial(files.initial)
    events, dropped = read_events(files.events, initial)
    edges = read_edges(files, initial)
    regions = read_regions(files.regions, initial) if files.regions is not None else {c: "all" for c in initial}
    codes = sorted(initial)
    last_year = last_year or max([FIRST_YEAR] + [d.year for d in events.date])
    years = range(FIRST_YEAR, last_year + 1)
    kinds = kind_weights or {k: 1.0 for k in EDGE_KINDS}
    neighbours: dict[str, dict[str, float]] = {c: {} for c in codes}
    for a, b, kind, w in edges:  # a weighs on b
        neighbours[b][a] = neighbours[b].get(a, 0.0) + w * kinds[kind]
    if files.covariates is not None:
        raw, coverage = _filled(read_covariates(files.covariates, initial), codes, years)
    else:
        raw, coverage = None, {ind: 0.0 for ind in INDICATORS}
    kept = [FEATURE_OF[ind] for ind, share in coverage.items() if share >= MIN_COVERAGE]
    events = events.assign(year=[d.year for d in events.date])
    by_country = {c: events[events.iso3 == c] for c in codes}
    rows = []
    for year in years:
        jan1 = dt.date(year, 1, 1)
        state = {}
        for c in codes:
            past = by_country[c][by_country[c].date < jan1]
            ups = past[past.to_stance > past.from_stance].date
            downs = past[past.to_stance < past.from_stance].date
            state[c] = (int(past.to_stance.iloc[-1]) if len(past) else initial[c],
                        (jan1 - ups.iloc[-1]).days / 365.25 if len(ups) else math.inf,
                        (jan1 - downs.iloc[-1]).days / 365.25 if len(downs) else math.inf)
        for c in codes:
            stance = state[c][0]
            nb = [Neighbour(state[j][0], w, state[j][1], state[j][2]) for j, w in neighbours[c].items()]
            cov = (covariate_features(**raw.loc[(c, year)].to_dict()) if raw is not None
                   else dict.fromkeys(COVARIATES, math.nan))  # NaN: an indicator with no value at all
            x = features(stance, nb, cov, cap)
            mine = by_country[c][by_country[c].year == year]
            up = mine[mine.to_stance > mine.from_stance]
            down = mine[mine.to_stance < mine.from_stance]
            rows.append({"iso3": c, "year": year, "region": regions[c], "stance": stance,
                         "at_risk_up": stance < cap, "at_risk_down": stance > 0,
                         "up": int(len(up) > 0), "down": int(len(down) > 0),
                         "up_to": int(up.to_stance.iloc[0]) if len(up) else -1,
                         "down_to": int(down.to_stance.iloc[0]) if len(down) else -1,
                         "neighbours": len(nb), **x})
    panel = Panel(pd.DataFrame(rows), kept, coverage, files, cap, dropped)
    if dropped:
        panel.notes.append(f"{dropped} event rows with from_stance == to_stance dropped (not stance changes)")
    left_out = [ind for ind, share in coverage.items() if share < MIN_COVERAGE]
    if left_out:
        panel.notes.append("covariates left out (value for under "
                           f"{MIN_COVERAGE:.0%} of country-years): {', '.join(left_out)}")
    return panel
