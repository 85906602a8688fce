"""Learning curves shared by the paper's Fig. 5A-B, SM Fig. 11 and SM Fig. 12.

For one (ψ_p, ψ_n, t, Σ): the d → ∞ curves (A4)-(A5), (L3) of theory/asymptotic.md and the
finite-size closed form (D3)-(D4) of the Gaussian-equivalent model (G4)-(G6) at the paper's d,
one draw of (W, X, Ω) per seed (the key recipe (P1), seeds averaged by `finite.ensemble`). The
finite-size eigensystem uses the thin SVD whenever n + d < p: it is exact there (rank(H) ≤ n + d,
theory/dynamics.md) and several times faster than a p×p eigendecomposition at the paper's sizes
(p = 6400, n = 3200: 10 s against 47 s).

Results are cached per process, so Fig. 5A and 5B share one computation.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ...core.covariance import SigmaSpectrum
from ...core.errors import ConvergenceError
from ...core.precision import float64
from ...finite.inputs import draw_keys, sample_inputs, sizes
from ...finite.dynamics import trajectory
from ...finite.ensemble import RFSetting, trajectory_ensemble
from ...finite.simulation import training_problem
from ...finite.gep import gep_eigensystem
from ...limit.asymptotic import asymptotic_curves
from ..fig5ab import simulated_markers

KEYS = ("train_loss", "test_loss", "score_error")


@float64
@dataclass(frozen=True)
class PaperCurves:
    """One (ψ_p, ψ_n, t, Σ) on the τ grid ``tau`` (T,).

    ``limit``: the `AsymptoticCurves` (d → ∞). ``finite``: dict of (seeds, T) arrays for
    train_loss, test_loss, score_error at size ``d`` (p, n actually run in ``p``, ``n``);
    ``finite_converged``: every seed's trajectory converged; ``l_opt``: L_opt of (L3) (d → ∞ value).
    """

    psi_p: float
    psi_n: float
    t: float
    sigma: str
    d: int
    p: int
    n: int
    seeds: tuple
    tau: np.ndarray
    limit: object
    finite: dict
    finite_converged: bool

    def finite_mean(self, key):
        return self.finite[key].mean(axis=0)

    def finite_std(self, key):
        return self.finite[key].std(axis=0, ddof=1) if len(self.seeds) > 1 else np.zeros(self.tau.size)


@float64
@functools.lru_cache(maxsize=64)
def paper_curves(psi_p: float, psi_n: float, t: float, sigma: str, d: int, seeds: tuple, tau: tuple) -> PaperCurves:
    """d → ∞ and seed-resolved finite-size curves; arguments hashable (``sigma`` a spec string,
    ``tau`` a tuple) so that figures sharing runs share the cache."""
    spec = SigmaSpectrum.parse(sigma)
    tau_arr = np.asarray(tau, dtype=np.float64)
    limit = asymptotic_curves(tau_arr, psi_p=psi_p, psi_n=psi_n, t=t, sigma=spec)
    p, n = sizes(d, psi_p, psi_n)
    ens = trajectory_ensemble(seeds, tau_arr, setting=RFSetting(d=d, psi_p=psi_p, psi_n=psi_n, t=t, sigma=spec),
                              thin=(n + d < p), throw=False)
    finite = {k: ens[k] for k in KEYS}
    converged = ens.status.converged
    if not converged or not all(np.all(np.isfinite(v)) for v in finite.values()):
        raise ConvergenceError(f"finite-size curves at psi_p={psi_p}, psi_n={psi_n}, t={t}, sigma={sigma}, d={d} "
                               "did not converge or are not finite")
    return PaperCurves(psi_p=psi_p, psi_n=psi_n, t=t, sigma=sigma, d=d, p=p, n=n, seeds=tuple(seeds), tau=tau_arr,
                       limit=limit, finite=finite, finite_converged=converged)


GD = dict(d=10, psi_n=(4.0, 32.0), tau_max=3e4, windows=((1e2, 0.25), (1e3, 0.5), (3e4, 0.8)), noise_samples=16,
          record=16)
GD_QUICK = dict(GD, d=6, psi_n=(4.0,), tau_max=3e3, windows=((1e2, 0.25), (3e3, 0.5)), record=10)


@float64
@functools.lru_cache(maxsize=16)
def gd_markers(psi_p: float, psi_n: float, t: float, sigma: str, quick: bool = False) -> dict:
    """Simulated GD on the sampled-noise loss (fresh noise, `GD` settings, τ windows of `fig5ab`) of one
    Gaussian-equivalent draw (seed 0 of the recipe (P1)) at d = GD['d'], with the closed form (D3)-(D4) of the same draw
    at the marker τ: {'tau', 'train_loss', 'test_loss', 'score_error'} (simulated), the same keys with
    '_flow' appended (closed form), 'd', 'p', 'n'."""
    cfg = GD_QUICK if quick else GD
    spec = SigmaSpectrum.parse(sigma)
    keys = draw_keys(0)
    W, X, ko = sample_inputs(keys.base, d=cfg["d"], psi_p=psi_p, psi_n=psi_n, sigma=spec)
    prob = training_problem(W, X, t=t, sigma=spec, model="gep", key=ko)
    sim = simulated_markers(prob, cfg, keys)
    tr = trajectory(gep_eigensystem(W, X, t=t, sigma=spec, key=ko), sim["tau"])
    out = dict(sim)
    out.update({k + "_flow": np.asarray(getattr(tr, k)) for k in KEYS})
    out.update(d=cfg["d"], p=W.shape[0], n=X.shape[0])
    return out


@float64
def rows_of(curves) -> dict:
    """CSV columns for a list of `PaperCurves`: one row per (ψ_n, τ) with the d → ∞ values and the
    finite-size mean and seed standard deviation."""
    cols = {k: [] for k in ("psi_p", "psi_n", "sigma", "t", "d", "p", "n", "seeds", "tau")}
    for k in KEYS:
        cols[k] = []
        cols[k + "_finite"] = []
        cols[k + "_finite_std"] = []
    for c in curves:
        T = c.tau.size
        for name, value in (("psi_p", c.psi_p), ("psi_n", c.psi_n), ("sigma", c.sigma), ("t", c.t), ("d", c.d),
                            ("p", c.p), ("n", c.n), ("seeds", len(c.seeds))):
            cols[name] += [value] * T
        cols["tau"] += list(c.tau)
        for k in KEYS:
            cols[k] += list(np.asarray(getattr(c.limit, k)))
            cols[k + "_finite"] += list(c.finite_mean(k))
            cols[k + "_finite_std"] += list(c.finite_std(k))
    return cols
