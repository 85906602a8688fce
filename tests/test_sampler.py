"""The reverse-time sampler (Y3) and the sample metrics (Y7)-(Y9) (theory/generation.md).

The sampler is validated with the two reference scores: with the population score
-Σ_t^{-1} y the generated law is Gaussian and its covariance follows from the discrete
recursion of the integrator (recomputed here from its own formulas, not from
`rfscore.generative.sampler`), to sampling error; the empirical score copies the training set.
"""
import math

import jax
import numpy as np
import pytest
from scipy import integrate, stats

from rfscore.generative.metrics import (
    frechet_distance,
    frechet_floor,
    frechet_gaussians,
    girsanov_estimate,
    kl_prior,
    memorisation,
    nearest_ratio,
    wilson_interval,
)
from rfscore.generative.sampler import sample, schedule
from rfscore.generative.score_model import cell_edges, empirical_score, population_score, time_grid


def _sigma(d=3):
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    return Q @ np.diag(np.linspace(0.4, 2.5, d)) @ Q.T


def _recursion(sigma, times, steps, integrator, method):
    """Covariance of y_{t_min} from C = I by hand: the step of each integrator written out."""
    d = sigma.shape[0]
    edges = cell_edges(times)
    eye = np.eye(d)
    C = eye.copy()
    for k in range(len(times) - 1, -1, -1):
        t = times[k]
        P = np.linalg.inv(np.exp(-2 * t) * sigma + (1 - np.exp(-2 * t)) * eye)
        h = (edges[k + 1] - edges[k]) / steps
        g = 2.0 if method == "sde" else 1.0
        if integrator == "euler":  # y + h (y + g s) + √(2h) z   (Euler–Maruyama)
            M, noise = eye + h * (eye - g * P), (2 * h if method == "sde" else 0.0)
        else:  # e^h y + g (e^h - 1) s + √(e^{2h} - 1) z   (variation of constants)
            M, noise = np.exp(h) * eye - g * (np.exp(h) - 1) * P, (np.exp(2 * h) - 1 if method == "sde" else 0.0)
        for _ in range(steps):
            C = M @ C @ M.T + noise * eye
    return C


@pytest.mark.slow
@pytest.mark.parametrize("integrator,method", [("exponential", "sde"), ("euler", "sde"), ("exponential", "ode"),
                                               ("euler", "ode")])
def test_population_score_covariance_matches_discrete_recursion(integrator, method):
    S = _sigma(3)
    times = time_grid(1e-2, 2.0, 6)
    N = 20000
    y = sample(population_score(S, times), jax.random.PRNGKey(3), times=times, num_samples=N, d=3, steps_per_time=3,
               method=method, integrator=integrator)
    C = _recursion(S, times, 3, integrator, method)
    # sampling error of a Gaussian sample covariance: Var Ĉ_ij = (C_ii C_jj + C_ij²)/N; 5 standard errors
    se = np.sqrt((np.outer(np.diag(C), np.diag(C)) + C**2) / N)
    assert np.all(np.abs(np.cov(y, rowvar=False) - C) < 5 * se)
    assert np.all(np.abs(y.mean(0)) < 5 * np.sqrt(np.diag(C) / N))
    # and the recursion is not trivially close to the target: the test can tell integrators apart
    if integrator == "euler" and method == "sde":
        other = _recursion(S, times, 3, "exponential", "sde")
        assert np.max(np.abs(other - C) / se) > 5


def test_empirical_score_copies_training_set():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((16, 8))
    times = time_grid(1e-3, 3.0, 20)
    y = sample(empirical_score(X, times), jax.random.PRNGKey(0), times=times, num_samples=500, d=8)
    assert memorisation(y, X).f_mem >= 0.9


def test_sampler_is_deterministic_in_its_key():
    S = np.eye(2)
    times = time_grid(1e-2, 1.0, 3)
    sc = population_score(S, times)
    a = sample(sc, jax.random.PRNGKey(5), times=times, num_samples=10, d=2)
    b = sample(sc, jax.random.PRNGKey(5), times=times, num_samples=10, d=2)
    c = sample(sc, jax.random.PRNGKey(6), times=times, num_samples=10, d=2)
    assert np.array_equal(a, b) and not np.allclose(a, c)


def test_schedule_tiles_the_time_interval():
    times = time_grid(1e-3, 3.0, 7)
    sch = schedule(times, 4)
    assert sch.k.size == 28 and sch.k[0] == 6 and sch.k[-1] == 0
    assert np.isclose(np.sum(sch.h), 3.0 - 1e-3, rtol=1e-13)
    edges = cell_edges(times)
    assert np.all((edges[sch.k] <= times[sch.k]) & (times[sch.k] <= edges[sch.k + 1]))


