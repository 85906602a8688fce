"""Paper Fig. 4 at the paper's parameters: ρ(λ) of U from (S1)-(S3) over the eigenvalue histogram
of one finite-size Gaussian-equivalent U (G4) at d = 100 (ψ_p = 64, ψ_n = 8, t = 0.01), for Σ = I
and ρ_Σ = ½δ(λ−0.5) + ½δ(λ−1.5).

The p = 6400 eigenvalues come from the thin SVD of theory/dynamics.md (n + d non-trivial modes;
the other p − n − d sit exactly at s_t², the atom), so no 6400×6400 eigendecomposition is needed.
Panels as in the default figure (rfscore.figures.fig4): the small-λ part on a log axis (λρ(λ))
and the large bulk of the d generalisation modes, of order ψ_p.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ...core.constants import ge_constants
from ...core.covariance import SigmaSpectrum
from ...finite.inputs import draw_keys, sample_inputs, sizes
from ...finite.gep import gep_eigensystem
from ...limit.spectrum import limiting_structure
from ...runtime.io import write_result
from ..fig4 import panel_densities, spectrum_figure
from ..style import save, styled
from ...runtime.progress import stages
from ...core.precision import float64

CASES = {"isotropic": ("1:1", r"$\Sigma = I$"),
         "two_delta": ("0.5:0.5,1.5:0.5", r"$\rho_\Sigma = \frac{1}{2}\delta_{0.5} + \frac{1}{2}\delta_{1.5}$")}
PAPER = dict(psi_p=64.0, psi_n=8.0, t=0.01, d=100, activation="tanh", sigma_spectra={k: v[0] for k, v in CASES.items()})


@float64
def gep_spectrum(d: int, psi_p: float, psi_n: float, t: float, sigma: SigmaSpectrum, seed: int) -> np.ndarray:
    """All p eigenvalues of one (G4) U (ascending): the thin modes and p − rank at s_t² (exact)."""
    p, n = sizes(d, psi_p, psi_n)
    W, X, ko = sample_inputs(draw_keys(seed).base, d=d, psi_p=psi_p, psi_n=psi_n, sigma=sigma)
    es = gep_eigensystem(W, X, t=t, sigma=sigma, key=ko, thin=(n + d < p))
    lam = np.asarray(es.eigvals)
    s2 = ge_constants(t, "tanh", sigma).s_t2
    return np.sort(np.concatenate([lam, np.full(p - lam.size, s2)]))


@float64
def spectrum_panels(out_dir: Path, stem: str, *, psi_p, psi_n, t, d, cases, seed=0, points=1500, progress=False,
                    tag="Fig. 4"):
    """One PNG per Σ case (``cases``: name → (spec, label)) and the histogram data; returns (files, data)."""
    files, data = [], {"sigma": [], "lambda": []}
    for name, (spec, label) in stages(cases.items(), f"{tag}: spectra", progress):
        sigma = SigmaSpectrum.parse(spec)
        ev = gep_spectrum(d, psi_p, psi_n, t, sigma, seed)
        c = ge_constants(t, "tanh", sigma)
        ls = limiting_structure(psi_p=psi_p, psi_n=psi_n, sigma=sigma, constants=c)
        top = ev[-d:]  # the d generalisation modes
        small = (0.5 * c.s_t2, 1.3 * max(ev[-d - 1], ls.mp_upper))
        large = (0.8 * top.min(), 1.1 * top.max())
        panels = ((small, 70, True), (large, 40, False))
        dens = panel_densities(panels, points, psi_p=psi_p, psi_n=psi_n, sigma=sigma, constants=c)
        fig = spectrum_figure({"gep": ev}, panels, dens,
                              fr"{tag}: spectrum of U, tanh, $t$ = {t:g}, $\psi_p$ = {psi_p:g}, $\psi_n$ = {psi_n:g}, "
                              fr"{label}; histogram at $d$ = {d} (G4, one draw)")
        files.append(save(fig, out_dir / f"{stem}_{name}.png"))
        data["sigma"] += [spec] * ev.size
        data["lambda"] += list(ev)
    return files, data


@float64
def differences(d, quick) -> list:
    out = ["theory ρ(λ) from (S1)-(S3) solved pointwise (the paper's curve); histogram of the Gaussian-equivalent "
           "U (G4), one draw; the exact non-linear U (E1)-(E3) is drawn at smaller size in the default "
           "`rfscore reproduce` fig4, because its Mehler matrices at p = 6400 cost minutes"]
    if quick:
        out.append(f"quick: d = {d} instead of the paper's d = 100")
    return out


@styled
def make(out_dir: Path, *, quick: bool = False, progress: bool = False) -> dict:
    """Write fig4_paper_{isotropic,two_delta}.png and fig4_paper_eigenvalues.csv into ``out_dir``."""
    out_dir = Path(out_dir)
    d = 20 if quick else PAPER["d"]
    run = dict(PAPER, d=d, seed=0, model="gep", quick=quick)
    p, n = sizes(d, PAPER["psi_p"], PAPER["psi_n"])
    run.update(p=p, n=n)
    files, data = spectrum_panels(out_dir, "fig4_paper", psi_p=PAPER["psi_p"], psi_n=PAPER["psi_n"], t=PAPER["t"], d=d,
                                  cases=CASES, points=512 if quick else 1500, progress=progress)
    csv = write_result(out_dir / "fig4_paper_eigenvalues.csv", data, run)
    return {"files": files + [str(csv), str(csv.with_suffix(".json"))], "paper_parameters": PAPER, "parameters": run,
            "differences": differences(d, quick)}
