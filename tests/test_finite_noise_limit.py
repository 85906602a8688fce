"""d → ∞ theory for m frozen noise draws and ridge λ, (F7)-(F12) of theory/finite_noise_ridge.md,
against the eigendecomposition of the actual finite-size matrices (built here, independently of the
library's finite-size path) and against the m = ∞ contour integrals of theory/asymptotic.md."""
import numpy as np
import pytest

from rfscore.core.constants import ge_constants, rate
from rfscore.core.errors import InputError
from rfscore.limit import finite_noise as fn
from rfscore.limit.asymptotic import asymptotic_curves
from rfscore.limit.contour_losses import ContourRule

T = 0.1


def finite_size(psi_p, psi_n, m, d, lam, seed, tau):
    """Seeded GEP features with m frozen copies per point (F5): (train, test) (len(tau), 2), exact flow (F3)."""
    c = ge_constants(T, "tanh")
    r = np.random.default_rng(seed)
    p, n = int(round(psi_p * d)), int(round(psi_n * d))
    W, X = r.standard_normal((p, d)), r.standard_normal((n, d))
    mu = np.exp(-T) * c.a_t * X @ W.T / np.sqrt(d) + np.sqrt(c.v_t2) * r.standard_normal((n, p))
    K = W @ W.T / d
    Upop = (c.alpha + c.b_t**2) * K + (c.v_t2 + c.s_t2) * np.eye(p)
    V0 = c.b_t * W / np.sqrt(d)
    if m is None:
        U, V, xi2 = mu.T @ mu / n + c.b_t**2 * K + c.s_t2 * np.eye(p), V0, 1.0
    else:
        N = n * m
        Xi = r.standard_normal((N, d))
        Phi = np.repeat(mu, m, axis=0) + c.b_t * Xi @ W.T / np.sqrt(d) + np.sqrt(c.s_t2) * r.standard_normal((N, p))
        U, V, xi2 = Phi.T @ Phi / N, Phi.T @ Xi / N, np.sum(Xi**2) / (N * d)
    D, cr = c.delta_t, rate(c.delta_t, psi_p)
    ev, Q = np.linalg.eigh(U)
    QV = Q.T @ V
    out = []
    for tt in tau:
        if np.isinf(tt):  # λ = 0: the minimum-norm minimiser, the null modes of U (N < p) carry nothing
            f = np.where(ev + lam > 1e-10 * ev[-1], 1 / np.maximum(ev + lam, 1e-300), 0.0)
        else:
            f = -np.expm1(-cr * tt * (ev + lam)) / (ev + lam)
        B = -(Q @ (f[:, None] * QV)).T / np.sqrt(D)
        test = 1 + D / d * np.sum((B @ Upop) * B) + 2 * np.sqrt(D) / d * np.sum(B * V0.T)
        train = xi2 + D / d * np.sum((B @ U) * B) + 2 * np.sqrt(D) / d * np.sum(B * V.T)
        out.append((train, test))
    return np.array(out)


def test_two_point_is_the_derivative_of_the_sandwich():
    c = ge_constants(T, "tanh")
    mod = fn._model(8.0, 2.0, 4, c, c.alpha, 300)
    D = np.array([1e-2])
    P = fn._point(mod, D, 1e-13)
    F = mod.upop
    two = fn._two_point(mod, P, P, F)[0, 0]
    h = 1e-6
    q = [fn._point(mod, D[0] + e * F[None, :], 1e-14).Q1[0] for e in (h, -h)]  # shift λ + εU_pop on the nodes
    der = -(q[0] - q[1]) / (2 * h)
    assert abs(two - der) < 1e-7 * abs(two), (two, der)


