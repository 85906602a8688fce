"""Block-Lanczos trajectories against the full eigendecomposition of the same matrices."""
import jax
import numpy as np
import pytest

from rfscore.core.covariance import SigmaSpectrum
from rfscore.finite.dynamics import trajectory
from rfscore.core.errors import ConvergenceError, InputError
from rfscore.finite.dynamics import readouts
from rfscore.finite.krylov import certified_lower_bound, krylov_readouts, krylov_trajectory
from rfscore.finite.eigensystem import eigensystem
from rfscore.finite.exact import exact_matrices
from rfscore.finite.gep import gep_matrices
from rfscore.finite.inputs import sample_inputs
from rfscore.finite.exact import MehlerRule
from rfscore.finite.krylov import KrylovRule

SIGMA = SigmaSpectrum((0.5, 2.0), (0.5, 0.5))
TAU = np.concatenate([np.geomspace(0.1, 1e8, 120), [np.inf]])  # through memorisation to the minimiser


@pytest.fixture(scope="module")
def exact():
    # p = 1024 ≫ n + d = 160: U has a wide, non-trivial spectrum (no invariant subspace), so
    # the Krylov space must grow to most of p before the memorisation modes (τ → ∞) converge.
    W, X, _ = sample_inputs(jax.random.PRNGKey(3), d=32, psi_p=32, psi_n=4, sigma=SIGMA)
    m = exact_matrices(W, X, t=0.2, sigma=SIGMA)
    return m, eigensystem(m, X.shape[0]), X.shape[0]


@pytest.fixture(scope="module")
def small():
    """A quarter of ``exact`` (p = 256, n + d = 80): enough for the certificate and the refusals, cheap for the
    everyday tier."""
    W, X, _ = sample_inputs(jax.random.PRNGKey(3), d=16, psi_p=16, psi_n=4, sigma=SIGMA)
    m = exact_matrices(W, X, t=0.2, sigma=SIGMA)
    return m, eigensystem(m, X.shape[0]), X.shape[0]


def _gap(a, b, dl):
    return max(np.max(np.abs(a.train_loss - b.train_loss)), np.max(np.abs(a.test_loss - b.test_loss))) / dl


def _gap_tau(a, b, dl):
    """True error per τ, units of Δ (the quantity the bound (K3) bounds)."""
    return np.maximum(np.abs(a.train_loss - b.train_loss), np.abs(a.test_loss - b.test_loss)) / dl


ROUND = 1e-12  # rounding of the dense reference path itself, units of Δ (measured: ~1e-14)


@pytest.mark.slow
def test_krylov_matches_eigendecomposition(exact):
    m, es, n = exact
    ref = trajectory(es, TAU)
    kt = krylov_trajectory(m, n, TAU, krylov=KrylovRule(tol=1e-5, check_every=32))
    assert kt.converged and kt.error <= 1e-5 and kt.krylov_dim < m.p  # converged before the space is exhausted
    # the a-posteriori bound holds at every τ, τ = inf included
    err = _gap_tau(kt, ref, m.delta_t)
    assert np.all(err <= kt.error_tau + ROUND), (err, kt.error_tau)
    assert kt.lambda_lower > 0 and kt.lambda_lower <= es.eigvals[0]  # the certificate is a true lower bound
    np.testing.assert_allclose(kt.score_error, ref.score_error, rtol=1e-6)
    # the check has power: a small Krylov space is visibly wrong, and its bound says so
    rough = krylov_trajectory(m, n, TAU, krylov=KrylovRule(tol=1e-5, max_dim=256, check_every=32), throw=False)
    assert not rough.converged and rough.error > 1e-5 and rough.krylov_dim == 256
    gap = _gap_tau(rough, ref, m.delta_t)
    assert np.max(gap) > 1e-4 and np.all(gap <= rough.error_tau + ROUND)


