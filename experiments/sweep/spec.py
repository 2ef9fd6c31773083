"""Sweep specs: read a TOML spec, fill in defaults, check it against its scenario.

A spec names a base scenario, the parameters to vary (dotted paths, the same ones
``crypto-abm run --set`` takes), a design, replicates, a root seed, the horizon, the
household count and what to keep. The format is described in
``experiments/sweeps/README.md``; an example is ``experiments/sweeps/pak_tariff_grid.toml``.

Why it checks so much up front: a sweep is hundreds of runs, and a typo found by the
first worker, or a value only the 300th run reaches, wastes the whole afternoon. A spec is
checked in three passes, each reporting every problem it finds with the spec file, the
spec field (a dotted path) and the value (exit status 2), as scenarios are:

1. its shape, by the pydantic models below (strict, unknown keys refused, numbers finite,
   as :class:`model.config.Strict`), errors worded by :func:`model.scenario.describe_error`;
2. what spans fields: a path both varied and fixed, a range in a grid design, ...;
3. against the scenario: every parameter path and every value a design can reach (each
   ``values`` entry, both ends of a range) is checked by building the scenario with
   ``load_scenario``. What cannot be checked one parameter at a time (a combination that
   breaks a cross-field rule, e.g. ``relocate_share + underground_share > 1``) fails at
   run time, and that run is recorded in ``failed/`` while the sweep goes on.

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
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from experiments.sweep.errors import SpecError
from model.config import Strict
from model.errors import MISSING, ScenarioError
from model.recorder import METRICS
from model.scenario import describe_error, load_scenario, not_text_message, show_value

DESIGNS = ("grid", "lhs", "sobol", "morris")
#: Metrics kept when a spec does not say: the headline outputs of the model.
HEADLINE_METRICS = (
    "hashrate_ehs", "hashrate_share", "mining_power_mw", "miner_revenue_usd", "trading_volume_usd",
    "adoption_rate", "stance", "btc_price_usd", "hashprice_usd_per_ph_day",
)
DEFAULT_EVERY = 4  # weekly steps: keep about one row a month per metric and country
WORLD = "WORLD"
#: A table under [parameters] with one of these keys is a parameter; any other table nests paths.
PARAM_KEYS = {"values", "low", "high", "log", "integer", "paths", "group"}
#: Column names a run file uses for itself; a parameter may not take one.
RESERVED_COLUMNS = {"run_id", "point", "replicate", "seed", "step", "date", "country", "metric", "value"}

#: The message of a required key that is missing (otherwise "required").
REQUIRED = {"scenario": "required: a scenario name (experiments/scenarios/) or a path relative to the spec",
            "design": f"required: a table with kind = one of {', '.join(DESIGNS)}",
            "design.samples": "required: a whole number (lhs: the points; sobol: N, a power of 2)",
            "design.trajectories": "required: a whole number >= 1 (Morris N)"}

NonNegInt = Annotated[int, Field(ge=0)]
PosInt = Annotated[int, Field(ge=1)]


def _filled(message: str) -> AfterValidator:
    """A string that is not blank."""
    def check(text: str) -> str:
        if not text.strip():
            raise ValueError(message)
        return text
    return AfterValidator(check)


class _Frozen(Strict):
    model_config = ConfigDict(frozen=True)


# ----------------------------------------------------------------------------- designs
class _Design(_Frozen):
    def canonical(self) -> dict[str, Any]:
        return self.model_dump()


class Grid(_Design):
    kind: Literal["grid"]


class Lhs(_Design):
    kind: Literal["lhs"]
    samples: PosInt  # points
    # true: each point x replicate its own seed (spawn index point * replicates + replicate)
    # instead of common random numbers across points: an ensemble's members
    own_seeds: bool = False

    def canonical(self) -> dict[str, Any]:
        return self.model_dump(exclude={"own_seeds"} if not self.own_seeds else set())  # older specs keep their hash


class Sobol(_Design):
    kind: Literal["sobol"]
    samples: Annotated[int, Field(ge=2)]  # N
    calc_second_order: bool = False

    @field_validator("samples")
    @classmethod
    def _power_of_two(cls, n: int) -> int:
        if n & (n - 1):
            raise ValueError("Sobol samples (N) must be a power of 2 (e.g. 64, 128, 256)")
        return n


class Morris(_Design):
    kind: Literal["morris"]
    trajectories: PosInt  # N
    levels: Annotated[int, Field(ge=2)] = 4


Design = Grid | Lhs | Sobol | Morris
DESIGN_CLASSES = {"grid": Grid, "lhs": Lhs, "sobol": Sobol, "morris": Morris}


# ----------------------------------------------------------------------------- parameters
class Parameter(_Frozen):
    """One varied parameter: a list of values (grid) or a range (sampled designs).

    ``path`` (the key of its table) names the design column. It is the scenario path the
    value goes to, unless ``paths`` is given: then ``path`` is a free name and every run
    sets each of ``paths`` to the same value (linked parameters, e.g. several shocks
    switched on and off together). ``group`` puts the parameter in a SALib group (Sobol
    and Morris designs).
    """

    path: str  # its key in [parameters], set by SpecFile
    # log and integer first: the checks of values, low and high read them
    log: bool = False
    integer: bool = False
    paths: tuple[str, ...] | None = None
    group: Annotated[str, _filled("must be a non-empty string")] | None = None
    values: tuple[Any, ...] | None = None
    low: float | None = None
    high: float | None = None

    @field_validator("paths", mode="before")
    @classmethod
    def _paths(cls, paths: Any) -> tuple[str, ...]:
        if (not isinstance(paths, list) or not paths or not all(isinstance(t, str) and t for t in paths)
                or len(set(paths)) != len(paths)):
            raise ValueError("a non-empty list of distinct dotted scenario paths")
        return tuple(paths)

    @field_validator("values", mode="before")
    @classmethod
    def _values(cls, values: Any, info: ValidationInfo) -> tuple[Any, ...]:
        """One type per parameter, so its column has one type in every run file."""
        if not isinstance(values, list) or not values:
            raise ValueError("must be a non-empty list")
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        if not (numbers or all(isinstance(v, bool) for v in values) or all(isinstance(v, str) for v in values)
                or all(isinstance(v, dt.date) and not isinstance(v, dt.datetime) for v in values)):
            raise ValueError("values must be all numbers, all booleans, all strings or all dates")
        integer = info.data.get("integer", False)
        if integer and not numbers:
            raise ValueError("integer = true needs numbers")
        if numbers and not all(math.isfinite(v) for v in values):
            raise ValueError("values must be finite numbers")
        if numbers and (integer or all(isinstance(v, int) for v in values)):
            if not all(float(v).is_integer() for v in values):
                raise ValueError("integer = true needs whole numbers")
            values = [int(v) for v in values]
        elif numbers:
            values = [float(v) for v in values]
        if len(set(map(repr, values))) != len(values):
            raise ValueError("lists a value twice")
        return tuple(values)

    @field_validator("low", "high")
    @classmethod
    def _bound(cls, value: float, info: ValidationInfo) -> float | int:
        if info.data.get("integer"):
            if not value.is_integer():
                raise ValueError("integer = true needs a whole number")
            value = int(value)
        if info.field_name == "low" and info.data.get("log") and value <= 0:
            raise ValueError("log = true needs low > 0")
        low = info.data.get("low")
        if info.field_name == "high" and low is not None and not low < value:
            raise ValueError(f"low must be below high (low = {show_value(low)})")
        return value

    @model_validator(mode="after")
    def _values_or_range(self) -> "Parameter":
        if self.values is None and (self.low is None or self.high is None):
            raise ValueError("give values = [...] or both low and high")
        if self.values is not None and (self.low is not None or self.high is not None):
            raise ValueError("give either values = [...] or low/high, not both")
        if self.values is not None and self.log:
            raise ValueError("log = true applies to a low/high range, not to a values list")
        return self

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


# ----------------------------------------------------------------------------- the file
def _date(value: Any) -> dt.date:
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError("not a date (YYYY-MM-DD)") from None
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise ValueError("must be a date, e.g. until = 2026-06-30")
    return value


def _flatten(tree: dict[str, Any], is_leaf=lambda table: False, prefix: str = "") -> dict[str, Any]:
    """Nested tables as dotted paths: ``{"a": {"b": 1}}`` -> ``{"a.b": 1}``."""
    out: dict[str, Any] = {}
    for key, item in tree.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(item, dict) and not is_leaf(item):
            out.update(_flatten(item, is_leaf, path))
        else:
            out[path] = item
    return out


class Output(_Frozen):
    metrics: tuple[str, ...] | Literal["all"] = HEADLINE_METRICS
    countries: tuple[str, ...] | Literal["all"] = "all"
    every: PosInt = DEFAULT_EVERY

    @field_validator("metrics", "countries", mode="before")
    @classmethod
    def _names(cls, names: Any, info: ValidationInfo) -> Any:
        what = "metric" if info.field_name == "metrics" else "country"
        if names == "all":
            return names
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise ValueError(f'a non-empty list of {what} {"names" if what == "metric" else "codes"}, or "all"')
        if len(set(names)) != len(names):
            raise ValueError(f"lists a {what} twice")
        return tuple(names)


class SpecFile(_Frozen):
    """A spec file as written (``[set]`` and ``[parameters]`` flattened to dotted paths)."""

    description: str = ""
    scenario: Annotated[str, _filled(REQUIRED["scenario"])]
    seed: NonNegInt = 0
    replicates: PosInt = 1
    until: Annotated[dt.date, PlainValidator(_date)] | None = None
    households: NonNegInt | None = None
    design: Annotated[Design, Field(discriminator="kind")]
    parameters: dict[str, Parameter] = {}
    fixed: dict[str, Any] = Field({}, alias="set")  # overrides applied to every run
    output: Output = Output()
    analysis: Any = None  # checked against the scenario by check_analysis

    @field_validator("design", mode="before")
    @classmethod
    def _design(cls, design: Any) -> Any:
        if isinstance(design, str):  # design = "grid"
            return {"kind": design}
        if not isinstance(design, dict):
            raise ValueError('must be a table, e.g. [design] kind = "grid"')
        return design

    @field_validator("parameters", mode="before")
    @classmethod
    def _parameter_tree(cls, tree: Any) -> dict[str, Any]:
        """``[parameters."a.b.c"]`` or nested ``[parameters.a.b.c]``: a leaf has values/low/high."""
        if not isinstance(tree, dict):
            raise ValueError("must be a table of parameter tables")
        flat = _flatten(tree, lambda node: not node or bool(set(node) & PARAM_KEYS))
        if any(isinstance(node, dict) and "path" in node for node in flat.values()):
            raise ValueError("a parameter is named by its key; 'path' is not a parameter setting")
        return {path: {**node, "path": path} if isinstance(node, dict) else node for path, node in flat.items()}

    @field_validator("fixed", mode="before")
    @classmethod
    def _set_tree(cls, tree: Any) -> dict[str, Any]:
        """The ``[set]`` table: ``"a.b.c" = 1`` or nested tables."""
        if not isinstance(tree, dict):
            raise ValueError("must be a table of dotted.path = value")
        return _flatten(tree)


def _problem(error: dict[str, Any]) -> tuple[str, str, Any]:
    """A pydantic error as (spec field, message, value), worded as a scenario's are."""
    loc, kind = tuple(error["loc"]), error["type"]
    if kind.startswith("union_tag"):  # the design's kind
        return "design.kind", f"must be one of {', '.join(DESIGNS)}", error["input"].get("kind", MISSING)
    if loc[0] == "design" and len(loc) > 2:  # drop the tag pydantic puts after "design"
        error = {**error, "loc": (loc[0], *loc[2:])}
    field_, message, value = describe_error(error)
    if kind == "extra_forbidden" and loc[0] == "design":
        settings = sorted(set(DESIGN_CLASSES[loc[1]].model_fields) - {"kind"})
        message = f"not a setting of a {loc[1]} design (its settings: {', '.join(settings) or 'none'})"
    elif kind == "extra_forbidden":
        table = {"parameters": Parameter, "output": Output}.get(loc[0]) if len(loc) > 1 else SpecFile
        known = PARAM_KEYS if table is Parameter else {f.alias or n for n, f in table.model_fields.items()}
        message = f"unknown key (known: {', '.join(sorted(known))})"
    elif kind == "model_type" and loc[0] == "parameters":
        message = "must be a table with values = [...] or low/high"
    elif kind == "missing":
        message = REQUIRED.get(field_, "required")
    elif kind == "finite_number":
        message = "must be a finite number (not nan or inf)"
    return field_, message, _jsonable(value)


