"""τ_gen and τ_mem against ψ_n (the paper's headline scaling), and the collapse against τ/ψ_n."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib import colormaps

from ..finite.dynamics import trajectory
from ..runtime.io import write_result
from ..finite.inputs import draw_keys
from ..finite.model_dispatch import sample_eigensystem
from ..analysis.timescales import timescale_scan
from .style import figure, save, styled, value_ticks
from ..core.precision import float64


@styled
def plot_scaling(scan, path) -> str:
    """log-log τ_gen, τ_mem (and τ_early_stop) vs ψ_n with the fitted power laws.

    Points where the timescale spectrum has one peak (n_peaks = 1, τ_gen = τ_mem) are drawn as
    diamonds labelled "one peak", and the peak fit is then the single-peak one
    (`rfscore.analysis.timescales.peak_fits`, theory/timescales.md §5).
    """
    tab = scan.table
    fig, ax = figure(figsize=(4.4, 3.4))
    pn = np.unique(tab["psi_n"])
    single = (tab["n_peaks"] == 1).reshape(-1, pn.size)

    def fit_line(name, y, label):
        f = scan.fits.get(name)
        if f is None:
            return label
        c = np.exp(np.mean(np.log(y)) - f.exponent * np.mean(np.log(pn)))
        ax.plot(pn, c * pn**f.exponent, color="0.3", lw=0.9)
        return label + rf" $\propto \psi_n^{{{f.exponent:.2f}}}$"

    for name, marker, label in (("tau_mem", "o", r"$\tau_{mem}$"), ("tau_gen", "s", r"$\tau_{gen}$"),
                                ("tau_early_stop", "^", r"$\tau_{early\ stop}$")):
        y = tab[name].reshape(-1, pn.size)
        two = ~single.any(0) if name != "tau_early_stop" else np.ones(pn.size, bool)
        if two.any():
            ax.errorbar(pn[two], y.mean(0)[two], yerr=y.std(0)[two] if y.shape[0] > 1 else None, fmt=marker, ms=5,
                        capsize=2, label=fit_line(name, y, label))
    if single.any():
        y = tab["tau_mem"].reshape(-1, pn.size)
        one = single.any(0)
        ax.errorbar(pn[one], y.mean(0)[one], yerr=y.std(0)[one] if y.shape[0] > 1 else None, fmt="D", ms=5,
                    capsize=2, mfc="none",
                    label=fit_line("tau_single_peak", y, r"one peak ($\tau_{gen}=\tau_{mem}$), single-peak fit"))
    ax.set(xscale="log", yscale="log", xlabel=r"$\psi_n = n/d$", ylabel=r"$\tau$",
           title=rf"$\psi_p = {tab['psi_p'][0]:g}$, $t = {tab['t'][0]:g}$")
    value_ticks(ax, pn)
    ax.legend(frameon=False)
    return save(fig, path)


@styled
def plot_collapse(curves, path) -> str:
    """Excess train (solid) and test (dashed) losses (L − L_opt)/Δ vs τ and vs τ/ψ_n: the
    memorisation part collapses (symlog scale: linear within ±1, logarithmic beyond)."""
    fig, (a0, a1) = figure(1, 2, figsize=(8.2, 3.3), constrained_layout=True)
    cmap = colormaps["viridis"]
    for i, (psi_n, tr) in enumerate(curves):
        col = cmap(i / max(len(curves) - 1, 1))
        for ax, x in ((a0, tr.tau), (a1, tr.tau / psi_n)):
            ax.plot(x, tr.excess("train_loss"), color=col, label=rf"$\psi_n={psi_n:g}$" if ax is a0 else None)
            ax.plot(x, tr.excess("test_loss"), color=col, ls="--")
    for ax, xl in ((a0, r"$\tau$"), (a1, r"$\tau/\psi_n$")):
        ax.axhline(0.0, color="k", lw=0.8, ls=":")
        ax.set_yscale("symlog", linthresh=1.0)
        ax.set(xscale="log", xlabel=xl, ylabel=r"$(\mathcal{L}-\mathcal{L}_{opt})/\Delta_t$")
    a0.legend(frameon=False, title="train — / test - -")
    a1.set_title("collapse of the memorisation regime")
    return save(fig, path)


@float64
def make(out_dir: Path, *, quick: bool = False, progress: bool = False) -> dict:
    """τ scaling (fits over seeds) and the τ/ψ_n collapse at ψ_p = 8·max ψ_n (Gaussian-equivalent)."""
    out_dir = Path(out_dir)
    params = dict(psi_n=[8, 16, 32, 64], psi_p=1024, t=0.01, d=8 if quick else 20,
                  seeds=1 if quick else 3, model="gep", activation="tanh")
    scan = timescale_scan(params["psi_n"], params["psi_p"], t=params["t"], d=params["d"], seeds=params["seeds"],
                          model="gep", progress=progress)
    csv = write_result(out_dir / "timescales.csv", scan.table, params, fits={k: f.to_dict() for k, f in scan.fits.items()})
    files = [str(csv), plot_scaling(scan, out_dir / "timescales_scaling.png")]
    tau = np.logspace(0, 8, 300)
    curves = []
    for psi_n in params["psi_n"]:  # seed 0 of the scan: the same draw (keys (P1) of the point ψ_n)
        es = sample_eigensystem(draw_keys(0, psi_n).base, d=params["d"], psi_p=params["psi_p"], psi_n=psi_n,
                                t=params["t"])
        curves.append((psi_n, trajectory(es, tau)))
    files.append(plot_collapse(curves, out_dir / "collapse.png"))
    return {"files": files, "parameters": params, "fits": {k: f.to_dict() for k, f in scan.fits.items()}}