@pytest.mark.slow
@pytest.mark.parametrize("max_dim", [320, 640])
def test_bound_at_tau_inf_holds_and_is_not_vacuous(exact, max_dim):
    # τ = inf: the memorisation end point, where the small eigenvalues that set τ_mem converge last.
    # (K1) bounds the readout error by ‖R‖/λ_lo; measured within a factor 6 of the true error here,
    # asserted within 20. The loss bound (K3) is first order in that error (Cauchy–Schwarz on
    # Tr(EᵀG_pop)): it must hold, and is asserted within 1e7 of the true loss error (measured ≤ 3e6).
    m, es, n = exact
    tau = np.array([1e2, 1e5, np.inf])
    kr = krylov_readouts(m, tau, krylov=KrylovRule(tol=1e-14, max_dim=max_dim, check_every=64), throw=False)
    assert not kr.converged and kr.krylov_dim == max_dim
    ref = readouts(es.eigvals, es.Q, es.vt, delta_t=es.delta_t, psi_p=es.psi_p, tau=tau)  # (T, d, p)
    true = np.sqrt(np.sum((kr.B - ref) ** 2, axis=(1, 2)) / np.sum(kr.B**2, axis=(1, 2)))
    assert np.all(true <= kr.error_tau * (1 + 1e-6) + 1e-13), (true, kr.error_tau)
    assert kr.error_tau[-1] <= 20 * true[-1], (true, kr.error_tau)
    kt = krylov_trajectory(m, n, tau, krylov=KrylovRule(tol=1e-14, max_dim=max_dim, check_every=64), throw=False)
    gap = _gap_tau(kt, trajectory(es, tau), m.delta_t)
    assert np.all(gap <= kt.error_tau + ROUND)
    assert kt.error_tau[-1] <= 1e7 * max(gap[-1], ROUND), (gap, kt.error_tau)


def test_certified_lower_bound(small):
    m, es, _ = small
    lam_min = float(es.eigvals[0])
    got = certified_lower_bound(m.U, 0.5 * lam_min)
    assert 0.49 * lam_min <= got <= 0.5 * lam_min  # certified, and only the rounding slack below μ
    assert certified_lower_bound(m.U, 1.01 * lam_min) == 0.0  # U - μI not positive definite: no certificate


@pytest.mark.slow
def test_krylov_with_initial_readout(exact):
    m, es, n = exact
    A0 = np.asarray(jax.random.normal(jax.random.PRNGKey(7), (m.d, m.p))) * 0.3
    ref = trajectory(es, TAU, A0=A0)
    kt = krylov_trajectory(m, n, TAU, A0=A0, krylov=KrylovRule(tol=1e-6))
    assert kt.converged and kt.error <= 1e-6
    assert np.all(_gap_tau(kt, ref, m.delta_t) <= kt.error_tau + ROUND)


def test_krylov_finds_the_invariant_subspace_of_the_gep_model():
    # (G4): U = GGᵀ/n + b²WWᵀ/d + s²I and V ∝ W, so K(U, V) ⊂ range([G, W]) has dimension
    # ≤ n + d: block Lanczos must stop there with the exact answer (residual 0).
    W, X, key = sample_inputs(jax.random.PRNGKey(4), d=8, psi_p=40, psi_n=3)
    m = gep_matrices(W, X, t=0.1, key=key)
    n = X.shape[0]
    kt = krylov_trajectory(m, n, TAU, krylov=KrylovRule(tol=1e-8))
    assert kt.krylov_dim <= n + m.d and kt.converged and kt.error <= 1e-8
    assert _gap(kt, trajectory(eigensystem(m, n), TAU), m.delta_t) < 1e-10


def test_krylov_reports_non_convergence_and_bad_input(small):
    m, _, n = small
    with pytest.raises(ConvergenceError, match=r"error bound .* > tol .*max_dim = 48, p = 256, d = 16"):
        krylov_trajectory(m, n, TAU, krylov=KrylovRule(tol=1e-12, max_dim=48))
    flagged = krylov_trajectory(m, n, TAU, krylov=KrylovRule(tol=1e-12, max_dim=48), throw=False)
    assert not flagged.converged and flagged.error > 1e-12 and flagged.krylov_dim == 48
    with pytest.raises(ConvergenceError, match=r"readouts did not converge.*max_dim = 48"):
        krylov_readouts(m, TAU, krylov=KrylovRule(tol=1e-12, max_dim=48))
    with pytest.raises(InputError, match="A0"):
        krylov_trajectory(m, n, TAU, A0=np.zeros((m.d, m.p + 1)))
    with pytest.raises(InputError, match="tol"):
        krylov_trajectory(m, n, TAU, krylov=KrylovRule(tol=0.0))
    with pytest.raises(InputError, match="tau"):
        krylov_trajectory(m, n, [1.0, -1.0])


