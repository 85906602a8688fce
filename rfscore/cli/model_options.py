"""Model options shared by the finite-size sub-commands (dynamics, simulate, timescales, phase).

`add_model_options` adds --t/--activation/--sigma-spectrum, --d/--psi-p/--psi-n, --seed,
--model, --data, --weights, --sigma-matrix; `model_inputs(args)` turns them into the
arrays W (p,d), X (n,d), Σ (d,d) and the key of Ω, drawn exactly as
`rfscore.finite.inputs.sample_inputs` does, so a CLI curve and an API curve with the same seed
coincide. `model_matrices`, `model_eigensystem` and `model_problem` build what the commands need.
"""
from __future__ import annotations

import argparse
import math
from dataclasses import dataclass

import numpy as np

from ..core.covariance import validate_sigma_matrix
from ..core.errors import InputError
from ..runtime.io import load_array
from ..finite.model_dispatch import MODELS
from ..finite.eigensystem import eigensystem
from ..finite.exact import MehlerRule, exact_matrices
from ..finite.gep import gep_eigensystem, gep_matrices
from ..finite.inputs import draw_keys, sample_data, sample_weights, sizes
from ..finite.krylov import choose_solver
from ..finite.simulation import training_problem
from ..runtime.resources import (check_memory_parts, fresh_noise_bytes, frozen_noise_bytes, model_bytes, modes_of,
                                 record_bytes, sigma_bytes, size_arg, trajectory_bytes)
from .common import add_theory_options, max_order, mehler_tol, positive_int, ratio, seed
from .realdata_options import DATA_HELP  # --data digits|X.npy: real data (theory/real_data.md)


def add_model_options(p: argparse.ArgumentParser, theory: bool = True, real_data: bool = False) -> None:
    """Add the shared model options (and, if ``theory``, --t/--activation/--sigma-spectrum).

    ``real_data``: the command also runs on real data (`--data digits`, held-out sets; theory/real_data.md).
    """
    if theory:
        add_theory_options(p)
    p.set_defaults(sigma_spectrum=None)  # None = not given (Σ = I unless --sigma-matrix)
    p.add_argument("--d", type=positive_int, help="data dimension d >= 1 (fixed by --data/--weights when given)")
    p.add_argument("--psi-p", type=ratio,
                   help=f"ψ_p = p/d {ratio.text}, p = round(ψ_p d) features (fixed by --weights when given)")
    p.add_argument("--psi-n", type=ratio,
                   help=f"ψ_n = n/d {ratio.text}, n = round(ψ_n d) training samples (fixed by --data when given)")
    p.add_argument("--seed", type=seed, default=0,
                   help="integer 0 <= seed < 2^63: JAX PRNG seed of W, X and Ω (those not given as files; default 0)")
    p.add_argument("--model", choices=MODELS, default="exact",
                   help="'exact': non-linear model, exact noise averages (E1)-(E3); 'gep': Gaussian-equivalent "
                        "(G4)-(G6), thin SVD when p >= 2(n+d) (default exact)")
    p.add_argument("--mehler-tol", type=mehler_tol, default=1e-12,
                   help="exact model: entrywise tolerance of the Mehler truncation bound (E4) and the quadrature "
                        "(in [1e-14, 0.1], default 1e-12; theory/exact_matrices.md §8)")
    p.add_argument("--max-order", type=max_order, default=256,
                   help="exact model: highest Mehler order K_max, 1 <= K_max <= 1024 (default 256); small d needs "
                        "high orders")
    if real_data:
        p.add_argument("--data", metavar="digits|X.npy", help=DATA_HELP + " (fixes n and d)")
    else:
        p.add_argument("--data", metavar="X.npy", help="training data, float array of shape (n, d), rows are "
                                                       "samples, finite; used as given (fixes n and d)")
    p.add_argument("--weights", metavar="W.npy", help="first-layer weights, float array of shape (p, d), finite "
                                                      "(fixes p and d)")
    p.add_argument("--sigma-matrix", metavar="S.npy", help="full data covariance Σ, (d, d) symmetric positive "
                                                           "definite (instead of --sigma-spectrum)")


