"""Finite noise samples m and ridge λ: the interpolation peak at ψ_p = mψ_n, its scaling, the ridge
envelope, and what m does along training time (theory/finite_noise_ridge.md).

fig_noise_ridge.png, eight panels at tanh, t = 0.1, Σ = I:
(a) τ = ∞ test loss against ψ_p at ψ_n = 2, λ = 10⁻³ for m = 1, 4, 16, ∞ (d → ∞, (F11)), the points
    ψ_p = mψ_n dotted, with finite-size markers (exact closed form of the frozen-draw GEP model,
    (F1)-(F3), d = 8, seeds 0-2 (P1), mean ± s.d. (P2)) for m = 4 at ψ_p ≤ 32;
(b) the same against ψ_p/ψ_n for m = 1, 4, 16 and ψ_n = 2 (solid), 1 (dashed): the peaks sit at p/n = m,
    i.e. at ψ_p/(mψ_n) = 1, for both ψ_n;
(c) ψ_n = 2, m = 4 for λ = 10⁻³, 10⁻¹, 10 and the optimally tuned ridge, min over log λ ∈ [−5, 5]
    (bounded scalar minimisation per ψ_p, λ* recorded): the envelope falls monotonically with ψ_p;
(d) along τ at ψ_p = 32, ψ_n = 2, λ = 10⁻³: test loss (solid) and train loss (dashed) of the frozen-draw
    flow at d = 8 (3 seeds) for m = 1, 4, 16, ∞ — with fewer draws the train loss falls and the test loss
    rises sooner (the N = nm frozen points are fitted earlier), while the τ = ∞ level depends on where ψ_p
    sits relative to the peak at mψ_n (panel a).
(e) the bias–variance split of the τ = ∞ test loss over the frozen noise (W, X fixed), λ = 10⁻³, against ψ_p for m = 1
    and 4: d → ∞ lines (F14) and finite-size markers (F6, the unbiased split over R = 4 resamplings, mean over
    3 draws of (W, X), d = 8): the variance carries the interpolation peak;
(f) the empirical test loss (F4) against the test loss at τ = ∞ (d → ∞, (F11), (F13)) for m = 1, 4, 16 at
    ψ_n = 2: the gap between them (memorisation of the training points) opens past ψ_p ≈ ψ_n;
(g) panel (b)'s curves against ψ_p/(mψ_n) = p/(nm): the peaks of every m and ψ_n line up at 1;
(h) d → ∞ along τ at ψ_p = 32, ψ_n = 2, λ = 10⁻³: test, empirical test ((F13), (F15)) and train loss for
    m = 1, 4, 16, ∞ (the d → ∞ counterpart of panel d).
Data: fig_noise_ridge.csv + .json.
"""
from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..analysis.noise_ridge import (interpolation_peak, noise_split_finite, noise_split_limit, ridge_envelope,
                                    limit_test_loss)
from ..finite.ensemble import RFSetting, frozen_noise_ensemble
from ..limit.contour_losses import FINITE_NOISE_CONTOUR
from ..limit.finite_noise import finite_noise_curves
from ..runtime.progress import stages
from ..runtime.io import write_result
from .style import figure, save, styled

T, PSI_N, RIDGE = 0.1, 2.0, 1e-3
MS = (1, 4, 16, None)


def _lab(m):
    return "∞" if m is None else str(m)


def _limit(psi_p, psi_n, m, lam):
    return limit_test_loss(psi_p, psi_n, t=T, noise_samples=m, ridge=lam)


def _finite(psi_p, psi_n, m, lam, d, seeds, tau):
    """The frozen-draw GEP flow at size d over ``seeds`` seeds (one ensemble (P2), keys (P1))."""
    return frozen_noise_ensemble(range(seeds), tau, setting=RFSetting(d=d, psi_p=psi_p, psi_n=psi_n, t=T),
                                 noise_samples=m, ridge=lam)


