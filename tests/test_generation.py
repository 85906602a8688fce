"""The time-indexed RF score (Y1), its readouts (D2) and the generation experiment (theory/generation.md).

Readouts are checked against an actual gradient-descent run on (L1) (autodiff of the loss
built from the exact matrices, in the τ convention dA/dτ = -d² ∇_A L_train), against the
minimiser of (L1) at τ = inf, against `rfscore.finite.dynamics` ((D3)-(D4), `readout`), and the
block-Lanczos path against the dense one.
"""
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rfscore.finite.dynamics import readout, trajectory
from rfscore.finite.eigensystem import eigensystem
from rfscore.core.errors import InputError
from rfscore.finite.exact import exact_matrices
from rfscore.generative.generation import generation_experiment, tau_gen_samples, tau_mem_samples
from rfscore.finite.krylov import krylov_readouts
from rfscore.finite.inputs import sample_inputs
from rfscore.finite.dynamics import readouts
from rfscore.generative.score_model import fit_score_model, readout_losses, time_grid
from rfscore.finite.exact import MehlerRule
from rfscore.finite.krylov import KrylovRule
from rfscore.generative.generation import DataSource, SamplingConfig
from rfscore.generative.score_model import ScoreModelConfig
from rfscore.runtime.sweep import SweepRunner


@pytest.fixture(scope="module")
def small():
    W, X, _ = sample_inputs(jax.random.PRNGKey(0), d=4, psi_p=6, psi_n=1.5, sigma=np.eye(4))
    m = exact_matrices(W, X, t=0.1)
    return W, X, m, eigensystem(m, X.shape[0])


def _l1(m, d, p):
    U, V, dl = jnp.asarray(m.U), jnp.asarray(m.V), m.delta_t

    def loss(A):  # (L1): 1 + (Δ/d) Tr(B U Bᵀ) + (2√Δ/d) Tr(B V), B = A/√p
        B = A / math.sqrt(p)
        return 1 + dl * jnp.sum((B @ U) * B) / d + 2 * math.sqrt(dl) * jnp.sum(B * V.T) / d
    return loss


@pytest.mark.usefixtures("x64")  # the reference gradient descent is written in jnp
def test_readout_matches_gradient_descent_on_l1(small):
    W, _, m, es = small
    p, d = W.shape
    loss = _l1(m, d, p)
    grad = jax.jit(jax.grad(loss))
    lam_max = float(np.max(es.eigvals))
    c = 2 * m.delta_t * d / p
    x_max = 1e-3  # η c λ_max: GD and the flow differ per mode by ≤ k x² e^{-(k-1)x}/2 ≤ x/(2e) (relative)
    lr = x_max / (c * lam_max)
    for tau in (30.0, 300.0):
        steps = round(tau / lr)

        def body(_, A):
            return A - lr * d**2 * grad(A)
        A = jax.lax.fori_loop(0, steps, body, jnp.zeros((d, p)))
        B = readouts(es.eigvals, es.Q, es.vt, delta_t=m.delta_t, psi_p=p / d, tau=[steps * lr])[0]
        A_flow = B * np.sqrt(p)
        err = np.linalg.norm(np.asarray(A) - A_flow) / np.linalg.norm(A_flow)
        assert err < x_max, (tau, err)
        assert np.allclose(A_flow, np.asarray(readout(es, steps * lr)), rtol=1e-10, atol=1e-12)


@pytest.mark.usefixtures("x64")  # the reference gradient descent is written in jnp
def test_readout_at_infinity_is_the_minimiser(small):
    W, _, m, es = small
    p, d = W.shape
    B = readouts(es.eigvals, es.Q, es.vt, delta_t=m.delta_t, psi_p=p / d, tau=[np.inf])[0]
    B_star = -np.linalg.solve(np.asarray(m.U), np.asarray(m.V)).T / np.sqrt(m.delta_t)
    assert np.allclose(B, B_star, rtol=1e-8, atol=1e-10 * np.abs(B_star).max())
    g = np.asarray(jax.grad(_l1(m, d, p))(jnp.asarray(B * np.sqrt(p))))
    scale = np.abs(np.asarray(jax.grad(_l1(m, d, p))(jnp.zeros((d, p))))).max()
    assert np.abs(g).max() < 1e-8 * scale
    assert np.min(es.eigvals) > 0  # U ≻ 0: τ = inf is defined


def test_readout_losses_match_closed_form_trajectory(small):
    W, _, m, es = small
    p, d = W.shape
    tau = np.array([1.0, 1e2, 1e4, np.inf])
    B = readouts(es.eigvals, es.Q, es.vt, delta_t=m.delta_t, psi_p=p / d, tau=tau)
    train, test, err = readout_losses(B, m)
    tr = trajectory(es, tau)
    assert np.allclose(train, tr.train_loss, atol=1e-11) and np.allclose(test, tr.test_loss, atol=1e-11)
    assert np.allclose(err, tr.score_error, rtol=1e-8, atol=1e-8)


