"""One ensemble for seed-averaged finite-size runs (theory/model.md §5, (P1)-(P2)).

``ensemble(fn, seeds, point=...)`` calls ``fn(keys)`` once per seed with the `DrawKeys` of the one key
recipe (P1) (`rfscore.finite.inputs.draw_keys`), stacks what it returns along a leading seed axis and
gives the seed mean, standard deviation and standard error (P2) with one `Status`. The figures, the
``curve`` command and the timescale scan all average over seeds through it::

    def run(keys):
        W, X, ko = sample_inputs(keys.base, d=d, psi_p=psi_p, psi_n=psi_n)
        tr = trajectory(gep_eigensystem(W, X, t=t, key=ko), tau)
        return {"test_loss": tr.test_loss, "converged": tr.converged}

    ens = ensemble(run, seeds=range(3))
    ens.mean("test_loss"), ens.sem("test_loss"), ens.status

The four ready-made ensembles (the closed-form flow, frozen noise, its bias–variance split, simulated
training) take the model's point as one `RFSetting` (d, ψ_p, ψ_n, t, activation, Σ)::

    trajectory_ensemble(range(3), tau, setting=RFSetting(d=12, psi_p=16, psi_n=4, t=0.01))
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..core.deprecation import options_from_keywords
from ..core.errors import InputError
from ..core.precision import float64
from ..core.status import PointStatus
from ..runtime.progress import stages
from .inputs import DrawKeys, draw_keys, sample_inputs
from .dynamics import trajectory
from .eigensystem import eigensystem
from .gep import gep_eigensystem
from .model_dispatch import MODELS, finite_size_matrices
from .frozen_noise import noise_eigensystem, noise_matrices, noise_resampling, noise_trajectory
from .simulation import DEFAULT_SIMULATION, SimulationOptions, simulate, training_problem


@float64
@dataclass(frozen=True)
class Ensemble(PointStatus):
    """What ``fn`` returned for each seed, stacked: ``values[name]`` has shape (S, ...) for S = len(seeds).

    seeds: the integer seeds run, in order; point: the sweep point folded into every seed's key (P1);
    point_converged (S,): each seed's ``converged`` (True when ``fn`` did not report one). ``status``
    (`rfscore.core.status.Status`): converged when every seed converged; ``error`` NaN (the ensemble
    adds no estimate of its own; the seed spread is `std`/`sem`).
    """

    seeds: tuple
    point: tuple
    values: dict
    point_converged: np.ndarray

    @property
    def error(self) -> float:
        return math.nan

    @property
    def message(self) -> str:
        bad = [s for s, ok in zip(self.seeds, self.point_converged) if not ok]
        where = f" at the point {self.point}" if self.point else ""
        return "" if not bad else f"seeds {bad} of {list(self.seeds)}{where} did not converge"

    def __getitem__(self, name) -> np.ndarray:
        return self.values[name]

    def mean(self, name) -> np.ndarray:
        """Seed mean of ``name``, shape of one seed's value."""
        return self.values[name].mean(axis=0)

    def std(self, name) -> np.ndarray:
        """Seed standard deviation (ddof = 1) of ``name``; zeros with one seed (P2)."""
        v = self.values[name]
        return v.std(axis=0, ddof=1) if v.shape[0] > 1 else np.zeros(v.shape[1:])

    def sem(self, name) -> np.ndarray:
        """Standard error of the seed mean, std/√S (P2)."""
        return self.std(name) / np.sqrt(self.values[name].shape[0])


