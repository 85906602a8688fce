"""Generated samples over training time: memorisation, quality, and τ read off the samples.

The experiment of theory/generation.md §4: for each ψ_n and seed, draw W and X, train the
RF score at every grid time in closed form (`rfscore.generative.score_model`) at every τ, sample
(`rfscore.generative.sampler`), and measure f_mem, the Fréchet distance and the Girsanov estimate
(`rfscore.generative.metrics`). Then read τ_gen^samples and τ_mem^samples off the curves
((Y10)-(Y11)), fit their exponents in ψ_n (`rfscore.analysis.timescales.fit_exponent`), and put the
loss-based τ_gen, τ_mem at t_min and at the middle grid time beside them. Points run through
the resumable executor `rfscore.runtime.sweep.run_sweep` (processes or a Dask scheduler).
"""
from __future__ import annotations

import math
import os
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace

import jax
import numpy as np

from ..core.activations import get_activation
from ..core.covariance import SigmaSpectrum, sigma_matrix, validate_sigma_matrix
from ..core.trajectory import check_tau
from ..core.errors import InputError, check_noise_samples, check_positive, check_positive_int, check_ridge
from ..runtime.resources import check_memory_parts, generation_bytes
from ..runtime.sweep import (DEFAULT_RUNNER, GENERATION_PROCESSES_FROM, SweepRunner, check_scheduler, run_sweep,
                             sweep_workers, table_rows)
from ..finite.inputs import (MAP_STREAM, DrawKeys, effective_ratios, point_key, sample_inputs, sample_weights, size_of,
                             sizes)
from ..core.crossing import first_crossing
from ..finite.exact import MehlerRule
from ..core.deprecation import options_from_keywords
from ..data.datasets import check_held_out, check_test_fraction, load_dataset
from ..data.realdata import RealDataKeys
from ..analysis.timescales import fit_exponent
from .metrics import frechet_distance, frechet_floor, frechet_to_data, girsanov_estimate, kl_prior, memorisation
from .sampler import INTEGRATORS, sample
from .score_model import (ScoreModelConfig, _config, empirical_score, fit_score_model, population_score,
                          time_grid)
from ..core.precision import float64
from ..core.status import HasStatus
from ..analysis.memorisation_map import COLLAPSE_ENTROPY, KAPPA, LAW, memorisation_map

HEADER = ("psi_n", "seed", "tau", "f_mem", "f_mem_lo", "f_mem_hi", "frechet", "frechet_floor", "kl_estimate")
# the memorisation map's table (theory/generation.md §9 (M1)): one row per (ψ_n, seed, grid time); n_peaks flags
# single-peak (1) and missing (0, tau_mem_t NaN) read-offs
MAP_HEADER = ("psi_n", "seed", "t", "delta_t", "tau_mem_t", "n_peaks")
SCORES = ("rf", "empirical", "population")
SAMPLERS = ("sde", "ode")
LOSS_TIMESCALES = ("tau_gen", "tau_mem", "tau_early_stop", "tau_gap")
# Default accuracy of the exact matrices here: entrywise Mehler tolerance MEHLER_TOL within at most MAX_ORDER
# orders. At d = 8, ψ_p = 128 the bound 1e-4 is met at order 29 (the exact_matrices stage 32), where orders 32
# and 64 give readouts that differ by ≤ 3e-5 (relative, worst at t = 3) and score errors by ≤ 6e-6, far below
# the sampling error of f_mem, for 1.8× less time per grid time (theory/generation.md §1). Smaller d and
# t reach larger correlations and need more orders (d = 4, t = 1e-3: stage 64). Matrices that miss it raise
# ConvergenceError (never used unconverged); every time's truncation bound is reported.
MAX_ORDER = 64
MEHLER_TOL = 1e-4
# (Y15): the relative onset of copying, f_mem >= ONSET_FRACTION × f_mem(τ = inf) (theory/generation.md §9)
ONSET_FRACTION = 0.25
# ... read only where the model copies at all: f_mem(largest τ) >= ONSET_MIN_PLATEAU (20 copies in 1000 samples)
ONSET_MIN_PLATEAU = 0.02


@float64
@dataclass(frozen=True)
class SamplingConfig:
    """How samples are generated from a score (theory/generation.md §1-§2): the grid of diffusion times (Y2)
    and the sampler (Y3).

    t_min, t_max: the first and last grid time (0 < t_min < t_max; the OU time t of (D1), Δ_t = 1 − e^{−2t});
    times: the number K of grid times, the cells of (Y2) (int >= 2); spacing: 'log' or 'linear' grid;
    samples: N, samples generated per (ψ_n, seed, τ) (int >= 2); sampler: 'sde' (the reverse SDE) or 'ode'
    (the probability-flow ODE), stepped by (Y3); integrator: the one-step rule of (Y3), one of
    `rfscore.generative.sampler.INTEGRATORS`; steps_per_time: sampler steps per grid cell (int >= 1);
    score: 'rf' (the trained random-features score (Y1)), 'empirical' (Y5) or 'population' (Y4); keep_samples:
    return the generated samples (n_τ, N, d) and the training set X (n, d) too (of the first ψ_n and seed in
    `generation_experiment`; changes no number). Checked by `validate` (one line naming the field), not on
    construction.
    """

    t_min: float = 1e-3
    t_max: float = 3.0
    times: int = 40
    spacing: str = "log"
    samples: int = 2000
    sampler: str = "sde"
    integrator: str = "exponential"
    steps_per_time: int = 4
    score: str = "rf"
    keep_samples: bool = False

    def to_dict(self) -> dict:
        return {f: getattr(self, f) for f in self.__dataclass_fields__}


