"""d → ∞ learning curves with m frozen noise draws per training point and a ridge λ (theory/finite_noise_ridge.md).

For Σ = σ_x² I and the Gaussian-equivalent features, the n·m noisy rows split, after an orthogonal
rotation within each point's m copies, into n rows of covariance Σ₁ = m M + C and n(m−1) rows of
covariance Σ₂ = C (M = α σ_x² K + v_t², C = b_t² K + s_t², K = WWᵀ/d), every row with the same
cross-covariance V₀ = b_t W/√d to its noise target (F7). Given W all of these commute, so the
deterministic equivalents of the resolvent (F8), of its V̂-sandwich (F9) and of the two-resolvent
sandwich (F10) reduce to averages over the Marchenko–Pastur law ν_C of K (`asymptotic.nu_c_quadrature`).
The losses at τ = ∞ are closed forms in (F9)-(F10) at the shift D = λ (F11); along τ they are contour
integrals of the same kernels (F12), as for m = ∞ in theory/asymptotic.md. The empirical test loss (F13)
needs the shared parts M̂ between two resolvents (F15, a leave-one-row-out step on the class-1 rows), and
the bias–variance split over the noise the kernel of two draws sharing W, X (F14).

m = ∞ is the model of theory/asymptotic.md and goes through `asymptotic.asymptotic_curves` (with the
same ridge), so the two paths agree there by construction. At λ = 0 with finite m the contour crosses
at −1/(cτ_max) (it must enclose the zero modes of U^(m) when n·m < p) and τ = ∞ is the λ → 0+ limit of
(F11), (F14), extrapolated from λ = 10⁻⁸ and 2·10⁻⁸ (the minimum-norm minimiser the flow from 0 reaches).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import partial
from typing import Optional

import jax
import jax.numpy as jnp
import numpy as np

from ..core.constants import ge_constants, rate
from ..core.covariance import ISOTROPIC, l_opt
from ..core.errors import ConvergenceError, InputError, check_noise_samples, check_positive, check_ridge
from ..core.trajectory import Trajectory, check_tau
from .asymptotic import asymptotic_curves, make_contour, nu_c_quadrature
from ..core.precision import float64
from ..core.deprecation import options_from_keywords, require_keyword
from .contour_losses import (FINITE_NOISE_CONTOUR, TWO_CONTOUR_TOL, ContourRule, double_integral, flow_factor,
                             line_integral, two_contour_error)
from .fixed_point import FixedPointRule, damped_then_newton, newton_2x2


@dataclass(frozen=True)
class _Model:
    """The two row classes of (F7) on the ν_C nodes κ (Q,), weights wk (Q,)."""

    psi_p: float
    psi_n: float
    m: int
    kappa: np.ndarray
    wk: np.ndarray
    f: np.ndarray          # (2,) class fractions N_c/N
    S: np.ndarray          # (2, Q) class covariances Σ_c(κ)
    b2k: np.ndarray        # (Q,) b_t² κ: V₀V₀ᵀ on the node
    upop: np.ndarray       # (Q,) U_pop = M + C
    ratio: float           # p/N
    lin: dict = field(default_factory=dict)  # the same functions as coefficients (c₀, c₁) of c₀ + c₁κ


def _model(psi_p, psi_n, m, constants, alpha_eff, nodes) -> _Model:
    kappa, wk = nu_c_quadrature(psi_p, nodes)
    lm, lc = (constants.v_t2, alpha_eff), (constants.s_t2, constants.b_t**2)  # M and C as c₀ + c₁κ
    lin = {"S0": (m * lm[0] + lc[0], m * lm[1] + lc[1]), "S1": lc, "mM": (m * lm[0], m * lm[1]),
           "b2k": (0.0, constants.b_t**2), "upop": (lm[0] + lc[0], lm[1] + lc[1]), "one": (1.0, 0.0)}

    def on_nodes(name):
        c0, c1 = lin[name]
        return c0 + c1 * kappa

    return _Model(psi_p=psi_p, psi_n=psi_n, m=m, kappa=kappa, wk=wk, f=np.array([1.0 / m, (m - 1.0) / m]),
                  S=np.stack([on_nodes("S0"), on_nodes("S1")]), b2k=on_nodes("b2k"), upop=on_nodes("upop"),
                  ratio=psi_p / (psi_n * m), lin=lin)


def _A(mod: _Model, delta, D):
    """Ā = Σ_c f_c Σ_c/(1 + δ_c) + D on the nodes: delta (Z, 2), D (Z, 1) → (Z, Q)."""
    return (mod.f[0] * mod.S[0][None, :] / (1 + delta[:, :1]) + mod.f[1] * mod.S[1][None, :] / (1 + delta[:, 1:])
            + D)


# (F8) by the one damped fixed-point + Newton solver (limit/fixed_point.py): exactly 40 damped steps
# δ ← ½δ + ½(p/N)E[Σ/Ā] from δ = 0, then Newton on the two unknowns per node until every node meets the
# solve's ``tol`` (`_f8_rule`); where it is missed the solve is redone with 50× more damped steps first
F8_RULE = FixedPointRule(damping=0.5, tol_damped=None, max_damped=40, newton_steps=60)
F8_RETRY_DAMPED = 2000


def _relative_residual(dl, new):
    """Per node: max_c |δ_c − (p/N)E[Σ_c/Ā]| / (1 + max_c |(p/N)E[Σ_c/Ā]|), the accuracy measure of (F8)."""
    return (jnp.maximum(jnp.abs(dl[0] - new[0]), jnp.abs(dl[1] - new[1]))
            / (1 + jnp.maximum(jnp.abs(new[0]), jnp.abs(new[1]))))


@partial(jax.jit, static_argnames=("max_damped", "newton_steps"))
def _solve_f8(D, S, f, wk, ratio, damping, tol_damped, max_damped: int, newton_steps: int, tol_newton):
    """(F8) at shifts D (Z, 1) or (Z, Q): δ = (δ_0, δ_1), each (Z,), by `fixed_point.damped_then_newton`."""

    def solved(dl):  # Ā (Z, Q) and (p/N) E_κ[Σ_c/Ā] for c = 0, 1
        A = f[0] * S[0][None, :] / (1 + dl[0][:, None]) + f[1] * S[1][None, :] / (1 + dl[1][:, None]) + D
        return A, tuple(ratio * jnp.sum(wk[None, :] * S[c][None, :] / A, axis=1) for c in range(2))

    def residual_norm(dl):
        return jnp.max(_relative_residual(dl, solved(dl)[1]))

    def damped(dl, om):
        _, new = solved(dl)
        return tuple((1 - om) * dl[c] + om * new[c] for c in range(2))

    def newton(dl):
        A, new = solved(dl)
        # ∂F_c/∂δ_c' = 1{c=c'} − (p/N) f_c' E[Σ_c Σ_c'/Ā²]/(1 + δ_c')²
        J = [[(a == b) - ratio * f[b] * jnp.sum(wk[None, :] * S[a][None, :] * S[b][None, :] / A**2, axis=1)
              / (1 + dl[b]) ** 2 for b in range(2)] for a in range(2)]
        s0, s1 = newton_2x2(J[0][0], J[0][1], J[1][0], J[1][1], dl[0] - new[0], dl[1] - new[1])
        return dl[0] - s0, dl[1] - s1

    zero = jnp.zeros(D.shape[0], dtype=jnp.result_type(D.dtype, jnp.float64))
    (d0, d1), _ = damped_then_newton(residual_norm, damped, newton, (zero, zero), damping, tol_damped, max_damped,
                                     newton_steps, tol_newton)
    return d0, d1


def _bucket(size: int) -> int:
    """The next power of two >= size: the padded length of an axis handed to a compiled solve."""
    return 1 << max(int(size) - 1, 0).bit_length()


def _padded(D, S, wk):
    """D (Z, 1 or Q), S (C, Q), wk (Q,) padded to power-of-two Z and Q, so that the compiled solves see a few
    shapes instead of one per (number of shifts, number of ν_C nodes): each new shape costs a compilation of
    0.7-1.6 s, more than the solve. The padding changes no value: a padded node has weight 0 (its Σ_c and D
    copy the last node's, so Ā stays finite and nonzero) and adds exact zeros to every E_κ sum; a padded
    shift copies the last row, so every per-row residual, and their maximum that stops the iterations, is
    unchanged. The caller keeps the first Z rows."""
    Z, Q = D.shape[0], S.shape[-1]
    dz, dq = _bucket(Z) - Z, _bucket(Q) - Q
    Dp = np.pad(D, ((0, dz), (0, dq if D.shape[1] == Q and Q > 1 else 0)), mode="edge")
    return Dp, np.pad(S, [(0, 0)] * (S.ndim - 1) + [(0, dq)], mode="edge"), np.pad(wk, (0, dq))


@float64  # the JAX solve in float64 also when called directly (tests), as the public entry points run
def _solve_delta(mod: _Model, D, tol: float, rule: FixedPointRule = F8_RULE):
    """δ_c = (p/N) E_κ[Σ_c/Ā] (F8) at every shift D: (Z,) constants (complex with Im D < 0, or real
    > 0) or (Z, Q) functions of κ on the nodes, by ``rule`` with Newton stopping at ``tol`` (redone with
    `F8_RETRY_DAMPED` damped steps where a node misses it). Returns (delta (Z, 2), Ā (Z, Q), residual (Z,))."""
    D = np.asarray(D)
    D = D[:, None] if D.ndim == 1 else D
    Dp, S, wk = _padded(D, mod.S, mod.wk)
    d0, d1 = _solve_f8(Dp, S, mod.f, wk, mod.ratio, rule.damping, rule.tol_damped, rule.max_damped,
                       rule.newton_steps, tol)
    delta = np.stack([np.asarray(d0)[:D.shape[0]], np.asarray(d1)[:D.shape[0]]], axis=1)
    A = _A(mod, delta, D)
    new = [mod.ratio * np.sum(mod.wk[None, :] * mod.S[c][None, :] / A, axis=1) for c in range(2)]
    res = np.asarray(_relative_residual((delta[:, 0], delta[:, 1]), new))
    if not np.all(res < tol) and rule.max_damped < F8_RETRY_DAMPED:
        return _solve_delta(mod, D, tol, replace(rule, max_damped=F8_RETRY_DAMPED))
    return delta, A, res


@dataclass(frozen=True)
class _Point:
    """(F8)-(F9) at shifts D (Z,): δ (Z,2), Ā (Z,Q), w = Σ_c f_c/(1+δ_c), q = (1/d)tr V₀ᵀĀ⁻¹V₀,
    Q1 = (1/d)tr V̂ᵀ(Û+D)⁻¹V̂ = 1 − w + w² q, Qx = (1/d)tr V₀ᵀ(Û+D)⁻¹V̂ = w q."""

    delta: np.ndarray
    A: np.ndarray
    w: np.ndarray
    q: np.ndarray
    residual: np.ndarray

    @property
    def Q1(self):
        return 1 - self.w + self.w**2 * self.q

    @property
    def Qx(self):
        return self.w * self.q


def _point(mod: _Model, D, tol) -> _Point:
    delta, A, res = _solve_delta(mod, D, tol)
    w = mod.f[0] / (1 + delta[:, 0]) + mod.f[1] / (1 + delta[:, 1])
    q = mod.psi_p * np.sum(mod.wk[None, :] * mod.b2k[None, :] / A, axis=1)
    return _Point(delta=delta, A=A, w=w, q=q, residual=res)


class _Moments:
    """E_κ[g(κ)/(Ā₁Ā₂)] for every pair of shifts (Z1, Z2). Every g the kernels need is a product of at most
    three functions linear in κ, so three matrix products E_k = E[κᵏ/(Ā₁Ā₂)], k = 0, 1, 2, serve them all;
    ``E(*lins)`` takes the linear factors as (c₀, c₁) (names of ``_Model.lin`` allowed), ``E(array)`` any g on
    the nodes (one more product)."""

    def __init__(self, mod: _Model, P1: _Point, P2: _Point):
        self.mod = mod
        self.inv1 = mod.wk[None, :] / P1.A  # (Z1, Q), weights folded in once
        self.inv2 = 1.0 / P2.A
        self.k = [(self.inv1 * mod.kappa[None, :] ** j) @ self.inv2.T for j in range(3)]

    def E(self, *factors):
        if len(factors) == 1 and isinstance(factors[0], np.ndarray):
            return (self.inv1 * factors[0][None, :]) @ self.inv2.T
        poly = np.array([1.0])
        for fac in factors:
            poly = np.convolve(poly, np.asarray(self.mod.lin[fac] if isinstance(fac, str) else fac, dtype=float))
        if poly.size > 3:
            raise ValueError("at most quadratic in κ")
        return sum(cj * self.k[j] for j, cj in enumerate(poly))


def _two_point(mod: _Model, P1: _Point, P2: _Point, F, mom: Optional[_Moments] = None) -> np.ndarray:
    """(F10): (1/d)tr V̂ᵀ(Û+D₁)⁻¹ F (Û+D₂)⁻¹ V̂ for every pair of shifts, (Z1, Z2); F linear in κ, as a name of
    ``_Model.lin`` or (c₀, c₁), or any function as an array (Q,) on the nodes."""
    return _two_point_parts(mod, P1, P2, F, mom)[0]


def _two_point_parts(mod: _Model, P1: _Point, P2: _Point, F, mom: Optional[_Moments] = None):
    """(F10) and X₁ = μ²·[ξξ block of E G₁Σ_{z,1}G₂] (the class-1 term of its recursion), each (Z1, Z2)."""
    mom = mom or _Moments(mod, P1, P2)
    if isinstance(F, np.ndarray):  # an arbitrary function on the nodes: direct products
        def EF(*lins):
            g = F.copy()
            for fac in lins:
                c0, c1 = mod.lin[fac]
                g = g * (c0 + c1 * mod.kappa)
            return mom.E(g)
    else:
        def EF(*lins):
            return mom.E(F, *lins)
    E = mom.E
    w1, w2 = P1.w[:, None], P2.w[None, :]
    e = [mod.f[c] / ((1 + P1.delta[:, c])[:, None] * (1 + P2.delta[:, c])[None, :]) for c in range(2)]
    beta = [mod.ratio * EF(f"S{c}") for c in range(2)]
    Bm = [[e[a] * mod.ratio * E(f"S{a}", f"S{b}") for b in range(2)] for a in range(2)]
    q1 = mod.psi_p * np.sum(mod.wk[None, :] * mod.b2k[None, :] / P1.A, axis=1)[:, None]
    q2 = mod.psi_p * np.sum(mod.wk[None, :] * mod.b2k[None, :] / P2.A, axis=1)[None, :]
    Om = [1 + mod.psi_p * w1 * w2 * E("b2k", f"S{c}") - w1 * q1 - w2 * q2 for c in range(2)]
    # X = (I − Bmᵀ)⁻¹ Ω per pair: X_c = Ω_c + Σ_c' Bm[c'][c] X_c'
    a11, a12, a21, a22 = 1 - Bm[0][0], -Bm[1][0], -Bm[0][1], 1 - Bm[1][1]
    det = a11 * a22 - a12 * a21
    X0 = (a22 * Om[0] - a12 * Om[1]) / det
    X1 = (-a21 * Om[0] + a11 * Om[1]) / det
    return w1 * w2 * mod.psi_p * EF("b2k") + e[0] * beta[0] * X0 + e[1] * beta[1] * X1, X0


def _two_point_shared(mod: _Model, P1: _Point, P2: _Point, mom: Optional[_Moments] = None) -> np.ndarray:
    """(F15): (1/d)tr V̂ᵀ(Û+D₁)⁻¹ M̂ (Û+D₂)⁻¹ V̂, M̂ = (1/n)Σ_ν μ_νμ_νᵀ the shared parts, every pair (Z1, Z2).

    M̂ = (1/N)Σ_ν χ_νχ_νᵀ over the class-1 rows, χ = √m μ, Cov(χ, y) = Cov(χ, χ) = mM. Sherman–Morrison on
    row ν: (Û+D)⁻¹χ ≈ (Û₋ν+D)⁻¹(χ − a y), a = γ/(1+δ₁), γ = (p/N)E[mM/Ā]; the lifted covariance of
    (χ − a₁y, χ − a₂y) is a₁a₂Σ_{z,1} + diag(mM(1 − a₁ − a₂), 0), so
    (F15) = f₁ [a₁a₂ X₁ + (1 − a₁ − a₂) (F10)[mM]]."""
    mM = mod.S[0] - mod.S[1]
    a = [mod.ratio * np.sum(mod.wk[None, :] * mM[None, :] / P.A, axis=1) / (1 + P.delta[:, 0]) for P in (P1, P2)]
    k_mm, x1 = _two_point_parts(mod, P1, P2, "mM", mom)
    a1, a2 = a[0][:, None], a[1][None, :]
    return mod.f[0] * (a1 * a2 * x1 + (1 - a1 - a2) * k_mm)


def _two_point_cross(mod: _Model, P1: _Point, P2: _Point, F, mom: Optional[_Moments] = None) -> np.ndarray:
    """(F14): E (1/d)tr V̂₁ᵀ(Û₁+D₁)⁻¹ F (Û₂+D₂)⁻¹ V̂₂ for two independent noise draws sharing W, X (and the
    data part ω), every pair of shifts (Z1, Z2); F linear in κ (a name of ``_Model.lin`` or (c₀, c₁)). The rows of the two draws are
    correlated only through the shared part of the class-1 rows, cross-covariance m M (class 2: 0), and
    their noise targets are independent, so (F10) keeps its first term and one class in its second."""
    E = (mom or _Moments(mod, P1, P2)).E
    w1, w2 = P1.w[:, None], P2.w[None, :]
    e1 = mod.f[0] / ((1 + P1.delta[:, 0])[:, None] * (1 + P2.delta[:, 0])[None, :])
    beta = mod.ratio * E("mM", F)
    B11 = e1 * mod.ratio * E("mM", "mM")
    Om = mod.psi_p * w1 * w2 * E("b2k", "mM")
    return w1 * w2 * mod.psi_p * E("b2k", F) + e1 * beta * Om / (1 - B11)


def _l_min(mod: _Model) -> float:
    """L_min = 1 − (1/d)tr V₀ᵀU_pop⁻¹V₀ = 1 − ψ_p E[b_t²κ/U_pop(κ)] (F6): the best test loss at this W."""
    return float(1 - mod.psi_p * np.sum(mod.wk * mod.b2k / mod.upop))


def _losses_at_infinity(mod: _Model, ridge: float, tol: float):
    """(F11): τ = ∞ train and test losses of the ridge minimiser, the test loss of its noise average
    L_test(B̄) (F14), its empirical test loss (F13) with (F15), and the (F8) residual."""
    P = _point(mod, np.array([ridge]), tol)
    mom = _Moments(mod, P, P)
    test = 1 + _two_point(mod, P, P, "upop", mom)[0, 0] - 2 * P.Qx[0]
    mean_readout = 1 + _two_point_cross(mod, P, P, "upop", mom)[0, 0] - 2 * P.Qx[0]
    emp = 1 + _two_point_shared(mod, P, P, mom)[0, 0] + _two_point(mod, P, P, "S1", mom)[0, 0] - 2 * P.Qx[0]
    train = 1 - P.Q1[0] - ridge * _two_point(mod, P, P, "one", mom)[0, 0]
    return (float(np.real(train)), float(np.real(test)), float(np.real(mean_readout)), float(np.real(emp)),
            float(P.residual.max()))


@float64
def _losses_at_infinity_m_inf(psi_p, psi_n, constants, alpha_eff, ridge, nodes, tol):
    """(F11) at m = ∞: V̂ = V₀ is deterministic and the noise rows are the shift C, so one Wishart
    class (n rows of covariance M, ratio p/n) remains: Ā = M/(1 + δ) + C + λ, δ = (p/n) E[M/Ā], and
    (1/d)tr V₀ᵀR F R V₀ = ψ_p E[b²κ F/Ā²] + ψ_p E[b²κ M/Ā²] · (p/n) E[M F/Ā²] / ((1+δ)² − (p/n) E[M²/Ā²])."""
    kappa, wk = nu_c_quadrature(psi_p, nodes)
    M = alpha_eff * kappa + constants.v_t2
    C = constants.b_t**2 * kappa + constants.s_t2
    b2k = constants.b_t**2 * kappa
    r = psi_p / psi_n
    shift, Mp, wkp = _padded((C + ridge)[None, :], M, wk)  # power-of-two node count (see `_padded`)
    delta = float(_solve_one_class(Mp, shift[0], wkp, r, tol))
    A = M / (1 + delta) + C + ridge
    res = abs(delta - r * np.sum(wk * M / A)) / (1 + abs(delta))
    E = lambda g: float(np.sum(wk * g))  # noqa: E731

    def two(F):
        return psi_p * E(b2k * F / A**2) + psi_p * E(b2k * M / A**2) * r * E(M * F / A**2) / \
            ((1 + delta) ** 2 - r * E(M * M / A**2))

    q = psi_p * E(b2k / A)
    test = 1 + two(M + C) - 2 * q
    train = 1 - q - ridge * two(np.ones_like(kappa))
    return train, test, res


# the one-class δ of (F11) at m = ∞ by the same solver: damped steps until the relative residual is below the
# solve's tol, then two Newton steps (quadratic: the root to rounding)
ONE_CLASS_RULE = FixedPointRule(damping=0.5, max_damped=10000, newton_steps=2)


@jax.jit
def _solve_one_class(M, shift, wk, r, tol):
    """δ = r E_κ[M/Ā], Ā = M/(1 + δ) + shift (the m = ∞ class of (F11)); M, shift, wk (Q,) on the nodes."""

    def new_of(dl):
        A = M / (1 + dl) + shift
        return A, r * jnp.sum(wk * M / A)

    def damped(dl, om):
        return (1 - om) * dl + om * new_of(dl)[1]

    def newton(dl):  # ∂F/∂δ = 1 − r E[M²/Ā²]/(1 + δ)²
        A, new = new_of(dl)
        return dl - (dl - new) / (1 - r * jnp.sum(wk * M**2 / A**2) / (1 + dl) ** 2)

    def residual_norm(dl):
        new = new_of(dl)[1]
        return jnp.abs(dl - new) / (1 + jnp.abs(new))

    rule = ONE_CLASS_RULE
    delta, _ = damped_then_newton(residual_norm, damped, newton, jnp.zeros((), dtype=jnp.float64), rule.damping, tol,
                                  rule.max_damped, rule.newton_steps)
    return delta


RIDGELESS = (1e-8, 2e-8)  # λ₁, λ₂ of the λ → 0+ extrapolation at τ = ∞


def _at_infinity(mod: _Model, ridge: float, tol: float):
    """τ = ∞: ((train, test, L_test(B̄), empirical), (F8) residual, extrapolation error in loss units).

    λ > 0: (F11), (F13), (F14) at D = λ. λ = 0: the flow from A = 0 tends to the minimum-norm minimiser, the
    λ → 0+ limit of the ridge minimiser, so the same closed forms at λ₁ and λ₂ = 2λ₁ are extrapolated
    linearly to λ = 0 (the losses are smooth in λ there, with slope O(1) in the units of the spectrum;
    error O(λ₁²), estimated as |L(λ₁) − L(0)|, which is O(λ₁) and so conservative). At N = p exactly the
    limit diverges, and the estimate says so."""
    if ridge > 0:
        *v, res = _losses_at_infinity(mod, ridge, tol)
        return tuple(v), res, 0.0
    (*v1, r1), (*v2, r2) = (_losses_at_infinity(mod, lr, tol) for lr in RIDGELESS)
    v1, v2 = np.array(v1), np.array(v2)
    v0 = 2 * v1 - v2
    return tuple(v0), max(r1, r2), float(np.max(np.abs(v1 - v0)))


def _spectrum_upper(mod: _Model) -> float:
    """An upper bound on ‖Û‖: Σ_c f_c ‖Σ_c‖ (1 + √(p/N_c))²."""
    s_max = [float(np.max(mod.S[c])) for c in range(2)]  # Σ_c is increasing in κ: its largest node value
    up = mod.f[0] * s_max[0] * (1 + np.sqrt(mod.psi_p / mod.psi_n)) ** 2
    if mod.m > 1:
        up += mod.f[1] * s_max[1] * (1 + np.sqrt(mod.psi_p / (mod.psi_n * (mod.m - 1)))) ** 2
    return float(up)


def _contour_losses(mod: _Model, tau, ridge, c_rate, contour, tol, shift):
    """(F12) on the finite τ (K,): train, test, L_test(B̄) of the noise-averaged readout (F14), the empirical
    test loss (F13) with the kernel (F15), and the largest (F8) residual on the contour."""
    z = contour.z - 0.5 * shift  # the contour of `make_contour` shifted so that it crosses at −shift/4
    dz = contour.dz
    P = _point(mod, -z, tol)
    Pc = _point(mod, -np.conj(z), tol)
    T = -P.Q1          # (1/d)tr V̂ᵀ(z − Û)⁻¹V̂
    Tx = -P.Qx         # (1/d)tr V₀ᵀ(z − Û)⁻¹V̂
    m_uu, m_ul = _Moments(mod, P, P), _Moments(mod, P, Pc)
    K_uu = _two_point(mod, P, P, "upop", m_uu)
    K_ul = _two_point(mod, P, Pc, "upop", m_ul)
    f, _ = flow_factor(tau, z, c_rate, ridge)
    h_train = z[None, :] * f**2 - 2 * f
    train = 1 + line_integral(h_train, T, dz)
    F = f * dz[None, :]

    def quad(kuu, kul):  # ∮∮ f(z₁)f(z₂) K(z₁, z₂) over the contour and its conjugate half
        return double_integral(F, kuu, kul)

    linear = 2 * line_integral(f, Tx, dz)
    test = 1 + quad(K_uu, K_ul) - linear
    mean_readout = 1 + quad(_two_point_cross(mod, P, P, "upop", m_uu), _two_point_cross(mod, P, Pc, "upop", m_ul)) - linear
    emp = 1 + quad(_two_point_shared(mod, P, P, m_uu) + _two_point(mod, P, P, "S1", m_uu),
                   _two_point_shared(mod, P, Pc, m_ul) + _two_point(mod, P, Pc, "S1", m_ul)) - linear
    return train, test, mean_readout, emp, float(max(P.residual.max(), Pc.residual.max()))


@float64
@dataclass(frozen=True)
class FiniteNoiseCurves(Trajectory):
    """d → ∞ losses with m frozen noise draws and ridge λ on a τ grid, each (K,) (F11)-(F12).

    ``noise_samples`` m (None: ∞), ``ridge`` λ. ``empirical_test_loss`` (F4) at d → ∞: (F13) with (F15) for
    finite m, at every τ; the train loss at m = ∞. ``bias2``, ``variance``:
    the split (F6) over the frozen noise draws, W and X fixed, at d → ∞ (F14): the test loss is
    ``l_min + bias2 + variance``; at m = ∞ nothing is resampled and the variance is 0. Status: ``converged`` ((F8) met ``tol`` at every
    shift and the two contours agree to 1e-3 Δ) and ``error`` (the two-contour difference of the
    losses, units of Δ; 0 where only τ = ∞ was asked, whose closed form (F11) needs no contour).
    """

    noise_samples: Optional[int] = None
    ridge: float = 0.0
    empirical_test_loss: Optional[np.ndarray] = None
    bias2: Optional[np.ndarray] = None
    variance: Optional[np.ndarray] = None
    l_min: float = float("nan")
    parameters: dict = field(default_factory=dict)
    diagnostics: dict = field(default_factory=dict)


@float64
@require_keyword
@options_from_keywords(contour=ContourRule, aliases={"kappa_nodes": ("contour", "measure_nodes")})
def finite_noise_curves(tau, *, psi_p: float, psi_n: float, t: float, noise_samples, ridge: float = 0.0,
                        activation="tanh", sigma=None, contour: ContourRule = FINITE_NOISE_CONTOUR,
                        throw: bool = True) -> FiniteNoiseCurves:
    """Train loss, test loss (L2) and score error (L3) at d → ∞ for m = ``noise_samples`` frozen noise
    draws per point and ridge λ = ``ridge``, on the τ grid ``tau`` (K,), inf allowed.

    ψ_p, ψ_n > 0, t > 0 the diffusion time, ``activation`` σ. ``contour``: a `ContourRule` (default
    `FINITE_NOISE_CONTOUR`: 3 panels per decade, ``measure_nodes`` = 400 κ nodes of (F7), (F8) to ``tol`` =
    1e-11, the two-contour check on). (Its fields as keywords, and ``kappa_nodes`` for ``measure_nodes``: the
    0.1 form, deprecated.)

    ``sigma``: Σ = σ_x² I only (a one-atom `SigmaSpectrum`); m: integer ≥ 1 or None/inf (then
    `asymptotic.asymptotic_curves` with the same ridge). Finite m with λ = 0: τ = ∞ is the λ → 0+ limit
    (``diagnostics['ridgeless_extrapolation']``, its error counted in ``converged``). The train loss is the
    data term of L_train^{(m)} (the ridge penalty excluded),
    theory/finite_noise_ridge.md.

    >>> import numpy as np
    >>> r = finite_noise_curves([np.inf], psi_p=8.0, psi_n=2.0, t=0.1, noise_samples=4, ridge=1e-3)
    >>> bool(r.converged), r.test_loss.shape
    (True, (1,))
    """
    throw = bool(throw)  # ``require=``, its former name, is read by `require_keyword` (one version)
    tau = check_tau(tau)
    psi_p = check_positive("psi_p", psi_p)
    psi_n = check_positive("psi_n", psi_n)
    m = check_noise_samples(noise_samples)
    ridge = check_ridge(ridge)
    theta, panels_per_decade, nodes_per_panel = contour.theta, contour.panels_per_decade, int(contour.nodes_per_panel)
    kappa_nodes, tol, check_quadrature = int(contour.measure_nodes), float(contour.tol), bool(contour.check_quadrature)
    sigma = ISOTROPIC if sigma is None else sigma
    sigma_x2 = sigma.single_eigenvalue
    if sigma_x2 is None:
        raise InputError("sigma_spectrum", "finite noise samples at d → ∞ need Σ = σ_x² I (a single atom, "
                                           "e.g. '4:1'); the row classes of (F7) do not commute otherwise")
    constants = ge_constants(t, activation, sigma)
    if m is None and np.all(np.isinf(tau)) and ridge > 0:
        tr, te, res = _losses_at_infinity_m_inf(psi_p, psi_n, constants, constants.alpha * sigma_x2, ridge, kappa_nodes, tol)
        lo = float(l_opt(sigma, constants.t))
        ok = bool(res < 1e3 * tol and np.isfinite(tr) and np.isfinite(te))
        if not ok and throw:
            raise ConvergenceError(f"(F11) at m = inf did not converge: residual {res:.2e}, psi_p={psi_p:g}, "
                                   f"psi_n={psi_n:g}, t={t:g}, ridge={ridge:g}")
        k = tau.size
        l_min = _l_min(_model(psi_p, psi_n, 1, constants, constants.alpha * sigma_x2, kappa_nodes))
        return FiniteNoiseCurves(tau=tau, train_loss=np.full(k, tr), test_loss=np.full(k, te),
                                 bias2=np.full(k, te - l_min), variance=np.zeros(k), l_min=l_min,
                                 score_error=np.full(k, (te - lo) / constants.delta_t), l_opt=lo, delta_t=constants.delta_t,
                                 noise_samples=None, ridge=ridge, empirical_test_loss=np.full(k, tr),
                                 parameters={"psi_p": psi_p, "psi_n": psi_n, "t": constants.t, "noise_samples": "inf",
                                             "ridge": ridge, "sigma_x": float(np.sqrt(sigma_x2)), **constants.public()},
                                 diagnostics={"equations": "(F11), m = inf", "f8_residual": res},
                                 converged=ok, error=0.0)
    if m is None:
        a = asymptotic_curves(tau, psi_p=psi_p, psi_n=psi_n, t=t, activation=activation, sigma=sigma, ridge=ridge,
                              throw=throw)
        l_min = _l_min(_model(psi_p, psi_n, 1, constants, constants.alpha * sigma_x2, kappa_nodes))
        return FiniteNoiseCurves(tau=a.tau, train_loss=a.train_loss, test_loss=a.test_loss,
                                 bias2=np.asarray(a.test_loss) - l_min, variance=np.zeros(np.size(a.tau)),
                                 l_min=l_min,
                                 score_error=a.score_error, l_opt=a.l_opt, delta_t=a.delta_t, noise_samples=None,
                                 ridge=ridge, empirical_test_loss=np.asarray(a.train_loss), parameters=dict(a.parameters, noise_samples="inf", ridge=ridge),
                                 diagnostics=dict(a.diagnostics, route="asymptotic_curves (m = inf)"),
                                 converged=a.converged, error=a.error)
    mod = _model(psi_p, psi_n, m, constants, constants.alpha * sigma_x2, kappa_nodes)
    l_min = _l_min(mod)
    c_rate = rate(constants.delta_t, psi_p)
    train = np.full(tau.size, np.nan)
    test = np.full(tau.size, np.nan)
    inf = np.isinf(tau)
    diagnostics = {"equations": "(F7)-(F14)", "kappa_nodes": kappa_nodes}
    mean_readout = np.full(tau.size, np.nan)
    emp = np.full(tau.size, np.nan)
    residual, extrapolation = 0.0, 0.0
    if np.any(inf):
        (tr_inf, te_inf, mr_inf, emp_inf), residual, extrapolation = _at_infinity(mod, ridge, tol)
        extrapolation /= constants.delta_t
        train[inf], test[inf], mean_readout[inf], emp[inf] = tr_inf, te_inf, mr_inf, emp_inf
        if ridge == 0:
            diagnostics["ridgeless_extrapolation"] = {"ridges": list(RIDGELESS), "error": extrapolation}
    err = 0.0
    if np.any(~inf):
        upper = _spectrum_upper(mod)
        # the crossing at −s/4: s = λ keeps Re(z + λ) ≥ 3λ/4; at λ = 0 (or a λ below it) s = 4/(cτ_max) keeps
        # |e^{−cτ(z+λ)}| ≤ e on the whole contour, which must enclose the zero modes of U^(m) when N < p
        shift = max(ridge, 4.0 / (c_rate * float(np.max(tau[~inf]))))
        x_left, x_right = 0.25 * shift, 1.5 * upper + 0.5 * shift  # z = ζ − s/2 crosses the real axis at −s/4
        gamma = make_contour(x_left, x_right, theta, panels_per_decade, nodes_per_panel)
        tr, te, mr, em, res = _contour_losses(mod, tau[~inf], ridge, c_rate, gamma, tol, shift)
        train[~inf], test[~inf], mean_readout[~inf], emp[~inf] = tr, te, mr, em
        residual = max(residual, res)
        diagnostics.update(contour=gamma.describe(), spectrum_upper=upper)
        if check_quadrature:
            n_ray = (gamma.z.size - 4 * nodes_per_panel) // nodes_per_panel
            other = make_contour(0.4 * shift, 2.0 * upper + 0.5 * shift, 0.35, panels_per_decade, nodes_per_panel,
                                 n_ray=n_ray + 2)
            mod2 = _model(psi_p, psi_n, m, constants, constants.alpha * sigma_x2, kappa_nodes + 64)
            tr2, te2, mr2, em2, res2 = _contour_losses(mod2, tau[~inf], ridge, c_rate, other, tol, shift)
            err = two_contour_error((tr, te, mr, em), (tr2, te2, mr2, em2), constants.delta_t)
            residual = max(residual, res2)
            diagnostics.update(quadrature_error=err, check_contour=other.describe())
    diagnostics["f8_residual"] = residual
    finite = bool(all(np.all(np.isfinite(x)) for x in (train, test, mean_readout, emp)))
    converged = bool(residual < 1e3 * tol and err < TWO_CONTOUR_TOL and extrapolation < 1e-3 and finite)
    if not converged:
        msg = (f"finite-noise curves not converged at psi_p={psi_p:g}, psi_n={psi_n:g}, t={t:g}, "
               f"noise_samples={m}, ridge={ridge:g}: (F8) residual {residual:.2e}, two-contour difference "
               f"{err:.2e} Δ{f', ridgeless extrapolation {extrapolation:.2e} Δ' if ridge == 0 else ''}"
               f"{'' if finite else ', non-finite losses'}")
        diagnostics["message"] = msg
        if throw:
            raise ConvergenceError(msg)
    lo = float(l_opt(sigma, constants.t))
    params = {"psi_p": psi_p, "psi_n": psi_n, "t": constants.t, "activation": getattr(activation, "name", activation),
              "noise_samples": m, "ridge": ridge, "sigma_x": float(np.sqrt(sigma_x2)), **constants.public()}
    return FiniteNoiseCurves(tau=tau, train_loss=train, test_loss=test, score_error=(test - lo) / constants.delta_t,
                             l_opt=lo, delta_t=constants.delta_t, noise_samples=m, ridge=ridge, empirical_test_loss=emp,
                             bias2=mean_readout - l_min, variance=test - mean_readout, l_min=l_min, parameters=params,
                             diagnostics=diagnostics, converged=converged, error=err)
