"""The ensemble band behind the live run: the same settings with other seeds and fitted draws.

Once per model (per change of settings), a background thread runs :data:`MEMBERS` members to
the end: each with its own seed, spawned from the live run's seed, and its own draw of every
fit the scenario carries (``model.model.seed_draws``: the stance hazards, the volume relation,
the mining fit, the household rule and, in the projection, the nowcast), as ``crypto-abm
ensemble --parameters fitted`` draws them, at most :data:`MAX_HOUSEHOLDS` household agents to
keep it quick. The charts then shade each
headline line's 5-95% band over the members (viz/time_charts.py, ``Ensemble``). A modest
ensemble: ``crypto-abm ensemble`` is the research tool.
"""

from __future__ import annotations

import numpy as np
import solara

from model.model import seed_draws
from viz.state import Controller, Live, run_in_background
from viz.time_charts import Ensemble

MEMBERS = 8
MAX_HOUSEHOLDS = 2_000


def member_seeds(seed: int, n: int = MEMBERS) -> list[int]:
    """Members' seeds spawned from the live run's seed (never the seed itself)."""
    return [int(s) for s in np.random.SeedSequence([seed, 1]).generate_state(n)]


def use_ensemble(ctl: Controller, live: Live) -> tuple[Ensemble | None, str]:
    """(Ensemble or None, status text), computed once per model in a background thread."""
    built = live.settings
    households = min(built.households_value, MAX_HOUSEHOLDS)
    draws = seed_draws(live.model.spec.config)

    def compute(cancel):
        members = []
        for seed in member_seeds(built.seed):
            run = run_in_background(ctl, built.replace(seed=seed, households=households),
                                    {**built.overrides, **draws}, cancel)
            if run is None:
                return None
            members.append(run)
        label = f"{MEMBERS} runs (other seeds, fitted draws, {households:,} households)"
        return Ensemble(tuple(members), label)

    result = solara.use_thread(compute, dependencies=[live.generation], intrusive_cancel=False)
    if isinstance(result.value, Ensemble):
        return result.value, f"ensemble band ready: {result.value.label}"
    if result.state == solara.ResultState.ERROR:
        return None, f"ensemble band failed: {result.error}"
    return None, f"ensemble band: computing {MEMBERS} runs..."
