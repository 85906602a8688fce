"""`rfscore dynamics`: closed-form finite-size training trajectory (D2)-(D4), (L3) on a log τ grid."""
from __future__ import annotations

import numpy as np

from ..dynamics import trajectory
from ..errors import InputError
from ..io import check_writable, write_result
from ..krylov import krylov_trajectory
from .common import positive_float, positive_int
from .model_options import add_model_options, model_eigensystem, model_inputs, model_matrices

HEADER = ("tau", "train_loss", "test_loss", "score_error")
KRYLOV_MIN_P = 4096  # auto: block Lanczos from here on (the p³ eigendecomposition takes minutes on 2 cores)


def register(sub) -> None:
    p = sub.add_parser("dynamics", help="closed-form train/test loss and score error vs τ at finite size (D2)-(D4)",
                       description="Closed-form gradient-flow trajectory of the random-features score model at "
                                   "finite size, from one eigendecomposition of U or by block Lanczos "
                                   "(theory/dynamics.md, theory/krylov.md). Writes CSV "
                                   "columns tau,train_loss,test_loss,score_error and a JSON sidecar.")
    add_model_options(p)
    p.add_argument("--tau-min", type=positive_float, required=True, help="smallest τ > 0 of the log-spaced grid")
    p.add_argument("--tau-max", type=positive_float, required=True, help="largest τ > --tau-min")
    p.add_argument("--num", type=positive_int, required=True, help="number of τ points >= 1")
    p.add_argument("--out", required=True, metavar="traj.csv", help="output CSV (JSON sidecar beside it)")
    p.add_argument("--plot", metavar="traj.png", help="also save a plot of the three curves")
    p.add_argument("--solver", choices=("auto", "eigh", "krylov"), default="auto",
                   help="'eigh': full eigendecomposition of U (thin SVD for gep when p >= 2(n+d)); 'krylov': block "
                        f"Lanczos checked to --krylov-tol (theory/krylov.md); auto: krylov for the exact model at "
                        f"p >= {KRYLOV_MIN_P}, else eigh")
    p.add_argument("--krylov-tol", type=positive_float, default=1e-8,
                   help="block-Lanczos convergence tolerance on the losses, in units of Δ (> 0, default 1e-8)")
    p.set_defaults(func=run)


def run(args) -> int:
    if args.tau_max < args.tau_min or (args.tau_max == args.tau_min and args.num > 1):
        raise InputError("tau_max", f"must exceed --tau-min = {args.tau_min:g}, got {args.tau_max:g}")
    check_writable(args.out)
    if args.plot:
        check_writable(args.plot, "plot")
    inputs = model_inputs(args)
    tau = np.geomspace(args.tau_min, args.tau_max, args.num)
    solver = args.solver
    if solver == "auto":
        solver = "krylov" if args.model == "exact" and inputs.p >= KRYLOV_MIN_P else "eigh"
    if solver == "eigh":
        es, extra = model_eigensystem(args, inputs)
        tr = trajectory(es, tau)
        extra["thin_svd"] = not es.complete
    else:
        m, extra = model_matrices(args, inputs)
        tr = krylov_trajectory(m, inputs.n, tau, tol=args.krylov_tol)
        extra.update(krylov_dim=tr.krylov_dim, krylov_residual=tr.residual, krylov_tol=args.krylov_tol)
    if args.plot:
        _plot(tr, inputs.parameters, args.plot)
    write_result(args.out, tr.columns(), {**inputs.parameters, "tau_min": args.tau_min, "tau_max": args.tau_max,
                                          "num": args.num, "solver": solver},
                 header=HEADER, l_opt=tr.l_opt, delta_t=tr.delta_t, **extra)
    return 0


def _plot(tr, params, path) -> None:
    from ..figures.style import figure, save
    fig, (a1, a2) = figure(1, 2, figsize=(8, 3.2))
    a1.loglog(tr.tau, tr.score_error, color="C3")
    a1.set(xlabel="τ", ylabel="score error $E_{score}$")
    a2.semilogx(tr.tau, tr.train_loss, label="train")
    a2.semilogx(tr.tau, tr.test_loss, label="test")
    a2.axhline(tr.l_opt, color="k", ls=":", lw=1, label="$L_{opt}$")
    a2.set(xlabel="τ", ylabel="loss")
    a2.legend()
    fig.suptitle(f"{params['model']}: d = {params['d']}, ψ_p = {params['psi_p']:g}, ψ_n = {params['psi_n']:g}, "
                 f"t = {params['t']:g}", fontsize=9)
    save(fig, path)
