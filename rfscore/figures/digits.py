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

from matplotlib import colormaps

from ..core.precision import float64
from ..data.real_timescales import digits_timescales
from ..runtime.io import write_result
from .style import figure, save, styled, value_ticks


@float64
def missing_extra() -> str | None:
    """None when the optional extra (scikit-learn, for the digits) is installed, else one line saying how."""
    try:
        import sklearn.datasets  # noqa: F401  (imported only to check the optional extra is installed)
    except ImportError:
        return "needs scikit-learn: pip install \"rfscore[data]\""
    return None


compute = digits_timescales  # the former name of this library function here


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
    value_ticks(ax, tab["psi_n"], ".3g")
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
    res = digits_timescales(params["psi_p"], params["psi_n"], params["t"], params["seed"])
    params.update(d=res["d"], p=res["p"], n=res["table"]["n"].tolist())
    csv = write_result(out_dir / "fig_digits_timescales.csv", res["table"], params, dataset=res["dataset"],
                       fits={k: f.to_dict() for k, f in res["fits"].items()})
    files = [str(csv), plot(res, out_dir / "fig_digits.png")]
    return {"files": files, "parameters": params, "fits": {k: f.to_dict() for k, f in res["fits"].items()}}
