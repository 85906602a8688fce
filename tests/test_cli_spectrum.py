"""`rfscore spectrum`: files, keys, bad input (exit 2, one line naming the option, no files)."""
import json

import numpy as np
import pytest

from rfscore.cli import main

BASE = ["spectrum", "--psi-p", "4", "--psi-n", "1.5", "--t", "0.01", "--lambda-min", "0", "--lambda-max", "3",
        "--num", "50"]


def run(argv):
    try:
        return main(argv)
    except SystemExit as exc:  # argparse errors
        return exc.code


def test_csv_and_json(tmp_path):
    out = tmp_path / "rho.csv"
    assert run(BASE + ["--sigma-spectrum", "0.5:0.5,1.5:0.5", "--out", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert lines[0] == "lambda,density,residual,converged"
    assert len(lines) == 51
    data = np.genfromtxt(out, delimiter=",", skip_header=1, usecols=(0, 1, 2))
    assert np.allclose(data[:, 0], np.linspace(0, 3, 50)) and np.all(data[:, 1] >= -1e-12)
    meta = json.loads((tmp_path / "rho.json").read_text())
    for key in ("parameters", "constants", "atom_location", "atom_weight", "mass", "rfscore_version", "created_utc"):
        assert key in meta, key
    assert set(meta["constants"]) == {"a_t", "b_t", "v_t2", "s_t2", "delta_t"}
    assert meta["atom_weight"] == pytest.approx(1 - 2.5 / 4)
    assert meta["parameters"]["sigma_spectrum"] == {"eigenvalues": [0.5, 1.5], "weights": [0.5, 0.5]}
    assert meta["atom_location"] == pytest.approx(meta["constants"]["s_t2"])


def test_empirical_and_plot(tmp_path):
    out, png = tmp_path / "rho.csv", tmp_path / "rho.png"
    argv = BASE + ["--out", str(out), "--plot", str(png), "--empirical-d", "60", "--empirical", "gep", "--seed", "1"]
    assert run(argv) == 0
    meta = json.loads((tmp_path / "rho.json").read_text())
    ev = np.load(tmp_path / meta["eigenvalues_file"])
    assert ev.shape == (240,) and meta["empirical"]["model"] == "gep"
    assert png.stat().st_size > 1000


@pytest.mark.parametrize("extra,option", [
    (["--lambda-min", "5"], "--lambda-min"),
    (["--num", "1"], "--num"),
    (["--psi-p", "-1"], "--psi-p"),
    (["--t", "0"], "--t"),
    (["--sigma-spectrum", "1:0.3"], "--sigma-spectrum"),
    (["--empirical", "exact"], "--empirical"),
    (["--empirical-d", "1"], "--empirical-d"),
    (["--empirical-d", "100000"], "--empirical-d"),
    (["--empirical-d", "1000", "--empirical", "exact"], "--empirical-d"),
    (["--log-grid"], "--lambda-min"),
    (["--lambda-max", "nan"], "--lambda-max"),
])
def test_bad_input_exit_2(tmp_path, capsys, extra, option):
    out = tmp_path / "rho.csv"
    assert run(BASE + ["--out", str(out)] + extra) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and option in err
    assert list(tmp_path.iterdir()) == []


def test_missing_folder_exit_2(tmp_path, capsys):
    assert run(BASE + ["--out", str(tmp_path / "no" / "rho.csv")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--out" in err


def test_help_states_ranges(capsys):
    assert run(["spectrum", "--help"]) == 0
    text = capsys.readouterr().out
    for opt in ("--lambda-min", "--num", "--psi-p", "--empirical-d", "--seed", "--eta"):
        assert opt in text
    assert ">= 2" in text and "> 0" in text


def test_non_convergence_exit_1_rows_flagged(tmp_path, capsys, monkeypatch):
    # Force failure with an unreachable tolerance: files are complete, every row flagged, exit 1.
    import rfscore.cli.spectrum as spectrum  # the command's own binding of the library function
    from rfscore.limit.spectrum import ContinuationRule
    real = spectrum.solve_spectrum
    unreachable = ContinuationRule(tol=1e-300)
    monkeypatch.setattr(spectrum, "solve_spectrum", lambda *a, **k: real(*a, **{**k, "continuation": unreachable}))
    out = tmp_path / "rho.csv"
    assert run(BASE + ["--out", str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "NOT converged" in err and "psi_p=4" in err
    flags = [line.rsplit(",", 1)[1] for line in out.read_text().splitlines()[1:]]
    assert len(flags) == 50 and flags.count("false") > 0
    assert json.loads((tmp_path / "rho.json").read_text())["n_converged"] == flags.count("true")
