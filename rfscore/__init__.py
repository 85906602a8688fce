"""rfscore: exact high-dimensional theory of random-features score models of diffusion.

Importing rfscore leaves JAX's ``jax_enable_x64`` as it was: rfscore's numerics run in float64 inside
its own calls (``jax.enable_x64`` around every public function, rfscore/core/precision.py), because the
small eigenvalues of U that set τ_mem are 1e-4..1e-6 of the largest and float32 loses them
(theory/model.md §5); arrays it returns are float64 NumPy arrays, and a user's float32 code is untouched.
A Ctrl-C during these imports, when they are the `rfscore` command's, ends it with one line and
exit status 130 (as everywhere in the command line); a library import re-raises it.
"""
import os as _os
import sys as _sys

_STARTUP_INTERRUPTED = "rfscore: interrupted while starting; nothing was written"


def _started_as_command() -> bool:
    """Whether this process is the `rfscore` command (console script or ``python -m rfscore``)."""
    argv0 = _os.path.basename(_sys.argv[0]) if _sys.argv else ""
    if argv0.lower() in ("rfscore", "rfscore.exe", "rfscore-script.py"):
        return True
    orig = list(getattr(_sys, "orig_argv", ()))  # ``python -m rfscore``: argv[0] is "-m" during this import
    return any((a == "-m" and b in ("rfscore", "rfscore.cli")) or a in ("-mrfscore", "-mrfscore.cli")
               for a, b in zip(orig, orig[1:] + [""]))


def _interrupted_while_starting() -> None:
    """Ctrl-C during the imports (JAX takes seconds): for the command one line and exit 130, as elsewhere.

    In a library import the KeyboardInterrupt is re-raised by the caller, as Python does.
    """
    if _started_as_command():
        print(_STARTUP_INTERRUPTED, file=_sys.stderr)
        raise SystemExit(130)


try:
    from ._version import __version__  # noqa: E402
    from .core.activations import Activation, get_activation  # noqa: E402
    from .core.constants import GEConstants, delta_t, ge_constants  # noqa: E402
    from .core.covariance import ISOTROPIC, SigmaSpectrum  # noqa: E402
    from .core.errors import ConvergenceError, InputError  # noqa: E402
    from .core.trajectory import Trajectory  # noqa: E402
    from .finite.draws import sample_inputs  # noqa: E402
    from .finite.dynamics import modes, trajectory  # noqa: E402
    from .finite.eigensystem import eigensystem  # noqa: E402
    from .finite.exact import exact_matrices  # noqa: E402
    from .finite.gep import gep_eigensystem  # noqa: E402
    from .finite.krylov import krylov_trajectory  # noqa: E402
    from .finite.models import sample_eigensystem  # noqa: E402
    from .finite.simulation import simulate, training_problem  # noqa: E402
    from .limit.asymptotic import asymptotic_curves  # noqa: E402
    from .limit.spectrum import solve_spectrum  # noqa: E402
    from .analysis.timescales import timescale_scan, timescales  # noqa: E402
    from .analysis.phase import phase_diagram  # noqa: E402
    from .generative.score_model import fit_score_model  # noqa: E402
    from .generative.sampler import sample  # noqa: E402
    from .generative.generation import generation_experiment  # noqa: E402
except KeyboardInterrupt:
    _interrupted_while_starting()
    raise

__all__ = [
    "__version__", "Activation", "get_activation", "GEConstants", "delta_t", "ge_constants",
    "ISOTROPIC", "SigmaSpectrum", "ConvergenceError", "InputError", "Trajectory",
    "sample_inputs", "modes", "trajectory", "eigensystem", "exact_matrices", "gep_eigensystem",
    "krylov_trajectory", "sample_eigensystem", "simulate", "training_problem", "asymptotic_curves",
    "solve_spectrum", "timescale_scan", "timescales", "phase_diagram", "fit_score_model", "sample",
    "generation_experiment",
]
