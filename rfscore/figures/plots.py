"""Plots drawn by the command-line tools (library code: the CLI only calls them)."""
from __future__ import annotations

import math

import numpy as np

from .style import figure, save, styled


@styled
def plot_density(res, path, eigenvalues=None, model=None, title=None):
    """ρ(λ) (converged points only; failures marked) with optional eigenvalue histogram."""
    fig, ax = figure(figsize=(5.2, 3.4))
    ok = res.converged
    if eigenvalues is not None:
        inside = eigenvalues[(eigenvalues >= res.lam[0]) & (eigenvalues <= res.lam[-1])]
        bins = np.linspace(res.lam[0], res.lam[-1], 61)
        w = np.full(inside.size, 1.0 / (eigenvalues.size * (bins[1] - bins[0])))
        ax.hist(inside, bins=bins, weights=w, color="0.75", label=f"eigenvalues of U ({model}, p = {eigenvalues.size})")
    dens = np.where(ok, res.density, np.nan)
    ax.plot(res.lam, dens, color="C0", label=r"theory $\rho(\lambda)$ (S1)-(S3)")
    if not ok.all():
        ax.plot(res.lam[~ok], np.zeros((~ok).sum()), "x", color="C3", label="not converged")
    if res.atom_weight > 0 and res.lam[0] <= res.atom_location <= res.lam[-1]:
        ax.axvline(res.atom_location, color="C1", ls="--", lw=1,
                   label=fr"atom at $s_t^2$, weight {res.atom_weight:.3f}")
    top = np.nanmax(dens[np.isfinite(dens)]) if np.isfinite(dens).any() else 1.0
    ax.set_ylim(0, 1.25 * top)
    ax.set_xlabel(r"$\lambda$")
    ax.set_ylabel(r"$\rho(\lambda)$")
    ax.set_title(title or fr"$\psi_p$ = {res.psi_p:g}, $\psi_n$ = {res.psi_n:g}, $t$ = {res.constants.t:g}")
    ax.legend(frameon=False)
    return save(fig, path)


@styled
def plot_losses(tr, params, path) -> None:
    """`rfscore dynamics --plot`: score error (L3) and train/test losses (L1)-(L2) against τ."""
    fig, (a1, a2) = figure(1, 2, figsize=(8, 3.2))
    a1.loglog(tr.tau, tr.score_error, color="C3")
    a1.set(xlabel="τ", ylabel="score error $E_{score}$")
    a2.semilogx(tr.tau, tr.train_loss, label="train")
    a2.semilogx(tr.tau, tr.test_loss, label="test")
    a2.axhline(tr.l_opt, color="k", ls=":", lw=1, label="$L_{opt}$")
    a2.set(xlabel="τ", ylabel="loss")
    a2.legend()
    fig.suptitle(f"{params['model']}: d = {params['d']}, ψ_p = {params['psi_p']:g}, ψ_n = {params['psi_n']:g}, "
                 f"t = {params['t']:g}", fontsize=9)
    save(fig, path)


@styled
def plot_real_data_losses(tr, gauss, params, path) -> None:
    """`rfscore dynamics --data ... --plot`: real-data losses, with the Gaussian-equivalent ones if given."""
    fig, ax = figure(figsize=(4.8, 3.4))
    ax.semilogx(tr.tau, tr.train_loss, color="C0", label="train (real)")
    ax.semilogx(tr.tau, tr.test_loss, color="C1", label="test (held out)")
    if gauss is not None:
        ax.semilogx(gauss.tau, gauss.train_loss, color="C0", ls="--", label="train (Gaussian, Σ̂)")
        ax.semilogx(gauss.tau, gauss.test_loss, color="C1", ls="--", label="test (Gaussian, Σ̂)")
    ax.set(xlabel="τ", ylabel="loss")
    ax.legend(frameon=False)
    ax.set_title(f"{params['data']}: d = {params['d']}, n = {params['n']}, p = {params['p']}, t = {params['t']:g}",
                 fontsize=9)
    save(fig, path)


@styled
def plot_asymptotic(res, path) -> None:
    """`rfscore asymptotic --plot`: excess train loss and score error of the d → ∞ curves, τ_gen/τ_mem marked."""
    fig, ax = figure(figsize=(5.2, 3.6))
    ax.semilogx(res.tau, res.excess("train_loss"), label=r"train $(L_{\rm train}-L_{\rm opt})/\Delta$")
    ax.semilogx(res.tau, res.score_error, label=r"score error $(L_{\rm test}-L_{\rm opt})/\Delta$")
    ax.set_yscale("symlog", linthresh=1.0)
    tg, tm = getattr(res, "tau_gen", None), getattr(res, "tau_mem", None)  # absent for finite m (F12)
    peaks = () if tg is None else (("peak", tg),) if tg == tm else (("gen", tg), ("mem", tm))
    for name, val in peaks:
        ax.axvline(val, color="0.5", ls=":", lw=1)
        ax.annotate(rf"$\tau_{{\rm {name}}}$", (val, 0.95), xycoords=("data", "axes fraction"), ha="left", fontsize=9)
    ax.axhline(0, color="k", lw=0.6)
    p = res.parameters
    ax.set(xlabel=r"training time $\tau$", ylabel="excess loss / $\\Delta$",
           title=rf"$d\to\infty$, $\psi_p={p['psi_p']:g}$, $\psi_n={p['psi_n']:g}$, $t={p['t']:g}$")
    ax.legend(frameon=False)
    save(fig, path)


@styled
def plot_learning_curve(cols, vary: str, path, finite: bool = False) -> None:
    """`rfscore curve --plot`: test loss against the varied ratio, one line per (m, λ, τ); the finite-size
    mean ± s.d. as markers when present; the interpolation point ψ_p = mψ_n marked for finite m."""
    x = np.asarray(cols[vary], dtype=float)
    keys = list(zip(cols["noise_samples"], cols["ridge"], cols["tau"]))
    fig, ax = figure(figsize=(5.6, 3.9))
    for i, key in enumerate(dict.fromkeys(keys)):
        sel = np.array([k == key for k in keys])
        m, lam, tau = key
        lab = rf"$m$ = {'∞' if math.isinf(m) else int(m)}, $\lambda$ = {lam:g}, $\tau$ = {'∞' if math.isinf(tau) else f'{tau:g}'}"
        colour = f"C{i % 10}"
        ax.plot(x[sel], np.asarray(cols["test_loss"], dtype=float)[sel], color=colour, label=lab)
        if finite:
            ax.errorbar(x[sel], np.asarray(cols["test_loss_finite"], dtype=float)[sel],
                        yerr=np.asarray(cols["test_loss_finite_std"], dtype=float)[sel], fmt="o", ms=3, color=colour,
                        lw=0.8)
        if vary == "psi_p" and math.isfinite(m):
            ax.axvline(m * float(np.asarray(cols["psi_n"])[sel][0]), color=colour, ls=":", lw=0.8)
    ax.set(xscale="log", yscale="log", xlabel=rf"$\{vary}$", ylabel=r"test loss $\mathcal{L}_{test}$",
           title=r"lines: $d\to\infty$" + (", markers: finite d (mean ± s.d.)" if finite else "")
           + (r"; dotted: $\psi_p = m\psi_n$" if vary == "psi_p" else ""))
    ax.legend(fontsize=7, frameon=False)
    save(fig, path)