@float64
@dataclass(frozen=True)
class ReadoffConfig:
    """What is read off the samples, and at which thresholds (theory/generation.md §3, §4, §9).

    mem_threshold: f_mem level in (0, 1) of τ_mem^samples (Y11); gen_tolerance: relative tolerance (> 0) of
    τ_gen^samples, the first τ with Fréchet distance ≤ (1 + gen_tolerance) × its minimum (Y10);
    collapse_entropy: the criterion h_C in (0, 1) of the collapse scale Δ_C(n) of the memorisation map (M3);
    floor_draws: the sets of N exact draws of N(0, Σ) whose mean Fréchet distance is the finite-N floor of (Y8)
    (int >= 1; synthetic data only). Checked by `validate` (one line naming the field), not on construction.
    """

    mem_threshold: float = 0.1
    gen_tolerance: float = 0.1
    collapse_entropy: float = COLLAPSE_ENTROPY
    floor_draws: int = 8


@float64
@dataclass(frozen=True)
class DataSource:
    """Where the training points come from (theory/generation.md §4, §8).

    sigma: Σ of the synthetic law N(0, Σ) (spectrum text such as '1:1' (Σ = I) or 'powerlaw:1.5', a
    `SigmaSpectrum`, or a (d, d) matrix as nested lists; theory/model.md), unused when ``data`` is given;
    data: None (synthetic data) or real data, 'digits' or the path of an (N, d) .npy file, normalised by (R3)
    of theory/real_data.md, d the dataset's; test_data: the path of a held-out (N_test, d) .npy file, the rows of
    (R1) and (Y13); test_fraction: else the fraction 0 < F < 1 of the ``data`` rows held out, drawn by the seed
    (digits: 0.2 when neither is given). Checked on construction: ``test_data`` and ``test_fraction`` need
    ``data`` and exclude each other, ``test_fraction`` in (0, 1) (InputError naming the field); ``sigma`` at
    size d and the files when loaded (`load_data`, `generation_experiment`).
    """

    sigma: str | SigmaSpectrum | list = "1:1"
    data: str | os.PathLike | None = None
    test_data: str | os.PathLike | None = None
    test_fraction: float | None = None

    def __post_init__(self):
        check_held_out(self.data, self.test_data, self.test_fraction)
        if self.test_fraction is not None:
            check_test_fraction(self.test_fraction)


DEFAULT_SAMPLING = SamplingConfig()
DEFAULT_READOFF = ReadoffConfig()
DEFAULT_SOURCE = DataSource()
GENERATION_MEHLER = MehlerRule(max_order=MAX_ORDER, tol=MEHLER_TOL)  # the generation's default Mehler rule
# the generation's score model: fit_score_model's defaults with the Mehler rule above
GENERATION_SCORE_MODEL = ScoreModelConfig(mehler=GENERATION_MEHLER)


# ----------------------------------------------------------------------------- read-offs
@float64
def tau_mem_samples(tau, f_mem, threshold: float = 0.1) -> float:
    """(Y11): first τ with f_mem ≥ threshold (log-interpolated between the grid τ that bracket it,
    `rfscore.core.crossing.first_crossing`): the first grid τ if f_mem already reaches it there, inf if it
    does so only at τ = inf, NaN if never."""
    order = np.argsort(tau)
    return first_crossing(np.asarray(tau)[order], np.asarray(f_mem)[order], threshold)[0]


@float64
def tau_mem_samples_relative(tau, f_mem, fraction: float = ONSET_FRACTION,
                             min_plateau: float = ONSET_MIN_PLATEAU) -> float:
    """(Y15): first τ with f_mem ≥ ``fraction`` × f_mem(largest τ) (log-interpolated); NaN if f_mem(largest τ)
    < ``min_plateau`` (a level of a few copies is sampling noise, not an onset).

    The onset of copying measured against the model's own copying level, so that a plateau f_mem(τ = inf)
    that falls with n does not move it (theory/generation.md §9); the law (M4) predicts this read-off.
    """
    order = np.argsort(tau)
    fm = np.asarray(f_mem, dtype=float)[order]
    top = float(fm[-1])
    if not top >= min_plateau:
        return math.nan
    return first_crossing(np.asarray(tau)[order], fm, fraction * top)[0]


@float64
def tau_gen_samples(tau, frechet, tolerance: float = 0.1) -> float:
    """(Y10): first τ with Fréchet distance ≤ (1 + tolerance)·min over τ (log-interpolated)."""
    order = np.argsort(tau)
    fd = np.asarray(frechet, dtype=float)[order]
    return first_crossing(np.asarray(tau)[order], -fd, -(1 + tolerance) * float(np.min(fd)))[0]


# ----------------------------------------------------------------------------- one point
_MEHLER_ALIASES = {"max_order": ("score_model", "mehler.max_order"), "mehler_tol": ("score_model", "mehler.tol")}


