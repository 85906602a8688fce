"""Writing results: CSV + JSON sidecar with parameters, package version and time.

Everything is written to a temporary file in the target folder and moved into place
only when complete (`os.replace`), so a failure never leaves a half-written file.
`check_outputs` validates every output path of a command before any computing (folder
exists and really accepts a file, no folder in the way, no two outputs on one path);
`OutputSet` stages all outputs of a run (CSV, sidecar, plot, NPY/NPZ) and moves them into
place only when all of them were written, so a run leaves all its files or none.

Two conventions live here and nowhere else:

* **Finite results.** Every CSV passes `check_finite` before anything is staged: a non-finite
  number is a `ConvergenceError` naming the column, the row and the run's parameters (CLI exit
  1, nothing written), never a row. The only exceptions are declared: a training-time column
  (``tau`` or ``tau_*``) may hold ``+inf`` (τ = ∞, the converged limit, or a time never reached),
  the columns a caller lists in ``undefined`` may hold NaN (a value not defined for that row,
  e.g. a bound with no closed form), and a row flagged ``converged`` = false is not checked (it
  is declared not to be a result; the command exits 1, as `rfscore spectrum` does).
* **Strict JSON.** Every JSON written (sidecars, manifests, the one-line stdout summaries) is
  strict JSON with non-finite numbers as ``null`` (`jsonable`). Only the sweep checkpoint, a file
  rfscore reads back itself, keeps ``"inf"``/``"-inf"``/``"nan"`` strings (``lossless=True``) so
  that a resumed sweep gets τ = ∞ back.
"""
from __future__ import annotations

import contextlib
import csv
import datetime as _dt
import json
import os
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

from .._version import __version__
from ..core.errors import ConvergenceError, InputError


def metadata(parameters: Mapping, **extra) -> dict:
    """The provenance block every result carries."""
    return {"rfscore_version": __version__,
            "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "parameters": jsonable(dict(parameters)), **jsonable(extra)}


def jsonable(obj, *, lossless: bool = False):
    """``obj`` as plain JSON types: arrays to lists, numpy scalars to Python, ``to_dict()``, paths to str.

    Non-finite floats become ``None`` (JSON ``null``): the one convention of every JSON file and
    line rfscore writes. ``lossless=True`` writes them as ``"inf"``, ``"-inf"``, ``"nan"`` instead;
    only for the sweep checkpoint, which rfscore reads back and where τ = ∞ must survive.
    """
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v, lossless=lossless) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v, lossless=lossless) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist(), lossless=lossless)
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        if np.isfinite(v):
            return v
        return ("inf" if v > 0 else "-inf" if v < 0 else "nan") if lossless else None
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if hasattr(obj, "to_dict"):
        return jsonable(obj.to_dict(), lossless=lossless)
    if isinstance(obj, Path):
        return str(obj)
    return obj


def _is_time(name: str) -> bool:
    """Columns where +inf is a value, not a failure: τ = ∞ (``tau``, ``tau_*``) and m = ∞ (``noise_samples``)."""
    return name == "tau" or name.startswith("tau_") or name == "noise_samples"


def describe(parameters: Mapping | None, limit: int = 400) -> str:
    """``parameters`` as one line ``k=v, ...`` for an error message (long values shortened)."""
    if not parameters:
        return "these parameters"
    parts = []
    for k, v in dict(parameters).items():
        v = jsonable(v)
        text = v if isinstance(v, str) else json.dumps(v, allow_nan=False)
        text = " ".join(str(text).split())
        parts.append(f"{k}={text if len(text) <= 40 else text[:37] + '...'}")
    line = ", ".join(parts)
    return line if len(line) <= limit else line[:limit - 3] + "..."


