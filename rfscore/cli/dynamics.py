"""`rfscore dynamics`: closed-form finite-size training trajectory (D2)-(D4), (L3) on a log τ grid."""
from __future__ import annotations

import numpy as np

from ..finite.inputs import draw_keys
from ..data.realdata import gaussian_eigensystem, real_matrices
from ..finite.dynamics import trajectory
from ..finite.eigensystem import eigensystem
from ..finite.frozen_noise import noise_eigensystem, noise_matrices, noise_trajectory
from ..core.errors import InputError
from ..runtime.io import OutputSet
from ..finite.krylov import KRYLOV_ABOVE, KrylovRule, choose_solver, krylov_trajectory
from .common import (TAU_RANGE, add_noise_ridge_options, add_progress_option, finite_m, guard_outputs, positive_float,
                     positive_int, tau_value)
from .model_options import add_model_options, model_eigensystem, model_inputs, model_matrices
from .realdata_options import add_realdata_options, check_compare, is_real, real_inputs

HEADER = ("tau", "train_loss", "test_loss", "score_error")


def register(sub) -> None:
    p = sub.add_parser("dynamics", help="closed-form train/test loss and score error vs τ at finite size (D2)-(D4)",
                       description="Closed-form gradient-flow trajectory of the random-features score model at "
                                   "finite size, from one eigendecomposition of U or by block Lanczos "
                                   "(theory/dynamics.md, theory/krylov.md). Writes CSV "
                                   "columns tau,train_loss,test_loss,score_error and a JSON sidecar.")
    add_model_options(p, real_data=True)
    add_realdata_options(p)
    p.add_argument("--tau-min", type=tau_value, required=True,
                   help=f"smallest τ of the log-spaced grid, {TAU_RANGE.text}")
    p.add_argument("--tau-max", type=tau_value, required=True, help=f"largest τ > --tau-min, {TAU_RANGE.text}")
    p.add_argument("--num", type=positive_int, required=True, help="number of τ points >= 1")
    p.add_argument("--out", required=True, metavar="traj.csv", help="output CSV (JSON sidecar beside it)")
    p.add_argument("--plot", metavar="traj.png", help="also save a plot of the three curves (format from the "
                                                       "extension: .png, .pdf or .svg)")
    p.add_argument("--solver", choices=("auto", "eigh", "krylov"), default="auto",
                   help="'eigh': full eigendecomposition of U (thin SVD for gep when p >= 2(n+d)); 'krylov': block "
                        f"Lanczos stopped once its a-posteriori error bound is below --krylov-tol (theory/krylov.md); auto: krylov for the exact model at "
                        f"p >= {KRYLOV_ABOVE}, else eigh")
    add_noise_ridge_options(p, "; finite m adds the column empirical_test_loss (F4), the noise-averaged loss on the "
                               "training points at the trained readout; with a finite m the solver is eigh (a ridge works with both)")
    p.add_argument("--krylov-tol", type=positive_float, default=1e-8,
                   help="block-Lanczos tolerance on the error bound of the losses, in units of Δ (> 0, default 1e-8)")
    add_progress_option(p)
    p.set_defaults(func=run)


def _bar(args):
    """progress= of the solvers: None (their own rule: a bar for long runs) unless --no-progress."""
    return False if args.no_progress else None


def run(args) -> int:
    if args.tau_max < args.tau_min or (args.tau_max == args.tau_min and args.num > 1):
        raise InputError("tau_max", f"must exceed --tau-min = {args.tau_min:g}, got {args.tau_max:g}")
    guard_outputs(args, out=args.out, plot=args.plot)
    check_compare(args)
    m_frozen = finite_m(args.noise_samples)
    if m_frozen is not None and args.solver == "krylov":
        raise InputError("solver", "--noise-samples uses the eigh solver (the frozen-draw matrices are dense "
                                   "n·m-row Grams); use --solver eigh or auto")
    if is_real(args):
        if m_frozen is not None or args.ridge > 0:
            raise InputError("noise_samples" if m_frozen is not None else "ridge",
                             "is not available with real --data in `rfscore dynamics` (synthetic data only)")
        return _run_real(args, np.geomspace(args.tau_min, args.tau_max, args.num))
    inputs = model_inputs(args)
    tau = np.geomspace(args.tau_min, args.tau_max, args.num)
    if m_frozen is not None:
        return _run_frozen(args, inputs, tau, m_frozen)
    solver = choose_solver(args.solver, p=inputs.p, model=args.model)
    if solver == "eigh":
        es, extra = model_eigensystem(args, inputs)
        tr = trajectory(es, tau, ridge=args.ridge)
        extra["thin_svd"] = not es.complete
    else:
        matrices, extra = model_matrices(args, inputs)
        tr = krylov_trajectory(matrices, inputs.n, tau, krylov=KrylovRule(tol=args.krylov_tol),
                               progress=_bar(args),  # bar for p >= 4096
                               ridge=args.ridge)
        extra.update(krylov_dim=tr.krylov_dim, krylov_tol=args.krylov_tol, lambda_lower=tr.lambda_lower)
    extra.update(converged=tr.converged, error=tr.error)  # solver status; error: bound on the losses, units of Δ
    with OutputSet() as outs:  # plot, CSV and sidecar: all or none
        if args.plot:
            from ..figures import plots  # start-up time: matplotlib on --plot only
            plots.plot_losses(tr, inputs.parameters, outs.path(args.plot))
        outs.result(args.out, tr.columns(), {**inputs.parameters, "tau_min": args.tau_min, "tau_max": args.tau_max,
                                             "num": args.num, "solver": solver, "noise_samples": args.noise_samples,
                                             "ridge": args.ridge},
                    header=HEADER, l_opt=tr.l_opt, delta_t=tr.delta_t, **extra)
    return 0


