#!/usr/bin/env python
"""The household update against Mesa's own network example and the numpy limit.

Three contagion-style updates on graphs of the same size, timed pair by pair in one
process so that machine noise hits all three alike:

* ``mesa``: Mesa's *Virus on a Network* example, imported from the installed mesa (none
  of its code is copied). Two construction shortcuts only, as in the project's reference
  scripts: ``nx.erdos_renyi_graph`` becomes ``nx.fast_gnp_random_graph`` (the same G(n, p)
  model in O(N + E)) and ``Network(..., layout=None)`` (no spring layout). Its ``step()``
  (``shuffle_do("step")`` plus its DataCollector) runs unchanged.
* ``numpy``: the same infect/recover rule (p = 1 - (1 - 0.4)^k for k infected neighbours;
  recovery 0.06, resistance 0.06 per step) as numpy plus one scipy.sparse CSR mat-vec per
  step on an Erdos-Renyi graph of mean degree 6: the near-limit reference.
* ``model``: this model's household update, ``agents.household.adoption_step``, on this
  model's social graph (``model.social_graph.build_social_graph``) with mean degree 6
  (ring of 4 plus 2 long ties), with the baseline's rates.

Prints one JSON line per size: agent-steps/s of each, the medians of the per-pair ratios,
build times. Agent-steps/s = N x steps / stepping seconds.

    python benchmarks/households.py                      # 1k, 10k, 100k (+1M without Mesa)
    python benchmarks/households.py --sizes 10000 --reps 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import mesa.examples.basic.virus_on_network.model as virus
import numpy as np
import scipy.sparse as sp

from agents.household import adoption_step
from model.social_graph import build_social_graph

DEGREE = 6.0
STEPS = 20
MESA_MAX_N = 100_000


# ------------------------------------------------------------------ Mesa's example
def mesa_example(n: int, seed: int) -> tuple[float, float]:
    """(build seconds, stepping seconds) of Mesa's example with the two shortcuts."""
    real_nx, real_network = virus.nx, virus.Network

    class FastNx:
        def __getattr__(self, name):
            return getattr(real_nx, name)

        @staticmethod
        def erdos_renyi_graph(n, p, *args, **kwargs):
            return real_nx.fast_gnp_random_graph(n, p, seed=seed)

    def network(*args, **kwargs):
        kwargs["layout"] = None
        return real_network(*args, **kwargs)

    virus.nx, virus.Network = FastNx(), network
    try:
        t0 = time.perf_counter()
        model = virus.VirusOnNetwork(num_nodes=n, avg_node_degree=DEGREE,
                                     initial_outbreak_size=max(1, n // 100), rng=seed)
        build = time.perf_counter() - t0
    finally:
        virus.nx, virus.Network = real_nx, real_network
    t0 = time.perf_counter()
    for _ in range(STEPS):
        model.step()
    return build, time.perf_counter() - t0


# ------------------------------------------------------------------ numpy reference
LOG_KEEP = np.log1p(-0.4)  # each infected neighbour infects with probability 0.4


def random_graph(n: int, n_edges: int, rng: np.random.Generator) -> sp.csr_matrix:
    """An Erdos-Renyi-like graph of n nodes and ~n_edges ties, built in O(N + E)."""
    a, b = rng.integers(0, n, n_edges), rng.integers(0, n, n_edges)
    keep = a != b
    a, b = a[keep], b[keep]
    adj = sp.coo_matrix((np.ones(2 * len(a), dtype=np.float32), (np.r_[a, b], np.r_[b, a])), shape=(n, n)).tocsr()
    adj.data[:] = 1.0
    return adj


def outbreak(n: int, rng: np.random.Generator) -> np.ndarray:
    state = np.zeros(n, dtype=np.int8)  # 0 susceptible, 1 infected, 2 resistant
    state[rng.choice(n, max(1, n // 100), replace=False)] = 1
    return state


def contagion_step(adj: sp.csr_matrix, state: np.ndarray, rng: np.random.Generator) -> None:
    """One synchronous step of the reference rule, in place, with the per-state counts."""
    k = adj @ (state == 1).astype(np.float32)
    u = rng.random(len(state), dtype=np.float32)
    infect = (state == 0) & (u < -np.expm1(k * LOG_KEEP))
    recover = (state == 1) & (u < 0.06)
    resist = (state == 1) & (u >= 0.06) & (u < 0.12)
    state[infect] = 1
    state[recover] = 0
    state[resist] = 2
    np.bincount(state, minlength=3)


def numpy_reference(n: int, seed: int) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    adj = random_graph(n, int(n * DEGREE / 2), rng)
    state = outbreak(n, rng)
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(STEPS):
        contagion_step(adj, state, rng)
    return build, time.perf_counter() - t0


# ------------------------------------------------------------------ this model
def model_households(n: int, seed: int) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    adj = build_social_graph(np.array([n]), local_degree=4, random_degree=2.0, pareto_shape=2.5,
                             corridors=[], cross_border_ties_per_household=0.0, rng=rng)
    degree = np.maximum(np.diff(adj.indptr), 1).astype(np.float32)
    internet = rng.random(n) < 0.5
    innovation = (0.01 * internet).astype(np.float32)
    multiplier = np.full(n, 0.7, dtype=np.float32)
    adopted = internet & (rng.random(n) < 0.13)
    build = time.perf_counter() - t0
    internet_f = internet.astype(np.float32)
    t0 = time.perf_counter()
    for _ in range(STEPS):
        u = rng.random(n, dtype=np.float32)
        adopted = adoption_step(adopted, adj, degree, innovation, internet_f, multiplier, 0.4, 0.1, 7 / 365.25, u)
        np.count_nonzero(adopted)
    return build, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000, 1_000_000])
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    for n in args.sizes:
        rows = {"mesa": [], "numpy": [], "model": []}
        for rep in range(args.reps):
            if n <= MESA_MAX_N:
                rows["mesa"].append(mesa_example(n, rep))
            rows["numpy"].append(numpy_reference(n, rep))
            rows["model"].append(model_households(n, rep))
        out = {"n": n, "steps": STEPS, "reps": args.reps, "degree": DEGREE}
        for name, runs in rows.items():
            if runs:
                out[f"{name}_agent_steps_per_s"] = statistics.median(n * STEPS / s for _, s in runs)
                out[f"{name}_build_s"] = statistics.median(b for b, _ in runs)
        pairs = list(zip(rows["model"], rows["numpy"]))
        out["model_over_numpy"] = statistics.median(ns / ms for (_, ms), (_, ns) in pairs)
        if rows["mesa"]:
            out["model_over_mesa"] = statistics.median(
                ms / mo for (_, mo), (_, ms) in zip(rows["model"], rows["mesa"]))
        print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in out.items()}), flush=True)


if __name__ == "__main__":
    main()
