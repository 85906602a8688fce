"""Writing results: CSV + JSON sidecar with parameters, package version and time.

Everything is written to a temporary file in the target folder and moved into place
only when complete (`os.replace`), so a failure never leaves a half-written file.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import tempfile
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

from ._version import __version__
from .errors import InputError


def metadata(parameters: Mapping, **extra) -> dict:
    """The provenance block every result carries."""
    return {"rfscore_version": __version__,
            "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "parameters": _jsonable(dict(parameters)), **_jsonable(extra)}


def _jsonable(obj):
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        return v if np.isfinite(v) else ("inf" if v > 0 else "-inf" if v < 0 else "nan")
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    if hasattr(obj, "to_dict"):
        return _jsonable(obj.to_dict())
    if isinstance(obj, Path):
        return str(obj)
    return obj


def sidecar_path(path) -> Path:
    """``rho.csv`` -> ``rho.json`` (the JSON beside a CSV)."""
    return Path(path).with_suffix(".json")


def check_writable(path, arg: str = "out") -> Path:
    """Fail early, with the option name, if ``path``'s folder does not exist or is not writable."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise InputError(arg, f"{path} is a folder; give a file name")
    if not folder.is_dir():
        raise InputError(arg, f"folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise InputError(arg, f"folder {folder} is not writable")
    return path


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path in ``path``'s folder; move it to ``path`` only on success."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".", prefix=f".{path.name}.", suffix=path.suffix)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give results the usual permissions
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_csv(path, columns: Mapping[str, Sequence], header: Iterable[str] | None = None) -> Path:
    """Write equal-length columns as CSV (repr precision, ``inf`` for infinity), atomically."""
    header = list(header or columns.keys())
    cols = [np.asarray(columns[h]) for h in header]
    lengths = {c.shape[0] for c in cols}
    if len(lengths) > 1:
        raise ValueError(f"columns have different lengths {lengths}")

    def fmt(v):
        if isinstance(v, (str, np.str_)):
            return str(v)
        if isinstance(v, (bool, np.bool_)):
            return "true" if v else "false"
        if isinstance(v, (int, np.integer)):
            return str(int(v))
        return repr(float(v))

    with atomic_path(path) as tmp:
        with open(tmp, "w") as fh:
            fh.write(",".join(header) + "\n")
            for row in zip(*cols):
                fh.write(",".join(fmt(v) for v in row) + "\n")
    return Path(path)


def write_json(path, obj) -> Path:
    with atomic_path(path) as tmp:
        with open(tmp, "w") as fh:
            json.dump(_jsonable(obj), fh, indent=2)
            fh.write("\n")
    return Path(path)


def write_result(path, columns: Mapping[str, Sequence], parameters: Mapping, header=None, **extra) -> Path:
    """CSV at ``path`` and its JSON sidecar (parameters, version, time, ``extra``)."""
    path = check_writable(path)
    side = sidecar_path(path)
    write_json(side, metadata(parameters, csv=path.name, **extra))
    try:
        write_csv(path, columns, header)
    except BaseException:
        side.unlink(missing_ok=True)
        raise
    return path


def load_array(path, arg: str, ndim: int | None = None) -> np.ndarray:
    """np.load a .npy file, with a one-line InputError naming ``arg`` if unreadable or malformed."""
    try:
        arr = np.load(path, allow_pickle=False)
    except Exception as exc:  # noqa: BLE001 - any read failure is a user-input error here
        raise InputError(arg, f"cannot read {path}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from None
    if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "fiu":
        raise InputError(arg, f"{path} must hold a numeric array")
    if ndim is not None and arr.ndim != ndim:
        raise InputError(arg, f"{path} must be a {ndim}-d array, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise InputError(arg, f"{path} contains non-finite values")
    return arr.astype(np.float64)
