"""Spectral density of U from the fixed-point equations (S1)-(S3) (theory/spectrum.md).

See theory/spectrum.md. Unknowns q, r, s ∈ ℂ at z = λ + iη with

    ŝ = b_t² ψ_p + 1/q,   D = 1 + (ψ_p/ψ_n)(α r + v_t² q),   r̂ = ψ_p α / D,   α = a_t² e^{-2t}
    (S1) s = E_{λ'~ρ_Σ}[1/(ŝ + λ' r̂)]        (S2) r = E_{λ'~ρ_Σ}[λ'/(ŝ + λ' r̂)]
    (S3) ψ_p (s_t² - z) + ψ_p v_t²/D + (1 - ψ_p)/q - s/q² = 0

and ρ(λ) = Im q(λ + i0⁺)/π. The solver writes q = w_atom/(s_t² - z) + q_c, so that the
unknown q_c (the Stieltjes transform of the continuous part) stays bounded at the atom,
and uses (S3) divided by q with the atom's O(1) terms cancelled analytically:

    (S3') ψ_p (s_t² - z) q_c + [ψ_p w_atom + ψ_n + 1 - ψ_p] - ψ_n (1 + (ψ_p/ψ_n) α r)/D - s/q = 0.

All points of a grid are solved at once (jax.vmap) by complex Newton steps (Jacobian from
holomorphic jax.jacfwd, 3×3 solve by Cramer's rule), following each point from η₀ = large,
where q ≈ -1/z, s ≈ q, r ≈ E[λ'] q, down to the requested η (continuation in η along a
geometric schedule). The continued branch has Im q > 0; points that end with a residual
above ``tol`` or on a wrong branch are flagged, never silently returned as valid.
"""
from __future__ import annotations


from dataclasses import dataclass, field
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..core.constants import GEConstants, ge_constants
from ..core.covariance import ISOTROPIC, SigmaSpectrum
from ..core.errors import ConvergenceError, InputError, check_positive
from ..core.deprecation import options_from_keywords, require_keyword
from ..core.precision import float64
from ..core.status import Status

__all__ = ["SpectrumResult", "solve_spectrum", "stieltjes", "require_converged", "atom_weight",
           "LimitingStructure", "limiting_structure", "empirical_stieltjes"]


# ----------------------------------------------------------------------------- results
@float64
@dataclass(frozen=True)
class SpectrumResult:
    """Solution of (S1)-(S3) at points z = lam + i·eta, all arrays of shape (N,).

    q: (1/p) Tr (U - z)^{-1} (atom included); q_cont: its continuous part;
    r, s: the auxiliary unknowns, s(z) = (1/p) Tr[(U - z)^{-1} W Wᵀ/d],
    r(z) = (1/p) Tr[(U - z)^{-1} W Σ Wᵀ/d]. residual: the largest scale-free residual of
    (S1), (S2), (S3') (|Σ terms| / Σ |terms|); converged: residual ≤ tol, finite, Im q_c ≥ 0.
    The atom sits at ``atom_location`` = s_t² with weight ``atom_weight``.
    """

    lam: np.ndarray
    eta: np.ndarray
    q: np.ndarray
    q_cont: np.ndarray
    r: np.ndarray
    s: np.ndarray
    residual: np.ndarray
    converged: np.ndarray
    atom_location: float
    atom_weight: float
    psi_p: float
    psi_n: float
    constants: GEConstants
    sigma: SigmaSpectrum
    tol: float = 1e-10
    parameters: dict = field(default_factory=dict)

    @property
    def z(self) -> np.ndarray:
        return self.lam + 1j * self.eta

    @property
    def density(self) -> np.ndarray:
        """Continuous density ρ(λ) = Im q_c/π at the points (the atom excluded), shape (N,)."""
        return self.q_cont.imag / np.pi

    @property
    def smoothed_density(self) -> np.ndarray:
        """Im q(λ + iη)/π: ρ (atom included) convolved with the Poisson kernel of width η."""
        return self.q.imag / np.pi

    @property
    def v_stieltjes(self) -> np.ndarray:
        """(1/d) Tr Vᵀ (U - z)^{-1} V = b_t² ψ_p s(z) (theory/spectrum.md §2), shape (N,)."""
        return self.constants.b_t**2 * self.psi_p * self.s

    @property
    def mu_v_density(self) -> np.ndarray:
        """Density of μ_V: b_t² ψ_p Im s/π (μ_V has no atom), shape (N,)."""
        return self.v_stieltjes.imag / np.pi

    @property
    def mass(self) -> float:
        """∫ρ dλ (trapezoid over the grid) + atom weight; ≈ 1 when the grid covers the support."""
        return float(np.trapezoid(self.density, self.lam)) + self.atom_weight

    @property
    def error(self) -> float:
        """The largest scale-free residual over the points (the error estimate of the status)."""
        return float(np.max(self.residual)) if self.residual.size else 0.0

    @property
    def success(self) -> bool:
        return bool(np.all(self.converged))

    @property
    def status(self) -> Status:
        """The scalar status (all points converged, the largest residual, `message`); the per-point
        flags are ``converged``."""
        return Status(converged=self.success, error=self.error, message="" if self.success else self.message)

    @property
    def message(self) -> str:
        """One line: converged at every point, or where and by how much not."""
        bad = int(np.sum(~self.converged))
        worst = float(np.max(self.residual)) if self.residual.size else 0.0
        if bad == 0:
            return f"converged at all {self.lam.size} points (max residual {worst:.2e} <= tol {self.tol:.0e})"
        where = self.lam[~self.converged]
        return (f"NOT converged at {bad} of {self.lam.size} points (λ in [{where.min():.4g}, {where.max():.4g}], "
                f"max residual {worst:.2e} > tol {self.tol:.0e})")


