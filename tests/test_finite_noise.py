"""Finite noise samples m and ridge λ (theory/finite_noise_ridge.md (F1)-(F6)) at small sizes."""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rfscore.core.constants import ge_constants
from rfscore.core.covariance import SigmaSpectrum
from rfscore.core.errors import InputError
from rfscore.finite.inputs import sample_inputs, standard_normal
from rfscore.finite.dynamics import readout, trajectory
from rfscore.finite.eigensystem import eigensystem
from rfscore.finite.exact import exact_matrices
from rfscore.finite.gep import gep_eigensystem
from rfscore.finite.frozen_noise import (check_noise_samples, cross_copy_covariance, exact_features,
                                        exact_noise_matrices, gep_features, gep_noise_matrices, noise_draws,
                                        data_resampling, noise_eigensystem, noise_readout, noise_resampling,
                                        noise_trajectory,
                                        noisy_points, population_floor, quadratic_loss)
from rfscore.finite.gep import gep_factors

SIGMA = SigmaSpectrum((0.5, 1.5), (0.5, 0.5))
T = 0.3


@pytest.fixture(scope="module")
def model():
    W, X, ko = sample_inputs(jax.random.PRNGKey(0), d=8, psi_p=3, psi_n=2, sigma=SIGMA)
    return W, X, ko, exact_matrices(W, X, t=T, sigma=SIGMA)


@pytest.mark.parametrize("bad", [0, -1, 1.5, "two", True, float("nan"), -math.inf])
def test_noise_samples_bad_input_names_argument(bad):
    with pytest.raises(InputError) as e:
        check_noise_samples(bad)
    assert e.value.arg == "noise_samples" and ">= 1" in e.value.msg


@pytest.mark.parametrize("bad", [-1e-3, math.inf, float("nan"), "x"])
def test_ridge_bad_input_names_argument(model, bad):
    W, X, _, avg = model
    es = eigensystem(avg, X.shape[0])
    for call in (lambda: trajectory(es, [1.0], ridge=bad), lambda: readout(es, 1.0, ridge=bad)):
        with pytest.raises(InputError) as e:
            call()
        assert e.value.arg == "ridge" and "[0, 1e6]" in e.value.msg  # the accepted range


def test_other_bad_inputs_name_their_argument(model):
    W, X, _, avg = model
    with pytest.raises(InputError) as e:
        exact_noise_matrices(W, X, t=T, noise_samples=2, key=jax.random.PRNGKey(0), averaged=avg, block_rows=0)
    assert e.value.arg == "block_rows"
    with pytest.raises(InputError) as e:
        noise_resampling("exact", W, X, t=T, noise_samples=2, keys=[jax.random.PRNGKey(0)], tau=[1.0], averaged=avg)
    assert e.value.arg == "keys"
    with pytest.raises(InputError) as e:
        noise_resampling("nope", W, X, t=T, noise_samples=2, keys=[jax.random.PRNGKey(0)] * 2, tau=[1.0])
    assert e.value.arg == "model"


def test_m_infinity_is_the_noise_average(model):
    W, X, _, avg = model
    for m in (None, math.inf):
        fm = exact_noise_matrices(W, X, t=T, noise_samples=m, key=jax.random.PRNGKey(1), sigma=SIGMA, averaged=avg)
        assert fm.noise_samples is None and fm.noise_sq == 1.0 and fm.train is avg
    # at m = ∞ the empirical test loss (F4) is the train loss (L1), and the losses are today's trajectory's
    tau = np.array([0.5, 10.0, np.inf])
    tr = noise_trajectory(noise_eigensystem(fm), tau, ridge=0.02)
    np.testing.assert_allclose(tr.empirical_test_loss, tr.train_loss, rtol=0, atol=1e-12)
    ref = trajectory(eigensystem(avg, X.shape[0]), tau, ridge=0.02)
    np.testing.assert_allclose(tr.test_loss, ref.test_loss, rtol=0, atol=1e-12)
    assert check_noise_samples(3.0) == 3


