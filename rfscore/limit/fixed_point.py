"""The one damped fixed-point + Newton rule of the d → ∞ equations: (A1) (one unknown δ per contour node),
(A6)-(A7) (two unknowns r, δ), the two-class equations (F8) and the one-class m = ∞ equation of (F11) of
finite_noise, with the 2×2 Newton step they share (theory/asymptotic.md §3, theory/finite_noise_ridge.md).

A damped fixed-point iteration from the physical starting point converges on the branch of Stieltjes
type (Im of the unknowns has the sign of Im z) but slowly near the spectrum; a few Newton steps then
finish at quadratic speed. The options of that rule are one small object, `FixedPointRule`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import jax
import jax.numpy as jnp

from ..core.precision import float64


@float64
@dataclass(frozen=True)
class FixedPointRule:
    """Options of the damped fixed-point phase and the Newton phase that follows it.

    damping: ω in (0, 1], the step x ← x − ω F(x) (or its relaxed form); tol_damped: the residual norm
    (units of the equation, dimensionless) at which the damped phase hands over to Newton, or None for
    exactly ``max_damped`` damped steps; max_damped: the most damped iterations (int >= 1); newton_steps:
    the most Newton steps (int >= 0); tol_newton: None for exactly ``newton_steps`` Newton steps (a fixed
    count: one compiled program for every parameter set), or the residual norm at which Newton stops.
    """

    damping: float = 0.5
    tol_damped: Optional[float] = 1e-6
    max_damped: int = 5000
    newton_steps: int = 12
    tol_newton: Optional[float] = None


DEFAULT_RULE = FixedPointRule()


@float64
def damped_then_newton(residual_norm, damped_step, newton_step, x0, damping, tol_damped, max_damped: int,
                       newton_steps: int, tol_newton=None):
    """Run inside jax.jit: damped steps ``x ← damped_step(x, damping)`` from x0 while
    ``residual_norm(x) > tol_damped`` (tol_damped None: always) and fewer than ``max_damped`` were taken, then
    Newton steps ``x ← newton_step(x)``: ``newton_steps`` of them, or (``tol_newton`` a number) at most that
    many while ``residual_norm(x) > tol_newton``. x is any pytree of arrays (one entry per unknown, each (N,)).
    Returns (x, the number of damped iterations). The fields of a `FixedPointRule` are passed one by one so
    that damping and the tolerances stay traced values and the two counts static ones."""

    def cond(state):
        x, it = state
        more = it < max_damped
        return more if tol_damped is None else (residual_norm(x) > tol_damped) & more

    def body(state):
        x, it = state
        return damped_step(x, damping), it + 1

    x, iters = jax.lax.while_loop(cond, body, (x0, 0))
    if tol_newton is None:
        x, _ = jax.lax.scan(lambda x, _: (newton_step(x), None), x, None, length=newton_steps)
    else:
        x, _ = jax.lax.while_loop(lambda s: (s[1] < newton_steps) & (residual_norm(s[0]) > tol_newton),
                                  lambda s: (newton_step(s[0]), s[1] + 1), (x, 0))
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
