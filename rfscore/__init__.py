"""rfscore: exact high-dimensional theory of random-features score models of diffusion.

Importing rfscore leaves JAX's ``jax_enable_x64`` as it was: rfscore's numerics run in float64 inside
its own calls (``jax.enable_x64`` around every public function, rfscore/core/precision.py), because the
small eigenvalues of U that set τ_mem are 1e-4..1e-6 of the largest and float32 loses them
(theory/model.md §5); arrays it returns are float64 NumPy arrays, and a user's float32 code is untouched.
The `rfscore` command's handling of Ctrl-C while it starts lives in rfscore/_entry.py; the call below
only installs it when this process is the command (a library import changes no signal handler).
"""
from ._entry import install as _install_command_signals

_install_command_signals()  # before JAX: the command line only (rfscore/_entry.py)

from ._version import __version__  # noqa: E402
from .core.activations import Activation, get_activation  # noqa: E402
from .core.constants import GEConstants, delta_t, ge_constants  # noqa: E402
from .core.covariance import ISOTROPIC, SigmaSpectrum  # noqa: E402
from .core.errors import ConvergenceError, InputError  # noqa: E402
from .core.trajectory import Trajectory  # noqa: E402
from .finite.inputs import sample_inputs  # noqa: E402
from .finite.dynamics import modes, trajectory  # noqa: E402
from .finite.eigensystem import eigensystem  # noqa: E402
from .finite.exact import exact_matrices  # noqa: E402
from .finite.gep import gep_eigensystem  # noqa: E402
from .finite.krylov import krylov_trajectory  # noqa: E402
from .finite.model_dispatch import sample_eigensystem  # noqa: E402
from .finite.simulation import simulate, training_problem  # noqa: E402
from .limit.asymptotic import asymptotic_curves  # noqa: E402
from .limit.spectrum import solve_spectrum  # noqa: E402
from .analysis.timescales import timescale_scan, timescales  # noqa: E402
from .analysis.phase import phase_diagram  # noqa: E402
from .generative.score_model import fit_score_model  # noqa: E402
from .generative.sampler import sample  # noqa: E402
from .generative.generation import generation_experiment  # noqa: E402

__all__ = [
    "__version__", "Activation", "get_activation", "GEConstants", "delta_t", "ge_constants",
    "ISOTROPIC", "SigmaSpectrum", "ConvergenceError", "InputError", "Trajectory",
    "sample_inputs", "modes", "trajectory", "eigensystem", "exact_matrices", "gep_eigensystem",
    "krylov_trajectory", "sample_eigensystem", "simulate", "training_problem", "asymptotic_curves",
    "solve_spectrum", "timescale_scan", "timescales", "phase_diagram", "fit_score_model", "sample",
    "generation_experiment",
]

# the configuration objects of the entry points above (small frozen dataclasses, diffrax style)
from .finite.exact import MehlerRule  # noqa: E402
from .finite.krylov import KrylovRule  # noqa: E402
from .finite.simulation import SimulationOptions  # noqa: E402
from .limit.contour_losses import ContourRule  # noqa: E402
from .limit.fixed_point import FixedPointRule  # noqa: E402
from .limit.spectrum import ContinuationRule  # noqa: E402
from .runtime.sweep import SweepRunner  # noqa: E402
from .finite.ensemble import RFSetting  # noqa: E402
from .analysis.phase import PhaseFlow  # noqa: E402
from .generative.generation import DataSource, ReadoffConfig, SamplingConfig  # noqa: E402
from .generative.score_model import ScoreModelConfig  # noqa: E402

__all__ += ["MehlerRule", "KrylovRule", "SimulationOptions", "ContourRule", "FixedPointRule", "ContinuationRule",
            "SweepRunner", "SamplingConfig", "ReadoffConfig", "DataSource", "ScoreModelConfig", "RFSetting", "PhaseFlow"]