# ----------------------------------------------------------------------------- the checked spec
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
    design: Design
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
        raise SpecError.one(where, "", not_text_message(err)) from None
    except OSError as err:
        raise SpecError.one(where, "", f"cannot read: {err.strerror}") from None
    return parse_spec(raw, file)


def parse_spec(raw: dict[str, Any], file: Path) -> SweepSpec:
    """Check a spec already read from ``file`` (which anchors relative scenario paths)."""
    where = str(file)
    try:
        spec = SpecFile.model_validate(raw)
    except ValidationError as err:
        raise SpecError(where, [_problem(e) for e in err.errors()]) from None
    problems: list[tuple[str, str, Any]] = []

    def bad(field_: str, message: str, value: Any = MISSING) -> None:
        problems.append((field_, message, _jsonable(value)))

    # --- what spans fields
    params, fixed, households = tuple(spec.parameters.values()), spec.fixed, spec.households
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
    _check_design_fits(spec.design, params, bad)
    if problems:
        raise SpecError(where, problems)

    # --- against the scenario: one build for the base, one per value a design can reach
    scenario_ref = _scenario_ref(spec.scenario, file)
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
    shadows = [(base, s, f"[set] {s.path}={show_value(s.value)}") for s in base.shadowed if s.path in fixed]
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
    until = spec.until or end
    if not (start <= until <= end):
        bad("until", f"outside the scenario's run ({start} to {end})", until)
    metrics = METRICS if spec.output.metrics == "all" else spec.output.metrics
    for m in metrics:
        if m not in METRICS:
            bad("output.metrics", f"unknown metric (known: {', '.join(METRICS)})", m)
    codes = (*cfg.countries, WORLD)
    countries = codes if spec.output.countries == "all" else spec.output.countries
    for c in countries:
        if c not in codes:
            bad("output.countries", f"not a country of the scenario (known: {', '.join(codes)})", c)
    region = tuple(c for c, cc in cfg.countries.items() if cc.has_households)
    analysis = None
    if spec.analysis is not None and not problems:
        from experiments.sweep.outcomes import Context, check_analysis
        ctx = Context(metrics=tuple(metrics), countries=tuple(countries), region=region, start=start, until=until)
        analysis = check_analysis(spec.analysis, ctx, bad)
    if problems:
        raise SpecError(where, problems)
    warnings: dict[str, None] = {}  # in order, once each (a parameter is checked at several values)
    for loaded, shadow, subject in shadows:
        if shadow in loaded.shadowed_until(until):
            warnings[shadow.message(subject)] = None

    return SweepSpec(
        file=file, scenario=spec.scenario, scenario_ref=scenario_ref, scenario_name=cfg.name,
        scenario_sha256=base.sha256(), seed=spec.seed, replicates=spec.replicates, design=spec.design,
        parameters=params, fixed=dict(fixed), start=start, until=until, households=cfg.run.households,
        metrics=tuple(metrics), countries=tuple(countries), every=spec.output.every,
        description=spec.description, region=region, analysis=analysis, warnings=tuple(warnings))


# ----------------------------------------------------------------------------- pieces
def _check_design_fits(design: Design, params: tuple[Parameter, ...], bad) -> None:
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
    try:
        return load_scenario(scenario_ref, overrides)
    except ScenarioError as err:
        return err


def _set_field(scenario_field: str, fixed: dict[str, Any]) -> str:
    if scenario_field in fixed:
        return f"set.{scenario_field}"
    if scenario_field == "run.households":
        return "households"
    return f"scenario ({scenario_field})" if scenario_field else "scenario"