@styled
def make(out_dir: Path, *, quick: bool = False, progress: bool = False) -> dict:
    out_dir = Path(out_dir)
    num = 10 if quick else 14
    d, seeds = (6, 3) if quick else (8, 3)
    grid = np.geomspace(1.0, 128.0, num)
    cols = {k: [] for k in ("panel", "psi_p", "psi_n", "noise_samples", "ridge", "tau", "test_loss", "train_loss",
                            "test_loss_finite", "test_loss_finite_std")}

    def row(panel, pp, pn, m, lam, tau, test, train=np.nan, fin=np.nan, fin_sd=np.nan):
        for k, v in zip(cols, (panel, pp, pn, math.inf if m is None else m, lam, tau, test, train, fin, fin_sd)):
            cols[k].append(v)

    fig, axes = figure(2, 4, figsize=(20.0, 7.8))
    fig.subplots_adjust(hspace=0.38, wspace=0.28, top=0.91)
    ax = axes[0, 0]
    peaks, curves_a = {}, {}
    for i, m in enumerate(stages(MS, "noise_ridge: m", progress)):
        pk = interpolation_peak(grid, PSI_N, t=T, noise_samples=m, ridge=RIDGE)
        te = pk.test_loss
        curves_a[m] = te
        peaks[_lab(m)] = pk.peak
        ax.plot(grid, te, color=f"C{i}", label=rf"$m$ = {_lab(m)}")
        if m is not None:
            ax.axvline(m * PSI_N, color=f"C{i}", ls=":", lw=0.9)
        for x, y in zip(grid, te):
            row("a", x, PSI_N, m, RIDGE, math.inf, y)
    marks = np.array([2.0, 4.0, 8.0, 16.0, 32.0])
    fin = [_finite(x, PSI_N, 4, RIDGE, d, seeds, [np.inf]) for x in marks]
    ax.errorbar(marks, [f.mean("test_loss")[0] for f in fin], yerr=[f.std("test_loss")[0] for f in fin], fmt="o",
                ms=3.5, color="C1", lw=0.9, label=f"m = 4, d = {d} ({seeds} seeds)")
    for x, f in zip(marks, fin):
        row("a_finite", x, PSI_N, 4, RIDGE, math.inf, _limit(x, PSI_N, 4, RIDGE), fin=f.mean("test_loss")[0],
            fin_sd=f.std("test_loss")[0])
    ax.set(xscale="log", yscale="log", xlabel=r"$\psi_p$", ylabel=r"test loss $\mathcal{L}_{test}(\tau=\infty)$",
           title=rf"(a) $\psi_n$ = {PSI_N:g}, $\lambda$ = {RIDGE:g}; dotted: $\psi_p = m\psi_n$")
    ax.legend(fontsize=7.5)

    ax = axes[0, 1]
    peaks_pn1, curves_b = {}, {}
    for i, m in enumerate(MS[:3]):
        pk1 = interpolation_peak(grid / PSI_N, 1.0, t=T, noise_samples=m, ridge=RIDGE)  # ψ_n = 1 on the same p/n grid
        te1 = pk1.test_loss
        curves_b[m] = te1
        peaks_pn1[_lab(m)] = pk1.peak
        ax.plot(grid / PSI_N, curves_a[m], color=f"C{i}", label=rf"$m$ = {_lab(m)}, $\psi_n$ = {PSI_N:g}")
        ax.plot(grid / PSI_N, te1, color=f"C{i}", ls="--", label=rf"$m$ = {_lab(m)}, $\psi_n$ = 1")
        ax.axvline(m, color=f"C{i}", ls=":", lw=0.9)
        for x, y in zip(grid / PSI_N, te1):
            row("b", x, 1.0, m, RIDGE, math.inf, y)
    ax.set(xscale="log", yscale="log", xlabel=r"$\psi_p/\psi_n = p/n$", ylabel=r"$\mathcal{L}_{test}(\tau=\infty)$",
           title=r"(b) rescaled by $\psi_n$: the peaks sit at $p/n = m$ (dotted)")
    ax.legend(fontsize=6.5, ncol=2)

    ax = axes[0, 3]
    for i, m in enumerate(MS[:3]):  # ψ_p/(mψ_n) = p/(nm): the interpolation threshold of the N = nm frozen points
        ax.plot(grid / (PSI_N * m), curves_a[m], color=f"C{i}", label=rf"$m$ = {m}, $\psi_n$ = {PSI_N:g}")
        ax.plot(grid / (PSI_N * m), curves_b[m], color=f"C{i}", ls="--", label=rf"$m$ = {m}, $\psi_n$ = 1")
    ax.axvline(1.0, color="k", ls=":", lw=0.9)
    ax.set(xscale="log", yscale="log", xlabel=r"$\psi_p/(m\psi_n) = p/(nm)$", ylabel=r"$\mathcal{L}_{test}(\tau=\infty)$",
           title=r"(g) rescaled by $m\psi_n$: every peak at $p = nm$")
    ax.legend(fontsize=6.5, ncol=2)

    ax = axes[1, 3]
    tau_g = np.geomspace(1.0, 1e6, 16 if quick else 30)
    for i, m in enumerate(MS):
        # 200 ν_C nodes: the two-contour check (which adds 64) stays at 1e-13 Δ here, at 2/3 of the time
        r = finite_noise_curves(tau_g, psi_p=32.0, psi_n=PSI_N, t=T, noise_samples=m, ridge=RIDGE,
                                contour=replace(FINITE_NOISE_CONTOUR, measure_nodes=200))
        ax.plot(tau_g, r.test_loss, color=f"C{i}", label=rf"test, $m$ = {_lab(m)}")
        ax.plot(tau_g, r.empirical_test_loss, color=f"C{i}", ls="-.")
        ax.plot(tau_g, r.train_loss, color=f"C{i}", ls="--", lw=0.8)
        for k, tt in enumerate(tau_g):
            row("h", 32.0, PSI_N, m, RIDGE, tt, r.test_loss[k], train=r.train_loss[k])
    ax.set(xscale="log", xlabel=r"$\tau$", ylabel=r"$\mathcal{L}$",
           title=r"(h) $d\to\infty$, $\psi_p$ = 32: test, empirical (-.), train (--)")
    ax.legend(fontsize=7)

    ax = axes[1, 0]
    lams = (1e-3, 1e-1, 10.0)
    for i, lam in enumerate(lams):
        te = np.array([_limit(x, PSI_N, 4, lam) for x in grid])
        ax.plot(grid, te, color=f"C{i}", lw=1.1, label=rf"$\lambda$ = {lam:g}")
        for x, y in zip(grid, te):
            row("c", x, PSI_N, 4, lam, math.inf, y)
    env_grid = grid[::2]
    envelope = ridge_envelope(env_grid, PSI_N, t=T, noise_samples=4)
    env, lam_star = envelope.test_loss, [float(x) for x in envelope.ridge]
    for x, y, lam in zip(env_grid, env, lam_star):
        row("c_optimal", x, PSI_N, 4, lam, math.inf, y)
    ax.plot(env_grid, env, color="k", lw=2.2, ls="--", label=r"optimal $\lambda^*$ (envelope)")
    ax.set(xscale="log", yscale="log", xlabel=r"$\psi_p$", ylabel=r"$\mathcal{L}_{test}(\tau=\infty)$",
           title=rf"(c) $m$ = 4, $\psi_n$ = {PSI_N:g}: the tuned ridge removes the peak")
    ax.legend(fontsize=7.5)
    env_monotone = envelope.monotone

    ax = axes[0, 2]
    bv_grid = np.array([1.0, 2.0, 4.0, 8.0, 16.0]) if not quick else np.array([2.0, 8.0])
    bv = {}
    for i, m in enumerate((1, 4)):
        # the unbiased split (the sample bias² carries variance/R), R = 4 resamplings averaged over 3 draws of (W, X)
        fin_bv = noise_split_finite(bv_grid, PSI_N, t=T, noise_samples=m, ridge=RIDGE, d=d, seeds=range(3), copies=4)
        b2, var = [float(x) for x in fin_bv["bias2"]], [float(x) for x in fin_bv["variance"]]
        lim = noise_split_limit(grid[::2], PSI_N, t=T, noise_samples=m, ridge=RIDGE)
        bv[str(m)] = {"psi_p": list(bv_grid), "bias2": b2, "variance": var, "psi_p_limit": list(grid[::2]),
                      "bias2_limit": [float(x) for x in lim["bias2"]],
                      "variance_limit": [float(x) for x in lim["variance"]]}
        ax.plot(grid[::2], bv[str(m)]["variance_limit"], "-", color=f"C{i}", label=rf"variance, $m$ = {m}")
        ax.plot(grid[::2], bv[str(m)]["bias2_limit"], "--", color=f"C{i}", label=rf"bias$^2$, $m$ = {m}")
        ax.plot(bv_grid, var, "o", color=f"C{i}", ms=4)
        ax.plot(bv_grid, b2, "s", color=f"C{i}", mfc="none", ms=4)
        ax.axvline(m * PSI_N, color=f"C{i}", ls=":", lw=0.9)
    ax.set(xscale="log", yscale="log", xlabel=r"$\psi_p$", ylabel="loss units",
           title=rf"(e) split over the noise, $\tau=\infty$; markers $d$ = {d}")
    ax.legend(fontsize=7)

    ax = axes[1, 2]
    for i, m in enumerate(MS[:3]):
        fgrid = grid[::2]
        r = [finite_noise_curves([np.inf], psi_p=x, psi_n=PSI_N, t=T, noise_samples=m, ridge=RIDGE) for x in fgrid]
        ax.plot(fgrid, [x.test_loss[0] for x in r], color=f"C{i}", label=rf"test, $m$ = {m}")
        ax.plot(fgrid, [x.empirical_test_loss[0] for x in r], color=f"C{i}", ls="-.", label=rf"empirical, $m$ = {m}")
    ax.axvline(PSI_N, color="k", ls=":", lw=0.9)
    ax.set(xscale="log", xlabel=r"$\psi_p$", ylabel=r"$\mathcal{L}(\tau=\infty)$",
           title=r"(f) test and empirical (-.) test loss, $d\to\infty$")
    ax.legend(fontsize=7, ncol=2)

    ax = axes[1, 1]
    tau = np.geomspace(1.0, 1e6, 25 if quick else 40)
    for i, m in enumerate(MS):
        v = _finite(32.0, PSI_N, m, RIDGE, d, seeds, tau)
        test, sd = v.mean("test_loss"), v.std("test_loss")
        ax.plot(tau, test, color=f"C{i}", label=rf"$m$ = {_lab(m)}")
        ax.plot(tau, v.mean("train_loss"), color=f"C{i}", ls="--")
        for k, tt in enumerate(tau):
            row("d", 32.0, PSI_N, m, RIDGE, tt, np.nan, train=np.nan, fin=test[k], fin_sd=sd[k])
    ax.set(xscale="log", xlabel=r"$\tau$", ylabel=r"$\mathcal{L}$ (test solid, train dashed)",
           title=rf"(d) $\psi_p$ = 32, $\psi_n$ = {PSI_N:g}, $\lambda$ = {RIDGE:g}, d = {d}, {seeds} seeds")
    ax.legend(fontsize=7.5)
    fig.suptitle(rf"Finite noise samples $m$ and ridge $\lambda$ (tanh, $t$ = {T:g}, $\Sigma = I$)", fontsize=10)
    png = save(fig, out_dir / "fig_noise_ridge.png")
    params = {"t": T, "psi_n": PSI_N, "ridge": RIDGE, "noise_samples": [_lab(m) for m in MS], "psi_p_grid": list(grid),
              "finite_d": d, "seeds": seeds, "model": "gep", "quick": quick, "lambdas": list(lams),
              "optimal_lambda": dict(zip([float(x) for x in env_grid], lam_star)), "bias_variance": bv}
    csv = write_result(out_dir / "fig_noise_ridge.csv", cols, params,
                       undefined=("train_loss", "test_loss", "test_loss_finite", "test_loss_finite_std"),
                       peaks=peaks, peaks_p_over_n_psi_n1=peaks_pn1, envelope_monotone=env_monotone)
    return {"files": [png, str(csv), str(csv.with_suffix(".json"))], "parameters": params, "peaks": peaks,
            "peaks_p_over_n_psi_n1": peaks_pn1, "envelope_monotone": env_monotone}
