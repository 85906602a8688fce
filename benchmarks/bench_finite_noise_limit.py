"""Benchmark of the d → ∞ learning curves for finite noise samples m and ridge λ (issue 17). Plain script,
not collected by pytest.

    python benchmarks/bench_finite_noise_limit.py [--points 40] [--baseline-d 50]

(1) A 40-point learning curve over ψ_p ∈ [1, 64] (τ = ∞, ψ_n = 2, t = 0.1, λ = 10⁻³) for m = 1, 4, 16, ∞ by
    (F11), against the baseline of the same 160 points by the exact finite-size closed form of the frozen-draw
    GEP model (one seed, d = --baseline-d), both in this process; the ratio and the largest relative gap.
(2) One curve along τ (20 τ points, (F12) with its second-contour check) at ψ_p = 8, ψ_n = 2, m = 4.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import rfscore  # noqa: E402,F401  (float64)
from rfscore.limit.finite_noise import finite_noise_curves  # noqa: E402
from test_finite_noise_limit import finite_size  # noqa: E402  (the tests' independent finite-size path)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=40)
    ap.add_argument("--baseline-d", type=int, default=50)
    a = ap.parse_args()
    grid = np.geomspace(1.0, 64.0, a.points)
    ms = (1, 4, 16, None)
    print(f"load average {os.getloadavg()[0]:.2f}", flush=True)
    t0 = time.perf_counter()
    lim = {m: np.array([finite_noise_curves([np.inf], psi_p=x, psi_n=2.0, t=0.1, noise_samples=m, ridge=1e-3)
                        .test_loss[0] for x in grid]) for m in ms}
    t_lim = time.perf_counter() - t0
    print(f"(1) d → ∞: {len(ms)} × {a.points} points in {t_lim:.2f} s", flush=True)
    t0 = time.perf_counter()
    fin = {m: np.array([finite_size(x, 2.0, m, a.baseline_d, 1e-3, 0, [np.inf])[0, 1] for x in grid]) for m in ms}
    t_fin = time.perf_counter() - t0
    gap = max(float(np.max(np.abs(fin[m] / lim[m] - 1))) for m in ms)
    print(f"    baseline finite size d = {a.baseline_d}, 1 seed: {t_fin:.2f} s; ratio {t_fin / t_lim:.1f}×; "
          f"largest relative gap {gap:.3f} (one seed, O(1/d) and seed noise)")
    t0 = time.perf_counter()
    r = finite_noise_curves(np.geomspace(1, 1e6, 20), psi_p=8.0, psi_n=2.0, t=0.1, noise_samples=4, ridge=1e-3)
    print(f"(2) along τ (20 points, two contours): {time.perf_counter() - t0:.2f} s, quadrature error "
          f"{r.error:.1e} Δ, converged {r.converged}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
