"""`rfscore dynamics` and `rfscore simulate`: outputs and bad input (exit 2, one line, no files)."""
import json

import jax
import numpy as np
import pytest

from rfscore.cli import main
from rfscore.finite.dynamics import trajectory
from rfscore.finite.model_dispatch import sample_eigensystem

BASE = ["--t", "0.1", "--model", "gep"]


def _run(capsys, argv):
    rc = main(argv)
    return rc, capsys.readouterr().err.strip()


def test_dynamics_outputs_match_api(tmp_path, capsys):
    out = tmp_path / "traj.csv"
    rc, _ = _run(capsys, ["dynamics", "--d", "4", "--psi-p", "3", "--psi-n", "2", *BASE, "--seed", "3",
                          "--tau-min", "1", "--tau-max", "1e4", "--num", "5", "--out", str(out),
                          "--plot", str(tmp_path / "traj.png")])
    assert rc == 0 and (tmp_path / "traj.png").stat().st_size > 0
    lines = out.read_text().splitlines()
    assert lines[0] == "tau,train_loss,test_loss,score_error" and len(lines) == 6
    data = np.loadtxt(out, delimiter=",", skiprows=1)
    es = sample_eigensystem(jax.random.PRNGKey(3), d=4, psi_p=3, psi_n=2, t=0.1, model="gep")
    tr = trajectory(es, data[:, 0])
    np.testing.assert_allclose(data[:, 1:], np.c_[tr.train_loss, tr.test_loss, tr.score_error], rtol=1e-12)
    meta = json.loads((tmp_path / "traj.json").read_text())
    assert meta["parameters"]["p"] == 12 and meta["parameters"]["n"] == 8 and "rfscore_version" in meta
    assert "created_utc" in meta and meta["l_opt"] == pytest.approx(es.l_opt)


def test_dynamics_krylov_solver_matches_eigh(tmp_path, capsys):
    common = ["dynamics", "--d", "16", "--psi-p", "8", "--psi-n", "2", "--t", "0.1", "--model", "exact",
              "--tau-min", "0.1", "--tau-max", "1e7", "--num", "40"]
    for solver in ("eigh", "krylov"):
        rc, _ = _run(capsys, [*common, "--solver", solver, "--krylov-tol", "1e-10", "--out", str(tmp_path / f"{solver}.csv")])
        assert rc == 0
    a, b = (np.loadtxt(tmp_path / f"{s}.csv", delimiter=",", skiprows=1) for s in ("eigh", "krylov"))
    meta = json.loads((tmp_path / "krylov.json").read_text())
    assert meta["parameters"]["solver"] == "krylov" and meta["converged"] and meta["error"] >= 0
    assert 0 < meta["krylov_dim"] <= 128 and meta["quadrature_error"] <= 1e-12
    np.testing.assert_allclose(b[:, 1:3], a[:, 1:3], atol=1e-9 * meta["delta_t"])
    with pytest.raises(SystemExit) as e:  # argparse-level rejection: exit 2, one line
        main([*common, "--solver", "krylov", "--krylov-tol", "0", "--out", str(tmp_path / "c.csv")])
    err = capsys.readouterr().err.strip()
    assert e.value.code == 2 and "--krylov-tol" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "c.csv").exists()


def test_data_and_weights_fix_sizes(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X, W = rng.standard_normal((8, 4)), rng.standard_normal((12, 4))
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "W.npy", W)
    out = tmp_path / "a.csv"
    files = ["--data", str(tmp_path / "X.npy"), "--weights", str(tmp_path / "W.npy")]
    rc, _ = _run(capsys, ["dynamics", *BASE, *files, "--tau-min", "1", "--tau-max", "10", "--num", "3",
                          "--out", str(out)])
    assert rc == 0
    p = json.loads((tmp_path / "a.json").read_text())["parameters"]
    assert (p["d"], p["p"], p["n"]) == (4, 12, 8)
    # contradicting values: error naming both
    for extra, names in ((["--d", "6"], ("--d", "--data")), (["--psi-n", "3"], ("--psi-n", "--data")),
                         (["--psi-p", "4"], ("--psi-p", "--weights"))):
        rc, err = _run(capsys, ["dynamics", *BASE, *files, *extra, "--tau-min", "1", "--tau-max", "10",
                                "--num", "3", "--out", str(tmp_path / "b.csv")])
        assert rc == 2 and len(err.splitlines()) == 1 and all(n in err for n in names), err
    assert not (tmp_path / "b.csv").exists() and not (tmp_path / "b.json").exists()


def test_simulate_outputs_and_unstable_lr(tmp_path, capsys):
    out = tmp_path / "run.csv"
    common = ["simulate", "--d", "4", "--psi-p", "3", "--psi-n", "2", *BASE, "--steps", "30", "--record", "4"]
    rc, _ = _run(capsys, [*common, "--lr", "0.5", "--out", str(out)])
    assert rc == 0
    lines = out.read_text().splitlines()
    assert lines[0] == "step,tau,train_loss,test_loss,score_error" and lines[-1].startswith("30,15.0,")
    rc, err = _run(capsys, [*common, "--lr", "1e6", "--out", str(tmp_path / "bad.csv")])
    assert rc == 2 and "--lr" in err and "need lr <" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "bad.csv").exists() and not (tmp_path / "bad.json").exists()


