import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

import rfscore  # noqa: E402,F401  (imported once; it leaves jax_enable_x64 as it was)


@pytest.fixture(autouse=True, scope="session")
def _sigint_reaches_children():
    """The Ctrl-C tests send SIGINT to child processes. A child inherits an *ignored* SIGINT (a suite started in
    the background by a non-interactive shell) and would never see it; a handled one is reset to the default at
    exec, so give the test process Python's usual handler."""
    import signal
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    yield


@pytest.fixture
def x64():
    """float64 for a test's own JAX reference computation (a gradient descent written in jnp, say). rfscore
    runs in float64 inside its calls without it; the tests that need no JAX reference run with the flag as a
    user has it (off), so a public function that missed rfscore's float64 decorator shows up there."""
    import jax
    with jax.enable_x64(True):
        yield


@pytest.fixture(autouse=True)
def _x64_for_the_network_tests(request):
    """rfscore.networks draws its data with float64 dtypes outside rfscore's float64 decorator (its public
    functions do not carry it yet), so its tests run as before, under x64; `rfscore train-net` runs every
    command inside the decorator."""
    if request.module.__name__.rsplit(".", 1)[-1] != "test_train_net":
        yield
        return
    import jax
    with jax.enable_x64(True):
        yield
