"""Writing results: CSV + JSON sidecar with parameters, package version and time.

Everything is written to a temporary file in the target folder and moved into place
only when complete (`os.replace`), so a failure never leaves a half-written file.
`check_outputs` validates every output path of a command before any computing (folder
exists and really accepts a file, no folder in the way, no two outputs on one path);
`OutputSet` stages all outputs of a run (CSV, sidecar, plot, NPY/NPZ) and moves them into
place only when all of them were written, so a run leaves all its files or none.
"""
from __future__ import annotations

import contextlib
import csv
import datetime as _dt
import json
import os
import tempfile
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

from .._version import __version__
from ..core.errors import InputError


def metadata(parameters: Mapping, **extra) -> dict:
    """The provenance block every result carries."""
    return {"rfscore_version": __version__,
            "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "parameters": jsonable(dict(parameters)), **jsonable(extra)}


def jsonable(obj):
    """``obj`` as plain JSON types: arrays to lists, numpy scalars to Python, ±inf/nan to strings, ``to_dict()``."""
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        return v if np.isfinite(v) else ("inf" if v > 0 else "-inf" if v < 0 else "nan")
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    if hasattr(obj, "to_dict"):
        return jsonable(obj.to_dict())
    if isinstance(obj, Path):
        return str(obj)
    return obj


def sidecar_path(path) -> Path:
    """``rho.csv`` -> ``rho.json`` (the JSON beside a CSV)."""
    return Path(path).with_suffix(".json")


def _output_error(arg: str, path: Path):
    """InputError if ``path`` cannot be an output file (folder missing, not writable, a folder in the way)."""
    folder = path.parent if str(path.parent) else Path(".")
    if not path.name or path.name in (".", ".."):
        raise InputError(arg, f"needs a file name, got {str(path)!r}")
    if path.is_dir():
        raise InputError(arg, f"{path} is a folder; give a file name")
    if path.exists() and not path.is_file():
        raise InputError(arg, f"{path} exists and is not a regular file")
    if not folder.is_dir():
        raise InputError(arg, f"folder {folder} does not exist")
    # os.access is not enough (e.g. /proc passes it, and root passes everything): really create a file.
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".check")
    except OSError as exc:
        raise InputError(arg, f"cannot create a file in folder {folder} ({exc.strerror or exc})") from None
    os.close(fd)
    os.remove(tmp)


def check_writable(path, arg: str = "out") -> Path:
    """Fail early, with the option name, if ``path`` cannot be written (see `check_outputs`)."""
    path = Path(path)
    _output_error(arg, path)
    return path


def check_outputs(*, sidecar: str | None = "out", **paths) -> dict:
    """Validate every output path of a run before computing; return ``{name: Path}``.

    ``paths``: option name -> path (``None`` skipped), or -> ``(path, option)`` for a file
    derived from another option (e.g. ``eigenvalues=(p, "out")``). The output named by
    ``sidecar`` (default ``out``) also gets its JSON sidecar (`sidecar_path`) checked.
    Each path: its folder exists and accepts a new file, it is not a folder (nor anything
    but a regular file); no two outputs, sidecar included, resolve to the same file.
    Raises `InputError` naming the option.
    """
    checked, items = {}, []  # items: (option, path, description, is_sidecar)
    for name, value in paths.items():
        path, arg = value if isinstance(value, tuple) else (value, name)
        if path is None:
            continue
        path = Path(path)
        if not path.name or path.name in (".", ".."):
            raise InputError(arg, f"needs a file name, got {str(value if not isinstance(value, tuple) else path)!r}")
        checked[name] = path
        items.append((arg, path, f"{_option(arg)} {path}", False))
        if name == sidecar:
            items.append((arg, sidecar_path(path), f"the JSON sidecar {sidecar_path(path)} of {_option(arg)}", True))
    seen = {}
    for arg, path, what, is_sidecar in items:
        if is_sidecar:
            if path.exists() and not path.is_file():
                raise InputError(arg, f"its JSON sidecar {path} is a folder or not a regular file")
        else:
            _output_error(arg, path)
        key = os.path.normcase(os.path.realpath(path))
        if key in seen:
            other_arg, other_what, other_sidecar = seen[key]
            if is_sidecar and other_arg == arg and not other_sidecar:
                raise InputError(arg, f"{path} would be overwritten by its own JSON sidecar; use a name not "
                                      f"ending in .json")
            raise InputError(arg, f"{what} is the same file as {other_what}; give each output its own path")
        seen[key] = (arg, what, is_sidecar)
    return checked


def _option(arg: str) -> str:
    return arg if arg.startswith("-") else "--" + arg.replace("_", "-")


def _stage(path: Path) -> Path:
    fd, tmp = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".", prefix=f".{path.name}.",
                               suffix=path.suffix)
    os.close(fd)
    return Path(tmp)


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path in ``path``'s folder; move it to ``path`` only on success."""
    path = Path(path)
    tmp = _stage(path)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; give results the usual permissions
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


