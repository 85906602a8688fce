"""rfscore.analysis.noise_ridge: the interpolation peak at ψ_p = mψ_n, the tuned-ridge envelope and the split
over the noise at τ = ∞ (theory/finite_noise_ridge.md (F6), (F11), (F14)), the numbers of fig_noise_ridge."""
import numpy as np
import pytest

from rfscore.analysis.noise_ridge import (interpolation_peak, noise_split_finite, noise_split_limit, ridge_envelope,
                                          limit_test_loss)
from rfscore.limit.finite_noise import finite_noise_curves

T, PSI_N, RIDGE = 0.1, 2.0, 1e-3
GRID = np.geomspace(1.0, 128.0, 10)  # the figure's quick grid


def test_limit_test_loss_is_the_limit_curve():
    ref = finite_noise_curves([np.inf], psi_p=8.0, psi_n=PSI_N, t=T, noise_samples=4, ridge=RIDGE).test_loss[0]
    assert limit_test_loss(8.0, PSI_N, t=T, noise_samples=4, ridge=RIDGE) == ref


@pytest.mark.parametrize("m", [1, 4, 16])
def test_interpolation_peak_sits_at_m_psi_n(m):
    """The τ = ∞ test loss peaks at p = nm: on the coarse grid (ratio 1.7 per step) within one step of mψ_n,
    at ψ_n = 2 and, on the same p/n grid, at ψ_n = 1."""
    pk = interpolation_peak(GRID, PSI_N, t=T, noise_samples=m, ridge=RIDGE)
    assert pk.status.converged and 2.0 * m / 1.8 <= pk.peak <= 2.0 * m * 1.8, pk.peak
    pk1 = interpolation_peak(GRID / PSI_N, 1.0, t=T, noise_samples=m, ridge=RIDGE)
    assert m / 1.8 <= pk1.peak <= m * 1.8, pk1.peak


def test_a_peak_at_the_grid_end_is_flagged():
    pk = interpolation_peak([8.0, 16.0, 32.0], PSI_N, t=T, noise_samples=1, ridge=RIDGE)  # the peak (ψ_p = 2) is below
    assert pk.censored and not pk.status.converged and "widen" in pk.status.message


def test_tuned_ridge_removes_the_peak():
    """The envelope over λ falls monotonically with ψ_p and λ* grows with ψ_p (measured λ* ≈ 0.23 ψ_p); at
    every ψ_p the tuned loss is at most the loss at λ = 10⁻³ and at λ = 10."""
    grid = GRID[::2]
    env = ridge_envelope(grid, PSI_N, t=T, noise_samples=4)
    assert env.status.converged and env.monotone
    assert np.all(np.diff(env.ridge) > 0), env.ridge
    for lam in (1e-3, 10.0):
        fixed = [limit_test_loss(x, PSI_N, t=T, noise_samples=4, ridge=lam) for x in grid]
        assert np.all(env.test_loss <= np.array(fixed) * (1 + 1e-9))


@pytest.mark.slow
def test_finite_size_split_follows_the_limit():
    """(F6) at d = 8 (3 draws of W, X, 4 resamplings each) against (F14), m = 1: the variance peaks at
    ψ_p = mψ_n = 2 in both; the finite-size values within a factor 2 of the limit (d = 8, 12 resamplings)."""
    grid = np.array([1.0, 2.0, 8.0])
    lim = noise_split_limit(grid, PSI_N, t=T, noise_samples=1, ridge=RIDGE)
    fin = noise_split_finite(grid, PSI_N, t=T, noise_samples=1, ridge=RIDGE, d=8, seeds=range(3), copies=4)
    assert np.argmax(lim["variance"]) == 1 and np.argmax(fin["variance"]) == 1
    np.testing.assert_allclose(fin["variance"], lim["variance"], rtol=1.0)
