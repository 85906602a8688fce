"""Training ε-prediction networks with the denoising loss (N2), checkpoints, metrics and resuming.

theory/trained_networks.md: loss (N2) with t log-uniform on [t_min, T] (N3), fresh t and noise at
every step; the score s(x, t) = -ε_θ(x, t)/√Δ_t (N4) is sampled by the existing sampler
(`rfscore.generative.sampler.sample`, (Y3)); training time τ = k·lr (N5); the metrics of (Y7)-(Y8)
and, for the mixture, the KL estimate (N6). Every random draw derives from PRNGKey(seed):
training step k uses fold_in(train_key, k), so a run resumed from a checkpoint repeats the
uninterrupted run exactly. The library is quiet: progress goes to an optional callback.
"""
from __future__ import annotations

import functools
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from .._version import __version__
from ..core.errors import ConvergenceError, InputError
from ..core.status import NoErrorEstimate
from ..generative.generation import tau_gen_samples, tau_mem_samples
from ..generative.metrics import frechet_gaussians, memorisation
from ..generative.sampler import sample
from ..generative.score_model import cell_edges, time_grid
from ..runtime.io import atomic_path
from ..core.precision import float64  # the data and metrics in float64, the network in DTYPE
from .data import NetData, gmm_diffused, gmm_prior_kl_bound, gmm_score, load_net_data
from .ddpm import draw_t, em_sample
from .models import DTYPE, apply, build, net_score, num_params

OPTIMIZERS = ("adam", "sgd")
MAX_BATCH = 512
LOSS_T = 0.01          # the diffusion time of the reported train/test losses
CHUNK = 1000           # training steps per compiled call (Ctrl-C is seen between calls)
SAVE_EVERY = 600.0     # s of training between saves of the state in flight between two checkpoints: a killed run
                       # loses at most this much (an interval of the log grid can take hours at the paper's sizes)
HEADER = ("n", "seed", "width", "optimizer", "batch", "step", "tau", "f_mem", "f_mem_lo", "f_mem_hi", "frechet", "kl",
          "train_loss", "test_loss")
TIME_SAMPLINGS = ("loguniform", "ddpm")
JUMP = 0.05            # refinement: consecutive accepted checkpoints differ in f_mem by at most this ...
REFINE = 4             # ... unless they are already 1/REFINE of a log-grid interval apart,
REFINE_BELOW = 0.25    # ... while f_mem is below this (above the largest read-off threshold 0.2: the base grid)
PLATEAU_MIN = 0.1      # --until-plateau: f_mem must have reached this before a plateau counts


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines the numbers of a run (the checkpoint fingerprint)."""

    arch: str = "mlp"
    width: int = 256
    steps: int = 10000
    seed: int = 0
    optimizer: str = "adam"
    lr: float = 1e-3
    t_min: float = 1e-3
    t_max: float = 3.0
    times: int = 24
    steps_per_time: int = 4
    samples: int = 2000
    checkpoints: int = 12
    first_checkpoint: int = 100
    sampler: str = "sde"
    momentum: float = 0.9
    batch: str = "auto"              # 'auto' = min(n, 512), 'full' = n, or an integer B as text
    time_sampling: str = "loguniform"  # (N3) or 'ddpm' (N8)
    sampler_steps: int = 0           # 0: the grid sampler (Y3); K > 0: Euler-Maruyama in DDPM time (N9)
    until_plateau: bool = False
    refine: bool = True              # refine the log grid where f_mem moves (N11)

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    def batch_size(self, n: int) -> int:
        """The rows per step at size n: min(n, 512) ('auto'), n ('full') or the integer B (≤ n, checked by the CLI)."""
        if self.batch == "auto":
            return min(n, MAX_BATCH)
        if self.batch == "full":
            return n
        return min(int(self.batch), n)


def checkpoint_steps(steps: int, num: int, first: int) -> np.ndarray:
    """The log grid of checkpoint steps: ≈ num log-spaced integers from min(first, steps) to steps, distinct."""
    first = max(1, min(first, steps))
    return np.unique(np.round(np.geomspace(first, steps, num)).astype(np.int64))


@functools.lru_cache(maxsize=16)
def make_optimizer(name: str, lr: float, momentum: float = 0.9):
    """optax Adam, or SGD with heavy-ball momentum (v ← m v + g, θ ← θ - lr v) (cached: the same object keeps the
    compiled training program)."""
    if name == "adam":
        return optax.adam(lr)
    if name == "sgd":
        return optax.sgd(lr, momentum=momentum or None)
    raise InputError("optimizer", f"must be one of {', '.join(OPTIMIZERS)}, got {name!r}")


def denoising_loss(net, x, t, xi):
    """(N2) on given draws: mean over the batch of (1/d)‖ε_θ(e^{-t}x + √Δ_t ξ, t) - ξ‖²; x, xi (B, d), t (B,)."""
    t = t.astype(DTYPE)
    xt = jnp.exp(-t)[:, None] * x + jnp.sqrt(-jnp.expm1(-2 * t))[:, None] * xi
    return jnp.mean((apply(net, xt, t) - xi) ** 2)


def _draw(key, X, t_min, t_max, batch, time_sampling="loguniform"):
    """One step's batch: rows of X (without replacement if batch < n), t log-uniform (N3) or DDPM (N8), ξ ~ N(0, I)."""
    kb, kt, kx = jax.random.split(key, 3)
    n = X.shape[0]
    x = X if batch == n else X[jax.random.choice(kb, n, (batch,), replace=False)]
    if time_sampling == "ddpm":
        t = draw_t(kt, (batch,), DTYPE)
    else:
        u = jax.random.uniform(kt, (batch,), dtype=DTYPE)
        t = jnp.exp(jnp.log(t_min) + u * (jnp.log(t_max) - jnp.log(t_min)))
    return x, t, jax.random.normal(kx, x.shape, dtype=DTYPE)


