"""Benchmark of `rfscore reproduce --paper` (issue 16: budget ≤ 15 minutes on 2 cores). Plain script,
not collected by pytest.

    python benchmarks/bench_reproduce_paper.py [--only fig4,sm12,...] [--skip-baseline] [--skip-run] [--out DIR]

(1) Baseline in this process: one seed of the Fig. 5A-B finite-size curves at the paper's largest
    size (d = 100, ψ_p = 64, ψ_n = 32: p = 6400, n = 3200), the thin SVD of `finite.gep` (what the
    figures use) against the p×p eigendecomposition of the same (G4)-(G6) draw; ratio and the
    largest difference of the test losses (the two paths are the same model).
(2) End to end: `rfscore reproduce --paper` in a subprocess, wall time against the 900 s budget,
    the per-figure seconds from its manifest.json, and the load average before and after
    (`os.getloadavg`): timings on a busy machine are not comparable.
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
from rfscore.finite.inputs import sample_inputs
from rfscore.finite.dynamics import trajectory
from rfscore.finite.gep import gep_eigensystem

BUDGET_S = 900.0


def load() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def baseline(d: int = 100, psi_p: float = 64.0, psi_n: float = 32.0, t: float = 0.1) -> None:
    tau = np.geomspace(0.1, 1e6, 241)
    W, X, ko = sample_inputs(jax.random.PRNGKey(0), d=d, psi_p=psi_p, psi_n=psi_n)
    print(f"(1) Fig. 5A-B curves, one seed, p = {W.shape[0]}, n = {X.shape[0]}, d = {d}, {load()}", flush=True)
    out = {}
    for name, thin in (("thin SVD", True), ("p×p eigh", False)):
        t0 = time.perf_counter()
        out[name] = trajectory(gep_eigensystem(W, X, t=t, key=ko, thin=thin), tau)
        out[name + " s"] = time.perf_counter() - t0
        print(f"    {name:10s} {out[name + ' s']:7.1f} s", flush=True)
    diff = float(np.max(np.abs(out["thin SVD"].test_loss - out["p×p eigh"].test_loss)))
    print(f"    ratio eigh/thin = {out['p×p eigh s'] / out['thin SVD s']:.1f}×, max |Δ L_test| = {diff:.1e}")


def end_to_end(only: str | None, keep: str | None = None) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = keep or tmp
        cmd = [sys.executable, "-m", "rfscore", "reproduce", "--paper", "--out", out] + (["--only", only] if only else [])
        print(f"(2) {' '.join(cmd[2:])}, {load()}", flush=True)
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              env=dict(os.environ, MPLBACKEND="Agg"))
        wall = time.perf_counter() - t0
        path = Path(out) / "manifest.json"
        figs = json.loads(path.read_text()).get("figures", {}) if path.exists() else {}
    print(f"{'figure':8s} {'seconds':>8s}")
    for name, entry in figs.items():
        print(f"{name:8s} {entry.get('seconds', float('nan')):8.1f}" + ("  FAILED" if "error" in entry else ""))
    verdict = "within" if wall <= BUDGET_S and proc.returncode == 0 else "OVER/FAILED"
    print(f"wall {wall:.1f} s, rc {proc.returncode}: {verdict} the {BUDGET_S:.0f} s budget; {load()}")
    if proc.returncode:
        print(proc.stderr[-2000:])
    return proc.returncode


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default=None)
    ap.add_argument("--skip-baseline", action="store_true")
    ap.add_argument("--skip-run", action="store_true")
    ap.add_argument("--out", default=None, help="keep the run's figures in this folder (default: a temporary one)")
    a = ap.parse_args()
    if not a.skip_baseline:
        baseline()
    return 0 if a.skip_run else end_to_end(a.only, a.out)


if __name__ == "__main__":
    sys.exit(main())
