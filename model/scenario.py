"""Scenario files: find, read, include, override, validate, and write back.

A scenario is a TOML file. Any number in it may be written plainly or as a sourced value,
``{ value = 251.27, source = "World Bank WDI (2024)" }``, with exactly one of the
provenance keys ``source`` (published figure), ``derived`` (computed from published
figures; say how), ``fitted`` (set by a calibration; say which) or ``assumption`` (say
why). The loader strips the wrapping and keeps the provenance beside the values, so the
model sees plain numbers and the written ``scenario.toml`` keeps every source.

An ``assumption`` or a ``derived`` value may also carry ``range = [low, high]`` (finite,
low < high, the value inside): how far the assumption (or the assumed step of a derived
figure, e.g. holding a past figure for the future) could plausibly be off, itself an
assumption whose reason the text or a ``note`` gives. Published (``source``) figures carry
none, and fitted ones their fit's covariance instead. Ranges are kept in
``Scenario.ranges``; an override of a ranged value drops its range (the value is the
caller's now); ``crypto-abm ensemble --parameters all`` samples the rest.

Overrides use dotted paths keyed by name, never by list position, e.g.
``shocks.pak_allocation.tariff_usd_per_kwh=0.1`` or ``shocks.pak_allocation.enabled=false``.
An override of a country field that a dated shock overwrites (the tariff of a country
whose energy allocation sets its own) holds only until the shock: the loader lists each
such override in ``Scenario.shadowed`` / ``Scenario.warnings``, naming the path that acts.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import math
import re
import tomllib
import typing
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any, Iterable, Mapping

import tomli_w
from pydantic import BaseModel, ValidationError

from model.config import SHOCK_KINDS, ScenarioConfig
from model.errors import MISSING, ScenarioError
from model.file_cache import cached_read

#: The folder that holds the packages (model/, experiments/, data/, ...): the source checkout,
#: or site-packages in an installed copy. Files the commands read are found through the
#: packages (``package_file``), never through the current folder.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: A source checkout is a folder with pyproject.toml beside the packages; an installed copy
#: (site-packages) has none. Only a checkout's own folders are ever written to.
IN_CHECKOUT = (PROJECT_ROOT / "pyproject.toml").is_file()


def package_file(package: str, *parts: str) -> Path:
    """A file or folder shipped in one of the project's packages, e.g.
    ``package_file("experiments", "sweeps")``: a real path in a checkout and in a regular install."""
    return Path(files(package).joinpath(*parts))


def output_root() -> Path:
    """Where a command writes what it writes into the project by default (validate's
    docs/VALIDATION.md and docs/figures/, the studies' runs/studies/): the checkout in a
    source checkout, the current folder in an installed copy (never site-packages)."""
    return PROJECT_ROOT if IN_CHECKOUT else Path.cwd()


SCENARIO_DIR = package_file("experiments", "scenarios")
PROVENANCE_KEYS = ("source", "derived", "fitted", "assumption")
#: The provenance kinds a value with a ``range`` may have.
RANGED_KINDS = ("assumption", "derived")
#: The provenance of an override; a resolved scenario.toml writes it as an assumption.
OVERRIDE_NOTE = "set on the command line or by the caller"


def _is_override(prov: tuple[str, str]) -> bool:
    """An override, or one read back from a run's resolved scenario.toml (so a rerun from it
    warns and marks its events as the run did)."""
    return prov[0] == "override" or prov == ("assumption", OVERRIDE_NOTE)


def show_value(value: Any) -> str:
    """A value as ``--set`` takes it (``true``, ``2025-05-25``, ``0.1``, ``4000``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))  # 4000, not 4000.0 (the schema reads either)
    return str(value)


