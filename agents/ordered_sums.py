"""Sums within groups of a concatenated array, bit for bit as ``np.sum`` sums each group alone.

Why: the mining sector evaluates all fleets' vintages in one array expression
(:class:`agents.miner.FleetSupply`), but a fleet's total must equal, to the last bit, the
``np.sum`` over its own small array that the fleet-by-fleet rule computes, or the model's
numbers would move (the golden outputs fingerprint them). numpy sums up to 8 values in
turn and longer arrays (up to 128) in 8 interleaved accumulators combined pairwise; the
functions below repeat that order for every group at once. Checked on numpy 2.5.5 (the
lock's pin) by ``tests/agents/test_miner.py``, which compares with the fleet-by-fleet sums
on random fleets; a numpy that sums differently fails that test and the golden test loudly.
"""

from __future__ import annotations

import numpy as np

_LAYOUTS: dict[tuple[int, ...], tuple[np.ndarray, int]] = {}


def fleet_layout(lengths: tuple[int, ...]) -> tuple[np.ndarray, int] | None:
    """Where each fleet's vintages go (fleets of ``lengths`` vintages, concatenated) in a
    (slot, fleet) table for :func:`fleet_sums`, and the number of whole blocks of 8: ``8 x
    blocks`` slots of whole blocks (fleets of 8 or more vintages), one slot for the blocks'
    total, then the rest; empty slots point at a zero after the last vintage. None if a
    fleet has more than 128 vintages (numpy would split its sum further) or none at all."""
    if not lengths or max(lengths) > 128 or min(lengths) < 1:
        return None
    if lengths not in _LAYOUTS:
        if len(_LAYOUTS) >= 256:  # a cache, not a record: fleets' vintage counts change slowly
            _LAYOUTS.clear()
        blocks = max(n // 8 if n >= 8 else 0 for n in lengths)
        rest = max(n % 8 if n >= 8 else n for n in lengths)
        layout = np.full((8 * blocks + 1 + rest, len(lengths)), sum(lengths), dtype=np.intp)
        start = 0
        for fleet, n in enumerate(lengths):
            whole = 8 * (n // 8) if n >= 8 else 0
            layout[:whole, fleet] = np.arange(start, start + whole)
            layout[8 * blocks + 1:8 * blocks + 1 + n - whole, fleet] = np.arange(start + whole, start + n)
            start += n
        _LAYOUTS[lengths] = (layout, blocks)
    return _LAYOUTS[lengths]


def fleet_sums(values: np.ndarray, layout: tuple[np.ndarray, int]) -> np.ndarray:
    """``values[..., n + 1]`` (all fleets' vintages concatenated, then a zero) summed within
    each fleet exactly as ``np.sum`` sums a fleet's own array (so bit for bit the same):
    up to 8 values in turn; more, in 8 accumulators over whole blocks of 8, combined
    ``((r0+r1)+(r2+r3))+((r4+r5)+(r6+r7))``, then the rest in turn. Returns ``[..., fleet]``.
    (Empty slots add a zero, which changes no sum.)"""
    index, blocks = layout
    table = values[..., index]  # (..., slot, fleet)
    b = 8 * blocks
    if blocks:
        r = table[..., 0:8, :]
        for k in range(1, blocks):
            r = r + table[..., 8 * k:8 * k + 8, :]
        total = (((r[..., 0, :] + r[..., 1, :]) + (r[..., 2, :] + r[..., 3, :]))
                 + ((r[..., 4, :] + r[..., 5, :]) + (r[..., 6, :] + r[..., 7, :])))
    else:
        total = table[..., b, :]
    for j in range(b + 1, table.shape[-2]):
        total = total + table[..., j, :]
    return total
