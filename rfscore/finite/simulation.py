"""Simulated training: gradient descent on the sampled-noise loss (theory/dynamics.md §6).

At every step a fresh noise ξ (``m`` samples per data point) is drawn and the readout takes
one optimiser step on the sampled loss

    L̂(A) = (1/(n m d)) Σ_ν Σ_j ‖√Δ s_A(x_t^{νj}) + ξ^{νj}‖²,   x_t^{νj} = e^{-t} x^ν + √Δ ξ^{νj},

whose noise average is (L1). Time follows theory/dynamics.md §2: the optimiser is fed the
gradient d² ∇_A L̂, so plain GD is A ← A - η d² ∇_A L̂ and τ = kη after k steps; in the
η → 0 limit GD follows the flow (D1)-(D2). Adam, or any optax transformation, gets the same
gradient (and, by name, the learning rate η); τ = kη is then a nominal time.

Features: 'exact' model φ = σ(W x_t/√d); 'gep' model the Gaussian-equivalent features
φ = e^{-t} a_t W x^ν/√d + v_t ω_ν + b_t W ξ/√d + s_t ζ with ω_ν the fixed ν-th column of
the Ω of (G4) and ζ ~ N(0, I_p) fresh each step, whose noise averages are exactly
(G4)-(G6). Of the N = nm noise rows (ξ, ζ) only the statistics the gradient depends on are
drawn (theory/dynamics.md §6, (N1)-(N2)): the run has the same law as with ξ and ζ drawn in
full (``sampler="direct"``) at a cost independent of m. Losses are recorded at log-spaced
steps and evaluated EXACTLY through U, V, U_pop, V_pop ((L1)-(L3)), not by Monte Carlo.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import NamedTuple, Optional

import jax
import jax.numpy as jnp
import jax.scipy.special
import numpy as np
import optax
from scipy.sparse.linalg import LinearOperator, eigsh
from tqdm.auto import tqdm

from ..core.activations import get_activation
from ..core.errors import ConvergenceError, InputError, check_positive, check_positive_int, check_ridge
from ..core.trajectory import Trajectory
from .model_dispatch import MODELS
from .exact import exact_matrices
from .gep import gep_factors
from ..core.deprecation import options_from_keywords, renamed_fields, renamed_keywords
from ..core.precision import float64
from ..core.shapes import WeightsAndData

OPTIMIZERS = ("gd", "adam")
SAMPLERS = ("reduced", "direct")


@float64
@dataclass(frozen=True)
class TrainingProblem(WeightsAndData):
    """One finite-size model: W (p,d), X (n,d), and what evaluates its losses exactly.

    ``matrices`` (exact model): the (E1)-(E3) `FiniteSizeMatrices`; ``factors`` (gep model): the
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
            G, W, constants = np.asarray(f.G), np.asarray(f.W), f.constants
            n, d = G.shape[1], W.shape[1]
            mv = lambda v: G @ (G.T @ v) / n + constants.b_t**2 * W @ (W.T @ v) / d + constants.s_t2 * v  # noqa: E731
        if p <= 64:
            dense = np.column_stack([mv(e) for e in np.eye(p)])
            return float(np.linalg.eigvalsh(dense)[-1])
        op = LinearOperator((p, p), matvec=lambda v: mv(np.ravel(v)), dtype=np.float64)
        return float(eigsh(op, k=1, which="LA", tol=1e-10, return_eigenvectors=False)[0])

    def max_stable_lr(self, ridge: float = 0.0) -> float:
        """Largest stable GD learning rate of the mean flow: η·(2Δ/ψ_p)·(λ_max(U) + λ) < 2."""
        return self.psi_p / (self.delta_t * (self.lambda_max() + ridge))