def test_m_inf_closed_form_matches_the_contour():
    for pp in (2.0, 8.0, 32.0):
        a = fn.finite_noise_curves([np.inf], psi_p=pp, psi_n=2.0, t=T, noise_samples=None, ridge=1e-3)
        b = asymptotic_curves([np.inf], psi_p=pp, psi_n=2.0, t=T, ridge=1e-3)
        big = fn.finite_noise_curves([np.inf], psi_p=pp, psi_n=2.0, t=T, noise_samples=10**6, ridge=1e-3)
        assert abs(a.test_loss[0] - b.test_loss[0]) < 1e-9 and abs(a.train_loss[0] - b.train_loss[0]) < 1e-9
        assert abs(big.test_loss[0] - a.test_loss[0]) < 1e-4 and abs(big.train_loss[0] - a.train_loss[0]) < 1e-4
    # m = ∞ and λ = 0 is today's asymptotic path itself
    tau = np.array([10.0, 1e3, np.inf])
    a = fn.finite_noise_curves(tau, psi_p=8.0, psi_n=2.0, t=T, noise_samples="inf", ridge=0.0)
    b = asymptotic_curves(tau, psi_p=8.0, psi_n=2.0, t=T)
    assert np.max(np.abs(a.test_loss - b.test_loss)) < 1e-10


# the everyday tier keeps one finite m (m = 1, λ > 0); the other two cases run in the full suite
@pytest.mark.parametrize("psi_p,psi_n,m,lam", [pytest.param(8.0, 2.0, 4, 1e-3, marks=pytest.mark.slow),
                                               (4.0, 2.0, 1, 1e-2),
                                               pytest.param(8.0, 2.0, None, 1e-2, marks=pytest.mark.slow)])
def test_limit_matches_finite_size_along_tau(psi_p, psi_n, m, lam):
    """d = 80, 3 seeds: seed s.d. of the test loss ≤ 0.016, finite-size gaps of (F8)-(F10) O(1/d)
    measured ≤ 1 %: 3 % relative is the tolerance. τ = 10² … ∞ covers both regimes."""
    tau = np.array([1e2, 1e4, np.inf])
    r = fn.finite_noise_curves(tau, psi_p=psi_p, psi_n=psi_n, t=T, noise_samples=m, ridge=lam)
    assert r.converged and r.error < 1e-3
    fin = np.mean([finite_size(psi_p, psi_n, m, 80, lam, s, tau) for s in range(3)], axis=0)
    assert np.all(np.abs(r.test_loss / fin[:, 1] - 1) < 0.03), (r.test_loss, fin[:, 1])
    assert np.all(np.abs(r.train_loss - fin[:, 0]) < 0.03 * np.abs(1 - fin[:, 0]) + 0.01), (r.train_loss, fin[:, 0])


@pytest.mark.slow
def test_interpolation_peak_sits_at_m_psi_n():
    """t = 0.1, ψ_n = 2, λ = 10⁻³, m = 4: the τ = ∞ test loss against ψ_p peaks within ±25 % of mψ_n = 8
    and agrees with the seed-averaged finite size at d = 40 within 10 % away from the peak."""
    grid = np.geomspace(1, 64, 25)
    te = np.array([fn.finite_noise_curves([np.inf], psi_p=x, psi_n=2.0, t=T, noise_samples=4, ridge=1e-3).test_loss[0]
                   for x in grid])
    peak = grid[np.argmax(te)]
    assert 6.0 <= peak <= 10.0, peak
    for x in (2.0, 32.0):
        th = fn.finite_noise_curves([np.inf], psi_p=x, psi_n=2.0, t=T, noise_samples=4, ridge=1e-3).test_loss[0]
        fin = np.mean([finite_size(x, 2.0, 4, 40, 1e-3, s, [np.inf])[0, 1] for s in range(3)])
        assert abs(th / fin - 1) < 0.10, (x, th, fin)


@pytest.mark.parametrize("m,lam,arg", [(0, 1e-3, "noise_samples"), (2.5, 1e-3, "noise_samples"), ("two", 1e-3, "noise_samples"),
                                       (4, -1.0, "ridge"), (4, float("nan"), "ridge")])
def test_bad_input(m, lam, arg):
    with pytest.raises(InputError) as e:
        fn.finite_noise_curves([np.inf], psi_p=8.0, psi_n=2.0, t=T, noise_samples=m, ridge=lam)
    assert e.value.arg == arg


def test_anisotropic_sigma_is_refused_for_finite_m():
    from rfscore.core.covariance import SigmaSpectrum
    with pytest.raises(InputError) as e:
        fn.finite_noise_curves([np.inf], psi_p=8.0, psi_n=2.0, t=T, noise_samples=4, ridge=1e-3,
                               sigma=SigmaSpectrum.parse("0.5:0.5,1.5:0.5"))
    assert e.value.arg == "sigma_spectrum"