@float64
@options_from_keywords(sampling=SamplingConfig, source=DataSource, score_model=ScoreModelConfig,
                       readoff=ReadoffConfig, aliases=_MEHLER_ALIASES,
                       legacy=("t_min", "t_max", "times", "spacing", "samples", "sampler", "integrator",
                               "steps_per_time", "score", "keep_samples", "sigma", "data", "test_data",
                               "test_fraction", "activation", "noise_samples", "ridge",
                               "krylov_above", "mehler", "max_order", "mehler_tol", "collapse_entropy",
                               "floor_draws"))
def generation_point(*, d: int, psi_p: float, psi_n: float, seed: int, tau: Sequence[float],
                     sampling: SamplingConfig = DEFAULT_SAMPLING, source: DataSource = DEFAULT_SOURCE,
                     score_model: ScoreModelConfig = GENERATION_SCORE_MODEL,
                     readoff: ReadoffConfig = DEFAULT_READOFF) -> dict:
    """Rows of (Y7)-(Y9) at every τ for one (ψ_n, seed), plus loss-based timescales (JSON-serialisable).

    W, X from ``point_key(seed, psi_n)`` (split into the model, sampler and floor keys); the
    same sampler key at every τ (common random numbers: curves over τ differ by the score only).
    Reference scores ('population', 'empirical') have no τ: one row, τ = inf.

    d: the input dimension (int >= 1; the dataset's with real data); psi_p: ψ_p = p/d; psi_n: ψ_n = n/d; seed:
    the seed of the key recipe (P1); tau: the training times τ (units of (D1), inf allowed). Each of the four
    objects may also be given as its fields as a mapping (the JSON form of a sweep point): ``sampling`` the
    `SamplingConfig` (grid (Y2), sampler (Y3), score, ``keep_samples``: return the samples and X too);
    ``source`` the `DataSource` (Σ of the synthetic law, or real data); ``score_model`` the `ScoreModelConfig`
    (activation σ, m and λ of (Y14), the numerics of `fit_score_model`; default `GENERATION_SCORE_MODEL`);
    ``readoff`` the `ReadoffConfig` (here its ``collapse_entropy`` (M3) and the ``floor_draws`` of the Fréchet
    floor (Y8)). (Their fields as keywords, and ``max_order``, ``mehler_tol``: the 0.1 form, deprecated.)

    Real data (``source.data`` = 'digits' or an .npy path, theory/generation.md §8): the dataset of
    `rfscore.data.datasets.load_dataset` split and shuffled by the seed's `RealDataKeys` (W from its
    weight key, shared by every ψ_n of the seed; training sets nested in n), U_pop, V_pop over the
    held-out rows (R1), the Fréchet distance to the Gaussian fit of the held-out rows and its floor the
    training pool's distance to it (Y13); ``kl_estimate`` is NaN (no true score). ``noise_samples``,
    ``ridge``: m frozen draws per point and the ridge λ of the readouts (Y14), draws keyed by
    the noise stream of the recipe (P1), ``fold_in(model key, 2)``, and the grid index. With the rf score,
    ``out['map']`` is the memorisation map (M1)-(M4) of theory/generation.md §9
    (`rfscore.analysis.memorisation_map`), its collapse draws keyed by ``fold_in(model key, 11)`` (P1) and
    the collapse criterion ``collapse_entropy``.
    """
    sampling, source = _config(SamplingConfig, sampling), _config(DataSource, source)
    score_model, readoff = _config(ScoreModelConfig, score_model), _config(ReadoffConfig, readoff)
    t_min, t_max, times, spacing = sampling.t_min, sampling.t_max, sampling.times, sampling.spacing
    samples, sampler, integrator = sampling.samples, sampling.sampler, sampling.integrator
    steps_per_time, score, keep_samples = sampling.steps_per_time, sampling.score, sampling.keep_samples
    sigma, data, test_data, test_fraction = source.sigma, source.data, source.test_data, source.test_fraction
    noise_samples = score_model.noise_samples
    collapse_entropy, floor_draws = readoff.collapse_entropy, readoff.floor_draws
    k_model, k_sample, k_floor = jax.random.split(point_key(seed, psi_n), 3)
    X_test = ds = None
    if data is not None:
        keys = RealDataKeys.from_seed(seed)
        ds = load_dataset(data, test_data=test_data, test_fraction=test_fraction, key=keys.data)
        d, S, X_test = ds.d, ds.sigma, ds.test
        p = size_of("psi_p", psi_p, d)
        W = np.asarray(sample_weights(keys.weights, p, d))
        X = ds.training_set(size_of("psi_n", psi_n, d))
    else:
        S = sigma_matrix(sigma, d)  # sweep points carry Σ as text or nested lists (JSON)
        W, X, _ = sample_inputs(k_model, d=d, psi_p=psi_p, psi_n=psi_n, sigma=S)
    p, n = W.shape[0], X.shape[0]
    grid = time_grid(t_min, t_max, times, spacing)
    K = grid.size
    out = {"n": n, "p": p, "psi_n": n / d, "seed": int(seed), "loss_timescales": {}, "diagnostics": []}
    if score == "rf":
        mid = K // 2
        model = fit_score_model(W, X, grid, tau, sigma=S, timescale_at=(0, mid), X_test=X_test,
                                score_model=score_model,
                                noise_key=None if noise_samples is None else DrawKeys(k_model).noise)
        scores = [model.score(i) for i in range(len(model.tau))]
        taus = [float(x) for x in model.tau]
        kl = (np.full(len(taus), math.nan) if ds is not None  # no true score: (L3), hence (Y9), undefined
              else girsanov_estimate(grid, model.score_error, S))
        out["loss_timescales"] = {"t_min": model.timescales.get(0, {}), "t_mid": model.timescales.get(mid, {})}
        out["diagnostics"] = [dg.to_dict() for dg in model.diagnostics]
        out["converged"], out["error"] = model.converged, model.error
        out["score_error_t_min"] = model.score_error[:, 0].tolist()
        out["map"] = memorisation_map(grid, model.tau_mem_t, model.n_peaks_t, X, taus, jax.random.fold_in(k_model, MAP_STREAM),
                                      criterion=collapse_entropy).to_dict()
    elif score == "population":
        if ds is not None:
            raise InputError("score", "'population' needs the true Σ, which real data does not have; use rf or empirical")
        scores, taus = [population_score(S, grid)], [math.inf]
        kl = [kl_prior(S, float(grid[-1])) / d]  # E_score = 0: only the prior term of (Y9)
    elif score == "empirical":
        scores, taus, kl = [empirical_score(X, grid)], [math.inf], [math.nan]  # (L3) has no closed form here
    else:
        raise InputError("score", f"must be one of {', '.join(SCORES)}, got {score!r}")
    if ds is not None:  # (Y13): against the held-out rows; floor: the training pool, real data of the same law
        floor = frechet_to_data(ds.train, ds.test)

        def quality(y):
            return frechet_to_data(y, ds.test)
    else:
        floor = frechet_floor(k_floor, S, samples, floor_draws)[0]

        def quality(y):
            return frechet_distance(y, S)
    rows, kept = [], []
    for i, sc in enumerate(scores):
        y = sample(sc, k_sample, times=grid, num_samples=samples, d=d, steps_per_time=steps_per_time,
                   method=sampler, integrator=integrator)
        mem = memorisation(y, X)
        rows.append([n / d, int(seed), taus[i], mem.f_mem, mem.lo, mem.hi, quality(y), floor, float(kl[i])])
        if keep_samples:
            kept.append(y)
    out["rows"] = rows
    tau_arr, fm, fd = (np.array([r[j] for r in rows]) for j in (2, 3, 6))
    if keep_samples:
        out["samples"] = np.stack(kept).tolist()
        out["X"] = np.asarray(X).tolist()
    out["readoffs"] = {"frechet_min": float(np.min(fd)), "f_mem_inf": float(fm[np.argmax(tau_arr)])}
    return out


