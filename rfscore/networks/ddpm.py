"""The paper's DDPM time law and its Euler–Maruyama sampler (theory/trained_networks.md (N7)-(N9)).

The DDPM schedule (N7): T = 1000 steps, β_k linear from 10⁻⁴ to 2·10⁻² (k = 1 … T), ᾱ_k = Π_{j≤k}(1 - β_j),
and the diffusion time of rfscore's forward process dx = -x dt + √2 dB at step k is t_k = -½ log ᾱ_k
(then e^{-t_k} = √ᾱ_k and Δ_{t_k} = 1 - ᾱ_k: x_t is DDPM's x_k). The training law (N8) draws k uniform in
1 … T. The sampler (N9) runs the reverse SDE dy = [y + 2 s(y, t)] dt' + √2 dW' by Euler–Maruyama on K
uniform steps of the DDPM step index s from T down to 0, t(s) the linear interpolation of t_k in s
(t(0) = 0): y ← (1 + h) y + 2h s(y, t_a) + √(2h) z, h = t_a - t_b. It reuses the scan of
`rfscore.generative.sampler` (same step form (Y3), Euler coefficients, noise keyed by step index).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ..core.errors import ConvergenceError, check_positive_int
from ..generative.sampler import run_steps

DDPM_T = 1000
BETA_MIN = 1e-4
BETA_MAX = 2e-2


def ddpm_times(steps: int = DDPM_T, beta_min: float = BETA_MIN, beta_max: float = BETA_MAX) -> np.ndarray:
    """(N7): t_k = -½ log ᾱ_k for k = 0 … steps (t_0 = 0), shape (steps + 1,), float64."""
    beta = np.linspace(beta_min, beta_max, steps)
    return np.concatenate([[0.0], -0.5 * np.cumsum(np.log1p(-beta))])


T_TABLE = ddpm_times()   # (1001,), the grid of the paper's schedule


def t_of_index(s):
    """t(s): the linear interpolation of (N7) at a (fractional) DDPM step index s ∈ [0, T] (numpy or jax)."""
    if isinstance(s, jax.Array):
        return jnp.interp(s, jnp.arange(DDPM_T + 1, dtype=s.dtype), jnp.asarray(T_TABLE, dtype=s.dtype))
    return np.interp(s, np.arange(DDPM_T + 1), T_TABLE)


def index_of_t(t):
    """The inverse of `t_of_index` (jax, float32-safe): the fractional DDPM step index of diffusion time t."""
    t = jnp.asarray(t)
    return jnp.interp(t, jnp.asarray(T_TABLE, dtype=t.dtype), jnp.arange(DDPM_T + 1, dtype=t.dtype))


def draw_t(key, shape, dtype=jnp.float32):
    """(N8): t_k with k uniform in 1 … T, shape ``shape``."""
    k = jax.random.randint(key, shape, 1, DDPM_T + 1)
    return jnp.asarray(T_TABLE, dtype=dtype)[k]


def em_schedule(K: int) -> dict:
    """(N9) for K uniform steps in the DDPM index: t_a (K,) the time of each step's score, h (K,) its size, and the
    Euler–Maruyama coefficients a = 1 + h, b = 2h, c = √(2h), in order of execution (from T down to 0)."""
    K = check_positive_int("sampler_steps", K)
    s = DDPM_T * (1.0 - np.arange(K + 1) / K)
    t = t_of_index(s)
    h = t[:-1] - t[1:]
    return {"t": t[:-1], "h": h, "a": 1.0 + h, "b": 2.0 * h, "c": np.sqrt(2.0 * h)}


def em_sample(score_of_times, key, *, K: int, num_samples: int, d: int, batch: int = 8192) -> np.ndarray:
    """(N9): ``num_samples`` draws, shape (N, d), from y_T ~ N(0, I) (T = t_1000 ≈ 5).

    score_of_times(times (K,)) -> a pytree score(y (B, d), k) at times[k] (e.g. `models.net_score`). Batch j
    uses fold_in(key, j) as `rfscore.generative.sampler.sample` does.
    """
    sch = em_schedule(K)
    y = run_steps(score_of_times(sch["t"]), key, (np.arange(K, dtype=np.int32), sch["a"], sch["b"], sch["c"]),
                  num_samples=num_samples, d=d, noise=True, batch=batch)
    if not np.all(np.isfinite(y)):
        raise ConvergenceError(f"the Euler-Maruyama sampler diverged (non-finite samples, {K} steps); "
                               "use more `sampler_steps`")
    return y
