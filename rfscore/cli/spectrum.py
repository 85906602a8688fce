"""`rfscore spectrum`: the density ρ(λ) of U from (S1)-(S3), as CSV + JSON sidecar (+ plot).

Writes ``--out`` (columns lambda,density,residual,converged) and ``<out>.json`` with the
parameters, the constants (G1)-(G3), atom_location, atom_weight, mass, solver status,
package version and time. With ``--empirical-d D`` the eigenvalues of one finite-size U
(``--empirical gep`` (G4) or ``exact`` (E1)-(E3)) go to ``<out stem>_eigenvalues.npy`` (named in the
JSON) and, with ``--plot``, appear as a histogram. Exit 1 (after writing, rows flagged) if
any λ did not converge.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..core.errors import ConvergenceError, InputError
from ..runtime.io import OutputSet
from ..runtime.resources import check_memory, dense_bytes, model_bytes, spectrum_bytes
from ..finite.inputs import sizes
from ..finite.model_dispatch import sample_eigenvalues
from ..limit.spectrum import solve_spectrum
from .common import (add_progress_option, add_ratio_options, add_theory_options, echo, guard_outputs, int_at_least,
                     positive_float, seed)

MAX_EMPIRICAL_P = 20000
MAX_EXACT_PN = 2_000_000  # the exact (E1)-(E3) matrix stores ~25 Mehler coefficients per (feature, sample)


def _finite_float(text):
    import argparse
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"must be finite, got {text}")
    return v


def register(sub) -> None:
    p = sub.add_parser("spectrum", help="spectral density ρ(λ) of U from (S1)-(S3) (paper Theorem 3.1, Fig. 4)",
                       description=__doc__.splitlines()[0])
    add_ratio_options(p)
    add_theory_options(p)
    p.add_argument("--lambda-min", type=_finite_float, required=True, help="first λ of the grid (finite, < --lambda-max)")
    p.add_argument("--lambda-max", type=_finite_float, required=True, help="last λ of the grid (finite, > --lambda-min)")
    p.add_argument("--num", type=int, required=True, help="number of grid points, integer >= 2 (evenly spaced)")
    p.add_argument("--log-grid", action="store_true", help="log-spaced grid instead (needs --lambda-min > 0)")
    p.add_argument("--eta", type=positive_float, default=1e-12,
                   help="final imaginary part η > 0 of z = λ + iη (default 1e-12)")
    p.add_argument("--out", required=True, help="output CSV path (its folder must exist); the JSON goes beside it")
    p.add_argument("--plot", default=None, help="also write a plot of ρ(λ) here (optional; format from the "
                                                "extension: .png, .pdf or .svg)")
    p.add_argument("--empirical-d", type=int_at_least(2), default=None,
                   help=f"dimension d >= 2 of one finite-size U whose eigenvalues are saved and histogrammed "
                        f"(p = round(ψ_p d) <= {MAX_EMPIRICAL_P}; with --empirical exact also p·n <= {MAX_EXACT_PN:.0e})")
    p.add_argument("--empirical", choices=("gep", "exact"), default=None,
                   help="which finite-size U: 'gep' Gaussian-equivalent (G4) or 'exact' noise-averaged (E1)-(E3); "
                        "default gep when --empirical-d is given")
    p.add_argument("--seed", type=seed, default=0, help="PRNG seed, integer 0 <= seed < 2^63, for W, X, Ω (default 0)")
    add_progress_option(p)  # accepted by every command; this one shows no bar
    p.set_defaults(func=run)


def _grid(args) -> np.ndarray:
    if args.num < 2:
        raise InputError("num", f"must be an integer >= 2, got {args.num}")
    check_memory(spectrum_bytes(args.num), f"a λ grid of {args.num} points", "num")
    if args.lambda_min >= args.lambda_max:
        raise InputError("lambda_min", f"must be < --lambda-max, got {args.lambda_min:g} >= {args.lambda_max:g}")
    if args.log_grid:
        if args.lambda_min <= 0:
            raise InputError("lambda_min", f"must be > 0 with --log-grid, got {args.lambda_min:g}")
        return np.geomspace(args.lambda_min, args.lambda_max, args.num)
    with np.errstate(over="ignore", invalid="ignore"):
        lam = np.linspace(args.lambda_min, args.lambda_max, args.num)
    if not np.all(np.isfinite(lam)):  # --lambda-max - --lambda-min overflows float64
        raise InputError("lambda_max", f"- --lambda-min overflows float64 ({args.lambda_max:g} - {args.lambda_min:g})")
    return lam


def _check_empirical(args):
    if args.empirical is not None and args.empirical_d is None:
        raise InputError("empirical", "needs --empirical-d D (the finite size)")
    if args.seed < 0:
        raise InputError("seed", f"must be an integer >= 0, got {args.seed}")
    if args.empirical_d is None:
        return None
    if args.empirical_d < 2:
        raise InputError("empirical_d", f"must be an integer >= 2, got {args.empirical_d}")
    p, n = sizes(args.empirical_d, args.psi_p, args.psi_n)
    if p > MAX_EMPIRICAL_P:
        raise InputError("empirical_d", f"gives p = round(ψ_p d) = {p} > {MAX_EMPIRICAL_P}; use a smaller d")
    if args.empirical == "exact" and p * n > MAX_EXACT_PN:
        raise InputError("empirical_d", f"gives p·n = {p * n} > {MAX_EXACT_PN:.0e} for the exact matrix; use a smaller d")
    model = args.empirical or "gep"
    check_memory(model_bytes(p, n, args.empirical_d, model, solver="eigh") + dense_bytes(p),
                 f"the {model} U at d = {args.empirical_d}, p = {p}, n = {n}", "empirical_d")
    return model


def run(args) -> int:
    lam = _grid(args)
    model = _check_empirical(args)
    out = Path(args.out)
    ev_path = out.with_name(out.stem + "_eigenvalues.npy") if model else None
    plot = guard_outputs(args, out=out, plot=args.plot, eigenvalues=(ev_path, "out")).get("plot")
    res = solve_spectrum(lam, psi_p=args.psi_p, psi_n=args.psi_n, t=args.t, activation=args.activation,
                         sigma=args.sigma_spectrum, eta=args.eta,
                         throw=False)  # the flagged rows are written first, then exit 1 below
    extra = {}
    ev = None
    if model:
        echo(f"rfscore spectrum: eigenvalues of the {model} U at d = {args.empirical_d} ...")
        ev = sample_eigenvalues(model, d=args.empirical_d, psi_p=args.psi_p, psi_n=args.psi_n, t=args.t,
                                   activation=args.activation, sigma=args.sigma_spectrum, seed=args.seed)
        extra = {"eigenvalues_file": ev_path.name, "empirical": {"model": model, "d": args.empirical_d,
                                                                 "p": int(ev.size), "seed": args.seed}}
    with OutputSet() as outs:  # the NPY, the plot, the CSV and its sidecar: all or none
        if ev is not None:
            outs.npy(ev_path, ev)
        if plot:
            from ..figures.plots import plot_density  # start-up time: matplotlib on --plot only
            plot_density(res, outs.path(plot), ev, model)
        params = {"psi_p": args.psi_p, "psi_n": args.psi_n, "t": args.t, "activation": args.activation,
                  "sigma_spectrum": args.sigma_spectrum.to_dict(), "lambda_min": args.lambda_min,
                  "lambda_max": args.lambda_max, "num": args.num, "log_grid": bool(args.log_grid), "eta": args.eta}
        outs.result(out, {"lambda": res.lam, "density": res.density, "residual": res.residual,
                          "converged": res.converged}, params, header=["lambda", "density", "residual", "converged"],
                    constants=res.constants.public(), atom_location=res.atom_location,
                    atom_weight=res.atom_weight, mass=res.mass, solver_status=res.message,
                    n_converged=int(res.converged.sum()), max_residual=float(np.max(res.residual)),
                    plot=Path(plot).name if plot else None, **extra)
    if not res.success:
        raise ConvergenceError(f"{res.message} (rows flagged converged=false in {out}); parameters psi_p={args.psi_p:g}, "
                               f"psi_n={args.psi_n:g}, t={args.t:g}, sigma_spectrum='{args.sigma_spectrum}'")
    return 0
