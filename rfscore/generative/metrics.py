"""Memorisation, quality and the theory-side KL estimate of generated samples (theory/generation.md §3).

(Y7)  f_mem: fraction of samples y with ‖y - x_(1)‖/‖y - x_(2)‖ < 1/3 (nearest and second-nearest
      training points), with the Wilson score interval.
(Y8)  Fréchet distance of the samples' Gaussian fit N(μ̂, Ĉ) to N(0, Σ):
      ‖μ̂‖² + Tr(Ĉ + Σ - 2 (Σ^{1/2} Ĉ Σ^{1/2})^{1/2}); its finite-N floor from exact draws.
(Y13) real data: the same distance between the Gaussian fits of the samples and of held-out rows.
(Y9)  Girsanov estimate: KL(p_T ‖ N(0, I))/d + Σ_k E_score_k |cell_k|, with
      KL(N(0, Σ_T) ‖ N(0, I)) = ½ (Tr Σ_T - d - log det Σ_T) and E_score (L3) of each cell's
      readout at its own grid time. An estimate, not a bound, of KL(p_{t_min} ‖ q_{t_min})/d: the
      continuous-time Girsanov bound has ∫ E_score(t) dt with the readout scored at every t of its
      cell, and the sampler's time discretisation is left out (theory/generation.md (Y9), (Y12)).
Conventions: samples (N, d), training set X (n, d), Σ (d, d).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import jax
import numpy as np
from scipy import stats

from ..core.errors import InputError, check_positive_int
from .score_model import cell_edges
from ..core.precision import float64

COPY_RATIO = 1.0 / 3.0  # the paper's copy criterion
_BLOCK = 4096  # samples per block of the distance computation (memory O(block · n))


@float64
@dataclass(frozen=True)
class Memorisation:
    """f_mem with its Wilson 95 % interval [lo, hi]; copies of num samples; ratio (N,) per sample."""

    f_mem: float
    lo: float
    hi: float
    copies: int
    num: int
    ratio: np.ndarray

    def to_dict(self) -> dict:
        out = asdict(self)
        out.pop("ratio")
        return out


@float64
def wilson_interval(k: int, num: int, level: float = 0.95) -> tuple:
    """Wilson score interval of a binomial proportion k/num: (center ± z√(p̂(1-p̂)/N + z²/4N²))/(1 + z²/N)."""
    num = check_positive_int("samples", num)
    if not 0 <= k <= num:
        raise InputError("copies", f"must be in [0, {num}], got {k}")
    z = float(stats.norm.ppf(0.5 + level / 2))
    ph = k / num
    den = 1 + z**2 / num
    center = (ph + z**2 / (2 * num)) / den
    half = z * np.sqrt(ph * (1 - ph) / num + z**2 / (4 * num**2)) / den
    # exact endpoints 0 (k = 0) and 1 (k = N), and lo ≤ p̂ ≤ hi, despite rounding
    return float(min(max(center - half, 0.0), ph)), float(max(min(center + half, 1.0), ph))


@float64
def nearest_ratio(samples, X) -> np.ndarray:
    """‖y - x_(1)‖/‖y - x_(2)‖ for every sample, shape (N,); X needs n ≥ 2 points."""
    Y, X = np.asarray(samples, dtype=np.float64), np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] < 2:
        raise InputError("data", f"the copy criterion needs at least 2 training points, got shape {X.shape}")
    if Y.ndim != 2 or Y.shape[1] != X.shape[1]:
        raise InputError("samples", f"must have shape (N, {X.shape[1]}), got {Y.shape}")
    xx = np.sum(X**2, axis=1)
    out = np.empty(Y.shape[0])
    for i in range(0, Y.shape[0], _BLOCK):
        y = Y[i:i + _BLOCK]
        d2 = np.maximum(np.sum(y**2, axis=1)[:, None] - 2 * y @ X.T + xx[None, :], 0.0)
        two = np.sqrt(np.partition(d2, 1, axis=1)[:, :2])
        with np.errstate(invalid="ignore", divide="ignore"):
            out[i:i + _BLOCK] = np.where(two[:, 1] > 0, two[:, 0] / two[:, 1], 0.0)
    return out


@float64
def memorisation(samples, X, ratio: float = COPY_RATIO, level: float = 0.95) -> Memorisation:
    """(Y7): f_mem = mean(‖y - x_(1)‖/‖y - x_(2)‖ < ratio), with its Wilson interval."""
    r = nearest_ratio(samples, X)
    copies = int(np.sum(r < ratio))
    lo, hi = wilson_interval(copies, r.size, level)
    return Memorisation(copies / r.size, lo, hi, copies, int(r.size), r)


def _sqrtm_psd(M) -> np.ndarray:
    w, Q = np.linalg.eigh((M + M.T) / 2)
    return (Q * np.sqrt(np.clip(w, 0.0, None))) @ Q.T


@float64
def frechet_gaussians(mu1, C1, mu2, C2) -> float:
    """Fréchet (2-Wasserstein²) distance of N(μ1, C1) and N(μ2, C2): ‖μ1-μ2‖² + Tr(C1 + C2 - 2(C2^{1/2} C1 C2^{1/2})^{1/2})."""
    C1, C2 = np.atleast_2d(C1), np.atleast_2d(C2)
    r2 = _sqrtm_psd(C2)
    cross = _sqrtm_psd(r2 @ C1 @ r2)
    diff = np.asarray(mu1, dtype=np.float64) - np.asarray(mu2, dtype=np.float64)
    return float(max(diff @ diff + np.trace(C1) + np.trace(C2) - 2 * np.trace(cross), 0.0))


@float64
def frechet_distance(samples, sigma) -> float:
    """(Y8): Fréchet distance of the Gaussian fit of the samples (mean, unbiased covariance) to N(0, Σ)."""
    Y = np.asarray(samples, dtype=np.float64)
    if Y.ndim != 2 or Y.shape[0] < 2:
        raise InputError("samples", f"needs at least 2 samples of shape (N, d), got {Y.shape}")
    S = np.asarray(sigma, dtype=np.float64)
    return frechet_gaussians(Y.mean(0), np.cov(Y, rowvar=False).reshape(S.shape), np.zeros(S.shape[0]), S)


@float64
def frechet_to_data(samples, reference) -> float:
    """(Y13): Fréchet distance of the Gaussian fits (mean, unbiased covariance) of samples (N, d) and of
    reference rows (M, d), e.g. held-out real data whose law is unknown."""
    Y, R = np.asarray(samples, dtype=np.float64), np.asarray(reference, dtype=np.float64)
    if Y.ndim != 2 or Y.shape[0] < 2 or R.ndim != 2 or R.shape[0] < 2 or R.shape[1] != Y.shape[1]:
        raise InputError("samples", f"needs two sets of at least 2 rows of the same d, got {Y.shape} and {R.shape}")
    return frechet_gaussians(Y.mean(0), np.atleast_2d(np.cov(Y, rowvar=False)), R.mean(0),
                             np.atleast_2d(np.cov(R, rowvar=False)))


@float64
def frechet_floor(key, sigma, num: int, draws: int = 8) -> tuple:
    """Finite-N floor of (Y8): mean and standard deviation over ``draws`` sets of ``num`` exact samples of N(0, Σ)."""
    num, draws = check_positive_int("samples", num), check_positive_int("draws", draws)
    S = np.asarray(sigma, dtype=np.float64)
    L = np.linalg.cholesky(S)
    vals = []
    for j in range(draws):
        z = np.asarray(jax.random.normal(jax.random.fold_in(key, j), (num, S.shape[0]), dtype=np.float64))
        vals.append(frechet_distance(z @ L.T, S))
    return float(np.mean(vals)), float(np.std(vals, ddof=1)) if draws > 1 else float("nan")


@float64
def kl_prior(sigma, T: float) -> float:
    """KL(N(0, Σ_T) ‖ N(0, I)) = ½ (Tr Σ_T - d - log det Σ_T), Σ_T = e^{-2T} Σ + (1 - e^{-2T}) I (nats, total)."""
    ev = np.linalg.eigvalsh(np.asarray(sigma, dtype=np.float64))
    ev_T = np.exp(-2 * T) * ev - np.expm1(-2 * T)
    # Tr Σ_T - d - log det Σ_T = Σ (u - log(1 + u)), u = λ_T - 1 = e^{-2T}(λ - 1): log1p keeps it accurate
    u = ev_T - 1.0
    return float(0.5 * np.sum(u - np.log1p(u)))


@float64
def girsanov_estimate(times, score_error, sigma) -> np.ndarray:
    """(Y9) per dimension: KL(p_T ‖ N(0,I))/d + Σ_k E_score_k |cell_k|, shape score_error.shape[:-1].

    times (K,) the grid (T = times[-1]); score_error (..., K) the (L3) error of each cell's
    readout at its own grid time (a grid-point quadrature of the integral). An estimate of
    KL(p_{t_min} ‖ q_{t_min})/d, not a bound: it leaves out the sampler's time discretisation and
    the readout's error at the other times of its cell (theory/generation.md (Y9), (Y12)).
    """
    edges = cell_edges(times)
    err = np.asarray(score_error, dtype=np.float64)
    d = np.asarray(sigma).shape[0]
    return kl_prior(sigma, float(edges[-1])) / d + err @ np.diff(edges)
