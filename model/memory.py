"""How much memory a run needs, estimated before it is built, and what the machine has.

A run's memory grows with its household agents and their social ties; everything else
(countries, fleets, the recorder) is a few MB whatever the size. ``--households
1000000000`` would otherwise allocate for 15 s and die of memory (or take the machine
down with it); :func:`check_fits` refuses it up front, with the estimate in the message.
It is called where the model is built, so the command line, sweeps and the dashboard all
get it.

The constants were measured on 2026-12-03 (Python 3.12, numpy 2, scipy, Mesa 3.5) on the
baseline scenario, as the peak of ``tracemalloc`` over building the model and stepping it
three times (``tracemalloc.start()``, ``build_model(...)``, ``step()`` x 3, then
``get_traced_memory()``), after a warm-up build so imports are not counted:

* 100,000 households, graph 6/4 (ring/long ties, ~5 ties each): 30.0 MB peak;
  200,000 households, same graph: 59.7 MB; 100,000 households with ~18 ties each
  (local_degree 20, random_degree 16): 94.3 MB. Solving gives 53 bytes per household
  and 49.5 bytes per tie drawn (before symmetrising and removing duplicates; the graph
  build's index arrays are the peak).
* Mesa ``Household`` agents (made when households <= ``run.household_agents_max``):
  100,000 of them hold 26.5 MB more after the build, 265 bytes each.
* Checked against the peak RSS of a process at 2,000,000 households (no agent objects):
  598 MB measured above the process's RSS before the build, 620 MB estimated.

The constants are rounded up a little, so the estimate errs on the safe side.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

BYTES_PER_HOUSEHOLD = 60   # arrays of the households and their per-step temporaries (53 measured)
BYTES_PER_TIE = 50         # per tie drawn by model.social_graph, before symmetrising (49.5 measured)
BYTES_PER_AGENT = 270      # a Mesa Household agent object and its registration (265 measured)


def expected_ties(sizes: np.ndarray, local_degree: int, random_degree: float,
                  corridors: list[tuple[int, int, float]], cross_border_ties_per_household: float) -> float:
    """Ties ``build_social_graph`` draws for these block sizes (before removing duplicates)."""
    sizes = np.asarray(sizes, dtype=np.float64)
    half = local_degree // 2
    ring = float(np.sum(np.minimum(half, np.maximum(sizes - 1, 0)) * sizes))
    long_ties = float(np.sum(sizes * random_degree / 2.0 + 1.0))
    cross = sum(cross_border_ties_per_household * w * min(sizes[a], sizes[b]) for a, b, w in corridors)
    return ring + long_ties + cross


def run_bytes(sizes: np.ndarray, ties: float, agents: bool) -> int:
    """Memory a run of these household blocks needs beyond the process it runs in."""
    n = float(np.sum(sizes))
    return int(n * BYTES_PER_HOUSEHOLD + ties * BYTES_PER_TIE + (n * BYTES_PER_AGENT if agents else 0))


def available_bytes() -> int | None:
    """Memory this process can still take: the system's MemAvailable, or less if a cgroup
    (a container, a batch job) limits it; None if nothing says."""
    found: list[int] = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found.append(int(line.split()[1]) * 1024)
                break
    except (OSError, ValueError, IndexError):
        pass
    if not found:
        try:
            found.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            pass
    for limit_file, usage_file in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                   ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                    "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            limit = Path(limit_file).read_text().strip()
            usage = int(Path(usage_file).read_text().strip())
        except (OSError, ValueError):
            continue
        if limit.isdigit() and int(limit) < 2**60:  # "max" or a huge number: no limit
            found.append(max(0, int(limit) - usage))
        break
    return min(found) if found else None


def human(nbytes: float) -> str:
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if nbytes >= size:
            return f"{nbytes / size:.1f} {unit}"
    return f"{nbytes / 1e3:.0f} kB"


def check_fits(sizes: np.ndarray, ties: float, agents: bool, file: str) -> None:
    """Refuse (a :class:`~model.errors.ScenarioError` on ``run.households``, exit 2) a run
    whose estimated memory is more than is available."""
    need = run_bytes(sizes, ties, agents)
    if need < 256e6:  # small runs: not worth reading /proc
        return
    have = available_bytes()
    if have is None or need <= have:
        return
    from model.errors import ScenarioError
    n = int(np.sum(sizes))
    fits = int(n * have / need)
    raise ScenarioError.one(file, "run.households",
                            f"a run of {n:,} household agents needs about {human(need)} of memory "
                            f"(estimate: {BYTES_PER_HOUSEHOLD} B a household, {BYTES_PER_TIE} B a social tie, "
                            f"{ties:,.0f} ties{', plus the Mesa agent objects' if agents else ''}); "
                            f"{human(have)} is available, enough for about {fits:,}", n)
