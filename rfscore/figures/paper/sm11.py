"""Paper SM Fig. 11 as a check of the theory's t-dependence: the generalisation loss
(L_test − L_train)/Δ_t against τ for several diffusion times t (ψ_p = 32, near p ∼ n: ψ_n = 32),
and τ_mem/τ_gen against t, read off the timescale spectrum (T1) of the d → ∞ curves and of the
finite-size closed form (d = 100, 3 seeds), beside the prediction (T3) and the paper's claim
τ_mem/τ_gen ∼ 1/t. The fitted log-log slopes (all t, and t ≤ 0.032) and the local slopes of the
d → ∞ read-offs are in the manifest. Measured (full run): the ratio falls as t^-0.96 between
t = 0.01 and 0.018 and flattens at about 420 for t ≥ 0.3 (slope −0.40 over 0.01 … 1): the claim
holds as t → 0 only; the d = 100 read-offs agree with d → ∞ to within 0.5 %.

A single-peak spectrum (τ_gen = τ_mem, theory/timescales.md §5) has no ratio: such points are
flagged (``n_peaks`` = 1) and left out of the fit and the plot.
"""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from ...analysis.timescales import predicted_timescales, timescales
from ...core.constants import ge_constants
from ...core.precision import float64
from ...finite.inputs import sample_inputs, sizes
from ...finite.ensemble import ensemble
from ...finite.dynamics import trajectory
from ...finite.gep import gep_eigensystem
from ...limit.asymptotic import asymptotic_curves
from ...runtime.io import write_result
from ..style import figure, save, styled
from ...runtime.progress import stages

PAPER = dict(psi_p=32.0, d=100, t=[0.01, 1.0], activation="tanh", sigma="1:1", claim="tau_mem/tau_gen ~ 1/t near p ~ n")
RUN = dict(psi_p=32.0, psi_n=32.0, d=100, seeds=[0, 1, 2], t_curves=[0.01, 0.1, 1.0],
           t_ratio=list(np.geomspace(0.01, 1.0, 9)), tau=[1e-2, 1e8, 301])
SMALL_T = 0.032  # the small-t range of the fitted slope (three grid points of RUN from t = 0.01)
QUICK = dict(RUN, d=16, t_curves=[0.01, 1.0], t_ratio=list(np.geomspace(0.01, 1.0, 3)), tau=[1e-2, 1e8, 151])


@float64
def finite_run(keys, *, t: float, tau, d: int, psi_p: float, psi_n: float, constants) -> dict:
    """One seed of the finite-size closed form (D3)-(D4) (GEP, Σ = I) from its keys (P1): the
    generalisation loss (L_test − L_train)/Δ_t on ``tau`` and the read-offs τ_gen, τ_mem, n_peaks of (T1)."""
    p, n = sizes(d, psi_p, psi_n)
    W, X, ko = sample_inputs(keys.base, d=d, psi_p=psi_p, psi_n=psi_n)
    es = gep_eigensystem(W, X, t=t, key=ko, thin=(n + d < p))
    tr = trajectory(es, tau)
    ts = timescales(es, constants)
    return {"gen_loss": (tr.test_loss - tr.train_loss) / tr.delta_t, "tau_gen": ts.tau_gen, "tau_mem": ts.tau_mem,
            "n_peaks": ts.n_peaks, "converged": tr.converged}


def _single(a, b) -> bool:
    return not (np.isfinite(a) and np.isfinite(b)) or a == b


