"""Real digits against their Gaussian-equivalent theory (theory/real_data.md).

Left, middle: train and test loss against τ for several n, the random-features model on the
real 8×8 digits (exact matrices, held-out test loss, (R1)) next to the Gaussian-equivalent
model (G4)-(G6) with Σ̂ at the same n, p, t and W ((R4)). Losses as (L − 1)/Δ: L = 1 is the
zero score (A = 0), and L_opt is not defined for real data. Right: the timescales against
ψ_n = n/d, real (filled) and Gaussian (open), with fitted exponents (one seed, OLS intervals);
points whose timescale spectrum has one peak (n_peaks = 1, τ_gen = τ_mem) are diamonds and their
peak fit is labelled single-peak (theory/timescales.md §5), never τ_mem.
Sizes are kept small for `rfscore reproduce`; the headline numbers (ψ_p = 16) come from
`rfscore timescales --data digits --compare-gaussian` (theory/real_data.md §4).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.ticker import NullFormatter

from ..analysis.timescales import fit_exponent, peak_fits, timescales
from ..core.covariance import SigmaSpectrum
from ..data.datasets import load_dataset
from ..data.realdata import RealDataKeys, gaussian_constants, gaussian_eigensystem, real_matrices
from ..finite.dynamics import trajectory
from ..finite.eigensystem import eigensystem
from ..runtime.io import write_result
from ..finite.draws import sample_weights, size_of
from .style import figure, save, styled
from ..core.precision import float64


@float64
def missing_extra() -> str | None:
    """None when the optional extra (scikit-learn, for the digits) is installed, else one line saying how."""
    try:
        import sklearn.datasets  # noqa: F401
    except ImportError:
        return "needs scikit-learn: pip install \"rfscore[data]\""
    return None


@float64
def compute(psi_p: float, psi_n, t: float, seed: int = 0, num: int = 200) -> dict:
    """Curves and τ read-offs on digits and on the Gaussian-equivalent model with Σ̂, one seed."""
    keys = RealDataKeys.from_seed(seed)
    ds = load_dataset("digits", key=keys.data)
    d = ds.d
    p = size_of("psi_p", psi_p, d)
    W = np.asarray(sample_weights(keys.weights, p, d))
    c = gaussian_constants(ds, t)
    spec = SigmaSpectrum.from_matrix(ds.sigma)
    tau = np.geomspace(1.0, 1e7, num)
    rows, curves = [], []
    for x in psi_n:
        n = size_of("psi_n", x, d)
        es = eigensystem(real_matrices(ds, W, n, t=t), n)
        es_g = gaussian_eigensystem(ds, W, n, t=t, keys=keys, constants=c)
        curves.append((n, trajectory(es, tau), trajectory(es_g, tau)))
        ts, tg = timescales(es, c, spec, num=1500), timescales(es_g, c, spec, num=1500)
        rows.append([n / d, n, ts.tau_gen, tg.tau_gen, ts.tau_mem, tg.tau_mem, ts.n_peaks, tg.n_peaks,
                     ts.tau_gap, tg.tau_gap, ts.tau_early_stop, tg.tau_early_stop])
    names = ("psi_n", "n", "tau_gen", "tau_gen_gauss", "tau_mem", "tau_mem_gauss", "n_peaks", "n_peaks_gauss",
             "tau_gap", "tau_gap_gauss", "tau_early_stop", "tau_early_stop_gauss")
    table = {k: np.array([r[i] for r in rows]) for i, k in enumerate(names)}
    fits = {}
    for sfx in ("", "_gauss"):  # the peaks: labelled by n_peaks (tau_single_peak if any point has one peak)
        fits.update(peak_fits(table["psi_n"], table["tau_gen" + sfx][None, :], table["tau_mem" + sfx][None, :],
                              table["n_peaks" + sfx][None, :], sfx))
    fits.update({k: fit_exponent(table["psi_n"], table[k][None, :]) for k in names[8:]
                 if np.all(np.isfinite(table[k])) and np.all(table[k] > 0)})
    return {"tau": tau, "curves": curves, "table": table, "fits": fits, "dataset": ds.info(), "d": d, "p": p,
            "delta_t": c.delta_t}


@styled
def plot(res, path) -> str:
    fig, axes = figure(1, 3, figsize=(12.0, 3.5), constrained_layout=True)
    cmap = colormaps["viridis"]
    k = len(res["curves"])
    d, dl = res["d"], res["delta_t"]
    for i, (n, real, gauss) in enumerate(res["curves"]):
        col = cmap(i / max(k - 1, 1))
        for ax, which in ((axes[0], "train_loss"), (axes[1], "test_loss")):
            ax.plot(real.tau, (getattr(real, which) - 1) / dl, color=col, label=rf"$n = {n}$ ($\psi_n = {n / d:.3g}$)")
            ax.plot(gauss.tau, (getattr(gauss, which) - 1) / dl, color=col, ls="--", lw=1.1)
    for ax, title in ((axes[0], "train loss"), (axes[1], "test loss (held out)")):
        ax.set(xscale="log", xlabel=r"$\tau$", ylabel=r"$(\mathcal{L}-1)/\Delta_t$", title=title)
        ax.set_yscale("symlog", linthresh=1.0)
    axes[0].legend(frameon=False, title="digits — / Gaussian, Σ̂ - -", fontsize=7.5, title_fontsize=7.5)
    ax = axes[2]
    tab, fits = res["table"], res["fits"]
    for j, (name, label) in enumerate((("tau_mem", r"$\tau_{mem}$ (last peak)"), ("tau_gap", r"$\tau_{gap}$"),
                                       ("tau_early_stop", r"$\tau_{early\ stop}$"))):
        col = f"C{j}"
        for suffix, fill, kind in (("", col, "digits"), ("_gauss", "none", "Gaussian")):
            key = name + suffix
            lab = f"{label}, {kind}"
            if name == "tau_mem" and "tau_single_peak" + suffix in fits:
                # some point has one peak (τ_gen = τ_mem): the fit is a single-peak exponent (§5)
                key_fit = "tau_single_peak" + suffix
                one = tab["n_peaks" + suffix] == 1
                where = "every" if one.all() else ", ".join(f"{x:.3g}" for x in tab["psi_n"][one])
                lab = rf"one peak ($\tau_{{gen}} = \tau_{{mem}}$) at {where} $\psi_n$, {kind}: single-peak fit"
            else:
                key_fit = key
            if key_fit in fits:
                lab += rf" $\propto \psi_n^{{{fits[key_fit].exponent:.2f}}}$"
            ax.plot(tab["psi_n"], tab[key], "o" if suffix == "" else "s", mfc=fill, mec=col, color=col,
                    ls="-" if suffix == "" else ":", lw=0.9, label=lab)
            if name == "tau_mem":
                one = tab["n_peaks" + suffix] == 1
                ax.plot(tab["psi_n"][one], tab[key][one], "D", ms=8, mfc="none", mec=col, ls="none")
    ax.set(xscale="log", yscale="log", xlabel=r"$\psi_n = n/d$", ylabel=r"$\tau$",
           title=rf"digits, $d = {d}$, $\psi_p = {res['p'] / d:g}$")
    ax.set_xticks(tab["psi_n"], [f"{x:.3g}" for x in tab["psi_n"]])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.legend(frameon=False, fontsize=6.5)
    return save(fig, path)


@float64
def make(out_dir: Path, *, quick: bool = False, progress: bool = False) -> dict:
    """Digits vs Gaussian-equivalent theory: losses vs τ for several n and the timescales vs ψ_n."""
    out_dir = Path(out_dir)
    params = dict(psi_p=4 if quick else 8, psi_n=[0.5, 1, 2] if quick else [0.5, 1, 2, 4], t=0.01, seed=0,
                  dataset="digits", activation="tanh")
    missing = missing_extra()
    if missing:
        return {"files": [], "parameters": params, "skipped": missing}
    res = compute(params["psi_p"], params["psi_n"], params["t"], params["seed"])
    params.update(d=res["d"], p=res["p"], n=res["table"]["n"].tolist())
    csv = write_result(out_dir / "fig_digits_timescales.csv", res["table"], params, dataset=res["dataset"],
                       fits={k: f.to_dict() for k, f in res["fits"].items()})
    files = [str(csv), plot(res, out_dir / "fig_digits.png")]
    return {"files": files, "parameters": params, "fits": {k: f.to_dict() for k, f in res["fits"].items()}}
