"""What the dashboard's controls mean for the model: settings, dotted overrides, model building.

A :class:`Settings` is an immutable value (safe to keep in a per-session ``solara``
reactive) holding the scenario name, seed, number of households, the focus country, the
dotted overrides that differ from the scenario file, and the shocks the counterfactual
switches off. Every control edits one dotted parameter path, the same paths
``crypto-abm run --set`` takes; :func:`build` turns a Settings into
``CryptoAdoptionModel(scenario_name=..., seed=..., households=..., overrides={...})``.

Only values that differ from the scenario file become overrides, so the resolved
scenario (``model.spec.to_toml()``) keeps the sources of everything left untouched.

Nothing here depends on one region: the focus country's choices, the shock switches and
the counterfactual's defaults all come from the scenario that is loaded.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Callable, Mapping

from model.errors import ScenarioError
from model.model import CryptoAdoptionModel
from model.scenario import Scenario, available_scenarios, find_scenario, load_scenario

DEFAULT_SCENARIO = "south_asia_2025"
DEFAULT_FOCUS = "PAK"
PRICE_KINDS = ("csv", "gbm", "constant")

# Plain (region-free) parameter paths the controls edit.
PRICE_KIND = "market.price.kind"
PRICE_LEVEL = "market.price.initial_usd"
PRICE_VOL = "market.price.volatility_per_year"
PRICE_DRIFT = "market.price.drift_per_year"
DIFFUSION = "policy.up.liberal_exposure"
INNOVATION = "households.innovation_per_year"
IMITATION = "households.imitation_per_year"


class InputError(ValueError):
    """Text in a control that is not a usable number (shown in the page, never raised to the user)."""


# ------------------------------------------------------------------ the scenario file
@dataclass(frozen=True)
class ShockInfo:
    id: str
    kind: str
    country: str
    date: dt.date
    enabled: bool
    description: str


@dataclass(frozen=True)
class Baseline:
    """Read-only facts about a scenario file as written (no overrides)."""

    name: str
    values: Mapping[str, Any]              # flattened dotted path -> value
    countries: tuple[tuple[str, str], ...]  # (code, name), in file order
    household_countries: tuple[str, ...]
    shocks: tuple[ShockInfo, ...]           # in date order
    start: dt.date
    end: dt.date
    households: int

    def country_name(self, code: str) -> str:
        return dict(self.countries).get(code, code)

    def shock(self, sid: str) -> ShockInfo | None:
        return next((s for s in self.shocks if s.id == sid), None)

    def default_focus(self) -> str:
        codes = [c for c, _ in self.countries]
        if DEFAULT_FOCUS in codes:
            return DEFAULT_FOCUS
        return (self.household_countries or tuple(codes))[0]

    def focus_paths(self, code: str, enabled: Callable[[str], bool] | None = None) -> tuple[str, str, str | None]:
        """(MW path, tariff path, shock id or None) that the focus country's controls edit.

        If the scenario has an enabled ``energy_allocation`` shock for the country, the
        controls act on that shock (the first one by date): it overwrites the country's own
        fields on its date, so an edit of those would hold only until then. Otherwise
        (none, or all switched off: ``enabled(shock id)``, by default as in the file) they
        act on the country's own ``mining_allowance_mw`` and ``mining_tariff_usd_per_kwh``,
        as editing a shock that is off would change nothing.
        """
        on = enabled or (lambda sid: self.shock(sid).enabled)
        for s in self.shocks:
            if s.kind == "energy_allocation" and s.country == code and on(s.id):
                return f"shocks.{s.id}.mw", f"shocks.{s.id}.tariff_usd_per_kwh", s.id
        return f"countries.{code}.mining_allowance_mw", f"countries.{code}.mining_tariff_usd_per_kwh", None

    def allocation_shocks(self, code: str) -> list[ShockInfo]:
        """The country's ``energy_allocation`` shocks, by date."""
        return [s for s in self.shocks if s.kind == "energy_allocation" and s.country == code]

    def default_counterfactual(self, focus: str) -> frozenset[str]:
        """The focus country's enabled shocks: "what if it had done nothing?"."""
        return frozenset(s.id for s in self.shocks if s.country == focus and s.enabled)


def _flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(tree, dict):
        for key, value in tree.items():
            out.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    else:
        out[prefix] = tree
    return out


def baseline(name: str) -> Baseline:
    """The scenario as written; cached per file version (read-only, shared by sessions)."""
    path = find_scenario(name)
    return _baseline(str(path), path.stat().st_mtime_ns)


