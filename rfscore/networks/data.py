"""Data for the trained networks (theory/trained_networks.md §1): the two-Gaussian mixture (N1), digits, arrays.

No extra dependency (scikit-learn only for the digits, as everywhere in rfscore). Conventions:
rows are samples, float64; every set is a deterministic function of an explicit PRNG key.
"""
from __future__ import annotations

from dataclasses import dataclass

import jax
import numpy as np

from ..core.errors import InputError
from ..data.datasets import load_digits_raw, load_matrix
from ..core.precision import float64  # the data and metrics in float64, the network in DTYPE

GMM = "gmm"
GMM_D = 8
GMM_MEAN = 0.8   # μ = 0.8·(1, …, 1): ‖μ‖²/d = 0.64
GMM_STD = 0.6    # component covariance 0.36 I, so Tr Σ/d = 0.64 + 0.36 = 1 (σ_x = 1, theory/model.md)
TEST_FRACTION = 0.2
GMM_TEST = 2000
# how the training pool's components are drawn: 'random' (a fair coin per row: the mixture law (N1)) or 'balanced'
# (rows alternate +μ, −μ, so that every even-n training set holds n/2 of each, as the paper's data: §8)
GMM_SPLITS = ("random", "balanced")


@dataclass(frozen=True)
class NetData:
    """A training pool (N, d) (the first n rows are the training set at size n: nested sets), held-out rows
    (M, d), the name, and for the mixture its parameters (mu (d,), std) — None for real data."""

    name: str
    pool: np.ndarray
    test: np.ndarray
    mu: np.ndarray | None = None
    std: float | None = None
    split: str = "random"

    @property
    def d(self) -> int:
        return self.pool.shape[1]

    def training_set(self, n: int) -> np.ndarray:
        if n > self.pool.shape[0]:
            raise InputError("n", f"asks for n = {n} training rows but {self.name} has {self.pool.shape[0]}")
        return self.pool[:n]

    def info(self) -> dict:
        out = {"dataset": self.name, "d": self.d, "n_pool": int(self.pool.shape[0]), "n_test": int(self.test.shape[0])}
        if self.mu is not None:
            out.update(gmm_mean=float(self.mu[0]), gmm_std=self.std, law="1/2 N(mu, s^2 I) + 1/2 N(-mu, s^2 I) (N1)")
            if self.split != "random":  # only when set, so that the fingerprints of earlier runs stay valid
                out.update(gmm_split=self.split)
        return out


@float64
def check_gmm_split(split: str) -> str:
    """``split`` if it is one of `GMM_SPLITS`, else InputError naming gmm_split and the accepted values."""
    if split not in GMM_SPLITS:
        raise InputError("gmm_split", f"must be one of {', '.join(GMM_SPLITS)}, got {split!r}")
    return split


@float64
def gmm_sample(key, num: int, d: int = GMM_D, mean: float = GMM_MEAN, std: float = GMM_STD,
               split: str = "random") -> np.ndarray:
    """(N1): num draws of ½N(μ, s²I) + ½N(-μ, s²I), μ = mean·(1, …, 1); shape (num, d).

    ``split`` 'random': each row's component by a fair coin; 'balanced': row i has +μ for even i and −μ for odd
    i (the same noise z as 'random'), so every even prefix holds as many rows of each component."""
    check_gmm_split(split)
    ks, kz = jax.random.split(key)
    if split == "balanced":
        sign = np.where(np.arange(num) % 2 == 0, 1.0, -1.0)
    else:
        sign = np.where(np.asarray(jax.random.bernoulli(ks, 0.5, (num,))), 1.0, -1.0)
    z = np.asarray(jax.random.normal(kz, (num, d), dtype=np.float64))
    return sign[:, None] * mean + std * z


