"""Paper SM Fig. 12: Fig. 5A-B for data of variance σ_x² ≠ 1 (Σ = σ_x² I, σ_x = 2 and 0.5).

ψ_p = 64, ψ_n = 4, 8, 16, 32, t = 0.1, d = 100, tanh. The data variance enters three places:
the constants (G1)-(G3) through the pre-activation scale Γ² = e^{-2t} σ_x² + Δ_t (σ_x² = Tr Σ/d),
U_pop through W Σ Wᵀ/d (G5), and L_opt = 1 − Δ_t Tr Σ_t⁻¹/d (L3). Constants computed for a
unit-variance pre-activation (σ_x = 1) whatever the data — the convention of the paper's released
scripts — give other curves: the figure draws them (dotted, finite size, ψ_n = 8) beside the right
ones, and `tests/test_paper_figures.py` checks at finite size that the exact non-linear matrices
(E1)-(E3) follow the σ_x-aware constants and not the σ_x = 1 ones.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ...core.constants import ge_constants
from ...core.covariance import ISOTROPIC, SigmaSpectrum
from ...finite.inputs import sizes
from ...finite.ensemble import RFSetting, trajectory_ensemble
from ...runtime.io import write_result
from ..style import figure, save, styled
from .curves import KEYS, paper_curves, rows_of
from .fig5a import collapse, tau_grid
from ...runtime.progress import stages
from ...core.precision import float64

SIGMAS = {2.0: "4:1", 0.5: "0.25:1"}  # σ_x → the SigmaSpectrum of Σ = σ_x² I
PAPER = dict(psi_p=64.0, psi_n=[4.0, 8.0, 16.0, 32.0], t=0.1, d=100, activation="tanh",
             sigma_x=list(SIGMAS), sigma=list(SIGMAS.values()))
RUN = dict(PAPER, seeds=[0, 1, 2], tau=[1e-1, 1e6, 161], unit_constants_psi_n=8.0)
QUICK = dict(RUN, psi_n=[4.0, 16.0], d=20, tau=[1e-1, 1e6, 81], unit_constants_psi_n=4.0)


@float64
def unit_constant_curves(psi_p: float, psi_n: float, t: float, sigma: str, d: int, seeds, tau) -> dict:
    """Finite-size (G4)-(G6) curves for data Σ = ``sigma`` but with the constants (G1)-(G3) of σ_x = 1.

    Same draws as `curves.paper_curves` (the recipe (P1) of each seed), so the only difference is the
    constants. Returns {key: (seeds, T)} for train_loss, test_loss, score_error.
    """
    spec = SigmaSpectrum.parse(sigma)
    wrong = ge_constants(t, "tanh", ISOTROPIC)
    p, n = sizes(d, psi_p, psi_n)
    ens = trajectory_ensemble(seeds, np.asarray(tau), setting=RFSetting(d=d, psi_p=psi_p, psi_n=psi_n, t=t, sigma=spec),
                              constants=wrong, thin=(n + d < p))
    return {k: ens[k] for k in KEYS}


@float64
def differences(cfg, quick) -> list:
    out = ["lines: d → ∞ theory (A4)-(A5), (L3); bands: exact closed-form gradient flow (D3)-(D4) of the "
           f"Gaussian-equivalent model at d = {cfg['d']}, mean ± 1 s.d. over {len(cfg['seeds'])} seeds, in place "
           "of the paper's simulated GD",
           f"dotted: the same finite-size flow at ψ_n = {cfg['unit_constants_psi_n']:g} with the constants "
           "(G1)-(G3) of σ_x = 1 (a unit-variance pre-activation), the convention of the paper's released "
           "scripts; rfscore's constants use Γ² = e^{-2t} σ_x² + Δ_t",
           "time: τ of theory/model.md §4 (conventions table there)"]
    if quick:
        out.append(f"quick: d = {cfg['d']}, ψ_n = {cfg['psi_n']} instead of the paper's d = 100, ψ_n = 4, 8, 16, 32")
    return out


@styled
def make(out_dir: Path, *, quick: bool = False, progress: bool = False) -> dict:
    """Write sm12_sigma_x.png and sm12_sigma_x.csv (+ sidecar) into ``out_dir``."""
    cfg = QUICK if quick else RUN
    out_dir = Path(out_dir)
    tau = tau_grid(cfg)
    fig, axes = figure(2, 2, figsize=(10.5, 7.8), constrained_layout=True)
    all_curves, unit_rows, collapses = [], {"sigma_x": [], "psi_n": [], "tau": []}, {}
    for k in KEYS:
        unit_rows[k + "_unit_constants"] = []
    jobs = [(sx, pn) for sx in SIGMAS for pn in cfg["psi_n"]]
    done = {}
    for sx, pn in stages(jobs, "SM Fig. 12: (σ_x, ψ_n)", progress):
        done[sx, pn] = paper_curves(cfg["psi_p"], pn, cfg["t"], SIGMAS[sx], cfg["d"], tuple(cfg["seeds"]), tau)
    for row, sx in enumerate(SIGMAS):
        curves = [done[sx, pn] for pn in cfg["psi_n"]]
        all_curves += curves
        collapses[f"{sx:g}"] = collapse(curves, cfg["t"])
        unit = unit_constant_curves(cfg["psi_p"], cfg["unit_constants_psi_n"], cfg["t"], SIGMAS[sx], cfg["d"],
                                    cfg["seeds"], tau)
        unit_rows["sigma_x"] += [sx] * len(tau)
        unit_rows["psi_n"] += [cfg["unit_constants_psi_n"]] * len(tau)
        unit_rows["tau"] += list(tau)
        for k in KEYS:
            unit_rows[k + "_unit_constants"] += list(unit[k].mean(axis=0))
        ax_e, ax_l = axes[row]
        l_opt = float(curves[0].limit.l_opt)
        for i, c in enumerate(curves):
            colour = f"C{i}"
            ax_e.loglog(c.tau, c.limit.score_error, color=colour, label=rf"$\psi_n = {c.psi_n:g}$")
            m, s = c.finite_mean("score_error"), c.finite_std("score_error")
            ax_e.fill_between(c.tau, np.maximum(m - s, 1e-12), m + s, color=colour, alpha=0.25, lw=0)
            ax_l.semilogx(c.tau, c.limit.test_loss, color=colour, label=rf"test, $\psi_n = {c.psi_n:g}$")
            ax_l.semilogx(c.tau, c.limit.train_loss, color=colour, ls="--", label=rf"train, $\psi_n = {c.psi_n:g}$")
            for key in ("test_loss", "train_loss"):
                m, s = c.finite_mean(key), c.finite_std(key)
                ax_l.fill_between(c.tau, m - s, m + s, color=colour, alpha=0.2, lw=0)
        j = cfg["psi_n"].index(cfg["unit_constants_psi_n"])
        ue = unit["score_error"].mean(axis=0)
        ax_e.loglog(tau, np.where(ue > 0, ue, np.nan), color=f"C{j}", ls=":", lw=1.6,
                    label=rf"$\sigma_x = 1$ constants, $\psi_n = {cfg['unit_constants_psi_n']:g}$")
        ax_l.semilogx(tau, unit["test_loss"].mean(axis=0), color=f"C{j}", ls=":", lw=1.6,
                      label=r"test, $\sigma_x = 1$ constants")
        ax_l.axhline(l_opt, color="k", ls=":", lw=1.0)
        ax_l.annotate(r"$L_{opt}$", (tau[0], l_opt), xytext=(2, -11), textcoords="offset points", fontsize=8)
        ax_e.set(xlabel=r"$\tau$", ylabel=r"$E_{score}$")
        ax_l.set(xlabel=r"$\tau$", ylabel=r"$\mathcal{L}$")
        ax_e.set_title(rf"$\sigma_x = {sx:g}$: score error (lines d → ∞, bands d = {cfg['d']})", fontsize=9)
        ax_l.set_title(rf"$\sigma_x = {sx:g}$: train (dashed) and test loss", fontsize=9)
        ax_e.legend(fontsize=7)
        ax_l.legend(fontsize=6.5, ncol=2)
    fig.suptitle(rf"SM Fig. 12: tanh, $\Sigma = \sigma_x^2 I$, $\psi_p$ = {cfg['psi_p']:g}, $t$ = {cfg['t']:g}, "
                 f"{len(cfg['seeds'])} seeds", fontsize=10)
    png = save(fig, out_dir / "sm12_sigma_x.png")
    params = dict(cfg, p=[c.p for c in all_curves[:len(cfg['psi_n'])]], n=[c.n for c in all_curves[:len(cfg['psi_n'])]],
                  model="gep", quick=quick)
    cols = rows_of(all_curves)
    csv = write_result(out_dir / "sm12_sigma_x.csv", cols, params, collapse=collapses)
    ucsv = write_result(out_dir / "sm12_unit_constants.csv", unit_rows, params)
    return {"files": [png, str(csv), str(csv.with_suffix(".json")), str(ucsv), str(ucsv.with_suffix(".json"))],
            "paper_parameters": PAPER, "parameters": params, "differences": differences(cfg, quick),
            "collapse": collapses}
