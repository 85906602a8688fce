"""Real data at finite size (theory/real_data.md): held-out matrices (R1), datasets (R3), comparison (R4)."""
import jax
import numpy as np
import pytest

from rfscore.data.datasets import load_dataset, prepare
from rfscore.finite.dynamics import trajectory
from rfscore.finite.eigensystem import eigensystem
from rfscore.core.errors import InputError
from rfscore.finite.exact import exact_matrices
from rfscore.data.realdata import (RealDataKeys, gaussian_data, gaussian_eigensystem, real_matrices, realdata_scan,
                              spectrum_comparison)
from rfscore.finite.inputs import sample_data, sample_weights
from rfscore.finite.simulation import simulate, training_problem
from rfscore.finite.simulation import SimulationOptions

T = 0.1


def _heavy_tailed(rng, n, d):
    """Non-Gaussian rows: Laplace entries mixed by a fixed matrix (unit scale)."""
    A = np.linalg.qr(np.random.default_rng(7).standard_normal((d, d)))[0] * np.linspace(0.6, 1.4, d)
    return rng.laplace(size=(n, d)) / np.sqrt(2) @ A.T


def test_held_out_u_pop_estimates_the_gaussian_population():
    # X_test ~ N(0, Σ): the held-out U_pop, V_pop (R1) are means of i.i.d. per-point matrices whose
    # expectation is the Gaussian-population U_pop, V_pop (E1)-(E3). Tolerance from the number of
    # test points: with B = 8 independent batches of N = 300 points, the squared error of the
    # grand mean summed over all entries has expectation Σ SE² (SE from the batch spread), so
    # the ratio R is ≈ 1 (≈ F-distributed, P(R > 3) < 1e-2; measured 0.63, 0.50); Σ scaled by 1.6
    # gives R ≫ 3.
    d, p, B, N = 6, 10, 8, 300
    S = np.diag(np.linspace(0.4, 1.8, d))
    W = sample_weights(jax.random.PRNGKey(1), p, d)
    X = sample_data(jax.random.PRNGKey(2), 5, S)
    pop = exact_matrices(W, X, t=T, sigma=S)
    wrong = exact_matrices(W, X, t=T, sigma=1.6 * S)
    batches = [exact_matrices(W, X, t=T, X_test=sample_data(jax.random.PRNGKey(10 + b), N, S)) for b in range(B)]
    for name in ("U_pop", "V_pop"):
        vals = np.stack([np.asarray(getattr(m, name)) for m in batches])
        mean, se2 = vals.mean(0), vals.var(0, ddof=1) / B

        def ratio(ref):
            return float(np.sum((mean - np.asarray(ref)) ** 2) / np.sum(se2))

        assert ratio(getattr(pop, name)) < 3.0, name
        assert ratio(getattr(wrong, name)) > 10.0, name  # measured 28 (U_pop), 186 (V_pop)
    # U and V do not depend on the held-out set; l_opt is not defined without Σ
    np.testing.assert_array_equal(np.asarray(batches[0].U), np.asarray(pop.U))
    assert np.isnan(batches[0].l_opt) and batches[0].truncation_bound <= 1e-12


def test_held_out_test_loss_matches_direct_noise_average():
    # (L2) through the held-out U_pop, V_pop against a direct Monte-Carlo average of
    # E_ξ ‖√Δ B σ(W x_t/√d) + ξ‖²/d over the same held-out points (M noise draws per point),
    # on non-Gaussian data; the ‖ξ‖² term has mean exactly 1 and is left out of the Monte Carlo.
    rng = np.random.default_rng(0)
    d, p, N, M = 5, 12, 40, 4000
    W = np.asarray(sample_weights(jax.random.PRNGKey(3), p, d))
    X, Xt = 2 * _heavy_tailed(rng, 8, d), 2 * _heavy_tailed(rng, N, d)  # heavy tails, variance ≈ 4
    m = exact_matrices(W, X, t=T, X_test=Xt)
    B = rng.standard_normal((d, p)) * 3.0 / np.sqrt(p)
    dl = m.delta_t
    closed = 1 + dl / d * np.trace(B @ np.asarray(m.U_pop) @ B.T) + 2 * np.sqrt(dl) / d * np.trace(B @ np.asarray(m.V_pop))
    xi = rng.standard_normal((N, M, d))
    xt = np.exp(-T) * Xt[:, None, :] + np.sqrt(dl) * xi
    out = np.tanh(xt @ W.T / np.sqrt(d)) @ B.T  # (N, M, d)
    samples = (dl * np.sum(out**2, -1) + 2 * np.sqrt(dl) * np.sum(out * xi, -1)) / d
    mc, se = 1 + samples.mean(), samples.std() / np.sqrt(samples.size)
    assert abs(mc - closed) < 4 * se, (mc, closed, se)
    # the Σ = I Gaussian-population loss of the same B is far off: the check can fail
    pop = exact_matrices(W, X, t=T)
    other = 1 + dl / d * np.trace(B @ np.asarray(pop.U_pop) @ B.T) + 2 * np.sqrt(dl) / d * np.trace(B @ np.asarray(pop.V_pop))
    assert abs(other - closed) > 10 * se


