"""Finite noise samples m and ridge λ at finite size (theory/finite_noise_ridge.md (F1)-(F6)).

m noise draws per training point, drawn once from an explicit key and frozen:
x_t^{νj} = e^{-t} x^ν + √Δ ξ^{νj} (j = 1..m, row ν·m + j of the N = n·m noisy points), and

    (F1) L_train^{(m)}(A) = (1/(n m d)) Σ_{ν,j} ‖√Δ s_A(x_t^{νj}) + ξ^{νj}‖²
                          = ‖Ξ‖²/(N d) + (Δ/d) Tr(B U^{(m)} Bᵀ) + (2√Δ/d) Tr(B V^{(m)}),
         U^{(m)} = ΦᵀΦ/N (p, p),  V^{(m)} = ΦᵀΞ/N (p, d),  Φ = σ(X_t Wᵀ/√d) (N, p),

with B = A/√p. m = None (or inf) is the exact noise average (L1). The population matrices stay
those of (E1), (E3) (exact model) or (G5)-(G6) (Gaussian-equivalent model), so the test loss (L2)
and the score error (L3) are exact; the m = ∞ training matrices are kept for the empirical test
loss (F4). The Gaussian-equivalent features for finite m share their data part across the m
copies of a point (F5). Trajectories with ridge (F2)-(F3) come from one eigendecomposition of
U^{(m)} (`rfscore.finite.dynamics`); the bias–variance split over noise resamplings is (F6).
Conventions: W (p, d), X (n, d), Σ (d, d); float64.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Optional, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from ..core.activations import get_activation
from ..core.constants import GEConstants, ge_constants
from ..core.covariance import SigmaSpectrum, sigma_matrix
from ..core.errors import InputError, check_noise_samples
from ..core.trajectory import Trajectory, check_tau
from .inputs import sample_data, standard_normal
from ..core.errors import check_ridge
from .dynamics import readout, trajectory
from .eigensystem import Eigensystem, FiniteSizeMatrices, check_inputs, eigensystem
from .exact import exact_matrices
from .gep import gep_factors, gep_matrices
from ..core.deprecation import renamed_fields, renamed_keywords
from ..core.precision import float64
from ..core.status import HasStatus

BLOCK_ROWS = 2048  # noisy points per block of Φ: Φ (N, p) is never formed whole


@float64
def noise_keys(key):
    """(k_ξ, k_ζ): the one split of a noise key into the ξ of (F1) and the ζ of (F5)."""
    return tuple(jax.random.split(key, 2))


@float64
@renamed_keywords(m="noise_samples")
def noise_draws(key, n: int, noise_samples: int, d: int) -> np.ndarray:
    """ξ^{νj} ~ N(0, I_d), shape (n, m, d), from ``key``'s ξ part (`noise_keys`); deterministic."""
    return standard_normal(noise_keys(key)[0], (n, noise_samples, d))


@float64
def noisy_points(X, xi, t: float) -> np.ndarray:
    """x_t^{νj} = e^{-t} x^ν + √Δ ξ^{νj} of (F1), rows ν·m + j, shape (n·m, d). X (n, d), ξ (n, m, d)."""
    X, xi = np.asarray(X, dtype=np.float64), np.asarray(xi, dtype=np.float64)
    dl = -math.expm1(-2.0 * t)
    return (math.exp(-t) * X[:, None, :] + math.sqrt(dl) * xi).reshape(-1, X.shape[1])


def _rows(n: int, m: int, block: int):
    """Row slices of the N = n·m noisy points in blocks of at most ``block`` rows."""
    N = n * m
    return [slice(i, min(i + block, N)) for i in range(0, N, block)]


@float64
def exact_features(W, X, xi, *, t: float, activation="tanh") -> np.ndarray:
    """Φ = σ(X_t Wᵀ/√d), shape (n·m, p), of the frozen noisy points (F1). For small sizes and tests."""
    act = get_activation(activation)
    W = np.asarray(W, dtype=np.float64)
    Xt = noisy_points(X, xi, t)
    return np.asarray(act(jnp.asarray(Xt @ W.T / math.sqrt(W.shape[1]))))


