"""Phase diagrams: gap at τ → ∞ against the explicit min-norm readout, boundaries, regimes, sweeps."""
import json

import jax
import numpy as np
import pytest

from rfscore.core.errors import InputError
from rfscore.finite.gep import gep_matrices
from rfscore.finite.inputs import sample_data, sample_weights, sizes
from rfscore.analysis.phase import REGIMES, classify, phase_diagram, phase_point, point_key
from rfscore.runtime.sweep import run_sweep
from rfscore.runtime.sweep import SweepRunner

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
    return phase_diagram([2, 4, 8, 16, 32], [4, 8], [1e2, 1e4, np.inf], d=20, t=T, runner=SweepRunner(workers=1), progress=False)


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


@pytest.mark.slow
def test_every_row_against_explicit_gradient_flow(diagram):
    """Each row of the grid recomputed without the eigendecomposition: B(τ) of (D2) from B(0) = 0 with
    the matrix exponential e^{-cUτ}, c = 2Δ/ψ_p (theory/dynamics.md §2), B(∞) = -(1/√Δ) Vᵀ U⁻¹, the
    losses as in the test above, and the regime rule of theory/phase_diagram.md written out here."""
    from scipy.linalg import expm

    d, g_star = 20, diagram.gap_threshold
    labels = []
    for i in range(diagram.psi_n.size):
        psi_n, psi_p, tau = diagram.psi_n[i], diagram.psi_p[i], diagram.tau[i]
        p, n = sizes(d, psi_p, psi_n)
        kw, kx, ko = jax.random.split(point_key(0, psi_n, psi_p), 3)
        m = gep_matrices(sample_weights(kw, p, d), sample_data(kx, n, np.eye(d)), t=T, key=ko)
        U, V, Up, Vp, dl = (np.asarray(m.U), np.asarray(m.V), np.asarray(m.U_pop), np.asarray(m.V_pop), m.delta_t)
        B_inf = -V.T @ np.linalg.inv(U) / np.sqrt(dl)

        def losses(B):
            return [1 + dl / d * np.trace(B @ Um @ B.T) + 2 * np.sqrt(dl) / d * np.trace(B @ Vm)
                    for Um, Vm in ((U, V), (Up, Vp))]

        B = B_inf if np.isinf(tau) else B_inf @ (np.eye(p) - expm(-2 * dl / (p / d) * tau * U))
        (train, test), (tr_inf, te_inf) = losses(B), losses(B_inf)
        np.testing.assert_allclose([diagram.train_loss[i], diagram.test_loss[i]], [train, test], rtol=1e-8)
        np.testing.assert_allclose(diagram.gen_loss[i], test - train, rtol=1e-6, atol=1e-10)
        g_tau, g_inf = (test - train) / dl, (te_inf - tr_inf) / dl
        labels.append("memorization" if g_tau >= g_star else
                      "dynamical_regularization" if g_inf >= g_star else "architectural_regularization")
    assert diagram.regime.tolist() == labels
    assert set(labels) == set(REGIMES)  # the grid exercises every branch of the rule


@pytest.mark.slow
def test_parallel_and_resume_give_same_table(tmp_path, diagram):
    ck = tmp_path / "ck.jsonl"
    par = phase_diagram([2, 4], [4], [1e2, 1e4, np.inf], d=20, t=T, runner=SweepRunner(workers=2, checkpoint=ck), progress=False)
    # grid points draw their keys from (seed, ψ_n, ψ_p) only: the same rows as in the larger serial grid
    sel = (diagram.psi_p == 4) & (diagram.psi_n <= 4)
    np.testing.assert_allclose(par.gen_loss, diagram.gen_loss[sel], rtol=1e-10)
    assert len(ck.read_text().splitlines()) == 1 + 2  # header + one line per grid point


def _flaky(x, marker):
    """Log the call to ``marker``; fail at x = 3 while the file ``marker``.fail exists."""
    import pathlib
    calls = pathlib.Path(marker)
    calls.write_text(calls.read_text() + f"{x}\n" if calls.exists() else f"{x}\n")
    if x == 3 and pathlib.Path(marker + ".fail").exists():
        raise RuntimeError("interrupted")
    return {"x": x, "y": x * x}


def test_sweep_resumes_after_interruption(tmp_path):
    ck = tmp_path / "ck.jsonl"
    marker = tmp_path / "calls.txt"
    fail = tmp_path / "calls.txt.fail"
    fail.touch()
    points = [{"x": i, "marker": str(marker)} for i in range(5)]
    with pytest.raises(RuntimeError):
        run_sweep(_flaky, points, parameters={"a": 1}, runner=SweepRunner(checkpoint=ck, workers=1))
    assert marker.read_text().split() == ["0", "1", "2", "3"]
    fail.unlink()
    # same function and parameters: points 0-2 come from the checkpoint, only 3 and 4 are computed
    out = run_sweep(_flaky, points, parameters={"a": 1}, runner=SweepRunner(checkpoint=ck, workers=1))
    assert [r["y"] for r in out] == [0, 1, 4, 9, 16]
    assert marker.read_text().split() == ["0", "1", "2", "3", "3", "4"]
    # changed parameters: the checkpoint is never reused; restart=True discards and rewrites it
    with pytest.raises(InputError, match="other parameters"):
        run_sweep(_flaky, points, parameters={"a": 2}, runner=SweepRunner(checkpoint=ck, workers=1))
    run_sweep(_flaky, points, parameters={"a": 2}, runner=SweepRunner(checkpoint=ck, workers=1, restart=True))
    assert json.loads(ck.read_text().splitlines()[0])["sweep"]["key"]["parameters"] == {"a": 2}


