"""Shared argument types and options of the CLI sub-commands."""
from __future__ import annotations

import argparse
import math
import re
import sys

from ..core.activations import ACTIVATIONS
from ..core.covariance import SigmaSpectrum
from ..core.errors import RIDGE_MAX, ConvergenceError, InputError, check_noise_samples, check_ridge
from ..runtime.io import check_outputs


class OneLineParser(argparse.ArgumentParser):
    """argparse with a one-line error message (no usage dump) and exit status 2.

    A value that starts with '-' but is not an option (``--sigma-spectrum -1:1``) is taken
    as the option's value, so that its own check reports it (argparse alone would say
    "expected one argument").
    """

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {cli_text(message)}\n")

    def parse_known_args(self, args=None, namespace=None):
        if args is not None:
            args = self._join_dash_values(list(args))
        return super().parse_known_args(args, namespace)

    def _join_dash_values(self, args: list) -> list:
        takes_value = {opt for a in self._actions if a.option_strings and a.nargs is None
                       for opt in a.option_strings}
        out, i = [], 0
        while i < len(args):
            tok = args[i]
            nxt = args[i + 1] if i + 1 < len(args) else None
            if (tok in takes_value and isinstance(nxt, str) and nxt.startswith("-") and not nxt.startswith("--")
                    and len(nxt) > 1 and nxt not in self._option_string_actions):
                out.append(f"{tok}={nxt}")
                i += 2
                continue
            out.append(tok)
            i += 1
        return out


# library parameter -> the option that sets it, where the two names differ (every command): the library names
# its own parameters, the command line shows options
PARAMETER_OPTIONS = {"tol": "mehler_tol", "folder": "out", "checkpoint": "out"}
_PARAMETER = re.compile(r"`([a-z][a-z0-9_]*)`")


def option_name(arg: str) -> str:
    """API argument name -> CLI option name: ``psi_p`` -> ``--psi-p``, ``folder`` -> ``--out``."""
    return arg if arg.startswith("-") else "--" + PARAMETER_OPTIONS.get(arg, arg).replace("_", "-")


def cli_text(message: str) -> str:
    """A library message as the command line prints it: each parameter it names in backticks (`` `ridge` ``)
    becomes its option (``--ridge``)."""
    return _PARAMETER.sub(lambda m: option_name(m.group(1)), message)


def _number(text, kind=float):
    try:
        v = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if isinstance(v, float) and math.isnan(v):
        raise argparse.ArgumentTypeError("must not be NaN")
    return v


def positive_float(text) -> float:
    """A finite float > 0."""
    v = _number(text)
    if not (0 < v < math.inf):
        raise argparse.ArgumentTypeError(f"must be finite and > 0, got {text}")
    return v


# Accepted ranges of the physical inputs: outside them the numerics lose their accuracy guarantees
# (checked in tests/test_cli_bad_input.py) and the input is refused as bad input, not as a failed solve.
# t: Δ_t = 1 - e^{-2t} ≥ 2e-5 keeps the (A1) residual at 1e-10 reachable (at t = 1e-6 it is not);
# e^{-2t} at t = 50 is 4e-44, pure noise already. τ: e^{-cλτ} and λτ stay finite in float64 for every
# spectrum the solvers accept. ψ (d → ∞ commands): the contour of (A1) spans the spectrum's scale,
# which is representable for ratios in this range.


