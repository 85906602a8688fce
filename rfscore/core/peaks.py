"""Peak finding on a timescale spectrum -dL_train/d log τ (theory/timescales.md (T1)).

Used by the finite-size read-offs (`rfscore.analysis.timescales`) and the d → ∞ curves
(`rfscore.limit.asymptotic`), so it lives below both.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.signal import find_peaks

from .errors import ConvergenceError
from .precision import float64


@float64
class SpectrumPeaks(NamedTuple):
    """The read-off (a) of theory/timescales.md §1 and §5, τ in the units of theory/model.md §4.

    ``tau_gen``, ``tau_mem``: first and last peak; ``n_peaks``: how many peaks there are. With
    ``n_peaks == 1`` the two mode families are not separated, ``tau_gen == tau_mem`` is that one
    peak and neither is a generalisation or memorisation time on its own (§5).
    """

    tau_gen: float
    tau_mem: float
    n_peaks: int

    @property
    def single(self) -> bool:
        return self.n_peaks == 1


@float64
def spectrum_peaks(tau: np.ndarray, values: np.ndarray, rel_prominence: float = 0.3) -> SpectrumPeaks:
    """Peaks of a timescale spectrum -dL_train/d log τ sampled on a log-spaced τ grid.

    ``tau`` (m,) increasing, ``values`` (m,) the spectrum (T1) on it. A peak is a local maximum
    whose prominence exceeds ``rel_prominence`` × its own height (a real bump, not a wiggle
    between neighbouring discrete modes) and whose height exceeds 1e-6 × the maximum; each is
    refined by a parabola in log τ. Returns `SpectrumPeaks` (first, last, count). Raises
    ConvergenceError if no peak is found (grid too narrow).
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

    first = refine(idx[0])
    # One peak: the same float twice, so that tau_gen == tau_mem holds exactly.
    return SpectrumPeaks(first, first if idx.size == 1 else refine(idx[-1]), int(idx.size))
