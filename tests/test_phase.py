"""Phase diagrams: gap at τ → ∞ against the explicit min-norm readout, boundaries, regimes, sweeps."""
import json

import jax
import numpy as np
import pytest

from rfscore.core.errors import InputError
from rfscore.finite.gep import gep_matrices
from rfscore.finite.draws import sample_data, sample_weights, sizes
from rfscore.analysis.phase import REGIMES, classify, phase_diagram, phase_point, point_key
from rfscore.runtime.sweep import run_sweep

T = 0.01


def test_gap_at_infinity_matches_explicit_minimiser():
    """τ = ∞ row of phase_point vs L(B∞) with B∞ = -(1/√Δ) Vᵀ U^{-1}, built from the matrices directly."""
    d, psi_n, psi_p = 10, 3.0, 4.0
    rows = phase_point(psi_n=psi_n, psi_p=psi_p, tau=[np.inf], d=d, t=T)
    p, n = sizes(d, psi_p, psi_n)
    kw, kx, ko = jax.random.split(point_key(0, psi_n, psi_p), 3)
    m = gep_matrices(sample_weights(kw, p, d), sample_data(kx, n, np.eye(d)), t=T, key=ko)
    B = -np.asarray(m.V).T @ np.linalg.inv(np.asarray(m.U)) / np.sqrt(m.delta_t)
    dl = m.delta_t

    def loss(Um, Vm):
        return 1 + dl / d * np.trace(B @ Um @ B.T) + 2 * np.sqrt(dl) / d * np.trace(B @ Vm)

    train, test = loss(np.asarray(m.U), np.asarray(m.V)), loss(np.asarray(m.U_pop), np.asarray(m.V_pop))
    np.testing.assert_allclose([rows[0][3], rows[0][4], rows[0][5]], [train, test, test - train], rtol=1e-8)


def test_classify():
    assert classify(20, 30, 10) == "memorization"
    assert classify(1, 30, 10) == "dynamical_regularization"
    assert classify(1, 5, 10) == "architectural_regularization"


@pytest.fixture(scope="module")
def diagram():
    # d = 20: the τ = ∞ gap at n = p is ~40 and at n = 2p ~3.5 (an independent (G4) computation at d = 40 gave 39-49 and 3.3-3.7, theory/phase_diagram.md),
    # so with g* = 10 the boundary must fall between ψ_n = ψ_p and 2ψ_p for every ψ_p.
    return phase_diagram([2, 4, 8, 16, 32], [4, 8], [1e2, 1e4, np.inf], d=20, t=T, workers=1, progress=False)


def test_infinite_tau_boundary_near_n_equals_p(diagram):
    pp, bn = diagram.boundary(np.inf)
    assert np.all((pp <= bn) & (bn <= 2 * pp)), (pp, bn)


def test_finite_tau_boundaries_move_out_with_tau(diagram):
    b4 = diagram.boundary(1e4)[1]
    binf = diagram.boundary(np.inf)[1]
    assert np.all(b4 < binf)
    # at τ = 100 (≈ τ_gen) nothing is memorised yet
    pn, pp, reg = diagram.grid(1e2, "regime")
    assert not np.any(reg == "memorization")
    assert set(np.unique(diagram.regime)) <= set(REGIMES)


def test_parallel_and_resume_give_same_table(tmp_path, diagram):
    ck = tmp_path / "ck.jsonl"
    par = phase_diagram([2, 4], [4], [1e2, 1e4, np.inf], d=20, t=T, workers=2, checkpoint=ck, progress=False)
    # grid points draw their keys from (seed, ψ_n, ψ_p) only: the same rows as in the larger serial grid
    sel = (diagram.psi_p == 4) & (diagram.psi_n <= 4)
    np.testing.assert_allclose(par.gen_loss, diagram.gen_loss[sel], rtol=1e-10)
    assert len(ck.read_text().splitlines()) == 1 + 2  # header + one line per grid point


def _flaky(x, marker):
    import pathlib
    calls = pathlib.Path(marker)
    calls.write_text(calls.read_text() + f"{x}\n" if calls.exists() else f"{x}\n")
    if x == 3 and "fail" in calls.name:
        raise RuntimeError("interrupted")
    return {"x": x, "y": x * x}


def test_sweep_resumes_after_interruption(tmp_path):
    ck = tmp_path / "ck.jsonl"
    marker = tmp_path / "calls_fail.txt"
    points = [{"x": i, "marker": str(marker)} for i in range(5)]
    with pytest.raises(RuntimeError):
        run_sweep(_flaky, points, parameters={"a": 1}, checkpoint=ck, workers=1, progress=False)
    assert marker.read_text().split() == ["0", "1", "2", "3"]
    marker2 = tmp_path / "calls_ok.txt"
    points2 = [{"x": i, "marker": str(marker)} for i in range(5)]
    # same parameters: points 0-2 come from the checkpoint, only 3 and 4 are computed (logged to marker2)
    out = run_sweep(lambda x, marker: _flaky(x, str(marker2)), points2, parameters={"a": 1}, checkpoint=ck,
                    workers=1, progress=False)
    assert [r["y"] for r in out] == [0, 1, 4, 9, 16]
    assert marker2.read_text().split() == ["3", "4"]
    # changed parameters: the checkpoint is never reused; restart=True discards and rewrites it
    with pytest.raises(InputError, match="other parameters"):
        run_sweep(lambda x, marker: {"x": x}, points2, parameters={"a": 2}, checkpoint=ck, workers=1, progress=False)
    run_sweep(lambda x, marker: {"x": x}, points2, parameters={"a": 2}, checkpoint=ck, workers=1, progress=False,
              restart=True)
    assert json.loads(ck.read_text().splitlines()[0])["sweep"]["parameters"] == {"a": 2}


def test_dask_local_cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cl:
        with distributed.Client(cl) as client:
            pd = phase_diagram([4, 8], [4], [1e3], d=10, t=T, scheduler=client, progress=False)
    serial = phase_diagram([4, 8], [4], [1e3], d=10, t=T, workers=1, progress=False)
    np.testing.assert_allclose(pd.gen_loss, serial.gen_loss, rtol=1e-12)


def test_phase_bad_input():
    with pytest.raises(InputError, match="psi_n"):
        phase_diagram([-1], [4], [1e2], d=10, t=T, progress=False)
    with pytest.raises(InputError, match="tau"):
        phase_diagram([1], [4], [0.0], d=10, t=T, progress=False)
    with pytest.raises(InputError, match="gap_threshold"):
        phase_diagram([1], [4], [1.0], d=10, t=T, gap_threshold=0, progress=False)
    with pytest.raises(InputError, match="scheduler"):
        phase_diagram([1], [4], [1.0], d=10, t=T, scheduler="tcp://127.0.0.1:1", progress=False)
