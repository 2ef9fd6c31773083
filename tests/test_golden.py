"""The golden outputs reproduce bit for bit (tests/golden/outputs.py says what they are).

A failure names the run and the headline values that moved. If the change of numbers is
intended, regenerate (``.venv/bin/python -m tests.golden.outputs``) in the same commit and
say why in its message; never to make this test pass otherwise.
"""

from __future__ import annotations

import json

import pytest

from tests.golden import outputs

GOLDEN = json.loads(outputs.GOLDEN.read_text())
RUN_KEYS = [f"{name}@seed{seed}" for name in outputs.RUNS for seed in outputs.SEEDS]


def _moved(expected: dict, got: dict) -> str:
    lines = [f"  {k}: {expected.get(k)} -> {got.get(k)}" for k in sorted(set(expected) | set(got))
             if k != "headline" and expected.get(k) != got.get(k)]
    eh, gh = expected.get("headline", {}), got.get("headline", {})
    lines += [f"  {k}: {eh.get(k)} -> {gh.get(k)}" for k in sorted(set(eh) | set(gh)) if eh.get(k) != gh.get(k)]
    return "\n".join(lines)


def test_every_golden_entry_is_checked():
    assert set(GOLDEN) == set(RUN_KEYS) | {"sweep"}


@pytest.mark.slow
@pytest.mark.parametrize("key", RUN_KEYS)
def test_run_reproduces_its_golden_output(key):
    name, seed = key.split("@seed")
    got = outputs.run_entry(name, int(seed), outputs.RUNS[name])
    assert got == GOLDEN[key], f"{key} moved:\n{_moved(GOLDEN[key], got)}"


@pytest.mark.slow
def test_sweep_reproduces_its_golden_output():
    got = outputs.sweep_entry()
    assert got == GOLDEN["sweep"], f"sweep moved:\n{_moved(GOLDEN['sweep'], got)}"


def test_fingerprint_sees_one_bit_and_ignores_row_order():
    import numpy as np
    import pandas as pd
    frame = pd.DataFrame({"step": [0, 1, 2], "value": [1.0, 2.0, 3.0]})
    assert outputs.fingerprint(frame) == outputs.fingerprint(frame.iloc[::-1])
    nudged = frame.copy()
    nudged.loc[1, "value"] = np.nextafter(2.0, 3.0)
    assert outputs.fingerprint(frame) != outputs.fingerprint(nudged)
