"""rfscore.analysis.onsets: read-offs of recorded runs (SM Fig. 15), against curves whose answer is known in
closed form, and the Adam onset growing with n (the science SM Fig. 15 draws)."""
import math

import numpy as np
import pytest

from rfscore.analysis.onsets import gap_onset, loss_minimum, seed_exponent


def test_gap_onset_interpolates_log_linearly_and_flags_censoring():
    tau = np.geomspace(1.0, 1e4, 9)
    train = np.zeros(9)
    test = 0.5 * np.log10(tau)  # gap/Δ = 0.5 log10 τ: reaches 1 at τ = 100 exactly (a record) and 1.5 at 10³
    assert gap_onset(tau, train, test, 1.0) == (pytest.approx(100.0, rel=1e-12), False)
    tc, cens = gap_onset(tau, train, test, 1.0, level=1.25)  # between records: log-linear gives 10^2.5
    assert not cens and tc == pytest.approx(10**2.5, rel=1e-12)
    assert gap_onset(tau, train, test, 4.0) == (1e4, True)  # 0.5 log10 τ ≤ 2 < 4 over the run


def test_loss_minimum_and_its_censoring():
    tau = np.array([1.0, 2.0, 4.0, 8.0])
    assert loss_minimum(tau, [3.0, 1.0, 2.0, 2.5]) == (2.0, 1.0, False)
    assert loss_minimum(tau, [3.0, 2.0, 1.5, 1.0]) == (8.0, 1.0, True)


def test_seed_exponent_recovers_a_power_law_per_seed():
    n = np.array([24, 48, 96, 192])
    vals = np.stack([3.0 * n**1.5, 0.2 * n**1.7, 5.0 * n**1.6])
    e = seed_exponent(n, vals)
    assert e["seeds"] == 3 and e["mean"] == pytest.approx(1.6, rel=1e-12)
    assert e["std"] == pytest.approx(0.1, rel=1e-10)
    cens = np.zeros(vals.shape, bool)
    cens[1, 1:] = True  # seed 1 keeps one point: skipped
    e = seed_exponent(n, vals, cens)
    assert e["seeds"] == 2 and e["mean"] == pytest.approx(1.55, rel=1e-12)
    assert math.isnan(seed_exponent(n, vals[:1])["std"])


@pytest.mark.slow
def test_adam_gap_onset_comes_later_for_larger_n():
    """Adam on the sampled-noise loss (SM Fig. 15's quick settings: d = 6, ψ_p = 64, ψ_n = 4, 16, 3000 steps
    at η = 0.05, seeds 0-2): τ_gap comes later for the larger n in every seed (measured 3.2 → 27.6 on average,
    ×4 in n, with the keys of 0.1.0); nothing is censored; the per-seed exponent is above 0.5."""
    from rfscore.finite.ensemble import RFSetting, simulation_ensemble
    from rfscore.finite.simulation import SimulationOptions
    onsets, ns = [], []
    for pn in (4.0, 16.0):
        e = simulation_ensemble([0, 1, 2], setting=RFSetting(d=6, psi_p=64.0, psi_n=pn, t=0.01), lr=0.05, steps=3000,
                                optimizer="adam", fresh_noise=1, options=SimulationOptions(record=20))
        ns.append(int(e["n"][0]))
        onsets.append([gap_onset(e["tau"][j], e["train_loss"][j], e["test_loss"][j], float(e["delta_t"][j]))
                       for j in range(3)])
    gaps = np.array([[o[j][0] for o in onsets] for j in range(3)])
    assert not any(c for o in onsets for _, c in o)
    assert np.all(gaps[:, 1] > 2 * gaps[:, 0]), gaps
    assert seed_exponent(ns, gaps)["mean"] > 0.5
