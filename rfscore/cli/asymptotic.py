"""`rfscore asymptotic`: d → ∞ learning curves (A4)-(A5) on a log τ grid, CSV + JSON sidecar."""
from __future__ import annotations

import numpy as np

from ..core.errors import InputError
from ..runtime.io import OutputSet
from ..runtime.resources import asymptotic_bytes, check_memory
from ..limit.asymptotic import asymptotic_curves
from ..limit.finite_noise import finite_noise_curves
from .common import (TAU_RANGE, add_noise_ridge_options, add_progress_option, add_ratio_options, add_theory_options,
                     echo, finite_m, guard_outputs, no_peak_message, positive_int, tau_value)

HEADER = ("tau", "train_loss", "test_loss", "score_error")


def register(sub) -> None:
    p = sub.add_parser(
        "asymptotic", help="asymptotic (d → ∞) train loss, test loss and score error over training time τ",
        description="Asymptotic learning curves for any data covariance spectrum (theory/asymptotic.md: (A1)-(A5) "
                    "for Σ = λI, (A4)-(A10) for any other --sigma-spectrum, e.g. '0.5:0.5,1.5:0.5' or a power law "
                    "'powerlaw:ALPHA[:CUTOFF]' = eigenvalues k^-ALPHA, k = 1..CUTOFF (default 100), normalised to "
                    "mean 1, (A11)): writes tau,train_loss,test_loss,score_error on a log-spaced τ grid and a JSON "
                    "sidecar with the parameters (including the spectrum), tau_gen, tau_mem and solver diagnostics. "
                    "The linear activation (s_t² = 0, no contour) is refused (exit 2, nothing written). A solver "
                    "that does not converge exits 1.")
    add_ratio_options(p)
    add_theory_options(p)
    add_noise_ridge_options(p, "; finite m at d → ∞ (F11)-(F12) needs Σ = σ_x² I (with --ridge 0: τ = inf is the "
                               "λ → 0+ limit), and has no timescale spectrum (tau_gen, tau_mem are null)")
    p.add_argument("--tau-min", type=tau_value, required=True, help=f"smallest τ {TAU_RANGE.text}")
    p.add_argument("--tau-max", type=tau_value, required=True, help=f"largest τ {TAU_RANGE.text}, >= --tau-min")
    p.add_argument("--num", type=positive_int, default=200, help="number of log-spaced τ points, integer >= 1 (default 200)")
    p.add_argument("--out", required=True, help="output CSV path (its folder must exist); the sidecar is the same name with .json")
    p.add_argument("--plot", default=None, help="optional plot of the excess losses (folder must exist; format from "
                                                "the extension: .png, .pdf or .svg)")
    add_progress_option(p)  # accepted by every command; this one shows no bar
    p.set_defaults(func=run)


def run(args) -> int:
    if args.tau_max < args.tau_min:
        raise InputError("tau_max", f"must be >= --tau-min = {args.tau_min:g}, got {args.tau_max:g}")
    out = guard_outputs(args, out=args.out, plot=args.plot)["out"]
    check_memory(asymptotic_bytes(args.num), f"a τ grid of {args.num} points", "num")
    m = finite_m(args.noise_samples)
    if args.activation == "linear":  # s_t² = 0: no contour, with or without --noise-samples
        raise InputError("activation", "the linear activation has s_t² = 0 and no contour; use tanh, relu-centred "
                                       "or erf")
    if m is not None:
        if args.sigma_spectrum.single_eigenvalue is None:
            raise InputError("sigma_spectrum", "a finite --noise-samples at d → ∞ needs Σ = σ_x² I (one eigenvalue, "
                                               "e.g. '4:1')")
    tau = np.geomspace(args.tau_min, args.tau_max, args.num)
    if m is None:
        with no_peak_message(args.ridge, "--tau-min, --tau-max"):
            res = asymptotic_curves(tau, psi_p=args.psi_p, psi_n=args.psi_n, t=args.t, activation=args.activation,
                                    sigma=args.sigma_spectrum, ridge=args.ridge)
    else:
        res = finite_noise_curves(tau, psi_p=args.psi_p, psi_n=args.psi_n, t=args.t, noise_samples=m,
                                  ridge=args.ridge, activation=args.activation, sigma=args.sigma_spectrum)
    params = {"psi_p": args.psi_p, "psi_n": args.psi_n, "t": args.t, "activation": args.activation,
              "noise_samples": args.noise_samples, "ridge": args.ridge,
              "sigma_spectrum": {"text": str(args.sigma_spectrum), "eigenvalues": args.sigma_spectrum.eigenvalues,
                                 "weights": args.sigma_spectrum.weights},
              "tau_min": args.tau_min, "tau_max": args.tau_max, "num": args.num}
    if m is not None:  # (F12) gives the losses, not the timescale spectrum
        single, times = None, {"tau_gen": None, "tau_mem": None, "timescale_peaks": None,
                               "timescales_note": "not computed for finite m (theory/finite_noise_ridge.md §6)"}
    else:
        single = res.tau_gen == res.tau_mem  # one peak: τ_gen and τ_mem are not separated, report the peak as such
        times = ({"tau_gen": None, "tau_mem": None, "tau_peak": res.tau_gen, "timescale_peaks": 1} if single else
                 {"tau_gen": res.tau_gen, "tau_mem": res.tau_mem, "timescale_peaks": 2})
    with OutputSet() as outs:  # plot, CSV and sidecar: all or none
        outs.result(out, res.columns(), params, header=HEADER, **times, l_opt=res.l_opt, delta_t=res.delta_t,
                    constants=res.parameters, diagnostics=res.diagnostics)
        if args.plot is not None:
            from ..figures import plots  # start-up time: matplotlib on --plot only
            plots.plot_asymptotic(res, outs.path(args.plot))
    if m is not None:
        echo(f"wrote {out} ({args.num} points); m = {m}, λ = {args.ridge:g}")
    elif single:
        echo(f"wrote {out} ({args.num} points); the timescale spectrum has a single peak, at τ = {res.tau_gen:.4g} "
             f"(τ_gen and τ_mem not separated)")
    else:
        echo(f"wrote {out} ({args.num} points); tau_gen = {res.tau_gen:.4g}, tau_mem = {res.tau_mem:.4g}")
    return 0
