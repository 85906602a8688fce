"""Closed-form trajectories (D2)-(D4) at large p by block Lanczos, without a p×p eigendecomposition.

See theory/krylov.md. Every loss of (L1)-(L2) along (D2) is a d×d quadratic form in
f(U)V, e^{-cUτ}B(0)ᵀ and U_pop. With Q_M an orthonormal basis of the block Krylov space
K_M(U, [V, B(0)ᵀ]) (full reorthogonalisation) and the exact projections T = Q_MᵀUQ_M,
P = Q_MᵀU_popQ_M, the Ritz pairs (θ, Q_M S) of T replace (λ, Q) in (D3)-(D4). The
approximation is checked, not assumed: at every check an a-posteriori bound (K1)-(K3) on the
error of the losses, in units of Δ, is computed from the Ritz residuals and a certified lower
bound on λ_min(U) (theory/krylov.md §5), and the run stops once it is below ``tol``.

Cost: M/b products U·(p×b) and U_pop·(p×b), b = d (2d with A(0)), O(pM²) for the
orthogonalisation and the U_pop Gram matrix, one M×M eigendecomposition per check, and one or a
few Cholesky factorisations of U - μI (p³/3 each) for the lower bound, against O(p³) (≈ 26p³/3)
for `eigensystem.eigensystem`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple, Optional

import numpy as np
from scipy.linalg import lapack
from tqdm.auto import tqdm

from ..core.trajectory import Trajectory, check_tau
from .dynamics import check_A0, losses_with_init, losses_zero_init, mode_factors, rate
from ..core.errors import ConvergenceError, InputError, check_positive, check_positive_int, check_ridge
from .eigensystem import FiniteSizeMatrices
from ..core.precision import float64
from ..core.deprecation import options_from_keywords, renamed_keywords, require_keyword
from ..core.status import HasStatus

_DROP = 1e-12  # Krylov directions with residual norm below _DROP·‖U‖ are dropped (invariant subspace)
_EPS = np.finfo(float).eps


KRYLOV_ABOVE = 4096  # p from which the exact model uses block Lanczos instead of a dense p×p eigh (theory/krylov.md)
SOLVERS = ("auto", "eigh", "krylov")


@float64
def choose_solver(solver: str = "auto", *, p: int, model: str = "exact", krylov_above: int = KRYLOV_ABOVE) -> str:
    """The one rule between the dense eigendecomposition and block Lanczos (theory/krylov.md).

    solver: 'auto', 'eigh' or 'krylov'; an explicit 'eigh' or 'krylov' is returned unchanged. 'auto' gives
    'krylov' for the exact model from ``p >= krylov_above`` features on (default 4096, where a dense p×p
    eigh costs more than the Lanczos basis), else 'eigh' (the Gaussian-equivalent model has its thin SVD).
    p: number of features (int >= 1); model: 'exact' or 'gep'. Every caller that decides (the command
    line's dynamics, realdata and memory estimates, the score model of generation) goes through here.
    """
    if solver not in SOLVERS:
        raise InputError("solver", f"must be one of {', '.join(SOLVERS)}, got {solver!r}")
    if solver != "auto":
        return solver
    return "krylov" if model == "exact" and int(p) >= int(krylov_above) else "eigh"


@float64
@dataclass(frozen=True)
class KrylovTrajectory(Trajectory):
    """A `Trajectory` from block Lanczos.

    ``error`` (inherited): the a-posteriori bound (K3) on the error of the train and test losses,
    max over τ, in units of Δ; ``error_tau`` (T,): the same per τ; ``converged``: error ≤ tol.
    krylov_dim: the dimension M used; lambda_lower: the certified lower bound on λ_min(U) used
    by the bound (0 if none was certified); tol: the tolerance; history: ((M, error), ...) at
    every check. At M = p the basis is complete and the result exact up to rounding: converged,
    whatever the (then rounding-dominated) bound says.
    """

    krylov_dim: int = 0
    error_tau: np.ndarray = field(default_factory=lambda: np.zeros(0))
    lambda_lower: float = 0.0
    tol: float = float("nan")
    history: tuple = ()

    @property
    def residual(self) -> float:
        """The error bound (``error``): kept under its former name."""
        return self.error


class _Basis:
    """Growing orthonormal basis Q (p, M) with the projections T = QᵀUQ, P = QᵀU_popQ.

    With ``pop`` it also keeps U_pop Q (p, M), the Gram matrix G = (U_popQ)ᵀ(U_popQ) and
    (U_popQ)ᵀV_pop, which the test-loss bound (K3) needs.
    """

    def __init__(self, p: int, cap: int, pop: bool = False):
        self.p, self.M, self.pop = p, 0, pop
        self.Q = np.empty((p, cap))
        self.T = np.empty((cap, cap))
        self.P = np.empty((cap, cap))
        if pop:
            self.UpQ, self.G = np.empty((p, cap)), np.empty((cap, cap))

    def _grow(self, need: int) -> None:
        cap = self.Q.shape[1]
        if need <= cap:
            return
        new = min(self.p, max(need, 2 * cap))
        M = self.M
        Q, T, P = np.empty((self.p, new)), np.empty((new, new)), np.empty((new, new))
        Q[:, :M], T[:M, :M], P[:M, :M] = self.Q[:, :M], self.T[:M, :M], self.P[:M, :M]
        self.Q, self.T, self.P = Q, T, P
        if self.pop:
            UpQ, G = np.empty((self.p, new)), np.empty((new, new))
            UpQ[:, :M], G[:M, :M] = self.UpQ[:, :M], self.G[:M, :M]
            self.UpQ, self.G = UpQ, G

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
        pairs = [(self.T, Q, UQj), (self.P, Q, UpQj)]
        if self.pop:
            self.UpQ[:, j0:j1] = UpQj
            pairs.append((self.G, self.UpQ[:, :j1], UpQj))
        for A, L, X in pairs:
            col = L.T @ X
            A[:j1, j0:j1] = col
            A[j0:j1, :j1] = col.T
            A[j0:j1, j0:j1] = (col[j0:j1] + col[j0:j1].T) / 2
        self.M = j1


def _orthonormal(Y: np.ndarray, threshold: float) -> np.ndarray:
    """Orthonormal basis of the columns of Y with singular value > threshold, shape (p, r)."""
    A, s, _ = np.linalg.svd(Y, full_matrices=False)
    return A[:, s > threshold]


def _next_block(basis: _Basis, Y: np.ndarray, norm_U: float, room: int):
    """The next Krylov block from the residual Y = (I - QQᵀ)UQ_j (at most ``room`` columns) and the
    squared Frobenius norm of the part of Y it leaves out (dropped directions, rounding)."""
    if room <= 0:
        return Y[:, :0], float(np.sum(Y**2))
    Qj = _orthonormal(Y, _DROP * norm_U)
    # one more pass after normalisation: dropping small directions amplified rounding
    Qj = _orthonormal(basis.orthogonalise(Qj, passes=1), 0.5)[:, :room]
    return Qj, float(np.sum((Y - Qj @ (Qj.T @ Y)) ** 2))  # directly: a difference of norms would cancel


def _schedule(dim: int, block: int, every: int) -> int:
    """Next Krylov dimension at which to check: every ``every`` columns, and at least dim/4 later."""
    step = max(every, (dim // 4 // block) * block)
    return dim + step


class _Check(NamedTuple):
    """A check point of the block Lanczos loop: dimension M, width of the last block, its residual
    Y = (I - QQᵀ)UQ_J (p, b), the Ritz pairs (θ (M,), S (M, M)) of T = QᵀUQ, the norm η of the earlier
    blocks' dropped residuals and rounding, and whether the basis cannot grow further."""
    M: int
    b_last: int
    Y: np.ndarray
    theta: np.ndarray
    S: np.ndarray
    eta: float
    at_end: bool


def _block_lanczos(U, Qj, basis: _Basis, *, second, max_dim: int, block: int, every: int, norm_U: float,
                   on_block):
    """The one block Lanczos loop (theory/krylov.md §2): grows ``basis`` from the orthonormal block Qj by
    products with U (and ``second``, the matrix of the basis's second projection: U_pop, or None for U
    itself), full reorthogonalisation, and yields a `_Check` every ``every`` columns (then at least M/4
    later) and at the end; the caller stops iterating once its bound is met. ``on_block(Qj)`` sees every
    new block (the caller's projections, a progress bar)."""
    next_check, drop_sq = min(max_dim, every), 0.0
    while True:
        UQj = U @ Qj
        basis.append(Qj, UQj, UQj if second is None else second @ Qj)
        on_block(Qj)
        M, b_last = basis.M, Qj.shape[1]
        Y = basis.orthogonalise(UQj)  # residual (I - QQᵀ)UQ_J of the last block
        Qn, lost = _next_block(basis, Y, norm_U, max_dim - M)
        at_end = M >= max_dim or Qn.shape[1] == 0
        if M < next_check and not at_end:
            drop_sq += lost
            Qj = Qn
            continue
        theta, S = np.linalg.eigh(basis.T[:M, :M])
        eta = np.sqrt(drop_sq) + _EPS * norm_U * np.sqrt(M)  # earlier blocks' residual; rounding of UQ - QT
        yield _Check(M, b_last, Y, theta, S, eta, at_end)
        if at_end:
            return
        drop_sq += lost
        Qj = Qn
        next_check = min(max_dim, _schedule(M, block, every))


# ----------------------------------------------------------------------------- the bound (theory/krylov.md §5)
@float64
def certified_lower_bound(U, mu: float) -> float:
    """A certified lower bound on λ_min(U) from a Cholesky factorisation of U - μI, or 0.0 if it fails.

    If LAPACK's Cholesky of A = U - μI runs to completion, the computed factor R is the exact
    factor of A + δA with ‖δA‖₂ ≤ γ_{p+1}‖R‖_F² (γ_k = kε/(1-kε)), so λ_min(U) ≥ μ - γ_{p+1}‖R‖_F²
    - ε(max_i |U_ii| + μ) (the last term: rounding of the shift) (K4). U (p, p) symmetric, μ > 0.
    """
    U = np.asarray(U, dtype=np.float64)
    p = U.shape[0]
    A = np.array(U, order="F", copy=True)
    A[np.diag_indices(p)] -= mu
    R, info = lapack.dpotrf(A, lower=1, overwrite_a=1, clean=1)
    if info != 0:
        return 0.0
    gamma = (p + 1) * _EPS / (1 - (p + 1) * _EPS)
    slack = gamma * float(np.sum(R**2)) + _EPS * (float(np.max(np.abs(np.diag(U)))) + mu)
    return max(mu - slack, 0.0)


class _LowerBound:
    """The best certified λ_lo ≤ λ_min(U) so far; tries shifts μ = θ_min/2, /8, /32 when asked (K4)."""

    def __init__(self, U, attempts: int = 4):
        self.U, self.value, self.left, self.tried = U, 0.0, attempts, set()

    def improve(self, theta_min: float) -> bool:
        """Try to certify ≥ θ_min/2 (θ_min: smallest Ritz value, an upper bound on λ_min); True if improved."""
        if not theta_min > 0 or self.value >= theta_min / 4:
            return False
        for mu in (theta_min / 2, theta_min / 8, theta_min / 32):
            if mu <= self.value or self.left <= 0:
                break
            key = float(f"{mu:.3e}")
            if key in self.tried:
                continue
            self.tried.add(key)
            self.left -= 1
            got = certified_lower_bound(self.U, mu)
            if got > self.value:
                self.value = got
                return True
        return False


def _coefficient_norms(theta, vt, y, C, rate, delta_t, s):
    """‖C Ỹ(s)‖_F and ‖Ỹ(s)‖_F for the Ritz coefficients Ỹ_k(s) = -f_k(s) ṽ_k/√Δ + e_k(s) y_k, each (S,).

    theta (M,), vt (M, d), y (M, d) or None, C (b, M), s (S,) training times (inf allowed). Ỹ is
    never formed: C Ỹ(s) = -(C∘ṽ) f(s)/√Δ + (C∘y) e(s), in chunks of s.
    """
    f, e = mode_factors(theta, rate, s)  # (S, M)
    sq = np.sqrt(delta_t)
    b, (M, d) = C.shape[0], vt.shape
    CV = (C[:, :, None] * vt[None]).transpose(1, 0, 2).reshape(M, b * d)
    CY = None if y is None else (C[:, :, None] * y[None]).transpose(1, 0, 2).reshape(M, b * d)
    vv = np.sum(vt**2, axis=1) / delta_t
    yn = np.zeros(M) if y is None else np.sum(y**2, axis=1)
    vy = np.zeros(M) if y is None else np.sum(vt * y, axis=1) / sq
    norm_c = np.empty(s.size)
    step = max(1, int(2e7 // max(b * d, 1)))
    for i in range(0, s.size, step):
        Z = -(f[i:i + step] @ CV) / sq
        if CY is not None:
            Z = Z + e[i:i + step] @ CY
        norm_c[i:i + step] = np.sqrt(np.sum(Z**2, axis=1))
    norm_y = np.sqrt(np.maximum(f**2 @ vv - 2 * (f * e) @ vy + e**2 @ yn, 0.0))
    return norm_c, norm_y


@float64
@renamed_keywords(c="rate", dl="delta_t", lam_lo="eigval_lower")
def readout_error_bound(theta, S_last, H, eta, vt, y, rate, delta_t, eigval_lower, tau, per_decade: int = 24):
    """(K1)-(K2): ε(τ) ≥ ‖B(τ)ᵀ - B_M(τ)ᵀ‖_F for every τ (T,), and the residual norms ‖Res·Y(τ)‖_F (T,).

    theta (M,) Ritz values; S_last (b, M) the last block's rows of the Ritz vectors S; H (b, b)
    the Gram matrix of the last block's residual (I - QQᵀ)UQ_J; eta ≥ the spectral norm of the
    residual of all earlier blocks; vt = SᵀQᵀV (M, d); y = SᵀQᵀB(0)ᵀ (M, d) or None; eigval_lower λ_lo ≤
    λ_min(U) (certified, ≥ 0); ``rate`` c of (D1). τ = inf: the rigorous (K1), ‖Res·Y‖/λ_lo
    (inf without a certified λ_lo > 0). Finite τ: the integral (K2) of the exactly evaluated
    residual norm, by an upper Riemann sum on a log grid of ``per_decade`` points per decade
    through the user's τ (theory/krylov.md §5).
    """
    w, Z = np.linalg.eigh(H)
    C = np.sqrt(np.maximum(w, 0.0))[:, None] * (Z.T @ S_last)  # ‖C x‖ = ‖G_J S_J x‖ for any x
    if not np.all(theta > 0):
        return np.full(tau.shape, np.inf), np.full(tau.shape, np.inf)
    fin = np.isfinite(tau)
    eps = np.full(tau.shape, np.inf)
    nc, ny = _coefficient_norms(theta, vt, y, C, rate, delta_t, tau)
    res = nc + eta * ny
    if eigval_lower > 0:
        eps[~fin] = res[~fin] / eigval_lower
    if np.any(fin):
        top = float(np.max(tau[fin]))
        lo = min(1e-3 / (rate * float(theta[-1])), float(np.min(tau[fin])))
        grid = np.unique(np.concatenate([np.geomspace(lo, top, max(2, int(per_decade * np.log10(top / lo)) + 2)),
                                         tau[fin]]))
        gc, gy = _coefficient_norms(theta, vt, y, C, rate, delta_t, grid)
        r = rate * (gc + eta * gy)  # ‖R(s)‖_F at the grid points
        zc, zy = _coefficient_norms(theta, vt, y, C, rate, delta_t, np.zeros(1))  # and at s = 0 (0 without A(0))
        left = np.concatenate([[0.0], grid[:-1]])
        rmax = np.maximum(np.concatenate([rate * (zc + eta * zy), r[:-1]]), r)
        a = rate * eigval_lower
        length = grid - left
        h = length if a == 0 else -np.expm1(-a * length) / a  # ∫ e^{-a(s_{i+1} - s)} ds over the interval
        for j in np.nonzero(fin)[0]:
            k = int(np.searchsorted(grid, tau[j], side="right"))
            decay = np.exp(-a * (tau[j] - grid[:k]))
            eps[j] = float(np.sum(rmax[:k] * h[:k] * decay))
    return eps, res


def _loss_error_bounds(eps, res, theta, S, vt, y, basis, Vp, rate, delta_t, d, tau, norm_U, norm_Up, ridge=0.0):
    """(K3): bounds on |ΔL_train|/Δ and |ΔL_test|/Δ at every τ, each (T,), from ε(τ) and ‖Res·Y(τ)‖ of (K1)-(K2).

    ΔL = (2Δ/d) Tr(Eᵀ(M B_Mᵀ + N/√Δ)) + (Δ/d) Tr(EᵀME) with (M, N) = (U, V) or (U_pop, V_pop),
    E = Bᵀ - B_Mᵀ; the gradient norms are exact: U B_Mᵀ + V/√Δ = Q S ((e + λf)∘ṽ/√Δ + e∘θy) + Res·Y (the
    flow runs on U + λI, the loss keeps U; λ = 0: Q S e∘(ṽ/√Δ + θy)), and ‖U_pop B_Mᵀ + V_pop/√Δ‖ from
    G = (U_popQ)ᵀ(U_popQ) and (U_popQ)ᵀV_pop.
    """
    M = basis.M
    sq = np.sqrt(delta_t)
    f, e = mode_factors(theta + ridge, rate, tau)
    a = e + ridge * f if ridge else e  # coefficient of ṽ/√Δ in the train gradient
    g2 = a**2 @ (np.sum(vt**2, axis=1) / delta_t)
    if y is not None:
        g2 = g2 + 2 * (a * e) @ (theta * np.sum(vt * y, axis=1) / sq) + e**2 @ (theta**2 * np.sum(y**2, axis=1))
    gq = np.sqrt(np.maximum(g2, 0.0))
    train = (2 * eps * (gq + res) + norm_U * eps**2) / d
    G = S.T @ basis.G[:M, :M] @ S
    cross = S.T @ (basis.UpQ[:, :M].T @ Vp)  # (M, d)
    quad = np.sum((f @ (G * (vt @ vt.T))) * f, axis=1) / delta_t
    lin = -f @ np.sum(vt * cross, axis=1) / sq
    if y is not None:
        quad = quad - 2 * np.sum((f @ (G * (vt @ y.T))) * e, axis=1) / sq + np.sum((e @ (G * (y @ y.T))) * e, axis=1)
        lin = lin + e @ np.sum(y * cross, axis=1)
    vp2 = float(np.sum(Vp**2)) / delta_t
    gp = np.sqrt(np.maximum(quad + 2 * lin / sq + vp2, 0.0) + 8 * _EPS * (np.abs(quad) + vp2))
    with np.errstate(over="ignore", invalid="ignore"):
        test = (2 * eps * gp + norm_Up * eps**2) / d
    return np.nan_to_num(train, nan=np.inf), np.nan_to_num(test, nan=np.inf)


def _norm_inf(A) -> float:
    """‖A‖_∞ (max absolute row sum) ≥ ‖A‖₂ for symmetric A."""
    return float(np.max(np.sum(np.abs(A), axis=1)))


@float64
@dataclass(frozen=True)
class KrylovRule:
    """Options of the block-Lanczos path (theory/krylov.md).

    tol: the tolerance (> 0) on the a-posteriori error bound: (K3) on the losses in units of Δ_t for
    `krylov_trajectory`, (K2) on the relative Frobenius error of the readouts (dimensionless) for
    `krylov_readouts`; max_dim: the largest Krylov dimension M (int >= 1, capped at p; None: p);
    check_every: Krylov columns between two evaluations of the bound (int >= 1; None: 4 blocks).
    """

    tol: float = 1e-8
    max_dim: Optional[int] = None
    check_every: Optional[int] = None

    def __post_init__(self):
        check_positive("tol", self.tol)
        if self.max_dim is not None:
            check_positive_int("max_dim", self.max_dim)
        if self.check_every is not None:
            check_positive_int("check_every", self.check_every)


@float64
@require_keyword
@renamed_keywords(m="matrices")
@options_from_keywords(krylov=KrylovRule)
def krylov_trajectory(matrices: FiniteSizeMatrices, n: int, tau, A0=None, *, krylov: KrylovRule = KrylovRule(),
                      ridge: float = 0.0, progress: Optional[bool] = False, throw: bool = True) -> KrylovTrajectory:
    """Train loss (L1), test loss (L2), score error (L3) along (D2) by block Lanczos, shape (T,).

    matrices: finite-size matrices (exact (E1)-(E3) or (G4)-(G6)); n: number of training samples (only
    recorded, as in `eigensystem.eigensystem`); tau (T,) > 0, inf allowed; A0 (d, p) the
    initial readout (default 0). ``krylov``: a `KrylovRule`: ``tol`` on the a-posteriori error bound (K3) of
    the losses, in units of Δ; ``max_dim``: largest Krylov dimension (default p); ``check_every``:
    columns between checks (default 4 blocks). ``progress``: tqdm bar on stderr (default off; None: only
    for p ≥ 4096, as the CLI does). (``tol=``, ``max_dim=``, ``check_every=`` as keywords: the 0.1 form,
    deprecated.)
    Reaching max_dim with the bound above tol raises `ConvergenceError` naming the parameters
    if ``throw`` (default), else returns the result with ``converged`` False and its bound.
    ``ridge`` λ ≥ 0 (theory/finite_noise_ridge.md (F2)-(F3)): the flow on U + λI, whose Krylov space and
    residuals are those of U with the Ritz values and the certified lower bound shifted by λ; the train
    loss is the unpenalised (L1); τ = inf is the ridge minimiser.
    """
    throw = bool(throw)  # ``require=``, its former name, is read by `require_keyword` (one version)
    tau = check_tau(tau)
    ridge = check_ridge(ridge)
    tol, max_dim, check_every = float(krylov.tol), krylov.max_dim, krylov.check_every
    check_positive_int("n", n)
    U, V, U_pop, V_pop = (np.asarray(x, dtype=np.float64) for x in (matrices.U, matrices.V, matrices.U_pop, matrices.V_pop))
    p, d = V.shape
    max_dim = p if max_dim is None else min(int(max_dim), p)
    delta_t, c_rate = matrices.delta_t, rate(matrices.delta_t, p / d)
    if A0 is None:
        B0t = None
    else:
        A0 = check_A0(A0, d, p)
        B0t = (A0 / np.sqrt(p)).T
        if not np.any(B0t):
            B0t = None
    start = [V / np.linalg.norm(V)] + ([] if B0t is None else [B0t / np.linalg.norm(B0t)])
    block = d * len(start)
    every = check_positive_int("check_every", check_every) if check_every is not None else 4 * block
    norm_U, norm_Up = _norm_inf(U), _norm_inf(U_pop)
    lower = _LowerBound(U)

    basis = _Basis(p, min(p, 8 * block), pop=True)
    QV, QVp, QB, history = [], [], [], []
    show = p >= 4096 if progress is None else progress
    with tqdm(total=max_dim, desc=f"block Lanczos p={p}", unit="dim", disable=not show, leave=False) as bar:
        def on_block(Qj):
            QV.append(Qj.T @ V)
            QVp.append(Qj.T @ V_pop)
            if B0t is not None:
                QB.append(Qj.T @ B0t)
            bar.update(Qj.shape[1])

        for chk in _block_lanczos(U, _orthonormal(np.concatenate(start, axis=1), _DROP), basis, second=U_pop,
                                  max_dim=max_dim, block=block, every=every, norm_U=norm_U, on_block=on_block):
            M, theta, S = chk.M, chk.theta, chk.S
            vt = S.T @ np.concatenate(QV)
            y = S.T @ np.concatenate(QB) if QB else None
            H = chk.Y.T @ chk.Y

            def bounds():
                eps, res = readout_error_bound(theta + ridge, S[M - chk.b_last:], H, chk.eta, vt, y, c_rate, delta_t,
                                               lower.value + ridge, tau)
                return _loss_error_bounds(eps, res, theta, S, vt, y, basis, V_pop, c_rate, delta_t, d, tau, norm_U, norm_Up,
                                          ridge)

            e_train, e_test = bounds()
            error_tau = np.maximum(e_train, e_test)
            if not np.max(error_tau) <= tol and (chk.at_end or len(history) > 0) and lower.improve(float(theta[0])):
                e_train, e_test = bounds()
                error_tau = np.maximum(e_train, e_test)
            error = float(np.max(error_tau))
            history.append((M, error))
            if error <= tol:
                break
    train, test = _ritz_losses(basis, np.concatenate(QV), np.concatenate(QVp),
                               np.concatenate(QB) if QB else None, c_rate, delta_t, d, tau, ridge)
    converged = bool(error <= tol or M == p)  # at M = p the basis is complete: exact up to rounding
    if not converged and throw:
        raise ConvergenceError(
            f"block Lanczos did not converge: error bound {error:.2e} > tol = {tol:g} (units of Δ) at Krylov "
            f"dimension {M} (max_dim = {max_dim}, p = {p}, d = {d}, n = {n}, t = {matrices.t:g}, λ_lo = {lower.value:.3g}); "
            f"raise max_dim or tol")
    l_opt = matrices.l_opt
    return KrylovTrajectory(tau=tau, train_loss=train, test_loss=test, score_error=(test - l_opt) / delta_t,
                            l_opt=l_opt, delta_t=delta_t, converged=converged, error=error, krylov_dim=M,
                            error_tau=error_tau, lambda_lower=float(lower.value), tol=tol, history=tuple(history))


def _ritz_losses(basis: _Basis, QV, QVp, QB, rate, delta_t, d, tau, ridge=0.0):
    """(D3)-(D4) with the Ritz pairs of T = QᵀUQ in place of U's eigenpairs (the flow on U + λI, (F3))."""
    M = basis.M
    T, P = basis.T[:M, :M], basis.P[:M, :M]
    theta, S = np.linalg.eigh(T)
    vt, vpt = S.T @ QV, S.T @ QVp
    upt = S.T @ P @ S
    if QB is None:
        return losses_zero_init(theta, vt, vpt, upt, rate, d, tau, ridge)
    return losses_with_init(theta, vt, vpt, upt, S.T @ QB, rate, delta_t, d, tau, ridge)


# ----------------------------------------------------------------------------- readouts (theory/generation.md §1)
@float64
@dataclass(frozen=True)
class KrylovReadouts(HasStatus):
    """Readouts B(τ) = A(τ)/√p of (D2) with A(0) = 0 from block Lanczos, shape (T, d, p).

    error: the a-posteriori bound (K2) on max over τ of ‖B - B_M‖_F/‖B_M‖_F; error_tau (T,):
    the same per τ; converged: error ≤ tol; krylov_dim: M used; lambda_min: the smallest Ritz
    value of U (an upper bound on λ_min(U)); lambda_lower: the certified lower bound (K4);
    history: ((M, error), ...).
    """

    B: np.ndarray
    krylov_dim: int
    error: float
    converged: bool
    lambda_min: float
    lambda_lower: float = 0.0
    error_tau: np.ndarray = field(default_factory=lambda: np.zeros(0))
    tol: float = float("nan")
    history: tuple = ()

    @property
    def residual(self) -> float:
        """The error bound (``error``): kept under its former name."""
        return self.error


@float64
@require_keyword
@renamed_keywords(m="matrices")
@options_from_keywords(krylov=KrylovRule)
def krylov_readouts(matrices: FiniteSizeMatrices, tau, *, krylov: KrylovRule = KrylovRule(tol=1e-10),
                    throw: bool = True) -> KrylovReadouts:
    """B(τ)ᵀ = -(1/√Δ) g_τ(U) V ≈ -(1/√Δ) Q_M g_τ(T) Q_MᵀV on K_M(U, V), for every τ (inf allowed).

    The same basis as `krylov_trajectory` (full reorthogonalisation, exact projection
    T = Q_MᵀUQ_M), grown until the a-posteriori bound (K2) on the relative Frobenius error of
    the readouts is ≤ ``krylov.tol`` at every τ (``krylov``: a `KrylovRule`, default tol 1e-10; ``tol=``,
    ``max_dim=``, ``check_every=`` as keywords: the 0.1 form, deprecated). matrices: finite-size matrices
    (p, p) U and (p, d) V; tau (T,). Reaching ``max_dim`` above tol raises ConvergenceError
    if ``throw`` (default), else returns the result flagged ``converged`` False. No p×p
    eigendecomposition: cost ≈ 2p²M + 3pM² plus one M×M eigendecomposition per check and the
    Cholesky certificate(s) of (K4).
    """
    throw = bool(throw)  # ``require=``, its former name, is read by `require_keyword` (one version)
    tau = check_tau(tau)
    tol, max_dim, check_every = float(krylov.tol), krylov.max_dim, krylov.check_every
    U, V = np.asarray(matrices.U, dtype=np.float64), np.asarray(matrices.V, dtype=np.float64)
    p, d = V.shape
    max_dim = p if max_dim is None else min(int(max_dim), p)
    delta_t, c_rate = matrices.delta_t, rate(matrices.delta_t, p / d)
    every = check_positive_int("check_every", check_every) if check_every is not None else 4 * d
    norm_U = _norm_inf(U)
    lower = _LowerBound(U)
    basis = _Basis(p, min(p, 8 * d))
    QV, history = [], []
    for chk in _block_lanczos(U, _orthonormal(V / np.linalg.norm(V), _DROP), basis, second=None, max_dim=max_dim,
                              block=d, every=every, norm_U=norm_U, on_block=lambda Qj: QV.append(Qj.T @ V)):
        M, theta, S = chk.M, chk.theta, chk.S
        if theta[0] <= 0:
            raise ConvergenceError(f"U is not positive definite (Ritz value {theta[0]:.3g} at Krylov dimension {M}, "
                                   f"p = {p}, d = {d}, t = {matrices.t:g})")
        vt = S.T @ np.concatenate(QV)
        H = chk.Y.T @ chk.Y

        def relative():
            eps, _ = readout_error_bound(theta, S[M - chk.b_last:], H, chk.eta, vt, None, c_rate, delta_t, lower.value, tau)
            f, _ = mode_factors(theta, c_rate, tau)
            size = np.sqrt(f**2 @ np.sum(vt**2, axis=1) / delta_t)  # ‖B_M(τ)‖_F
            return eps / np.maximum(size, np.finfo(float).tiny)

        error_tau = relative()
        if not np.max(error_tau) <= tol and (chk.at_end or len(history) > 0) and lower.improve(float(theta[0])):
            error_tau = relative()
        error = float(np.max(error_tau))
        history.append((M, error))
        if error <= tol:
            break
    converged = bool(error <= tol or M == p)  # at M = p the basis is complete: exact up to rounding
    if not converged and throw:
        raise ConvergenceError(f"block Lanczos readouts did not converge: error bound {error:.2e} > tol = {tol:g} "
                               f"at Krylov dimension {M} (max_dim = {max_dim}, p = {p}, d = {d}, t = {matrices.t:g}, "
                               f"λ_lo = {lower.value:.3g}); raise max_dim or tol")
    f, _ = mode_factors(theta, c_rate, tau)  # (T, M)
    coef = -np.einsum("tk,kd,mk->tdm", f, vt, S, optimize=True) / np.sqrt(delta_t)
    B = coef @ basis.Q[:, :M].T  # (T, d, p)
    return KrylovReadouts(B=B, krylov_dim=M, error=error, converged=converged, lambda_min=float(theta[0]),
                          lambda_lower=float(lower.value), error_tau=error_tau, tol=tol, history=tuple(history))