def check_finite(columns: Mapping[str, Sequence], parameters: Mapping | None = None, *,
                 undefined: Iterable[str] = ()) -> None:
    """ConvergenceError unless every numeric value in ``columns`` is finite (the declared exceptions aside).

    ``columns``: name -> sequence (the rows of a CSV). A column ``tau``, ``tau_*`` or ``noise_samples`` may
    hold ``+inf``; a column named in ``undefined`` may hold NaN; rows whose boolean ``converged`` column
    is false are not checked (flagged as no result). Non-numeric columns (labels) are not checked.
    The message names the column, the first bad row (with its τ when there is a ``tau`` column)
    and ``parameters``, on one line.
    """
    undefined = set(undefined)
    tau = columns.get("tau")
    flag = np.asarray(columns["converged"]) if "converged" in columns else None
    flagged = flag if flag is not None and flag.dtype.kind == "b" and flag.ndim == 1 else None
    for name, col in columns.items():
        a = np.atleast_1d(np.asarray(col))
        if a.dtype.kind == "O":
            try:
                a = a.astype(np.float64)
            except (TypeError, ValueError):
                continue  # labels
        if a.dtype.kind not in "fc":
            continue  # integers, booleans, strings: finite by type
        bad = ~np.isfinite(a)
        if _is_time(str(name)):
            bad &= ~(a == np.inf)
        if name in undefined:
            bad &= ~np.isnan(a)
        if flagged is not None and flagged.shape[0] == a.shape[0]:
            bad &= flagged.reshape((-1,) + (1,) * (a.ndim - 1))
        if np.any(bad):
            rows = bad.reshape(bad.shape[0], -1)
            i = int(np.flatnonzero(rows.any(axis=1))[0])
            value = a.reshape(a.shape[0], -1)[i][rows[i]][0]
            at = ""
            if tau is not None and name != "tau" and len(tau) == a.shape[0]:
                at = f", tau={float(np.asarray(tau, dtype=np.float64)[i]):g}"
            raise ConvergenceError(f"non-finite result {name}={float(np.real(value))!r} in row {i + 1} of "
                                   f"{a.shape[0]}{at} ({int(np.count_nonzero(bad))} such values) for "
                                   f"{describe(parameters)}; nothing was written")


def sidecar_path(path) -> Path:
    """``rho.csv`` -> ``rho.json`` (the JSON beside a CSV)."""
    return Path(path).with_suffix(".json")


PLOT_FORMATS = ("png", "pdf", "svg")  # --plot: the format is the file's extension, one of these


def plot_format(path) -> str:
    """The matplotlib format of a plot file from its extension (``p.pdf`` -> ``'pdf'``); InputError otherwise."""
    ext = Path(path).suffix.lower().lstrip(".")
    if ext not in PLOT_FORMATS:
        raise InputError("plot", f"the plot format is taken from the extension: .png, .pdf or .svg, got "
                                 f"{Path(path).name!r}")
    return ext


_TEMP_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


def temp_sibling(path, suffix: str = "") -> Path:
    """Create (O_EXCL, mode 0600) and return an empty hidden file in ``path``'s folder whose name is no longer
    than ``path``'s own name (a name the file system accepts for ``path`` is accepted for it too); it keeps
    ``suffix`` when there is room for it. The caller removes or renames it."""
    import secrets

    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    length = max(len(path.name.encode()), 1)
    last = None
    for _ in range(100):
        core = "".join(secrets.choice(_TEMP_ALPHABET) for _ in range(16))
        room = length - len(suffix.encode())
        if room >= 2:
            name = "." + core[:room - 1] + suffix
        elif room == 1:
            name = core[:1] + suffix
        else:
            name = ("." + core)[:length] if length > 1 else core[:1]
        if name in (".", "..") or name == path.name:
            continue
        try:
            fd = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError as exc:
            last = exc
            continue
        os.close(fd)
        return folder / name
    raise last or FileExistsError(str(folder))


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
    # os.access is not enough (e.g. /proc passes it, and root passes everything): really create a file, under a
    # name no longer than the real one (a probe name the file system refuses must not refuse a valid output)
    try:
        tmp = temp_sibling(path)
    except OSError as exc:
        raise InputError(arg, f"cannot create a file in folder {folder} ({exc.strerror or exc})") from None
    os.remove(tmp)


