"""rfscore: exact high-dimensional theory of random-features score models of diffusion.

Importing rfscore enables JAX float64 (``jax_enable_x64``): small eigenvalues of U matter.
"""
import jax

jax.config.update("jax_enable_x64", True)

from ._version import __version__  # noqa: E402
from .activations import Activation, get_activation  # noqa: E402
from .constants import GEConstants, delta_t, ge_constants  # noqa: E402
from .covariance import ISOTROPIC, SigmaSpectrum  # noqa: E402
from .errors import ConvergenceError, InputError  # noqa: E402

__all__ = [
    "__version__", "Activation", "get_activation", "GEConstants", "delta_t", "ge_constants",
    "ISOTROPIC", "SigmaSpectrum", "ConvergenceError", "InputError",
]
