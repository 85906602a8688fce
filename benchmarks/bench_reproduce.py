"""Benchmark of `rfscore reproduce` (issue 9, part 5). Plain script, not collected by pytest.

    python benchmarks/bench_reproduce.py [--only fig4,fig5ab,...] [--skip-default] [--skip-quick]
                                         [--baseline-steps 2000]

(0) The noise draw's PRNG: threefry2x32 / rbg / unsafe_rbg, float64 and float32 normals
    (theory/dynamics.md §6, "Normals"), as ratios to threefry float64.
(1) Baseline in this process: the simulated-GD markers of Fig. 5A-B at ψ_n = 4 (GEP model,
    d = 10, ψ_p = 32, to τ = 5·10⁵), previous settings (ζ and ξ drawn in full, float64
    normals, η = η_max/4, m = 4: one run) against the current ones (reduced noise draw of
    theory/dynamics.md §6 (N1)-(N2), m = 16, one run per τ window of `fig5ab.FULL`).
    Both are timed on ``--baseline-steps`` steps after compilation; the table gives ms per
    step, the steps each setting needs, and the extrapolated run time (compilation apart).
(2) End to end: `rfscore reproduce` (default, then --quick) in a subprocess, wall time and
    the per-figure seconds from its manifest.json, with the load average (`os.getloadavg`)
    before and after each run: timings on a busy machine are not comparable.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import jax
import numpy as np

import rfscore  # noqa: F401

jax.config.update("jax_enable_x64", True)  # a script: its own JAX code (baselines, keys) in float64, as rfscore's
from rfscore.figures import fig5ab
from rfscore.finite.inputs import sample_inputs
from rfscore.finite.simulation import simulate, training_problem
from rfscore.finite.simulation import SimulationOptions


def load() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def per_step(prob, lr, m, sampler, steps) -> float:
    """Seconds per step of a `steps`-step run (compiled beforehand with the same configuration)."""
    kw = dict(lr=lr, fresh_noise=m, options=SimulationOptions(record=24, block=256, sampler=sampler), progress=False)
    simulate(prob, steps=256, key=jax.random.PRNGKey(0), **kw)  # compile
    t0 = time.perf_counter()
    simulate(prob, steps=steps, key=jax.random.PRNGKey(1), **kw)
    return (time.perf_counter() - t0) / steps


def prng_choice(reps: int = 2000, size: int = 4800) -> None:
    """The PRNG implementations for one step's normals (about 4800 at Fig. 5A-B sizes), in a scan."""
    import jax.numpy as jnp

    print(f"(0) {size} normals per step, {reps} steps in one lax.scan, {load()}", flush=True)
    times = {}
    for impl in ("threefry2x32", "rbg", "unsafe_rbg"):
        for dtype in (jnp.float64, jnp.float32):
            def body(c, i, impl=impl, dtype=dtype):
                k = jax.random.fold_in(jax.random.key(0, impl=impl), i)
                return c + jax.random.normal(k, (size,), dtype).astype(jnp.float64).sum(), None
            f = jax.jit(lambda: jax.lax.scan(body, 0.0, jnp.arange(reps))[0])
            f().block_until_ready()
            t0 = time.perf_counter()
            f().block_until_ready()
            times[impl, jnp.dtype(dtype).name] = (time.perf_counter() - t0) / reps
    ref = times["threefry2x32", "float64"]
    print(f"{'implementation':14s} {'dtype':8s} {'ms/step':>8s} {'vs threefry f64':>16s}")
    for (impl, dt), t in times.items():
        print(f"{impl:14s} {dt:8s} {1e3 * t:8.3f} {t / ref:16.2f}")


def baseline(steps: int) -> None:
    cfg = fig5ab.FULL
    W, X, ko = sample_inputs(jax.random.PRNGKey(1), d=cfg["d"], psi_p=cfg["psi_p"], psi_n=4.0)
    prob = training_problem(W, X, t=cfg["t"], model="gep", key=ko)
    lr_max = prob.max_stable_lr()
    print(f"(1) Fig. 5A-B markers at psi_n = 4 (p = {prob.p}, n = {prob.n}, d = {prob.d}), {load()}", flush=True)
    old_steps = int(np.ceil(cfg["tau_max"] / (0.25 * lr_max)))
    t_old = per_step(prob, 0.25 * lr_max, 4, "direct", steps)
    new_steps = [int(np.ceil(end / (frac * lr_max))) for end, frac in cfg["windows"]]
    t_new = per_step(prob, cfg["windows"][-1][1] * lr_max, cfg["noise_samples"], "reduced", steps)
    fracs = "/".join(f"{f:g}" for _, f in cfg["windows"])
    rows = [("previous: direct draw, m = 4, eta = 0.25 eta_max", t_old, old_steps),
            (f"current: reduced draw, m = {cfg['noise_samples']}, eta = {fracs} eta_max", t_new, sum(new_steps))]
    print(f"{'setting':62s} {'ms/step':>8s} {'steps':>7s} {'run s':>7s}")
    for name, t, n in rows:
        print(f"{name:62s} {1e3 * t:8.3f} {n:7d} {t * n:7.1f}")
    print(f"per step: {t_old / t_new:.1f}x faster; whole marker run: {t_old * old_steps / (t_new * sum(new_steps)):.1f}x "
          f"faster ({load()})", flush=True)


def reproduce(quick: bool, only: str | None) -> None:
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-m", "rfscore", "reproduce", "--out", out] + (["--quick"] if quick else [])
        cmd += ["--only", only] if only else []
        before = load()
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        wall = time.perf_counter() - t0
        after = load()
        manifest = json.loads((Path(out) / "manifest.json").read_text()) if (Path(out) / "manifest.json").exists() else {}
    label = "rfscore reproduce" + (" --quick" if quick else "") + (f" --only {only}" if only else "")
    print(f"\n(2) {label}: exit {proc.returncode}, wall {wall:.1f} s (before: {before}; after: {after})")
    if proc.returncode:
        print(proc.stderr[-2000:])
    figs = manifest.get("figures", {})
    print(f"{'figure':14s} {'seconds':>8s}")
    for name, entry in figs.items():
        print(f"{name:14s} {entry.get('seconds', float('nan')):8.1f}" + ("  FAILED" if "error" in entry else ""))
    print(f"{'sum':14s} {sum(e.get('seconds', 0.0) for e in figs.values()):8.1f}  (+ start-up: wall {wall:.1f})",
          flush=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default=None, help="comma-separated figures passed to `rfscore reproduce --only`")
    ap.add_argument("--skip-default", action="store_true")
    ap.add_argument("--skip-quick", action="store_true")
    ap.add_argument("--skip-baseline", action="store_true")
    ap.add_argument("--baseline-steps", type=int, default=2000)
    a = ap.parse_args()
    print(f"jax {jax.__version__}, devices {jax.devices()}, {os.cpu_count()} CPUs", flush=True)
    if not a.skip_baseline:
        prng_choice()
        baseline(a.baseline_steps)
    if not a.skip_default:
        reproduce(False, a.only)
    if not a.skip_quick:
        reproduce(True, a.only)
