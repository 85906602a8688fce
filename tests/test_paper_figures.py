"""`rfscore reproduce --paper`: the paper's figures at its parameters (quick sizes here)."""
import csv
import json

import numpy as np
import pytest

from rfscore.cli import main
from rfscore.figures.paper import PAPER_FIGURES


@pytest.mark.slow
def test_paper_quick_writes_manifest_figures_and_sm13(tmp_path):
    out = tmp_path / "paper"
    rc = main(["reproduce", "--paper", "--quick", "--only", "fig4,fig5a,fig5b,sm13,sm14", "--out", str(out)])
    assert rc == 0
    man = json.loads((out / "manifest.json").read_text())
    assert man["parameters"]["paper"] is True
    for name in ("fig4", "fig5a", "fig5b", "sm13", "sm14"):
        entry = man["figures"][name]
        assert {"files", "paper_parameters", "parameters", "differences"} <= set(entry), (name, entry.get("error"))
        assert any("quick" in d for d in entry["differences"])  # a quick run says it differs from the paper
        for f in entry["files"]:
            assert (out / f.split("/")[-1]).exists()
    with open(out / "sm13_escore_min.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["psi_p", "psi_n", "e_score_min", "tau_at_min", "local_slope"]
    # the science these figures draw (the τ/τ_mem collapse, the d = 20 band against d → ∞) is tested on the
    # library: tests/test_score_rise.py and tests/test_ensemble.py
    assert set(man["figures"]["fig5a"]["collapse"]) >= {"spread_raw", "spread_rescaled"}


def test_paper_names_are_the_contract():
    assert set(PAPER_FIGURES) <= {"fig4", "fig5a", "fig5b", "fig5c", "fig7", "sm9", "sm11", "sm12", "sm13", "sm14", "sm15"}


@pytest.mark.slow
def test_sigma_x_constants_follow_the_exact_model():
    """SM Fig. 12's regression test: for Σ = σ_x² I with σ_x ≠ 1 the exact non-linear matrices
    (E1)-(E3) follow the d → ∞ curves built on the σ_x-aware constants (G1)-(G3), and not the
    Gaussian-equivalent flow with the constants of σ_x = 1 (the released scripts' convention).

    d = 40, ψ_p = 4, ψ_n = 2, t = 0.1, 3 seeds: the exact model's test loss is within 8 % of
    d → ∞ at σ_x = 2 (seed s.d. ≈ 1.5 %, finite-size gap ≈ 1/√d-scale) and 3 % at σ_x = 0.5,
    while the σ_x = 1 constants miss by > 25 % at τ ≥ 10³ for both."""
    import jax
    from rfscore.core.constants import ge_constants
    from rfscore.core.covariance import ISOTROPIC, SigmaSpectrum
    from rfscore.finite.inputs import sample_inputs
    from rfscore.finite.dynamics import trajectory
    from rfscore.finite.eigensystem import eigensystem
    from rfscore.finite.exact import exact_matrices
    from rfscore.finite.gep import gep_eigensystem
    from rfscore.limit.asymptotic import asymptotic_curves
    tau = np.array([1e3, 1e4, np.inf])
    d, psi_p, psi_n, t = 40, 4.0, 2.0, 0.1
    unit = ge_constants(t, "tanh", ISOTROPIC)
    for text, tol_exact in (("4:1", 0.08), ("0.25:1", 0.03)):
        spec = SigmaSpectrum.parse(text)
        lim = asymptotic_curves(tau, psi_p=psi_p, psi_n=psi_n, t=t, sigma=spec).test_loss
        exact, wrong = [], []
        for s in range(3):
            W, X, ko = sample_inputs(jax.random.PRNGKey(s), d=d, psi_p=psi_p, psi_n=psi_n, sigma=spec)
            m = exact_matrices(W, X, t=t, sigma=spec, throw=True)
            exact.append(trajectory(eigensystem(m, X.shape[0]), tau).test_loss)
            wrong.append(trajectory(gep_eigensystem(W, X, t=t, sigma=spec, key=ko, constants=unit), tau).test_loss)
        gap_exact = np.abs(np.mean(exact, axis=0) / lim - 1)
        gap_wrong = np.abs(np.mean(wrong, axis=0) / lim - 1)
        assert np.all(gap_exact < tol_exact), (text, gap_exact)
        assert np.all(gap_wrong > 0.25), (text, gap_wrong)


@pytest.mark.slow
def test_sm12_quick_figure(tmp_path):
    from rfscore.figures.paper import sm12
    entry = sm12.make(tmp_path, quick=True)
    for f in entry["files"]:
        assert (tmp_path / f.split("/")[-1]).exists()
    assert any("σ_x = 1" in d for d in entry["differences"])
    with open(tmp_path / "sm12_sigma_x.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["sigma"] for r in rows} == {"4:1", "0.25:1"}
    assert set(entry["collapse"]) == {"2", "0.5"}  # the collapse itself is tested in tests/test_score_rise.py


@pytest.mark.slow
def test_sm15_quick_adam(tmp_path):
    """SM Fig. 15 (quick) writes its PNG and data, one row per (ψ_n, seed) of read-offs; the science (τ_gap
    grows with n) is tested on the library in tests/test_onsets.py."""
    from rfscore.figures.paper import sm15
    entry = sm15.make(tmp_path, quick=True)
    for f in entry["files"]:
        assert (tmp_path / f.split("/")[-1]).exists()
    with open(tmp_path / "sm15_tau_min.csv") as fh:
        rows = list(csv.DictReader(line for line in fh if not line.startswith("#")))
    assert {(float(r["psi_n"]), r["seed"]) for r in rows} == {(pn, s) for pn in (4.0, 16.0) for s in ("0", "1", "2")}


def test_value_ticks_leaves_crowded_labels_blank_keeping_the_largest():
    """`value_ticks` with min_ratio: every value keeps its tick, and a label closer than the factor to the next
    labelled value above it is blank (192 under 256, 384 under 512); without it every value is labelled."""
    import matplotlib.pyplot as plt
    from rfscore.figures.style import value_ticks
    fig, ax = plt.subplots()
    try:
        ax.set_xscale("log")
        value_ticks(ax, [12, 24, 48, 96, 192, 256, 384, 512], min_ratio=1.45)
        assert list(ax.get_xticks()) == [12, 24, 48, 96, 192, 256, 384, 512]
        assert [t.get_text() for t in ax.get_xticklabels()] == ["12", "24", "48", "96", "", "256", "", "512"]
        value_ticks(ax, [32, 64, 128, 256])
        assert [t.get_text() for t in ax.get_xticklabels()] == ["32", "64", "128", "256"]
    finally:
        plt.close(fig)