FROZEN_HEADER = HEADER + ("empirical_test_loss",)


def _run_frozen(args, inputs, tau, m: int) -> int:
    """m frozen noise draws per point (theory/finite_noise_ridge.md (F1)-(F4)): U^(m), V^(m) on the n·m noisy
    points, exact U_pop, V_pop; one eigendecomposition; the noise key is the recipe's (theory/model.md (P1))
    fold_in(PRNGKey(seed), 2)."""
    kw = {"omega_key": inputs.key_omega} if args.model == "gep" else {
        "max_order": getattr(args, "max_order", 256), "tol": getattr(args, "mehler_tol", 1e-12)}
    fm = noise_matrices(args.model, inputs.W, inputs.X, t=args.t, noise_samples=m,
                        key=draw_keys(args.seed).noise, activation=args.activation,
                        sigma=inputs.sigma, **kw)
    tr = noise_trajectory(noise_eigensystem(fm), tau, ridge=args.ridge)
    params = {**inputs.parameters, "tau_min": args.tau_min, "tau_max": args.tau_max, "num": args.num, "solver": "eigh",
              "noise_samples": m, "ridge": args.ridge, "noise_rows": inputs.X.shape[0] * m}
    with OutputSet() as outs:
        if args.plot:
            from ..figures import plots  # start-up time: matplotlib on --plot only
            plots.plot_losses(tr, inputs.parameters, outs.path(args.plot))
        outs.result(args.out, tr.columns(), params, header=FROZEN_HEADER, l_opt=tr.l_opt, delta_t=tr.delta_t,
                    converged=tr.converged, error=tr.error,
                    train_loss="the data term of L_train^(m) (F1), without the ridge penalty")
    return 0


REAL_HEADER = ("tau", "train_loss", "test_loss")


def _run_real(args, tau) -> int:
    """Real data (theory/real_data.md): exact U, V on the training rows, U_pop, V_pop on the held-out rows."""
    ri = real_inputs(args, tau.size)
    solver = choose_solver(args.solver, p=ri.p)
    matrices = real_matrices(ri.dataset, ri.W, ri.n, t=args.t, activation=args.activation, throw=True)
    extra = {"truncation_bound": matrices.truncation_bound, "mehler_order": matrices.mehler_order,
             "quadrature_error": matrices.quadrature_error, "matrices_converged": matrices.converged, "matrices_tol": matrices.tol}
    if solver == "eigh":
        tr = trajectory(eigensystem(matrices, ri.n), tau)
    else:
        tr = krylov_trajectory(matrices, ri.n, tau, krylov=KrylovRule(tol=args.krylov_tol),
                               progress=_bar(args))  # bar for p >= 4096
        extra.update(krylov_dim=tr.krylov_dim, krylov_tol=args.krylov_tol, lambda_lower=tr.lambda_lower)
    extra.update(converged=tr.converged, error=tr.error)
    cols, header = tr.columns(), list(REAL_HEADER)
    gauss = None
    if args.compare_gaussian:
        gauss = trajectory(gaussian_eigensystem(ri.dataset, ri.W, ri.n, t=args.t, activation=args.activation,
                                                keys=ri.keys), tau)
        cols.update(train_loss_gauss=gauss.train_loss, test_loss_gauss=gauss.test_loss)
        header += ["train_loss_gauss", "test_loss_gauss"]
    params = {**ri.parameters, "tau_min": args.tau_min, "tau_max": args.tau_max, "num": args.num, "solver": solver,
              "compare_gaussian": args.compare_gaussian}
    with OutputSet() as outs:  # plot, CSV and sidecar: all or none
        if args.plot:
            from ..figures import plots  # start-up time: matplotlib on --plot only
            plots.plot_real_data_losses(tr, gauss, params, outs.path(args.plot))
        outs.result(args.out, cols, params, header=header, delta_t=tr.delta_t, dataset=ri.dataset.info(),
                    score_error="not defined for real data: the true score is unknown (theory/real_data.md)",
                    l_opt=None, **extra)
    return 0
