"""Asymptotic (d, n, p → ∞) learning curves over training time, any data spectrum ρ_Σ.

See theory/asymptotic.md. Isotropic Σ = λ_Σ I (§1-§5): with α = a_t² e^{-2t} λ_Σ,
σ_g(μ) = αμ + v_t², u(μ) = (α + b_t²)μ + v_t² + s_t² and ⟨·⟩ the average over the limiting
spectral law ν_C of C = W Wᵀ/d:

    (A1) δ = (ψ_p/ψ_n) ⟨σ_g r̄⟩,  r̄ = 1/(Dμ + κ),  D = α/(1+δ) + b_t²,  κ = v_t²/(1+δ) + s_t² - z
    (A2) (1/d) Tr Vᵀ (U - z)^{-1} V → m(z) = b_t² ψ_p ⟨μ r̄⟩
    (A3) (1/d) Tr R(z₁) U_pop R(z₂) C → T(z₁, z₂)
    (A4) L_train(τ) = 1 + (1/2πi) ∮ g_τ(z) m(z) dz,            g_τ(z) = -expm1(-2cτz)/z
    (A5) L_test(τ)  = 1 + b_t² (1/2πi)² ∮∮ f_τ f_τ T + 2 (1/2πi) ∮ f_τ m,   f_τ(z) = -expm1(-cτz)/z

with c = 2Δ/ψ_p. Any ρ_Σ = Σ_k w_k δ_{λ_k} (§6-§8; α = a_t² e^{-2t}, E[·] = Σ_k w_k(·)): the second
deterministic-equivalent layer over W, with D_k = αλ_k/(1+δ) + b_t², β_k = 1/(1 + ψ_p r D_k):

    (A6) r = 1/(κ + E[Dβ])                       (A7) δ = (ψ_p/ψ_n) r (α E[λβ] + v_t²)
    (A8) m(z) = b_t² ψ_p r E[β]
    (A9) X = r₁r₂/(1 - ψ_p r₁r₂ E[D₁D₂β₁β₂]),  Φ(a, b) = X ĉ_a ĉ_b + ψ_p r₁r₂ E[P_a P_b β₁β₂]
    (A10) T = ψ_p Φ(U_pop, C) + ψ_p y Φ(Σ_g, C)/((1+δ₁)(1+δ₂)),  y = (ψ_p/ψ_n) Φ(Σ_g, U_pop)/(1 - (ψ_p/ψ_n) Φ(Σ_g, Σ_g)/((1+δ₁)(1+δ₂)))

then (A4)-(A5) unchanged. The power-law family (A11) is `SigmaSpectrum.power_law`.
(A1) or (A6)-(A7) is solved at every contour node at once (damped iteration, then Newton,
vectorised in JAX); after that every τ is a matrix–vector product over the nodes. Only the
upper half of the (conjugation-symmetric) contour is stored.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Optional

import jax
import jax.numpy as jnp
import numpy as np
from scipy.special import roots_legendre

from ..core.constants import GEConstants, ge_constants, rate
from ..core import covariance
from ..core.covariance import ISOTROPIC, SigmaSpectrum
from ..core.errors import ConvergenceError, InputError, check_positive, check_positive_int, check_ridge
from ..core.peaks import spectrum_peaks
from ..core.trajectory import Trajectory, check_tau
from ..core.precision import float64
from ..core.deprecation import options_from_keywords, renamed_keywords, require_keyword
from .contour_losses import (ASYMPTOTIC_CONTOUR, TWO_CONTOUR_TOL, ContourRule, double_integral, flow_factor,
                             line_integral, two_contour_error)
from .fixed_point import DEFAULT_RULE, FixedPointRule, damped_then_newton, max_abs, newton_2x2


# ----------------------------------------------------------------------------- ν_C
@float64
def nu_c_quadrature(psi_p: float, n_nodes: int = 160):
    """Nodes μ (Q,) and weights w (Q,) (sum 1) for averages over ν_C, the limit law of WWᵀ/d.

    ν_C = (1 - 1/ψ_p)₊ δ₀ + (nonzero part of mass min(1, 1/ψ_p), density ∝ √((b-μ)(μ-a))/μ
    on [a, b] = [(1-√ψ_p)², (1+√ψ_p)²]) — Marchenko–Pastur. With μ = a + (b-a) sin²φ the
    density becomes 2 sin²φ cos²φ/(a' + sin²φ) dφ, a' = a/(b-a), smooth on [0, π/2] except for
    a near-pole at φ ≈ i√a' when ψ_p ≈ 1: composite Gauss–Legendre in φ (16 nodes per panel,
    ≈ n_nodes/16 uniform panels, plus panels graded geometrically towards φ = 0 when √a' < 0.5).
    The atom (if any) is the first node, at μ = 0.
    """
    psi_p = check_positive("psi_p", psi_p)
    a, b = (1 - np.sqrt(psi_p)) ** 2, (1 + np.sqrt(psi_p)) ** 2
    ap = a / (b - a)
    edges = np.linspace(0.0, np.pi / 2, max(2, n_nodes // 16) + 1)
    if np.sqrt(ap) < 0.5:
        lo = max(0.05 * np.sqrt(ap), 1e-8)
        edges = np.union1d(edges, np.geomspace(lo, 0.5, int(np.ceil(np.log(0.5 / lo) / np.log(2.5))) + 1))
    y, wy = roots_legendre(16)
    h = np.diff(edges)
    phi = (edges[:-1, None] + 0.5 * h[:, None] * (y[None, :] + 1)).ravel()
    wphi = (0.5 * h[:, None] * wy[None, :]).ravel()
    s2 = np.sin(phi) ** 2
    mu = a + (b - a) * s2
    w = wphi * 2 * s2 * (1 - s2) / (ap + s2)
    w = w / w.sum() * min(1.0, 1.0 / psi_p)
    atom = max(0.0, 1.0 - 1.0 / psi_p)
    if atom > 0:
        mu, w = np.concatenate([[0.0], mu]), np.concatenate([[atom], w])
    return mu, w


# ----------------------------------------------------------------------------- contour
@float64
@dataclass(frozen=True)
class Contour:
    """Upper half Γ⁺ of the counter-clockwise contour Γ = Γ⁺ ∪ conj(Γ⁺) around the spectrum of U.

    Γ⁺: up the segment Re z = x_right from the real axis to x_right(1 + iθ), along the ray
    z = x(1 + iθ) from x_right down to x_left (Gauss–Legendre panels in log x), down the
    segment Re z = x_left to the real axis. ``z`` (N,) nodes, ``dz`` (N,) complex weights
    including the direction. 0 < x_left < s_t² ≤ spectrum ≤ x_right.
    """

    z: np.ndarray
    dz: np.ndarray
    x_left: float
    x_right: float
    theta: float
    panels_per_decade: float
    nodes_per_panel: int

    def describe(self) -> dict:
        return {"x_left": self.x_left, "x_right": self.x_right, "theta": self.theta,
                "panels_per_decade": self.panels_per_decade, "nodes_per_panel": self.nodes_per_panel,
                "nodes_upper_half": int(self.z.size)}


def _gl(lo: float, hi: float, n_panels: int, k: int):
    y, w = roots_legendre(k)
    edges = np.linspace(lo, hi, n_panels + 1)
    h = np.diff(edges)
    x = (edges[:-1, None] + 0.5 * h[:, None] * (y[None, :] + 1)).ravel()
    return x, (0.5 * h[:, None] * w[None, :]).ravel()


@float64
def make_contour(x_left: float, x_right: float, theta: float = 0.6, panels_per_decade: float = 2.0,
                 nodes_per_panel: int = 16, n_ray: Optional[int] = None) -> Contour:
    """The contour of `Contour` with Gauss–Legendre panels (``nodes_per_panel`` nodes each).

    The ray gets ``n_ray`` panels (default ⌈panels_per_decade · log10(x_right/x_left)⌉).
    """
    k = nodes_per_panel
    if n_ray is None:
        n_ray = max(2, int(np.ceil(panels_per_decade * np.log10(x_right / x_left))))
    s, ws = _gl(np.log(x_left), np.log(x_right), n_ray, k)
    z_ray = np.exp(s) * (1 + 1j * theta)
    dz_ray = -ws * np.exp(s) * (1 + 1j * theta)  # traversed from x_right to x_left
    yr, wr = _gl(0.0, theta * x_right, 2, k)
    yl, wl = _gl(0.0, theta * x_left, 2, k)
    z = np.concatenate([x_right + 1j * yr, z_ray, x_left + 1j * yl])
    dz = np.concatenate([1j * wr, dz_ray, -1j * wl])
    return Contour(z=z, dz=dz, x_left=float(x_left), x_right=float(x_right), theta=float(theta),
                   panels_per_decade=float(panels_per_decade), nodes_per_panel=int(k))


@float64
@renamed_keywords(c="constants")
def spectrum_bounds(constants: GEConstants, alpha: float, psi_p: float, psi_n: float):
    """(lower, upper) bounds on the spectrum of U in the limit (theory/asymptotic.md §4).

    U = GGᵀ/n + b_t² C + s_t² I ⪰ s_t² I, and ‖GGᵀ/n‖ ≤ ‖Σ_g‖ (1 + √(ψ_p/ψ_n))² with
    ‖Σ_g‖ = α‖C‖ + v_t², ‖C‖ → (1 + √ψ_p)².
    """
    with np.errstate(over="ignore"):
        c_max = (1 + np.sqrt(psi_p)) ** 2
        upper = (alpha * c_max + constants.v_t2) * (1 + np.sqrt(psi_p / psi_n)) ** 2 + constants.b_t**2 * c_max + constants.s_t2
    if not (np.isfinite(upper) and np.isfinite(upper / constants.s_t2 if constants.s_t2 > 0 else upper)):
        arg = "psi_p" if abs(np.log(psi_p)) >= abs(np.log(psi_n)) else "psi_n"
        raise InputError(arg, f"ψ_p = {psi_p:g}, ψ_n = {psi_n:g} put the spectrum of U beyond float64 range "
                              f"(its scale overflows); use ratios of moderate size")
    return constants.s_t2, upper


# ----------------------------------------------------------------------------- (A1)
@jax.jit
def _a1_residual(delta, z, mu, w, alpha, b2, v2, s2, ratio):
    D = alpha / (1 + delta) + b2
    kap = v2 / (1 + delta) + s2 - z
    r = 1.0 / (D[:, None] * mu[None, :] + kap[:, None])
    sg = alpha * mu + v2
    F = delta - ratio * (r * sg) @ w
    dF = 1.0 - ratio * (r**2 * sg**2) @ w / (1 + delta) ** 2
    return F, dF


@partial(jax.jit, static_argnames=("max_damped", "newton_steps"))
def _solve_a1(z, mu, w, alpha, b2, v2, s2, ratio, damping, tol_damped, max_damped: int, newton_steps: int):
    """Damped fixed-point iteration δ ← δ - ω F(δ) from δ = 0 until max|F| < tol_damped, then Newton
    (`fixed_point.damped_then_newton`; call it through `solve_a1` with a `FixedPointRule`)."""

    def F(delta):
        return _a1_residual(delta, z, mu, w, alpha, b2, v2, s2, ratio)

    def newton(delta):
        f, df = F(delta)
        return delta - f / df

    delta, iters = damped_then_newton(lambda d: max_abs(F(d)[0]), lambda d, om: d - om * F(d)[0], newton,
                                      jnp.zeros_like(z), damping, tol_damped, max_damped, newton_steps)
    return delta, jnp.abs(F(delta)[0]), iters


@float64
def solve_a1(z, mu, w, alpha, b2, v2, s2, ratio, rule: FixedPointRule = DEFAULT_RULE):
    """(A1) at the nodes z (N,) complex: (δ (N,), |residual| (N,), damped iterations), by ``rule``."""
    return _solve_a1(z, mu, w, alpha, b2, v2, s2, ratio, rule.damping, rule.tol_damped, rule.max_damped,
                     rule.newton_steps)


# ----------------------------------------------------------------------------- (A2), (A3)
@jax.jit
def _kernels(delta, z, mu, w, alpha, b2, v2, s2, psi_p, ratio):
    """m(z) = b² ψ_p ⟨μ r̄⟩ (A2) at Γ⁺ (N,), and T(z_i, z_j), T(z_i, z̄_j) (A3), each (N, N)."""
    D = alpha / (1 + delta) + b2
    kap = v2 / (1 + delta) + s2 - z
    r = 1.0 / (D[:, None] * mu[None, :] + kap[:, None])  # (N, Q)
    sg = alpha * mu + v2
    u = (alpha + b2) * mu + v2 + s2
    m_z = b2 * psi_p * (r * (w * mu)) @ jnp.ones_like(mu)

    def two_point(r2, delta2):
        pref = 1.0 / ((1 + delta)[:, None] * (1 + delta2)[None, :])
        A = (r * (w * mu * u)) @ r2.T
        B = (r * (w * mu * sg)) @ r2.T
        C = (r * (w * sg * u)) @ r2.T
        E = (r * (w * sg**2)) @ r2.T
        y = ratio * C / (1 - ratio * E * pref)
        return psi_p * A + psi_p * y * B * pref

    return m_z, two_point(r, delta), two_point(jnp.conj(r), jnp.conj(delta))


# ----------------------------------------------------------------------------- (A6)-(A10): any ρ_Σ
# Σ = diag(λ_k) with atoms λ (K,) of weights wk (K,); E[·] = Σ_k wk_k (·)_k. Per node: unknowns
# r = lim (1/p) Tr R̄ and δ, with D_k = αλ_k/(1+δ) + b_t², κ = v_t²/(1+δ) + s_t² - z, β_k = 1/(1 + ψ_p r D_k).
@jax.jit
def _a6_system(r, delta, z, sigma_eigvals, wk, alpha, b2, v2, s2, psi_p, ratio):
    """Residuals (F1, F2) of (A6)-(A7), each (N,), and their 2×2 holomorphic Jacobian."""
    opd = 1 + delta
    D = alpha * sigma_eigvals[None, :] / opd[:, None] + b2
    kap = v2 / opd + s2 - z
    be = 1.0 / (1 + psi_p * r[:, None] * D)
    e_d, e_l = (D * be) @ wk, (sigma_eigvals * be) @ wk
    F1 = r * (kap + e_d) - 1.0
    F2 = delta - ratio * r * (alpha * e_l + v2)
    e_d2, e_l2, e_ll2 = (D * be**2) @ wk, (sigma_eigvals * be**2) @ wk, (sigma_eigvals**2 * be**2) @ wk
    J11 = kap + e_d2                         # ∂(r D β)/∂r = D β²
    J12 = -r * (v2 + alpha * e_l2) / opd**2  # ∂(r D β)/∂D = r β², ∂D/∂δ = -αλ/(1+δ)²
    J21 = -ratio * (alpha * e_l2 + v2)       # ∂(r β)/∂r = β²
    J22 = 1.0 - ratio * alpha**2 * psi_p * r**2 * e_ll2 / opd**2
    return F1, F2, (J11, J12, J21, J22), kap, e_d


@partial(jax.jit, static_argnames=("max_damped", "newton_steps"))
def _solve_a6(z, sigma_eigvals, wk, alpha, b2, v2, s2, psi_p, ratio, damping, tol_damped, max_damped: int,
              newton_steps: int):
    """Damped fixed-point iteration of (A6)-(A7) from δ = 0, r = 1/(E u - z), then 2×2 Newton
    (`fixed_point.damped_then_newton`; call it through `solve_a6` with a `FixedPointRule`)."""
    r0 = 1.0 / (v2 + s2 - z + (alpha * sigma_eigvals + b2) @ wk)

    def system(x):
        return _a6_system(x[0], x[1], z, sigma_eigvals, wk, alpha, b2, v2, s2, psi_p, ratio)

    def damped(x, om):
        _, F2, _, kap, e_d = system(x)
        return (1 - om) * x[0] + om / (kap + e_d), x[1] - om * F2

    def newton(x):
        F1, F2, J, _, _ = system(x)
        s1, s2_ = newton_2x2(*J, F1, F2)
        return x[0] - s1, x[1] - s2_

    (r, delta), iters = damped_then_newton(lambda x: max_abs(*system(x)[:2]), damped, newton,
                                           (r0, jnp.zeros_like(z)), damping, tol_damped, max_damped, newton_steps)
    F1, F2, _, _, _ = system((r, delta))
    return r, delta, jnp.maximum(jnp.abs(F1), jnp.abs(F2)), iters


@float64
@renamed_keywords(lam="sigma_eigvals")
def solve_a6(z, sigma_eigvals, wk, alpha, b2, v2, s2, psi_p, ratio, rule: FixedPointRule = DEFAULT_RULE):
    """(A6)-(A7) at the nodes z (N,) complex: (r, δ, |residual|, damped iterations), each (N,), by ``rule``."""
    return _solve_a6(z, sigma_eigvals, wk, alpha, b2, v2, s2, psi_p, ratio, rule.damping, rule.tol_damped, rule.max_damped,
                     rule.newton_steps)


def _a6_beta(r, delta, sigma_eigvals, alpha, b2, psi_p):
    D = alpha * sigma_eigvals[None, :] / (1 + delta)[:, None] + b2
    return D, 1.0 / (1 + psi_p * r[:, None] * D)


@jax.jit
def _two_point_general(r1, delta1, r2, delta2, sigma_eigvals, wk, alpha, b2, v2, s2, psi_p, ratio, correction):
    """T(z_i, z'_j) of (A10), (N1, N2), from the one-point solutions at z (N1,) and z' (N2,).

    Every E[·] over the atoms factorises into a (N1 × K)(K × N2) product. ``correction`` 0.0 drops the
    first-layer correction term (for the test that shows it matters).
    """
    D1, be1 = _a6_beta(r1, delta1, sigma_eigvals, alpha, b2, psi_p)
    D2, be2 = _a6_beta(r2, delta2, sigma_eigvals, alpha, b2, psi_p)
    rr = r1[:, None] * r2[None, :]
    pref = 1.0 / ((1 + delta1)[:, None] * (1 + delta2)[None, :])
    e_1 = (be1 * wk) @ be2.T                    # E[β₁β₂]
    e_dd = (D1 * be1 * wk) @ (D2 * be2).T       # E[D₁D₂β₁β₂]
    e_l = (be1 * (wk * sigma_eigvals)) @ be2.T            # E[λβ₁β₂]
    e_ll = (be1 * (wk * sigma_eigvals**2)) @ be2.T        # E[λ²β₁β₂]
    X = rr / (1 - psi_p * rr * e_dd)            # (A9): (1/p) Tr R̄₁R̄₂
    # (A9): Φ(a, b) = X ĉ_a ĉ_b + ψ_p r₁r₂ E[P_a P_b β₁β₂], ĉ = c + E[P β₁β₂]; a, b ∈ {Σ_g, U_pop, C}
    c_g = v2 + alpha * e_l
    c_u = v2 + s2 + alpha * e_l + b2 * e_1
    c_c = e_1
    phi_uc = X * c_u * c_c + psi_p * rr * (alpha * e_l + b2 * e_1)
    phi_gc = X * c_g * c_c + psi_p * rr * alpha * e_l
    phi_gu = X * c_g * c_u + psi_p * rr * (alpha**2 * e_ll + alpha * b2 * e_l)
    phi_gg = X * c_g**2 + psi_p * rr * alpha**2 * e_ll
    y = ratio * phi_gu / (1 - ratio * phi_gg * pref)  # (A10)
    return psi_p * phi_uc + correction * psi_p * y * phi_gc * pref


@jax.jit
def _kernels_general(r, delta, sigma_eigvals, wk, alpha, b2, v2, s2, psi_p, ratio):
    """m(z) = b² ψ_p E[r β] (A8) at Γ⁺ (N,), and T(z_i, z_j), T(z_i, z̄_j) of (A10), each (N, N)."""
    _, be = _a6_beta(r, delta, sigma_eigvals, alpha, b2, psi_p)
    m_z = b2 * psi_p * r * (be @ wk)
    args = (sigma_eigvals, wk, alpha, b2, v2, s2, psi_p, ratio, 1.0)
    return (m_z, _two_point_general(r, delta, r, delta, *args),
            _two_point_general(r, delta, jnp.conj(r), jnp.conj(delta), *args))


# ----------------------------------------------------------------------------- curves
@jax.jit
def _curves(tau, z, dz, m_z, T_uu, T_ul, rate, b2, ridge=0.0):
    """(A4), (A5) and the timescale spectrum at every τ (K,), from Γ⁺ by conjugation symmetry.

    (1/2πi)∮ h m dz = (1/π) Im Σ_{Γ⁺} h m dz for h real on the real axis (lower half: dz → -conj dz).
    The double integral is -(1/2π²) Re[Fᵀ T_uu F - Fᵀ T_ul conj(F)], F = f_τ dz on Γ⁺.
    Ridge λ (theory/finite_noise_ridge.md): the flow of B is that of U + λI, so f_τ(z) =
    (1 − e^{-cτ(z+λ)})/(z+λ) and the train loss's function is 2f − z f² (= (1 − e^{-2cτz})/z at λ = 0);
    the pole of f_∞ at −λ < 0 lies outside the contour (x_left > 0).
    """
    f, tz = flow_factor(tau, z, rate, ridge, jnp)
    inf = jnp.isinf(tau)[:, None]
    g = 2 * f - z[None, :] * f**2
    train = 1.0 + line_integral(g, m_z, dz, jnp)
    test = 1.0 + b2 * double_integral(f * dz[None, :], T_uu, T_ul, jnp) + 2 * line_integral(f, m_z, dz, jnp)
    # -dL_train/dlog τ = -τ (1/2πi)∮ ∂_τ g m dz, ∂_τ g = 2c e^{-cτ(z+λ)} (1 − z f)
    dg = 2 * rate * jnp.exp(-rate * tz) * (1 - z[None, :] * f)
    spec = jnp.where(inf[:, 0], 0.0, -line_integral(jnp.where(inf, 0.0, tau[:, None]) * dg, m_z, dz, jnp))
    return train, test, spec


# ----------------------------------------------------------------------------- API
@float64
@dataclass(frozen=True)
class AsymptoticCurves(Trajectory):
    """Asymptotic losses on a τ grid, each (K,): (A4), (A5) and E_score = (L_test - L_opt)/Δ (L3).

    ``tau_gen``, ``tau_mem``: first and last peak of the asymptotic timescale spectrum
    −dL_train/d log τ (read on an internal log grid spanning the whole spectrum of U,
    ``spectrum_tau``/``spectrum``). ``diagnostics``: (A1) residual and convergence,
    contour, quadrature-error estimate (see `asymptotic_curves`). Status: ``converged`` ((A1) or
    (A6)-(A7) met ``tol`` on the physical branch and the two contours agree to 1e-3 Δ) and
    ``error`` (the two-contour difference of the excess losses, units of Δ; NaN without
    ``check_quadrature``).
    """

    tau_gen: float
    tau_mem: float
    spectrum_tau: np.ndarray
    spectrum: np.ndarray
    parameters: dict = field(default_factory=dict)
    diagnostics: dict = field(default_factory=dict)


def _sigma_atoms(sigma):
    """(λ (K,), w (K,), isotropic) of ρ_Σ: the atoms of positive weight of a `SigmaSpectrum`."""
    sigma = ISOTROPIC if sigma is None else sigma
    if not isinstance(sigma, SigmaSpectrum):
        raise InputError("sigma_spectrum", "must be a SigmaSpectrum such as SigmaSpectrum.parse('1:1') or "
                                           "SigmaSpectrum.parse('powerlaw:1.5')")
    keep = np.asarray(sigma.weights) > 0
    sigma_eigvals, w = np.asarray(sigma.eigenvalues)[keep], np.asarray(sigma.weights)[keep]
    return sigma_eigvals, w / w.sum(), bool(np.allclose(sigma_eigvals, sigma_eigvals[0], rtol=1e-12, atol=0))


LAYERS = ("auto", "isotropic", "general")


class _Kernels:
    """Everything τ-independent: the contour, (A1) or (A6)-(A7) at its nodes, m(z) and T on Γ⁺.

    ``atoms`` None: Σ = λ_Σ I through ν_C, (A1)-(A3) (α includes λ_Σ). ``atoms`` = (λ, w): any
    ρ_Σ through the second deterministic-equivalent layer (A6)-(A10) (α = a_t² e^{-2t}).
    """

    def __init__(self, psi_p, psi_n, constants: GEConstants, alpha, contour: Contour, mu_nodes: int,
                 tol: float, rule: FixedPointRule, atoms=None, throw: bool = True):
        z, dz = _pad(contour.z, 128, contour.x_right + 0j), _pad(contour.dz, 128, 0j)
        zj = jnp.asarray(z)
        ratio = psi_p / psi_n
        if atoms is None:
            mu, w = nu_c_quadrature(psi_p, mu_nodes)
            # Pad nodes to bucket sizes (zero weights) so that JIT compilations are shared across parameters.
            mu, w = _pad(mu, 64, 1.0), _pad(w, 64, 0.0)
            args = (zj, jnp.asarray(mu), jnp.asarray(w), alpha, constants.b_t**2, constants.v_t2, constants.s_t2)
            delta, res, iters = solve_a1(*args, ratio, rule)
            unknowns = (delta,)
            eq = "(A1)"
        else:
            sigma_eigvals, wk = _pad(atoms[0], 16, 1.0), _pad(atoms[1], 16, 0.0)
            args = (jnp.asarray(sigma_eigvals), jnp.asarray(wk), alpha, constants.b_t**2, constants.v_t2, constants.s_t2, psi_p, ratio)
            r, delta, res, iters = solve_a6(zj, *args, rule)
            unknowns = (delta, r)
            eq = "(A6)-(A7)"
        res, iters = np.asarray(res), int(iters)
        self.residual = float(np.max(res))
        self.converged = bool(np.isfinite(self.residual) and self.residual < tol)
        # Branch check: δ (and r) are Stieltjes-type transforms, Im has the sign of Im z.
        self.branch_ok = all(bool(np.all(np.imag(u) * np.sign(z.imag) >= -1e-12 * (1 + np.abs(u))))
                             for u in map(np.asarray, unknowns))
        self.iterations = iters
        self.message = None
        if not (self.converged and self.branch_ok):
            self.message = (
                f"{eq} did not converge on the contour: max residual {self.residual:.3g} (tol {tol:g}), "
                f"physical branch {self.branch_ok}, {iters} damped iterations; psi_p={psi_p}, psi_n={psi_n}, "
                f"t={constants.t}, a_t={constants.a_t:.6g}, v_t2={constants.v_t2:.6g}, s_t2={constants.s_t2:.6g}, contour {contour.describe()}")
        if self.message and throw:
            raise ConvergenceError(
                f"{eq} did not converge on the contour: max residual {self.residual:.3g} (tol {tol:g}), "
                f"physical branch {self.branch_ok}, {iters} damped iterations; psi_p={psi_p}, psi_n={psi_n}, "
                f"t={constants.t}, a_t={constants.a_t:.6g}, v_t2={constants.v_t2:.6g}, s_t2={constants.s_t2:.6g}, contour {contour.describe()}")
        if atoms is None:
            m_z, T_uu, T_ul = _kernels(delta, *args, psi_p, ratio)
        else:
            m_z, T_uu, T_ul = _kernels_general(r, delta, *args)
        self.contour = contour
        self.m_z, self.T_uu, self.T_ul = m_z, T_uu, T_ul
        zc, dzc = zj, jnp.asarray(dz)
        self.z, self.dz = zc, dzc
        # Mass check: -(1/2πi)∮ m dz = b² ψ_p ⟨μ⟩ = b² ψ_p (exactly, ⟨μ⟩ = Tr C/p = 1).
        mass = -float(jnp.imag(jnp.sum(m_z * dzc)) / jnp.pi)
        self.mass_error = abs(mass / (constants.b_t**2 * psi_p) - 1.0)

    def curves(self, tau, rate, b2, ridge=0.0):
        out = _curves(jnp.asarray(_pad(tau, 512, tau[-1])), self.z, self.dz, self.m_z, self.T_uu, self.T_ul, rate, b2,
                      ridge)
        return [np.asarray(a)[:tau.size] for a in out]


def _pad(x, bucket: int, value):
    """x (n,) padded with ``value`` to the next multiple of ``bucket``."""
    x = np.asarray(x)
    n = -(-x.size // bucket) * bucket
    return np.concatenate([x, np.full(n - x.size, value, dtype=np.result_type(x, type(value)))])


class _Setup:
    """Constants and the route for a spectrum: ``atoms`` None means the isotropic route (A1)-(A3)."""

    def __init__(self, t, activation, sigma, layer):
        if layer not in LAYERS:
            raise InputError("layer", f"must be one of {', '.join(LAYERS)}, got {layer!r}")
        sigma_eigvals, w, iso = _sigma_atoms(sigma)
        if layer == "isotropic" and not iso:
            raise InputError("layer", "'isotropic' needs Σ = λI (one eigenvalue); use 'auto' or 'general'")
        self.sigma_eigvals, self.w = sigma_eigvals, w
        if iso and layer != "general":
            # Σ = λ_Σ I: α absorbs λ_Σ, ν_C quadrature (theory/asymptotic.md §5)
            self.sigma_x2 = float(sigma_eigvals[0])
            self.constants = ge_constants(t, activation, SigmaSpectrum((self.sigma_x2,), (1.0,)))
            self.alpha, self.atoms, self.layer = self.constants.alpha * self.sigma_x2, None, "isotropic"
            self.alpha_max = self.alpha
        else:
            self.sigma_x2 = float(sigma_eigvals[0]) if iso else None
            self.constants = ge_constants(t, activation, SigmaSpectrum(tuple(sigma_eigvals), tuple(w)))
            self.alpha, self.atoms, self.layer = self.constants.alpha, (sigma_eigvals, w), "general"
            self.alpha_max = self.constants.alpha * float(sigma_eigvals.max())  # ‖αΣ‖ for the spectrum bound
        self.l_opt = covariance.l_opt(SigmaSpectrum(tuple(sigma_eigvals), tuple(w)), self.constants.t)  # (L3)


@float64
def resolvent_traces(z, *, psi_p: float, psi_n: float, t: float, activation="tanh", sigma=None,
                     mu_nodes: int = 160, tol: float = 1e-10, layer: str = "auto") -> dict:
    """(A1), or (A6)-(A7) for a non-isotropic Σ, at points z (N,) off the spectrum: δ(z),
    q(z) → (1/p) Tr (U - z)^{-1} and s(z) → (1/p) Tr (U - z)^{-1} C (so (A2)/(A8) is b_t² ψ_p s).
    Isotropic route: q = ⟨r̄⟩, s = ⟨μ r̄⟩; general route: q = r, s = E[r β] (theory/asymptotic.md §7).
    Each (N,) complex; also ``residual`` (N,). These equal q and s of (S1)-(S3). Raises ConvergenceError.
    """
    z = np.atleast_1d(np.asarray(z, dtype=np.complex128))
    psi_p = check_positive("psi_p", psi_p)
    psi_n = check_positive("psi_n", psi_n)
    st = _Setup(t, activation, sigma, layer)
    constants, alpha = st.constants, st.alpha
    if st.atoms is None:
        mu, w = nu_c_quadrature(psi_p, mu_nodes)
        delta, res, _ = solve_a1(jnp.asarray(z), jnp.asarray(mu), jnp.asarray(w), alpha, constants.b_t**2, constants.v_t2, constants.s_t2,
                                 psi_p / psi_n)
    else:
        sigma_eigvals, wk = st.atoms
        r, delta, res, _ = solve_a6(jnp.asarray(z), jnp.asarray(sigma_eigvals), jnp.asarray(wk), alpha, constants.b_t**2, constants.v_t2,
                                    constants.s_t2, psi_p, psi_p / psi_n)
    res = np.asarray(res)
    if not np.all(res < tol):
        raise ConvergenceError(f"{'(A1)' if st.atoms is None else '(A6)-(A7)'} did not converge: max residual "
                               f"{np.max(res):.3g}; psi_p={psi_p}, psi_n={psi_n}, t={t}")
    delta = np.asarray(delta)
    if st.atoms is None:
        rb = 1.0 / ((alpha / (1 + delta) + constants.b_t**2)[:, None] * mu[None, :]
                    + (constants.v_t2 / (1 + delta) + constants.s_t2 - z)[:, None])
        return {"delta": delta, "q": rb @ w, "s": rb @ (w * mu), "residual": res}
    r = np.asarray(r)
    _, be = _a6_beta(r, delta, sigma_eigvals, alpha, constants.b_t**2, psi_p)
    return {"delta": delta, "q": r, "s": r * (np.asarray(be) @ wk), "residual": res}


@float64
def two_resolvent_trace(z1, z2, *, psi_p: float, psi_n: float, t: float, activation="tanh", sigma=None,
                        tol: float = 1e-10, correction: bool = True) -> np.ndarray:
    """T(z₁_i, z₂_j) → (1/d) Tr (U - z₁)^{-1} U_pop (U - z₂)^{-1} C, (N1, N2) complex, by the
    second-layer route (A6)-(A10) for any ρ_Σ (theory/asymptotic.md §7). z off the spectrum of U.
    ``correction=False`` drops the first-layer correction term of (A10) (wrong; for tests).
    Raises ConvergenceError if (A6)-(A7) do not converge to ``tol``.
    """
    psi_p = check_positive("psi_p", psi_p)
    psi_n = check_positive("psi_n", psi_n)
    st = _Setup(t, activation, sigma, "general")
    constants = st.constants
    sigma_eigvals, wk = (jnp.asarray(a) for a in st.atoms)
    sols = []
    for z in (z1, z2):
        z = np.atleast_1d(np.asarray(z, dtype=np.complex128))
        r, delta, res, _ = solve_a6(jnp.asarray(z), sigma_eigvals, wk, st.alpha, constants.b_t**2, constants.v_t2, constants.s_t2, psi_p,
                                    psi_p / psi_n)
        if not np.all(np.asarray(res) < tol):
            raise ConvergenceError(f"(A6)-(A7) did not converge: max residual {np.max(np.asarray(res)):.3g}; "
                                   f"psi_p={psi_p}, psi_n={psi_n}, t={t}")
        sols.append((r, delta))
    out = _two_point_general(*sols[0], *sols[1], sigma_eigvals, wk, st.alpha, constants.b_t**2, constants.v_t2, constants.s_t2, psi_p,
                             psi_p / psi_n, 1.0 if correction else 0.0)
    return np.asarray(out)


def _check_region(psi_p, psi_n, t, constants: GEConstants):
    if not constants.s_t2 > 1e-12:
        raise InputError("activation", f"the contour of (A4)-(A5) crosses the real axis in (0, s_t²); it needs "
                                       f"s_t² > 0 (a non-linear activation), got s_t² = {constants.s_t2:.3g}")


@float64
@require_keyword
@options_from_keywords(contour=ContourRule, fixed_point=FixedPointRule,
                       aliases={"mu_nodes": ("contour", "measure_nodes")})
def asymptotic_curves(tau, *, psi_p: float, psi_n: float, t: float, activation="tanh", sigma=None,
                      ridge: float = 0.0, contour: ContourRule = ASYMPTOTIC_CONTOUR,
                      fixed_point: FixedPointRule = DEFAULT_RULE, spectrum_points: int = 1200, layer: str = "auto",
                      throw: bool = True) -> AsymptoticCurves:
    """Asymptotic L_train (A4), L_test (A5), score error (L3) on the τ grid ``tau`` (K,), τ > 0, inf allowed.

    ψ_p = p/d, ψ_n = n/d (> 0), t > 0 the diffusion time, ``activation`` σ. ``sigma``: a `SigmaSpectrum`
    (default Σ = I; e.g. SigmaSpectrum.parse('0.5:0.5,1.5:0.5') or 'powerlaw:1.5'). ``layer``: 'auto'
    (isotropic route (A1)-(A3) for Σ = λI, else the second layer (A6)-(A10)), 'isotropic' (Σ = λI only) or
    'general' (also for Σ = λI: a cross-check). τ in the units of (D1). ``contour``: a `ContourRule` (θ,
    panels, nodes, ν_C nodes ``measure_nodes``, the (A1) tolerance ``tol``, ``check_quadrature``);
    ``fixed_point``: the `FixedPointRule` of (A1) / (A6)-(A7); ``spectrum_points``: size of the internal τ grid
    of the timescale spectrum (int >= 2). (The rule's fields as keywords, and ``mu_nodes`` for
    ``measure_nodes``: the 0.1 form, deprecated.)
    Contour (see `Contour`): x_left = s_t²/2, x_right = 1.5 × the bound of `spectrum_bounds`.
    With ``check_quadrature`` the curves are recomputed with an independent rule: a different
    contour (θ = 0.35, x_left = 0.7 s_t², x_right = 2 × the bound, same number of nodes, so the
    JIT compilation is shared) and 32 more ν_C nodes; the largest difference of the excess
    losses is reported as ``diagnostics['quadrature_error']`` (units of Δ). Two contours can
    only agree if both enclose the same spectrum and both rules are accurate. Also reported: the mass check
    −(1/2πi)∮ m dz = b_t² ψ_p and the (A1) residual. Raises ConvergenceError if (A1)
    does not converge to ``tol`` or the quadrature error exceeds 1e-3 (units of Δ), unless
    ``throw`` is False: then the curves are returned with ``converged`` False. On the general
    route the ``a1_*`` diagnostics hold the (A6)-(A7) residual, iterations and branch check;
    ``diagnostics['equations']`` names the route. ``ridge`` λ ≥ 0: the flow with weight decay of
    theory/finite_noise_ridge.md (U → U + λI in the flow; λ = 0 is the plain flow); the train loss is
    then the data term of L_train, without the penalty.
    """

    throw = bool(throw)  # ``require=``, its former name, is read by `require_keyword` (one version)
    tau = check_tau(tau)
    psi_p = check_positive("psi_p", psi_p)
    psi_n = check_positive("psi_n", psi_n)
    ridge = check_ridge(ridge)
    rule_c = contour  # the ContourRule; the contour itself is gamma below
    theta, panels_per_decade, nodes_per_panel = rule_c.theta, rule_c.panels_per_decade, int(rule_c.nodes_per_panel)
    mu_nodes, tol, check_quadrature = int(rule_c.measure_nodes), float(rule_c.tol), bool(rule_c.check_quadrature)
    st = _Setup(t, activation, sigma, layer)
    constants = st.constants
    _check_region(psi_p, psi_n, t, constants)
    lower, upper = spectrum_bounds(constants, st.alpha_max, psi_p, psi_n)
    x_left, x_right = 0.5 * lower, 1.5 * upper
    c_rate = rate(constants.delta_t, psi_p)
    b2 = constants.b_t**2
    l_opt = st.l_opt

    gamma = make_contour(x_left, x_right, theta, panels_per_decade, nodes_per_panel)
    check_positive_int("max_damped", fixed_point.max_damped)
    rule = fixed_point
    ker = _Kernels(psi_p, psi_n, constants, st.alpha, gamma, mu_nodes, tol, rule, st.atoms, throw)
    # Internal grid for the timescale spectrum: every mode λ ∈ [s_t², upper] peaks at 1/(2cλ).
    spec_tau = np.geomspace(0.02 / (2 * c_rate * upper), 20.0 / (2 * c_rate * lower), spectrum_points)
    both = np.concatenate([tau, spec_tau])
    train, test, spec = ker.curves(both, c_rate, b2, ridge)
    train = train[:tau.size]
    test = test[:tau.size]
    spec = spec[tau.size:]

    diagnostics = {"a1_residual": ker.residual, "a1_converged": ker.converged, "a1_damped_iterations": ker.iterations,
                   "a1_branch_ok": ker.branch_ok, "mass_error": ker.mass_error, "contour": gamma.describe(),
                   "mu_nodes": mu_nodes, "spectrum_bounds": [lower, upper],
                   "equations": "(A1)-(A5)" if st.atoms is None else "(A4)-(A10)"}
    if check_quadrature:
        n_ray = (gamma.z.size - 4 * nodes_per_panel) // nodes_per_panel
        other = make_contour(0.7 * lower, 2.0 * upper, 0.35, panels_per_decade, nodes_per_panel, n_ray=n_ray)
        ker2 = _Kernels(psi_p, psi_n, constants, st.alpha, other, mu_nodes + 32, tol, rule, st.atoms, throw)
        train2, test2, spec2 = ker2.curves(both, c_rate, b2, ridge)
        err = two_contour_error((train, test), (train2[:tau.size], test2[:tau.size]), constants.delta_t)
        spec_err = float(np.max(np.abs(spec2[tau.size:] - spec)) / max(np.max(np.abs(spec)), 1e-300))
        diagnostics.update(quadrature_error=float(err), spectrum_quadrature_error=spec_err,
                           mass_error_check=ker2.mass_error, check_contour=other.describe())
        quad_ok = bool(err < TWO_CONTOUR_TOL and spec_err < TWO_CONTOUR_TOL)
        if not quad_ok and throw:
            raise ConvergenceError(f"contour quadrature not converged: excess losses change by {err:.3g} Δ "
                                   f"(timescale spectrum by {spec_err:.3g} relative) on a second contour; psi_p={psi_p}, "
                                   f"psi_n={psi_n}, t={t}, contour {gamma.describe()}")
    else:
        err, quad_ok = float("nan"), True
    converged = bool(ker.message is None and quad_ok and (not check_quadrature or ker2.message is None))
    if not converged:
        diagnostics["message"] = ker.message or (ker2.message if check_quadrature else None) or \
            f"contour quadrature not converged: excess losses change by {err:.3g} Δ on a second contour"
        tau_gen = tau_mem = float("nan")  # peaks of an unconverged spectrum are not read off
        diagnostics["n_peaks"] = 0
    else:
        tau_gen, tau_mem, diagnostics["n_peaks"] = spectrum_peaks(spec_tau, spec)  # 1: tau_gen == tau_mem, one peak
    params = {"psi_p": psi_p, "psi_n": psi_n, "t": constants.t, "activation": getattr(activation, "name", activation),
              **({"sigma_scale": st.sigma_x2} if st.sigma_x2 is not None else {}),
              "sigma_spectrum": {"eigenvalues": [float(x) for x in st.sigma_eigvals], "weights": [float(x) for x in st.w]},
              "layer": st.layer, **({"ridge": ridge} if ridge else {}), **constants.public()}
    return AsymptoticCurves(tau=tau, train_loss=train, test_loss=test, score_error=(test - l_opt) / constants.delta_t,
                            l_opt=float(l_opt), delta_t=constants.delta_t, tau_gen=tau_gen, tau_mem=tau_mem,
                            spectrum_tau=spec_tau, spectrum=spec, parameters=params, diagnostics=diagnostics,
                            converged=converged, error=float(err))
