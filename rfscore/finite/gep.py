"""The Gaussian-equivalent model (G4)-(G6) at finite size (theory/gaussian_equivalence.md).

U = G Gᵀ/n + b_t² W Wᵀ/d + s_t² I, U_pop (G5), V = V_pop = b_t W/√d. When p ≫ n + d,
U - s_t² I = H Hᵀ has rank n + d and a thin SVD of H replaces the p×p
eigendecomposition (`gep_eigensystem`, theory/dynamics.md §5).
"""
from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from ..core.constants import GEConstants, ge_constants
from ..core.covariance import SigmaSpectrum, l_opt
from ..core.errors import ConvergenceError
from .eigensystem import Eigensystem, FiniteSizeMatrices, check_inputs, eigensystem, null_modes
from .inputs import gep_omega
from ..core.precision import float64


def _gep_parts(W, X, constants: GEConstants, key):
    """G = e^{-t} a_t W Xᵀ/√d + v_t Ω of (G4) and Ω (p×n, drawn from ``key``), in NumPy."""
    W, X = np.asarray(W), np.asarray(X)
    omega = np.asarray(gep_omega(key, W.shape[0], X.shape[0]))
    G = np.exp(-constants.t) * constants.a_t * (W @ X.T) / np.sqrt(W.shape[1]) + np.sqrt(constants.v_t2) * omega
    return G, omega


@float64
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


@float64
def gep_factors(W, X, *, t: float, activation="tanh", sigma=None, key=None,
                constants: GEConstants | None = None) -> GEPFactors:
    """The factors of (G4)-(G6) for given W, X and the Ω drawn from ``key`` (same Ω as `gep_matrices`)."""
    W, X, S = check_inputs(W, X, sigma)
    constants = constants or ge_constants(t, activation, SigmaSpectrum.from_matrix(S))
    key = jax.random.PRNGKey(0) if key is None else key
    G, omega = _gep_parts(W, X, constants, key)
    return GEPFactors(W=W, X=X, omega=omega, G=G, sigma=S, constants=constants, l_opt=l_opt(S, constants.t))


@float64
def gep_matrices(W, X, *, t: float, activation="tanh", sigma=None, key=None,
                 constants: GEConstants | None = None) -> FiniteSizeMatrices:
    """Gaussian-equivalent U (G4), U_pop (G5), V = V_pop (G6). ``key`` draws Ω (p×n).

    ``sigma``: a (d,d) covariance or a `SigmaSpectrum` (default Σ = I); it sets the
    constants through σ_x and U_pop through W Σ Wᵀ/d.
    """
    W, X, S = check_inputs(W, X, sigma)
    constants = constants or ge_constants(t, activation, SigmaSpectrum.from_matrix(S))
    key = jax.random.PRNGKey(0) if key is None else key
    # NumPy (BLAS) products: eager JAX would compile every op once per new shape.
    W, X = np.asarray(W), np.asarray(X)
    G, _ = _gep_parts(W, X, constants, key)
    (p, d), n = W.shape, X.shape[0]
    WWt = W @ W.T / d
    U = G @ G.T / n + constants.b_t**2 * WWt + constants.s_t2 * np.eye(p)
    U_pop = constants.alpha * (W @ S @ W.T) / d + constants.b_t**2 * WWt + (constants.v_t2 + constants.s_t2) * np.eye(p)
    V = constants.b_t * W / np.sqrt(d)
    U, U_pop, V = jax.device_put(U), jax.device_put(U_pop), jax.device_put(V)
    return FiniteSizeMatrices(U=U, V=V, U_pop=U_pop, V_pop=V, t=constants.t, delta_t=constants.delta_t,
                              l_opt=l_opt(S, constants.t), model="gep")