# ----------------------------------------------------------------------------- the experiment
@float64
@dataclass(frozen=True)
class GenerationResult(HasStatus):
    """The table (columns of `HEADER`), per-point read-offs and loss timescales, fits, samples.

    table: column -> array (one row per ψ_n, seed, τ); points: per (seed, ψ_n) dicts with n, p,
    tau_gen_samples, tau_mem_samples, loss_timescales; fits: name -> PowerLawFit dict or
    {"error": why}; samples (n_τ, N, d) and X (n, d) of the first ψ_n and seed (if kept).
    Status: ``converged`` (every point's score model met its tolerances; reference scores have
    none) and ``error`` (the largest matrix/readout error estimate over the points).
    """

    table: dict
    points: list
    fits: dict
    parameters: dict
    samples: np.ndarray | None = None
    X: np.ndarray | None = None
    tau_samples: np.ndarray | None = None
    psi_n_run: list = field(default_factory=list)
    map_table: dict | None = None  # columns of MAP_HEADER (rf score only)

    @property
    def converged(self) -> bool:
        return all(q.get("converged", True) for q in self.points)

    @property
    def error(self) -> float:
        return max((float(q.get("error", 0.0)) for q in self.points), default=0.0)

    def summary(self) -> dict:
        """Per ψ_n the sample read-offs (mean over seeds) and the exponents with their 95 % CIs."""
        out = {"tau_mem_samples": {}, "tau_gen_samples": {}}
        has_map = any("map" in q for q in self.points)
        if has_map:
            out.update(tau_mem_samples_relative={}, tau_mem_samples_predicted={}, prediction_flag={}, delta_collapse={},
                       law=LAW, kappa=KAPPA, collapse_entropy=self.parameters.get("collapse_entropy"))
        for psn in self.psi_n_run:
            pts = [q for q in self.points if q["psi_n"] == psn]
            for name in ("tau_mem_samples", "tau_gen_samples"):
                out[name][f"{psn:g}"] = [q[name] for q in pts]
            if has_map:
                out["tau_mem_samples_relative"][f"{psn:g}"] = [q.get("tau_mem_samples_relative", math.nan) for q in pts]
                for name in ("tau_mem_samples_predicted", "prediction_flag", "delta_collapse"):
                    out[name][f"{psn:g}"] = [q["map"][name] for q in pts]
        for name, fit in self.fits.items():
            out[f"{name}_exponent"] = fit.get("exponent", math.nan)
            out[f"{name}_exponent_ci"] = fit.get("ci", [math.nan, math.nan])
            if "error" in fit:
                out[f"{name}_exponent_note"] = fit["error"]
        return out


