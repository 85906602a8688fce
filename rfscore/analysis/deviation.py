"""How far a finite-size curve is from another (its d → ∞ limit, or the closed form of the same draw): the
one relative measure the figures report (asymptotic, power law), |E − E_ref|/(|E_ref| + 1), which is relative
for |E_ref| ≫ 1 and absolute below (the excess losses (L − L_opt)/Δ_t cross zero)."""
from __future__ import annotations

import numpy as np

from ..core.precision import float64


@float64
def relative_deviation(values, reference) -> np.ndarray:
    """|values − reference|/(|reference| + 1), elementwise (broadcast shapes); units of the curves over 1 + |curve|."""
    values, reference = np.asarray(values, dtype=np.float64), np.asarray(reference, dtype=np.float64)
    return np.abs(values - reference) / (np.abs(reference) + 1.0)


@float64
def rms_deviation(values, reference, spread=None, axis=-1):
    """rms over ``axis`` (the τ grid) of `relative_deviation`; with ``spread`` (a standard error of ``reference``,
    same shape) also the rms of spread/(|reference| + 1), the level the seed noise alone gives: (rms, noise)."""
    reference = np.asarray(reference, dtype=np.float64)
    rms = np.sqrt(np.mean(relative_deviation(values, reference) ** 2, axis=axis))
    if spread is None:
        return rms
    noise = np.sqrt(np.mean((np.asarray(spread, dtype=np.float64) / (np.abs(reference) + 1.0)) ** 2, axis=axis))
    return rms, noise