@float64
def require_converged(result: SpectrumResult) -> SpectrumResult:
    """Return ``result`` if every point converged, else raise ConvergenceError naming the parameters."""
    if not result.success:
        constants = result.constants
        raise ConvergenceError(
            f"spectrum (S1)-(S3) {result.message}; parameters psi_p={result.psi_p:g}, psi_n={result.psi_n:g}, "
            f"t={constants.t:g}, sigma_spectrum='{result.sigma}', eta={float(np.min(result.eta)):.3g}")
    return result


@float64
def atom_weight(psi_p: float, psi_n: float, v_t2: float = 1.0) -> float:
    """Weight of the atom of ρ at λ = s_t²: max(0, 1 - (1 + ψ_n)/ψ_p) (rank n + d of (G4));
    max(0, 1 - 1/ψ_p) when v_t² = 0 (linear activation: rank d)."""
    extra = 1.0 if v_t2 > 0 else 0.0
    return max(0.0, 1.0 - (1.0 + extra * psi_n) / psi_p)


# ----------------------------------------------------------------------------- the equations
@float64
class SpectralParams(NamedTuple):
    """The scalars of (S1)-(S3) as a pytree of complex128 0-d arrays (crosses `jit` as one argument).

    b2 = b_t², v2 = v_t², s2 = s_t², alpha = a_t² e^{-2t}, w_at the atom's weight, bracket
    ψ_p w_at + ψ_n + 1 - ψ_p of (S3') computed without round-off.
    """

    psi_p: jnp.ndarray
    psi_n: jnp.ndarray
    b2: jnp.ndarray
    v2: jnp.ndarray
    s2: jnp.ndarray
    alpha: jnp.ndarray
    w_at: jnp.ndarray
    bracket: jnp.ndarray


def _residual_terms(x, z, prm: SpectralParams, sigma_eigvals, w_k):
    """(S1), (S2), (S3') as (value, scale) pairs; x = (q_c, r, s)."""
    psi_p, psi_n, b2, v2, s2, alpha, w_at, bracket = prm
    qc, r, s = x[0], x[1], x[2]
    eps = s2 - z
    q = w_at / eps + qc
    shat = b2 * psi_p + 1.0 / q
    D = 1.0 + (psi_p / psi_n) * (alpha * r + v2 * q)
    rhat = psi_p * alpha / D
    inv = 1.0 / (shat + sigma_eigvals * rhat)  # (K,)
    e1 = jnp.sum(w_k * inv)
    e2 = jnp.sum(w_k * sigma_eigvals * inv)
    t1 = psi_p * eps * qc
    t3 = -psi_n * (1.0 + (psi_p / psi_n) * alpha * r) / D
    t4 = -s / q
    vals = jnp.stack([s - e1, r - e2, t1 + bracket + t3 + t4])
    ai = jnp.abs(inv)
    wr, lr = jnp.real(w_k), jnp.real(sigma_eigvals)
    scales = jnp.stack([jnp.abs(s) + jnp.sum(wr * ai), jnp.abs(r) + jnp.sum(wr * lr * ai),
                        jnp.abs(t1) + jnp.abs(bracket) + jnp.abs(t3) + jnp.abs(t4)])
    return vals, scales


