"""`rfscore dynamics|timescales --data ...` on real data: outputs, and bad input (exit 2, one line, no files)."""
import json
import sys

import numpy as np
import pytest

from rfscore.cli import main
from rfscore.data.datasets import load_dataset
from rfscore.finite.dynamics import trajectory
from rfscore.finite.eigensystem import eigensystem
from rfscore.data.realdata import RealDataKeys, real_matrices
from rfscore.finite.inputs import sample_weights

DYN = ["dynamics", "--t", "0.05", "--psi-p", "2", "--tau-min", "1", "--tau-max", "1e4", "--num", "4"]
TS = ["timescales", "--t", "0.05", "--psi-p", "4", "--psi-n", "1,2"]


def _run(capsys, argv):
    try:
        rc = main(argv)
    except SystemExit as e:  # argparse-level rejection
        rc = e.code
    cap = capsys.readouterr()
    return rc, cap.err.strip(), cap.out


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.laplace(size=(40, 4))
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "T.npy", rng.laplace(size=(15, 4)))
    np.save(tmp_path / "T3.npy", rng.laplace(size=(15, 3)))
    Xnan = X.copy()
    Xnan[3, 1] = np.nan
    np.save(tmp_path / "Xnan.npy", Xnan)
    np.save(tmp_path / "Tnan.npy", np.where(np.eye(15, 4) > 0, np.nan, 1.0))
    np.save(tmp_path / "Xconst.npy", np.c_[X[:, :3], np.full(40, 2.5)])
    return tmp_path


def _bad_rows(f):
    X, T = ["--data", str(f / "X.npy")], ["--test-data", str(f / "T.npy")]
    return [
        ("NaN in the data", ["--data", str(f / "Xnan.npy"), *T], "--data"),
        ("NaN in the test data", [*X, "--test-data", str(f / "Tnan.npy")], "--test-data"),
        ("constant column", ["--data", str(f / "Xconst.npy"), *T], "--data"),
        ("more rows asked than given", [*X, "--test-fraction", "0.5", "--psi-n", "6"], "--psi-n"),
        ("test set of another dimension", [*X, "--test-data", str(f / "T3.npy")], "--test-data"),
        ("both held-out options", [*X, *T, "--test-fraction", "0.2"], "--test-fraction"),
        ("fraction out of range", [*X, "--test-fraction", "1.5"], "--test-fraction"),
        ("missing test file", [*X, "--test-data", str(f / "nope.npy")], "--test-data"),
        ("Σ given on real data", [*X, *T, "--sigma-spectrum", "1:1"], "--sigma-spectrum"),
        ("Gaussian model on real data", [*X, *T, "--model", "gep"], "--model"),
        ("d contradicts the data", [*X, *T, "--d", "5"], "--d"),
        ("digits: more rows than the pool", ["--data", "digits", "--psi-n", "30"], "--psi-n"),
        ("compare without real data", ["--d", "4", "--psi-n", "1", "--compare-gaussian"], "--compare-gaussian"),
    ]


def _no_outputs(tmp_path, name):
    return not any((tmp_path / f"{name}{ext}").exists() for ext in (".csv", ".json", ".png"))


def test_bad_input_table(files, capsys):
    for label, extra, opt in _bad_rows(files):
        for cmd in ("dynamics", "timescales"):
            base = DYN if cmd == "dynamics" else TS
            extra_c = [a for a in extra]
            if cmd == "timescales" and "--psi-n" in extra_c:  # timescales takes a list
                i = extra_c.index("--psi-n")
                extra_c[i + 1] = extra_c[i + 1] + ",1"
            if cmd == "timescales" and "--d" in extra_c and opt != "--d":
                continue
            argv = [*base, *extra_c, "--out", str(files / "o.csv")]
            if cmd == "dynamics":
                argv += ["--plot", str(files / "o.png")]
            rc, err, _ = _run(capsys, argv)
            assert rc == 2, (label, cmd, err)
            assert len(err.splitlines()) == 1 and opt in err and "Traceback" not in err, (label, cmd, err)
            assert _no_outputs(files, "o"), (label, cmd)