# ----------------------------------------------------------------------------- metrics
def test_wilson_interval_matches_scipy_and_closed_form():
    for k, n in [(0, 2000), (37, 2000), (5, 10), (10, 10)]:
        ref = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
        assert np.allclose(wilson_interval(k, n), (ref.low, ref.high), atol=1e-12)
    z = stats.norm.ppf(0.975)  # k = 0: [0, z²/(N + z²)]
    assert np.isclose(wilson_interval(0, 2000)[1], z**2 / (2000 + z**2), rtol=1e-12)


def test_memorisation_on_constructed_samples():
    X = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    near = X[[0, 1, 2, 0]] + np.array([[0.1, 0.0], [0.0, -0.2], [0.3, 0.1], [-0.05, 0.05]])  # ratios ≪ 1/3
    mid = np.array([[5.0, 0.0], [0.0, 5.0], [5.0, 5.0]])  # equidistant from two points: ratio 1
    m = memorisation(np.vstack([near, mid]), X)
    assert m.copies == 4 and m.num == 7 and np.isclose(m.f_mem, 4 / 7)
    assert np.allclose(nearest_ratio(mid, X), 1.0)
    assert np.isclose(nearest_ratio(np.array([[1.0, 0.0]]), X)[0], 1.0 / 9.0)


def test_frechet_gaussians_closed_forms():
    # 1-d: (μ1-μ2)² + (σ1-σ2)²; commuting: Σ (√a - √b)²; general: Tr(C1 + C2 - 2 sqrtm(C1 C2))
    assert np.isclose(frechet_gaussians([1.0], [[4.0]], [0.0], [[1.0]]), 1.0 + 1.0)
    a, b = np.array([1.0, 2.0, 0.5]), np.array([3.0, 1.0, 0.5])
    assert np.isclose(frechet_gaussians(np.zeros(3), np.diag(a), np.zeros(3), np.diag(b)),
                      np.sum((np.sqrt(a) - np.sqrt(b)) ** 2))
    from scipy.linalg import sqrtm
    C1, C2 = _sigma(4), _sigma(4) @ _sigma(4) + np.eye(4)
    ref = np.trace(C1 + C2 - 2 * np.real(sqrtm(C1 @ C2)))
    assert np.isclose(frechet_gaussians(np.zeros(4), C1, np.zeros(4), C2), ref, rtol=1e-9)


def test_frechet_floor_matches_leading_order():
    # Σ = I: E‖μ̂‖² = d/N and Tr(Ĉ + I - 2Ĉ^{1/2}) ≈ Tr(E²)/4 with E[Tr E²] = d(d+1)/N, so the floor is
    # d/N + d(d+1)/(4N) up to O(N^-2); 32 draws give its mean to ≈ 5 %
    d, N = 4, 2000
    mean, _ = frechet_floor(jax.random.PRNGKey(0), np.eye(d), N, draws=32)
    assert abs(mean - (d / N + d * (d + 1) / (4 * N))) < 0.15 * mean
    assert frechet_distance(np.random.default_rng(0).standard_normal((N, d)) * 2.0, np.eye(d)) > 3.5


def test_kl_prior_closed_form_and_estimate_pieces():
    S = _sigma(3)
    T = 0.7
    ST = np.exp(-2 * T) * S + (1 - np.exp(-2 * T)) * np.eye(3)
    ref = 0.5 * (np.trace(ST) - 3 - np.linalg.slogdet(ST)[1])
    assert np.isclose(kl_prior(S, T), ref, rtol=1e-12)
    # d = 1 by quadrature of p log(p/q)
    s2 = np.exp(-2 * T) * 3.0 + 1 - np.exp(-2 * T)
    p = lambda x: stats.norm.pdf(x, scale=np.sqrt(s2))
    num = integrate.quad(lambda x: p(x) * (stats.norm.logpdf(x, scale=np.sqrt(s2)) - stats.norm.logpdf(x)),
                         -40, 40, epsabs=1e-13)[0]
    assert np.isclose(kl_prior(np.array([[3.0]]), T), num, rtol=1e-8)
    times = time_grid(1e-3, 3.0, 5)
    # zero score error: only the prior term; unit score error: plus the length of [t_min, T]
    assert np.isclose(girsanov_estimate(times, np.zeros(5), S), kl_prior(S, 3.0) / 3)
    assert np.isclose(girsanov_estimate(times, np.ones(5), S) - girsanov_estimate(times, np.zeros(5), S), 3.0 - 1e-3)
    assert math.isclose(kl_prior(np.eye(3), 2.0), 0.0, abs_tol=1e-15)