class Range:
    """The accepted range of one quantity, the one source of its argparse check and its help text.

    ``Range(1e-12, 1e30, "τ")``: ``r.text`` = "in [1e-12, 1e+30]" for help strings, ``r`` the argparse
    type of one value, ``r.value(text, arg)`` the same check for a value resolved after parsing (InputError
    naming ``arg``), ``r.list()`` the type of a comma-separated list (distinct values; ``inf=True`` also
    accepts inf), every command using the same object for the same quantity. ``lo_open``/``hi_open``
    exclude a bound ("(0, 1e3]", "[0, 1)"); ``integer`` accepts integers only ("an integer in [1, 1000]").
    """

    def __init__(self, lo: float, hi: float, symbol: str = "", interval: str | None = None, *,
                 lo_open: bool = False, hi_open: bool = False, integer: bool = False):
        self.lo, self.hi, self.symbol = float(lo), float(hi), symbol
        self.lo_open, self.hi_open, self.integer = lo_open, hi_open, integer
        fmt = (lambda x: str(int(x))) if integer else (lambda x: f"{x:g}")
        self._interval = interval or f"{'(' if lo_open else '['}{fmt(self.lo)}, {fmt(self.hi)}{')' if hi_open else ']'}"
        self.__name__ = f"in_{lo:g}_{hi:g}"

    def contains(self, v) -> bool:
        return (self.lo < v if self.lo_open else self.lo <= v) and (v < self.hi if self.hi_open else v <= self.hi)

    def __iter__(self):  # unpacks as the (lo, hi) tuple it replaces
        return iter((self.lo, self.hi))

    def __getitem__(self, i):
        return (self.lo, self.hi)[i]

    @property
    def text(self) -> str:
        return f"in {self._interval}"

    def check(self, v: float, text=None) -> float:
        if not self.contains(v):
            kind = "an integer " if self.integer else ""
            raise argparse.ArgumentTypeError(f"must be {kind}{self.text}, got {text if text is not None else v}")
        return v

    def __call__(self, text) -> float:
        if self.integer:
            try:
                v = int(text)
            except (TypeError, ValueError):
                raise argparse.ArgumentTypeError(f"must be an integer {self.text}, got {text!r}") from None
            return self.check(v, text)
        return self.check(_number(text), text)

    def value(self, text, arg: str):
        """``text`` parsed and checked after argparse (e.g. a value from a protocol table): InputError naming
        ``arg`` (the CLI prints its option) with the same message as the argparse type."""
        try:
            return self(text)
        except argparse.ArgumentTypeError as exc:
            raise InputError(arg, str(exc)) from None

    def list(self, inf: bool = False, distinct: bool = True):
        """argparse type: comma-separated values in this range (and ``inf`` when allowed), no repeats."""
        def parse(text) -> list:
            out = []
            for item in str(text).split(","):
                item = item.strip()
                if not item:
                    raise argparse.ArgumentTypeError(f"has an empty item in {text!r}: write values separated by "
                                                     "single commas")
                v = _number(item)
                if not (inf and v == math.inf):
                    if not self.contains(v):
                        raise argparse.ArgumentTypeError(f"every value must be {self.text}"
                                                         + (" or inf" if inf else "") + f", got {item}")
                if distinct and v in out:
                    raise argparse.ArgumentTypeError(f"repeats a value: {item} (every value must be distinct)")
                out.append(v)
            return out
        parse.__name__ = f"list_{self.__name__}"
        return parse


def float_in(lo: float, hi: float):
    """argparse type: a float in [lo, hi] (a `Range`)."""
    return Range(lo, hi)


T_RANGE = Range(1e-5, 50.0, "t")
TAU_RANGE = Range(1e-12, 1e30, "τ")
RATIO_RANGE = Range(1e-4, 1e6, "ψ")
RIDGE_RANGE = Range(0.0, RIDGE_MAX, "λ", "[0, 1e6]")  # the help text of `check_ridge`'s range


diffusion_time = T_RANGE
tau_value = TAU_RANGE
ratio = RATIO_RANGE


# the Mehler truncation (E4): below 1e-14 the bound sits under float64 rounding of the matrices' entries;
# above 0.1 it is no accuracy guarantee at all
MEHLER_TOL_RANGE = (1e-14, 0.1)
mehler_tol = float_in(*MEHLER_TOL_RANGE)
MAX_ORDER_LIMIT = 1024


def max_order(text) -> int:
    """argparse type: the highest Mehler order K_max, an integer in [1, MAX_ORDER_LIMIT]."""
    v = positive_int(text)
    if v > MAX_ORDER_LIMIT:
        raise argparse.ArgumentTypeError(f"must be an integer 1 <= K_max <= {MAX_ORDER_LIMIT}, got {text!r}")
    return v


def positive_int(text) -> int:
    """An integer >= 1."""
    v = _number(text, int)
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text}")
    return v


def nonnegative_int(text) -> int:
    v = _number(text, int)
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text}")
    return v


def int_at_least(low: int):
    """argparse type: an integer >= ``low``."""
    def parse(text) -> int:
        v = _number(text, int)
        if v < low:
            raise argparse.ArgumentTypeError(f"must be an integer >= {low}, got {text}")
        return v
    parse.__name__ = f"int_at_least_{low}"
    return parse


SEED_LIMIT = 2**63  # jax.random.PRNGKey (x64) takes a signed 64-bit integer; a larger one overflows


