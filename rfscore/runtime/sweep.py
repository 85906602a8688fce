"""Parallel, resumable sweeps over grid points.

`run_sweep` maps a picklable function over points with local processes (default), a
Dask cluster (``scheduler`` address, needs the ``rfscore[dask]`` extra), or serially.
Each finished point is appended to a JSON-lines checkpoint, so an interrupted sweep
resumes instead of restarting. The checkpoint's first line is keyed on what determines
the numbers: the sweep function, the sweep's parameters and `numerics_fingerprint` (a
hash of the source of the modules that compute the numbers and of the numerical
libraries' versions). A checkpoint with another key is never reused (InputError, unless
``restart=True`` discards it), and a corrupt one is an InputError naming the file. Every
input, the scheduler included, is checked before the checkpoint is created.

Why a source hash and not the version string: the version was not bumped with every
change of the numerics, so a checkpoint written before a fix would have been mixed into
a result computed after it. Hashing every numerical module (all of ``rfscore`` but the
``cli`` and ``figures`` layers, which only pass on the parameters recorded in the key,
and ``_version.py``) cannot miss a dependency the way a hand-kept list could; the price
is that an edit to any of them, even one that leaves a given sweep's numbers unchanged,
discards its checkpoints (a recomputation, never a wrong number). The versions of jax,
jaxlib, numpy and scipy are part of the fingerprint for the same reason. The package
version is still written, for the message only.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import math
import multiprocessing as mp
import os
import re
import signal
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

from tqdm.auto import tqdm

from .._version import __version__
from ..core.deprecation import options_from_keywords
from ..core.errors import InputError
from .io import jsonable


def _key(point: Mapping) -> str:
    return json.dumps(jsonable(dict(point), lossless=True), sort_keys=True)


_PACKAGE = Path(__file__).resolve().parents[1]
_NOT_NUMERICS = ("cli", "figures")  # presentation layers: they call the API with the recorded parameters
_LIBRARIES = ("jax", "jaxlib", "numpy", "scipy")


@functools.lru_cache(maxsize=None)
def numerics_fingerprint() -> str:
    """SHA-256 (hex) of the source of every numerical module of rfscore (path and bytes of each
    ``rfscore/**/*.py`` outside ``cli/`` and ``figures/``, ``_version.py`` excluded) and of the
    versions of jax, jaxlib, numpy and scipy: what a sweep checkpoint is keyed on besides the
    parameters. Without the sources (a bytecode-only install) it falls back to the version string."""
    from importlib import metadata

    h = hashlib.sha256()
    files = sorted(f for f in _PACKAGE.rglob("*.py") if f.relative_to(_PACKAGE).parts[0] not in _NOT_NUMERICS
                   and f.name != "_version.py" and "__pycache__" not in f.parts)
    for f in files:
        h.update(f.relative_to(_PACKAGE).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    if not files:
        h.update(f"rfscore {__version__}".encode())
    for lib in _LIBRARIES:
        try:
            h.update(f"{lib} {metadata.version(lib)}\0".encode())
        except metadata.PackageNotFoundError:
            h.update(f"{lib} absent\0".encode())
    return h.hexdigest()


def _function_name(fn) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', type(fn).__name__)}"


def file_digest(path) -> str:
    """SHA-256 (hex) of a file's bytes: what a checkpoint keys an input file on (its content, not its name)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def input_digests(parameters: Mapping) -> dict:
    """``{name: sha256}`` of every parameter whose value names an existing regular file (an input file such
    as ``data`` or ``test_data``): a rerun on a changed file is another run."""
    out = {}
    for name, value in dict(parameters).items():
        if isinstance(value, (str, os.PathLike)) and str(value) and os.path.isfile(value):
            out[str(name)] = file_digest(value)
    return out


def _header(parameters: Mapping, fn=None) -> dict:
    """First line of a checkpoint. ``key`` decides whether it is reused; the version is information."""
    key = {"function": _function_name(fn), "numerics": numerics_fingerprint(), "parameters": jsonable(dict(parameters), lossless=True)}
    inputs = input_digests(parameters)
    if inputs:  # only then: checkpoints of runs without input files keep their keys
        key["inputs"] = inputs
    return {"sweep": {"key": key, "rfscore_version": __version__}}


def _number(v) -> float:
    """A checkpoint number (lossless form: ``"inf"``, ``"-inf"``, ``"nan"`` strings) as a float; ValueError else."""
    if isinstance(v, bool) or not isinstance(v, (int, float, str)):
        raise ValueError(f"{v!r} is not a number")
    if isinstance(v, str) and v not in ("inf", "-inf", "nan"):
        raise ValueError(f"{v!r} is not a number")
    return float(v)