@eqx.filter_jit
def _train_chunk(net, opt_state, X, key, k0, k1, t_min, t_max, optimizer, batch, time_sampling="loguniform"):
    """Steps k0 ≤ k < k1 (pass the bounds as arrays: traced, one compiled program for every chunk; eqx.filter_jit
    holds Python ints static); step k uses fold_in(key, k)."""
    params, static = eqx.partition(net, eqx.is_array)

    def body(k, carry):
        p, s = carry
        x, t, xi = _draw(jax.random.fold_in(key, k), X, t_min, t_max, batch, time_sampling)
        grads = jax.grad(lambda q: denoising_loss(eqx.combine(q, static), x, t, xi))(p)
        upd, s = optimizer.update(grads, s, p)
        return optax.apply_updates(p, upd), s

    params, opt_state = jax.lax.fori_loop(k0, k1, body, (params, opt_state))
    return eqx.combine(params, static), opt_state


@eqx.filter_jit
def _eps(net, x, t):
    return apply(net, x, t)


@eqx.filter_jit
def _loss_fixed(net, x, t, xi):
    return denoising_loss(net, x, t, xi)


@float64
def eval_loss(net, X, key, draws: int, t: float = LOSS_T) -> float:
    """(N2) at one diffusion time t, over every row of X with ``draws`` fixed noise draws each (float64 mean)."""
    Xr = jnp.asarray(np.repeat(X, draws, axis=0), dtype=DTYPE)
    xi = jax.random.normal(key, Xr.shape, dtype=DTYPE)
    tt = jnp.full(Xr.shape[0], t, dtype=DTYPE)
    vals = [float(_loss_fixed(net, Xr[i:i + 8192], tt[i:i + 8192], xi[i:i + 8192])) * min(8192, Xr.shape[0] - i)
            for i in range(0, Xr.shape[0], 8192)]
    return float(np.sum(vals) / Xr.shape[0])