def _equations(x, z, prm, sigma_eigvals, w_k):
    return _residual_terms(x, z, prm, sigma_eigvals, w_k)[0]


def _solve3(J, F):
    """Solve J dx = F for a 3×3 complex J by Cramer's rule (batched-friendly)."""
    def det(M):
        return (M[0, 0] * (M[1, 1] * M[2, 2] - M[1, 2] * M[2, 1])
                - M[0, 1] * (M[1, 0] * M[2, 2] - M[1, 2] * M[2, 0])
                + M[0, 2] * (M[1, 0] * M[2, 1] - M[1, 1] * M[2, 0]))
    dJ = det(J)
    cols = [det(J.at[:, k].set(F)) for k in range(3)]
    return jnp.stack(cols) / dJ


def _newton_step(x, z, prm, sigma_eigvals, w_k):
    F = _equations(x, z, prm, sigma_eigvals, w_k)
    J = jax.jacfwd(_equations, holomorphic=True)(x, z, prm, sigma_eigvals, w_k)
    dx = _solve3(J, F)
    # Guard against a wild step (singular J near a band edge): cap it at the size of x.
    size = jnp.linalg.norm(x) + 1e-300
    step = jnp.linalg.norm(dx)
    dx = jnp.where(step > size, dx * (size / step), dx)
    x_new = x - dx
    return jnp.where(jnp.all(jnp.isfinite(x_new)), x_new, x)


def _initial(z, prm, sigma_eigvals, w_k):
    """Large-|z| solution q ≈ -1/z, s ≈ q, r ≈ E[λ'] q, written in (q_c, r, s)."""
    w_at, s2 = prm.w_at, prm.s2
    q = -1.0 / z
    return jnp.stack([q - w_at / (s2 - z), jnp.sum(w_k * sigma_eigvals) * q, q])


@partial(jax.jit, static_argnames=("n_newton", "n_polish"))
def _continuation(lam, etas, prm, sigma_eigvals, w_k, n_newton=3, n_polish=8):
    """Follow every point along its η schedule. lam (N,), etas (M, N) decreasing in the first axis.

    Returns x (N, 3) at the last η and the scale-free residual (N,).
    """
    def point(lam_i, etas_i):
        z0 = lam_i + 1j * etas_i[0]
        x0 = _initial(z0, prm, sigma_eigvals, w_k)

        def along(x, eta):
            z = lam_i + 1j * eta
            x = jax.lax.fori_loop(0, n_newton, lambda _, y: _newton_step(y, z, prm, sigma_eigvals, w_k), x)
            return x, None

        x, _ = jax.lax.scan(along, x0, etas_i)
        z = lam_i + 1j * etas_i[-1]
        x = jax.lax.fori_loop(0, n_polish, lambda _, y: _newton_step(y, z, prm, sigma_eigvals, w_k), x)
        vals, scales = _residual_terms(x, z, prm, sigma_eigvals, w_k)
        res = jnp.max(jnp.abs(vals) / jnp.where(scales > 0, scales, 1.0))
        return x, jnp.where(jnp.all(jnp.isfinite(x)), res, jnp.inf)

    return jax.vmap(point, in_axes=(0, 1))(lam, etas)


# ----------------------------------------------------------------------------- public API
_MIN_STEPS = 96  # ≥ 6 steps per decade from η₀ ~ 1e3 down to 1e-13
_CHUNK = 512


def _setup(psi_p, psi_n, t, activation, sigma, constants):
    psi_p = check_positive("psi_p", psi_p)
    psi_n = check_positive("psi_n", psi_n)
    sigma = ISOTROPIC if sigma is None else sigma
    if not isinstance(sigma, SigmaSpectrum):
        raise InputError("sigma", f"must be a SigmaSpectrum (eigenvalue:weight pairs), got {type(sigma).__name__}")
    if constants is None:
        if t is None:
            raise InputError("t", "give the diffusion time t > 0 (or precomputed constants)")
        constants = ge_constants(t, activation, sigma)
    constants = constants
    w_at = atom_weight(psi_p, psi_n, constants.v_t2)
    extra = psi_n if constants.v_t2 > 0 else 0.0
    # ψ_p w + ψ_n + 1 - ψ_p, computed without round-off (0 exactly when the atom is present and v_t² > 0).
    bracket = (psi_n - extra) + max(0.0, 1.0 + extra - psi_p)
    prm = SpectralParams(*(jnp.asarray(v, dtype=jnp.complex128)
                           for v in (psi_p, psi_n, constants.b_t**2, constants.v_t2, constants.s_t2, constants.alpha, w_at, bracket)))
    # Pad ρ_Σ with zero-weight deltas to a power of two (≥ 2): same sums, fewer recompilations.
    k = len(sigma.eigenvalues)
    k_pad = max(2, 1 << int(np.ceil(np.log2(k))))
    sigma_eigvals = jnp.asarray(list(sigma.eigenvalues) + [0.0] * (k_pad - k), dtype=jnp.complex128)
    w_k = jnp.asarray(list(sigma.weights) + [0.0] * (k_pad - k), dtype=jnp.complex128)
    return psi_p, psi_n, sigma, constants, w_at, prm, sigma_eigvals, w_k