@dataclass(frozen=True)
class ModelInputs:
    """W (p,d), X (n,d), Σ (d,d), key_omega, and the parameters to record."""

    W: object
    X: object
    sigma: np.ndarray
    key_omega: object
    parameters: dict

    @property
    def d(self):
        return self.W.shape[1]

    @property
    def n(self):
        return self.X.shape[0]

    @property
    def p(self):
        return self.W.shape[0]


def _fixed(name, given, value, source, arg):
    if given is not None and given != value:
        raise InputError(arg, f"{name} = {given:g} contradicts {source} ({name} = {value:g})")


def model_inputs(args) -> ModelInputs:
    """Resolve the model options into arrays (bad shapes/values -> InputError naming the option)."""
    if args.data == "digits":  # real data: only where the command offers it (theory/real_data.md)
        raise InputError("data", f"'digits' is real data, which `rfscore {args.command}` does not take; use "
                                 "`rfscore dynamics` or `rfscore timescales`, or give an X.npy file")
    X = load_array(args.data, "data", ndim=2) if args.data else None
    W = load_array(args.weights, "weights", ndim=2) if args.weights else None
    if X is not None and W is not None and X.shape[1] != W.shape[1]:
        raise InputError("data", f"{args.data} has d = {X.shape[1]} columns but {args.weights} has d = {W.shape[1]}")
    for arr, arg, path in ((X, "data", args.data), (W, "weights", args.weights)):
        if arr is not None and min(arr.shape) < 1:
            raise InputError(arg, f"{path} is empty, shape {arr.shape}")
    d_file = X.shape[1] if X is not None else (W.shape[1] if W is not None else None)
    if d_file is not None:
        _fixed("d", args.d, d_file, f"--data {args.data}" if X is not None else f"--weights {args.weights}", "d")
        d = d_file
    elif args.d is None:
        raise InputError("d", "is required unless --data or --weights fix it")
    else:
        d = args.d
    for ratio, arr, opt, path, size in (("psi_p", W, "weights", args.weights, "p"), ("psi_n", X, "data", args.data, "n")):
        value = getattr(args, ratio)
        if arr is None and value is None:
            raise InputError(ratio, f"is required (> 0) unless --{opt} fixes {size}")
        if arr is not None and value is not None and int(round(value * d)) != arr.shape[0]:
            raise InputError(ratio, f"--{ratio.replace('_', '-')} {value:g} contradicts --{opt} {path} "
                                    f"({size} = {arr.shape[0]}, ψ_{size} = {arr.shape[0] / d:g})")
    p, n = sizes(d, args.psi_p if W is None else W.shape[0] / d, args.psi_n if X is None else X.shape[0] / d)
    check_run_memory(args, p, n, d)  # before Σ (d×d) or any draw is allocated
    if args.sigma_matrix is not None and args.sigma_spectrum is not None:
        raise InputError("sigma_matrix", "give either --sigma-matrix or --sigma-spectrum, not both")
    if args.sigma_matrix is not None:
        S = validate_sigma_matrix(load_array(args.sigma_matrix, "sigma_matrix", ndim=2), d)
    elif args.sigma_spectrum is not None:
        S = args.sigma_spectrum.matrix(d)
    else:
        S = np.eye(d)
    keys = draw_keys(args.seed)  # theory/model.md (P1)
    kw, kx, ko = keys.w, keys.x, keys.omega
    W = sample_weights(kw, p, d) if W is None else W
    X = sample_data(kx, n, S) if X is None else X
    params = {"d": d, "p": p, "n": n, "psi_p": p / d, "psi_n": n / d, "t": args.t, "activation": args.activation,
              "sigma_spectrum": str(args.sigma_spectrum) if args.sigma_spectrum is not None else None,
              "sigma_matrix": args.sigma_matrix, "seed": args.seed, "model": args.model,
              "data": args.data, "weights": args.weights}
    return ModelInputs(W=W, X=X, sigma=S, key_omega=ko, parameters=params)