@float64
def gep_features(f, xi, zeta) -> np.ndarray:
    """Gaussian-equivalent Φ of (F5), shape (n·m, p): row νj is g_ν + b_t W ξ^{νj}/√d + s_t ζ^{νj}.

    ``f`` the `GEPFactors` (g_ν = column ν of G = e^{-t} a_t W Xᵀ/√d + v_t Ω, shared by the m
    copies of point ν), ξ (n, m, d), ζ (n, m, p) independent per copy.
    """
    W, G, constants = np.asarray(f.W), np.asarray(f.G), f.constants
    n, m, d = xi.shape
    phi = G.T[:, None, :] + constants.b_t * (xi @ W.T) / math.sqrt(d) + math.sqrt(constants.s_t2) * zeta
    return phi.reshape(n * m, -1)


@float64
@renamed_keywords(m="noise_samples")
def cross_copy_covariance(Phi, n: int, noise_samples: int) -> np.ndarray:
    """Ĉ = (1/(n m (m-1))) Σ_ν Σ_{j≠j'} φ^{νj} φ^{νj'}ᵀ, shape (p, p); needs m >= 2 (F5).

    Unbiased for (1/n) Σ_ν μ_ν μ_νᵀ, μ_ν = E_ξ[φ | x^ν]: the covariance the m copies of a point share.
    """
    if noise_samples < 2:
        raise InputError("noise_samples", f"the cross-copy covariance needs m >= 2 copies, got {noise_samples}")
    Phi = np.asarray(Phi, dtype=np.float64)
    S = Phi.reshape(n, noise_samples, -1).sum(axis=1)  # per-point sums (n, p)
    return (S.T @ S - Phi.T @ Phi) / (n * noise_samples * (noise_samples - 1))


@float64
@renamed_fields(m="noise_samples")
@dataclass(frozen=True)
class FiniteNoiseMatrices(HasStatus):
    """The finite-m model (F1) at one draw of W, X and the frozen noise.

    ``train``: a `FiniteSizeMatrices` whose U (p,p), V (p,d) are the finite-m U^{(m)}, V^{(m)} of
    (F1) and whose U_pop, V_pop are the exact population matrices ((E1),(E3) or (G5)-(G6));
    ``U_avg`` (p,p), ``V_avg`` (p,d): the m = ∞ training matrices ((E1)-(E2) or (G4),(G6)) of the
    empirical test loss (F4); ``noise_sq`` = ‖Ξ‖²_F/(N d), the constant of (F1) (1 for m = ∞);
    ``noise_samples``: m, the frozen draws per training point (None for m = ∞; ``m`` before 0.2.0); ``n``.
    Status: ``converged``/``error`` of the exact matrices (the frozen-draw sums are exact).
    """

    train: FiniteSizeMatrices
    U_avg: np.ndarray
    V_avg: np.ndarray
    noise_sq: float
    noise_samples: Optional[int]
    n: int

    @property
    def model(self) -> str:
        return self.train.model

    @property
    def converged(self) -> bool:
        return self.train.converged

    @property
    def error(self) -> float:
        return self.train.error

    @property
    def p(self) -> int:
        return self.train.p

    @property
    def d(self) -> int:
        return self.train.d


def _gram(features, n: int, m: int, xi, block: int):
    """(ΦᵀΦ/N, ΦᵀΞ/N) summed over row blocks; ``features(rows)`` returns Φ[rows] (rows, p)."""
    xi_rows = np.asarray(xi).reshape(n * m, -1)
    U = V = None
    for rows in _rows(n, m, block):
        P = features(rows)
        UU, VV = P.T @ P, P.T @ xi_rows[rows]
        U = UU if U is None else U + UU
        V = VV if V is None else V + VV
    N = n * m
    return U / N, V / N


@partial(jax.jit, static_argnums=0)
def _act_block(act, Z):
    """σ(Z) for one block of pre-activations (one compilation per activation and block shape)."""
    return act(Z)


def _check_block(block) -> int:
    if isinstance(block, bool) or not float(block) == int(block) or int(block) < 1:
        raise InputError("block_rows", f"must be an integer >= 1, got {block!r}")
    return int(block)


