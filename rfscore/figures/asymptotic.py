"""Asymptotic learning curves (A4)-(A5) over finite-size simulation and closed-form markers, error vs d.

fig_asymptotic_curves.png: excess train loss and score error, (L - L_opt)/Δ, against τ at
ψ_p = 32 for several ψ_n: lines d → ∞ (theory/asymptotic.md); open markers the seed-averaged
finite-size closed-form curves ((G4)-(G6) sampled, (D3)-(D4)); filled markers actual GD runs on
the sampled-noise loss of the Gaussian-equivalent model (rfscore.finite.simulation, theory/dynamics.md §6),
one draw per ψ_n; τ_gen and τ_mem marked. The simulated runs (with the closed form of the same
draw and the asymptotic value at each τ) go to fig_asymptotic_simulation.csv + .json.
fig_asymptotic_error.png: rms relative deviation (over a τ grid) of the finite-size curves
from the asymptotic ones against d, with a 1/d guide.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from ..analysis.deviation import relative_deviation, rms_deviation
from ..limit.asymptotic import asymptotic_curves
from ..limit.contour_losses import ASYMPTOTIC_CONTOUR
from ..finite.dynamics import trajectory
from ..runtime.io import write_result
from ..finite.model_dispatch import sample_eigensystem
from ..finite.inputs import draw_keys, sample_inputs
from ..finite.ensemble import RFSetting, trajectory_ensemble
from ..finite.simulation import simulate_windows, training_problem
from ..runtime.progress import stages
from .style import figure, save, styled, value_ticks

T, PSI_P = 0.01, 32.0


def _finite(psi_n, d, seeds, tau):
    """Seed mean (2, K) of the excess train loss and score error, and its standard error (2, K) (P2)."""
    ens = trajectory_ensemble(range(seeds), tau, setting=RFSetting(d=d, psi_p=PSI_P, psi_n=psi_n, t=T))
    return (np.stack([ens.mean("train_excess"), ens.mean("score_error")]),
            np.stack([ens.sem("train_excess"), ens.sem("score_error")]))


# Simulated GD: the noise floor of sampled-noise GD is a positive O(η/m) excess (theory/dynamics.md
# §6), measured ≈ 0.09 η/m at ψ_n = 4 and d = 12-20 (d-independent). One run from A = 0 per τ
# window; m = M_FACTOR ⌈4/ψ_n⌉ noise samples per point (free with the reduced noise draw (N1)-(N2)),
# so that η/m stays at or below its former value ((3e3, 0.8), (1e4, 3), (3e4, 8), (1e5, 16) at
# m = ⌈4/ψ_n⌉: the floor below ~10 % of |E| in its window, or < 0.1 where |E| < 1) with 3-4x fewer
# steps; the first window resolves τ ≈ 1-20. Entries: (window end τ, η before the cap).
SIM_WINDOWS = ((20.0, 0.8), (3e3, 6.4), (1e4, 24.0), (3e4, 64.0), (1e5, 128.0))
M_FACTOR = 8
SIM_RECORD = 12  # record points per window (short windows merge duplicates; all share one compiled block)
LR_CAP = 0.5  # η never above LR_CAP × the GD stability limit ψ_p/(Δ λ_max(U)) (theory/dynamics.md §7)


def _simulated(psi_n, d, tau_end):
    """GD runs on one draw: dict of columns, one row per recorded τ ≤ tau_end, the draw's closed form beside.

    m = M_FACTOR ⌈4/ψ_n⌉ noise samples per data point, η from SIM_WINDOWS capped at LR_CAP η_max
    (the floor at ψ_n = 8 is ≈ 0.055 η/m, relative to curves half as deep as at ψ_n = 4). Every
    window has the same m and number of record points, so the compiled training block is
    shared by all windows of a ψ_n.
    """
    keys = draw_keys(0)  # seed 0 of `_finite` (P1)
    W, X, ko = sample_inputs(keys.base, d=d, psi_p=PSI_P, psi_n=psi_n)
    prob = training_problem(W, X, t=T, model="gep", key=ko)
    es = sample_eigensystem(keys.base, d=d, psi_p=PSI_P, psi_n=psi_n, t=T)  # the same W, X, Ω
    lr_max, m = prob.max_stable_lr(), M_FACTOR * int(np.ceil(4.0 / psi_n))
    plan = [(end, min(LR_CAP * lr_max, rate)) for end, rate in SIM_WINDOWS if end <= tau_end]
    runs = simulate_windows(prob, plan, key=keys.train, fresh_noise=m, record=SIM_RECORD)
    rows, lo = [], 1.0
    for j, ((end, lr), res) in enumerate(zip(plan, runs)):
        steps = int(np.ceil(end / lr))
        keep = np.flatnonzero((res.tau > lo) & (res.tau >= 2 * lr))
        if j == 0:  # the short first window records nearly every step: thin to a τ ratio ≥ 1.9
            thin = []
            for k in keep:
                if not thin or res.tau[k] >= 1.9 * res.tau[thin[-1]]:
                    thin.append(k)
            keep = np.array(thin, dtype=int)
        cf = trajectory(es, res.tau[keep])
        for i, k in enumerate(keep):
            rows.append((j, lr, lr_max, steps, res.step[k], res.tau[k], (res.train_loss[k] - res.l_opt) / res.delta_t,
                         (res.test_loss[k] - res.l_opt) / res.delta_t, res.score_error[k],
                         cf.excess("train_loss")[i], cf.excess("test_loss")[i], cf.score_error[i]))
        lo = end
    names = ("window", "lr", "lr_max", "steps", "step", "tau", "sim_train_excess", "sim_test_excess",
             "sim_score_error", "cf_train_excess", "cf_test_excess", "cf_score_error")
    cols = {k: np.array(v) for k, v in zip(names, zip(*rows))}
    full = lambda v, dt=float: np.full(len(rows), v, dt)  # noqa: E731
    cols.update(psi_n=full(psi_n), d=full(d, int), p=full(prob.p, int), n=full(prob.n, int), noise_samples=full(m, int))
    return cols


def _seeds(base: int, d: int, d_mark: int) -> int:
    """More seeds at small d, so that the seed noise (≈ 1/(d √seeds)) stays below the bias."""
    return base * max(1, (2 * d_mark) // d) if d < d_mark else base


@styled
def make(out_dir: Path, *, quick: bool = False, progress: bool = False) -> dict:
    out_dir = Path(out_dir)
    psi_ns = (4.0, 8.0) if quick else (2.0, 4.0, 8.0)  # quick: fewer matrix shapes to JIT-compile
    d_mark = 20 if quick else 40
    ds = (10, 20) if quick else (10, 20, 40, 80)
    seeds = 4 if quick else 12
    tau = np.geomspace(1.0, 1e7, 400)
    tau_m = np.geomspace(3.0, 3e6, 13)
    curves = {pn: asymptotic_curves(tau, psi_p=PSI_P, psi_n=pn, t=T,
                                  contour=replace(ASYMPTOTIC_CONTOUR, check_quadrature=not quick)) for pn in psi_ns}
    finite = {}
    for d in stages(ds, "finite size (closed form)", progress):
        finite[4.0, d] = _finite(4.0, d, _seeds(seeds, d, d_mark), tau_m)
    d_sim, tau_sim = (10, 3e3) if quick else (12, 1e5)  # quick: smaller d, shorter runs
    sim = {pn: _simulated(pn, d_sim, tau_sim) for pn in stages(psi_ns, "simulated GD", progress)}

    fig, ax = figure(figsize=(6.4, 4.2))
    colors = {2.0: "C0", 4.0: "C1", 8.0: "C2"}
    for pn in psi_ns:
        col = colors[pn]
        res = curves[pn]
        S = sim[pn]
        ax.plot(tau, res.excess("train_loss"), color=col, lw=1.5, label=rf"$\psi_n={pn:g}$")
        ax.plot(tau, res.score_error, color=col, lw=1.5, ls="--")
        ax.plot(S["tau"], S["cf_train_excess"], "o", color=col, ms=6.5, mfc="none", mew=0.9)
        ax.plot(S["tau"], S["cf_score_error"], "s", color=col, ms=6.5, mfc="none", mew=0.9)
        ax.plot(S["tau"], S["sim_train_excess"], "o", color=col, ms=3.2)
        ax.plot(S["tau"], S["sim_score_error"], "s", color=col, ms=3.2)
        marks = ((res.tau_gen, "v"), (res.tau_mem, "^")) if res.tau_mem > 1.5 * res.tau_gen else ((res.tau_gen, "D"),)
        for val, mk in marks:
            y = np.interp(np.log(val), np.log(tau), res.excess("train_loss"))
            ax.plot([val], [y], mk, color=col, ms=7, mec="k", mew=0.6)
    ax.set_xscale("log")
    ax.set_yscale("symlog", linthresh=1.0, linscale=0.5)
    ticks = [-10, -1, 0, 1, 10, 100, 1000]
    ax.set_yticks(ticks, [f"{v:g}".replace("-", "\u2212") for v in ticks])
    ax.axhline(0, color="k", lw=0.6)
    ax.plot([], [], "k-", label=r"train, $d\to\infty$")
    ax.plot([], [], "k--", label=r"score error, $d\to\infty$")
    ax.plot([], [], "ko", ms=3.2, label=f"train, simulated GD, $d={d_sim}$")
    ax.plot([], [], "ks", ms=3.2, label=f"score error, simulated GD, $d={d_sim}$")
    ax.plot([], [], "ko", mfc="none", ms=6.5, label="closed form (D3)-(D4), same draw")
    ax.plot([], [], "kv", ms=6, label=r"$\tau_{\rm gen}$")
    ax.plot([], [], "k^", ms=6, label=r"$\tau_{\rm mem}$")
    ax.plot([], [], "kD", ms=5, label=r"single peak ($\tau_{\rm gen}=\tau_{\rm mem}$)")
    ax.set(xlabel=r"training time $\tau$", ylabel=r"$(L - L_{\rm opt})/\Delta$",
           title=(rf"tanh, $t={T:g}$, $\psi_p={PSI_P:g}$: $d\to\infty$ (lines); GD on sampled-noise loss, "
                  rf"GEP, one draw, $d={d_sim}$" + (" [quick]" if quick else "")))
    ax.title.set_fontsize(9)
    ax.legend(frameon=False, ncol=2, fontsize=7, loc="lower left")
    files = [save(fig, out_dir / "fig_asymptotic_curves.png")]

    # error vs d at ψ_n = 4, with the seed-noise level of the same average
    ref = asymptotic_curves(tau_m, psi_p=PSI_P, psi_n=4.0, t=T,
                            contour=replace(ASYMPTOTIC_CONTOUR, check_quadrature=False))
    A = np.stack([ref.excess("train_loss"), ref.score_error])
    err, noise = (np.array(v) for v in zip(*[rms_deviation(A, finite[4.0, d][0], finite[4.0, d][1]) for d in ds]))
    fig, ax = figure(figsize=(4.4, 3.4))
    for k, (lab, mk, col) in enumerate((("train loss", "o", "C0"), ("score error", "s", "C1"))):
        ax.loglog(ds, err[:, k], mk + "-", color=col, label=lab)
        ax.loglog(ds, noise[:, k], ":", color=col, lw=1, label=f"{lab}: seed s.e.")
    dd = np.array([ds[0], ds[-1]], float)
    ax.loglog(dd, err[0].max() * ds[0] / dd, "k--", lw=0.8, label=r"$\propto 1/d$")
    n_seeds = ", ".join(str(_seeds(seeds, d, d_mark)) for d in ds)
    ax.set(xlabel=r"dimension $d$", ylabel=r"rms over $\tau$ of $|E_d - E_\infty|/(|E_d|+1)$",
           title=rf"$\psi_p={PSI_P:g}$, $\psi_n=4$ (seeds: {n_seeds})")
    value_ticks(ax, ds)
    ax.legend(frameon=False, fontsize=7)
    files.append(save(fig, out_dir / "fig_asymptotic_error.png"))
    cols = {k: np.concatenate([sim[pn][k] for pn in psi_ns]) for k in sim[psi_ns[0]]}
    for name, get in (("asym_train_excess", lambda r: r.excess("train_loss")), ("asym_score_error", lambda r: r.score_error)):
        cols[name] = np.concatenate([np.interp(np.log(sim[pn]["tau"]), np.log(tau), get(curves[pn])) for pn in psi_ns])
    dev = {f"psi_n={pn:g}": float(np.max(relative_deviation(sim[pn]["sim_train_excess"], sim[pn]["cf_train_excess"])))
           for pn in psi_ns}
    sim_params = {"t": T, "psi_p": PSI_P, "psi_n": list(psi_ns), "d": d_sim, "model": "gep", "optimizer": "gd",
                  "tau_max": tau_sim, "windows_tau_end_lr": [w for w in SIM_WINDOWS if w[0] <= tau_sim],
                  "lr_cap_fraction_of_stable": LR_CAP, "noise_samples": f"{M_FACTOR}*ceil(4/psi_n)",
                  "record_per_window": SIM_RECORD, "sampler": "reduced",
                  "draw_key": "draw_keys(0) (theory/model.md (P1)) -> sample_inputs",
                  "noise_key": "draw_keys(0).window(j) = fold_in(fold_in(PRNGKey(0), 1), j)", "quick": quick}
    files.append(str(write_result(out_dir / "fig_asymptotic_simulation.csv", cols, sim_params,
                                  max_rel_dev_train_sim_vs_closed_form=dev)))
    params = {"t": T, "psi_p": PSI_P, "psi_n": list(psi_ns), "d_simulation": d_sim, "d_error_reference": d_mark,
              "seeds": seeds, "d_error": list(ds),
              "seed_standard_error": noise.tolist(),
              "rms_deviation_train": err[:, 0].tolist(), "rms_deviation_score_error": err[:, 1].tolist(),
              "tau_gen": {str(k): v.tau_gen for k, v in curves.items()},
              "tau_mem": {str(k): v.tau_mem for k, v in curves.items()}}
    return {"files": files, "parameters": params}
