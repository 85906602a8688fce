"""(S1)-(S3) against finite-size eigenvalues of (G4) and of the exact (E1)-(E3) matrix. See theory/spectrum.md.

Comparisons use smoothed densities: at z = λ + iη with fixed η > 0 the finite-size
(1/p) Σ_k 1/(λ_k - z) must match the solver's q(z), which is ρ (atom included) convolved
with the Poisson kernel of width η.
"""
import jax
import numpy as np
import pytest

from rfscore.core.constants import ge_constants
from rfscore.core.covariance import SigmaSpectrum
from rfscore.core.errors import ConvergenceError, InputError
from rfscore.finite.exact import exact_matrices
from rfscore.finite.gep import gep_matrices
from rfscore.finite.inputs import sample_data, sample_weights, sizes
from rfscore.limit.spectrum import (atom_weight, empirical_stieltjes, limiting_structure, require_converged,
                              solve_spectrum, stieltjes)
from rfscore.limit.spectrum import ContinuationRule

PSI_P, PSI_N, T = 4.0, 1.5, 0.01
# z across the atom / small-λ bulk, the middle and the large-λ bulk; η of the order of the features.
Z = np.array([0.003 + 0.002j, 0.02 + 0.01j, 0.1 + 0.05j, 1.0 + 0.3j, 2.0 + 0.5j])
SPECTRA = ["1:1", "0.5:0.5,1.5:0.5", "1:0.5,2:0.5"]  # the last has Tr Σ/d = 1.5 ≠ 1


def _draw(d, spec, seed=1):
    sigma = SigmaSpectrum.parse(spec)
    p, n = sizes(d, PSI_P, PSI_N)
    kw, kx, ko = jax.random.split(jax.random.PRNGKey(seed), 3)
    S = sigma.matrix(d)
    W, X = sample_weights(kw, p, d), sample_data(kx, n, S)
    return sigma, S, W, X, ko


def _rel_err(a, b):
    return np.max(np.abs(a - b) / np.abs(b))


# Tolerances ∝ 1/d: finite-size corrections to (1/p) Tr (U - z)^{-1} at fixed Im z are O(1/d).
# Measured: (G4) |error|·d ≤ 1.14 over 3 seeds × 3 spectra at d = 60, ≤ 1 at d = 120; the exact matrix
# ≤ 6 % at d = 60 and ≤ 3.3 % at d = 120 (C ≈ 3.6, largest near the atom that it smears).
@pytest.mark.parametrize("spec", SPECTRA)
def test_gep_smoothed_density(spec):
    d = 60
    sigma, S, W, X, ko = _draw(d, spec)
    ev = np.linalg.eigvalsh(np.asarray(gep_matrices(W, X, t=T, sigma=S, key=ko).U))
    th = stieltjes(Z, psi_p=PSI_P, psi_n=PSI_N, t=T, sigma=sigma, throw=True)
    assert _rel_err(empirical_stieltjes(ev, Z), th.q) < 2.5 / d


@pytest.mark.parametrize("spec", SPECTRA)
def test_exact_smoothed_density(spec):
    d = 60
    sigma, S, W, X, _ = _draw(d, spec)
    m = exact_matrices(W, X, t=T, sigma=S)
    assert m.truncation_bound < 1e-10
    ev = np.linalg.eigvalsh(np.asarray(m.U))
    th = stieltjes(Z, psi_p=PSI_P, psi_n=PSI_N, t=T, sigma=sigma, throw=True)
    assert _rel_err(empirical_stieltjes(ev, Z), th.q) < 5.0 / d


def test_wrong_sigma_x_is_detected():
    # Negative control for the σ_x warning of theory/gaussian_equivalence.md §1: constants built with Tr Σ/d in place of
    # σ_x = √(Tr Σ/d) must fail the same (G4) comparison that the right ones pass.
    d = 60
    sigma, S, W, X, ko = _draw(d, "1:0.5,2:0.5")
    ev = np.linalg.eigvalsh(np.asarray(gep_matrices(W, X, t=T, sigma=S, key=ko).U))
    wrong = ge_constants(T, "tanh", SigmaSpectrum((sigma.mean**2,), (1.0,)))  # σ_x → Tr Σ/d = 1.5
    th = stieltjes(Z, psi_p=PSI_P, psi_n=PSI_N, constants=wrong, sigma=sigma, throw=True)
    assert _rel_err(empirical_stieltjes(ev, Z), th.q) > 2 * 2.5 / d


