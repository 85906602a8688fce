"""What m frozen noise draws per training point do to the generated samples: f_mem over τ and τ_mem
against m (theory/finite_noise_ridge.md, theory/generation.md (Y14)).

fig_noise_generation.png, two panels, exact tanh features, d = 8, ψ_p = 16 (p = 128), ψ_n = 2 (n = 16), λ = 0,
reverse SDE from the trained random-features score at every grid time, 3 seeds:
(a) f_mem (mean over seeds, the band the seeds' Wilson 95 % intervals pooled) against τ for m = 1, 4, 16, 64, ∞:
    with few draws the readout fits the n·m frozen noisy points, not the training points, and copies later or
    never (nm ≤ p: not at all);
(b) τ_mem read off the samples (f_mem reaching 0.1, (Y11)) against m, per seed; a seed whose f_mem does not
    reach 0.1 at any finite τ of the list is censored and drawn as an open triangle at the top (flagged in the
    data: ``censored`` and ``reached``).
Data: fig_noise_generation.csv (one row per m, seed, τ) + .json (the per-seed τ_mem with a ``censored`` flag).
"""
from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..core.precision import float64
from ..generative.generation import (DEFAULT_READOFF, DEFAULT_SAMPLING, GENERATION_MEHLER, GENERATION_SCORE_MODEL,
                                     generation_experiment)
from ..runtime.sweep import SweepRunner
from ..runtime.io import write_result
from .style import figure, save, styled

MS = (1, 4, 16, 64, None)


def _lab(m) -> str:
    return r"\infty" if m is None else str(m)


@float64
def make(out_dir: Path, *, quick: bool = False, progress: bool = False) -> dict:
    """Budget ≈ 20 s on 2 idle cores (--quick ≈ 8 s: m = 1, 16, ∞, 400 samples)."""

    out_dir = Path(out_dir)
    ms = (1, 16, None) if quick else MS
    params = dict(d=8, psi_p=16.0, psi_n=2.0, t_min=1e-3, t_max=3.0, times=6,
                  tau=[1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, math.inf], samples=400 if quick else 1000, seeds=3, seed=0,
                  ridge=0.0, max_order=32, mem_threshold=0.1, sampler="sde", model="exact")
    cols = {k: [] for k in ("noise_samples", "seed", "n", "p", "tau", "f_mem", "f_mem_lo", "f_mem_hi", "frechet")}
    tau_mem = {}
    sampling = replace(DEFAULT_SAMPLING, **{k: params[k] for k in ("t_min", "t_max", "times", "samples")})
    for m in ms:
        res = generation_experiment([params["psi_n"]], d=params["d"], psi_p=params["psi_p"], tau=params["tau"],
                                    sampling=sampling, seeds=params["seeds"], seed=params["seed"],
                                    score_model=replace(GENERATION_SCORE_MODEL, noise_samples=m, ridge=params["ridge"],
                                                        mehler=replace(GENERATION_MEHLER,
                                                                       max_order=params["max_order"])),
                                    readoff=replace(DEFAULT_READOFF, mem_threshold=params["mem_threshold"]),
                                    runner=SweepRunner(workers=1), progress=progress)
        tab = res.table
        for j in range(tab["tau"].size):
            cols["noise_samples"].append(math.inf if m is None else m)
            cols["seed"].append(int(tab["seed"][j]))
            cols["n"].append(int(round(tab["psi_n"][j] * params["d"])))
            cols["p"].append(int(round(params["psi_p"] * params["d"])))
            for k in ("tau", "f_mem", "f_mem_lo", "f_mem_hi", "frechet"):
                cols[k].append(float(tab[k][j]))
        tau_mem[_lab(m).replace("\\", "")] = [
            {"seed": q["seed"], "tau_mem_samples": float(q["tau_mem_samples"]),
             "censored": bool(not np.isfinite(q["tau_mem_samples"])),
             "reached": "never" if math.isnan(q["tau_mem_samples"]) else
             ("only at tau = inf" if math.isinf(q["tau_mem_samples"]) else "on the finite tau list")}
            for q in res.points]
    png = _plot(cols, tau_mem, ms, params, out_dir / "fig_noise_generation.png")
    cols = {k: np.asarray(v) for k, v in cols.items()}
    params = dict(params, noise_samples=[_lab(m).replace("\\", "") for m in ms], quick=quick)
    csv = write_result(out_dir / "fig_noise_generation.csv", cols, params, tau_mem_samples=tau_mem,
                       note="tau_mem_samples: f_mem reaching mem_threshold on the τ list (Y11); censored: not "
                            "reached at any finite τ of the list (NaN: never, inf: only at τ = inf), not a measured "
                            "value")
    return {"files": [png, str(csv), str(csv.with_suffix(".json"))], "parameters": params,
            "tau_mem_samples": tau_mem}


