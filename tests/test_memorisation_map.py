"""The memorisation map (M1)-(M4) of theory/generation.md §9, each part against an independent computation.

(M1) the per-time τ_mem against a central difference of the closed-form train loss (D3) (the peak of
-dL/dlog τ found on a sampled curve, not from the mode sum) and against the full read-off of
`rfscore.analysis.timescales.timescales` at the grid indices where the score model also computes it;
(M2) the front against its definition written as a double loop; (M3) the collapse scale against an
independent Monte Carlo (NumPy generator, other draws, log-sum-exp from scipy) of the posterior entropy, and
the criterion's monotonicity; (M4) against the interpolation written out.
"""
import math

import jax
import numpy as np
import pytest
from scipy.special import logsumexp

from rfscore.analysis.memorisation_map import (collapse_draws, collapse_scale, front, memorisation_map, posterior_entropy,
                                               predicted_onset, spectrum_peak_readoff)
from rfscore.core.errors import InputError
from rfscore.finite.inputs import sample_inputs
from rfscore.finite.dynamics import trajectory
from rfscore.finite.eigensystem import eigensystem
from rfscore.finite.exact import exact_matrices
from rfscore.generative.score_model import ScoreModelConfig, fit_score_model, time_grid
from rfscore.finite.exact import MehlerRule


@pytest.fixture(scope="module")
def draw():
    W, X, _ = sample_inputs(jax.random.PRNGKey(3), d=6, psi_p=16, psi_n=4, sigma=np.eye(6))
    return np.asarray(W), np.asarray(X)


def test_tau_mem_t_is_the_last_peak_of_the_sampled_train_loss_derivative(draw):
    W, X = draw
    for t in (1e-2, 0.3):
        m = exact_matrices(W, X, t=t, mehler=MehlerRule(max_order=64, tol=1e-6))
        es = eigensystem(m, X.shape[0])
        tau_mem, n_peaks = spectrum_peak_readoff(es.eigvals, es.vt, delta_t=m.delta_t, p=W.shape[0], d=W.shape[1])
        # independent: L_train(τ) of (D3) on a fine log grid, -dL/dlog τ by central differences, last local max
        grid = np.logspace(-3, 9, 6001)
        L = np.asarray(trajectory(es, grid).train_loss)
        slope = -np.gradient(L, np.log(grid))
        inner = np.nonzero((slope[1:-1] > slope[:-2]) & (slope[1:-1] >= slope[2:]) & (slope[1:-1] > 1e-4 * slope.max()))[0]
        assert inner.size >= 1 and n_peaks >= 1
        last = grid[inner[-1] + 1]
        step = grid[1] / grid[0]
        assert abs(math.log(tau_mem / last)) <= 2 * math.log(step), (t, tau_mem, last)


def test_score_model_tau_mem_t_equals_the_full_readoff_where_both_exist(draw):
    W, X = draw
    grid = time_grid(1e-2, 1.0, 5)
    model = fit_score_model(W, X, grid, [1e2, math.inf], timescale_at=(0, 2, 4),
                            score_model=ScoreModelConfig(mehler=MehlerRule(max_order=64, tol=1e-6)))
    assert model.tau_mem_t.shape == (5,) and np.all(np.isfinite(model.tau_mem_t))
    for k in (0, 2, 4):
        assert model.tau_mem_t[k] == pytest.approx(model.timescales[k]["tau_mem"], rel=1e-12)
        assert model.n_peaks_t[k] == model.timescales[k]["n_peaks"]
    # at small t the memorisation time falls as the diffusion time grows (τ_mem ∝ 1/Δ, theory/timescales.md (T3))
    assert np.all(np.diff(model.tau_mem_t[:4]) < 0)


def test_front_matches_its_definition():
    rng = np.random.default_rng(0)
    times = np.geomspace(1e-3, 3, 9)
    for _ in range(50):
        tm = 10 ** rng.uniform(0, 6, 9)
        tm[rng.random(9) < 0.1] = np.nan
        taus = np.concatenate([10 ** rng.uniform(-1, 7, 6), [np.inf]])
        got = front(times, tm, taus)
        for s, g in zip(taus, got):
            want = math.inf
            for j in range(times.size):  # the smallest t_j with τ_mem(t_i) ≤ τ for every i ≥ j
                if all(np.isfinite(tm[i]) and tm[i] <= s for i in range(j, times.size)):
                    want = times[j]
                    break
            assert g == want


def _entropy_independent(X, delta, draws, seed):
    """Mean normalised posterior entropy by an independent Monte Carlo (its own generator and formula)."""
    rng = np.random.default_rng(seed)
    n = X.shape[0]
    a = math.sqrt(1 - delta)
    hs = []
    for mu in range(n):
        for _ in range(draws):
            y = a * X[mu] + math.sqrt(delta) * rng.standard_normal(X.shape[1])
            logits = np.array([-np.sum((y - a * x) ** 2) / (2 * delta) for x in X])
            logw = logits - logsumexp(logits)
            hs.append(-np.sum(np.exp(logw) * logw) / math.log(n))
    hs = np.array(hs)
    return hs.mean(), hs.std(ddof=1) / math.sqrt(hs.size)


