"""Benchmark of the finite-size dynamics (issue 3). Plain script, not collected by pytest.

    python benchmarks/bench_dynamics.py [--quick]

Cases: (1) a 400-point closed-form trajectory at p = 8192 on the exact (E1)-(E3) matrix path
(timed in its stages: matrices, block-Lanczos trajectory), against the baseline of the full
eigendecomposition + rotation on the same matrices in the same process (skip it with
--no-baseline), with the largest difference between the two curves;
(2) the thin-SVD Gaussian-equivalent path at p = 65536, d = 64, ψ_n = 16;
(3) simulated GD steps per second at p = 4096, d = 64, n = 512 (exact features, m = 1);
(4) the ratio of closed-form time to the simulated run that reaches the same τ,
both measured in this process on the same problem.
"""
from __future__ import annotations

import argparse
import time

import jax
import numpy as np

import rfscore  # noqa: F401

jax.config.update("jax_enable_x64", True)  # a script: its own JAX code (baselines, keys) in float64, as rfscore's
from rfscore.finite.dynamics import trajectory
from rfscore.finite.krylov import krylov_trajectory
from rfscore.finite.eigensystem import eigensystem
from rfscore.finite.exact import exact_matrices
from rfscore.finite.gep import gep_eigensystem
from rfscore.finite.inputs import sample_inputs
from rfscore.finite.simulation import simulate, training_problem
from rfscore.finite.simulation import SimulationOptions

T = 0.01


def timed(fn, *a, **kw):
    t0 = time.perf_counter()
    out = fn(*a, **kw)
    jax.block_until_ready(getattr(out, "lam", out) if not isinstance(out, tuple) else out[0])
    return out, time.perf_counter() - t0


def case_exact(p, d, psi_n, baseline=True):
    W, X, _ = sample_inputs(jax.random.PRNGKey(0), d=d, psi_p=p / d, psi_n=psi_n)
    n = X.shape[0]
    tau = np.geomspace(1, 1e7, 400)
    m, t_mat = timed(exact_matrices, W, X, t=T)
    print(f"  [exact] matrices done in {t_mat:.1f} s (Mehler order {m.mehler_order}, bound {m.truncation_bound:.1e}, "
          f"quadrature error {m.quadrature_error:.1e})", flush=True)
    kt, t_kry = timed(krylov_trajectory, m, n, tau, progress=False)
    print(f"[exact] p={p} d={d} n={n}: matrices {t_mat:.1f} s + block-Lanczos 400-point trajectory {t_kry:.1f} s "
          f"(Krylov dimension {kt.krylov_dim}, residual {kt.residual:.1e} Δ) = {t_mat + t_kry:.1f} s", flush=True)
    if not baseline:
        return
    t0 = time.perf_counter()
    ref = trajectory(eigensystem(m, n), tau)
    t_eig = time.perf_counter() - t0
    diff = max(np.max(np.abs(kt.train_loss - ref.train_loss)), np.max(np.abs(kt.test_loss - ref.test_loss))) / m.delta_t
    print(f"[exact baseline] full eigh + rotation + trajectory {t_eig:.1f} s -> block Lanczos is {t_eig / t_kry:.1f}x "
          f"faster; max |Lanczos - eigh| = {diff:.1e} Δ", flush=True)


def case_thin(p, d, psi_n):
    W, X, ko = sample_inputs(jax.random.PRNGKey(1), d=d, psi_p=p / d, psi_n=psi_n)
    es, t_eig = timed(gep_eigensystem, W, X, t=T, key=ko)
    tau = np.geomspace(1, 1e7, 400)
    trajectory(es, tau[:2])
    _, t_traj = timed(trajectory, es, tau)
    print(f"[gep thin] p={p} d={d} n={X.shape[0]} (k={es.eigvals.size} modes): thin SVD + rotation {t_eig:.1f} s, "
          f"400-point trajectory {t_traj:.2f} s; total {t_eig + t_traj:.1f} s", flush=True)


def case_sim(p, d, n, steps):
    W, X, _ = sample_inputs(jax.random.PRNGKey(2), d=d, psi_p=p / d, psi_n=n / d)
    t0 = time.perf_counter()
    m = exact_matrices(W, X, t=T)
    es = eigensystem(m, n)
    tau_end = None
    t_setup = time.perf_counter() - t0
    prob = training_problem(W, X, t=T, model="exact", matrices=m)
    lr = 0.5 * prob.max_stable_lr()
    tau_end = steps * lr
    t0 = time.perf_counter()
    trajectory(es, np.geomspace(lr, tau_end, 50))
    t_closed = t_setup + time.perf_counter() - t0
    simulate(prob, lr=lr, steps=steps // 10, options=SimulationOptions(record=5, block=steps // 10))  # compile
    t0 = time.perf_counter()
    simulate(prob, lr=lr, steps=steps, options=SimulationOptions(record=20, block=steps // 10))
    t_sim = time.perf_counter() - t0
    rate = steps / t_sim
    print(f"[simulate] p={p} d={d} n={n}: GD (m = 1, exact features) {rate:.1f} steps/s "
          f"({steps} steps, lr = {lr:.3g} = half the stability limit, τ = {tau_end:.3g})", flush=True)
    print(f"[ratio] closed form (matrices + eigh + 50-point trajectory) {t_closed:.1f} s vs simulated run to the "
          f"same τ = {tau_end:.3g}: {t_sim:.1f} s -> closed/simulated = {t_closed / t_sim:.3g}; to reach τ = 1e6 "
          f"the run needs {1e6 / lr:.3g} steps ≈ {1e6 / lr / rate:.3g} s (ratio {t_closed / (1e6 / lr / rate):.2g})", flush=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    ap.add_argument("--p-exact", type=int, default=8192)
    ap.add_argument("--no-baseline", action="store_true", help="skip the full-eigendecomposition baseline (minutes)")
    a = ap.parse_args()
    q = a.quick
    print(f"jax {jax.__version__}, devices {jax.devices()}", flush=True)
    case_thin(8192 if q else 65536, 64, 16)
    case_sim(512 if q else 4096, 64, 64 if q else 512, 200 if q else 1000)
    case_exact(1024 if q else a.p_exact, 64, 4, baseline=not a.no_baseline)
