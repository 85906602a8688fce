"""Real data at finite size, and its Gaussian-equivalent prediction (theory/real_data.md).

Real side: the exact noise averages of theory/exact_matrices.md applied to the real
training points (U, V) and, for the test loss, to held-out points (U_pop, V_pop, (R1)) —
no Gaussian assumption anywhere; the score error needs the true score and is not defined.
Gaussian side: the theory with Σ̂, the covariance of the normalised dataset ((R3)): the
Gaussian-equivalent model (G4)-(G6) with data drawn from N(0, Σ̂) and U_pop from Σ̂, at the
same n, p, t and the same W; its spectrum (S1)-(S3) with ρ_Σ the eigenvalues of Σ̂.

Keys (theory/real_data.md §4): seed s gives (k_W, k_X, k_Ω) = split(PRNGKey(s), 3) as for
synthetic data (`rfscore.finite.inputs.model_keys`); k_X shuffles and splits the dataset, fold_in(k_X, 1) draws the Gaussian
stand-in data, k_Ω the Ω of (G4). W (p, d) and the training pool are shared by every n of
one seed, so the training sets are nested in n.
"""
from __future__ import annotations

from dataclasses import dataclass

import jax
import numpy as np

from ..core.constants import GEConstants, ge_constants
from ..core.covariance import SigmaSpectrum
from .datasets import Dataset, load_dataset
from ..core.trajectory import Trajectory
from ..finite.dynamics import trajectory
from ..finite.eigensystem import Eigensystem, FiniteSizeMatrices, eigensystem
from ..core.errors import ConvergenceError, InputError, check_positive_int
from ..core.deprecation import options_from_keywords
from ..finite.exact import DEFAULT_MEHLER, MehlerRule, exact_matrices
from ..finite.gep import gep_eigensystem
from ..limit.spectrum import solve_spectrum
from ..finite.inputs import model_keys, sample_data, sample_weights, sizes
from ..analysis.timescales import fit_exponent, peak_fits, peak_summary, timescales
from ..core.precision import float64


@float64
@dataclass(frozen=True)
class RealDataKeys:
    """The three keys of one seed: W, the dataset split/shuffle, Ω; ``gauss`` draws N(0, Σ̂) data."""

    weights: object
    data: object
    omega: object

    @property
    def gauss(self):
        return jax.random.fold_in(self.data, 1)

    @classmethod
    def from_seed(cls, seed: int) -> "RealDataKeys":
        return cls(*model_keys(jax.random.PRNGKey(int(seed))))


@float64
def real_matrices(dataset: Dataset, W, n: int, *, t: float, activation="tanh", **kw) -> FiniteSizeMatrices:
    """Exact U, V over the first n training rows and U_pop, V_pop over the held-out rows ((R1)); l_opt NaN."""
    return exact_matrices(W, dataset.training_set(n), t=t, activation=activation, X_test=dataset.test, **kw)


@float64
def gaussian_constants(dataset: Dataset, t: float, activation="tanh") -> GEConstants:
    """(G1)-(G3) at σ_x² = Tr Σ̂/d (= 1 by (R3))."""
    return ge_constants(t, activation, SigmaSpectrum.from_matrix(dataset.sigma))


@float64
def gaussian_data(dataset: Dataset, n: int, key) -> np.ndarray:
    """n rows of N(0, Σ̂), shape (n, d); the first n of one fixed draw of the pool size, so nested in n."""
    N = max(n, dataset.n_pool)
    return np.asarray(sample_data(key, N, dataset.sigma))[:n]


@float64
def gaussian_eigensystem(dataset: Dataset, W, n: int, *, t: float, activation="tanh", keys: RealDataKeys,
                         constants: GEConstants | None = None) -> Eigensystem:
    """The Gaussian-equivalent prediction at the same n, p, t, W: (G4)-(G6) with X ~ N(0, Σ̂), U_pop from Σ̂."""
    X = gaussian_data(dataset, n, keys.gauss)
    return gep_eigensystem(W, X, t=t, activation=activation, sigma=dataset.sigma, key=keys.omega,
                           constants=constants)


