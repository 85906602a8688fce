"""Finite-size matrices U, V, U_pop, V_pop and their eigensystems (theory-brief §3-§4).

Two models of the same random-features score model, both without Monte Carlo:

* ``exact``: the non-linear model with every noise average done exactly — Stein's lemma
  for V, V_pop and Mehler's expansion for U, U_pop (§4, theory/exact_matrices.md).
* ``gep``: the Gaussian-equivalent matrices (G4)-(G6) (theory/gaussian_equivalence.md).
  When p ≫ n + d, U = H Hᵀ + s_t² I has rank-(n+d) structure and a thin SVD of H
  replaces the p×p eigendecomposition (`gep_eigensystem`).

Conventions: W has shape (p, d), the data X has shape (n, d) (rows are samples), Σ is a
(d, d) covariance. All arrays are float64.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Optional

import jax
import jax.numpy as jnp
import numpy as np

from .activations import get_activation
from .constants import GEConstants, delta_t, ge_constants, halve_until_converged, trapezoid_nodes
from .covariance import ISOTROPIC, SigmaSpectrum, validate_sigma_matrix
from .errors import InputError, check_positive_int

MODELS = ("exact", "gep")


# ----------------------------------------------------------------------------- sampling
_BLOCK = 2**16


@jax.jit
def _normal_block(key, i):
    return jax.random.normal(jax.random.fold_in(key, i), (_BLOCK,))


def standard_normal(key, shape) -> np.ndarray:
    """I.i.d. N(0,1) of any ``shape`` from ``key``, drawn in fixed-size blocks.

    Block i is ``normal(fold_in(key, i), (2^16,))``: one compiled program serves every
    shape (``jax.random.normal`` compiles once per shape, ~0.5 s, which dominated sweeps
    over many sizes). Deterministic in (key, shape).
    """
    size = int(np.prod(shape))
    blocks = [np.asarray(_normal_block(key, i)) for i in range(-(-size // _BLOCK))]
    return (np.concatenate(blocks)[:size] if blocks else np.zeros(0)).reshape(shape)


def sample_weights(key, p: int, d: int) -> jnp.ndarray:
    """Frozen first-layer weights W, shape (p, d), i.i.d. N(0, 1)."""
    return jax.device_put(standard_normal(key, (check_positive_int("p", p), check_positive_int("d", d))))


def sample_data(key, n: int, sigma) -> jnp.ndarray:
    """Training data X ~ N(0, Σ), shape (n, d). ``sigma`` is a (d, d) covariance."""
    chol = np.linalg.cholesky(np.asarray(sigma, dtype=np.float64))  # NumPy: no per-shape compilation
    z = standard_normal(key, (check_positive_int("n", n), chol.shape[0]))
    return jax.device_put(z @ chol.T)


def sigma_matrix(sigma, d: int) -> np.ndarray:
    """Σ at size d from a `SigmaSpectrum` (diagonal, eigenvalues in blocks) or a matrix."""
    if sigma is None:
        return np.eye(d)
    if isinstance(sigma, SigmaSpectrum):
        return sigma.matrix(d)
    return validate_sigma_matrix(sigma, d)


def l_opt(sigma: np.ndarray, t: float) -> float:
    """Smallest test loss, that of the true score: 1 - Δ Tr(Σ_t^{-1})/d  (L3)."""
    dl = delta_t(t)
    ev = np.linalg.eigvalsh(np.asarray(sigma))
    return float(1.0 - dl * np.mean(1.0 / (np.exp(-2.0 * t) * ev + dl)))


def _check_shapes(W, X, sigma):
    W = np.asarray(W, dtype=np.float64)
    X = np.asarray(X, dtype=np.float64)
    if W.ndim != 2:
        raise InputError("weights", f"must have shape (p, d), got {W.shape}")
    if X.ndim != 2 or X.shape[1] != W.shape[1]:
        raise InputError("data", f"must have shape (n, d) with d = {W.shape[1]} (from the weights), got {X.shape}")
    if not np.all(np.isfinite(X)):
        raise InputError("data", "contains non-finite values")
    if not np.all(np.isfinite(W)):
        raise InputError("weights", "contains non-finite values")
    return jax.device_put(W), jax.device_put(X), sigma_matrix(sigma, W.shape[1])


# ----------------------------------------------------------------------------- results
@dataclass(frozen=True)
class FiniteSizeMatrices:
    """U (p,p), V (p,d), U_pop (p,p), V_pop (p,d) of (L1)-(L2) at one draw of W, X.

    ``truncation_bound`` (exact model) bounds the neglected Mehler tail entrywise;
    ``quadrature_error`` estimates the error of the one-dimensional Gaussian integrals.
    """

    U: jnp.ndarray
    V: jnp.ndarray
    U_pop: jnp.ndarray
    V_pop: jnp.ndarray
    t: float
    delta_t: float
    l_opt: float
    model: str
    truncation_bound: Optional[float] = None
    mehler_order: Optional[int] = None
    quadrature_error: Optional[float] = None

    @property
    def p(self) -> int:
        return self.U.shape[0]

    @property
    def d(self) -> int:
        return self.V.shape[1]

    def eigenvalues(self) -> np.ndarray:
        """Eigenvalues of U, ascending, shape (p,)."""
        return np.asarray(jnp.linalg.eigvalsh(self.U))


@dataclass(frozen=True)
class Eigensystem:
    """U = Q diag(lam) Qᵀ expressed with the quantities (D3)-(D4) need.

    lam (k,), Q (p,k), vt = QᵀV (k,d), vpop_t = QᵀV_pop (k,d), upop_t = QᵀU_pop Q (k,k).
    ``complete`` is False on the thin-SVD path, where the p - k omitted modes all have
    eigenvalue ``rest_lam`` = s_t² and carry no V or V_pop weight (so (D3)-(D4) with
    A(0) = 0 are exact); U_pop restricted to them is ``rest_upop``·I = (v_t² + s_t²)·I and
    does not couple them to the kept modes, so a non-zero A(0) is handled exactly too
    (theory/dynamics.md, "thin SVD").
    """

    lam: jnp.ndarray
    Q: jnp.ndarray
    vt: jnp.ndarray
    vpop_t: jnp.ndarray
    upop_t: jnp.ndarray
    t: float
    delta_t: float
    l_opt: float
    p: int
    d: int
    n: int
    complete: bool = True
    rest_lam: float = float("nan")
    rest_upop: float = float("nan")

    @property
    def psi_p(self) -> float:
        return self.p / self.d

    @property
    def psi_n(self) -> float:
        return self.n / self.d


def eigensystem(m: FiniteSizeMatrices, n: int) -> Eigensystem:
    """Full p×p eigendecomposition of U with V, V_pop, U_pop rotated into its basis."""
    # NumPy (LAPACK) rather than eager JAX: no per-shape compilation of each small op.
    lam, Q = np.linalg.eigh(np.asarray(m.U))
    vt, vpop_t, upop_t = Q.T @ np.asarray(m.V), Q.T @ np.asarray(m.V_pop), Q.T @ np.asarray(m.U_pop) @ Q
    return Eigensystem(lam=lam, Q=Q, vt=vt, vpop_t=vpop_t, upop_t=upop_t,
                       t=m.t, delta_t=m.delta_t, l_opt=m.l_opt, p=m.p, d=m.d, n=n, complete=True)


# ----------------------------------------------------------------------------- (G4)-(G6)
def gep_omega(key, p: int, n: int) -> jnp.ndarray:
    """Ω of (G4), shape (p, n), i.i.d. N(0,1): column ν is the fixed ω_ν of data point ν."""
    return jax.device_put(standard_normal(key, (p, n)))


def _gep_parts(W, X, c: GEConstants, key):
    """G = e^{-t} a_t W Xᵀ/√d + v_t Ω of (G4) and Ω (p×n, drawn from ``key``), in NumPy."""
    W, X = np.asarray(W), np.asarray(X)
    omega = np.asarray(gep_omega(key, W.shape[0], X.shape[0]))
    G = np.exp(-c.t) * c.a_t * (W @ X.T) / np.sqrt(W.shape[1]) + np.sqrt(c.v_t2) * omega
    return G, omega


@dataclass(frozen=True)
class GEPFactors:
    """The (G4)-(G6) model in factored form, never forming a p×p matrix.

    W (p,d), X (n,d), omega (p,n), G = e^{-t} a_t W Xᵀ/√d + v_t Ω (p,n), Σ (d,d):
    U = G Gᵀ/n + b_t² W Wᵀ/d + s_t² I, U_pop = W (α Σ + b_t² I) Wᵀ/d + (v_t² + s_t²) I,
    V = V_pop = b_t W/√d.
    """

    W: jnp.ndarray
    X: jnp.ndarray
    omega: jnp.ndarray
    G: jnp.ndarray
    sigma: np.ndarray
    constants: GEConstants
    l_opt: float


def gep_factors(W, X, *, t: float, activation="tanh", sigma=None, key=None,
                constants: GEConstants | None = None) -> GEPFactors:
    """The factors of (G4)-(G6) for given W, X and the Ω drawn from ``key`` (same Ω as `gep_matrices`)."""
    W, X, S = _check_shapes(W, X, sigma)
    c = constants or ge_constants(t, activation, SigmaSpectrum.from_matrix(S))
    key = jax.random.PRNGKey(0) if key is None else key
    G, omega = _gep_parts(W, X, c, key)
    return GEPFactors(W=W, X=X, omega=omega, G=G, sigma=S, constants=c, l_opt=l_opt(S, c.t))


def gep_matrices(W, X, *, t: float, activation="tanh", sigma=None, key=None,
                 constants: GEConstants | None = None) -> FiniteSizeMatrices:
    """Gaussian-equivalent U (G4), U_pop (G5), V = V_pop (G6). ``key`` draws Ω (p×n).

    ``sigma``: a (d,d) covariance or a `SigmaSpectrum` (default Σ = I); it sets the
    constants through σ_x and U_pop through W Σ Wᵀ/d.
    """
    W, X, S = _check_shapes(W, X, sigma)
    c = constants or ge_constants(t, activation, SigmaSpectrum.from_matrix(S))
    key = jax.random.PRNGKey(0) if key is None else key
    # NumPy (BLAS) products: eager JAX would compile every op once per new shape.
    W, X = np.asarray(W), np.asarray(X)
    G, _ = _gep_parts(W, X, c, key)
    (p, d), n = W.shape, X.shape[0]
    WWt = W @ W.T / d
    U = G @ G.T / n + c.b_t**2 * WWt + c.s_t2 * np.eye(p)
    U_pop = c.alpha * (W @ S @ W.T) / d + c.b_t**2 * WWt + (c.v_t2 + c.s_t2) * np.eye(p)
    V = c.b_t * W / np.sqrt(d)
    U, U_pop, V = jax.device_put(U), jax.device_put(U_pop), jax.device_put(V)
    return FiniteSizeMatrices(U=U, V=V, U_pop=U_pop, V_pop=V, t=c.t, delta_t=c.delta_t,
                              l_opt=l_opt(S, c.t), model="gep")


def gep_eigensystem(W, X, *, t: float, activation="tanh", sigma=None, key=None,
                    constants: GEConstants | None = None, thin: bool | None = None) -> Eigensystem:
    """Eigensystem of the (G4)-(G6) model; thin SVD of H = [G/√n, b W/√d] when p ≥ 2(n+d) and thin is None.

    On the thin path only the n+d non-trivial modes are kept (``complete=False``): the
    others have λ = s_t² and Qᵀ V = Qᵀ V_pop = 0 because V ∝ W lies in range(H).
    The same draw (same ``key``) gives the same non-trivial modes on both paths.
    """
    W, X, S = _check_shapes(W, X, sigma)
    p, d = W.shape
    n = X.shape[0]
    thin = (p >= 2 * (n + d)) if thin is None else thin
    if not thin:
        m = gep_matrices(W, X, t=t, activation=activation, sigma=S, key=key, constants=constants)
        return eigensystem(m, n)
    c = constants or ge_constants(t, activation, SigmaSpectrum.from_matrix(S))
    key = jax.random.PRNGKey(0) if key is None else key
    # NumPy from here on: eager JAX would compile every small op once per shape.
    Wn, Xn = np.asarray(W), np.asarray(X)
    G, _ = _gep_parts(Wn, Xn, c, key)
    H = np.concatenate([G / np.sqrt(n), c.b_t * Wn / np.sqrt(d)], axis=1)
    # Thin SVD of H through its k×k Gram matrix (k = n+d ≪ p): H = Q S Rᵀ with
    # HᵀH = R S² Rᵀ and Q = H R S^{-1}. Eigenvalues come out to absolute accuracy
    # ε‖H‖², i.e. relative ε‖H‖²/s_t² for λ = S² + s_t²; the smallest-S columns of Q are
    # the least orthogonal, so they are checked and a re-orthonormalisation pass (Gram of Q)
    # is applied only when QᵀQ - I exceeds 1e-10. QᵀW comes from HᵀW (k×d).
    S2, R = np.linalg.eigh(H.T @ H)
    S2 = np.maximum(S2, 0.0)
    inv_s = 1.0 / np.sqrt(np.where(S2 > 0, S2, 1.0))
    Q = (H @ R) * inv_s[None, :]
    QtW = (R.T @ (H.T @ Wn)) * inv_s[:, None] / np.sqrt(d)  # (k, d)
    m8 = min(8, Q.shape[1])
    if np.max(np.abs(Q[:, :m8].T @ Q[:, :m8] - np.eye(m8))) > 1e-10:
        E, Rq = np.linalg.eigh(Q.T @ Q)
        Q = Q @ (Rq / np.sqrt(E)[None, :]) @ Rq.T
        QtW = Q.T @ Wn / np.sqrt(d)
    lam = S2 + c.s_t2
    vt = c.b_t * QtW
    M = c.alpha * np.asarray(S) + c.b_t**2 * np.eye(d)
    upop_t = QtW @ M @ QtW.T + (c.v_t2 + c.s_t2) * np.eye(Q.shape[1])
    complete = Q.shape[1] == p
    return Eigensystem(lam=lam, Q=Q, vt=vt, vpop_t=vt, upop_t=upop_t, t=c.t, delta_t=c.delta_t,
                       l_opt=l_opt(S, c.t), p=p, d=d, n=n, complete=complete,
                       rest_lam=float(c.s_t2), rest_upop=float(c.v_t2 + c.s_t2))


# ----------------------------------------------------------------------------- exact (§4)
_H_START, _H_FINEST = 0.5, 2.0**-7


def _hermite_table(z: np.ndarray, w: np.ndarray, order: int) -> np.ndarray:
    """(Q, K+1) table w_q h_k(z_q), h_k = He_k/√k! (normalised probabilists' Hermite)."""
    h = np.zeros((order + 1, z.size))
    h[0] = 1.0
    if order >= 1:
        h[1] = z
    for k in range(1, order):
        h[k + 1] = (z * h[k] - np.sqrt(k) * h[k - 1]) / np.sqrt(k + 1)
    return (w[None, :] * h).T


def _quadrature_step(act, means, scales, order: int, tol: float):
    """Trapezoid step h for the F̃_k (k ≤ order) and second moments, with its error estimate.

    Probed on the row with the largest scale s_i (for an activation analytic in a strip, the
    worst case: the singularities of σ(m + s z) lie at distance ∝ 1/s from the real axis), at
    all its means: h is halved from 1/2 until two successive rules agree to ``tol``, comparing
    at most down to 2^-7. Returns (h, max difference between the rules at h and h/2), with h
    the finer step when they never agreed.
    """
    i = int(np.argmax(np.asarray(scales)))
    m, s = np.asarray(means)[i], float(np.asarray(scales)[i])

    def coefficients(h):
        z, w = trapezoid_nodes(h)
        vals = np.asarray(act(jnp.asarray(m[:, None] + s * z[None, :])))  # (n, Q)
        return np.concatenate([vals @ _hermite_table(z, w, order), (vals**2 @ w)[:, None]], axis=1)

    h, _, err, converged = halve_until_converged(coefficients, lambda a, b: float(np.max(np.abs(a - b))), tol,
                                                 _H_START, _H_FINEST)
    return (h if converged else h / 2), err


@partial(jax.jit, static_argnums=0)
def _mehler_block(act, m, s, z, w, table):
    vals = act(m[:, None] + s[:, None] * z[None, :])  # (N, Q)
    return vals @ table, (vals**2) @ w


_CHUNK = 2**18  # (i, ν) pairs per compiled block of quadrature evaluations


def _mehler_coefficients(act, means, scales, h, order):
    """F̃_k(i,ν) = E[h_k(z) σ(m_iν + s_i z)] for k ≤ order and e_iν = E σ(m_iν + s_i z)².

    means (p, n), scales (p,), trapezoid step h (`trapezoid_nodes`). Returns NumPy arrays
    F (order+1, p, n) and e (p, n). The p·n pairs run in fixed-size blocks (bounded memory,
    one compilation per activation, rule and order).
    """
    z, w = trapezoid_nodes(h)
    table = jnp.asarray(_hermite_table(z, w, order))
    z, w = jnp.asarray(z), jnp.asarray(w)
    means = np.asarray(means, dtype=np.float64)
    p, n = means.shape
    m_flat = means.ravel()
    s_flat = np.repeat(np.asarray(scales, dtype=np.float64), n)
    N = min(_CHUNK, m_flat.size)
    F = np.empty((m_flat.size, order + 1))
    e = np.empty(m_flat.size)
    for i in range(0, m_flat.size, N):
        m_i, s_i = m_flat[i:i + N], s_flat[i:i + N]
        k = m_i.size
        if k < N:  # pad the last block to the compiled shape
            m_i, s_i = np.pad(m_i, (0, N - k)), np.pad(s_i, (0, N - k), constant_values=1.0)
        F_i, e_i = _mehler_block(act, m_i, s_i, z, w, table)
        F[i:i + k], e[i:i + k] = np.asarray(F_i)[:k], np.asarray(e_i)[:k]
    return np.ascontiguousarray(F.T).reshape(order + 1, p, n), e.reshape(p, n)


_TILE = 512  # rows/columns of one Mehler tile: its arrays stay in cache across the K orders


def _unit_rows(W_metric):
    """Rows of W_metric normalised to 1 (so r = Ŵ Ŵᵀ), and r_max = max_{i≠j} |r_ij| over tiles."""
    Wm = np.asarray(W_metric)
    What = Wm / np.linalg.norm(Wm, axis=1, keepdims=True)
    p, b, r_max = What.shape[0], _TILE, 0.0
    for i in range(0, p, b):
        for j in range(i, p, b):
            R = np.abs(What[i:i + b] @ What[j:j + b].T)
            if i == j:
                np.fill_diagonal(R, 0.0)
            r_max = max(r_max, float(R.max()))
    return What, r_max


def _mehler_sum(F, e, What):
    """U = Σ_{k≤K} r^{∘k} ∘ (F̃_k F̃_kᵀ/n) off the diagonal, U_ii = mean_ν e_iν, shape (p, p).

    F (K+1, p, n), e (p, n), What (p, d) unit rows with r = Ŵ Ŵᵀ. Neither r nor its powers
    are formed whole: each tile of the upper triangle is summed by Horner's rule,
    acc ← acc ∘ r_IJ + F̃_k[I] F̃_k[J]ᵀ for k = K…0 (BLAS products, in-cache updates), then
    mirrored (theory/exact_matrices.md §7).
    """
    F, e = np.asarray(F), np.asarray(e)
    K1, p, n = F.shape
    b = _TILE
    U = np.empty((p, p))

    def term(k, I, J, out=None):  # F̃_k[I] F̃_k[J]ᵀ; an outer product (faster than a GEMM) when n = 1
        if n == 1:
            return np.multiply.outer(F[k, I, 0], F[k, J, 0], out=out)
        return np.matmul(F[k, I], F[k, J].T, out=out)

    for i in range(0, p, b):
        for j in range(i, p, b):
            I, J = slice(i, i + b), slice(j, j + b)
            R = What[I] @ What[J].T
            acc = term(K1 - 1, I, J)
            tmp = np.empty_like(acc)
            for k in range(K1 - 2, -1, -1):
                acc *= R
                acc += term(k, I, J, out=tmp)
            U[I, J] = acc
            if j > i:
                U[J, I] = acc.T
    U /= n
    U[np.diag_indices(p)] = np.mean(e, axis=1)
    return U


def _mehler_order(F, e, r_max, tol):
    """First K with bound_K = r_max^{K+1} max_i τ_i(K) ≤ tol (or the last order); returns (K, bound).

    τ_i(K) = mean_ν (e_iν - Σ_{k≤K} F̃_k(i,ν)²) (theory/exact_matrices.md §4).
    """
    second = np.mean(e, axis=1)
    tails = second[None, :] - np.cumsum(np.mean(F**2, axis=2), axis=0)  # (K_max+1, p)
    floor = 1e-16 * float(np.max(second))
    bounds = r_max ** np.arange(1, F.shape[0] + 1) * (np.maximum(np.max(tails, axis=1), 0.0) + floor)
    hit = np.nonzero(bounds <= tol)[0]
    K = int(hit[0]) if hit.size else F.shape[0] - 1
    return K, float(bounds[K])


_ORDERS = (12, 24)  # coefficients are computed to these orders first, to max_order only if the bound needs it


def _mehler_matrix(act, means, scales, W_metric, max_order: int, tol: float):
    """The §3-§4 matrix for given means (p, n), scales (p,) and correlations of W_metric (p, d).

    Returns (U (p,p), F (K+1, p, n), bound, K, quadrature error). K is the first order whose
    Cauchy–Schwarz tail bound is ≤ tol (`_mehler_order`), at most max_order.
    """
    What, r_max = _unit_rows(W_metric)
    for order in sorted({min(o, max_order) for o in _ORDERS} | {max_order}):
        # high Hermite orders oscillate faster and need a finer rule: refine per stage
        h, quad = _quadrature_step(act, means, scales, order, tol)
        F, e = _mehler_coefficients(act, means, scales, h, order)
        K, bound = _mehler_order(F, e, r_max, tol)
        if bound <= tol:
            break
    F = F[:max(K, 1) + 1]  # order 1 is also Stein's coefficient of V
    return _mehler_sum(F, e, What), F, bound, K, quad


def exact_matrices(W, X, *, t: float, activation="tanh", sigma=None, max_order: int = 64,
                   tol: float = 1e-12) -> FiniteSizeMatrices:
    """Exact noise-averaged U, V, U_pop, V_pop of the non-linear model (§4).

    V_ij = (√Δ/√d) κ_i W_ij with κ_i = mean_ν E σ'(m_iν + s_i z) (Stein; E σ' = E[zσ]/s),
    m = e^{-t} W Xᵀ/√d, s_i² = Δ (WWᵀ/d)_ii; U by Mehler's expansion with correlations
    r_ij = C_ij/√(C_ii C_jj); U_pop and V_pop the same with zero means and W Σ_t Wᵀ/d.
    Each expectation is a trapezoid rule in z whose step is refined until the Hermite
    coefficients agree to ``tol`` (`_quadrature_step`); Mehler orders up to ``max_order``,
    truncated once the entrywise tail bound is below ``tol``. Reported: ``truncation_bound``
    and ``quadrature_error``, each the larger of its U and U_pop values.
    """
    W, X, S = _check_shapes(W, X, sigma)
    t = float(t)
    act = get_activation(activation)
    ge_constants(t, act, SigmaSpectrum.from_matrix(S))  # validates t and the activation's mean
    p, d = W.shape
    dl = delta_t(t)
    Wn = np.asarray(W)
    means = np.exp(-t) * (Wn @ np.asarray(X).T) / np.sqrt(d)
    scales = np.sqrt(dl * np.sum(Wn**2, axis=1) / d)
    U, F, bound, order, quad = _mehler_matrix(act, means, scales, Wn, max_order, tol)
    kappa = np.mean(F[1], axis=1) / scales
    V = np.sqrt(dl / d) * kappa[:, None] * Wn

    sigma_t = np.exp(-2 * t) * S + dl * np.eye(d)
    W_pop = Wn @ np.linalg.cholesky(sigma_t)  # C_pop = W Σ_t Wᵀ/d = W_pop W_popᵀ/d
    scales_pop = np.sqrt(np.sum(W_pop**2, axis=1) / d)
    U_pop, F_pop, bound_pop, order_pop, quad_pop = _mehler_matrix(act, np.zeros((p, 1)), scales_pop, W_pop,
                                                                  max_order, tol)
    kappa_pop = F_pop[1, :, 0] / scales_pop
    V_pop = np.sqrt(dl / d) * kappa_pop[:, None] * Wn
    return FiniteSizeMatrices(U=U, V=V, U_pop=U_pop, V_pop=V_pop, t=t, delta_t=dl, l_opt=l_opt(S, t),
                              model="exact", truncation_bound=float(max(bound, bound_pop)),
                              mehler_order=int(max(order, order_pop)), quadrature_error=max(quad, quad_pop))


def finite_size_matrices(model: str, W, X, *, t, activation="tanh", sigma=None, key=None, **kw):
    """Dispatch on ``model`` in {'exact', 'gep'}."""
    if model == "exact":
        return exact_matrices(W, X, t=t, activation=activation, sigma=sigma, **kw)
    if model == "gep":
        return gep_matrices(W, X, t=t, activation=activation, sigma=sigma, key=key)
    raise InputError("model", f"must be one of {', '.join(MODELS)}, got {model!r}")


def sizes(d: int, psi_p: float, psi_n: float) -> tuple:
    """(p, n) = (round(ψ_p d), round(ψ_n d)), each at least 1."""
    d = check_positive_int("d", d)
    from .errors import check_positive
    p = max(1, int(round(check_positive("psi_p", psi_p) * d)))
    n = max(1, int(round(check_positive("psi_n", psi_n) * d)))
    return p, n


def sample_inputs(key, *, d: int, psi_p: float, psi_n: float, sigma=None):
    """The draw behind `sample_eigensystem`: (W (p,d), X (n,d), key for Ω), from one ``key``.

    Use it to rebuild the very same model (e.g. to simulate training on it).
    """
    p, n = sizes(d, psi_p, psi_n)
    S = sigma_matrix(sigma, d)
    kw, kx, ko = jax.random.split(key, 3)
    return sample_weights(kw, p, d), sample_data(kx, n, S), ko


def sample_eigensystem(key, *, d: int, psi_p: float, psi_n: float, t: float, activation="tanh",
                       sigma=None, model: str = "gep", thin: bool | None = None) -> Eigensystem:
    """Draw W (p×d), X (n×d) [and Ω for 'gep'] from ``key`` and return U's eigensystem.

    p = round(ψ_p d), n = round(ψ_n d); ``sigma`` a `SigmaSpectrum` or (d,d) matrix.
    The 'gep' model uses the thin-SVD path automatically when p ≥ 2(n+d).
    """
    S = sigma_matrix(sigma, d)
    W, X, ko = sample_inputs(key, d=d, psi_p=psi_p, psi_n=psi_n, sigma=S)
    n = X.shape[0]
    if model == "gep":
        return gep_eigensystem(W, X, t=t, activation=activation, sigma=S, key=ko, thin=thin)
    return eigensystem(finite_size_matrices(model, W, X, t=t, activation=activation, sigma=S, key=ko), n)