def test_gradient_descent_on_real_data_converges_to_closed_form():
    # Deterministic GD on (L1) over real training rows (optax, `simulate` with exact noise averages),
    # test loss on the held-out rows; the discretisation error of GD is O(η): it must halve with η
    # and be small at the finer η.
    rng = np.random.default_rng(1)
    d, p = 6, 18
    ds = prepare(_heavy_tailed(rng, 80, d), test_fraction=0.25, key=jax.random.PRNGKey(0), name="laplace")
    W = sample_weights(jax.random.PRNGKey(4), p, d)
    m = real_matrices(ds, W, 24, t=T)
    es = eigensystem(m, 24)
    prob = training_problem(W, ds.training_set(24), t=T, matrices=m)
    errs = []
    for lr in (0.4, 0.2):
        steps = int(round(200.0 / lr))
        res = simulate(prob, lr=lr, steps=steps, fresh_noise=None, options=SimulationOptions(record=6), progress=False)
        ref = trajectory(es, res.tau[res.tau > 0])
        errs.append(max(np.max(np.abs(res.train_loss[res.tau > 0] - ref.train_loss)),
                        np.max(np.abs(res.test_loss[res.tau > 0] - ref.test_loss))) / m.delta_t)
        assert np.all(np.isnan(res.score_error))  # no true score on real data
    assert errs[1] < 0.6 * errs[0] and errs[1] < 5e-3, errs


def test_trajectory_has_no_score_error_on_real_data():
    rng = np.random.default_rng(2)
    ds = prepare(_heavy_tailed(rng, 40, 4), test_fraction=0.5, key=jax.random.PRNGKey(0))
    es = eigensystem(real_matrices(ds, sample_weights(jax.random.PRNGKey(0), 8, 4), 12, t=T), 12)
    tr = trajectory(es, [1.0, 10.0])
    assert list(tr.columns()) == ["tau", "train_loss", "test_loss"] and not tr.has_score_error
    with pytest.raises(ValueError, match="not defined"):
        tr.excess("test_loss")


def test_prepare_normalises_splits_and_nests():
    rng = np.random.default_rng(3)
    X = 5.0 + 3.0 * _heavy_tailed(rng, 50, 4)
    a = prepare(X, test_fraction=0.2, key=jax.random.PRNGKey(0))
    b = prepare(X, test_fraction=0.2, key=jax.random.PRNGKey(0))
    c = prepare(X, test_fraction=0.2, key=jax.random.PRNGKey(1))
    both = np.concatenate([a.train, a.test])
    assert (a.n_pool, a.n_test) == (40, 10)
    np.testing.assert_allclose(both.mean(0), 0.0, atol=1e-12)
    np.testing.assert_allclose(both.T @ both / 50, a.sigma, atol=1e-12)  # (R3): Σ̂ of all normalised rows
    assert np.trace(a.sigma) / 4 == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_array_equal(a.train, b.train)  # same key, same split
    assert not np.array_equal(np.sort(a.test[:, 0]), np.sort(c.test[:, 0]))
    # the raw rows are partitioned: every raw row is in exactly one of train/test
    raw = np.round(both * a.scale + a.mean, 9)
    assert sorted(map(tuple, raw)) == sorted(map(tuple, np.round(X, 9)))
    np.testing.assert_array_equal(a.training_set(7), a.train[:7])  # nested in n
    with pytest.raises(InputError) as e:
        a.training_set(41)
    assert e.value.arg == "psi_n"


@pytest.mark.parametrize("bad, arg", [
    (lambda X: np.c_[X, np.ones(len(X))], "data"),         # constant column
    (lambda X: np.where(np.arange(X.size).reshape(X.shape) == 5, np.nan, X), "data"),
    (lambda X: X[:, :2] @ np.ones((2, 3)), "data"),        # rank 1 < d: singular Σ̂
])
def test_prepare_refuses_bad_data(bad, arg):
    X = np.random.default_rng(0).standard_normal((30, 3))
    with pytest.raises(InputError) as e:
        prepare(bad(X), test_fraction=0.2, key=jax.random.PRNGKey(0))
    assert e.value.arg == arg
    with pytest.raises(InputError) as e:
        prepare(X, X[:5, :2], key=jax.random.PRNGKey(0))
    assert e.value.arg == "test_data"


def test_digits_drop_constant_pixels():
    pytest.importorskip("sklearn")
    ds = load_dataset("digits", key=RealDataKeys.from_seed(0).data)
    assert (ds.d_raw, ds.d) == (64, 61) and ds.info()["dropped_columns"] == [0, 32, 39]
    assert (ds.n_pool, ds.n_test) == (1438, 359)
    assert np.trace(ds.sigma) / ds.d == pytest.approx(1.0, abs=1e-12)


