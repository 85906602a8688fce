"""Benchmark: the 1000-point asymptotic learning curve (A1)-(A5), tanh, t = 0.01, ψ_p = 32, ψ_n = 4.

Fast path: rfscore.limit.asymptotic.asymptotic_curves (all contour nodes solved at once in JAX,
every τ a matrix–vector product), with and without its second-contour quadrature check.
Baseline (same process, same formulas): a plain-numpy route (theory/asymptotic.md §4) —
contour x ± 0.6ix, x log-spaced on [s_t²/3, 60], 500 points a side, trapezoid rule;
(A1) by damped iteration one node at a time; (A4)-(A5) evaluated one τ at a time.
Prints wall times, the ratio, and the largest difference of the excess losses (units of Δ).

Non-isotropic Σ (second layer (A6)-(A10)): the same 1000-point curve for ρ_Σ = ½δ_0.5 + ½δ_1.5 and
for powerlaw:1.5 (K = 100 atoms, (A11)), warm, timed against the isotropic fast path in the same
process (ratio non-isotropic / isotropic; target: the same order).

    /work/venv/bin/python benchmarks/bench_asymptotic.py [--num 1000]
"""
import argparse
import time

import numpy as np

from rfscore.limit.asymptotic import asymptotic_curves, nu_c_quadrature
from rfscore.core.constants import ge_constants
from rfscore.core.covariance import SigmaSpectrum
from rfscore.limit.contour_losses import ContourRule

PSI_P, PSI_N, T = 32.0, 4.0, 0.01


def baseline(tau, side=500, mu_nodes=300):
    c = ge_constants(T)
    alpha, b2, v2, s2 = c.alpha, c.b_t**2, c.v_t2, c.s_t2
    ratio, rate = PSI_P / PSI_N, 2 * c.delta_t / PSI_P
    mu, w = nu_c_quadrature(PSI_P, mu_nodes)
    sg, u = alpha * mu + v2, (alpha + b2) * mu + v2 + s2
    # closed polygon: lower ray (left → right), right segment, upper ray (right → left), left segment
    x = np.geomspace(s2 / 3, 60.0, side)
    lower = x * (1 - 0.6j)
    zr = 60.0 + 1j * np.linspace(-36.0, 36.0, 61)[1:-1]
    zl = s2 / 3 + 1j * np.linspace(0.2 * s2, -0.2 * s2, 21)[1:-1]
    ring = np.concatenate([lower, zr, lower[::-1].conj(), zl])
    dz = 0.5 * (np.roll(ring, -1) - np.roll(ring, 1))  # trapezoid weights on a closed polygon
    delta = np.zeros(ring.size, complex)
    R = np.zeros((ring.size, mu.size), complex)
    for i, z in enumerate(ring):  # damped iteration, one node at a time
        d = 0j
        for _ in range(20000):
            r = 1 / ((alpha / (1 + d) + b2) * mu + v2 / (1 + d) + s2 - z)
            new = ratio * np.sum(w * sg * r)
            if abs(new - d) < 1e-12:
                break
            d = 0.5 * d + 0.5 * new
        delta[i], R[i] = d, r
    m = b2 * PSI_P * (R * w * mu).sum(1)
    pref = 1 / np.outer(1 + delta, 1 + delta)
    y = ratio * ((R * w * sg * u) @ R.T) / (1 - ratio * ((R * w * sg**2) @ R.T) * pref)
    Tm = PSI_P * ((R * w * mu * u) @ R.T) + PSI_P * y * ((R * w * mu * sg) @ R.T) * pref
    train, test = np.empty(tau.size), np.empty(tau.size)
    for k, tk in enumerate(tau):  # one τ at a time
        f = -np.expm1(-rate * tk * ring) / ring
        g = -np.expm1(-2 * rate * tk * ring) / ring
        train[k] = 1 + (np.sum(g * m * dz) / (2j * np.pi)).real
        F = f * dz
        test[k] = 1 + (b2 * (F @ Tm @ F) / (2j * np.pi) ** 2 + 2 * np.sum(f * m * dz) / (2j * np.pi)).real
    return train, test, c


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--num", type=int, default=1000)
    n = ap.parse_args().num
    tau = np.geomspace(1.0, 1e6, n)
    t0 = time.perf_counter()
    res = asymptotic_curves(tau, psi_p=PSI_P, psi_n=PSI_N, t=T)
    t_first = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = asymptotic_curves(tau, psi_p=PSI_P, psi_n=PSI_N, t=T)
    t_fast = time.perf_counter() - t0
    t0 = time.perf_counter()
    asymptotic_curves(tau, psi_p=PSI_P, psi_n=PSI_N, t=T, contour=ContourRule(check_quadrature=False))
    t_nocheck = time.perf_counter() - t0
    t0 = time.perf_counter()
    train, test, c = baseline(tau)
    t_base = time.perf_counter() - t0
    rel = lambda ours, base: np.max(np.abs(ours - base) / (np.abs(ours - res.l_opt) + c.delta_t))
    diff = max(rel(res.train_loss, train), rel(res.test_loss, test))  # |ΔE|/(|E| + 1), E excess loss in Δ
    print(f"{n}-point curve, psi_p={PSI_P:g}, psi_n={PSI_N:g}, t={T:g}, tanh")
    print(f"  fast, first call (incl. JIT compile, with contour check):    {t_first:8.2f} s")
    print(f"  fast, warm, with contour check:                               {t_fast:8.2f} s")
    print(f"  fast, warm, no contour check:                                 {t_nocheck:8.2f} s")
    print(f"  baseline (plain numpy, per node / per tau):                   {t_base:8.2f} s")
    print(f"  ratio baseline / fast: warm with check {t_base / t_fast:.1f}x, warm without check "
          f"{t_base / t_nocheck:.1f}x, first call {t_base / t_first:.1f}x")
    print(f"  max |E_base - E_fast|/(|E_fast| + 1) over τ (E = excess loss / Δ): {diff:.2e} "
          f"(fast quadrature error estimate {res.diagnostics['quadrature_error']:.1e} Δ)")
    print("non-isotropic Σ, (A4)-(A10), same τ grid (warm; ratio to the isotropic warm times above):")
    for text in ("0.5:0.5,1.5:0.5", "powerlaw:1.5"):
        sig = SigmaSpectrum.parse(text)
        asymptotic_curves(tau, psi_p=PSI_P, psi_n=PSI_N, t=T, sigma=sig)  # compile
        t0 = time.perf_counter()
        r = asymptotic_curves(tau, psi_p=PSI_P, psi_n=PSI_N, t=T, sigma=sig)
        t_chk = time.perf_counter() - t0
        t0 = time.perf_counter()
        asymptotic_curves(tau, psi_p=PSI_P, psi_n=PSI_N, t=T, sigma=sig, contour=ContourRule(check_quadrature=False))
        t_no = time.perf_counter() - t0
        print(f"  {text:>16s} ({len(sig.eigenvalues)} atoms, {r.diagnostics['contour']['nodes_upper_half']} nodes): "
              f"with check {t_chk:6.2f} s ({t_chk / t_fast:.2f}x isotropic), no check {t_no:6.2f} s "
              f"({t_no / t_nocheck:.2f}x isotropic); quadrature error {r.diagnostics['quadrature_error']:.1e} Δ")


if __name__ == "__main__":
    main()
