"""Asymptotic learning curves (A1)-(A5) against seed-averaged finite-size closed-form curves.

The finite-size side is independent of rfscore.asymptotic: sampled (G4)-(G6) matrices
(rfscore.matrices) and their exact gradient-flow curves (D3)-(D4) (rfscore.dynamics).
Tolerances: the issue's 5 % of the excess loss (+0.05 Δ near zero crossings) at the
largest d. Measured at tanh, t = 0.01 (τ ∈ [1, 10⁶]): at d = 20 the seed-averaged curves
differ from the asymptotic ones by up to 10-20 % (rms 3-10 %), at the largest d (60-80)
by ≤ 1.5-2 % (finite-size bias O(1/d) plus seed noise), see CASES; so both the 5 % bound
and the decrease with d have a margin of >= 2x.
"""
import json

import jax
import numpy as np
import pytest

from rfscore.asymptotic import asymptotic_curves, nu_c_quadrature
from rfscore.cli import main
from rfscore.covariance import SigmaSpectrum
from rfscore.dynamics import modes, trajectory
from rfscore.errors import ConvergenceError, InputError
from rfscore.models import sample_eigensystem
from rfscore.timescales import spectrum_peaks

T = 0.01
TAU = np.geomspace(1.0, 1e6, 25)
SEEDS = 6


def finite_size(psi_p, psi_n, d, spec_tau, sigma, seeds, bounds=None):
    """Seed-averaged excess train/test losses and score error (3, K), the mean timescale spectrum,
    and the per-seed excesses (seeds, 3, K).

    ``bounds``: the (lower, upper) spectrum bounds the contour is built from; every finite-size
    eigenvalue must lie inside (the upper bound is an operator-norm bound, loose by ~10x).
    """
    ex, spec = [], []
    for s in range(seeds):
        es = sample_eigensystem(jax.random.PRNGKey(7919 * d + s), d=d, psi_p=psi_p, psi_n=psi_n, t=T, sigma=sigma)
        if bounds is not None:
            lam = np.asarray(es.lam)
            assert bounds[0] * (1 - 1e-9) <= lam.min() and lam.max() <= bounds[1], (lam.min(), lam.max(), bounds)
        tr = trajectory(es, TAU)
        ex.append([tr.excess("train_loss"), tr.excess("test_loss"), tr.score_error])
        spec.append(modes(es).timescale_spectrum(spec_tau))
    return np.mean(ex, axis=0), np.mean(spec, axis=0), np.asarray(ex)


def asymptotic_excess(res):
    return np.stack([res.excess("train_loss"), res.excess("test_loss"), res.score_error])


# The first two cases have ψ_p ≫ ψ_n; (32, 4) has two distinct peaks, (32, 1) one (τ_gen = τ_mem) and
# uses Σ = 2I (scalar Σ: α and the constants change through σ_x = √2).
# Largest d: at (32, 4), d = 40 leaves only ~1.2x margin (measured max deviation 4 %, from a
# heavy-tailed seed at large τ) and d = 60 gives 0.3 %; at (32, 1) and at Σ = 2I the finite-size
# bias at τ ~ 10³-10⁵ is 4-5 % at d = 40 and 1.5 % at d = 80.
# (0.5, 2): ψ_p < 1 (no atom in ν_C, U without its s_t² atom), cheap since p = d/2; 0.2 % at d = 120.
CASES = [(32.0, 4.0, 1.0, 60, SEEDS), (32.0, 1.0, 2.0, 80, 4), (0.5, 2.0, 1.0, 120, SEEDS)]


@pytest.mark.parametrize("psi_p,psi_n,sigma_scale,d_large,seeds", CASES)
def test_converges_to_finite_size(psi_p, psi_n, sigma_scale, d_large, seeds):
    sig = SigmaSpectrum((sigma_scale,), (1.0,))
    res = asymptotic_curves(TAU, psi_p=psi_p, psi_n=psi_n, t=T, sigma=sig)
    assert res.diagnostics["a1_converged"] and res.diagnostics["a1_residual"] < 1e-10
    assert res.diagnostics["quadrature_error"] < 1e-6
    A = asymptotic_excess(res)
    spec_tau = np.geomspace(res.spectrum_tau[0], res.spectrum_tau[-1], 300)
    rms = []
    for d in (20, d_large):
        F, spec, per_seed = finite_size(psi_p, psi_n, d, spec_tau, sigma=sig, seeds=seeds,
                                        bounds=res.diagnostics["spectrum_bounds"])
        # per-seed rms deviation, averaged over seeds: the deviation of the seed *mean* at d = 20
        # is itself a noisy estimate (0.0015-0.039 across seed sets at ψ_p = 0.5), this is not
        rms.append(np.mean([np.sqrt(np.mean((np.abs(A - f) / (np.abs(f) + 1.0)) ** 2)) for f in per_seed]))
    # largest d: within 5 % + 0.05 at every τ, for train loss, test loss and score error
    assert np.all(np.abs(A - F) <= 0.05 * np.abs(F) + 0.05), np.max(np.abs(A - F) / (np.abs(F) + 1))
    # per-seed fluctuations shrink like 1/√d: require that rate with 30 % slack (d ratio 3-6)
    assert rms[1] < 1.3 * np.sqrt(20 / d_large) * rms[0], rms
    tau_gen, tau_mem = spectrum_peaks(spec_tau, spec)
    assert abs(res.tau_gen / tau_gen - 1) < 0.05 and abs(res.tau_mem / tau_mem - 1) < 0.05, \
        (res.tau_gen, tau_gen, res.tau_mem, tau_mem)
    if psi_n == 4.0:  # two distinct training timescales (brief §5)
        assert res.tau_mem > 100 * res.tau_gen


