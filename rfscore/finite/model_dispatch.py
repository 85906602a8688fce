"""The two finite-size models behind one interface: ``exact`` (theory/exact_matrices.md)
and ``gep`` (theory/gaussian_equivalence.md), and one-call sampling of an eigensystem."""
from __future__ import annotations

import numpy as np

from ..core.covariance import sigma_matrix
from .eigensystem import Eigensystem, eigensystem
from ..core.errors import InputError
from .exact import exact_matrices
from .gep import gep_eigensystem, gep_matrices
from .inputs import model_keys, sample_data, sample_inputs, sample_weights, sizes
from ..core.precision import float64

MODELS = ("exact", "gep")


@float64
def finite_size_matrices(model: str, W, X, *, t, activation="tanh", sigma=None, key=None, **kw):
    """Dispatch on ``model`` in {'exact', 'gep'}."""
    if model == "exact":
        return exact_matrices(W, X, t=t, activation=activation, sigma=sigma, **kw)
    if model == "gep":
        return gep_matrices(W, X, t=t, activation=activation, sigma=sigma, key=key)
    raise InputError("model", f"must be one of {', '.join(MODELS)}, got {model!r}")



@float64
def sample_eigensystem(key, *, d: int, psi_p: float, psi_n: float, t: float, activation="tanh",
                       sigma=None, model: str = "gep", thin: bool | None = None) -> Eigensystem:
    """Draw W (p×d), X (n×d) [and Ω for 'gep'] from ``key`` and return U's eigensystem.

    p = round(ψ_p d), n = round(ψ_n d); ``sigma`` a `SigmaSpectrum` or (d,d) matrix.
    The 'gep' model uses the thin-SVD path automatically when p ≥ 2(n+d).
    """
    S = sigma_matrix(sigma, d)
    W, X, ko = sample_inputs(key, d=d, psi_p=psi_p, psi_n=psi_n, sigma=S)
    n = X.shape[0]
    if model == "gep":
        return gep_eigensystem(W, X, t=t, activation=activation, sigma=S, key=ko, thin=thin)
    return eigensystem(finite_size_matrices(model, W, X, t=t, activation=activation, sigma=S, key=ko), n)


@float64
def sample_eigenvalues(model: str, *, d: int, psi_p: float, psi_n: float, t: float, activation="tanh",
                       sigma=None, seed: int = 0) -> np.ndarray:
    """All p eigenvalues of one finite-size U ((G4) 'gep' or exact, theory/exact_matrices.md), ascending (p,).

    W, X [, Ω] are drawn from ``PRNGKey(seed)`` as in `inputs.sample_inputs`.
    """
    import jax

    p, n = sizes(d, psi_p, psi_n)
    S = sigma_matrix(sigma, d)
    kw, kx, ko = model_keys(jax.random.PRNGKey(seed))
    W, X = sample_weights(kw, p, d), sample_data(kx, n, S)
    matrices = finite_size_matrices(model, W, X, t=t, activation=activation, sigma=S, key=ko)
    return np.linalg.eigvalsh(np.asarray(matrices.U))