def seed(text) -> int:
    """A PRNG seed: an integer with 0 <= seed < 2^63 (what `jax.random.PRNGKey` accepts)."""
    v = _number(text, int)
    if not 0 <= v < SEED_LIMIT:
        raise argparse.ArgumentTypeError(f"must be an integer with 0 <= seed < 2^63, got {text}")
    return v


def float_list(text, allow_inf: bool = False, hi: float = math.inf) -> list:
    """Comma-separated floats > 0 and ≤ ``hi`` (``inf`` allowed when ``allow_inf``)."""
    out = []
    for item in str(text).split(","):
        item = item.strip()
        if not item:
            raise argparse.ArgumentTypeError(f"has an empty item in {text!r}: write values separated by single commas")
        v = _number(item)
        if v <= 0 or (math.isinf(v) and not allow_inf):
            rng = "> 0 (or inf)" if allow_inf else "finite and > 0"
            raise argparse.ArgumentTypeError(f"every value must be {rng}, got {item}")
        if hi < v < math.inf:
            rng = f"in (0, {hi:g}]" + (" or inf" if allow_inf else "")
            raise argparse.ArgumentTypeError(f"every value must be {rng}, got {item}")
        out.append(v)
    if not out:
        raise argparse.ArgumentTypeError("needs at least one value")
    return out


def sigma_spectrum(text) -> SigmaSpectrum:
    try:
        return SigmaSpectrum.parse(text)
    except InputError as exc:
        raise argparse.ArgumentTypeError(exc.msg) from None


def add_theory_options(p: argparse.ArgumentParser, t_required: bool = True) -> None:
    """--t, --activation, --sigma-spectrum (shared by every command)."""
    p.add_argument("--t", type=diffusion_time, required=t_required, default=None if t_required else 0.01,
                   help=f"diffusion time t in [{T_RANGE[0]:g}, {T_RANGE[1]:g}] (Δ_t = 1 - e^{{-2t}})")
    p.add_argument("--activation", default="tanh", choices=ACTIVATIONS,
                   help="activation σ (default tanh; the Python API takes any zero-mean callable)")
    p.add_argument("--sigma-spectrum", type=sigma_spectrum, default=SigmaSpectrum(),
                   help="data covariance spectrum 'l1:w1,l2:w2,...', eigenvalues > 0, weights >= 0 summing to 1; "
                        "at finite d, Σ is diagonal with its eigenvalues in blocks of ≈ w_k·d entries in the order "
                        "given (default '1:1', Σ = I); or a power law 'powerlaw:ALPHA[:CUTOFF]' (ALPHA > 0): "
                        "eigenvalues k^-ALPHA, k = 1..CUTOFF (default 100), normalised to mean 1, each of weight "
                        "1/CUTOFF (theory/asymptotic.md (A11))")


def add_ratio_options(p: argparse.ArgumentParser) -> None:
    rng = f"in [{RATIO_RANGE[0]:g}, {RATIO_RANGE[1]:g}]"
    p.add_argument("--psi-p", type=ratio, required=True, help=f"ψ_p = p/d {rng} (features per dimension)")
    p.add_argument("--psi-n", type=ratio, required=True, help=f"ψ_n = n/d {rng} (training samples per dimension)")


INPUT_OPTIONS = ("data", "weights", "sigma_matrix", "test_data")  # options that name an input file


def input_files(args) -> dict:
    """``{option: path}`` of the input files a command reads (``--data digits`` and absent options skipped)."""
    return {k: v for k in INPUT_OPTIONS if isinstance(v := getattr(args, k, None), str) and v}


def guard_outputs(args, **outputs) -> dict:
    """The one output guard of every command, called before any computation: `rfscore.runtime.io.check_outputs`
    of ``outputs`` against each other and against every input file of ``args`` (resolved paths and inodes)."""
    return check_outputs(inputs=input_files(args), **outputs)


class no_peak_message:
    """Context: a timescale spectrum without a peak (rfscore/core/peaks.py: "widen the τ grid") gets the message
    of its real cause: with a ridge λ > 0 the ridge damps the slow modes (use a smaller --ridge); without one,
    the τ grid ``grid`` (options, or None when the command's grid is internal)."""

    def __init__(self, ridge: float, grid: str | None):
        self.ridge, self.grid = ridge, grid

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None or not issubclass(exc_type, ConvergenceError) or "widen the τ grid" not in str(exc):
            return False
        head = str(exc).split(";")[0]
        if self.ridge > 0:
            raise ConvergenceError(f"{head}: the ridge λ = {self.ridge:g} damps the slow modes the peak comes from; "
                                   f"use a smaller --ridge") from None
        where = f"widen the τ grid ({self.grid})" if self.grid else "the modes are not separated at these sizes"
        raise ConvergenceError(f"{head}; {where}") from None