def test_reference_values_and_timescale_spectrum():
    """Brief §6 numbers (computed there independently, plain numpy, different contour); exact spectrum."""
    tau = np.array([1e3, 1e4, 1e5, np.inf])
    res = asymptotic_curves(tau, psi_p=32.0, psi_n=4.0, t=T)
    np.testing.assert_allclose(res.excess("train_loss")[:3], [-0.827, -5.32, -25.57], rtol=2e-3)
    np.testing.assert_allclose(res.excess("test_loss")[:3], [0.952, 13.92, 426.5], rtol=2e-3)
    far = asymptotic_curves([1e12], psi_p=32.0, psi_n=4.0, t=T, check_quadrature=False)
    np.testing.assert_allclose(res.train_loss[3], far.train_loss[0], rtol=1e-10)
    np.testing.assert_allclose(res.test_loss[3], far.test_loss[0], rtol=1e-10)
    # -dL_train/dlog τ from the contour equals the numerical derivative of (A4)
    st = res.spectrum_tau[100:900:50]
    h = 1e-4
    up = asymptotic_curves(st * np.exp(h), psi_p=32.0, psi_n=4.0, t=T, check_quadrature=False).train_loss
    dn = asymptotic_curves(st * np.exp(-h), psi_p=32.0, psi_n=4.0, t=T, check_quadrature=False).train_loss
    np.testing.assert_allclose(res.spectrum[100:900:50], -(up - dn) / (2 * h), rtol=1e-5, atol=1e-12)


@pytest.mark.parametrize("psi_p", [0.01, 0.5, 0.99, 1.0, 1.05, 32.0, 1000.0])
def test_nu_c_moments(psi_p):
    """Wishart moments of C = WWᵀ/d: Tr Cᵏ/p → 1, 1 + ψ_p, 1 + 3ψ_p + ψ_p² (k = 1, 2, 3); exact for a Gauss rule."""
    mu, w = nu_c_quadrature(psi_p, 64)
    moments = [w.sum(), w @ mu, w @ mu**2, w @ mu**3]
    np.testing.assert_allclose(moments, [1.0, 1.0, 1.0 + psi_p, 1.0 + 3 * psi_p + psi_p**2], rtol=1e-12)


def test_refusals_and_convergence_error():
    with pytest.raises(InputError) as e:
        asymptotic_curves(TAU, psi_p=8, psi_n=2, t=T, sigma=SigmaSpectrum((0.5, 1.5), (0.5, 0.5)))
    assert e.value.arg == "sigma_spectrum" and "not derived" in e.value.msg
    with pytest.raises(InputError) as e:
        asymptotic_curves(TAU, psi_p=-1, psi_n=2, t=T)
    assert e.value.arg == "psi_p"
    with pytest.raises(InputError) as e:
        asymptotic_curves(TAU, psi_p=8, psi_n=2, t=T, activation="linear")
    assert e.value.arg == "activation"
    with pytest.raises(ConvergenceError, match="psi_p=8"):
        asymptotic_curves(TAU, psi_p=8, psi_n=2, t=T, tol=1e-30)


def test_cli(tmp_path):
    out = tmp_path / "c.csv"
    args = ["asymptotic", "--psi-p", "32", "--psi-n", "4", "--t", "0.01", "--tau-min", "1", "--tau-max", "1e6",
            "--num", "40", "--out", str(out)]
    assert main(args) == 0
    rows = out.read_text().splitlines()
    assert rows[0] == "tau,train_loss,test_loss,score_error" and len(rows) == 41
    side = json.loads(out.with_suffix(".json").read_text())
    assert side["tau_gen"] < side["tau_mem"] and side["diagnostics"]["a1_converged"]
    assert {"rfscore_version", "created_utc", "parameters"} <= side.keys()
    data = np.loadtxt(out, delimiter=",", skiprows=1)
    ref = asymptotic_curves(data[:, 0], psi_p=32, psi_n=4, t=0.01, check_quadrature=False)
    np.testing.assert_allclose(data[:, 3], ref.score_error, rtol=1e-12)


@pytest.mark.parametrize("extra", [["--sigma-spectrum", "0.5:0.5,1.5:0.5"], ["--tau-max", "0.5"],
                                   ["--psi-n", "-2"], ["--num", "0"]])
def test_cli_bad_input(tmp_path, capsys, extra):
    out = tmp_path / "c.csv"
    args = ["asymptotic", "--psi-p", "32", "--psi-n", "4", "--t", "0.01", "--tau-min", "1", "--tau-max", "1e6",
            "--out", str(out)] + extra
    try:
        rc = main(args)
    except SystemExit as exc:  # argparse type errors
        rc = exc.code
    assert rc == 2
    assert list(tmp_path.iterdir()) == []
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    if "--sigma-spectrum" in extra:
        assert "not derived" in err


def test_a1_matches_spectrum_solver():
    """(A1)-(A2) vs the independent (S1)-(S3) solver: ⟨r̄⟩ = q, ⟨μ r̄⟩ = s (brief §6: 6 digits)."""
    spectrum = pytest.importorskip("rfscore.spectrum")
    from rfscore.asymptotic import resolvent_traces

    z = np.array([0.01 + 0.005j, 0.2 + 0.05j, 5 + 2j])
    ours = resolvent_traces(z, psi_p=32.0, psi_n=4.0, t=T)
    ref = spectrum.stieltjes(z, psi_p=32.0, psi_n=4.0, t=T, require=True)
    np.testing.assert_allclose(ours["q"], ref.q, rtol=1e-6)
    np.testing.assert_allclose(ours["s"], ref.s, rtol=1e-6)