def test_v_weighted_and_r_transforms():
    # s(z) = (1/p) Tr[R W Wᵀ/d] (so (1/d) Tr Vᵀ R V = b² ψ_p s) and r(z) = (1/p) Tr[R W Σ Wᵀ/d].
    # These weight the d directions of W rather than all p eigenvectors, so they fluctuate more:
    # measured |error|·d between 0.8 and 4.8 over 3 seeds × 3 spectra at d = 60; tolerance 8/d.
    d = 60
    sigma, S, W, X, ko = _draw(d, "0.5:0.5,1.5:0.5")
    m = gep_matrices(W, X, t=T, sigma=S, key=ko)
    U, V, Wn = np.asarray(m.U), np.asarray(m.V), np.asarray(W)
    p = U.shape[0]
    z = np.array([0.05 + 0.03j, 1.0 + 0.3j])
    th = stieltjes(z, psi_p=PSI_P, psi_n=PSI_N, t=T, sigma=sigma, throw=True)
    for k, zk in enumerate(z):
        R = np.linalg.inv(U - zk * np.eye(p))
        v_fs = np.trace(V.T @ R @ V) / d
        r_fs = np.trace(R @ Wn @ S @ Wn.T) / (p * d)
        assert abs(v_fs - th.v_stieltjes[k]) / abs(th.v_stieltjes[k]) < 8.0 / d
        assert abs(r_fs - th.r[k]) / abs(th.r[k]) < 8.0 / d


@pytest.mark.parametrize("spec", ["1:1", "0.5:0.5,1.5:0.5"])
def test_mass_and_branch(spec):
    # ∫ρ + atom = 1 on a log grid covering the support; density ≥ 0 (the Im q > 0 branch).
    lam = np.geomspace(1e-4, 60.0, 3000)
    res = solve_spectrum(lam, psi_p=16.0, psi_n=4.0, t=T, sigma=SigmaSpectrum.parse(spec), throw=True)
    assert abs(res.mass - 1.0) < 1e-3  # trapezoid error of a 3000-point grid at square-root edges
    assert np.all(res.density >= -1e-12)
    # the solution satisfies (S1), (S2) and the original (S3) of theory/spectrum.md §2, written here
    # independently of the solver (which iterates on (S3'), the form divided by q with the atom split off)
    c, sig = res.constants, SigmaSpectrum.parse(spec)
    lam_k, w_k = np.asarray(sig.eigenvalues), np.asarray(sig.weights)
    q, r, s_, z = res.q, res.r, res.s, res.z
    D = 1 + 16.0 / 4.0 * (c.alpha * r + c.v_t2 * q)
    shat, rhat = c.b_t**2 * 16.0 + 1 / q, 16.0 * c.alpha / D
    inv = 1 / (shat[:, None] + lam_k[None, :] * rhat[:, None])
    s1 = np.abs(s_ - inv @ w_k) / np.abs(s_)
    s2 = np.abs(r - inv @ (w_k * lam_k)) / np.abs(r)
    terms = np.stack([16.0 * (c.s_t2 - z), 16.0 * c.v_t2 / D, (1 - 16.0) / q, -s_ / q**2])
    s3 = np.abs(terms.sum(0)) / np.abs(terms).sum(0)
    assert max(s1.max(), s2.max(), s3.max()) < 1e-8, (s1.max(), s2.max(), s3.max())


