"""--noise-samples (m frozen draws) and --ridge on dynamics, simulate and asymptotic (theory/finite_noise_ridge.md)."""
import csv

import numpy as np

from rfscore.cli import main
from rfscore.limit.finite_noise import finite_noise_curves

MODEL = ["--d", "6", "--psi-p", "3", "--psi-n", "2", "--t", "0.1", "--model", "gep"]


def rows(path):
    return list(csv.DictReader(open(path)))


def test_frozen_gd_follows_the_frozen_closed_form(tmp_path):
    """GD on the frozen-draw penalised loss (simulate) against the flow (F2)-(F3) (dynamics), same seed and
    noise key: per mode (1 − x)^k against e^{-kx}, x = ηc(λ_k + λ) ≤ 0.006 here, so they agree to ~1e-4."""
    sim, dyn = tmp_path / "sim.csv", tmp_path / "dyn.csv"
    assert main(["simulate", *MODEL, "--lr", "0.02", "--steps", "5000", "--record", "3", "--noise-samples", "4",
                 "--ridge", "0.1", "--out", str(sim)]) == 0
    assert main(["dynamics", *MODEL, "--tau-min", "100", "--tau-max", "100", "--num", "1", "--noise-samples", "4",
                 "--ridge", "0.1", "--out", str(dyn)]) == 0
    s, d = rows(sim)[-1], rows(dyn)[-1]
    assert float(s["tau"]) == float(d["tau"]) == 100.0
    for k in ("train_loss", "test_loss"):
        assert abs(float(s[k]) - float(d[k])) < 1e-4, (k, s[k], d[k])
    # the frozen m = 4 run memorises more than the noise average: its empirical test loss is above its train loss
    assert float(d["empirical_test_loss"]) > float(d["train_loss"])


def test_defaults_are_todays_runs(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    base = ["dynamics", *MODEL, "--tau-min", "1", "--tau-max", "1e3", "--num", "4"]
    assert main([*base, "--out", str(a)]) == 0
    assert main([*base, "--noise-samples", "inf", "--ridge", "0", "--out", str(b)]) == 0
    assert a.read_text() == b.read_text()
    base = ["simulate", *MODEL, "--lr", "0.5", "--steps", "50", "--record", "3"]
    assert main([*base, "--out", str(a)]) == 0
    assert main([*base, "--fresh-noise", "1", "--out", str(b)]) == 0
    assert a.read_text() == b.read_text()


def test_asymptotic_finite_m_is_the_library_curve(tmp_path):
    out = tmp_path / "a.csv"
    assert main(["asymptotic", "--psi-p", "8", "--psi-n", "2", "--t", "0.1", "--tau-min", "10", "--tau-max", "1e4",
                 "--num", "4", "--noise-samples", "4", "--ridge", "1e-3", "--out", str(out)]) == 0
    r = rows(out)
    lib = finite_noise_curves(np.geomspace(10, 1e4, 4), psi_p=8.0, psi_n=2.0, t=0.1, noise_samples=4, ridge=1e-3)
    assert np.allclose([float(x["test_loss"]) for x in r], lib.test_loss, rtol=1e-12)