@lru_cache(maxsize=16)
def _baseline(path: str, _mtime: int) -> Baseline:
    spec: Scenario = load_scenario(path)
    cfg = spec.config
    values = _flatten(cfg.model_dump(mode="python"))
    shocks = tuple(sorted(
        (ShockInfo(sid, s.kind, s.country, s.date, s.enabled, s.description) for sid, s in cfg.shocks.items()),
        key=lambda s: (s.date, s.id)))
    return Baseline(
        name=cfg.name, values=MappingProxyType(values),
        countries=tuple((code, c.name) for code, c in cfg.countries.items()),
        household_countries=tuple(code for code, c in cfg.countries.items() if c.has_households),
        shocks=shocks, start=cfg.run.start, end=cfg.run.end, households=cfg.run.households)


def scenario_choices() -> list[str]:
    return available_scenarios()


# ------------------------------------------------------------------ settings
@dataclass(frozen=True)
class Settings:
    """Everything the controls set. Immutable: replace it, never mutate it."""

    scenario: str = DEFAULT_SCENARIO
    seed: int = 0
    households: int | None = None          # None: the scenario's run.households
    focus: str = DEFAULT_FOCUS
    params: tuple[tuple[str, Any], ...] = ()  # dotted overrides differing from the file, sorted
    counterfactual_off: frozenset[str] | None = None  # None: the focus country's shocks
    exchange_country: str | None = None    # country whose volume is split by exchange (None: focus)

    # -------------------------------------------------------- reading
    @property
    def overrides(self) -> dict[str, Any]:
        return dict(self.params)

    def base(self) -> Baseline:
        return baseline(self.scenario)

    def value(self, path: str) -> Any:
        """The value a control shows: the override if set, else the scenario's."""
        over = self.overrides
        return over[path] if path in over else self.base().values.get(path)

    def shock_enabled(self, sid: str) -> bool:
        return bool(self.value(f"shocks.{sid}.enabled"))

    def focus_paths(self) -> tuple[str, str, str | None]:
        """The paths the focus country's MW and tariff controls edit, with the shocks as switched here."""
        return self.base().focus_paths(self.focus, self.shock_enabled)

    def cf_shocks(self) -> frozenset[str]:
        """Shocks the counterfactual switches off (chosen, or the focus country's by default)."""
        if self.counterfactual_off is not None:
            return self.counterfactual_off
        return self.base().default_counterfactual(self.focus)

    def counterfactual_overrides(self, shocks: frozenset[str] | None = None) -> dict[str, Any] | None:
        """These overrides plus ``shocks`` (default: :meth:`cf_shocks`) switched off; None if that changes nothing."""
        chosen = self.cf_shocks() if shocks is None else shocks
        off = [sid for sid in sorted(chosen) if self.shock_enabled(sid)]
        if not off:
            return None
        over = self.overrides
        over.update({f"shocks.{sid}.enabled": False for sid in off})
        return over

    @property
    def households_value(self) -> int:
        return self.base().households if self.households is None else self.households

    # -------------------------------------------------------- editing (all return a new Settings)
    def with_param(self, path: str, value: Any) -> "Settings":
        over = self.overrides
        base = self.base().values
        if path in base and _same(base[path], value):
            over.pop(path, None)
        else:
            over[path] = value
        return dataclasses.replace(self, params=tuple(sorted(over.items())))

    def with_scenario(self, name: str) -> "Settings":
        """Another scenario: its own countries, shocks and defaults; seed and households kept."""
        base = baseline(name)
        return Settings(scenario=name, seed=self.seed, households=self.households,
                        focus=self.focus if self.focus in dict(base.countries) else base.default_focus())

    def with_focus(self, code: str) -> "Settings":
        """Another focus country; the counterfactual's shocks stay as they were (pinned if they
        were the old focus country's by default), so a view choice never changes the what-if run."""
        return dataclasses.replace(self, focus=code, counterfactual_off=self.cf_shocks())

    def replace(self, **changes) -> "Settings":
        return dataclasses.replace(self, **changes)

    # -------------------------------------------------------- for the command line
    def cli_args(self, until: dt.date | None = None) -> str:
        parts = [f"--seed {self.seed}", f"--households {self.households_value}"]
        if until is not None:
            parts.append(f"--until {until.isoformat()}")
        return " ".join(parts)


def _same(a: Any, b: Any) -> bool:
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool) and not isinstance(b, bool):
        return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=0.0)
    return type(a) is type(b) and a == b


