"""Signals of the `rfscore` command line while it starts: Ctrl-C (SIGINT) and SIGTERM before the first line
of work end the command at once with one line and exit 130 (143 for SIGTERM), never a traceback, a crash or
a swallowed interrupt.

Why a handler and not ``except KeyboardInterrupt``: JAX's import runs native code (XLA, its garbage-collection
callback) where a KeyboardInterrupt raised by Python's default handler is printed as "Exception ignored" and
lost, or leaves a half-initialised extension module that crashes (segfault, abort). The handler installed
here raises nothing: it writes the line and ends the process with ``os._exit`` at the next Python bytecode
(while a native call runs, the signal waits until it returns). Nothing is written while starting, so
nothing needs cleaning up.

Stdlib only, and fast: it runs before JAX is imported. `install` is called first thing by the package
import (rfscore/__init__.py) and does something only when this process is the command (the ``rfscore``
console script, ``python -m rfscore`` or ``python -m rfscore.cli``; a library import, a worker process or a
test calling ``main`` keep Python's handlers). `end_startup` (rfscore/cli/__init__.py, just before the
command's work) hands SIGINT back to Python's KeyboardInterrupt, which every command handles (exit 130, one
line, partial results kept or removed), and turns SIGTERM into `Terminated` so that staged files are removed.
"""
from __future__ import annotations

import os
import signal
import sys

STARTUP_INTERRUPTED = "rfscore: interrupted while starting; nothing was written"
_installed = [False]


def started_as_command() -> bool:
    """Whether this process is the `rfscore` command (console script, ``python -m rfscore[.cli]``)."""
    orig = list(getattr(sys, "orig_argv", ()) or ())  # the interpreter's own argv: a spawned worker's says -c
    if len(orig) >= 2:
        script = os.path.basename(orig[1]).lower()
        if script in ("rfscore", "rfscore.exe", "rfscore-script.py"):
            return True
        return any((a == "-m" and b in ("rfscore", "rfscore.cli")) or a in ("-mrfscore", "-mrfscore.cli")
                   for a, b in zip(orig[1:], orig[2:] + [""]))
    argv0 = os.path.basename(sys.argv[0]) if sys.argv else ""
    return argv0.lower() in ("rfscore", "rfscore.exe", "rfscore-script.py")


def _exit_now(signum, frame):  # noqa: ARG001 - signal handler signature
    code = 130 if signum == signal.SIGINT else 128 + int(signum)
    what = "interrupted" if signum == signal.SIGINT else f"stopped ({signal.Signals(signum).name})"
    try:
        os.write(2, f"rfscore: {what} while starting; nothing was written\n".encode())
    finally:
        os._exit(code)


def install() -> None:
    """In the command only: SIGINT and SIGTERM end the process with one line until `end_startup`."""
    if _installed[0] or not started_as_command():
        return
    try:
        for signum in (signal.SIGINT, signal.SIGTERM):
            if signal.getsignal(signum) is not signal.SIG_IGN:  # ignored by the caller (nohup, `cmd &`): stays so
                signal.signal(signum, _exit_now)
    except (ValueError, OSError):  # not the main thread: leave Python's handlers
        return
    _installed[0] = True


class Terminated(BaseException):
    """SIGTERM during the command's work: unwinds like Ctrl-C, so staged and temporary files are removed."""


def _swallowing(frame) -> bool:
    """Whether ``frame`` runs where Python prints and drops an exception: a gc callback (JAX registers one)
    or a ``__del__`` finaliser."""
    import gc

    codes = {getattr(cb, "__code__", None) for cb in gc.callbacks}
    while frame is not None:
        if frame.f_code in codes or frame.f_code.co_name == "__del__":
            return True
        frame = frame.f_back
    return False


def _redeliver(signum) -> None:
    import threading

    timer = threading.Timer(0.02, os.kill, (os.getpid(), signum))
    timer.daemon = True
    timer.start()


def _interrupt(signum, frame):
    """Ctrl-C during the work: KeyboardInterrupt, except inside a gc callback or finaliser, where it would be
    swallowed ("Exception ignored in ..."): there the signal is sent again 20 ms later."""
    if _swallowing(frame):
        _redeliver(signum)
        return
    raise KeyboardInterrupt


def _terminate(signum, frame):
    if _swallowing(frame):
        _redeliver(signum)
        return
    raise Terminated(signum)


def end_startup() -> None:
    """The command's work begins: Ctrl-C raises KeyboardInterrupt again (never inside a gc callback, where it
    would be lost), SIGTERM raises `Terminated`."""
    if not _installed[0]:
        return
    for signum, handler in ((signal.SIGINT, _interrupt), (signal.SIGTERM, _terminate)):
        if signal.getsignal(signum) is not signal.SIG_IGN:
            signal.signal(signum, handler)
