"""Paper Fig. 5C at the paper's parameters: the generalisation loss (L_test − L_train)/Δ_t
(theory/phase_diagram.md) over the (ψ_n, ψ_p) plane at τ = 10³ and τ = 10⁴, t = 0.1, from the
d → ∞ curves (A4)-(A5) on a log grid (stated in the manifest), with the line n = p and the
contour g = 10 of the default memorisation threshold (`rfscore phase --gap-threshold`).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.colors import LogNorm

from ...core.errors import ConvergenceError
from ...limit.asymptotic import asymptotic_curves
from ...runtime.io import write_result
from ..style import figure, save, styled
from ...runtime.progress import stages
from ...core.precision import float64

PAPER = dict(tau=[1e3, 1e4], t=0.1, activation="tanh", sigma="1:1", grid="not stated in the paper")
RUN = dict(tau=[1e3, 1e4], t=0.1, activation="tanh", sigma="1:1", psi_n=[1, 64, 13], psi_p=[1, 256, 13],
           gap_threshold=10.0)
QUICK = dict(RUN, psi_n=[1, 64, 4], psi_p=[1, 256, 4])


@float64
def axis(spec) -> np.ndarray:
    lo, hi, num = spec
    return np.geomspace(lo, hi, int(num))


@float64
def plane(cfg, progress=False) -> dict:
    """Columns psi_n, psi_p, tau, train_loss, test_loss, gen_loss, converged, quadrature_error."""
    psi_n, psi_p = axis(cfg["psi_n"]), axis(cfg["psi_p"])
    cols = {k: [] for k in ("psi_n", "psi_p", "tau", "train_loss", "test_loss", "gen_loss", "quadrature_error")}
    pairs = [(a, b) for b in psi_p for a in psi_n]
    for pn, pp in stages(pairs, "Fig. 5C: (ψ_n, ψ_p) grid", progress):
        res = asymptotic_curves(np.asarray(cfg["tau"], dtype=np.float64), psi_p=float(pp), psi_n=float(pn), t=cfg["t"])
        if not res.converged:
            raise ConvergenceError(f"d → ∞ curves did not converge at psi_p={pp:g}, psi_n={pn:g}, t={cfg['t']}")
        for j, tau in enumerate(cfg["tau"]):
            cols["psi_n"].append(float(pn))
            cols["psi_p"].append(float(pp))
            cols["tau"].append(float(tau))
            cols["train_loss"].append(float(res.train_loss[j]))
            cols["test_loss"].append(float(res.test_loss[j]))
            cols["gen_loss"].append(float((res.test_loss[j] - res.train_loss[j]) / res.delta_t))
            cols["quadrature_error"].append(float(res.diagnostics.get("quadrature_error", np.nan)))
    return cols


@styled
def make(out_dir: Path, *, quick: bool = False, progress: bool = False) -> dict:
    """Write fig5c_paper.png and fig5c_paper.csv (+ sidecar) into ``out_dir``."""
    cfg = QUICK if quick else RUN
    out_dir = Path(out_dir)
    cols = plane(cfg, progress)
    psi_n, psi_p = axis(cfg["psi_n"]), axis(cfg["psi_p"])
    g = np.asarray(cols["gen_loss"]).reshape(psi_p.size, psi_n.size, len(cfg["tau"]))
    pos = g[g > 0]
    norm = LogNorm(vmin=max(pos.min(), 1e-3), vmax=pos.max())
    fig, axes = figure(1, len(cfg["tau"]), figsize=(4.2 * len(cfg["tau"]), 3.6), constrained_layout=True)
    for j, (ax, tau) in enumerate(zip(axes, cfg["tau"])):
        mesh = ax.pcolormesh(psi_n, psi_p, np.clip(g[:, :, j], norm.vmin, None), norm=norm, shading="nearest",
                             cmap="viridis")
        if np.nanmin(g[:, :, j]) < cfg["gap_threshold"] < np.nanmax(g[:, :, j]):
            ax.contour(psi_n, psi_p, g[:, :, j], levels=[cfg["gap_threshold"]], colors="w", linewidths=1.2)
        ax.plot(psi_n, psi_n, "w--", lw=1)
        ax.set(xscale="log", yscale="log", xlabel=r"$\psi_n = n/d$", ylabel=r"$\psi_p = p/d$",
               title=rf"$\tau = 10^{{{np.log10(tau):.0f}}}$", xlim=(psi_n[0], psi_n[-1]), ylim=(psi_p[0], psi_p[-1]))
    fig.colorbar(mesh, ax=axes, label=r"$(\mathcal{L}_{test} - \mathcal{L}_{train})/\Delta_t$")
    fig.suptitle(rf"Fig. 5C (d → ∞): tanh, $\Sigma = I$, $t$ = {cfg['t']:g}; dashed: n = p; white: gap = "
                 f"{cfg['gap_threshold']:g}", fontsize=9)
    png = save(fig, out_dir / "fig5c_paper.png")
    params = dict(cfg, quick=quick, grid_psi_n=list(psi_n), grid_psi_p=list(psi_p))
    csv = write_result(out_dir / "fig5c_paper.csv", cols, params)
    diffs = [f"d → ∞ theory on a {psi_n.size}×{psi_p.size} log grid ψ_n ∈ [{psi_n[0]:g}, {psi_n[-1]:g}], "
             f"ψ_p ∈ [{psi_p[0]:g}, {psi_p[-1]:g}] in place of the paper's finite-size simulations; finite-size "
             "phase diagrams at any d: `rfscore phase`"]
    return {"files": [png, str(csv), str(csv.with_suffix(".json"))], "paper_parameters": PAPER, "parameters": params,
            "differences": diffs}