@dataclass(frozen=True)
class Shadowed:
    """An override of a country field that a dated shock overwrites during the run.

    The override holds only until ``date``; from then on the shock's own field (``acting``)
    decides, e.g. ``countries.PAK.mining_tariff_usd_per_kwh`` and the ``pak_allocation``
    energy allocation's ``shocks.pak_allocation.tariff_usd_per_kwh``. Which kind overwrites
    which field is :attr:`model.config._ShockBase.overwrites`.
    """

    path: str               # the override, e.g. countries.PAK.mining_tariff_usd_per_kwh
    value: Any              # its value
    shock: str              # the shock's id
    kind: str               # the shock's kind
    date: dt.date           # when the shock overwrites the field
    sets: Any               # the value the shock puts there
    acting: str             # the path that acts from the date: shocks.<id>.<field>
    at_start: bool = False  # the shock is dated on the run's first step: the override never acts
    until: dt.date | None = None  # a temporary ban or moratorium ends then (and sets the field to false)
    later: tuple[tuple[str, dt.date], ...] = ()  # other shocks that overwrite the field later

    def message(self, subject: str | None = None) -> str:
        """One line naming the override, the shock, its date, the value it sets and the acting path.

        ``subject`` replaces "override PATH=VALUE" (a sweep names its spec field instead)."""
        subject = subject or f"override {self.path}={show_value(self.value)}"
        when = (f"has no effect: shock {self.shock} ({self.kind}, {self.date}, the run's first step)"
                if self.at_start else f"holds only until {self.date}: shock {self.shock} ({self.kind}) then")
        sets = f"sets it to {show_value(self.sets)}" + (
            f" (until {self.until}, when the {self.kind.replace('_', ' ')} ends and sets it to false)"
            if self.until else "")
        later = "".join(f"; shock {sid} ({date}) overwrites it again" for sid, date in self.later)
        return f"{subject} {when} {sets}{later}; the path that acts instead: {self.acting}"


