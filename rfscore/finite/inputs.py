"""Random draws of the model: frozen weights W, training data X, the Ω of (G4), sizes, and the one
key recipe (P1) that derives every key of a draw from an integer seed.

Every draw is a deterministic function of a JAX PRNG key (theory/model.md §5). Normal
variates come in fixed-size blocks so that one compiled program serves every shape.
Conventions: W has shape (p, d), X has shape (n, d) (rows are samples).
"""
from __future__ import annotations

from dataclasses import dataclass

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

    Depends on the point only, not on the order of a sweep (same point, same draw). The base key of
    the recipe (P1); without ``values``, ``PRNGKey(seed)``.
    """
    k = jax.random.PRNGKey(seed)
    for x in values:
        k = jax.random.fold_in(k, int(round(float(x) * 1e6)) % (2**31))
    return k


# The named streams of the key recipe (P1), theory/model.md §5: fold_in(base, stream).
TRAIN_STREAM = 1  # the fresh noise of simulated training (GD, Adam steps); window j of a run: fold_in(·, j)
NOISE_STREAM = 2  # the m frozen noise draws of (F1); resampled copy r of (F6): fold_in(·, r)
MAP_STREAM = 11  # the collapse draws of the memorisation map (M3) in generation


@float64
@dataclass(frozen=True)
class DrawKeys:
    """Every key of one draw by the recipe (P1) of theory/model.md §5, from its ``base`` key.

    ``w``, ``x``, ``omega``: ``split(base, 3)`` (`model_keys`), the keys of W, X and the Ω of (G4);
    ``train``: ``fold_in(base, TRAIN_STREAM)``, the fresh noise of a simulated training run
    (`window(j)` = ``fold_in(train, j)`` for a run split into τ windows); ``noise``:
    ``fold_in(base, NOISE_STREAM)``, the m frozen noise draws of (F1) (`noise_copy(r)` =
    ``fold_in(noise, r)``, the r-th resampling of (F6) with W, X fixed).
    """

    base: object

    @property
    def w(self):
        return model_keys(self.base)[0]

    @property
    def x(self):
        return model_keys(self.base)[1]

    @property
    def omega(self):
        return model_keys(self.base)[2]

    @property
    def train(self):
        return jax.random.fold_in(self.base, TRAIN_STREAM)

    @property
    def noise(self):
        return jax.random.fold_in(self.base, NOISE_STREAM)

    def window(self, j: int):
        """Key of the training window j (0, 1, ...) of a simulated run split into τ windows."""
        return jax.random.fold_in(self.train, int(j))

    def noise_copy(self, r: int):
        """Key of the r-th resampled set of m frozen noise draws (F6), W and X fixed."""
        return jax.random.fold_in(self.noise, int(r))


@float64
def draw_keys(seed: int, *point: float) -> DrawKeys:
    """The keys (P1) of seed ``seed`` at the sweep point ``point`` (ratios, e.g. ψ_n, ψ_p; none for a
    single point): base = `point_key(seed, *point)`, then W, X, Ω, training and noise keys (`DrawKeys`).

    `sample_inputs(keys.base, ...)` draws the (W, X, Ω key) of these keys.
    """
    return DrawKeys(point_key(int(seed), *point))