@float64
def exact_noise_matrices(W, X, *, t: float, noise_samples, key, activation="tanh", sigma=None,
                         averaged: Optional[FiniteSizeMatrices] = None, block_rows: int = BLOCK_ROWS,
                         **exact_kw) -> FiniteNoiseMatrices:
    """(F1) for the non-linear model: U^{(m)} = ΦᵀΦ/N, V^{(m)} = ΦᵀΞ/N, Φ = σ(X_t Wᵀ/√d).

    W (p,d), X (n,d); ξ (n, m, d) from ``key`` (`noise_draws`). Φ is formed in blocks of
    ``block_rows`` noisy points (memory O(block·p)). ``averaged``: the m = ∞ `exact_matrices`
    for the same W, X, t (computed if None; pass it to reuse it across noise draws): its U, V
    become ``U_avg``, ``V_avg`` of (F4), its U_pop, V_pop the population matrices (E1), (E3).
    ``noise_samples`` None (or inf): the exact noise average itself, ``noise_sq`` = 1.
    """
    m = check_noise_samples(noise_samples)
    block = _check_block(block_rows)
    W, X, S = check_inputs(W, X, sigma)
    act = get_activation(activation)
    avg = averaged if averaged is not None else exact_matrices(W, X, t=t, activation=act, sigma=S, **exact_kw)
    n, (p, d) = X.shape[0], W.shape
    if m is None:
        return FiniteNoiseMatrices(train=avg, U_avg=np.asarray(avg.U), V_avg=np.asarray(avg.V), noise_sq=1.0,
                                   noise_samples=None, n=n)
    xi = noise_draws(key, n, m, d)
    Wn, Xt = np.asarray(W), noisy_points(X, xi, float(t))
    blk = min(block, n * m)

    def features(rows):
        Z = Xt[rows] @ Wn.T / math.sqrt(d)
        k = Z.shape[0]
        if k < blk:  # pad the last block to the compiled shape
            Z = np.pad(Z, ((0, blk - k), (0, 0)))
        return np.asarray(_act_block(act, Z))[:k]

    U, V = _gram(features, n, m, xi, block)
    train = replace(avg, U=U, V=V)
    return FiniteNoiseMatrices(train=train, U_avg=np.asarray(avg.U), V_avg=np.asarray(avg.V),
                               noise_sq=float(np.sum(xi**2) / (n * m * d)), noise_samples=m, n=n)


@float64
def gep_noise_matrices(W, X, *, t: float, noise_samples, key, activation="tanh", sigma=None, omega_key=None,
                       constants: GEConstants | None = None, block_rows: int = BLOCK_ROWS) -> FiniteNoiseMatrices:
    """(F1) with the Gaussian-equivalent features of (F5): φ^{νj} = g_ν + b_t W ξ^{νj}/√d + s_t ζ^{νj}.

    g_ν = e^{-t} a_t W x^ν/√d + v_t ω_ν (Ω (p, n) from ``omega_key``, the key of `gep_matrices`, so
    that m = ∞ is (G4)); ξ (n,m,d) and ζ (n,m,p) from ``key`` (`noise_keys`), ξ the same as in
    `exact_noise_matrices` with the same key. U_pop, V_pop are (G5), (G6); U_avg, V_avg are (G4), (G6).
    """
    m = check_noise_samples(noise_samples)
    block = _check_block(block_rows)
    W, X, S = check_inputs(W, X, sigma)
    constants = constants or ge_constants(t, activation, SigmaSpectrum.from_matrix(S))
    omega_key = jax.random.PRNGKey(0) if omega_key is None else omega_key
    avg = gep_matrices(W, X, t=t, activation=activation, sigma=S, key=omega_key, constants=constants)
    n, (p, d) = X.shape[0], W.shape
    if m is None:
        return FiniteNoiseMatrices(train=avg, U_avg=np.asarray(avg.U), V_avg=np.asarray(avg.V), noise_sq=1.0,
                                   noise_samples=None, n=n)
    f = gep_factors(W, X, t=t, activation=activation, sigma=S, key=omega_key, constants=constants)
    k_xi, k_zeta = noise_keys(key)
    xi = standard_normal(k_xi, (n, m, d))
    zeta = standard_normal(k_zeta, (n * m, p))
    Wn, Gt = np.asarray(f.W), np.asarray(f.G).T
    xi_rows = xi.reshape(n * m, d)
    point = np.repeat(np.arange(n), m)

    def features(rows):
        return (Gt[point[rows]] + constants.b_t * (xi_rows[rows] @ Wn.T) / math.sqrt(d)
                + math.sqrt(constants.s_t2) * zeta[rows])

    U, V = _gram(features, n, m, xi, block)
    train = replace(avg, U=U, V=V)
    return FiniteNoiseMatrices(train=train, U_avg=np.asarray(avg.U), V_avg=np.asarray(avg.V),
                               noise_sq=float(np.sum(xi**2) / (n * m * d)), noise_samples=m, n=n)


