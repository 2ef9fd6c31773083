"""Outcomes: one number per run, computed from its tidy rows, declared rather than coded.

This module is the *language* (parsing, and checking a spec's ``[analysis]`` table when the
spec is loaded); computing outcomes from a sweep folder is :mod:`experiments.analysis.outcomes`.

A sweep keeps time series (``step, date, country, metric, value``); questions are about
scalars: Pakistan's hashrate share in 2030, the region's trading volume over the run, the
date Bangladesh's stance first moves, "Bangladesh legalizes before 2028" (yes/no). An
outcome says how to get that scalar, in a spec's ``[analysis.outcomes]`` table or on the
command line (``crypto-abm analyze DIR --outcome NAME=EXPR``), with one small syntax::

    STAT(METRIC@COUNTRIES [OP VALUE], key=value, ...) [OP VALUE]

    last(hashrate_share@PAK)                       Pakistan's share at the last step
    sum(trading_volume_usd@region)                 regional volume over the whole run
    max(mining_power_mw@PAK, from=2026-01-01)      peak MW from 2026
    first_change(stance@BGD)                       date BGD's stance first moves (censored)
    first_time(stance@BGD >= 3)                    date BGD first reaches "regulated"
    max(stance@BGD, to=2027-12-31) >= 3            yes/no: BGD regulated before 2028
    first_change(stance@NPL) < 2030-12-31          yes/no: NPL moves within the run
    min(hashrate_ehs@WORLD, from=2028-04-15, to=2028-10-15, relative_to=2028-04-08)
                                                   the halving dip, relative to the week before

The series is the metric at the listed countries (``PAK+IND``, ``region`` = the
countries with households, ``all`` = every kept country but WORLD), combined per step by
``across`` (sum by default; mean, max, min), optionally divided by its value at
``relative_to``, cut to the window ``from``..``to``, and reduced by ``STAT``:

=============== ==========================================================================
last, first     the value at the window's last (first) kept step
sum             the total over the window: each kept row stands for the steps up to the
                next kept row (exact with ``every = 1``); for per-step flows such as
                ``trading_volume_usd`` this is the volume over the window
mean            the step-weighted mean over the window
max, min        the peak (trough) value
change          last minus first
argmax, argmin  the date of the peak (trough)
first_change    the first date the value differs from its value at the window's start
first_time      the first date ``METRIC OP VALUE`` holds (the condition inside the brackets)
=============== ==========================================================================

Dates are decimal years (2027.5 = early July 2027). ``first_change``/``first_time`` are
*censored at the horizon*: a run in which it never happens gets the window's end date
and a ``censored`` flag, so "never" counts as "late", and the report gives the share
censored. A trailing ``OP VALUE`` (``>=, >, <=, <, ==, !=``; a number, or a date for date
outcomes) makes a yes/no outcome: 1 where it holds, 0 where not; its replicate mean at a
design point is the probability there. Everything is checked when the spec is loaded
(metric and countries kept by ``[output]``, dates inside the run), so a typo never waits
for the end of a sweep.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd

from model.recorder import METRICS, WORLD_ONLY
from model.scenario import load_scenario

STATS = ("last", "first", "sum", "mean", "max", "min", "change", "argmax", "argmin", "first_change", "first_time")
DATE_STATS = ("argmax", "argmin", "first_change", "first_time")
CENSORED_STATS = ("first_change", "first_time")
ACROSS = ("sum", "mean", "max", "min")
OPS: dict[str, Callable[[Any, Any], Any]] = {
    ">=": np.greater_equal, "<=": np.less_equal, ">": np.greater, "<": np.less, "==": np.equal, "!=": np.not_equal,
}
KEYS = {"from", "to", "relative_to", "across"}
TABLE_KEYS = {"stat", "metric", "countries", "across", "from", "to", "relative_to", "when", "yes_if", "label"}
ANALYSIS_KEYS = {"outcomes", "fan", "fan_by", "prim", "resamples", "conf_level", "labels"}
FAN_BY = ("auto", "pooled", "point")
#: Defaults of the [analysis] table (and of ``crypto-abm analyze --resamples/--conf-level``).
DEFAULT_RESAMPLES = 1000
DEFAULT_CONF = 0.95
WORLD = "WORLD"

_OP = r"(>=|<=|==|!=|>|<)"
_CALL = re.compile(r"^\s*(?P<stat>[A-Za-z_]\w*)\s*\((?P<body>.*)\)\s*(?:" + _OP + r"\s*(?P<rhs>\S+))?\s*$")
_SERIES = re.compile(r"^\s*(?P<metric>[A-Za-z_]\w*)\s*(?:@\s*(?P<countries>[A-Za-z+ ]+?))?\s*(?:" + _OP
                     + r"\s*(?P<value>\S+))?\s*$")
_COND = re.compile(r"^\s*" + _OP + r"\s*(?P<value>\S+)\s*$")


class OutcomeError(ValueError):
    """An outcome definition that cannot be used; the message says why."""


@dataclass(frozen=True)
class Context:
    """What a sweep keeps: outcomes may only use these metrics, countries and dates."""

    metrics: tuple[str, ...]
    countries: tuple[str, ...]
    region: tuple[str, ...]
    start: dt.date
    until: dt.date

    @classmethod
    def from_manifest(cls, manifest: dict[str, Any]) -> "Context":
        out, sc = manifest["spec"]["output"], manifest["scenario"]
        region = sc.get("region")
        if region is None:  # a folder written before the region was recorded
            region = _region_from_scenario(manifest)
        return cls(metrics=tuple(out["metrics"]), countries=tuple(out["countries"]), region=tuple(region),
                   start=dt.date.fromisoformat(sc["start"]), until=dt.date.fromisoformat(sc["until"]))


@dataclass(frozen=True)
class Series:
    """A metric at some countries, combined per step; optionally relative to its value at a date."""

    metric: str
    countries: tuple[str, ...]
    across: str = "sum"
    relative_to: dt.date | None = None
    written: str = ""  # the countries as written ("region", "PAK+IND")

    def label(self) -> str:
        where = self.written or "+".join(self.countries)
        text = f"{self.metric}@{where}"
        if len(self.countries) > 1 and self.across != "sum":
            text += f" ({self.across})"
        if self.relative_to is not None:
            text += f" / value at {self.relative_to}"
        return text


@dataclass(frozen=True)
class Outcome:
    name: str
    stat: str
    series: Series
    start: dt.date | None = None        # the window: from ...
    end: dt.date | None = None          # ... to
    when: tuple[str, float] | None = None     # first_time's condition
    yes_if: tuple[str, float] | None = None   # makes a yes/no outcome
    label: str = ""
    expr: str = field(default="", compare=False)

    @property
    def binary(self) -> bool:
        return self.yes_if is not None

    @property
    def is_date(self) -> bool:
        return self.stat in DATE_STATS and not self.binary

    @property
    def censorable(self) -> bool:
        return self.stat in CENSORED_STATS

    @property
    def kind(self) -> str:
        return "yes/no" if self.binary else ("date" if self.is_date else "number")

    def text(self) -> str:
        """The outcome in the expression syntax (normalised)."""
        s = self.series
        inner = f"{s.metric}@{s.written or '+'.join(s.countries)}"
        if self.when is not None:
            inner += f" {self.when[0]} {_fmt(self.when[1])}"
        kws = []
        if s.across != "sum":
            kws.append(f"across={s.across}")
        if self.start is not None:
            kws.append(f"from={self.start.isoformat()}")
        if self.end is not None:
            kws.append(f"to={self.end.isoformat()}")
        if s.relative_to is not None:
            kws.append(f"relative_to={s.relative_to.isoformat()}")
        text = f"{self.stat}({', '.join([inner] + kws)})"
        if self.yes_if is not None:
            op, v = self.yes_if
            text += f" {op} {_date_text(v) if self.stat in DATE_STATS else _fmt(v)}"
        return text


# ============================================================================ parsing
def parse_outcome(name: str, value: Any, ctx: Context) -> Outcome:
    """An outcome from its expression (a string) or its table form (a dict)."""
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][\w.-]*", name):
        raise OutcomeError("an outcome name is letters, digits, _ . - (starting with a letter)")
    if isinstance(value, str):
        fields = _fields_from_expr(value)
    elif isinstance(value, dict):
        unknown = sorted(set(value) - TABLE_KEYS)
        if unknown:
            raise OutcomeError(f"unknown key {unknown[0]!r} (known: {', '.join(sorted(TABLE_KEYS))})")
        fields = dict(value)
        if isinstance(fields.get("when"), str):
            fields["when"] = _condition(fields["when"], "when")
        if isinstance(fields.get("yes_if"), str):
            fields["yes_if"] = _condition(fields["yes_if"], "yes_if")
    else:
        raise OutcomeError('an expression such as "last(hashrate_share@PAK)" or a table with stat, metric, '
                           "countries")
    return _build(name, fields, ctx)


def _fields_from_expr(text: str) -> dict[str, Any]:
    m = _CALL.match(text)
    if not m:
        raise OutcomeError('not an outcome expression; expected STAT(METRIC@COUNTRIES, key=value, ...) [OP VALUE], '
                           'e.g. "last(hashrate_share@PAK)"')
    parts = [p.strip() for p in m.group("body").split(",")]
    s = _SERIES.match(parts[0]) if parts else None
    if not s:
        raise OutcomeError(f"expected METRIC@COUNTRIES inside the brackets, got {parts[0]!r}")
    fields: dict[str, Any] = {"stat": m.group("stat"), "metric": s.group("metric"),
                              "countries": (s.group("countries") or WORLD).replace(" ", "")}
    if s.group(3):
        fields["when"] = (s.group(3), _value(s.group("value"), "the condition"))
    for part in parts[1:]:
        if "=" not in part:
            raise OutcomeError(f"expected key=value after the series, got {part!r}")
        key, _, raw = (x.strip() for x in part.partition("="))
        if key not in KEYS:
            raise OutcomeError(f"unknown key {key!r} (known: {', '.join(sorted(KEYS))})")
        fields[key] = raw if key == "across" else _value(raw, key)
    if m.group(3):
        fields["yes_if"] = (m.group(3), _value(m.group("rhs"), "the yes/no test"))
    return fields


def _condition(text: str, key: str) -> tuple[str, Any]:
    m = _COND.match(text)
    if not m:
        raise OutcomeError(f"{key}: expected OP VALUE, e.g. \">= 3\" or \"< 2028-01-01\", got {text!r}")
    return m.group(1), _value(m.group("value"), key)


def _value(raw: Any, what: str) -> float | dt.date:
    if isinstance(raw, bool):
        raise OutcomeError(f"{what}: expected a number or a date, got {raw!r}")
    if isinstance(raw, (int, float)):
        return float(raw)
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    text = str(raw).strip()
    try:
        v = float(text)
        if math.isfinite(v):
            return v
    except ValueError:
        pass
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise OutcomeError(f"{what}: expected a number or a date (YYYY-MM-DD), got {text!r}") from None


def _build(name: str, f: dict[str, Any], ctx: Context) -> Outcome:
    stat = f.get("stat")
    if stat not in STATS:
        raise OutcomeError(f"unknown statistic {stat!r} (known: {', '.join(STATS)})")
    metric = f.get("metric")
    if not isinstance(metric, str) or metric not in METRICS:
        raise OutcomeError(f"unknown metric {metric!r} (known: {', '.join(METRICS)})")
    if metric not in ctx.metrics:
        raise OutcomeError(f"metric {metric!r} is not kept by this sweep (add it to [output] metrics; kept: "
                           f"{', '.join(ctx.metrics)})")
    countries, written = _countries(f.get("countries", WORLD), ctx)
    if metric in WORLD_ONLY and countries != (WORLD,):
        raise OutcomeError(f"{metric} exists at WORLD only")
    across = f.get("across", "sum")
    if across not in ACROSS:
        raise OutcomeError(f"across must be one of {', '.join(ACROSS)} (got {across!r})")
    dates = {}
    for key in ("from", "to", "relative_to"):
        v = f.get(key)
        if v is None:
            continue
        v = _value(v, key)
        if not isinstance(v, dt.date):
            raise OutcomeError(f"{key} must be a date (YYYY-MM-DD), got {v!r}")
        if not ctx.start <= v <= ctx.until:
            raise OutcomeError(f"{key} = {v} is outside the sweep's run ({ctx.start} to {ctx.until})")
        dates[key] = v
    if "from" in dates and "to" in dates and dates["from"] > dates["to"]:
        raise OutcomeError(f"from ({dates['from']}) is after to ({dates['to']})")
    when = f.get("when")
    if stat == "first_time" and when is None:
        raise OutcomeError("first_time needs a condition inside the brackets, e.g. first_time(stance@BGD >= 3)")
    if when is not None:
        if stat != "first_time":
            raise OutcomeError(f"a condition inside the brackets is for first_time only (this is {stat}); "
                               "a yes/no test goes after the brackets")
        when = _op_value(when, "the condition", date_ok=False)
    yes_if = f.get("yes_if")
    if yes_if is not None:
        yes_if = _op_value(yes_if, "the yes/no test", date_ok=stat in DATE_STATS)
    label = f.get("label", "")
    if not isinstance(label, str):
        raise OutcomeError("label must be a string")
    out = Outcome(name=name, stat=stat, series=Series(metric, countries, across, dates.get("relative_to"), written),
                  start=dates.get("from"), end=dates.get("to"), when=when, yes_if=yes_if, label=label)
    return Outcome(**{**out.__dict__, "expr": out.text()})


def _op_value(v: Any, what: str, *, date_ok: bool) -> tuple[str, float]:
    if not (isinstance(v, (tuple, list)) and len(v) == 2 and v[0] in OPS):
        raise OutcomeError(f"{what}: expected OP VALUE")
    op, value = v[0], _value(v[1], what)
    if isinstance(value, dt.date):
        if not date_ok:
            raise OutcomeError(f"{what}: compares a number here, got the date {value}")
        value = decimal_year(value)
    return op, float(value)


def _countries(value: Any, ctx: Context) -> tuple[tuple[str, ...], str]:
    if isinstance(value, list):
        items, written = [str(v) for v in value], "+".join(str(v) for v in value)
    elif isinstance(value, str):
        items, written = [v for v in value.replace(" ", "").split("+") if v], value.replace(" ", "")
    else:
        raise OutcomeError(f"countries: a code, codes joined by +, a list, 'region' or 'all' (got {value!r})")
    codes: list[str] = []
    for item in items:
        if item == "region":
            if not ctx.region:
                raise OutcomeError("this scenario has no countries with households (no region)")
            codes += list(ctx.region)
        elif item == "all":
            codes += [c for c in ctx.countries if c != WORLD]
        else:
            codes.append(item)
    if not codes:
        raise OutcomeError("no countries")
    missing = [c for c in codes if c not in ctx.countries]
    if missing:
        raise OutcomeError(f"not kept by this sweep: {', '.join(missing)} (add to [output] countries; kept: "
                           f"{', '.join(ctx.countries)})")
    codes = list(dict.fromkeys(codes))
    return tuple(codes), ("" if written == "+".join(codes) else written)


def parse_series(text: Any, ctx: Context) -> Series:
    """A fan-chart series: ``METRIC@COUNTRIES`` (combined by sum), e.g. ``trading_volume_usd@region``."""
    if not isinstance(text, str):
        raise OutcomeError('a series is written "METRIC@COUNTRIES", e.g. "hashrate_share@PAK"')
    m = _SERIES.match(text)
    if not m or m.group(3):
        raise OutcomeError(f'a series is written "METRIC@COUNTRIES", e.g. "hashrate_share@PAK" (got {text!r})')
    o = _build("series", {"stat": "last", "metric": m.group("metric"),
                          "countries": (m.group("countries") or WORLD).replace(" ", "")}, ctx)
    return o.series


def parse_outcomes(items: dict[str, Any], ctx: Context) -> dict[str, Outcome]:
    return {name: parse_outcome(name, value, ctx) for name, value in items.items()}


def parse_flag(text: str) -> tuple[str, str | None]:
    """A command-line ``NAME=EXPR`` (a new outcome) or ``NAME`` (one of the spec's)."""
    name, eq, expr = text.partition("=")
    if eq and "(" in name:  # e.g. "max(stance@BGD, to=2027-12-31)": no name given
        raise OutcomeError(f"give the outcome a name: NAME=EXPR (got {text!r})")
    return name.strip(), (expr.strip() if eq else None)


# ============================================================================ the [analysis] table
def check_analysis(raw: Any, ctx: Context, bad: Callable[..., None]) -> dict[str, Any] | None:
    """Check a spec's ``[analysis]`` table; report problems through ``bad``; return it normalised."""
    if not isinstance(raw, dict):
        bad("analysis", "must be a table (see experiments/sweeps/README.md, Analysis)", raw)
        return None
    for key in sorted(set(raw) - ANALYSIS_KEYS):
        bad(f"analysis.{key}", f"unknown key (known: {', '.join(sorted(ANALYSIS_KEYS))})", raw[key])
    items = raw.get("outcomes", {})
    outcomes: dict[str, Outcome] = {}
    if not isinstance(items, dict):
        bad("analysis.outcomes", 'a table of NAME = "EXPR" (or NAME = { stat = ..., metric = ... })', items)
        items = {}
    for name, value in items.items():
        try:
            outcomes[name] = parse_outcome(name, value, ctx)
        except OutcomeError as err:
            bad(f"analysis.outcomes.{name}", str(err), value)
    fan = raw.get("fan", [])
    if not isinstance(fan, list):
        bad("analysis.fan", 'a list of series, e.g. ["hashrate_share@PAK", "trading_volume_usd@region"]', fan)
        fan = []
    for item in fan:
        try:
            parse_series(item, ctx)
        except OutcomeError as err:
            bad("analysis.fan", str(err), item)
    fan_by = raw.get("fan_by", "auto")
    if fan_by not in FAN_BY:
        bad("analysis.fan_by", f"one of {', '.join(FAN_BY)}", fan_by)
    prim = raw.get("prim")
    if prim is not None:
        if not isinstance(prim, list) or not all(isinstance(p, str) for p in prim):
            bad("analysis.prim", "a list of yes/no outcome names", prim)
        else:
            for p in prim:
                if p not in outcomes and p not in items:
                    bad("analysis.prim", "not an outcome of [analysis.outcomes]", p)
                elif p in outcomes and not outcomes[p].binary:
                    bad("analysis.prim", "PRIM needs a yes/no outcome (end the expression with OP VALUE)", p)
    resamples = raw.get("resamples", DEFAULT_RESAMPLES)
    if not isinstance(resamples, int) or isinstance(resamples, bool) or resamples < 10:
        bad("analysis.resamples", "a whole number >= 10 (bootstrap resamples of the indices)", resamples)
    conf = raw.get("conf_level", DEFAULT_CONF)
    if not isinstance(conf, (int, float)) or isinstance(conf, bool) or not 0 < conf < 1:
        bad("analysis.conf_level", "a number between 0 and 1, e.g. 0.95", conf)
    return {"outcomes": {n: o.expr for n, o in outcomes.items()},
            "labels": {n: o.label for n, o in outcomes.items() if o.label},
            "fan": list(fan), "fan_by": fan_by, "prim": prim, "resamples": resamples, "conf_level": conf}


# ============================================================================ dates
def decimal_year(d) -> Any:
    """A date (or dates) as a decimal year: 2028-07-01 -> 2028.497."""
    if isinstance(d, (dt.date, pd.Timestamp)) and not isinstance(d, pd.DatetimeIndex):
        d = pd.Timestamp(d)
        return d.year + (d.day_of_year - 1) / (366.0 if d.is_leap_year else 365.0)
    d = pd.DatetimeIndex(d)
    return (d.year + (d.day_of_year - 1) / np.where(d.is_leap_year, 366.0, 365.0)).to_numpy(dtype=float)


def year_to_date(y: float) -> dt.date | None:
    """A decimal year back to a date (the day it falls in)."""
    if y is None or not np.isfinite(y):
        return None
    year = int(math.floor(y))
    days = 366 if (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)) else 365
    return dt.date(year, 1, 1) + dt.timedelta(days=int(round((y - year) * days)))


def _date_text(y: float) -> str:
    d = year_to_date(y)
    return d.isoformat() if d else _fmt(y)


def _fmt(v: float) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _region_from_scenario(manifest: dict[str, Any]) -> list[str]:
    overrides = dict(manifest["spec"].get("set", {}))
    overrides["run.households"] = manifest["scenario"]["households"]
    spec = load_scenario(manifest["scenario"]["ref"], overrides)
    return [c for c, cc in spec.config.countries.items() if cc.has_households]