@pytest.mark.slow
def test_noise_ridge_figure_quick(tmp_path):
    """The reproduce figure writes its PNG and data (the numbers it draws are tested in
    tests/test_noise_ridge_analysis.py, where rfscore.analysis.noise_ridge computes them)."""
    import csv
    from rfscore.figures import noise_ridge
    e = noise_ridge.make(tmp_path, quick=True)
    for f in e["files"]:
        assert (tmp_path / f.split("/")[-1]).exists()
    with open(tmp_path / "fig_noise_ridge.csv") as fh:
        panels = {r["panel"] for r in csv.DictReader(line for line in fh if not line.startswith("#"))}
    assert panels == {"a", "a_finite", "b", "c", "c_optimal", "d", "h"}


def empirical_finite_size(psi_p, psi_n, m, d, lam, seed, tau=(np.inf,)):
    """The empirical test loss (F4) along the ridge flow (F3) of seeded frozen-draw GEP features, (len(tau),):
    the noise-averaged loss with U_∞ = (1/n)Σ μμᵀ + C, V₀ at B(τ) (τ = ∞: B = −V̂ᵀ(Û + λ)⁻¹/√Δ)."""
    c = ge_constants(T, "tanh")
    r = np.random.default_rng(seed)
    p, n = int(round(psi_p * d)), int(round(psi_n * d))
    N = n * m
    W, X = r.standard_normal((p, d)), r.standard_normal((n, d))
    mu = np.exp(-T) * c.a_t * X @ W.T / np.sqrt(d) + np.sqrt(c.v_t2) * r.standard_normal((n, p))
    Xi = r.standard_normal((N, d))
    Phi = np.repeat(mu, m, axis=0) + c.b_t * Xi @ W.T / np.sqrt(d) + np.sqrt(c.s_t2) * r.standard_normal((N, p))
    U, V = Phi.T @ Phi / N, Phi.T @ Xi / N
    K = W @ W.T / d
    Uinf, V0 = mu.T @ mu / n + c.b_t**2 * K + c.s_t2 * np.eye(p), c.b_t * W / np.sqrt(d)
    D, cr = c.delta_t, rate(c.delta_t, psi_p)
    ev, Q = np.linalg.eigh(U)
    QV = Q.T @ V
    out = []
    for tt in tau:
        if np.isinf(tt):  # λ = 0: the minimum-norm minimiser (null modes of U carry nothing)
            f = np.where(ev + lam > 1e-10 * ev[-1], 1 / np.maximum(ev + lam, 1e-300), 0.0)
        else:
            f = -np.expm1(-cr * tt * (ev + lam)) / (ev + lam)
        B = -(Q @ (f[:, None] * QV)).T / np.sqrt(D)
        out.append(1 + D / d * np.sum((B @ Uinf) * B) + 2 * np.sqrt(D) / d * np.sum(B * V0.T))
    return np.array(out)


@pytest.mark.slow
@pytest.mark.parametrize("psi_p,psi_n,m,lam", [(8.0, 2.0, 4, 1e-3), (16.0, 2.0, 2, 1e-2)])
def test_empirical_test_loss_at_infinity_matches_finite_size(psi_p, psi_n, m, lam):
    """(F13) against d = 80, 4 seeds: measured gaps 0.8 % and 0.2 % (seed s.d. 0.5-0.7 %): 3 % tolerance;
    it lies between the train loss and the test loss (memorisation: closer to the train loss)."""
    r = fn.finite_noise_curves([np.inf], psi_p=psi_p, psi_n=psi_n, t=T, noise_samples=m, ridge=lam)
    fin = np.mean([empirical_finite_size(psi_p, psi_n, m, 80, lam, s)[0] for s in range(4)])
    assert abs(r.empirical_test_loss[0] / fin - 1) < 0.03, (r.empirical_test_loss, fin)
    assert r.train_loss[0] < r.empirical_test_loss[0] < r.test_loss[0]