@float64
def gmm_score(x, t: float, mu, std: float) -> np.ndarray:
    """True score of the mixture (N1) at diffusion time t: ((tanh(a·x/v)) a - x)/v, a = e^{-t}μ, v = e^{-2t}s² + Δ_t.

    x (N, d) → (N, d), float64.
    """
    x = np.asarray(x, dtype=np.float64)
    a = np.exp(-t) * np.asarray(mu, dtype=np.float64)
    v = np.exp(-2 * t) * std**2 - np.expm1(-2 * t)
    return (np.tanh(x @ a / v)[:, None] * a - x) / v


@float64
def gmm_diffused(key, num: int, t: float, mu, std: float) -> np.ndarray:
    """num draws of x_t = e^{-t}x + √Δ_t ξ, x from (N1); shape (num, d)."""
    k1, k2 = jax.random.split(key)
    x = gmm_sample(k1, num, mu.size, float(mu[0]), std)
    xi = np.asarray(jax.random.normal(k2, x.shape, dtype=np.float64))
    return np.exp(-t) * x + np.sqrt(-np.expm1(-2 * t)) * xi


@float64
def gmm_prior_kl_bound(T: float, mu, std: float) -> float:
    """Upper bound on KL(p_T ‖ N(0, I)) (nats, total) by convexity: KL of one component N(a, vI), a = e^{-T}μ.

    ½(d v + ‖a‖² - d - d log v), v = e^{-2T}s² + Δ_T (theory/trained_networks.md (N6)).
    """
    mu = np.asarray(mu, dtype=np.float64)
    d = mu.size
    u = np.exp(-2 * T) * (std**2 - 1.0)  # v - 1
    return float(0.5 * (d * (u - np.log1p(u)) + np.exp(-2 * T) * mu @ mu))


def _normalise(X, test_fraction: float, key, name: str) -> NetData:
    """Centre and scale all rows so that Tr Σ̂/d = 1 (as (R3) of theory/real_data.md, no column dropped), then split."""
    X = np.asarray(X, dtype=np.float64)
    centred = X - X.mean(axis=0)
    scale = float(np.sqrt(np.sum(centred**2) / centred.size))
    if not scale > 0:
        raise InputError("data", f"{name} is constant")
    Xn = centred / scale
    perm = np.asarray(jax.random.permutation(key, X.shape[0]))
    n_test = int(round(test_fraction * X.shape[0]))
    if n_test < 2 or X.shape[0] - n_test < 2:
        raise InputError("data", f"{name} has too few rows ({X.shape[0]}) for a held-out split")
    return NetData(name, Xn[perm[n_test:]], Xn[perm[:n_test]])


@float64
def load_net_data(data: str, key, max_n: int, mean: float = GMM_MEAN, std: float = GMM_STD,
                  split: str = "random") -> NetData:
    """``data`` = 'gmm' (N1) in d = 8, 'digits' (the 64 raw pixels of the bundled 8×8 digits) or an X.npy (n, d).

    Real data: rows normalised to Tr Σ̂/d = 1, 20 % held out (chosen by ``key``). The mixture: a pool of
    max_n draws and 2000 held-out draws, both from ``key``, with μ = mean·(1, …, 1) and component std ``std``;
    ``split`` how the pool's components are drawn (`gmm_sample`; the held-out draws always by the coin).
    """
    if data == GMM:
        kp, kt = jax.random.split(key)
        mu = np.full(GMM_D, float(mean))
        return NetData(GMM, gmm_sample(kp, max_n, GMM_D, mean, std, split), gmm_sample(kt, GMM_TEST, GMM_D, mean, std),
                       mu, float(std), split)
    if data == "digits":
        X, name = load_digits_raw(), "digits"
    else:
        X, name = load_matrix(data, "data"), str(data)
    out = _normalise(X, TEST_FRACTION, key, name)
    if max_n > out.pool.shape[0]:
        raise InputError("n", f"asks for n = {max_n} training rows but {name} has {out.pool.shape[0]} after holding "
                              f"out {out.test.shape[0]}")
    return out
