"""The memorisation map of a generation run (theory/generation.md §9, (M1)-(M4)).

For one draw (W, X) and the diffusion-time grid t_1 < … < t_K of a generation run:

(M1) ``tau_mem_t``: the loss-level τ_mem at every grid time, read as the *last peak of the
     timescale spectrum* (T1) of that time's eigensystem (`spectrum_peak_readoff`, the same
     read-off (a) as `rfscore.analysis.timescales.timescales`), with ``n_peaks`` per time
     (1: a single-peak value, flagged; 0: no peak, NaN).
(M2) the front t*(τ): the smallest grid time from which every readout at that time and above has
     memorised by training time τ (τ_mem(t_j) ≤ τ for all t_j ≥ t*); inf when even the
     largest time has not.
(M3) the collapse scale Δ_C(n) of the training set: the noise level Δ at which the mean
     normalised entropy of the empirical score's posterior weights (Y5), for points drawn from
     the noised training set, equals ``criterion`` (`collapse_scale`).
(M4) the predicted sample onset: τ_mem^samples ≈ τ_mem(t_κ), Δ_{t_κ} = κ·Δ_C(n)/d
     (`predicted_onset`, the law `LAW`; κ = `KAPPA`, calibrated at d = 8 and 16).

Pure functions of arrays; quiet; no global state.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from ..core.errors import ConvergenceError, InputError
from ..core.peaks import spectrum_peaks
from ..finite.dynamics import modes
from ..finite.eigensystem import Eigensystem
from .timescales import tau_grid
from ..core.deprecation import renamed_keywords
from ..core.precision import float64

# (M3): the default collapse criterion h_C (normalised entropy of the posterior weights, in (0, 1))
COLLAPSE_ENTROPY = 0.5
# draws of the noise per training point in the Monte Carlo estimate of (M3)
COLLAPSE_DRAWS = 64
# (M4): the law's name and its one constant κ (calibrated at d = 8 and 16, theory/generation.md §9)
LAW = ("tau_mem(t_kappa), Delta_t_kappa = kappa * Delta_C(n) / d, predicting tau_mem_samples_relative "
       "(f_mem >= 0.25 f_mem(inf))")
# κ: geometric mean of `kappa_of` (d·Δ*/Δ_C) over the 15 (of 18) points of the d = 8 (ψ_p = 64) and d = 16 (ψ_p = 32) runs
# of figures/generation_study.py whose relative onset (Y15) is finite: 0.129, log-sd 0.50 (theory/generation.md §10)
KAPPA = 0.129
# (M4)'s flag `slow_second_peak`: τ_mem(t) falling by more than this factor F between two adjacent grid times at or
# above the lower time bracketing t_κ (theory/generation.md §9). In the committed maps of theory/generation.md §10
# those falls are ≤ 28 on the 30 points at d = 8, 12 where the law holds and ≤ 70 on every other point whose last
# peak is the memorisation peak, and ≥ 3.2·10⁴ where a slow second peak takes over at the smallest grid times;
# 10³ lies between (the flagged points are the same for any F in 71-3.2·10⁴).
SLOW_PEAK_JUMP = 1e3


@float64
@renamed_keywords(lam="eigvals")
def spectrum_peak_readoff(eigvals, vt, *, delta_t: float, p: int, d: int, ridge: float = 0.0, num: int = 4000):
    """(M1) at one grid time: (τ_mem, n_peaks) = last peak and peak count of (T1).

    eigvals (k,) eigenvalues of U (≥ 0; ``lam`` before 0.2.0), vt (k, d) = QᵀV; ``delta_t`` Δ_t; p features, d dimension;
    ``ridge`` λ: the flow of U + λI (F3). The grid is `tau_grid` (a decade beyond every mode's
    peak), ``num`` points. Returns (nan, 0) when the spectrum has no peak on that grid.
    """
    es = Eigensystem(eigvals=np.asarray(eigvals, dtype=np.float64), Q=None, vt=np.asarray(vt, dtype=np.float64),
                     vpop_t=None, upop_t=None, t=math.nan, delta_t=float(delta_t), l_opt=math.nan, p=int(p),
                     d=int(d), n=0)
    try:
        grid = tau_grid(es, num)
        pk = spectrum_peaks(grid, modes(es, ridge).timescale_spectrum(grid))
    except (ConvergenceError, InputError):
        return math.nan, 0
    return float(pk.tau_mem), int(pk.n_peaks)


@float64
def front(times, tau_mem_t, tau) -> np.ndarray:
    """(M2) t*(τ) for every τ of ``tau``: the smallest grid time t_j such that τ_mem(t_i) ≤ τ for all i ≥ j.

    times (K,) increasing, tau_mem_t (K,) (NaN counts as not memorised), tau (T,). inf where even
    t_K has not memorised; t_1 where every readout has (left-censored: the front may lie below t_min).
    """
    times, tm = np.asarray(times, dtype=float), np.asarray(tau_mem_t, dtype=float)
    out = []
    for s in np.atleast_1d(np.asarray(tau, dtype=float)):
        done = np.where(np.isfinite(tm), tm <= s, False)
        # the memorised region is the top run of True values
        j = times.size
        while j > 0 and done[j - 1]:
            j -= 1
        out.append(math.inf if j == times.size else float(times[j]))
    return np.array(out)


@float64
def posterior_entropy(X, delta, xi) -> tuple:
    """Mean and standard error of the normalised entropy H(w)/log n of the posterior weights (Y5).

    X (n, d) training points; ``delta`` Δ in (0, 1) (e^{-t} = √(1-Δ)); xi (n, r, d) standard normal
    draws: y = √(1-Δ) x^μ + √Δ ξ^{μj}, w(y) = softmax_ν(-‖y - √(1-Δ) x^ν‖²/(2Δ)). Returns (mean, se)
    over the n·r points.
    """
    X = np.asarray(X, dtype=np.float64)
    n = X.shape[0]
    a, s = math.sqrt(1.0 - delta), math.sqrt(delta)
    y = a * X[:, None, :] + s * xi  # (n, r, d)
    y = y.reshape(-1, X.shape[1])
    mu = a * X
    sq = (np.sum(y**2, 1)[:, None] - 2 * y @ mu.T + np.sum(mu**2, 1)[None, :]) / (2 * delta)
    logits = -(sq - sq.min(axis=1, keepdims=True))
    logw = logits - np.log(np.sum(np.exp(logits), axis=1, keepdims=True))
    h = -np.sum(np.exp(logw) * logw, axis=1) / math.log(n)
    return float(h.mean()), float(h.std(ddof=1) / math.sqrt(h.size))


@float64
def collapse_draws(key, n: int, draws: int, d: int) -> np.ndarray:
    """The ξ (n, draws, d) of (M3): NumPy's PCG64 seeded by the two 32-bit words of the JAX key ``key``.

    (NumPy rather than jax.random: one small array per point, where XLA would compile a kernel per shape.)
    """
    import jax

    words = np.asarray(jax.random.key_data(key) if jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key) else key,
                       dtype=np.uint32).ravel().tolist()
    return np.random.Generator(np.random.PCG64(words)).standard_normal((int(n), int(draws), int(d)))


@float64
def collapse_scale(X, key, criterion: float = COLLAPSE_ENTROPY, draws: int = COLLAPSE_DRAWS) -> tuple:
    """(M3) Δ_C(n): the Δ at which the mean normalised posterior entropy equals ``criterion``.

    X (n, d), n ≥ 2; ``key`` a JAX PRNG key for the noise draws ξ (n, draws, d) (`collapse_draws`), fixed over Δ
    (common random numbers: the estimate is a continuous function of Δ); ``criterion`` h_C in
    (0, 1). Brent's method in log Δ on (1e-12, 1 - 1e-12). Returns (Δ_C, error), error the Monte Carlo
    standard error of h at Δ_C carried to a relative error of Δ_C through the slope dh/dlog Δ.
    """
    from scipy.optimize import brentq

    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] < 2:
        raise InputError("data", f"the collapse scale needs n >= 2 training points, got shape {X.shape}")
    if not 0.0 < float(criterion) < 1.0:
        raise InputError("collapse_entropy", f"must be in (0, 1), got {criterion}")
    xi = collapse_draws(key, X.shape[0], draws, X.shape[1])

    def g(logd):
        return posterior_entropy(X, math.exp(logd), xi)[0] - float(criterion)

    lo, hi = math.log(1e-12), math.log1p(-1e-12)
    if g(lo) >= 0 or g(hi) <= 0:
        return math.nan, math.inf
    ld = brentq(g, lo, hi, xtol=1e-8)
    up, down = min(ld + 0.05, hi), max(ld - 0.05, lo)  # Δ stays in (0, 1) when Δ_C is close to 1
    h1, se = posterior_entropy(X, math.exp(up), xi)
    h0, _ = posterior_entropy(X, math.exp(down), xi)
    slope = (h1 - h0) / (up - down)
    return math.exp(ld), (se / slope if slope > 0 else math.inf)


def _slow_peak_from(tm, i0: int, jump: float) -> bool:
    """Whether τ_mem(t_i) > jump·τ_mem(t_{i+1}) for some i ≥ i0 (both finite): the values at t_{i0} and below
    lie on a slow second peak of the spectrum, not on the memorisation peak (theory/generation.md §9)."""
    a, b = tm[i0:-1], tm[i0 + 1:]
    ok = np.isfinite(a) & np.isfinite(b) & (b > 0)
    return bool(np.any(a[ok] > float(jump) * b[ok]))


@float64
def predicted_onset(delta_t, tau_mem_t, n_peaks_t, delta_collapse: float, d: int, kappa: float = KAPPA,
                    jump: float = SLOW_PEAK_JUMP) -> tuple:
    """(M4) τ_mem^samples predicted: τ_mem(t) at Δ_t = κ·Δ_C/d, linear in (log Δ_t, log τ_mem) between grid times.

    delta_t (K,) increasing, tau_mem_t (K,), n_peaks_t (K,); d the data dimension; ``jump`` the factor F of the
    flag `slow_second_peak`. Returns (value, flag) with flag 'ok'; 'slow_second_peak' (τ_mem falls by more than
    F between two adjacent grid times at or above the lower bracketing time: the value is read on a slow second
    peak of the spectrum, not on the memorisation peak; it takes precedence over 'single_peak' and
    'extrapolated'); 'single_peak' (one of the two bracketing times has n_peaks = 1); 'extrapolated' (κΔ_C below
    Δ_{t_1}: the nearest time's value, a lower bound since τ_mem grows as Δ falls); 'above_grid'
    (κΔ_C/d above Δ_{t_K}: the value at t_K); or 'undefined' (NaN: Δ_C or a bracketing τ_mem is not finite).
    """
    dl = np.asarray(delta_t, dtype=float)
    tm = np.asarray(tau_mem_t, dtype=float)
    npk = np.asarray(n_peaks_t)
    target = float(kappa) * float(delta_collapse) / float(d)
    if not (math.isfinite(target) and target > 0):
        return math.nan, "undefined"
    if target <= dl[0]:
        return (float(tm[0]) if np.isfinite(tm[0]) else math.nan,
                "slow_second_peak" if _slow_peak_from(tm, 0, jump) else "extrapolated")
    if target >= dl[-1]:
        return float(tm[-1]) if np.isfinite(tm[-1]) else math.nan, "above_grid"
    j = int(np.searchsorted(dl, target))  # dl[j-1] < target <= dl[j]
    a, b = tm[j - 1], tm[j]
    if not (np.isfinite(a) and np.isfinite(b) and a > 0 and b > 0):
        return math.nan, "undefined"
    w = (math.log(target) - math.log(dl[j - 1])) / (math.log(dl[j]) - math.log(dl[j - 1]))
    val = float(math.exp((1 - w) * math.log(a) + w * math.log(b)))
    if _slow_peak_from(tm, j - 1, jump):
        return val, "slow_second_peak"
    return val, ("single_peak" if min(npk[j - 1], npk[j]) < 2 else "ok")


@float64
def kappa_of(delta_t, tau_mem_t, delta_collapse: float, tau_samples: float, d: int) -> float:
    """The κ at which (M4) reproduces a measured onset: d·Δ*/Δ_C with τ_mem(Δ*) = ``tau_samples``.

    The inverse of `predicted_onset` on the small-t branch where τ_mem(t) falls with t: the first pair of
    grid times (from t_1 up) whose τ_mem brackets ``tau_samples``, linear in (log Δ_t, log τ_mem). NaN when
    the onset is not finite or lies outside that branch (the calibration of theory/generation.md §9).
    """
    dl, tm = np.asarray(delta_t, dtype=float), np.asarray(tau_mem_t, dtype=float)
    ts = float(tau_samples)
    if not (math.isfinite(ts) and ts > 0 and math.isfinite(delta_collapse) and delta_collapse > 0):
        return math.nan
    for j in range(1, dl.size):
        a, b = tm[j - 1], tm[j]
        if not (np.isfinite(a) and np.isfinite(b) and a > 0 and b > 0) or b >= a:
            return math.nan  # left the falling branch before bracketing the onset
        if b <= ts <= a:
            w = (math.log(a) - math.log(ts)) / (math.log(a) - math.log(b))
            return float(d) * float(math.exp((1 - w) * math.log(dl[j - 1]) + w * math.log(dl[j]))) / float(delta_collapse)
    return math.nan


@float64
@dataclass(frozen=True)
class MemorisationMap:
    """The map of one (ψ_n, seed): (M1)-(M4).

    times, delta_t, tau_mem_t, n_peaks_t: (K,); tau (T,) and front (T,) = t*(τ) (M2);
    delta_collapse Δ_C(n) (M3) with its relative Monte Carlo error and the criterion h_C;
    tau_mem_samples_predicted (M4) with its flag and the law's name and κ.
    """

    times: np.ndarray
    delta_t: np.ndarray
    tau_mem_t: np.ndarray
    n_peaks_t: np.ndarray
    tau: np.ndarray
    front: np.ndarray
    delta_collapse: float
    delta_collapse_error: float
    collapse_entropy: float
    tau_mem_samples_predicted: float
    prediction_flag: str
    kappa: float
    law: str = LAW

    def to_dict(self) -> dict:
        return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in asdict(self).items()}


@float64
def memorisation_map(times, tau_mem_t, n_peaks_t, X, tau, key, *, criterion: float = COLLAPSE_ENTROPY,
                     kappa: float = KAPPA, draws: int = COLLAPSE_DRAWS) -> MemorisationMap:
    """(M1)-(M4) for one draw: the per-time read-offs ``tau_mem_t``, ``n_peaks_t`` (K,) on the grid
    ``times`` (K,), the training set X (n, d), the training times ``tau`` (T,) of the run and the
    key of the collapse draws."""
    times = np.asarray(times, dtype=float)
    dl = -np.expm1(-2.0 * times)
    dc, dc_err = collapse_scale(X, key, criterion, draws)
    pred, flag = predicted_onset(dl, tau_mem_t, n_peaks_t, dc, np.asarray(X).shape[1], kappa)
    tau = np.asarray(tau, dtype=float)
    return MemorisationMap(times=times, delta_t=dl, tau_mem_t=np.asarray(tau_mem_t, dtype=float),
                           n_peaks_t=np.asarray(n_peaks_t, dtype=int), tau=tau, front=front(times, tau_mem_t, tau),
                           delta_collapse=dc, delta_collapse_error=dc_err, collapse_entropy=float(criterion),
                           tau_mem_samples_predicted=pred, prediction_flag=flag, kappa=float(kappa))
