"""Benchmark of the exact finite-m path (theory/finite_noise_ridge.md (F1)-(F4)). Plain script, not collected by pytest.

    python benchmarks/bench_finite_noise.py [--quick] [--blas-threads K]

n·m = 16384 frozen noisy points (n = 256, m = 64), p = 4096, d = 64, t = 0.01, tanh: timed in its
stages — the m = ∞ exact matrices (E1)-(E3) (needed for the population test loss and the empirical
test loss (F4)), the finite-m U^(m), V^(m) from Φ formed in blocks of 2048 rows (F1), one p×p
eigendecomposition with the rotations of U_pop, V_pop, U_avg, V_avg, and a 200-point trajectory with
ridge (F3) including τ = inf. ``--quick``: p = 1024, n·m = 4096.

``--blas-threads K`` sets OPENBLAS_NUM_THREADS / OMP_NUM_THREADS / MKL_NUM_THREADS before NumPy is
imported. On a 2-core machine with another job on one core, 2 BLAS threads make the p×p
eigendecomposition 8-12x slower than 1 thread (measured at p = 2048: 13-20 s against 1.7 s), so
the benchmark should be run with the number of idle cores.
"""
from __future__ import annotations

import argparse
import os
import time

T = 0.01


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--blas-threads", type=int, default=None)
    args = ap.parse_args()
    if args.blas_threads is not None:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(args.blas_threads)
    import jax
    import numpy as np

    import rfscore  # noqa: F401  (float64)
    from rfscore.finite.inputs import sample_inputs
    from rfscore.finite.exact import exact_matrices
    from rfscore.finite.frozen_noise import exact_noise_matrices, noise_eigensystem, noise_trajectory

    d, psi_p, n, m = (64, 16, 64, 64) if args.quick else (64, 64, 256, 64)
    W, X, _ = sample_inputs(jax.random.PRNGKey(0), d=d, psi_p=psi_p, psi_n=n / d)
    p = W.shape[0]
    print(f"exact finite-m path: p = {p}, d = {d}, n = {n}, m = {m}, n·m = {n * m}, t = {T}, "
          f"BLAS threads {os.environ.get('OPENBLAS_NUM_THREADS', 'default')}, {os.cpu_count()} cores")
    stages = {}
    t0 = time.perf_counter()
    avg = exact_matrices(W, X, t=T)
    stages["m = inf exact matrices (E1)-(E3)"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    fm = exact_noise_matrices(W, X, t=T, noise_samples=m, key=jax.random.PRNGKey(1), averaged=avg)
    stages["finite-m U^(m), V^(m) (F1), Φ in blocks"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    nes = noise_eigensystem(fm)
    stages["eigendecomposition + rotations"] = time.perf_counter() - t0
    tau = np.concatenate([np.geomspace(1e-2, 1e6, 199), [np.inf]])
    t0 = time.perf_counter()
    tr = noise_trajectory(nes, tau, ridge=1e-3)
    stages["trajectory, 200 τ, ridge 1e-3 (F3)-(F4)"] = time.perf_counter() - t0
    for k, v in stages.items():
        print(f"  {k:45s} {v:7.2f} s")
    print(f"  {'total':45s} {sum(stages.values()):7.2f} s   (converged: {tr.converged}, error {tr.error:.1e})")
    print(f"  τ = inf: train {tr.train_loss[-1]:.6f}  empirical test {tr.empirical_test_loss[-1]:.6f}  "
          f"test {tr.test_loss[-1]:.6f}  score error {tr.score_error[-1]:.4f}")


if __name__ == "__main__":
    main()
