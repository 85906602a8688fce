"""Simulated training: gradient descent on the sampled-noise loss (theory/dynamics.md §6).

At every step a fresh noise ξ (``m`` samples per data point) is drawn and the readout takes
one optimiser step on the sampled loss

    L̂(A) = (1/(n m d)) Σ_ν Σ_j ‖√Δ s_A(x_t^{νj}) + ξ^{νj}‖²,   x_t^{νj} = e^{-t} x^ν + √Δ ξ^{νj},

whose noise average is (L1). Time follows theory-brief §2: the optimiser is fed the
gradient d² ∇_A L̂, so plain GD is A ← A - η d² ∇_A L̂ and τ = kη after k steps; in the
η → 0 limit GD follows the flow (D1)-(D2). Adam (optax) gets the same gradient and
learning rate η; τ = kη is then a nominal time.

Features: 'exact' model φ = σ(W x_t/√d); 'gep' model the Gaussian-equivalent features
φ = e^{-t} a_t W x^ν/√d + v_t ω_ν + b_t W ξ/√d + s_t ζ with ω_ν the fixed ν-th column of
the Ω of (G4) and ζ ~ N(0, I_p) fresh each step, whose noise averages are exactly
(G4)-(G6). Losses are recorded at log-spaced steps and evaluated EXACTLY through
U, V, U_pop, V_pop ((L1)-(L3)), not by Monte Carlo.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np
import optax
from scipy.sparse.linalg import LinearOperator, eigsh
from tqdm.auto import tqdm

from .activations import get_activation
from .errors import ConvergenceError, InputError, check_positive, check_positive_int
from .dynamics import Trajectory
from .models import MODELS
from .exact import exact_matrices
from .gep import gep_factors

OPTIMIZERS = ("gd", "adam")


@dataclass(frozen=True)
class TrainingProblem:
    """One finite-size model: W (p,d), X (n,d), and what evaluates its losses exactly.

    ``matrices`` (exact model): the §4 `FiniteSizeMatrices`; ``factors`` (gep model): the
    `GEPFactors` of (G4)-(G6) (no p×p matrix is formed).
    """

    model: str
    W: jnp.ndarray
    X: jnp.ndarray
    t: float
    delta_t: float
    l_opt: float
    activation: object
    matrices: object = None
    factors: object = None

    @property
    def p(self) -> int:
        return self.W.shape[0]

    @property
    def d(self) -> int:
        return self.W.shape[1]

    @property
    def n(self) -> int:
        return self.X.shape[0]

    @property
    def psi_p(self) -> float:
        return self.p / self.d

    def lambda_max(self) -> float:
        """Largest eigenvalue of U (Lanczos on the matrix, or on its factors for 'gep')."""
        p = self.p
        if self.model == "exact":
            U = np.asarray(self.matrices.U)
            mv = lambda v: U @ v  # noqa: E731
        else:
            f = self.factors
            G, W, c = np.asarray(f.G), np.asarray(f.W), f.constants
            n, d = G.shape[1], W.shape[1]
            mv = lambda v: G @ (G.T @ v) / n + c.b_t**2 * W @ (W.T @ v) / d + c.s_t2 * v  # noqa: E731
        if p <= 64:
            dense = np.column_stack([mv(e) for e in np.eye(p)])
            return float(np.linalg.eigvalsh(dense)[-1])
        op = LinearOperator((p, p), matvec=lambda v: mv(np.ravel(v)), dtype=np.float64)
        return float(eigsh(op, k=1, which="LA", tol=1e-10, return_eigenvectors=False)[0])

    def max_stable_lr(self) -> float:
        """Largest stable GD learning rate of the mean flow: η·(2Δ/ψ_p)·λ_max(U) < 2."""
        return self.psi_p / (self.delta_t * self.lambda_max())


def training_problem(W, X, *, t: float, activation="tanh", sigma=None, model: str = "exact", key=None,
                     matrices=None, **exact_kw) -> TrainingProblem:
    """Build the model to train. ``key`` draws Ω for 'gep' (use the key of `gep_eigensystem`
    / `sample_inputs` so the simulation and the closed form describe the same draw).
    ``matrices``: reuse already computed exact §4 matrices for the same W, X.
    """
    if model not in MODELS:
        raise InputError("model", f"must be one of {', '.join(MODELS)}, got {model!r}")
    act = get_activation(activation)
    if model == "exact":
        m = matrices if matrices is not None else exact_matrices(W, X, t=t, activation=act, sigma=sigma, **exact_kw)
        return TrainingProblem("exact", jnp.asarray(W, jnp.float64), jnp.asarray(X, jnp.float64), m.t, m.delta_t,
                               m.l_opt, act, matrices=m)
    f = gep_factors(W, X, t=t, activation=act, sigma=sigma, key=key)
    return TrainingProblem("gep", f.W, f.X, f.constants.t, f.constants.delta_t, f.l_opt, act, factors=f)


@dataclass(frozen=True)
class SimulationResult(Trajectory):
    """Losses of a simulated run at the recorded steps, each of shape (R,)."""

    step: np.ndarray
    optimizer: str
    lr: float
    noise_samples: Optional[int]

    def columns(self) -> dict:
        return {"step": self.step, **super().columns()}


def record_steps(steps: int, record: int) -> np.ndarray:
    """About ``record`` log-spaced step counts in [1, steps] (unique, always including ``steps``)."""
    steps, record = check_positive_int("steps", steps), check_positive_int("record", record)
    return np.unique(np.round(np.geomspace(1, steps, record)).astype(np.int64))


# ----------------------------------------------------------------------------- building blocks
class _Cfg(NamedTuple):
    """Static (hashable) configuration of the compiled training block; arrays travel separately."""

    model: str
    act: object
    m: int  # noise samples per data point; 0 = exact noise average
    d: int
    p: int
    n: int
    dl: float
    t: float
    b: float
    s2: float
    v2: float
    optimizer: str
    block: int


def _arrays(prob: TrainingProblem) -> dict:
    if prob.model == "exact":
        m = prob.matrices
        return {"W": prob.W, "X": prob.X, "U": m.U, "V": m.V, "Up": m.U_pop, "Vp": m.V_pop}
    f = prob.factors
    c = f.constants
    return {"W": f.W, "G": f.G, "M": c.alpha * jnp.asarray(f.sigma) + c.b_t**2 * jnp.eye(prob.d)}


def _losses(cfg: _Cfg, arr, B):
    """(L_train, L_test) of (L1)-(L2) at B = A/√p, exactly through U, V, U_pop, V_pop."""
    d, dl = cfg.d, cfg.dl
    sq = math.sqrt(dl)
    if cfg.model == "exact":
        train = 1 + dl * jnp.sum((B @ arr["U"]) * B) / d + 2 * sq * jnp.sum(B * arr["V"].T) / d
        test = 1 + dl * jnp.sum((B @ arr["Up"]) * B) / d + 2 * sq * jnp.sum(B * arr["Vp"].T) / d
        return train, test
    BW, BB = B @ arr["W"], jnp.sum(B * B)
    lin = 2 * sq * cfg.b * jnp.trace(BW) / math.sqrt(d) / d
    train = 1 + dl * (jnp.sum((B @ arr["G"]) ** 2) / cfg.n + cfg.b**2 * jnp.sum(BW**2) / d + cfg.s2 * BB) / d + lin
    test = 1 + dl * (jnp.sum((BW @ arr["M"]) * BW) / d + (cfg.v2 + cfg.s2) * BB) / d + lin
    return train, test


def _grad(cfg: _Cfg, arr, B, key):
    """∇_B of the training loss: exact noise average (D1) if cfg.m == 0, else on fresh noise.

    Sampled: ∇_B L̂ = (2√Δ/(N d)) Rᵀ Φ with R = √Δ Φ Bᵀ + ξ, N = n·m rows (Φ: N×p features).
    Its noise average is (2Δ/d) B U + (2√Δ/d) Vᵀ, the mean gradient.
    """
    d, p, n, dl = cfg.d, cfg.p, cfg.n, cfg.dl
    sq, W = math.sqrt(dl), arr["W"]
    if cfg.m == 0:
        if cfg.model == "exact":
            BU, Vt = B @ arr["U"], arr["V"].T
        else:
            G = arr["G"]
            BU = (B @ G) @ G.T / n + cfg.b**2 * (B @ W) @ W.T / d + cfg.s2 * B
            Vt = cfg.b * W.T / math.sqrt(d)
        return 2 * dl * BU / d + 2 * sq * Vt / d
    N = n * cfg.m
    if cfg.model == "exact":
        k1 = key
        xi = jax.random.normal(k1, (N, d))
        xt = math.exp(-cfg.t) * jnp.repeat(arr["X"], cfg.m, axis=0) + sq * xi
        phi = cfg.act(xt @ W.T / math.sqrt(d))
    else:
        k1, k2 = jax.random.split(key)
        xi = jax.random.normal(k1, (N, d))
        zeta = jax.random.normal(k2, (N, p))
        # e^{-t} a_t W x^ν/√d + v_t ω_ν (fixed per data point) + b_t W ξ/√d + s_t ζ (fresh)
        phi = jnp.repeat(arr["G"].T, cfg.m, axis=0) + cfg.b * xi @ W.T / math.sqrt(d) + math.sqrt(cfg.s2) * zeta
    R = sq * phi @ B.T + xi
    return 2 * sq * R.T @ phi / (N * d)


def _optimizer(cfg: _Cfg, lr):
    return optax.sgd(lr) if cfg.optimizer == "gd" else optax.adam(lr)


@partial(jax.jit, static_argnums=0)
def _run_block(cfg: _Cfg, arr, carry, start, steps, rec, key, lr):
    """cfg.block steps of the optimiser (lax.scan), writing exact losses at the steps in ``rec``.

    Compiled once per static configuration; lr, steps, start and the records are traced.
    """
    opt = _optimizer(cfg, lr)
    rp = math.sqrt(cfg.p)
    scale = cfg.d**2 / rp  # d² ∇_A L̂ = (d²/√p) ∇_B L̂

    def body(carry, k):
        A, state, pos, out = carry
        active = k < steps
        g = scale * _grad(cfg, arr, A / rp, jax.random.fold_in(key, k))
        upd, new_state = opt.update(g, state, A)
        A = jnp.where(active, optax.apply_updates(A, upd), A)
        state = jax.tree_util.tree_map(lambda a, b: jnp.where(active, a, b), new_state, state)
        hit = active & (k + 1 == rec[pos])
        out = jax.lax.cond(hit, lambda o: o.at[pos].set(jnp.stack(_losses(cfg, arr, A / rp))), lambda o: o, out)
        return (A, state, pos + hit.astype(pos.dtype), out), None

    carry, _ = jax.lax.scan(body, carry, start + jnp.arange(cfg.block))
    return carry


# ----------------------------------------------------------------------------- the run
def simulate(prob: TrainingProblem, *, lr: float, steps: int, optimizer: str = "gd",
             noise_samples: Optional[int] = 1, record: int = 50, key=None, A0=None,
             block: Optional[int] = None, progress: Optional[bool] = None,
             check_stability: bool = True) -> SimulationResult:
    """Train the readout of ``prob`` for ``steps`` steps and record exact losses.

    lr: η > 0 in the τ convention (τ = kη); optimizer 'gd' or 'adam' (optax);
    noise_samples: m ≥ 1 fresh noise samples per data point per step, or None for the
    exact noise average (deterministic GD on (L1)); record: number of log-spaced record
    points; key: JAX PRNG key of the noise (same key → same run); A0 (d,p): start (default 0);
    block: steps per compiled `lax.scan` chunk (default min(steps, 256); progress bar between chunks).
    GD is refused (InputError on 'lr') unless η (2Δ/ψ_p) λ_max(U) < 2; a run whose losses
    become non-finite raises ConvergenceError.
    """
    lr = check_positive("lr", lr)
    steps = check_positive_int("steps", steps)
    if optimizer not in OPTIMIZERS:
        raise InputError("optimizer", f"must be one of {', '.join(OPTIMIZERS)}, got {optimizer!r}")
    if noise_samples is not None:
        noise_samples = check_positive_int("noise_samples", noise_samples)
    if optimizer == "gd" and check_stability:
        lr_max = prob.max_stable_lr()
        if lr >= lr_max:
            raise InputError("lr", f"GD is unstable for lr = {lr:.6g}: need lr < ψ_p/(Δ λ_max(U)) = {lr_max:.6g}")
    d, p = prob.d, prob.p
    key = jax.random.PRNGKey(0) if key is None else key
    A = jnp.zeros((d, p)) if A0 is None else jnp.asarray(A0, jnp.float64)
    if A.shape != (d, p) or not bool(jnp.all(jnp.isfinite(A))):
        raise InputError("A0", f"must be a finite (d, p) = {(d, p)} array")

    rec = record_steps(steps, record)
    block = int(block or min(steps, 256))
    if prob.model == "exact":
        b = s2 = v2 = 0.0
    else:
        c = prob.factors.constants
        b, s2, v2 = float(c.b_t), float(c.s_t2), float(c.v_t2)
    cfg = _Cfg(prob.model, prob.activation, 0 if noise_samples is None else noise_samples, d, p, prob.n,
               float(prob.delta_t), float(prob.t), b, s2, v2, optimizer, block)
    arr = _arrays(prob)
    carry = (A, _optimizer(cfg, lr).init(A), jnp.asarray(0), jnp.full((rec.size, 2), jnp.nan))
    rec_j, steps_j = jnp.asarray(np.append(rec, -1)), jnp.asarray(steps)
    show = (steps >= 20 * block and steps * p * d > 5e8) if progress is None else progress
    with tqdm(total=steps, desc=f"{optimizer} p={p}", unit="step", disable=not show, leave=False) as bar:
        for start in range(0, steps, block):
            carry = _run_block(cfg, arr, carry, jnp.asarray(start), steps_j, rec_j, key, jnp.asarray(lr))
            bar.update(min(block, steps - start))
    out = np.asarray(carry[3])
    train, test = out[:, 0], out[:, 1]
    if not (np.all(np.isfinite(train)) and np.all(np.isfinite(test))):
        bad = int(rec[np.argmax(~np.isfinite(train) | ~np.isfinite(test))])
        raise ConvergenceError(f"{optimizer} diverged (non-finite loss by step {bad}) with lr = {lr:g}, "
                               f"p = {p}, d = {d}, n = {prob.n}; lower lr")
    return SimulationResult(step=rec, tau=rec * lr, train_loss=train, test_loss=test,
                            score_error=(test - prob.l_opt) / prob.delta_t, l_opt=prob.l_opt,
                            delta_t=prob.delta_t, optimizer=optimizer, lr=lr, noise_samples=noise_samples)
