"""Sweep specs: read a TOML spec, fill in defaults, check it against its scenario.

A spec names a base scenario, the parameters to vary (dotted paths, the same ones
``crypto-abm run --set`` takes), a design, replicates, a root seed, the horizon, the
household count and what to keep. The format is described in
``experiments/sweeps/README.md``; an example is ``experiments/sweeps/pak_tariff_grid.toml``.

Why it checks so much up front: a sweep is hundreds of runs, and a typo found by the
first worker, or a value only the 300th run reaches, wastes the whole afternoon. So every
parameter path and every value a design can reach (each ``values`` entry, both ends of a
range) is checked by building the scenario with ``load_scenario``, and every problem is
reported at once with the spec file, the spec field and the value (exit status 2). What
cannot be checked one parameter at a time (a combination that breaks a cross-field rule,
e.g. ``relocate_share + underground_share > 1``) fails at run time, and that run is
recorded in ``failed/`` while the sweep goes on.

The *canonical* spec is the spec with every default filled in and the base scenario's
content hash added; its SHA-256 identifies a sweep folder, so resuming with a different
spec is refused, while reordering keys, adding comments or rewording the description
is not a different sweep.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from experiments.sweep.errors import SpecError
from model.errors import ScenarioError

DESIGNS = ("grid", "lhs", "sobol", "morris")
#: Metrics kept when a spec does not say: the headline outputs of the model.
HEADLINE_METRICS = (
    "hashrate_ehs", "hashrate_share", "mining_power_mw", "miner_revenue_usd", "trading_volume_usd",
    "adoption_rate", "stance", "btc_price_usd", "hashprice_usd_per_ph_day",
)
DEFAULT_EVERY = 4  # weekly steps: keep about one row a month per metric and country
WORLD = "WORLD"

TOP_KEYS = {"description", "scenario", "seed", "replicates", "until", "households", "design", "parameters",
            "set", "output", "analysis"}
DESIGN_KEYS = {
    "grid": {"kind"},
    "lhs": {"kind", "samples"},
    "sobol": {"kind", "samples", "calc_second_order"},
    "morris": {"kind", "trajectories", "levels"},
}
PARAM_KEYS = {"values", "low", "high", "log", "integer", "paths", "group"}
OUTPUT_KEYS = {"metrics", "countries", "every"}
#: Column names a run file uses for itself; a parameter may not take one.
RESERVED_COLUMNS = {"run_id", "point", "replicate", "seed", "step", "date", "country", "metric", "value"}


@dataclass(frozen=True)
class Parameter:
    """One varied parameter: a list of values (grid) or a range (sampled designs).

    ``path`` names the design column. It is the scenario path the value goes to, unless
    ``paths`` is given: then ``path`` is a free name and every run sets each of ``paths``
    to the same value (linked parameters, e.g. several shocks switched on and off
    together). ``group`` puts the parameter in a SALib group (Sobol and Morris designs).
    """

    path: str
    values: tuple[Any, ...] | None = None
    low: float | None = None
    high: float | None = None
    log: bool = False
    integer: bool = False
    paths: tuple[str, ...] | None = None
    group: str | None = None

    @property
    def is_range(self) -> bool:
        return self.values is None

    @property
    def targets(self) -> tuple[str, ...]:
        """The scenario paths a run sets to this parameter's value."""
        return self.paths or (self.path,)

    def checkpoints(self) -> list[Any]:
        """Every value worth checking against the scenario before any run starts."""
        if self.values is not None:
            return list(self.values)
        if self.integer:
            return [int(self.low), int(self.high)]
        # An inner, non-whole point too: a range over a whole-number field needs integer = true.
        inner = (self.low * (self.high / self.low) ** 0.371 if self.log
                 else self.low + 0.371 * (self.high - self.low))
        return [self.low, self.high, inner]

    def canonical(self) -> dict[str, Any]:
        if self.values is not None:
            out = {"path": self.path, "values": [_jsonable(v) for v in self.values]}
        else:
            out = {"path": self.path, "low": self.low, "high": self.high, "log": self.log, "integer": self.integer}
        if self.paths:  # only when given, so specs without them keep their hash
            out["paths"] = list(self.paths)
        if self.group is not None:
            out["group"] = self.group
        return out


