"""Losses along training time τ: the result type shared by the finite-size and d → ∞ paths.

τ is the training time of theory/model.md §4 (dA/dτ = -d² ∇_A L_train); τ = inf is the end of the flow.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import InputError
from .precision import float64
from .status import HasStatus


@float64
@dataclass(frozen=True)
class Trajectory(HasStatus):
    """Losses on a τ grid, each of shape (T,). ``score_error`` is (L3).

    Status (the scipy/optimistix pattern, theory/krylov.md §6): ``converged`` says whether the
    solver met its tolerance; ``error`` bounds (or, where marked, estimates) the solver's error on
    the train and test losses, max over τ, in units of Δ (so also on the score error (L3)). The
    closed form from a dense eigendecomposition (theory/dynamics.md) is exact up to rounding:
    converged, error 0. Keyword-only, so that subclasses keep their own positional fields.
    """

    tau: np.ndarray
    train_loss: np.ndarray
    test_loss: np.ndarray
    score_error: np.ndarray
    l_opt: float
    delta_t: float
    converged: bool = field(default=True, kw_only=True)
    error: float = field(default=0.0, kw_only=True)

    @property
    def has_score_error(self) -> bool:
        """False for real data (theory/real_data.md): Σ unknown, so L_opt and (L3) are not defined."""
        return bool(np.isfinite(self.l_opt))

    def excess(self, which: str = "train_loss") -> np.ndarray:
        """(L - L_opt)/Δ: the excess loss in units of Δ (the score error for the test loss)."""
        if not self.has_score_error:
            raise ValueError("L_opt is not defined for real data (the true score is unknown): no excess loss")
        return (getattr(self, which) - self.l_opt) / self.delta_t

    def columns(self) -> dict:
        """CSV columns; ``score_error`` only when L_opt is defined (Σ known)."""
        cols = {"tau": self.tau, "train_loss": self.train_loss, "test_loss": self.test_loss}
        if self.has_score_error:
            cols["score_error"] = self.score_error
        return cols


@float64
def check_tau(tau) -> np.ndarray:
    """Validate a τ grid: 1-d, every τ > 0 (inf allowed), no NaN."""
    tau = np.atleast_1d(np.asarray(tau, dtype=np.float64))
    if tau.ndim != 1 or tau.size == 0:
        raise InputError("tau", f"must be a non-empty 1-d array, got shape {tau.shape}")
    if np.any(np.isnan(tau)) or np.any(tau <= 0):
        raise InputError("tau", "every training time must be > 0 (inf allowed)")
    return tau