def test_atom_weight_matches_rank():
    # (G4): U - s_t² I = H Hᵀ has rank n + d, so exactly p - n - d eigenvalues equal s_t².
    d = 60
    sigma, S, W, X, ko = _draw(d, "1:1")
    m = gep_matrices(W, X, t=T, sigma=S, key=ko)
    ev = np.linalg.eigvalsh(np.asarray(m.U))
    c = ge_constants(T)
    p = ev.size
    count = np.sum(np.abs(ev - c.s_t2) < 1e-10)
    assert count / p == pytest.approx(atom_weight(PSI_P, PSI_N, c.v_t2), abs=1e-12)
    res = solve_spectrum([0.5], psi_p=PSI_P, psi_n=PSI_N, t=T)
    assert res.atom_location == c.s_t2 and res.atom_weight == pytest.approx(count / p)


@pytest.mark.parametrize("spec", ["1:1", "0.5:0.5,1.5:0.5"])
def test_limiting_structure_against_solver(spec):
    # ψ_p ≫ ψ_n ≫ 1: masses 1/ψ_p (small cluster), (ψ_n - 1)/ψ_p (MP bulk), 1/ψ_p (large bulk);
    # mean locations of the small cluster (excess over s_t²) and of the large bulk. Corrections
    # are O(1/ψ_n, √(ψ_n/ψ_p)); measured at ψ_p = 256, ψ_n = 16: small cluster -2.8 % (isotropic),
    # -4.6 % (two-delta); large-bulk mean +0.45 %; masses to 1e-5.
    psi_p, psi_n = 256.0, 16.0
    sigma = SigmaSpectrum.parse(spec)
    ls = limiting_structure(psi_p=psi_p, psi_n=psi_n, t=T, sigma=sigma)
    lam = np.geomspace(ls.atom_location * 1.0001, 10 * ls.large_scale, 6000)
    res = solve_spectrum(lam, psi_p=psi_p, psi_n=psi_n, t=T, sigma=sigma, throw=True)
    trap = lambda mask, f=1.0: np.trapezoid(np.where(mask, f * res.density, 0.0), lam)
    small = lam < 0.8 * ls.mp_lower
    large = lam > 1.2 * ls.mp_upper
    mp = ~small & ~large
    assert trap(mp) == pytest.approx((psi_n - 1) / psi_p, rel=0.01)
    assert trap(small) == pytest.approx(1 / psi_p, rel=0.01)
    assert trap(large) == pytest.approx(1 / psi_p, rel=0.01)
    assert trap(small, lam) * psi_p - ls.atom_location == pytest.approx(ls.small_cluster, rel=0.06)
    assert trap(large, lam) * psi_p == pytest.approx(ls.large_scale, rel=0.02)
    assert ls.atom_weight == pytest.approx(1 - (1 + psi_n) / psi_p)


def test_non_convergence_is_reported():
    # A tolerance no float64 residual can meet: every point must be flagged, not returned as valid.
    lam = np.linspace(0.01, 1.0, 5)
    res = solve_spectrum(lam, psi_p=PSI_P, psi_n=PSI_N, t=T, continuation=ContinuationRule(tol=1e-300), throw=False)
    assert not res.success and not res.converged.any() and "NOT converged" in res.message and not res.status.converged
    with pytest.raises(ConvergenceError, match="psi_p=4.*psi_n=1.5.*t=0.01"):
        require_converged(res)
    with pytest.raises(ConvergenceError):
        solve_spectrum(lam, psi_p=PSI_P, psi_n=PSI_N, t=T, continuation=ContinuationRule(tol=1e-300), throw=True)


@pytest.mark.parametrize("kw,arg", [({"psi_p": 0.0}, "psi_p"), ({"psi_n": -1.0}, "psi_n"), ({"eta": 0.0}, "eta"),
                                    ({"lam": [np.nan]}, "lam"), ({"t": None}, "t")])
def test_bad_input(kw, arg):
    args = {"lam": [0.1], "psi_p": PSI_P, "psi_n": PSI_N, "t": T, **kw}
    lam = args.pop("lam")
    with pytest.raises(InputError) as err:
        solve_spectrum(lam, **args)
    assert err.value.arg == arg
    with pytest.raises(InputError):
        stieltjes([0.1 - 0.1j], psi_p=PSI_P, psi_n=PSI_N, t=T)