def echo(msg: str) -> None:
    print(msg, file=sys.stderr)


def add_progress_option(p: argparse.ArgumentParser) -> None:
    """--no-progress: every command with long work has it (the bar goes to stderr)."""
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def check_seeds(args, seeds_arg: str = "seeds") -> None:
    """The seeds seed, ..., seed + seeds - 1 must all be PRNG seeds (< 2^63)."""
    if args.seed + getattr(args, seeds_arg) > SEED_LIMIT:
        raise InputError(seeds_arg, f"--seed {args.seed} + --seeds {getattr(args, seeds_arg)} - 1 exceeds the "
                                    f"largest seed 2^63 - 1")


def add_sweep_options(p: argparse.ArgumentParser, processes_from: int, size: str) -> None:
    """--workers, --scheduler, --no-progress, --restart: how a resumable sweep runs (rfscore.runtime.sweep).
    ``processes_from``, ``size``: the default-worker rule of this sweep, for the help text."""
    p.add_argument("--workers", type=positive_int, default=None,
                   help=f"local worker processes >= 1 (default: 1, serially, unless the sweep has at least 2 points "
                        f"and {size} >= {processes_from}, then the CPU count, at most one per point: below that, "
                        f"starting the worker processes costs more than they save)")
    p.add_argument("--scheduler", default=None, help="Dask scheduler address tcp://HOST:PORT (needs rfscore[dask])")
    add_progress_option(p)
    p.add_argument("--restart", action="store_true",
                   help="discard an existing OUT.partial.jsonl instead of resuming from it")


tau_list = TAU_RANGE.list(inf=True)  # comma-separated distinct training times τ in TAU_RANGE, or inf
ratio_list = RATIO_RANGE.list()  # comma-separated distinct ratios ψ in RATIO_RANGE


def noise_samples_value(text) -> float:
    """m, noise draws per training point frozen for the whole training: an integer in [1, 1e9], or inf
    (the exact noise average), checked by the library (`rfscore.core.errors.check_noise_samples`); returned as
    a float (inf for m = ∞). theory/finite_noise_ridge.md (F1)."""
    try:
        m = check_noise_samples(str(text).strip())
    except InputError as exc:
        raise argparse.ArgumentTypeError(exc.msg) from None
    return math.inf if m is None else float(m)


def ridge_value(text) -> float:
    """The ridge λ in RIDGE_RANGE = [0, 1e6] (penalty λΔ‖A‖²/(pd), theory/finite_noise_ridge.md (F2)), checked by
    the library (`rfscore.core.errors.check_ridge`)."""
    try:
        return check_ridge(str(text).strip())
    except InputError as exc:
        raise argparse.ArgumentTypeError(exc.msg) from None


def list_of(item_type):
    """argparse type: comma-separated values of ``item_type`` (no empty items, no repeated value)."""
    def parse(text) -> list:
        out = []
        for item in str(text).split(","):
            if not item.strip():
                raise argparse.ArgumentTypeError(f"has an empty item in {text!r}: write values separated by single commas")
            v = item_type(item)
            if v in out:
                raise argparse.ArgumentTypeError(f"repeats a value: {item.strip()} (every value must be distinct)")
            out.append(v)
        return out
    parse.__name__ = f"list_of_{item_type.__name__}"
    return parse


def add_noise_ridge_options(p: argparse.ArgumentParser, what: str = "") -> None:
    """--noise-samples M (frozen draws, default inf) and --ridge L (default 0)."""
    p.add_argument("--noise-samples", type=noise_samples_value, default=math.inf,
                   help="m noise draws per training point, drawn once and frozen for the whole training: an integer "
                        ">= 1, or inf for the exact noise average (default inf); theory/finite_noise_ridge.md" + what)
    p.add_argument("--ridge", type=ridge_value, default=0.0,
                   help=f"ridge λ {RIDGE_RANGE.text}: the penalty λΔ‖A‖²/(pd), U -> U + λI in the flow "
                        "(default 0)")


def finite_m(value) -> int | None:
    """The library's m (None for ∞) from a parsed --noise-samples value."""
    return None if value is None or math.isinf(value) else int(value)
