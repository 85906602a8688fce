"""Memory a run needs, estimated before anything is allocated, and the check against the machine.

A run that cannot fit is bad input: `check_memory` raises `InputError` naming the option
that makes it large, with the estimate and the memory available (``MemAvailable`` of
/proc/meminfo, else ``os.sysconf``). The estimators count the dominant float64 arrays of
each computation (8 bytes each, complex 16), with the transient copies they make; they are
estimates ("about"), meant to refuse what cannot fit, not to budget what can.
"""
from __future__ import annotations

import os

from ..core.deprecation import renamed_keywords
from ..core.errors import InputError

F8 = 8  # bytes of a float64
C16 = 16  # bytes of a complex128
MEHLER_ORDERS = 25  # Mehler orders the exact (E1)-(E3) matrices typically keep (orders 0..24, theory/exact_matrices.md)
SPECTRUM_STEPS = 96  # minimum η-continuation schedule of `rfscore.limit.spectrum.solve_spectrum`
CONTOUR_NODES = 512  # order of the contour nodes of `rfscore.limit.asymptotic.asymptotic_curves`


def available_memory() -> int:
    """Bytes of memory available to a new allocation now (MemAvailable), or physical memory free."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return 1 << 62  # unknown: do not refuse


def format_bytes(nbytes: float) -> str:
    """Human-readable size: ``format_bytes(3.2e9)`` -> ``'3.2 GB'``."""
    n = float(nbytes)
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:.3g} {unit}"
        n /= 1000
    return f"{n:.3g} PB"  # pragma: no cover


def check_memory(nbytes: float, what: str, arg: str, available: int | None = None) -> None:
    """Raise InputError(arg) if ``nbytes`` (the estimate for ``what``) exceeds the available memory."""
    avail = available_memory() if available is None else int(available)
    if not (nbytes <= avail):  # also refuses an overflowed (inf/NaN) estimate
        raise InputError(arg, f"{what} needs about {format_bytes(nbytes)} of memory, more than the "
                              f"{format_bytes(avail)} available; use a smaller size")


def draw_bytes(rows: int, cols: int) -> float:
    """`rfscore.finite.inputs.standard_normal` of shape (rows, cols): the blocks, their concatenation, the device copy."""
    return 3.0 * F8 * rows * cols


def model_bytes(p: int, n: int, d: int, model: str = "gep", *, solver: str = "eigh") -> float:
    """Peak memory of drawing W (p,d), X (n,d) and building the model's matrices and eigensystem.

    ``model``: 'gep' ((G4)-(G6): G, Ω of shape (p, n); thin SVD of a p×(n+d) matrix when
    p ≥ 2(n+d), else the p×p U, U_pop and eigh) or 'exact' ((E1)-(E3): Mehler coefficients of
    shape (K+1, p, n) and a transposed copy, p×p U, U_pop). ``solver``: 'eigh' (p×p
    eigenvectors and workspace), 'krylov' (matrices and a Krylov basis, no eigenvectors)
    or 'matrices' (matrices only, as `simulate` uses them).
    """
    p, n, d = float(p), float(n), float(d)
    total = draw_bytes(p, d) + draw_bytes(n, d) + F8 * p * n  # W, X and the means W Xᵀ
    if model == "gep":
        total += 2 * draw_bytes(p, n) / 3 + F8 * p * n  # Ω and G
        if p >= 2 * (n + d) and solver == "eigh":
            k = n + d
            return total + 3 * F8 * p * k + 2 * F8 * k * k  # H, Q, H R; the k×k Gram and its eigenvectors
        total += 2 * F8 * p * p  # U, U_pop
    else:
        total += 2 * F8 * MEHLER_ORDERS * p * n + 2 * F8 * p * p  # F and its transposed copy; U, U_pop
    if solver == "eigh":
        total += 2 * F8 * p * p  # eigenvectors and LAPACK workspace
    elif solver == "krylov":
        total += F8 * p * min(p, 8 * d * 4)  # Krylov basis
    return total


def trajectory_bytes(num_tau: int, modes: int) -> float:
    """(D3)-(D4) on a τ grid: a few (num_tau, modes) arrays of decay factors (`rfscore.finite.dynamics`)."""
    return 6.0 * F8 * float(num_tau) * float(modes)


def spectrum_bytes(num: int) -> float:
    """(S1)-(S3) on a λ grid of ``num`` points: the η schedule (steps, num) and the per-point unknowns."""
    num = float(num)
    return F8 * num * (SPECTRUM_STEPS + 4) + C16 * num * 16


def asymptotic_bytes(num: int) -> float:
    """(A4)-(A5) on a τ grid of ``num`` points: a few (num, contour nodes) complex arrays."""
    return 4.0 * C16 * float(num) * CONTOUR_NODES


def modes_of(p: int, n: int, d: int, model: str) -> int:
    """Number of eigenmodes a trajectory runs over: n+d on the thin GEP path, else p."""
    return n + d if model == "gep" and p >= 2 * (n + d) else p


def size_arg(d: int, psi_p: float, psi_n: float) -> str:
    """The option to name when a model is too large: a ratio if it is the extreme input, else d."""
    big = max(psi_p or 0.0, psi_n or 0.0)
    if big > d:
        return "psi_p" if (psi_p or 0.0) >= (psi_n or 0.0) else "psi_n"
    return "d"


@renamed_keywords(m="noise_samples")


def frozen_noise_bytes(n: int, noise_samples: float, d: int, p: int) -> float:
    """m frozen noise draws per training point (theory/finite_noise_ridge.md (F1)): ξ and the noisy points of
    the n·m rows (d columns each), their features Φ (p columns), built in blocks of 2048 rows but kept for the
    Gram matrices, and the p×p matrices U^(m), V^(m) with their eigenvectors. Every factor: n, m, d, p."""
    n, noise_samples, d, p = float(n), float(noise_samples), float(d), float(p)
    return F8 * n * noise_samples * (d + p) + F8 * 2048 * (p + d) + 4 * F8 * p * p


def net_bytes(n: int, d: int, samples: int, width: int, times: int, steps_per_time: int = 4) -> float:
    """`rfscore train-net` for the largest n: the training pool (drawn, normalised, device copy), the
    held-out rows, the loss evaluation (max(4, 8192 // n) noisy copies of the n rows), the samples of a
    checkpoint (their batches, the sampler's state and its (samples, d) output and metrics: the pairwise
    distance blocks to the n training rows), and the network with its Adam state (3 copies of ~4 width²
    parameters, activations of a batch of min(n, 512) rows). Every factor: n, d, samples, width, times."""
    n, d, samples, width = float(n), float(d), float(samples), float(width)
    pool = 4 * F8 * n * d
    evaluation = 2 * F8 * max(4.0, 8192 // max(n, 1.0)) * n * d
    sampling = 6 * F8 * samples * d + F8 * min(samples, 4096.0) * n + F8 * samples * float(times)
    network = 3 * F8 * 4 * (width * width + width * (d + 64)) + 8 * F8 * min(n, 512.0) * width
    return pool + evaluation + sampling + network


def check_memory_parts(parts: dict, what: str, available: int | None = None) -> None:
    """`check_memory` of a run estimated by parts ``{option: bytes}``: the total against the available memory,
    the InputError naming the option with the largest share."""
    check_memory(float(sum(parts.values())), what, max(parts, key=parts.get), available)


def sigma_bytes(d: int) -> float:
    """Σ (d, d) of the data and its two working copies."""
    return 3 * F8 * float(d) ** 2


def fresh_noise_bytes(n: int, fresh: int, d: int, p: int) -> float:
    """One step of `rfscore simulate --fresh-noise` k: k fresh noisy copies of the n rows (noise, points and
    their features, 3d + p columns) and one copy in flight."""
    return 2 * F8 * float(n) * float(fresh) * (3 * float(d) + float(p))


def record_bytes(records: int) -> float:
    """The log-spaced record grid of `rfscore.finite.simulation.record_steps` (train, test, step, time)."""
    return 4 * F8 * float(records)


def dense_bytes(p: int) -> float:
    """One dense p×p float64 matrix (e.g. the copy `eigvalsh` works on)."""
    return F8 * float(p) ** 2


def finite_flow_bytes(p: int, n: int, d: int) -> float:
    """The exact finite-size flow of the GEP model at (p, n, d) as `rfscore curve --finite-d` runs it: U, U_pop,
    their eigenvectors and products (6 p²), the features of the n rows (n (p + d)) and their Gram factor (n p)."""
    p, n, d = float(p), float(n), float(d)
    return F8 * (6 * p * p + n * (p + d) + n * p)


def generation_bytes(*, d: int, p: int, n: int, times: int, num_tau: int, samples: int, keep: bool,
                     workers: int = 1, noise_samples: int | None = None, noise_rows: int | None = None) -> dict:
    """Peak memory of `rfscore.generative.generation.generation_experiment` by the option that drives it:
    {arg: bytes} (float64 arrays).

    Per point (× concurrent workers): exact matrices of one time (Mehler coefficients (K+1, p, n)
    and a copy, U, U_pop, eigenvectors, LAPACK workspace: ≈ 2·25 p n + 6 p²), the readouts
    (T, K, d, p) and the sampler's features (min(N, 8192), p) with a few copies; samples kept
    (T, N, d); with ``noise_samples`` m the noise ξ (n, m, d) and the noisy points (n m, d) of (F1)
    over the ``noise_rows`` n training rows, per worker.
    """
    per_model = F8 * (2 * MEHLER_ORDERS * p * n + 6.0 * p * p)
    readouts = F8 * float(num_tau) * times * d * p
    sampler = F8 * 4.0 * min(samples, 8192) * (p + n + d) + F8 * 2.0 * samples * d
    kept = F8 * float(num_tau) * samples * d * (2 if keep else 0)
    w = max(1, workers)
    parts = {"psi_p" if p >= n else "psi_n": w * per_model, "times": w * readouts, "samples": w * sampler + kept}
    if noise_samples is not None:
        parts["noise_samples"] = w * F8 * 2.0 * float(noise_rows) * noise_samples * d
    return parts
