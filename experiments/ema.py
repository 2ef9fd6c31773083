"""Drive the model from EMA Workbench: uncertainties, levers and outcomes by dotted path.

`EMA Workbench <https://emaworkbench.readthedocs.io>`_ (``pip install .[ema]``) is the
tool exploratory modellers already use for scenario discovery (PRIM), global sensitivity
and many-objective search. This module is the glue between it and the model, so that a
study needs no glue of its own (the README's "EMA Workbench" example, which
``tests/experiments/test_ema.py`` runs as written, is the longer form)::

    from experiments.ema import replicator_model, prim_inputs
    from ema_workbench import perform_experiments
    from ema_workbench.analysis import prim

    model = replicator_model(
        "pak_allocation_approved", households=1800, until="2026-06-30", replications=2, seed=0,
        uncertainties={"market.price.volatility_per_year": (0.4, 0.9)},
        levers={"shocks.pak_allocation.tariff_usd_per_kwh": (0.03, 0.08),
                "shocks.pak_vao.enabled": [False, True]},
        outcomes={"pak_mw": "last(mining_power_mw@PAK)",
                  "pak_volume_usd": "sum(trading_volume_usd@PAK)"})
    experiments, outcomes = perform_experiments(model, scenarios=2, policies=4)
    box = prim.Prim(prim_inputs(experiments), outcomes["pak_mw"] > 500).find_box()

What it settles, and why:

- **Inputs are the project's dotted override paths** (``countries.PAK.stance``,
  ``shocks.pak_vao.enabled``: the paths of ``crypto-abm run --set``, sweeps and the
  dashboard). EMA asks for parameter *names* that are Python identifiers, so each
  parameter is named after its path with ``.`` written ``__``
  (``shocks__pak_vao__enabled``, see :func:`ema_name`) and keeps the path as its
  ``variable_name``: EMA hands the model the path, the experiments table shows the name.
  A ``(low, high)`` tuple is a range (``IntegerParameter`` if both ends are whole
  numbers, else ``RealParameter``); a list is a set of categories (``[False, True]`` is a
  ``BooleanParameter``, anything else a ``CategoricalParameter``). Every path and every
  end of every range is checked against the scenario when the model is built, so a typo
  fails at once with the project's one-line message, not in the middle of a run.
- **Outcomes are the expressions of** ``crypto-abm analyze`` (``last(hashrate_share@PAK)``,
  ``sum(trading_volume_usd@region)``, ``max(stance@BGD, to=2027-12-31) >= 3``; the value
  at a date is ``last(METRIC@C, to=DATE)``; see ``experiments/sweep/outcomes.py``),
  computed from each run's tidy table, so a question is written the same way for a sweep
  and for EMA.
- **Replications.** A stochastic model needs several seeds per experiment: EMA's
  ``ReplicatorModel`` runs each experiment once per replication and hands each outcome
  the list of per-replication values. A plain ``ScalarOutcome`` then fails ("should be a
  scalar, but is a list"), so each outcome is a ``ScalarOutcome`` whose ``function``
  reduces the replications (``aggregate``, the mean by default), or, with
  ``aggregate=None``, an ``ArrayOutcome`` keeping one value per replication. The seeds
  come from one root seed exactly as a sweep's replicates do
  (:func:`experiments.sweep.design.replicate_seeds`): replication ``r`` gets a different
  seed from every other replication and the *same* seed at every experiment (common
  random numbers), so two experiments differ by their inputs, not by their luck, and
  the same root seed reproduces the same outcomes.
- **PRIM under pandas 3.** EMA 3.0.0's PRIM writes interval limits and category sets
  into frames whose dtype it took from the experiments; pandas 3 refuses the
  silent upcast that pandas 2 allowed. A boolean lever (``bool`` column), a whole-number
  parameter (``int`` column: ``find_box`` can fail pasting ``0.5``) and a restricted
  categorical (``box.inspect()`` fails writing ``{True}`` into a float frame) all stop
  PRIM with ``TypeError: Invalid value ...``. :func:`prim_inputs` gives PRIM the
  parameter columns as it can read them: booleans as 0/1, whole numbers and numeric
  categories as floats (a two-valued column loses nothing: every subset of {0, 1} is an
  interval), and the bookkeeping columns (``scenario``, ``policy``, ``model``) dropped.

- **Levers only.** EMA 3.0.0's ``perform_experiments(model, policies=N)`` fails
  (``TypeError: can only concatenate list (not "ParameterMap") to list``) when the model
  has no uncertainties; pass ``scenarios=1`` too, or a list of ``Sample`` policies. Such
  a model also gets the previous policy's values under the EMA names (see ``_Run``),
  which the run function ignores.

The run function is a module-level, picklable object, so EMA's
``MultiprocessingEvaluator`` can ship the model to worker processes; the README's
example uses the ``SequentialEvaluator`` (the default of ``perform_experiments``).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd

with warnings.catch_warnings():
    # ema_workbench warns on import when ipyparallel (an optional extra we do not use)
    # is missing; the IpyparallelEvaluator is the only thing it disables.
    warnings.filterwarnings("ignore", message="ipyparallel not installed", category=UserWarning)
    from ema_workbench import (
        ArrayOutcome,
        BooleanParameter,
        CategoricalParameter,
        IntegerParameter,
        RealParameter,
        ReplicatorModel,
        ScalarOutcome,
    )

from experiments.analysis.outcomes import Panel, compute, pairs_needed
from experiments.sweep.design import replicate_seeds
from experiments.sweep.outcomes import Context, Outcome, parse_outcome
from model import build_model, load_scenario
from model.recorder import METRICS, WORLD

__all__ = ["BOOKKEEPING_COLUMNS", "SEED_KEY", "ema_name", "parameter", "prim_inputs", "replicator_model"]

SEED_KEY = "seed"
"""The keyword under which EMA passes a replication's seed to the run function."""

