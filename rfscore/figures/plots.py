"""Plots drawn by the command-line tools (library code: the CLI only calls them)."""
from __future__ import annotations

import numpy as np

from .style import figure, save


def plot_density(res, path, eigenvalues=None, model=None, title=None):
    """ρ(λ) (converged points only; failures marked) with optional eigenvalue histogram."""
    fig, ax = figure(figsize=(5.2, 3.4))
    ok = res.converged
    if eigenvalues is not None:
        inside = eigenvalues[(eigenvalues >= res.lam[0]) & (eigenvalues <= res.lam[-1])]
        bins = np.linspace(res.lam[0], res.lam[-1], 61)
        w = np.full(inside.size, 1.0 / (eigenvalues.size * (bins[1] - bins[0])))
        ax.hist(inside, bins=bins, weights=w, color="0.75", label=f"eigenvalues of U ({model}, p = {eigenvalues.size})")
    dens = np.where(ok, res.density, np.nan)
    ax.plot(res.lam, dens, color="C0", label=r"theory $\rho(\lambda)$ (S1)-(S3)")
    if not ok.all():
        ax.plot(res.lam[~ok], np.zeros((~ok).sum()), "x", color="C3", label="not converged")
    if res.atom_weight > 0 and res.lam[0] <= res.atom_location <= res.lam[-1]:
        ax.axvline(res.atom_location, color="C1", ls="--", lw=1,
                   label=fr"atom at $s_t^2$, weight {res.atom_weight:.3f}")
    top = np.nanmax(dens[np.isfinite(dens)]) if np.isfinite(dens).any() else 1.0
    ax.set_ylim(0, 1.25 * top)
    ax.set_xlabel(r"$\lambda$")
    ax.set_ylabel(r"$\rho(\lambda)$")
    ax.set_title(title or fr"$\psi_p$ = {res.psi_p:g}, $\psi_n$ = {res.psi_n:g}, $t$ = {res.constants.t:g}")
    ax.legend(frameon=False)
    return save(fig, path)