@float64
def check_generation_memory(parts: dict, available: int | None = None) -> None:
    """Deprecated for one version: `rfscore.runtime.resources.check_memory_parts` (``what`` = "this run")."""
    warnings.warn("check_generation_memory is deprecated; use rfscore.runtime.resources.check_memory_parts",
                  DeprecationWarning, stacklevel=2)
    check_memory_parts(parts, "this run", available)


@float64
def load_data(data, *, test_data=None, test_fraction=None, seed: int = 0):
    """The real dataset of one seed (`rfscore.data.datasets.load_dataset`, split and shuffled by
    ``RealDataKeys.from_seed(seed)``, as `rfscore dynamics --data`); None when ``data`` is None."""
    check_held_out(data, test_data, test_fraction)
    if data is None:
        return None
    return load_dataset(data, test_data=test_data, test_fraction=test_fraction, key=RealDataKeys.from_seed(seed).data)


@float64
def check_collapse_entropy(value) -> float:
    """The collapse criterion h_C of (M3) (theory/generation.md §9): a number in (0, 1)."""
    try:
        h = float(value)
    except (TypeError, ValueError):
        raise InputError("collapse_entropy", f"must be a number in (0, 1), got {value!r}") from None
    if not 0.0 < h < 1.0:
        raise InputError("collapse_entropy", f"must be in (0, 1), got {value!r}")
    return h


@float64
@options_from_keywords(sampling=SamplingConfig, readoff=ReadoffConfig, source=DataSource, score_model=ScoreModelConfig,
                       legacy=("t_min", "t_max", "times", "spacing", "samples", "sampler", "integrator",
                               "steps_per_time", "score", "mem_threshold", "gen_tolerance", "model", "data",
                               "test_data", "test_fraction", "noise_samples", "ridge"))
def validate(*, d, psi_p, psi_n, tau, seeds, seed, sampling: SamplingConfig = DEFAULT_SAMPLING,
             readoff: ReadoffConfig = DEFAULT_READOFF, source: DataSource = DEFAULT_SOURCE,
             score_model: ScoreModelConfig = GENERATION_SCORE_MODEL, dataset=None):
    """Check every input before anything runs; returns (psi_n pairs (n, n/d), p, tau list).

    With ``source.data`` the dimension is the dataset's (``d`` None or equal to it), n must fit in its
    training pool, and the population score is refused (Σ unknown). Finite ``score_model.noise_samples`` or
    ``score_model.ridge`` > 0 need ``sampling.score = 'rf'`` (the reference scores are not trained).
    ``dataset``: the already loaded dataset of ``source`` (`load_data`; else loaded here). The other parameters
    as in `generation_experiment` (``sampling`` a `SamplingConfig`, ``readoff`` a `ReadoffConfig`, ``source`` a
    `DataSource`, ``score_model`` a `ScoreModelConfig`; their fields as keywords: the 0.1 form, deprecated).
    """
    t_min, t_max, times, spacing = sampling.t_min, sampling.t_max, sampling.times, sampling.spacing
    samples, sampler, integrator = sampling.samples, sampling.sampler, sampling.integrator
    steps_per_time, score = sampling.steps_per_time, sampling.score
    mem_threshold, gen_tolerance = readoff.mem_threshold, readoff.gen_tolerance
    data, test_data, test_fraction = source.data, source.test_data, source.test_fraction
    noise_samples, ridge = score_model.noise_samples, score_model.ridge  # model: 'exact', checked by the object
    if score not in SCORES:
        raise InputError("score", f"must be one of {', '.join(SCORES)}, got {score!r}")
    m = check_noise_samples(noise_samples)
    ridge = check_ridge(ridge)
    if score != "rf" and m is not None:
        raise InputError("noise_samples", f"`score` {score} is a reference score with no training: m noise draws "
                                          "apply to the rf score only")
    if score != "rf" and ridge != 0:
        raise InputError("ridge", f"`score` {score} is a reference score with no training: the ridge applies to the "
                                  "rf score only")
    ds = dataset if dataset is not None else load_data(data, test_data=test_data, test_fraction=test_fraction,
                                                       seed=seed)
    if ds is not None:
        if score == "population":
            raise InputError("score", "'population' needs the true Σ, which real data does not have "
                                      "(theory/real_data.md); use rf or empirical")
        if d is not None and int(d) != ds.d:
            raise InputError("d", f"`d` {d} contradicts `data` {data} (d = {ds.d} columns used"
                                  + (f", {ds.d_raw - ds.d} constant ones dropped)" if ds.d_raw != ds.d else ")"))
        d = ds.d
    elif d is None:
        raise InputError("d", "is required unless `data` fixes it")
    d = check_positive_int("d", d)
    check_positive("psi_p", psi_p)
    if sampler not in SAMPLERS:
        raise InputError("sampler", f"must be one of {', '.join(SAMPLERS)}, got {sampler!r}")
    if integrator not in INTEGRATORS:
        raise InputError("integrator", f"must be one of {', '.join(INTEGRATORS)}, got {integrator!r}")
    time_grid(t_min, t_max, times, spacing)
    tau = [float(x) for x in check_tau(tau)]
    if len(set(tau)) < len(tau):
        raise InputError("tau", "repeats a value")
    check_positive_int("samples", samples)
    if int(samples) < 2:
        raise InputError("samples", f"needs at least 2 samples (a covariance), got {samples}")
    check_positive_int("steps_per_time", steps_per_time)
    check_positive_int("seeds", seeds)
    if not (isinstance(seed, (int, np.integer)) and 0 <= int(seed) < 2**63 - int(seeds)):
        raise InputError("seed", f"must be an integer with 0 <= seed and seed + seeds < 2^63, got {seed!r}")
    if not 0 < float(mem_threshold) < 1:
        raise InputError("mem_threshold", f"must be in (0, 1), got {mem_threshold}")
    check_positive("gen_tolerance", gen_tolerance)
    check_positive_int("floor_draws", readoff.floor_draws)
    pairs = effective_ratios(list(psi_n), d, "psi_n")
    if any(k < 2 for k, _ in pairs):
        raise InputError("psi_n", f"the copy criterion needs n = round(ψ_n d) >= 2 training points at d = {d}")
    if ds is not None:
        ds.training_set(max(k for k, _ in pairs))  # InputError naming psi_n if the pool is too small
    p, _ = sizes(d, psi_p, 1.0)
    return pairs, p, tau


