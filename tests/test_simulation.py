"""Simulated training (rfscore.finite.simulation) against the closed form (D2)-(D4)."""
import jax
import numpy as np
import optax
import pytest

from rfscore.finite.dynamics import trajectory
from rfscore.core.errors import ConvergenceError, InputError
from rfscore.finite.eigensystem import eigensystem
from rfscore.finite.gep import gep_eigensystem
from rfscore.finite.inputs import sample_inputs
from rfscore.finite.simulation import record_steps, sampled_gradient, simulate, training_problem
from rfscore.finite.exact import MehlerRule
from rfscore.finite.simulation import SimulationOptions


@pytest.fixture(scope="module")
def exact_problem():
    W, X, ko = sample_inputs(jax.random.PRNGKey(1), d=6, psi_p=4, psi_n=2)
    prob = training_problem(W, X, t=0.1, model="exact", mehler=MehlerRule(max_order=16), throw=False)  # a deliberately short series
    return prob, eigensystem(prob.matrices, prob.n)


def _rel_dev(res, tr):
    """max |L_sim - L_closed| over the run, in units of the total change of the closed-form loss."""
    out = []
    for k in ("train_loss", "test_loss"):
        a, b = getattr(res, k), getattr(tr, k)
        out.append(np.max(np.abs(a - b)) / (np.max(b) - np.min(b) + abs(1 - b[0])))
    return max(out)


def test_deterministic_gd_matches_flow_to_order_eta(exact_problem):
    # GD on the noise-averaged loss: per mode (1 - x)^k vs e^{-kx}, x = ηcλ ≤ x_max, differ by
    # at most x_max/(2e)·(relative), so the losses agree to O(x_max); here x_max = 0.02.
    prob, es = exact_problem
    lr = 0.01 * prob.max_stable_lr()  # x_max = η c λ_max = 0.02
    res = simulate(prob, lr=lr, steps=3000, fresh_noise=None, options=SimulationOptions(record=10))
    dev = _rel_dev(res, trajectory(es, res.tau))
    assert dev < 0.02 and dev > 1e-6  # O(x_max), and not identically equal (it is a different computation)


def test_sampled_noise_gd_tracks_closed_form(exact_problem):
    # Fresh noise each step: the sampled gradient is unbiased and linear in B, so E[B_k] is
    # exactly deterministic GD and the loss excess is (Δ/d) Tr(U Cov B_k) = O(η). Hence the
    # deviation from the flow must (i) be small and (ii) shrink when η is divided by 4
    # (≈ ×1/4 for the systematic part, ×1/2 for the fluctuations).
    prob, es = exact_problem
    lr1 = 0.02 * prob.max_stable_lr()
    devs = []
    for lr, steps in ((lr1, 1000), (lr1 / 4, 4000)):
        # one run's deviation is itself random (a max over record points of a noisy path):
        # average it over 6 noise keys so that the comparison of the two η is not a coin flip
        runs = [simulate(prob, lr=lr, steps=steps, fresh_noise=1, options=SimulationOptions(record=8), key=jax.random.PRNGKey(k),
                         progress=False) for k in range(6)]
        devs.append(np.mean([_rel_dev(r, trajectory(es, r.tau)) for r in runs]))
    assert devs[0] < 0.1, devs  # measured ≈ 0.05-0.08 at η = 0.02 η_max, m = 1
    assert devs[1] < 0.75 * devs[0], devs


def test_gep_simulation_uses_the_same_model():
    # GEP features built from the same Ω: deterministic GD must follow the thin-SVD closed form.
    W, X, ko = sample_inputs(jax.random.PRNGKey(2), d=6, psi_p=12, psi_n=2)
    prob = training_problem(W, X, t=0.05, model="gep", key=ko)
    es = gep_eigensystem(W, X, t=0.05, key=ko)
    assert not es.complete
    # m = 2 samples at η = 0.01 η_max: deviation O(η/m), about half that of the exact-model test
    res = simulate(prob, lr=0.01 * prob.max_stable_lr(), steps=2000, fresh_noise=2, options=SimulationOptions(record=6))
    assert _rel_dev(res, trajectory(es, res.tau)) < 0.05


@pytest.mark.slow  # longer than a few seconds on 2 cores: the full suite (CI) runs it
def test_adam_shows_generalisation_then_memorisation():
    # ψ_p ≫ ψ_n: Adam first lowers the test loss (generalisation) and later fits the
    # training set below L_opt while the test loss rises again (two timescales).
    W, X, ko = sample_inputs(jax.random.PRNGKey(0), d=8, psi_p=32, psi_n=4)
    prob = training_problem(W, X, t=0.01, model="gep", key=ko)
    res = simulate(prob, lr=0.05, steps=6000, optimizer="adam", fresh_noise=1, options=SimulationOptions(record=40),
                   key=jax.random.PRNGKey(4))
    i = int(np.argmin(res.score_error))
    assert 0 < i < res.step.size - 1
    assert res.score_error[-1] > 3 * res.score_error[i]
    assert res.train_loss[-1] < res.l_opt < res.train_loss[0]


