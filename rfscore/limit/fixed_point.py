"""The one damped fixed-point + Newton rule of the d → ∞ equations: (A1) (one unknown δ per contour node),
(A6)-(A7) (two unknowns r, δ), and the 2×2 Newton step shared with the class equations (F8) of
finite_noise (theory/asymptotic.md §3, theory/finite_noise_ridge.md).

A damped fixed-point iteration from the physical starting point converges on the branch of Stieltjes
type (Im of the unknowns has the sign of Im z) but slowly near the spectrum; a few Newton steps then
finish at quadratic speed. The options of that rule are one small object, `FixedPointRule`.
"""
from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp

from ..core.precision import float64


@float64
@dataclass(frozen=True)
class FixedPointRule:
    """Options of the damped fixed-point phase and the Newton phase that follows it.

    damping: ω in (0, 1], the step x ← x − ω F(x) (or its relaxed form); tol_damped: the max |residual|
    (units of the equation, dimensionless) at which the damped phase hands over to Newton; max_damped:
    the most damped iterations (int >= 1); newton_steps: the number of Newton steps (int >= 0, a fixed
    count: one compiled program for every parameter set).
    """

    damping: float = 0.5
    tol_damped: float = 1e-6
    max_damped: int = 5000
    newton_steps: int = 12


DEFAULT_RULE = FixedPointRule()


@float64
def damped_then_newton(residual_norm, damped_step, newton_step, x0, damping, tol_damped, max_damped: int,
                       newton_steps: int):
    """Run inside jax.jit: damped steps ``x ← damped_step(x, damping)`` from x0 while
    ``residual_norm(x) > tol_damped`` and fewer than ``max_damped`` were taken, then ``newton_steps`` steps
    ``x ← newton_step(x)``. x is any pytree of arrays (one entry per unknown, each (N,)). Returns
    (x, the number of damped iterations). The fields of a `FixedPointRule` are passed one by one so that
    damping and tol_damped stay traced values and the two counts static ones."""

    def cond(state):
        x, it = state
        return (residual_norm(x) > tol_damped) & (it < max_damped)

    def body(state):
        x, it = state
        return damped_step(x, damping), it + 1

    x, iters = jax.lax.while_loop(cond, body, (x0, 0))
    x, _ = jax.lax.scan(lambda x, _: (newton_step(x), None), x, None, length=newton_steps)
    return x, iters


@float64
def newton_2x2(J11, J12, J21, J22, F1, F2):
    """The Newton step (s1, s2) = J⁻¹ (F1, F2) of two unknowns per node by Cramer's rule, elementwise
    (NumPy or JAX arrays, real or complex, each (N,)); the update is x − s."""
    det = J11 * J22 - J12 * J21
    return (J22 * F1 - J12 * F2) / det, (J11 * F2 - J21 * F1) / det


@float64
def max_abs(*arrays):
    """max over all entries of |a| for the arrays given (the residual norm of the damped phase)."""
    out = jnp.max(jnp.abs(arrays[0]))
    for a in arrays[1:]:
        out = jnp.maximum(out, jnp.max(jnp.abs(a)))
    return out