@float64
def gmm_kl_estimate(net, data: NetData, times, key, num: int = 1024) -> float:
    """(N6): KL(p_T‖N(0,I))/d bound + Σ_k E_score(t_k)|cell_k|, E_score(t) = (1/d) E‖s_θ(x_t, t) - s*(x_t, t)‖²
    by Monte Carlo over ``num`` fresh x_t ~ p_t per grid time (keyed), per dimension (nats)."""
    edges = cell_edges(times)
    d = data.d
    err = np.empty(len(times))
    for k, t in enumerate(times):
        xt = gmm_diffused(jax.random.fold_in(key, k), num, float(t), data.mu, data.std)
        s_net = -np.asarray(_eps(net, jnp.asarray(xt, dtype=DTYPE), jnp.float32(t)), dtype=np.float64) / math.sqrt(-math.expm1(-2 * t))
        err[k] = np.mean(np.sum((s_net - gmm_score(xt, float(t), data.mu, data.std)) ** 2, axis=1)) / d
    return gmm_prior_kl_bound(float(times[-1]), data.mu, data.std) / d + float(err @ np.diff(edges))


def _keys(seed: int, n: int):
    """(init, train, sample, eval) keys of size n: PRNGKey(seed) folded with n."""
    base = jax.random.fold_in(jax.random.PRNGKey(seed), n)
    return jax.random.split(base, 4)


# ----------------------------------------------------------------------------- checkpoints
def job_name(n: int, width: int, seed: int) -> str:
    return f"n{n}_w{width}_s{seed}"


def checkpoint_path(folder, n: int, width: int, seed: int) -> Path:
    return Path(folder) / f"checkpoint_{job_name(n, width, seed)}.npz"


def samples_path(folder, n: int, step: int, width: int, seed: int) -> Path:
    return Path(folder) / f"samples_{job_name(n, width, seed)}_step{step:09d}.npz"


def fingerprint(cfg: TrainConfig, data_info: dict, n: int, save_samples: bool, content: str = "") -> str:
    """What a checkpoint is keyed on: the configuration, the data's description and the SHA-256 ``content`` of
    the arrays trained and evaluated on (`data_digest`: a changed data file is another run, never mixed with the
    old one)."""
    return json.dumps({"config": cfg.to_dict(), "data": data_info, "n": n, "save_samples": save_samples,
                       "rfscore_version": __version__, "data_sha256": content}, sort_keys=True)


def data_digest(data: NetData) -> str:
    """SHA-256 of the training pool and the held-out rows (float64 bytes, shapes included)."""
    import hashlib

    h = hashlib.sha256()
    for a in (data.pool, data.test):
        a = np.ascontiguousarray(np.asarray(a, dtype=np.float64))
        h.update(repr(a.shape).encode() + a.tobytes())
    return h.hexdigest()


TEXT_COLUMNS = ("optimizer",)  # the CSV's text columns; every other column is a number


def _check_rows(rows, step: int) -> None:
    """ValueError unless ``rows`` are checkpoint metric rows: dicts of the HEADER columns, numbers finite (kl may
    be NaN) except the text columns, f_mem and its interval in [0, 1], losses and the Fréchet distance >= 0,
    steps in [1, step]."""
    if not isinstance(rows, list) or step < 0:
        raise ValueError("rows or step malformed")
    for r in rows:
        if not isinstance(r, dict) or set(r) != set(HEADER):
            raise ValueError("a row does not have the columns " + ",".join(HEADER))
        for k in HEADER:
            v = r[k]
            if k in TEXT_COLUMNS:
                if not isinstance(v, str):
                    raise ValueError(f"{k} = {v!r} is not a text")
                continue
            if (isinstance(v, bool) or not isinstance(v, (int, float)) or (v != v and k != "kl")
                    or v in (math.inf, -math.inf)):
                raise ValueError(f"{k} = {v!r}")
        if not (0 <= r["f_mem_lo"] <= r["f_mem"] <= r["f_mem_hi"] <= 1) or min(r["frechet"], r["train_loss"],
                                                                                  r["test_loss"]) < 0:
            raise ValueError("f_mem outside [0, 1] or a negative loss or distance")
        if not 1 <= r["step"] <= step:
            raise ValueError(f"row step {r['step']} outside [1, {step}]")


def read_fingerprint(path) -> str | None:
    """The fingerprint stored in a checkpoint, or None if it cannot be read."""
    try:
        with np.load(path, allow_pickle=False) as z:
            return str(z["fingerprint"])
    except Exception:  # noqa: BLE001 - unreadable: load_checkpoint reports it
        return None


