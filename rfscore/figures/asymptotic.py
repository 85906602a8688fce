"""Asymptotic learning curves (A4)-(A5) over finite-size closed-form markers, and error vs d.

fig_asymptotic_curves.png: excess train loss and score error, (L - L_opt)/Δ, against τ at
ψ_p = 32 for several ψ_n: lines d → ∞ (theory/asymptotic.md), markers the seed-averaged
finite-size curves ((G4)-(G6) sampled, (D3)-(D4)); τ_gen and τ_mem marked.
fig_asymptotic_error.png: rms relative deviation (over a τ grid) of the finite-size curves
from the asymptotic ones against d, with a 1/d guide.
"""
from __future__ import annotations

from pathlib import Path

import jax
import numpy as np
from matplotlib.ticker import NullFormatter
from tqdm import tqdm

from ..asymptotic import asymptotic_curves
from ..dynamics import trajectory
from ..matrices import sample_eigensystem
from .style import figure, save

T, PSI_P = 0.01, 32.0


def _finite(psi_n, d, seeds, tau):
    """Seed mean (2, K) of the excess train loss and score error, and its standard error (2, K)."""
    ex = []
    for s in range(seeds):
        es = sample_eigensystem(jax.random.PRNGKey(104729 * d + 31 * s + int(psi_n)), d=d, psi_p=PSI_P,
                                psi_n=psi_n, t=T)
        tr = trajectory(es, tau)
        ex.append([tr.excess("train_loss"), tr.score_error])
    ex = np.asarray(ex)
    return ex.mean(axis=0), ex.std(axis=0, ddof=1) / np.sqrt(seeds)


def _seeds(base: int, d: int, d_mark: int) -> int:
    """More seeds at small d, so that the seed noise (≈ 1/(d √seeds)) stays below the bias."""
    return base * max(1, (2 * d_mark) // d) if d < d_mark else base


def make(out_dir: Path, quick: bool = False) -> dict:
    out_dir = Path(out_dir)
    psi_ns = (4.0, 8.0) if quick else (2.0, 4.0, 8.0)  # quick: fewer matrix shapes to JIT-compile
    d_mark = 20 if quick else 40
    ds = (10, 20) if quick else (10, 20, 40, 80)
    seeds = 4 if quick else 12
    tau = np.geomspace(1.0, 1e7, 400)
    tau_m = np.geomspace(3.0, 3e6, 13)
    curves = {pn: asymptotic_curves(tau, psi_p=PSI_P, psi_n=pn, t=T, check_quadrature=not quick) for pn in psi_ns}
    finite = {}
    for pn, d in tqdm([(pn, d_mark) for pn in psi_ns] + [(4.0, d) for d in ds if d != d_mark], desc="finite size"):
        finite[pn, d] = _finite(pn, d, _seeds(seeds, d, d_mark), tau_m)

    fig, ax = figure(figsize=(6.4, 4.2))
    colors = {2.0: "C0", 4.0: "C1", 8.0: "C2"}
    for pn in psi_ns:
        col = colors[pn]
        res = curves[pn]
        F, _ = finite[pn, d_mark]
        ax.plot(tau, res.excess("train_loss"), color=col, lw=1.5, label=rf"$\psi_n={pn:g}$")
        ax.plot(tau, res.score_error, color=col, lw=1.5, ls="--")
        ax.plot(tau_m, F[0], "o", color=col, ms=4, mfc="none")
        ax.plot(tau_m, F[1], "s", color=col, ms=4, mfc="none")
        marks = ((res.tau_gen, "v"), (res.tau_mem, "^")) if res.tau_mem > 1.5 * res.tau_gen else ((res.tau_gen, "D"),)
        for val, mk in marks:
            y = np.interp(np.log(val), np.log(tau), res.excess("train_loss"))
            ax.plot([val], [y], mk, color=col, ms=7, mec="k", mew=0.6)
    ax.set_xscale("log")
    ax.set_yscale("symlog", linthresh=1.0, linscale=0.5)
    ticks = [-10, -1, 0, 1, 10, 100, 1000]
    ax.set_yticks(ticks, [f"{v:g}".replace("-", "\u2212") for v in ticks])
    ax.axhline(0, color="k", lw=0.6)
    ax.plot([], [], "k-", label=r"train, $d\to\infty$")
    ax.plot([], [], "k--", label=r"score error, $d\to\infty$")
    ax.plot([], [], "ko", mfc="none", ms=4, label=f"train, $d={d_mark}$")
    ax.plot([], [], "ks", mfc="none", ms=4, label=f"score error, $d={d_mark}$")
    ax.plot([], [], "kv", ms=6, label=r"$\tau_{\rm gen}$")
    ax.plot([], [], "k^", ms=6, label=r"$\tau_{\rm mem}$")
    ax.plot([], [], "kD", ms=5, label=r"single peak ($\tau_{\rm gen}=\tau_{\rm mem}$)")
    ax.set(xlabel=r"training time $\tau$", ylabel=r"$(L - L_{\rm opt})/\Delta$",
           title=rf"tanh, $t={T:g}$, $\psi_p={PSI_P:g}$: $d\to\infty$ (lines), $d={d_mark}$ ({seeds} seeds, markers)")
    ax.legend(frameon=False, ncol=2, fontsize=7.5, loc="lower left")
    files = [save(fig, out_dir / "fig_asymptotic_curves.png")]

    # error vs d at ψ_n = 4, with the seed-noise level of the same average
    ref = asymptotic_curves(tau_m, psi_p=PSI_P, psi_n=4.0, t=T, check_quadrature=False)
    A = np.stack([ref.excess("train_loss"), ref.score_error])
    err, noise = [], []
    for d in ds:
        F, se = finite[4.0, d]
        err.append(np.sqrt(np.mean((np.abs(A - F) / (np.abs(F) + 1.0)) ** 2, axis=1)))
        noise.append(np.sqrt(np.mean((se / (np.abs(F) + 1.0)) ** 2, axis=1)))
    err, noise = np.array(err), np.array(noise)
    fig, ax = figure(figsize=(4.4, 3.4))
    for k, (lab, mk, col) in enumerate((("train loss", "o", "C0"), ("score error", "s", "C1"))):
        ax.loglog(ds, err[:, k], mk + "-", color=col, label=lab)
        ax.loglog(ds, noise[:, k], ":", color=col, lw=1, label=f"{lab}: seed s.e.")
    dd = np.array([ds[0], ds[-1]], float)
    ax.loglog(dd, err[0].max() * ds[0] / dd, "k--", lw=0.8, label=r"$\propto 1/d$")
    n_seeds = ", ".join(str(_seeds(seeds, d, d_mark)) for d in ds)
    ax.set(xlabel=r"dimension $d$", ylabel=r"rms over $\tau$ of $|E_d - E_\infty|/(|E_d|+1)$",
           title=rf"$\psi_p={PSI_P:g}$, $\psi_n=4$ (seeds: {n_seeds})")
    ax.set_xticks(ds, [str(d) for d in ds])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.legend(frameon=False, fontsize=7)
    files.append(save(fig, out_dir / "fig_asymptotic_error.png"))
    params = {"t": T, "psi_p": PSI_P, "psi_n": list(psi_ns), "d_markers": d_mark, "seeds": seeds, "d_error": list(ds),
              "seed_standard_error": noise.tolist(),
              "rms_deviation_train": err[:, 0].tolist(), "rms_deviation_score_error": err[:, 1].tolist(),
              "tau_gen": {str(k): v.tau_gen for k, v in curves.items()},
              "tau_mem": {str(k): v.tau_mem for k, v in curves.items()}}
    return {"files": files, "parameters": params}
