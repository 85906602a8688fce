"""The random-features score over diffusion time, trained in closed form (theory/generation.md §1).

One frozen W (p, d) and one readout per grid time t_1 < … < t_K: the readout of time t_k
is the gradient-flow solution (D2) of its own training loss (L1) at t_k, all at the same
training time τ ((Y1), theory/generation.md). The matrices are the exact noise-averaged
ones (theory/exact_matrices.md); the Gaussian-equivalent model (G4) is not a function of
x and cannot be sampled, so it is refused here.

Cost: one set of exact matrices and one eigensystem per grid time, whatever the τ list
(inf included): every τ is then a product of (T, k) decay factors with the eigenvectors.
From ``krylov_above`` features on (p >= krylov_above, the one rule `rfscore.finite.krylov.choose_solver`) the dense p×p eigendecomposition is replaced by block
Lanczos (`rfscore.finite.krylov.krylov_readouts`, theory/generation.md §1).

Conventions: W (p, d), X (n, d), Σ (d, d); readouts are stored as B = A/√p, shape
(T, K, d, p); times in the units of the forward process dx = -x dt + √2 dB.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from ..core.activations import Activation, get_activation
from ..core.constants import ge_constants
from ..core.covariance import SigmaSpectrum, validate_sigma_matrix
from ..core.trajectory import check_tau
from ..finite.dynamics import readouts
from ..finite.eigensystem import check_inputs, eigensystem
from ..core.errors import (ConvergenceError, InputError, check_noise_samples, check_positive, check_positive_int,
                           check_ridge)
from ..core.deprecation import options_from_keywords, renamed_keywords
from ..finite.exact import MehlerRule, exact_matrices
from ..finite.frozen_noise import exact_noise_matrices
from ..finite.krylov import KRYLOV_ABOVE, KrylovRule, choose_solver, krylov_readouts
from ..core.precision import float64
from ..core.shapes import WeightsAndData
from ..core.status import HasStatus
from ..analysis.memorisation_map import spectrum_peak_readoff
from ..analysis.timescales import timescales as read_timescales

@float64
def time_grid(t_min: float, t_max: float, num: int, spacing: str = "log") -> np.ndarray:
    """The diffusion-time grid t_1 = t_min < … < t_K = t_max, shape (K,); 'log' (default) or 'linear'."""
    t_min, t_max = check_positive("t_min", t_min), check_positive("t_max", t_max)
    if t_min >= t_max:
        raise InputError("t_min", f"must be < t_max = {t_max:g}, got {t_min:g}")
    num = check_positive_int("times", num)
    if num < 2:
        raise InputError("times", f"needs at least 2 grid times, got {num}")
    if spacing == "log":
        return np.geomspace(t_min, t_max, num)
    if spacing == "linear":
        return np.linspace(t_min, t_max, num)
    raise InputError("spacing", f"must be 'log' or 'linear', got {spacing!r}")


@float64
def check_times(times) -> np.ndarray:
    """Validate a grid of diffusion times: 1-d, ≥ 2 values, finite, > 0, strictly increasing."""
    times = np.asarray(times, dtype=np.float64)
    if times.ndim != 1 or times.size < 2:
        raise InputError("times", f"needs a 1-d grid of at least 2 times, got shape {times.shape}")
    if not np.all(np.isfinite(times)) or np.any(times <= 0) or np.any(np.diff(times) <= 0):
        raise InputError("times", "grid times must be finite, > 0 and strictly increasing")
    return times


@float64
def cell_edges(times) -> np.ndarray:
    """Edges of the cells, shape (K+1,): cell k is [e_k, e_{k+1}] ∋ t_k, (Y2) of theory/generation.md.

    Interior edges are geometric midpoints √(t_k t_{k+1}); the outer edges are t_1 and t_K,
    so the cells tile [t_min, T] and the model of time t_k is used on the times nearest to
    t_k in log t.
    """
    times = check_times(times)
    return np.concatenate([times[:1], np.sqrt(times[:-1] * times[1:]), times[-1:]])


# ----------------------------------------------------------------------------- readouts
@float64
@renamed_keywords(m="matrices")
def readout_losses(B, matrices) -> tuple:
    """(L_train, L_test, E_score) of readouts B (T, d, p) with the matrices ``m``, each shape (T,).

    (L1), (L2) as quadratic forms 1 + (Δ/d) Tr(B U Bᵀ) + (2√Δ/d) Tr(B V); (L3) E_score =
    (L_test - L_opt)/Δ. O(T d p²), no eigendecomposition.
    """
    B = np.asarray(B)
    d, dl = B.shape[1], matrices.delta_t
    sq = np.sqrt(dl)
    U, V, Up, Vp = (np.asarray(x) for x in (matrices.U, matrices.V, matrices.U_pop, matrices.V_pop))
    train = 1.0 + dl * np.einsum("tdp,tdp->t", B @ U, B) / d + 2 * sq * np.einsum("tdp,pd->t", B, V) / d
    test = 1.0 + dl * np.einsum("tdp,tdp->t", B @ Up, B) / d + 2 * sq * np.einsum("tdp,pd->t", B, Vp) / d
    return train, test, (test - matrices.l_opt) / dl


@float64
@dataclass(frozen=True)
class TimeDiagnostics(HasStatus):
    """Per grid time: the solver used, the smallest eigenvalue of U (> 0 is needed at τ = inf),
    the exact matrices' Mehler truncation bound and quadrature error, the Krylov dimension.

    Status: ``converged`` (the matrices met their tolerance and, on the Krylov path, the readout
    bound met ``krylov.tol``); ``readout_error``: the bound (K2) on ‖B - B_M‖_F/‖B_M‖_F (0 for
    the dense eigendecomposition, exact up to rounding)."""

    t: float
    solver: str
    lambda_min: float
    truncation_bound: float
    quadrature_error: float
    krylov_dim: int = 0
    converged: bool = True
    readout_error: float = 0.0

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@float64
@dataclass(frozen=True)
class RFScoreModel(HasStatus, WeightsAndData):
    """The trained time-indexed RF score at every τ of a list (theory/generation.md (Y1)).

    W (p, d) frozen weights; X (n, d) training set; times (K,); tau (T,); B (T, K, d, p) the
    readouts A_k(τ)/√p; train_loss, test_loss, score_error (T, K): (L1), (L2), (L3) of every
    readout at its own time; delta_t, l_opt (K,); sigma (d, d); diagnostics per time;
    timescales: the loss-based read-offs (rfscore.analysis.timescales) at the requested grid indices.
    Status: ``converged`` (every time's matrices and readouts met their tolerances), ``error``
    (the largest entrywise matrix error estimate and relative readout bound over the times).
    """

    W: np.ndarray
    X: np.ndarray
    times: np.ndarray
    tau: np.ndarray
    B: np.ndarray
    train_loss: np.ndarray
    test_loss: np.ndarray
    score_error: np.ndarray
    delta_t: np.ndarray
    l_opt: np.ndarray
    sigma: np.ndarray
    activation: Activation
    diagnostics: tuple = ()
    timescales: dict = field(default_factory=dict)
    # (M1) of theory/generation.md §9: the last peak of (T1) and the peak count at every grid time (K,);
    # NaN / 0 on the block-Lanczos path (no full mode decomposition)
    tau_mem_t: np.ndarray | None = None
    n_peaks_t: np.ndarray | None = None

    @property
    def converged(self) -> bool:
        return all(dg.converged for dg in self.diagnostics)

    @property
    def error(self) -> float:
        return max((max(dg.truncation_bound, dg.quadrature_error, dg.readout_error) for dg in self.diagnostics),
                   default=0.0)

    def readouts(self, tau: float) -> np.ndarray:
        """A_k(τ) for every grid time at once, shape (K, d, p) (A = √p B); τ must be in ``self.tau``."""
        hit = np.nonzero(self.tau == float(tau))[0]
        if hit.size == 0:
            raise InputError("tau", f"{tau!r} is not one of the trained τ values {self.tau.tolist()}")
        return self.B[int(hit[0])] * np.sqrt(self.p)

    def score(self, i_tau: int) -> RFScore:
        """The jit-able score s(y, k) of the i-th τ (`RFScore`)."""
        return RFScore(W=jnp.asarray(self.W), B=jnp.asarray(self.B[i_tau]), activation=self.activation)


SCORE_MEHLER = MehlerRule(max_order=64, tol=1e-12)  # the score model's default Mehler rule
SCORE_KRYLOV = KrylovRule(tol=1e-10)  # and its block-Lanczos rule (the readout bound (K2))
SCORE_MODELS = ("exact",)  # the matrices a score can be trained on: (G4) defines no function of x


@float64
@dataclass(frozen=True)
class ScoreModelConfig:
    """What the random-features score (Y1) is and how its readouts are computed (theory/generation.md §1, §8).

    activation: σ of (Y1), a name of `rfscore.core.activations.ACTIVATIONS` ('tanh', 'erf', 'linear') or an
    `Activation`/callable (Python API); noise_samples: m, the noise draws per training point, drawn once and
    frozen at every grid time (int in [1, 1e9]; None or inf: the exact noise average), (Y14) with (F1) of
    theory/finite_noise_ridge.md; ridge: λ, the readouts' flow on U^{(m)} + λI (float in [0, 1e6],
    dimensionless like U; enters the flow only, never the reported losses), (Y14), (F2)-(F3); model: the
    matrices, 'exact' only ((E1)-(E3) of theory/exact_matrices.md: the Gaussian-equivalent (G4) has no score to
    sample); krylov_above: the number of features p from which the readouts are taken by block Lanczos instead
    of the dense p×p eigendecomposition (int >= 1; the rule p >= krylov_above of
    `rfscore.finite.krylov.choose_solver`, theory/generation.md §1); mehler: the `MehlerRule` of the exact
    matrices (Mehler orders and the entrywise tolerance of (E4); or its fields as a mapping); krylov: the
    `KrylovRule` of the block-Lanczos path (the tolerance on the readout bound (K2), theory/krylov.md; or its
    fields as a mapping). Checked on construction (InputError naming the field). The defaults are
    `fit_score_model`'s; `rfscore.generative.generation.GENERATION_SCORE_MODEL` is the generation's.
    """

    activation: str | Callable = "tanh"
    noise_samples: int | None = None
    ridge: float = 0.0
    model: str = "exact"
    krylov_above: int = KRYLOV_ABOVE
    mehler: MehlerRule = SCORE_MEHLER
    krylov: KrylovRule = SCORE_KRYLOV

    def __post_init__(self):
        get_activation(self.activation)
        check_noise_samples(self.noise_samples)
        check_ridge(self.ridge)
        if self.model not in SCORE_MODELS:
            raise InputError("model", "only 'exact' can generate: the Gaussian-equivalent model (G4) is a model of "
                                      "the matrices U, V, not a function of x, so it has no score to sample from")
        check_positive_int("krylov_above", self.krylov_above)
        for name, cls in (("mehler", MehlerRule), ("krylov", KrylovRule)):
            value = getattr(self, name)
            if isinstance(value, Mapping):  # the JSON form of a sweep point
                object.__setattr__(self, name, cls(**value))
            elif not isinstance(value, cls):
                raise InputError(name, f"must be a {cls.__name__} (or its fields as a mapping), got {value!r}")


DEFAULT_SCORE_MODEL = ScoreModelConfig()


def _config(cls, value):
    """A config object from itself or from its fields as a mapping (the JSON form of a sweep point)."""
    return value if isinstance(value, cls) else cls(**dict(value))


@float64
@options_from_keywords(score_model=ScoreModelConfig,
                       aliases={"max_order": ("score_model", "mehler.max_order"),
                                "mehler_tol": ("score_model", "mehler.tol"),
                                "krylov_tol": ("score_model", "krylov.tol")})
def fit_score_model(W, X, times, tau, *, sigma=None, X_test=None, noise_key=None, timescale_at=(),
                    score_model: ScoreModelConfig = DEFAULT_SCORE_MODEL, progress: bool = False) -> RFScoreModel:
    """Exact matrices, one eigensystem (or block-Lanczos basis) per grid time, readouts (D2) at every τ.

    W (p, d) the frozen features; X (n, d) the training set; times (K,) the grid t_1 < … < t_K (> 0, units of the
    forward process (D1)); tau (T,) training times τ > 0 (units of (D1), inf allowed); sigma: Σ (d, d) or a
    `SigmaSpectrum` (None: I), the law of the population matrices (E1)-(E3); ``timescale_at``: grid indices
    at which the loss-based τ_gen, τ_mem, τ_early_stop, τ_gap are also read off
    (`rfscore.analysis.timescales.timescales`, from the same eigensystem). ``score_model``: the
    `ScoreModelConfig` (activation σ, m frozen noise draws and ridge λ of (Y14), model 'exact', krylov_above,
    the `MehlerRule` ``mehler`` (default max_order 64, tol 1e-12) and the `KrylovRule` ``krylov`` (default tol
    1e-10 on (K2))). Raises ConvergenceError if U is not positive definite where τ = inf needs U^{-1}.
    Matrices that miss ``mehler.tol`` within ``mehler.max_order``, or Krylov readouts that miss ``krylov.tol``,
    raise ConvergenceError naming the parameters (nothing is accepted unconverged). ``progress``: a tqdm bar
    over the grid times. (The fields of ``score_model`` as keywords, and ``max_order``, ``mehler_tol``,
    ``krylov_tol``: the 0.1 form, deprecated.)

    ``X_test`` (N, d): held-out rows of real data (theory/real_data.md (R1)): U_pop, V_pop are their
    noise averages, and L_opt and the score error (L3) are NaN (undefined). With ``noise_samples`` m finite
    or ``ridge`` λ > 0 (theory/generation.md (Y14)): at grid time k the readouts are the flow (F2)-(F3) on
    U^{(m)} + λI, V^{(m)} of (F1), with m frozen draws per training point from ``fold_in(noise_key, k)``
    (``noise_key`` a PRNG key, needed for finite m; independent across grid times); the population
    matrices stay exact. m = inf with λ = 0 runs the code path of the exact noise average unchanged;
    finite m or λ > 0 always take the dense eigendecomposition (no block Lanczos).
    """
    score_model = _config(ScoreModelConfig, score_model)
    activation, noise_samples, ridge = score_model.activation, score_model.noise_samples, score_model.ridge
    krylov_above, mehler, krylov = score_model.krylov_above, score_model.mehler, score_model.krylov
    W, X, S = check_inputs(W, X, sigma)
    W, X = np.asarray(W), np.asarray(X)
    times = check_times(times)
    tau = check_tau(tau)
    act = get_activation(activation)
    p, d = W.shape
    n = X.shape[0]
    krylov_above = check_positive_int("krylov_above", krylov_above)
    m_noise, ridge = check_noise_samples(noise_samples), check_ridge(ridge)
    plain = m_noise is None and ridge == 0.0  # (L1) itself: today's code path, bit for bit
    if m_noise is not None and noise_key is None:
        raise InputError("noise_key", "finite noise_samples need an explicit PRNG key for the frozen draws")
    spec = SigmaSpectrum.from_matrix(S)
    K, T = times.size, tau.size
    B = np.empty((T, K, d, p))
    train, test, err = (np.empty((T, K)) for _ in range(3))
    dls, lopts, diags, scales = np.empty(K), np.empty(K), [], {}
    tau_mem_t, n_peaks_t = np.full(K, np.nan), np.zeros(K, dtype=int)
    for k, t in enumerate(tqdm(times, desc=f"score model p={p} n={n}", disable=not progress, leave=False)):
        matrices = exact_matrices(W, X, t=float(t), activation=act, sigma=S, mehler=mehler, throw=True, X_test=X_test)
        dls[k], lopts[k] = matrices.delta_t, matrices.l_opt
        noise_sq = 1.0
        if m_noise is not None:  # (F1): U^{(m)}, V^{(m)} of m frozen draws per point; U_pop, V_pop stay exact
            fm = exact_noise_matrices(W, X, t=float(t), noise_samples=m_noise, key=jax.random.fold_in(noise_key, k),
                                      activation=act, sigma=S, averaged=matrices)
            matrices, noise_sq = fm.train, fm.noise_sq
        if not plain:
            es = eigensystem(matrices, n)  # null modes of U^{(m)} (N = nm < p) get λ = 0, ṽ = 0: min-norm at τ = inf
            eigval_min = float(np.min(es.eigvals))
            if eigval_min < 0:
                raise ConvergenceError(f"U^(m) has a negative eigenvalue {eigval_min:.3g} at t = {t:g} (p = {p}, n = {n})")
            if k in timescale_at:
                scales[k] = _read_timescales(es, float(t), act, spec)
            B[:, k] = readouts(es.eigvals, es.Q, es.vt, delta_t=matrices.delta_t, psi_p=p / d, tau=tau, ridge=ridge)
            tau_mem_t[k], n_peaks_t[k] = spectrum_peak_readoff(es.eigvals, es.vt, delta_t=matrices.delta_t, p=p, d=d,
                                                               ridge=ridge)
            kdim, solver, readout_error = 0, "eigh", 0.0
        elif choose_solver(p=p, krylov_above=krylov_above) == "krylov":
            kr = krylov_readouts(matrices, tau, krylov=krylov)
            B[:, k], eigval_min, kdim, solver = kr.B, kr.lambda_min, kr.krylov_dim, "krylov"
            readout_error = kr.error
            if k in timescale_at:  # the read-offs need the full mode decomposition: not at this size
                scales[k] = {"error": f"loss-based timescales need a dense eigensystem; skipped at p = {p} >= "
                                      f"krylov_above = {krylov_above}", "t": float(t)}
        else:
            if k in timescale_at:
                es = eigensystem(matrices, n)
                eigvals, Q, vt = es.eigvals, es.Q, es.vt
                scales[k] = _read_timescales(es, float(t), act, spec)
            else:
                eigvals, Q = np.linalg.eigh(np.asarray(matrices.U))
                vt = Q.T @ np.asarray(matrices.V)
            eigval_min, kdim, solver, readout_error = float(np.min(eigvals)), 0, "eigh", 0.0
            if eigval_min <= 0:
                raise ConvergenceError(f"U is not positive definite at t = {t:g} (λ_min = {eigval_min:.3g}, p = {p}, "
                                       f"n = {n}, d = {d}): the readout (D2) needs U ≻ 0")
            B[:, k] = readouts(eigvals, Q, vt, delta_t=matrices.delta_t, psi_p=p / d, tau=tau)
            tau_mem_t[k], n_peaks_t[k] = spectrum_peak_readoff(eigvals, vt, delta_t=matrices.delta_t, p=p, d=d)
        train[:, k], test[:, k], err[:, k] = readout_losses(B[:, k], matrices)
        train[:, k] += noise_sq - 1.0  # (F1): the constant of the frozen-draw loss (1 at m = inf)
        diags.append(TimeDiagnostics(float(t), solver, eigval_min, float(matrices.truncation_bound or 0.0),
                                     float(matrices.quadrature_error or 0.0), int(kdim), converged=bool(matrices.converged),
                                     readout_error=float(readout_error)))
    if not np.all(np.isfinite(B)):
        raise ConvergenceError(f"non-finite readouts (p = {p}, n = {n}, d = {d}); U is too ill-conditioned")
    return RFScoreModel(W=W, X=X, times=times, tau=tau, B=B, train_loss=train, test_loss=test, score_error=err,
                        delta_t=dls, l_opt=lopts, sigma=S, activation=act, diagnostics=tuple(diags),
                        timescales={int(k): v for k, v in scales.items()}, tau_mem_t=tau_mem_t, n_peaks_t=n_peaks_t)


def _read_timescales(es, t: float, act, spec) -> dict:
    """Loss-based τ_gen, τ_mem, τ_early_stop, τ_gap at one grid time (`rfscore.analysis.timescales`)."""
    try:
        out = read_timescales(es, ge_constants(t, act, spec), spec).to_dict()
    except ConvergenceError as exc:  # no peak in the spectrum at this time: say so, go on
        out = {"error": str(exc)}
    out["t"] = t
    return out


# ----------------------------------------------------------------------------- jit-able scores
@float64
@partial(jax.tree_util.register_dataclass, data_fields=["W", "B"], meta_fields=["activation"])
@dataclass(frozen=True)
class RFScore:
    """s(y, k) = B_k σ(W y/√d), (Y1): W (p, d), B (K, d, p) = A/√p; y (N, d) → (N, d). A pytree."""

    W: jnp.ndarray
    B: jnp.ndarray
    activation: Activation

    def __call__(self, y, k):
        phi = self.activation(y @ self.W.T / np.sqrt(self.W.shape[1]))
        return phi @ self.B[k].T


@float64
@partial(jax.tree_util.register_dataclass, data_fields=["precision"], meta_fields=[])
@dataclass(frozen=True)
class PopulationScore:
    """The true score s*(y, t_k) = -Σ_{t_k}^{-1} y, (Y4); precision (K, d, d). A pytree."""

    precision: jnp.ndarray

    def __call__(self, y, k):
        return -y @ self.precision[k]


@float64
def population_score(sigma, times) -> PopulationScore:
    """`PopulationScore` with Σ_t = e^{-2t} Σ + Δ_t I at every grid time; sigma (d, d)."""
    S = validate_sigma_matrix(sigma, arg="sigma")
    times = check_times(times)
    eye = np.eye(S.shape[0])
    prec = np.stack([np.linalg.inv(np.exp(-2 * t) * S - np.expm1(-2 * t) * eye) for t in times])
    return PopulationScore(precision=jnp.asarray(prec))


@float64
@partial(jax.tree_util.register_dataclass, data_fields=["X", "times"], meta_fields=[])
@dataclass(frozen=True)
class EmpiricalScore:
    """Score of (1/n) Σ_ν N(e^{-t} x^ν, Δ_t I), the minimiser of (L1) over all functions, (Y5).

    s(y, t) = (Σ_ν w_ν e^{-t} x^ν - y)/Δ_t, w = softmax_ν(-‖y - e^{-t} x^ν‖²/(2Δ_t)); X (n, d),
    times (K,). A pytree.
    """

    X: jnp.ndarray
    times: jnp.ndarray

    def __call__(self, y, k):
        t = self.times[k]
        dl = -jnp.expm1(-2 * t)
        mu = jnp.exp(-t) * self.X  # (n, d)
        logits = -(jnp.sum(y**2, 1)[:, None] - 2 * y @ mu.T + jnp.sum(mu**2, 1)[None, :]) / (2 * dl)
        w = jax.nn.softmax(logits, axis=1)
        return (w @ mu - y) / dl


@float64
def empirical_score(X, times) -> EmpiricalScore:
    """`EmpiricalScore` of the training set X (n, d) on the grid ``times``."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] < 1 or not np.all(np.isfinite(X)):
        raise InputError("data", f"must be a finite (n, d) array with n >= 1, got shape {X.shape}")
    return EmpiricalScore(X=jnp.asarray(X), times=jnp.asarray(check_times(times)))