def log_ratio(cfg: TrainConfig) -> float:
    """The step ratio r between consecutive points of the base log grid (`checkpoint_steps`)."""
    first = max(1, min(cfg.first_checkpoint, cfg.steps))
    return (cfg.steps / first) ** (1.0 / max(cfg.checkpoints - 1, 1)) if cfg.steps > first else 2.0


def fine_step(cfg: TrainConfig, step: int) -> int:
    """The refined next checkpoint after ``step``: step·r^(1/REFINE) (at least step + 1), or --steps when that is
    within half a fine step of it (no near-duplicate last checkpoint)."""
    nxt = max(step + 1, round(step * log_ratio(cfg) ** (1.0 / REFINE)))
    return int(cfg.steps if nxt * log_ratio(cfg) ** (0.5 / REFINE) >= cfg.steps else nxt)


def _fine_chain(cfg: TrainConfig, step: int, target: int) -> list:
    """The refined checkpoints (N11) that can follow ``step`` before ``target``: fine_step applied repeatedly."""
    out, k = [], fine_step(cfg, step)
    while k < target:
        out.append(k)
        k = fine_step(cfg, k)
    return out


def plateaued(rows: list) -> bool:
    """(N11) the plateau criterion of --until-plateau: f_mem ≥ PLATEAU_MIN at the last checkpoint, and the last 3
    checkpoints, spanning at least a factor 2 in steps, have overlapping Wilson 95 % intervals (the largest lower
    end ≤ the smallest upper end): f_mem has stopped rising within its sampling error."""
    if len(rows) < 3 or rows[-1]["f_mem"] < PLATEAU_MIN:
        return False
    win = rows[-3:]
    if win[-1]["step"] < 2 * win[0]["step"]:
        return False
    return max(r["f_mem_lo"] for r in win) <= min(r["f_mem_hi"] for r in win)


def _flat(net, opt_state) -> tuple:
    """(leaves, treedef) of what a checkpoint holds of a training state: the network's arrays and the optimiser
    state."""
    return jax.tree_util.tree_flatten((eqx.filter(net, eqx.is_array), opt_state))


def save_checkpoint(path, net, opt_state, key, step: int, rows: list, fingerprint: str, in_flight=None) -> None:
    """Parameters, optimiser state, PRNG key, step and the metric rows so far, as leaves in one NPZ (atomic);
    ``in_flight``: (net, opt_state, step) of the same run trained beyond ``step`` towards the next checkpoint (a
    resumed run continues from it; step k trains on fold_in(key, k), so it lies on the run's one trajectory)."""
    arrays = {f"leaf_{i:04d}": np.asarray(x) for i, x in enumerate(_flat(net, opt_state)[0])}
    if in_flight is not None:
        arrays.update({f"in_flight_leaf_{i:04d}": np.asarray(x) for i, x in enumerate(_flat(*in_flight[:2])[0])},
                      in_flight_step=np.int64(in_flight[2]))
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, step=np.int64(step), key=np.asarray(jax.random.key_data(key)) if jnp.issubdtype(
                key.dtype, jax.dtypes.prng_key) else np.asarray(key), rows=json.dumps(rows),
                     fingerprint=fingerprint, **arrays)