@float64
@options_from_keywords(source=DataSource, sampling=SamplingConfig, readoff=ReadoffConfig, score_model=ScoreModelConfig,
                       runner=SweepRunner, aliases=_MEHLER_ALIASES,
                       legacy=("sigma", "data", "test_data", "test_fraction", "t_min", "t_max", "times", "spacing",
                               "samples", "sampler", "integrator", "steps_per_time", "score", "keep_samples",
                               "mem_threshold", "gen_tolerance", "collapse_entropy", "activation", "noise_samples",
                               "ridge", "model", "krylov_above", "mehler", "max_order", "mehler_tol", "workers",
                               "scheduler", "checkpoint", "restart"))
def generation_experiment(psi_n: Sequence[float], *, d: int, psi_p: float,
                          tau: Sequence[float] = (1e2, 1e4, 1e6, math.inf), seeds: int = 1, seed: int = 0,
                          source: DataSource = DEFAULT_SOURCE, sampling: SamplingConfig = DEFAULT_SAMPLING,
                          readoff: ReadoffConfig = DEFAULT_READOFF,
                          score_model: ScoreModelConfig = GENERATION_SCORE_MODEL,
                          runner: SweepRunner = DEFAULT_RUNNER, progress: bool = False) -> GenerationResult:
    """The full experiment over ψ_n × seeds (theory/generation.md §4); every input checked first.

    Seeds are seed, …, seed + seeds - 1; each (seed, ψ_n) is one sweep point. ``sampling.keep_samples``
    returns the samples of the first ψ_n and seed. Fits: log τ against log(n/d) over the ψ_n
    actually run, for τ_mem^samples, τ_gen^samples and the loss-based τ_gen, τ_mem at t_min and
    at the middle grid time; a fit needs every value finite, otherwise it says why.

    ``source.data`` ('digits' or an .npy path, with ``test_data`` or ``test_fraction``; digits default to
    a 0.2 held-out fraction): real data at the dataset's d (``d`` may be None), theory/generation.md §8.
    ``score_model.noise_samples`` (m, None or inf for the exact average) and ``score_model.ridge`` (λ >= 0): (Y14).
    ``readoff.collapse_entropy`` h_C in (0, 1): the criterion (M3) of the collapse scale Δ_C(n) in the
    memorisation map (theory/generation.md §9); the map's per-time table is ``map_table``, its per-point values
    in ``points[i]['map']``, the predicted onset (M4) is fitted beside the measured one.

    psi_n: the ψ_n = n/d (list, > 0); d: the input dimension (int >= 1; None with ``source.data``); psi_p:
    ψ_p = p/d (> 0); tau: the training times τ (units of (D1), inf allowed); ``seeds`` seeds from ``seed``.
    ``source``: the `DataSource` (Σ of N(0, Σ): spectrum text such as '1:1', a `SigmaSpectrum` or a (d, d)
    matrix; or real data); ``sampling``: the `SamplingConfig` (time grid (Y2), samples, sampler (Y3), score,
    keep_samples); ``readoff``: the `ReadoffConfig` ((Y10), (Y11), (M3), the Fréchet floor's draws (Y8));
    ``score_model``: the `ScoreModelConfig` (activation σ, m and λ of (Y14), model 'exact', krylov_above, the
    `MehlerRule` and `KrylovRule` of `fit_score_model`; default `GENERATION_SCORE_MODEL`: max_order 64, tol
    1e-4); ``runner``: the `SweepRunner` (workers, Dask scheduler, checkpoint, restart); ``progress``: a tqdm
    bar. (The fields of these objects as keywords, and ``max_order``, ``mehler_tol``: the 0.1 form,
    deprecated.)
    """
    t_min, t_max, times, spacing = sampling.t_min, sampling.t_max, sampling.times, sampling.spacing
    samples, sampler, integrator = sampling.samples, sampling.sampler, sampling.integrator
    steps_per_time, score, keep_samples = sampling.steps_per_time, sampling.score, sampling.keep_samples
    mem_threshold, gen_tolerance = readoff.mem_threshold, readoff.gen_tolerance
    collapse_entropy = readoff.collapse_entropy
    workers, scheduler = runner.workers, runner.scheduler
    sigma, data, test_data, test_fraction = source.sigma, source.data, source.test_data, source.test_fraction
    activation, noise_samples, ridge = score_model.activation, score_model.noise_samples, score_model.ridge
    model, krylov_above, mehler = score_model.model, score_model.krylov_above, score_model.mehler
    max_order, mehler_tol = mehler.max_order, mehler.tol
    get_activation(activation)
    ds = load_data(data, test_data=test_data, test_fraction=test_fraction, seed=seed)
    pairs, p, tau = validate(d=d, psi_p=psi_p, psi_n=psi_n, tau=tau, seeds=seeds, seed=seed, sampling=sampling,
                             readoff=readoff, source=source, score_model=score_model, dataset=ds)
    m_noise, ridge = check_noise_samples(noise_samples), check_ridge(ridge)
    collapse_entropy = check_collapse_entropy(collapse_entropy)
    if ds is not None:
        d, sigma = ds.d, None
    check_scheduler(scheduler)
    if isinstance(sigma, SigmaSpectrum):
        sigma = str(sigma)
    if ds is not None:
        sigma = "estimated from the data (Sigma_hat, theory/real_data.md (R3))"
    elif isinstance(sigma, str):
        SigmaSpectrum.parse(sigma)
    elif sigma is not None:
        sigma = validate_sigma_matrix(sigma, d, arg="sigma").tolist()
    else:
        sigma = "1:1"
    n_max = max(k for k, _ in pairs)
    points = [dict(psi_n=float(r), seed=int(s)) for s in range(int(seed), int(seed) + int(seeds)) for _, r in pairs]
    workers, concurrent = sweep_workers(workers, len(points), p, GENERATION_PROCESSES_FROM, scheduler)
    num_tau = len(tau) if score == "rf" else 1
    # the reference scores need no W: only the sampler and the samples count for them
    parts = generation_bytes(d=d, p=p if score == "rf" else 0, n=max(n_max, ds.n_test if ds is not None else 0),
                             times=int(times), num_tau=num_tau, samples=int(samples), keep=keep_samples,
                             workers=concurrent, noise_samples=m_noise, noise_rows=n_max)
    check_memory_parts(parts, "this run")
    common = dict(d=int(d), psi_p=float(psi_p), t_min=float(t_min), t_max=float(t_max), times=int(times), tau=tau,
                  samples=int(samples), sampler=sampler, integrator=integrator, steps_per_time=int(steps_per_time),
                  score=score, activation=activation, sigma=sigma, spacing=spacing, krylov_above=int(krylov_above),
                  max_order=check_positive_int("max_order", max_order),
                  mehler_tol=check_positive("mehler_tol", mehler_tol))
    if ds is not None:  # only what a run on real data adds: the keys of a synthetic run stay as they were
        common.update(data=str(data), test_data=None if test_data is None else str(test_data),
                      test_fraction=None if test_fraction is None else float(test_fraction))
    if m_noise is not None or ridge != 0.0:
        common.update(noise_samples=m_noise, ridge=ridge)
    if score == "rf":
        common.update(collapse_entropy=collapse_entropy)
    # options away from their defaults that the record above did not hold: recorded only then, so that the
    # parameters (and checkpoint keys) of every other run stay as they were
    if mehler.h_finest != GENERATION_MEHLER.h_finest:
        common.update(mehler_h_finest=check_positive("h_finest", mehler.h_finest))
    if score_model.krylov != GENERATION_SCORE_MODEL.krylov:
        common.update(krylov=asdict(score_model.krylov))
    if readoff.floor_draws != DEFAULT_READOFF.floor_draws:
        common.update(floor_draws=int(readoff.floor_draws))
    # a sweep point is JSON: the configs travel as their fields (generation_point takes either form)
    mehler_point = {"max_order": common["max_order"], "tol": common["mehler_tol"]}
    if "mehler_h_finest" in common:
        mehler_point["h_finest"] = common["mehler_h_finest"]
    point_common = dict(
        d=common["d"], psi_p=common["psi_p"], tau=common["tau"],
        source={f: common[f] for f in DataSource.__dataclass_fields__ if f in common},
        score_model=dict({f: common[f] for f in ("activation", "noise_samples", "ridge", "krylov_above", "krylov")
                          if f in common}, mehler=mehler_point),
        readoff={f: common[f] for f in ("collapse_entropy", "floor_draws") if f in common})
    sampling_point = {f: common[f] for f in SamplingConfig.__dataclass_fields__ if f != "keep_samples"}
    full = [dict(pt, **point_common, sampling=dict(sampling_point, keep_samples=bool(keep_samples and i == 0)))
            for i, pt in enumerate(points)]
    runner = replace(runner, workers=workers)  # workers as chosen by sweep_workers
    results = run_sweep(generation_point, full, parameters=common, runner=runner, desc="generate", progress=progress,
                        check_result=table_rows(len(HEADER), key="rows", inf=(2,), nan=(8,),
                                                ranges={0: (0, math.inf), 1: (0, math.inf), 2: (0, math.inf),
                                                        3: (0, 1), 4: (0, 1), 5: (0, 1), 6: (0, math.inf),
                                                        7: (0, math.inf)}))
    rows = [r for res in results for r in res["rows"]]
    table = {h: np.array([r[j] for r in rows], dtype=float) for j, h in enumerate(HEADER)}
    table["seed"] = table["seed"].astype(np.int64)
    pts = []
    for res in results:
        t_, fm, fd = (np.array([float(r[j]) for r in res["rows"]]) for j in (2, 3, 6))
        q = {"psi_n": res["psi_n"], "seed": res["seed"], "n": res["n"], "p": res["p"],
             "tau_mem_samples": tau_mem_samples(t_, fm, mem_threshold) if score == "rf" else math.nan,
             "tau_gen_samples": tau_gen_samples(t_, fd, gen_tolerance) if score == "rf" else math.nan,
             "tau_mem_samples_relative": tau_mem_samples_relative(t_, fm) if score == "rf" else math.nan,
             "f_mem_inf": res["readoffs"]["f_mem_inf"], "frechet_min": res["readoffs"]["frechet_min"],
             "loss_timescales": res["loss_timescales"], "diagnostics": res["diagnostics"],
             "converged": bool(res.get("converged", True)), "error": float(res.get("error", 0.0))}
        if "map" in res:
            mp = res["map"]
            q["map"] = {k: mp[k] for k in ("delta_collapse", "delta_collapse_error", "tau_mem_samples_predicted",
                                           "prediction_flag", "kappa", "law")}
            q["map"]["front"] = {f"{float(a):g}": b for a, b in zip(mp["tau"], mp["front"])}
        pts.append(q)
    psi_run = [r for _, r in pairs]
    fits = {}
    if score == "rf":
        series = {"tau_mem_samples": lambda q: q["tau_mem_samples"], "tau_gen_samples": lambda q: q["tau_gen_samples"],
                  "tau_mem_samples_relative": lambda q: q["tau_mem_samples_relative"],
                  "tau_mem_samples_predicted": lambda q: q.get("map", {}).get("tau_mem_samples_predicted", math.nan)}
        for where in ("t_min", "t_mid"):
            for name in ("tau_gen", "tau_mem"):
                series[f"loss_{name}_{where}"] = (lambda q, w=where, nm=name:
                                                  float(q["loss_timescales"].get(w, {}).get(nm, math.nan)))
        for name, get in series.items():
            vals = np.array([[get(q) for q in pts if q["seed"] == s] for s in sorted({q["seed"] for q in pts})])
            if len(psi_run) < 2:
                fits[name] = {"error": "needs at least two ψ_n values"}
            elif not np.all(np.isfinite(vals)) or np.any(vals <= 0):
                fits[name] = {"error": "not finite at every ψ_n and seed (not reached on the τ list, or only at "
                                       "τ = inf): widen `tau`"}
            elif name.startswith("loss_") and any(q["loss_timescales"].get(name[-5:], {}).get("n_peaks") == 1
                                                  for q in pts):  # name[-5:] is t_min or t_mid
                fits[name] = {"error": "one peak of the timescale spectrum at some ψ_n and seed (n_peaks = 1, "
                                       "τ_gen = τ_mem, theory/timescales.md §5): no τ_gen or τ_mem exponent"}
            else:
                fits[name] = fit_exponent(psi_run, vals).to_dict()
    map_table = None
    if score == "rf":
        rows_m = [[res["psi_n"], res["seed"], t_, dl_, tm_, npk_] for res in results if "map" in res
                  for t_, dl_, tm_, npk_ in zip(res["map"]["times"], res["map"]["delta_t"], res["map"]["tau_mem_t"],
                                                res["map"]["n_peaks_t"])]
        map_table = {h: np.array([r[j] for r in rows_m], dtype=float) for j, h in enumerate(MAP_HEADER)}
        for h in ("seed", "n_peaks"):
            map_table[h] = map_table[h].astype(np.int64)
    samples_arr = X_arr = tau_s = None
    if keep_samples:
        samples_arr = np.asarray(results[0]["samples"], dtype=float)
        X_arr = np.asarray(results[0]["X"], dtype=float)
        tau_s = np.array([float(r[2]) for r in results[0]["rows"]])
    params = dict(common, psi_n=[float(x) for x in psi_n], psi_n_run=psi_run, n=[k for k, _ in pairs], p=p,
                  seeds=int(seeds), seed=int(seed), mem_threshold=float(mem_threshold),
                  gen_tolerance=float(gen_tolerance), model=model,
                  noise_samples="inf" if m_noise is None else m_noise, ridge=ridge)
    if ds is not None:
        params.update(data=str(data), dataset=ds.info(), n_test=ds.n_test,
                      frechet="to the Gaussian fit of the held-out rows (theory/generation.md (Y13))",
                      frechet_floor="the training pool's Fréchet distance to the held-out rows (Y13)",
                      kl_estimate="not defined for real data: the true score is unknown (theory/real_data.md)")
    return GenerationResult(table=table, points=pts, fits=fits, parameters=params, samples=samples_arr, X=X_arr,
                            tau_samples=tau_s, psi_n_run=psi_run, map_table=map_table)