@dataclass
class Scenario:
    """A validated scenario with the provenance of each of its numbers.

    ``shadowed`` lists the overrides that a dated shock overwrites (:class:`Shadowed`),
    ``warnings`` says them in words: the command line prints them, a run's manifest and the
    dashboard show them. ``ranges`` holds the ranged values' ``(low, high)`` by dotted path.
    """

    config: ScenarioConfig
    file: Path
    provenance: dict[str, tuple[str, str]] = field(default_factory=dict)
    shadowed: list[Shadowed] = field(default_factory=list)
    ranges: dict[str, tuple[Any, Any]] = field(default_factory=dict)

    @property
    def warnings(self) -> list[str]:
        """Every shadowed override, in words (over the whole run)."""
        return [s.message() for s in self.shadowed]

    def last_step(self, until: dt.date | None = None) -> dt.date | None:
        """The last step date a run reaches, stopping at ``until`` (None: at ``run.end``);
        None if ``until`` is before the start."""
        run = self.config.run
        stop = run.end if until is None else min(until, run.end)
        if stop < run.start:
            return None
        return run.start + dt.timedelta(days=(stop - run.start).days // run.step_days * run.step_days)

    def shadowed_until(self, until: dt.date | None = None) -> list[Shadowed]:
        """The shadowed overrides of a run that stops at ``until``: a shock dated after the
        run's last step overwrites nothing."""
        last = self.last_step(until)
        return [s for s in self.shadowed if last is not None and s.date <= last]

    def warnings_until(self, until: dt.date | None = None) -> list[str]:
        return [s.message() for s in self.shadowed_until(until)]

    def overridden_fields(self, prefix: str) -> dict[str, Any]:
        """``{field: value}`` of the overrides under ``prefix`` (e.g. ``shocks.pak_allocation``),
        as they stand in the validated config (what the event log says was changed)."""
        out: dict[str, Any] = {}
        node: Any = self.config
        for part in prefix.split("."):
            node = node.get(part) if isinstance(node, dict) else getattr(node, part, None)
        for path, prov in self.provenance.items():
            if _is_override(prov) and path.startswith(prefix + ".") and "." not in path[len(prefix) + 1:]:
                name = path[len(prefix) + 1:]
                out[name] = getattr(node, name, None)
        return out

    def data_files(self) -> dict[str, str]:
        """The CSV series the run reads, by the dotted field that names each: the price
        series (``market.price.csv``, where ``kind = "csv"``) and the fees by month
        (``market.fees_csv``, where given)."""
        market = self.config.market
        files = {"market.price.csv": market.price.csv} if market.price.kind == "csv" else {}
        if market.fees_csv is not None:
            files["market.fees_csv"] = market.fees_csv
        return files

    def to_toml(self, data_files: Mapping[str, str] | None = None) -> str:
        """The resolved scenario (includes merged, overrides applied), sources kept.

        ``data_files`` replaces the paths of the CSV series (:meth:`data_files`, by dotted
        field): a run folder ships its own copies, so its ``scenario.toml`` reruns from anywhere.
        """
        plain = self.config.model_dump(mode="python", exclude_none=True)
        for dotted, path in (data_files or {}).items():
            node = plain
            *parents, last = dotted.split(".")
            for part in parents:
                node = node[part]
            node[last] = path
        return tomli_w.dumps(_rewrap(plain, self.provenance, "", self.ranges))

    def sha256(self) -> str:
        return hashlib.sha256(self.to_toml().encode()).hexdigest()

    def resolve_path(self, relative: str, field: str = "market.price.csv") -> Path:
        """A data path as written in the scenario (in ``field``): relative to its file, else to the project."""
        for base in (self.file.parent, PROJECT_ROOT):
            candidate = (base / relative).resolve()
            if candidate.exists():
                return candidate
        raise ScenarioError.one(str(self.file), field, "file not found", relative)


def available_scenarios() -> list[str]:
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.toml"))


def find_scenario(name_or_path: str | Path) -> Path:
    """A scenario name in ``experiments/scenarios/`` or a path to a TOML file."""
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        if not path.is_file():
            raise ScenarioError.one(str(path), "", "scenario file not found")
        return path.resolve()
    candidate = SCENARIO_DIR / f"{name_or_path}.toml"
    if candidate.is_file():
        return candidate
    known = ", ".join(available_scenarios()) or "none"
    raise ScenarioError.one(str(name_or_path), "", f"no such scenario (known: {known})")


def load_scenario(
    name_or_path: str | Path,
    overrides: Mapping[str, Any] | Iterable[str] | None = None,
) -> Scenario:
    """Read, merge includes, apply overrides, unwrap sources, validate and cross-check."""
    file = find_scenario(name_or_path)
    raw = _read_with_includes(file, seen=())
    provenance: dict[str, tuple[str, str]] = {}
    ranges: dict[str, tuple[Any, Any]] = {}
    plain = _unwrap(raw, "", provenance, str(file), ranges)
    for path, value in parse_overrides(overrides, str(file)).items():
        try:
            _set_path(plain, path, _plain_value(value), str(file))
        except ScenarioError:
            _raise_if_file_broken(plain, path, str(file))  # the file's own problem, not the override's
            raise
        provenance[path] = ("override", OVERRIDE_NOTE)
        ranges.pop(path, None)
    try:
        config = ScenarioConfig.model_validate(plain)
    except ValidationError as err:
        raise ScenarioError(str(file), [describe_error(e) for e in err.errors()]) from None
    _check_references(config, str(file))
    overridden = [path for path, prov in provenance.items() if _is_override(prov)]
    return Scenario(config=config, file=file, provenance=provenance, shadowed=_shadowed(config, overridden),
                    ranges=ranges)


# ------------------------------------------------------------------ reading
def _read_toml(file: Path) -> dict[str, Any]:
    return cached_read(_parse_toml, file)


def _parse_toml(file: Path) -> dict[str, Any]:
    try:
        with open(file, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError.one(str(file), "", f"malformed TOML: {err}") from None
    except UnicodeDecodeError as err:
        raise ScenarioError.one(str(file), "", not_text_message(err)) from None
    except OSError as err:
        raise ScenarioError.one(str(file), "", f"cannot read: {err.strerror}") from None


def not_text_message(err: UnicodeDecodeError) -> str:
    """A TOML file is UTF-8 text; say where it is not (a binary or a Latin-1 file, say)."""
    return (f"not a UTF-8 text file (byte 0x{err.object[err.start]:02x} at offset {err.start}); "
            "a scenario or sweep spec is a TOML text file")


def _read_with_includes(file: Path, seen: tuple[Path, ...]) -> dict[str, Any]:
    """Merge ``include = [...]`` files first, then this file on top (tables merge deeply)."""
    if file in seen:
        raise ScenarioError.one(str(file), "include", "include cycle", [str(p) for p in seen])
    data = _read_toml(file)
    _anchor_paths(data, file)
    includes = data.pop("include", [])
    if not isinstance(includes, list) or not all(isinstance(i, str) for i in includes):
        raise ScenarioError.one(str(file), "include", "must be a list of file paths", includes)
    merged: dict[str, Any] = {}
    for inc in includes:
        inc_path = (file.parent / inc).resolve()
        if not inc_path.is_file():
            raise ScenarioError.one(str(file), "include", "included file not found", inc)
        _deep_merge(merged, _read_with_includes(inc_path, seen + (file,)))
    _deep_merge(merged, data)
    return merged


def _anchor_paths(data: dict[str, Any], file: Path) -> None:
    """Make a file path written in ``file`` absolute when it exists relative to ``file``,
    so that it still points at the same data when another scenario includes ``file``
    (the price series ``market.price.csv`` and the fees ``market.fees_csv``)."""
    market = data.get("market") if isinstance(data.get("market"), dict) else {}
    price = market.get("price", {})
    for table, key in ((price, "csv"), (market, "fees_csv")):
        csv = table.get(key) if isinstance(table, dict) else None
        if isinstance(csv, str) and not Path(csv).is_absolute() and (file.parent / csv).exists():
            table[key] = str((file.parent / csv).resolve())


def _deep_merge(base: dict[str, Any], top: Mapping[str, Any]) -> None:
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict) and not _is_sourced(value):
            _deep_merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)


