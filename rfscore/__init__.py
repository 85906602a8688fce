"""rfscore: exact high-dimensional theory of random-features score models of diffusion.

Importing rfscore switches JAX to float64 globally (``jax_enable_x64``), on purpose: the
small eigenvalues of U that set τ_mem are 1e-4..1e-6 of the largest and float32 loses them
(theory/model.md §5). Code that needs float32 next to rfscore should pass explicit dtypes.
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
