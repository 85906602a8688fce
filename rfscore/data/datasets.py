"""Real datasets for the finite-size theory: loading, validation, normalisation, split (theory/real_data.md).

A `Dataset` holds a training pool and a held-out set, both normalised by one affine map
fixed on *all* rows given (theory/real_data.md §2, (R3)): centre by the mean, divide by one
scale so that the empirical covariance Σ̂ = X_cᵀ X_c / N of the normalised rows has
Tr Σ̂ / d = 1 (σ_x = 1 in (G1)). The first ``n`` rows of the (seeded, shuffled) training
pool are the training set at size ``n``, so sets at growing ``n`` are nested.

Sources: scikit-learn's bundled 8×8 digits (``"digits"``, 1797 × 64, no download; needs the
optional extra ``rfscore[data]``; its three always-zero pixels are dropped, d = 61), or any
``.npy`` array of shape (n, d) (rows are samples). Conventions: rows are samples, float64.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import jax
import numpy as np

from ..core.errors import InputError
from ..core.precision import float64
from ..runtime.io import load_array

DIGITS = "digits"
DEFAULT_TEST_FRACTION = 0.2  # for data='digits' when no held-out set is named
EXTRA = "rfscore[data]"


@float64
def load_digits_raw() -> np.ndarray:
    """The bundled 8×8 digits as float64, shape (1797, 64) (scikit-learn, shipped inside the package)."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise InputError("data", f"the bundled digits need scikit-learn: pip install \"{EXTRA}\"") from None
    return np.asarray(load_digits().data, dtype=np.float64)


def _check_matrix(X, arg: str, label: str) -> np.ndarray:
    X = np.asarray(X)
    if X.dtype.kind not in "fiu":
        raise InputError(arg, f"{label} must hold a numeric array")
    X = X.astype(np.float64)
    if X.ndim != 2:
        raise InputError(arg, f"{label} must be a 2-d array (n, d), rows are samples; got shape {X.shape}")
    if X.shape[0] < 1 or X.shape[1] < 1:
        raise InputError(arg, f"{label} is empty, shape {X.shape}")
    if not np.all(np.isfinite(X)):
        bad = np.argwhere(~np.isfinite(X))[0]
        raise InputError(arg, f"{label} contains non-finite values (first at row {bad[0]}, column {bad[1]})")
    return X


@float64
def load_matrix(path, arg: str = "data") -> np.ndarray:
    """The float64 matrix (n, d) of a ``.npy`` file, rows are samples; one-line InputError naming ``arg`` if
    unreadable, not 2-d, not numeric, empty or non-finite."""
    return _check_matrix(load_array(path, arg, ndim=2), arg, str(path))


@float64
@dataclass(frozen=True)
class Dataset:
    """A normalised real dataset.

    train (N, d): the training pool, rows shuffled by the split key; test (N_test, d): the
    held-out rows; sigma (d, d): Σ̂ of all normalised rows (Tr Σ̂/d = 1, (R3));
    columns: indices of the raw columns kept; mean (d,), scale: the normalisation
    x ↦ (x_raw[columns] - mean)/scale.
    """

    name: str
    train: np.ndarray
    test: np.ndarray
    sigma: np.ndarray
    columns: tuple
    mean: np.ndarray
    scale: float
    d_raw: int
    held_out: str
    info_extra: dict = field(default_factory=dict)

    @property
    def d(self) -> int:
        return self.train.shape[1]

    @property
    def n_pool(self) -> int:
        return self.train.shape[0]

    @property
    def n_test(self) -> int:
        return self.test.shape[0]

    def training_set(self, n: int, arg: str = "psi_n") -> np.ndarray:
        """The first n rows of the training pool, shape (n, d); InputError naming ``arg`` if n > N."""
        if n > self.n_pool:
            raise InputError(arg, f"asks for n = {n} training rows (d = {self.d}) but {self.name} has only "
                                  f"{self.n_pool} training rows (ψ_n <= {self.n_pool / self.d:.4g})")
        return self.train[:n]

    def info(self) -> dict:
        """What the sidecar records: the dataset, its sizes and its normalisation."""
        dropped = sorted(set(range(self.d_raw)) - set(self.columns))
        return {"dataset": self.name, "d": self.d, "d_raw": self.d_raw, "dropped_columns": dropped,
                "n_pool": self.n_pool, "n_test": self.n_test, "held_out": self.held_out,
                "normalisation": "x -> (x - mean)/scale over all rows, so that Sigma_hat = X_c^T X_c/N has "
                                 "Tr Sigma_hat/d = 1 (theory/real_data.md (R3))",
                "scale": self.scale, "sigma_hat_eigenvalue_range": [float(np.linalg.eigvalsh(self.sigma)[0]),
                                                                   float(np.linalg.eigvalsh(self.sigma)[-1])],
                **self.info_extra}


