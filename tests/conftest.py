import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

import rfscore  # noqa: E402,F401  (enables jax_enable_x64 before any test builds arrays)


@pytest.fixture(autouse=True, scope="session")
def _sigint_reaches_children():
    """The Ctrl-C tests send SIGINT to child processes. A child inherits an *ignored* SIGINT (a suite started in
    the background by a non-interactive shell) and would never see it; a handled one is reset to the default at
    exec, so give the test process Python's usual handler."""
    import signal
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