@float64
def noise_matrices(model: str, W, X, *, t: float, noise_samples, key, activation="tanh", sigma=None,
                   **kw) -> FiniteNoiseMatrices:
    """Dispatch on ``model`` in {'exact', 'gep'} (`exact_noise_matrices`, `gep_noise_matrices`)."""
    if model == "exact":
        return exact_noise_matrices(W, X, t=t, noise_samples=noise_samples, key=key, activation=activation,
                                    sigma=sigma, **kw)
    if model == "gep":
        return gep_noise_matrices(W, X, t=t, noise_samples=noise_samples, key=key, activation=activation,
                                  sigma=sigma, **kw)
    raise InputError("model", f"must be one of exact, gep, got {model!r}")


# ----------------------------------------------------------------------------- dynamics
@float64
@renamed_fields(m="noise_samples")
@dataclass(frozen=True)
class FiniteNoiseEigensystem(HasStatus):
    """U^{(m)} = Q diag(λ) Qᵀ with what (F3)-(F4) need.

    ``es``: the `Eigensystem` of the finite-m U^{(m)}, V^{(m)} (vt = QᵀV^{(m)}), with the
    population matrices rotated (vpop_t, upop_t); ``vavg_t`` = QᵀV_avg (p,d), ``uavg_t`` =
    QᵀU_avg Q (p,p) for the empirical test loss (F4); ``noise_sq`` the constant of (F1); ``noise_samples`` m
    (None for m = ∞; ``m`` before 0.2.0).
    """

    es: Eigensystem
    vavg_t: np.ndarray
    uavg_t: np.ndarray
    noise_sq: float
    noise_samples: Optional[int]
    converged: bool = True
    error: float = 0.0


@float64
def noise_eigensystem(fm: FiniteNoiseMatrices) -> FiniteNoiseEigensystem:
    """One p×p eigendecomposition of U^{(m)} (`eigensystem`), plus QᵀV_avg and QᵀU_avg Q for (F4)."""
    es = eigensystem(fm.train, fm.n)
    Q = np.asarray(es.Q)
    return FiniteNoiseEigensystem(es=es, vavg_t=Q.T @ np.asarray(fm.V_avg), uavg_t=Q.T @ np.asarray(fm.U_avg) @ Q,
                                  noise_sq=fm.noise_sq, noise_samples=fm.noise_samples, converged=fm.converged, error=fm.error)


@float64
@dataclass(frozen=True)
class FiniteNoiseTrajectory(Trajectory):
    """Losses along the flow on L_train^{(m)} + ridge (F2)-(F4), each of shape (T,).

    ``train_loss``: the unpenalised finite-m data loss L_train^{(m)} of (F1) (not the penalised
    objective); ``test_loss``: (L2) with the exact population matrices; ``score_error``: (L3);
    ``empirical_test_loss``: the noise-averaged training loss (L1) at the trained readout (F4).
    """

    empirical_test_loss: np.ndarray
    ridge: float
    noise_samples: Optional[int]

    def columns(self) -> dict:
        return {**super().columns(), "empirical_test_loss": self.empirical_test_loss}


@float64
def noise_trajectory(nes: FiniteNoiseEigensystem, tau, *, ridge: float = 0.0, A0=None) -> FiniteNoiseTrajectory:
    """(F3)-(F4) on a τ grid (inf allowed: the ridge minimiser (F2)), from the one eigendecomposition.

    The train and test losses are `dynamics.trajectory` on U^{(m)} (train shifted by
    ‖Ξ‖²/(Nd) − 1, the constant of (F1)); the empirical test loss is the same (D4) contraction with
    U_pop, V_pop replaced by U_avg, V_avg. ``A0`` (d, p) initial readout (default 0).
    """
    tau = check_tau(tau)
    ridge = check_ridge(ridge)
    es = nes.es
    tr = trajectory(es, tau, A0, ridge=ridge)
    emp = trajectory(replace(es, vpop_t=nes.vavg_t, upop_t=nes.uavg_t), tau, A0, ridge=ridge).test_loss
    return FiniteNoiseTrajectory(tau=tau, train_loss=tr.train_loss + (nes.noise_sq - 1.0), test_loss=tr.test_loss,
                                 score_error=tr.score_error, l_opt=tr.l_opt, delta_t=tr.delta_t,
                                 empirical_test_loss=emp, ridge=ridge, noise_samples=nes.noise_samples,
                                 converged=nes.converged, error=nes.error)