@float64
def ensemble(fn, seeds, *, point=(), throw: bool = True, progress: bool = False, desc: str = "seeds") -> Ensemble:
    """Run ``fn(keys)`` for every seed and stack the results (P2).

    fn: called with the `DrawKeys` of ``draw_keys(seed, *point)`` (P1); returns a mapping of name → array
    (or number) of the same shape for every seed, optionally with ``"converged"`` (bool), the seed's
    status, which is not stacked with the values. seeds: iterable of integer seeds (S ≥ 1). point: the
    sweep point's ratios folded into each key (empty: ``PRNGKey(seed)``). throw: raise `ConvergenceError`
    when a seed did not converge (False: return the result flagged). progress: a tqdm bar named ``desc``.
    """
    seeds = tuple(int(s) for s in seeds)
    if not seeds:
        raise InputError("seeds", "needs at least one seed")
    point = tuple(float(x) for x in point)
    runs, flags = [], []
    for s in stages(seeds, desc, progress):
        out = dict(fn(draw_keys(s, *point)))
        flags.append(bool(np.all(out.pop("converged", True))))
        runs.append(out)
    values = {k: np.stack([np.asarray(r[k]) for r in runs]) for k in runs[0]}
    result = Ensemble(seeds=seeds, point=point, values=values, point_converged=np.array(flags, dtype=bool))
    result.status.check(throw)
    return result


@float64
@dataclass(frozen=True)
class RFSetting:
    """The random-features model at one point of the (ψ_p, ψ_n) plane: what every seed of a finite-size
    ensemble draws and trains (theory/model.md §1-2). One object for `trajectory_ensemble`,
    `frozen_noise_ensemble`, `noise_split_ensemble` and `simulation_ensemble` (``setting=``); each seed draws
    W (p, d), X (n, d) and Ω from the keys (P1) of this setting.

    d: input dimension (int >= 1; the features are σ(Wx/√d), theory/model.md §2).
    psi_p: ψ_p = p/d > 0, p = round(ψ_p d) features (theory/model.md §2).
    psi_n: ψ_n = n/d > 0, n = round(ψ_n d) training points x^ν ~ N(0, Σ) (theory/model.md §1).
    t: diffusion time t > 0 of the forward process (theory/model.md §1; Δ_t = 1 − e^(−2t)).
    activation: σ, a name ('tanh', …) or an `Activation` (zero mean; its constants (G1)-(G3)); default tanh.
    sigma: Σ of the data: a `SigmaSpectrum` ρ_Σ (theory/model.md §1), a (d, d) matrix (`trajectory_ensemble`,
    `simulation_ensemble`) or None (Σ = I, the default); passed as given.

    Not a field: the sweep point folded into the keys (the ensembles' ``point``), the ridge λ and the model
    ('gep' / 'exact'), which the ensembles that take them take as keywords.
    """

    d: int
    psi_p: float
    psi_n: float
    t: float
    activation: object = "tanh"
    sigma: object = None


# the former loose keywords of the four ensembles (0.1 form), accepted for one version through
# `options_from_keywords` with one DeprecationWarning naming ``setting=RFSetting(...)``
_SETTING_KEYWORDS = ("d", "psi_p", "psi_n", "t", "activation", "sigma")


def _inputs(setting: RFSetting, keys: DrawKeys):
    """W, X and the Ω key of one seed: `sample_inputs` on the recipe's base key (P1)."""
    return sample_inputs(keys.base, d=setting.d, psi_p=setting.psi_p, psi_n=setting.psi_n, sigma=setting.sigma)


CURVES = ("train_loss", "test_loss", "score_error", "train_excess", "test_excess")


