"""rfscore.analysis.score_rise: the rise of E_score after its minimum and the τ/τ_mem collapse of the paper's
Fig. 5A inset (and of SM Fig. 12 at σ_x ≠ 1), on the d → ∞ curves."""
import numpy as np
import pytest

from rfscore.analysis.score_rise import lambda_min, rise_collapse, tau_rise
from rfscore.core.constants import ge_constants
from rfscore.core.covariance import SigmaSpectrum
from rfscore.limit.asymptotic import asymptotic_curves


def test_tau_rise_on_a_known_curve():
    tau = np.geomspace(1.0, 1e6, 61)
    e = 1.0 / tau + 1e-4 * tau / (1.0 + 1e-3 * tau)  # min near τ = 100, last value ≈ 0.1
    i = int(np.argmin(e))
    level = np.sqrt(e[i] * e[-1])
    got = tau_rise(tau, e)
    k = np.flatnonzero((tau > tau[i]) & (e >= level))[0]
    assert tau[k - 1] <= got <= tau[k]
    assert np.isnan(tau_rise(tau, 1.0 / tau))  # never rises


def test_lambda_min_is_the_small_cluster_location():
    """(T3): λ_min = s_t² + ψ_p b_t² v_t²/(ψ_n α) grows with ψ_p/ψ_n above the atom s_t²."""
    c = ge_constants(0.1)
    a, b = lambda_min(64.0, 4.0, 0.1), lambda_min(64.0, 32.0, 0.1)
    assert c.s_t2 < b < a


@pytest.mark.slow
@pytest.mark.parametrize("sigma,factor", [("1:1", 0.6), ("4:1", 1.0), ("0.25:1", 1.0)])
def test_tau_mem_rescaling_collapses_the_rise(sigma, factor):
    """Fig. 5A's inset (Σ = I) and SM Fig. 12 (σ_x = 2, 0.5) at ψ_p = 64, t = 0.1, ψ_n = 4, 16: the rise times
    spread less against τ/τ_mem than against τ (at Σ = I by more than a factor 1/0.6)."""
    tau = np.geomspace(1e-1, 1e6, 121)
    psi_ns = (4.0, 16.0)
    curves = [asymptotic_curves(tau, psi_p=64.0, psi_n=pn, t=0.1, sigma=SigmaSpectrum.parse(sigma)) for pn in psi_ns]
    col = rise_collapse(64.0, psi_ns, 0.1, sigma, tau, [c.score_error for c in curves], curves[0].delta_t)
    assert col["spread_rescaled"] < factor * col["spread_raw"], col
    assert all(np.isfinite(col["tau_rise"]))