@float64
def noise_readout(nes: FiniteNoiseEigensystem, tau: float, *, ridge: float = 0.0, A0=None) -> np.ndarray:
    """A(τ) (d, p) of the flow (F3) on U^{(m)} + λI; τ = inf: A = -√p V^{(m)ᵀ}(U^{(m)} + λI)^{-1}/√Δ (F2)."""
    return readout(nes.es, tau, A0, ridge=ridge)


@float64
def quadratic_loss(B, U, V, delta_t: float, const: float = 1.0) -> float:
    """const + (Δ/d) Tr(B U Bᵀ) + (2√Δ/d) Tr(B V) at B = A/√p (d, p): (L1), (L2), (F1), (F4) by name of U, V."""
    B, U, V = (np.asarray(a, dtype=np.float64) for a in (B, U, V))
    d = B.shape[0]
    return float(const + delta_t * np.sum((B @ U) * B) / d + 2 * math.sqrt(delta_t) * np.sum(B * V.T) / d)


# ----------------------------------------------------------------------------- bias–variance (F6)
@float64
@dataclass(frozen=True)
class BiasVariance(HasStatus):
    """(F6) over R resamplings, each field of shape (T,) except the scalars.

    mean_test_loss = floor + bias2 + variance exactly (a quadratic loss): ``floor`` L_min =
    1 − Tr(V_popᵀ U_pop^{-1} V_pop)/d, the smallest test loss any readout reaches at this W;
    ``bias2`` = L_test(mean readout) − L_min; ``variance`` = (Δ/d) mean_r Tr(δB_r U_pop δB_rᵀ).
    In units of Δ: E_score = (L_min − L_opt)/Δ + bias2/Δ + variance/Δ. ``spread`` is the
    sample standard deviation of the R test losses. ``converged``: the status of the matrices
    (U_pop, V_pop) the split uses.
    """

    tau: np.ndarray
    mean_test_loss: np.ndarray
    bias2: np.ndarray
    variance: np.ndarray
    spread: np.ndarray
    floor: float
    l_opt: float
    delta_t: float
    resamples: int
    test_losses: np.ndarray = field(repr=False, default=None)
    converged: bool = True

    @property
    def variance_unbiased(self) -> np.ndarray:
        """R/(R−1) · variance: unbiased for the variance over the resampling law (F6)."""
        return self.variance * self.resamples / (self.resamples - 1)

    @property
    def bias2_unbiased(self) -> np.ndarray:
        """bias2 − variance/(R−1): the squared bias of the law's mean readout, unbiased (F6); sums as before."""
        return self.bias2 - self.variance / (self.resamples - 1)


@float64
def population_floor(U_pop, V_pop) -> float:
    """L_min = 1 − Tr(V_popᵀ U_pop^{-1} V_pop)/d: (L2) at its minimiser B = −V_popᵀU_pop^{-1}/√Δ (F6)."""
    U_pop, V_pop = np.asarray(U_pop), np.asarray(V_pop)
    return float(1.0 - np.sum(V_pop * np.linalg.solve(U_pop, V_pop)) / V_pop.shape[1])


