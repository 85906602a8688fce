"""Paper SM Fig. 14: Fig. 4 at ψ_n = 8 and ψ_n = 32 (ψ_p = 64, t = 0.01, Σ = I, d = 100).

Going from ψ_n = 8 to ψ_n = 32 = ψ_p/2, the small cluster of the d memorisation modes
(≈ s_t² + ψ_p b_t² v_t²/(ψ_n α)) moves down towards the atom at s_t² (its λ ∝ 1/ψ_n: τ_mem ∝ ψ_n
while it stays above s_t²), and the Marchenko–Pastur bulk of the other n − d modes, with lower edge
s_t² + v_t²(1 − √(ψ_p/ψ_n))², widens down from about 0.09 to about 0.006 (theory/spectrum.md §5).
"""
from __future__ import annotations

from pathlib import Path

from ...finite.inputs import sizes
from ...runtime.io import write_result
from ..style import styled
from .fig4 import CASES, differences, spectrum_panels

PAPER = dict(psi_p=64.0, psi_n=[8.0, 32.0], t=0.01, d=100, activation="tanh", sigma="1:1")


@styled
def make(out_dir: Path, *, quick: bool = False, progress: bool = False) -> dict:
    """Write sm14_spectrum_psi_n{8,32}.png and sm14_eigenvalues.csv into ``out_dir``."""
    out_dir = Path(out_dir)
    d = 20 if quick else PAPER["d"]
    files, cols = [], {"psi_n": [], "sigma": [], "lambda": []}
    for psi_n in PAPER["psi_n"]:
        f, data = spectrum_panels(out_dir, f"sm14_spectrum_psi_n{psi_n:g}", psi_p=PAPER["psi_p"], psi_n=psi_n,
                                  t=PAPER["t"], d=d, cases={"isotropic": CASES["isotropic"]},
                                  points=512 if quick else 1500, progress=progress, tag="SM Fig. 14")
        files += f
        cols["psi_n"] += [psi_n] * len(data["lambda"])
        cols["sigma"] += data["sigma"]
        cols["lambda"] += data["lambda"]
    run = dict(PAPER, d=d, seed=0, model="gep", quick=quick,
               p=[sizes(d, PAPER["psi_p"], x)[0] for x in PAPER["psi_n"]],
               n=[sizes(d, PAPER["psi_p"], x)[1] for x in PAPER["psi_n"]])
    csv = write_result(out_dir / "sm14_eigenvalues.csv", cols, run)
    return {"files": files + [str(csv), str(csv.with_suffix(".json"))], "paper_parameters": PAPER, "parameters": run,
            "differences": differences(d, quick)}
