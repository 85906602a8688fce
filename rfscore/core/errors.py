"""Error types shared by the API and the CLI.

`InputError` names the offending argument; the CLI turns ``arg`` into the option
name (``psi_p`` -> ``--psi-p``) and exits with status 2 and a one-line message.
`ConvergenceError` is raised by solvers that did not converge, with the parameters.
"""
import math
from typing import Optional

from .deprecation import renamed_keywords


class InputError(ValueError):
    """Bad user input. ``arg`` is the argument name, ``msg`` says the accepted range."""

    def __init__(self, arg: str, msg: str):
        self.arg = arg
        self.msg = msg
        super().__init__(f"{arg}: {msg}")


class ConvergenceError(RuntimeError):
    """A solver failed to converge; the message carries the parameters that caused it."""


def check_positive(arg: str, value, *, strict: bool = True) -> float:
    """Return float(value) if finite and > 0 (>= 0 if not strict), else raise InputError."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(arg, f"must be a number, got {value!r}") from None
    ok = (v > 0) if strict else (v >= 0)
    if not (v == v and abs(v) != float("inf") and ok):
        rng = "> 0" if strict else ">= 0"
        raise InputError(arg, f"must be finite and {rng}, got {value!r}")
    return v


def check_positive_int(arg: str, value) -> int:
    """Return int(value) if it is an integer >= 1, else raise InputError."""
    try:
        v = int(value)
    except (TypeError, ValueError):
        raise InputError(arg, f"must be an integer >= 1, got {value!r}") from None
    if v != float(value) or v < 1:
        raise InputError(arg, f"must be an integer >= 1, got {value!r}")
    return v


@renamed_keywords(m="noise_samples")
def check_noise_samples(noise_samples) -> Optional[int]:
    """m of theory/finite_noise_ridge.md (F1): an integer in [1, 1e9], or None / inf / 'inf' for the exact noise
    average (returned as None)."""
    if noise_samples is None:
        return None
    given = noise_samples
    if isinstance(noise_samples, str):
        if noise_samples.strip().lower() in ("inf", "infinity"):
            return None
        try:
            noise_samples = float(noise_samples)
        except ValueError:
            raise InputError("noise_samples", f"must be an integer >= 1 or inf, got {given!r}") from None
    if isinstance(noise_samples, bool):
        raise InputError("noise_samples", f"must be an integer >= 1 or inf, got {given!r}")
    mf = float(noise_samples)
    if math.isinf(mf) and mf > 0:
        return None
    if not math.isfinite(mf) or mf < 1 or mf != int(mf):
        raise InputError("noise_samples", f"must be an integer >= 1 or inf, got {given!r}")
    if mf > 1e9:
        raise InputError("noise_samples", f"must be an integer in [1, 1e9] or inf, got {given!r}")
    return int(mf)


RIDGE_MAX = 1e6  # the largest ridge λ accepted: far beyond every eigenvalue scale of U


@renamed_keywords(lam="ridge")
def check_ridge(ridge) -> float:
    """The ridge λ of theory/finite_noise_ridge.md (F2): a finite number in [0, RIDGE_MAX = 1e6]."""
    given = ridge
    try:
        ridge = float(ridge)
    except (TypeError, ValueError):
        ridge = math.nan
    if not (math.isfinite(ridge) and 0 <= ridge <= RIDGE_MAX):
        raise InputError("ridge", f"must be a finite number in [0, 1e6], got {given!r}")
    return ridge
