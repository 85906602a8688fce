"""Closed-form trajectories (D2)-(D4) at large p by block Lanczos, without a p×p eigendecomposition.

See theory/krylov.md. Every loss of (L1)-(L2) along (D2) is a d×d quadratic form in
f(U)V, e^{-cUτ}B(0)ᵀ and U_pop. With Q_M an orthonormal basis of the block Krylov space
K_M(U, [V, B(0)ᵀ]) (full reorthogonalisation) and the exact projections T = Q_MᵀUQ_M,
P = Q_MᵀU_popQ_M, the Ritz pairs (θ, Q_M S) of T replace (λ, Q) in (D3)-(D4). The
approximation is checked, not assumed: the losses on the user's τ grid are recomputed
as M grows and the run stops when successive curves agree to ``tol`` (in units of Δ,
the scale of the score error); at M = p, or when the space stops growing, it is exact.

Cost: M/b products U·(p×b) and U_pop·(p×b), b = d (2d with A(0)), and O(pM²) for the
orthogonalisation, against O(p³) for `eigensystem.eigensystem`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
from tqdm.auto import tqdm

from ..core.trajectory import Trajectory, check_tau
from .dynamics import check_A0, losses_with_init, losses_zero_init, mode_factors, rate
from ..core.errors import ConvergenceError, check_positive, check_positive_int
from .eigensystem import FiniteSizeMatrices

_DROP = 1e-12  # Krylov directions with residual norm below _DROP·‖U‖ are dropped (invariant subspace)


KRYLOV_ABOVE = 4096  # p from which the exact model uses block Lanczos instead of a dense p×p eigh (theory/krylov.md)

@dataclass(frozen=True)
class KrylovTrajectory(Trajectory):
    """A `Trajectory` from block Lanczos.

    krylov_dim: the dimension M used; residual: max over τ of the change of the train and
    test losses, in units of Δ, between the last two checks (an upper estimate of the error
    of the returned curve); converged: residual ≤ tol, or M = p / an invariant subspace
    (exact); history: ((M, residual), ...) at every check.
    """

    krylov_dim: int = 0
    residual: float = float("nan")
    converged: bool = False
    history: tuple = ()


class _Basis:
    """Growing orthonormal basis Q (p, M) with the projections T = QᵀUQ, P = QᵀU_popQ."""

    def __init__(self, p: int, cap: int):
        self.p, self.M = p, 0
        self.Q = np.empty((p, cap))
        self.T = np.empty((cap, cap))
        self.P = np.empty((cap, cap))

    def _grow(self, need: int) -> None:
        cap = self.Q.shape[1]
        if need <= cap:
            return
        new = min(self.p, max(need, 2 * cap))
        Q, T, P = np.empty((self.p, new)), np.empty((new, new)), np.empty((new, new))
        Q[:, :self.M], T[:self.M, :self.M], P[:self.M, :self.M] = (
            self.Q[:, :self.M], self.T[:self.M, :self.M], self.P[:self.M, :self.M])
        self.Q, self.T, self.P = Q, T, P

    def orthogonalise(self, Y: np.ndarray, passes: int = 2) -> np.ndarray:
        """Y minus its projection on span(Q) by classical Gram–Schmidt (twice is enough)."""
        Q = self.Q[:, :self.M]
        for _ in range(passes):
            Y = Y - Q @ (Q.T @ Y)
        return Y

    def append(self, Qj: np.ndarray, UQj: np.ndarray, UpQj: np.ndarray) -> None:
        j0, j1 = self.M, self.M + Qj.shape[1]
        self._grow(j1)
        self.Q[:, j0:j1] = Qj
        Q = self.Q[:, :j1]
        for A, X in ((self.T, UQj), (self.P, UpQj)):
            col = Q.T @ X
            A[:j1, j0:j1] = col
            A[j0:j1, :j1] = col.T
            A[j0:j1, j0:j1] = (col[j0:j1] + col[j0:j1].T) / 2
        self.M = j1


def _orthonormal(Y: np.ndarray, threshold: float) -> np.ndarray:
    """Orthonormal basis of the columns of Y with singular value > threshold, shape (p, r)."""
    A, s, _ = np.linalg.svd(Y, full_matrices=False)
    return A[:, s > threshold]


def _next_block(basis: _Basis, UQj: np.ndarray, norm_U: float, max_dim: int):
    """The next Krylov block from U Q_j, orthogonal to the basis; (block, invariant subspace reached)."""
    if basis.M >= max_dim:
        return UQj[:, :0], False
    Qj = _orthonormal(basis.orthogonalise(UQj), _DROP * norm_U)
    # one more pass after normalisation: dropping small directions amplified rounding
    Qj = _orthonormal(basis.orthogonalise(Qj, passes=1), 0.5)[:, :max_dim - basis.M]
    return Qj, Qj.shape[1] == 0


def _schedule(dim: int, block: int, every: int) -> int:
    """Next Krylov dimension at which to check: every ``every`` columns, and at least dim/4 later."""
    step = max(every, (dim // 4 // block) * block)
    return dim + step


def krylov_trajectory(m: FiniteSizeMatrices, n: int, tau, A0=None, *, tol: float = 1e-8,
                      max_dim: Optional[int] = None, check_every: Optional[int] = None,
                      progress: Optional[bool] = None) -> KrylovTrajectory:
    """Train loss (L1), test loss (L2), score error (L3) along (D2) by block Lanczos, shape (T,).

    m: finite-size matrices (exact (E1)-(E3) or (G4)-(G6)); n: number of training samples (only
    recorded, as in `eigensystem.eigensystem`); tau (T,) > 0, inf allowed; A0 (d, p) the
    initial readout (default 0). ``tol``: convergence tolerance on the losses in units of Δ;
    ``max_dim``: largest Krylov dimension (default p, where the method is exact; reaching a
    smaller one unconverged raises `ConvergenceError`); ``check_every``: columns between
    convergence checks (default 4 blocks); ``progress``: tqdm bar (default: p ≥ 4096).
    """
    tau = check_tau(tau)
    tol = check_positive("tol", tol)
    check_positive_int("n", n)
    U, V, U_pop, V_pop = (np.asarray(x, dtype=np.float64) for x in (m.U, m.V, m.U_pop, m.V_pop))
    p, d = V.shape
    max_dim = p if max_dim is None else min(check_positive_int("max_dim", max_dim), p)
    dl, c = m.delta_t, rate(m.delta_t, p / d)
    if A0 is None:
        B0t = None
    else:
        A0 = check_A0(A0, d, p)
        B0t = (A0 / np.sqrt(p)).T
    start = [V / np.linalg.norm(V)] + ([] if B0t is None or not np.any(B0t) else [B0t / np.linalg.norm(B0t)])
    block = d * len(start)
    every = check_positive_int("check_every", check_every) if check_every is not None else 4 * block
    norm_U = float(np.max(np.sum(np.abs(U), axis=1)))  # ‖U‖_∞ ≥ ‖U‖_2

    basis = _Basis(p, min(p, 8 * block))
    Qj = _orthonormal(np.concatenate(start, axis=1), _DROP)
    QV, QVp, QB = [], [], []
    history, prev, next_check = [], None, min(max_dim, every)
    show = p >= 4096 if progress is None else progress
    with tqdm(total=max_dim, desc=f"block Lanczos p={p}", unit="dim", disable=not show, leave=False) as bar:
        while True:
            UQj = U @ Qj
            basis.append(Qj, UQj, U_pop @ Qj)
            QV.append(Qj.T @ V)
            QVp.append(Qj.T @ V_pop)
            if B0t is not None:
                QB.append(Qj.T @ B0t)
            bar.update(Qj.shape[1])
            M = basis.M
            Qj, invariant = _next_block(basis, UQj, norm_U, max_dim)
            exact = M == p or invariant
            if M < next_check and not exact and M < max_dim:
                continue
            train, test = _ritz_losses(basis, np.concatenate(QV), np.concatenate(QVp),
                                       np.concatenate(QB) if QB else None, c, dl, d, tau)
            residual = 0.0 if exact else np.inf if prev is None else float(
                max(np.max(np.abs(train - prev[0])), np.max(np.abs(test - prev[1]))) / dl)
            history.append((M, residual))
            prev = (train, test)
            if residual <= tol:
                break
            if M >= max_dim:
                raise ConvergenceError(
                    f"block Lanczos did not converge: residual {residual:.2e} > tol = {tol:g} (units of Δ) at Krylov "
                    f"dimension {M} = max_dim (p = {p}, d = {d}, n = {n}, t = {m.t:g}); raise max_dim or tol")
            next_check = min(max_dim, _schedule(M, block, every))
    l_opt = m.l_opt
    return KrylovTrajectory(tau=tau, train_loss=train, test_loss=test, score_error=(test - l_opt) / dl,
                            l_opt=l_opt, delta_t=dl, krylov_dim=M, residual=residual, converged=True,
                            history=tuple(history))


def _ritz_losses(basis: _Basis, QV, QVp, QB, c, dl, d, tau):
    """(D3)-(D4) with the Ritz pairs of T = QᵀUQ in place of U's eigenpairs."""
    M = basis.M
    T, P = basis.T[:M, :M], basis.P[:M, :M]
    theta, S = np.linalg.eigh(T)
    vt, vpt = S.T @ QV, S.T @ QVp
    upt = S.T @ P @ S
    if QB is None:
        return losses_zero_init(theta, vt, vpt, upt, c, d, tau)
    return losses_with_init(theta, vt, vpt, upt, S.T @ QB, c, dl, d, tau)


