"""Closed-form trajectories (D2)-(D4), (L3) against independent finite-size computations."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import solve_ivp

from rfscore.core.covariance import SigmaSpectrum
from rfscore.finite.dynamics import modes, readout, trajectory
from rfscore.core.errors import InputError
from rfscore.finite.eigensystem import Eigensystem, eigensystem
from rfscore.finite.exact import exact_matrices
from rfscore.finite.gep import gep_eigensystem, gep_matrices
from rfscore.finite.model_dispatch import sample_eigensystem
from rfscore.finite.inputs import sample_inputs
from rfscore.core.peaks import spectrum_peaks
from rfscore.finite.exact import MehlerRule

SIGMA = SigmaSpectrum((0.5, 1.5), (0.5, 0.5))


@pytest.fixture(scope="module")
def small():
    W, X, ko = sample_inputs(jax.random.PRNGKey(0), d=4, psi_p=3, psi_n=2, sigma=SIGMA)
    m = exact_matrices(W, X, t=0.2, sigma=SIGMA)
    return m, eigensystem(m, X.shape[0])


def _losses(m, B):
    """(L1)-(L2) evaluated directly from the matrices at readout B = A/√p."""
    d, dl = m.d, m.delta_t
    tr = 1 + dl * np.trace(B @ m.U @ B.T) / d + 2 * np.sqrt(dl) * np.trace(B @ m.V) / d
    te = 1 + dl * np.trace(B @ m.U_pop @ B.T) / d + 2 * np.sqrt(dl) * np.trace(B @ m.V_pop) / d
    return tr, te


@pytest.mark.parametrize("with_A0", [False, True])
def test_closed_form_matches_ode_integration(small, with_A0):
    # Integrate (D1) dB/dτ = -(2Δ/ψ_p)(B U + Vᵀ/√Δ) with an implicit solver (rtol 1e-10) and
    # evaluate (L1)-(L2) directly: independent of the eigendecomposition route.
    m, es = small
    U, V = np.asarray(m.U), np.asarray(m.V)
    d, p = m.d, m.p
    c = 2 * m.delta_t / (p / d)
    A0 = np.asarray(jax.random.normal(jax.random.PRNGKey(7), (d, p))) if with_A0 else np.zeros((d, p))
    rhs = lambda s, b: (-c * (b.reshape(d, p) @ U + V.T / np.sqrt(m.delta_t))).ravel()  # noqa: E731
    tau = np.geomspace(0.5, 2e4, 9)
    jac = -c * np.kron(np.eye(d), U)  # b is B flattened row-major: (bU)_{ij} = Σ_l b_il U_lj
    sol = solve_ivp(rhs, (0, tau[-1]), A0.ravel() / np.sqrt(p), t_eval=tau, method="Radau", rtol=1e-10,
                    atol=1e-12, jac=jac)
    ref = np.array([_losses(m, sol.y[:, i].reshape(d, p)) for i in range(tau.size)])
    tr = trajectory(es, tau, A0=A0 if with_A0 else None)
    np.testing.assert_allclose(tr.train_loss, ref[:, 0], rtol=1e-7)
    np.testing.assert_allclose(tr.test_loss, ref[:, 1], rtol=1e-7)
    np.testing.assert_allclose(tr.score_error, (ref[:, 1] - m.l_opt) / m.delta_t, rtol=1e-6)
    # and the readout (D2) itself
    np.testing.assert_allclose(np.asarray(readout(es, tau[4], A0 if with_A0 else None)) / np.sqrt(p),
                               sol.y[:, 4].reshape(d, p), rtol=1e-6, atol=1e-9)


def test_tau_inf_is_ridgeless_minimiser(small):
    m, es = small
    B = -np.linalg.solve(np.asarray(m.U), np.asarray(m.V)).T / np.sqrt(m.delta_t)  # B* = -VᵀU⁻¹/√Δ
    tr, te = _losses(m, B)
    out = trajectory(es, [1e3, np.inf])
    np.testing.assert_allclose([out.train_loss[1], out.test_loss[1]], [tr, te], rtol=1e-10)
    assert out.train_loss[1] < out.train_loss[0]


def test_tiny_eigenvalues_are_stable():
    # λ = 1e-20 must give (1 - e^{-2cλτ})/λ = 2cτ (no 0/0); compare with the analytic limit.
    d, k = 2, 3
    lam = np.array([1e-20, 1e-9, 1.0])  # float64 NumPy: the reference below is float64 too
    vt = np.array([[0.3, 0.1], [0.2, -0.4], [0.5, 0.5]])
    es = Eigensystem(eigvals=lam, Q=np.eye(k), vt=vt, vpop_t=vt, upop_t=np.eye(k), t=0.1, delta_t=0.2,
                     l_opt=0.9, p=k, d=d, n=2)
    tau = np.array([1.0, 10.0])
    c = 2 * 0.2 / (k / d)
    tr = trajectory(es, tau)
    vv = np.sum(np.asarray(vt) ** 2, axis=1)
    lam_ = np.asarray(lam)
    drop = vv[0] * 2 * c * tau + vv[1] * (-np.expm1(-2 * c * 1e-9 * tau)) / 1e-9 + vv[2] * (1 - np.exp(-2 * c * tau))
    np.testing.assert_allclose(tr.train_loss, 1 - drop / d, rtol=1e-13)
    f = -np.expm1(-c * lam_[None, :] * tau[:, None]) / lam_[None, :]
    np.testing.assert_allclose(tr.test_loss, 1 + (f**2 @ vv - 2 * f @ vv) / d, rtol=1e-13)
    assert np.all(np.isfinite(modes(es).timescale_spectrum(tau)))


def test_modes_reassemble_train_loss(small):
    m, es = small
    md = modes(es)
    tau = np.geomspace(1, 1e4, 5)
    # L_train = 1 - Σ weight_k (1 - e^{-2τ/timescale_k}) (per-mode decomposition of (D3))
    recon = 1 - (md.weight[None, :] * -np.expm1(-2 * tau[:, None] / md.timescale[None, :])).sum(axis=1)
    np.testing.assert_allclose(recon, trajectory(es, tau).train_loss, rtol=1e-12)
    np.testing.assert_allclose(md.timescale, (m.p / m.d) / (2 * m.delta_t * md.eigenvalue))


def test_exact_and_gep_approach_each_other_as_d_grows():
    # Same W, X for both models; the gap in score error, averaged over 3 seeds and a
    # τ grid, must shrink from d = 6 to d = 24 (Gaussian equivalence is a large-d statement).
    tau = np.geomspace(1, 1e3, 8)
    gaps = []
    for d in (6, 24):
        g = []
        for seed in range(3):
            W, X, ko = sample_inputs(jax.random.PRNGKey(seed), d=d, psi_p=2, psi_n=1)
            ex = trajectory(eigensystem(exact_matrices(W, X, t=0.1, mehler=MehlerRule(max_order=12), throw=False), X.shape[0]), tau)
            ge = trajectory(gep_eigensystem(W, X, t=0.1, key=ko), tau)
            g.append(np.mean(np.abs(ex.score_error - ge.score_error) / ge.score_error))
        gaps.append(np.mean(g))
    assert gaps[1] < 0.6 * gaps[0], gaps


def test_memorisation_after_generalisation_plateau():
    # ψ_p ≫ ψ_n ≫ 1: the train loss stays above L_opt through the generalisation
    # time τ_gen, memorisation (train < L_opt, test rising) comes much later.
    es = sample_eigensystem(jax.random.PRNGKey(0), d=8, psi_p=64, psi_n=8, t=0.01, model="gep")
    tau = np.geomspace(0.1, 1e8, 200)
    tr = trajectory(es, tau)
    tau_gen, tau_mem, _ = spectrum_peaks(tau, modes(es).timescale_spectrum(tau))
    assert tau_mem > 100 * tau_gen
    assert np.all(tr.train_loss[tau <= tau_gen] > tr.l_opt)
    i_best = int(np.argmin(tr.score_error))
    assert tau[i_best] > tau_gen
    final_gap = tr.l_opt - tr.train_loss[-1]
    assert final_gap > 0
    assert abs(tr.train_loss[i_best] - tr.l_opt) < 0.1 * final_gap  # the train loss is still ≈ L_opt at the test minimum
    assert tr.score_error[-1] > 10 * tr.score_error[i_best]  # the test loss rises: memorisation


def test_bad_tau_and_A0(small):
    m, es = small
    with pytest.raises(InputError) as e:
        trajectory(es, [1.0, -1.0])
    assert e.value.arg == "tau"
    with pytest.raises(InputError) as e:
        trajectory(es, [1.0], A0=np.zeros((3, 3)))
    assert e.value.arg == "A0"


def test_score_error_nonnegative_on_long_grids():
    """E_score ≥ 0 and L_test equals the loss of the explicit readout on a 300-point grid.

    Regression test: a jit-fused version of (D4) returned negative score errors at
    k = n + d = 180 modes and T ≥ 200 τ points (XLA:CPU miscompile, see dynamics.py).
    """
    from rfscore.finite.dynamics import readout
    from rfscore.finite.gep import gep_eigensystem, gep_matrices
    from rfscore.finite.inputs import sample_inputs

    d, psi_p, psi_n, t = 20, 64, 8, 0.01
    W, X, ko = sample_inputs(jax.random.PRNGKey(0), d=d, psi_p=psi_p, psi_n=psi_n)
    es = gep_eigensystem(W, X, t=t, key=ko)
    m = gep_matrices(W, X, t=t, key=ko)
    tau = np.logspace(0, 8, 300)
    tr = trajectory(es, tau)
    assert es.Q.shape[1] == 180 and np.all(tr.score_error >= 0)
    U_pop, V_pop = np.asarray(m.U_pop), np.asarray(m.V_pop)
    for i in (120, 180, 240):
        B = np.asarray(readout(es, tau[i])) / np.sqrt(es.p)
        test = 1 + m.delta_t / d * np.trace(B @ U_pop @ B.T) + 2 * np.sqrt(m.delta_t) / d * np.trace(B @ V_pop)
        np.testing.assert_allclose(tr.test_loss[i], test, rtol=1e-9)


# ----------------------------------------------------------------------------- null modes
def _flow_reference(m, tau):
    """B(τ) from A(0) = 0 on the actual matrices, without an eigendecomposition of U.

    B(τ) = -(c/√Δ) Vᵀ ∫_0^τ e^{-cUs} ds (D1), the integral being the top-right block of
    expm([[-cU, I], [0, 0]] τ): valid for a singular U, where (D2)'s U^{-1} is not.
    """
    from scipy.linalg import expm

    U, V, p = np.asarray(m.U), np.asarray(m.V), m.p
    c = 2 * m.delta_t * m.d / p
    blk = np.zeros((2 * p, 2 * p))
    blk[:p, :p], blk[:p, p:] = -c * U, np.eye(p)
    return [-c * V.T @ expm(blk * s)[:p, p:] / np.sqrt(m.delta_t) for s in tau]


@pytest.fixture(scope="module")
def linear_models():
    # The command-line example d = 4, ψ_p = 16, ψ_n = 2, t = 0.1: for σ(x) = x, s_t² = v_t² = 0 and U
    # has rank d = 4 of p = 64 (60 null modes); the thin path has rank(H) = 4 of n + d = 12.
    W, X, ko = sample_inputs(jax.random.PRNGKey(0), d=4, psi_p=16, psi_n=2)
    out = {}
    for model in ("gep", "exact"):
        m = (gep_matrices(W, X, t=0.1, activation="linear", key=ko) if model == "gep"
             else exact_matrices(W, X, t=0.1, activation="linear"))
        out[model] = m
    out["thin"] = gep_eigensystem(W, X, t=0.1, activation="linear", key=ko, thin=True)
    return out


@pytest.mark.parametrize("route", ["thin", "gep", "exact"])
def test_linear_activation_null_modes_exact(linear_models, route):
    import warnings

    m = linear_models["gep" if route == "thin" else route]
    assert np.linalg.matrix_rank(np.asarray(m.U)) == m.d  # the case at hand: U singular
    tau = np.array([1.0, 10.0, 100.0, 1e3, 1e4])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no 0/0, no √(negative): any RuntimeWarning fails
        es = linear_models["thin"] if route == "thin" else eigensystem(m, 8)
        tr = trajectory(es, np.append(tau, np.inf))
        md = modes(es)
    assert np.all(np.isfinite(tr.train_loss)) and np.all(np.isfinite(tr.test_loss))
    assert np.all(np.isfinite(md.weight)) and np.all(md.timescale > 0)
    ref = np.array([_losses(m, B) for B in _flow_reference(m, tau)])
    # expm of a 128×128 block and (D3)-(D4) each lose ~1e-13 relative; 1e-9 leaves room for
    # ‖U‖·τ up to 1e4 in the expm scaling-and-squaring.
    np.testing.assert_allclose(tr.train_loss[:-1], ref[:, 0], rtol=1e-9)
    np.testing.assert_allclose(tr.test_loss[:-1], ref[:, 1], rtol=1e-9)
    # τ = inf: the minimum-norm minimiser -Vᵀ U⁺/√Δ (B stays in range(U)), from the dense pseudo-inverse
    # with its default cut-off (rank 4 found, as asserted above).
    B_inf = -np.asarray(m.V).T @ np.linalg.pinv(np.asarray(m.U), rcond=1e-10, hermitian=True) / np.sqrt(m.delta_t)
    tr_inf, te_inf = _losses(m, B_inf)
    np.testing.assert_allclose([tr.train_loss[-1], tr.test_loss[-1]], [tr_inf, te_inf], rtol=1e-10)
    if route != "thin":
        np.testing.assert_allclose(readout(es, np.inf) / np.sqrt(m.p), B_inf, atol=1e-10 * np.abs(B_inf).max())


def test_linear_activation_gradient_descent_reaches_min_norm(linear_models):
    # An actual gradient-descent run on (L1) from B = 0 (no eigendecomposition): B_{k+1} = B_k - ηc(B_kU + Vᵀ/√Δ).
    # Its iterates stay in range(U) and converge to the minimum-norm minimiser for any η < η_max; the
    # slowest non-null mode contracts by (1 - ηcλ_min⁺) per step, so K steps leave e^{-K ηcλ_min⁺}.
    m = linear_models["exact"]
    U, V = np.asarray(m.U), np.asarray(m.V)
    c = 2 * m.delta_t * m.d / m.p
    lam = np.linalg.eigvalsh(U)
    lam_pos = lam[lam > 1e-10 * lam.max()]
    eta = 1.0 / (c * lam.max())
    steps = int(np.ceil(40 / (eta * c * lam_pos.min())))  # e^{-40}: converged to rounding
    assert steps < 200_000
    B = np.zeros((m.d, m.p))
    for _ in range(steps):
        B = B - eta * c * (B @ U + V.T / np.sqrt(m.delta_t))
    es = eigensystem(m, 8)
    out = trajectory(es, [np.inf])
    np.testing.assert_allclose([out.train_loss[0], out.test_loss[0]], _losses(m, B), rtol=1e-10)
    # and at a finite time: GD with step η·(small) against the flow, within the O(ηcλ_max) step error
    eta_s, tau_s = 1e-3 / (c * lam.max()), 20.0
    B = np.zeros((m.d, m.p))
    for _ in range(int(round(tau_s / eta_s))):
        B = B - eta_s * c * (B @ U + V.T / np.sqrt(m.delta_t))
    tr_gd = np.array(_losses(m, B))
    tr = trajectory(es, [int(round(tau_s / eta_s)) * eta_s])
    np.testing.assert_allclose([tr.train_loss[0], tr.test_loss[0]], tr_gd, rtol=5e-3)


def test_mode_factors_zero_eigenvalue_limit():
    from rfscore.finite.dynamics import mode_factors

    c, tau = 0.3, np.array([0.5, 7.0, np.inf])
    f, e = mode_factors(np.array([0.0, 1e-300, 2.0]), c, tau)
    np.testing.assert_array_equal(f[:, 0], [c * 0.5, c * 7.0, np.inf])  # lim_{λ→0} f = cτ
    np.testing.assert_allclose(f[:2, 1], c * tau[:2], rtol=1e-15)       # continuous at λ → 0
    np.testing.assert_array_equal(e[:, 0], [1.0, 1.0, 1.0])
    np.testing.assert_allclose(f[:, 2], [-np.expm1(-0.3) / 2, -np.expm1(-4.2) / 2, 0.5], rtol=1e-15)


@pytest.mark.parametrize("route", ["thin", "gep"])
def test_linear_activation_with_A0_keeps_null_part(linear_models, route):
    # With A(0) ≠ 0 the part of B(0) in null(U) never moves (e = 1, also at τ = inf); on the thin path it
    # is the omitted-mode part with rate s_t² = 0. Reference: B(τ) = B(0) e^{-cUτ} + flow part, by expm.
    from scipy.linalg import expm

    m = linear_models["gep"]
    U, p = np.asarray(m.U), m.p
    c = 2 * m.delta_t * m.d / p
    A0 = np.asarray(jax.random.normal(jax.random.PRNGKey(5), (m.d, p)))
    es = linear_models["thin"] if route == "thin" else eigensystem(m, 8)
    tau = np.array([1.0, 100.0, 1e4])
    ref = np.array([_losses(m, A0 / np.sqrt(p) @ expm(-c * U * s) + B)
                    for s, B in zip(tau, _flow_reference(m, tau))])
    tr = trajectory(es, np.append(tau, np.inf), A0=A0)
    np.testing.assert_allclose(tr.train_loss[:-1], ref[:, 0], rtol=1e-9)
    np.testing.assert_allclose(tr.test_loss[:-1], ref[:, 1], rtol=1e-9)
    lam, Qf = np.linalg.eigh(U)
    null = Qf[:, lam <= 1e-10 * lam.max()]
    B_inf = (A0 / np.sqrt(p)) @ null @ null.T - np.asarray(m.V).T @ np.linalg.pinv(U, rcond=1e-10, hermitian=True) \
        / np.sqrt(m.delta_t)
    np.testing.assert_allclose([tr.train_loss[-1], tr.test_loss[-1]], _losses(m, B_inf), rtol=1e-10)
