"""An ensemble's members as a sweep: the spec, the price-path seeds, the run.

Seeds: one root seed. Member ``k`` runs with replicate seed ``k`` of the sweep engine
(:func:`experiments.sweep.design.replicate_seeds`), so its households, countries, miners and
(with ``fitted``) its parameter draws come from that seed. With ``price_paths = P`` the
members form a crossed design: P price paths (``run.market_seed``, seeds from
:func:`market_seeds`) x K = members / P replicate seeds, each price path run with every
replicate seed. Member (p, k) then shares its price path with the K members of row p and
everything else with the P members of column k, which is what the variance split in
:mod:`experiments.ensemble.summary` needs. Without ``price_paths`` each member's price path
comes from its own seed.

``all``: the fitted draws, and a Latin hypercube over every ranged assumption of the resolved
scenario (``range = [low, high]``, :mod:`model.scenario`; uniform within it, whole numbers
for a whole-number value), one row per member: the sweep engine's LHS design seeded from the
root seed, with ``own_seeds`` so each member keeps its own seed (member k's is the one it has
under ``fitted``). An override (``--set``) of a ranged value pins it. It does not combine with
``price_paths`` (a crossed design would need one hypercube row per seed, shared across paths).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import tomli_w

from experiments.outdir import resumable_out
from experiments.provenance import atomic_write_bytes
from experiments.sweep.errors import SpecError
from experiments.sweep.runner import Report, prepare, run_prepared
from experiments.sweep.spec import SweepSpec, parse_spec
from model.model import seed_draws
from model.scenario import load_scenario

PARAMETERS = ("point", "fitted", "all")
MARKET_SEED = "run.market_seed"
SPEC_FILE = "ensemble.toml"
SWEEP = "sweep"
#: Mixed into the root seed for the price paths' seeds, so they are not any member's own seed.
MARKET_KEY = 0x6D61726B6574  # "market"


@dataclass(frozen=True)
class EnsembleOptions:
    scenario: str
    members: int = 20
    parameters: Literal["point", "fitted", "all"] = "fitted"
    price_paths: int | None = None
    seed: int = 0
    households: int | None = None
    until: dt.date | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    workers: int | None = None
    executor: str = "process"      # or "dask" (experiments.sweep.runner.open_executor)
    scheduler: str | None = None   # a Dask scheduler's address
    progress: bool = True
    #: The sweep spec's [output] table (metrics, countries, every); None keeps the sweep's defaults.
    output: dict[str, Any] | None = None


def market_seeds(root_seed: int, paths: int) -> list[int]:
    """The price paths' market seeds: words of ``SeedSequence([root_seed, MARKET_KEY])``."""
    words = np.random.SeedSequence([root_seed, MARKET_KEY]).generate_state(paths, dtype=np.uint64)
    return [int(w >> np.uint64(1)) for w in words]  # < 2**63, as the model's seeds


def spec_table(opts: EnsembleOptions) -> dict[str, Any]:
    """The sweep spec of the ensemble, as a TOML table (checked by :func:`make_spec`)."""
    where = "crypto-abm ensemble"
    if opts.parameters not in PARAMETERS:
        raise SpecError.one(where, "--parameters", f"one of {', '.join(PARAMETERS)}", opts.parameters)
    if opts.members < 2:
        raise SpecError.one(where, "--members", "an ensemble needs at least 2 members", opts.members)
    fixed = dict(opts.overrides)
    if opts.parameters in ("fitted", "all"):
        draws = seed_draws(load_scenario(opts.scenario).config)
        for path in draws:
            if path in fixed:
                raise SpecError.one(where, "--set", f"--parameters {opts.parameters} sets {path} = \"seed\" for "
                                                    "every member; drop the --set or use --parameters point",
                                    fixed[path])
        fixed.update(draws)
    raw: dict[str, Any] = {"description": f"ensemble of {opts.scenario}: {opts.members} members, "
                                          f"{opts.parameters} parameters",
                           "scenario": opts.scenario, "seed": opts.seed, "design": {"kind": "grid"}, "set": fixed}
    replicates = opts.members
    if opts.parameters == "all":
        if opts.price_paths is not None:
            raise SpecError.one(where, "--price-paths", "--parameters all samples one hypercube row per member and "
                                                        "does not cross with price paths; use --parameters fitted "
                                                        "for the variance split", opts.price_paths)
        raw["parameters"] = ranged_parameters(opts.scenario, fixed)
        raw["design"] = {"kind": "lhs", "samples": opts.members, "own_seeds": True}
        replicates = 1
    if opts.price_paths is not None:
        p = opts.price_paths
        if MARKET_SEED in fixed:
            raise SpecError.one(where, "--set", "--price-paths sets the price paths' seeds itself", MARKET_SEED)
        if p < 2 or opts.members % p or opts.members // p < 2:
            raise SpecError.one(where, "--price-paths", f"a divisor P of --members ({opts.members}) with P >= 2 "
                                                        "and members / P >= 2", p)
        replicates = opts.members // p
        raw["parameters"] = {MARKET_SEED: {"values": market_seeds(opts.seed, p), "integer": True}}
    raw["replicates"] = replicates
    if opts.households is not None:
        raw["households"] = opts.households
    if opts.until is not None:
        raw["until"] = opts.until
    if opts.output is not None:
        raw["output"] = dict(opts.output)
    return raw