def test_collapse_scale_meets_its_criterion_by_an_independent_estimate(draw):
    _, X = draw
    X = X[:12]
    for h_c in (0.2, 0.5, 0.8):
        dc, err = collapse_scale(X, jax.random.PRNGKey(5), h_c, draws=64)
        assert 0 < dc < 1 and 0 < err < 0.1
        mean, se = _entropy_independent(X, dc, 40, seed=int(100 * h_c))
        # the two estimates differ by two Monte Carlo errors: 5 combined standard errors
        se_lib = posterior_entropy(X, dc, collapse_draws(jax.random.PRNGKey(5), 12, 64, 6))[1]
        assert abs(mean - h_c) <= 5 * math.hypot(se, se_lib), (h_c, mean, se)
    # a stricter criterion (less entropy) is met at less noise; more points collapse at smaller Δ
    d1 = collapse_scale(X, jax.random.PRNGKey(5), 0.3)[0]
    d2 = collapse_scale(X, jax.random.PRNGKey(5), 0.6)[0]
    assert d1 < d2
    W, Xbig, _ = sample_inputs(jax.random.PRNGKey(7), d=6, psi_p=1, psi_n=40, sigma=np.eye(6))
    assert collapse_scale(np.asarray(Xbig), jax.random.PRNGKey(5))[0] < collapse_scale(np.asarray(Xbig)[:12],
                                                                                       jax.random.PRNGKey(5))[0]


def test_collapse_scale_refuses_bad_criteria(draw):
    _, X = draw
    for bad in (0.0, 1.0, -0.1, 1.5):
        with pytest.raises(InputError) as e:
            collapse_scale(X, jax.random.PRNGKey(0), bad)
        assert e.value.arg == "collapse_entropy"
    with pytest.raises(InputError):
        collapse_scale(X[:1], jax.random.PRNGKey(0))


def test_predicted_onset_is_the_log_log_interpolation_with_flags():
    dl = np.array([1e-3, 1e-2, 1e-1, 1.0])
    tm = np.array([1e7, 1e6, 1e4, 1e2])
    npk = np.array([2, 2, 1, 1])
    # κΔ_C/d = 0.4·3e-2/4 = 3e-3: between 1e-3 and 1e-2, log-linear: 1e7 · (3)^(-1) in log10 τ slope -1 per decade of Δ
    val, flag = predicted_onset(dl, tm, npk, 3e-2, 4, kappa=0.4)
    assert flag == "ok" and val == pytest.approx(10 ** (7 - math.log10(3)), rel=1e-12)
    val, flag = predicted_onset(dl, tm, npk, 0.5, 4, kappa=0.4)  # 5e-2: between 1e-2 (2 peaks) and 1e-1 (1 peak)
    assert flag == "single_peak" and val == pytest.approx(10 ** (6 - 2 * math.log10(5)), rel=1e-12)
    assert predicted_onset(dl, tm, npk, 1e-3, 4, kappa=0.4) == (1e7, "extrapolated")
    assert predicted_onset(dl, tm, npk, 100.0, 4, kappa=0.4) == (1e2, "above_grid")
    v, f = predicted_onset(dl, tm, npk, math.nan, 4, kappa=0.4)
    assert math.isnan(v) and f == "undefined"


