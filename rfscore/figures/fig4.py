"""Paper Fig. 4: theory ρ(λ) of U from (S1)-(S3) over eigenvalue histograms of finite-size U.

Two files, one per data covariance (Σ = I and ρ_Σ = ½δ_{0.5} + ½δ_{1.5}), each with one
panel per bulk: small λ (atom at s_t², small cluster, Marchenko–Pastur bulk; log y axis)
and large λ (the d generalisation modes, of order ψ_p). Histograms: the Gaussian-equivalent
U of (G4) and the exact noise-averaged U of §4, one draw each (see theory/spectrum.md).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..covariance import SigmaSpectrum
from ..spectrum import require_converged, solve_spectrum
from .style import figure, save

PSI_P, PSI_N, T = 16.0, 4.0, 0.01
CASES = {"isotropic": ("1:1", r"$\Sigma = I$"),
         "two_delta": ("0.5:0.5,1.5:0.5", r"$\rho_\Sigma = \frac{1}{2}\delta_{0.5} + \frac{1}{2}\delta_{1.5}$")}
SMALL, LARGE = (0.0, 0.26), (0.4, 20.0)


def _eigenvalues(model, d, sigma, seed):
    from ..cli.spectrum import empirical_eigenvalues
    return empirical_eigenvalues(model, d=d, psi_p=PSI_P, psi_n=PSI_N, t=T, activation="tanh", sigma=sigma, seed=seed)


def _panel(ax, res, evs, window, nbins, log):
    lo, hi = window
    bins = np.linspace(lo, hi, nbins + 1)
    styles = {"gep": dict(color="0.78", histtype="stepfilled"), "exact": dict(color="C2", histtype="step", lw=1.2)}
    for model, ev in evs.items():
        inside = ev[(ev >= lo) & (ev <= hi)]
        w = np.full(inside.size, 1.0 / (ev.size * (bins[1] - bins[0])))
        name = "Gaussian-equivalent U (G4)" if model == "gep" else "exact U (§4)"
        ax.hist(inside, bins=bins, weights=w, label=f"{name}, p = {ev.size}", **styles[model])
    ax.plot(res.lam, res.density, color="C0", lw=1.5, label=r"theory $\rho(\lambda)$, (S1)-(S3)")
    if lo <= res.atom_location <= hi:
        ax.axvline(res.atom_location, color="C1", ls="--", lw=1,
                   label=fr"atom at $s_t^2$ (weight {res.atom_weight:.4f})")
    top = res.density.max()
    if log:
        ax.set_yscale("log")
        ax.set_ylim(1e-2, 3 * top)
    else:
        ax.set_ylim(0, 1.3 * top)
    ax.set_xlim(lo, hi)
    ax.set_xlabel(r"$\lambda$")
    ax.set_ylabel(r"$\rho(\lambda)$")


def make(out_dir: Path, quick: bool = False) -> dict:
    """Write fig4_spectrum_{isotropic,two_delta}.png into ``out_dir``; return the manifest entry."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    d_gep, d_exact, seed = (24, 24, 0) if quick else (100, 64, 0)
    files = []
    for name, (spec, label) in CASES.items():
        sigma = SigmaSpectrum.parse(spec)
        evs = {"gep": _eigenvalues("gep", d_gep, sigma, seed), "exact": _eigenvalues("exact", d_exact, sigma, seed + 1)}
        fig, axes = figure(1, 2, figsize=(10, 3.6))
        for ax, window, nbins, log in ((axes[0], SMALL, 80, True), (axes[1], LARGE, 30 if quick else 40, False)):
            lam = np.linspace(window[0], window[1], 1500)
            res = require_converged(solve_spectrum(lam, psi_p=PSI_P, psi_n=PSI_N, t=T, sigma=sigma))
            _panel(ax, res, evs, window, nbins, log)
        axes[0].set_title("small-λ bulks (log scale)")
        axes[1].set_title(r"large-λ bulk (order $\psi_p$)")
        axes[0].legend(frameon=False, loc="upper right")
        fig.suptitle(fr"Spectrum of U: tanh, $t$ = {T:g}, $\psi_p$ = {PSI_P:g}, $\psi_n$ = {PSI_N:g}, {label}; "
                     fr"histograms at $d$ = {d_gep} (G4) and $d$ = {d_exact} (exact)", fontsize=10)
        files.append(save(fig, out_dir / f"fig4_spectrum_{name}.png"))
    return {"files": files, "parameters": {"psi_p": PSI_P, "psi_n": PSI_N, "t": T, "activation": "tanh",
                                           "sigma_spectra": {k: v[0] for k, v in CASES.items()},
                                           "d_gep": d_gep, "d_exact": d_exact, "seed": seed, "quick": quick}}
