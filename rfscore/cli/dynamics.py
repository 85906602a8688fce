"""`rfscore dynamics`: closed-form finite-size training trajectory (D2)-(D4), (L3) on a log τ grid."""
from __future__ import annotations

import numpy as np

from ..dynamics import trajectory
from ..errors import InputError
from ..io import check_writable, write_result
from .common import positive_float, positive_int
from .model_options import add_model_options, model_eigensystem, model_inputs

HEADER = ("tau", "train_loss", "test_loss", "score_error")


def register(sub) -> None:
    p = sub.add_parser("dynamics", help="closed-form train/test loss and score error vs τ at finite size (D2)-(D4)",
                       description="Closed-form gradient-flow trajectory of the random-features score model at "
                                   "finite size, from one eigendecomposition of U (theory/dynamics.md). Writes CSV "
                                   "columns tau,train_loss,test_loss,score_error and a JSON sidecar.")
    add_model_options(p)
    p.add_argument("--tau-min", type=positive_float, required=True, help="smallest τ > 0 of the log-spaced grid")
    p.add_argument("--tau-max", type=positive_float, required=True, help="largest τ > --tau-min")
    p.add_argument("--num", type=positive_int, required=True, help="number of τ points >= 1")
    p.add_argument("--out", required=True, metavar="traj.csv", help="output CSV (JSON sidecar beside it)")
    p.add_argument("--plot", metavar="traj.png", help="also save a plot of the three curves")
    p.set_defaults(func=run)


def run(args) -> int:
    if args.tau_max < args.tau_min or (args.tau_max == args.tau_min and args.num > 1):
        raise InputError("tau_max", f"must exceed --tau-min = {args.tau_min:g}, got {args.tau_max:g}")
    check_writable(args.out)
    if args.plot:
        check_writable(args.plot, "plot")
    inputs = model_inputs(args)
    es, extra = model_eigensystem(args, inputs)
    tau = np.geomspace(args.tau_min, args.tau_max, args.num)
    tr = trajectory(es, tau)
    if args.plot:
        _plot(tr, inputs.parameters, args.plot)
    write_result(args.out, tr.columns(), {**inputs.parameters, "tau_min": args.tau_min, "tau_max": args.tau_max,
                                          "num": args.num},
                 header=HEADER, l_opt=es.l_opt, delta_t=es.delta_t, thin_svd=not es.complete, **extra)
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
