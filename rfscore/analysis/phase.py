"""Phase diagrams in the (ψ_n, ψ_p) plane (paper Fig. 5C and Fig. 1 right; theory/phase_diagram.md).

At each grid point the finite-size closed form (D3)-(D4) gives L_train and L_test at the
requested training times and at τ → ∞. With the normalised generalisation gap
g(τ) = (L_test - L_train)/Δ and a threshold g* (default 10):

* ``memorization``                 g(τ) ≥ g*
* ``dynamical_regularization``     g(τ) < g* ≤ g(∞)   (would memorise if trained longer)
* ``architectural_regularization`` g(∞) < g*          (never memorises, even at τ → ∞)
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np

from ..core.constants import delta_t
from ..core.covariance import SigmaSpectrum
from ..core.trajectory import check_tau
from ..finite.dynamics import trajectory
from ..core.errors import InputError, check_noise_samples, check_positive, check_positive_int, check_ridge
from ..finite.model_dispatch import MODELS, sample_eigensystem
from ..runtime.resources import check_memory, model_bytes, modes_of, size_arg, trajectory_bytes
from ..runtime.sweep import PHASE_PROCESSES_FROM, check_scheduler, run_sweep, sweep_workers, table_rows
from ..finite.inputs import draw_keys, effective_ratios, sample_inputs, sizes
from ..finite.frozen_noise import noise_eigensystem, noise_matrices, noise_trajectory
from ..core.deprecation import options_from_keywords
from ..core.precision import float64
from ..core.status import PointStatus
from ..runtime.sweep import DEFAULT_RUNNER, SweepRunner

REGIMES = ("memorization", "dynamical_regularization", "architectural_regularization")
HEADER = ("psi_n", "psi_p", "tau", "train_loss", "test_loss", "gen_loss", "regime")


@float64
def classify(gap_tau: float, gap_inf: float, threshold: float) -> str:
    """Regime from the normalised gaps g(τ), g(∞) (units of Δ) and the threshold g*."""
    if gap_tau >= threshold:
        return REGIMES[0]
    return REGIMES[1] if gap_inf >= threshold else REGIMES[2]


@float64
def point_key(seed: int, psi_n: float, psi_p: float):
    """PRNG key of a grid point: the base key of the recipe (P1) at the point (ψ_n, ψ_p); depends on
    (seed, ψ_n, ψ_p) only, not on the grid's order."""
    return draw_keys(seed, psi_n, psi_p).base


@float64
def phase_point(*, psi_n: float, psi_p: float, tau: Sequence[float], d: int, t: float, activation: str = "tanh",
                sigma: str = "1:1", seed: int = 0, model: str = "gep", gap_threshold: float = 10.0,
                noise_samples: int | None = None, ridge: float = 0.0) -> list:
    """Rows ``[psi_n, psi_p, tau, train_loss, test_loss, gen_loss, regime]`` for one grid point.

    psi_n, psi_p: the point's n/d and p/d; tau: the τ list; d, t, ``activation``, ``seed`` and ``gap_threshold``
    as in `phase_diagram` (this function is its sweep point); ``model``, ``noise_samples``, ``ridge``: the fields
    of its `PhaseFlow`, passed as keywords (a point is a flat mapping). ``gen_loss`` = L_test - L_train (raw loss units); ``sigma`` a spectrum string
    (kept a string so the function pickles cheaply for process/Dask workers). ``noise_samples`` m
    (None: ∞): m frozen draws per point, the train loss that of (F1), noise key the recipe's (P1)
    noise stream fold_in(point key, 2);
    ``ridge`` λ: the flow of U + λI (theory/finite_noise_ridge.md (F2)-(F3)).
    """
    tau = [float(x) for x in tau]
    keys = draw_keys(seed, psi_n, psi_p)
    key = keys.base
    if noise_samples is None:
        es = sample_eigensystem(key, d=d, psi_p=psi_p, psi_n=psi_n, t=t, activation=activation,
                                sigma=SigmaSpectrum.parse(sigma), model=model)
        tr = trajectory(es, np.append(tau, np.inf), ridge=ridge)
    else:
        spec = SigmaSpectrum.parse(sigma)
        W, X, ko = sample_inputs(key, d=d, psi_p=psi_p, psi_n=psi_n, sigma=spec)
        fm = noise_matrices(model, W, X, t=t, noise_samples=int(noise_samples), key=keys.noise,
                            activation=activation, sigma=spec, **({"omega_key": ko} if model == "gep" else {}))
        tr = noise_trajectory(noise_eigensystem(fm), np.append(tau, np.inf), ridge=ridge)
    gen = tr.test_loss - tr.train_loss
    g_inf = gen[-1] / tr.delta_t
    return [[psi_n, psi_p, tau[i], float(tr.train_loss[i]), float(tr.test_loss[i]), float(gen[i]),
             classify(gen[i] / tr.delta_t, g_inf, gap_threshold)] for i in range(len(tau))]


