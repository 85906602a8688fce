"""Read-offs of recorded training runs (theory/timescales.md §4): the minimum of the test loss, the onset of
the generalisation gap and an exponent in n per seed. Used by SM Fig. 15 (Adam), where no gradient-flow
spectrum exists to read τ_mem from.
"""
from __future__ import annotations

import math

import numpy as np

from ..core.crossing import first_crossing
from ..core.errors import InputError
from ..core.precision import float64

GAP_LEVEL = 1.0  # (L_test − L_train)/Δ_t = 1: the memorisation onset in the units of E_score (L3)


@float64
def loss_minimum(tau, test_loss) -> tuple:
    """(τ_min, L_test at τ_min, censored): the recorded τ (T,) of the smallest test loss (T,), censored when it
    is the last record (the minimum may lie beyond the run)."""
    tau, test_loss = np.asarray(tau, dtype=np.float64), np.asarray(test_loss, dtype=np.float64)
    j = int(np.argmin(test_loss))
    return float(tau[j]), float(test_loss[j]), bool(j == tau.size - 1)


@float64
def gap_onset(tau, train_loss, test_loss, delta_t: float, level: float = GAP_LEVEL) -> tuple:
    """(τ_gap, censored): the first τ (T,) where the gap (L_test − L_train)/Δ_t reaches ``level``, by
    log-linear interpolation between records (`rfscore.core.crossing.first_crossing`); censored (τ_gap the
    last record) when it is never reached."""
    tau = np.asarray(tau, dtype=np.float64)
    g = (np.asarray(test_loss) - np.asarray(train_loss)) / delta_t
    tau_cross, j = first_crossing(tau, g, level)
    return (float(tau[-1]), True) if j is None else (float(tau_cross), False)


@float64
def seed_exponent(n, values, censored=None) -> dict:
    """Exponent γ of values ∝ n^γ: one least-squares slope of log values against log n per seed (a row of
    ``values`` (S, K) over the K sizes ``n`` (K,)), uncensored points only (``censored`` (S, K)), seeds
    with fewer than 2 of them skipped; {'mean', 'std' (ddof = 1, NaN for one seed), 'seeds'}."""
    n = np.asarray(n, dtype=np.float64)
    values = np.atleast_2d(np.asarray(values, dtype=np.float64))
    if values.shape[1] != n.size:
        raise InputError("values", f"must have one column per size n ({n.size}), got shape {values.shape}")
    cens = np.zeros(values.shape, bool) if censored is None else np.asarray(censored, dtype=bool)
    slopes = []
    for v, c in zip(values, cens):
        ok = ~c
        if ok.sum() >= 2:
            slopes.append(float(np.polyfit(np.log(n[ok]), np.log(v[ok]), 1)[0]))
    return {"mean": float(np.mean(slopes)) if slopes else math.nan,
            "std": float(np.std(slopes, ddof=1)) if len(slopes) > 1 else math.nan, "seeds": len(slopes)}
