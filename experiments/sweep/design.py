"""Designs as tables: one row per run = design point x replicate, with its seed and run id.

Why a table: whatever the sampler (a grid, a Latin hypercube, Saltelli's Sobol scheme,
Morris trajectories), the runner, the storage and the analysis see the same thing, and
``design.parquet`` in a sweep folder says exactly what was (to be) run.

Seeds (decided for this project, see ``shared/docs/SWEEPS.md``): one root
``numpy.random.SeedSequence(spec.seed)``; replicate ``r`` runs with the seed derived from
its spawn index ``r`` *at every design point* (common random numbers), so two design
points differ only by their parameters and paired comparisons are sharp. An LHS design
with ``own_seeds = true`` (an ensemble's members) instead gives run ``i`` of the table
(point-major) spawn index ``i``, so every run has its own seed. The samplers
(LHS, Sobol, Morris) are seeded from the root's own state, which is independent of its
spawned children. Nothing depends on completion order or on the number of workers.

Sampled designs work in a *problem space* that SALib sees: a parameter with
``log = true`` is sampled uniformly in log10, one with ``integer = true`` uniformly on
``[low, high + 1)`` and floored, so every whole number is equally likely. The SALib
``problem`` (names, bounds in problem space) and the problem-space sample matrix are
kept so the analysis can call ``SALib.analyze.*`` on them; ``transforms`` say how a
problem-space value became the parameter value the model got.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from SALib.sample import morris, sobol
from scipy.stats import qmc

from experiments.sweep.spec import Parameter, SweepSpec

ID_COLUMNS = ["run_id", "point", "replicate", "seed"]


@dataclass
class Design:
    kind: str
    points: pd.DataFrame            # one row per design point: point, <parameter columns>
    table: pd.DataFrame             # one row per run: run_id, point, replicate, seed, <parameters>
    problem: dict[str, Any] | None  # the SALib problem (sampled designs), in problem space
    transforms: list[dict[str, Any]] | None
    sample: np.ndarray | None       # problem-space sample, one row per design point

    @property
    def names(self) -> list[str]:
        return [c for c in self.points.columns if c != "point"]

    def run_ids(self) -> list[str]:
        return self.table["run_id"].tolist()


def replicate_seeds(root_seed: int, replicates: int) -> list[int]:
    """The model seed of each replicate: spawn index ``r`` of the root SeedSequence.

    Spawn keys do not depend on how many children are spawned, so adding replicates to a
    spec keeps the seeds of the existing ones.
    """
    children = np.random.SeedSequence(root_seed).spawn(replicates)
    return [int(c.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for c in children]  # < 2**63


def sampler_seed(root_seed: int) -> int:
    """The seed of the LHS/Sobol/Morris sampler: the root's own state, not a replicate's."""
    return int(np.random.SeedSequence(root_seed).generate_state(1, dtype=np.uint32)[0])


def salib_problem(params: tuple[Parameter, ...] | list[Parameter]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    bounds, transforms = [], []
    for p in params:
        lo, hi = float(p.low), float(p.high) + (1.0 if p.integer else 0.0)
        if p.log:
            lo, hi = float(np.log10(lo)), float(np.log10(hi))
        bounds.append([lo, hi])
        transforms.append({"name": p.path, "scale": "log10" if p.log else "linear", "integer": p.integer,
                           "low": p.low, "high": p.high})
    problem = {"num_vars": len(params), "names": [p.path for p in params], "bounds": bounds}
    if any(p.group is not None for p in params):  # SALib groups; an ungrouped parameter is its own group
        problem["groups"] = [p.group if p.group is not None else p.path for p in params]
    return problem, transforms


def to_values(x: np.ndarray, params) -> list[np.ndarray]:
    """Problem-space columns -> parameter values (log10 undone, integers floored, clipped)."""
    cols = []
    for j, p in enumerate(params):
        col = 10.0 ** x[:, j] if p.log else x[:, j].astype(float)
        if p.integer:
            col = np.clip(np.floor(col + 1e-9), p.low, p.high).astype(np.int64)
        else:
            col = np.clip(col, p.low, p.high)
        cols.append(col)
    return cols


def make_design(spec: SweepSpec) -> Design:
    params = spec.parameters
    names = [p.path for p in params]
    kind = spec.design.kind
    problem = transforms = sample = None
    if kind == "grid":
        combos = list(itertools.product(*(p.values for p in params)))
        points = pd.DataFrame(index=pd.RangeIndex(len(combos)))  # no parameters: one point
        for j, p in enumerate(params):  # keep the Python types (bool, int, float, str, date) per column
            points[p.path] = pd.Series([c[j] for c in combos], dtype=_dtype(p.values))
    else:
        problem, transforms = salib_problem(params)
        seed = sampler_seed(spec.seed)
        bounds = np.array(problem["bounds"], dtype=float)
        if kind == "lhs":
            u = qmc.LatinHypercube(d=len(params), rng=np.random.default_rng(seed)).random(spec.design.samples)
            sample = bounds[:, 0] + u * (bounds[:, 1] - bounds[:, 0])
        elif kind == "sobol":
            sample = sobol.sample(problem, spec.design.samples,
                                  calc_second_order=spec.design.calc_second_order, scramble=True, seed=seed)
        elif kind == "morris":
            sample = morris.sample(problem, spec.design.trajectories, num_levels=spec.design.levels, seed=seed)
        else:  # pragma: no cover - the spec refuses other kinds
            raise ValueError(kind)
        sample = np.asarray(sample, dtype=float)
        points = pd.DataFrame(dict(zip(names, to_values(sample, params))), columns=names)
    points.insert(0, "point", np.arange(len(points), dtype=np.int64))

    own = getattr(spec.design, "own_seeds", False)  # each run its own seed (an ensemble), not common numbers
    seeds = replicate_seeds(spec.seed, spec.replicates * (len(points) if own else 1))
    pw = max(4, len(str(len(points) - 1)))
    rw = max(2, len(str(spec.replicates - 1)))
    table = points.loc[points.index.repeat(spec.replicates)].reset_index(drop=True)
    table.insert(1, "replicate", np.tile(np.arange(spec.replicates, dtype=np.int64), len(points)))
    index = table.index if own else table["replicate"]
    table.insert(2, "seed", np.asarray(seeds, dtype=np.int64)[np.asarray(index)])
    table.insert(0, "run_id", [f"p{pt:0{pw}d}_r{r:0{rw}d}" for pt, r in zip(table["point"], table["replicate"])])
    return Design(kind=kind, points=points, table=table, problem=problem, transforms=transforms, sample=sample)


def row_parameters(row: pd.Series | dict[str, Any], names: list[str]) -> dict[str, Any]:
    """A design row's parameter values as plain Python values (numpy scalars unwrapped)."""
    out = {}
    for name in names:
        v = row[name]
        out[name] = v.item() if isinstance(v, np.generic) else v
    return out


def _dtype(values) -> str | None:
    v = values[0]
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int64"
    if isinstance(v, float):
        return "float64"
    return "object"  # strings and dates keep their Python objects