class OutputSet:
    """All outputs of one run, written together or not at all.

    Use as ``with OutputSet() as outs:``; ``outs.path(final)`` returns a staged temporary
    file in ``final``'s folder to write to (``outs.result``, ``outs.csv``, ``outs.json``,
    ``outs.npy``, ``outs.npz`` do the writing). When the block ends without an exception every staged
    file is moved into place (`os.replace`, same folder); on an exception (or if a move
    fails) every staged file, and every file already moved, is removed.
    """

    def __init__(self):
        self._staged = []  # (tmp, final)

    def path(self, final) -> Path:
        final = Path(final)
        tmp = _stage(final)
        self._staged.append((tmp, final))
        return tmp

    def csv(self, final, columns, header=None) -> Path:
        _write_csv(self.path(final), columns, header)
        return Path(final)

    def json(self, final, obj) -> Path:
        _write_json(self.path(final), obj)
        return Path(final)

    def npy(self, final, array) -> Path:
        with open(self.path(final), "wb") as fh:
            np.save(fh, np.asarray(array))
        return Path(final)

    def npz(self, final, **arrays) -> Path:
        with open(self.path(final), "wb") as fh:  # a file object: np.savez would append .npz to a name
            np.savez(fh, **arrays)
        return Path(final)

    def result(self, final, columns, parameters, header=None, **extra) -> Path:
        """CSV at ``final`` and its JSON sidecar (parameters, version, time, ``extra``)."""
        final = Path(final)
        self.json(sidecar_path(final), metadata(parameters, csv=final.name, **extra))
        return self.csv(final, columns, header)

    def commit(self) -> list:
        mode = 0o666 & ~_umask()  # mkstemp creates 0600; give results the usual permissions
        moved = []
        try:
            for tmp, final in self._staged:
                os.chmod(tmp, mode)
                os.replace(tmp, final)
                moved.append(final)
        except BaseException:
            for final in moved:
                final.unlink(missing_ok=True)
            self.discard()
            raise
        self._staged = []
        return moved

    def discard(self) -> None:
        for tmp, _ in self._staged:
            tmp.unlink(missing_ok=True)
        self._staged = []

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.commit()
        else:
            self.discard()
        return False


def _write_csv(path, columns: Mapping[str, Sequence], header: Iterable[str] | None = None) -> None:
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

    # csv quotes any field that needs it (a comma in a label), so pandas and numpy read it back.
    with open(path, "w", newline="") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(header)
        out.writerows([fmt(v) for v in row] for row in zip(*cols))


def _write_json(path, obj) -> None:
    with open(path, "w") as fh:
        json.dump(jsonable(obj), fh, indent=2)
        fh.write("\n")


def write_csv(path, columns: Mapping[str, Sequence], header: Iterable[str] | None = None) -> Path:
    """Write equal-length columns as CSV (repr precision, ``inf`` for infinity), atomically."""
    with atomic_path(path) as tmp:
        _write_csv(tmp, columns, header)
    return Path(path)


def write_json(path, obj) -> Path:
    with atomic_path(path) as tmp:
        _write_json(tmp, obj)
    return Path(path)


def json_line(obj) -> str:
    """``obj`` as one line of strict JSON: non-finite floats (±inf, NaN) become ``null``."""
    def strict(o):
        if isinstance(o, Mapping):
            return {str(k): strict(v) for k, v in o.items()}
        if isinstance(o, (list, tuple, np.ndarray)):
            return [strict(v) for v in (o.tolist() if isinstance(o, np.ndarray) else o)]
        if isinstance(o, (float, np.floating)):
            return float(o) if np.isfinite(o) else None
        if isinstance(o, np.integer):
            return int(o)
        if isinstance(o, np.bool_):
            return bool(o)
        return o
    return json.dumps(strict(obj), allow_nan=False)


def write_result(path, columns: Mapping[str, Sequence], parameters: Mapping, header=None, **extra) -> Path:
    """CSV at ``path`` and its JSON sidecar (parameters, version, time, ``extra``): both or neither."""
    path = Path(path)
    check_outputs(out=path)
    with OutputSet() as outs:
        outs.result(path, columns, parameters, header=header, **extra)
    return path


def load_array(path, arg: str, ndim: int | None = None) -> np.ndarray:
    """np.load a .npy file, with a one-line InputError naming ``arg`` if unreadable or malformed."""
    try:
        with open(path, "rb") as fh:
            magic = fh.read(6)
    except OSError as exc:
        raise InputError(arg, f"cannot read {path}: {exc.strerror or exc}") from None
    if magic != b"\x93NUMPY":  # np.load would call a text file "pickled (object) data"
        raise InputError(arg, f"{path} is not a .npy file (no NumPy header); save the array with numpy.save")
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