def test_missing_extra_names_it(files, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)  # import sklearn -> ImportError
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    for base in (DYN, TS):
        rc, err, _ = _run(capsys, [*base, "--data", "digits", "--out", str(files / "o.csv")])
        assert rc == 2 and len(err.splitlines()) == 1 and "rfscore[data]" in err and "--data" in err, err
        assert _no_outputs(files, "o")


def test_dynamics_real_data_outputs(files, capsys):
    out = files / "traj.csv"
    rc, err, _ = _run(capsys, [*DYN, "--data", str(files / "X.npy"), "--test-data", str(files / "T.npy"),
                               "--psi-n", "5", "--compare-gaussian", "--out", str(out), "--plot", str(files / "t.png")])
    assert rc == 0, err
    lines = out.read_text().splitlines()
    assert lines[0] == "tau,train_loss,test_loss,train_loss_gauss,test_loss_gauss" and len(lines) == 5
    meta = json.loads((files / "traj.json").read_text())
    p = meta["parameters"]
    assert (p["d"], p["p"], p["n"], p["n_test"]) == (4, 8, 20, 15) and meta["l_opt"] is None
    assert "not defined" in meta["score_error"] and meta["dataset"]["d"] == 4
    assert "Tr Sigma_hat/d = 1" in meta["dataset"]["normalisation"]
    # the same command through the API
    keys = RealDataKeys.from_seed(0)
    ds = load_dataset(str(files / "X.npy"), test_data=str(files / "T.npy"), key=keys.data)
    es = eigensystem(real_matrices(ds, np.asarray(sample_weights(keys.weights, 8, 4)), 20, t=0.05), 20)
    data = np.loadtxt(out, delimiter=",", skiprows=1)
    tr = trajectory(es, data[:, 0])
    np.testing.assert_allclose(data[:, 1:3], np.c_[tr.train_loss, tr.test_loss], rtol=1e-12)
    # block Lanczos on the held-out matrices gives the same curves
    rc, err, _ = _run(capsys, [*DYN, "--data", str(files / "X.npy"), "--test-data", str(files / "T.npy"),
                               "--psi-n", "5", "--solver", "krylov", "--krylov-tol", "1e-10",
                               "--out", str(files / "k.csv")])
    assert rc == 0, err
    k = np.loadtxt(files / "k.csv", delimiter=",", skiprows=1)
    assert k.shape == (4, 3)
    np.testing.assert_allclose(k, data[:, :3], atol=1e-9 * es.delta_t)


def test_timescales_real_data_with_gaussian_columns(files, capsys):
    out = files / "ts.csv"
    rc, err, stdout = _run(capsys, ["timescales", "--t", "0.01", "--psi-p", "8", "--psi-n", "1,2,4",
                                    "--data", str(files / "X.npy"), "--test-fraction", "0.25", "--seeds", "2",
                                    "--compare-gaussian", "--no-progress", "--out", str(out)])
    assert rc == 0, err
    header = out.read_text().splitlines()[0]
    assert header == ("psi_n,psi_p,t,seed,tau_gen,tau_mem,n_peaks,tau_early_stop,tau_gap,tau_gen_gauss,tau_mem_gauss,"
                      "n_peaks_gauss")
    summary = json.loads(stdout.strip().splitlines()[-1])
    for sfx in ("", "_gauss"):  # the peak fit is labelled by n_peaks: single-peak if any point has one peak
        name = "tau_single_peak" if 1 in summary["n_peaks" + sfx] else "tau_mem"
        assert {f"{name}{sfx}_exponent", f"{name}{sfx}_exponent_ci"} <= set(summary)
    meta = json.loads((files / "ts.json").read_text())
    assert meta["parameters"]["n"] == [4, 8, 16] and meta["dataset"]["n_test"] == 10
