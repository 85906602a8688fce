"""The `rfscore` command line: a thin layer over the Python API.

Each sub-command lives in its own module of this package, exposing
``register(subparsers)``. Exit status: 0 success; 1 a solver that did not converge or a
result that came out non-finite (refused by the shared writer, rfscore/runtime/io.py, before
anything is written; one line naming the parameters), or an unexpected internal error,
reported in one line (``RFSCORE_DEBUG=1`` shows its traceback); 2 bad input, a run that
cannot fit in memory, or an output that cannot be written, with a one-line message naming
the option; 130 interrupted (Ctrl-C), with one
line saying what was interrupted (a sweep resumes from OUT.partial.jsonl when rerun), also
while the package is still importing JAX (rfscore/__init__.py).
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path

from .. import _STARTUP_INTERRUPTED, _interrupted_while_starting, __version__

try:
    from ..core.errors import ConvergenceError, InputError
    from ..core.precision import float64
    from .common import OneLineParser, option_name
except KeyboardInterrupt:  # still starting: one line, exit 130 (the package import has the same guard)
    _interrupted_while_starting()
    raise

COMMANDS = ("constants", "spectrum", "dynamics", "simulate", "timescales", "phase", "asymptotic", "curve", "generate",
            "reproduce", "train-net")


def build_parser() -> OneLineParser:
    parser = OneLineParser(prog="rfscore", description=__doc__.splitlines()[0],
                           epilog="exit status: 0 success; 1 a solver did not converge or a result came out non-finite (nothing "
                                  "written); 2 bad input, a run that "
                                  "cannot fit in memory or an output that cannot be written (one line naming the "
                                  "option, nothing written); 130 interrupted (a sweep resumes from OUT.partial.jsonl "
                                  "when rerun). RFSCORE_DEBUG=1 shows the traceback of an internal error.")
    parser.add_argument("--version", action="version", version=f"rfscore {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    for name in COMMANDS:
        module = f"{__name__}.{name.replace('-', '_')}"
        if importlib.util.find_spec(module) is not None:
            importlib.import_module(module).register(sub)
    return parser


SWEEPS = {"phase", "generate"}  # commands whose finished points survive an interruption in OUT.partial.jsonl
PATH_OPTIONS = ("out", "plot", "save_samples", "data", "weights", "sigma_matrix", "test_data")


def _path_option(args, filename) -> str | None:
    """The option whose path (or whose folder, or whose sidecar) is ``filename``, for an OSError message."""
    if not filename:
        return None
    target = Path(os.fspath(filename)).resolve()
    paths = {name: Path(value).resolve() for name in PATH_OPTIONS
             if isinstance(value := getattr(args, name, None), (str, os.PathLike))}
    for match in (lambda p: target in (p, p.with_suffix(".json")),  # the file, its staged copy, then its folder
                  lambda p: target.parent == p.parent and target.name.startswith(f".{p.name}."),
                  lambda p: target.parent == p.parent or target == p.parent):
        for name, path in paths.items():
            if match(path):
                return name
    return None


def main(argv=None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
    except KeyboardInterrupt:
        print(_STARTUP_INTERRUPTED, file=sys.stderr)
        return 130
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    prefix = f"rfscore {args.command}:"
    try:
        return int(float64(args.func)(args) or 0)  # the command's numerics in float64, as the library's
    except InputError as exc:
        print(f"{prefix} error: {option_name(exc.arg)}: {exc.msg}", file=sys.stderr)
        return 2
    except ConvergenceError as exc:
        print(f"{prefix} error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        if args.command in SWEEPS and getattr(args, "out", None):
            hint = f"finished points are kept in {args.out}.partial.jsonl; rerun the same command to resume"
        elif args.command == "reproduce":
            hint = f"figures finished so far are in {args.out}, no manifest was written"
        else:
            hint = "nothing was written"
        print(f"{prefix} interrupted; {hint}", file=sys.stderr)
        return 130
    except MemoryError as exc:
        print(f"{prefix} error: out of memory ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__}); "
              f"use a smaller size; nothing was written", file=sys.stderr)
        return 2
    except OSError as exc:
        opt = _path_option(args, getattr(exc, "filename", None))
        where = f"{option_name(opt)}: " if opt else ""
        verb = "cannot read" if opt in ("data", "weights", "sigma_matrix", "test_data") else "cannot write"
        target = f" {exc.filename}" if exc.filename else ""
        print(f"{prefix} error: {where}{verb}{target}: {exc.strerror or exc}; nothing was written", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - a bug: one line, not a silent pass; RFSCORE_DEBUG=1 re-raises
        if os.environ.get("RFSCORE_DEBUG", "") not in ("", "0"):
            raise
        msg = str(exc).splitlines()[0] if str(exc) else ""
        print(f"{prefix} internal error: {type(exc).__name__}: {msg} (please report it; RFSCORE_DEBUG=1 shows "
              f"the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
