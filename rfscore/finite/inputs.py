"""Random draws of the model: frozen weights W, training data X, the Ω of (G4), sizes.

Every draw is a deterministic function of a JAX PRNG key (theory/model.md §5). Normal
variates come in fixed-size blocks so that one compiled program serves every shape.
Conventions: W has shape (p, d), X has shape (n, d) (rows are samples).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ..core.covariance import sigma_matrix
from ..core.errors import InputError, check_positive, check_positive_int
from ..core.precision import float64

_BLOCK = 2**16


@jax.jit
def _normal_block(key, i):
    return jax.random.normal(jax.random.fold_in(key, i), (_BLOCK,))


@float64
def standard_normal(key, shape) -> np.ndarray:
    """I.i.d. N(0,1) of any ``shape`` from ``key``, drawn in fixed-size blocks.

    Block i is ``normal(fold_in(key, i), (2^16,))``: one compiled program serves every
    shape (``jax.random.normal`` compiles once per shape, ~0.5 s, which dominated sweeps
    over many sizes). Deterministic in (key, shape).
    """
    size = int(np.prod(shape))
    blocks = [np.asarray(_normal_block(key, i)) for i in range(-(-size // _BLOCK))]
    return (np.concatenate(blocks)[:size] if blocks else np.zeros(0)).reshape(shape)


@float64
def sample_weights(key, p: int, d: int) -> jnp.ndarray:
    """Frozen first-layer weights W, shape (p, d), i.i.d. N(0, 1)."""
    return jax.device_put(standard_normal(key, (check_positive_int("p", p), check_positive_int("d", d))))


@float64
def sample_data(key, n: int, sigma) -> jnp.ndarray:
    """Training data X ~ N(0, Σ), shape (n, d). ``sigma`` is a (d, d) covariance."""
    chol = np.linalg.cholesky(np.asarray(sigma, dtype=np.float64))  # NumPy: no per-shape compilation
    z = standard_normal(key, (check_positive_int("n", n), chol.shape[0]))
    return jax.device_put(z @ chol.T)


MAX_SIZE = 2**53  # largest count a float64 ratio times d represents exactly


@float64
def size_of(arg: str, psi: float, d: int) -> int:
    """round(ψ d) for the ratio named ``arg`` (psi_p -> p, psi_n -> n); InputError if < 1 or too large."""
    name = arg.replace("psi_", "")
    x = check_positive(arg, psi) * check_positive_int("d", d)
    if not x < MAX_SIZE:  # also an overflow to inf
        raise InputError(arg, f"gives {name} = round(ψ_{name} d) = {x:.3g} at d = {d}, too large")
    k = int(round(x))
    if k < 1:
        raise InputError(arg, f"gives {name} = round(ψ_{name} d) = 0 at d = {d}; need ψ_{name} >= {0.5 / d:g}")
    return k


@float64
def sizes(d: int, psi_p: float, psi_n: float) -> tuple:
    """(p, n) = (round(ψ_p d), round(ψ_n d)); InputError (naming psi_p / psi_n) if one is below 1 or too large."""
    return size_of("psi_p", psi_p, d), size_of("psi_n", psi_n, d)


@float64
def effective_ratios(values, d: int, arg: str = "psi_n") -> list:
    """[(k, k/d)] with k = round(ψ d) for each ratio in ``values``, the ratios actually run.

    Two values that give the same k are an input error (they would run the same size
    under two labels), as is a k below 1 (`size_of`).
    """
    out, seen = [], {}
    for v in values:
        k = size_of(arg, v, d)
        if k in seen:
            name = arg.replace("psi_", "")
            raise InputError(arg, f"{seen[k]:g} and {v:g} both give {name} = round(ψ_{name} d) = {k} at d = {d}; "
                                  f"give values at least 1/d = {1 / d:g} apart")
        seen[k] = v
        out.append((k, k / d))
    return out


@float64
def sample_inputs(key, *, d: int, psi_p: float, psi_n: float, sigma=None):
    """The draw behind `sample_eigensystem`: (W (p,d), X (n,d), key for Ω), from one ``key``.

    Use it to rebuild the very same model (e.g. to simulate training on it).
    """
    p, n = sizes(d, psi_p, psi_n)
    S = sigma_matrix(sigma, d)
    kw, kx, ko = model_keys(key)
    return sample_weights(kw, p, d), sample_data(kx, n, S), ko



@float64
def gep_omega(key, p: int, n: int) -> jnp.ndarray:
    """Ω of (G4), shape (p, n), i.i.d. N(0,1): column ν is the fixed ω_ν of data point ν."""
    return jax.device_put(standard_normal(key, (p, n)))


@float64
def model_keys(key):
    """(k_W, k_X, k_Ω): the one split of a model's key into its weights, data and (G4) Ω keys."""
    return tuple(jax.random.split(key, 3))


@float64
def point_key(seed: int, *values: float):
    """PRNG key of a sweep point: ``PRNGKey(seed)`` folded with round(1e6 x) for each x in ``values``.

    Depends on the point only, not on the order of a sweep (same point, same draw).
    """
    k = jax.random.PRNGKey(seed)
    for x in values:
        k = jax.random.fold_in(k, int(round(float(x) * 1e6)) % (2**31))
    return k
