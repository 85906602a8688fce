"""Training timescales τ_gen and τ_mem, three independent ways (theory/timescales.md).

(a) ``tau_gen``, ``tau_mem``: the first and last peak of the timescale spectrum
    -dL_train/d log τ = (2cτ/d) Σ_k ‖ṽ_k‖² e^{-2cλ_kτ} (T1), evaluated exactly from
    the mode decomposition of (D3), and ``n_peaks``, how many peaks there are: with one
    peak τ_gen = τ_mem is that peak and the fits are labelled single-peak (§5).
    Parameter-free; the headline plots use these.
(b) ``tau_early_stop`` = argmin_τ L_test(τ) (D4), and ``tau_gap`` = the τ at which the
    generalisation gap L_test - L_train reaches half its τ → ∞ value.
(c) ``tau_gen_pred``, ``tau_mem_pred``: the spectral-structure predictions (T2)-(T3),
    τ = ψ_p/(4Δλ) at the large-mode scale λ ≈ ψ_p(α E[λ_Σ] + b_t²) and at the small
    cluster λ ≈ s_t² + ψ_p b_t² v_t² E[1/λ_Σ]/(ψ_n α) (`spectrum.limiting_structure`, the
    one place this location is computed).
"""
from __future__ import annotations

from typing import Optional

import functools
import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy.optimize import minimize_scalar

from ..core.constants import GEConstants, ge_constants
from ..core.covariance import ISOTROPIC, SigmaSpectrum
from ..finite.dynamics import modes, rate, trajectory
from ..core.errors import ConvergenceError, InputError, check_noise_samples, check_positive_int, check_ridge
from ..finite.eigensystem import Eigensystem
from ..finite.ensemble import ensemble
from ..finite.inputs import sample_inputs
from ..finite.model_dispatch import sample_eigensystem
from ..finite.frozen_noise import noise_eigensystem, noise_matrices
from ..limit.spectrum import limiting_structure
from ..core.peaks import SpectrumPeaks, spectrum_peaks
from ..core.crossing import first_crossing
from ..core.precision import float64
from ..core.status import HasStatus, PointStatus


@float64
@dataclass(frozen=True)
class Timescales(HasStatus):
    """All read-offs for one eigensystem, in the τ units of theory/model.md §4."""

    tau_gen: float
    tau_mem: float
    n_peaks: int  # peaks of (T1); 1: tau_gen == tau_mem is the one peak (theory/timescales.md §5)
    tau_early_stop: float
    tau_gap: float
    tau_gen_pred: float
    tau_mem_pred: float
    # status (theory/krylov.md §6): every read-off finite; error = relative log-grid step of the read-offs
    converged: bool = True
    error: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


@float64
def tau_grid(es: Eigensystem, num: int = 4000) -> np.ndarray:
    """A log grid covering every mode's peak τ = 1/(2cλ) by a decade on each side."""
    eigvals = np.asarray(es.eigvals)
    c_rate = rate(es.delta_t, es.psi_p)
    # null modes (λ = 0, exactly zero by the eigensystem's convention) have no peak: the smallest
    # positive λ sets the grid's end
    positive = eigvals[eigvals > 0]
    if positive.size == 0:
        raise InputError("eigensystem", "has no positive eigenvalue: the timescale spectrum has no peak")
    lo, hi = 0.1 / (2 * c_rate * positive.max()), 10.0 / (2 * c_rate * positive.min())
    return np.logspace(np.log10(lo), np.log10(hi), num)


@float64
def predicted_timescales(constants: GEConstants, psi_p: float, psi_n: float,
                         sigma: SigmaSpectrum | None = None) -> tuple:
    """(c): (τ_gen, τ_mem) = ψ_p/(4Δλ) at the large-mode scale and the small cluster (T2)-(T3).

    Both locations come from `spectrum.limiting_structure` (ψ_p ≫ ψ_n ≫ 1), which uses
    E[1/λ_Σ] for the small cluster: right for any ρ_Σ (theory/spectrum.md §5).
    """
    ls = limiting_structure(psi_p=psi_p, psi_n=psi_n, sigma=ISOTROPIC if sigma is None else sigma,
                            constants=constants)
    lam_small = ls.atom_location + ls.small_cluster

    c_rate = rate(constants.delta_t, psi_p)

    def tau(eigval):  # the peak 1/(2cλ); a scale at λ = 0 (linear σ: s_t² = 0, no small cluster) is never learned
        return float(1.0 / (2 * c_rate * eigval)) if eigval > 0 else math.inf
    return tau(ls.large_scale), tau(lam_small)