def test_unconverged_solves_are_flagged_or_raised():
    """(F8) held to an unreachable tolerance, and a contour too coarse to integrate: throw=True raises
    ConvergenceError naming the parameters, throw=False returns converged False with the message."""
    from rfscore.core.errors import ConvergenceError
    with pytest.raises(ConvergenceError, match="psi_p=8"):
        fn.finite_noise_curves([np.inf], psi_p=8.0, psi_n=2.0, t=T, noise_samples=4, ridge=1e-3, contour=ContourRule(panels_per_decade=3.0, measure_nodes=400, tol=1e-30))
    r = fn.finite_noise_curves([np.inf], psi_p=8.0, psi_n=2.0, t=T, noise_samples=4, ridge=1e-3, contour=ContourRule(panels_per_decade=3.0, measure_nodes=400, tol=1e-30),
                               throw=False)
    assert not r.converged and "noise_samples=4" in r.diagnostics["message"]
    coarse = fn.finite_noise_curves([1e3], psi_p=8.0, psi_n=2.0, t=T, noise_samples=4, ridge=1e-3, contour=ContourRule(measure_nodes=400, tol=1e-11, nodes_per_panel=2, panels_per_decade=0.3), throw=False)
    assert not coarse.converged and coarse.error > 1e-3


def resampled_split(psi_p, psi_n, m, d, lam, seed, tau, draws=4):
    """(F6) at finite size: `noise_resampling` of the GEP features over ``draws`` frozen noise draws, W and X of
    ``seed`` fixed; the unbiased bias² and variance (T,)."""
    import jax
    from rfscore.core.covariance import ISOTROPIC
    from rfscore.finite.inputs import sample_inputs
    from rfscore.finite.frozen_noise import noise_resampling
    key = jax.random.PRNGKey(100 + seed)
    W, X, ko = sample_inputs(key, d=d, psi_p=psi_p, psi_n=psi_n, sigma=ISOTROPIC)
    bv = noise_resampling("gep", W, X, t=0.1, noise_samples=m, tau=tau, ridge=lam, omega_key=ko,
                          keys=[jax.random.fold_in(key, r + 1) for r in range(draws)])
    return np.asarray(bv.bias2_unbiased), np.asarray(bv.variance_unbiased)


@pytest.mark.slow
@pytest.mark.parametrize("psi_p,psi_n,m,lam", [(8.0, 2.0, 4, 1e-3), (4.0, 2.0, 1, 1e-2)])
def test_bias_variance_split_matches_noise_resampling(psi_p, psi_n, m, lam):
    # (F14) against (F6) over 4 noise draws at d = 60, 3 seeds of (W, X). Measured gaps at d = 60: ≤ 1.3 % of
    # bias² and variance at (8, 2, 4) and ≤ 0.5 % of the test loss at (4, 2, 1) (whose bias² is small); seed
    # standard errors 0.01–0.3 % of the test loss. Tolerance: 3 s.e. + 2 % of the test loss (an O(1/d) gap).
    tau = [1e2, np.inf]
    r = fn.finite_noise_curves(tau, psi_p=psi_p, psi_n=psi_n, t=0.1, noise_samples=m, ridge=lam)
    assert r.converged
    assert np.allclose(r.l_min + r.bias2 + r.variance, r.test_loss, rtol=0, atol=1e-12)
    assert np.all(r.bias2 > 0) and np.all(r.variance > 0)
    runs = [resampled_split(psi_p, psi_n, m, 60, lam, s, tau) for s in range(3)]
    for k, th in ((0, r.bias2), (1, r.variance)):
        v = np.array([run[k] for run in runs])
        se = v.std(axis=0, ddof=1) / np.sqrt(len(runs))
        assert np.all(np.abs(v.mean(axis=0) - th) < 3 * se + 0.02 * r.test_loss), (k, v.mean(axis=0), th)


def test_noise_variance_vanishes_as_m_grows():
    # m → ∞: the frozen draws average out, the variance falls like 1/m and the bias² tends to the m = ∞ test
    # loss above L_min (an independent path: the closed form (F11) at m = ∞)
    big = fn.finite_noise_curves([np.inf], psi_p=8.0, psi_n=2.0, t=0.1, noise_samples=10**5, ridge=1e-2)
    inf = fn.finite_noise_curves([np.inf], psi_p=8.0, psi_n=2.0, t=0.1, noise_samples=None, ridge=1e-2)
    mid = fn.finite_noise_curves([np.inf], psi_p=8.0, psi_n=2.0, t=0.1, noise_samples=10**3, ridge=1e-2)
    assert inf.variance[0] == 0.0 and big.variance[0] < 1e-3
    assert 50 < mid.variance[0] / big.variance[0] < 200
    assert abs(big.bias2[0] - inf.bias2[0]) < 1e-3