@styled
def make(out_dir: Path, *, quick: bool = False, progress: bool = False) -> dict:
    """Write sm11_t_dependence.png, sm11_curves.csv and sm11_ratio.csv (+ sidecars) into ``out_dir``."""
    cfg = QUICK if quick else RUN
    out_dir = Path(out_dir)
    tau = np.geomspace(cfg["tau"][0], cfg["tau"][1], int(cfg["tau"][2]))
    pp, pn, d = cfg["psi_p"], cfg["psi_n"], cfg["d"]
    p, n = sizes(d, pp, pn)
    fig, (axA, axB) = figure(1, 2, figsize=(10, 3.9))
    curves = {k: [] for k in ("t", "tau", "gen_loss", "gen_loss_finite", "gen_loss_finite_std")}
    ratio = {k: [] for k in ("t", "source", "seed", "tau_gen", "tau_mem", "n_peaks", "ratio")}

    def add_ratio(t, source, seed, tg, tm, peaks):
        ratio["t"].append(float(t))
        ratio["source"].append(source)
        ratio["seed"].append(seed)
        ratio["tau_gen"].append(float(tg))
        ratio["tau_mem"].append(float(tm))
        ratio["n_peaks"].append(int(peaks))
        ratio["ratio"].append(float(tm / tg) if peaks == 2 else float("nan"))

    for i, t in enumerate(stages(cfg["t_ratio"], "SM Fig. 11: t", progress)):
        lim = asymptotic_curves(tau, psi_p=pp, psi_n=pn, t=float(t))
        add_ratio(t, "d_inf", -1, lim.tau_gen, lim.tau_mem, 1 if _single(lim.tau_gen, lim.tau_mem) else 2)
        tg, tm = predicted_timescales(ge_constants(float(t)), pp, pn)
        add_ratio(t, "T3", -1, tg, tm, 2 if np.isfinite(tm) else 1)
    for i, t in enumerate(stages(cfg["t_curves"], "SM Fig. 11: finite size", progress)):
        lim = asymptotic_curves(tau, psi_p=pp, psi_n=pn, t=float(t))
        g_inf = (lim.test_loss - lim.train_loss) / lim.delta_t
        c = ge_constants(float(t))
        ens = ensemble(functools.partial(finite_run, t=float(t), tau=tau, d=d, psi_p=pp, psi_n=pn, constants=c),
                       cfg["seeds"])
        for s, tg, tm, peaks in zip(cfg["seeds"], ens["tau_gen"], ens["tau_mem"], ens["n_peaks"]):
            add_ratio(t, f"d={d}", s, tg, tm, peaks)
        m, sd = ens.mean("gen_loss"), ens.std("gen_loss")
        colour = f"C{i}"
        axA.loglog(tau, np.maximum(g_inf, 1e-12), color=colour, label=rf"$t = {t:g}$")
        axA.fill_between(tau, np.maximum(m - sd, 1e-12), np.maximum(m + sd, 1e-12), color=colour, alpha=0.25, lw=0)
        for k, v in (("t", [float(t)] * tau.size), ("tau", list(tau)), ("gen_loss", list(g_inf)),
                     ("gen_loss_finite", list(m)), ("gen_loss_finite_std", list(sd))):
            curves[k] += v
    axA.set(xlabel=r"$\tau$", ylabel=r"$(\mathcal{L}_{test} - \mathcal{L}_{train})/\Delta_t$",
            title=rf"A: $\psi_p = \psi_n$ = {pp:g}; lines d → ∞, bands d = {d} ({len(cfg['seeds'])} seeds)")
    axA.legend(fontsize=8)
    r = {k: np.asarray(v) for k, v in ratio.items()}
    fits = {}
    for src, style in (("d_inf", dict(color="C0", marker="o", ls="-")), ("T3", dict(color="C1", marker="", ls="--")),
                       (f"d={d}", dict(color="C2", marker="s", ls="none", mfc="none"))):
        sel = (r["source"] == src) & (r["n_peaks"] == 2)
        if sel.any():
            axB.loglog(r["t"][sel], r["ratio"][sel], label={"d_inf": "d → ∞ read-off (T1)", "T3": "prediction (T3)"}.get(
                src, f"{src} read-offs, {len(cfg['seeds'])} seeds"), **style)
        if src != f"d={d}" and sel.sum() >= 2:
            x, y = np.log(r["t"][sel]), np.log(r["ratio"][sel])
            small = r["t"][sel] <= SMALL_T
            fits[src] = {"slope": float(np.polyfit(x, y, 1)[0]), "points": int(sel.sum()),
                         "slope_small_t": float(np.polyfit(x[small], y[small], 1)[0]) if small.sum() >= 2 else None,
                         "small_t_max": SMALL_T, "local_slopes": list(np.diff(y) / np.diff(x)),
                         "single_peak_points": int(((r["source"] == src) & (r["n_peaks"] == 1)).sum())}
    tt = np.geomspace(min(cfg["t_ratio"]), max(cfg["t_ratio"]), 10)
    ok = (r["source"] == "d_inf") & (r["n_peaks"] == 2)
    if ok.any():
        anchor = r["ratio"][ok][0] * r["t"][ok][0]
        axB.loglog(tt, anchor / tt, "k:", lw=1, label=r"$\propto 1/t$ (the paper's claim)")
    slope_txt = ", ".join(f"{k}: slope {v['slope']:.2f}" + (f" ({v['slope_small_t']:.2f} for t ≤ {SMALL_T:g})"
                                                            if v["slope_small_t"] is not None else "")
                          for k, v in fits.items())
    axB.set(xlabel="$t$", ylabel=r"$\tau_{mem}/\tau_{gen}$", title=f"B: {slope_txt}")
    axB.legend(fontsize=8)
    fig.suptitle(rf"SM Fig. 11: tanh, $\Sigma = I$, $\psi_p$ = {pp:g}, $\psi_n$ = {pn:g}", fontsize=10)
    png = save(fig, out_dir / "sm11_t_dependence.png")
    params = dict(cfg, p=p, n=n, model="gep", quick=quick)
    c1 = write_result(out_dir / "sm11_curves.csv", curves, params)
    c2 = write_result(out_dir / "sm11_ratio.csv", ratio, params, fits=fits)
    diffs = [f"near p ∼ n taken as ψ_n = ψ_p = {pp:g}; lines d → ∞, bands and read-off markers the finite-size "
             f"closed form at d = {d} over {len(cfg['seeds'])} seeds",
             "τ_mem/τ_gen: first and last peak of the timescale spectrum (T1), single-peak points flagged and "
             "left out of the fits"]
    if quick:
        diffs.append(f"quick: d = {d}, fewer t")
    return {"files": [png, str(c1), str(c1.with_suffix(".json")), str(c2), str(c2.with_suffix(".json"))],
            "paper_parameters": PAPER, "parameters": params, "differences": diffs, "fits": fits}