def load_checkpoint(path, net, opt_state, fingerprint: str):
    """(net, opt_state, key, step, rows, in_flight) from ``path``, in_flight the (net, opt_state, step) saved
    beyond ``step`` or None; InputError naming ``folder`` (its folder) if foreign or corrupt."""
    try:
        with np.load(path, allow_pickle=False) as z:
            if str(z["fingerprint"]) != fingerprint:
                raise InputError("folder", f"{path} is a checkpoint of a run with other parameters or another "
                                           "content of `data`; delete it or choose another `folder`")
            params, treedef = _flat(net, opt_state)

            def leaves_of(prefix):
                out = [jnp.asarray(z[f"{prefix}leaf_{i:04d}"], dtype=p.dtype) for i, p in enumerate(params)]
                if not all(np.all(np.isfinite(np.asarray(x))) for x in out if jnp.issubdtype(x.dtype, jnp.inexact)):
                    raise ValueError("non-finite network parameters")
                return out

            leaves = leaves_of("")
            step, key, rows = int(z["step"]), jnp.asarray(z["key"]), json.loads(str(z["rows"]))
            _check_rows(rows, step)
            flight = None
            if "in_flight_step" in z:
                flight = (leaves_of("in_flight_"), int(z["in_flight_step"]))
                if flight[1] <= step:
                    raise ValueError(f"the state in flight (step {flight[1]}) is not beyond step {step}")
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - any unreadable checkpoint is the user's file
        why = f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}" if str(exc) else type(exc).__name__
        raise InputError("folder", f"{path} is a corrupt checkpoint ({why}); delete it to restart") from None

    def state_of(leaves):  # (net, opt_state) of checkpoint leaves
        p, s = jax.tree_util.tree_unflatten(treedef, leaves)
        return eqx.combine(p, net), s

    return (*state_of(leaves), key, step, rows, None if flight is None else (*state_of(flight[0]), flight[1]))



# ----------------------------------------------------------------------------- one n
@dataclass
class NetRun(NoErrorEstimate):
    """One network size n: rows (one dict per checkpoint, HEADER keys), parameter count, wall time (s), the step
    it resumed from, info (width, seed, plateau: the (N11) criterion held at the last checkpoint, last_step).

    Status (theory/trained_networks.md §5, "Status of a run and of its read-offs"): ``converged`` when the run
    finished without a non-finite value (network parameters after every chunk of steps, the losses (N2) and the samples at
    every checkpoint) and, when the plateau was asked for (``until_plateau``), met the plateau criterion (N11) by
    its last step; without it, reaching ``steps`` is all that is asked. ``diverged_at``: the step at which a
    non-finite value appeared (None if none; the run stopped there, ``rows`` hold the checkpoints before it).
    ``error`` NaN (training has no error estimate; the f_mem Wilson intervals are in the rows). ``message``: ''
    when converged, else what failed with n, width, seed, optimizer and lr. The per-checkpoint detail is ``rows``.
    """

    n: int
    rows: list
    num_params: int
    seconds: float
    resumed_from: int = 0
    info: dict = field(default_factory=dict)
    converged: bool = True
    message: str = ""
    diverged_at: int | None = None


@eqx.filter_jit
def _finite(net):
    """Whether every parameter of the network is finite (a diverged run turns them inf or NaN)."""
    leaves = jax.tree_util.tree_leaves(eqx.filter(net, eqx.is_inexact_array))
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in leaves]))