@float64
def training_problem(W, X, *, t: float, activation="tanh", sigma=None, model: str = "exact", key=None,
                     matrices=None, **exact_kw) -> TrainingProblem:
    """Build the model to train. ``key`` draws Ω for 'gep' (use the key of `gep_eigensystem`
    / `sample_inputs` so the simulation and the closed form describe the same draw).
    ``matrices``: reuse already computed exact (E1)-(E3) matrices for the same W, X.
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


@float64
@renamed_fields(noise_samples="fresh_noise")
@dataclass(frozen=True)
class SimulationResult(Trajectory):
    """Losses of a simulated run at the recorded steps, each of shape (R,).

    Status: the losses of each recorded readout are evaluated exactly (the run's noise is what is
    studied, not an error), so ``error`` is 0; ``converged`` is the status of the exact matrices
    the losses use (True for the closed-form (G4)-(G6) model); a diverged run raises instead.
    ``step`` (R,) the recorded step counts, ``optimizer`` its name, ``lr`` η, ``fresh_noise`` the fresh noise
    draws per point per step (None: the exact noise average; ``noise_samples`` before 0.2.0).
    """

    step: np.ndarray
    optimizer: str
    lr: float
    fresh_noise: Optional[int]

    def columns(self) -> dict:
        return {"step": self.step, **super().columns()}


@float64
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
    optimizer: object  # a name of OPTIMIZERS, or a (hashable) optax.GradientTransformation
    block: int
    sampler: str = "reduced"
    ridge: float = 0.0


def _config(prob: TrainingProblem, fresh_noise, optimizer, block: int, sampler: str, ridge: float = 0.0) -> _Cfg:
    if prob.model == "exact":
        b = s2 = v2 = 0.0
    else:
        constants = prob.factors.constants
        b, s2, v2 = float(constants.b_t), float(constants.s_t2), float(constants.v_t2)
    return _Cfg(prob.model, prob.activation, 0 if fresh_noise is None else fresh_noise, prob.d, prob.p, prob.n,
                float(prob.delta_t), float(prob.t), b, s2, v2, optimizer, block, sampler, float(ridge))


def _arrays(prob: TrainingProblem) -> dict:
    if prob.model == "exact":
        m = prob.matrices
        return {"W": prob.W, "X": prob.X, "U": m.U, "V": m.V, "Up": m.U_pop, "Vp": m.V_pop}
    f = prob.factors
    constants = f.constants
    return {"W": f.W, "G": f.G, "M": constants.alpha * jnp.asarray(f.sigma) + constants.b_t**2 * jnp.eye(prob.d)}


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


def _normals(key, *shapes):
    """Independent float64 N(0, 1) blocks of the given shapes from ONE draw (theory/dynamics.md §6,
    "Normals"): one call per step is cheaper than one per block, and the split is deterministic.
    """
    sizes = [math.prod(s) for s in shapes]
    z = jax.random.normal(key, (sum(sizes),))
    cuts = np.cumsum(sizes)[:-1].tolist()
    return [part.reshape(s) for part, s in zip(jnp.split(z, cuts), shapes)]


_GAMMA_PROPOSALS = 4


def _chi2(x, u, dof):
    """χ²(dof) draws for dof ≥ 21 from K = 4 Marsaglia–Tsang proposals each (x, u: (K, *dof.shape)).

    Gamma(a = dof/2) by Marsaglia & Tsang (2000), keeping the first accepted proposal (the
    last one if none is). For a ≥ 10.5 a proposal is rejected with probability < 0.3 %, so the
    draw has the χ² law up to a total-variation distance < 0.003⁴ < 1e-10. Written out because
    `jax.random.gamma`'s rejection loop costs seconds of compilation in every training block.
    """
    a = dof / 2 - 1 / 3
    c = 1 / jnp.sqrt(9 * a)
    v = (1 + c * x) ** 3
    vp = jnp.where(v > 0, v, 1.0)
    ok = (v > 0) & (jnp.log(u) < 0.5 * x * x + a - a * vp + a * jnp.log(vp))
    ok = ok.at[-1].set(True)  # none accepted: keep the last
    first = ok & (jnp.cumsum(ok, axis=0) == 1)  # one-hot over the proposals (cheaper to compile than a gather)
    return 2 * a * jnp.sum(jnp.where(first, vp, 0.0), axis=0)


def _gep_reduced_grad(cfg: _Cfg, arr, B, key):
    """Sampled ∇_B L̂ of the GEP model from the statistics it depends on (theory/dynamics.md §6, (N1)-(N2)).

    Bᵀ = Q R_B (QR; Q: p×r orthonormal, r = min(p, d)). Only e = [ξ, ζQ] (q = d + r numbers per
    row) enters R = √Δ Φ Bᵀ + ξ = C_ν + e A, and the gradient needs of e only the per-point sums
    S_ν = Σ_j e_νj ~ N(0, m I_q) and K = Σ eᵀe = SᵀS/m + K⊥, K⊥ ~ Wishart_q(I, n(m-1)) independent
    of S (N2); the rest of ζ enters as Rᵀζ(I - QQᵀ) ~ Tᵀ Z (I - QQᵀ), TᵀT = RᵀR, Z ~ N(0, 1)^{d×p} (N1).
    About n q + d p normals per step, independent of m (the full draw needs n m (d + p)).
    Same law as `_gep_direct_grad`.
    """
    d, n, m, p = cfg.d, cfg.n, cfg.m, cfg.p
    sq, b, s, rd = math.sqrt(cfg.dl), cfg.b, math.sqrt(cfg.s2), math.sqrt(d)
    W, G = arr["W"], arr["G"]
    Q, RB = jnp.linalg.qr(B.T)  # B = R_Bᵀ Qᵀ; Q orthonormal also when B is rank deficient (B = 0)
    q, dof = d + Q.shape[1], n * (m - 1)
    # K⊥: Bartlett's decomposition when every χ² has ≥ 21 degrees of freedom, else FᵀF
    # (F: dof × q, at most 40 q numbers)
    bartlett = dof >= q + 20
    extra = [(q, q), (_GAMMA_PROPOSALS, q), (_GAMMA_PROPOSALS, q)] if bartlett else \
        ([(dof, q)] if dof else [])
    S, Z, *rest = _normals(key, (n, q), (d, p), *extra)
    S = math.sqrt(m) * S
    K = S.T @ S / m
    if bartlett:  # K⊥ = L Lᵀ, L lower triangular, L_ii² ~ χ²(dof - i) (0-based i), L_ij ~ N(0, 1) below
        # the proposals' uniforms as Φ(z) of further normals (one PRNG call per step: compiles faster)
        chi2 = _chi2(rest[1], jax.scipy.special.ndtr(rest[2]), dof - jnp.arange(q, dtype=jnp.float64))
        L = jnp.diag(jnp.sqrt(chi2)) + jnp.tril(rest[0], -1)
        K = K + L @ L.T
    elif dof:
        K = K + rest[0].T @ rest[0]
    # R rows: C_ν + [ξ, ζQ] A with C_ν = √Δ (B g_ν)ᵀ, A = [I + √Δ b (BW)ᵀ/√d ; √Δ s_t R_B]
    C = sq * (B @ G).T  # (n, d)
    A = jnp.concatenate([jnp.eye(d) + (sq * b / rd) * (B @ W).T, (sq * s) * RB])  # (q, d)
    SA = S @ A
    RE = C.T @ S + A.T @ K  # Rᵀ[ξ, ζQ], (d, q)
    CSA = C.T @ SA
    RR = m * C.T @ C + CSA + CSA.T + A.T @ K @ A  # RᵀR, (d, d)
    w, V = jnp.linalg.eigh(RR)
    T = jnp.sqrt(jnp.clip(w, 0.0))[:, None] * V.T  # TᵀT = RᵀR
    Z = Z - (Z @ Q) @ Q.T
    RtPhi = ((m * C + SA).T @ G.T + (b / rd) * RE[:, :d] @ W.T
             + s * (RE[:, d:] @ Q.T + T.T @ Z))
    return 2 * sq * RtPhi / (n * m * d)


def _gep_direct_grad(cfg: _Cfg, arr, B, key):
    """Sampled ∇_B L̂ of the GEP model with ζ drawn in full, N×p normals per step (the reference)."""
    d, p, sq, W = cfg.d, cfg.p, math.sqrt(cfg.dl), arr["W"]
    N = cfg.n * cfg.m
    k1, k2 = jax.random.split(key)
    xi = jax.random.normal(k1, (N, d))
    zeta = jax.random.normal(k2, (N, p))
    # e^{-t} a_t W x^ν/√d + v_t ω_ν (fixed per data point) + b_t W ξ/√d + s_t ζ (fresh)
    phi = jnp.repeat(arr["G"].T, cfg.m, axis=0) + cfg.b * xi @ W.T / math.sqrt(d) + math.sqrt(cfg.s2) * zeta
    R = sq * phi @ B.T + xi
    return 2 * sq * R.T @ phi / (N * d)


def _grad(cfg: _Cfg, arr, B, key):
    """∇_B of the training loss plus the ridge term (2Δλ/d) B of (F2) (theory/finite_noise_ridge.md)."""
    g = _data_grad(cfg, arr, B, key)
    return g if cfg.ridge == 0 else g + 2 * cfg.dl * cfg.ridge * B / cfg.d


def _data_grad(cfg: _Cfg, arr, B, key):
    """∇_B of the data loss: exact noise average (D1) if cfg.m == 0, else on fresh noise.

    Sampled: ∇_B L̂ = (2√Δ/(N d)) Rᵀ Φ with R = √Δ Φ Bᵀ + ξ, N = n·m rows (Φ: N×p features).
    Its noise average is (2Δ/d) B U + (2√Δ/d) Vᵀ, the mean gradient.
    """
    d, n, dl = cfg.d, cfg.n, cfg.dl
    sq, W = math.sqrt(dl), arr["W"]
    if cfg.m == 0:
        if cfg.model == "exact":
            BU, Vt = B @ arr["U"], arr["V"].T
        else:
            G = arr["G"]
            BU = (B @ G) @ G.T / n + cfg.b**2 * (B @ W) @ W.T / d + cfg.s2 * B
            Vt = cfg.b * W.T / math.sqrt(d)
        return 2 * dl * BU / d + 2 * sq * Vt / d
    if cfg.model == "gep":
        return (_gep_reduced_grad if cfg.sampler == "reduced" else _gep_direct_grad)(cfg, arr, B, key)
    N = n * cfg.m
    xi = jax.random.normal(key, (N, d))
    xt = math.exp(-cfg.t) * jnp.repeat(arr["X"], cfg.m, axis=0) + sq * xi
    phi = cfg.act(xt @ W.T / math.sqrt(d))
    R = sq * phi @ B.T + xi
    return 2 * sq * R.T @ phi / (N * d)


def _optimizer(cfg: _Cfg, lr):
    if not isinstance(cfg.optimizer, str):
        return cfg.optimizer
    return optax.sgd(lr) if cfg.optimizer == "gd" else optax.adam(lr)


@partial(jax.jit, static_argnums=(0, 4))
def _sampled_grads(cfg: _Cfg, arr, B, key, draws: int):
    return jax.vmap(lambda i: _grad(cfg, arr, B, jax.random.fold_in(key, i)))(jnp.arange(draws))


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


def _check_sampler(sampler: str) -> str:
    if sampler not in SAMPLERS:
        raise InputError("sampler", f"must be one of {', '.join(SAMPLERS)}, got {sampler!r}")
    return sampler


@float64
@renamed_keywords(noise_samples="fresh_noise")
def sampled_gradient(prob: TrainingProblem, B, *, key, fresh_noise: Optional[int] = 1, draws: int = 1,
                     sampler: str = "reduced") -> jnp.ndarray:
    """Independent draws of ∇_B L̂ at B = A/√p, as used by a `simulate` step: shape (draws, d, p).

    Draw i uses ``fold_in(key, i)``. fresh_noise None: the exact noise average
    (2Δ/d) B U + (2√Δ/d) Vᵀ (theory/dynamics.md §2), the same for every draw.
    sampler: for the GEP model, 'reduced' (only the noise statistics the gradient depends on,
    (N1)-(N2)) or 'direct' (ξ and ζ drawn in full); the two have the same law.
    """
    _check_sampler(sampler)
    if fresh_noise is not None:
        fresh_noise = check_positive_int("fresh_noise", fresh_noise)
    draws = check_positive_int("draws", draws)
    B = jnp.asarray(B, jnp.float64)
    if B.shape != (prob.d, prob.p):
        raise InputError("B", f"must have shape (d, p) = {(prob.d, prob.p)}, got {B.shape}")
    return _sampled_grads(_config(prob, fresh_noise, "gd", 1, sampler), _arrays(prob), B, key, draws)


def _is_transformation(opt) -> bool:
    return isinstance(opt, optax.GradientTransformation) or (callable(getattr(opt, "init", None))
                                                             and callable(getattr(opt, "update", None)))


# ----------------------------------------------------------------------------- the run
@float64
@dataclass(frozen=True)
class SimulationOptions:
    """How `simulate` runs and records (no field changes the law of the run; ``block`` and ``sampler`` change
    only the order of the random draws, not their law).

    record: about this many log-spaced recorded steps (int >= 1, `record_steps`); block: steps per compiled
    ``lax.scan`` chunk (int >= 1; None: min(steps, 256)); sampler: the GEP model's noise draw, 'reduced'
    ((N1)-(N2) of theory/dynamics.md §6, cost independent of the draws) or 'direct' (n·m·(d + p) normals per
    step; same law, slower); check_stability: refuse a GD learning rate at or above the stability bound
    ψ_p/(Δ_t (λ_max(U) + λ)) (InputError on 'lr').
    """

    record: int = 50
    block: Optional[int] = None
    sampler: str = "reduced"
    check_stability: bool = True


DEFAULT_SIMULATION = SimulationOptions()


@float64
@renamed_keywords(noise_samples="fresh_noise")
@options_from_keywords(options=SimulationOptions)
def simulate(prob: TrainingProblem, *, lr: float, steps: int, optimizer="gd", fresh_noise: Optional[int] = 1,
             ridge: float = 0.0, key=None, A0=None, options: SimulationOptions = DEFAULT_SIMULATION,
             progress: Optional[bool] = False) -> SimulationResult:
    """Train the readout of ``prob`` for ``steps`` steps and record exact losses.

    lr: η > 0 in the τ convention (τ = kη); optimizer: 'gd' (optax.sgd(η)), 'adam'
    (optax.adam(η)) or any ``optax.GradientTransformation``, which is fed d² ∇_A L̂ and
    keeps its own step size (η then only sets τ = kη; e.g. ``optax.sgd(η)`` is 'gd'; the
    result's ``optimizer`` is then 'optax', and no stability check is made);
    fresh_noise: m ≥ 1 fresh noise samples per data point per step (``noise_samples`` before 0.2.0, now the
    name of *frozen* draws everywhere else), or None for the exact noise average (deterministic GD on (L1));
    key: JAX PRNG key of the noise (same key → same run); A0 (d,p): start (default 0);
    options: a `SimulationOptions` (record, block, sampler, check_stability; as keywords: the 0.1 form,
    deprecated); progress: tqdm bar on stderr between chunks (default off; None: shown once a run passes 2 s,
    as `rfscore simulate` does).
    GD is refused (InputError on 'lr') unless η (2Δ/ψ_p) (λ_max(U) + λ) < 2; a run whose losses
    become non-finite raises ConvergenceError. ``ridge`` λ ≥ 0 adds the penalty λΔ‖A‖²/(pd) of
    theory/finite_noise_ridge.md (F2) to the training loss; the losses recorded are the data terms.
    Frozen finite-m draws (F1): pass a problem built on their matrices (`training_problem(...,
    matrices=FiniteNoiseMatrices.train)`) with ``fresh_noise=None``.
    """
    lr = check_positive("lr", lr)
    steps = check_positive_int("steps", steps)
    ridge = check_ridge(ridge)
    record, block, sampler, check_stability = options.record, options.block, options.sampler, options.check_stability
    if isinstance(optimizer, str):
        if optimizer not in OPTIMIZERS:
            raise InputError("optimizer", f"must be one of {', '.join(OPTIMIZERS)}, got {optimizer!r}")
        name = optimizer
    elif _is_transformation(optimizer):
        name = "optax"
    else:
        raise InputError("optimizer", f"must be one of {', '.join(OPTIMIZERS)} or an optax.GradientTransformation, "
                                      f"got {type(optimizer).__name__}")
    if fresh_noise is not None:
        fresh_noise = check_positive_int("fresh_noise", fresh_noise)
    _check_sampler(sampler)
    d, p = prob.d, prob.p
    key = jax.random.PRNGKey(0) if key is None else key
    A = jnp.zeros((d, p)) if A0 is None else jnp.asarray(A0, jnp.float64)
    if A.shape != (d, p) or not bool(jnp.all(jnp.isfinite(A))):
        raise InputError("A0", f"must be a finite (d, p) = {(d, p)} array")
    record = check_positive_int("record", record)
    rec = record_steps(steps, record)
    block = check_positive_int("block", block) if block is not None else min(steps, 256)
    if optimizer == "gd" and check_stability:
        lr_max = prob.max_stable_lr(ridge)
        if lr >= lr_max:
            raise InputError("lr", f"GD is unstable for lr = {lr:.6g}: need lr < ψ_p/(Δ (λ_max(U) + λ)) = {lr_max:.6g}")

    cfg = _config(prob, fresh_noise, optimizer, block, sampler, ridge)
    arr = _arrays(prob)
    # records padded to ``record`` slots (-1: never hit), so that runs with the same ``record`` and
    # ``block`` share one compiled block whatever their number of steps (e.g. τ windows of a figure)
    # explicit dtypes: a weakly typed initial carry would compile the block a second time for the
    # (strongly typed) carry coming back from the first chunk
    carry = (A, _optimizer(cfg, lr).init(A), jnp.asarray(0, jnp.int64), jnp.full((record, 2), jnp.nan, jnp.float64))
    rec_j = jnp.asarray(np.concatenate([rec, np.full(record + 1 - rec.size, -1)]))
    steps_j = jnp.asarray(steps, jnp.int64)
    # auto: the bar appears only once the run has taken 2 s (tqdm's delay), so short runs stay quiet
    with tqdm(total=steps, desc=f"{name} p={p}", unit="step", disable=progress is False, leave=False,
              delay=0 if progress else 2.0) as bar:
        for start in range(0, steps, block):
            carry = _run_block(cfg, arr, carry, jnp.asarray(start, jnp.int64), steps_j, rec_j, key,
                               jnp.asarray(lr, jnp.float64))
            bar.update(min(block, steps - start))
    out = np.asarray(carry[3])[:rec.size]
    train, test = out[:, 0], out[:, 1]
    if not (np.all(np.isfinite(train)) and np.all(np.isfinite(test))):
        bad = int(rec[np.argmax(~np.isfinite(train) | ~np.isfinite(test))])
        raise ConvergenceError(f"{name} diverged (non-finite loss by step {bad}) with lr = {lr:g}, "
                               f"p = {p}, d = {d}, n = {prob.n}; lower lr")
    return SimulationResult(step=rec, tau=rec * lr, train_loss=train, test_loss=test,
                            score_error=(test - prob.l_opt) / prob.delta_t, l_opt=prob.l_opt,
                            delta_t=prob.delta_t, optimizer=name, lr=lr, fresh_noise=fresh_noise,
                            converged=bool(getattr(prob.matrices, "converged", True)))


@float64
def simulate_windows(prob: TrainingProblem, plan, *, key, fresh_noise: Optional[int] = 1, record: int = 50,
                     optimizer="gd", block: Optional[int] = 256) -> list:
    """One run of `simulate` per τ window, each from A = 0: ``plan`` = [(τ_end, η), ...] gives window j
    ⌈τ_end/η⌉ steps at learning rate η with the training key ``fold_in(key, j)`` (pass the recipe's
    ``keys.train``, theory/model.md (P1): window j then uses ``keys.window(j)``). A small η resolves early
    times, a large one reaches late times in few steps; every window has the same ``fresh_noise`` m (fresh
    draws per point per step, as in `simulate`), ``record`` and ``block`` (`SimulationOptions`), so one
    compiled block serves them all. Returns the `SimulationResult` of each window, in order.
    """
    out = []
    for j, (end, lr) in enumerate(plan):
        out.append(simulate(prob, lr=float(lr), steps=int(np.ceil(end / lr)), optimizer=optimizer,
                            fresh_noise=fresh_noise, key=jax.random.fold_in(key, j),
                            options=SimulationOptions(record=record, block=block)))
    return out