def ranged_parameters(scenario: str, fixed: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The sweep parameters of ``--parameters all``: every ranged value of the scenario as
    resolved with ``fixed`` (an overridden one is pinned, so it has no range), a whole-number
    range where the value and both ends are whole numbers."""
    spec = load_scenario(scenario, fixed)
    if not spec.ranges:
        raise SpecError.one("crypto-abm ensemble", "--parameters", f"all needs ranged assumptions (range = [low, "
                                                                   f"high]); {spec.file} has none", "all")
    plain = spec.config.model_dump()
    out = {}
    for path, (low, high) in spec.ranges.items():
        value = plain
        for part in path.split("."):
            value = value[part]
        integer = all(type(v) is int for v in (value, low, high))
        out[path] = {"low": low, "high": high, "integer": integer}
    return out


def make_spec(opts: EnsembleOptions, out: Path) -> tuple[SweepSpec, dict[str, Any]]:
    scenario = opts.scenario
    if scenario.endswith(".toml") or "/" in scenario:  # a path: absolute, as the spec file sits elsewhere
        scenario = str(Path(scenario).resolve())
    raw = spec_table(dataclasses.replace(opts, scenario=scenario))
    try:
        return parse_spec(raw, out / SPEC_FILE), raw
    except SpecError as err:  # named by the option that gave the value: the spec file is not written yet
        raise SpecError("crypto-abm ensemble", [(_option(f), m, v) for f, m, v in err.problems]) from None


def _option(spec_field: str) -> str:
    """A spec field as the command-line option that set it (``set.a.b`` -> ``--set a.b``)."""
    if spec_field.startswith("set."):
        return f"--set {spec_field[4:]}"
    return f"--{spec_field}" if spec_field in ("households", "until") else spec_field


def _not_an_ensemble(path: Path, names: list[str]) -> str | None:
    return None if SPEC_FILE in names and SWEEP in names else "holds files that are not an ensemble's"


def run_ensemble(opts: EnsembleOptions, out: str | Path, argv: list[str] | None = None) -> tuple[SweepSpec, Report]:
    """Run (or resume) the ensemble's members into ``out/sweep``; write its spec to ``out/ensemble.toml``."""
    out = resumable_out(out, what="an ensemble folder", foreign=_not_an_ensemble)
    spec, raw = make_spec(opts, out)
    for text in spec.warnings:
        print(f"warning: {text}", file=sys.stderr)
    prep = prepare(spec, out / SWEEP, argv=argv, label=opts.executor)  # refuses another ensemble's folder
    try:
        atomic_write_bytes(out / SPEC_FILE, (f"# Sweep spec of an ensemble; rerun: crypto-abm sweep {out / SPEC_FILE}"
                                             f" --out {out / SWEEP}\n" + tomli_w.dumps(raw)).encode())
        return spec, run_prepared(prep, opts.executor, opts.workers, opts.scheduler, progress=opts.progress)
    finally:
        prep.release()