def test_krylov_readouts_match_dense():
    W, X, _ = sample_inputs(jax.random.PRNGKey(1), d=8, psi_p=24, psi_n=2, sigma=np.eye(8))
    m = exact_matrices(W, X, t=0.05)
    es = eigensystem(m, X.shape[0])
    tau = np.array([10.0, 1e3, 1e5, np.inf])
    dense = readouts(es.eigvals, es.Q, es.vt, delta_t=m.delta_t, psi_p=24, tau=tau)
    kr = krylov_readouts(m, tau, krylov=KrylovRule(tol=1e-10))
    rel = np.linalg.norm(kr.B - dense, axis=(1, 2)) / np.linalg.norm(dense, axis=(1, 2))
    assert np.all(rel < 1e-8), (rel, kr.krylov_dim)
    assert kr.lambda_min >= np.min(es.eigvals) * (1 - 1e-10)
    # and fit_score_model takes that path above its threshold with the same readouts
    times = [0.05, 0.2]
    a = fit_score_model(W, X, times, tau, score_model=ScoreModelConfig(krylov_above=10**6, mehler=MehlerRule(max_order=64, tol=1e-4)))  # d = 8: 1e-12 is out of reach
    b = fit_score_model(W, X, times, tau, score_model=ScoreModelConfig(krylov_above=16, mehler=MehlerRule(max_order=64, tol=1e-4)))
    assert [dg.solver for dg in b.diagnostics] == ["krylov", "krylov"]
    assert np.allclose(a.B, b.B, rtol=1e-7, atol=1e-8 * np.abs(a.B).max())


def test_score_model_per_time_readouts_and_shared_tau():
    W, X, _ = sample_inputs(jax.random.PRNGKey(2), d=4, psi_p=4, psi_n=1, sigma=np.eye(4))
    times = time_grid(1e-2, 1.0, 3)
    tau = [1e2, np.inf]
    sm = fit_score_model(W, X, times, tau, timescale_at=(1,), score_model=ScoreModelConfig(mehler=MehlerRule(max_order=64, tol=1e-6)))  # d = 4: 1e-12 is out of reach
    for k, t in enumerate(times):
        es = eigensystem(exact_matrices(W, X, t=t, mehler=MehlerRule(tol=1e-6)), X.shape[0])
        for i, tt in enumerate(tau):
            assert np.allclose(sm.readouts(tt)[k], np.asarray(readout(es, tt)), rtol=1e-9, atol=1e-12)
    assert set(sm.timescales) == {1}
    y = np.random.default_rng(0).standard_normal((5, 4))
    s = np.asarray(sm.score(1)(y, 2))  # a float64 NumPy input (jnp.asarray without x64 would round it to float32)
    ref = np.tanh(y @ W.T / 2.0) @ (sm.readouts(np.inf)[2] / np.sqrt(W.shape[0])).T
    assert np.allclose(s, ref, rtol=1e-12)
    with pytest.raises(InputError) as exc:
        sm.readouts(5.0)
    assert exc.value.arg == "tau"


def test_gaussian_equivalent_model_cannot_generate():
    W, X, _ = sample_inputs(jax.random.PRNGKey(0), d=4, psi_p=2, psi_n=1, sigma=np.eye(4))
    with pytest.raises(InputError) as exc:
        fit_score_model(W, X, [0.1, 1.0], [1.0], score_model=ScoreModelConfig(model="gep"))
    assert exc.value.arg == "model" and "not a function of x" in exc.value.msg


def test_readoffs_on_known_curves():
    tau = np.array([1e1, 1e2, 1e3, 1e4, np.inf])
    # f_mem crosses 0.1 halfway (in log τ) between 1e2 and 1e3
    assert np.isclose(tau_mem_samples(tau, [0.0, 0.05, 0.15, 0.3, 0.5], 0.1), 10**2.5)
    assert tau_mem_samples(tau, [0.0, 0.0, 0.0, 0.05, 0.5], 0.1) == np.inf
    assert math.isnan(tau_mem_samples(tau, [0.0] * 5, 0.1))
    # Fréchet minimum 1.0 at 1e3; within 10 % (≤ 1.1) first reached 40 % of the way from 1e2 (1.35) to 1e3 (1.0)
    fd = [3.0, 1.35, 1.0, 1.05, 1.2]
    assert np.isclose(tau_gen_samples(tau, fd, 0.1), 10 ** (2 + 0.25 / 0.35))


