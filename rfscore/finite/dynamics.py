"""Closed-form gradient-flow trajectories (D2)-(D4), (L3) from one eigendecomposition.

See theory/dynamics.md. With c = 2Δ/ψ_p, U = Q diag(λ) Qᵀ, ṽ_k = (QᵀV)_k and
f_k(τ) = -expm1(-c λ_k τ)/λ_k, for A(0) = 0:

    (D3) L_train(τ) = 1 - (1/d) Σ_k ‖ṽ_k‖² (1 - e^{-2cλ_kτ})/λ_k
    (D4) L_test(τ)  = 1 + (1/d) fᵀ K f - (2/d) Σ_k f_k ṽ_k·ṽ_pop,k,   K = (QᵀU_popQ) ∘ (ṼṼᵀ)
    (L3) E_score    = (L_test - L_opt)/Δ,   L_opt = 1 - Δ Tr(Σ_t^{-1})/d

τ is the training time of theory/model.md §4 (dA/dτ = -d² ∇_A L_train); τ = inf is allowed.

Ridge λ ≥ 0 (theory/finite_noise_ridge.md (F2)-(F3)): the flow runs on U + λI, so the mode factors
use λ_k + λ while the (unpenalised) losses keep λ_k; ``ridge=0`` is the code path of today.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import jax.numpy as jnp
import numpy as np

from ..core.constants import rate
from ..core.deprecation import renamed_fields, renamed_keywords
from ..core.errors import InputError, check_ridge
from ..core.trajectory import Trajectory, check_tau
from .eigensystem import Eigensystem
from ..core.precision import float64


@float64
@renamed_fields(c="rate")
@dataclass(frozen=True)
class Modes:
    """Per-mode decomposition of (D3): L_train(τ) = 1 - Σ_k weight_k (1 - e^{-τ/timescale_k}).

    eigenvalue λ_k (k,), timescale ψ_p/(2Δλ_k) (each mode's relaxation time of B, (D2)),
    weight ‖ṽ_k‖²/(d λ_k) (its total contribution to the train-loss drop), rate c = 2Δ_t/ψ_p of (D1)
    (``c`` before 0.2.0), ridge λ >= 0 of (F2)-(F3).
    The train-loss factor decays as e^{-2cλτ} = e^{-τ/(timescale/2)}.
    """

    eigenvalue: np.ndarray
    timescale: np.ndarray
    weight: np.ndarray
    rate: float
    ridge: float = 0.0

    def timescale_spectrum(self, tau) -> np.ndarray:
        """-dL_train/d log τ = (2cτ/d) Σ_k ‖ṽ_k‖² e^{-2cλ_kτ}, exactly, shape of ``tau``.

        With a ridge λ (theory/finite_noise_ridge.md (F3)): (2cτ/d) Σ_k ‖ṽ_k‖² e_k (λ + λ_k e_k)/(λ_k + λ),
        e_k = e^{-c(λ_k+λ)τ}, the derivative of the unpenalised train loss along the penalised flow.
        """
        tau = np.asarray(tau, dtype=np.float64)
        eigvals = self.eigenvalue[None, :]
        if self.ridge == 0:
            x = 2.0 * self.rate * eigvals * tau.reshape(-1, 1)
            return ((x * np.exp(-x)) @ self.weight).reshape(tau.shape)
        ct = self.rate * tau.reshape(-1, 1)
        e = np.exp(-ct * (eigvals + self.ridge))
        return ((2.0 * ct * eigvals * e * (self.ridge + eigvals * e) / (eigvals + self.ridge)) @ self.weight).reshape(tau.shape)


@float64
def check_A0(A0, d: int, p: int) -> np.ndarray:
    """Validate an initial readout A(0): finite, shape (d, p); returns it as float64 NumPy."""
    A0 = np.asarray(A0, dtype=np.float64)
    if A0.shape != (d, p):
        raise InputError("A0", f"must have shape (d, p) = {(d, p)}, got {A0.shape}")
    if not np.all(np.isfinite(A0)):
        raise InputError("A0", "contains non-finite values")
    return A0


def _flow_eigvals(eigvals, ridge: float):
    """Eigenvalues of the flow's matrix U + λI (F3); ``lam`` itself when λ = 0 (bit-identical path)."""
    return eigvals if ridge == 0 else np.asarray(eigvals, dtype=np.float64) + ridge


@float64
def modes(es: Eigensystem, ridge: float = 0.0) -> Modes:
    """The exact per-mode decomposition of the train loss (D3); ``ridge`` λ: the modes of U + λI (F3).

    A null mode (λ_k = 0, hence ṽ_k = 0, theory/dynamics.md §3 "Null modes") has weight 0 and
    timescale inf: it never moves.
    """
    ridge = check_ridge(ridge)
    eigvals = np.asarray(es.eigvals)
    c_rate = rate(es.delta_t, es.psi_p)
    vv = np.sum(np.asarray(es.vt) ** 2, axis=1)
    pos = eigvals > 0
    safe = np.where(pos, eigvals, 1.0)
    weight = np.where(vv > 0, vv / (es.d * safe), 0.0)
    timescale = np.where(pos, 1.0 / (c_rate * (safe + ridge)), np.inf)
    return Modes(eigenvalue=eigvals, timescale=timescale, weight=weight, rate=c_rate, ridge=ridge)


@float64
@renamed_keywords(lam="eigvals", c="rate")
def mode_factors(eigvals, rate, tau):
    """f_k(τ) = -expm1(-cλ_kτ)/λ_k and e_k(τ) = e^{-cλ_kτ} of (D2), each shape (T, k).

    eigvals (k,): the eigenvalues λ_k of the flow's matrix (U, or U + λI with a ridge); rate: c = 2Δ_t/ψ_p of
    (D1) (1/units of τ); tau (T,) > 0, inf allowed. (``lam``, ``c``: the names before 0.2.0.)

    The one implementation of the mode factors: the losses (D3)-(D4), the readouts A(τ) and the
    Krylov paths all use it. τ = inf gives f = 1/λ_k, e = 0 (the ridge-less minimiser).
    λ_k = 0 gives the limit f = cτ, e = 1 (f = inf, e = 1 at τ = inf), with no 0/0
    (theory/dynamics.md §3, "Null modes").
    """
    eigvals = np.asarray(eigvals, dtype=np.float64)
    tau = np.asarray(tau, dtype=np.float64)
    inf = np.isinf(tau)[:, None]
    zero = (eigvals == 0)[None, :]
    safe = np.where(eigvals == 0, 1.0, eigvals)[None, :]  # keeps the unused branch of np.where free of 0/0
    tau_f = np.where(np.isinf(tau), 0.0, tau)[:, None]
    f = np.where(zero, rate * tau_f, -np.expm1(-rate * safe * tau_f) / safe)
    f = np.where(inf, np.where(zero, np.inf, 1.0 / safe), f)
    e = np.where(inf & ~zero, 0.0, np.exp(-rate * eigvals[None, :] * tau_f))
    return f, e


def _moving(f, vt):
    """f with the columns of modes with ṽ_k = 0 set to 0, shape (T, k).

    f_k enters B(τ) only through f_k ṽ_k (D2), so this is exact, and it removes the inf·0 of a
    null mode at τ = inf: such a mode contributes nothing (theory/dynamics.md §3, "Null modes").
    """
    return np.where(np.any(np.asarray(vt) != 0, axis=1)[None, :], f, 0.0)


@float64
@renamed_keywords(lam="eigvals")
def readouts(eigvals, Q, vt, *, delta_t: float, psi_p: float, tau, ridge: float = 0.0) -> np.ndarray:
    """B(τ) = A(τ)/√p = -(1/√Δ) Vᵀ Q diag(f(τ)) Qᵀ of (D2) with A(0) = 0, for every τ, shape (T, d, p).

    eigvals (k,) the eigenvalues λ_k of U, Q (p, k), vt = QᵀV (k, d). τ = inf is the minimiser -VᵀU^{-1}/√Δ of (L1); with
    ``ridge`` λ > 0, f uses λ_k + λ (F3) and τ = inf is the ridge minimiser -Vᵀ(U + λI)^{-1}/√Δ (F2).
    """
    tau = check_tau(tau)
    ridge = check_ridge(ridge)
    f, _ = mode_factors(_flow_eigvals(eigvals, ridge), rate(delta_t, psi_p), tau)  # (T, k)
    f = _moving(f, vt)
    return -np.einsum("tk,kd,pk->tdp", f, np.asarray(vt), np.asarray(Q), optimize=True) / np.sqrt(delta_t)


# The two loss kernels below are plain NumPy on purpose. Under jax.jit, XLA:CPU (jax 0.10.2)
# fused `upop_t * (vt @ vt.T)` into the following dot and returned wrong test losses (errors of
# O(1) in E_score, negative score errors) once T·k was large (k = 180, T ≥ 200);
# tests/test_dynamics.py::test_score_error_nonnegative_on_long_grids guards against it. NumPy is
# as fast here (two BLAS products) and needs no per-shape compilation.
@float64
@renamed_keywords(lam="eigvals", c="rate")
def losses_zero_init(eigvals, vt, vpop_t, upop_t, rate, d, tau, ridge: float = 0.0):
    """(D3), (D4) for A(0) = 0: one k×k Hadamard product, then O(T k²).

    eigvals (k,) the eigenvalues λ_k of U; vt = QᵀV (k, d), vpop_t = QᵀV_pop (k, d), upop_t = QᵀU_pop Q (k, k);
    rate c = 2Δ_t/ψ_p (D1); d the dimension; tau (T,). ``ridge`` λ: the flow's factors f use λ_k + λ, the train
    loss keeps λ_k (F3). Returns (train (T,), test (T,)).
    """
    f, _ = mode_factors(_flow_eigvals(eigvals, ridge), rate, tau)
    f = _moving(f, vt)
    vv = np.sum(vt**2, axis=1)
    train = 1.0 + (f**2 * eigvals - 2 * f) @ vv / d
    K = upop_t * (vt @ vt.T)
    test = 1.0 + np.sum((f @ K) * f, axis=1) / d - 2 * f @ np.sum(vt * vpop_t, axis=1) / d
    return train, test


@float64
@renamed_keywords(lam="eigvals", c="rate", dl="delta_t")
def losses_with_init(eigvals, vt, vpop_t, upop_t, y, rate, delta_t, d, tau, ridge: float = 0.0):
    """(L1), (L2) along (D2) with B(0) ≠ 0; y = (B(0) Q)ᵀ (k, d); delta_t Δ_t; the other arguments and ``ridge``
    as in `losses_zero_init` (F3)."""
    f, e = mode_factors(_flow_eigvals(eigvals, ridge), rate, tau)
    f = _moving(f, vt)
    vv = np.sum(vt**2, axis=1)
    vy = np.sum(vt * y, axis=1)
    yy = np.sum(y**2, axis=1)
    sq = np.sqrt(delta_t)
    train = 1.0 + (f**2 * eigvals - 2 * f) @ vv / d + (2 * sq * e * (1 - eigvals * f)) @ vy / d + delta_t * (e**2 * eigvals) @ yy / d
    # B(τ) q_k = -(f_k/√Δ) ṽ_k + e_k y_k, so Δ·B U_pop Bᵀ has the three Hadamard blocks below.
    K_vv = upop_t * (vt @ vt.T)
    K_vy = upop_t * (vt @ y.T)
    K_yy = upop_t * (y @ y.T)
    quad = (np.sum((f @ K_vv) * f, axis=1) - 2 * sq * np.sum((f @ K_vy) * e, axis=1)
            + delta_t * np.sum((e @ K_yy) * e, axis=1))
    test = 1.0 + quad / d - 2 * f @ np.sum(vt * vpop_t, axis=1) / d + 2 * sq * e @ np.sum(vpop_t * y, axis=1) / d
    return train, test


@float64
def trajectory(es: Eigensystem, tau, A0: Optional[jnp.ndarray] = None, *, ridge: float = 0.0) -> Trajectory:
    """Train loss (L1), test loss (L2) and score error (L3) along the flow (D2), shape (T,).

    ``tau`` (T,) > 0 (inf allowed: the ridge-less minimiser). ``A0`` (d, p) is the initial
    readout (default 0). On a thin eigensystem (``es.complete`` False) the part of B(0)
    outside span(Q) relaxes on the single rate c·(s_t² + λ) and is added exactly.
    ``ridge`` λ ≥ 0: flow on the penalised loss (F2)-(F3); the train loss reported is the
    unpenalised data loss (L1), τ = inf the ridge minimiser. λ = 0 is today's computation.
    After the eigendecomposition every τ costs O(k²) (k = number of kept modes).
    """
    tau = check_tau(tau)
    ridge = check_ridge(ridge)
    c_rate = rate(es.delta_t, es.psi_p)
    eigvals, vt, vpop_t, upop_t = (np.asarray(x) for x in (es.eigvals, es.vt, es.vpop_t, es.upop_t))
    if A0 is None:
        train, test = losses_zero_init(eigvals, vt, vpop_t, upop_t, c_rate, es.d, tau, ridge)
    else:
        B0 = check_A0(A0, es.d, es.p) / np.sqrt(es.p)
        y = np.asarray((B0 @ es.Q).T)  # rows: B(0) q_k
        train, test = losses_with_init(eigvals, vt, vpop_t, upop_t, y, c_rate, es.delta_t, es.d, tau, ridge)
        if not es.complete:
            # Omitted modes: λ = s_t², no V weight, U_pop = (v_t² + s_t²) I there, uncoupled.
            rest = max(float(np.sum(B0**2) - np.sum(y**2)), 0.0)
            # e^{-2c (s_t² + λ) τ}; s_t² + λ = 0 (linear σ, no ridge) never decays, also not at τ = inf
            flow = es.rest_eigval + ridge
            decay = np.where(np.isinf(tau) & (flow > 0), 0.0,
                             np.exp(-2 * c_rate * flow * np.where(np.isinf(tau), 0.0, tau)))
            train = train + es.delta_t * es.rest_eigval * rest * decay / es.d
            test = test + es.delta_t * es.rest_upop * rest * decay / es.d
    train, test = np.asarray(train), np.asarray(test)
    return Trajectory(tau=tau, train_loss=train, test_loss=test, score_error=(test - es.l_opt) / es.delta_t,
                      l_opt=es.l_opt, delta_t=es.delta_t)


@float64
def readout(es: Eigensystem, tau: float, A0=None, *, ridge: float = 0.0) -> np.ndarray:
    """A(τ) of (D2), shape (d, p) (A = √p B); needs a complete eigensystem if A0 is given.

    ``ridge`` λ ≥ 0: the flow on U + λI (F2)-(F3); τ = inf gives A = -√p Vᵀ(U + λI)^{-1}/√Δ.
    """
    tau = check_tau(tau)[:1]
    ridge = check_ridge(ridge)
    if A0 is not None and not es.complete:
        raise InputError("A0", "readout with a non-zero A(0) needs the full eigensystem (pass thin=False)")
    Q = np.asarray(es.Q)
    B = readouts(es.eigvals, Q, es.vt, delta_t=es.delta_t, psi_p=es.psi_p, tau=tau, ridge=ridge)[0]
    if A0 is not None:
        A0 = check_A0(A0, es.d, es.p)
        _, e = mode_factors(_flow_eigvals(es.eigvals, ridge), rate(es.delta_t, es.psi_p), tau)
        B = B + ((A0 / np.sqrt(es.p)) @ Q * e) @ Q.T
    return B * np.sqrt(es.p)
