"""Benchmark of the real-data path on the bundled digits (issue 12). Plain script, not collected by pytest.

    python benchmarks/bench_realdata.py [--psi-p 16] [--n 1024] [--seed 0]

Case: scikit-learn's 8×8 digits (d = 61 after the three always-zero pixels), ψ_p = 16
(p = 976), n = 1024 training rows, held-out rows from the default 0.2 split (359), t = 0.01.
Timed in stages: the exact matrices with held-out U_pop, V_pop ((R1) of theory/real_data.md),
the p×p eigendecomposition + rotation, a 400-point (D3)-(D4) trajectory, the τ read-offs.
Baselines in the same process, on the same W and training rows: (i) the Gaussian-population
exact matrices (U_pop, V_pop from Σ̂ by the one-point Mehler sum, theory/exact_matrices.md)
with the same eigendecomposition, (ii) the Gaussian-equivalent (G4)-(G6) eigensystem with Σ̂
(`rfscore.data.realdata.gaussian_eigensystem`). The target is < 60 s for the whole real-data path.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import rfscore  # noqa: F401  (float64)
from rfscore.data.datasets import load_dataset
from rfscore.finite.dynamics import trajectory
from rfscore.finite.eigensystem import eigensystem
from rfscore.finite.exact import exact_matrices
from rfscore.data.realdata import RealDataKeys, gaussian_constants, gaussian_eigensystem, real_matrices
from rfscore.finite.inputs import sample_weights, size_of
from rfscore.analysis.timescales import timescales

T = 0.01


def timed(fn, *a, **kw):
    t0 = time.perf_counter()
    out = fn(*a, **kw)
    return out, time.perf_counter() - t0


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--psi-p", type=float, default=16.0)
    ap.add_argument("--n", type=int, default=1024)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    keys = RealDataKeys.from_seed(args.seed)
    ds, t_load = timed(load_dataset, "digits", key=keys.data)
    d = ds.d
    p = size_of("psi_p", args.psi_p, d)
    W = np.asarray(sample_weights(keys.weights, p, d))
    n = args.n
    tau = np.geomspace(1, 1e7, 400)
    # warm-up (compilation of the quadrature blocks) on a tiny problem, not timed
    exact_matrices(W[:8], ds.training_set(8), t=T, X_test=ds.test[:8])

    m, t_mat = timed(real_matrices, ds, W, n, t=T)
    es, t_eig = timed(eigensystem, m, n)
    tr, t_traj = timed(trajectory, es, tau)
    c = gaussian_constants(ds, T)
    ts, t_ts = timed(timescales, es, c)
    total = t_mat + t_eig + t_traj + t_ts
    print(f"[digits real] d={d} p={p} n={n} n_test={ds.n_test}: held-out exact matrices {t_mat:.1f} s (Mehler order "
          f"{m.mehler_order}, bound {m.truncation_bound:.1e}, quadrature error {m.quadrature_error:.1e}), eigh + "
          f"rotation {t_eig:.1f} s, 400-point trajectory {t_traj:.2f} s, τ read-offs {t_ts:.1f} s; total {total:.1f} s "
          f"(target < 60 s: {'met' if total < 60 else 'MISSED'}); load + split {t_load:.2f} s", flush=True)
    print(f"  τ_gen = {ts.tau_gen:.4g}, τ_mem = {ts.tau_mem:.4g}, τ_early_stop = {ts.tau_early_stop:.4g}, "
          f"τ_gap = {ts.tau_gap:.4g}; final train/test loss {tr.train_loss[-1]:.6f} / {tr.test_loss[-1]:.6f}")

    m_pop, t_pop = timed(exact_matrices, W, ds.training_set(n), t=T, sigma=ds.sigma)
    _, t_eig_pop = timed(eigensystem, m_pop, n)
    print(f"[baseline: Gaussian-population exact matrices with Σ̂] {t_pop:.1f} s + eigh {t_eig_pop:.1f} s = "
          f"{t_pop + t_eig_pop:.1f} s -> held-out path / baseline = {(t_mat + t_eig) / (t_pop + t_eig_pop):.2f}",
          flush=True)
    es_g, t_g = timed(gaussian_eigensystem, ds, W, n, t=T, keys=keys, constants=c)
    print(f"[baseline: Gaussian-equivalent (G4)-(G6) with Σ̂] eigensystem {t_g:.1f} s -> real-data path / GEP = "
          f"{(t_mat + t_eig) / t_g:.1f}", flush=True)


if __name__ == "__main__":
    main()