def _spectral_scale(psi_p, psi_n, constants: GEConstants, sigma: SigmaSpectrum) -> float:
    """An upper scale for the spectrum of U (largest eigenvalue, generously), for η₀."""
    lmax = max(sigma.eigenvalues)
    top = (constants.alpha * lmax * (1 + 1 / np.sqrt(psi_n)) ** 2 + constants.b_t**2) * psi_p * (1 + 1 / np.sqrt(psi_p)) ** 2
    return float(top + constants.v_t2 * (1 + np.sqrt(psi_p / psi_n)) ** 2 + constants.s_t2 + 1.0)


@float64
@dataclass(frozen=True)
class ContinuationRule:
    """The rule of the continuation in η that solves (S1)-(S3) at every point (theory/spectrum.md §3).

    tol: the largest residual of (S1)-(S3') (dimensionless, > 0) at which a point counts as converged;
    steps_per_decade: continuation steps per decade of η, from η₀ (well above the spectrum's scale) down to
    the final η (int >= 1; the schedule is rounded up to a fixed length so that one compiled program serves).
    """

    tol: float = 1e-10
    steps_per_decade: int = 6

    def __post_init__(self):
        check_positive("tol", self.tol)
        if int(self.steps_per_decade) != self.steps_per_decade or int(self.steps_per_decade) < 1:
            raise InputError("steps_per_decade", f"must be an integer >= 1, got {self.steps_per_decade}")


DEFAULT_CONTINUATION = ContinuationRule()


def _solve_points(lam, eta, psi_p, psi_n, t, activation, sigma, constants, tol, steps_per_decade):
    psi_p, psi_n, sigma, constants, w_at, prm, sigma_eigvals, w_k = _setup(psi_p, psi_n, t, activation, sigma, constants)
    steps_per_decade = int(steps_per_decade)
    if steps_per_decade < 1:
        raise InputError("steps_per_decade", f"must be an integer >= 1, got {steps_per_decade}")
    with np.errstate(over="ignore"):
        eta0 = 10.0 * (_spectral_scale(psi_p, psi_n, constants, sigma) + float(np.max(np.abs(lam))))
        span = eta0 / np.min(eta)
    if np.isfinite(eta0) and not np.isfinite(span) and np.log10(eta0) < -np.log10(np.min(eta)):
        # a moderate scale, but η so small that η₀/η overflows
        raise InputError("eta", f"= {np.min(eta):g} is too small: η₀/η = {eta0:.3g}/η overflows float64")
    if not (np.isfinite(eta0) and np.isfinite(span)):  # ratios so extreme that the scale overflows float64
        arg = "psi_p" if abs(np.log(psi_p)) >= abs(np.log(psi_n)) else "psi_n"
        raise InputError(arg, f"ψ_p = {psi_p:g}, ψ_n = {psi_n:g} put the spectrum of U beyond float64 range "
                              f"(its scale overflows); use ratios of moderate size")
    decades = float(np.log10(span))
    m = max(2, int(np.ceil(max(decades, 0.0) * steps_per_decade)) + 1)
    # Fixed shapes (schedule length, chunk of points, number of deltas of ρ_Σ) so that every
    # call reuses one compiled program; a finer schedule than asked only helps the continuation.
    m = _MIN_STEPS if m <= _MIN_STEPS else _MIN_STEPS * int(np.ceil(m / _MIN_STEPS))
    n_pts = lam.size
    n_pad = _CHUNK * int(np.ceil(n_pts / _CHUNK))
    lam_p = np.concatenate([lam, np.full(n_pad - n_pts, lam[-1])])
    eta_p = np.concatenate([eta, np.full(n_pad - n_pts, eta[-1])])
    frac = np.linspace(0.0, 1.0, m)[:, None]
    etas = np.exp((1 - frac) * np.log(eta0) + frac * np.log(eta_p)[None, :])  # (m, N_pad)
    xs, rs = [], []
    for i in range(0, n_pad, _CHUNK):
        x_i, r_i = _continuation(jnp.asarray(lam_p[i:i + _CHUNK], dtype=jnp.complex128),
                                 jnp.asarray(etas[:, i:i + _CHUNK], dtype=jnp.complex128), prm, sigma_eigvals, w_k)
        xs.append(np.asarray(x_i))
        rs.append(np.asarray(r_i))
    x, res = np.concatenate(xs), np.concatenate(rs)
    x = np.asarray(x)[:n_pts]
    res = np.asarray(res, dtype=np.float64)[:n_pts]
    z = lam + 1j * eta
    qc, r, s = x[:, 0], x[:, 1], x[:, 2]
    q = w_at / (constants.s_t2 - z) + qc
    # Physical branch: Stieltjes transforms of positive measures have Im ≥ 0 (up to round-off).
    on_branch = (qc.imag >= -1e-9 * np.abs(qc)) & (s.imag >= -1e-9 * np.abs(s))
    converged = np.isfinite(res) & (res <= tol) & on_branch
    params = {"psi_p": psi_p, "psi_n": psi_n, "t": constants.t, "sigma_spectrum": str(sigma),
              "eta_final": float(np.min(eta)), "eta_initial": eta0, "continuation_steps": m, "tol": tol}
    return SpectrumResult(lam=lam, eta=eta, q=q, q_cont=qc, r=r, s=s, residual=res, converged=converged,
                          atom_location=float(constants.s_t2), atom_weight=w_at, psi_p=psi_p, psi_n=psi_n,
                          constants=constants, sigma=sigma, tol=tol, parameters=params)


