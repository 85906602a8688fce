"""The one key recipe (P1) and the one ensemble (P2) of theory/model.md §5: keys derived as documented, the
ensemble's mean, spread and status against per-seed runs computed independently here."""
import jax
import numpy as np
import pytest

from rfscore.core.errors import ConvergenceError, InputError
from rfscore.finite.inputs import draw_keys, point_key, sample_data, sample_inputs, sample_weights
from rfscore.finite.dynamics import trajectory
from rfscore.finite.ensemble import (RFSetting, ensemble, frozen_noise_ensemble, noise_split_ensemble,
                                     trajectory_ensemble)
from rfscore.finite.gep import gep_eigensystem
from rfscore.finite.frozen_noise import noise_eigensystem, noise_matrices, noise_resampling, noise_trajectory


def _same(a, b):
    return np.array_equal(np.asarray(jax.random.key_data(a) if hasattr(a, "dtype") and
                                      jax.dtypes.issubdtype(a.dtype, jax.dtypes.prng_key) else a), np.asarray(b))


def test_recipe_keys_are_the_documented_derivation():
    with jax.enable_x64(True):
        for seed, point in ((0, ()), (7, (2.0,)), (3, (4.0, 32.0))):
            k = jax.random.PRNGKey(seed)
            for x in point:
                k = jax.random.fold_in(k, int(round(x * 1e6)) % 2**31)
            keys = draw_keys(seed, *point)
            kw, kx, ko = jax.random.split(k, 3)
            assert _same(keys.base, k) and _same(keys.base, point_key(seed, *point))
            assert _same(keys.w, kw) and _same(keys.x, kx) and _same(keys.omega, ko)
            assert _same(keys.train, jax.random.fold_in(k, 1)) and _same(keys.noise, jax.random.fold_in(k, 2))
            assert _same(keys.window(3), jax.random.fold_in(jax.random.fold_in(k, 1), 3))
            assert _same(keys.noise_copy(2), jax.random.fold_in(jax.random.fold_in(k, 2), 2))


def test_sample_inputs_draws_w_and_x_from_the_recipe_keys():
    keys = draw_keys(5, 2.0)
    W, X, ko = sample_inputs(keys.base, d=6, psi_p=4.0, psi_n=2.0)
    np.testing.assert_array_equal(W, sample_weights(keys.w, 24, 6))
    np.testing.assert_array_equal(X, sample_data(keys.x, 12, np.eye(6)))
    assert _same(ko, keys.omega)


def test_ensemble_stacks_and_reports_mean_std_sem():
    def run(keys):
        return {"v": np.asarray(sample_weights(keys.w, 3, 2)).ravel(), "s": float(np.asarray(keys.x)[0] % 7)}

    ens = ensemble(run, [4, 5, 6])
    per = np.stack([np.asarray(sample_weights(draw_keys(s).w, 3, 2)).ravel() for s in (4, 5, 6)])
    assert ens["v"].shape == (3, 6) and ens["s"].shape == (3,)
    np.testing.assert_array_equal(ens["v"], per)
    np.testing.assert_allclose(ens.mean("v"), per.mean(0), rtol=0, atol=1e-15)
    np.testing.assert_allclose(ens.std("v"), per.std(0, ddof=1), rtol=1e-14)
    np.testing.assert_allclose(ens.sem("v"), per.std(0, ddof=1) / np.sqrt(3), rtol=1e-14)
    assert ens.status.converged and ens.status.message == "" and ens.seeds == (4, 5, 6)
    one = ensemble(run, [4])
    np.testing.assert_array_equal(one.std("v"), np.zeros(6))


def test_ensemble_status_and_throw():
    def run(keys):
        return {"v": 1.0, "converged": not _same(keys.base, jax.random.PRNGKey(1))}

    with pytest.raises(ConvergenceError, match=r"seeds \[1\]"):
        ensemble(run, [0, 1, 2])
    ens = ensemble(run, [0, 1, 2], point=(2.0,), throw=False)
    assert ens.status.converged  # at the point 2.0 the keys differ: all converged
    ens = ensemble(run, [0, 1, 2], throw=False)
    assert not ens.status.converged and "seeds [1]" in ens.status.message
    np.testing.assert_array_equal(ens.point_converged, [True, False, True])
    with pytest.raises(InputError) as e:
        ensemble(run, [])
    assert e.value.arg == "seeds"