def test_gaussian_side_uses_sigma_hat_and_nested_draws():
    rng = np.random.default_rng(4)
    ds = prepare(_heavy_tailed(rng, 60, 4), test_fraction=0.25, key=jax.random.PRNGKey(0))
    keys = RealDataKeys.from_seed(0)
    X10, X20 = gaussian_data(ds, 10, keys.gauss), gaussian_data(ds, 20, keys.gauss)
    np.testing.assert_array_equal(X10, X20[:10])
    big = gaussian_data(ds, 20000, keys.gauss)
    np.testing.assert_allclose(big.T @ big / 20000, ds.sigma, atol=6 * np.sqrt(2 / 20000) * 1.5)
    W = sample_weights(keys.weights, 12, 4)
    es = gaussian_eigensystem(ds, W, 10, t=T, keys=keys)
    assert np.isfinite(es.l_opt) and es.n == 10 and es.p == 12


@pytest.mark.slow  # longer than a few seconds on 2 cores: the full suite (CI) runs it
def test_scan_and_spectrum_on_small_real_data(tmp_path):
    rng = np.random.default_rng(5)
    np.save(tmp_path / "X.npy", _heavy_tailed(rng, 200, 5))  # the scan takes a .npy path or 'digits'
    sc = realdata_scan(str(tmp_path / "X.npy"), [2, 4, 8], 16, t=0.01, test_fraction=0.2, seeds=2, progress=False)
    tab = sc.table
    np.testing.assert_allclose(tab["psi_n"], tab["n"] / 5)
    assert tab["n"].tolist() == [10, 20, 40, 10, 20, 40] and tab["seed"].tolist() == [0, 0, 0, 1, 1, 1]
    for k in ("tau_mem", "tau_gen", "tau_mem_gauss", "tau_gen_gauss"):
        assert np.all(tab[k] > 0)
    s = sc.summary()
    for sfx in ("", "_gauss"):
        n_peaks = tab["n_peaks" + sfx].reshape(2, 3)
        assert s["n_peaks" + sfx] == n_peaks.min(0).tolist()
        single = bool(np.any(n_peaks == 1))
        # a single-peak point: τ_gen = τ_mem there, and no bare τ_mem exponent in the summary
        assert np.all(tab["tau_gen" + sfx][n_peaks.ravel() == 1] == tab["tau_mem" + sfx][n_peaks.ravel() == 1])
        assert (f"tau_mem{sfx}_exponent" in s) != single and (f"tau_single_peak{sfx}_exponent" in s) == single
        assert ({f"tau_mem{sfx}", f"tau_gen{sfx}"} <= set(sc.fits)) != single and (f"tau_single_peak{sfx}" in sc.fits) == single
    ds = prepare(_heavy_tailed(rng, 200, 5), test_fraction=0.2, key=jax.random.PRNGKey(0))
    ev, res = spectrum_comparison(ds, sample_weights(jax.random.PRNGKey(0), 40, 5), 20, t=0.01, num=60)
    # every point of the grid converged, on the Im q ≥ 0 branch, at the sizes actually used
    assert ev.shape == (40,) and res.converged.all() and np.all(res.density >= -1e-9)
    assert (res.psi_p, res.psi_n) == (8.0, 4.0)
    # the spectrum it solved for (ρ_Σ = eigenvalues of Σ̂) against an independent finite-size model:
    # (G4) with Σ = Σ̂'s eigenvalues repeated to d = 200, smoothed transforms at fixed Im z (error O(1/d),
    # bound 2.5/d as in tests/test_spectrum.py; measured ≤ 0.55/d over 2 seeds, while Σ = mean(Σ̂)·I, the
    # spectrum that ignores Σ̂'s shape, is off by 11/d)
    from rfscore.core.covariance import SigmaSpectrum
    from rfscore.finite.gep import gep_matrices
    from rfscore.limit.spectrum import empirical_stieltjes, stieltjes

    lam_sigma = np.linalg.eigvalsh(ds.sigma)
    np.testing.assert_allclose(np.sort(res.sigma.eigenvalues), np.sort(lam_sigma), rtol=1e-10)
    d = 200
    S = np.diag(np.repeat(lam_sigma, d // lam_sigma.size))
    kw, kx, ko = jax.random.split(jax.random.PRNGKey(3), 3)
    U = gep_matrices(sample_weights(kw, 8 * d, d), sample_data(kx, 4 * d, S), t=0.01, sigma=S, key=ko).U
    z = np.array([0.02 + 0.01j, 0.3 + 0.1j, 2.0 + 0.5j]) * float(np.mean(lam_sigma))
    th = stieltjes(z, psi_p=res.psi_p, psi_n=res.psi_n, t=0.01, sigma=res.sigma, throw=True)
    fs = empirical_stieltjes(np.linalg.eigvalsh(np.asarray(U)), z)
    assert np.max(np.abs(fs - th.q) / np.abs(th.q)) < 2.5 / d