@pytest.mark.slow
@pytest.mark.parametrize("lam", [1e-3, 1e-1])
def test_krylov_with_ridge_matches_the_eigendecomposition(exact, lam):
    # The flow on U + λI (F3): same Krylov space, Ritz values and certificate shifted by λ; the train loss is
    # the unpenalised (L1). Against the dense path with the same ridge, with and without A(0); the bound holds
    # at every τ, and a ridge speeds convergence (λ bounds every mode's rate from below).
    m, es, n = exact
    ref = trajectory(es, TAU, ridge=lam)
    kt = krylov_trajectory(m, n, TAU, krylov=KrylovRule(tol=1e-6, check_every=32), ridge=lam)
    assert kt.converged and kt.error <= 1e-6
    assert np.all(_gap_tau(kt, ref, m.delta_t) <= kt.error_tau + ROUND)
    plain = krylov_trajectory(m, n, TAU, krylov=KrylovRule(tol=1e-6, check_every=32))
    assert kt.krylov_dim <= plain.krylov_dim
    assert not np.allclose(kt.test_loss, plain.test_loss, rtol=1e-3)  # the ridge changes the answer
    A0 = np.asarray(jax.random.normal(jax.random.PRNGKey(7), (m.d, m.p))) * 0.3
    ki = krylov_trajectory(m, n, TAU, A0=A0, krylov=KrylovRule(tol=1e-6), ridge=lam)
    assert ki.converged
    assert np.all(_gap_tau(ki, trajectory(es, TAU, A0=A0, ridge=lam), m.delta_t) <= ki.error_tau + ROUND)
    # the bound is not vacuous: a small space is visibly wrong and says so
    rough = krylov_trajectory(m, n, TAU, krylov=KrylovRule(tol=1e-9, max_dim=96, check_every=32), ridge=lam, throw=False)
    gap = _gap_tau(rough, ref, m.delta_t)
    assert np.all(gap <= rough.error_tau + ROUND)


def test_one_auto_rule_between_dense_and_block_lanczos():
    """choose_solver holds the only 'auto' rule; the score model of generation follows it at p = krylov_above
    (it used p > krylov_above while the command line used p >= 4096: they disagreed at p = 4096)."""
    from rfscore.core.errors import InputError
    from rfscore.finite.krylov import KRYLOV_ABOVE, choose_solver
    from rfscore.generative.score_model import ScoreModelConfig, fit_score_model
    assert KRYLOV_ABOVE == 4096
    assert choose_solver(p=4095) == "eigh" and choose_solver(p=4096) == "krylov"
    assert choose_solver(p=10**5, model="gep") == "eigh" and choose_solver("eigh", p=10**5) == "eigh"
    assert choose_solver("krylov", p=2) == "krylov"
    with pytest.raises(InputError, match="solver"):
        choose_solver("dense", p=2)
    W, X, _ = sample_inputs(jax.random.PRNGKey(0), d=4, psi_p=4, psi_n=1)  # p = 16
    rule = MehlerRule(max_order=64, tol=1e-4)
    at = fit_score_model(W, X, [0.1, 0.2], [10.0], score_model=ScoreModelConfig(krylov_above=16, mehler=rule))
    below = fit_score_model(W, X, [0.1, 0.2], [10.0], score_model=ScoreModelConfig(krylov_above=17, mehler=rule))
    assert {dg.solver for dg in at.diagnostics} == {"krylov"} and {dg.solver for dg in below.diagnostics} == {"eigh"}