def _refine_min(fun, grid, i):
    lo, hi = np.log(grid[max(i - 1, 0)]), np.log(grid[min(i + 1, grid.size - 1)])
    if hi <= lo:
        return float(grid[i])
    res = minimize_scalar(lambda s: fun(np.exp(s)), bounds=(lo, hi), method="bounded", options={"xatol": 1e-6})
    return float(np.exp(res.x))


@float64
def timescales(es: Eigensystem, constants: GEConstants, sigma: SigmaSpectrum | None = None,
               num: int = 4000, ridge: float = 0.0, train_offset: float = 0.0) -> Timescales:
    """τ_gen, τ_mem (a), τ_early_stop, τ_gap (b) and the predictions (c) for one eigensystem.

    ``constants`` are the (G1)-(G3) constants of the model, ``sigma`` the spectrum ρ_Σ used by
    the predictions (default Σ = I); ``num`` points of the log τ grid (`tau_grid`). ``ridge`` λ:
    the flow of U + λI (theory/finite_noise_ridge.md (F3)); ``train_offset``: added to the train
    loss (‖Ξ‖²/(Nd) − 1 for m frozen draws, (F1)). The predictions (T3) are for m = ∞, λ = 0:
    with a ridge they are NaN.
    """
    grid = tau_grid(es, num)
    peaks: SpectrumPeaks = spectrum_peaks(grid, modes(es, ridge).timescale_spectrum(grid))
    tr = trajectory(es, np.append(grid, np.inf), ridge=ridge)
    test = tr.test_loss[:-1]
    i = int(np.argmin(test))
    tau_es = _refine_min(lambda s: float(trajectory(es, [s], ridge=ridge).test_loss[0]), grid, i)
    gap = tr.test_loss - (tr.train_loss + train_offset)
    half = 0.5 * gap[-1]
    tau_gap, j = first_crossing(grid, gap[:-1], half)  # linear in log τ between the bracketing grid points
    if gap[-1] <= 0 or j is None:
        tau_gap = np.inf
    pred = predicted_timescales(constants, es.psi_p, es.psi_n, sigma) if ridge == 0 else (np.nan, np.nan)
    status = dict(converged=bool(np.all(np.isfinite([peaks.tau_gen, peaks.tau_mem, tau_es]))),
                  error=float(grid[1] / grid[0] - 1.0))  # peaks and minimum located to within one grid step
    return Timescales(tau_gen=peaks.tau_gen, tau_mem=peaks.tau_mem, n_peaks=peaks.n_peaks,
                      tau_early_stop=tau_es, tau_gap=tau_gap, tau_gen_pred=pred[0], tau_mem_pred=pred[1], **status)


@float64
@dataclass(frozen=True)
class PowerLawFit:
    """τ ∝ ψ_n^exponent; ``ci`` is the 95 % confidence interval, ``per_seed`` the seed slopes."""

    exponent: float
    ci: tuple
    per_seed: tuple
    method: str

    def to_dict(self) -> dict:
        return asdict(self)


@float64
def fit_exponent(psi_n, tau) -> PowerLawFit:
    """Fit log τ = β log ψ_n + const.

    ``tau`` has shape (seeds, len(psi_n)). With ≥ 2 seeds the CI is Student-t over the
    per-seed slopes; with one seed it is the OLS slope's Student-t interval (needs ≥ 3 ψ_n).
    """
    from scipy import stats

    x = np.log(np.asarray(psi_n, dtype=np.float64))
    y = np.log(np.atleast_2d(np.asarray(tau, dtype=np.float64)))
    if x.size < 2 or y.shape[1] != x.size:
        raise InputError("psi_n", f"needs at least two values matching tau's columns (got {x.size} and {y.shape})")
    if not np.all(np.isfinite(y)):
        raise InputError("tau", "timescales must be finite and > 0 to fit a power law")
    slopes = np.array([np.polyfit(x, row, 1)[0] for row in y])
    if y.shape[0] >= 2:
        m, se = slopes.mean(), slopes.std(ddof=1) / np.sqrt(slopes.size)
        half = stats.t.ppf(0.975, slopes.size - 1) * se
        return PowerLawFit(float(m), (float(m - half), float(m + half)), tuple(map(float, slopes)), "seeds")
    res = stats.linregress(x, y[0])
    dof = max(x.size - 2, 1)
    half = stats.t.ppf(0.975, dof) * res.stderr if x.size > 2 else np.inf
    return PowerLawFit(float(res.slope), (float(res.slope - half), float(res.slope + half)), (float(res.slope),), "ols")


