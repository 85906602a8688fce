"""The `rfscore` command line: a thin layer over the Python API.

Each sub-command lives in its own module of this package, exposing
``register(subparsers)``; bad input exits with status 2 and a one-line message
naming the option, a solver that does not converge exits with status 1.
"""
from __future__ import annotations

import importlib
import importlib.util
import sys

from .. import __version__
from ..errors import ConvergenceError, InputError
from .common import OneLineParser, option_name

COMMANDS = ("constants", "spectrum", "dynamics", "simulate", "timescales", "phase", "asymptotic", "reproduce")


def build_parser() -> OneLineParser:
    parser = OneLineParser(prog="rfscore", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"rfscore {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    for name in COMMANDS:
        if importlib.util.find_spec(f"{__name__}.{name}") is not None:
            importlib.import_module(f"{__name__}.{name}").register(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except InputError as exc:
        print(f"rfscore {args.command}: error: {option_name(exc.arg)}: {exc.msg}", file=sys.stderr)
        return 2
    except ConvergenceError as exc:
        print(f"rfscore {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
