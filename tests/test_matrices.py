"""Finite-size matrices ((G4)-(G6), (E1)-(E4)) against independent brute-force averages."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import roots_hermitenorm

from rfscore.core.covariance import SigmaSpectrum
from rfscore.finite.dynamics import trajectory
from rfscore.core.errors import InputError
from rfscore.finite.exact import exact_matrices
from rfscore.finite.gep import gep_eigensystem, gep_matrices
from rfscore.finite.inputs import sample_data, sample_inputs, sample_weights
from rfscore.finite.exact import MehlerRule

T = 0.3
SIGMA = SigmaSpectrum((0.5, 2.0), (0.5, 0.5))  # non-isotropic: diag(0.5, 0.5, 2, 2) at d = 4


@pytest.fixture(scope="module")
def tiny():
    d, p, n = 4, 5, 3
    S = SIGMA.matrix(d)
    W = sample_weights(jax.random.PRNGKey(0), p, d)
    X = sample_data(jax.random.PRNGKey(1), n, S)
    return W, X, S, exact_matrices(W, X, t=T, sigma=SIGMA, mehler=MehlerRule(max_order=60), throw=False)


def _mc_check(exact, samples, tol_sigmas=5.0):
    """|exact - mean| <= tol_sigmas standard errors (+ 1e-12), entrywise; samples: (N, ...)."""
    mean = samples.mean(axis=0)
    se = samples.std(axis=0) / np.sqrt(samples.shape[0])
    assert np.all(np.abs(np.asarray(exact) - mean) <= tol_sigmas * se + 1e-12), np.max(np.abs(exact - mean) / se)


def test_exact_matrices_match_monte_carlo(tiny):
    # Independent brute force: draw the noise (and x for the population matrices) and
    # average φφᵀ, φξᵀ. 1e5 draws per average, so each entry has a standard error we
    # estimate from the same draws; 5 standard errors over ~70 entries fails by chance
    # with probability < 1e-4.
    W, X, S, m = tiny
    d, p, n = W.shape[1], W.shape[0], X.shape[0]
    dl = -np.expm1(-2 * T)
    rng = np.random.default_rng(0)
    W_, X_ = np.asarray(W), np.asarray(X)
    N = 100_000
    xi = rng.standard_normal((N, d))
    nu = np.arange(N) % n
    phi = np.tanh((np.exp(-T) * X_[nu] + np.sqrt(dl) * xi) @ W_.T / np.sqrt(d))
    _mc_check(m.U, phi[:, :, None] * phi[:, None, :])
    _mc_check(m.V, phi[:, :, None] * xi[:, None, :])
    x = rng.standard_normal((N, d)) @ np.linalg.cholesky(S).T
    phi = np.tanh((np.exp(-T) * x + np.sqrt(dl) * xi) @ W_.T / np.sqrt(d))
    _mc_check(m.U_pop, phi[:, :, None] * phi[:, None, :])
    _mc_check(m.V_pop, phi[:, :, None] * xi[:, None, :])
    # the check has power: the GEP surrogate at this tiny size is off by many standard errors
    g = gep_matrices(W, X, t=T, sigma=SIGMA)
    se = (phi[:, :, None] * phi[:, None, :]).std(axis=0) / np.sqrt(N)
    assert np.max(np.abs(np.asarray(g.U_pop) - np.asarray(m.U_pop)) / se) > 20


def test_truncation_bound_honoured(tiny):
    # d = 4 makes the correlations r_ij large (slow Mehler convergence): a severe case.
    W, X, S, m = tiny
    assert m.truncation_bound <= 1e-6  # draw-dependent at d = 4 (max |r_ij| near 1): 1e-8 to 1e-7 seen
    for order in (1, 2, 4):
        low = exact_matrices(W, X, t=T, sigma=SIGMA, mehler=MehlerRule(max_order=order), throw=False)
        err = max(float(jnp.max(jnp.abs(low.U - m.U))), float(jnp.max(jnp.abs(low.U_pop - m.U_pop))))
        assert low.mehler_order == order
        assert err <= low.truncation_bound + m.truncation_bound
        assert err > 1e-3 * low.truncation_bound  # the bound is not vacuous


def _pair_expectation(mean_i, mean_j, cov, nodes=400):
    """mean over rows of E tanh(h_i) tanh(h_j), (h_i, h_j) ~ N((mean_i, mean_j), cov): 2-d Gauss–Hermite."""
    z, w = roots_hermitenorm(nodes)
    w = w / w.sum()
    L = np.linalg.cholesky(cov)
    hi = mean_i[:, None, None] + L[0, 0] * z[:, None]
    hj = mean_j[:, None, None] + L[1, 0] * z[:, None] + L[1, 1] * z[None, :]
    return float(np.mean(np.einsum("a,b,nab->n", w, w, np.tanh(hi) * np.tanh(hj))))


@pytest.mark.slow
def test_exact_matrices_tiles_match_2d_quadrature():
    # p = 1200 spans three Mehler tiles (512 + 512 + 176): entries inside a tile, across tiles,
    # on both sides of each tile boundary and in the mirrored lower triangle against an
    # independent 2-d Gauss–Hermite average of tanh(h_i)tanh(h_j) (no Mehler series, no
    # trapezoid rule). Gauss–Hermite converges slowly on tanh at scale s ≈ 1.4 (poles at
    # |Im z| = π/2s): 400² nodes give ~1e-14 here, 60² only ~1e-8. The Mehler truncation is
    # bounded by the reported bound.
    from rfscore.finite.exact import MEHLER_TILE

    d, t = 20, 0.3
    W, X, _ = sample_inputs(jax.random.PRNGKey(6), d=d, psi_p=60, psi_n=0.3, sigma=SIGMA)
    m = exact_matrices(W, X, t=t, sigma=SIGMA, mehler=MehlerRule(max_order=60), throw=False)
    assert m.p == 1200 > 2 * MEHLER_TILE and m.truncation_bound < 1e-9
    W, X, S = np.asarray(W), np.asarray(X), SIGMA.matrix(d)
    dl = -np.expm1(-2 * t)
    means = np.exp(-t) * X @ W.T / np.sqrt(d)  # (n, p)
    C = W @ W.T / d
    C_pop = W @ (np.exp(-2 * t) * S + dl * np.eye(d)) @ W.T / d
    b = MEHLER_TILE
    for i, j in ((0, 1), (10, 1190), (1190, 10), (600, 1100), (b - 1, b), (b, b - 1), (2 * b - 1, 2 * b), (1150, 1199)):
        idx = np.ix_([i, j], [i, j])
        u = _pair_expectation(means[:, i], means[:, j], dl * C[idx])
        u_pop = _pair_expectation(np.zeros(1), np.zeros(1), C_pop[idx])
        assert abs(m.U[i, j] - u) < 1e-12 + m.truncation_bound, (i, j)
        assert abs(m.U_pop[i, j] - u_pop) < 1e-12 + m.truncation_bound, (i, j)
    np.testing.assert_array_equal(np.asarray(m.U), np.asarray(m.U).T)


def test_thin_and_full_gep_give_same_trajectories():
    # thin path (k = n + d kept modes, rest at s_t²) vs the full p×p eigendecomposition of (G4)
    W, X, ko = sample_inputs(jax.random.PRNGKey(3), d=6, psi_p=8, psi_n=2, sigma=SIGMA)
    kw = dict(t=0.05, sigma=SIGMA, key=ko)
    full, thin = gep_eigensystem(W, X, thin=False, **kw), gep_eigensystem(W, X, **kw)
    assert full.complete and not thin.complete and thin.eigvals.size == 6 + 12
    tau = np.geomspace(0.1, 1e7, 15)
    A0 = jax.random.normal(jax.random.PRNGKey(4), (6, 48))
    for A in (None, A0):
        a, b = trajectory(full, tau, A), trajectory(thin, tau, A)
        np.testing.assert_allclose(b.train_loss, a.train_loss, rtol=1e-11)
        np.testing.assert_allclose(b.test_loss, a.test_loss, rtol=1e-11)
    # and the full path's eigen-quantities are those of the assembled (G4)-(G6) matrices
    m = gep_matrices(W, X, **kw)
    np.testing.assert_allclose(np.sort(full.eigvals), np.linalg.eigvalsh(np.asarray(m.U)), rtol=1e-10)


def test_gep_uses_sigma():
    W, X, ko = sample_inputs(jax.random.PRNGKey(5), d=4, psi_p=2, psi_n=1, sigma=SIGMA)
    a = gep_matrices(W, X, t=T, sigma=SIGMA, key=ko)
    b = gep_matrices(W, X, t=T, sigma=SIGMA.matrix(4), key=ko)
    np.testing.assert_allclose(a.U_pop, b.U_pop, rtol=1e-13)
    iso = gep_matrices(W, X, t=T, key=ko)
    assert float(jnp.max(jnp.abs(iso.U_pop - a.U_pop))) > 1e-2


def test_bad_inputs():
    W = sample_weights(jax.random.PRNGKey(0), 5, 4)
    X = sample_data(jax.random.PRNGKey(1), 3, np.eye(4))
    with pytest.raises(InputError) as e:
        exact_matrices(W, X[:, :3], t=T)
    assert e.value.arg == "data"
    W_nan, X_inf = np.array(W), np.array(X)  # rfscore returns NumPy arrays
    W_nan[0, 0], X_inf[1, 1] = np.nan, np.inf
    with pytest.raises(InputError) as e:
        exact_matrices(W_nan, X, t=T)
    assert e.value.arg == "weights"
    with pytest.raises(InputError) as e:
        gep_matrices(W, X_inf, t=T)
    assert e.value.arg == "data"
    with pytest.raises(InputError) as e:
        gep_eigensystem(W, X, t=T, sigma=-np.eye(4))
    assert e.value.arg == "sigma_matrix"
    with pytest.raises(InputError) as e:
        exact_matrices(W, X, t=-1.0)
    assert e.value.arg == "t"


def test_quadrature_step_error_estimate_is_honest():
    # The adaptive trapezoid rule against scipy's adaptive quad (independent, to 1e-14) for
    # E tanh(m + s z)² and E z tanh(m + s z) at scales where Gauss–Hermite(64) errs by 1e-9..1e-4.
    from scipy.integrate import quad

    from rfscore.core.activations import get_activation
    from rfscore.core.quadrature import trapezoid_nodes
    from rfscore.finite.exact import _quadrature_step
    act = get_activation("tanh")
    phi = lambda z: np.exp(-z * z / 2) / np.sqrt(2 * np.pi)  # noqa: E731
    for s in (0.1, 1.0, 2.5):
        means = np.array([[0.0, 1.3]])
        h, err = _quadrature_step(act, means, np.array([s]), 8, 1e-12)
        assert err <= 1e-12
        z, w = trapezoid_nodes(h)
        for m in means[0]:
            for f in (lambda z: np.tanh(m + s * z) ** 2, lambda z: z * np.tanh(m + s * z)):
                ref = quad(lambda z: f(z) * phi(z), -np.inf, np.inf, epsabs=1e-14, epsrel=1e-13, limit=400)[0]
                assert abs(f(z) @ w - ref) < 1e-12, (s, m)
    z, w = roots_hermitenorm(64)
    gh = np.tanh(2.5 * z) ** 2 @ (w / w.sum())
    ref = quad(lambda z: np.tanh(2.5 * z) ** 2 * phi(z), -np.inf, np.inf, epsabs=1e-15, limit=400)[0]
    assert abs(gh - ref) > 1e-6  # the failure the adaptive rule avoids
