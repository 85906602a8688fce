"""Real digits against their Gaussian-equivalent theory: learning curves and timescale read-offs per n
(theory/real_data.md (R1)-(R4)); the numbers of the `digits` figure (rfscore/figures/digits.py)."""
from __future__ import annotations

import numpy as np

from ..analysis.timescales import fit_exponent, peak_fits, timescales
from ..core.covariance import SigmaSpectrum
from ..core.precision import float64
from ..finite.inputs import sample_weights, size_of
from ..finite.dynamics import trajectory
from ..finite.eigensystem import eigensystem
from .datasets import load_dataset
from .realdata import RealDataKeys, gaussian_constants, gaussian_eigensystem, real_matrices


@float64
def digits_timescales(psi_p: float, psi_n, t: float, seed: int = 0, num: int = 200) -> dict:
    """Curves and τ read-offs on the 8×8 digits (exact matrices, held-out test loss (R1)) and on the
    Gaussian-equivalent model with Σ̂ at the same n, p, t and W ((R4)), one seed (theory/real_data.md).

    psi_p, psi_n (list): ratios (p = round(ψ_p d), n = round(ψ_n d), d = 61); t: diffusion time; seed: the
    `RealDataKeys` of the split, shuffle and W; num: points of the τ grid 1 … 10⁷. Returns {'tau' (num,),
    'curves' [(n, trajectory, Gaussian trajectory)], 'table' (per ψ_n: τ_gen, τ_mem, n_peaks, τ_gap,
    τ_early_stop, real and '_gauss'), 'fits' (exponents in ψ_n), 'dataset', 'd', 'p', 'delta_t'}.
    """
    keys = RealDataKeys.from_seed(seed)
    ds = load_dataset("digits", key=keys.data)
    d = ds.d
    p = size_of("psi_p", psi_p, d)
    W = np.asarray(sample_weights(keys.weights, p, d))
    c = gaussian_constants(ds, t)
    spec = SigmaSpectrum.from_matrix(ds.sigma)
    tau = np.geomspace(1.0, 1e7, num)
    rows, curves = [], []
    for x in psi_n:
        n = size_of("psi_n", x, d)
        es = eigensystem(real_matrices(ds, W, n, t=t), n)
        es_g = gaussian_eigensystem(ds, W, n, t=t, keys=keys, constants=c)
        curves.append((n, trajectory(es, tau), trajectory(es_g, tau)))
        ts, tg = timescales(es, c, spec, num=1500), timescales(es_g, c, spec, num=1500)
        rows.append([n / d, n, ts.tau_gen, tg.tau_gen, ts.tau_mem, tg.tau_mem, ts.n_peaks, tg.n_peaks,
                     ts.tau_gap, tg.tau_gap, ts.tau_early_stop, tg.tau_early_stop])
    names = ("psi_n", "n", "tau_gen", "tau_gen_gauss", "tau_mem", "tau_mem_gauss", "n_peaks", "n_peaks_gauss",
             "tau_gap", "tau_gap_gauss", "tau_early_stop", "tau_early_stop_gauss")
    table = {k: np.array([r[i] for r in rows]) for i, k in enumerate(names)}
    fits = {}
    for sfx in ("", "_gauss"):  # the peaks: labelled by n_peaks (tau_single_peak if any point has one peak)
        fits.update(peak_fits(table["psi_n"], table["tau_gen" + sfx][None, :], table["tau_mem" + sfx][None, :],
                              table["n_peaks" + sfx][None, :], sfx))
    fits.update({k: fit_exponent(table["psi_n"], table[k][None, :]) for k in names[8:]
                 if np.all(np.isfinite(table[k])) and np.all(table[k] > 0)})
    return {"tau": tau, "curves": curves, "table": table, "fits": fits, "dataset": ds.info(), "d": d, "p": p,
            "delta_t": c.delta_t}
