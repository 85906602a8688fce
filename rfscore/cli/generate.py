"""`rfscore generate`: sample from the closed-form-trained RF score; memorisation and quality against τ and ψ_n."""
import math
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..core.activations import ACTIVATIONS
from ..core.covariance import SigmaSpectrum
from ..core.errors import InputError
from ..finite.exact import MehlerRule
from ..generative.generation import (GENERATION_MEHLER, GENERATION_SCORE_MODEL, HEADER, MAP_HEADER, MAX_ORDER,
                                     DataSource, ReadoffConfig, SamplingConfig, check_collapse_entropy,
                                     generation_experiment, load_data, validate)
from ..analysis.memorisation_map import COLLAPSE_ENTROPY
from ..runtime.io import OutputSet, json_line
from ..runtime.sweep import GENERATION_PROCESSES_FROM, SweepRunner
from .common import (TAU_RANGE, add_sweep_options, diffusion_time, guard_outputs, max_order, noise_samples_value,
                     positive_float, positive_int, ratio, ratio_list, ridge_value, seed, sigma_spectrum, tau_list)
from .realdata_options import DATA_HELP, test_fraction


def register(sub) -> None:
    p = sub.add_parser(
        "generate", help="generated samples: memorisation f_mem and Fréchet distance against τ and ψ_n",
        description="Train the random-features score at every time of a diffusion-time grid in closed form (D2) "
                    "(exact noise-averaged matrices, one frozen W, one readout per time, one shared training time τ), "
                    "sample it by the reverse-time SDE or the probability-flow ODE, and write one CSV row per "
                    "(ψ_n, seed, τ): the memorised fraction f_mem (nearest/second-nearest training distance < 1/3) "
                    "with its Wilson 95 % interval, the Fréchet distance to N(0, Σ) with its finite-sample floor, "
                    "and the Girsanov estimate of KL per dimension (theory/generation.md). The JSON sidecar has the "
                    "sizes run, τ_gen and τ_mem read off the samples per ψ_n, their fitted exponents in ψ_n with "
                    "95 % CIs, and the loss-based τ_gen, τ_mem at t_min and at the middle grid time; the last "
                    "printed line is a JSON summary. --score empirical/population sample the two reference "
                    "scores through the same sampler (no τ: written as inf). --data digits|X.npy runs on real data "
                    "(exact matrices on the training rows at every grid time, test loss and Fréchet distance on "
                    "held-out rows, no KL estimate; theory/generation.md §8); --noise-samples and --ridge train "
                    "every readout on m frozen noise draws per point and/or with a ridge (theory/generation.md (Y14)).")
    p.add_argument("--d", type=positive_int, default=None, help="input dimension d >= 1 (required unless --data fixes it)")
    p.add_argument("--psi-p", type=ratio, required=True, help=f"ψ_p = p/d {ratio.text}, p = round(ψ_p d) features")
    p.add_argument("--psi-n", type=ratio_list, required=True,
                   help=f"comma-separated ψ_n = n/d, each {ratio.text}, n = round(ψ_n d) >= 2 (values giving the same "
                        "n are refused)")
    p.add_argument("--t-min", type=diffusion_time, default=1e-3, help="smallest diffusion time t_1 in [1e-5, 50] (default 1e-3)")
    p.add_argument("--t-max", type=diffusion_time, default=3.0,
                   help="largest diffusion time T > t_min, where sampling starts from N(0, I) (default 3)")
    p.add_argument("--times", type=positive_int, default=40, help="number K >= 2 of log-spaced grid times (default 40)")
    p.add_argument("--tau", type=tau_list, default=[1e2, 1e4, 1e6, math.inf],
                   help=f"comma-separated distinct training times τ {TAU_RANGE.text}, 'inf' allowed "
                        "(default '1e2,1e4,1e6,inf')")
    p.add_argument("--samples", type=positive_int, default=2000, help="samples N >= 2 per τ (default 2000)")
    p.add_argument("--sampler", choices=("sde", "ode"), default="sde",
                   help="reverse-time SDE or probability-flow ODE (default sde)")
    p.add_argument("--integrator", choices=("exponential", "euler"), default="exponential",
                   help="exponential integrator, exact for the linear drift (default), or Euler(-Maruyama)")
    p.add_argument("--steps-per-time", type=positive_int, default=4,
                   help="sampler steps per grid cell >= 1 (default 4)")
    p.add_argument("--score", choices=("rf", "empirical", "population"), default="rf",
                   help="rf: the trained random-features score (default); empirical: score of the training set "
                        "smoothed at t (copies it); population: the exact score -Σ_t^{-1} x")
    p.add_argument("--model", choices=("exact", "gep"), default="exact",
                   help="exact §4 matrices (default; the only one that can generate: the Gaussian-equivalent "
                        "model is not a function of x)")
    p.add_argument("--seeds", type=positive_int, default=3,
                   help="number of seeds >= 1 (default 3: an exponent from one draw is a sketch, the spread needs several)")
    p.add_argument("--seed", type=seed, default=0, help="first PRNG seed, integer 0 <= seed < 2^63 (default 0)")
    p.add_argument("--activation", default="tanh", choices=ACTIVATIONS, help="activation σ (default tanh)")
    p.add_argument("--sigma-spectrum", type=sigma_spectrum, default=None,
                   help="data covariance spectrum 'l1:w1,l2:w2,...' or 'powerlaw:ALPHA[:CUTOFF]', as for the other "
                        "commands (default '1:1', Σ = I; not with --data: Σ of real data is unknown)")
    p.add_argument("--data", metavar="digits|X.npy", default=None,
                   help=DATA_HELP.split(". A file without")[0] + ". For generate a file needs --test-data or "
                        "--test-fraction; n = round(ψ_n d) for every --psi-n value, d the dataset's")
    p.add_argument("--test-data", metavar="T.npy", default=None,
                   help="held-out rows (n_test, d) for the test loss and the Fréchet distance, same columns as --data")
    p.add_argument("--test-fraction", type=test_fraction, metavar="F", default=None,
                   help="hold out round(F·N) of the --data rows (0 < F < 1), drawn by the seed (digits: default 0.2)")
    p.add_argument("--noise-samples", type=noise_samples_value, default=None, metavar="M",
                   help="m noise draws per training point, drawn once and frozen, at every grid time (integer >= 1, "
                        "at most 1e9, or inf: the exact noise average; default inf; rf score only)")
    p.add_argument("--ridge", type=ridge_value, default=None, metavar="L",
                   help="ridge λ in [0, 1e6]: every readout's flow runs on U + λI (penalty λΔ‖A‖²/(pd); default 0; "
                        "rf score only)")
    p.add_argument("--mem-threshold", type=positive_float, default=0.1,
                   help="τ_mem^samples = first τ with f_mem >= this value in (0, 1) (default 0.1)")
    p.add_argument("--gen-tolerance", type=positive_float, default=0.1,
                   help="τ_gen^samples = first τ with Fréchet distance <= (1 + this)·its minimum (default 0.1)")
    p.add_argument("--max-order", type=max_order, default=MAX_ORDER,
                   help=f"highest Mehler order of the exact matrices (1 <= K_max <= 1024, default {MAX_ORDER}; orders stop once the "
                        "bound 1e-4 is met; the truncation bound of every time is in the sidecar)")
    p.add_argument("--out", required=True, help="output CSV (JSON sidecar beside it)")
    p.add_argument("--map-out", default=None, metavar="MAP.csv",
                   help="the memorisation map (rf score): one row per (ψ_n, seed, grid time) with columns "
                        "psi_n,seed,t,delta_t,tau_mem_t,n_peaks (τ_mem(t) = last peak of the timescale spectrum at "
                        "that time; n_peaks 1 flags a single-peak value; theory/generation.md §9); default: the "
                        "--out name with _map.csv in place of .csv. The sidecar has, per ψ_n, delta_collapse, "
                        "tau_mem_samples_predicted (law tau_mem(t_kappa), Δ_{t_kappa} = 0.129·Δ_C(n)/d) beside the "
                        "measured tau_mem_samples and tau_mem_samples_relative (first τ with f_mem >= f_mem(inf)/4). "
                        "A read-off of the onset needs a dense τ list: the law was checked with --times 12 --tau "
                        "1e2,3e2,1e3,3e3,1e4,3e4,1e5,3e5,1e6,3e6,1e7,3e7,1e8,inf --samples 1000")
    p.add_argument("--collapse-entropy", type=float, default=COLLAPSE_ENTROPY, metavar="H",
                   help="collapse criterion in (0, 1): Δ_C(n) is the noise level at which the mean normalised entropy "
                        f"of the empirical score's posterior weights equals H (default {COLLAPSE_ENTROPY})")
    p.add_argument("--save-samples", default=None,
                   help="optional NPZ with X (n, d), samples (n_τ, N, d) of the first ψ_n and seed, and tau (n_τ,)")
    p.add_argument("--plot", default=None, help="optional plot of f_mem and Fréchet distance against τ and τ/ψ_n "
                                                "(format from the extension: .png, .pdf or .svg)")
    add_sweep_options(p, GENERATION_PROCESSES_FROM, "p = round(ψ_p d)")
    p.set_defaults(func=run)