# ----------------------------------------------------------------------------- readouts (theory/generation.md §1)
@dataclass(frozen=True)
class KrylovReadouts:
    """Readouts B(τ) = A(τ)/√p of (D2) with A(0) = 0 from block Lanczos, shape (T, d, p).

    krylov_dim: M used; residual: max over τ of ‖B_M - B_prev‖_F/‖B_M‖_F between the last two
    checks; lambda_min: the smallest Ritz value of U (an upper bound on λ_min(U)); history:
    ((M, residual), ...).
    """

    B: np.ndarray
    krylov_dim: int
    residual: float
    lambda_min: float
    history: tuple = ()


def krylov_readouts(m: FiniteSizeMatrices, tau, *, tol: float = 1e-10, max_dim: Optional[int] = None,
                    check_every: Optional[int] = None) -> KrylovReadouts:
    """B(τ)ᵀ = -(1/√Δ) g_τ(U) V ≈ -(1/√Δ) Q_M g_τ(T) Q_MᵀV on K_M(U, V), for every τ (inf allowed).

    The same basis as `krylov_trajectory` (full reorthogonalisation, exact projection
    T = Q_MᵀUQ_M), grown until the readouts change by at most ``tol`` (relative Frobenius
    norm, every τ) between checks; exact at M = p or on an invariant subspace. Reaching
    ``max_dim`` unconverged raises ConvergenceError. No p×p eigendecomposition: cost
    ≈ 2p²M + 3pM² plus one M×M eigendecomposition per check.
    """
    tau = check_tau(tau)
    tol = check_positive("tol", tol)
    U, V = np.asarray(m.U, dtype=np.float64), np.asarray(m.V, dtype=np.float64)
    p, d = V.shape
    max_dim = p if max_dim is None else min(check_positive_int("max_dim", max_dim), p)
    dl, c = m.delta_t, rate(m.delta_t, p / d)
    every = check_positive_int("check_every", check_every) if check_every is not None else 4 * d
    norm_U = float(np.max(np.sum(np.abs(U), axis=1)))
    basis = _Basis(p, min(p, 8 * d))
    Qj = _orthonormal(V / np.linalg.norm(V), _DROP)
    QV, history, prev, next_check = [], [], None, min(max_dim, every)
    while True:
        UQj = U @ Qj
        basis.append(Qj, UQj, UQj)  # the second projection (U_pop in krylov_trajectory) is not needed here
        QV.append(Qj.T @ V)
        M = basis.M
        Qj, invariant = _next_block(basis, UQj, norm_U, max_dim)
        exact = M == p or invariant
        if M < next_check and not exact and M < max_dim:
            continue
        theta, S = np.linalg.eigh(basis.T[:M, :M])
        if theta[0] <= 0:
            raise ConvergenceError(f"U is not positive definite (Ritz value {theta[0]:.3g} at Krylov dimension {M}, "
                                   f"p = {p}, d = {d}, t = {m.t:g})")
        f, _ = mode_factors(theta, c, tau)  # (T, M)
        coef = -np.einsum("tk,kd,mk->tdm", f, S.T @ np.concatenate(QV), S, optimize=True) / np.sqrt(dl)
        B = coef @ basis.Q[:, :M].T  # (T, d, p)
        if exact:
            residual = 0.0
        elif prev is None:
            residual = np.inf
        else:
            num = np.sqrt(np.sum((B - prev) ** 2, axis=(1, 2)))
            den = np.maximum(np.sqrt(np.sum(B**2, axis=(1, 2))), np.finfo(float).tiny)
            residual = float(np.max(num / den))
        history.append((M, residual))
        prev = B
        if residual <= tol:
            return KrylovReadouts(B=B, krylov_dim=M, residual=residual, lambda_min=float(theta[0]),
                                  history=tuple(history))
        if M >= max_dim:
            raise ConvergenceError(f"block Lanczos readouts did not converge: residual {residual:.2e} > tol = {tol:g} "
                                   f"at Krylov dimension {M} = max_dim (p = {p}, d = {d}, t = {m.t:g}); raise max_dim "
                                   f"or tol")
        next_check = min(max_dim, _schedule(M, d, every))
