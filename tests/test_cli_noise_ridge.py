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


def test_ridge_timescale_spectrum_is_the_derivative_of_the_train_loss():
    """Modes.timescale_spectrum with a ridge against −dL_train/dlog τ by central differences of the flow (F3)."""
    import jax
    from rfscore.finite.dynamics import modes, trajectory
    from rfscore.finite.model_dispatch import sample_eigensystem
    es = sample_eigensystem(jax.random.PRNGKey(0), d=8, psi_p=4, psi_n=2, t=0.1)
    tau, h = np.geomspace(1, 1e4, 7), 1e-5
    for lam in (0.0, 0.05):
        num = -(trajectory(es, tau * np.exp(h), ridge=lam).train_loss
                - trajectory(es, tau * np.exp(-h), ridge=lam).train_loss) / (2 * h)
        spec = modes(es, lam).timescale_spectrum(tau)
        assert np.max(np.abs(spec - num)) < 1e-8 * np.max(np.abs(num)), lam


def test_timescales_and_phase_take_noise_samples_and_ridge(tmp_path):
    ts = tmp_path / "ts.csv"
    assert main(["timescales", "--psi-p", "32", "--psi-n", "2,4", "--t", "0.01", "--d", "8", "--seeds", "2",
                 "--no-progress", "--noise-samples", "4", "--ridge", "1e-3", "--out", str(ts)]) == 0
    r = rows(ts)
    assert len(r) == 4 and all(float(x["tau_mem"]) >= float(x["tau_gen"]) > 0 for x in r)
    ph = tmp_path / "ph.csv"
    assert main(["phase", "--psi-p", "4,8", "--psi-n", "1,2", "--t", "0.1", "--d", "8", "--tau", "1e2", "--workers", "1",
                 "--no-progress", "--noise-samples", "2", "--ridge", "1e-3", "--out", str(ph)]) == 0
    plain = tmp_path / "plain.csv"
    assert main(["phase", "--psi-p", "4,8", "--psi-n", "1,2", "--t", "0.1", "--d", "8", "--tau", "1e2", "--workers", "1",
                 "--no-progress", "--out", str(plain)]) == 0
    a, b = rows(ph), rows(plain)
    # two frozen draws per point fit the training set harder than the noise average: lower train loss everywhere
    assert all(float(x["train_loss"]) < float(y["train_loss"]) for x, y in zip(a, b))


def test_ridge_on_the_krylov_solver_equals_eigh(tmp_path):
    """`dynamics --ridge --solver krylov` (block Lanczos on U + λI) against the dense eigendecomposition."""
    exact = ["--d", "8", "--psi-p", "16", "--psi-n", "2", "--t", "0.1", "--model", "exact"]
    base = ["dynamics", *exact, "--tau-min", "1", "--tau-max", "1e6", "--num", "7", "--ridge", "1e-2"]
    k, e = tmp_path / "k.csv", tmp_path / "e.csv"
    assert main([*base, "--solver", "krylov", "--krylov-tol", "1e-9", "--out", str(k)]) == 0
    assert main([*base, "--solver", "eigh", "--out", str(e)]) == 0
    for a, b in zip(rows(k), rows(e)):
        for key in ("train_loss", "test_loss"):
            assert abs(float(a[key]) - float(b[key])) < 1e-7, (key, a, b)
