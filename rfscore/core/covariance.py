"""The data covariance Σ, given by its spectrum ρ_Σ = Σ_k w_k δ(λ - λ_k).

At finite size `d`, a spectrum means the diagonal Σ whose eigenvalues come in blocks
in the order given: the first ≈ w_1·d diagonal entries equal λ_1, the next ≈ w_2·d
equal λ_2, and so on (block sizes by largest remainder, so they sum to `d`).

Power laws (theory/asymptotic.md §8, (A11)): ``powerlaw:ALPHA[:CUTOFF]`` is the spectrum
λ_k = k^{-α}/m_K, k = 1..K (K = CUTOFF, default 100), m_K = (1/K) Σ_k k^{-α} (mean 1), each of
weight 1/K. At d = K, Σ = diag(λ_1, …, λ_K) exactly; at d = jK each λ_k is repeated j times.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Tuple

import numpy as np

from .errors import InputError
from .precision import float64


POWER_LAW_CUTOFF = 100  # default number K of distinct power-law eigenvalues, (A11)
MAX_POWER_LAW_CUTOFF = 100_000


@float64
@dataclass(frozen=True)
class SigmaSpectrum:
    """Eigenvalues ``eigenvalues`` (> 0) with weights ``weights`` (>= 0, sum 1).

    ``label``: the text it was made from when that is shorter than the list (e.g. 'powerlaw:1.5:100');
    not part of equality.
    """

    eigenvalues: Tuple[float, ...] = (1.0,)
    weights: Tuple[float, ...] = (1.0,)
    label: str = field(default="", compare=False)

    def __post_init__(self):
        sigma_eigvals = tuple(float(x) for x in np.ravel(self.eigenvalues))
        w = tuple(float(x) for x in np.ravel(self.weights))
        object.__setattr__(self, "eigenvalues", sigma_eigvals)
        object.__setattr__(self, "weights", w)
        if len(sigma_eigvals) == 0 or len(sigma_eigvals) != len(w):
            raise InputError("sigma_spectrum", f"needs as many eigenvalues as weights (got {len(sigma_eigvals)} and {len(w)})")
        if not all(np.isfinite(sigma_eigvals)) or min(sigma_eigvals) <= 0:
            raise InputError("sigma_spectrum", f"eigenvalues must be finite and > 0, got {sigma_eigvals}")
        if not all(np.isfinite(w)) or min(w) < 0:
            raise InputError("sigma_spectrum", f"weights must be finite and >= 0, got {w}")
        if abs(sum(w) - 1.0) > 1e-9:
            raise InputError("sigma_spectrum", f"weights must sum to 1, got sum {sum(w):.12g}")

    @classmethod
    def parse(cls, text: str) -> "SigmaSpectrum":
        """Parse ``"l1:w1,l2:w2,..."`` (e.g. ``"0.5:0.5,1.5:0.5"``; ``"1:1"`` is Σ = I) or
        ``"powerlaw:ALPHA[:CUTOFF]"`` (`power_law`)."""
        if str(text).replace(" ", "").lower().startswith("powerlaw"):
            return cls._parse_power_law(str(text).replace(" ", ""))
        try:
            pairs = [item.split(":") for item in str(text).replace(" ", "").split(",") if item]
            sigma_eigvals = [float(a) for a, _ in pairs]
            w = [float(b) for _, b in pairs]
        except ValueError:
            raise InputError("sigma_spectrum", f"expected 'eigenvalue:weight,...' such as '0.5:0.5,1.5:0.5', got {text!r}") from None
        return cls(tuple(sigma_eigvals), tuple(w))

    @classmethod
    def power_law(cls, alpha: float, cutoff: int = POWER_LAW_CUTOFF) -> "SigmaSpectrum":
        """λ_k = k^{-α}/m_K, k = 1..K (K = ``cutoff``), weights 1/K, m_K = (1/K) Σ_k k^{-α} (mean 1); (A11).

        α > 0 (any: the cutoff K keeps every moment finite, also for α ≥ 1, where the
        mean-normalised spectrum of k = 1..d has no d → ∞ limit). Eigenvalues in decreasing order.
        """
        alpha = float(alpha)
        if not np.isfinite(alpha) or alpha <= 0:
            raise InputError("sigma_spectrum", f"power-law exponent must be finite and > 0, got {alpha:g}")
        if isinstance(cutoff, bool) or int(cutoff) != cutoff or not 1 <= int(cutoff) <= MAX_POWER_LAW_CUTOFF:
            raise InputError("sigma_spectrum", f"power-law cutoff K must be an integer in [1, "
                                               f"{MAX_POWER_LAW_CUTOFF}], got {cutoff}")
        k = np.arange(1, int(cutoff) + 1, dtype=np.float64)
        sigma_eigvals = k ** -alpha
        sigma_eigvals = sigma_eigvals / sigma_eigvals.mean()
        return cls(tuple(sigma_eigvals), tuple(np.full(k.size, 1.0 / k.size)), label=f"powerlaw:{alpha:g}:{int(cutoff)}")

    @classmethod
    def _parse_power_law(cls, text: str) -> "SigmaSpectrum":
        parts = text.split(":")
        usage = f"expected 'powerlaw:ALPHA' or 'powerlaw:ALPHA:CUTOFF' (e.g. 'powerlaw:1.5', 'powerlaw:1.5:100'), got {text!r}"
        if parts[0].lower() != "powerlaw" or len(parts) not in (2, 3):
            raise InputError("sigma_spectrum", usage)
        try:
            alpha = float(parts[1])
            cutoff = float(parts[2]) if len(parts) == 3 else POWER_LAW_CUTOFF
        except ValueError:
            raise InputError("sigma_spectrum", usage) from None
        if not np.isfinite(cutoff):
            raise InputError("sigma_spectrum", f"power-law cutoff K must be a finite integer, got {parts[2]!r}")
        return cls.power_law(alpha, cutoff)

    @classmethod
    def from_matrix(cls, sigma: np.ndarray) -> "SigmaSpectrum":
        """The empirical spectrum of a full covariance matrix (weights 1/d each)."""
        ev = np.linalg.eigvalsh(np.asarray(sigma, dtype=np.float64))
        return cls(tuple(ev), tuple(np.full(ev.size, 1.0 / ev.size)))

    @property
    def mean(self) -> float:
        """Tr Σ / d = E_{ρ_Σ}[λ]  (a variance)."""
        return float(np.dot(self.weights, self.eigenvalues))

    @property
    def sigma_x(self) -> float:
        """σ_x = √(Tr Σ / d), the standard deviation used in κ = e^{-t} σ_x (G1)."""
        return float(np.sqrt(self.mean))

    @property
    def single_eigenvalue(self) -> float | None:
        """σ_x² when Σ = σ_x² I (one atom of positive weight), else None."""
        sigma_eigvals = np.asarray(self.eigenvalues)[np.asarray(self.weights) > 0]
        return float(sigma_eigvals[0]) if sigma_eigvals.size == 1 else None

    @property
    def is_isotropic(self) -> bool:
        sigma_eigvals = np.asarray(self.eigenvalues)[np.asarray(self.weights) > 0]
        return bool(np.allclose(sigma_eigvals, 1.0))

    def block_sizes(self, d: int) -> np.ndarray:
        """Integer block sizes summing to d, by largest remainder of w_k·d."""
        raw = np.asarray(self.weights) * d
        sizes = np.floor(raw).astype(int)
        rest = d - sizes.sum()
        order = np.argsort(-(raw - sizes), kind="stable")
        sizes[order[:rest]] += 1
        return sizes

    def diagonal(self, d: int) -> np.ndarray:
        """The diagonal of Σ at size d, shape (d,), eigenvalues in blocks in the order given."""
        return np.repeat(np.asarray(self.eigenvalues), self.block_sizes(d))

    def matrix(self, d: int) -> np.ndarray:
        """Σ at size d, shape (d, d)."""
        return np.diag(self.diagonal(d))

    def expect(self, f):
        """E_{λ~ρ_Σ}[f(λ)] for a vectorised f."""
        sigma_eigvals = np.asarray(self.eigenvalues)
        return np.tensordot(np.asarray(self.weights), f(sigma_eigvals), axes=(0, 0))

    def to_dict(self) -> dict:
        out = {"eigenvalues": list(self.eigenvalues), "weights": list(self.weights)}
        return {**out, "label": self.label} if self.label else out

    def __str__(self) -> str:
        return self.label or ",".join(f"{l:g}:{w:g}" for l, w in zip(self.eigenvalues, self.weights))


ISOTROPIC = SigmaSpectrum()


@float64
def validate_sigma_matrix(sigma, d: int | None = None, arg: str = "sigma_matrix") -> np.ndarray:
    """Check a full covariance: finite, square, symmetric, positive definite, size d."""
    s = np.asarray(sigma, dtype=np.float64)
    if s.ndim != 2 or s.shape[0] != s.shape[1]:
        raise InputError(arg, f"must be a square (d, d) matrix, got shape {s.shape}")
    if d is not None and s.shape[0] != d:
        raise InputError(arg, f"has size {s.shape[0]} but d = {d}")
    if not np.all(np.isfinite(s)):
        raise InputError(arg, "contains non-finite values")
    if not np.allclose(s, s.T, rtol=1e-10, atol=1e-12 * max(1.0, np.abs(s).max())):
        raise InputError(arg, "must be symmetric")
    if np.linalg.eigvalsh(s).min() <= 0:
        raise InputError(arg, "must be positive definite")
    return s


@float64
def sigma_matrix(sigma, d: int) -> np.ndarray:
    """Σ at size d from a `SigmaSpectrum` or its text form ('0.5:0.5,1.5:0.5', 'powerlaw:1.5';
    diagonal, eigenvalues in blocks), a (d, d) matrix (array or nested lists), or None (Σ = I)."""
    if sigma is None:
        return np.eye(d)
    if isinstance(sigma, str):
        sigma = SigmaSpectrum.parse(sigma)
    if isinstance(sigma, SigmaSpectrum):
        return sigma.matrix(d)
    return validate_sigma_matrix(sigma, d)


@float64
def l_opt(sigma, t: float) -> float:
    """Smallest test loss, that of the true score: 1 - Δ Tr(Σ_t^{-1})/d = 1 - Δ E_ρΣ[1/(e^{-2t}λ + Δ)]  (L3).

    ``sigma``: a (d, d) covariance matrix or a `SigmaSpectrum` (its d → ∞ value). The one
    implementation of L_opt (theory/model.md §3).
    """
    dl = -np.expm1(-2.0 * float(t))
    if isinstance(sigma, SigmaSpectrum):
        sigma_eigvals, w = np.asarray(sigma.eigenvalues), np.asarray(sigma.weights)
    else:
        sigma_eigvals = np.linalg.eigvalsh(np.asarray(sigma))
        w = np.full(sigma_eigvals.size, 1.0 / sigma_eigvals.size)
    return float(1.0 - dl * np.dot(w, 1.0 / (np.exp(-2.0 * t) * sigma_eigvals + dl)))