@pytest.mark.slow
@pytest.mark.parametrize("psi_p,psi_n,m", [(8.0, 1.0, 4), (4.0, 2.0, 4), (16.0, 2.0, 1)])
def test_ridgeless_finite_m_matches_finite_size(psi_p, psi_n, m):
    # λ = 0: along τ the contour crosses at −1/(cτ_max); τ = ∞ is the λ → 0+ limit, i.e. the minimum-norm
    # minimiser (N = n·m = 4d < p = 8d in the first case: U^(m) has zero modes and the train loss reaches 0).
    # Measured gaps to d = 80 (3 seeds): ≤ 1.6 % of the test loss, seed s.d. 0.2–2.8 %. Tolerance 3 s.d. + 4 %.
    tau = [1e2, 1e4, np.inf]
    r = fn.finite_noise_curves(tau, psi_p=psi_p, psi_n=psi_n, t=T, noise_samples=m, ridge=0.0)
    assert r.converged and r.diagnostics["ridgeless_extrapolation"]["error"] < 1e-4
    v = np.array([finite_size(psi_p, psi_n, m, 80, 0.0, s, tau) for s in range(3)])
    mean, sd = v.mean(axis=0), v.std(axis=0, ddof=1)
    assert np.all(np.abs(r.test_loss - mean[:, 1]) < 3 * sd[:, 1] + 0.04 * mean[:, 1]), (r.test_loss, mean[:, 1])
    assert np.all(np.abs(r.train_loss - mean[:, 0]) < 3 * sd[:, 0] + 0.04 * mean[:, 0] + 1e-3)
    if psi_n * m < psi_p:  # interpolation of the n·m frozen points
        assert abs(r.train_loss[-1]) < 1e-6
    # the empirical test loss (F13) with (F15) at λ = 0 too, τ = ∞ included
    emp = np.array([empirical_finite_size(psi_p, psi_n, m, 80, 0.0, s, tau) for s in range(3)])
    assert np.all(np.abs(r.empirical_test_loss - emp.mean(axis=0)) < 3 * emp.std(axis=0, ddof=1)
                  + 0.04 * emp.mean(axis=0)), (r.empirical_test_loss, emp.mean(axis=0))
    # continuity: λ = 10⁻⁶ is within 10⁻³ of λ = 0
    small = fn.finite_noise_curves(tau, psi_p=psi_p, psi_n=psi_n, t=T, noise_samples=m, ridge=1e-6)
    assert np.allclose(small.test_loss, r.test_loss, atol=1e-3)


def sandwich_with_shared_part(mod, lam: float, eps: float, tol: float, max_iter: int = 20000):
    """(1/d)tr V̂ᵀ(U^(m) + ε M̂ + λ)⁻¹V̂ (F13): class-1 rows carry the pair (y, χ = √m μ), a rank-2 term
    y yᵀ + ε χχᵀ, with a 2×2 matrix δ₁; class 2 as in (F8). Returns (value, residual)."""
    mM = mod.S[0] - mod.S[1]
    K = {(0, 0): mod.S[0], (0, 1): mM, (1, 1): mM}
    wk = mod.wk
    d11 = d12 = d22 = d2 = 0.0

    def weights(d11, d12, d22):
        # W = E (I + Δ E)⁻¹, E = diag(1, ε): closed form of the 2×2 inverse
        a, b, c_, e = 1 + d11, d12 * eps, d12, 1 + d22 * eps
        det = a * e - b * c_
        return e / det, -b / det, eps * a / det  # W11, W12 (= W21), W22

    res = np.inf
    for _ in range(max_iter):
        W11, W12, W22 = weights(d11, d12, d22)
        A = mod.f[0] * (W11 * K[0, 0] + 2 * W12 * K[0, 1] + W22 * K[1, 1]) + mod.f[1] * mod.S[1] / (1 + d2) + lam
        new = [mod.ratio * np.sum(wk * K[key] / A) for key in ((0, 0), (0, 1), (1, 1))]
        new2 = mod.ratio * np.sum(wk * mod.S[1] / A)
        res = max(abs(new[0] - d11), abs(new[1] - d12), abs(new[2] - d22), abs(new2 - d2)) / (1 + abs(new[0]))
        d11, d12, d22, d2 = (0.5 * d11 + 0.5 * new[0], 0.5 * d12 + 0.5 * new[1], 0.5 * d22 + 0.5 * new[2],
                             0.5 * d2 + 0.5 * new2)
        if res < tol:
            break
    W11, _, _ = weights(d11, d12, d22)
    W11 = float(W11)
    A = mod.f[0] * (W11 * K[0, 0] + 2 * weights(d11, d12, d22)[1] * K[0, 1] + weights(d11, d12, d22)[2] * K[1, 1]) \
        + mod.f[1] * mod.S[1] / (1 + d2) + lam
    w = mod.f[0] * W11 + mod.f[1] / (1 + d2)
    q = mod.psi_p * np.sum(wk * mod.b2k / A)
    return float(1 - w + w * w * q), float(res)