def test_trajectory_ensemble_is_the_per_seed_closed_form():
    tau = np.geomspace(1.0, 1e5, 7)
    ens = trajectory_ensemble([0, 1], tau, setting=RFSetting(d=6, psi_p=8.0, psi_n=2.0, t=0.1))
    for i, s in enumerate((0, 1)):
        W, X, ko = sample_inputs(jax.random.PRNGKey(s), d=6, psi_p=8.0, psi_n=2.0)
        tr = trajectory(gep_eigensystem(W, X, t=0.1, key=ko), tau)
        np.testing.assert_array_equal(ens["test_loss"][i], tr.test_loss)
        np.testing.assert_array_equal(ens["train_excess"][i], tr.excess("train_loss"))
    assert ens.status.converged


def test_frozen_noise_and_split_ensembles_are_the_per_seed_runs():
    tau = np.array([10.0, np.inf])
    kw = dict(setting=RFSetting(d=5, psi_p=4.0, psi_n=2.0, t=0.1), noise_samples=3, ridge=1e-3)
    ens = frozen_noise_ensemble([2, 3], tau, **kw)
    bv = noise_split_ensemble([2], tau, copies=3, **kw)
    for i, s in enumerate((2, 3)):
        k = jax.random.PRNGKey(s)
        W, X, ko = sample_inputs(k, d=5, psi_p=4.0, psi_n=2.0)
        fm = noise_matrices("gep", W, X, t=0.1, noise_samples=3, key=jax.random.fold_in(k, 2), omega_key=ko)
        tr = noise_trajectory(noise_eigensystem(fm), tau, ridge=1e-3)
        np.testing.assert_array_equal(ens["test_loss"][i], tr.test_loss)
        np.testing.assert_array_equal(ens["test_loss_empirical"][i], tr.empirical_test_loss)
        if s == 2:
            ref = noise_resampling("gep", W, X, t=0.1, noise_samples=3, tau=tau, ridge=1e-3, omega_key=ko,
                                   keys=[jax.random.fold_in(jax.random.fold_in(k, 2), r) for r in range(3)])
            np.testing.assert_array_equal(bv["bias2"][0], ref.bias2_unbiased)
            np.testing.assert_array_equal(bv["variance"][0], ref.variance_unbiased)


def test_simulate_windows_runs_each_window_on_the_recipe_key():
    from rfscore.finite.simulation import SimulationOptions, simulate, simulate_windows, training_problem
    keys = draw_keys(1)
    W, X, ko = sample_inputs(keys.base, d=4, psi_p=4.0, psi_n=2.0)
    prob = training_problem(W, X, t=0.1, model="gep", key=ko)
    lr = 0.2 * prob.max_stable_lr()
    plan = [(10 * lr, lr), (40 * lr, 2 * lr)]
    runs = simulate_windows(prob, plan, key=keys.train, fresh_noise=2, record=5)
    for j, ((end, eta), r) in enumerate(zip(plan, runs)):
        ref = simulate(prob, lr=eta, steps=int(np.ceil(end / eta)), fresh_noise=2, key=keys.window(j),
                       options=SimulationOptions(record=5, block=256))
        np.testing.assert_array_equal(r.test_loss, ref.test_loss)
        np.testing.assert_array_equal(r.tau, ref.tau)


@pytest.mark.slow
def test_seed_averaged_finite_size_follows_the_limit():
    """Fig. 5B's band: the d = 20 closed form over seeds 0-2 against the d → ∞ test loss (A5) at ψ_p = 64,
    t = 0.1, ψ_n = 4, 16, within 5 % of the curve's depth max|1 − L| (finite size O(1/d) plus seed noise)."""
    from rfscore.limit.asymptotic import asymptotic_curves
    tau = np.geomspace(1e-1, 1e6, 41)
    for pn in (4.0, 16.0):
        ens = trajectory_ensemble([0, 1, 2], tau, setting=RFSetting(d=20, psi_p=64.0, psi_n=pn, t=0.1))
        lim = asymptotic_curves(tau, psi_p=64.0, psi_n=pn, t=0.1).test_loss
        assert np.max(np.abs(lim - ens.mean("test_loss"))) < 0.05 * np.max(np.abs(1 - lim)), pn