SINGLE_PEAK = "tau_single_peak"


@float64
def peak_fits(psi_n, tau_gen, tau_mem, n_peaks, suffix: str = "") -> dict:
    """Power laws in ψ_n of the peak read-offs, labelled by the number of peaks (theory/timescales.md §5).

    ``tau_gen``, ``tau_mem``, ``n_peaks``: shape (seeds, len(psi_n)). If every point has two or
    more peaks: ``{"tau_mem"+suffix, "tau_gen"+suffix}``. If any point has one peak there is no
    τ_mem (nor τ_gen) series: its value there is the one peak, which may be either mode family.
    The only fit is then ``"tau_single_peak"+suffix``, of the last peak (the one peak where
    n_peaks = 1, τ_mem elsewhere), a single-peak exponent and not a memorisation exponent.
    """
    if np.all(np.asarray(n_peaks) >= 2):
        return {"tau_mem" + suffix: fit_exponent(psi_n, tau_mem), "tau_gen" + suffix: fit_exponent(psi_n, tau_gen)}
    return {SINGLE_PEAK + suffix: fit_exponent(psi_n, tau_mem)}


@float64
def peak_summary(fits: dict, n_peaks, suffix: str = "") -> dict:
    """``n_peaks``+suffix (per ψ_n, the fewest over seeds) and the exponents of `peak_fits` with 95 % CIs."""
    out = {"n_peaks" + suffix: [int(k) for k in np.min(np.atleast_2d(n_peaks), axis=0)]}
    for name in ("tau_mem", "tau_gen", SINGLE_PEAK):
        f = fits.get(name + suffix)
        if f is not None:
            out[f"{name}{suffix}_exponent"], out[f"{name}{suffix}_exponent_ci"] = f.exponent, list(f.ci)
    return out


@float64
@dataclass(frozen=True)
class TimescaleScan(PointStatus):
    """τ read-offs over ψ_n × seeds, with the power-law fits of the peaks in ψ_n (`peak_fits`).

    ``table`` maps column names (SCAN_COLUMNS: psi_n, psi_p, t, seed, tau_gen, tau_mem, n_peaks,
    tau_early_stop, tau_gap, tau_gen_pred, tau_mem_pred) to arrays of length len(psi_n)·seeds,
    seed-major.
    """

    table: dict
    fits: dict
    point_converged: Optional[np.ndarray] = None  # (len(psi_n)·seeds,) each point's `Timescales.converged`
    point_error: Optional[np.ndarray] = None      # (len(psi_n)·seeds,) each point's `Timescales.error`
    # converged (`PointStatus`): every point's read-offs converged (finite τ_gen, τ_mem, τ_early_stop)

    @property
    def error(self) -> float:
        """The largest relative log-grid step of the read-offs over the points (``point_error``)."""
        return float(np.max(self.point_error)) if self.point_error is not None and self.point_error.size else 0.0

    @property
    def message(self) -> str:
        if self.converged:
            return ""
        bad = np.flatnonzero(~np.asarray(self.point_converged, dtype=bool))
        return (f"timescale read-offs not finite at {bad.size} of {self.point_converged.size} points "
                f"(psi_n = {sorted(set(float(x) for x in self.table['psi_n'][bad]))})")

    def summary(self) -> dict:
        """The CLI's last line: n_peaks per ψ_n and the exponents of τ_mem and τ_gen in ψ_n with their
        95 % CIs, or, if any point has one peak, only the single-peak exponent (`peak_summary`)."""
        return peak_summary(self.fits, self.table["n_peaks"].reshape(-1, np.unique(self.table["psi_n"]).size))


SCAN_COLUMNS = ("psi_n", "psi_p", "t", "seed", "tau_gen", "tau_mem", "n_peaks", "tau_early_stop", "tau_gap",
                "tau_gen_pred", "tau_mem_pred")