def test_dask_local_cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cl:
        with distributed.Client(cl) as client:
            pd = phase_diagram([4, 8], [4], [1e3], d=10, t=T, runner=SweepRunner(scheduler=client), progress=False)
    serial = phase_diagram([4, 8], [4], [1e3], d=10, t=T, runner=SweepRunner(workers=1), progress=False)
    np.testing.assert_allclose(pd.gen_loss, serial.gen_loss, rtol=1e-12)


@pytest.mark.slow  # longer than a few seconds on 2 cores: the full suite (CI) runs it
def test_phase_bad_input():
    with pytest.raises(InputError, match="psi_n"):
        phase_diagram([-1], [4], [1e2], d=10, t=T, progress=False)
    with pytest.raises(InputError, match="tau"):
        phase_diagram([1], [4], [0.0], d=10, t=T, progress=False)
    with pytest.raises(InputError, match="gap_threshold"):
        phase_diagram([1], [4], [1.0], d=10, t=T, gap_threshold=0, progress=False)
    with pytest.raises(InputError, match="scheduler"):
        phase_diagram([1], [4], [1.0], d=10, t=T, runner=SweepRunner(scheduler="tcp://127.0.0.1:1"), progress=False)


_SQUARED = []


def _square(x):
    _SQUARED.append(x)
    return {"y": x * x}


def test_checkpoint_keyed_on_numerics(tmp_path, monkeypatch):
    """A checkpoint is reused only under the same sweep function, parameters and numerics fingerprint;
    the fingerprint follows the source of the numerical modules, not the version string."""
    import shutil

    import rfscore.runtime.sweep as sweep

    ck = tmp_path / "ck.jsonl"
    pts = [{"x": i} for i in range(3)]
    assert [r["y"] for r in run_sweep(_square, pts, parameters={"a": 1}, runner=SweepRunner(checkpoint=ck, workers=1))] == [0, 1, 4]
    head = json.loads(ck.read_text().splitlines()[0])["sweep"]
    assert head["key"]["numerics"] == sweep.numerics_fingerprint() and head["key"]["function"].endswith("_square")
    # same key: every point comes from the checkpoint, none is recomputed
    _SQUARED.clear()
    assert [r["y"] for r in run_sweep(_square, pts, parameters={"a": 1}, runner=SweepRunner(checkpoint=ck, workers=1))] == [0, 1, 4]
    assert _SQUARED == []
    # another sweep function with the same parameters: refused
    with pytest.raises(InputError, match="another sweep"):
        run_sweep(_flaky, pts, parameters={"a": 1}, runner=SweepRunner(checkpoint=ck, workers=1))
    # other numerics (the version string unchanged): refused, the message says why
    monkeypatch.setattr(sweep, "numerics_fingerprint", lambda: "f" * 64)
    with pytest.raises(InputError, match="other numerics"):
        run_sweep(_square, pts, parameters={"a": 1}, runner=SweepRunner(checkpoint=ck, workers=1))
    monkeypatch.undo()

    # the fingerprint itself: a copy of the package, edited file by file
    pkg = tmp_path / "rfscore"
    shutil.copytree(sweep._PACKAGE, pkg, ignore=shutil.ignore_patterns("__pycache__"))

    def fingerprint():
        sweep.numerics_fingerprint.cache_clear()
        monkeypatch.setattr(sweep, "_PACKAGE", pkg)
        try:
            return sweep.numerics_fingerprint()
        finally:
            monkeypatch.undo()
            sweep.numerics_fingerprint.cache_clear()

    base = fingerprint()
    assert base == sweep.numerics_fingerprint()  # the copy hashes like the package
    for rel, changes in (("core/constants.py", True), ("finite/dynamics.py", True), ("__init__.py", True),
                         ("cli/phase.py", False), ("figures/phase.py", False), ("_version.py", False)):
        f = pkg / rel
        old = f.read_text()
        f.write_text(old + "\n# edited\n")
        assert (fingerprint() != base) is changes, rel
        f.write_text(old)
    assert fingerprint() == base


def test_default_workers_rule(monkeypatch):
    import rfscore.runtime.sweep as sweep

    monkeypatch.setattr(sweep.os, "cpu_count", lambda: 8)
    assert sweep.default_workers(100, 2047, 2048) == 1      # small models: serial
    assert sweep.default_workers(1, 10**5, 2048) == 1       # one point: serial
    assert sweep.default_workers(100, 2048, 2048) == 8      # large: one process per core
    assert sweep.default_workers(3, 4096, 2048) == 3        # at most one per point
    monkeypatch.setattr(sweep.os, "cpu_count", lambda: 1)
    assert sweep.default_workers(100, 4096, 2048) == 1


class _Spawned(Exception):
    pass


def test_phase_default_workers(monkeypatch):
    """workers=None: a small grid never starts processes; a grid with max(p, n) >= 2048 does."""
    import rfscore.runtime.sweep as sweep

    def spawned(fn, todo, workers, record, bar):
        raise _Spawned(workers)

    monkeypatch.setattr(sweep, "_run_processes", spawned)
    monkeypatch.setattr(sweep.os, "cpu_count", lambda: 4)
    small = phase_diagram([2, 4], [4, 8], [1e2], d=10, t=T)     # p ≤ 80: serial, in this process
    assert small.gen_loss.shape == (4,)
    with pytest.raises(_Spawned) as e:
        phase_diagram([1, 2], [2], [1e2], d=1024, t=T)           # n = 2048: processes
    assert e.value.args == (2,)
