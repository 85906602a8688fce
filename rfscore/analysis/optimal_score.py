"""The best score error over training time, E*(ψ_n) = min_τ E_score(τ), in the d → ∞ limit.

theory/optimal_score_error.md. Definitions:

    (O1) E*(ψ_p, ψ_n) = min_{τ > 0} E_score(τ), τ*(ψ_p, ψ_n) = argmin,  E_score of (L3) on the
         asymptotic curve (A4)-(A5) (`limit.asymptotic.asymptotic_curves`); units of (L3) (E_score = 1 at τ = 0)
    (O2) local slope η_loc(ψ_n) = d log E*/d log ψ_n, by finite differences on the log ψ_n grid:
         second-order three-point differences (non-uniform steps) inside, first-order one-sided at the ends
    (O3) population flow E_pop(τ; ψ_p) = 1 − (b_t² ψ_p/Δ) ⟨μ (1 − e^{−2c u(μ) τ})/u(μ)⟩_{ν_C}, Σ = I:
         (L3) for gradient flow on the population loss (U → U_pop), the ψ_n → ∞ limit of (A4) = (A5);
         E_∞(ψ_p) = E_pop(∞) is the τ = ∞ population-optimal readout and the ψ_n → ∞ limit of E*

Everything here is deterministic (no PRNG); all arrays float64.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..core.constants import ge_constants, rate
from ..core.covariance import ISOTROPIC, SigmaSpectrum
from ..core.errors import ConvergenceError, InputError, check_positive
from ..limit.asymptotic import asymptotic_curves, nu_c_quadrature
from ..core.precision import float64
from ..core.status import HasStatus

#: default τ grid: 40 points per decade on [1e-1, 1e7] (321 points); every E* of
#: theory/optimal_score_error.md (ψ_p = 8…128, ψ_n = 0.5…512, t = 0.01) has τ* in [70, 600]
DEFAULT_TAU_GRID = np.geomspace(1e-1, 1e7, 8 * 40 + 1)


@float64
@dataclass(frozen=True)
class OptimalScoreError(HasStatus):
    """E*(ψ_n) of (O1) at one ψ_p and t; every array has shape (len(psi_n),).

    ``e_score_min``: E* in the units of (L3); ``tau_at_min``: τ* in the training-time units of
    theory/model.md §4; ``local_slope``: (O2), dimensionless; ``censored``: the grid minimum lies
    at an end of the τ grid (then E* is only the edge value, an upper bound, and τ* the edge);
    ``tau_gen``, ``tau_mem``: the peaks of the asymptotic timescale spectrum (T1) (equal where the
    spectrum has one peak, theory/timescales.md §5); ``refinement``: |grid minimum − refined
    minimum|, the size of the parabolic correction (units of (L3)).
    ``converged``: every curve converged and no minimum is censored; ``error``: the largest
    quadrature-error estimate of the curves (``diagnostics['quadrature_error']``, units of Δ,
    hence of (L3)).
    """

    psi_n: np.ndarray
    e_score_min: np.ndarray
    tau_at_min: np.ndarray
    local_slope: np.ndarray
    censored: np.ndarray
    tau_gen: np.ndarray
    tau_mem: np.ndarray
    refinement: np.ndarray
    converged: bool
    error: float
    parameters: dict = field(default_factory=dict)

    def columns(self) -> dict:
        """The CSV columns psi_p, psi_n, e_score_min, tau_at_min, local_slope."""
        return {"psi_p": np.full(self.psi_n.shape, self.parameters["psi_p"]), "psi_n": self.psi_n,
                "e_score_min": self.e_score_min, "tau_at_min": self.tau_at_min, "local_slope": self.local_slope}


@float64
def local_slope(psi_n, e) -> np.ndarray:
    """(O2): d log e/d log ψ_n (shape (K,), K ≥ 2) by `np.gradient` on x = log ψ_n — the second-order
    three-point rule for non-uniform steps inside, first-order one-sided differences at the two ends."""
    x = np.log(np.asarray(psi_n, dtype=np.float64))
    y = np.log(np.asarray(e, dtype=np.float64))
    if x.size < 2:
        raise InputError("psi_ns", f"needs at least two values for a slope, got {x.size}")
    return np.gradient(y, x, edge_order=1)


def _check_psi_ns(psi_ns) -> np.ndarray:
    try:
        x = np.atleast_1d(np.asarray(psi_ns, dtype=np.float64))
    except (TypeError, ValueError):
        raise InputError("psi_ns", f"must be a list of numbers, got {psi_ns!r}") from None
    if x.ndim != 1 or x.size < 2:
        raise InputError("psi_ns", f"needs a 1-d list of at least two values, got shape {x.shape}")
    if not np.all(np.isfinite(x)) or np.any(x <= 0):
        raise InputError("psi_ns", f"every value must be finite and > 0, got {x.tolist()}")
    if np.any(np.diff(x) <= 0):
        raise InputError("psi_ns", f"must be strictly increasing, got {x.tolist()}")
    return x


def _check_tau_grid(tau_grid) -> np.ndarray:
    g = DEFAULT_TAU_GRID if tau_grid is None else np.atleast_1d(np.asarray(tau_grid, dtype=np.float64))
    if g.ndim != 1 or g.size < 3:
        raise InputError("tau_grid", f"needs a 1-d grid of at least three values, got shape {g.shape}")
    if not np.all(np.isfinite(g)) or np.any(g <= 0) or np.any(np.diff(g) <= 0):
        raise InputError("tau_grid", "must be finite, > 0 and strictly increasing (τ = inf is not a grid point)")
    return g


def _refine(tau, e, i):
    """Vertex of the parabola in s = log τ through the grid minimum i and its two neighbours.

    Returns (τ*, E*). The vertex lies in the bracket [s_{i-1}, s_{i+1}] because e_i is the smallest
    of the three; it is clipped there for safety."""
    s = np.log(tau[i - 1:i + 2])
    y = e[i - 1:i + 2]
    a, b, c = np.polyfit(s - s[1], y, 2)
    if not a > 0:
        return float(tau[i]), float(e[i])
    sv = float(np.clip(-b / (2 * a), s[0] - s[1], s[2] - s[1]))
    return float(np.exp(s[1] + sv)), float(min(c - b * b / (4 * a), e[i]))


@float64
def optimal_score_error(psi_p: float, psi_ns, *, t: float, activation="tanh", sigma: SigmaSpectrum | None = None,
                        tau_grid=None, progress: bool = False) -> OptimalScoreError:
    """E*(ψ_n) and τ*(ψ_n) of (O1) and the local slope (O2) at one ψ_p, for each ψ_n of ``psi_ns``.

    ``psi_ns``: strictly increasing, ≥ 2 values, each > 0. ``tau_grid``: the finite log-spaced τ grid
    the minimum is searched on (default `DEFAULT_TAU_GRID`, 40 per decade on [0.1, 1e7]). Rule: the
    grid minimum of the asymptotic E_score (L3) (`asymptotic_curves` on ``tau_grid``, contour check
    on), refined by the vertex of the parabola in log τ through it and its two neighbours; a grid
    minimum at either end of the grid is censored (flagged in ``censored``, ``converged`` False,
    the edge value reported). A curve that does not converge raises ConvergenceError with the
    parameters. ``progress``: a tqdm bar over ψ_n on stderr.
    """
    psi_p = check_positive("psi_p", psi_p)
    t = check_positive("t", t)
    psi = _check_psi_ns(psi_ns)
    tau = _check_tau_grid(tau_grid)
    k = psi.size
    e_min, t_min, t_gen, t_mem, refinement = (np.empty(k) for _ in range(5))
    censored = np.zeros(k, dtype=bool)
    errors = []
    it = psi
    if progress:
        from tqdm import tqdm
        it = tqdm(psi, desc=f"E* at psi_p={psi_p:g}")
    for j, pn in enumerate(it):
        try:
            cur = asymptotic_curves(tau, psi_p=psi_p, psi_n=float(pn), t=t, activation=activation, sigma=sigma)
        except ConvergenceError as exc:
            raise ConvergenceError(f"E* (O1) at psi_p={psi_p}, psi_n={pn}, t={t}, activation={activation!r}: "
                                   f"the asymptotic curve did not converge: {exc}") from None
        if not cur.converged or not np.all(np.isfinite(cur.score_error)):
            raise ConvergenceError(f"E* (O1) at psi_p={psi_p}, psi_n={pn}, t={t}, activation={activation!r}: "
                                   f"the asymptotic curve did not converge ({cur.diagnostics.get('message')})")
        e = np.asarray(cur.score_error)
        i = int(np.argmin(e))
        if i == 0 or i == e.size - 1:
            censored[j] = True
            t_min[j], e_min[j] = tau[i], e[i]
        else:
            t_min[j], e_min[j] = _refine(tau, e, i)
        refinement[j] = e[i] - e_min[j]
        t_gen[j], t_mem[j] = cur.tau_gen, cur.tau_mem
        errors.append(float(cur.diagnostics.get("quadrature_error", np.nan)))
    if not np.all(e_min > 0):
        raise ConvergenceError(f"E* (O1) at psi_p={psi_p}, t={t}: a minimum is not positive ({e_min.tolist()}); "
                               "the score error (L3) is ≥ 0 in exact arithmetic")
    params = {"psi_p": psi_p, "t": t, "activation": getattr(activation, "name", activation),
              "sigma": "identity" if sigma is None else repr(sigma),
              "tau_grid": {"min": float(tau[0]), "max": float(tau[-1]), "points": int(tau.size),
                           "per_decade": float((tau.size - 1) / np.log10(tau[-1] / tau[0]))},
              "refinement": "parabola in log tau through the grid minimum and its two neighbours",
              "local_slope": "np.gradient on log psi_n (3-point inside, one-sided at the ends)"}
    return OptimalScoreError(psi_n=psi, e_score_min=e_min, tau_at_min=t_min, local_slope=local_slope(psi, e_min),
                             censored=censored, tau_gen=t_gen, tau_mem=t_mem, refinement=refinement,
                             converged=bool(not censored.any()), error=float(np.nanmax(errors)), parameters=params)


@float64
@dataclass(frozen=True)
class PowerLawSummary:
    """E* ≈ amplitude · ψ_n^{-eta} over ``psi_n_range`` (least squares in log-log on the points
    inside it); ``slope_min``, ``slope_max``: the extremes of the local slopes (O2) there
    (a power law has slope_min ≈ slope_max ≈ −eta); ``rms``: rms residual of log E*."""

    eta: float
    amplitude: float
    psi_n_range: tuple
    n_points: int
    slope_min: float
    slope_max: float
    rms: float


@float64
def fit_power_law(result: OptimalScoreError, psi_n_range: tuple) -> PowerLawSummary:
    """Fit log E* = log A − η log ψ_n over the points with lo ≤ ψ_n ≤ hi (at least two, none censored)."""
    try:
        lo, hi = (float(v) for v in psi_n_range)
    except (TypeError, ValueError):
        raise InputError("psi_n_range", f"must be a pair (lo, hi), got {psi_n_range!r}") from None
    if not (0 < lo < hi and np.isfinite(hi)):
        raise InputError("psi_n_range", f"needs 0 < lo < hi < inf, got {psi_n_range!r}")
    sel = (result.psi_n >= lo * (1 - 1e-12)) & (result.psi_n <= hi * (1 + 1e-12))
    if sel.sum() < 2:
        raise InputError("psi_n_range", f"holds {int(sel.sum())} of the computed ψ_n; a fit needs at least two")
    if np.any(result.censored[sel]):
        raise InputError("psi_n_range", "contains censored minima (the τ grid ends before the minimum)")
    x, y = np.log(result.psi_n[sel]), np.log(result.e_score_min[sel])
    slope, icpt = np.polyfit(x, y, 1)
    rms = float(np.sqrt(np.mean((y - (slope * x + icpt)) ** 2)))
    s = result.local_slope[sel]
    return PowerLawSummary(eta=float(-slope), amplitude=float(np.exp(icpt)), psi_n_range=(lo, hi),
                           n_points=int(sel.sum()), slope_min=float(s.min()), slope_max=float(s.max()), rms=rms)


@float64
def population_score_error(tau, *, psi_p: float, t: float, activation="tanh", mu_nodes: int = 400) -> np.ndarray:
    """(O3): E_pop(τ) (shape of ``tau``, inf allowed) for Σ = I, units of (L3).

    Gradient flow (D1) on the population loss, U = U_pop = u(C), V = b_t W/√d: per mode of C with
    eigenvalue μ, u(μ) = (α + b_t²)μ + v_t² + s_t² (theory/asymptotic.md §1), so (L1) = (L2) and
    L(τ) = 1 − b_t² ψ_p ⟨μ (1 − e^{−2c u τ})/u⟩ over ν_C (`nu_c_quadrature`, ``mu_nodes`` nodes),
    c = 2Δ/ψ_p; E_pop = (L − L_opt)/Δ with L_opt = 1 − Δ. ``tau = inf`` gives E_∞(ψ_p).
    """
    psi_p = check_positive("psi_p", psi_p)
    tau = np.asarray(tau, dtype=np.float64)
    if np.any(np.isnan(tau)) or np.any(tau < 0):
        raise InputError("tau", "every training time must be >= 0 (inf allowed)")
    constants = ge_constants(t, activation, ISOTROPIC)
    mu, w = nu_c_quadrature(psi_p, mu_nodes)
    u = (constants.alpha + constants.b_t**2) * mu + constants.v_t2 + constants.s_t2
    cr = rate(constants.delta_t, psi_p)
    flat = tau.reshape(-1)
    learnt = -np.expm1(-2 * cr * np.outer(np.where(np.isinf(flat), 1.0, flat), u))
    learnt[np.isinf(flat)] = 1.0
    loss = 1.0 - constants.b_t**2 * psi_p * (learnt * (w * mu / u)).sum(axis=1)
    return ((loss - (1.0 - constants.delta_t)) / constants.delta_t).reshape(tau.shape)
