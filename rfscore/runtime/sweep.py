"""Parallel, resumable sweeps over grid points.

`run_sweep` maps a picklable function over points with local processes (default), a
Dask cluster (``scheduler`` address, needs the ``rfscore[dask]`` extra), or serially.
Each finished point is appended to a JSON-lines checkpoint, so an interrupted sweep
resumes instead of restarting. The checkpoint's first line records the package version
and the sweep's parameters; a checkpoint written by another version or for other
parameters is never reused (InputError, unless ``restart=True`` discards it), and a
corrupt one is an InputError naming the file. Every input, the scheduler included, is
checked before the checkpoint is created.
"""
from __future__ import annotations

import contextlib
import json
import multiprocessing as mp
import os
import re
import signal
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Callable, Mapping, Sequence

from tqdm.auto import tqdm

from .._version import __version__
from ..core.errors import InputError
from .io import jsonable


def _key(point: Mapping) -> str:
    return json.dumps(jsonable(dict(point), lossless=True), sort_keys=True)


def _header(parameters: Mapping) -> dict:
    return {"sweep": {"rfscore_version": __version__, "parameters": jsonable(dict(parameters), lossless=True)}}


def _load_checkpoint(path: Path, header: dict, arg: str, restart: bool) -> dict | None:
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
    except json.JSONDecodeError:
        raise corrupt("line 1 is not JSON") from None
    if not (isinstance(first, dict) and isinstance(first.get("sweep"), dict)):
        raise corrupt("line 1 is not a sweep header")
    if first != header:
        got = first["sweep"].get("rfscore_version", "an older rfscore")
        why = (f"by rfscore {got}, this is {__version__}" if got != __version__ else "for other parameters")
        raise InputError(arg, f"the sweep checkpoint {path} was written {why}; delete it (or pass --restart) to "
                              f"start over")
    done = {}
    for i, line in enumerate(lines[1:], start=2):
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            if i == len(lines):  # the last line, cut by the interruption: recomputed
                continue
            raise corrupt(f"line {i} is not JSON") from None
        if not (isinstance(rec, dict) and isinstance(rec.get("key"), str) and "result" in rec):
            raise corrupt(f"line {i} is not a finished point")
        done[rec["key"]] = rec["result"]
    return done


SCHEDULER_ADDRESS = re.compile(r"^(tcp|tls|ucx|ws|wss|inproc)://[^\s/:]+(:\d{1,5})?/?$")


def check_scheduler(scheduler) -> None:
    """InputError unless ``scheduler`` is None, a ``distributed.Client`` or an address like tcp://HOST:PORT."""
    if scheduler is None or not isinstance(scheduler, str):
        return
    if not SCHEDULER_ADDRESS.match(scheduler.strip()):
        raise InputError("scheduler", f"must be a Dask scheduler address like tcp://HOST:PORT, got {scheduler!r}")


def run_sweep(fn: Callable, points: Sequence[Mapping], *, parameters: Mapping | None = None,
              checkpoint: str | os.PathLike | None = None, workers: int | None = None,
              scheduler: str | None = None, desc: str = "sweep", progress: bool = True,
              checkpoint_arg: str = "checkpoint", restart: bool = False) -> list:
    """Return ``[fn(**point) for point in points]`` computed in parallel, in input order.

    ``fn`` must return JSON-serialisable data. ``workers``: local processes (default:
    CPU count; 1 runs serially in this process). ``scheduler``: a Dask scheduler address
    ("tcp://host:port") or a ``distributed.Client``. ``checkpoint``: JSON-lines file
    where finished points are flushed as they complete; a corrupt or foreign checkpoint
    (other version or parameters) raises InputError naming ``checkpoint_arg``, unless
    ``restart`` discards it. Worker processes ignore Ctrl-C; the caller gets the
    KeyboardInterrupt, the workers are stopped and the checkpoint keeps what finished.
    """
    header = _header(parameters or {})
    keys = [_key(p) for p in points]
    check_scheduler(scheduler)
    done = {}
    if checkpoint is not None:
        checkpoint = Path(checkpoint)
        done = _load_checkpoint(checkpoint, header, checkpoint_arg, restart)
    client, own = (_connect(scheduler) if scheduler is not None else (None, False))  # before any file exists
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
            elif (workers or os.cpu_count() or 1) <= 1 or len(todo) <= 1:
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
    n_workers = min(workers or os.cpu_count() or 1, len(todo))
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


def _connect(scheduler):
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