BOOKKEEPING_COLUMNS = ("scenario", "policy", "model")
"""Columns of EMA's experiments table that are labels of the design, not model inputs."""

ParameterSpec = tuple[Real, Real] | Sequence[Any]


# ============================================================================ names
def ema_name(path: str) -> str:
    """The EMA parameter name of a dotted path: ``shocks.pak_vao.enabled`` -> ``shocks__pak_vao__enabled``.

    EMA Workbench 3 wants names that are Python identifiers (they become keyword
    arguments and column names). ``.`` becomes ``__`` so the path can be read back from
    the name; any other character that cannot be in an identifier becomes ``_``. The
    parameter keeps the exact path as its ``variable_name``.
    """
    if not isinstance(path, str) or not path or any(not part for part in path.split(".")):
        raise ValueError(f"not a dotted parameter path: {path!r}")
    name = re.sub(r"\W", "_", path.replace(".", "__"))
    return name if name[0].isalpha() or name[0] == "_" else f"_{name}"


def parameter(path: str, spec: ParameterSpec):
    """The EMA parameter for one dotted path.

    ``(low, high)`` (a tuple) is a range: an ``IntegerParameter`` when both ends are whole
    numbers (``int``), else a ``RealParameter`` (write ``(1.0, 5)`` for a real range over
    whole-number ends). A list is a set of categories: ``[False, True]`` is a
    ``BooleanParameter``, anything else (numbers, strings, dates) a
    ``CategoricalParameter``. A tuple is a range and a list categories because a range of
    two numbers and two categories would otherwise read the same.
    """
    name = ema_name(path)
    if isinstance(spec, tuple):
        if len(spec) != 2 or not all(_is_number(v) for v in spec):
            raise ValueError(f"{path}: a range is a tuple (low, high) of two finite numbers, got {spec!r}")
        low, high = spec
        if not low < high:
            raise ValueError(f"{path}: low must be below high, got {spec!r}")
        if all(isinstance(v, (int, np.integer)) for v in spec):
            return IntegerParameter(name, int(low), int(high), variable_name=path)
        return RealParameter(name, float(low), float(high), variable_name=path)
    if isinstance(spec, Sequence) and not isinstance(spec, (str, bytes)):  # ordered: a set would sample randomly
        categories = list(spec)
        if len(categories) < 2 or len(set(map(repr, categories))) != len(categories):
            raise ValueError(f"{path}: categories are a list of at least two distinct values, got {spec!r}")
        if all(isinstance(v, (bool, np.bool_)) for v in categories):
            return BooleanParameter(name, variable_name=path)
        return CategoricalParameter(name, categories, variable_name=path)
    raise ValueError(f"{path}: expected a range (low, high) or a list of categories, got {spec!r}")


def _is_number(v: Any) -> bool:
    return isinstance(v, (Real, np.number)) and not isinstance(v, (bool, np.bool_)) and math.isfinite(v)