@float64
def bias_variance(readouts_A, matrices: FiniteSizeMatrices, tau) -> BiasVariance:
    """Split the mean test loss of R readouts A_r(τ), shape (R, T, d, p), into floor + bias² + variance (F6).

    ``matrices`` supplies U_pop, V_pop, Δ, L_opt (identical across the resamplings: W fixed).
    """
    A = np.asarray(readouts_A, dtype=np.float64)
    tau = check_tau(tau)
    if A.ndim != 4 or A.shape[1] != tau.size or A.shape[0] < 2:
        raise InputError("readouts", f"must have shape (R >= 2, T = {tau.size}, d, p), got {A.shape}")
    p = A.shape[3]
    B = A / math.sqrt(p)
    dl = matrices.delta_t
    Up, Vp = np.asarray(matrices.U_pop), np.asarray(matrices.V_pop)
    test = np.array([[quadratic_loss(B[r, k], Up, Vp, dl) for k in range(B.shape[1])] for r in range(B.shape[0])])
    Bm = B.mean(axis=0)
    floor = population_floor(Up, Vp)
    bias2 = np.array([quadratic_loss(Bm[k], Up, Vp, dl) for k in range(Bm.shape[0])]) - floor
    dB = B - Bm[None]
    d = B.shape[2]
    variance = dl * np.einsum("rkip,pq,rkiq->k", dB, Up, dB, optimize=True) / (d * B.shape[0])
    return BiasVariance(tau=tau, mean_test_loss=test.mean(axis=0), bias2=bias2, variance=variance,
                        spread=test.std(axis=0, ddof=1), floor=floor, l_opt=matrices.l_opt, delta_t=dl,
                        resamples=B.shape[0], test_losses=test, converged=bool(matrices.converged))


@float64
def noise_resampling(model: str, W, X, *, t: float, noise_samples: int, keys: Sequence, tau, ridge: float = 0.0,
                     activation="tanh", sigma=None, **kw) -> BiasVariance:
    """(F6) over the frozen noise draws, W and X fixed: one `noise_matrices` per key, readouts (F3) at ``tau``.

    The m = ∞ exact matrices are computed once and shared by the R draws. ``kw``: passed to `noise_matrices`
    (e.g. ``mehler=MehlerRule(...)`` for the exact model, ``omega_key`` for the GEP one).
    """
    if model not in ("exact", "gep"):
        raise InputError("model", f"must be one of exact, gep, got {model!r}")
    m = check_noise_samples(noise_samples)
    if m is None:
        raise InputError("noise_samples", "resampling the noise needs a finite m >= 1")
    if len(keys) < 2:
        raise InputError("keys", f"need at least 2 noise keys to resample, got {len(keys)}")
    tau = check_tau(tau)
    if model == "exact" and "averaged" not in kw:
        rule = ("mehler", "max_order", "tol", "h_finest")  # the exact matrices' options (former keywords too)
        kw = {**kw, "averaged": exact_matrices(W, X, t=t, activation=activation, sigma=sigma,
                                               **{k: v for k, v in kw.items() if k in rule})}
        kw = {k: v for k, v in kw.items() if k not in rule}
    As, base = [], None
    for key in keys:
        fm = noise_matrices(model, W, X, t=t, noise_samples=m, key=key, activation=activation, sigma=sigma, **kw)
        nes = noise_eigensystem(fm)
        As.append([noise_readout(nes, s, ridge=ridge) for s in tau])
        base = fm.train
    return bias_variance(np.array(As), base, tau)


@float64
def data_resampling(model: str, W, *, n: int, t: float, noise_samples, keys: Sequence, tau, ridge: float = 0.0,
                    activation="tanh", sigma=None, omega_key=None, **kw) -> BiasVariance:
    """(F6) over the training set AND its noise draws, W fixed: key r draws X_r ~ N(0, Σ) (n, d) and ξ_r.

    ``noise_samples`` None (m = ∞) resamples the training set only. Each key is split into
    (k_X, k_noise); the m = ∞ matrices are recomputed for every X_r (U_pop, V_pop depend on W only,
    so the split's population matrices are those of the first draw). ``omega_key`` (GEP): one Ω for all draws.
    """
    if model not in ("exact", "gep"):
        raise InputError("model", f"must be one of exact, gep, got {model!r}")
    m = check_noise_samples(noise_samples)
    if len(keys) < 2:
        raise InputError("keys", f"need at least 2 keys to resample, got {len(keys)}")
    tau = check_tau(tau)
    d = np.asarray(W).shape[1]
    S = sigma_matrix(sigma, d)
    if model == "gep":
        kw = {**kw, "omega_key": omega_key}
    As, base = [], None
    for key in keys:
        k_x, k_noise = jax.random.split(key)
        X = sample_data(k_x, n, S)
        fm = noise_matrices(model, W, X, t=t, noise_samples=m, key=k_noise, activation=activation, sigma=S, **kw)
        nes = noise_eigensystem(fm)
        As.append([noise_readout(nes, s, ridge=ridge) for s in tau])
        base = fm.train if base is None else base
    return bias_variance(np.array(As), base, tau)
