"""The first crossing of a level on a logarithmic τ grid: the one read-off shared by τ_gap (T2), the sample
read-offs τ_mem, τ_gen (Y10)-(Y11) and the paper figures' τ_rise and τ_gap (theory/timescales.md)."""
from __future__ import annotations

import numpy as np

from .precision import float64


@float64
def first_crossing(tau, y, level: float, *, start: int = 0, log_y: bool = False) -> tuple:
    """First grid point at or after ``start`` where ``y >= level``, and the τ of the crossing.

    tau (T,): increasing grid, > 0 (a last entry inf allowed); y (T,): the curve on it; level: scalar in
    y's units. Between the two grid points that bracket the crossing, τ is interpolated linearly in
    log τ, and in y (``log_y=False``) or log y (``log_y=True``, y > 0). Returns ``(tau_cross, j)``: j the
    first index >= start with y[j] >= level and tau_cross = tau[j] when j == start or tau[j] is not
    finite; ``(nan, None)`` when y never reaches the level. Callers decide what an edge means (censored,
    not defined); the interpolation is written once, here.
    """
    tau, y = np.asarray(tau, dtype=float), np.asarray(y, dtype=float)
    hit = np.nonzero(y[start:] >= level)[0]
    if hit.size == 0:
        return float("nan"), None
    j = start + int(hit[0])
    if j == start or not np.isfinite(tau[j]):
        return float(tau[j]), j
    if log_y:
        y0, y1, level = np.log(y[j - 1]), np.log(y[j]), np.log(level)
    else:
        y0, y1 = y[j - 1], y[j]
    frac = 1.0 if y1 == y0 else (level - y0) / (y1 - y0)
    return float(np.exp(np.log(tau[j - 1]) + frac * np.log(tau[j] / tau[j - 1]))), j
