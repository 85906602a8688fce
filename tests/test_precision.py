"""No global state (theory/model.md §5): importing rfscore leaves ``jax_enable_x64`` as it was, rfscore's
numerics run in float64 inside its own calls, and a user's float32 code beside it keeps float32."""
import importlib
import inspect
import pkgutil
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rfscore
from rfscore.core.deprecation import MOVED_MODULES
from rfscore.core.precision import MARKER, float64, to_host

# wings whose public functions and classes carry the float64 decorator; cli runs each command inside it,
# runtime holds no numerics, networks trains in float32 on purpose (rfscore/networks/models.py DTYPE)
NUMERICAL = ("core", "finite", "limit", "analysis", "generative", "data", "figures")
EXEMPT_MODULES = ("rfscore.core.errors", "rfscore.core.precision", "rfscore.core.deprecation",
                  "rfscore.analysis.networks",
                  "rfscore.figures.networks", "rfscore.figures.style", "rfscore.figures.paper.progress",
                  "rfscore.figures")


def _modules():
    for wing in NUMERICAL:
        pkg = importlib.import_module(f"rfscore.{wing}")
        yield pkg
        for info in pkgutil.walk_packages(pkg.__path__, prefix=f"rfscore.{wing}."):
            if info.name not in MOVED_MODULES:  # former paths: shims holding nothing of their own
                yield importlib.import_module(info.name)


def _public_callables():
    for mod in _modules():
        if mod.__name__ in EXEMPT_MODULES:
            continue
        for name, obj in vars(mod).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != mod.__name__:
                continue
            if inspect.isclass(obj) and issubclass(obj, BaseException):
                continue
            if inspect.isfunction(obj) or inspect.isclass(obj):
                yield f"{mod.__name__}.{name}", obj


@pytest.fixture(scope="module")
def fresh_processes():
    """Two fresh processes, without and with JAX_ENABLE_X64=1: the flag right after `import rfscore`, then the
    test losses of one small trajectory (one pair of processes serves both tests below)."""
    code = ("import jax, numpy as np, rfscore; print(jax.config.jax_enable_x64); "
            "es = rfscore.sample_eigensystem(jax.random.PRNGKey(3), d=8, psi_p=4, "
            "psi_n=2, t=0.1); print(repr(np.asarray(rfscore.trajectory(es, [1.0, 1e3]).test_loss).tolist()))")
    return [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**__import__("os").environ, **env}).stdout.splitlines()
            for env in ({}, {"JAX_ENABLE_X64": "1"})]


def test_import_leaves_the_flag_as_it_was(fresh_processes):
    assert [out[0] for out in fresh_processes] == ["False", "True"], fresh_processes


def test_every_public_callable_runs_in_float64():
    found = dict(_public_callables())
    assert len(found) > 150  # the walk really saw the package
    missing = sorted(name for name, obj in found.items() if not getattr(obj, MARKER, False))
    assert not missing, f"public callables without @float64 (rfscore/core/precision.py): {missing}"


def test_a_users_float32_code_keeps_float32():
    assert not jax.config.jax_enable_x64
    before = jax.jit(lambda x: jnp.sin(x) * 2.0)
    x = jnp.linspace(0.0, 1.0, 5)
    assert before(x).dtype == jnp.float32
    c = rfscore.ge_constants(0.1, "tanh")
    W, X, _ = rfscore.sample_inputs(jax.random.PRNGKey(0), d=6, psi_p=2, psi_n=2)
    es = rfscore.eigensystem(rfscore.exact_matrices(W, X, t=0.1), X.shape[0])
    tr = rfscore.trajectory(es, np.logspace(0, 4, 7))
    after = jax.jit(lambda x: jnp.cos(x) + 1.0)
    assert before(x).dtype == jnp.float32 and after(x).dtype == jnp.float32
    assert jnp.ones(3).dtype == jnp.float32 and not jax.config.jax_enable_x64
    # rfscore's own results are float64 NumPy arrays: arithmetic on them outside stays float64
    for arr in (W, X, tr.test_loss, tr.train_loss, es.eigvals):
        assert isinstance(arr, np.ndarray) and arr.dtype == np.float64
    assert (tr.test_loss * 2.0).dtype == np.float64 and isinstance(c.v_t2, float)


def test_float32_jax_input_is_computed_in_float64():
    tau32 = jnp.logspace(0, 4, 7)  # the user's grid, float32 without x64
    assert tau32.dtype == jnp.float32
    W, X, _ = rfscore.sample_inputs(jax.random.PRNGKey(1), d=6, psi_p=2, psi_n=2)
    es = rfscore.eigensystem(rfscore.exact_matrices(W, X, t=0.1), X.shape[0])
    a = rfscore.trajectory(es, tau32)
    b = rfscore.trajectory(es, np.asarray(tau32, dtype=np.float64))
    assert a.test_loss.dtype == np.float64
    np.testing.assert_array_equal(a.test_loss, b.test_loss)


def test_same_numbers_as_with_the_global_flag(fresh_processes):
    """The decorator reproduces a process with the flag on, bit for bit (a fresh process with JAX_ENABLE_X64=1)."""
    runs = [out[1] for out in fresh_processes]
    assert runs[0] == runs[1] and "nan" not in runs[0]


def test_nested_calls_pass_through_and_results_come_back_on_the_host():
    seen = []

    @float64
    def inner(x):
        seen.append(jax.config.jax_enable_x64)
        return jnp.asarray(x) * 2

    @float64
    def outer(x):
        y = inner(x)
        seen.append(isinstance(y, jax.Array))  # inside, no conversion: the library's own data flow
        return {"y": y, "pair": (y, 1)}

    out = outer(np.ones(2))
    assert seen == [True, True] and not jax.config.jax_enable_x64
    assert isinstance(out["y"], np.ndarray) and out["y"].dtype == np.float64
    assert isinstance(out["pair"][0], np.ndarray)
    key = jax.random.key(0)
    assert to_host(key) is key  # typed keys stay JAX arrays


@pytest.mark.parametrize("bad", [1, "x"])
def test_decorator_rejects_non_callables(bad):
    with pytest.raises(TypeError):
        float64(bad)
