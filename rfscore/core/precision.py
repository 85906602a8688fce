"""Float64 inside rfscore's own calls; the caller's JAX settings are left as they were (theory/model.md §5).

The small eigenvalues of U that set τ_mem are 1e-4..1e-6 of the largest and float32 loses them, so the
theory's numerics run in float64. They do so *inside* rfscore only: importing rfscore does not touch
``jax_enable_x64``, and a user's float32 code beside it (a network trained in float32, a jitted function
defined before or after) keeps its dtype.

One mechanism, ``@float64``, applied to every public function of the numerical wings and to every public
class (its constructor, methods, properties, class- and static methods):

- the call runs under ``jax.enable_x64(True)`` (a thread-local context, not the global flag);
- JAX floating arrays passed as top-level arguments in a lower precision are promoted to float64 (a grid
  the user built with ``jnp.linspace`` without x64 is float32; the library computes with it in float64);
- JAX arrays in the result (inside tuples, lists, dicts and rfscore's dataclasses) come back as NumPy
  arrays, so that arithmetic on them outside rfscore stays float64 whatever the global flag says;
- a call made from inside another decorated call passes straight through (no second context, no
  conversion), so that the library's internal data flow, and hence its numbers, are those of a process
  with the flag on.

``tests/test_precision.py`` walks the package and checks that every public callable carries the marker.
"""
from __future__ import annotations

import contextvars
import copy
import dataclasses
import functools
import inspect

import jax
import jax.numpy as jnp
import numpy as np

_INSIDE = contextvars.ContextVar("rfscore_float64_inside", default=False)
MARKER = "__rfscore_float64__"


def _promote(x):
    """A JAX floating array below float64 → float64; anything else unchanged."""
    if (isinstance(x, jax.Array) and not isinstance(x, jax.core.Tracer)
            and jnp.issubdtype(x.dtype, jnp.floating) and x.dtype.itemsize < 8):
        return x.astype(jnp.float64)
    return x


def to_host(obj):
    """JAX arrays in ``obj`` → NumPy arrays (exact, same dtype), through tuples, lists, dicts and the
    dataclasses of rfscore; PRNG key arrays, tracers and every other object are returned unchanged."""
    if isinstance(obj, jax.Array):
        if isinstance(obj, jax.core.Tracer) or jnp.issubdtype(obj.dtype, jax.dtypes.prng_key):
            return obj
        return np.asarray(obj)
    # containers are rebuilt only when something inside changed, so that an object passed in and returned
    # (a result reused as an argument) keeps its identity
    if isinstance(obj, tuple):
        items = [to_host(o) for o in obj]
        if all(a is b for a, b in zip(items, obj)):
            return obj
        if hasattr(obj, "_fields"):  # a NamedTuple
            return type(obj)(*items)
        return type(obj)(items) if type(obj) is not tuple else tuple(items)
    if type(obj) is list:
        items = [to_host(o) for o in obj]
        return obj if all(a is b for a, b in zip(items, obj)) else items
    if type(obj) is dict:
        items = {k: to_host(v) for k, v in obj.items()}
        return obj if all(items[k] is v for k, v in obj.items()) else items
    if (dataclasses.is_dataclass(obj) and not isinstance(obj, type)
            and type(obj).__module__.split(".")[0] == "rfscore"):
        changed = {}
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name, None)
            host = to_host(value)
            if host is not value:
                changed[f.name] = host
        if not changed:
            return obj
        new = copy.copy(obj)
        for name, host in changed.items():
            object.__setattr__(new, name, host)
        return new
    return obj


def _wrap_function(fn, convert_result: bool = True):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if _INSIDE.get():
            return fn(*args, **kwargs)
        token = _INSIDE.set(True)
        try:
            with jax.enable_x64(True):
                args = tuple(_promote(a) for a in args)
                kwargs = {k: _promote(v) for k, v in kwargs.items()}
                out = fn(*args, **kwargs)
                return to_host(out) if convert_result else out
        finally:
            _INSIDE.reset(token)

    setattr(wrapper, MARKER, True)
    return wrapper


_CLASS_HOOKS = ("__init__", "__post_init__", "__call__", "__getitem__")


def _wrap_class(cls):
    for name, attr in list(vars(cls).items()):
        if name.startswith("_") and name not in _CLASS_HOOKS:
            continue
        if isinstance(attr, property):
            setattr(cls, name, property(_wrap_function(attr.fget) if attr.fget else None, attr.fset, attr.fdel,
                                        attr.__doc__))
        elif isinstance(attr, functools.cached_property):
            wrapped = functools.cached_property(_wrap_function(attr.func))
            wrapped.__set_name__(cls, name)
            setattr(cls, name, wrapped)
        elif isinstance(attr, staticmethod):
            setattr(cls, name, staticmethod(_wrap_function(attr.__func__)))
        elif isinstance(attr, classmethod):
            setattr(cls, name, classmethod(_wrap_function(attr.__func__)))
        elif inspect.isfunction(attr):
            # a constructor returns None; its fields stay what the class stores (jax or numpy arrays)
            setattr(cls, name, _wrap_function(attr, convert_result=name not in ("__init__", "__post_init__")))
    setattr(cls, MARKER, True)
    return cls


def float64(obj):
    """Decorator: run a function, or every public method/property/constructor of a class, in float64
    without changing the caller's ``jax_enable_x64`` (see the module docstring)."""
    if isinstance(obj, type):
        return _wrap_class(obj)
    if not callable(obj):
        raise TypeError(f"float64 decorates functions and classes, not {type(obj).__name__}")
    return _wrap_function(obj)


def inside() -> bool:
    """Whether the caller runs inside a decorated rfscore call (float64 on)."""
    return _INSIDE.get()
