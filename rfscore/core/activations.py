"""Activation functions by name, or any JAX-traceable callable.

The theory (theory/model.md §2) needs an activation with zero Gaussian mean; odd ones
(tanh, erf, linear) qualify. `check_zero_mean` refuses the others, since a non-zero
mean adds a rank-one spike to U that the equations here do not carry.
"""
from __future__ import annotations

from typing import Callable, NamedTuple, Union

import jax
import jax.numpy as jnp
import numpy as np
from scipy.special import roots_hermitenorm

from .errors import InputError
from .precision import float64

ACTIVATIONS = ("tanh", "erf", "linear")


@float64
class Activation(NamedTuple):
    """A named, JAX-traceable scalar function applied entrywise."""

    name: str
    fn: Callable

    def __call__(self, x):
        return self.fn(x)

    def derivative(self, x):
        """Entrywise σ'(x), from JAX autodiff."""
        return jax.vmap(jax.grad(self.fn))(jnp.ravel(x)).reshape(jnp.shape(x))


def _linear(x):
    return x


_BY_NAME = {"tanh": jnp.tanh, "erf": jax.scipy.special.erf, "linear": _linear}


@float64
def get_activation(act: Union[str, Callable, Activation] = "tanh") -> Activation:
    """Resolve ``'tanh' | 'erf' | 'linear'`` or a callable into an `Activation`."""
    if isinstance(act, Activation):
        return act
    if isinstance(act, str):
        if act not in _BY_NAME:
            raise InputError("activation", f"unknown activation {act!r}; accepted: {', '.join(ACTIVATIONS)} (or a callable via the Python API)")
        return Activation(act, _BY_NAME[act])
    if callable(act):
        return Activation(getattr(act, "__name__", "custom"), act)
    raise InputError("activation", f"must be a name ({', '.join(ACTIVATIONS)}) or a callable, got {act!r}")


@float64
def check_zero_mean(act: Activation, scale: float, n_nodes: int = 200, tol: float = 1e-10) -> None:
    """Raise InputError unless E σ(scale·z) = 0 for z ~ N(0,1) (Gauss–Hermite, to `tol`)."""
    x, w = roots_hermitenorm(n_nodes)
    w = w / np.sqrt(2 * np.pi)
    vals = np.asarray(act(jnp.asarray(scale * x)), dtype=np.float64)
    mean = float(np.dot(w, vals))
    size = float(np.sqrt(np.dot(w, vals**2))) or 1.0
    if not np.isfinite(mean) or abs(mean) > tol * max(size, 1.0):
        raise InputError(
            "activation",
            f"{act.name!r} has non-zero Gaussian mean E σ(Γz) = {mean:.3g} at Γ = {scale:.4g}; "
            "only zero-mean (e.g. odd) activations are supported (a non-zero mean adds a rank-one spike to U)",
        )
