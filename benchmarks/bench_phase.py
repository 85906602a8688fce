"""Time a 16×16 (ψ_n, ψ_p) phase grid (Gaussian-equivalent path, one seed) serially and with the
parallel executor in the same run; print both and the speed-up.

    python benchmarks/bench_phase.py [--grid 16] [--d 16] [--workers N]
"""
import argparse
import os
import time

import numpy as np

from rfscore.analysis.phase import phase_diagram
from rfscore.runtime.sweep import SweepRunner


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--grid", type=int, default=16)
    ap.add_argument("--d", type=int, default=16)
    ap.add_argument("--workers", type=int, default=os.cpu_count())
    a = ap.parse_args()
    kw = dict(psi_n=np.geomspace(1, 64, a.grid).tolist(), psi_p=np.geomspace(2, 64, a.grid).tolist(),
              tau=[1e2, 1e4, np.inf], d=a.d, t=0.01, progress=False)
    t0 = time.perf_counter()
    serial = phase_diagram(runner=SweepRunner(workers=1), **kw)
    t1 = time.perf_counter()
    par = phase_diagram(runner=SweepRunner(workers=a.workers), **kw)
    t2 = time.perf_counter()
    assert np.allclose(serial.gen_loss, par.gen_loss, rtol=1e-10)
    print(f"{a.grid}x{a.grid} grid, d = {a.d}: serial {t1 - t0:.1f} s, {a.workers} workers {t2 - t1:.1f} s, "
          f"speed-up {(t1 - t0) / (t2 - t1):.2f}x (same table to 1e-10)")


if __name__ == "__main__":
    main()