# ---------------------------------------------------------------- provenance
def _is_sourced(value: Any) -> bool:
    return isinstance(value, dict) and "value" in value and any(k in value for k in PROVENANCE_KEYS)


def _unwrap(obj: Any, path: str, prov: dict[str, tuple[str, str]], file: str,
            ranges: dict[str, tuple[Any, Any]]) -> Any:
    if _is_sourced(obj):
        keys = set(obj) - {"value", "note", "range"}
        kinds = [k for k in keys if k in PROVENANCE_KEYS]
        extra = keys - set(PROVENANCE_KEYS)
        if len(kinds) != 1 or extra:
            raise ScenarioError.one(
                file, path, "a sourced value has 'value' and exactly one of "
                f"{', '.join(PROVENANCE_KEYS)} (and optionally 'note' and 'range')", sorted(obj))
        kind = kinds[0]
        if not isinstance(obj[kind], str) or not obj[kind].strip():
            raise ScenarioError.one(file, f"{path}.{kind}", "must be a non-empty string", obj[kind])
        prov[path] = (kind, obj[kind] + (f" ({obj['note']})" if obj.get("note") else ""))
        if "range" in obj:
            ranges[path] = _range(obj, kind, f"{path}.range", file)
        return obj["value"]
    if isinstance(obj, dict):
        return {k: _unwrap(v, f"{path}.{k}" if path else k, prov, file, ranges) for k, v in obj.items()}
    return obj


def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _range(obj: Mapping[str, Any], kind: str, where: str, file: str) -> tuple[Any, Any]:
    """A sourced value's ``range``, checked: two finite numbers, low < high, the value inside."""
    bounds, value = obj["range"], obj["value"]
    if kind not in RANGED_KINDS:
        raise ScenarioError.one(file, where, f"a range goes with {' or '.join(RANGED_KINDS)} (a published figure "
                                             f"has none; a fitted one its fit's covariance), not with {kind}", bounds)
    if not (isinstance(bounds, list) and len(bounds) == 2 and all(map(_number, bounds)) and bounds[0] < bounds[1]):
        raise ScenarioError.one(file, where, "must be [low, high]: two finite numbers, low below high", bounds)
    if not (_number(value) and bounds[0] <= value <= bounds[1]):
        raise ScenarioError.one(file, where, f"must hold the value ({show_value(value)}): low <= value <= high",
                                bounds)
    return bounds[0], bounds[1]


def _rewrap(obj: Any, prov: Mapping[str, tuple[str, str]], path: str,
            ranges: Mapping[str, tuple[Any, Any]]) -> Any:
    if isinstance(obj, dict):
        return {k: _rewrap(v, prov, f"{path}.{k}" if path else k, ranges) for k, v in obj.items()}
    if path in prov:
        kind, text = prov[path]
        out = {"value": obj, ("assumption" if kind == "override" else kind): text}
        if path in ranges:
            out["range"] = list(ranges[path])
        return out
    return obj


# ----------------------------------------------------------------- overrides
def parse_overrides(overrides: Mapping[str, Any] | Iterable[str] | None, file: str) -> dict[str, Any]:
    """Overrides as ``{dotted path: value}``, from a mapping or ``PATH=VALUE`` strings."""
    if overrides is None:
        return {}
    if isinstance(overrides, Mapping):
        return dict(overrides)
    parsed: dict[str, Any] = {}
    for item in overrides:
        if "=" not in item:
            raise ScenarioError.one(file, "--set", "expected PATH=VALUE, e.g. countries.PAK.stance=3", item)
        key, raw = item.split("=", 1)
        parsed[key.strip()] = parse_value(raw.strip())
    return parsed


