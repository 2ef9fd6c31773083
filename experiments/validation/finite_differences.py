"""Central finite differences, for the fits' Laplace approximations (the policy hazards'
landing model, the household rule's emulator fit): one implementation of the Hessian."""

from __future__ import annotations

import numpy as np


def hessian(f, x: np.ndarray, step: float) -> np.ndarray:
    """The Hessian of ``f`` at ``x`` (symmetric), each entry by central differences:
    ``(f(x + e_i + e_j) - f(x + e_i - e_j) - f(x - e_i + e_j) + f(x - e_i - e_j)) / (4 step^2)``."""
    k = len(x)
    e = np.eye(k) * step
    h = np.zeros((k, k))
    for i in range(k):
        for j in range(i, k):
            h[i, j] = h[j, i] = (f(x + e[i] + e[j]) - f(x + e[i] - e[j]) - f(x - e[i] + e[j])
                                 + f(x - e[i] - e[j])) / (4 * step**2)
    return h


def gradient(f, x: np.ndarray, step: float) -> np.ndarray:
    """The gradient of ``f`` at ``x`` by central differences."""
    e = np.eye(len(x)) * step
    return np.array([(f(x + e[i]) - f(x - e[i])) / (2 * step) for i in range(len(x))])
