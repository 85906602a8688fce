"""The rise of the score error after its minimum and its collapse under τ/τ_mem (the inset of the paper's
Fig. 5A; theory/spectrum.md §5, theory/timescales.md (T3)).

τ_mem = ψ_p/(Δ_t λ_min) with λ_min the location of the d small (memorisation) eigenvalues of U,
s_t² + ψ_p b_t² v_t²/(ψ_n α). τ_rise is the τ after the minimum of E_score where it reaches the geometric
midpoint of its minimum and its last value; the collapse is measured by the spread max/min over ψ_n of
τ_rise/τ_mem (rescaled) against that of τ_rise (raw).
"""
from __future__ import annotations

import numpy as np

from ..core.constants import ge_constants
from ..core.covariance import SigmaSpectrum
from ..core.crossing import first_crossing
from ..core.precision import float64
from ..limit.spectrum import limiting_structure


@float64
def lambda_min(psi_p: float, psi_n: float, t: float, sigma: str = "1:1") -> float:
    """λ_min = s_t² + small cluster (d → ∞, tanh), the memorisation modes' eigenvalue; ``sigma`` a spectrum text."""
    spec = SigmaSpectrum.parse(sigma)
    c = ge_constants(t, "tanh", spec)
    ls = limiting_structure(psi_p=psi_p, psi_n=psi_n, sigma=spec, constants=c)
    return float(ls.atom_location + ls.small_cluster)


@float64
def tau_rise(tau, e) -> float:
    """τ after the minimum of ``e`` (T,) on ``tau`` (T,) where it reaches √(min · e[-1]) (log-linear
    interpolation); NaN if never."""
    tau, e = np.asarray(tau), np.asarray(e)
    i = int(np.argmin(e))
    tau_cross, j = first_crossing(tau, e, np.sqrt(e[i] * e[-1]), start=i, log_y=True)
    return float("nan") if j is None or j == i else tau_cross


@float64
def rise_collapse(psi_p: float, psi_ns, t: float, sigma: str, tau, score_errors, delta_t: float) -> dict:
    """τ_mem, λ_min and τ_rise per ψ_n (``psi_ns`` (K,), ``score_errors`` (K, T) on ``tau`` (T,), Δ_t of t)
    and the spreads: {'psi_n', 'lambda_min', 'tau_mem', 'tau_rise', 'spread_raw', 'spread_rescaled'}."""
    out = {"psi_n": [], "lambda_min": [], "tau_mem": [], "tau_rise": []}
    for pn, e in zip(psi_ns, score_errors):
        lmin = lambda_min(psi_p, pn, t, sigma)
        out["psi_n"].append(pn)
        out["lambda_min"].append(lmin)
        out["tau_mem"].append(psi_p / (delta_t * lmin))
        out["tau_rise"].append(tau_rise(tau, e))
    raw = np.asarray(out["tau_rise"])
    r = raw / np.asarray(out["tau_mem"])
    out["spread_raw"] = float(raw.max() / raw.min())
    out["spread_rescaled"] = float(r.max() / r.min())
    return out