@float64
@options_from_keywords(setting=RFSetting, legacy=_SETTING_KEYWORDS)
def trajectory_ensemble(seeds, tau, *, setting: RFSetting, model: str = "gep", constants=None,
                        thin: bool | None = None, ridge: float = 0.0, point=(), throw: bool = True,
                        progress: bool = False) -> Ensemble:
    """The closed-form flow (D3)-(D4), (L3) of one finite-size draw per seed, as an `Ensemble` (P2).

    seeds: integer seeds; tau (T,): training times τ (theory/model.md §4), inf allowed; setting: the
    `RFSetting` (d, ψ_p, ψ_n, t, activation, Σ; p = round(ψ_p d), n = round(ψ_n d); its ``sigma`` a
    `SigmaSpectrum`, a (d, d) matrix or None); model: 'gep' ((G4)-(G6)) or 'exact' ((E1)-(E3));
    constants: (G1)-(G3) to use instead of those of (t, activation, Σ) ('gep' only); thin: the thin-SVD
    path of the GEP eigensystem (None: when p ≥ 2(n + d)); ridge λ: the flow of U + λI (F3); point: the
    sweep point folded into the keys (P1). Values (S, T): train_loss, test_loss, score_error (units of
    the losses), train_excess and test_excess ((L − L_opt)/Δ_t). (The setting's fields as keywords: the
    0.1 form, deprecated.)
    """
    if model not in MODELS:
        raise InputError("model", f"must be one of {', '.join(MODELS)}, got {model!r}")
    if constants is not None and model != "gep":
        raise InputError("constants", "replace the constants of the Gaussian-equivalent model only (model='gep')")
    tau = np.asarray(tau, dtype=np.float64)
    t, activation, sigma = setting.t, setting.activation, setting.sigma

    def run(keys):
        W, X, ko = _inputs(setting, keys)
        if model == "gep":
            es = gep_eigensystem(W, X, t=t, activation=activation, sigma=sigma, key=ko, constants=constants, thin=thin)
        else:
            es = eigensystem(finite_size_matrices(model, W, X, t=t, activation=activation, sigma=sigma, key=ko),
                             X.shape[0])
        tr = trajectory(es, tau, ridge=ridge)
        return {"train_loss": tr.train_loss, "test_loss": tr.test_loss, "score_error": tr.score_error,
                "train_excess": tr.excess("train_loss"), "test_excess": tr.excess("test_loss"),
                "converged": tr.converged}

    return ensemble(run, seeds, point=point, throw=throw, progress=progress, desc="finite size")


FROZEN_CURVES = ("train_loss", "test_loss", "test_loss_empirical", "score_error")


@float64
@options_from_keywords(setting=RFSetting, legacy=_SETTING_KEYWORDS)
def frozen_noise_ensemble(seeds, tau, *, setting: RFSetting, noise_samples, ridge: float = 0.0, point=(),
                          throw: bool = True, progress: bool = False) -> Ensemble:
    """The exact flow on m frozen noise draws per point with a ridge (F1)-(F4), GEP features (F5), one draw
    per seed, as an `Ensemble` (P2).

    Each seed's keys (P1): W, X, Ω from ``keys.base``, the m draws from ``keys.noise``. tau (T,) training
    times (inf: the ridge minimiser (F2)); setting: the `RFSetting` (its ``sigma`` a `SigmaSpectrum` or
    None, Σ = I); noise_samples m (None: ∞, the exact noise average); ridge λ (penalty λΔ‖A‖²/(pd)).
    Values (S, T): train_loss (the data term of (F1)), test_loss, test_loss_empirical (F4), score_error.
    (The setting's fields as keywords: the 0.1 form, deprecated.)
    """
    tau = np.asarray(tau, dtype=np.float64)
    t, activation, sigma = setting.t, setting.activation, setting.sigma

    def run(keys):
        W, X, ko = _inputs(setting, keys)
        fm = noise_matrices("gep", W, X, t=t, noise_samples=noise_samples, key=keys.noise, activation=activation,
                            sigma=sigma, omega_key=ko)
        tr = noise_trajectory(noise_eigensystem(fm), tau, ridge=ridge)
        return {"train_loss": tr.train_loss, "test_loss": tr.test_loss, "test_loss_empirical": tr.empirical_test_loss,
                "score_error": tr.score_error, "converged": fm.converged}

    return ensemble(run, seeds, point=point, throw=throw, progress=progress, desc="finite size (frozen noise)")


