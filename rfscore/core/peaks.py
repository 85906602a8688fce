"""Peak finding on a timescale spectrum -dL_train/d log τ (theory/timescales.md (T1)).

Used by the finite-size read-offs (`rfscore.analysis.timescales`) and the d → ∞ curves
(`rfscore.limit.asymptotic`), so it lives below both.
"""
from __future__ import annotations

import numpy as np
from scipy.signal import find_peaks

from .errors import ConvergenceError


def spectrum_peaks(tau: np.ndarray, values: np.ndarray, rel_prominence: float = 0.3):
    """Peaks of a timescale spectrum -dL_train/d log τ sampled on a log-spaced τ grid.

    Returns (tau_gen, tau_mem): the first and last peak whose prominence exceeds
    ``rel_prominence`` × its own height (a real bump, not a wiggle between neighbouring
    discrete modes) and whose height exceeds 1e-6 × the maximum, each refined by a
    parabola in log τ. Raises ConvergenceError if no peak is found (grid too narrow).
    """
    tau = np.asarray(tau, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    idx, props = find_peaks(values, prominence=0.0, height=1e-6 * float(np.max(values)))
    idx = idx[props["prominences"] >= rel_prominence * values[idx]]
    if idx.size == 0:
        raise ConvergenceError(f"no peak of the timescale spectrum in τ ∈ [{tau[0]:.3g}, {tau[-1]:.3g}]; widen the τ grid")
    logt = np.log(tau)

    def refine(i):
        if 0 < i < tau.size - 1:
            y0, y1, y2 = values[i - 1:i + 2]
            den = y0 - 2 * y1 + y2
            if den < 0:
                h = 0.5 * (y0 - y2) / den
                return float(np.exp(logt[i] + h * (logt[i + 1] - logt[i])))
        return float(tau[i])

    return refine(idx[0]), refine(idx[-1])