def table_rows(width: int, *, ranges: Mapping[int, tuple] = (), nan: Sequence[int] = (), inf: Sequence[int] = (),
               choices: Mapping[int, Sequence] = (), key: str | None = None, rows: int | None = None):
    """A checker of checkpoint records that hold table rows (for ``run_sweep(check_result=...)``).

    A record (or its ``key`` entry) must be a non-empty list (of ``rows`` rows when given) of lists of
    ``width`` entries; entry j is a finite number in ``ranges[j]`` = (lo, hi) (inclusive; default any),
    +inf only where j is in ``inf``, NaN only where j is in ``nan``, or one of ``choices[j]``. The checker
    raises ValueError saying what is wrong."""
    ranges, choices, nan, inf = dict(ranges), {j: set(c) for j, c in dict(choices).items()}, set(nan), set(inf)

    def check(result) -> None:
        table = result.get(key) if key is not None and isinstance(result, dict) else result
        if key is not None and not isinstance(result, dict):
            raise ValueError(f"the result is {type(result).__name__}, not an object with {key!r}")
        if not isinstance(table, list) or not table or (rows is not None and len(table) != rows):
            raise ValueError(f"the result is not a list of {rows or 'one or more'} rows")
        for i, row in enumerate(table):
            if not isinstance(row, list) or len(row) != width:
                raise ValueError(f"row {i + 1} is not a list of {width} entries")
            for j, v in enumerate(row):
                if j in choices:
                    if v not in choices[j]:
                        raise ValueError(f"row {i + 1} entry {j + 1} is {v!r}, not one of {sorted(choices[j])}")
                    continue
                x = _number(v)
                lo, hi = ranges.get(j, (-math.inf, math.inf))
                if x != x:
                    if j in nan:
                        continue
                    raise ValueError(f"row {i + 1} entry {j + 1} is NaN")
                if x == math.inf and j in inf:
                    continue
                if not (lo <= x <= hi) or math.isinf(x):
                    raise ValueError(f"row {i + 1} entry {j + 1} is {x!r}, outside [{lo:g}, {hi:g}]")
    return check


def _any_result(result) -> None:
    """The check of every record: a result, not ``null``."""
    if result is None:
        raise ValueError("the result is null")


def _drop_last_line(path: Path) -> None:
    """Remove the last (cut) line of a checkpoint, so that the next record starts on a line of its own."""
    data = path.read_bytes()
    cut = data.rstrip(b"\n").rfind(b"\n")
    with open(path, "r+b") as fh:
        fh.truncate(cut + 1 if cut >= 0 else 0)


def _load_checkpoint(path: Path, header: dict, arg: str, restart: bool, check_result=None) -> dict | None:
    """Finished points of a checkpoint written for ``header``; None if there is none (or ``restart``)."""
    if restart or not path.exists():
        return None
    if not path.is_file():
        raise InputError(arg, f"the sweep checkpoint {path} is not a regular file")
    try:
        with open(path) as fh:
            lines = fh.read().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(arg, f"cannot read the sweep checkpoint {path}: {exc}") from None

    def corrupt(why):
        return InputError(arg, f"the sweep checkpoint {path} is corrupt ({why}); delete it to start over")

    try:
        first = json.loads(lines[0]) if lines else None
    except (ValueError, RecursionError):  # RecursionError: a line of deeply nested brackets
        raise corrupt("line 1 is not JSON") from None
    if not (isinstance(first, dict) and isinstance(first.get("sweep"), dict)):
        raise corrupt("line 1 is not a sweep header")
    key, theirs = header["sweep"]["key"], first["sweep"].get("key")
    if theirs != key:
        got = first["sweep"].get("rfscore_version", "an older rfscore")
        if not isinstance(theirs, dict) or "numerics" not in theirs:
            why = f"by rfscore {got}, which did not record the numerics it used"
        elif theirs.get("numerics") != key["numerics"]:
            why = (f"by other numerics (rfscore {got}, source fingerprint {str(theirs['numerics'])[:12]}; this is "
                   f"rfscore {__version__}, {key['numerics'][:12]})")
        elif theirs.get("function") != key["function"]:
            why = f"by another sweep ({theirs.get('function')})"
        elif theirs.get("parameters") == key["parameters"] and theirs.get("inputs") != key.get("inputs"):
            changed = sorted(k for k in set(theirs.get("inputs") or {}) | set(key.get("inputs") or {})
                             if (theirs.get("inputs") or {}).get(k) != (key.get("inputs") or {}).get(k))
            why = f"for other contents of the input file(s) {', '.join(f'`{k}`' for k in changed)}"
        else:
            why = "for other parameters"
        raise InputError(arg, f"the sweep checkpoint {path} was written {why}; delete it (or pass `restart`) to "
                              f"start over")
    done = {}
    for i, line in enumerate(lines[1:], start=2):
        try:
            rec = json.loads(line)
        except (ValueError, RecursionError):
            if i == len(lines) and line.startswith('{"key": ') and not line.endswith("}"):
                _drop_last_line(path)  # a record cut by the interruption: dropped and recomputed
                continue
            raise corrupt(f"line {i} is not JSON") from None
        if not (isinstance(rec, dict) and isinstance(rec.get("key"), str) and "result" in rec):
            raise corrupt(f"line {i} is not a finished point")
        try:
            json.loads(rec["key"])
            _any_result(rec["result"])
            if check_result is not None:
                check_result(rec["result"])
        except (ValueError, TypeError, AttributeError, RecursionError) as exc:
            raise corrupt(f"line {i}: {str(exc).splitlines()[0][:200]}") from None
        done[rec["key"]] = rec["result"]
    return done