@pytest.mark.slow
def test_copying_rises_with_tau_and_is_delayed_by_data():
    # small but real: d = 8, ψ_p = 32, 8 grid times; f_mem at τ = 1e2 is ~0 and at τ = inf well above it
    res = generation_experiment([2, 6], d=8, psi_p=32, tau=[1e2, 1e5, np.inf], sampling=SamplingConfig(times=8, samples=600),
                                runner=SweepRunner(workers=1), progress=False)
    tab = res.table
    f = {(pn, t): fm for pn, t, fm in zip(tab["psi_n"], tab["tau"], tab["f_mem"])}
    assert f[(2.0, 1e2)] < 0.02 and f[(2.0, np.inf)] > 0.15
    assert f[(6.0, np.inf)] < f[(2.0, np.inf)]
    assert np.all(tab["frechet"] > tab["frechet_floor"])
    assert res.parameters["n"] == [16, 48] and res.parameters["p"] == 256
    assert np.all(np.diff(tab["kl_estimate"][tab["psi_n"] == 2.0]) > 0)  # the estimate grows with τ here


def test_sweep_resumes_from_checkpoint_and_runs_on_dask(tmp_path, monkeypatch):
    import rfscore.generative.generation as gen

    kw = dict(d=4, psi_p=2, tau=[np.inf], sampling=SamplingConfig(times=4, samples=50, score="population"),
              progress=False)
    ckpt = tmp_path / "gen.partial.jsonl"
    first = generation_experiment([2, 3], runner=SweepRunner(workers=1, checkpoint=ckpt), **kw)
    assert ckpt.exists()

    @functools.wraps(gen.generation_point)  # same name, so the checkpoint key still matches
    def boom(**_):
        raise AssertionError("a finished point was recomputed")
    monkeypatch.setattr(gen, "generation_point", boom)
    again = generation_experiment([2, 3], runner=SweepRunner(workers=1, checkpoint=ckpt), **kw)  # all from the checkpoint
    assert np.array_equal(first.table["f_mem"], again.table["f_mem"])
    monkeypatch.undo()

    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cl:
        with distributed.Client(cl) as client:
            remote = generation_experiment([2, 3], runner=SweepRunner(scheduler=client), **kw)
    assert np.array_equal(first.table["frechet"], remote.table["frechet"])  # same keys, same samples