@float64
@dataclass(frozen=True)
class PhaseDiagram(PointStatus):
    """Flat table (one row per ψ_n, ψ_p, τ) with the columns of `HEADER`."""

    psi_n: np.ndarray
    psi_p: np.ndarray
    tau: np.ndarray
    train_loss: np.ndarray
    test_loss: np.ndarray
    gen_loss: np.ndarray
    regime: np.ndarray
    delta_t: float
    gap_threshold: float

    @property
    def point_converged(self) -> np.ndarray:
        """Per row: train, test and generalisation losses finite (closed forms, exact up to rounding)."""
        return np.isfinite(self.train_loss) & np.isfinite(self.test_loss) & np.isfinite(self.gen_loss)

    @property
    def error(self) -> float:
        """0: every row is the closed form (D3)-(D4) of a dense eigendecomposition."""
        return 0.0

    @property
    def message(self) -> str:
        bad = np.flatnonzero(~self.point_converged)
        return "" if bad.size == 0 else (f"non-finite losses at {bad.size} of {self.point_converged.size} rows "
                                         f"(first: psi_n = {self.psi_n[bad[0]]:g}, psi_p = {self.psi_p[bad[0]]:g}, "
                                         f"tau = {self.tau[bad[0]]:g})")

    def columns(self) -> dict:
        return {h: getattr(self, h) for h in HEADER}

    def grid(self, tau: float, field: str = "gen_loss"):
        """(ψ_n values, ψ_p values, array (len ψ_p, len ψ_n)) of ``field`` at training time ``tau``."""
        sel = np.isclose(self.tau, tau) | (np.isinf(self.tau) & np.isinf(tau))
        pn, pp = np.unique(self.psi_n), np.unique(self.psi_p)
        out = np.empty((pp.size, pn.size), dtype=object if field == "regime" else float)
        for a, b, v in zip(self.psi_n[sel], self.psi_p[sel], getattr(self, field)[sel]):
            out[np.searchsorted(pp, b), np.searchsorted(pn, a)] = v
        return pn, pp, out

    def boundary(self, tau: float):
        """Memorisation boundary at ``tau``: for each ψ_p the ψ_n where g = g* (log-interpolated), NaN if none."""
        pn, pp, gen = self.grid(tau)
        g = gen / self.delta_t
        out = np.full(pp.size, np.nan)
        for i in range(pp.size):
            above = g[i] >= self.gap_threshold
            for j in range(pn.size - 1):
                if above[j] and not above[j + 1] and g[i, j + 1] > 0:
                    x0, x1 = np.log(pn[j]), np.log(pn[j + 1])
                    y0, y1 = np.log(g[i, j]), np.log(g[i, j + 1])
                    out[i] = math.exp(x0 + (np.log(self.gap_threshold) - y0) / (y1 - y0) * (x1 - x0))
                    break
        return pp, out


@float64
def validate_grid(psi_n, psi_p, tau, gap_threshold, d: int | None = None):
    """Check the grid; with ``d``, return the effective (ψ_n, ψ_p) lists n/d, p/d (duplicates refused)."""
    for name, vals in (("psi_n", psi_n), ("psi_p", psi_p)):
        if len(vals) == 0:
            raise InputError(name, "needs at least one value")
        for v in vals:
            check_positive(name, v)
    check_tau(tau)
    check_positive("gap_threshold", gap_threshold)
    if d is None:
        return list(psi_n), list(psi_p)
    return ([r for _, r in effective_ratios(psi_n, d, "psi_n")], [r for _, r in effective_ratios(psi_p, d, "psi_p")])


@float64
def check_grid_memory(psi_n, psi_p, tau, *, d: int, model: str, workers: int = 1) -> None:
    """Refuse (InputError) a grid whose largest point, times the concurrent workers, cannot fit in memory."""
    p, n = sizes(d, max(psi_p), max(psi_n))
    per_point = model_bytes(p, n, d, model) + trajectory_bytes(len(tau) + 1, modes_of(p, n, d, model))
    check_memory(per_point * max(1, workers), f"a grid point at d = {d}, p = {p}, n = {n} "
                                              f"({max(1, workers)} at a time)", size_arg(d, max(psi_p), max(psi_n)))