@float64
def train_one(data: NetData, n: int, cfg: TrainConfig, folder, *, save_samples: bool = False,
              on_checkpoint=None, on_progress=None, throw: bool = True) -> NetRun:
    """Train one network (cfg.width, cfg.seed) on the first n rows of data.pool, with a checkpoint in ``folder`` at
    every accepted checkpoint step; resume from ``folder``'s checkpoint of the same fingerprint if there is one.

    Checkpoint steps (N11): the log grid `checkpoint_steps`, refined where f_mem moves below REFINE_BELOW: a
    checkpoint whose f_mem exceeds the previous one's by more than JUMP is discarded and the run goes back to a
    checkpoint r^(1/REFINE) further (continued from the states kept while the interval was trained: step k uses
    fold_in(key, k), so no step is trained twice), and while f_mem keeps rising by more than JUMP/2 the next
    checkpoints stay that fine. With cfg.until_plateau the run stops at the first checkpoint where
    `plateaued` holds, else at cfg.steps.

    At each checkpoint: ``cfg.samples`` samples, by the grid sampler (Y3) with the score (N4) on ``cfg.times``
    log-spaced times in [t_min, t_max], or with cfg.sampler_steps = K > 0 by Euler–Maruyama in DDPM time (N9)
    (same sampler key at every checkpoint); f_mem (Y7) with its Wilson interval against the training set, the
    Fréchet distance (Y8) between the Gaussian fits of the samples and of the held-out rows, for the mixture the
    KL estimate (N6) (NaN otherwise), and (N2) at t = 0.01 on the training set and on the held-out rows.
    on_checkpoint(n, step) is called after each checkpoint is saved, on_progress(n, step) after each chunk.

    Status (`NetRun`): the parameters are checked after every chunk of steps and the losses and samples at every
    checkpoint; at the first non-finite value the run stops (diverged: the checkpoint file keeps the last accepted
    state). throw: raise `ConvergenceError` naming n, width, seed, optimizer and lr when the run diverged or, with
    cfg.until_plateau, ended at cfg.steps before its plateau (default); False: return the run flagged.
    """
    X = data.training_set(n)
    k_init, k_train, k_sample, k_eval = _keys(cfg.seed, n)
    net = build(cfg.arch, k_init, data.d, cfg.width)
    opt = make_optimizer(cfg.optimizer, cfg.lr, cfg.momentum)
    opt_state = opt.init(eqx.filter(net, eqx.is_array))
    fp = fingerprint(cfg, data.info(), n, save_samples, data_digest(data))
    ckpt = checkpoint_path(folder, n, cfg.width, cfg.seed)
    step, rows, flight = 0, [], None
    if ckpt.exists():
        net, opt_state, key, step, rows, flight = load_checkpoint(ckpt, net, opt_state, fp)
        if not np.array_equal(np.asarray(key), np.asarray(k_train)):
            raise InputError("folder", f"{ckpt}: its PRNG key is not the one of `seed` {cfg.seed}; delete it")
    resumed = flight[2] if flight is not None else step
    grid = time_grid(cfg.t_min, cfg.t_max, cfg.times)
    batch = cfg.batch_size(n)
    Xj = jnp.asarray(X, dtype=DTYPE)
    draws_train = max(4, 8192 // n)
    base = [int(s) for s in checkpoint_steps(cfg.steps, cfg.checkpoints, cfg.first_checkpoint)]
    cap = (fine_step(cfg, step) if cfg.refine and len(rows) >= 2 and rows[-1]["f_mem"] - rows[-2]["f_mem"] > JUMP / 2
           and rows[-1]["f_mem"] < REFINE_BELOW else None)
    # States already trained beyond the last accepted step, step -> (net, opt_state, measured row or None). Step k
    # trains on fold_in(key, k) whatever the checkpoints, so these lie on the run's one trajectory: a checkpoint
    # discarded by the refinement (N11) is not trained again but continued from the latest of them at or below its
    # finer target (the points the refinement can ask for are kept while the interval is trained).
    ahead = {} if flight is None else {flight[2]: (flight[0], flight[1], None)}  # a saved state in flight is one
    start = saved = time.perf_counter()
    diverged, why = None, ""
    while diverged is None and step < cfg.steps and not (cfg.until_plateau and plateaued(rows)):
        # the next base point, skipping one closer than half a fine step (it would duplicate the fine grid's)
        close = step * log_ratio(cfg) ** (0.5 / REFINE)
        target = next((s for s in base if s > step and (s >= close or s == cfg.steps)), cfg.steps)
        if cap is not None:
            target = min(target, cap)
        # whether this interval's checkpoint may be discarded (N11); if so, keep the states it may be refined to
        refining = bool(cfg.refine and rows and rows[-1]["f_mem"] < REFINE_BELOW)
        keep = set(_fine_chain(cfg, step, target)) if refining else set()
        from_step = max((k for k in ahead if k <= target), default=step)
        cur_net, cur_state, cur = (net, opt_state, step) if from_step == step else (*ahead[from_step][:2], from_step)
        row = ahead[target][2] if target in ahead else None
        while cur < target:
            nxt = min([cur + CHUNK, target] + [k for k in keep if k > cur])
            # the bounds as arrays: eqx.filter_jit holds Python ints static, which would compile every chunk anew
            cur_net, cur_state = _train_chunk(cur_net, cur_state, Xj, k_train, jnp.asarray(cur), jnp.asarray(nxt),
                                              cfg.t_min, cfg.t_max, opt, batch, cfg.time_sampling)
            cur = nxt
            if on_progress is not None:
                on_progress(n, cur)
            if not bool(_finite(cur_net)):
                diverged, why = cur, "non-finite network parameters"
                break
            if cur in keep:  # the chain stops below target
                ahead[cur] = (cur_net, cur_state, None)
            if cur < target and time.perf_counter() - saved >= SAVE_EVERY:
                save_checkpoint(ckpt, net, opt_state, k_train, step, rows, fp, in_flight=(cur_net, cur_state, cur))
                saved = time.perf_counter()
        if diverged is not None:
            break
        if row is None:
            try:
                row = _measure(cur_net, data, X, cfg, grid, k_sample, k_eval, draws_train, n, cur, batch, folder,
                               save_samples)
            except ConvergenceError:  # both samplers raise on non-finite samples: from a trained network, divergence
                diverged, why = cur, "non-finite samples"
                break
            if not (math.isfinite(row["train_loss"]) and math.isfinite(row["test_loss"])):
                diverged, why = cur, "non-finite loss (N2)"
                break
        fine = fine_step(cfg, step)
        if refining and row["f_mem"] - rows[-1]["f_mem"] > JUMP and target > fine:
            cap = fine  # f_mem jumped: back to the last accepted state, on to a finer checkpoint
            ahead[cur] = (cur_net, cur_state, row)
            if on_progress is not None:
                on_progress(n, step)
            continue
        prev_f = rows[-1]["f_mem"] if rows else 0.0
        net, opt_state, step = cur_net, cur_state, cur
        ahead = {k: v for k, v in ahead.items() if k > step}
        rows.append(row)
        cap = (fine_step(cfg, step) if cfg.refine and row["f_mem"] - prev_f > JUMP / 2 and row["f_mem"] < REFINE_BELOW
               else None)
        save_checkpoint(ckpt, net, opt_state, k_train, step, rows, fp)
        saved = time.perf_counter()
        if on_checkpoint is not None:
            on_checkpoint(n, step)
    where = f"n = {n}, width = {cfg.width}, seed = {cfg.seed}, optimizer {cfg.optimizer}, lr = {cfg.lr:g}"
    if diverged is not None:
        message = f"training diverged at step {diverged} ({where}): {why}; use a smaller `lr`"
    elif cfg.until_plateau and not plateaued(rows):
        message = (f"f_mem did not reach its plateau (N11) by step {step} ({where}, last f_mem = "
                   f"{rows[-1]['f_mem']:.3g}); raise `steps`" if rows else f"no checkpoint ({where})")
    else:
        message = ""
    run = NetRun(n, rows, num_params(net), time.perf_counter() - start, resumed,
                 info={"width": cfg.width, "seed": cfg.seed, "plateau": plateaued(rows), "last_step": step},
                 converged=not message, message=message, diverged_at=diverged)
    run.status.check(throw)
    return run


def _measure(net, data, X, cfg, grid, k_sample, k_eval, draws_train, n, step, batch, folder, save_samples) -> dict:
    """One checkpoint's row (HEADER) of `train_one`."""
    if cfg.sampler_steps:
        ys = em_sample(lambda ts: net_score(net, ts), k_sample, K=cfg.sampler_steps, num_samples=cfg.samples,
                       d=data.d)
    else:
        ys = sample(net_score(net, grid), k_sample, times=grid, num_samples=cfg.samples, d=data.d,
                    steps_per_time=cfg.steps_per_time, method=cfg.sampler)
    mem = memorisation(ys, X)
    fd = frechet_gaussians(ys.mean(0), np.cov(ys, rowvar=False), data.test.mean(0), np.cov(data.test, rowvar=False))
    kl = gmm_kl_estimate(net, data, grid, jax.random.fold_in(k_eval, 1)) if data.mu is not None else math.nan
    ke_tr, ke_te = jax.random.split(jax.random.fold_in(k_eval, 0))
    row = {"n": n, "seed": cfg.seed, "width": cfg.width, "optimizer": cfg.optimizer, "batch": batch, "step": step,
           "tau": step * cfg.lr, "f_mem": mem.f_mem, "f_mem_lo": mem.lo, "f_mem_hi": mem.hi, "frechet": fd, "kl": kl,
           "train_loss": eval_loss(net, X, ke_tr, draws_train), "test_loss": eval_loss(net, data.test, ke_te, 4)}
    if save_samples:
        with atomic_path(samples_path(folder, n, step, cfg.width, cfg.seed)) as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, samples=ys, X=X, n=n, step=step, tau=row["tau"], f_mem=mem.f_mem)
    return row


