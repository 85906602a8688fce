"""`rfscore phase`: generalisation loss and regimes over a (ψ_n, ψ_p) grid (paper Fig. 5C, Fig. 1 right)."""
import math
from pathlib import Path

from ..core.errors import InputError
from ..runtime.io import OutputSet
from ..runtime.resources import check_memory, frozen_noise_bytes, model_bytes
from ..runtime.sweep import PHASE_PROCESSES_FROM, SweepRunner, sweep_workers
from ..finite.inputs import sizes
from ..analysis.phase import HEADER, PhaseFlow, phase_diagram
from .common import (TAU_RANGE, add_noise_ridge_options, add_sweep_options, add_theory_options, finite_m,
                     guard_outputs, positive_float, positive_int, ratio, ratio_list, seed, tau_list)


def register(sub) -> None:
    p = sub.add_parser(
        "phase", help="phase diagram in the (ψ_n, ψ_p) plane",
        description="Train/test losses, generalisation loss L_test - L_train and regime (memorization, "
                    "dynamical_regularization, architectural_regularization) on a (ψ_n, ψ_p) grid at the given "
                    "training times, from finite-size closed-form trajectories. Grid points run serially, or in "
                    "parallel on large grids (local processes, see --workers, or a Dask cluster with --scheduler); finished points are flushed to "
                    "OUT.partial.jsonl so an interrupted sweep (Ctrl-C, exit 130) resumes when the same command is rerun; "
                    "a checkpoint written for other parameters or by other numerics (any change to the source of "
                    "rfscore's numerical modules, or to the jax/numpy/scipy versions) is refused (--restart "
                    "discards it). Rows are labelled by the ratios actually run, n/d and p/d with n = round(ψ_n d), "
                    "p = round(ψ_p d); two values giving the same n (or p) are refused.")
    p.add_argument("--psi-p", type=ratio_list, required=True, help=f"comma-separated distinct ψ_p values, each {ratio.text}")
    p.add_argument("--psi-n", type=ratio_list, required=True, help=f"comma-separated distinct ψ_n values, each {ratio.text}")
    add_theory_options(p)
    p.add_argument("--d", type=positive_int, required=True, help="input dimension d >= 1")
    p.add_argument("--tau", type=tau_list, default=[1e2, 1e4, math.inf],
                   help=f"comma-separated distinct training times τ {TAU_RANGE.text}, 'inf' allowed "
                        "(default '1e2,1e4,inf')")
    p.add_argument("--gap-threshold", type=positive_float, default=10.0,
                   help="memorisation when (L_test - L_train)/Δ >= this value > 0 (default 10)")
    p.add_argument("--model", choices=("gep", "exact"), default="gep", help="finite-size model (default gep)")
    p.add_argument("--seed", type=seed, default=0, help="PRNG seed, integer 0 <= seed < 2^63 (default 0)")
    add_noise_ridge_options(p, "; the train loss and the generalisation gap are those of the frozen-draw loss (F1)")
    p.add_argument("--out", required=True, help="output CSV (JSON sidecar beside it)")
    p.add_argument("--plot", default=None, help="optional plot of the heatmaps with the boundary curves (format "
                                                "from the extension: .png, .pdf or .svg)")
    add_sweep_options(p, PHASE_PROCESSES_FROM, "the largest max(p, n) of the grid")
    p.set_defaults(func=run)


def _check_noise_memory(args) -> None:
    """m frozen draws at the grid's largest point (every factor: n, m, d, p), times the points run at once."""
    m = finite_m(args.noise_samples)
    if m is None:
        return
    p, n = sizes(args.d, max(args.psi_p), max(args.psi_n))
    _, concurrent = sweep_workers(args.workers, len(args.psi_p) * len(args.psi_n), max(p, n), PHASE_PROCESSES_FROM,
                                  args.scheduler)
    frozen = frozen_noise_bytes(n, m, args.d, p)
    check_memory(concurrent * (frozen + model_bytes(p, n, args.d, args.model)),
                 f"{m} frozen noise draws at d = {args.d}, p = {p}, n = {n} ({concurrent} at a time)", "noise_samples")


def run(args) -> int:
    if len(set(args.tau)) < len(args.tau):
        raise InputError("tau", f"repeats a value: {','.join(f'{t:g}' for t in args.tau)}")
    out = Path(args.out)
    ckpt = out.with_name(out.name + ".partial.jsonl")
    guard_outputs(args, out=out, plot=args.plot, checkpoint=(ckpt, "out"))
    _check_noise_memory(args)
    pd = phase_diagram(args.psi_n, args.psi_p, args.tau, d=args.d, t=args.t, activation=args.activation,
                       sigma=str(args.sigma_spectrum), seed=args.seed, gap_threshold=args.gap_threshold,
                       flow=PhaseFlow(model=args.model, noise_samples=finite_m(args.noise_samples), ridge=args.ridge),
                       runner=SweepRunner(workers=args.workers, scheduler=args.scheduler, checkpoint=ckpt,
                                          restart=args.restart),
                       progress=not args.no_progress)
    params = {k: getattr(args, k) for k in ("psi_p", "psi_n", "t", "d", "tau", "gap_threshold", "model", "seed",
                                           "activation", "noise_samples", "ridge")}
    params["sigma_spectrum"] = str(args.sigma_spectrum)
    boundaries = {str(t): dict(zip(map(float, pd.boundary(t)[0]), map(float, pd.boundary(t)[1]))) for t in args.tau}
    with OutputSet() as outs:
        outs.result(out, pd.columns(), params, header=HEADER, delta_t=pd.delta_t, boundaries_psi_n=boundaries,
                    psi_n_run=sorted(set(map(float, pd.psi_n))), psi_p_run=sorted(set(map(float, pd.psi_p))),
                    plot=Path(args.plot).name if args.plot else None)
        if args.plot:
            from ..figures.phase import plot_phase  # start-up time: matplotlib on --plot only
            plot_phase(pd, outs.path(args.plot))
    ckpt.unlink(missing_ok=True)
    return 0
