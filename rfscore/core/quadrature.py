"""General quadrature: trapezoid rules for Gaussian expectations and step refinement.

Used by the (G1)-(G3) constants (theory/gaussian_equivalence.md §4) and by the Hermite
coefficients of the exact matrices (theory/exact_matrices.md §6).
"""
from __future__ import annotations

import numpy as np
from .precision import float64


@float64
def trapezoid_nodes(h: float):
    """Nodes z = h·j, |z| ≤ 12, and weights h φ(z) of the trapezoid rule for E f(z), z ~ N(0,1).

    For f analytic in the strip |Im z| < a the error decays like e^{-2πa/h}, exponentially in
    the number of nodes, where Gauss–Hermite converges only like e^{-c a √N}: tanh(s z) has
    poles at |Im z| = π/(2s), and 64 Gauss–Hermite nodes are off by 3e-9 at s = 1 and 1e-4 at
    s = 2 (theory/exact_matrices.md §6). Beyond |z| = 12 the Gaussian weight is below 1e-31.
    """
    k = int(round(12.0 / h))
    z = h * np.arange(-k, k + 1)
    return z, h * np.exp(-z**2 / 2) / np.sqrt(2 * np.pi)


@float64
def halve_until_converged(evaluate, change, tol: float, h_start: float, h_finest: float):
    """Refine a quadrature step: h = h_start, h/2, … until change(evaluate(h), evaluate(h/2)) ≤ tol.

    Stops, unconverged, once evaluate has been called at ``h_finest``. Returns
    (h, evaluate(h/2), change, converged) for the last pair compared.
    """
    h, prev = h_start, evaluate(h_start)
    while True:
        cur = evaluate(h / 2)
        err = change(prev, cur)
        if err <= tol or h / 2 <= h_finest:
            return h, cur, err, err <= tol
        h, prev = h / 2, cur


@float64
def hermite_table(z: np.ndarray, w: np.ndarray, order: int) -> np.ndarray:
    """(Q, K+1) table w_q h_k(z_q), h_k = He_k/√k! (normalised probabilists' Hermite), k ≤ order."""
    h = np.zeros((order + 1, z.size))
    h[0] = 1.0
    if order >= 1:
        h[1] = z
    for k in range(1, order):
        h[k + 1] = (z * h[k] - np.sqrt(k) * h[k - 1]) / np.sqrt(k + 1)
    return (w[None, :] * h).T
