"""What finite noise samples m and a ridge λ do at τ = ∞ (theory/finite_noise_ridge.md): the interpolation
peak of the test loss at ψ_p = mψ_n, the optimally tuned ridge and its envelope, and the bias–variance split
over the noise, d → ∞ (F11), (F14) and at finite size (F6). The figure `rfscore.figures.noise_ridge` draws
these; the numbers come from here.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar

from ..core.precision import float64
from ..core.status import NoErrorEstimate, PointStatus
from ..finite.ensemble import RFSetting, noise_split_ensemble
from ..limit.finite_noise import finite_noise_curves


@float64
def limit_test_loss(psi_p: float, psi_n: float, *, t: float, noise_samples, ridge: float) -> float:
    """d → ∞ test loss (L2) of the ridge minimiser (τ = ∞) for m = ``noise_samples`` (None: ∞) frozen draws
    per point and ridge λ (F11); loss units."""
    return float(finite_noise_curves([np.inf], psi_p=psi_p, psi_n=psi_n, t=t, noise_samples=noise_samples,
                                     ridge=ridge).test_loss[0])


@float64
@dataclass(frozen=True)
class InterpolationPeak(NoErrorEstimate):
    """The τ = ∞ test loss (F11) on a ψ_p grid and where it peaks.

    psi_p (K,): the grid; test_loss (K,): loss units; peak: the grid point of the largest test loss (the
    interpolation peak, expected at ψ_p = mψ_n, p = nm); censored: the peak sits at an end of the grid.
    """

    psi_p: np.ndarray
    test_loss: np.ndarray
    peak: float
    censored: bool

    @property
    def converged(self) -> bool:
        return not self.censored

    @property
    def message(self) -> str:
        return "" if not self.censored else f"the peak sits at the end of the ψ_p grid ({self.peak:g}): widen it"


@float64
def interpolation_peak(psi_p_grid, psi_n: float, *, t: float, noise_samples, ridge: float) -> InterpolationPeak:
    """(F11) at τ = ∞ over ``psi_p_grid`` (K ≥ 3,) at fixed ψ_n, m, λ, and its largest value (the peak)."""
    grid = np.asarray(psi_p_grid, dtype=np.float64)
    te = np.array([limit_test_loss(x, psi_n, t=t, noise_samples=noise_samples, ridge=ridge) for x in grid])
    k = int(np.argmax(te))
    return InterpolationPeak(psi_p=grid, test_loss=te, peak=float(grid[k]), censored=k in (0, grid.size - 1))


@float64
@dataclass(frozen=True)
class RidgeEnvelope(NoErrorEstimate, PointStatus):
    """The optimally tuned ridge per ψ_p: psi_p (K,), ridge λ* (K,), test_loss (K,) (F11) at λ*, loss units;
    point_converged (K,): the bounded search converged inside its bounds; monotone: the envelope falls
    (non-increasing to 1e-9 relative) with ψ_p."""

    psi_p: np.ndarray
    ridge: np.ndarray
    test_loss: np.ndarray
    point_converged: np.ndarray
    monotone: bool

    @property
    def message(self) -> str:
        bad = self.psi_p[~self.point_converged]
        return "" if bad.size == 0 else f"the λ search did not converge at ψ_p = {[float(x) for x in bad]}"


@float64
def ridge_envelope(psi_p_grid, psi_n: float, *, t: float, noise_samples: int, log10_bounds=(-5.0, 5.0),
                   xatol: float = 0.02) -> RidgeEnvelope:
    """min over log10 λ in ``log10_bounds`` of the τ = ∞ test loss (F11) at each ψ_p (bounded scalar
    minimisation, tolerance ``xatol`` in log10 λ): the optimally tuned ridge λ* and its envelope."""
    grid = np.asarray(psi_p_grid, dtype=np.float64)
    best = [minimize_scalar(lambda u, x=x: limit_test_loss(x, psi_n, t=t, noise_samples=noise_samples,
                                                                 ridge=10.0**u),
                            bounds=tuple(log10_bounds), method="bounded", options={"xatol": xatol}) for x in grid]
    env = np.array([b.fun for b in best])
    return RidgeEnvelope(psi_p=grid, ridge=np.array([10.0**b.x for b in best]), test_loss=env,
                         point_converged=np.array([bool(b.success) for b in best]),
                         monotone=bool(np.all(np.diff(env) <= 1e-9 * np.abs(env[1:]))))


@float64
def noise_split_limit(psi_p_grid, psi_n: float, *, t: float, noise_samples: int, ridge: float) -> dict:
    """d → ∞ bias–variance split over the frozen noise at τ = ∞ (F14) on ``psi_p_grid`` (K,):
    {'psi_p', 'bias2', 'variance'}, each (K,), loss units."""
    grid = np.asarray(psi_p_grid, dtype=np.float64)
    lim = [finite_noise_curves([np.inf], psi_p=x, psi_n=psi_n, t=t, noise_samples=noise_samples, ridge=ridge)
           for x in grid]
    return {"psi_p": grid, "bias2": np.array([float(r.bias2[0]) for r in lim]),
            "variance": np.array([float(r.variance[0]) for r in lim])}


@float64
def noise_split_finite(psi_p_grid, psi_n: float, *, t: float, noise_samples: int, ridge: float, d: int, seeds,
                       copies: int = 4) -> dict:
    """Finite-size unbiased split (F6) at τ = ∞ on ``psi_p_grid`` (K,): for each ψ_p, ``copies`` resampled
    noise sets on each seed's (W, X) (keys (P1)), averaged over the seeds (P2): {'psi_p', 'bias2',
    'variance'}, each (K,), loss units."""
    grid = np.asarray(psi_p_grid, dtype=np.float64)
    runs = [noise_split_ensemble(seeds, [np.inf], copies=copies, setting=RFSetting(d=d, psi_p=x, psi_n=psi_n, t=t),
                                 noise_samples=noise_samples, ridge=ridge) for x in grid]
    return {"psi_p": grid, "bias2": np.array([float(e.mean("bias2")[0]) for e in runs]),
            "variance": np.array([float(e.mean("variance")[0]) for e in runs])}
