"""Paper Fig. 5A at the paper's parameters: score error E_score (L3) against τ for several ψ_n,
and in the inset the same against τ/τ_mem with τ_mem = ψ_p/(Δ_t λ_min), which collapses them.

λ_min is read as the location of the d small (memorisation) eigenvalues of U,
s_t² + ψ_p b_t² v_t²/(ψ_n α) (theory/spectrum.md §5, the λ of (T3)). The lower edge of the
continuous spectrum from (S1)-(S3) collapses the curves less well (measured at d → ∞, ψ_p = 64,
t = 0.1, ψ_n = 4 … 32: spread 2.2× against 1.5×), because the rise of E_score is the learning of
the whole cluster, not of its edge. The collapse is quantified by τ_rise, the τ after the minimum
of E_score where it reaches the geometric midpoint of its minimum and its τ → ∞ value: the spread
is max/min over ψ_n of τ_rise/τ_mem (rescaled) against max/min of τ_rise (raw).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ...analysis.score_rise import lambda_min, rise_collapse, tau_rise  # noqa: F401 (lambda_min, tau_rise: public here too)
from ...runtime.io import write_result
from ..style import figure, save, styled
from .curves import GD, GD_QUICK, gd_markers, paper_curves, rows_of
from ...runtime.progress import stages
from ...core.precision import float64

PAPER = dict(psi_p=64.0, psi_n=[4.0, 8.0, 16.0, 32.0], t=0.1, d=100, activation="tanh", sigma="1:1",
             tau_mem="psi_p/(Delta_t lambda_min)", lambda_min="s_t^2 + small cluster (theory/spectrum.md §5)")
RUN = dict(PAPER, seeds=[0, 1, 2], tau=[1e-1, 1e6, 241])
QUICK = dict(RUN, psi_n=[4.0, 16.0], d=20, seeds=[0, 1, 2], tau=[1e-1, 1e6, 121])


@float64
def config(quick: bool) -> dict:
    return QUICK if quick else RUN


@float64
def tau_grid(cfg) -> tuple:
    lo, hi, num = cfg["tau"]
    return tuple(np.geomspace(lo, hi, int(num)))


@float64
def collapse(curves, t: float) -> dict:
    """τ_mem, τ_rise per ψ_n and the raw and rescaled spreads of the d → ∞ curves (`PaperCurves` of one
    ψ_p, σ), by `rfscore.analysis.score_rise.rise_collapse`."""
    c0 = curves[0]
    return rise_collapse(c0.psi_p, [c.psi_n for c in curves], t, c0.sigma, c0.tau,
                         [c.limit.score_error for c in curves], c0.limit.delta_t)


@float64
def run(cfg, progress=False):
    tau = tau_grid(cfg)
    return [paper_curves(cfg["psi_p"], pn, cfg["t"], cfg["sigma"], cfg["d"], tuple(cfg["seeds"]), tau)
            for pn in stages(cfg["psi_n"], "Fig. 5A-B: ψ_n", progress)]


@float64
def markers(cfg, quick: bool) -> dict:
    """GD markers (curves.gd_markers) for the ψ_n of `GD` that the figure draws: {ψ_n: markers}."""
    g = GD_QUICK if quick else GD
    return {pn: gd_markers(cfg["psi_p"], pn, cfg["t"], cfg["sigma"], quick) for pn in g["psi_n"] if pn in cfg["psi_n"]}


@float64
def differences(cfg, quick) -> list:
    g = GD_QUICK if quick else GD
    out = ["lines: d → ∞ theory (A4)-(A5), (L3), which the paper did not draw; bands: exact closed-form "
           f"gradient flow (D3)-(D4) of the Gaussian-equivalent model at d = {cfg['d']}, mean ± 1 s.d. over "
           f"{len(cfg['seeds'])} seeds (the flow is the η → 0 limit of GD, checked against GD runs in "
           "tests/test_simulation.py)",
           f"markers: simulated GD on the sampled-noise loss ({g['noise_samples']} fresh noise draws per point per "
           f"step) at d = {g['d']} instead of the paper's d = 100 (a GD step at d = 100 costs ~1 s), one draw, "
           f"ψ_n = {', '.join(f'{x:g}' for x in g['psi_n'])} only, {g['record']} records per τ window up to "
           f"τ = {g['tau_max']:g}; beside each, a thin line: the closed form of the same draw",
           "time: τ of theory/model.md §4 (the paper's τ = kη/d² with the score normalised by 1/√p)"]
    if quick:
        out.append(f"quick: d = {cfg['d']}, ψ_n = {cfg['psi_n']} instead of the paper's d = 100, ψ_n = 4, 8, 16, 32")
    return out


@float64
def gd_rows(gd: dict) -> dict:
    """CSV columns of the GD markers: one row per (ψ_n, record), simulated and closed-form losses."""
    keys = ("tau", "train_loss", "test_loss", "score_error", "train_loss_flow", "test_loss_flow", "score_error_flow")
    cols = {k: [] for k in ("psi_n", "d", "p", "n") + keys}
    for pn, g in gd.items():
        R = len(g["tau"])
        for k in ("d", "p", "n"):
            cols[k] += [g[k]] * R
        cols["psi_n"] += [pn] * R
        for k in keys:
            cols[k] += list(np.asarray(g[k]))
    return cols


@styled
def make(out_dir: Path, *, quick: bool = False, progress: bool = False) -> dict:
    """Write fig5a_score_error.png and fig5ab_paper.csv (+ sidecar) into ``out_dir``."""
    cfg = config(quick)
    out_dir = Path(out_dir)
    curves = run(cfg, progress)
    col = collapse(curves, cfg["t"])
    gd = markers(cfg, quick)
    fig, ax = figure(1, 1, figsize=(6.2, 4.4))
    inset = ax.inset_axes([0.58, 0.12, 0.38, 0.38])
    for i, (c, tm) in enumerate(zip(curves, col["tau_mem"])):
        colour = f"C{i}"
        ax.loglog(c.tau, c.limit.score_error, color=colour, label=rf"$\psi_n = {c.psi_n:g}$ (n = {c.n})")
        m, s = c.finite_mean("score_error"), c.finite_std("score_error")
        ax.fill_between(c.tau, np.maximum(m - s, 1e-12), m + s, color=colour, alpha=0.25, lw=0)
        ax.loglog(c.tau, m, color=colour, lw=0.8, ls="--")
        inset.loglog(c.tau / tm, c.limit.score_error, color=colour, lw=1.1)
        if c.psi_n in gd:
            g = gd[c.psi_n]
            ax.loglog(g["tau"], g["score_error"], "o", ms=3.2, mfc="none", color=colour)
            ax.loglog(g["tau"], g["score_error_flow"], color=colour, lw=0.6, alpha=0.7)
    inset.set_xlabel(r"$\tau/\tau_{mem}$", fontsize=8)
    inset.set_ylabel(r"$E_{score}$", fontsize=8)
    inset.tick_params(labelsize=7)
    inset.set_title(rf"spread of $\tau_{{rise}}$: {col['spread_raw']:.2f}× → {col['spread_rescaled']:.2f}×",
                    fontsize=7)
    ax.set(xlabel=r"$\tau$", ylabel=r"$E_{score}$")
    g = GD_QUICK if quick else GD
    ax.legend(title=f"lines: d → ∞; dashed + band: d = {cfg['d']},\n{len(cfg['seeds'])} seeds (mean ± s.d.); "
                    f"markers: GD at d = {g['d']}",
              title_fontsize=7.5, fontsize=7.5, loc="upper left")
    ax.set_title(rf"Fig. 5A: tanh, $\Sigma = I$, $\psi_p$ = {cfg['psi_p']:g}, $t$ = {cfg['t']:g}; inset "
                 r"$\tau_{mem} = \psi_p/(\Delta_t\lambda_{min})$", fontsize=9)
    png = save(fig, out_dir / "fig5a_score_error.png")
    params = {k: v for k, v in cfg.items()}
    params.update(p=[c.p for c in curves], n=[c.n for c in curves], model="gep", quick=quick)
    csv = write_result(out_dir / "fig5ab_paper.csv", rows_of(curves), params, collapse=col)
    gcsv = write_result(out_dir / "fig5ab_paper_gd.csv", gd_rows(gd), dict(params, gd=dict(g)))
    return {"files": [png, str(csv), str(csv.with_suffix(".json")), str(gcsv), str(gcsv.with_suffix(".json"))],
            "paper_parameters": PAPER,
            "parameters": params, "differences": differences(cfg, quick), "collapse": col}