# ------------------------------------------------------------------ notes on valid but unusual values
def value_note(path: str, value: Any) -> str | None:
    """What a valid but implausible value does, in plain words (None when unremarkable)."""
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    v = float(value)
    if path == "households":
        if v == 0:
            return ("0 households: no household agents are simulated, so adoption stays at its starting "
                    "value and household shocks have no effect")
        if v < 5000:
            return f"only {int(v):,} households across the region: adoption will move in coarse, noisy jumps"
        if v > 200_000:
            return f"{int(v):,} households: rebuilds and steps will be slow (memory grows with this)"
    elif path == INNOVATION and v > 0.2:
        weeks = math.log(2) / v * 52
        return (f"p = {v:g}/yr is very high (typical 0.001-0.05): half of those online adopt within "
                f"~{weeks:.3g} weeks on innovation alone")
    elif path == IMITATION and v > 3:
        return f"q = {v:g}/yr is very high (typical 0.1-1): adoption spreads through ties within weeks"
    elif path == PRICE_VOL and v > 2:
        return f"volatility {v:g}/yr ({v * 100:.0f}% a year): BTC's is ~0.6; prices will swing by orders of magnitude"
    elif path == PRICE_DRIFT and abs(v) > 1:
        return f"drift {v:g}/yr: the expected price changes by a factor {math.exp(v):.3g} a year"
    elif path == DIFFUSION and v > 20:
        return (f"neighbour pull {v:g} is very high (the fitted value is 0: the panel shows no pull): neighbours' "
                "stances spread almost at once")
    elif path.endswith("tariff_usd_per_kwh") and v > 0.5:
        return f"${v:g}/kWh is far above any grid tariff: mining will not pay"
    return None


def initial_settings(scenario: str = DEFAULT_SCENARIO) -> Settings:
    names = scenario_choices()
    if scenario not in names and names:
        scenario = names[0]
    base = baseline(scenario)
    return Settings(scenario=scenario, focus=base.default_focus())


# ------------------------------------------------------------------ text -> numbers
def parse_int(text: Any, what: str, minimum: int | None = None) -> int:
    """A whole number from a text box ("42", " 42 ", "4.2e1", "20,000")."""
    if isinstance(text, bool):
        raise InputError(f"{what}: {text!r} is not a whole number")
    if isinstance(text, int):
        value = text
    else:
        raw = str(text).strip().replace(",", "").replace("_", "")
        try:
            value = int(raw)
        except ValueError:
            try:
                f = float(raw)
            except ValueError:
                raise InputError(f"{what}: {str(text)!r} is not a whole number") from None
            if not math.isfinite(f) or f != int(f):
                raise InputError(f"{what}: {str(text)!r} is not a whole number") from None
            value = int(f)
    if minimum is not None and value < minimum:
        raise InputError(f"{what}: must be at least {minimum} (got {value})")
    return value


def parse_float(text: Any, what: str, *, optional: bool = False) -> float | None:
    """A number from a text box; blank gives None when ``optional`` (e.g. "no cap")."""
    if text is None or (isinstance(text, str) and not text.strip()):
        if optional:
            return None
        raise InputError(f"{what}: a number is needed")
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value = float(text)
    else:
        raw = str(text).strip().replace(",", "").replace("_", "").lstrip("$")
        try:
            value = float(raw)
        except ValueError:
            raise InputError(f"{what}: {str(text)!r} is not a number") from None
    if not math.isfinite(value):
        raise InputError(f"{what}: {str(text)!r} is not a finite number")
    return value


def format_number(value: Any) -> str:
    """How a control shows a number: plain, without float noise."""
    if value is None:
        return ""
    if isinstance(value, float):
        if value == int(value) and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.6g}"
    return str(value)


# ------------------------------------------------------------------ building
def build(settings: Settings, overrides: Mapping[str, Any] | None = None) -> CryptoAdoptionModel:
    """The model for these settings (ScenarioError on invalid values)."""
    return CryptoAdoptionModel(scenario_name=settings.scenario, seed=int(settings.seed),
                               households=settings.households,
                               overrides=settings.overrides if overrides is None else dict(overrides))


def describe_error(err: Exception) -> str:
    if isinstance(err, (ScenarioError, InputError)):
        return str(err)
    return f"{type(err).__name__}: {err}"


__all__ = ["Baseline", "InputError", "Settings", "ShockInfo", "baseline", "build", "describe_error",
           "format_number", "initial_settings", "parse_float", "parse_int", "scenario_choices", "value_note"]
