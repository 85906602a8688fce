"""Random draws of the model: frozen weights W, training data X, the Ω of (G4), sizes.

Every draw is a deterministic function of a JAX PRNG key (theory/model.md §5). Normal
variates come in fixed-size blocks so that one compiled program serves every shape.
Conventions: W has shape (p, d), X has shape (n, d) (rows are samples).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .covariance import sigma_matrix
from .errors import check_positive, check_positive_int

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


def sizes(d: int, psi_p: float, psi_n: float) -> tuple:
    """(p, n) = (round(ψ_p d), round(ψ_n d)), each at least 1."""
    d = check_positive_int("d", d)
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



def gep_omega(key, p: int, n: int) -> jnp.ndarray:
    """Ω of (G4), shape (p, n), i.i.d. N(0,1): column ν is the fixed ω_ν of data point ν."""
    return jax.device_put(standard_normal(key, (p, n)))