@float64
@options_from_keywords(setting=RFSetting, legacy=_SETTING_KEYWORDS)
def noise_split_ensemble(seeds, tau, *, copies: int, setting: RFSetting, noise_samples: int, ridge: float = 0.0,
                         point=(), throw: bool = True, progress: bool = False) -> Ensemble:
    """The unbiased bias–variance split (F6) of the test loss over the frozen noise, W and X fixed, for one
    draw of (W, X, Ω) per seed, as an `Ensemble` (P2).

    Each seed's keys (P1): W, X, Ω from ``keys.base``; ``copies`` R ≥ 2 resampled sets of m draws from
    ``keys.noise_copy(r)``, r = 0 … R−1. tau (T,), setting (an `RFSetting`), noise_samples m ≥ 1, ridge λ
    as in `frozen_noise_ensemble`. Values (S, T): bias2, variance (the unbiased estimates, loss units),
    floor and mean_test_loss. (The setting's fields as keywords: the 0.1 form, deprecated.)
    """
    tau = np.asarray(tau, dtype=np.float64)
    t, activation, sigma = setting.t, setting.activation, setting.sigma

    def run(keys):
        W, X, ko = _inputs(setting, keys)
        bv = noise_resampling("gep", W, X, t=t, noise_samples=noise_samples, tau=tau, ridge=ridge,
                              activation=activation, sigma=sigma, omega_key=ko,
                              keys=[keys.noise_copy(r) for r in range(int(copies))])
        return {"bias2": bv.bias2_unbiased, "variance": bv.variance_unbiased, "floor": np.full(tau.size, bv.floor),
                "mean_test_loss": bv.mean_test_loss, "converged": bv.converged}

    return ensemble(run, seeds, point=point, throw=throw, progress=progress, desc="finite size (noise split)")


@float64
@options_from_keywords(setting=RFSetting, options=SimulationOptions, legacy=(*_SETTING_KEYWORDS, "record"))
def simulation_ensemble(seeds, *, setting: RFSetting, lr: float, steps: int, optimizer: str = "gd",
                        fresh_noise: int | None = 1, options: SimulationOptions = DEFAULT_SIMULATION,
                        model: str = "gep", point=(), throw: bool = True, progress: bool = False) -> Ensemble:
    """One simulated training run (theory/dynamics.md §6: GD or Adam on the sampled-noise loss) per seed,
    as an `Ensemble` (P2).

    Each seed's keys (P1): W, X, Ω from ``keys.base``, the run's fresh noise from ``keys.train``. setting:
    the `RFSetting`; lr: η in the τ convention (τ = kη); steps, optimizer ('gd', 'adam'), fresh_noise (fresh
    draws per point per step), options (a `SimulationOptions`: record, the number of recorded readouts, …):
    as in `rfscore.finite.simulation.simulate`; model: 'gep' or 'exact' features. Values, (S, R) over the R
    recorded readouts: step, tau, train_loss, test_loss, score_error (exact losses of each readout);
    (S,): p, n, l_opt, delta_t. (The setting's fields and ``record`` as keywords: the 0.1 form, deprecated.)
    """
    t, activation, sigma = setting.t, setting.activation, setting.sigma

    def run(keys):
        W, X, ko = _inputs(setting, keys)
        prob = training_problem(W, X, t=t, activation=activation, sigma=sigma, model=model, key=ko)
        res = simulate(prob, lr=lr, steps=steps, optimizer=optimizer, fresh_noise=fresh_noise, options=options,
                       key=keys.train)
        return {"step": res.step, "tau": res.tau, "train_loss": res.train_loss, "test_loss": res.test_loss,
                "score_error": res.score_error, "p": prob.p, "n": prob.n, "l_opt": res.l_opt,
                "delta_t": res.delta_t, "converged": res.converged}

    return ensemble(run, seeds, point=point, throw=throw, progress=progress, desc=f"simulated {optimizer}")


__all__ = ["CURVES", "FROZEN_CURVES", "DrawKeys", "Ensemble", "RFSetting", "draw_keys", "ensemble",
           "frozen_noise_ensemble", "noise_split_ensemble", "simulation_ensemble", "trajectory_ensemble"]
