"""Gaussian-equivalence constants (G1)-(G3) by converged trapezoid quadrature.

See theory/gaussian_equivalence.md. With u, v, z i.i.d. N(0,1), κ = e^{-t} σ_x,
Δ = 1 - e^{-2t}, Γ² = κ² + Δ:

    (G1) a_t = E[σ(κu + √Δ v) u]/κ = E σ'(Γz),      b_t = √Δ a_t
    (G2) v_t² = E_u[(E_v σ(κu + √Δ v))²] - a_t² κ²
    (G3) s_t² = E σ(Γz)² - a_t² κ² - v_t² - b_t²

All expectations are deterministic tensor-product trapezoid rules, refined until converged
(no Monte Carlo).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import jax.numpy as jnp
import numpy as np

from .activations import Activation, check_zero_mean, get_activation
from .covariance import ISOTROPIC, SigmaSpectrum
from .errors import ConvergenceError, check_positive
from .quadrature import halve_until_converged, trapezoid_nodes
from .precision import float64


@float64
def delta_t(t: float) -> float:
    """Δ_t = 1 - e^{-2t} (forward-process noise variance), via expm1 for small t."""
    return float(-np.expm1(-2.0 * check_positive("t", t)))


@float64
@dataclass(frozen=True)
class GEConstants:
    """Gaussian-equivalence constants (G1)-(G3) at diffusion time t (theory/gaussian_equivalence.md)."""

    t: float
    a_t: float
    b_t: float
    v_t2: float
    s_t2: float
    delta_t: float
    kappa: float
    sigma_x: float

    @property
    def alpha(self) -> float:
        """α = a_t² e^{-2t}, the coefficient of W Σ Wᵀ/d in (G5)."""
        return self.a_t**2 * np.exp(-2.0 * self.t)

    def public(self) -> dict:
        """The CLI's JSON keys: a_t, b_t, v_t2, s_t2, delta_t."""
        return {k: getattr(self, k) for k in ("a_t", "b_t", "v_t2", "s_t2", "delta_t")}

    def to_dict(self) -> dict:
        return asdict(self)


def _constants_at(act: Activation, kappa: float, delta: float, h: float) -> tuple:
    x, w = trapezoid_nodes(h)
    gamma = np.sqrt(kappa**2 + delta)
    f = lambda arr: np.asarray(act(jnp.asarray(arr)), dtype=np.float64)  # noqa: E731
    sig_gz = f(gamma * x)
    a = float(np.dot(w, sig_gz * x) / gamma)  # Stein: E σ(Γz) z = Γ E σ'(Γz)
    inner = f(kappa * x[:, None] + np.sqrt(delta) * x[None, :]) @ w  # E_v σ(κu + √Δ v) at u = x
    v2 = float(np.dot(w, inner**2) - a**2 * kappa**2)
    b = np.sqrt(delta) * a
    s2 = float(np.dot(w, sig_gz**2) - a**2 * kappa**2 - v2 - b**2)
    return a, v2, s2, float(np.dot(w, sig_gz**2))


@float64
def ge_constants(
    t: float,
    activation="tanh",
    sigma: SigmaSpectrum | None = None,
    tol: float = 1e-14,
) -> GEConstants:
    """(G1)-(G3) for activation σ, data covariance spectrum ``sigma`` (default Σ = I), time t > 0.

    Accuracy: trapezoid rules (`trapezoid_nodes`) with the step halved from 1/4 until a_t,
    v_t², s_t² change by less than ``tol`` relative to E σ(Γz)² (down to step 1/64, else
    ConvergenceError). Raises InputError for t ≤ 0 or an activation with non-zero Gaussian mean.
    """
    t = check_positive("t", t)
    tol = check_positive("tol", tol)
    act: Activation = get_activation(activation)
    sigma = ISOTROPIC if sigma is None else sigma
    delta = delta_t(t)
    kappa = np.exp(-t) * sigma.sigma_x
    gamma = np.sqrt(kappa**2 + delta)
    check_zero_mean(act, gamma)

    _, cur, change, converged = halve_until_converged(
        lambda h: _constants_at(act, kappa, delta, h),
        lambda prev, cur: max(abs(x - y) for x, y in zip(cur[:3], prev[:3])) / max(cur[3], 1e-300),
        tol, 0.25, 1 / 64)
    if not converged:
        raise ConvergenceError(f"ge_constants: quadrature of (G1)-(G3) did not converge (relative change "
                               f"{change:.1e} > tol = {tol:g} at step 1/64) for t = {t:g}, σ_x = {sigma.sigma_x:g}, "
                               f"activation {act.name}")
    a, v2, s2, scale = cur
    b = np.sqrt(delta) * a
    # Round-off leaves ~1e-15 residues where the exact value is 0 (linear activation).
    v2 = 0.0 if abs(v2) < 1e-13 * scale else v2
    s2 = 0.0 if abs(s2) < 1e-13 * scale else s2
    return GEConstants(t=t, a_t=a, b_t=float(b), v_t2=v2, s_t2=s2, delta_t=delta,
                       kappa=float(kappa), sigma_x=sigma.sigma_x)


@float64
def rate(delta_t: float, psi_p: float) -> float:
    """c = 2Δ_t/ψ_p of (D1): mode λ of U relaxes as e^{-cλτ} (theory/dynamics.md §2).

    One definition for the finite-size flow and the d → ∞ curves, so the two share a τ axis.
    """
    return 2.0 * float(delta_t) / float(psi_p)
