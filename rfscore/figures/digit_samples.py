"""Generated 8×8 digits over training time, each beside its nearest training image (theory/generation.md §8).

The random-features score trained in closed form at every grid time on the real digits
(exact noise-averaged matrices on the training rows, (Y1)), sampled by the reverse-time SDE
(Y3) at an early, a middle and the last training time τ, for a small and a larger training set.
Each generated image is drawn above its nearest training image with the nearest-neighbour
ratio r = ‖y - x_(1)‖/‖y - x_(2)‖ of (Y7) (a copy when r < 1/3). The images shown are the first
samples of the sampler's key (no selection). Samples live in the normalised space of (R3); they
are mapped back to pixels by the inverse of that map, the three always-zero pixels set to 0.

The readouts do not depend on the population matrices, so no held-out matrices are formed here
(the test loss and the Fréchet distance to held-out rows are `rfscore generate --data digits`).
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib import colormaps

from ..core.precision import float64
from ..generative.real_samples import SHOWN, digit_samples, sample_table, to_pixels
from ..runtime.io import write_result
from .digits import missing_extra  # the same figure wing: one check of the optional extra
from .style import figure, save, styled

compute, table = digit_samples, sample_table  # the former names of these library functions here


def _tau_label(t: float) -> str:
    return r"$\tau = \infty$" if math.isinf(t) else rf"$\tau = 10^{{{math.log10(t):.3g}}}$"


@float64
def mosaic(top, bottom, gap: int = 1) -> np.ndarray:
    """Two rows of k images (k, h, w) side by side as one array (2h + gap, k(w + gap) - gap), NaN in the gaps."""
    k, h, w = top.shape
    out = np.full((2 * h + gap, k * (w + gap) - gap), np.nan)
    for j in range(k):
        c = j * (w + gap)
        out[:h, c:c + w] = top[j]
        out[h + gap:, c:c + w] = bottom[j]
    return out


@styled
def plot(res, path) -> str:
    """Rows: n; columns: τ. Each panel: the first generated images (top) above their nearest training images."""
    runs, tau, ds = res["runs"], res["tau"], res["dataset"]
    k, T = SHOWN, len(tau)
    cmap = colormaps["gray_r"].with_extremes(bad="white")
    fig, axes = figure(len(runs), T, figsize=(3.3 * T, 2.2 * len(runs) + 0.3), squeeze=False, constrained_layout=True)
    for a, r in enumerate(runs):
        for i, t in enumerate(tau):
            ax = axes[a, i]
            gen = to_pixels(r["samples"][i][:k], ds)
            near = to_pixels(r["X"][r["nearest"][i][:k]], ds)
            ax.imshow(mosaic(gen, near), cmap=cmap, vmin=0, vmax=16, interpolation="nearest")
            side = gen.shape[2]
            for j in range(k):
                ratio = float(r["ratio"][i][j])
                ax.text(j * (side + 1) + side / 2 - 0.5, -0.9, f"r = {ratio:.2f}", ha="center", va="bottom",
                        fontsize=7, color="C3" if ratio < 1 / 3 else "k")
            ax.set_xticks([])
            ax.set_yticks([side / 2 - 0.5, 1.5 * side + 0.5], ["generated", "nearest\ntraining"] if i == 0 else ["", ""],
                          fontsize=7)
            ax.tick_params(length=0)
            for spine in ax.spines.values():
                spine.set_visible(False)
            ax.set_title(f"{_tau_label(t)}, n = {r['n']}: f_mem = {r['f_mem'][i]:.2f}", fontsize=8.5, pad=12)
    fig.suptitle(rf"random-features score on digits ($d = {res['d']}$, $p = {res['p']}$): first samples and their "
                 r"nearest training image; ratio r < 1/3 (red) is a copy", fontsize=9)
    return save(fig, path)


@float64
def parameters(quick: bool = False) -> dict:
    """The figure's sizes: chosen for the reproduce budget (≤ 10 s default on 2 cores)."""
    return dict(psi_p=4 if quick else 6, psi_n=[0.1, 1.0], tau=[1e2, 1e4, math.inf], times=6 if quick else 8,
                t_min=1e-3, t_max=3.0, samples=200 if quick else 400, seed=0, max_order=24, mehler_tol=1e-4,
                dataset="digits", activation="tanh", sampler="sde", steps_per_time=4)


@float64
def make(out_dir: Path, *, quick: bool = False, progress: bool = False) -> dict:
    """Generated digits at an early, a middle and the last τ beside their nearest training images."""
    out_dir = Path(out_dir)
    params = parameters(quick)
    missing = missing_extra()
    if missing:
        return {"files": [], "parameters": params, "skipped": missing}
    res = digit_samples(**{k: params[k] for k in ("psi_p", "psi_n", "tau", "times", "t_min", "t_max", "samples", "seed",
                                            "max_order", "mehler_tol")})
    tab = sample_table(res)
    params.update(d=res["d"], p=res["p"], n=[r["n"] for r in res["runs"]])
    csv = write_result(out_dir / "fig_digit_samples.csv", tab, params, dataset=res["dataset"].info(),
                       status=[{"n": r["n"], "converged": r["converged"], "error": r["error"]} for r in res["runs"]],
                       note="f_mem and ratio quartiles over all samples; shown_copies: fraction of copies among the "
                            f"{SHOWN} images drawn")
    return {"files": [str(csv), plot(res, out_dir / "fig_digit_samples.png")], "parameters": params}
