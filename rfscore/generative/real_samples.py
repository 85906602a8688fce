"""Samples generated from the random-features score trained on real 8×8 digits, with their nearest training
images and the ratios (Y7) (theory/generation.md §8); the numbers of the `digit_samples` figure."""
from __future__ import annotations

import math

import jax
import numpy as np

from ..core.precision import float64
from ..data.datasets import load_dataset
from ..data.realdata import RealDataKeys
from ..finite.inputs import point_key, sample_weights, size_of
from .metrics import memorisation
from .sampler import sample
from ..finite.exact import MehlerRule
from .score_model import ScoreModelConfig, fit_score_model, time_grid

SHOWN = 4  # images per (n, τ) panel of the figure: ``shown_copies`` counts copies among the first SHOWN samples


@float64
def to_pixels(Y, dataset) -> np.ndarray:
    """Normalised rows (N, d) -> 8×8 pixel images (N, 8, 8) by the inverse of (R3), clipped to [0, 16]."""
    Y = np.atleast_2d(np.asarray(Y, dtype=np.float64))
    raw = np.zeros((Y.shape[0], dataset.d_raw))
    raw[:, list(dataset.columns)] = Y * dataset.scale + dataset.mean
    side = int(round(math.sqrt(dataset.d_raw)))
    return np.clip(raw, 0.0, 16.0).reshape(Y.shape[0], side, side)


@float64
def digit_samples(*, psi_p: float, psi_n, tau, times: int, t_min: float, t_max: float, samples: int, seed: int = 0,
            max_order: int = 24, mehler_tol: float = 1e-4) -> dict:
    """Samples, nearest training points and ratios (Y7) on digits for each ψ_n at every τ.

    One seed: W (p, d) and the shuffled training pool from ``RealDataKeys.from_seed(seed)`` (as
    `rfscore generate --data digits`), training sets nested in n, the sampler key of
    ``point_key(seed, ψ_n)`` as in `generation_point`. Returns per ψ_n: n, samples (T, N, d),
    ratio (T, N), nearest (T, N) training indices, f_mem (T,), with the dataset and the grid.
    """
    keys = RealDataKeys.from_seed(seed)
    ds = load_dataset("digits", key=keys.data)
    d = ds.d
    p = size_of("psi_p", psi_p, d)
    W = np.asarray(sample_weights(keys.weights, p, d))
    grid = time_grid(t_min, t_max, times)
    runs = []
    for x in psi_n:
        n = size_of("psi_n", x, d)
        X = ds.training_set(n)
        _, k_sample, _ = jax.random.split(point_key(seed, n / d), 3)
        model = fit_score_model(W, X, grid, tau, sigma=ds.sigma,
                                score_model=ScoreModelConfig(mehler=MehlerRule(max_order=max_order, tol=mehler_tol)))
        ys, ratios, nearest, fm, lo, hi = [], [], [], [], [], []
        for i in range(len(model.tau)):
            y = np.asarray(sample(model.score(i), k_sample, times=grid, num_samples=samples, d=d))
            mem = memorisation(y, X)
            d2 = np.sum((y[:, None, :] - X[None, :, :]) ** 2, axis=2)
            ys.append(y)
            ratios.append(mem.ratio)
            nearest.append(np.argmin(d2, axis=1))
            fm.append(mem.f_mem)
            lo.append(mem.lo)
            hi.append(mem.hi)
        runs.append({"psi_n": n / d, "n": n, "X": X, "samples": np.stack(ys), "ratio": np.stack(ratios),
                     "nearest": np.stack(nearest), "f_mem": np.array(fm), "f_mem_lo": np.array(lo),
                     "f_mem_hi": np.array(hi), "converged": model.converged, "error": model.error})
    return {"dataset": ds, "d": d, "p": p, "tau": np.asarray(model.tau), "times": grid, "runs": runs}


@float64
def sample_table(res) -> dict:
    """One row per (n, τ): f_mem with its Wilson interval and the quartiles of the ratio (Y7)."""
    rows = []
    for r in res["runs"]:
        for i, t in enumerate(res["tau"]):
            q = np.quantile(r["ratio"][i], [0.25, 0.5, 0.75])
            rows.append([r["psi_n"], r["n"], t, r["f_mem"][i], r["f_mem_lo"][i], r["f_mem_hi"][i], *q,
                         float(np.mean(r["ratio"][i][:SHOWN] < 1 / 3))])
    names = ("psi_n", "n", "tau", "f_mem", "f_mem_lo", "f_mem_hi", "ratio_q25", "ratio_median", "ratio_q75",
             "shown_copies")
    return {k: np.array([row[j] for row in rows], dtype=float) for j, k in enumerate(names)}