@pytest.mark.parametrize("psi_p,psi_n,m,lam", [(8.0, 2.0, 4, 1e-3), (4.0, 2.0, 1, 1e-2), (8.0, 1.0, 16, 1e-1)])
def test_shared_part_kernel_is_the_rank2_derivative(psi_p, psi_n, m, lam):
    """(F15) at D₁ = D₂ = λ against an independent derivation: −∂_ε of (1/d)tr V̂ᵀ(U^(m) + εM̂ + λ)⁻¹V̂ from the
    rank-2 rows of (F13), by central differences (ε = ±10⁻⁵; measured agreement 10⁻⁹)."""
    c = ge_constants(T, "tanh")
    mod = fn._model(psi_p, psi_n, m, c, c.alpha, 400)
    P = fn._point(mod, np.array([lam]), 1e-12)
    h = 1e-5
    up, _ = sandwich_with_shared_part(mod, lam, h, 1e-13)
    dn, _ = sandwich_with_shared_part(mod, lam, -h, 1e-13)
    assert abs(fn._two_point_shared(mod, P, P)[0, 0] + (up - dn) / (2 * h)) < 1e-7


@pytest.mark.slow
@pytest.mark.parametrize("psi_p,psi_n,m,lam", [(8.0, 2.0, 4, 1e-3), (16.0, 2.0, 2, 0.0)])
def test_empirical_test_loss_along_tau_matches_finite_size(psi_p, psi_n, m, lam):
    """(F13) with the kernel (F15) on the contour of (F12), against d = 80 (3 seeds); between the train and the
    test loss at every τ. Tolerance: 3 seed s.d. + 3 % (measured gaps in the docstring of the theory table)."""
    tau = [1e1, 1e2, 1e3, 1e4, np.inf]
    r = fn.finite_noise_curves(tau, psi_p=psi_p, psi_n=psi_n, t=T, noise_samples=m, ridge=lam)
    assert r.converged and np.all(np.isfinite(r.empirical_test_loss))
    v = np.array([empirical_finite_size(psi_p, psi_n, m, 80, lam, s, tau) for s in range(3)])
    mean, sd = v.mean(axis=0), v.std(axis=0, ddof=1)
    assert np.all(np.abs(r.empirical_test_loss - mean) < 3 * sd + 0.03 * mean), (r.empirical_test_loss, mean)
    assert np.all(r.train_loss <= r.empirical_test_loss + 1e-9) and np.all(r.empirical_test_loss <= r.test_loss)


def test_ridgeless_limit_at_the_interpolation_point_is_flagged():
    # λ = 0 at N = n·m = p (ψ_p = mψ_n = 8): the τ = ∞ limit diverges; the λ → 0+ extrapolation error says so
    # (measured ≈ 980 Δ) and the result is not converged, or raises naming the parameters.
    r = fn.finite_noise_curves([np.inf], psi_p=8.0, psi_n=2.0, t=T, noise_samples=4, ridge=0.0, throw=False)
    assert not r.converged and r.diagnostics["ridgeless_extrapolation"]["error"] > 1.0
    assert "ridgeless extrapolation" in r.diagnostics["message"]
    from rfscore.core.errors import ConvergenceError
    with pytest.raises(ConvergenceError, match="psi_p=8"):
        fn.finite_noise_curves([np.inf], psi_p=8.0, psi_n=2.0, t=T, noise_samples=4, ridge=0.0)
