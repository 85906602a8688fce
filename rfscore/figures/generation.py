"""Generated samples against training time (the paper's Fig. 2 in the solvable model).

f_mem (with Wilson 95 % intervals) and the Fréchet distance to N(0, Σ) against τ for
several ψ_n, and against τ/ψ_n (the collapse expected if copying sets in at τ ∝ ψ_n).
τ = inf is drawn at the right edge (tick ∞), one decade beyond the largest finite τ.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib import colormaps

from .style import figure, save, styled
from ..core.precision import float64


def _inf_position(values) -> float:
    """Where τ = inf is drawn: one decade beyond the largest finite value of all curves."""
    v = np.asarray(values, dtype=float)
    fin = v[np.isfinite(v)]
    return 10.0 * (fin.max() if fin.size else 1.0)


@styled
def plot_generation(res, path) -> str:
    """2×2 panels: f_mem and Fréchet distance against τ (left) and τ/ψ_n (right)."""
    tab = res.table
    fig, axes = figure(2, 2, figsize=(8.4, 6.0), constrained_layout=True, sharey="row")
    cmap = colormaps["viridis"]
    psi = res.psi_n_run
    scaled = tab["tau"] / tab["psi_n"]
    tops = (_inf_position(tab["tau"]), _inf_position(scaled))
    for i, psn in enumerate(psi):
        col = cmap(i / max(len(psi) - 1, 1))
        sel = tab["psi_n"] == psn
        taus = np.unique(tab["tau"][sel])

        def mean(name, sel=sel, taus=taus):
            return np.array([tab[name][sel & (tab["tau"] == t)].mean() for t in taus])
        fm, lo, hi, fd = mean("f_mem"), mean("f_mem_lo"), mean("f_mem_hi"), mean("frechet")
        floor = float(tab["frechet_floor"][sel].mean())
        for j, scale in enumerate((1.0, psn)):
            x = np.where(np.isfinite(taus), taus / scale, tops[j])
            label = None if j else (rf"$n = {round(psn * res.parameters['d'])}$ ($\psi_n = {psn:.3g}$)"
                                    if res.parameters.get("data") is not None else rf"$\psi_n = {psn:g}$")
            axes[0, j].errorbar(x, fm, yerr=[np.clip(fm - lo, 0, None), np.clip(hi - fm, 0, None)], color=col,
                                marker="o", ms=3.5, capsize=2, label=label)
            axes[1, j].plot(x, fd, color=col, marker="o", ms=3.5)
            axes[1, j].axhline(floor, color=col, lw=0.8, ls=":")
    for j, xl in enumerate((r"$\tau$", r"$\tau/\psi_n$")):
        for ax in axes[:, j]:
            ax.set_xscale("log")
            ax.axvline(tops[j] / np.sqrt(10), color="0.8", lw=0.6)
            ticks = [t for t in ax.get_xticks() if t <= tops[j] / 10 * (1 + 1e-9)]
            ax.set_xticks(ticks + [tops[j]], [f"$10^{{{round(np.log10(t))}}}$" for t in ticks] + [r"$\infty$"])
            ax.set_xlim(min(ticks) if ticks else None, tops[j] * 2)
            ax.set_xlabel(xl)
    threshold = res.parameters.get("mem_threshold", 0.1)
    for ax in axes[0]:
        ax.axhline(threshold, color="k", lw=0.7, ls="--")
    axes[0, 0].set_ylabel(r"$f_{mem}$ (ratio $< 1/3$)")
    real = res.parameters.get("data") is not None
    axes[1, 0].set_ylabel("Fréchet distance to held-out data" if real else "Fréchet distance to $N(0,\\Sigma)$")
    axes[1, 0].set_yscale("log")
    axes[0, 0].legend(frameon=False, title=rf"$d = {res.parameters['d']}$, "
                                           rf"$\psi_p = {res.parameters['p'] / res.parameters['d']:g}$")
    fit = res.fits.get("tau_mem_samples", {})
    note = (rf"$\tau_{{mem}}^{{samples}} \propto \psi_n^{{{fit['exponent']:.2f}}}$, 95 % CI "
            rf"[{fit['ci'][0]:.2f}, {fit['ci'][1]:.2f}]" if "exponent" in fit else
            r"$\tau_{mem}^{samples}$ exponent: n/a (threshold not reached at finite $\tau$ for every $\psi_n$)")
    axes[0, 1].set_title(note, fontsize=9)
    axes[1, 1].set_title("dotted: training pool against held-out rows" if real else "dotted: floor of N exact samples",
                         fontsize=9)
    return save(fig, path)


@float64
def make(out_dir: Path, quick: bool = False) -> dict:
    """f_mem and Fréchet distance against τ and τ/ψ_n at small sizes (budget ≤ 25 s, --quick ≤ 10 s)."""
    from ..generative.generation import generation_experiment
    from ..runtime.io import write_result

    out_dir = Path(out_dir)
    # Sizes for the reproduce budget (≤ 25 s, --quick ≤ 10 s on 2 idle cores); the matrices dominate
    # (K exact p×p sets per ψ_n). The d = 8, ψ_p = 128, K = 40 setting of theory/generation.md §5 is a
    # `rfscore generate` run.
    # Mehler order ≤ 24 (instead of 64): 2.5× faster matrices at d = 8; the truncation bound of every time
    # is recorded in the sidecar's diagnostics (≈ 2e-4 entrywise at order 24, the actual error is smaller).
    params = dict(d=8, psi_p=24 if quick else 48, psi_n=[2, 4] if quick else [2, 4, 8], t_min=1e-3, t_max=3.0,
                  times=6 if quick else 10, tau=[1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, math.inf],
                  samples=800 if quick else 2000, sampler="sde", steps_per_time=4, seeds=1, seed=0, max_order=24)
    res = generation_experiment(params["psi_n"], d=params["d"], psi_p=params["psi_p"], t_min=params["t_min"],
                                t_max=params["t_max"], times=params["times"], tau=params["tau"],
                                samples=params["samples"], sampler=params["sampler"],
                                steps_per_time=params["steps_per_time"], seeds=params["seeds"], seed=params["seed"],
                                max_order=params["max_order"], workers=1, progress=False)  # in-process: no worker start-up, shared compilations
    csv = write_result(out_dir / "fig_generation.csv", res.table, res.parameters, fits=res.fits, points=res.points,
                       summary=res.summary(), note="sizes chosen for the reproduce time budget; large runs: "
                                                   "rfscore generate")
    png = plot_generation(res, out_dir / "fig_generation.png")
    return {"files": [str(csv), png], "parameters": res.parameters, "fits": res.fits}