@float64
def gep_eigensystem(W, X, *, t: float, activation="tanh", sigma=None, key=None,
                    constants: GEConstants | None = None, thin: bool | None = None) -> Eigensystem:
    """Eigensystem of the (G4)-(G6) model; thin SVD of H = [G/√n, b W/√d] when p ≥ 2(n+d) and thin is None.

    On the thin path only the rank(H) ≤ n+d non-trivial modes are kept (``complete=False``): the
    others have λ = s_t² and Qᵀ V = Qᵀ V_pop = 0 because V ∝ W lies in range(H). Directions of
    H with singular value at rounding level (a linear σ: rank d) are among the omitted ones.
    The same draw (same ``key``) gives the same non-trivial modes on both paths.
    """
    W, X, S = check_inputs(W, X, sigma)
    p, d = W.shape
    n = X.shape[0]
    thin = (p >= 2 * (n + d)) if thin is None else thin
    if not thin:
        m = gep_matrices(W, X, t=t, activation=activation, sigma=S, key=key, constants=constants)
        return eigensystem(m, n)
    constants = constants or ge_constants(t, activation, SigmaSpectrum.from_matrix(S))
    key = jax.random.PRNGKey(0) if key is None else key
    # NumPy from here on: eager JAX would compile every small op once per shape.
    Wn, Xn = np.asarray(W), np.asarray(X)
    G, _ = _gep_parts(Wn, Xn, constants, key)
    H = np.concatenate([G / np.sqrt(n), constants.b_t * Wn / np.sqrt(d)], axis=1)
    # Thin SVD of H through its k×k Gram matrix (k = n+d ≪ p): H = Q S Rᵀ with
    # HᵀH = R S² Rᵀ and Q = H R S^{-1}. Eigenvalues come out to absolute accuracy
    # ε‖H‖², i.e. relative ε‖H‖²/s_t² for λ = S² + s_t²; the smallest-S columns of Q are
    # the least orthogonal, so they are checked and a re-orthonormalisation pass (Gram of Q)
    # is applied only when QᵀQ - I exceeds 1e-10. QᵀW comes from HᵀW (k×d).
    S2, R = np.linalg.eigh(H.T @ H)
    # Directions with S² at rounding level (S² ≤ k ε max S²) are not in range(H): a linear σ
    # gives rank(H) = d < n + d. They are dropped, i.e. left to the omitted modes (λ = s_t², ṽ = 0),
    # which is exact for S = 0 and where ṽ_k, bounded by S_k, is at the rounding level otherwise
    # (theory/dynamics.md §4); Q = H R S^{-1} would divide by ~0 there.
    keep = ~null_modes(S2, np.max(S2) if S2.size else 0.0, S2.size)
    S2, R = S2[keep], R[:, keep]
    inv_s = 1.0 / np.sqrt(S2)
    QtW = (R.T @ (H.T @ Wn)) * inv_s[:, None] / np.sqrt(d)  # (k, d)
    k = R.shape[1]
    m8 = min(8, k)
    Q8 = (H @ R[:, :m8]) * inv_s[None, :m8]
    if np.max(np.abs(Q8.T @ Q8 - np.eye(m8)), initial=0.0) > 1e-10:
        Q = (H @ R) * inv_s[None, :]
        E, Rq = np.linalg.eigh(Q.T @ Q)
        if not np.all(E > 0.5):  # kept columns have S² > k ε max S²: QᵀQ is within ~1e-8 of I
            raise ConvergenceError(f"thin SVD of H lost orthogonality (eigenvalues of QᵀQ in "
                                   f"[{E.min():.3g}, {E.max():.3g}]) at p={p}, n={n}, d={d}, t={constants.t:g}; "
                                   f"use thin=False")
        Q = Q @ (Rq / np.sqrt(E)[None, :]) @ Rq.T
        QtW = Q.T @ Wn / np.sqrt(d)
    else:  # Q = H R S^{-1} (p·k² flops) is formed only if a caller asks for it
        Q = lambda: (H @ R) * inv_s[None, :]  # noqa: E731
    eigvals = S2 + constants.s_t2
    vt = constants.b_t * QtW
    M = constants.alpha * np.asarray(S) + constants.b_t**2 * np.eye(d)
    upop_t = QtW @ M @ QtW.T + (constants.v_t2 + constants.s_t2) * np.eye(k)
    complete = k == p
    return Eigensystem(eigvals=eigvals, Q=Q, vt=vt, vpop_t=vt, upop_t=upop_t, t=constants.t, delta_t=constants.delta_t,
                       l_opt=l_opt(S, constants.t), p=p, d=d, n=n, complete=complete,
                       rest_eigval=float(constants.s_t2), rest_upop=float(constants.v_t2 + constants.s_t2))