@float64
@require_keyword
@options_from_keywords(continuation=ContinuationRule)
def solve_spectrum(lam, *, psi_p: float, psi_n: float, t: float | None = None, activation="tanh",
                   sigma: SigmaSpectrum | None = None, eta: float = 1e-12, constants: GEConstants | None = None,
                   continuation: ContinuationRule = DEFAULT_CONTINUATION, throw: bool = True) -> SpectrumResult:
    """Density ρ(λ) of U on a real grid ``lam`` (N,) from (S1)-(S3), all points at once.

    ``lam``: the spectral variable λ (units of U's eigenvalues); ψ_p, ψ_n > 0; t > 0 the diffusion time.
    ``continuation``: a `ContinuationRule` (``tol``, ``steps_per_decade``; as keywords: the 0.1 form,
    deprecated).

    Each point is continued from η₀ (well above the spectrum's scale) to the final ``eta``
    (> 0, default 1e-12; the result's ``density`` is Im q_c/π with the atom's Poisson kernel
    removed exactly, so ``eta`` only needs to be small next to the grid's features).
    ``sigma``: ρ_Σ as a `SigmaSpectrum` (default Σ = I); ``constants`` overrides (G1)-(G3)
    (then ``t`` and ``activation`` are not used). ``throw`` (default True) raises ConvergenceError
    unless every point converged; with ``throw=False`` the per-point flags are ``result.converged``.
    """
    throw = bool(throw)  # ``require=``, its former name, is read by `require_keyword` (one version)
    lam = np.asarray(lam, dtype=np.float64)
    if lam.ndim != 1 or lam.size < 1 or not np.all(np.isfinite(lam)):
        raise InputError("lam", f"must be a non-empty 1-d array of finite values, got shape {lam.shape}")
    eta = check_positive("eta", eta)
    res = _solve_points(lam, np.full(lam.shape, eta), psi_p, psi_n, t, activation, sigma, constants,
                        continuation.tol, continuation.steps_per_decade)
    return require_converged(res) if throw else res


