"""Paper Fig. 5B at the paper's parameters: train loss (L1) and test loss (L2) against τ, the runs
of Fig. 5A (shared through the cache of `curves.paper_curves`). The dotted line is
L_opt = 1 − Δ_t Tr Σ_t⁻¹/d of (L3): a train loss below it is memorisation.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ...runtime.io import write_result
from ..style import figure, save, styled
from .curves import rows_of
from .fig5a import PAPER, config, differences, markers, run


@styled
def make(out_dir: Path, *, quick: bool = False, progress: bool = False) -> dict:
    """Write fig5b_losses.png and fig5b_paper.csv (+ sidecar) into ``out_dir``."""
    cfg = config(quick)
    out_dir = Path(out_dir)
    curves = run(cfg, progress)
    gd = markers(cfg, quick)
    fig, ax = figure(1, 1, figsize=(6.2, 4.4))
    l_opt = float(curves[0].limit.l_opt)
    for i, c in enumerate(curves):
        colour = f"C{i}"
        ax.semilogx(c.tau, c.limit.test_loss, color=colour, label=rf"test, $\psi_n = {c.psi_n:g}$")
        ax.semilogx(c.tau, c.limit.train_loss, color=colour, ls="--", label=rf"train, $\psi_n = {c.psi_n:g}$")
        for key in ("test_loss", "train_loss"):
            m, s = c.finite_mean(key), c.finite_std(key)
            ax.fill_between(c.tau, m - s, m + s, color=colour, alpha=0.2, lw=0)
        if c.psi_n in gd:
            g = gd[c.psi_n]
            ax.semilogx(g["tau"], g["test_loss"], "o", ms=3.2, mfc="none", color=colour)
            ax.semilogx(g["tau"], g["train_loss"], "^", ms=3.2, mfc="none", color=colour)
            for key in ("test_loss_flow", "train_loss_flow"):  # the closed form of the markers' own draw
                ax.semilogx(g["tau"], g[key], color=colour, lw=0.6, alpha=0.7)
    ax.axhline(l_opt, color="k", ls=":", lw=1.2)
    ax.annotate(r"$L_{opt} = 1 - \Delta_t\,\mathrm{Tr}\,\Sigma_t^{-1}/d$", (curves[0].tau[0], l_opt),
                xytext=(2, -11), textcoords="offset points", fontsize=8)
    lo = min(l_opt, min(float(np.min(c.limit.train_loss)) for c in curves))
    ax.set(xlabel=r"$\tau$", ylabel=r"$\mathcal{L}$", ylim=(lo - 0.1 * (1 - lo), 1.0 + 0.3 * (1 - lo)))
    ax.legend(ncol=2, fontsize=7, title=f"lines: d → ∞; bands: d = {cfg['d']}, {len(cfg['seeds'])} seeds "
                                        "(mean ± s.d.); markers: GD (test ○, train △) at d = "
                                        f"{next(iter(gd.values()))['d'] if gd else '-'}, thin: its draw's flow",
              title_fontsize=7.5, loc="lower left")
    ax.set_title(rf"Fig. 5B: tanh, $\Sigma = I$, $\psi_p$ = {cfg['psi_p']:g}, $t$ = {cfg['t']:g}", fontsize=9)
    png = save(fig, out_dir / "fig5b_losses.png")
    params = dict(cfg, p=[c.p for c in curves], n=[c.n for c in curves], model="gep", quick=quick)
    csv = write_result(out_dir / "fig5b_paper.csv", rows_of(curves), params, l_opt=l_opt)
    return {"files": [png, str(csv), str(csv.with_suffix(".json"))], "paper_parameters": PAPER,
            "parameters": params, "differences": differences(cfg, quick)}