def test_lr_stability(exact_problem):
    prob, _ = exact_problem
    lr_max = prob.max_stable_lr()
    with pytest.raises(InputError) as e:
        simulate(prob, lr=1.05 * lr_max, steps=10)
    assert e.value.arg == "lr" and f"{lr_max:.6g}" in e.value.msg
    # the bound is the right one: above it GD diverges (|1 - ηcλ_max| = 1.4), just below it converges
    with pytest.raises(ConvergenceError):
        simulate(prob, lr=1.2 * lr_max, steps=3000, fresh_noise=None, options=SimulationOptions(check_stability=False, record=3))
    res = simulate(prob, lr=0.95 * lr_max, steps=3000, fresh_noise=None, options=SimulationOptions(record=3))
    assert np.all(np.isfinite(res.train_loss))


def test_record_steps_and_determinism(exact_problem):
    r = record_steps(1000, 10)
    assert r[0] == 1 and r[-1] == 1000 and np.all(np.diff(r) > 0)
    prob, _ = exact_problem
    a = simulate(prob, lr=1.0, steps=50, options=SimulationOptions(record=4), key=jax.random.PRNGKey(9))
    b = simulate(prob, lr=1.0, steps=50, options=SimulationOptions(record=4, block=7), key=jax.random.PRNGKey(9))
    np.testing.assert_array_equal(a.train_loss, b.train_loss)
    np.testing.assert_allclose(a.tau, a.step * 1.0)


@pytest.mark.parametrize("psi_n, m", [(2, 8), (0.5, 3), (0.5, 1)])
def test_reduced_noise_draw_has_the_law_of_the_full_draw(psi_n, m):
    # theory/dynamics.md §6 (N1)-(N2): the reduced draw (per-point sums, Wishart K⊥, ζ projected)
    # must give the gradient the same law as drawing every ξ and ζ. Cases: n = 8, m = 8 (K⊥ by
    # Bartlett, 56 degrees of freedom); n = 2, m = 3 (K⊥ = FᵀF, 4 dof); n = 2, m = 1 (N = 2 < d, RᵀR
    # singular). Compared on 6 orthonormal directions of the (d, p) gradient, 3 of them orthogonal to
    # the rows of B, the columns of G and of W, where only the ζ(I - QQᵀ) part (N1) acts.
    W, X, ko = sample_inputs(jax.random.PRNGKey(3), d=4, psi_p=6, psi_n=psi_n)
    prob = training_problem(W, X, t=0.05, model="gep", key=ko)
    d, p, K = prob.d, prob.p, 3000
    B = 0.5 * np.asarray(jax.random.normal(jax.random.PRNGKey(5), (d, p)))
    mean = np.asarray(sampled_gradient(prob, B, key=jax.random.PRNGKey(0), fresh_noise=None)[0]).ravel()
    rng = np.random.default_rng(0)
    span = np.linalg.qr(np.column_stack([B.T, np.asarray(prob.factors.G), np.asarray(prob.factors.W)]))[0]
    off = np.eye(p) - span @ span.T
    dirs = [rng.standard_normal((d, p)) for _ in range(3)] + [rng.standard_normal((d, p)) @ off for _ in range(3)]
    U = np.linalg.qr(np.stack([x.ravel() for x in dirs], 1))[0]
    y = {}
    for seed, sampler in ((7, "reduced"), (8, "direct")):
        g = sampled_gradient(prob, B, key=jax.random.PRNGKey(seed), fresh_noise=m, draws=K, sampler=sampler)
        y[sampler] = (np.asarray(g).reshape(K, -1) - mean) @ U
    # unbiased: each sampler's mean is the exact mean gradient (D1) within 4.5 standard errors
    for v in y.values():
        assert np.all(np.abs(v.mean(0)) < 4.5 * v.std(0) / np.sqrt(K))
    # same covariance: the 21 second moments agree within 4.5 standard errors of their difference
    # (a 10 % error in the (N1) term alone is ≈ 5 standard errors here)
    iu = np.triu_indices(6)
    mom = {s: np.einsum("ki,kj->kij", v, v)[:, iu[0], iu[1]] for s, v in y.items()}
    se = np.sqrt((mom["reduced"].var(0) + mom["direct"].var(0)) / K)
    assert np.all(np.abs(mom["reduced"].mean(0) - mom["direct"].mean(0)) < 4.5 * se)


def test_reduced_draw_deterministic_and_block_independent():
    W, X, ko = sample_inputs(jax.random.PRNGKey(2), d=6, psi_p=12, psi_n=2)
    prob = training_problem(W, X, t=0.05, model="gep", key=ko)
    lr = 0.1 * prob.max_stable_lr()
    a = simulate(prob, lr=lr, steps=60, fresh_noise=4, options=SimulationOptions(record=5), key=jax.random.PRNGKey(1))
    b = simulate(prob, lr=lr, steps=60, fresh_noise=4, options=SimulationOptions(record=5, block=16), key=jax.random.PRNGKey(1))
    c = simulate(prob, lr=lr, steps=60, fresh_noise=4, options=SimulationOptions(record=5), key=jax.random.PRNGKey(2))
    np.testing.assert_array_equal(a.test_loss, b.test_loss)
    assert np.all(a.test_loss != c.test_loss)