def check_writable(path, arg: str = "out") -> Path:
    """Fail early, with the option name, if ``path`` cannot be written (see `check_outputs`)."""
    path = Path(path)
    _output_error(arg, path)
    return path


def _identity(path: Path):
    """(resolved path, (device, inode) or None) of ``path``: two names of one file share one of them."""
    real = os.path.normcase(os.path.realpath(path))
    try:
        st = os.stat(path)
        ino = (st.st_dev, st.st_ino)
    except OSError:
        ino = None
    return real, ino


def check_outputs(*, sidecar: str | None = "out", inputs: Mapping | None = None, plots: Iterable[str] = ("plot",),
                  **paths) -> dict:
    """The output guard: validate every output path of a run before computing; return ``{name: Path}``.

    ``paths``: option name -> path (``None`` skipped), or -> ``(path, option)`` for a file
    derived from another option (e.g. ``eigenvalues=(p, "out")``). The output named by
    ``sidecar`` (default ``out``) also gets its JSON sidecar (`sidecar_path`) checked.
    ``inputs``: option name -> input file path of the run (``None`` and names that are no file,
    such as ``digits``, skipped). ``plots``: the outputs that are plots (format from the extension,
    `plot_format`). Each path: not empty, its folder exists and accepts a new file, it is not a
    folder (nor anything but a regular file); no output, sidecar included, is an input file, and no
    two outputs are one file, compared by resolved path and by inode (hard links). Raises
    `InputError` naming the option.
    """
    checked, items = {}, []  # items: (option, path, description, is_sidecar)
    for name, value in paths.items():
        path, arg = value if isinstance(value, tuple) else (value, name)
        if path is None:
            continue
        if not str(path).strip():
            raise InputError(arg, "is empty; give a file name")
        path = Path(path)
        if not path.name or path.name in (".", ".."):
            raise InputError(arg, f"needs a file name, got {str(value if not isinstance(value, tuple) else path)!r}")
        checked[name] = path
        items.append((arg, path, f"`{arg}` {path}", False))
        if name == sidecar:
            items.append((arg, sidecar_path(path), f"the JSON sidecar {sidecar_path(path)} of `{arg}`", True))
    ins = []
    for name, value in (inputs or {}).items():
        if value is None or not os.path.isfile(value):
            continue
        ins.append((name, Path(value), _identity(Path(value))))
    seen, seen_ino = {}, {}
    for arg, path, what, is_sidecar in items:
        real, ino = _identity(path)
        for in_arg, in_path, (in_real, in_ino) in ins:
            if real == in_real or (ino is not None and ino == in_ino):
                raise InputError(arg, f"{what} is the input file `{in_arg}` {in_path}; writing it would "
                                      f"overwrite the input: give the output another path")
        if is_sidecar:
            if path.exists() and not path.is_file():
                raise InputError(arg, f"its JSON sidecar {path} is a folder or not a regular file")
        else:
            _output_error(arg, path)
        other = seen.get(real) or (seen_ino.get(ino) if ino is not None else None)
        if other is not None:
            other_arg, other_what, other_sidecar = other
            if is_sidecar and other_arg == arg and not other_sidecar:
                raise InputError(arg, f"{path} would be overwritten by its own JSON sidecar; use a name not "
                                      f"ending in .json")
            raise InputError(arg, f"{what} is the same file as {other_what}; give each output its own path")
        seen[real] = (arg, what, is_sidecar)
        if ino is not None:
            seen_ino[ino] = (arg, what, is_sidecar)
    for name in plots:  # last: a folder in the way or a collision is the more useful message
        if name in checked:
            _plot_format_of(checked[name], name)
    return checked


def _plot_format_of(path, arg):
    try:
        return plot_format(path)
    except InputError as exc:
        raise InputError(arg, exc.msg) from None


