"""`rfscore phase`: generalisation loss and regimes over a (ψ_n, ψ_p) grid (paper Fig. 5C, Fig. 1 right)."""
import math
from pathlib import Path

from ..io import check_writable, write_result
from ..phase import HEADER, phase_diagram
from .common import add_theory_options, float_list, nonnegative_int, positive_float, positive_int


def register(sub) -> None:
    p = sub.add_parser(
        "phase", help="phase diagram in the (ψ_n, ψ_p) plane",
        description="Train/test losses, generalisation loss L_test - L_train and regime (memorization, "
                    "dynamical_regularization, architectural_regularization) on a (ψ_n, ψ_p) grid at the given "
                    "training times, from finite-size closed-form trajectories. Grid points run in parallel "
                    "(local processes, or a Dask cluster with --scheduler); finished points are flushed to "
                    "OUT.partial.jsonl so an interrupted sweep resumes.")
    p.add_argument("--psi-p", type=float_list, required=True, help="comma-separated ψ_p values > 0")
    p.add_argument("--psi-n", type=float_list, required=True, help="comma-separated ψ_n values > 0")
    add_theory_options(p)
    p.add_argument("--d", type=positive_int, required=True, help="input dimension d >= 1")
    p.add_argument("--tau", type=lambda s: float_list(s, allow_inf=True), default=[1e2, 1e4, math.inf],
                   help="comma-separated training times τ > 0, 'inf' allowed (default '1e2,1e4,inf')")
    p.add_argument("--gap-threshold", type=positive_float, default=10.0,
                   help="memorisation when (L_test - L_train)/Δ >= this value > 0 (default 10)")
    p.add_argument("--model", choices=("gep", "exact"), default="gep", help="finite-size model (default gep)")
    p.add_argument("--seed", type=nonnegative_int, default=0, help="seed >= 0 (default 0)")
    p.add_argument("--workers", type=positive_int, default=None, help="local worker processes >= 1 (default: CPU count)")
    p.add_argument("--scheduler", default=None, help="Dask scheduler address tcp://HOST:PORT (needs rfscore[dask])")
    p.add_argument("--out", required=True, help="output CSV (JSON sidecar beside it)")
    p.add_argument("--plot", default=None, help="optional PNG of the heatmaps with the boundary curves")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=run)


def run(args) -> int:
    out = check_writable(args.out)
    if args.plot:
        check_writable(args.plot, "plot")
    ckpt = out.with_name(out.name + ".partial.jsonl")
    pd = phase_diagram(args.psi_n, args.psi_p, args.tau, d=args.d, t=args.t, activation=args.activation,
                       sigma=str(args.sigma_spectrum), seed=args.seed, model=args.model,
                       gap_threshold=args.gap_threshold, workers=args.workers, scheduler=args.scheduler,
                       checkpoint=ckpt, progress=not args.no_progress)
    params = {k: getattr(args, k) for k in ("psi_p", "psi_n", "t", "d", "tau", "gap_threshold", "model", "seed",
                                           "activation")}
    params["sigma_spectrum"] = str(args.sigma_spectrum)
    boundaries = {str(t): dict(zip(map(float, pd.boundary(t)[0]), map(float, pd.boundary(t)[1]))) for t in args.tau}
    write_result(out, pd.columns(), params, header=HEADER, delta_t=pd.delta_t, boundaries_psi_n=boundaries,
                 plot=Path(args.plot).name if args.plot else None)
    if args.plot:
        from ..figures.phase import plot_phase
        plot_phase(pd, args.plot)
    ckpt.unlink(missing_ok=True)
    return 0