# Worker processes pay off only when each has enough work to amortise its start-up (a spawned
# JAX process: ~15 s of import and compilation). Measured (bench_phase.py, 16×16 grid, 2 cores):
# largest model p = n = 768 (d = 12): serial 8.8 s, 2 processes 43 s; p = n = 3072 (d = 48): serial
# 86.5 s, 2 processes 78.9 s. A generation point (exact matrices at every grid time, then sampling)
# costs ~30 s at p = 1024 (bench_generate.py), twice the start-up.
PHASE_PROCESSES_FROM = 2048       # largest max(p, n) of a phase grid from which processes are used
GENERATION_PROCESSES_FROM = 1024  # largest p of a generation sweep from which processes are used


def default_workers(n_points: int, largest: int, processes_from: int) -> int:
    """Worker count when none is given: serial (1) unless the sweep has at least 2 points and its
    largest model has order ``largest`` >= ``processes_from``; then one process per CPU core, at most
    one per point. Serial is also what a 1-core machine gets."""
    cores = os.cpu_count() or 1
    if n_points < 2 or largest < processes_from or cores < 2:
        return 1
    return min(cores, n_points)


def sweep_workers(workers, n_points: int, largest: int, processes_from: int, scheduler=None) -> tuple:
    """(workers, concurrent) of a sweep: ``workers`` as given or `default_workers`, and how many
    points run at once on this machine (1 with a Dask ``scheduler``, else at most one per point),
    which is what the memory checks multiply by."""
    if workers is None:
        workers = default_workers(n_points, largest, processes_from)
    return workers, 1 if scheduler is not None else min(workers, n_points)


SCHEDULER_ADDRESS = re.compile(r"^(tcp|tls|ucx|ws|wss|inproc)://[^\s/:]+(:\d{1,5})?/?$")


def check_scheduler(scheduler) -> None:
    """InputError unless ``scheduler`` is None, a ``distributed.Client`` or an address like tcp://HOST:PORT."""
    if scheduler is None or not isinstance(scheduler, str):
        return
    if not SCHEDULER_ADDRESS.match(scheduler.strip()):
        raise InputError("scheduler", f"must be a Dask scheduler address like tcp://HOST:PORT, got {scheduler!r}")


@dataclass(frozen=True)
class SweepRunner:
    """Where and how a sweep runs (`run_sweep`); no field changes a number.

    workers: local worker processes (int >= 1; None: chosen by the caller, e.g. `sweep_workers`, 1 = serially
    in this process); scheduler: a Dask scheduler address "tcp://host:port" or a ``distributed.Client``
    (None: local); checkpoint: a JSON-lines file (path) where finished points are flushed as they complete
    and from which a rerun resumes (None: none); restart: discard an existing checkpoint instead of resuming.
    """

    workers: int | None = None
    scheduler: object = None
    checkpoint: str | os.PathLike | None = None
    restart: bool = False


DEFAULT_RUNNER = SweepRunner()