def _plain_value(value: Any) -> Any:
    """A numpy scalar from a Python caller as the plain value it stands for (the schema is
    strict: ``numpy.int64(3)`` is not an ``int``, ``numpy.bool_`` not a ``bool``)."""
    item = getattr(value, "item", None)
    if item is not None and type(value).__module__ == "numpy" and getattr(value, "shape", None) == ():
        return item()
    return value


def parse_value(raw: str) -> Any:
    """A command-line value as TOML would read it (numbers, booleans, dates), else a string."""
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def _set_path(tree: dict[str, Any], path: str, value: Any, file: str) -> None:
    parts = path.split(".")
    if not path or any(not p for p in parts):
        raise ScenarioError.one(file, path, "not a dotted parameter path", value)
    node = tree
    for i, part in enumerate(parts[:-1]):
        nxt = node.get(part)
        if nxt is None:
            raise ScenarioError.one(file, path, f"'{'.'.join(parts[:i + 1])}' does not exist", value)
        if not isinstance(nxt, dict):
            raise ScenarioError.one(file, path, f"'{'.'.join(parts[:i + 1])}' is not a table", value)
        node = nxt
    if isinstance(node.get(parts[-1]), dict):
        raise ScenarioError.one(file, path, "is a table; set one of its fields", value)
    node[parts[-1]] = value


# ---------------------------------------------------------------- validation
def describe_error(error: Mapping[str, Any]) -> tuple[str, str, Any]:
    """A pydantic error as (dotted field, message, value), the problems of a :class:`ScenarioError`
    (a sweep spec's are worded by it too)."""
    loc = list(error.get("loc", ()))
    # Drop the discriminator tag pydantic inserts after a shock id.
    if len(loc) >= 3 and loc[0] == "shocks" and loc[2] in SHOCK_KINDS:
        del loc[2]
    if loc and loc[-1] == "[key]":  # a bad key of a table keyed by value (a year): the key is the path
        del loc[-1]
    path = ".".join(str(p) for p in loc)
    message = error.get("msg", "invalid")
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    value = error.get("input")
    kind = error.get("type")
    if kind in ("float_type", "int_type") and isinstance(value, bool):
        message = f"Input should be a {'whole ' if kind == 'int_type' else ''}number, not true/false"
    elif kind == "int_type" and isinstance(value, float):
        message += " (a whole number, written without a decimal point)"
    elif kind == "finite_number":
        message = "Input should be a finite number, not nan or inf"
    elif kind in ("model_type", "dict_type") and len(loc) == 1:
        message = f"must be a table ([{path}] or {path} = {{ ... }})"
    elif kind == "missing" and len(loc) == 1 and _is_table_field(str(loc[0])):
        message = f"required section [{loc[0]}] is missing"
    if error.get("type") == "union_tag_invalid" and isinstance(value, dict):
        path, value = f"{path}.kind", value.get("kind")
        message = f"unknown shock kind; expected one of {', '.join(SHOCK_KINDS)}"
    if error.get("type") == "extra_forbidden":
        message = "unknown key"
    if error.get("type") == "missing":
        value = MISSING
    if isinstance(value, (dt.date, dt.datetime)):
        value = value.isoformat()
    if isinstance(value, dict) and error.get("type") != "extra_forbidden":
        # a table's own check: show the entries its message names, else the table's first ones
        named = {k: v for k, v in value.items() if re.search(rf"\b{re.escape(str(k))}\b", message)}
        value = named or {k: v for k, v in list(value.items())[:6]}
    return path, message, value


def _is_table_field(name: str) -> bool:
    """Whether a top-level key of a scenario is a table (``[run]``) rather than a value."""
    field_ = ScenarioConfig.model_fields.get(name)
    if field_ is None:
        return False
    kinds = (field_.annotation, *typing.get_args(field_.annotation))
    return any(typing.get_origin(t) is dict or (isinstance(t, type) and issubclass(t, BaseModel)) for t in kinds)


