"""`rfscore curve`: learning curves over ψ_p or ψ_n for m frozen noise draws and ridge λ
(theory/finite_noise_ridge.md): d → ∞ (F11)-(F12) and, with --finite-d, the exact finite-size flow (F1)-(F6)."""
from __future__ import annotations

import math

import numpy as np

from ..core.errors import InputError
from ..finite.inputs import sizes
from ..finite.ensemble import FROZEN_CURVES, RFSetting, frozen_noise_ensemble, noise_split_ensemble
from ..limit.finite_noise import finite_noise_curves
from ..runtime.io import OutputSet
from ..runtime.resources import check_memory, finite_flow_bytes, frozen_noise_bytes
from .common import (RATIO_RANGE, TAU_RANGE, add_progress_option, add_theory_options, check_seeds, echo, guard_outputs,
                     int_at_least, list_of, noise_samples_value, positive_int, ratio, ratio_list, ridge_value, seed,
                     tau_list)

KEYS = ("train_loss", "test_loss", "test_loss_empirical", "score_error", "bias2", "variance")
HEADER = ("psi_p", "psi_n", "noise_samples", "ridge", "tau") + KEYS


noise_samples_list = list_of(noise_samples_value)
ridge_list = list_of(ridge_value)


def register(sub) -> None:
    p = sub.add_parser(
        "curve", help="learning curves over ψ_p or ψ_n for m frozen noise draws and ridge λ (d → ∞ and finite size)",
        description="Learning curves of the random-features score model with m noise draws per training point, "
                    "frozen, and a ridge λ (theory/finite_noise_ridge.md). One row per (value, m, λ, τ) with columns "
                    + ",".join(HEADER) + ": the d → ∞ theory (F11)-(F12), for Σ = σ_x² I; with --finite-d also "
                    "the exact closed-form flow at that d, seed-averaged, in *_finite columns with their seed "
                    "standard deviation *_finite_std (empty, NaN, where not defined: see the sidecar's 'undefined'). "
                    "test_loss_empirical is the noise-averaged loss on the training points (F13), (F15). bias2 and "
                    "variance split the test loss over the frozen noise draws, W and X fixed ((F6); at d → ∞ (F14)). "
                    "Finite m with λ = 0 at d → ∞: τ = inf is the λ → 0+ limit (the minimum-norm minimiser).")
    p.add_argument("--vary", required=True, choices=("psi_p", "psi_n"), help="the ratio along the curve")
    p.add_argument("--values", required=True, type=ratio_list,
                   help=f"comma-separated distinct values of the varied ratio, each {RATIO_RANGE.text}")
    p.add_argument("--psi-p", type=ratio, default=None, help="ψ_p = p/d when --vary psi_n")
    p.add_argument("--psi-n", type=ratio, default=None, help="ψ_n = n/d when --vary psi_p")
    add_theory_options(p)
    p.add_argument("--noise-samples", type=noise_samples_list, default=[math.inf],
                   help="comma-separated m, noise draws per training point frozen for the whole training: integers "
                        ">= 1 or inf (the exact noise average, default)")
    p.add_argument("--ridge", type=ridge_list, default=[0.0],
                   help="comma-separated ridges λ in [0, 1e6] (penalty λΔ‖A‖²/(pd), default 0)")
    p.add_argument("--tau", type=tau_list, default=[math.inf],
                   help=f"comma-separated distinct training times τ {TAU_RANGE.text} or inf (default inf)")
    p.add_argument("--finite-d", type=int_at_least(2), default=None,
                   help="also run the exact finite-size flow at this d (integer >= 2), Gaussian-equivalent features")
    p.add_argument("--seeds", type=positive_int, default=3, help="finite-size seeds >= 1 (default 3)")
    p.add_argument("--seed", type=seed, default=0, help="first seed (default 0)")
    p.add_argument("--out", required=True, metavar="lc.csv", help="output CSV (JSON sidecar beside it)")
    p.add_argument("--plot", metavar="lc.png", help="also save a plot of the test loss against the varied ratio "
                                                     "(format from the extension: .png, .pdf or .svg)")
    add_progress_option(p)
    p.set_defaults(func=run)


def _check(args):
    fixed = "psi_n" if args.vary == "psi_p" else "psi_p"
    if getattr(args, fixed) is None:
        raise InputError(fixed, f"is required with --vary {args.vary} (the ratio held fixed), in "
                                f"[{RATIO_RANGE[0]:g}, {RATIO_RANGE[1]:g}]")
    if getattr(args, args.vary) is not None:
        raise InputError(args.vary, f"is the varied ratio (--vary {args.vary}): give its values in --values only")
    if args.sigma_spectrum.single_eigenvalue is None and any(math.isfinite(m) for m in args.noise_samples):
        raise InputError("sigma_spectrum", "finite --noise-samples at d → ∞ need Σ = σ_x² I (one eigenvalue, e.g. '4:1')")
    check_seeds(args)
    if args.activation == "linear":
        raise InputError("activation", "the linear activation has s_t² = 0 and no contour; use tanh, relu-centred or erf")
    if args.finite_d is not None:
        d = args.finite_d
        worst, arg = 0.0, "finite_d"
        for v in args.values:
            pp = v if args.vary == "psi_p" else args.psi_p
            pn = v if args.vary == "psi_n" else args.psi_n
            for m in args.noise_samples:
                p, n = round(pp * d), round(pn * d)
                model = finite_flow_bytes(p, n, d)
                frozen = 0.0 if math.isinf(m) else frozen_noise_bytes(n, m, d, p)
                if model + frozen > worst:
                    worst, arg = model + frozen, ("noise_samples" if frozen > model else "finite_d")
        check_memory(worst, f"the finite-size flow at d = {d}", arg)