@float64
def timescale_scan(psi_n, psi_p: float, *, t: float, d: int, seeds: int = 1, seed: int = 0, model: str = "gep",
                   activation="tanh", sigma=None, progress: bool = False, noise_samples=None,
                   ridge: float = 0.0) -> TimescaleScan:
    """Read τ_gen, τ_mem, τ_early_stop, τ_gap off finite-size systems for each ψ_n and seed.

    Seeds are ``seed, seed+1, ..., seed+seeds-1``; each (seed, ψ_n) draws its own W, X, Ω
    from the keys (P1) of the point ψ_n (base ``fold_in(PRNGKey(seed), round(1e6 ψ_n))``), one ensemble
    (P2) per ψ_n. Fits of log τ against log ψ_n in ``fits``. ``noise_samples`` m (None: ∞): the
    eigensystem of the m frozen draws per point (F1), noise key the recipe's noise stream
    ``fold_in(point key, 2)``; ``ridge`` λ: the flow of U + λI (F3). ``progress``: a bar per ψ_n.
    """

    psi_n = [float(x) for x in psi_n]
    for x in psi_n:
        if not (0 < x < np.inf):
            raise InputError("psi_n", f"every value must be finite and > 0, got {x}")
    if len(set(psi_n)) < 2:
        raise InputError("psi_n", "needs at least two distinct values to fit the exponents")
    seeds = check_positive_int("seeds", seeds)
    sigma = ISOTROPIC if sigma is None else sigma
    spec = sigma if isinstance(sigma, SigmaSpectrum) else SigmaSpectrum.from_matrix(sigma)
    c = ge_constants(t, activation, spec)
    m = check_noise_samples(noise_samples)
    ridge = check_ridge(ridge)

    def point(keys, x):
        offset = 0.0
        if m is None:
            es = sample_eigensystem(keys.base, d=d, psi_p=psi_p, psi_n=x, t=t, activation=activation, sigma=sigma,
                                    model=model)
        else:
            W, X, ko = sample_inputs(keys.base, d=d, psi_p=psi_p, psi_n=x, sigma=sigma)
            fm = noise_matrices(model, W, X, t=t, noise_samples=m, key=keys.noise,
                                activation=activation, sigma=sigma, **({"omega_key": ko} if model == "gep" else {}))
            es, offset = noise_eigensystem(fm).es, fm.noise_sq - 1.0
        ts = timescales(es, c, spec, ridge=ridge, train_offset=offset)
        return {**{k: getattr(ts, k) for k in SCAN_COLUMNS[4:]}, "point_converged": ts.converged, "error": ts.error}

    # one ensemble (P2) per ψ_n over the seeds, keys (P1) of the point ψ_n; rows seed-major as before
    runs = [ensemble(functools.partial(point, x=x), range(seed, seed + seeds), point=(x,), throw=False,
                     progress=progress, desc=f"timescales ψ_n = {x:g}") for x in psi_n]
    rows, point_status = [], []
    for i in range(seeds):
        for x, ens in zip(psi_n, runs):
            rows.append([x, float(psi_p), float(t), ens.seeds[i]] + [ens[k][i] for k in SCAN_COLUMNS[4:]])
            point_status.append((bool(ens["point_converged"][i]), float(ens["error"][i])))
    table = {name: np.array([r[i] for r in rows]) for i, name in enumerate(SCAN_COLUMNS)}
    table["seed"], table["n_peaks"] = table["seed"].astype(int), table["n_peaks"].astype(int)
    shape = (seeds, len(psi_n))
    peaks = [table[k].reshape(shape) for k in ("tau_gen", "tau_mem")]
    if not all(np.all(np.isfinite(v)) for v in peaks):
        raise ConvergenceError(f"τ_gen or τ_mem not finite for ψ_p = {psi_p}, ψ_n = {psi_n}: cannot fit exponents")
    fits = peak_fits(psi_n, *peaks, table["n_peaks"].reshape(shape))
    for name in ("tau_early_stop", "tau_gap"):
        vals = table[name].reshape(shape)
        if np.all(np.isfinite(vals)):
            fits[name] = fit_exponent(psi_n, vals)
    return TimescaleScan(table=table, fits=fits, point_converged=np.array([c for c, _ in point_status], dtype=bool),
                         point_error=np.array([e for _, e in point_status], dtype=float))