@styled
def _plot(cols, tau_mem, ms, params, path) -> str:
    fig, (ax, bx) = figure(1, 2, figsize=(9.0, 3.6), constrained_layout=True)
    m_col = np.array(cols["noise_samples"], dtype=float)
    tau = np.array(cols["tau"])
    fin = np.isfinite(tau)
    top = 10.0 * tau[fin].max()
    taus = np.unique(np.where(fin, tau, top))
    for i, m in enumerate(ms):
        sel = m_col == (math.inf if m is None else m)
        x = np.where(fin, tau, top)
        mean = np.array([np.mean(np.array(cols["f_mem"])[sel & (x == t)]) for t in taus])
        lo = np.array([np.min(np.array(cols["f_mem_lo"])[sel & (x == t)]) for t in taus])
        hi = np.array([np.max(np.array(cols["f_mem_hi"])[sel & (x == t)]) for t in taus])
        ax.plot(taus, mean, "o-", ms=3.5, color=f"C{i}", label=rf"$m = {_lab(m)}$")
        ax.fill_between(taus, lo, hi, color=f"C{i}", alpha=0.15, lw=0)
    ax.axhline(params["mem_threshold"], color="0.5", ls=":", lw=0.9)
    ax.set_xscale("log")
    ticks = [t for t in taus if t < top]
    ax.set_xticks(ticks[::2] + [top], [f"$10^{{{round(np.log10(t))}}}$" for t in ticks[::2]] + [r"$\infty$"])
    ax.set(xlabel=r"$\tau$", ylabel=r"$f_{mem}$",
           title=rf"(a) copies among the samples, $d$ = {params['d']}, $n$ = {round(params['psi_n'] * params['d'])}, "
                 rf"$p$ = {round(params['psi_p'] * params['d'])}")
    ax.legend(fontsize=7.5)
    finite_vals = [e["tau_mem_samples"] for v in tau_mem.values() for e in v if not e["censored"]]
    ceiling = 3.0 * (max(finite_vals) if finite_vals else top)
    xs = []
    for i, (lab, m) in enumerate(zip(tau_mem, ms)):
        xm = 4.0 * 64 if m is None else m  # m = ∞ drawn at the right edge
        xs.append((xm, lab))
        for e in tau_mem[lab]:
            if e["censored"]:
                bx.plot(xm, ceiling, "^", mfc="none", color=f"C{i}", ms=7)
            else:
                bx.plot(xm, e["tau_mem_samples"], "o", color=f"C{i}", ms=5)
    bx.set(xscale="log", yscale="log", xlabel=r"$m$ (noise draws per training point)",
           ylabel=r"$\tau_{mem}$ (samples, $f_{mem}$ = 0.1)",
           title=r"(b) $\tau_{mem}$ per seed; $\triangle$: not reached at finite $\tau$ (censored)")
    bx.set_xticks([x for x, _ in xs], [("$\\infty$" if lab == "infty" else f"${lab}$") for _, lab in xs])
    bx.minorticks_off()
    fig.suptitle(r"Finite noise samples $m$ and the generated samples (exact tanh features, $\lambda$ = 0, 3 seeds)",
                 fontsize=10)
    return save(fig, path)