@float64
@require_keyword
@options_from_keywords(continuation=ContinuationRule)
def stieltjes(z, *, psi_p: float, psi_n: float, t: float | None = None, activation="tanh",
              sigma: SigmaSpectrum | None = None, constants: GEConstants | None = None,
              continuation: ContinuationRule = DEFAULT_CONTINUATION, throw: bool = True) -> SpectrumResult:
    """(S1)-(S3) at arbitrary complex points ``z`` (any shape, flattened to (N,)), Im z > 0.

    ψ_p, ψ_n > 0, t > 0 or ``constants``, ``sigma`` as in `solve_spectrum`; ``continuation``: a
    `ContinuationRule` (its fields as keywords: the 0.1 form, deprecated).

    ``result.q`` is q(z) = lim (1/p) Tr (U - z)^{-1} including the atom: Im q/π is ρ convolved
    with the Poisson kernel of width Im z, which finite-size eigenvalues give directly
    (`empirical_stieltjes`). ``result.v_stieltjes`` is (1/d) Tr Vᵀ(U - z)^{-1}V = b_t² ψ_p s(z).
    ``throw`` (default True) raises ConvergenceError unless every point converged; with ``throw=False``
    the per-point flags are ``result.converged``.
    """
    throw = bool(throw)  # ``require=``, its former name, is read by `require_keyword` (one version)
    z = np.ravel(np.asarray(z, dtype=np.complex128))
    if z.size < 1 or not np.all(np.isfinite(z)) or np.any(z.imag <= 0):
        raise InputError("z", "must be finite complex numbers with Im z > 0")
    res = _solve_points(z.real.copy(), z.imag.copy(), psi_p, psi_n, t, activation, sigma, constants,
                        continuation.tol, continuation.steps_per_decade)
    return require_converged(res) if throw else res


@float64
def empirical_stieltjes(eigenvalues, z) -> np.ndarray:
    """(1/p) Σ_k 1/(λ_k - z) for finite-size eigenvalues (p,) at points z (N,) -> (N,)."""
    ev = np.asarray(eigenvalues, dtype=np.float64)
    z = np.asarray(z, dtype=np.complex128)
    return np.mean(1.0 / (ev[None, :] - z.reshape(-1, 1)), axis=1).reshape(z.shape)


# ----------------------------------------------------------------------------- ψ_p ≫ ψ_n ≫ 1
@float64
@dataclass(frozen=True)
class LimitingStructure:
    """Structure of ρ for ψ_p ≫ ψ_n ≫ 1 (theory/spectrum.md §5).

    atom at ``atom_location`` = s_t² with ``atom_weight``; n - d eigenvalues in the
    Marchenko–Pastur bulk [mp_lower, mp_upper] = s_t² + v_t²(1 ∓ √(ψ_p/ψ_n))²; d small ones
    at mean s_t² + ``small_cluster``, small_cluster = ψ_p b_t² v_t² E[1/λ']/(ψ_n α) (for Σ = I the
    isotropic form ψ_p b_t² v_t²/(ψ_n a_t² κ²)), one sub-cluster per eigenvalue λ' of Σ near
    s_t² + ``small_clusters``[k] (spread by the spectrum of X Xᵀ/n); d large ones with mean
    ``large_scale`` = ψ_p (α E[λ'] + b_t²), of order ψ_p. (Checked against the solver at
    ψ_p = 256, ψ_n = 16 to ≤ 5 %; theory/spectrum.md §5.)
    """

    atom_location: float
    atom_weight: float
    mp_lower: float
    mp_upper: float
    small_cluster: float
    large_scale: float
    small_clusters: tuple = ()

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@float64
def limiting_structure(*, psi_p: float, psi_n: float, t: float | None = None, activation="tanh",
                       sigma: SigmaSpectrum | None = None, constants: GEConstants | None = None) -> LimitingStructure:
    """The ψ_p ≫ ψ_n ≫ 1 landmarks of ρ(λ) as numbers (see `LimitingStructure`)."""
    psi_p, psi_n, sigma, constants, w_at, *_ = _setup(psi_p, psi_n, t, activation, sigma, constants)
    root = np.sqrt(psi_p / psi_n)
    return LimitingStructure(
        atom_location=float(constants.s_t2), atom_weight=w_at,
        mp_lower=float(constants.s_t2 + constants.v_t2 * (1 - root) ** 2), mp_upper=float(constants.s_t2 + constants.v_t2 * (1 + root) ** 2),
        small_cluster=float(psi_p * constants.b_t**2 * constants.v_t2 / (psi_n * constants.alpha) * sigma.expect(lambda x: 1.0 / x)),
        small_clusters=tuple(float(psi_p * constants.b_t**2 * constants.v_t2 / (psi_n * constants.alpha * lk)) for lk in sigma.eigenvalues),
        large_scale=float(psi_p * (constants.alpha * sigma.mean + constants.b_t**2)))