# ----------------------------------------------------------------------------- m frozen noise draws, ridge (Y14)
def test_default_noise_and_ridge_are_the_exact_average_bit_for_bit():
    W, X, _ = sample_inputs(jax.random.PRNGKey(2), d=4, psi_p=4, psi_n=1, sigma=np.eye(4))
    times, tau = time_grid(1e-2, 1.0, 3), [1e2, np.inf]
    a = fit_score_model(W, X, times, tau, timescale_at=(1,), score_model=ScoreModelConfig(mehler=MehlerRule(max_order=64, tol=1e-6)))
    b = fit_score_model(W, X, times, tau, timescale_at=(1,),
                        score_model=ScoreModelConfig(mehler=MehlerRule(max_order=64, tol=1e-6), noise_samples=np.inf, ridge=0.0))
    for name in ("B", "train_loss", "test_loss", "score_error"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert a.timescales == b.timescales


def test_finite_m_and_ridge_readouts_are_the_finite_noise_flow_at_every_time():
    from rfscore.finite.frozen_noise import exact_noise_matrices, noise_eigensystem, noise_readout

    W, X, _ = sample_inputs(jax.random.PRNGKey(3), d=4, psi_p=4, psi_n=1, sigma=np.eye(4))
    times, tau, key = time_grid(1e-2, 1.0, 3), [1e2, np.inf], jax.random.PRNGKey(11)
    sm = fit_score_model(W, X, times, tau, score_model=ScoreModelConfig(mehler=MehlerRule(max_order=64, tol=1e-6), noise_samples=3, ridge=0.05),
                         noise_key=key)
    for k, t in enumerate(times):  # (F1)-(F3) with the frozen draws of fold_in(key, k)
        fm = exact_noise_matrices(W, X, t=t, noise_samples=3, key=jax.random.fold_in(key, k), mehler=MehlerRule(tol=1e-6))
        nes = noise_eigensystem(fm)
        for i, tt in enumerate(tau):
            assert np.allclose(sm.readouts(tt)[k], noise_readout(nes, tt, ridge=0.05), rtol=1e-9, atol=1e-12)
        assert np.isclose(sm.train_loss[0, k] - (fm.noise_sq - 1.0),
                          readout_losses(sm.B[:1, k], fm.train)[0][0], rtol=1e-12)
    with pytest.raises(InputError) as exc:
        fit_score_model(W, X, times, tau, score_model=ScoreModelConfig(mehler=MehlerRule(max_order=64, tol=1e-6), noise_samples=3))  # no key for the draws
    assert exc.value.arg == "noise_key"


def test_finite_m_and_ridge_change_what_is_copied():
    # d = 8, n = 16, p = 128, τ = ∞. Measured with seeds 0 and 1 (1000 samples): f_mem = 0.28, 0.25 at m = ∞;
    # 0.003, 0.004 at m = 4 (N = nm = 64 < p: the min-norm fit of the draws, Fréchet distance > 100);
    # 0.014, 0.014 at λ = 1e-2. The thresholds leave > 4 Wilson half-widths (≈ 0.035 at 600 samples) to either side.
    kw = dict(d=8, psi_p=16, tau=[np.inf], sampling=SamplingConfig(times=6, samples=600), runner=SweepRunner(workers=1),
              progress=False)
    rule = MehlerRule(max_order=24, tol=1e-4)
    exact = generation_experiment([2], score_model=ScoreModelConfig(mehler=rule), **kw)
    m4 = generation_experiment([2], score_model=ScoreModelConfig(mehler=rule, noise_samples=4), **kw)
    ridge = generation_experiment([2], score_model=ScoreModelConfig(mehler=rule, ridge=1e-2), **kw)
    assert exact.table["f_mem"][0] > 0.15
    assert m4.table["f_mem"][0] < 0.05 and m4.table["frechet"][0] > 10 * exact.table["frechet"][0]
    assert ridge.table["f_mem"][0] < 0.05
    assert m4.parameters["noise_samples"] == 4 and ridge.parameters["ridge"] == 0.01
    assert exact.parameters["noise_samples"] == "inf" and exact.parameters["ridge"] == 0.0


def test_reference_scores_refuse_noise_samples_and_ridge():
    kw = dict(d=4, psi_p=2, tau=[np.inf], runner=SweepRunner(workers=1), progress=False)
    for score in ("empirical", "population"):
        for extra, arg in ((dict(score_model=ScoreModelConfig(noise_samples=4)), "noise_samples"),
                           (dict(score_model=ScoreModelConfig(ridge=0.1)), "ridge")):
            with pytest.raises(InputError) as exc:
                generation_experiment([2], sampling=SamplingConfig(times=4, samples=50, score=score), **kw, **extra)
            assert exc.value.arg == arg


# ----------------------------------------------------------------------------- real data (theory/generation.md §8)
def test_real_data_rows_and_refusals():
    pytest.importorskip("sklearn")
    res = generation_experiment([0.1], d=None, psi_p=2, source=DataSource(data="digits"), tau=[1e2, np.inf],
                                sampling=SamplingConfig(times=4, samples=100), runner=SweepRunner(workers=1),
                                score_model=ScoreModelConfig(mehler=MehlerRule(max_order=24, tol=1e-4)), progress=False)
    tab = res.table
    assert res.parameters["n"] == [6] and res.parameters["p"] == 122 and res.parameters["d"] == 61
    assert np.all(np.isnan(tab["kl_estimate"])) and np.all(np.isfinite(tab["frechet"]))
    assert np.all(tab["frechet_floor"] == tab["frechet_floor"][0]) and 0 < tab["frechet_floor"][0] < tab["frechet"].min()
    assert res.parameters["dataset"]["n_test"] == 359
    for extra, arg in ((dict(sampling=SamplingConfig(times=4, samples=50, score="population")), "score"),
                       (dict(d=8), "d"), (dict(psi_n=[30]), "psi_n")):
        kw = dict(d=None, psi_p=2, source=DataSource(data="digits"), tau=[np.inf], sampling=SamplingConfig(times=4, samples=50),
                  runner=SweepRunner(workers=1), progress=False)
        kw.update(extra)
        with pytest.raises(InputError) as exc:
            generation_experiment(kw.pop("psi_n", [0.1]), **kw)
        assert exc.value.arg == arg


def test_real_data_from_a_file_with_a_held_out_file(tmp_path):
    rng = np.random.default_rng(5)
    np.save(tmp_path / "x.npy", rng.laplace(size=(60, 8)))  # heavy-tailed rows: any law, no Σ needed
    np.save(tmp_path / "t.npy", rng.laplace(size=(30, 8)))
    res = generation_experiment([2], d=8, psi_p=2, source=DataSource(data=str(tmp_path / "x.npy"),
                                                                      test_data=str(tmp_path / "t.npy")),
                                tau=[np.inf], sampling=SamplingConfig(times=2, samples=50), runner=SweepRunner(workers=1),
                                score_model=ScoreModelConfig(mehler=MehlerRule(max_order=24, tol=1e-4)), progress=False)
    assert res.parameters["n"] == [16] and res.parameters["n_test"] == 30 and res.parameters["test_data"].endswith("t.npy")
    assert np.isnan(res.table["kl_estimate"][0]) and res.table["frechet"][0] > 0
