"""The contour integrals of the d → ∞ losses, written once: (A4)-(A5) of theory/asymptotic.md and (F12) of
theory/finite_noise_ridge.md share the flow factor f_τ, the single integral against a one-point kernel, the
double integral against a two-point kernel, and the two-contour accuracy check.

Every integral is over a contour Γ symmetric under conjugation; only its upper half Γ⁺ (nodes z (N,),
weights dz (N,)) is stored. For h real on the real axis, (1/2πi)∮ h k dz = (1/π) Im Σ_{Γ⁺} h k dz, and the
double integral (1/(2πi))² ∮∮ F(z₁) K(z₁, z₂) F(z₂) is −(1/2π²) Re[Fᵀ K_uu F − Fᵀ K_ul F̄] with
K_uu = K(z_i, z_j), K_ul = K(z_i, z̄_j) on Γ⁺. The functions take the array module (NumPy or jax.numpy) so
that the jitted isotropic route and the NumPy finite-noise route run the same lines.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.errors import check_positive, check_positive_int
from ..core.precision import float64

TWO_CONTOUR_TOL = 1e-3  # units of Δ_t: the largest two-contour difference a converged curve may have


@float64
@dataclass(frozen=True)
class ContourRule:
    """The numerical rule of the contour route of the d → ∞ losses: (A4)-(A5) in `asymptotic_curves`
    (theory/asymptotic.md §3) and (F12) in `finite_noise_curves` (theory/finite_noise_ridge.md).

    theta: θ > 0, the slope of the ray z = x(1 + iθ) of the contour Γ⁺ (dimensionless); panels_per_decade:
    Gauss–Legendre panels per decade of x along the ray (> 0); nodes_per_panel: nodes per panel (int >= 1);
    measure_nodes: nodes of the quadrature of the spectral measure inside the fixed-point equations solved at
    every contour node (int >= 1): ν_C of (A1)-(A3) for `asymptotic_curves`, κ of (F7) for
    `finite_noise_curves`; tol: the tolerance (> 0, units of the equation's residual, dimensionless) of those
    fixed-point equations, (A1) or (A6)-(A7), and (F8); check_quadrature: recompute on a second, independent
    contour and report the largest difference (units of Δ_t) as the error estimate, `TWO_CONTOUR_TOL` being
    the largest a converged curve may have.
    """

    theta: float = 0.6
    panels_per_decade: float = 2.0
    nodes_per_panel: int = 16
    measure_nodes: int = 144
    tol: float = 1e-10
    check_quadrature: bool = True

    def __post_init__(self):
        check_positive("theta", self.theta)
        check_positive("panels_per_decade", self.panels_per_decade)
        check_positive_int("nodes_per_panel", self.nodes_per_panel)
        check_positive_int("measure_nodes", self.measure_nodes)
        check_positive("tol", self.tol)


ASYMPTOTIC_CONTOUR = ContourRule()
FINITE_NOISE_CONTOUR = ContourRule(panels_per_decade=3.0, measure_nodes=400, tol=1e-11)


@float64
def flow_factor(tau, z, rate: float, ridge: float = 0.0, xp=np):
    """f_τ(z) = (1 − e^{−cτ(z+λ)})/(z+λ) of the gradient flow (D3) with ridge λ (F3), and 1/(z+λ) at τ = inf.

    tau (K,) in the units of (D1), inf allowed; z (N,) complex nodes; rate c = 2Δ_t/ψ_p (D1); ridge λ >= 0.
    Returns (f (K, N), cτ(z+λ)/c = τ(z+λ) (K, N), with 0 at τ = inf)."""
    inf = xp.isinf(tau)[:, None]
    zl = z[None, :] + ridge
    tz = xp.where(inf, 0.0, tau[:, None]) * zl
    return xp.where(inf, 1.0 / zl, -xp.expm1(-rate * tz) / zl), tz


@float64
def line_integral(h, k, dz, xp=np):
    """(1/2πi)∮ h(z) k(z) dz over Γ = Γ⁺ ∪ conj Γ⁺ for h, k real on the real axis: (1/π) Im Σ h k dz.
    h (K, N), k (N,), dz (N,) → (K,)."""
    return xp.imag(h @ (k * dz)) / xp.pi


@float64
def double_integral(F, K_uu, K_ul, xp=np):
    """(1/(2πi))² ∮∮ f(z₁) K(z₁, z₂) f(z₂) dz₁ dz₂ from F = f dz (K, N) on Γ⁺ and the two-point kernel on
    Γ⁺ × Γ⁺ (K_uu) and Γ⁺ × conj Γ⁺ (K_ul), each (N, N) → (K,)."""
    return -xp.real(xp.sum((F @ K_uu) * F, axis=1) - xp.sum((F @ K_ul) * xp.conj(F), axis=1)) / (2 * xp.pi**2)


@float64
def two_contour_error(first, second, delta_t: float) -> float:
    """The accuracy check of every contour route: the largest |difference| between the losses computed on
    two independent contours (and quadratures), in units of Δ_t. first, second: sequences of arrays of
    equal shapes (train, test, ...). A curve is converged when this is below ``TWO_CONTOUR_TOL``."""
    return float(max(np.max(np.abs(np.asarray(b) - np.asarray(a))) for a, b in zip(first, second)) / delta_t)
