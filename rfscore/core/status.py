"""One status convention for every result (the optimistix pattern: a solution carries its outcome, the
caller chooses whether a failure raises): ``converged`` (bool), ``error`` (the solver's error estimate or
bound, in the result's documented units; 0 for closed forms) and ``message`` (empty when converged, else
one line naming what failed and the parameters). Per-point detail (a flag per λ, per grid time, per
sweep point) stays on the result beside this scalar status.

Every entry point that can fail to converge takes ``throw``: True raises `ConvergenceError` with the
message, False returns the result flagged. ``require``, its former name, works for one version: the
entry points take it through `rfscore.core.deprecation.require_keyword` (not in their signatures).
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from .deprecation import REQUIRE_NOTE
from .errors import ConvergenceError
from .precision import float64


@float64
@dataclass(frozen=True)
class Status:
    """converged: whether every part met its tolerance; error: the estimate or bound (units of the
    result, NaN where none was computed); message: '' when converged, else what failed."""

    converged: bool
    error: float = 0.0
    message: str = ""

    def check(self, throw: bool = True) -> "Status":
        """Raise `ConvergenceError` with the message when ``throw`` and not converged; else return self."""
        if throw and not self.converged:
            raise ConvergenceError(self.message or "did not converge")
        return self


@float64
def status_of(result) -> Status:
    """The `Status` of any rfscore result: its ``converged`` (a per-point array counts as all(...)), its
    ``error`` (NaN if it has none) and its message (``message`` or ``diagnostics['message']``)."""
    conv = getattr(result, "converged", True)
    conv = bool(np.all(conv))
    err = getattr(result, "error", math.nan)
    err = float(err) if err is not None else math.nan
    msg = getattr(result, "message", None)
    if not isinstance(msg, str):
        msg = (getattr(result, "diagnostics", None) or {}).get("message", "") if isinstance(
            getattr(result, "diagnostics", None), dict) else ""
    return Status(converged=conv, error=err, message="" if conv else (msg or "did not converge"))


@float64
def throw_option(throw: bool, require=None) -> bool:
    """``throw``, or the deprecated ``require`` when a caller still passes it (one version, with a
    DeprecationWarning naming the new keyword)."""
    if require is None:
        return bool(throw)
    warnings.warn(REQUIRE_NOTE, DeprecationWarning, stacklevel=3)
    return bool(require)


@float64
class HasStatus:
    """Mixin of every result type: ``status`` (a `Status`) from the result's own ``converged``, ``error``
    and message; the per-point detail stays in the result's own fields."""

    @property
    def status(self) -> Status:
        return status_of(self)


@float64
class NoErrorEstimate(HasStatus):
    """Mixin of a result that carries flags but no error estimate of its own (read-offs and fits of network runs,
    a training run, a bounded search): ``error`` is NaN, the one rule for all of them. A class attribute, so that
    nothing shadows it; before `PointStatus` among the bases where both apply."""

    error = math.nan


@float64
class PointStatus(HasStatus):
    """Mixin of a result with a flag per point (``point_converged``: per seed, per sweep point, per grid
    value; None when none was recorded): ``converged`` is True when every point converged. The type keeps
    its own ``error`` and ``message`` (which points failed, in its own coordinates)."""

    @property
    def converged(self) -> bool:
        flags = self.point_converged
        return True if flags is None else bool(np.all(flags))