def _stage(path: Path) -> Path:
    """A staged file beside ``path`` (name no longer than its own, same extension where it fits)."""
    return temp_sibling(path, path.suffix)


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

    def csv(self, final, columns, header=None, parameters=None, undefined=()) -> Path:
        """Stage a CSV; its columns pass `check_finite` first (``parameters`` name the run in its error)."""
        check_finite(_header_columns(columns, header), parameters, undefined=undefined)
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

    def result(self, final, columns, parameters, header=None, undefined=(), **extra) -> Path:
        """CSV at ``final`` and its JSON sidecar (parameters, version, time, ``extra``).

        The columns pass `check_finite` before anything is staged (``undefined``: columns where NaN
        means "not defined for this row"); a non-finite result raises ConvergenceError naming
        ``parameters``, and the `OutputSet` then writes nothing.
        """
        final = Path(final)
        check_finite(_header_columns(columns, header), parameters, undefined=undefined)
        self.json(sidecar_path(final), metadata(parameters, csv=final.name, **extra))
        return self.csv(final, columns, header, parameters, undefined)

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


def _header_columns(columns: Mapping[str, Sequence], header) -> dict:
    """The columns that will be written (those in ``header``, default all), by name."""
    return {h: columns[h] for h in (list(header) if header else list(columns.keys()))}


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
        json.dump(jsonable(obj), fh, indent=2, allow_nan=False)
        fh.write("\n")


def write_csv(path, columns: Mapping[str, Sequence], header: Iterable[str] | None = None, parameters=None,
              undefined=()) -> Path:
    """Write equal-length columns as CSV (repr precision, ``inf`` for τ = ∞), atomically, after `check_finite`."""
    check_finite(_header_columns(columns, header), parameters, undefined=undefined)
    with atomic_path(path) as tmp:
        _write_csv(tmp, columns, header)
    return Path(path)


def write_json(path, obj) -> Path:
    with atomic_path(path) as tmp:
        _write_json(tmp, obj)
    return Path(path)


def json_line(obj) -> str:
    """``obj`` as one line of strict JSON, non-finite floats as ``null`` (`jsonable`, as in every sidecar)."""
    return json.dumps(jsonable(obj), allow_nan=False)


def write_result(path, columns: Mapping[str, Sequence], parameters: Mapping, header=None, undefined=(),
                 **extra) -> Path:
    """CSV at ``path`` and its JSON sidecar (parameters, version, time, ``extra``): both or neither.

    The columns pass `check_finite` first (see `OutputSet.result`).
    """
    path = Path(path)
    check_outputs(out=path)
    with OutputSet() as outs:
        outs.result(path, columns, parameters, header=header, undefined=undefined, **extra)
    return path


# Largest |entry| of an input array: squares and sums of a few million squares stay far below the float64
# maximum 1.8e308 (an entry of 1e200 overflows x² and every Gram matrix built from it).
LARGEST_INPUT = 1e100


def load_array(path, arg: str, ndim: int | None = None) -> np.ndarray:
    """np.load a .npy file, with a one-line InputError naming ``arg`` if unreadable or malformed.

    Refused as well: anything but a regular file (a named pipe would block the read forever) and entries
    larger than `LARGEST_INPUT` in absolute value (their squares overflow float64 arithmetic)."""
    import stat

    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise InputError(arg, f"cannot read {path}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(mode):
        raise InputError(arg, f"{path} is a folder; give a .npy file")
    if not stat.S_ISREG(mode):
        raise InputError(arg, f"{path} is not a regular file (a pipe or a device); give a .npy file")
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
    arr = arr.astype(np.float64)
    if arr.size and float(np.max(np.abs(arr))) > LARGEST_INPUT:
        raise InputError(arg, f"{path} has entries up to |x| = {float(np.max(np.abs(arr))):.3g}, whose squares "
                              f"overflow float64 arithmetic; rescale it (accepted: |x| <= {LARGEST_INPUT:g})")
    return arr