def _limit(pp, pn, args, m, lam, tau):
    r = finite_noise_curves(tau, psi_p=pp, psi_n=pn, t=args.t, noise_samples=None if math.isinf(m) else int(m),
                            ridge=lam, activation=args.activation, sigma=args.sigma_spectrum)
    # the split (F6) over the frozen noise at d → ∞ is (F14); at m = ∞ nothing is resampled (variance 0).
    # The empirical test loss is (F13) with (F15) for finite m, the train loss at m = ∞.
    out = {"train_loss": r.train_loss, "test_loss": r.test_loss, "score_error": r.score_error,
           "test_loss_empirical": np.asarray(r.empirical_test_loss, dtype=np.float64),
           "bias2": np.asarray(r.bias2), "variance": np.asarray(r.variance)}
    return out, r


def _finite(pp, pn, args, m, lam, tau, seeds):
    """Seed-averaged exact flow at d = --finite-d (one ensemble (P2), keys (P1)): per key (mean (T,), std (T,)),
    and the sizes run."""
    d = args.finite_d
    p, n = sizes(d, pp, pn)
    mm = None if math.isinf(m) else int(m)
    common = dict(setting=RFSetting(d=d, psi_p=pp, psi_n=pn, t=args.t, activation=args.activation,
                                    sigma=args.sigma_spectrum), noise_samples=mm, ridge=lam)
    ens = frozen_noise_ensemble(seeds, tau, **common)
    out = {k: (ens.mean(k), ens.std(k)) for k in FROZEN_CURVES}
    if mm is not None and len(seeds) > 1:
        # (F6) over the frozen noise: W, X of the first seed, as many resampled noise sets as seeds
        bv = noise_split_ensemble(seeds[:1], tau, copies=len(seeds), **common)
        out["bias2"], out["variance"] = (bv["bias2"][0], None), (bv["variance"][0], None)
    else:
        nan = np.full(len(tau), np.nan)
        out["bias2"], out["variance"] = (nan, None), (nan, None)
    return out, (p, n)


def run(args) -> int:
    _check(args)
    outs_paths = guard_outputs(args, out=args.out, plot=args.plot)
    out_path = outs_paths["out"]
    tau = np.asarray(args.tau, dtype=np.float64)
    seeds = list(range(args.seed, args.seed + args.seeds))
    cols = {k: [] for k in HEADER}
    finite_keys = []
    if args.finite_d is not None:
        for k in KEYS:
            finite_keys += [k + "_finite", k + "_finite_std"]
        finite_keys += ["d", "p", "n", "seeds"]
        for k in finite_keys:
            cols[k] = []
    status = []
    from tqdm.auto import tqdm
    jobs = [(v, m, lam) for v in args.values for m in args.noise_samples for lam in args.ridge]
    for v, m, lam in tqdm(jobs, desc="rfscore curve", unit="point", leave=False, delay=2.0, disable=args.no_progress):
        pp = v if args.vary == "psi_p" else args.psi_p
        pn = v if args.vary == "psi_n" else args.psi_n
        lim, r = _limit(pp, pn, args, m, lam, tau)
        status.append({"psi_p": pp, "psi_n": pn, "noise_samples": m, "ridge": lam, "converged": r.converged,
                       "error": r.error})
        for name, value in (("psi_p", pp), ("psi_n", pn), ("noise_samples", m), ("ridge", lam)):
            cols[name] += [value] * tau.size
        cols["tau"] += list(tau)
        for k in KEYS:
            cols[k] += list(np.asarray(lim[k], dtype=np.float64))
        if args.finite_d is not None:
            fin, (p, n) = _finite(pp, pn, args, m, lam, tau, seeds)
            for k in KEYS:
                mean, std = fin[k]
                cols[k + "_finite"] += list(mean)
                cols[k + "_finite_std"] += list(std if std is not None else np.full(tau.size, np.nan))
            for name, value in (("d", args.finite_d), ("p", p), ("n", n), ("seeds", len(seeds))):
                cols[name] += [value] * tau.size
    undefined = [k for k in finite_keys if k.startswith(("bias2", "variance")) or k.endswith("_std")]
    params = {"vary": args.vary, "values": args.values, "psi_p": args.psi_p, "psi_n": args.psi_n, "t": args.t,
              "activation": args.activation, "sigma_spectrum": str(args.sigma_spectrum),
              "noise_samples": args.noise_samples, "ridge": args.ridge, "tau": args.tau, "finite_d": args.finite_d,
              "seeds": seeds if args.finite_d is not None else None, "model": "gep"}
    notes = {"undefined": "NaN marks, at finite size, a bias-variance split that needs a finite m and >= 2 seeds "
                          "(or a seed spread with one seed)",
             "bias_variance": "finite size: (F6) over --seeds resampled sets of frozen noise draws (noise keys "
                              "fold_in(k_noise, r) of theory/model.md (P1)) with W, X of the first seed (unbiased "
                              "split); d → ∞: (F14), test_loss = L_min + bias2 + variance with "
                              "L_min = 1 − ψ_p E[b_t²κ/U_pop(κ)]; at m = ∞ nothing is resampled (variance 0)",
             "train_loss": "the data term of L_train^(m) (F1), without the ridge penalty"}
    with OutputSet() as outs:
        outs.result(out_path, cols, params, header=HEADER + tuple(finite_keys), undefined=undefined, status=status,
                    notes=notes)
        if args.plot is not None:
            from ..figures.plots import plot_learning_curve  # start-up time: matplotlib on --plot only
            plot_learning_curve(cols, args.vary, outs.path(args.plot), finite=args.finite_d is not None)
    echo(f"wrote {out_path} ({len(jobs)} (value, m, λ) points × {tau.size} τ = {len(jobs) * tau.size} rows)")
    return 0