def test_finite_m_matrices_converge_to_exact_average(model):
    # U^(m) - U is an average of n·m independent (given X) zero-mean terms: relative gap ∝ 1/√m.
    # Mean over 3 draws at m = 16 and 256: ratio √16 = 4 expected; measured ≈ 4.0 (U), 3.9 (V).
    W, X, _, avg = model
    gaps = {}
    for m in (16, 256):
        g = []
        for s in range(3):
            fm = exact_noise_matrices(W, X, t=T, noise_samples=m, key=jax.random.PRNGKey(100 + s), sigma=SIGMA,
                                      averaged=avg)
            g.append([np.linalg.norm(fm.train.U - avg.U) / np.linalg.norm(avg.U),
                      np.linalg.norm(fm.train.V - avg.V) / np.linalg.norm(avg.V)])
        gaps[m] = np.mean(g, axis=0)
    ratio = gaps[16] / gaps[256]
    assert np.all((ratio > 2.5) & (ratio < 6.4)), ratio
    assert gaps[256][0] < 0.05


def test_frozen_draw_matrices_are_the_feature_averages(model):
    # (F1) against Φ formed whole (no blocks) and the loss summed point by point.
    W, X, _, avg = model
    key, m = jax.random.PRNGKey(3), 5
    fm = exact_noise_matrices(W, X, t=T, noise_samples=m, key=key, sigma=SIGMA, averaged=avg, block_rows=7)
    xi = noise_draws(key, X.shape[0], m, W.shape[1])
    Phi = exact_features(W, X, xi, t=T)
    N = Phi.shape[0]
    np.testing.assert_allclose(fm.train.U, Phi.T @ Phi / N, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(fm.train.V, Phi.T @ xi.reshape(N, -1) / N, rtol=1e-13, atol=1e-15)
    # the trajectory's train loss is the frozen-draw loss itself; the empirical test loss is (L1) at A(τ)
    nes = noise_eigensystem(fm)
    tau = np.array([0.7, 30.0, np.inf])
    tr = noise_trajectory(nes, tau, ridge=0.05)
    d, p, dl = W.shape[1], W.shape[0], avg.delta_t
    for k, s in enumerate(tau):
        A = noise_readout(nes, s, ridge=0.05)
        resid = math.sqrt(dl) * Phi @ A.T / math.sqrt(p) + xi.reshape(N, -1)
        assert abs(tr.train_loss[k] - np.sum(resid**2) / (N * d)) < 1e-12
        B = A / math.sqrt(p)
        assert abs(tr.empirical_test_loss[k] - quadratic_loss(B, avg.U, avg.V, dl)) < 1e-12
        assert abs(tr.test_loss[k] - quadratic_loss(B, avg.U_pop, avg.V_pop, dl)) < 1e-12
    assert np.allclose(tr.score_error, (tr.test_loss - avg.l_opt) / dl, rtol=0, atol=1e-13)
    # with A(0) ≠ 0 as well (the A0 path of (F3)-(F4))
    A0 = np.asarray(jax.random.normal(jax.random.PRNGKey(8), (d, p)))
    tr0 = noise_trajectory(nes, [2.0], ridge=0.05, A0=A0)
    B = noise_readout(nes, 2.0, ridge=0.05, A0=A0) / math.sqrt(p)
    resid = math.sqrt(dl) * Phi @ B.T + xi.reshape(N, -1)
    assert abs(tr0.train_loss[0] - np.sum(resid**2) / (N * d)) < 1e-12
    assert abs(tr0.empirical_test_loss[0] - quadratic_loss(B, avg.U, avg.V, dl)) < 1e-12
    assert abs(tr0.test_loss[0] - quadratic_loss(B, avg.U_pop, avg.V_pop, dl)) < 1e-12


def test_ridge_zero_is_bit_identical(model):
    W, X, _, avg = model
    es = eigensystem(avg, X.shape[0])
    tau = np.array([0.1, 3.0, 1e3, np.inf])
    A0 = np.asarray(jax.random.normal(jax.random.PRNGKey(5), (W.shape[1], W.shape[0])))
    for a0 in (None, A0):
        old, new = trajectory(es, tau, a0), trajectory(es, tau, a0, ridge=0.0)
        for f in ("train_loss", "test_loss", "score_error"):
            np.testing.assert_allclose(getattr(new, f), getattr(old, f), rtol=0, atol=1e-12)
        np.testing.assert_allclose(readout(es, 3.0, a0, ridge=0), readout(es, 3.0, a0), rtol=0, atol=1e-12)
    # the thin GEP path (omitted modes with A(0) ≠ 0) too
    Wg, Xg, ko = sample_inputs(jax.random.PRNGKey(2), d=6, psi_p=6, psi_n=1, sigma=SIGMA)
    thin = gep_eigensystem(Wg, Xg, t=T, sigma=SIGMA, key=ko, thin=True)
    A0g = np.asarray(jax.random.normal(jax.random.PRNGKey(9), (Wg.shape[1], Wg.shape[0])))
    old, new = trajectory(thin, tau, A0g), trajectory(thin, tau, A0g, ridge=0.0)
    np.testing.assert_allclose(new.test_loss, old.test_loss, rtol=0, atol=1e-12)
    np.testing.assert_allclose(new.train_loss, old.train_loss, rtol=0, atol=1e-12)


def test_ridge_tau_inf_is_the_ridge_minimiser(model):
    W, X, _, avg = model
    lam_r = 0.03
    fm = exact_noise_matrices(W, X, t=T, noise_samples=3, key=jax.random.PRNGKey(7), sigma=SIGMA, averaged=avg)
    nes = noise_eigensystem(fm)
    U, V, dl, p = fm.train.U, fm.train.V, avg.delta_t, W.shape[0]
    B = -np.linalg.solve(U + lam_r * np.eye(p), V).T / math.sqrt(dl)  # (F2)
    np.testing.assert_allclose(noise_readout(nes, np.inf, ridge=lam_r) / math.sqrt(p), B, rtol=1e-10, atol=1e-12)
    tr = noise_trajectory(nes, [1e2, np.inf], ridge=lam_r)
    assert abs(tr.train_loss[1] - quadratic_loss(B, U, V, dl, fm.noise_sq)) < 1e-11
    assert abs(tr.test_loss[1] - quadratic_loss(B, avg.U_pop, avg.V_pop, dl)) < 1e-11
    # the ridge is felt: the unpenalised train loss at τ = inf lies above the ridgeless one
    assert noise_trajectory(nes, [np.inf]).train_loss[0] < tr.train_loss[1] - 1e-4


def test_ridge_on_thin_path_matches_full_eigensystem():
    # GEP thin SVD with A(0) ≠ 0: the omitted modes relax at c(s_t² + λ); agreement with the full p×p route.
    W, X, ko = sample_inputs(jax.random.PRNGKey(2), d=6, psi_p=6, psi_n=1, sigma=SIGMA)
    thin = gep_eigensystem(W, X, t=T, sigma=SIGMA, key=ko, thin=True)
    full = gep_eigensystem(W, X, t=T, sigma=SIGMA, key=ko, thin=False)
    assert not thin.complete
    A0 = np.asarray(jax.random.normal(jax.random.PRNGKey(9), (W.shape[1], W.shape[0])))
    tau = np.array([0.5, 20.0, np.inf])
    a, b = trajectory(thin, tau, A0, ridge=0.02), trajectory(full, tau, A0, ridge=0.02)
    np.testing.assert_allclose(a.train_loss, b.train_loss, rtol=1e-10)
    np.testing.assert_allclose(a.test_loss, b.test_loss, rtol=1e-10)


def _penalised_loss(W, Xt, xi_rows, dl, lam_r, act=jnp.tanh):
    """(F1) + (F2) written directly in A on the frozen noisy points: independent of U, V and of B = A/√p."""
    p, d = W.shape

    def loss(A):
        s = (A @ act(W @ Xt.T / jnp.sqrt(d)) / jnp.sqrt(p)).T  # s_A(x_t^{νj}), (N, d)
        data = jnp.sum((jnp.sqrt(dl) * s + xi_rows) ** 2) / (Xt.shape[0] * d)
        return data + lam_r * dl * jnp.sum(A**2) / (p * d)
    return loss


@pytest.mark.usefixtures("x64")  # the reference gradient descent is written in jnp
def test_gradient_descent_on_penalised_frozen_loss_follows_the_flow(model):
    # A ← A − η d² ∇_A (L_train^(m) + λΔ‖A‖²/(pd)) from A = 0; after k = τ/η steps the gap to the closed
    # form (F3) is O(η): halving η halves it (per mode (1−x)^k vs e^{−kx}, x = ηc(λ_k+λ)). Also the
    # gradient vanishes at the closed-form τ = inf readout: the normalisation of (F2) is U → U + λI.
    W, X, _, avg = model
    lam_r, m, key = 0.05, 4, jax.random.PRNGKey(11)
    fm = exact_noise_matrices(W, X, t=T, noise_samples=m, key=key, sigma=SIGMA, averaged=avg)
    nes = noise_eigensystem(fm)
    xi = noise_draws(key, X.shape[0], m, W.shape[1]).reshape(-1, W.shape[1])
    Xt = noisy_points(X, noise_draws(key, X.shape[0], m, W.shape[1]), T)
    loss = _penalised_loss(jnp.asarray(W), jnp.asarray(Xt), jnp.asarray(xi), avg.delta_t, lam_r)
    grad = jax.jit(jax.grad(loss))
    d, p = W.shape[1], W.shape[0]
    A_inf = noise_readout(nes, np.inf, ridge=lam_r)
    g0 = float(jnp.linalg.norm(grad(jnp.zeros((d, p)))))
    assert float(jnp.linalg.norm(grad(jnp.asarray(A_inf)))) < 1e-12 * g0 * 1e3

    @jax.jit
    def run(eta, k):
        return jax.lax.fori_loop(0, k, lambda i, A: A - eta * d**2 * grad(A), jnp.zeros((d, p)))

    tau = 4.0
    ref = noise_readout(nes, tau, ridge=lam_r)
    errs = [float(np.linalg.norm(np.asarray(run(eta, int(round(tau / eta)))) - ref) / np.linalg.norm(ref))
            for eta in (0.02, 0.01)]
    assert errs[0] < 0.01  # measured 1.25e-3 at η = 0.02
    assert 1.7 < errs[0] / errs[1] < 2.3, errs


def test_cross_copy_covariance_is_v_t2():
    # (F5): the non-linear residual r^{νj} = φ^{νj} − e^{-t}a_t W x^ν/√d − b_t W ξ^{νj}/√d of the EXACT features.
    # For Σ = I and rows with ‖w_i‖² = d its cross-copy covariance E[r_i^{ν1} r_i^{ν2}] is v_t² (G2) exactly,
    # at any d, its within-copy variance v_t² + s_t² (G3), and off the diagonal |E[r_i^{ν1} r_k^{ν2}]| ≤ v_t²|ρ_ik|³.
    # Monte Carlo over n = 20000 points, m = 2: measured 0.003816 ± 0.000094 against v_t² = 0.003853;
    # tolerance 5 standard errors (v_t² itself is 40 SE away from 0, the value for independent copies).
    d, p, n, m = 8, 16, 20000, 2
    W = standard_normal(jax.random.PRNGKey(1), (p, d))
    W = W / np.linalg.norm(W, axis=1, keepdims=True) * math.sqrt(d)
    X = standard_normal(jax.random.PRNGKey(2), (n, d))
    c = ge_constants(T, "tanh", SigmaSpectrum((1.0,), (1.0,)))
    xi = noise_draws(jax.random.PRNGKey(3), n, m, d)
    Phi = exact_features(W, X, xi, t=T)
    r = Phi.reshape(n, m, p) - c.a_t * math.exp(-T) * (X @ W.T)[:, None, :] / math.sqrt(d) \
        - c.b_t * (xi @ W.T) / math.sqrt(d)
    shared = (r[:, 0] * r[:, 1]).mean(axis=1)  # per point, mean over the features i
    est, se = float(shared.mean()), float(shared.std() / math.sqrt(n))
    assert abs(est - c.v_t2) < 5 * se, (est, c.v_t2, se)
    assert c.v_t2 > 20 * se
    within = (r**2).mean(axis=(1, 2))
    assert abs(within.mean() - (c.v_t2 + c.s_t2)) < 5 * within.std() / math.sqrt(n)
    # off the diagonal: the Mehler remainder of order ≥ 3 in the data correlation ρ
    C = r[:, 0].T @ r[:, 1] / n
    se_ik = (r[:, 0][:, :, None] * r[:, 1][:, None, :]).std(axis=0) / math.sqrt(n)
    rho = W @ W.T / d
    off = ~np.eye(p, dtype=bool)
    assert np.all(np.abs(C[off]) <= c.v_t2 * np.abs(rho[off]) ** 3 + 5 * se_ik[off])
    # the naive estimator from the frozen-draw features (cross_copy_covariance) agrees: Ĉ_ii − α ≈ v_t²
    naive = float(np.mean(np.diag(cross_copy_covariance(Phi, n, m)))) - c.alpha
    assert abs(naive - c.v_t2) < 0.1 * c.alpha


def test_gep_features_share_omega_and_average_to_g4():
    # (F5) Gaussian-equivalent frozen draws: E[U^(m)] = (G4), E[V^(m)] = (G6) (relative gap ∝ 1/√m);
    # the cross-copy covariance of the features is exactly GGᵀ/n (the v_t²Ω part shared, ζ per copy).
    W, X, ko = sample_inputs(jax.random.PRNGKey(4), d=6, psi_p=2, psi_n=2, sigma=SIGMA)
    gaps = []
    for m in (8, 128):
        fm = gep_noise_matrices(W, X, t=T, noise_samples=m, key=jax.random.PRNGKey(6), sigma=SIGMA, omega_key=ko,
                                block_rows=64)
        gaps.append(np.linalg.norm(fm.train.U - fm.U_avg) / np.linalg.norm(fm.U_avg))
    assert 2.5 < gaps[0] / gaps[1] < 6.4, gaps
    f = gep_factors(W, X, t=T, sigma=SIGMA, key=ko)
    n, (p, d), m = X.shape[0], W.shape, 400
    xi = standard_normal(jax.random.PRNGKey(8), (n, m, d))
    zeta = standard_normal(jax.random.PRNGKey(9), (n, m, p))
    C = cross_copy_covariance(gep_features(f, xi, zeta), n, m)
    G = np.asarray(f.G)
    # Ĉ − GGᵀ/n = noise cross terms of mean 0 and size ≈ (b_t²+s_t²)/√(n m²/…) ~ 1e-2 here
    rel = np.linalg.norm(C - G @ G.T / n) / np.linalg.norm(G @ G.T / n)
    assert rel < 0.05, rel


def test_bias_variance_split_adds_up(model):
    # (F6) over frozen noise draws, W and X fixed: floor + bias² + variance = mean test loss to rounding
    # (the test loss is quadratic in B); the variance falls ≈ 1/m.
    W, X, _, avg = model
    tau = np.array([1.0, 50.0, np.inf])
    out = {}
    for m in (2, 16):
        keys = [jax.random.PRNGKey(200 + r) for r in range(5)]
        out[m] = bv = noise_resampling("exact", W, X, t=T, noise_samples=m, keys=keys, tau=tau, ridge=0.01,
                                       sigma=SIGMA, averaged=avg)
        np.testing.assert_allclose(bv.floor + bv.bias2 + bv.variance, bv.mean_test_loss, rtol=0, atol=1e-12)
        assert np.all(bv.bias2 > -1e-13) and np.all(bv.variance > 0)
        assert avg.l_opt - 1e-12 <= bv.floor and bv.converged
    assert np.all(out[16].variance < out[2].variance / 3), (out[2].variance, out[16].variance)


def test_bias_variance_finite_R_correction_keeps_the_sum(model):
    W, X, _, avg = model
    keys = [jax.random.PRNGKey(300 + r) for r in range(3)]
    bv = noise_resampling("exact", W, X, t=T, noise_samples=2, keys=keys, tau=[5.0], sigma=SIGMA, averaged=avg)
    np.testing.assert_allclose(bv.bias2_unbiased + bv.variance_unbiased, bv.bias2 + bv.variance, rtol=0, atol=1e-14)
    np.testing.assert_allclose(bv.variance_unbiased, 1.5 * bv.variance, rtol=1e-14)


@pytest.mark.parametrize("m", [None, 3])
def test_bias_variance_over_training_sets_adds_up(model, m):
    # (F6) resampling X (and ξ) with W fixed: the population matrices do not depend on X, so the split is exact.
    W, X, _, avg = model
    keys = [jax.random.PRNGKey(400 + r) for r in range(3)]
    bv = data_resampling("exact", W, n=X.shape[0], t=T, noise_samples=m, keys=keys, tau=[2.0, np.inf], ridge=0.01,
                         sigma=SIGMA)
    np.testing.assert_allclose(bv.floor + bv.bias2 + bv.variance, bv.mean_test_loss, rtol=0, atol=1e-12)
    assert abs(bv.floor - population_floor(avg.U_pop, avg.V_pop)) < 1e-12  # same W: same population matrices
    assert np.all(bv.variance > 0) and np.all(bv.bias2 > -1e-13)


@pytest.mark.slow
def test_few_frozen_draws_delay_copying_in_the_samples():
    """Few frozen draws delay copying in the generated samples (exact features, d = 8, n = 16, p = 128, 3 seeds,
    the settings of fig_noise_generation --quick, computed by the library that figure draws).

    Measured (1000 samples): f_mem at τ = ∞ 0.000 (m = 1), 0.17 (m = 16), 0.27 (m = ∞); τ_mem at m = ∞ 0.4–0.7·10⁶.
    Here 400 samples per seed (Wilson half-width ≈ 0.04 at 0.27), hence the margins below."""
    from rfscore.finite.exact import MehlerRule
    from rfscore.generative.generation import GENERATION_MEHLER, ReadoffConfig, SamplingConfig, generation_experiment
    from rfscore.generative.score_model import ScoreModelConfig
    from rfscore.runtime.sweep import SweepRunner
    tau = [1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, math.inf]
    res = {}
    for m in (1, 16, None):
        res[m] = generation_experiment([2.0], d=8, psi_p=16.0, tau=tau, seeds=3, seed=0,
                                       sampling=SamplingConfig(t_min=1e-3, t_max=3.0, times=6, samples=400),
                                       score_model=ScoreModelConfig(noise_samples=m, ridge=0.0, mehler=MehlerRule(
                                           max_order=32, tol=GENERATION_MEHLER.tol)),
                                       readoff=ReadoffConfig(mem_threshold=0.1), runner=SweepRunner(workers=1))
    for m, r in res.items():
        tab = r.table
        assert np.max(tab["f_mem"][tab["tau"] <= 1e2]) <= 0.02, m  # early: no copies for any m
    at_inf = {m: np.mean(r.table["f_mem"][np.isinf(r.table["tau"])]) for m, r in res.items()}
    assert at_inf[1] <= 0.02 and at_inf[None] >= 0.15 and at_inf[16] <= at_inf[None] + 0.03, at_inf
    assert all(math.isnan(q["tau_mem_samples"]) for q in res[1].points)  # m = 1: never copies
    assert all(1e4 < q["tau_mem_samples"] < 1e7 for q in res[None].points)