def test_predicted_onset_flags_a_slow_second_peak_and_only_that():
    """The flag `slow_second_peak` (theory/generation.md §9): a synthetic map shaped like the committed ones of §10.

    Falling branch τ_mem ∝ Δ^-2 on a grid with a Δ ratio of 2 (adjacent falls of 4), the minimum, then the rise.
    """
    from rfscore.analysis.memorisation_map import SLOW_PEAK_JUMP
    dl = 1e-3 * 2.0 ** np.arange(12)
    good = 3e1 * (dl / dl[7]) ** -2.0
    good[8:] = [1.4e2, 1.8e2, 1.6e3, 1.9e3]
    npk = np.full(12, 2)
    d, dc, kappa = 16, 0.85, 0.129  # κΔ_C/d = 6.9e-3: bracketed by Δ = 4e-3 and 8e-3 (grid indices 2, 3)
    val, flag = predicted_onset(dl, good, npk, dc, d, kappa)
    assert flag == "ok" and 0.9 * good[3] < val < 1.1 * good[2]
    # the same map whose three smallest times carry a slow second peak (τ ≈ 10^8-10^10, as at d = 16, ψ_p/ψ_n = 256)
    slow = good.copy()
    slow[:3] = [1e10, 1.2e9, 1.3e8]
    assert slow[2] / slow[3] > SLOW_PEAK_JUMP
    val, flag = predicted_onset(dl, slow, npk, dc, d, kappa)
    assert flag == "slow_second_peak" and val > 5 * predicted_onset(dl, good, npk, dc, d, kappa)[0]  # straddles the fall
    slow4 = good.copy()
    slow4[:4] = [1e10, 1.2e9, 1.3e8, 1.5e7]  # both bracketing times on the slow peak
    val4, flag4 = predicted_onset(dl, slow4, npk, dc, d, kappa)
    assert flag4 == "slow_second_peak" and val4 > 1e2 * good[2]
    # it takes precedence over 'single_peak' and over 'extrapolated' (whose value would otherwise be a lower bound)
    assert predicted_onset(dl, slow, np.r_[npk[:3], np.ones(9, int)], dc, d, kappa)[1] == "slow_second_peak"
    assert predicted_onset(dl, slow, npk, 1e-3, d, kappa)[1] == "slow_second_peak"
    assert predicted_onset(dl, good, npk, 1e-3, d, kappa)[1] == "extrapolated"
    # a slow peak only below the bracket (as at d = 8, where t_κ lies above it) leaves the prediction unflagged
    below = good.copy()
    below[0] = 2e10
    assert predicted_onset(dl, below, npk, dc, d, kappa) == (val_ok := predicted_onset(dl, good, npk, dc, d, kappa))
    assert val_ok[1] == "ok"
    # a steep but ordinary fall near the minimum (28x, the largest in the committed good maps) is not flagged
    steep = good.copy()
    steep[:7] *= 28.0 / (good[6] / good[7])
    assert predicted_onset(dl, steep, npk, dc, d, kappa)[1] == "ok"
    # the factor is a parameter: at F above the jump the slow map is no longer flagged
    assert predicted_onset(dl, slow, npk, dc, d, kappa, jump=1e6)[1] == "ok"


def test_memorisation_map_bundles_the_parts(draw):
    _, X = draw
    times = np.geomspace(1e-3, 3, 6)
    tm = np.array([1e6, 1e5, 1e4, 1e3, 1e2, 10.0])
    mp = memorisation_map(times, tm, np.full(6, 2), X, [1e1, 1e3, np.inf], jax.random.PRNGKey(1))
    assert np.allclose(mp.delta_t, -np.expm1(-2 * times))
    assert list(mp.front) == [times[5], times[3], times[0]]
    want = predicted_onset(mp.delta_t, tm, np.full(6, 2), mp.delta_collapse, X.shape[1], mp.kappa)
    assert (mp.tau_mem_samples_predicted, mp.prediction_flag) == want
    d = mp.to_dict()
    assert d["law"] and isinstance(d["tau_mem_t"], list)


def test_kappa_of_inverts_the_prediction():
    from rfscore.analysis.memorisation_map import kappa_of
    dl = np.geomspace(1e-3, 1.0, 10)
    tm = 3e2 * dl ** -1.7
    npk = np.full(10, 2)
    for dc, kappa in ((0.5, 0.16), (0.3, 0.8), (0.9, 0.032)):
        pred = predicted_onset(dl, tm, npk, dc, 8, kappa)[0]
        assert kappa_of(dl, tm, dc, pred, 8) == pytest.approx(kappa, rel=1e-10)
    assert math.isnan(kappa_of(dl, tm, 0.5, 1.0, 8))  # below the smallest τ_mem of the grid
    assert math.isnan(kappa_of(dl, tm, 0.5, math.inf, 8))


def test_relative_onset_readoff():
    from rfscore.generative.generation import tau_mem_samples_relative
    tau = np.array([1e2, 1e3, 1e4, math.inf])
    fm = np.array([0.0, 0.02, 0.2, 0.4])  # a quarter of f_mem(inf) = 0.1: halfway from 0.02 to 0.2 in f, log-linear in τ
    want = 10 ** (3 + (0.1 - 0.02) / (0.2 - 0.02))
    assert tau_mem_samples_relative(tau, fm) == pytest.approx(want, rel=1e-12)
    assert tau_mem_samples_relative(tau[::-1], fm[::-1]) == pytest.approx(want, rel=1e-12)  # order of the list
    assert math.isnan(tau_mem_samples_relative(tau, np.zeros(4)))  # never copies: no onset
    assert math.isnan(tau_mem_samples_relative(tau, np.array([0, 0, 0.005, 0.01])))  # 10 copies in 1000: noise
    assert tau_mem_samples_relative(tau, np.array([0.3, 0.3, 0.35, 0.4])) == 1e2  # left-censored


def test_collapse_scale_close_to_one():
    """Few far-apart points (real data's normalised rows): the crossing sits at Δ close to 1 and its error estimate
    stays finite (the slope is taken inside (0, 1))."""
    X = np.array([[30.0, 0.0], [-30.0, 0.0], [0.0, 30.0]])
    dc, err = collapse_scale(X, jax.random.PRNGKey(0), 0.5)
    assert 0.99 < dc < 1 and np.isfinite(err)