@float64
@dataclass(frozen=True)
class PhaseFlow:
    """The flow every point of a phase diagram trains (`phase_diagram(flow=...)`, `phase_point`); the default is
    the plain flow (D3)-(D4) of the Gaussian-equivalent matrices with the exact noise average.

    model: the matrices U, V, U_pop, V_pop: 'gep' (Gaussian-equivalent, (G4)-(G6)) or 'exact' ((E1)-(E3)).
    noise_samples: m frozen noise draws per training point (int >= 1; the train loss that of (F1),
    theory/finite_noise_ridge.md §1, drawn from the recipe's noise key (P1)), or None for m = ∞ (L1).
    ridge: λ >= 0, the penalty λΔ‖A‖²/(pd) of (F2): the flow of U + λI (F3) (dimensionless, units of U's
    eigenvalues); 0 is the plain flow.
    """

    model: str = "gep"
    noise_samples: int | None = None
    ridge: float = 0.0


DEFAULT_FLOW = PhaseFlow()


@float64
@options_from_keywords(flow=PhaseFlow, runner=SweepRunner)
def phase_diagram(psi_n: Sequence[float], psi_p: Sequence[float], tau: Sequence[float], *, d: int, t: float,
                  activation: str = "tanh", sigma: str = "1:1", seed: int = 0, gap_threshold: float = 10.0,
                  flow: PhaseFlow = DEFAULT_FLOW, runner: SweepRunner = DEFAULT_RUNNER,
                  progress: bool = False) -> PhaseDiagram:
    """Sweep the (ψ_n, ψ_p) grid (parallel, resumable; see `rfscore.runtime.sweep.run_sweep`).

    psi_n, psi_p: the grid's ratios n/d, p/d (lists of distinct values > 0); tau: the τ list (inf allowed);
    d: input dimension; t > 0 the diffusion time; ``activation`` σ, ``sigma`` ρ_Σ as text; ``seed``: the PRNG
    seed of every point's draws; ``gap_threshold``: the τ_mem/τ_gen ratio above which a point is in the
    memorisation regime (theory/phase_diagram.md); ``flow``: the `PhaseFlow` each point trains (model 'gep' or
    'exact', noise_samples m, ridge λ as in `phase_point`); ``runner``: the `SweepRunner` (workers, scheduler,
    checkpoint, restart); ``progress``: a tqdm bar. (The fields of ``flow`` and ``runner`` as keywords: the 0.1
    form, deprecated.)

    The grid runs at the sizes n = round(ψ_n d), p = round(ψ_p d) and its rows are
    labelled by the ratios actually run, n/d and p/d; two values giving the same size
    are an InputError. Every input is checked (memory included) before any point runs or
    the checkpoint is created. ``workers`` None: serial unless the grid has at least 2 points
    and its largest model has max(p, n) >= 2048, then one process per CPU core
    (`rfscore.runtime.sweep.default_workers`).
    """
    workers, scheduler = runner.workers, runner.scheduler
    model, noise_samples, ridge = flow.model, flow.noise_samples, flow.ridge
    d = check_positive_int("d", d)
    psi_n, psi_p = validate_grid(psi_n, psi_p, tau, gap_threshold, d)
    SigmaSpectrum.parse(sigma)
    seed = int(seed)
    if not 0 <= seed < 2**63:
        raise InputError("seed", f"must be an integer with 0 <= seed < 2^63, got {seed}")
    if model not in MODELS:
        raise InputError("model", f"must be one of {', '.join(MODELS)}, got {model!r}")
    check_scheduler(scheduler)
    n_points = len(psi_n) * len(psi_p)
    workers, concurrent = sweep_workers(workers, n_points, max(sizes(d, max(psi_p), max(psi_n))),
                                        PHASE_PROCESSES_FROM, scheduler)
    check_grid_memory(psi_n, psi_p, tau, d=d, model=model, workers=concurrent)
    common = dict(tau=[float(x) for x in tau], d=int(d), t=float(t), activation=activation, sigma=str(sigma),
                  seed=int(seed), model=model, gap_threshold=float(gap_threshold))
    m, ridge = check_noise_samples(noise_samples), check_ridge(ridge)
    if m is not None or ridge > 0:  # only then: the checkpoints of plain runs keep their parameters
        common.update(noise_samples=m, ridge=ridge)
    points = [dict(psi_n=float(a), psi_p=float(b), **common) for b in psi_p for a in psi_n]
    runner = replace(runner, workers=workers)  # workers as chosen by sweep_workers
    results = run_sweep(phase_point, points, parameters=common, runner=runner, desc="phase grid", progress=progress,
                        check_result=table_rows(len(HEADER), rows=len(tau), choices={6: REGIMES}, inf=(2,),
                                                ranges={j: (0, math.inf) for j in range(5)}))
    rows = [r for res in results for r in res]
    cols = list(zip(*rows))
    return PhaseDiagram(*(np.asarray(c, dtype=float) for c in cols[:6]), regime=np.asarray(cols[6]),
                        delta_t=delta_t(t), gap_threshold=float(gap_threshold))
