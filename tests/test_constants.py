"""(G1)-(G3): reference values, closed forms (erf, linear), refusals. See theory/gaussian_equivalence.md."""
import math

import jax.numpy as jnp
import numpy as np
import pytest

from rfscore.core.constants import delta_t, ge_constants
from rfscore.core.covariance import SigmaSpectrum
from rfscore.core.errors import InputError


def test_tanh_reference_values():
    # Reference values (tanh, Σ = I, t = 0.01) from an independent plain-NumPy computation with
    # an 80-node Gauss–Hermite rule, 10 digits; its s² = 0.0018735497 is 1e-10 from the converged
    # 0.00187354959 (theory/gaussian_equivalence.md §4), inside the 1e-9 tolerance.
    # test_quadrature_converged recomputes all of them with scipy's adaptive quad.
    c = ge_constants(0.01, "tanh")
    ref = dict(a_t=0.6057055096, b_t=0.0852331754, v_t2=0.0255417765, s_t2=0.0018735497, delta_t=0.0198013267)
    for key, value in ref.items():
        assert abs(getattr(c, key) - value) < 1e-9, key


def test_quadrature_converged():
    # Independent of the trapezoid rule: scipy's adaptive quad (outer) and Gauss–Hermite (the
    # inner, narrow v-integral at t = 0.01, scale √Δ ≈ 0.14, where it is exact to 1e-15), at
    # σ_x = 1 and at σ_x = 2, where 200 Gauss–Hermite nodes (the former rule) err by ~1e-8.
    from scipy.integrate import quad
    from scipy.special import roots_hermitenorm
    phi = lambda z: np.exp(-z * z / 2) / np.sqrt(2 * np.pi)  # noqa: E731
    E = lambda f: quad(lambda z: f(z) * phi(z), -np.inf, np.inf, epsabs=1e-14, epsrel=1e-13, limit=400)[0]  # noqa: E731
    zv, wv = roots_hermitenorm(80)
    wv = wv / wv.sum()
    t = 0.01
    for var_x in (1.0, 4.0):
        c = ge_constants(t, "tanh", SigmaSpectrum((var_x,), (1.0,)))
        dl = -np.expm1(-2 * t)
        kappa = np.exp(-t) * np.sqrt(var_x)
        gamma = np.sqrt(kappa**2 + dl)
        a = E(lambda z: z * np.tanh(gamma * z)) / gamma
        v2 = E(lambda u: (np.tanh(kappa * u + np.sqrt(dl) * zv) @ wv) ** 2) - a**2 * kappa**2
        s2 = E(lambda z: np.tanh(gamma * z) ** 2) - a**2 * kappa**2 - v2 - dl * a**2
        assert abs(c.a_t - a) < 1e-12 and abs(c.v_t2 - v2) < 1e-12 and abs(c.s_t2 - s2) < 1e-12, var_x


def _erf_closed_form(t, var_x):
    """Closed forms for σ = erf: E erf(αz)² = (2/π) arcsin(2α²/(1+2α²)), E erf'(Γz) = (2/√π)/√(1+2Γ²),
    E_v erf(κu + √Δ v) = erf(κu/√(1+2Δ))."""
    dl = -math.expm1(-2 * t)
    k2 = math.exp(-2 * t) * var_x
    g2 = k2 + dl
    a = 2 / math.sqrt(math.pi) / math.sqrt(1 + 2 * g2)
    second = lambda s2: 2 / math.pi * math.asin(2 * s2 / (1 + 2 * s2))
    v2 = second(k2 / (1 + 2 * dl)) - a**2 * k2
    s2 = second(g2) - a**2 * k2 - v2 - a**2 * dl
    return a, math.sqrt(dl) * a, v2, s2


@pytest.mark.parametrize("t,spec", [(0.01, "1:1"), (0.3, "1:1"), (0.05, "1:0.5,2:0.5")])
def test_erf_closed_form(t, spec):
    sigma = SigmaSpectrum.parse(spec)
    c = ge_constants(t, "erf", sigma)
    a, b, v2, s2 = _erf_closed_form(t, sigma.mean)  # σ_x² = Tr Σ/d enters κ² = e^{-2t} σ_x²
    assert c.a_t == pytest.approx(a, abs=1e-12)
    assert c.b_t == pytest.approx(b, abs=1e-12)
    assert c.v_t2 == pytest.approx(v2, abs=1e-12)
    assert c.s_t2 == pytest.approx(s2, abs=1e-12)


def test_linear_closed_form():
    # σ(x) = x: a = 1, b = √Δ, and no non-linear residue: v² = s² = 0.
    c = ge_constants(0.2, "linear", SigmaSpectrum.parse("0.5:0.5,1.5:0.5"))
    assert c.a_t == pytest.approx(1.0, abs=1e-13)
    assert c.b_t == pytest.approx(math.sqrt(delta_t(0.2)), abs=1e-13)
    assert c.v_t2 == 0.0 and c.s_t2 == 0.0


def test_constants_depend_on_sigma_x_not_trace():
    # Only σ_x = √(Tr Σ/d) enters (G1)-(G3): ½δ₁+½δ₂ behaves like Σ = 1.5·I, not 1.5²·I.
    two = ge_constants(0.01, "tanh", SigmaSpectrum.parse("1:0.5,2:0.5"))
    same = ge_constants(0.01, "tanh", SigmaSpectrum((1.5,), (1.0,)))
    wrong = ge_constants(0.01, "tanh", SigmaSpectrum((2.25,), (1.0,)))
    assert two.a_t == pytest.approx(same.a_t, abs=1e-14)
    assert two.kappa == pytest.approx(math.exp(-0.01) * math.sqrt(1.5), abs=1e-14)
    assert abs(two.a_t - wrong.a_t) > 1e-2


@pytest.mark.parametrize("act", [lambda x: jnp.tanh(x) + 0.1, jnp.cosh, lambda x: x**2])
def test_nonzero_mean_activation_refused(act):
    with pytest.raises(InputError) as err:
        ge_constants(0.01, act)
    assert err.value.arg == "activation" and "mean" in err.value.msg


def test_odd_callable_accepted():
    c = ge_constants(0.1, lambda x: jnp.sin(x))
    # E sin'(Γz) = E cos(Γz) = e^{-Γ²/2}.
    g2 = math.exp(-0.2) + delta_t(0.1)
    assert c.a_t == pytest.approx(math.exp(-g2 / 2), abs=1e-12)


@pytest.mark.parametrize("t", [0.0, -1.0, float("nan"), float("inf"), "x"])
def test_bad_t(t):
    with pytest.raises(InputError) as err:
        ge_constants(t)
    assert err.value.arg == "t"


def test_unknown_activation():
    with pytest.raises(InputError) as err:
        ge_constants(0.1, "relu")
    assert err.value.arg == "activation"
    assert np.isfinite(ge_constants(0.1, "tanh").a_t)
