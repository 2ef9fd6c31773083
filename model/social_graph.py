"""The household social graph, built directly in numpy as a CSR adjacency in O(N + E).

Households come in contiguous blocks, ``n_c`` agents per household country. Each gets a
weight ``w = 1 + Lomax(pareto_shape - 1)`` (a Pareto weight: density proportional to
``w^-pareto_shape``, ``w >= 1``). Three layers, all vectorised (no Python loop over
households):

* local ties: each household is tied to its ``local_degree // 2`` next households on
  each side of a ring inside its country (a Watts-Strogatz lattice; an odd
  ``local_degree`` rounds down), which gives clustering;
* long ties: ``floor(n_c x random_degree / 2 + U)`` Chung-Lu edges inside each country
  (``U`` one uniform per country), both ends drawn in proportion to weight, which gives a
  heavy-tailed degree distribution;
* cross-border ties: for each remittance corridor whose two ends have households,
  ``int(cross_border_ties_per_household x corridor weight x min(n_a, n_b))`` edges, one
  end in each country, drawn by weight.

Self-loops are dropped and duplicate ties merged: the result is symmetric and binary.
networkx's generators would take ~20 s and ~1.5 GB at a million nodes; this takes about
a second.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def build_social_graph(
    sizes: np.ndarray,
    *,
    local_degree: int,
    random_degree: float,
    pareto_shape: float,
    corridors: list[tuple[int, int, float]],
    cross_border_ties_per_household: float,
    rng: np.random.Generator,
) -> sp.csr_matrix:
    """Adjacency of ``sizes.sum()`` households in contiguous country blocks.

    Args:
        sizes: households per country block, in block order.
        corridors: ``(block_a, block_b, weight)`` remittance corridors between blocks.
    Returns:
        symmetric ``csr_matrix`` of dtype float32 with ones for ties (the dtype of the
        adoption vector it multiplies every step: an int8 matrix was converted on every product,
        a third of the household step at a million households).
    """
    sizes = np.asarray(sizes, dtype=np.int64)
    n = int(sizes.sum())
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    block = np.repeat(np.arange(len(sizes)), sizes)
    weights = rng.pareto(pareto_shape - 1.0, size=n) + 1.0  # Pareto(I) weights >= 1
    cum = np.cumsum(weights)
    block_lo = np.where(starts > 0, cum[np.maximum(starts - 1, 0)], 0.0)
    block_hi = cum[starts + sizes - 1] if n else np.zeros(0)

    src_parts, dst_parts = [], []

    # Local ring ties within each block.
    half = local_degree // 2
    if half > 0 and n:
        offsets = np.arange(1, half + 1)
        s = np.repeat(np.arange(n), half)
        b = block[s]
        k = np.tile(offsets, n)
        ok = k < sizes[b]  # a ring of m nodes has at most m-1 distinct neighbours
        s, b, k = s[ok], b[ok], k[ok]
        d = starts[b] + (s - starts[b] + k) % sizes[b]
        src_parts.append(s)
        dst_parts.append(d)

    def draw(blocks: np.ndarray) -> np.ndarray:
        """Households drawn in proportion to their weight, one from each given block."""
        u = block_lo[blocks] + rng.random(len(blocks)) * (block_hi[blocks] - block_lo[blocks])
        return np.minimum(np.searchsorted(cum, u, side="right"), n - 1)

    # Chung-Lu long ties within each block (how many: the module docstring).
    m_per_block = np.floor(sizes * random_degree / 2.0 + rng.random(len(sizes))).astype(np.int64)
    edge_block = np.repeat(np.arange(len(sizes)), m_per_block)
    if len(edge_block):
        src_parts.append(draw(edge_block))
        dst_parts.append(draw(edge_block))

    # Cross-border ties along corridors.
    for a, b_, w in corridors:
        m = int(cross_border_ties_per_household * w * min(sizes[a], sizes[b_]))
        if m > 0 and sizes[a] and sizes[b_]:
            src_parts.append(draw(np.full(m, a)))
            dst_parts.append(draw(np.full(m, b_)))

    if not src_parts:
        return sp.csr_matrix((n, n), dtype=np.float32)
    index = np.int32 if n < 2**31 else np.int64  # int32 halves the peak memory of the build
    src = np.concatenate(src_parts).astype(index)
    dst = np.concatenate(dst_parts).astype(index)
    del src_parts, dst_parts
    keep = src != dst
    src, dst = src[keep], dst[keep]
    rows = np.concatenate([src, dst])
    cols = np.concatenate([dst, src])
    del src, dst, keep
    adj = sp.coo_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(n, n)).tocsr()
    del rows, cols
    adj.sum_duplicates()
    adj.data[:] = 1
    return adj
