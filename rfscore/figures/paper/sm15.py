"""Paper SM Fig. 15: Fig. 5A-B trained with Adam (ψ_p = 64, t = 0.01, ψ_n = 4, 8, 16, 32).

Adam (optax.adam) on the sampled-noise loss of theory/dynamics.md §6 (one fresh noise draw per
training point per step, as the paper's training), fed the gradient d² ∇_A L̂ of the τ convention;
the losses of every recorded readout are exact ((L1)-(L3) through U, V, U_pop, V_pop). Adam has no
flow limit, so its time axis is the nominal τ = kη (k steps of learning rate η) and is not the τ of
the gradient-flow theory: the figure draws Adam's curves alone, and the gradient-flow curves of the
same draws are in Fig. 5A-B. What carries over is the ordering: the minimum of the test loss (the
end of generalisation, the onset of memorisation) comes later for larger n.

Finite size only (no d → ∞ theory exists for Adam); d = 10 instead of the paper's d = 100, because
Adam is simulated step by step (≈ 1 ms per step at p = 640 on 2 cores; d = 100 would be ≈ 10³ times
slower per step). Read-offs per (ψ_n, seed): τ_min, the nominal τ of the smallest recorded test
loss (noisy: the test loss is flat around it), and τ_gap, the first τ at which the generalisation
gap (L_test − L_train)/Δ_t reaches 1 (log-linear interpolation between records) — the memorisation
onset in the units of E_score; each flagged ``censored`` when not reached by the last record.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ...analysis.onsets import GAP_LEVEL, gap_onset, loss_minimum, seed_exponent
from ...finite.ensemble import RFSetting, simulation_ensemble
from ...finite.simulation import SimulationOptions
from ...runtime.io import write_result
from ..style import figure, save, styled
from ...runtime.progress import stages
from ...core.precision import float64

PAPER = dict(psi_p=64.0, psi_n=[4.0, 8.0, 16.0, 32.0], t=0.01, d=100, activation="tanh", sigma="1:1",
             optimizer="adam")
RUN = dict(PAPER, d=10, seeds=[0, 1, 2], lr=0.015, steps=20000, record=40, noise_samples=1)
QUICK = dict(RUN, d=6, psi_n=[4.0, 16.0], steps=3000, record=20, lr=0.05)


@float64
def runs(cfg, psi_n: float, progress: bool = False):
    """The Adam runs of every seed at ψ_n, one ensemble (P2): (W, X, Ω) and the training noise from each
    seed's keys (P1) (``keys.train`` = fold_in(PRNGKey(seed), 1))."""
    return simulation_ensemble(cfg["seeds"], setting=RFSetting(d=cfg["d"], psi_p=cfg["psi_p"], psi_n=psi_n, t=cfg["t"]),
                               lr=cfg["lr"], steps=cfg["steps"], optimizer="adam", fresh_noise=cfg["noise_samples"],
                               options=SimulationOptions(record=cfg["record"]), progress=progress)


@float64
def tau_gap(tau, train, test, delta_t: float, level: float = GAP_LEVEL):
    """First τ where (test − train)/Δ_t ≥ ``level`` and a censored flag (`rfscore.analysis.onsets.gap_onset`)."""
    return gap_onset(tau, train, test, delta_t, level)


@float64
def differences(cfg, quick) -> list:
    out = [f"d = {cfg['d']} (p = ψ_p d, n = ψ_n d) instead of the paper's d = 100: Adam is simulated step by step",
           f"{cfg['steps']} Adam steps at η = {cfg['lr']:g}, one fresh noise draw per point per step, "
           f"{len(cfg['seeds'])} seeds (mean ± 1 s.d.); losses of each recorded readout exact, not Monte Carlo",
           "time: nominal τ = kη (Adam has no gradient-flow limit; the paper's τ = kη/d² with its own score "
           "normalisation, theory/model.md conventions table)",
           "no d → ∞ line: the theory covers gradient flow only"]
    if quick:
        out.append(f"quick: d = {cfg['d']}, ψ_n = {cfg['psi_n']}, {cfg['steps']} steps")
    return out


