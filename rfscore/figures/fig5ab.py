"""Paper Fig. 5A-B: score error (A) and train/test losses (B) vs training time τ.

Several ψ_n at fixed ψ_p, Gaussian-equivalent model (G4)-(G6) at finite d: closed-form
trajectories (D3)-(D4), (L3) as lines (thin-SVD eigensystem) and simulated GD on the
sampled-noise loss (same W, X, Ω; fresh noise every step) as markers. The dotted line in
B is L_opt = 1 - Δ Tr(Σ_t^{-1})/d: a train loss below it is memorisation.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..finite.dynamics import trajectory
from ..runtime.io import write_result
from ..finite.gep import gep_eigensystem
from ..finite.inputs import draw_keys, sample_inputs
from ..finite.simulation import simulate_windows, training_problem
from ..runtime.progress import stages
from .style import figure, save, styled
from ..core.precision import float64

# GD on the sampled-noise loss has a fluctuation floor ∝ η/m above the flow (theory/dynamics.md
# §6). With the reduced noise draw (N1)-(N2) m costs nothing, so m = 16 keeps η/m ≤ η_max/20 (below
# the floor of the former single run at η = η_max/4, m = 4) in one run per τ window, each from
# A = 0: windows = ((τ_end, η/η_max), ...). Small η up to the minimum (resolved from τ ≈ 20),
# larger η later, where the curves are far above the floor and most steps are spent (x = ηcλ ≤ 1.6
# < 2: stable, and fast modes relaxed by the first kept record). All windows share one compiled
# block (same m, record, block).
FULL = dict(d=10, psi_p=32.0, psi_ns=(2.0, 4.0, 8.0), t=0.01, tau_max=5e5,
            windows=((1e3, 0.25), (1e4, 0.5), (5e5, 0.8)), noise_samples=16, record=24)
QUICK = dict(d=8, psi_p=32.0, psi_ns=(2.0, 4.0), t=0.01, tau_max=1e5,
             windows=((1e3, 0.25), (1e4, 0.5), (1e5, 0.8)), noise_samples=16, record=14)


@float64
def simulated_markers(prob, cfg, keys):
    """Simulated GD on ``prob``: the τ windows of FULL/QUICK joined, as columns over the kept records.

    Window j runs from A = 0 with the training key ``keys.window(j)`` of the recipe (P1) (``keys`` a
    `DrawKeys`) and keeps its records in (τ_end of window j-1, τ_end]; all get the marker density of
    the last window (log spacing ratio (τ_max/η)^(1/record)).
    """
    lr_max = prob.max_stable_lr()
    keep = {k: [] for k in ("tau", "train_loss", "test_loss", "score_error")}
    lo = 0.0
    ratio = (cfg["tau_max"] / (cfg["windows"][-1][1] * lr_max)) ** (1 / cfg["record"])
    plan = [(hi, frac * lr_max) for hi, frac in cfg["windows"]]
    runs = simulate_windows(prob, plan, key=keys.train, fresh_noise=cfg["noise_samples"], record=cfg["record"])
    for (hi, lr), sim in zip(plan, runs):
        kept = []
        for i in np.flatnonzero((sim.tau > lo) & (sim.tau <= hi + lr)):
            if not kept or sim.tau[i] >= ratio * sim.tau[kept[-1]]:
                kept.append(i)
        for k in keep:
            keep[k].append(getattr(sim, k)[kept])
        lo = hi
    return {k: np.concatenate(v) for k, v in keep.items()}


@styled
def make(out_dir: Path, *, quick: bool = False, progress: bool = False) -> dict:
    """Write fig5ab_dynamics.png (+ fig5ab_data.csv) into ``out_dir``; return the manifest entry."""
    cfg = QUICK if quick else FULL
    out_dir = Path(out_dir)
    tau = np.geomspace(1.0, cfg["tau_max"], 300)
    fig, (axA, axB) = figure(1, 2, figsize=(9.5, 3.8))
    rows = {k: [] for k in ("psi_n", "kind", "tau", "train_loss", "test_loss", "score_error")}
    l_opt = None
    for i, psi_n in enumerate(stages(cfg["psi_ns"], "Fig. 5A-B: ψ_n", progress)):
        col = f"C{i}"
        keys = draw_keys(0)  # one draw per ψ_n: seed 0 of the recipe (P1)
        W, X, ko = sample_inputs(keys.base, d=cfg["d"], psi_p=cfg["psi_p"], psi_n=psi_n)
        es = gep_eigensystem(W, X, t=cfg["t"], key=ko)
        tr = trajectory(es, tau)
        prob = training_problem(W, X, t=cfg["t"], model="gep", key=ko)
        sim = simulated_markers(prob, cfg, keys)
        sel = sim["tau"] >= tau[0]
        l_opt = tr.l_opt
        axA.loglog(tr.tau, tr.score_error, color=col, label=rf"$\psi_n = {psi_n:g}$")
        axA.loglog(sim["tau"][sel], sim["score_error"][sel], "o", ms=3.5, mfc="none", color=col)
        axB.semilogx(tr.tau, tr.test_loss, color=col, label=rf"test, $\psi_n = {psi_n:g}$")
        axB.semilogx(tr.tau, tr.train_loss, "--", color=col, label=rf"train, $\psi_n = {psi_n:g}$")
        axB.semilogx(sim["tau"][sel], sim["test_loss"][sel], "o", ms=3.5, mfc="none", color=col)
        axB.semilogx(sim["tau"][sel], sim["train_loss"][sel], "^", ms=3.5, mfc="none", color=col)
        for kind, res in (("closed_form", {k: getattr(tr, k) for k in sim}), ("simulated_gd", sim)):
            n = res["tau"].size
            rows["psi_n"] += [psi_n] * n
            rows["kind"] += [kind] * n
            for k in ("tau", "train_loss", "test_loss", "score_error"):
                rows[k] += list(res[k])
    axA.set(xlabel=r"$\tau$", ylabel="$E_{score}$ (distance to the true score)", title="A")
    etas = ", ".join(f"{f:g}" for _, f in cfg["windows"])
    ends = ", ".join(f"$10^{{{np.log10(e):.3g}}}$" for e, _ in cfg["windows"][:-1])
    axA.legend(title="lines: closed form\n" + f"markers: GD, {cfg['noise_samples']} noise\n" +
               rf"samples/point, $\eta/\eta_{{max}}$ =" + f"\n{etas} (split at\nτ = {ends})", title_fontsize=8,
               loc="upper left")
    axB.axhline(l_opt, color="k", ls=":", lw=1.2)
    axB.annotate("$L_{opt} = 1 - Δ\\,\\mathrm{Tr}\\,Σ_t^{-1}/d$", (tau[0], l_opt), xytext=(2, -11),
                 textcoords="offset points", fontsize=8)
    lo = min(min(rows["train_loss"]), l_opt)
    axB.set(xlabel=r"$\tau$", ylabel=r"$\mathcal{L}$", title="B", ylim=(lo - 0.1 * (1 - lo), 1.0 + 0.5 * (1 - lo)))
    axB.legend(ncol=2, fontsize=7)
    fig.suptitle(f"Training dynamics at finite size (GEP model, d = {cfg['d']}, $\\psi_p$ = {cfg['psi_p']:g}, "
                 f"t = {cfg['t']:g}, tanh)", fontsize=10)
    png = save(fig, out_dir / "fig5ab_dynamics.png")
    params = {k: (list(v) if isinstance(v, tuple) else v) for k, v in cfg.items()}
    params.update(model="gep", activation="tanh", optimizer="gd", sampler="reduced", quick=quick,
                  draw_key="draw_keys(0) (theory/model.md (P1))",
                  noise_key="draw_keys(0).window(j) = fold_in(fold_in(PRNGKey(0), 1), j)")
    csv = write_result(out_dir / "fig5ab_data.csv", rows, params, l_opt=l_opt)
    return {"files": [png, str(csv), str(csv.with_suffix(".json"))], "parameters": params}