def run(args) -> int:
    out = Path(args.out)
    ckpt = out.with_name(out.name + ".partial.jsonl")
    map_out = None
    if args.score == "rf":
        map_out = Path(args.map_out) if args.map_out else out.with_name(out.stem + "_map.csv")
    elif args.map_out is not None:
        raise InputError("map_out", f"--score {args.score} has no training: the memorisation map needs --score rf")
    guard_outputs(args, out=out, plot=args.plot, save_samples=args.save_samples, checkpoint=(ckpt, "out"),
                  map_out=(map_out, "map_out" if args.map_out else "out"))

    for name, given in (("noise_samples", args.noise_samples), ("ridge", args.ridge)):
        if given is not None and args.score != "rf":
            raise InputError(name, f"--score {args.score} is a reference score with no training; "
                                   f"--{name.replace('_', '-')} applies to the rf score only")
    if args.data is not None and args.sigma_spectrum is not None:
        raise InputError("sigma_spectrum", "real data: Σ is unknown (the Fréchet distance uses the held-out rows)")
    noise_samples = None if args.noise_samples in (None, math.inf) else int(args.noise_samples)
    ridge = 0.0 if args.ridge is None else args.ridge
    spectrum = args.sigma_spectrum if args.sigma_spectrum is not None else SigmaSpectrum()
    ds = load_data(args.data, test_data=args.test_data, test_fraction=args.test_fraction, seed=args.seed)
    sampling = SamplingConfig(t_min=args.t_min, t_max=args.t_max, times=args.times, samples=args.samples,
                              sampler=args.sampler, integrator=args.integrator, steps_per_time=args.steps_per_time,
                              score=args.score, keep_samples=args.save_samples is not None)
    source = DataSource(sigma=str(spectrum), data=args.data, test_data=args.test_data,
                        test_fraction=args.test_fraction)
    score_model = replace(GENERATION_SCORE_MODEL, activation=args.activation, noise_samples=noise_samples, ridge=ridge,
                          model=args.model, mehler=MehlerRule(max_order=args.max_order, tol=GENERATION_MEHLER.tol))
    validate(d=args.d, psi_p=args.psi_p, psi_n=args.psi_n, tau=args.tau, seeds=args.seeds, seed=args.seed,
             sampling=sampling, readoff=ReadoffConfig(mem_threshold=args.mem_threshold,
                                                      gen_tolerance=args.gen_tolerance),
             source=source, score_model=score_model, dataset=ds)
    collapse_entropy = check_collapse_entropy(args.collapse_entropy)
    readoff = ReadoffConfig(mem_threshold=args.mem_threshold, gen_tolerance=args.gen_tolerance,
                            collapse_entropy=collapse_entropy)
    runner = SweepRunner(workers=args.workers, scheduler=args.scheduler, checkpoint=ckpt, restart=args.restart)
    res = generation_experiment(args.psi_n, d=args.d, psi_p=args.psi_p, tau=args.tau, seeds=args.seeds,
                                seed=args.seed, source=source, sampling=sampling, readoff=readoff,
                                score_model=score_model, runner=runner, progress=not args.no_progress)
    params = dict(res.parameters, sigma_spectrum=None if args.data is not None else str(spectrum))
    params.pop("sigma", None)
    summary = res.summary()
    with OutputSet() as outs:
        # kl_estimate is NaN for --score empirical: (L3) has no closed form there (theory/generation.md)
        outs.result(out, res.table, params, header=HEADER, undefined=("kl_estimate",), points=res.points, fits=res.fits,
                    summary=summary, plot=Path(args.plot).name if args.plot else None,
                    save_samples=Path(args.save_samples).name if args.save_samples else None,
                    map_csv=map_out.name if map_out is not None else None)
        if map_out is not None:  # n_peaks = 0 marks a time with no peak: tau_mem_t is NaN there
            outs.csv(map_out, res.map_table, MAP_HEADER, params, undefined=("tau_mem_t",))
        if args.save_samples:
            with open(outs.path(args.save_samples), "wb") as fh:
                np.savez(fh, X=res.X, samples=res.samples, tau=res.tau_samples)
        if args.plot:
            from ..figures.generation import plot_generation  # start-up time: matplotlib on --plot only
            plot_generation(res, outs.path(args.plot))
    ckpt.unlink(missing_ok=True)
    last = {k: v for k, v in summary.items() if "exponent" in k}
    if "tau_mem_samples_predicted" in summary:
        last.update({k: summary[k] for k in ("tau_mem_samples", "tau_mem_samples_relative", "tau_mem_samples_predicted",
                                             "delta_collapse", "law")})
    last.update(n=res.parameters["n"], p=res.parameters["p"], f_mem_inf={f"{q['psi_n']:g}/{q['seed']}": q["f_mem_inf"]
                                                                          for q in res.points})
    print(json_line(last))  # strict JSON: non-finite values are null, as in `rfscore timescales`
    return 0
