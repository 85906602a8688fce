"""Paper Fig. 4: theory ρ(λ) of U from (S1)-(S3) over eigenvalue histograms of finite-size U.

Two files, one per data covariance (Σ = I and ρ_Σ = ½δ_{0.5} + ½δ_{1.5}), each with one
panel per bulk: small λ (atom at s_t², small cluster, Marchenko–Pastur bulk; log λ axis,
showing λρ(λ), the density of ln λ)
and large λ (the d generalisation modes, of order ψ_p). Histograms: the Gaussian-equivalent
U of (G4) and the exact noise-averaged U of (E1)-(E3), one draw each (see theory/spectrum.md).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core.covariance import SigmaSpectrum
from ..core.precision import float64
from ..finite.model_dispatch import sample_eigenvalues
from ..limit.spectrum import require_converged, solve_spectrum
from ..runtime.progress import stages
from .style import figure, save, styled

PSI_P, PSI_N, T = 16.0, 4.0, 0.01
CASES = {"isotropic": ("1:1", r"$\Sigma = I$"),
         "two_delta": ("0.5:0.5,1.5:0.5", r"$\rho_\Sigma = \frac{1}{2}\delta_{0.5} + \frac{1}{2}\delta_{1.5}$")}
SMALL, LARGE = (1e-3, 0.3), (0.4, 20.0)


def _eigenvalues(model, d, sigma, seed):
    return sample_eigenvalues(model, d=d, psi_p=PSI_P, psi_n=PSI_N, t=T, activation="tanh", sigma=sigma, seed=seed)


def _panel(ax, res, evs, window, nbins, logx):
    """Histograms + theory. With ``logx`` the variable is ln λ: bins log-spaced, y = λ ρ(λ)."""
    lo, hi = window
    bins = np.geomspace(lo, hi, nbins + 1) if logx else np.linspace(lo, hi, nbins + 1)
    width = np.log(bins[1] / bins[0]) if logx else bins[1] - bins[0]
    styles = {"gep": dict(color="0.78", histtype="stepfilled"), "exact": dict(color="C2", histtype="step", lw=1.2)}
    for model, ev in evs.items():
        inside = ev[(ev >= lo) & (ev <= hi)]
        w = np.full(inside.size, 1.0 / (ev.size * width))
        name = "Gaussian-equivalent U (G4)" if model == "gep" else "exact U (E1)-(E3)"
        ax.hist(inside, bins=bins, weights=w, label=f"{name}, p = {ev.size}", **styles[model])
    y = res.lam * res.density if logx else res.density
    ax.plot(res.lam, y, color="C0", lw=1.5, label=r"theory $\rho(\lambda)$, (S1)-(S3)")
    if lo <= res.atom_location <= hi:
        ax.axvline(res.atom_location, color="C1", ls="--", lw=1,
                   label=fr"atom at $s_t^2$, weight {res.atom_weight:.4f} (bar clipped)")
    ax.set_ylim(0, 1.35 * y.max())
    ax.set_xlim(lo, hi)
    if logx:
        ax.set_xscale("log")
        ax.set_ylabel(r"$\lambda\,\rho(\lambda)$  (density of $\ln\lambda$)")
    else:
        ax.set_ylabel(r"$\rho(\lambda)$")
    ax.set_xlabel(r"$\lambda$")


@styled
@float64
def panel_densities(panels, points: int, **solve_kw) -> list:
    """ρ(λ) of (S1)-(S3) on ``points`` λ per panel (``panels``: ((window, nbins, logx), ...); a log grid where
    logx), by `solve_spectrum` with ``solve_kw`` (ψ_p, ψ_n, σ and t or constants); every point converged."""
    out = []
    for window, _, logx in panels:
        lam = (np.geomspace if logx else np.linspace)(window[0], window[1], points)
        out.append(require_converged(solve_spectrum(lam, **solve_kw)))
    return out


@styled
def spectrum_figure(evs: dict, panels, densities, title: str):
    """Two panels (small λ on a log axis, the large bulk) of theory ρ(λ) over the histograms ``evs``
    (model → eigenvalues); ``panels``: ((window, nbins, logx), (window, nbins, logx)); ``densities``: the
    `SpectrumResult` of each panel (`panel_densities`). Returns the Figure."""
    fig, axes = figure(1, 2, figsize=(10, 3.6))
    for ax, res, (window, nbins, logx) in zip(axes, densities, panels):
        _panel(ax, res, evs, window, nbins, logx)
    axes[0].set_title(r"small-$\lambda$ part: atom, small cluster, Marchenko–Pastur bulk")
    axes[1].set_title(r"large-λ bulk (order $\psi_p$)")
    handles, labels = axes[0].get_legend_handles_labels()
    axes[1].legend(handles, labels, frameon=False, loc="upper right")
    fig.suptitle(title, fontsize=10)
    return fig


@styled
def make(out_dir: Path, *, quick: bool = False, progress: bool = False) -> dict:
    """Write fig4_spectrum_{isotropic,two_delta}.png into ``out_dir``; return the manifest entry."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    d_gep, d_exact, seed = (20, 20, 0) if quick else (100, 64, 0)
    files = []
    for name, (spec, label) in stages(CASES.items(), "fig4: spectra", progress):
        sigma = SigmaSpectrum.parse(spec)
        evs = {"gep": _eigenvalues("gep", d_gep, sigma, seed), "exact": _eigenvalues("exact", d_exact, sigma, seed + 1)}
        panels = ((SMALL, 60, True), (LARGE, 30 if quick else 40, False))
        dens = panel_densities(panels, 512 if quick else 1500, psi_p=PSI_P, psi_n=PSI_N, t=T, sigma=sigma)
        fig = spectrum_figure(evs, panels, dens,
                              fr"Spectrum of U: tanh, $t$ = {T:g}, $\psi_p$ = {PSI_P:g}, $\psi_n$ = {PSI_N:g}, {label}; "
                              fr"histograms at $d$ = {d_gep} (G4) and $d$ = {d_exact} (exact)")
        files.append(save(fig, out_dir / f"fig4_spectrum_{name}.png"))
    return {"files": files, "parameters": {"psi_p": PSI_P, "psi_n": PSI_N, "t": T, "activation": "tanh",
                                           "sigma_spectra": {k: v[0] for k, v in CASES.items()},
                                           "d_gep": d_gep, "d_exact": d_exact, "seed": seed, "quick": quick}}