@float64
def prepare(X, X_test=None, *, test_fraction=None, key, name: str = "array", drop_constant: bool = False,
            arg: str = "data", test_arg: str = "test_data") -> Dataset:
    """Normalise and split a dataset X (N, d) [with a held-out X_test (N_test, d)].

    Exactly one of ``X_test`` and ``test_fraction`` (0 < f < 1: round(f N) rows held out,
    chosen by ``key``). The training pool is shuffled by ``key`` either way. Constant columns
    (equal on every row of X) are refused (``arg`` named), or dropped when ``drop_constant``.
    The normalisation (R3) is fixed on all rows (pool and held-out together).
    """
    X = _check_matrix(X, arg, name)
    if (X_test is None) == (test_fraction is None):
        raise InputError("test_fraction", "give exactly one of a held-out set and a test fraction")
    kperm, ksplit = jax.random.split(key)
    if X_test is not None:
        X_test = _check_matrix(X_test, test_arg, "the held-out set")
        if X_test.shape[1] != X.shape[1]:
            raise InputError(test_arg, f"has d = {X_test.shape[1]} columns but the training data {name} has "
                                       f"d = {X.shape[1]}")
        pool = X[np.asarray(jax.random.permutation(kperm, X.shape[0]))]
        test = X_test
        held_out = f"{X_test.shape[0]} rows given"
    else:
        f = check_test_fraction(test_fraction)
        N = X.shape[0]
        n_test = int(round(f * N))
        if n_test < 1 or N - n_test < 1:
            raise InputError("test_fraction", f"{f:g} of N = {N} rows leaves an empty training or test set")
        perm = np.asarray(jax.random.permutation(ksplit, N))
        test, pool = X[perm[:n_test]], X[perm[n_test:]]
        held_out = f"test fraction {f:g}: {n_test} of {N} rows, drawn by the seed"
    # constant over the --data rows (before any split): no information, variance 0
    const = np.nonzero(np.ptp(X, axis=0) <= 1e-12 * np.maximum(1.0, np.max(np.abs(X), axis=0)))[0]
    both = np.concatenate([pool, test])
    if const.size and not drop_constant:
        raise InputError(arg, f"column {int(const[0])} of {name} is constant over its {X.shape[0]} rows "
                              f"({const.size} constant column(s)); "
                              "drop it: its variance is 0 and Σ̂ would be singular")
    keep = np.setdiff1d(np.arange(X.shape[1]), const)
    if keep.size == 0:
        raise InputError(arg, f"every column of {name} is constant")
    both = both[:, keep]
    mean = both.mean(axis=0)
    centred = both - mean
    scale = float(np.sqrt(np.sum(centred**2) / centred.size))  # Tr Σ̂_raw/d = scale²
    sigma = centred.T @ centred / (both.shape[0] * scale**2)
    sigma = 0.5 * (sigma + sigma.T)
    ev = np.linalg.eigvalsh(sigma)
    if ev[0] <= 1e-12 * ev[-1]:
        raise InputError(arg, f"the covariance of {name} is singular (N = {both.shape[0]} rows, d = {keep.size}; "
                              "linearly dependent columns or too few rows)")

    def norm(A):
        return (A[:, keep] - mean) / scale

    return Dataset(name=name, train=norm(pool), test=norm(test), sigma=sigma, columns=tuple(int(k) for k in keep),
                   mean=mean, scale=scale, d_raw=X.shape[1], held_out=held_out)


@float64
def check_test_fraction(test_fraction) -> float:
    """The held-out fraction F of (R1) (theory/real_data.md): a number with 0 < F < 1."""
    try:
        f = float(test_fraction)
    except (TypeError, ValueError):
        f = float("nan")
    if not (0.0 < f < 1.0):
        raise InputError("test_fraction", f"must lie in (0, 1), got {test_fraction!r}")
    return f


@float64
def check_held_out(data, test_data=None, test_fraction=None) -> None:
    """The held-out set's options by themselves: ``test_data`` or ``test_fraction`` need ``data``, and not both."""
    if data is None and (test_data is not None or test_fraction is not None):
        raise InputError("test_data" if test_data is not None else "test_fraction", "needs `data` (digits or X.npy)")
    if test_data is not None and test_fraction is not None:
        raise InputError("test_fraction", "give either `test_data` or `test_fraction`, not both")


@float64
def load_dataset(data: str, *, test_data=None, test_fraction=None, key) -> Dataset:
    """``data`` = ``"digits"`` or a ``.npy`` path (n, d); ``test_data`` a ``.npy`` path (n_test, d).

    For ``"digits"`` without a held-out set the test fraction defaults to 0.2 and the three
    always-zero pixel columns are dropped (d = 61); user files with a constant column are refused.
    """
    check_held_out(data, test_data, test_fraction)
    if data == DIGITS:
        X = load_digits_raw()
        if test_data is None and test_fraction is None:
            test_fraction = DEFAULT_TEST_FRACTION
        name, drop = DIGITS, True
    else:
        X = load_matrix(data, "data")
        name, drop = str(data), False
    X_test = load_matrix(test_data, "test_data") if test_data is not None else None
    if X_test is None and test_fraction is None:
        raise InputError("test_fraction", f"real data {name} needs a held-out set: `test_data` FILE or `test_fraction` F")
    return prepare(X, X_test, test_fraction=test_fraction, key=key, name=name, drop_constant=drop)
