"""Finite-size matrices U, V, U_pop, V_pop of (L1)-(L2) and the eigensystem of U.

The result types shared by the Gaussian-equivalent model (`rfscore.finite.gep`) and the exact
noise-averaged model (`rfscore.finite.exact`), and the full eigendecomposition that (D3)-(D4)
need (theory/dynamics.md). Conventions: W (p, d), X (n, d), Σ (d, d); float64.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import jax
import jax.numpy as jnp
import numpy as np

from ..core.covariance import sigma_matrix
from ..core.deprecation import renamed_fields, renamed_keywords
from ..core.errors import InputError
from ..core.precision import float64
from ..core.status import HasStatus


@float64
def check_inputs(W, X, sigma):
    """Validate W (p, d), X (n, d) (finite, matching d); return them and Σ at size d."""
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


@float64
@dataclass(frozen=True)
class FiniteSizeMatrices(HasStatus):
    """U (p,p), V (p,d), U_pop (p,p), V_pop (p,d) of (L1)-(L2) at one draw of W, X.

    ``truncation_bound`` (exact model) bounds the neglected Mehler tail entrywise;
    ``quadrature_error`` estimates the error of the one-dimensional Gaussian integrals.
    Status (theory/exact_matrices.md §8): ``tol`` the entrywise tolerance both were held to,
    ``converged`` whether both are ≤ tol, ``error`` the larger of the two (absolute, entrywise,
    in the units of U). The Gaussian-equivalent matrices (G4)-(G6) are closed forms: converged,
    error 0.
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
    tol: Optional[float] = None
    converged: bool = True

    @property
    def error(self) -> float:
        """max(truncation_bound, quadrature_error): the entrywise error estimate of U, U_pop (0 if closed form)."""
        return float(max(self.truncation_bound or 0.0, self.quadrature_error or 0.0))

    @property
    def p(self) -> int:
        return self.U.shape[0]

    @property
    def d(self) -> int:
        return self.V.shape[1]

    def eigenvalues(self) -> np.ndarray:
        """Eigenvalues of U, ascending, shape (p,)."""
        return np.asarray(jnp.linalg.eigvalsh(self.U))


class _OnDemand:
    """A dataclass field that may be given as a zero-argument callable: evaluated on first access, then kept.

    The thin-SVD path passes the p×k eigenvectors this way: (D3)-(D4) need only QᵀV, QᵀV_pop and
    QᵀU_popQ, so the O(p k²) product that forms Q is paid only by callers that use Q itself.
    """

    def __set_name__(self, owner, name):
        self.slot = "_" + name

    def __get__(self, obj, objtype=None):
        if obj is None:
            raise AttributeError(self.slot[1:])  # no class-level default: the field stays required
        value = obj.__dict__[self.slot]
        if callable(value):
            value = value()
            obj.__dict__[self.slot] = value
        return value

    def __set__(self, obj, value):
        obj.__dict__[self.slot] = value


@float64
@renamed_fields(lam="eigvals", rest_lam="rest_eigval")
@dataclass(frozen=True)
class Eigensystem:
    """U = Q diag(eigvals) Qᵀ expressed with the quantities (D3)-(D4) need.

    eigvals (k,) the eigenvalues λ_k of U (``lam`` before 0.2.0), Q (p,k), vt = QᵀV (k,d), vpop_t = QᵀV_pop (k,d),
    upop_t = QᵀU_pop Q (k,k).
    ``Q`` may be passed as a zero-argument callable; it is then formed on first access.
    ``complete`` is False on the thin-SVD path, where the p - k omitted modes all have
    eigenvalue ``rest_eigval`` = s_t² (``rest_lam`` before 0.2.0) and carry no V or V_pop weight (so (D3)-(D4) with
    A(0) = 0 are exact); U_pop restricted to them is ``rest_upop``·I = (v_t² + s_t²)·I and
    does not couple them to the kept modes, so a non-zero A(0) is handled exactly too
    (theory/dynamics.md, "thin SVD"). Numerically null modes of U carry λ_k = 0 and vt = 0
    exactly (`null_modes`; theory/dynamics.md §3, "Null modes").
    """

    eigvals: jnp.ndarray
    Q: jnp.ndarray = _OnDemand()
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
    rest_eigval: float = float("nan")
    rest_upop: float = float("nan")

    @property
    def psi_p(self) -> float:
        return self.p / self.d

    @property
    def psi_n(self) -> float:
        return self.n / self.d


@float64
@renamed_keywords(lam="eigvals")
def null_modes(eigvals, scale: float, size: int) -> np.ndarray:
    """Mask (k,) of the numerically null modes: λ_k ≤ size·ε·scale (theory/dynamics.md §3, "Null modes").

    ``scale`` is ‖U‖₂ (the largest eigenvalue), ``size`` the dimension of the eigenproblem: a
    backward-stable eigensolver returns the eigenvalues of U + E with ‖E‖₂ ≲ size·ε·‖U‖₂, so an
    eigenvalue below that (or negative, U being positive semi-definite) cannot be told from 0.
    """
    eigvals = np.asarray(eigvals, dtype=np.float64)
    return eigvals <= size * np.finfo(np.float64).eps * max(float(scale), 0.0)


@float64
@renamed_keywords(m="matrices")
def eigensystem(matrices: FiniteSizeMatrices, n: int) -> Eigensystem:
    """Full p×p eigendecomposition of U with V, V_pop, U_pop rotated into its basis.

    Numerically null modes (`null_modes`, e.g. all but d of them for a linear σ) get λ_k = 0 and
    ṽ_k = 0 exactly: ‖ṽ_k‖² ≤ λ_k (Bessel), so the flow from A(0) = 0 never moves along them and
    τ = inf gives the minimum-norm minimiser (theory/dynamics.md §3, "Null modes").
    """
    # NumPy (LAPACK) rather than eager JAX: no per-shape compilation of each small op.
    eigvals, Q = np.linalg.eigh(np.asarray(matrices.U))
    V, V_pop, U_pop = (np.asarray(x) for x in (matrices.V, matrices.V_pop, matrices.U_pop))
    vt, vpop_t, upop_t = Q.T @ V, Q.T @ V_pop, Q.T @ U_pop @ Q
    null = null_modes(eigvals, np.max(np.abs(eigvals)) if eigvals.size else 0.0, eigvals.size)
    if np.any(null):
        eigvals = np.where(null, 0.0, eigvals)
        vt = np.where(null[:, None], 0.0, vt)
    return Eigensystem(eigvals=eigvals, Q=Q, vt=vt, vpop_t=vpop_t, upop_t=upop_t,
                       t=matrices.t, delta_t=matrices.delta_t, l_opt=matrices.l_opt, p=matrices.p, d=matrices.d, n=n,
                       complete=True)