@float64
def train_job(*, data: str, max_n: int, gmm_mean: float, gmm_std: float, n: int, config: dict, folder: str,
              save_samples: bool = False, throw: bool = True, gmm_split: str = "random") -> dict:
    """One (n, W, seed) job of a grid, as `rfscore.runtime.sweep.run_sweep` runs it (picklable, JSON result): the
    data of PRNGKey(config['seed']) (the same pool for every n and W of the seed), `train_one` with its checkpoint in
    ``folder``; returns the rows, the parameter count, the wall time, the resumed-from step, the info and the
    status (converged, message, diverged_at: the fields of `NetRun`); throw as `train_one`."""
    cfg = TrainConfig(**config)
    ds = load_net_data(data, jax.random.PRNGKey(cfg.seed), max_n, mean=gmm_mean, std=gmm_std, split=gmm_split)
    r = train_one(ds, n, cfg, Path(folder), save_samples=save_samples, throw=throw)
    return {"n": r.n, "rows": r.rows, "num_params": r.num_params, "seconds": r.seconds, "resumed_from": r.resumed_from,
            "info": r.info, "converged": r.converged, "message": r.message, "diverged_at": r.diverged_at}


class RunReadoffs(dict, NoErrorEstimate):
    """The read-offs of one run (`readoffs`): the dict {tau_mem, tau_gen, f_mem_last} it always was, plus
    ``converged`` (τ_mem reached within the run and τ_gen not right-censored: the Fréchet minimum is not the last
    checkpoint), ``error`` NaN and ``message`` (which read-off is censored, with n, width and seed)."""

    def __init__(self, entries=(), message: str = ""):
        super().__init__(entries)
        self.message = message

    @property
    def converged(self) -> bool:
        return not self.message


