"""Paper Fig. 7 (optimiser controls), on the mixture: τ_mem against n for full-batch SGD and for Adam.

The paper's Fig. 7 controls its U-Net image runs with full batch and with Adam (lr 10⁻⁴, B = min(n, 512)).
Here the control is on the mixture of SM B, from committed `rfscore train-net` runs: the paper's protocol
(``sm9_runs.csv``, full-batch SGD 6·10⁻³ momentum 0.95) and the same protocol with Adam 6·10⁻⁴ (the Adam rate of
the paper's mixture script; ``fig7_adam_runs.csv``, still full batch), W = 64, and the batch controls
(``fig7_controls.csv``: both optimisers with a fixed B = 6 over n, and a batch sweep at n = 48); all regenerated
by the commands of theory/trained_networks.md §7. Panels: (a) τ_mem (f_mem ≥ 0.05, seed means, updates) against
n for every protocol with the exponents (`rfscore.analysis.networks.exponent_table`, `control_table`); (b) the
collapse f_mem/f_mem(τ_max) against τ/n for the two full-batch protocols (seed 0), dashed where the curve did not
reach its plateau (N11); (c) the batch sweep at n = 48: τ_mem against B for both optimisers with the exponent ζ
of τ_mem ∝ B^ζ and the candidate mechanism's predictions ζ = 0 (SGD) and −½ (Adam) (N14).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from matplotlib import colormaps

from ...analysis.networks import (THRESHOLDS, control_readoffs, control_table, exponent_table, geometric_mean,
                                  plateau_collapse, read_csv, run_readoffs)
from ..style import figure, fit_label, save, styled, value_ticks
from ...core.precision import float64

DATA = Path(__file__).resolve().parents[1] / "data"
RUNS = {"SGD 6e-3, momentum 0.95, B = n (paper)": "sm9_runs.csv", "Adam 6e-4, B = n": "fig7_adam_runs.csv"}
CONTROLS = "fig7_controls.csv"
SWEEP_N = 48
MAIN_WIDTH = 64  # the width every protocol was run at (sm9_runs.csv also holds W = 32, 128)
PAPER = dict(data="images (CIFAR-10, CelebA)", arch="U-Net", controls=["full batch, n = 128 … 512",
                                                                       "Adam lr 1e-4, B = min(n, 512)"])


def _load(path: Path):
    table = read_csv(path)
    side = json.loads(path.with_suffix(".json").read_text())
    plateau = {}
    for key, r in side.get("readoffs", {}).items():  # n{n}_w{W}_s{seed}
        n, w, s = (int(x[1:]) for x in key.split("_"))
        plateau[(w, s, n)] = bool(r.get("plateau"))
    reads = run_readoffs(table, plateau=plateau, throw=False)  # censored read-offs are drawn as such
    return table, side, reads, exponent_table(reads, throw=False)


@float64
def make(out_dir: Path, *, quick: bool = False, progress: bool = False, data_dir=None) -> dict:
    """Draw the committed runs (``quick`` changes nothing); the manifest entry."""
    data_dir = DATA if data_dir is None else Path(data_dir)
    runs = {label: _load(data_dir / name) for label, name in RUNS.items()}
    controls = None
    if (data_dir / CONTROLS).exists():
        creads = control_readoffs(read_csv(data_dir / CONTROLS), throw=False)
        controls = (creads, control_table(creads, sweep_n=SWEEP_N, throw=False))
    png = Path(out_dir) / "fig7_optimiser.png"
    _draw(runs, png, controls)
    exps = {label: r[3] for label, r in runs.items()}
    # the n drawn per protocol at MAIN_WIDTH, from the runs themselves (each file grows as runs are added)
    sizes = "; ".join(f"{label}: n = " + ", ".join(str(n) for n in sorted({x['n'] for x in r[2] if x['width'] == MAIN_WIDTH}))
                      for label, r in runs.items())
    if controls:
        exps["controls"] = controls[1]
    return {"files": [png.name], "paper_parameters": PAPER,
            "parameters": {label: dict(r[1].get("protocol", {}), n=sorted({x["n"] for x in r[2]}),
                                       seeds=sorted({x["seed"] for x in r[2]}),
                                       width=sorted({x["width"] for x in r[2]})) for label, r in runs.items()},
            "differences": ["the two-Gaussian mixture of SM B with the paper's MLP instead of images with a U-Net",
                            "Adam lr 6e-4 (the paper's mixture script) with full batch, and with B = 6, instead of "
                            "lr 1e-4 with B = min(n, 512) on images",
                            "B = min(n, 512) is B = n at these n (≤ 96): the fixed-B controls use B = 6 and the "
                            "sweep B = 6, 12, 24, 48 at n = 48",
                            f"CPU sizes, W = {MAIN_WIDTH}, 3 seeds ({sizes}; controls: n = 12, 24, 48)",
                            "one-at-a-time variants of the paper's protocol in fig7_controls.csv (drawn in (a)): t "
                            "log-uniform instead of the DDPM index law, and the mixture μ = 0.8, σ = 0.6"],
            "exponents": exps,
            "source": [f"rfscore/figures/data/{x}" for x in (*RUNS.values(), *([CONTROLS] if controls else []))]}


@styled
def _draw(runs, png, controls=None):
    fig, axs = figure(1, 3 if controls else 2, figsize=(16.5 if controls else 11, 6.4 if controls else 4.4), constrained_layout=True)
    ax, bx = axs[0], axs[1]
    colors = colormaps["tab10"]
    all_ns = set()
    for i, (label, (table, side, reads, exps)) in enumerate(runs.items()):
        lr = float(side["parameters"]["lr"])
        widths = sorted({r["width"] for r in reads})
        w = MAIN_WIDTH if MAIN_WIDTH in widths else widths[0]
        ns = sorted({r["n"] for r in reads if r["width"] == w})
        all_ns |= set(ns)
        ys = []
        for n in ns:
            ys.append(geometric_mean([r["tau_mem"]["0.05"] / lr for r in reads if r["width"] == w and r["n"] == n]))
        betas = ", ".join(f"{thr}: {fit_label(exps[str(w)]['tau_mem'][str(thr)])}" for thr in THRESHOLDS)
        ax.plot(ns, ys, "o-", color=colors(i), label=f"{label}\n" + r"$\beta$ at $f_{\rm mem}\geq$ " + betas)
        seed = sorted({r["seed"] for r in reads})[0]
        for n, (xs, fs, plat) in plateau_collapse(table, reads, width=w, seed=seed, throw=False).items():
            bx.plot(xs / lr, fs, "-" if plat else "--", color=colors(i), alpha=0.4 + 0.6 * n / max(ns))
        bx.plot([], [], "--", color=colors(i), label=f"{label} (no plateau: dashed)")
    ax.set_xscale("log")
    value_ticks(ax, sorted(all_ns))
    ax.set_yscale("log")
    ax.set_xlabel("n")
    ax.set_ylabel(r"$\tau_{\rm mem}$ ($f_{\rm mem}\geq 0.05$, updates)")
    ax.set_title("(a) the optimiser at the paper's protocol, W = 64")
    ax.legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.16))
    bx.set_xscale("log")
    bx.set_xlabel(r"$\tau/n$ (updates per training point)")
    bx.set_ylabel(r"$f_{\rm mem}/f_{\rm mem}(\tau_{\max})$")
    bx.set_title("(b) collapse against τ/n (seed 0; darker: larger n)")
    bx.legend(fontsize=7)
    if controls:
        _draw_controls(ax, axs[2], *controls, first_color=len(runs))
        ax.legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.16))
    save(fig, png)


def _draw_controls(ax, cx, reads, table, first_color):
    """(a) the fixed-B protocols' τ_mem against n; (c) the batch sweep at n = SWEEP_N (N14)."""
    colors = colormaps["tab10"]
    over_n = [lab for lab in sorted({r["label"] for r in reads}) if len({r["n"] for r in reads if r["label"] == lab}) >= 2]
    # fixed-B protocols, then the one-thing-at-a-time variants of the paper's protocol (B = n, something else changed)
    fixed = [lab for lab in over_n if "B = n" not in lab]
    variants = [lab for lab in over_n if any(r["variant"] for r in reads if r["label"] == lab)]
    for i, lab in enumerate(fixed + variants):
        ns = sorted({r["n"] for r in reads if r["label"] == lab})
        ys = [geometric_mean([r["tau_mem"]["0.05"] for r in reads if r["label"] == lab and r["n"] == n]) for n in ns]
        fit = table["exponents_in_n"][lab]["0.05"]
        ax.plot(ns, ys, "s--" if lab in fixed else "^:", color=colors(first_color + i),
                label=f"{lab}\n" + r"$\beta$ at 0.05: " + fit_label(fit))
    sweep = table["batch_sweep"]
    for i, opt in enumerate(o for o in ("sgd", "adam") if o in sweep):
        e = sweep[opt]
        bs = np.array(e["batches"], dtype=float)
        ys = np.array(e["0.05"]["tau_mem_mean"], dtype=float)
        cx.plot(bs, ys, "o-", color=colors(i), label=f"{opt}: " + r"$\zeta$ = " + fit_label(e["0.05"]))
        if np.isfinite(ys[-1]):
            zeta = 0.0 if opt == "sgd" else -0.5
            cx.plot(bs, ys[-1] * (bs / bs[-1]) ** zeta, ":", color=colors(i), lw=1,
                    label=rf"prediction $\zeta$ = {zeta:g} (N14)")
    cx.set(xscale="log", yscale="log", xlabel="batch B",
           ylabel=r"$\tau_{\rm mem}$ ($f_{\rm mem}\geq 0.05$, updates)")
    value_ticks(cx, sorted({int(b) for o in ("sgd", "adam") if o in sweep for b in sweep[o]["batches"]}))
    cx.set_title(f"(c) batch sweep at n = {sweep['n']}: " + r"$\tau_{\rm mem}\propto B^\zeta$", fontsize=9)
    cx.legend(fontsize=7)