@float64
@dataclass(frozen=True)
class Comparison:
    """Real-data trajectory (no score error) next to the Gaussian-equivalent one, same n, p, t, W."""

    real: Trajectory
    gauss: Trajectory
    real_eigensystem: Eigensystem
    gauss_eigensystem: Eigensystem
    matrices: FiniteSizeMatrices
    n: int
    p: int
    d: int


@float64
def compare_trajectories(dataset: Dataset, W, n: int, tau, *, t: float, activation="tanh",
                         keys: RealDataKeys) -> Comparison:
    """(D3)-(D4) along τ on real data and on the Gaussian-equivalent model with Σ̂."""
    matrices = real_matrices(dataset, W, n, t=t, activation=activation)
    es = eigensystem(matrices, n)
    es_g = gaussian_eigensystem(dataset, W, n, t=t, activation=activation, keys=keys)
    return Comparison(trajectory(es, tau), trajectory(es_g, tau), es, es_g, matrices, n, W.shape[0], W.shape[1])


SCAN_COLUMNS = ("psi_n", "psi_p", "t", "seed", "n", "tau_gen", "tau_mem", "n_peaks", "tau_early_stop", "tau_gap",
                "tau_gen_gauss", "tau_mem_gauss", "n_peaks_gauss", "tau_early_stop_gauss", "tau_gap_gauss",
                "tau_gen_pred", "tau_mem_pred")


@float64
@dataclass(frozen=True)
class RealDataScan:
    """τ read-offs on real data and on the Gaussian-equivalent model, over ψ_n × seeds.

    ``table``: columns SCAN_COLUMNS (ψ_n = n/d as run), arrays of length len(ψ_n)·seeds;
    ``fits``: power laws in ψ_n of the peaks, per side labelled by n_peaks (`peak_fits`: tau_mem,
    tau_gen, or tau_single_peak if any point has one peak; ``_gauss`` for the Gaussian side),
    and of the loss-based times where finite; ``dataset``: the sidecar record of seed ``seed``.
    """

    table: dict
    fits: dict
    sizes: dict
    dataset: dict
    compare_gaussian: bool

    def summary(self) -> dict:
        """n_peaks and the peak exponents per side (`peak_summary`): never a bare τ_mem exponent
        through single-peak points."""
        shape = (-1, len(self.sizes["n"]))
        out = peak_summary(self.fits, self.table["n_peaks"].reshape(shape))
        if self.compare_gaussian:
            out.update(peak_summary(self.fits, self.table["n_peaks_gauss"].reshape(shape), "_gauss"))
        return out


