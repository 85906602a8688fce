"""`rfscore timescales`: τ_gen, τ_mem, τ_early_stop, τ_gap over ψ_n and seeds, with scaling fits."""
from ..core.covariance import ISOTROPIC
from ..core.errors import InputError
from ..runtime.io import json_line, write_result
from ..runtime.resources import check_memory, frozen_noise_bytes, model_bytes, modes_of, size_arg, trajectory_bytes
from ..finite.inputs import effective_ratios, size_of
from ..analysis.timescales import SCAN_COLUMNS, timescale_scan
from ..data.realdata import realdata_scan
from .common import (SEED_LIMIT, add_noise_ridge_options, add_theory_options, finite_m, guard_outputs,
                     no_peak_message, positive_int, ratio, ratio_list, seed)
from .realdata_options import (DATA_HELP, add_realdata_options, check_compare, check_conflicts, effective_test_fraction,
                               is_real, load)

HEADER = ("psi_n", "psi_p", "t", "seed", "tau_gen", "tau_mem", "n_peaks", "tau_early_stop", "tau_gap")


def register(sub) -> None:
    p = sub.add_parser(
        "timescales", help="τ_gen and τ_mem against ψ_n, with the fitted exponents",
        description="Read the generalisation and memorisation times off finite-size systems (timescale-spectrum "
                    "peaks, early-stopping time, gap-opening time) for each ψ_n and seed; write one CSV row per "
                    "(ψ_n, seed), with n_peaks the number of peaks of the timescale spectrum, and print, as the last "
                    "line, a JSON object with n_peaks per ψ_n and the fitted exponents of τ_mem ∝ ψ_n^α and "
                    "τ_gen ∝ ψ_n^β with their 95 % confidence intervals; if any point has a single peak "
                    "(τ_gen = τ_mem, the mode families not separated, theory/timescales.md §5) only the "
                    "single-peak exponent tau_single_peak_exponent is given instead.")
    p.add_argument("--psi-p", type=ratio, required=True, help=f"ψ_p = p/d {ratio.text}")
    p.add_argument("--psi-n", type=ratio_list, required=True,
                   help=f"comma-separated distinct ψ_n = n/d values, each {ratio.text} (at least two)")
    add_theory_options(p)
    p.add_argument("--d", type=positive_int, help="input dimension d >= 1 (required unless --data fixes it)")
    p.add_argument("--seeds", type=positive_int, default=3,
                   help="number of seeds >= 1 (default 3: an exponent from one draw is a sketch, the spread needs several)")
    p.add_argument("--seed", type=seed, default=0, help="first seed, integer 0 <= seed < 2^63 (default 0)")
    p.add_argument("--model", choices=("gep", "exact"), default=None,
                   help="gep: Gaussian-equivalent (G4)-(G6) (default); exact: (E1)-(E3) noise-averaged matrices (theory/exact_matrices.md)")
    add_realdata_options(p, data=True, data_help=DATA_HELP.split(" A file without")[0] + " A .npy file needs "
                         "--test-data or --test-fraction here (timescales has no synthetic --data)")
    add_noise_ridge_options(p, "; synthetic data only; the (T3) predictions in the sidecar are for m = inf and "
                               "λ = 0 (null with a ridge)")
    p.set_defaults(sigma_spectrum=None)  # None = not given (Σ = I on synthetic data)
    p.add_argument("--out", required=True, help="output CSV (a JSON sidecar is written beside it)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=run)


def run(args) -> int:
    guard_outputs(args, out=args.out)
    if args.seed + args.seeds > SEED_LIMIT:
        raise InputError("seeds", f"--seed {args.seed} + --seeds {args.seeds} - 1 exceeds the largest seed 2^63 - 1")
    check_compare(args)
    m = finite_m(args.noise_samples)
    if is_real(args):
        if m is not None or args.ridge > 0:
            raise InputError("noise_samples" if m is not None else "ridge",
                             "is not available with real --data in `rfscore timescales` (synthetic data only)")
        return _run_real(args)
    if args.data is not None:
        raise InputError("data", "a .npy dataset needs a held-out set: --test-data T.npy or --test-fraction F")
    if args.d is None:
        raise InputError("d", "is required (>= 1) unless --data fixes it")
    args.model = args.model or "gep"
    if args.sigma_spectrum is None:
        args.sigma_spectrum = ISOTROPIC
    # Sizes actually run: n = round(ψ_n d), p = round(ψ_p d); table, fits and labels use n/d (theory/model.md).
    p = size_of("psi_p", args.psi_p, args.d)
    runs = effective_ratios(args.psi_n, args.d, "psi_n")
    n_max = max(n for n, _ in runs)
    frozen = 0.0 if m is None else frozen_noise_bytes(n_max, m, args.d, p)
    check_memory(model_bytes(p, n_max, args.d, args.model) + 3 * trajectory_bytes(4001, modes_of(p, n_max, args.d,
                 args.model) if m is None else p) + frozen, f"timescales at d = {args.d}, p = {p}, n = {n_max}",
                 "noise_samples" if frozen > model_bytes(p, n_max, args.d, args.model) else
                 size_arg(args.d, p / args.d, n_max / args.d))
    with no_peak_message(args.ridge, None):
        scan = timescale_scan([r for _, r in runs], p / args.d, t=args.t, d=args.d, seeds=args.seeds, seed=args.seed,
                              model=args.model, activation=args.activation, sigma=args.sigma_spectrum,
                              progress=not args.no_progress, noise_samples=m, ridge=args.ridge)
    params = {k: getattr(args, k) for k in ("psi_p", "psi_n", "t", "d", "seeds", "seed", "model", "activation",
                                            "noise_samples", "ridge")}
    params["sigma_spectrum"] = args.sigma_spectrum
    write_result(args.out, scan.table, params, header=HEADER, psi_n_run=[r for _, r in runs], psi_p_run=p / args.d,
                 predictions={k: scan.table[k] for k in SCAN_COLUMNS[-2:]},
                 fits={k: f.to_dict() for k, f in scan.fits.items()}, **scan.summary())
    print(json_line(scan.summary()))  # strict JSON: an infinite CI is null
    return 0


def _run_real(args) -> int:
    """Real data (theory/real_data.md): τ read-offs from exact matrices of the data, optionally next to Σ̂'s theory."""
    check_conflicts(args)
    ds = load(args, args.seed)
    if args.d is not None and args.d != ds.d:
        raise InputError("d", f"--d {args.d} contradicts --data {args.data} (d = {ds.d} columns used)")
    p = size_of("psi_p", args.psi_p, ds.d)
    runs = effective_ratios(args.psi_n, ds.d, "psi_n")
    n_max = max(n for n, _ in runs)
    ds.training_set(n_max)
    check_memory(model_bytes(p, max(n_max, ds.n_test), ds.d, "exact") + 3 * trajectory_bytes(4001, p)
                 + (model_bytes(p, n_max, ds.d, "gep") if args.compare_gaussian else 0.0),
                 f"timescales on {ds.name} at d = {ds.d}, p = {p}, n = {n_max}", size_arg(ds.d, p / ds.d, n_max / ds.d))
    scan = realdata_scan(args.data, [r for _, r in runs], p / ds.d, t=args.t, test_data=args.test_data,
                         test_fraction=args.test_fraction, seeds=args.seeds, seed=args.seed,
                         activation=args.activation, compare_gaussian=args.compare_gaussian,
                         progress=not args.no_progress)
    header = list(HEADER) + (["tau_gen_gauss", "tau_mem_gauss", "n_peaks_gauss"] if args.compare_gaussian else [])
    params = {k: getattr(args, k) for k in ("psi_p", "psi_n", "t", "seeds", "seed", "activation", "data",
                                            "test_data", "test_fraction", "compare_gaussian")}
    params.update(model="exact", d=ds.d, p=p, n=[n for n, _ in runs], test_fraction=effective_test_fraction(args))
    extra_cols = ("n", "tau_early_stop_gauss", "tau_gap_gauss") if args.compare_gaussian else ("n",)
    write_result(args.out, scan.table, params, header=header, psi_n_run=[r for _, r in runs], psi_p_run=p / ds.d,
                 dataset=scan.dataset, extra_columns={k: scan.table[k] for k in extra_cols},
                 predictions={k: scan.table[k] for k in ("tau_gen_pred", "tau_mem_pred")},
                 score_error="not defined for real data: the true score is unknown (theory/real_data.md)",
                 fits={k: f.to_dict() for k, f in scan.fits.items()}, **scan.summary())
    print(json_line(scan.summary()))  # strict JSON: an infinite CI is null
    return 0