@pytest.mark.slow  # longer than a few seconds on 2 cores: the full suite (CI) runs it
def test_optax_transformation_is_accepted():
    # a user-supplied optax.sgd(η) is the named 'gd' (the same update A - η d² ∇_A L̂, same noise)
    W, X, ko = sample_inputs(jax.random.PRNGKey(0), d=6, psi_p=8, psi_n=2)
    prob = training_problem(W, X, t=0.05, model="gep", key=ko)
    lr = 0.2 * prob.max_stable_lr()
    named = simulate(prob, lr=lr, steps=200, optimizer="gd", fresh_noise=2, options=SimulationOptions(record=6), key=jax.random.PRNGKey(3))
    user = simulate(prob, lr=lr, steps=200, optimizer=optax.sgd(lr), fresh_noise=2, options=SimulationOptions(record=6),
                    key=jax.random.PRNGKey(3))
    np.testing.assert_allclose(user.train_loss, named.train_loss, rtol=1e-12)
    np.testing.assert_allclose(user.test_loss, named.test_loss, rtol=1e-12)
    assert user.optimizer == "optax" and named.optimizer == "gd"
    # a transformation with another step size is a different run (η then only sets τ = kη)
    other = simulate(prob, lr=lr, steps=200, optimizer=optax.sgd(lr / 2), fresh_noise=2, options=SimulationOptions(record=6),
                     key=jax.random.PRNGKey(3))
    assert np.max(np.abs(other.train_loss - named.train_loss)) > 1e-3
    with pytest.raises(InputError) as e:
        simulate(prob, lr=lr, steps=10, optimizer="sgd")
    assert e.value.arg == "optimizer"
    with pytest.raises(InputError) as e:
        simulate(prob, lr=lr, steps=10, optimizer=3.0)
    assert e.value.arg == "optimizer"


@pytest.mark.parametrize("kappa", [1.0, "d"])
def test_c1_script_time_conversion(exact_problem, kappa):
    """(C1) of theory/model.md: a script that trains B = Ã (score Ã σ(Wx/√d), no 1/√p) by
    Ã ← Ã − lr ∇_Ã(κ L) with κ = 1 or d is rfscore's GD at η = κ lr p/d², step for step.
    The script's gradient is written out from (L1) here (∇_B L = (2Δ/d)(B U + Vᵀ/√Δ)), so the
    test also checks simulate's gradient scaling; both are deterministic: equal to rounding."""
    prob, _ = exact_problem
    m = prob.matrices
    U, V = np.asarray(m.U), np.asarray(m.V)
    p, d, D = prob.p, prob.d, prob.delta_t
    k_scale = float(d) if kappa == "d" else kappa
    eta = 0.2 * prob.max_stable_lr()
    lr = eta * d**2 / (k_scale * p)
    steps = 200
    B = np.zeros((d, p))
    for _ in range(steps):
        B = B - lr * k_scale * (2 * D / d) * (B @ U + V.T / np.sqrt(D))
    train = 1 + D / d * np.trace(B @ U @ B.T) + 2 * np.sqrt(D) / d * np.trace(B @ V)
    res = simulate(prob, lr=eta, steps=steps, fresh_noise=None, options=SimulationOptions(record=2))
    assert res.step[-1] == steps
    assert abs(res.tau[-1] - k_scale * p / d**2 * lr * steps) < 1e-12 * res.tau[-1]
    assert abs(res.train_loss[-1] - train) < 1e-10
    assert abs(1 - train) > 1e-3  # the run moved: the comparison is not between two untrained models


def test_model_sizes_are_read_off_the_arrays_in_one_place():
    """p, d, n of a training problem and of a fitted score model come from W (p, d) and X (n, d) by the one
    `rfscore.core.shapes.WeightsAndData`."""
    from rfscore.core.shapes import WeightsAndData
    from rfscore.finite.inputs import sample_inputs
    from rfscore.finite.simulation import TrainingProblem, training_problem
    from rfscore.generative.score_model import RFScoreModel
    W, X, ko = sample_inputs(jax.random.PRNGKey(0), d=5, psi_p=3.0, psi_n=2.0)
    prob = training_problem(W, X, t=0.1, model="gep", key=ko)
    assert (prob.p, prob.d, prob.n) == (15, 5, 10) == (W.shape[0], W.shape[1], X.shape[0])
    assert issubclass(TrainingProblem, WeightsAndData) and issubclass(RFScoreModel, WeightsAndData)
    for cls in (TrainingProblem, RFScoreModel):
        assert all(name not in vars(cls) for name in ("p", "d", "n")), cls  # inherited, not written again
