"""`rfscore timescales`: τ_gen, τ_mem, τ_early_stop, τ_gap over ψ_n and seeds, with scaling fits."""
import json

from ..io import check_writable, write_result
from ..timescales import SCAN_COLUMNS, timescale_scan
from .common import add_theory_options, float_list, nonnegative_int, positive_float, positive_int

HEADER = ("psi_n", "psi_p", "t", "seed", "tau_gen", "tau_mem", "tau_early_stop", "tau_gap")


def register(sub) -> None:
    p = sub.add_parser(
        "timescales", help="τ_gen and τ_mem against ψ_n, with the fitted exponents",
        description="Read the generalisation and memorisation times off finite-size systems (timescale-spectrum "
                    "peaks, early-stopping time, gap-opening time) for each ψ_n and seed; write one CSV row per "
                    "(ψ_n, seed) and print, as the last line, a JSON object with the fitted exponents of "
                    "τ_mem ∝ ψ_n^α and τ_gen ∝ ψ_n^β and their 95 %% confidence intervals.")
    p.add_argument("--psi-p", type=positive_float, required=True, help="ψ_p = p/d > 0")
    p.add_argument("--psi-n", type=float_list, required=True, help="comma-separated ψ_n = n/d values > 0 (at least two)")
    add_theory_options(p)
    p.add_argument("--d", type=positive_int, required=True, help="input dimension d >= 1")
    p.add_argument("--seeds", type=positive_int, default=1, help="number of seeds >= 1 (default 1)")
    p.add_argument("--seed", type=nonnegative_int, default=0, help="first seed >= 0 (default 0)")
    p.add_argument("--model", choices=("gep", "exact"), default="gep",
                   help="gep: Gaussian-equivalent (G4)-(G6) (default); exact: §4 noise-averaged matrices")
    p.add_argument("--out", required=True, help="output CSV (a JSON sidecar is written beside it)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=run)


def run(args) -> int:
    check_writable(args.out)
    scan = timescale_scan(args.psi_n, args.psi_p, t=args.t, d=args.d, seeds=args.seeds, seed=args.seed,
                          model=args.model, activation=args.activation, sigma=args.sigma_spectrum,
                          progress=not args.no_progress)
    params = {k: getattr(args, k) for k in ("psi_p", "psi_n", "t", "d", "seeds", "seed", "model", "activation")}
    params["sigma_spectrum"] = args.sigma_spectrum
    write_result(args.out, scan.table, params, header=HEADER,
                 predictions={k: scan.table[k] for k in SCAN_COLUMNS[-2:]},
                 fits={k: f.to_dict() for k, f in scan.fits.items()}, **scan.summary())
    print(json.dumps(scan.summary()))
    return 0
