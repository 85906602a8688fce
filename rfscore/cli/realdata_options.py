"""Real-data options of `rfscore dynamics` and `rfscore timescales` (theory/real_data.md).

``--data digits|X.npy`` with a held-out set (``--test-data T.npy`` or ``--test-fraction F``;
``digits`` defaults to F = 0.2) switches a command to real data: U, V from the training
rows, U_pop, V_pop from the held-out rows ((R1)), no Gaussian assumption and no score
error. ``--compare-gaussian`` adds the Gaussian-equivalent prediction with Σ̂ ((R3)-(R4)).
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np

from ..data.datasets import DEFAULT_TEST_FRACTION, DIGITS, Dataset, load_dataset
from ..core.errors import InputError
from ..runtime.io import load_array
from ..data.realdata import RealDataKeys
from ..finite.krylov import choose_solver
from ..runtime.resources import check_memory, model_bytes, size_arg, trajectory_bytes
from ..finite.inputs import sample_weights, size_of

DATA_HELP = (f"training data: '{DIGITS}' (scikit-learn's bundled 8×8 digits, 1797 × 64, needs pip install "
             "\"rfscore[data]\"; its 3 always-zero pixels are dropped, d = 61) or a float .npy array (n, d), rows "
             "are samples. With a held-out set (--test-data/--test-fraction; digits: default --test-fraction "
             f"{DEFAULT_TEST_FRACTION:g}) the run is on real data: normalised so that Tr Σ̂/d = 1, test loss over "
             "the held-out rows, no score error, n = round(ψ_n d) rows of the shuffled training pool (default: "
             "all; theory/real_data.md). A file without a held-out set is taken as draws from N(0, Σ) with Σ "
             "from --sigma-*")


def test_fraction(text) -> float:
    """A fraction 0 < F < 1."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (0.0 < v < 1.0):
        raise argparse.ArgumentTypeError(f"must lie strictly between 0 and 1, got {text}")
    return v


def add_realdata_options(p: argparse.ArgumentParser, data: bool = False, data_help: str = DATA_HELP) -> None:
    """--test-data, --test-fraction, --compare-gaussian (and --data when ``data``, with ``data_help``)."""
    if data:
        p.add_argument("--data", metavar="digits|X.npy", help=data_help)
    p.add_argument("--test-data", metavar="T.npy", help="held-out rows (n_test, d) for the test loss (R1), same "
                                                        "columns as --data; normalised by the same map (R3)")
    p.add_argument("--test-fraction", type=test_fraction, metavar="F",
                   help="hold out round(F·N) of the --data rows (0 < F < 1), drawn by --seed")
    p.add_argument("--compare-gaussian", action="store_true",
                   help="also compute the Gaussian-equivalent prediction with Σ̂, the dataset's covariance: "
                        "(G4)-(G6) with data drawn from N(0, Σ̂), same n, p, t and W (theory/real_data.md (R4))")


def is_real(args) -> bool:
    """True when the command runs on real data (digits, or a held-out set given)."""
    return (getattr(args, "data", None) == DIGITS or getattr(args, "test_data", None) is not None
            or getattr(args, "test_fraction", None) is not None)


def check_compare(args) -> None:
    if getattr(args, "compare_gaussian", False) and not is_real(args):
        raise InputError("compare_gaussian", "needs real data: --data digits, or --data X.npy with --test-data or "
                                             "--test-fraction")


def check_conflicts(args) -> None:
    """Options that make no sense on real data (Σ is estimated, not given; the model is exact)."""
    if getattr(args, "data", None) is None:
        raise InputError("data", "--test-data/--test-fraction need --data (digits or X.npy)")
    for name in ("sigma_matrix", "sigma_spectrum"):
        if getattr(args, name, None) is not None:
            raise InputError(name, "real data: Σ is unknown; the Gaussian-equivalent comparison uses Σ̂ of the data "
                                   "(--compare-gaussian)")
    if getattr(args, "model", None) == "gep":
        raise InputError("model", "real data uses the exact noise averages (theory/exact_matrices.md); the "
                                  "Gaussian-equivalent model enters through --compare-gaussian")


def effective_test_fraction(args):
    """--test-fraction as run: digits without a held-out set use the default fraction."""
    if args.test_fraction is None and args.test_data is None and args.data == DIGITS:
        return DEFAULT_TEST_FRACTION
    return args.test_fraction


def load(args, seed: int) -> Dataset:
    return load_dataset(args.data, test_data=args.test_data, test_fraction=args.test_fraction,
                        key=RealDataKeys.from_seed(seed).data)


@dataclass(frozen=True)
class RealInputs:
    dataset: Dataset
    W: np.ndarray
    n: int
    keys: RealDataKeys
    parameters: dict

    @property
    def p(self) -> int:
        return self.W.shape[0]

    @property
    def d(self) -> int:
        return self.dataset.d


def real_inputs(args, num_tau: int = 0) -> RealInputs:
    """Dataset, W (p, d) and n for `rfscore dynamics` on real data; everything validated first."""
    check_conflicts(args)
    ds = load(args, args.seed)
    d = ds.d
    if args.d is not None and args.d != d:
        raise InputError("d", f"--d {args.d} contradicts --data {args.data} (d = {d} columns used"
                              + (f", {ds.d_raw - d} constant ones dropped)" if ds.d_raw != d else ")"))
    W = None
    if args.weights is not None:
        W = load_array(args.weights, "weights", ndim=2)
        if W.shape[1] != d or W.shape[0] < 1:
            raise InputError("weights", f"{args.weights} has shape {W.shape}; need (p, d) with d = {d} (--data)")
        if args.psi_p is not None and int(round(args.psi_p * d)) != W.shape[0]:
            raise InputError("psi_p", f"--psi-p {args.psi_p:g} contradicts --weights {args.weights} (p = {W.shape[0]})")
        p = W.shape[0]
    elif args.psi_p is None:
        raise InputError("psi_p", "is required (> 0) unless --weights fixes p")
    else:
        p = size_of("psi_p", args.psi_p, d)
    n = ds.n_pool if args.psi_n is None else size_of("psi_n", args.psi_n, d)
    ds.training_set(n)
    solver = getattr(args, "solver", "eigh")
    solver = choose_solver(solver, p=p)
    nbytes = model_bytes(p, max(n, ds.n_test), d, "exact", solver=solver) + trajectory_bytes(num_tau, p)
    if getattr(args, "compare_gaussian", False):
        nbytes += model_bytes(p, n, d, "gep") + trajectory_bytes(num_tau, p)
    check_memory(nbytes, f"{args.command} on {ds.name} at d = {d}, p = {p}, n = {n}", size_arg(d, p / d, n / d))
    keys = RealDataKeys.from_seed(args.seed)
    W = np.asarray(sample_weights(keys.weights, p, d)) if W is None else W
    params = {"data": args.data, "test_data": args.test_data, "test_fraction": effective_test_fraction(args),
              "d": d, "p": p, "n": n, "n_test": ds.n_test, "psi_p": p / d, "psi_n": n / d, "t": args.t,
              "activation": args.activation, "seed": args.seed, "model": "exact", "weights": args.weights}
    return RealInputs(dataset=ds, W=W, n=n, keys=keys, parameters=params)
