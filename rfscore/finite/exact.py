"""The exact noise-averaged matrices of the non-linear model (theory/exact_matrices.md).

V, V_pop by Stein's lemma (E1), U, U_pop by Mehler's expansion (E2)-(E3): every noise
average is a one-dimensional Gaussian integral done by a converged trapezoid rule, the
Mehler series truncated at a rigorous entrywise bound. No Gaussian equivalence, no Monte
Carlo. Conventions: W (p, d), X (n, d), Σ (d, d); float64.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from ..core.activations import get_activation
from ..core.constants import delta_t, ge_constants
from ..core.covariance import SigmaSpectrum, l_opt
from .eigensystem import FiniteSizeMatrices, check_inputs
from ..core.errors import ConvergenceError, InputError, check_positive, check_positive_int
from ..core.quadrature import halve_until_converged, hermite_table, trapezoid_nodes
from ..core.precision import float64
from ..core.deprecation import options_from_keywords, require_keyword


_H_START, _H_FINEST = 0.5, 2.0**-7


def _quadrature_step(act, means, scales, order: int, tol: float, h_finest: float = _H_FINEST):
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
        return np.concatenate([vals @ hermite_table(z, w, order), (vals**2 @ w)[:, None]], axis=1)

    h, _, err, converged = halve_until_converged(coefficients, lambda a, b: float(np.max(np.abs(a - b))), tol,
                                                 _H_START, h_finest)
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
    table = jnp.asarray(hermite_table(z, w, order))
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


MEHLER_TILE = 512  # rows/columns of one Mehler tile: its arrays stay in cache across the K orders


def _unit_rows(W_metric):
    """Rows of W_metric normalised to 1 (so r = Ŵ Ŵᵀ), and r_max = max_{i≠j} |r_ij| over tiles."""
    Wm = np.asarray(W_metric)
    What = Wm / np.linalg.norm(Wm, axis=1, keepdims=True)
    p, b, r_max = What.shape[0], MEHLER_TILE, 0.0
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
    b = MEHLER_TILE
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


_ORDERS = (12, 24, 32, 64)  # coefficients are computed to these orders first, to max_order only if the bound needs it


def _mehler_matrix(act, means, scales, W_metric, max_order: int, tol: float, h_finest: float = _H_FINEST):
    """The (E2)-(E3) matrix for given means (p, n), scales (p,) and correlations of W_metric (p, d).

    Returns (U (p,p), F (K+1, p, n), bound, K, quadrature error). K is the first order whose
    Cauchy–Schwarz tail bound is ≤ tol (`_mehler_order`), at most max_order.
    """
    What, r_max = _unit_rows(W_metric)
    for order in sorted({min(o, max_order) for o in _ORDERS} | {max_order}):
        # high Hermite orders oscillate faster and need a finer rule: refine per stage
        h, quad = _quadrature_step(act, means, scales, order, tol, h_finest)
        F, e = _mehler_coefficients(act, means, scales, h, order)
        K, bound = _mehler_order(F, e, r_max, tol)
        if bound <= tol:
            break
    F = F[:max(K, 1) + 1]  # order 1 is also Stein's coefficient of V
    return _mehler_sum(F, e, What), F, bound, K, quad


@float64
@dataclass(frozen=True)
class MehlerRule:
    """The numerical rule of the exact matrices (E1)-(E3) (theory/exact_matrices.md §8).

    max_order: the highest Mehler order K of (E2)-(E3) (int >= 1); the series stops earlier, once its
    entrywise tail bound (E4) is below ``tol``. tol: the one entrywise tolerance (> 0; units of the entries of
    U, those of σ², dimensionless for tanh) that both the truncation bound (E4) and the trapezoid rule's error
    (two successive steps agreeing) must meet. h_finest: the finest trapezoid step allowed in the standard
    normal variable z of the noise integrals (> 0, dimensionless; default 2⁻⁷).
    """

    max_order: int = 256
    tol: float = 1e-12
    h_finest: float = _H_FINEST

    def __post_init__(self):
        check_positive_int("max_order", self.max_order)
        check_positive("tol", self.tol)
        check_positive("h_finest", self.h_finest)


DEFAULT_MEHLER = MehlerRule()


@float64
@require_keyword
@options_from_keywords(mehler=MehlerRule)
def exact_matrices(W, X, *, t: float, activation="tanh", sigma=None, X_test=None, mehler: MehlerRule = DEFAULT_MEHLER,
                   throw: bool = True) -> FiniteSizeMatrices:
    """Exact noise-averaged U, V, U_pop, V_pop of the non-linear model (E1)-(E3).

    V_ij = (√Δ/√d) κ_i W_ij with κ_i = mean_ν E σ'(m_iν + s_i z) (Stein; E σ' = E[zσ]/s),
    m = e^{-t} W Xᵀ/√d, s_i² = Δ (WWᵀ/d)_ii; U by Mehler's expansion with correlations
    r_ij = C_ij/√(C_ii C_jj); U_pop and V_pop the same with zero means and W Σ_t Wᵀ/d.
    W (p, d), X (n, d), t > 0 the diffusion time (units of (D1)), ``activation`` σ, ``sigma`` Σ ((d, d) or a
    `SigmaSpectrum`, default I). ``mehler``: a `MehlerRule` (max_order, tol, h_finest). Each expectation is a
    trapezoid rule in z whose step is refined until the Hermite coefficients agree to ``tol``
    (`_quadrature_step`); Mehler orders up to ``max_order``, truncated once the entrywise tail bound is below
    ``tol``. (``max_order=``, ``tol=``, ``h_finest=`` as keywords: the 0.1 form, deprecated.) Reported: ``truncation_bound``
    and ``quadrature_error``, each the larger of its U and U_pop values, and the status
    ``converged`` (both ≤ ``tol``), ``error``, ``tol`` (theory/exact_matrices.md §8). If either
    exceeds ``tol`` (max_order too small for the correlations r_ij, or the quadrature step
    capped at ``h_finest``) ``throw`` (default True) raises ConvergenceError naming the parameters;
    ``throw=False`` returns the result flagged ``converged`` False instead.

    ``X_test`` (N, d): held-out points (theory/real_data.md (R1)). U_pop and V_pop are then
    the same noise averages as U and V, taken over the held-out points instead of the training
    points (means e^{-t} W x_testᵀ/√d, scales s_i² = Δ C_ii): unbiased estimates of the
    population matrices whatever the data law, no Gaussian assumption. Σ is then not needed;
    ``l_opt`` is NaN (not defined) unless ``sigma`` is given as well.
    """
    throw = bool(throw)  # ``require=``, its former name, is read by `require_keyword` (one version)
    sigma_given = sigma is not None
    W, X, S = check_inputs(W, X, sigma)
    max_order, tol, h_finest = int(mehler.max_order), float(mehler.tol), float(mehler.h_finest)
    if X_test is not None:
        X_test = np.asarray(X_test, dtype=np.float64)
        if X_test.ndim != 2 or X_test.shape[1] != W.shape[1] or X_test.shape[0] < 1:
            raise InputError("X_test", f"must have shape (N, d) with N >= 1, d = {W.shape[1]}, got {X_test.shape}")
        if not np.all(np.isfinite(X_test)):
            raise InputError("X_test", "contains non-finite values")
    t = float(t)
    act = get_activation(activation)
    ge_constants(t, act, SigmaSpectrum.from_matrix(S))  # validates t and the activation's mean
    p, d = W.shape
    dl = delta_t(t)
    Wn = np.asarray(W)
    means = np.exp(-t) * (Wn @ np.asarray(X).T) / np.sqrt(d)
    scales = np.sqrt(dl * np.sum(Wn**2, axis=1) / d)
    U, F, bound, order, quad = _mehler_matrix(act, means, scales, Wn, max_order, tol, h_finest)
    kappa = np.mean(F[1], axis=1) / scales
    V = np.sqrt(dl / d) * kappa[:, None] * Wn

    if X_test is not None:
        # (R1): the population average replaced by the average over held-out points, with the
        # very same per-point noise integrals as U, V (same W metric and scales s_i).
        means_test = np.exp(-t) * (Wn @ np.asarray(X_test).T) / np.sqrt(d)
        U_pop, F_pop, bound_pop, order_pop, quad_pop = _mehler_matrix(act, means_test, scales, Wn, max_order, tol,
                                                                                   h_finest)
        kappa_pop = np.mean(F_pop[1], axis=1) / scales
        lopt = l_opt(S, t) if sigma_given else float("nan")
    else:
        sigma_t = np.exp(-2 * t) * S + dl * np.eye(d)
        W_pop = Wn @ np.linalg.cholesky(sigma_t)  # C_pop = W Σ_t Wᵀ/d = W_pop W_popᵀ/d
        scales_pop = np.sqrt(np.sum(W_pop**2, axis=1) / d)
        U_pop, F_pop, bound_pop, order_pop, quad_pop = _mehler_matrix(act, np.zeros((p, 1)), scales_pop, W_pop,
                                                                      max_order, tol, h_finest)
        kappa_pop = F_pop[1, :, 0] / scales_pop
        lopt = l_opt(S, t)
    V_pop = np.sqrt(dl / d) * kappa_pop[:, None] * Wn
    trunc, quad = float(max(bound, bound_pop)), float(max(quad, quad_pop))
    finite = all(np.all(np.isfinite(a)) for a in (U, V, U_pop, V_pop))
    converged = bool(finite and trunc <= tol and quad <= tol)
    if not converged and throw:
        why = [w for w, bad in (("non-finite entries", not finite), (f"Mehler truncation bound {trunc:.3g}", trunc > tol),
                                (f"quadrature error {quad:.3g} (step capped at h_finest = {h_finest:g})", quad > tol))
               if bad]
        raise ConvergenceError(f"exact matrices not converged: {' and '.join(why)} > tol = {tol:g} (p = {p}, d = {d}, "
                               f"n = {X.shape[0]}, "
                               f"t = {t:g}, activation = {getattr(act, 'name', activation)}, max_order = {max_order}); "
                               f"raise `max_order` or `tol`")
    return FiniteSizeMatrices(U=U, V=V, U_pop=U_pop, V_pop=V_pop, t=t, delta_t=dl, l_opt=lopt,
                              model="exact", truncation_bound=trunc, mehler_order=int(max(order, order_pop)),
                              quadrature_error=quad, tol=tol, converged=converged)
