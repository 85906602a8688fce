"""Benchmark: (S1)-(S3) on a 2000-point λ grid, vectorised solver vs a point-by-point baseline.

The baseline mimics the paper's released scripts: for each λ separately, scipy.optimize.root
on the six real unknowns (Re, Im of q, r, s), continued from η = 10 down to the same final η
over ~110 geometric steps, starting from q ≈ -1/z. Both run in this process; the baseline
on a subset of the grid (it is slow), compared per point. Usage: python benchmarks/bench_spectrum.py
"""
import time

import numpy as np
from scipy.optimize import root

from rfscore.core.constants import ge_constants
from rfscore.limit.spectrum import atom_weight, solve_spectrum

PSI_P, PSI_N, T, ETA = 32.0, 4.0, 0.01, 1e-12
N_GRID, N_BASE, N_STEPS = 2000, 40, 110


def baseline_point(lam, c, eta_final=ETA):
    """One λ: q, r, s from scipy.optimize.root with its own η-continuation (atom kept inside q)."""
    a2, alpha, b2, v2, s2 = c.a_t**2, c.alpha, c.b_t**2, c.v_t2, c.s_t2

    def eqs(x, z):
        q, r, s = x[0] + 1j * x[1], x[2] + 1j * x[3], x[4] + 1j * x[5]
        shat = b2 * PSI_P + 1 / q
        D = 1 + PSI_P / PSI_N * (alpha * r + v2 * q)
        rhat = PSI_P * alpha / D
        e = [s - 1 / (shat + rhat), r - 1 / (shat + rhat),
             (PSI_P * (s2 - z) + PSI_P * v2 / D + (1 - PSI_P) / q - s / q**2) * q]
        return np.array([v for c_ in e for v in (c_.real, c_.imag)])

    z = lam + 10j
    q = -1 / z
    x = np.array([q.real, q.imag] * 3)
    ok = True
    for eta in np.geomspace(10.0, eta_final, N_STEPS):
        sol = root(eqs, x, args=(lam + 1j * eta,), method="hybr", tol=1e-13)
        x, ok = sol.x, sol.success or np.max(np.abs(sol.fun)) < 1e-9
    q = x[0] + 1j * x[1]
    w = atom_weight(PSI_P, PSI_N, c.v_t2)
    dens = (q.imag - w * eta_final / ((s2 - lam) ** 2 + eta_final**2)) / np.pi
    return dens, ok and np.max(np.abs(eqs(x, lam + 1j * eta_final))) < 1e-9


def main():
    c = ge_constants(T)
    lam = np.linspace(1e-3, 15.0, N_GRID)
    t0 = time.perf_counter()
    solve_spectrum(lam, psi_p=PSI_P, psi_n=PSI_N, constants=c, eta=ETA)
    t_first = time.perf_counter() - t0
    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        res = solve_spectrum(lam, psi_p=PSI_P, psi_n=PSI_N, constants=c, eta=ETA)
        runs.append(time.perf_counter() - t0)
    t_vec = min(runs)
    # Half the baseline points in the small-λ bulks (λ < 0.3), half across the rest of the grid.
    idx = np.unique(np.concatenate([np.linspace(0, 39, N_BASE // 2), np.linspace(40, N_GRID - 1, N_BASE // 2)]).astype(int))
    t0 = time.perf_counter()
    base = [baseline_point(lam[i], c) for i in idx]
    t_base = time.perf_counter() - t0
    dens_b = np.array([b[0] for b in base])
    ok_b = np.array([b[1] for b in base])
    both = ok_b & res.converged[idx]
    diff = np.max(np.abs(dens_b[both] - res.density[idx][both])) if both.any() else float("nan")
    inside = both & (res.density[idx] > 1e-6)
    rel = np.max(np.abs(dens_b[inside] / res.density[idx][inside] - 1)) if inside.any() else float("nan")
    per_vec, per_base = t_vec / N_GRID, t_base / idx.size
    print(f"vectorised solver: {N_GRID} points in {t_vec:.3f} s after compilation "
          f"(first call incl. compilation {t_first:.2f} s); {res.message}")
    print(f"baseline (scipy.optimize.root, {N_STEPS}-step continuation): {idx.size} points in {t_base:.2f} s; "
          f"converged {ok_b.sum()}/{idx.size}")
    print(f"per point: {per_vec * 1e6:.1f} us vs {per_base * 1e3:.2f} ms -> ratio {per_base / per_vec:.0f}x")
    print(f"max |density difference| where both converge ({both.sum()} points): {diff:.2e}; "
          f"max relative difference inside the support ({inside.sum()} points, ρ from "
          f"{res.density[idx][inside].min():.2e} to {res.density[idx][inside].max():.2e}): {rel:.2e}")


if __name__ == "__main__":
    main()
