"""Asymptotic learning curves for power-law data spectra against finite-size GEP curves.

fig_powerlaw.png: excess train loss (left) and score error (right), (L - L_opt)/Δ, against τ at
tanh, t = 0.01, ψ_p = 32, ψ_n = 4 for ρ_Σ = powerlaw:α:K (λ_k = k^{-α}/m_K, k = 1..K, (A11)) and
several α: lines d → ∞ by the second deterministic-equivalent layer (A4)-(A10)
(theory/asymptotic.md §7-§8); markers the seed-averaged finite-size closed-form curves of sampled
(G4)-(G6) matrices, (D3)-(D4), at d = K (Σ = diag(λ_1..λ_K) exactly), with standard errors.
K = 50 (quick: 25).
Data behind it: fig_powerlaw.csv + .json (per α and τ: asymptotic and finite-size values).
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from ..analysis.deviation import relative_deviation
from ..limit.asymptotic import asymptotic_curves
from ..limit.contour_losses import ASYMPTOTIC_CONTOUR
from ..core.covariance import SigmaSpectrum
from ..runtime.io import write_result
from ..finite.ensemble import RFSetting, trajectory_ensemble
from ..runtime.progress import stages
from .style import figure, save, styled

T, PSI_P, PSI_N, CUTOFF = 0.01, 32.0, 4.0, 50


def _finite(sig: SigmaSpectrum, d: int, seeds: int, tau):
    """Seed mean and standard error (P2), each (2, K): excess train loss and score error at size d."""
    ens = trajectory_ensemble(range(seeds), tau, setting=RFSetting(d=d, psi_p=PSI_P, psi_n=PSI_N, t=T, sigma=sig))
    return (np.stack([ens.mean("train_excess"), ens.mean("score_error")]),
            np.stack([ens.sem("train_excess"), ens.sem("score_error")]))


@styled
def make(out_dir: Path, *, quick: bool = False, progress: bool = False) -> dict:
    out_dir = Path(out_dir)
    alphas = (0.5, 1.5) if quick else (0.5, 1.0, 1.5)
    cutoff = CUTOFF // 2 if quick else CUTOFF  # quick: K = 25, smaller matrices
    d = cutoff  # d = K: the finite-size Σ is exactly diag(k^{-α})/m_K
    seeds = 2 if quick else 4
    tau = np.geomspace(1.0, 1e6, 300)
    tau_m = np.geomspace(3.0, 3e5, 9)
    spectra = {a: SigmaSpectrum.power_law(a, cutoff) for a in alphas}
    curves = {a: asymptotic_curves(tau, psi_p=PSI_P, psi_n=PSI_N, t=T, sigma=spectra[a],
                                  contour=replace(ASYMPTOTIC_CONTOUR, check_quadrature=not quick))
              for a in alphas}
    finite = {a: _finite(spectra[a], d, seeds, tau_m) for a in stages(alphas, "finite size (closed form)", progress)}

    fig, axes = figure(1, 2, figsize=(8.6, 3.6))
    cols = {"alpha": [], "tau": [], "asym_train_excess": [], "asym_score_error": [], "finite_train_excess": [],
            "finite_train_se": [], "finite_score_error": [], "finite_score_se": []}
    worst = {}
    for i, a in enumerate(alphas):
        col, res = f"C{i}", curves[a]
        (F, se) = finite[a]
        A = np.stack([np.interp(np.log(tau_m), np.log(tau), res.excess("train_loss")),
                      np.interp(np.log(tau_m), np.log(tau), res.score_error)])
        worst[f"alpha={a:g}"] = float(np.max(relative_deviation(A, F)))
        for k, (ax, y) in enumerate(zip(axes, (res.excess("train_loss"), res.score_error))):
            ax.plot(tau, y, color=col, lw=1.5, label=rf"$\alpha={a:g}$, $d\to\infty$" if k == 0 else None)
            ax.errorbar(tau_m, F[k], yerr=se[k], fmt="o", color=col, ms=4, mfc="none", mew=0.9, capsize=2,
                        label=rf"$d={d}$, {seeds} seeds" if (k == 0 and i == 0) else None)
        for name, val in zip(cols, (np.full(tau_m.size, a), tau_m, A[0], A[1], F[0], se[0], F[1], se[1])):
            cols[name].append(val)
    for ax, lab in zip(axes, (r"train $(L_{\rm train}-L_{\rm opt})/\Delta$",
                              r"score error $(L_{\rm test}-L_{\rm opt})/\Delta$")):
        ax.set_xscale("log")
        ax.set_yscale("symlog", linthresh=1.0, linscale=0.5)
        ax.axhline(0, color="k", lw=0.6)
        ax.set(xlabel=r"training time $\tau$", ylabel=lab)
    for ax, ticks in zip(axes, ([-10, -1, 0, 1, 10], [0, 1, 10, 100, 1000])):
        ax.set_yticks(ticks, [f"{v:g}".replace("-", "\u2212") for v in ticks])
    axes[1].set_ylim(bottom=-0.3)
    axes[0].legend(frameon=False, fontsize=7.5, loc="lower left")
    fig.suptitle(rf"$\rho_\Sigma$: $\lambda_k\propto k^{{-\alpha}}$, $k=1..{cutoff}$, mean 1; tanh, $t={T:g}$, "
                 rf"$\psi_p={PSI_P:g}$, $\psi_n={PSI_N:g}$" + (" [quick]" if quick else ""), fontsize=10)
    files = [save(fig, out_dir / "fig_powerlaw.png")]
    params = {"t": T, "psi_p": PSI_P, "psi_n": PSI_N, "alphas": list(alphas), "cutoff": cutoff, "d": d,
              "n": round(PSI_N * d), "p": round(PSI_P * d), "seeds": seeds, "model": "gep",
              "draw_key": "draw_keys(seed), seeds 0.. (theory/model.md (P1))", "quick": quick}
    files.append(str(write_result(out_dir / "fig_powerlaw.csv", {k: np.concatenate(v) for k, v in cols.items()},
                                  params, max_rel_dev_asymptotic_vs_finite=worst,
                                  tau_gen={f"alpha={a:g}": curves[a].tau_gen for a in alphas},
                                  tau_mem={f"alpha={a:g}": curves[a].tau_mem for a in alphas})))
    return {"files": files, "parameters": {**params, "max_rel_dev_asymptotic_vs_finite": worst}}
