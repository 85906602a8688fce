"""Reverse-time sampling from any score over a grid of diffusion times (theory/generation.md §2).

The forward process is dx = -x dt + √2 dB. From y_T ~ N(0, I) at T = t_K down to t_min = t_1,
cell k = [e_k, e_{k+1}] of `rfscore.generative.score_model.cell_edges` is crossed in a fixed number of
equal steps h_k, each using the score of grid time t_k. Every step is affine in (y, s, z):

    (Y3) y ← a(h) y + b(h) s(y, k) + c(h) z,   z ~ N(0, I),

    exponential integrator (exact for the linear drift, score frozen over the step):
        SDE a = e^h, b = 2(e^h - 1), c = √(e^{2h} - 1);   ODE a = e^h, b = e^h - 1, c = 0
    Euler(-Maruyama):
        SDE a = 1 + h, b = 2h, c = √(2h);                  ODE a = 1 + h, b = h, c = 0

`sample` accepts any score callable ``score(y, k)`` (y (N, d), grid index k traced) that is a
JAX pytree (`RFScore`, `PopulationScore`, `EmpiricalScore` of `rfscore.generative.score_model`, or a
closure over constants), is compiled once per shape, and scans over the steps with
`jax.lax.scan`. Seeded by an explicit PRNG key: same key, same samples.
"""
from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..core.errors import ConvergenceError, InputError, check_positive_int
from .score_model import cell_edges
from ..core.precision import float64

METHODS = ("sde", "ode")
INTEGRATORS = ("exponential", "euler")


@float64
class Schedule(NamedTuple):
    """The reverse-time steps, in order of execution (from T down to t_min), each shape (S,).

    k: grid index of the score used; t: time at the start of the step; h: step size > 0;
    a, b, c: the coefficients of (Y3).
    """

    k: np.ndarray
    t: np.ndarray
    h: np.ndarray
    a: np.ndarray
    b: np.ndarray
    c: np.ndarray


@float64
def step_coefficients(h, method: str = "sde", integrator: str = "exponential"):
    """(a, b, c) of (Y3) for step sizes h (any shape)."""
    if method not in METHODS:
        raise InputError("sampler", f"must be one of {', '.join(METHODS)}, got {method!r}")
    if integrator not in INTEGRATORS:
        raise InputError("integrator", f"must be one of {', '.join(INTEGRATORS)}, got {integrator!r}")
    h = np.asarray(h, dtype=np.float64)
    sde = method == "sde"
    if integrator == "exponential":
        em1 = np.expm1(h)
        return 1.0 + em1, (2.0 if sde else 1.0) * em1, np.sqrt(np.expm1(2 * h)) if sde else np.zeros_like(h)
    return 1.0 + h, (2.0 if sde else 1.0) * h, np.sqrt(2 * h) if sde else np.zeros_like(h)


@float64
def schedule(times, steps_per_time: int = 4, method: str = "sde", integrator: str = "exponential") -> Schedule:
    """The step schedule: ``steps_per_time`` equal steps per cell, cells from the last to the first."""
    steps = check_positive_int("steps_per_time", steps_per_time)
    edges = cell_edges(times)
    K = edges.size - 1
    ks = np.repeat(np.arange(K - 1, -1, -1), steps)
    width = (edges[1:] - edges[:-1])[ks] / steps
    j = np.tile(np.arange(steps), K)
    t = edges[ks + 1] - j * width
    a, b, c = step_coefficients(width, method, integrator)
    return Schedule(k=ks.astype(np.int32), t=t, h=width, a=a, b=b, c=c)


@float64
def run_steps(score, key, steps, *, num_samples: int, d: int, noise: bool, batch: int = 8192) -> np.ndarray:
    """The sampler's loop, shared by (Y3) and the networks' Euler–Maruyama sampler (N9): ``num_samples``
    draws, shape (N, d), from y_T ~ N(0, I) through y ← a_i y + b_i score(y, k_i) (+ c_i z_i when ``noise``).

    steps: (k, a, b, c), each shape (S,): the grid index of the score and the step coefficients. In batches of
    ``batch``; batch j uses fold_in(key, j) (y_T from its first split, the steps' noise from its second).
    Non-finite samples are returned as they are: the caller names the cause.
    """
    args = tuple(jnp.asarray(x) for x in steps)
    out = []
    for j, start in enumerate(range(0, num_samples, batch)):
        k0, k1 = jax.random.split(jax.random.fold_in(key, j))
        y0 = jax.random.normal(k0, (min(batch, num_samples - start), d), dtype=jnp.float64)
        out.append(np.asarray(_run(score, y0, k1, *args, noise=noise)))
    return np.concatenate(out)


@partial(jax.jit, static_argnames=("noise",))
def _run(score, y0, key, k, a, b, c, noise: bool):
    def body(y, step):
        i, ki, ai, bi, ci = step
        s = score(y, ki)
        y = ai * y + bi * s
        if noise:
            y = y + ci * jax.random.normal(jax.random.fold_in(key, i), y.shape, dtype=y.dtype)
        return y, None

    idx = jnp.arange(k.shape[0])
    y, _ = jax.lax.scan(body, y0, (idx, k, a, b, c))
    return y


@float64
def sample(score, key, *, times, num_samples: int, d: int, steps_per_time: int = 4, method: str = "sde",
           integrator: str = "exponential", batch: int = 8192) -> np.ndarray:
    """Draw ``num_samples`` samples at t_min by (Y3) from y_T ~ N(0, I), shape (N, d).

    score: pytree callable score(y (B, d), k) -> (B, d); key: JAX PRNG key (y_T and every
    step's noise derive from it); times (K,): the grid (T = times[-1], t_min = times[0]);
    method 'sde' (reverse-time SDE) or 'ode' (probability-flow ODE); integrator
    'exponential' or 'euler'. Samples run in batches of ``batch`` (bounded memory); batch j
    uses fold_in(key, j), so the result depends on ``batch`` only through that split.
    """
    num_samples = check_positive_int("samples", num_samples)
    d = check_positive_int("d", d)
    batch = check_positive_int("batch", batch)
    sch = schedule(times, steps_per_time, method, integrator)
    y = run_steps(score, key, (sch.k, sch.a, sch.b, sch.c), num_samples=num_samples, d=d, noise=method == "sde",
                  batch=batch)
    if not np.all(np.isfinite(y)):
        raise ConvergenceError(f"the sampler diverged (non-finite samples; {sch.k.size} steps, method {method}, "
                               f"integrator {integrator}); use more `steps_per_time`")
    return y


@float64
def population_covariance(precision, sch: Schedule, sigma_T=None) -> np.ndarray:
    """Exact covariance of (Y3) with the population score s = -P_k y, (Y6): C ← M C Mᵀ + c² I, M = aI - bP_k.

    precision (K, d, d); starts from C = I (or ``sigma_T``). Shape (d, d).
    """
    P = np.asarray(precision)
    d = P.shape[-1]
    C = np.eye(d) if sigma_T is None else np.asarray(sigma_T, dtype=np.float64)
    eye = np.eye(d)
    for k, a, b, c in zip(sch.k, sch.a, sch.b, sch.c):
        M = a * eye - b * P[k]
        C = M @ C @ M.T + c**2 * eye
    return C
