"""Shared argument types and options of the CLI sub-commands."""
from __future__ import annotations

import argparse
import math
import sys

from ..activations import ACTIVATIONS
from ..covariance import SigmaSpectrum
from ..errors import InputError


class OneLineParser(argparse.ArgumentParser):
    """argparse with a one-line error message (no usage dump) and exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def option_name(arg: str) -> str:
    """API argument name -> CLI option name: ``psi_p`` -> ``--psi-p``."""
    return arg if arg.startswith("-") else "--" + arg.replace("_", "-")


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


def float_list(text, allow_inf: bool = False) -> list:
    """Comma-separated floats > 0 (``inf`` allowed when ``allow_inf``)."""
    out = []
    for item in str(text).split(","):
        item = item.strip()
        if not item:
            continue
        v = _number(item)
        if v <= 0 or (math.isinf(v) and not allow_inf):
            rng = "> 0 (or inf)" if allow_inf else "finite and > 0"
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
    p.add_argument("--t", type=positive_float, required=t_required, default=None if t_required else 0.01,
                   help="diffusion time t > 0 (Δ_t = 1 - e^{-2t})")
    p.add_argument("--activation", default="tanh", choices=ACTIVATIONS,
                   help="activation σ (default tanh; the Python API takes any zero-mean callable)")
    p.add_argument("--sigma-spectrum", type=sigma_spectrum, default=SigmaSpectrum(),
                   help="data covariance spectrum 'l1:w1,l2:w2,...', eigenvalues > 0, weights >= 0 summing to 1; "
                        "at finite d, Σ is diagonal with its eigenvalues in blocks of ≈ w_k·d entries in the order "
                        "given (default '1:1', Σ = I)")


def add_ratio_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--psi-p", type=positive_float, required=True, help="ψ_p = p/d > 0 (features per dimension)")
    p.add_argument("--psi-n", type=positive_float, required=True, help="ψ_n = n/d > 0 (training samples per dimension)")


def echo(msg: str) -> None:
    print(msg, file=sys.stderr)