def check_run_memory(args, p: int, n: int, d: int) -> None:
    """Refuse (InputError) a run whose model, τ grid or simulation steps cannot fit in memory.

    Counts Σ (d, d), the model of `rfscore.runtime.resources.model_bytes` for the command's solver,
    the trajectory over ``--num`` τ points (dynamics), one step's noise of ``--fresh-noise``
    (simulate) and the frozen draws of a finite ``--noise-samples``, and names the option that dominates.
    """
    model, solver = getattr(args, "model", "exact"), getattr(args, "solver", "eigh")
    if args.command == "simulate":
        solver = "matrices"
    elif solver == "auto":  # as `rfscore dynamics` decides (krylov for large exact models)
        solver = choose_solver(solver, p=p, model=model)
    parts = {size_arg(d, p / d, n / d): model_bytes(p, n, d, model, solver=solver) + sigma_bytes(d)}
    num = getattr(args, "num", None)
    if num is not None:
        parts["num"] = trajectory_bytes(num, modes_of(p, n, d, model) if solver == "eigh" else p)
    fresh = getattr(args, "fresh_noise", None)
    if fresh is not None:  # one step's fresh noise (simulate)
        parts["fresh_noise"] = fresh_noise_bytes(n, fresh, d, p)
    frozen = getattr(args, "noise_samples", None)
    if frozen is not None and math.isfinite(frozen):  # m frozen draws: ξ (and ζ) of the n·m rows, Φ in blocks
        parts["noise_samples"] = frozen_noise_bytes(n, frozen, d, p)
    rec = getattr(args, "record", None)
    if rec is not None:  # the log-spaced record grid (`rfscore.finite.simulation.record_steps`) and its copies
        parts["record"] = record_bytes(rec)
    check_memory_parts(parts, f"{args.command} at d = {d}, p = {p}, n = {n}")


def model_matrices(args, inputs: ModelInputs | None = None):
    """(U, V, U_pop, V_pop of the chosen model, extra results to record)."""
    inputs = inputs or model_inputs(args)
    if args.model == "gep":
        return gep_matrices(inputs.W, inputs.X, t=args.t, activation=args.activation, sigma=inputs.sigma,
                            key=inputs.key_omega), {}
    matrices = exact_matrices(inputs.W, inputs.X, t=args.t, activation=args.activation, sigma=inputs.sigma, throw=True,
                       mehler=MehlerRule(max_order=getattr(args, "max_order", 256),
                                         tol=getattr(args, "mehler_tol", 1e-12)))
    return matrices, {"truncation_bound": matrices.truncation_bound, "mehler_order": matrices.mehler_order,
               "quadrature_error": matrices.quadrature_error, "matrices_converged": matrices.converged, "matrices_tol": matrices.tol}


def model_eigensystem(args, inputs: ModelInputs | None = None):
    """(Eigensystem of U, extra results to record) for the chosen model."""
    inputs = inputs or model_inputs(args)
    if args.model == "gep":
        return gep_eigensystem(inputs.W, inputs.X, t=args.t, activation=args.activation, sigma=inputs.sigma,
                               key=inputs.key_omega), {}
    matrices, extra = model_matrices(args, inputs)
    return eigensystem(matrices, inputs.n), extra


def model_problem(args, inputs: ModelInputs | None = None):
    """The `TrainingProblem` (simulation) for the chosen model."""
    inputs = inputs or model_inputs(args)
    return training_problem(inputs.W, inputs.X, t=args.t, activation=args.activation, sigma=inputs.sigma,
                            model=args.model, key=inputs.key_omega)