@dataclass(frozen=True)
class DesignSettings:
    kind: str
    samples: int | None = None          # lhs: points; sobol: N (a power of 2)
    calc_second_order: bool = False     # sobol
    trajectories: int | None = None     # morris: N
    levels: int = 4                     # morris

    def canonical(self) -> dict[str, Any]:
        if self.kind == "grid":
            return {"kind": "grid"}
        if self.kind == "lhs":
            return {"kind": "lhs", "samples": self.samples}
        if self.kind == "sobol":
            return {"kind": "sobol", "samples": self.samples, "calc_second_order": self.calc_second_order}
        return {"kind": "morris", "trajectories": self.trajectories, "levels": self.levels}


@dataclass(frozen=True)
class SweepSpec:
    """A checked spec with every default filled in."""

    file: Path
    scenario: str                    # as written in the spec
    scenario_ref: str                # what workers load: a scenario name or an absolute path
    scenario_name: str
    scenario_sha256: str             # of the base scenario (fixed overrides and households applied)
    seed: int
    replicates: int
    design: DesignSettings
    parameters: tuple[Parameter, ...]
    fixed: dict[str, Any]            # the [set] table: overrides applied to every run
    start: dt.date
    until: dt.date
    households: int
    metrics: tuple[str, ...]
    countries: tuple[str, ...]
    every: int
    description: str = ""
    region: tuple[str, ...] = ()     # the scenario's countries with households
    analysis: dict[str, Any] | None = None  # the checked [analysis] table (not part of the hash)
    #: [set] values and parameters that a dated shock overwrites before ``until`` (said once
    #: when the sweep starts; not part of the hash)
    warnings: tuple[str, ...] = ()

    @property
    def names(self) -> list[str]:
        return [p.path for p in self.parameters]

    @property
    def links(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """Linked parameters: (design column, the scenario paths it sets)."""
        return tuple((p.path, p.paths) for p in self.parameters if p.paths)

    def canonical(self) -> dict[str, Any]:
        """Everything that decides the numbers a sweep produces, defaults filled in."""
        return {
            "scenario": self.scenario,
            "scenario_sha256": self.scenario_sha256,
            "seed": self.seed,
            "replicates": self.replicates,
            "design": self.design.canonical(),
            "parameters": [p.canonical() for p in self.parameters],
            "set": {k: _jsonable(v) for k, v in sorted(self.fixed.items())},
            "until": self.until.isoformat(),
            "households": self.households,
            "output": {"metrics": list(self.metrics), "countries": list(self.countries), "every": self.every},
        }

    def sha256(self) -> str:
        text = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


# ----------------------------------------------------------------------------- loading
def load_spec(path: str | Path) -> SweepSpec:
    """Read and check a spec file; raise :class:`SpecError` listing every problem."""
    file = Path(path).resolve()
    where = str(file)
    try:
        with open(file, "rb") as fh:
            raw = tomllib.load(fh)
    except FileNotFoundError:
        raise SpecError.one(str(path), "", "spec file not found") from None
    except tomllib.TOMLDecodeError as err:
        raise SpecError.one(where, "", f"malformed TOML: {err}") from None
    except UnicodeDecodeError as err:
        from model.scenario import not_text_message
        raise SpecError.one(where, "", not_text_message(err)) from None
    except OSError as err:
        raise SpecError.one(where, "", f"cannot read: {err.strerror}") from None
    return parse_spec(raw, file)


def parse_spec(raw: dict[str, Any], file: Path) -> SweepSpec:
    """Check a spec already read from ``file`` (which anchors relative scenario paths)."""
    where = str(file)
    problems: list[tuple[str, str, Any]] = []

    def bad(field_: str, message: str, value: Any = None) -> None:
        from model.errors import _MISSING
        if isinstance(value, (dt.date, dt.time)):
            value = value.isoformat()
        problems.append((field_, message, _MISSING if value is None else value))

    for key in sorted(set(raw) - TOP_KEYS):
        bad(key, f"unknown key (known: {', '.join(sorted(TOP_KEYS))})", raw[key])

    # --- plain settings
    scenario = raw.get("scenario")
    if not isinstance(scenario, str) or not scenario.strip():
        bad("scenario", "required: a scenario name (experiments/scenarios/) or a path relative to the spec",
            scenario)
        scenario = None
    description = raw.get("description", "")
    if not isinstance(description, str):
        bad("description", "must be a string", description)
        description = ""
    seed = _int_field(raw, "seed", 0, bad, minimum=0)
    replicates = _int_field(raw, "replicates", 1, bad, minimum=1)
    households = raw.get("households")
    if households is not None and (not _is_int(households) or households < 0):
        bad("households", "must be a whole number >= 0", households)
        households = None
    until = raw.get("until")
    if until is not None:
        if isinstance(until, str):
            try:
                until = dt.date.fromisoformat(until)
            except ValueError:
                bad("until", "not a date (YYYY-MM-DD)", until)
                until = None
        elif isinstance(until, dt.datetime) or not isinstance(until, dt.date):
            bad("until", "must be a date, e.g. until = 2026-06-30", until)
            until = None

    design = _design(raw.get("design"), bad)
    params = _parameters(raw.get("parameters", {}), bad)
    fixed = _flatten_set(raw.get("set", {}), bad)
    output = raw.get("output", {})
    if not isinstance(output, dict):
        bad("output", "must be a table", output)
        output = {}
    for key in sorted(set(output) - OUTPUT_KEYS):
        bad(f"output.{key}", f"unknown key (known: {', '.join(sorted(OUTPUT_KEYS))})", output[key])
    every = _int_field(output, "every", DEFAULT_EVERY, bad, minimum=1, prefix="output.")

    seen_targets: dict[str, str] = {}
    for p in params:
        for target in p.targets:
            if target in fixed:
                bad(f"parameters.{p.path}", "also fixed in [set]; vary it or fix it, not both", target)
            if households is not None and target == "run.households":
                bad(f"parameters.{p.path}", "the spec also sets households; drop one", target)
            if target in seen_targets:
                bad(f"parameters.{p.path}", f"sets a path that parameter {seen_targets[target]} sets too", target)
            seen_targets[target] = p.path
        if p.path in RESERVED_COLUMNS:
            bad(f"parameters.{p.path}", "clashes with a column of the run files", p.path)
    if design is not None:
        _check_design_fits(design, params, bad)

    if problems:
        raise SpecError(where, problems)

    # --- against the scenario: one build for the base, one per value a design can reach
    scenario_ref = _scenario_ref(scenario, file)
    base_overrides = dict(fixed)
    if households is not None:
        base_overrides["run.households"] = households
    base = _load(scenario_ref, base_overrides)
    if isinstance(base, ScenarioError) and params:
        # A [set] may need a varied parameter to be valid, e.g. market.price.kind = "constant" with
        # market.price.initial_usd varied: then check against the first value of each parameter.
        firsts = {t: p.checkpoints()[0] for p in params for t in p.targets}
        alt = _load(scenario_ref, {**base_overrides, **firsts})
        if not isinstance(alt, ScenarioError):
            base, base_overrides = alt, {**base_overrides, **firsts}
    if isinstance(base, ScenarioError):
        for f_, message, value in base.problems:
            bad(_set_field(f_, fixed), f"{message} [{base.file}]", value)
        raise SpecError(where, problems)
    cfg = base.config
    shadows = [(base, s, f"[set] {s.path}={_show(s.value)}") for s in base.shadowed if s.path in fixed]
    for p in params:
        for value in p.checkpoints():
            err = _load(scenario_ref, {**base_overrides, **{t: value for t in p.targets}})
            if isinstance(err, ScenarioError):
                message = "; ".join(_explain(f_, m, p) for f_, m, _ in err.problems)
                bad(f"parameters.{p.path}", message, value)
                break  # one message per parameter is enough
            shadows += [(err, s, f"parameter {p.path} (varied{', sets ' + s.path if p.paths else ''})")
                        for s in err.shadowed if s.path in p.targets]

    start, end = cfg.run.start, cfg.run.end
    if until is None:
        until = end
    elif not (start <= until <= end):
        bad("until", f"outside the scenario's run ({start} to {end})", until)

    known_metrics = _known_metrics()
    metrics = output.get("metrics", list(HEADLINE_METRICS))
    if metrics == "all":
        metrics = list(known_metrics)
    if not isinstance(metrics, list) or not metrics or not all(isinstance(m, str) for m in metrics):
        bad("output.metrics", 'a non-empty list of metric names, or "all"', metrics)
        metrics = []
    for m in metrics:
        if m not in known_metrics:
            bad("output.metrics", f"unknown metric (known: {', '.join(known_metrics)})", m)
    codes = list(cfg.countries) + [WORLD]
    countries = output.get("countries", "all")
    if countries == "all":
        countries = codes
    if not isinstance(countries, list) or not countries or not all(isinstance(c, str) for c in countries):
        bad("output.countries", 'a non-empty list of country codes, or "all"', countries)
        countries = []
    for c in countries:
        if c not in codes:
            bad("output.countries", f"not a country of the scenario (known: {', '.join(codes)})", c)
    if len(set(metrics)) != len(metrics):
        bad("output.metrics", "lists a metric twice", metrics)
    if len(set(countries)) != len(countries):
        bad("output.countries", "lists a country twice", countries)
    region = tuple(c for c, cc in cfg.countries.items() if cc.has_households)
    analysis = None
    if "analysis" in raw and not problems:
        from experiments.sweep.outcomes import Context, check_analysis
        ctx = Context(metrics=tuple(metrics), countries=tuple(countries), region=region, start=start, until=until)
        analysis = check_analysis(raw["analysis"], ctx, bad)
    if problems:
        raise SpecError(where, problems)
    warnings: dict[str, None] = {}  # in order, once each (a parameter is checked at several values)
    for loaded, shadow, subject in shadows:
        if shadow in loaded.shadowed_until(until):
            warnings[shadow.message(subject)] = None

    return SweepSpec(
        file=file, scenario=scenario, scenario_ref=scenario_ref, scenario_name=cfg.name,
        scenario_sha256=base.sha256(), seed=seed, replicates=replicates, design=design,
        parameters=tuple(params), fixed=fixed, start=start, until=until,
        households=cfg.run.households, metrics=tuple(metrics), countries=tuple(countries), every=every,
        description=description, region=region, analysis=analysis, warnings=tuple(warnings))


# ----------------------------------------------------------------------------- pieces
def _design(value: Any, bad) -> DesignSettings | None:
    if value is None:
        bad("design", f"required: a table with kind = one of {', '.join(DESIGNS)}")
        return None
    if isinstance(value, str):
        value = {"kind": value}
    if not isinstance(value, dict):
        bad("design", "must be a table, e.g. [design] kind = \"grid\"", value)
        return None
    kind = value.get("kind")
    if kind not in DESIGNS:
        bad("design.kind", f"must be one of {', '.join(DESIGNS)}", kind)
        return None
    for key in sorted(set(value) - DESIGN_KEYS[kind]):
        bad(f"design.{key}", f"not a setting of a {kind} design (its settings: "
                              f"{', '.join(sorted(DESIGN_KEYS[kind] - {'kind'})) or 'none'})", value[key])
    if kind == "grid":
        return DesignSettings(kind)
    if kind == "lhs":
        samples = _int_field(value, "samples", None, bad, minimum=1, prefix="design.", required=True)
        return DesignSettings(kind, samples=samples)
    if kind == "sobol":
        samples = _int_field(value, "samples", None, bad, minimum=2, prefix="design.", required=True)
        if samples is not None and samples & (samples - 1):
            bad("design.samples", "Sobol samples (N) must be a power of 2 (e.g. 64, 128, 256)", samples)
        second = value.get("calc_second_order", False)
        if not isinstance(second, bool):
            bad("design.calc_second_order", "must be true or false", second)
            second = False
        return DesignSettings(kind, samples=samples, calc_second_order=second)
    trajectories = _int_field(value, "trajectories", None, bad, minimum=1, prefix="design.", required=True)
    levels = _int_field(value, "levels", 4, bad, minimum=2, prefix="design.")
    return DesignSettings(kind, trajectories=trajectories, levels=levels)


def _parameters(value: Any, bad) -> list[Parameter]:
    """``[parameters."a.b.c"]`` or nested ``[parameters.a.b.c]``: a leaf has values/low/high."""
    if not isinstance(value, dict):
        bad("parameters", "must be a table of parameter tables", value)
        return []
    found: list[tuple[str, dict[str, Any]]] = []

    def walk(node: dict[str, Any], prefix: str) -> None:
        for key, item in node.items():
            path = f"{prefix}.{key}" if prefix else key
            if isinstance(item, dict) and not (set(item) & PARAM_KEYS):
                if not item:
                    bad(f"parameters.{path}", "empty table: give values = [...] or low/high")
                walk(item, path)
            elif isinstance(item, dict):
                found.append((path, item))
            else:
                bad(f"parameters.{path}", "must be a table with values = [...] or low/high", item)

    walk(value, "")
    params = []
    for path, table in found:
        p = _parameter(path, table, bad)
        if p is not None:
            params.append(p)
    return params


def _parameter(path: str, table: dict[str, Any], bad) -> Parameter | None:
    where = f"parameters.{path}"
    for key in sorted(set(table) - PARAM_KEYS):
        bad(f"{where}.{key}", f"unknown key (known: {', '.join(sorted(PARAM_KEYS))})", table[key])
    log, integer = table.get("log", False), table.get("integer", False)
    for key, flag in (("log", log), ("integer", integer)):
        if not isinstance(flag, bool):
            bad(f"{where}.{key}", "must be true or false", flag)
            return None
    paths = table.get("paths")
    if paths is not None:
        if (not isinstance(paths, list) or not paths or not all(isinstance(t, str) and t for t in paths)
                or len(set(paths)) != len(paths)):
            bad(f"{where}.paths", "a non-empty list of distinct dotted scenario paths", paths)
            return None
        paths = tuple(paths)
    group = table.get("group")
    if group is not None and (not isinstance(group, str) or not group.strip()):
        bad(f"{where}.group", "must be a non-empty string", group)
        return None
    extra = {"paths": paths, "group": group}
    if "values" in table:
        if "low" in table or "high" in table:
            bad(where, "give either values = [...] or low/high, not both")
            return None
        if log:
            bad(f"{where}.log", "applies to a low/high range, not to a values list", log)
        values = table["values"]
        if not isinstance(values, list) or not values:
            bad(f"{where}.values", "must be a non-empty list", values)
            return None
        values = _uniform_values(values, integer, f"{where}.values", bad)
        if values is None:
            return None
        if len(set(map(repr, values))) != len(values):
            bad(f"{where}.values", "lists a value twice", values)
            return None
        return Parameter(path, values=tuple(values), integer=integer, **extra)
    if "low" not in table or "high" not in table:
        bad(where, "give values = [...] or both low and high")
        return None
    low, high = table["low"], table["high"]
    for key, v in (("low", low), ("high", high)):
        if not _is_number(v):
            bad(f"{where}.{key}", "must be a number", v)
            return None
        if not math.isfinite(v):
            bad(f"{where}.{key}", "must be a finite number (not nan or inf)", v)
            return None
    if integer and not (float(low).is_integer() and float(high).is_integer()):
        bad(where, "integer = true needs whole-number low and high", [low, high])
        return None
    if not low < high:
        bad(where, "low must be below high", [low, high])
        return None
    if log and low <= 0:
        bad(f"{where}.low", "log = true needs low > 0", low)
        return None
    if integer:
        return Parameter(path, low=int(low), high=int(high), log=log, integer=True, **extra)
    return Parameter(path, low=float(low), high=float(high), log=log, **extra)


def _uniform_values(values: list[Any], integer: bool, where: str, bad) -> list[Any] | None:
    """One type per parameter, so its column has one type in every run file."""
    if all(isinstance(v, bool) for v in values):
        kind = bool
    elif all(_is_number(v) for v in values):
        kind = float
    elif all(isinstance(v, str) for v in values):
        kind = str
    elif all(isinstance(v, dt.date) and not isinstance(v, dt.datetime) for v in values):
        kind = dt.date
    else:
        bad(where, "values must be all numbers, all booleans, all strings or all dates", values)
        return None
    if kind is not float:
        if integer:
            bad(where, "integer = true needs numbers", values)
            return None
        return list(values)
    if any(isinstance(v, float) and not math.isfinite(v) for v in values):
        bad(where, "values must be finite numbers", values)
        return None
    if integer or all(isinstance(v, int) for v in values):
        if not all(float(v).is_integer() for v in values):
            bad(where, "integer = true needs whole numbers", values)
            return None
        return [int(v) for v in values]
    return [float(v) for v in values]


def _flatten_set(value: Any, bad) -> dict[str, Any]:
    """The ``[set]`` table: ``"a.b.c" = 1`` or nested tables, flattened to dotted paths."""
    if not isinstance(value, dict):
        bad("set", "must be a table of dotted.path = value", value)
        return {}
    out: dict[str, Any] = {}

    def walk(node: dict[str, Any], prefix: str) -> None:
        for key, item in node.items():
            path = f"{prefix}.{key}" if prefix else key
            if isinstance(item, dict):
                walk(item, path)
            else:
                out[path] = item

    walk(value, "")
    return out


def _check_design_fits(design: DesignSettings, params: list[Parameter], bad) -> None:
    grouped = [p for p in params if p.group is not None]
    if grouped and design.kind not in ("sobol", "morris"):
        bad(f"parameters.{grouped[0].path}.group", "groups are for sobol and morris designs", grouped[0].group)
    elif grouped and len({p.group if p.group is not None else p.path for p in params}) < 2:
        bad(f"parameters.{grouped[0].path}.group", "groups need at least two groups (a parameter without a "
                                                   "group is a group of its own)", grouped[0].group)
    if design.kind == "grid":
        for p in params:
            if p.is_range:
                bad(f"parameters.{p.path}", "a grid design needs values = [...] (low/high are for lhs, "
                                            "sobol and morris)")
        return
    if not params:
        bad("parameters", f"a {design.kind} design needs at least one parameter with low/high")
    for p in params:
        if not p.is_range:
            bad(f"parameters.{p.path}", f"a {design.kind} design samples ranges: give low and high "
                                        "(values lists are for grid designs; fix a value in [set])",
                list(p.values))


def _explain(scenario_field: str, message: str, p: Parameter) -> str:
    if message == "unknown key" and scenario_field in p.targets:
        text = "no such parameter in the scenario (check the dotted path)"
        return f"{scenario_field}: {text}" if p.paths else text
    if p.is_range and not p.integer and "valid integer" in message:
        message += "; this is a whole-number field: add integer = true"
    return f"{scenario_field}: {message}" if scenario_field and (scenario_field != p.path or p.paths) else message


def _int_field(table: dict[str, Any], key: str, default: int | None, bad, *, minimum: int,
               prefix: str = "", required: bool = False) -> int | None:
    if key not in table:
        if required:
            bad(f"{prefix}{key}", f"required: a whole number >= {minimum}")
        return default
    value = table[key]
    if not _is_int(value) or value < minimum:
        bad(f"{prefix}{key}", f"must be a whole number >= {minimum}", value)
        return default
    return int(value)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _jsonable(v: Any) -> Any:
    return v.isoformat() if isinstance(v, (dt.date, dt.time)) else v


def _scenario_ref(scenario: str, spec_file: Path) -> str:
    """A name stays a name; a path is taken relative to the spec file and made absolute."""
    candidate = Path(scenario)
    if not candidate.is_absolute():
        candidate = spec_file.parent / candidate
    if scenario.endswith(".toml") or "/" in scenario or candidate.exists():
        return str(candidate.resolve())
    return scenario


def _load(scenario_ref: str, overrides: dict[str, Any]):
    from model.scenario import load_scenario
    try:
        return load_scenario(scenario_ref, overrides)
    except ScenarioError as err:
        return err


def _show(value: Any) -> str:
    from model.scenario import show_value
    return show_value(value)


def _set_field(scenario_field: str, fixed: dict[str, Any]) -> str:
    if scenario_field in fixed:
        return f"set.{scenario_field}"
    if scenario_field == "run.households":
        return "households"
    return f"scenario ({scenario_field})" if scenario_field else "scenario"


def _known_metrics() -> tuple[str, ...]:
    from model.recorder import METRICS
    return METRICS