def _bad_inputs(tmp_path):
    d = tmp_path
    np.save(d / "X1.npy", np.ones(5))
    np.save(d / "Xnan.npy", np.full((4, 3), np.nan))
    np.save(d / "X.npy", np.ones((4, 3)))
    np.save(d / "Sasym.npy", np.array([[1, 0.5, 0], [0, 1, 0], [0, 0, 1.0]]))
    np.save(d / "S2.npy", np.eye(2))
    (d / "junk.npy").write_text("not an array")
    X = ["--data", str(d / "X.npy")]
    return [
        (["--data", str(d / "junk.npy")], "--data"),
        (["--data", str(d / "missing.npy")], "--data"),
        (["--data", str(d / "X1.npy")], "--data"),
        (["--data", str(d / "Xnan.npy")], "--data"),
        ([*X, "--sigma-matrix", str(d / "Sasym.npy")], "--sigma-matrix"),
        ([*X, "--sigma-matrix", str(d / "S2.npy")], "--sigma-matrix"),
        ([*X, "--sigma-matrix", str(d / "S2.npy"), "--sigma-spectrum", "1:1"], "--sigma-matrix"),
        (["--psi-n", "2"], "--d"),
    ]


def test_bad_input_exits_2_without_output(tmp_path, capsys):
    for extra, opt in _bad_inputs(tmp_path):
        out = tmp_path / "o.csv"
        rc, err = _run(capsys, ["dynamics", *BASE, "--psi-p", "2", *extra, "--tau-min", "1", "--tau-max", "10",
                                "--num", "3", "--out", str(out)])
        assert rc == 2 and len(err.splitlines()) == 1 and opt in err, (extra, err)
        assert not out.exists() and not (tmp_path / "o.json").exists()
    rc, err = _run(capsys, ["dynamics", *BASE, "--d", "3", "--psi-p", "2", "--psi-n", "1", "--tau-min", "10",
                            "--tau-max", "1", "--num", "3", "--out", str(tmp_path / "o.csv")])
    assert rc == 2 and "--tau-max" in err


def test_sigma_spectrum_blocks_in_order(tmp_path, capsys):
    # --sigma-spectrum '0.5:0.5,2:0.5' at d = 4 means Σ = diag(0.5, 0.5, 2, 2): same as the matrix file
    np.save(tmp_path / "S.npy", np.diag([0.5, 0.5, 2.0, 2.0]))
    outs = []
    for i, opt in enumerate((["--sigma-spectrum", "0.5:0.5,2:0.5"], ["--sigma-matrix", str(tmp_path / "S.npy")])):
        out = tmp_path / f"s{i}.csv"
        assert main(["dynamics", "--d", "4", "--psi-p", "3", "--psi-n", "2", *BASE, *opt, "--tau-min", "1",
                     "--tau-max", "100", "--num", "3", "--out", str(out)]) == 0
        outs.append(np.loadtxt(out, delimiter=",", skiprows=1))
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-12)


GRID = ["dynamics", "--d", "4", "--psi-p", "16", "--psi-n", "2", "--t", "0.1", "--tau-min", "1", "--tau-max", "1e4",
        "--num", "5"]
LINEAR = [*GRID, "--activation", "linear"]


@pytest.mark.parametrize("model,activation", [("gep", "linear"), ("exact", "linear"), ("gep", "tanh"),
                                              ("exact", "tanh")])
def test_linear_activation_finite_correct_and_silent(tmp_path, capsys, model, activation):
    # linear: s_t² = 0, U has 60 null modes of 64 (thin path for gep); tanh: U ≻ 0, the same command as
    # control. Exit 0, finite, no warning on screen, and the numbers of the dense route on the same draw:
    # (L1)-(L2) on the actual matrices at B(τ) by expm.
    import warnings

    from rfscore.finite.inputs import sample_inputs
    from rfscore.finite.model_dispatch import finite_size_matrices
    from test_dynamics import _flow_reference, _losses

    out = tmp_path / "lin.csv"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rc, err = _run(capsys, [*GRID, "--activation", activation, "--model", model, "--out", str(out)])
    assert rc == 0 and err == ""
    data = np.loadtxt(out, delimiter=",", skiprows=1)
    assert np.all(np.isfinite(data))
    W, X, ko = sample_inputs(jax.random.PRNGKey(0), d=4, psi_p=16, psi_n=2)
    m = finite_size_matrices(model, W, X, t=0.1, activation=activation, key=ko)
    ref = np.array([_losses(m, B) for B in _flow_reference(m, data[:, 0])])
    np.testing.assert_allclose(data[:, 1:3], ref, rtol=1e-9)
    np.testing.assert_allclose(data[:, 3], (ref[:, 1] - m.l_opt) / m.delta_t, rtol=1e-8)


def test_nonfinite_result_exits_1_one_line_nothing_written(tmp_path, capsys, monkeypatch):
    # Force a NaN into the command's result: the shared writer refuses it, whatever the command.
    import rfscore.cli.dynamics as cli_dynamics

    real = cli_dynamics.trajectory

    def poisoned(es, tau, *a, **k):
        tr = real(es, tau, *a, **k)
        test = np.array(tr.test_loss, copy=True)
        test[2] = np.nan
        return type(tr)(tau=tr.tau, train_loss=tr.train_loss, test_loss=test, score_error=tr.score_error,
                        l_opt=tr.l_opt, delta_t=tr.delta_t)

    monkeypatch.setattr(cli_dynamics, "trajectory", poisoned)
    out, plot = tmp_path / "lin.csv", tmp_path / "lin.png"
    rc, err = _run(capsys, [*LINEAR, "--model", "gep", "--out", str(out), "--plot", str(plot)])
    assert rc == 1 and len(err.splitlines()) == 1, err
    assert err.startswith("rfscore dynamics: error: non-finite result test_loss=nan in row 3 of 5, tau=100")
    assert "d=4" in err and "psi_p=16" in err and "activation=linear" in err and "model=gep" in err
    assert list(tmp_path.iterdir()) == []
