"""Benchmark of `rfscore generate` (issue 11). Plain script, not collected by pytest.

    python benchmarks/bench_generate.py [--quick]

(1) End to end: the d = 8, ψ_p = 128, ψ_n = 8 model on K = 40 log-spaced times in [1e-3, 3]
    (exact matrices and one eigendecomposition per time), readouts at 7 τ values
    (1e1 … 1e6, inf), 2000 reverse-SDE samples per τ, f_mem, Fréchet distance and its floor,
    the Girsanov estimate — `rfscore.generative.generation.generation_experiment`, one process.
(2) Baseline in the same process: simulated GD (`rfscore.finite.simulation.simulate`, exact features,
    one fresh noise sample per data point per step, η = 0.9 η_max) to τ = 10⁶ at every grid
    time. Its cost per step is measured at a few grid times; the number of steps at each time,
    10⁶/η_k with η_k = 0.9 ψ_p/(Δ_k λ_max(U_k)), needs λ_max(U_k), which is computed at the
    measured times and interpolated linearly in log t between them (λ_max varies slowly with t).
(3) The memorisation map (theory/generation.md §9) on top of (1): its parts timed on the same draw and
    grid — the last peak of (T1) at every grid time from the eigensystem the run already has (M1), and the
    collapse scale Δ_C (M3) — as a fraction of the end-to-end time (1), which includes them.
Prints the times and their ratios; --quick uses ψ_p = 32, K = 12 (a smoke run).
"""
from __future__ import annotations

import argparse
import math
import os
import time

import jax
import numpy as np

import rfscore  # noqa: F401

jax.config.update("jax_enable_x64", True)  # a script: its own JAX code (baselines, keys) in float64, as rfscore's
from rfscore.finite.exact import exact_matrices
from rfscore.generative.generation import generation_experiment
from rfscore.finite.inputs import point_key, sample_inputs
from rfscore.generative.score_model import time_grid
from rfscore.finite.simulation import simulate, training_problem
from rfscore.finite.exact import MehlerRule
from rfscore.generative.generation import SamplingConfig
from rfscore.runtime.sweep import SweepRunner
from rfscore.finite.simulation import SimulationOptions


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    d, psi_p, psi_n = 8, (32 if args.quick else 128), 8
    K, samples, tau_target = (12 if args.quick else 40), 2000, 1e6
    tau = [1e1, 1e2, 1e3, 1e4, 1e5, 1e6, math.inf]

    t0, c0 = time.perf_counter(), time.process_time()
    res = generation_experiment([psi_n], d=d, psi_p=psi_p, sampling=SamplingConfig(times=K, samples=samples), runner=SweepRunner(workers=1), tau=tau,
                                progress=False)
    t_closed, cpu = time.perf_counter() - t0, time.process_time() - c0
    # CPU time (all threads of this process) bounds the wall time an idle machine would need
    # when other jobs share the cores; both are printed
    print(f"(1) generate end to end: d={d}, p={res.parameters['p']}, n={res.parameters['n'][0]}, K={K}, "
          f"{len(tau)} τ × {samples} samples: {t_closed:.1f} s wall, {cpu:.1f} s CPU, load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for row in zip(res.table["tau"], res.table["f_mem"], res.table["frechet"]):
        print(f"    τ = {row[0]:>8g}: f_mem = {row[1]:.3f}, Fréchet = {row[2]:.3f}")

    # (2) the simulated-GD baseline on the very same draw (same point key as generation_point)
    k_model = jax.random.split(point_key(0, float(psi_n)), 3)[0]
    W, X, _ = sample_inputs(k_model, d=d, psi_p=psi_p, psi_n=psi_n, sigma=np.eye(d))
    grid = time_grid(1e-3, 3.0, K)
    probe = grid[[0, K // 2, K - 1]]
    lam_max, per_step = [], []
    measure_steps = 2000 if args.quick else 5000
    for t in probe:
        prob = training_problem(W, X, t=float(t), matrices=exact_matrices(W, X, t=float(t)))
        lam_max.append(prob.lambda_max())
        lr = 0.9 * prob.max_stable_lr()
        simulate(prob, lr=lr, steps=256, options=SimulationOptions(record=2), progress=False)  # compile
        s0 = time.perf_counter()
        simulate(prob, lr=lr, steps=measure_steps, options=SimulationOptions(record=2), progress=False)
        per_step.append((time.perf_counter() - s0) / measure_steps)
    lam_grid = np.interp(np.log(grid), np.log(probe), lam_max)
    dl = -np.expm1(-2 * grid)
    steps = tau_target * dl * lam_grid / (0.9 * psi_p)  # τ/η_k
    t_sim = float(np.sum(steps) * np.mean(per_step))
    print(f"(2) simulated GD to τ = 1e6 at all {K} times: {np.sum(steps):.3g} steps × "
          f"{np.mean(per_step) * 1e6:.1f} µs/step (measured at t = {', '.join(f'{t:.3g}' for t in probe)}) "
          f"≈ {t_sim:.0f} s (extrapolated), for one τ only")
    print(f"ratio simulated / closed form (all 7 τ and sampling included): {t_sim / t_closed:.0f}×")

    # (3) the map's own work: (M1) at every grid time on eigensystems computed outside the timer, (M3) once
    from rfscore.analysis.memorisation_map import collapse_scale, spectrum_peak_readoff
    from rfscore.generative.generation import MAX_ORDER, MEHLER_TOL
    eig = []
    for t in grid:
        m = exact_matrices(W, X, t=float(t), mehler=MehlerRule(max_order=MAX_ORDER, tol=MEHLER_TOL))
        lam, Q = np.linalg.eigh(np.asarray(m.U))
        eig.append((lam, Q.T @ np.asarray(m.V), m.delta_t))
    s0, c0 = time.perf_counter(), time.process_time()
    for lam, vt, dl in eig:
        spectrum_peak_readoff(lam, vt, delta_t=dl, p=W.shape[0], d=d)
    t_peaks, c_peaks = time.perf_counter() - s0, time.process_time() - c0
    s0, c0 = time.perf_counter(), time.process_time()
    collapse_scale(np.asarray(X), jax.random.fold_in(k_model, 11))
    t_collapse, c_collapse = time.perf_counter() - s0, time.process_time() - c0
    print(f"(3) memorisation map: (M1) at {K} times {t_peaks:.2f} s, (M3) collapse scale {t_collapse:.2f} s wall "
          f"({c_peaks + c_collapse:.2f} s CPU): {(t_peaks + t_collapse) / t_closed:.1%} of the end-to-end wall time "
          f"(1), {(c_peaks + c_collapse) / cpu:.1%} of its CPU time")
    return {"closed_form_s": t_closed, "closed_form_cpu_s": cpu, "simulated_gd_s": t_sim, "ratio": t_sim / t_closed,
            "map_s": t_peaks + t_collapse, "map_fraction": (t_peaks + t_collapse) / t_closed,
            "map_cpu_fraction": (c_peaks + c_collapse) / cpu}


if __name__ == "__main__":
    main()