def readoffs(rows: list, mem_threshold: float = 0.1, gen_tolerance: float = 0.1, *, throw: bool = True) -> RunReadoffs:
    """τ_mem (first τ with f_mem ≥ threshold, (Y11)) and τ_gen (first τ within 10 % of the Fréchet minimum, (Y10)).

    A `RunReadoffs`: not converged when τ_mem is censored (f_mem never reached the threshold: NaN) or τ_gen is
    (the Fréchet minimum is the last checkpoint: still falling); throw: raise `ConvergenceError` naming it and the
    run's n, width and seed (default), or return it flagged (False)."""
    tau = np.array([r["tau"] for r in rows])
    fd = [r["frechet"] for r in rows]
    out = {"tau_mem": tau_mem_samples(tau, [r["f_mem"] for r in rows], mem_threshold),
           "tau_gen": tau_gen_samples(tau, fd, gen_tolerance), "f_mem_last": rows[-1]["f_mem"]}
    bad = []
    if not math.isfinite(out["tau_mem"]):
        bad.append(f"tau_mem censored (f_mem never reached {mem_threshold:g})")
    if len(fd) > 1 and int(np.argmin(fd)) == len(fd) - 1:
        bad.append("tau_gen right-censored (the Fréchet distance still falls at the last checkpoint)")
    last = rows[-1]
    where = f" (n = {last.get('n')}, width = {last.get('width')}, seed = {last.get('seed')})" if bad else ""
    res = RunReadoffs(out, "; ".join(bad) + where)
    res.status.check(throw)
    return res


def columns(runs) -> dict:
    """The CSV columns (HEADER) of a list of NetRun."""
    rows = [r for run in runs for r in run.rows]
    return {h: np.array([r.get(h, "") for r in rows], dtype=object if h == "optimizer" else None) for h in HEADER}
