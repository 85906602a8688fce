"""`rfscore simulate`: gradient descent / Adam on the sampled-noise loss, losses evaluated exactly."""
from __future__ import annotations


from ..core.errors import InputError
from ..runtime.io import write_result
from ..finite.inputs import draw_keys
from ..finite.frozen_noise import noise_matrices
from ..finite.simulation import OPTIMIZERS, SimulationOptions, simulate, training_problem
from .common import add_noise_ridge_options, add_progress_option, finite_m, guard_outputs, positive_float, positive_int
from .model_options import add_model_options, model_inputs, model_problem

HEADER = ("step", "tau", "train_loss", "test_loss", "score_error")


def register(sub) -> None:
    p = sub.add_parser("simulate", help="simulated training on the sampled-noise loss (GD or Adam), exact losses",
                       description="Train the readout A on the sampled-noise loss (fresh noise every step) with "
                                   "GD (A <- A - lr d^2 grad L, τ = step·lr) or Adam; record train/test loss and "
                                   "score error, evaluated exactly through U, V, U_pop, V_pop, at log-spaced steps. "
                                   "With a finite --noise-samples m the loss is instead the one on m noise draws per "
                                   "point drawn once and frozen (F1): its exact gradient, no fresh noise.")
    add_model_options(p)
    p.add_argument("--optimizer", choices=OPTIMIZERS, default="gd",
                   help="gd or adam (default gd). A GD --lr above the stability limit is refused before training "
                        "(bad input, exit 2); a run whose loss becomes non-finite anyway (Adam has no such limit) "
                        "did not converge (exit 1), with the step and parameters")
    p.add_argument("--lr", type=positive_float, required=True,
                   help="learning rate η > 0 in the τ convention (τ = step·η); for gd it must be below the "
                        "stability limit ψ_p/(Δ λ_max(U)), which the error message states")
    p.add_argument("--steps", type=positive_int, required=True, help="number of steps >= 1")
    p.add_argument("--fresh-noise", type=positive_int, default=None,
                   help="fresh noise samples per data point per step for the noise-averaged loss (m = inf), integer "
                        ">= 1 (default 1); not with a finite --noise-samples")
    add_noise_ridge_options(p)
    p.add_argument("--record", type=positive_int, default=50,
                   help="number of log-spaced record points >= 1 (default 50; duplicates merged)")
    p.add_argument("--out", required=True, metavar="run.csv", help="output CSV (JSON sidecar beside it)")
    add_progress_option(p)
    p.set_defaults(func=run)


def run(args) -> int:
    guard_outputs(args, out=args.out)
    if args.steps > 2**53:  # step counts and τ = step·η are float64 and int64 arrays
        raise InputError("steps", f"must be at most 2^53, got {args.steps}")
    m = finite_m(args.noise_samples)
    if m is not None and args.fresh_noise is not None:
        raise InputError("fresh_noise", "fresh noise per step is for the noise-averaged loss: not with a finite "
                                        "--noise-samples (frozen draws)")
    inputs = model_inputs(args)
    extra = {}
    if m is None:
        prob = model_problem(args, inputs)
        fresh = 1 if args.fresh_noise is None else args.fresh_noise
    else:  # GD / Adam on the frozen-draw loss (F1): the problem carries U^(m), V^(m) and the exact U_pop, V_pop
        kw = {"omega_key": inputs.key_omega} if args.model == "gep" else {}
        fm = noise_matrices(args.model, inputs.W, inputs.X, t=args.t, noise_samples=m,
                            key=draw_keys(args.seed).noise, activation=args.activation,
                            sigma=inputs.sigma, **kw)
        prob = training_problem(inputs.W, inputs.X, t=args.t, activation=args.activation, sigma=inputs.sigma,
                                model="exact", matrices=fm.train)
        fresh = None
        extra = {"noise_rows": inputs.X.shape[0] * m, "noise_sq": fm.noise_sq}
    res = simulate(prob, lr=args.lr, steps=args.steps, optimizer=args.optimizer, fresh_noise=fresh,
                   options=SimulationOptions(record=args.record), key=draw_keys(args.seed).train,
                   progress=False if args.no_progress else None,  # a program: the bar once a run passes 2 s
                   ridge=args.ridge)
    cols = res.columns()
    if m is not None:  # the constant of (F1) is the sample mean ‖Ξ‖²/(Nd), not 1
        cols["train_loss"] = cols["train_loss"] + (fm.noise_sq - 1.0)
    params = {**inputs.parameters, "optimizer": args.optimizer, "lr": args.lr, "steps": args.steps,
              "fresh_noise": fresh, "noise_samples": args.noise_samples, "ridge": args.ridge, "record": args.record}
    write_result(args.out, cols, params, header=HEADER, l_opt=res.l_opt, delta_t=res.delta_t, **extra)
    return 0