@options_from_keywords(runner=SweepRunner)
def run_sweep(fn: Callable, points: Sequence[Mapping], *, parameters: Mapping | None = None,
              runner: SweepRunner = DEFAULT_RUNNER, desc: str = "sweep", progress: bool = False,
              check_result=None) -> list:
    """Return ``[fn(**point) for point in points]`` computed in parallel, in input order.

    ``points``: one mapping of keyword arguments of ``fn`` per point; ``parameters``: what every point shares
    (recorded in the checkpoint's header, which a resumed run must match); ``runner``: a `SweepRunner`
    (workers, scheduler, checkpoint, restart; as keywords: the 0.1 form, deprecated);
    ``desc``: the progress bar's label; ``check_result``: a validator of checkpoint records (below).
    ``fn`` must return JSON-serialisable data. ``workers``: local processes (default 1:
    serially in this process; callers choose with `sweep_workers`). ``scheduler``: a Dask scheduler address
    ("tcp://host:port") or a ``distributed.Client``. ``checkpoint``: JSON-lines file
    where finished points are flushed as they complete; a corrupt or foreign checkpoint
    (other version or parameters) raises InputError naming ``checkpoint``, unless
    ``restart`` discards it. The key holds the SHA-256 of every parameter that names an input file
    (`input_digests`): a changed input file is another run, refused like other parameters. Every record
    is validated when read (a result, not null; ``check_result(result)``, e.g. `table_rows`, raising
    ValueError for a bad one): a corrupt record is refused before anything is appended.
    ``progress``: tqdm bar on stderr (default off: the CLI
    asks for it, a library call stays quiet). Worker processes ignore Ctrl-C; the caller gets the
    KeyboardInterrupt, the workers are stopped and the checkpoint keeps what finished.
    """
    checkpoint, workers, scheduler = runner.checkpoint, runner.workers, runner.scheduler
    restart = runner.restart
    header = _header(parameters or {}, fn)
    keys = [_key(p) for p in points]
    check_scheduler(scheduler)
    done = {}
    if checkpoint is not None:
        checkpoint = Path(checkpoint)
        done = _load_checkpoint(checkpoint, header, "checkpoint", restart, check_result)
    client, own = (connect(scheduler) if scheduler is not None else (None, False))  # before any file exists
    fh, created = None, False
    try:
        if checkpoint is not None:
            if done is None:
                with open(checkpoint, "w") as f:
                    f.write(json.dumps(header) + "\n")
                done, created = {}, True
            fh = open(checkpoint, "a")
        done = done or {}
        todo = [(k, p) for k, p in zip(keys, points) if k not in done]
        n_recorded = [0]

        def record(k, result):
            done[k] = jsonable(result, lossless=True)  # read back here: τ = ∞ must survive
            n_recorded[0] += 1
            if fh is not None:
                fh.write(json.dumps({"key": k, "result": done[k]}) + "\n")
                fh.flush()

        bar = tqdm(total=len(points), initial=len(points) - len(todo), desc=desc, disable=not progress)
        try:
            if client is not None:
                _run_dask(fn, todo, client, record, bar)
            elif (workers or 1) <= 1 or len(todo) <= 1:
                for k, p in todo:
                    record(k, fn(**p))
                    bar.update()
            else:
                _run_processes(fn, todo, workers, record, bar)
        except KeyboardInterrupt:
            raise
        except BaseException:
            if created and n_recorded[0] == 0 and fh is not None:  # nothing to resume from: leave no file
                fh.close()
                fh = None
                checkpoint.unlink(missing_ok=True)
            raise
        finally:
            bar.close()
    finally:
        if fh is not None:
            fh.close()
        if own:
            client.close()
    return [done[k] for k in keys]


def _ignore_sigint():
    """Worker initializer: Ctrl-C goes to the parent only (no traceback from every worker)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run_processes(fn, todo, workers, record, bar):
    n_workers = min(workers, len(todo))
    ctx = mp.get_context("spawn")  # JAX is not fork-safe
    ex = ProcessPoolExecutor(max_workers=n_workers, mp_context=ctx, initializer=_ignore_sigint)
    try:
        with _worker_threads(max(1, (os.cpu_count() or 1) // n_workers)):  # workers spawn at submit
            futures = {ex.submit(fn, **p): k for k, p in todo}
        for fut in as_completed(futures):
            record(futures[fut], fut.result())
            bar.update()
    except BaseException:
        procs = list((getattr(ex, "_processes", None) or {}).values())  # taken before shutdown clears them
        ex.shutdown(wait=False, cancel_futures=True)
        for proc in procs:  # stop the running points now instead of waiting for them
            proc.terminate()
        for proc in procs:
            proc.join(timeout=10)
        raise
    ex.shutdown(wait=True)


_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@contextlib.contextmanager
def _worker_threads(n: int):
    """Spawned workers inherit this environment: n BLAS threads each, so that workers × threads
    does not oversubscribe the cores (oversubscribed OpenBLAS made 2 workers 3-5× slower than 1)."""
    saved = {k: os.environ.get(k) for k in _THREAD_VARS}
    os.environ.update({k: str(n) for k in _THREAD_VARS})
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def connect(scheduler):
    """(client, owned) for a scheduler address or an existing ``distributed.Client``."""
    try:
        from distributed import Client
    except ImportError:
        raise InputError("scheduler", "needs the optional Dask extra: pip install 'rfscore[dask]'") from None
    if isinstance(scheduler, Client):
        return scheduler, False
    try:
        return Client(scheduler, timeout=5), True
    except Exception as exc:  # noqa: BLE001 - any connection failure is a user error here
        raise InputError("scheduler", f"cannot connect to Dask scheduler {scheduler!r}: {exc}") from None


def _run_dask(fn, todo, client, record, bar):
    from distributed import as_completed as dask_completed

    futures = {client.submit(fn, pure=False, **p): k for k, p in todo}
    for fut in dask_completed(list(futures)):
        record(futures[fut], fut.result())
        bar.update()