@styled
def make(out_dir: Path, *, quick: bool = False, progress: bool = False) -> dict:
    """Write sm15_adam.png and sm15_adam.csv, sm15_tau_min.csv (+ sidecars) into ``out_dir``."""
    cfg = QUICK if quick else RUN
    out_dir = Path(out_dir)
    ens = {pn: runs(cfg, pn) for pn in stages(cfg["psi_n"], "SM Fig. 15: Adam, ψ_n", progress)}
    cols = {k: [] for k in ("psi_p", "psi_n", "d", "p", "n", "seed", "step", "tau", "train_loss", "test_loss",
                            "score_error")}
    mins = {k: [] for k in ("psi_n", "n", "seed", "tau_min", "test_loss_min", "censored", "tau_gap", "tau_gap_censored")}
    fig, (ax_e, ax_l) = figure(1, 2, figsize=(11, 4.4), constrained_layout=True)
    summary = {}
    for i, pn in enumerate(cfg["psi_n"]):
        colour = f"C{i}"
        e = ens[pn]
        n = int(e["n"][0])
        for j, s in enumerate(cfg["seeds"]):
            R = e["step"].shape[1]
            for name, value in (("psi_p", cfg["psi_p"]), ("psi_n", pn), ("d", cfg["d"]), ("p", int(e["p"][j])),
                                ("n", n), ("seed", s)):
                cols[name] += [value] * R
            for k in ("step", "tau", "train_loss", "test_loss", "score_error"):
                cols[k] += list(e[k][j])
            tmin, lmin, cmin = loss_minimum(e["tau"][j], e["test_loss"][j])
            tg, cg = gap_onset(e["tau"][j], e["train_loss"][j], e["test_loss"][j], float(e["delta_t"][j]))
            for k, v in (("psi_n", pn), ("n", n), ("seed", s), ("tau_min", tmin), ("test_loss_min", lmin),
                         ("censored", cmin), ("tau_gap", tg), ("tau_gap_censored", cg)):
                mins[k].append(v)
        tau = e["tau"][0]
        for ax, key, ls in ((ax_e, "score_error", "-"), (ax_l, "test_loss", "-"), (ax_l, "train_loss", "--")):
            m, sd = e.mean(key), e.std(key)
            lab = rf"$\psi_n = {pn:g}$ (n = {n})" if key != "train_loss" else None
            ax.plot(tau, m, color=colour, ls=ls, label=lab)
            ax.fill_between(tau, m - sd, m + sd, color=colour, alpha=0.2, lw=0)
        summary[f"{pn:g}"] = entry = {}
        for name, flag in (("tau_min", "censored"), ("tau_gap", "tau_gap_censored")):
            v = [x for x, q in zip(mins[name], mins["psi_n"]) if q == pn]
            entry[name + "_mean"] = float(np.mean(v))
            entry[name + "_std"] = float(np.std(v, ddof=1)) if len(v) > 1 else 0.0
            entry[flag] = int(sum(c for c, q in zip(mins[flag], mins["psi_n"]) if q == pn))
        ax_l.axvline(entry["tau_gap_mean"], color=colour, lw=0.8, ls=":")
    # τ_gap ∝ n^γ: one least-squares slope per seed over the ψ_n, then mean ± s.d. over seeds
    by_seed = np.array([[mins["tau_gap"][k] for k in range(len(mins["seed"])) if mins["seed"][k] == s]
                        for s in cfg["seeds"]])
    cens = np.array([[mins["tau_gap_censored"][k] for k in range(len(mins["seed"])) if mins["seed"][k] == s]
                     for s in cfg["seeds"]])
    summary["tau_gap_exponent"] = seed_exponent([int(ens[pn]["n"][0]) for pn in cfg["psi_n"]], by_seed, cens)
    l_opt = float(ens[cfg["psi_n"][0]]["l_opt"][0])
    ax_l.axhline(l_opt, color="k", ls=":", lw=1.0)
    ax_l.annotate(r"$L_{opt}$", (cols["tau"][1], l_opt), xytext=(2, -11), textcoords="offset points", fontsize=8)
    ax_e.set(xscale="log", yscale="log", xlabel=r"nominal $\tau = k\eta$ (Adam)", ylabel=r"$E_{score}$")
    ax_l.set(xscale="log", xlabel=r"nominal $\tau = k\eta$ (Adam)", ylabel=r"$\mathcal{L}$ (train dashed, test solid)")
    ax_e.legend(fontsize=7.5, title=f"d = {cfg['d']}, {len(cfg['seeds'])} seeds (mean ± s.d.)", title_fontsize=7.5)
    ge = summary["tau_gap_exponent"]
    ax_l.legend(fontsize=7.5, title=r"dotted verticals: $\tau_{gap}$, $(L_{test}-L_{train})/\Delta_t = 1$"
                + "\n" + rf"$\tau_{{gap}} \propto n^{{{ge['mean']:.2f} \pm {ge['std']:.2f}}}$ ({ge['seeds']} seeds)",
                title_fontsize=7.5)
    fig.suptitle(rf"SM Fig. 15: Adam, $\eta$ = {cfg['lr']:g}, tanh, $\Sigma = I$, $\psi_p$ = {cfg['psi_p']:g}, "
                 rf"$t$ = {cfg['t']:g}", fontsize=10)
    png = save(fig, out_dir / "sm15_adam.png")
    params = dict(cfg, p=[int(ens[pn]["p"][0]) for pn in cfg["psi_n"]], n=[int(ens[pn]["n"][0]) for pn in cfg["psi_n"]],
                  model="gep", quick=quick)
    csv = write_result(out_dir / "sm15_adam.csv", cols, params)
    mcsv = write_result(out_dir / "sm15_tau_min.csv", mins, params, summary=summary)
    return {"files": [png, str(csv), str(csv.with_suffix(".json")), str(mcsv), str(mcsv.with_suffix(".json"))],
            "paper_parameters": PAPER, "parameters": params, "differences": differences(cfg, quick),
            "tau_min": summary}
