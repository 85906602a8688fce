"""Paper Fig. 5C and Fig. 1 (right): generalisation loss and regimes in the (ψ_n, ψ_p) plane."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.colors import ListedColormap, LogNorm

from ..analysis.phase import HEADER, REGIMES, PhaseDiagram, PhaseFlow, phase_diagram
from ..core.precision import float64
from ..runtime.io import write_result
from .style import figure, save, styled

_REGIME_COLOURS = ("#d95f02", "#7570b3", "#1b9e77")
_LABELS = {"memorization": "memorisation", "dynamical_regularization": "dynamical regularisation",
           "architectural_regularization": "architectural regularisation"}


def _tau_label(t: float) -> str:
    return r"$\tau\to\infty$" if np.isinf(t) else rf"$\tau = 10^{{{np.log10(t):.3g}}}$"


@styled
def plot_phase(pd: PhaseDiagram, path) -> str:
    """Left: (L_test − L_train)/Δ at each τ (one panel per τ). Right: regime map at the largest
    finite τ with the memorisation boundary g = g* for every τ and the line n = p."""
    taus = np.unique(pd.tau)
    fig, axes = figure(1, taus.size + 1, figsize=(3.3 * (taus.size + 1), 3.1), constrained_layout=True)
    g_all = pd.gen_loss / pd.delta_t
    pos = g_all[g_all > 0]
    norm = LogNorm(vmin=max(pos.min(), 1e-3), vmax=pos.max()) if pos.size else None
    for ax, t in zip(axes, taus):
        pn, pp, g = pd.grid(t)
        im = ax.pcolormesh(pn, pp, np.clip(g / pd.delta_t, norm.vmin if norm else 0, None), norm=norm,
                           shading="nearest", cmap="viridis")
        ax.contour(pn, pp, g / pd.delta_t, levels=[pd.gap_threshold], colors="w", linewidths=1.2)
        ax.set(xscale="log", yscale="log", xlabel=r"$\psi_n = n/d$", ylabel=r"$\psi_p = p/d$", title=_tau_label(t))
    fig.colorbar(im, ax=axes[:-1], label=r"$(\mathcal{L}_{test}-\mathcal{L}_{train})/\Delta_t$", shrink=0.85)

    ax = axes[-1]
    ref = taus[np.isfinite(taus)].max() if np.any(np.isfinite(taus)) else taus[-1]
    pn, pp, reg = pd.grid(ref, "regime")
    codes = np.vectorize(REGIMES.index)(reg)
    ax.pcolormesh(pn, pp, codes, cmap=ListedColormap(_REGIME_COLOURS), vmin=-0.5, vmax=2.5, shading="nearest", alpha=0.8)
    for t, ls in zip(taus, ("--", "-.", ":", "-", (0, (1, 1)))):
        bp, bn = pd.boundary(t)
        ok = np.isfinite(bn)
        ax.plot(bn[ok], bp[ok], color="k", ls=ls if np.isfinite(t) else "-", lw=1.6, label=f"boundary, {_tau_label(t)}")
    lim = [min(pn.min(), pp.min()), max(pn.max(), pp.max())]
    ax.plot(lim, lim, color="0.4", lw=0.8, label=r"$n = p$")
    for code, name in enumerate(REGIMES):
        ax.scatter([], [], marker="s", color=_REGIME_COLOURS[code], label=_LABELS[name])
    ax.set(xscale="log", yscale="log", xlim=(pn.min(), pn.max()), ylim=(pp.min(), pp.max()),
           xlabel=r"$\psi_n = n/d$", ylabel=r"$\psi_p = p/d$", title=f"regimes at {_tau_label(ref)}")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    fig.suptitle(rf"memorisation threshold $(\mathcal{{L}}_{{test}}-\mathcal{{L}}_{{train}})/\Delta_t \geq {pd.gap_threshold:g}$",
                 fontsize=9)
    return save(fig, path)


@float64
def make(out_dir: Path, *, quick: bool = False, progress: bool = False) -> dict:
    """Fig. 5C: the (ψ_n, ψ_p) phase diagram at τ = 10², 10⁴, 10⁵ and ∞ (Gaussian-equivalent model)."""
    out_dir = Path(out_dir)
    n_grid = 6 if quick else 12
    params = dict(psi_n=np.geomspace(1, 64, n_grid).round(3).tolist(), psi_p=np.geomspace(2, 64, n_grid).round(3).tolist(),
                  tau=[1e2, 1e4, 1e5, np.inf], d=12 if quick else 32, t=0.01, activation="tanh", sigma="1:1",
                  seed=0, model="gep", gap_threshold=10.0)
    # the sidecar records the flat parameters; the model is the field of the diagram's PhaseFlow
    pd = phase_diagram(**{k: v for k, v in params.items() if k != "model"}, flow=PhaseFlow(model=params["model"]))
    csv = write_result(out_dir / "fig5c_phase.csv", pd.columns(), params, header=HEADER, delta_t=pd.delta_t)
    png = plot_phase(pd, out_dir / "fig5c_phase.png")
    return {"files": [str(csv), png], "parameters": params}