def _raise_if_file_broken(plain: dict[str, Any], path: str, file: str) -> None:
    """An override that cannot be placed because the file lacks the section it goes into
    (an empty file, ``countries = 5``): report the file's own problems, every one of them,
    instead of "'run' does not exist" for ``--households``."""
    try:
        ScenarioConfig.model_validate(plain)
    except ValidationError as err:
        problems = [describe_error(e) for e in err.errors()]
        parts = path.split(".")
        if any(f and parts[:len(f.split("."))] == f.split(".") for f, _, _ in problems):
            raise ScenarioError(file, problems) from None


def _shadowed(cfg: ScenarioConfig, overridden: Iterable[str]) -> list[Shadowed]:
    """Overrides of country fields that an enabled dated shock overwrites (the earliest
    such shock is named, later ones listed); shocks are inside the run (checked before)."""
    out = []
    for path in overridden:
        parts = path.split(".")
        if len(parts) != 3 or parts[0] != "countries":
            continue
        code, name = parts[1], parts[2]
        hits = sorted(((shock.date, sid, shock) for sid, shock in cfg.shocks.items()
                       if shock.enabled and shock.country == code and name in shock.overwrites),
                      key=lambda hit: (hit[0], hit[1]))
        if not hits:
            continue
        date, sid, shock = hits[0]
        source, value = shock.sets()[name]
        out.append(Shadowed(path=path, value=getattr(cfg.countries[code], name), shock=sid, kind=shock.kind,
                            date=date, sets=value, acting=f"shocks.{sid}.{source}",
                            at_start=date <= cfg.run.start,
                            until=getattr(shock, "until", None),
                            later=tuple((s, d) for d, s, _ in hits[1:])))
    return out


def _check_references(cfg: ScenarioConfig, file: str) -> None:
    """Checks that span sections: country codes exist, shocks fall inside the run."""
    problems: list[tuple[str, str, Any]] = []
    known = set(cfg.countries)

    def need(code: str | None, where: str) -> None:
        if code is not None and code not in known:
            problems.append((where, "unknown country code (not in [countries])", code))

    for eid, edge in cfg.network.edges.items():
        need(edge.a, f"network.edges.{eid}.a")
        need(edge.b, f"network.edges.{eid}.b")
        if edge.a == edge.b:
            problems.append((f"network.edges.{eid}", "an edge needs two different countries", edge.a))
    for name, ex in cfg.exchanges.items():
        need(ex.home, f"exchanges.{name}.home")
        for code in ex.present:
            need(code, f"exchanges.{name}.present")
    for sid, shock in cfg.shocks.items():
        need(shock.country, f"shocks.{sid}.country")
        if getattr(shock, "partner", None) is not None:
            need(shock.partner, f"shocks.{sid}.partner")
        last = cfg.run.start + dt.timedelta(days=(cfg.run.end - cfg.run.start).days
                                            // cfg.run.step_days * cfg.run.step_days)
        if not (cfg.run.start <= shock.date <= last):
            problems.append((f"shocks.{sid}.date",
                             f"outside the run ({cfg.run.start} to its last step, {last})", str(shock.date)))
        if (shock.kind == "adoption_incentive" and shock.country in known
                and not cfg.countries[shock.country].has_households):
            problems.append((f"shocks.{sid}.country",
                             "an adoption_incentive needs a country with has_households = true", shock.country))
        if getattr(shock, "partner", None) == shock.country:
            problems.append((f"shocks.{sid}.partner", "an alliance needs two different countries", shock.partner))
        until = getattr(shock, "until", None)
        if until is not None and until <= shock.date:
            problems.append((f"shocks.{sid}.until", "must be after the shock's date", str(until)))
    for h, halving in cfg.market.halvings.items():
        if halving.date > cfg.run.end + dt.timedelta(days=3650):
            problems.append((f"market.halvings.{h}.date", "implausibly far after the run", str(halving.date)))
    if not any(c.has_households for c in cfg.countries.values()) and cfg.run.households > 0:
        problems.append(("run.households", "no country has has_households = true", cfg.run.households))
    n_house = sum(c.has_households for c in cfg.countries.values())
    if cfg.run.households and cfg.run.households < cfg.run.household_floor * n_house:
        problems.append(("run.households",
                         f"fewer than household_floor x countries with households "
                         f"({cfg.run.household_floor} x {n_house})", cfg.run.households))
    if problems:
        raise ScenarioError(file, problems)