@float64
@options_from_keywords(mehler=MehlerRule)
def realdata_scan(data: str, psi_n, psi_p: float, *, t: float, test_data=None, test_fraction=None,
                  seeds: int = 1, seed: int = 0, activation="tanh", compare_gaussian: bool = True,
                  mehler: MehlerRule = DEFAULT_MEHLER, progress: bool = False) -> RealDataScan:
    """τ_gen, τ_mem (timescale-spectrum peaks), τ_early_stop, τ_gap on real data for each ψ_n and seed.

    ``data``: 'digits' or an .npy path (theory/real_data.md), with ``test_data`` or ``test_fraction`` for the
    held-out rows; psi_n (list) and ψ_p: n/d and p/d; t > 0 the diffusion time; ``activation`` σ;
    ``mehler``: the `MehlerRule` of the exact matrices (R1) (its fields ``max_order``, ``tol`` as keywords:
    the 0.1 form, deprecated); ``progress``: a tqdm bar.

    Seed s (s = seed … seed+seeds-1) fixes W, the split and the row order (`RealDataKeys`);
    n = round(ψ_n d), p = round(ψ_p d) with the d actually used. With ``compare_gaussian``
    the same read-offs on the Gaussian-equivalent model with Σ̂ (same W, n, p, t).
    """
    from tqdm.auto import tqdm

    psi_n = [float(x) for x in psi_n]
    if any(not (0 < x < np.inf) for x in psi_n):
        raise InputError("psi_n", "every value must be finite and > 0")
    if len(set(psi_n)) < 2:
        raise InputError("psi_n", "needs at least two distinct values to fit the exponents")
    seeds = check_positive_int("seeds", seeds)
    # Validate everything (files, sizes) for every seed before the first matrix is built.
    datasets = {s: load_dataset(data, test_data=test_data, test_fraction=test_fraction,
                                key=RealDataKeys.from_seed(s).data) for s in range(seed, seed + seeds)}
    ds0 = datasets[seed]
    d = ds0.d
    ns = []
    for x in psi_n:
        p, n = sizes(d, psi_p, x)
        ds0.training_set(n)
        ns.append(n)
    if len(set(ns)) < 2:
        raise InputError("psi_n", f"gives fewer than two distinct n at d = {d}")
    constants = gaussian_constants(ds0, t, activation)
    spec = SigmaSpectrum.from_matrix(ds0.sigma)
    rows = []
    jobs = [(s, x, n) for s in datasets for x, n in zip(psi_n, ns)]
    W_cache = {}
    for s, x, n in tqdm(jobs, desc="real-data timescales", disable=not progress):
        keys = RealDataKeys.from_seed(s)
        W = W_cache.setdefault(s, np.asarray(sample_weights(keys.weights, p, d)))
        ds = datasets[s]
        es = eigensystem(real_matrices(ds, W, n, t=t, activation=activation, mehler=mehler), n)
        ts = timescales(es, constants, spec)
        if compare_gaussian:
            tg = timescales(gaussian_eigensystem(ds, W, n, t=t, activation=activation, keys=keys, constants=constants), constants, spec)
            gauss = [tg.tau_gen, tg.tau_mem, tg.n_peaks, tg.tau_early_stop, tg.tau_gap]
        else:
            gauss = [np.nan, np.nan, 0, np.nan, np.nan]  # n_peaks_gauss = 0: no Gaussian side computed
        rows.append([n / d, p / d, float(t), s, n, ts.tau_gen, ts.tau_mem, ts.n_peaks, ts.tau_early_stop, ts.tau_gap,
                     *gauss, ts.tau_gen_pred, ts.tau_mem_pred])
    table = {name: np.array([r[i] for r in rows]) for i, name in enumerate(SCAN_COLUMNS)}
    for k in ("seed", "n", "n_peaks", "n_peaks_gauss"):
        table[k] = table[k].astype(int)
    shape = (seeds, len(psi_n))
    x_fit = [n / d for n in ns]
    fits = {}
    sides = [""] + (["_gauss"] if compare_gaussian else [])
    for sfx in sides:
        peaks = [table[k + sfx].reshape(shape) for k in ("tau_gen", "tau_mem")]
        if not all(np.all(np.isfinite(v)) and np.all(v > 0) for v in peaks):
            raise ConvergenceError(f"a τ_gen or τ_mem is not finite for ψ_p = {psi_p}, ψ_n = {psi_n}: "
                                   "cannot fit exponents")
        fits.update(peak_fits(x_fit, *peaks, table["n_peaks" + sfx].reshape(shape), sfx))
        for name in ("tau_early_stop" + sfx, "tau_gap" + sfx):
            vals = table[name].reshape(shape)
            if np.all(np.isfinite(vals)) and np.all(vals > 0):
                fits[name] = fit_exponent(x_fit, vals)
    return RealDataScan(table=table, fits=fits, sizes={"d": d, "p": p, "n": ns}, dataset=ds0.info(),
                        compare_gaussian=compare_gaussian)


@float64
def spectrum_comparison(dataset: Dataset, W, n: int, *, t: float, activation="tanh", lam=None, num: int = 400):
    """Eigenvalues of the real-data U (p,) and ρ(λ) of (S1)-(S3) with ρ_Σ = eigenvalues of Σ̂ on ``lam``.

    ``lam`` defaults to a log grid over the real eigenvalue range. Returns (eigenvalues, SpectrumResult).
    """
    matrices = real_matrices(dataset, W, n, t=t, activation=activation)
    ev = matrices.eigenvalues()
    if lam is None:
        lam = np.geomspace(max(ev.min(), 1e-8) / 2, ev.max() * 2, num)
    p, d = W.shape
    res = solve_spectrum(lam, psi_p=p / d, psi_n=n / d, t=t, activation=activation,
                         sigma=SigmaSpectrum.from_matrix(dataset.sigma))
    return ev, res