# ============================================================================ the run
@dataclass(frozen=True)
class _Run:
    """One replication of one experiment: build, run, reduce the tidy table to outcomes.

    A module-level class rather than a closure so the model pickles (multiprocessing).
    """

    scenario: str
    households: int | None
    until: dt.date | None
    overrides: Mapping[str, Any]
    outcomes: Mapping[str, Outcome]
    names: frozenset[str] = frozenset()  # the EMA names of the parameters (not their paths)

    def __call__(self, **inputs: Any) -> dict[str, float]:
        seed = inputs.pop(SEED_KEY)
        # EMA 3.0.0 passes the paths (variable names) of this experiment's inputs. When a
        # model has no uncertainties it also leaks the *previous* policy's values under
        # the EMA names (its callback updates a scenario shared by all policies in place),
        # so names are dropped here: only paths are inputs.
        inputs = {key: value for key, value in inputs.items() if key not in self.names}
        overrides = {**self.overrides, **{path: _plain(v) for path, v in inputs.items()}}
        m = build_model(self.scenario, seed=int(seed), households=self.households, overrides=overrides)
        m.run(until=self.until)
        panel = _panel(m.timeseries(), pairs_needed(self.outcomes.values()))
        out = {}
        for name, outcome in self.outcomes.items():
            value = float(compute(panel, outcome)[0][0])
            if not math.isfinite(value):
                # Nothing silent: a NaN outcome would pass through EMA and PRIM unnoticed.
                raise ValueError(f"outcome {name} = {outcome.expr} is {value} (seed {seed}, inputs {inputs})")
            out[name] = value
        return out


def _plain(value: Any) -> Any:
    """Numpy scalars (EMA samples them) as Python values: the scenario schema is strict."""
    return value.item() if isinstance(value, np.generic) else value


def _panel(ts: pd.DataFrame, pairs: set[tuple[str, str]]) -> Panel:
    """One run's tidy rows of ``pairs`` (metric, country) as the outcome code's Panel."""
    steps = np.sort(ts["step"].unique())
    by_step = ts.drop_duplicates("step").set_index("step")["date"]
    dates = pd.DatetimeIndex(pd.to_datetime(by_step.reindex(steps).to_numpy()))
    metric, country = ts["metric"].astype(str).to_numpy(), ts["country"].astype(str).to_numpy()
    values = {}
    for m, c in pairs:
        rows = ts[(metric == m) & (country == c)]
        if len(rows):
            arr = np.full((1, len(steps)), np.nan)
            arr[0, np.searchsorted(steps, rows["step"].to_numpy())] = rows["value"].to_numpy()
            values[(m, c)] = arr
    return Panel(run_ids=["run"], steps=steps, dates=dates, values=values)


