"""Block-Lanczos trajectories against the full eigendecomposition of the same matrices."""
import jax
import numpy as np
import pytest

from rfscore.core.covariance import SigmaSpectrum
from rfscore.finite.dynamics import trajectory
from rfscore.core.errors import ConvergenceError, InputError
from rfscore.finite.krylov import krylov_trajectory
from rfscore.finite.eigensystem import eigensystem
from rfscore.finite.exact import exact_matrices
from rfscore.finite.gep import gep_matrices
from rfscore.finite.draws import sample_inputs

SIGMA = SigmaSpectrum((0.5, 2.0), (0.5, 0.5))
TAU = np.concatenate([np.geomspace(0.1, 1e8, 120), [np.inf]])  # through memorisation to the minimiser


@pytest.fixture(scope="module")
def exact():
    # p = 1024 ≫ n + d = 160: U has a wide, non-trivial spectrum (no invariant subspace), so
    # the Krylov space must grow to most of p before the memorisation modes (τ → ∞) converge.
    W, X, _ = sample_inputs(jax.random.PRNGKey(3), d=32, psi_p=32, psi_n=4, sigma=SIGMA)
    m = exact_matrices(W, X, t=0.2, sigma=SIGMA)
    return m, eigensystem(m, X.shape[0]), X.shape[0]


def _gap(a, b, dl):
    return max(np.max(np.abs(a.train_loss - b.train_loss)), np.max(np.abs(a.test_loss - b.test_loss))) / dl


def test_krylov_matches_eigendecomposition(exact):
    m, es, n = exact
    ref = trajectory(es, TAU)
    kt = krylov_trajectory(m, n, TAU, tol=1e-9, check_every=32)
    assert kt.converged and kt.krylov_dim < m.p  # converged before the space is exhausted
    # The stopping rule compares successive Krylov dimensions; convergence is faster than
    # geometric, so the returned curve's error is below the last change (and far below tol).
    err = _gap(kt, ref, m.delta_t)
    assert err <= max(kt.residual, 1e-11) and err < 1e-9, (err, kt.history)
    np.testing.assert_allclose(kt.score_error, ref.score_error, rtol=1e-8)
    # the check has power: a small Krylov space is visibly wrong, and its residual says so
    rough = krylov_trajectory(m, n, TAU, tol=1e3, check_every=16)
    assert rough.krylov_dim < kt.krylov_dim and _gap(rough, ref, m.delta_t) > 1e-4


def test_krylov_with_initial_readout(exact):
    m, es, n = exact
    A0 = np.asarray(jax.random.normal(jax.random.PRNGKey(7), (m.d, m.p))) * 0.3
    ref = trajectory(es, TAU, A0=A0)
    kt = krylov_trajectory(m, n, TAU, A0=A0, tol=1e-9)
    assert _gap(kt, ref, m.delta_t) < 1e-9


def test_krylov_finds_the_invariant_subspace_of_the_gep_model():
    # (G4): U = GGᵀ/n + b²WWᵀ/d + s²I and V ∝ W, so K(U, V) ⊂ range([G, W]) has dimension
    # ≤ n + d: block Lanczos must stop there with the exact answer (residual 0).
    W, X, key = sample_inputs(jax.random.PRNGKey(4), d=8, psi_p=40, psi_n=3)
    m = gep_matrices(W, X, t=0.1, key=key)
    n = X.shape[0]
    kt = krylov_trajectory(m, n, TAU, tol=1e-12)
    assert kt.krylov_dim <= n + m.d and kt.residual == 0.0
    assert _gap(kt, trajectory(eigensystem(m, n), TAU), m.delta_t) < 1e-10


def test_krylov_reports_non_convergence_and_bad_input(exact):
    m, _, n = exact
    with pytest.raises(ConvergenceError, match=r"max_dim.*p = 1024"):
        krylov_trajectory(m, n, TAU, tol=1e-12, max_dim=48)
    with pytest.raises(InputError, match="A0"):
        krylov_trajectory(m, n, TAU, A0=np.zeros((m.d, m.p + 1)))
    with pytest.raises(InputError, match="tol"):
        krylov_trajectory(m, n, TAU, tol=0.0)
    with pytest.raises(InputError, match="tau"):
        krylov_trajectory(m, n, [1.0, -1.0])
