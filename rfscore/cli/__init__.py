"""The `rfscore` command line: a thin layer over the Python API.

Each sub-command lives in its own module of this package, exposing
``register(subparsers)``. Exit status: 0 success; 1 a solver that did not converge or a
result that came out non-finite (refused by the shared writer, rfscore/runtime/io.py, before
anything is written; one line naming the parameters), or an unexpected internal error,
reported in one line (``RFSCORE_DEBUG=1`` shows its traceback); 2 bad input, a run that
cannot fit in memory, or an output that cannot be written, with a one-line message naming
the option; 130 interrupted (Ctrl-C), with one
line saying what was interrupted (a sweep resumes from OUT.partial.jsonl when rerun), also
while the command is still starting (importing JAX: rfscore/_entry.py); 143 stopped by SIGTERM, one line,
staged and temporary files removed.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path

from .._version import __version__
from .._entry import STARTUP_INTERRUPTED, Terminated, end_startup, started_as_command
from ..core.errors import ConvergenceError, InputError
from ..core.precision import float64
from .common import OneLineParser, cli_text, option_name

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


FOLDER_OUTPUTS = {"train-net", "reproduce"}  # commands whose --out is a folder
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


def _interrupted_hint(args) -> str:
    """What an interrupted (Ctrl-C) or stopped (SIGTERM) command leaves behind."""
    if args.command in SWEEPS and getattr(args, "out", None):
        return f"finished points are kept in {args.out}.partial.jsonl; rerun the same command to resume"
    if args.command == "train-net":
        return f"checkpoints are kept in {args.out}/checkpoint_n*.npz; rerun the same command to resume"
    if args.command == "reproduce":
        return f"figures finished so far are in {args.out}, no manifest was written"
    return "nothing was written"


def _end_now(code: int) -> int:
    """The command process, stopped by SIGTERM, ends here (its outputs were already cleaned up while the exception
    unwound): XLA's threads may still be inside a computation, and an ordinary interpreter shutdown under them
    can crash (exit -11 instead of 143). An in-process caller (tests) gets the code back."""
    if not started_as_command():
        return code
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def main(argv=None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
    except KeyboardInterrupt:
        print(STARTUP_INTERRUPTED, file=sys.stderr)
        return 130
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    prefix = f"rfscore {args.command}:"
    for name in PATH_OPTIONS:  # an empty path is never the current folder (one convention for every command)
        if isinstance(value := getattr(args, name, None), str) and not value.strip():
            kind = "folder" if name == "out" and args.command in FOLDER_OUTPUTS else "file"
            print(f"{prefix} error: {option_name(name)}: is empty; give a {kind} name", file=sys.stderr)
            return 2
    try:
        end_startup()  # the work begins: Ctrl-C is a KeyboardInterrupt again (rfscore/_entry.py)
        return int(float64(args.func)(args) or 0)  # the command's numerics in float64, as the library's
    except Terminated:
        print(f"{prefix} stopped (SIGTERM); {_interrupted_hint(args)}", file=sys.stderr)
        return _end_now(143)
    except InputError as exc:
        print(f"{prefix} error: {option_name(exc.arg)}: {cli_text(exc.msg)}", file=sys.stderr)
        return 2
    except ConvergenceError as exc:
        print(f"{prefix} error: {cli_text(str(exc))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{prefix} interrupted; {_interrupted_hint(args)}", file=sys.stderr)
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