# ============================================================================ the model
def replicator_model(
    scenario: str = "south_asia_2025",
    *,
    uncertainties: Mapping[str, ParameterSpec] | None = None,
    levers: Mapping[str, ParameterSpec] | None = None,
    outcomes: Mapping[str, str | Mapping[str, Any]],
    replications: int = 2,
    seed: int = 0,
    households: int | None = None,
    until: str | dt.date | None = None,
    overrides: Mapping[str, Any] | None = None,
    aggregate: Callable[[list[float]], float] | None = np.mean,
    name: str = "crypto_abm",
) -> ReplicatorModel:
    """An EMA ``ReplicatorModel`` of the scenario, with inputs and outcomes by dotted path.

    Parameters
    ----------
    scenario : a scenario name in ``experiments/scenarios/`` or a path to a TOML file.
    uncertainties, levers : ``{dotted path: spec}``; a spec is a range ``(low, high)`` or a
        list of categories (see :func:`parameter`). Uncertainties are what the world
        decides (sampled over ``scenarios``), levers what a policy maker decides (over
        ``policies``); EMA keeps them apart in its designs and in optimisation.
    outcomes : ``{name: expression}`` in the syntax of ``crypto-abm analyze``
        (``"last(mining_power_mw@PAK)"``, ``"max(stance@BGD) >= 3"``) or its table form
        (``{"stat": "mean", "metric": "adoption_rate", "countries": "region"}``). Names
        must be Python identifiers (EMA's rule). A yes/no expression gives 0 or 1 per
        run, so its mean over replications is a probability.
    replications : runs per experiment, each with its own seed.
    seed : the root seed; replication ``r`` uses ``replicate_seeds(seed, replications)[r]``,
        the seed a sweep with this root seed gives its replicate ``r``.
    households : household agents (the scenario's ``run.households`` if None; at least
        ``run.household_floor`` x the countries with households, 1,800 in the baseline).
    until : stop at the last step on or before this date (the scenario's end if None).
    overrides : fixed ``{dotted path: value}`` applied to every run (a sweep's ``[set]``).
    aggregate : reduces an outcome's per-replication values to the experiment's value
        (``np.mean``, ``np.median``, ``np.max``, ...): EMA's ``ScalarOutcome`` must be one
        number. ``None`` makes each outcome an ``ArrayOutcome`` of shape
        (experiments, replications) instead. EMA ties an outcome name to one of the two
        classes for the whole Python process, so use different names for the two kinds.
    name : the EMA model name (a Python identifier).
    """
    uncertainties, levers, fixed = dict(uncertainties or {}), dict(levers or {}), dict(overrides or {})
    both = sorted(set(uncertainties) & set(levers))
    if both:
        raise ValueError(f"a path is an uncertainty and a lever at once: {', '.join(both)}")
    if not outcomes:
        raise ValueError("give at least one outcome, e.g. outcomes={'pak_mw': 'last(mining_power_mw@PAK)'}")
    if isinstance(replications, bool) or not isinstance(replications, int) or replications < 1:
        raise ValueError(f"replications must be a whole number >= 1, got {replications!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a whole number >= 0, got {seed!r}")
    stop = dt.date.fromisoformat(until) if isinstance(until, str) else until

    base = {**fixed, **({"run.households": int(households)} if households is not None else {})}
    cfg = load_scenario(scenario, base).config  # raises ScenarioError on a bad scenario or override
    if stop is not None and not cfg.run.start <= stop <= cfg.run.end:
        raise ValueError(f"until = {stop} is outside the scenario's run ({cfg.run.start} to {cfg.run.end})")

    params = {kind: [parameter(path, spec) for path, spec in table.items()]
              for kind, table in (("uncertainties", uncertainties), ("levers", levers))}
    names: dict[str, str] = {}
    for path in [*uncertainties, *levers]:
        other = names.setdefault(ema_name(path), path)
        if other != path:
            raise ValueError(f"{other} and {path} have the same EMA name {ema_name(path)}")
    for path, spec in [*uncertainties.items(), *levers.items()]:
        for value in spec:
            load_scenario(scenario, {**base, path: _plain(value)})  # each end, each category

    ctx = Context(metrics=METRICS, countries=(*cfg.countries, WORLD),
                  region=tuple(c for c, cc in cfg.countries.items() if cc.has_households),
                  start=cfg.run.start, until=stop or cfg.run.end)
    parsed = {}
    for key, expr in outcomes.items():
        if not isinstance(key, str) or not key.isidentifier():
            raise ValueError(f"an outcome name must be a Python identifier (EMA's rule), got {key!r}")
        try:
            parsed[key] = parse_outcome(key, expr, ctx)
        except ValueError as err:
            raise ValueError(f"outcome {key} = {expr!r}: {err}") from None

    run = _Run(scenario=str(scenario), households=households, until=stop, overrides=fixed, outcomes=parsed,
               names=frozenset(n for n, path in names.items() if n != path))
    model = ReplicatorModel(name, function=run)
    model.uncertainties = params["uncertainties"]
    model.levers = params["levers"]
    try:
        model.outcomes = [ScalarOutcome(key, function=aggregate) if aggregate is not None else ArrayOutcome(key)
                          for key in parsed]
    except ValueError as err:  # EMA registers each outcome name with one class for the whole process
        raise ValueError(f"{err}: EMA keeps one outcome class per name in a Python process, so an outcome "
                         "name used with aggregate=None (ArrayOutcome) cannot also be used with an aggregate "
                         "(ScalarOutcome); give it another name") from None
    model.replications = [{SEED_KEY: s} for s in replicate_seeds(int(seed), replications)]
    return model


# ============================================================================ PRIM
def prim_inputs(experiments: pd.DataFrame) -> pd.DataFrame:
    """The experiments table as EMA's PRIM reads it under pandas 3 (see the module docstring).

    Drops the bookkeeping columns (``scenario``, ``policy``, ``model``: labels, not
    inputs), and turns ``bool`` columns into 0.0/1.0, whole-number columns into floats and
    categorical columns whose categories are all numbers or booleans into floats. PRIM
    then peels them as intervals, which for a two-valued column is every possible
    restriction and for numbers keeps their order. Categories of other kinds (strings,
    dates) stay categorical: PRIM peels them as sets, and ``find_box``, ``box_lims`` and
    ``show_tradeoff`` work, but ``box.inspect()`` fails when such a column is restricted
    (EMA 3.0.0 with pandas 3); read ``box.box_lim`` and ``box.stats`` instead.
    """
    x = experiments.drop(columns=[c for c in BOOKKEEPING_COLUMNS if c in experiments.columns])
    for col in x.columns:
        s = x[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            if all(isinstance(v, (bool, np.bool_)) or _is_number(v) for v in s.cat.categories):
                x[col] = s.astype(object).astype(float)
        elif pd.api.types.is_bool_dtype(s) or pd.api.types.is_integer_dtype(s):
            x[col] = s.astype(float)
    return x
