"""One way to rename things for one version: a moved module, a renamed keyword, and keywords folded into a
configuration object each keep working in 0.2.0 with one DeprecationWarning line naming the new form, and go
in 0.3.0 (CHANGELOG.md). Nothing here changes a number: the old form is translated to the new one. Pure Python
(no JAX), so that the light modules (core/errors, runtime) can use it.
"""
from __future__ import annotations

import dataclasses
import functools
import importlib
import inspect
import os
import sys
import warnings
from collections.abc import Mapping


_HERE = {os.path.join("rfscore", "core", "deprecation.py"), os.path.join("rfscore", "core", "precision.py")}


def _warn(message: str) -> None:
    """A DeprecationWarning attributed to the caller's line: the first frame outside this module and the float64
    wrapper (rfscore/core/precision.py), however many of them stand between."""
    level, frame = 2, sys._getframe(1)  # stacklevel 2: the caller of _warn
    while frame is not None and any(frame.f_code.co_filename.endswith(h) for h in _HERE):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, DeprecationWarning, stacklevel=level)


# former module path -> the module that now holds its contents
MOVED_MODULES = {
    "rfscore.finite.draws": "rfscore.finite.inputs",
    "rfscore.finite.noise_draws": "rfscore.finite.frozen_noise",
    "rfscore.finite.models": "rfscore.finite.model_dispatch",
    "rfscore.figures.paper.progress": "rfscore.runtime.progress",
}


def moved_module(old: str, namespace: dict) -> None:
    """Fill the namespace of the former module ``old`` (a shim) with every name of the module that replaced it
    (public and private: code that imported either keeps running) and warn once, on its first import."""
    new = MOVED_MODULES[old]
    mod = importlib.import_module(new)
    namespace.update({k: v for k, v in vars(mod).items() if not (k.startswith("__") and k.endswith("__"))})
    warnings.warn(f"the module {old} is deprecated; import {new} (same contents)", DeprecationWarning, stacklevel=3)


def renamed_keywords(**new_of_old: str):
    """Decorator: the keyword ``old`` of the function is now called ``new`` (``renamed_keywords(lam="ridge")``).
    A call with the old keyword warns once (DeprecationWarning naming both) and runs as with the new one; both
    at once is a TypeError. The signature shows the new names only."""

    def deco(fn):
        name = fn.__qualname__

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            for old, new in new_of_old.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(f"{name}() got both '{old}' and its new name '{new}'")
                    _warn(f"{name}: the keyword '{old}' is deprecated; use '{new}' (same meaning)")
                    kwargs[new] = kwargs.pop(old)
            return fn(*args, **kwargs)

        return wrapper

    return deco


def options_from_keywords(aliases: dict | None = None, legacy: tuple | None = None, **configs: type):
    """Decorator: the function takes configuration objects (``param=ConfigClass``, frozen dataclasses) in place
    of the loose keywords it took before. A former keyword that is a field of one of these classes (or is named
    in ``aliases`` as ``{old: (param, field)}``) still works for one version: it replaces that field of the
    object passed (or of the signature's default) and warns once, naming the object to pass instead. A field of
    a nested configuration object is named by its dotted path (``{"max_order": ("score_model",
    "mehler.max_order")}``): the inner object is replaced in the outer one. Several former keywords in one call
    give one warning; a former keyword beside the object it folds into replaces that field of the object passed.
    ``legacy``: the former keywords accepted (default: every field and alias). Any other unknown keyword is a
    TypeError as usual. An object parameter without a default (required) is built from the former keywords
    when only they are given."""
    aliases = dict(aliases or {})
    owner = {}
    for param, cls in configs.items():
        for f in dataclasses.fields(cls):
            owner.setdefault(f.name, (param, f.name))
    owner.update(aliases)
    if legacy is not None:
        owner = {k: v for k, v in owner.items() if k in legacy}

    def deco(fn):
        sig = inspect.signature(fn)
        name = fn.__qualname__
        defaults = {p: sig.parameters[p].default for p in configs}

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            legacy = {k: kwargs.pop(k) for k in list(kwargs) if k not in sig.parameters and k in owner}
            if legacy:
                changes = {}
                for k, v in legacy.items():
                    param, field = owner[k]
                    changes.setdefault(param, {})[field] = v
                bases = {}
                for param in changes:
                    base = kwargs.get(param, defaults[param])
                    if isinstance(base, Mapping):  # the JSON form of a sweep point: the object's fields
                        base = configs[param](**base)
                    bases[param] = base
                shown = ", ".join(f"{p}={_shown(bases[p], f, configs[p].__name__)}" for p, f in changes.items())
                # the warning first: a former keyword with a bad value is deprecated too (then InputError below)
                _warn(f"{name}: the keyword(s) {', '.join(sorted(legacy))} are deprecated; pass {shown}")
                for param, fields in changes.items():
                    # a required object (no default) not passed: built from the former keywords alone (its
                    # constructor names a missing field as any call would)
                    kwargs[param] = (configs[param](**fields) if bases[param] is inspect.Parameter.empty
                                     else _replaced(bases[param], fields))
            return fn(*args, **kwargs)

        return wrapper

    return deco


# the one line of the former keyword ``require`` (0.1), now ``throw``: the same from `require_keyword` and from
# `rfscore.core.status.throw_option`
REQUIRE_NOTE = "the keyword 'require' is deprecated; use 'throw' (same meaning)"


def require_keyword(fn):
    """Decorator of every entry point whose ``throw`` was called ``require`` in 0.1: ``require=`` still works for
    one version, outside the signature. A value other than None replaces ``throw`` (``bool(require)``) and warns
    once (`REQUIRE_NOTE`); None is ignored, as the former default was. The wrapper lists the keyword in
    ``__former_keywords__`` ({'require': 'throw'}), which ``functools.wraps`` carries up through outer
    decorators."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if "require" in kwargs:
            require = kwargs.pop("require")
            if require is not None:
                _warn(REQUIRE_NOTE)
                kwargs["throw"] = bool(require)
        return fn(*args, **kwargs)

    wrapper.__former_keywords__ = {**getattr(fn, "__former_keywords__", {}), "require": "throw"}
    return wrapper


def _split(fields: dict) -> tuple[dict, dict]:
    """Plain fields, and dotted ones grouped by their first name:
    {'a': 1, 'm.tol': 2} -> ({'a': 1}, {'m': {'tol': 2}})."""
    top, nested = {}, {}
    for f, v in fields.items():
        head, dot, rest = f.partition(".")
        if dot:
            nested.setdefault(head, {})[rest] = v
        else:
            top[f] = v
    return top, nested


def _replaced(obj, fields: dict):
    """``dataclasses.replace`` along dotted paths: a nested object given whole in ``fields`` is the base of its own
    dotted fields."""
    top, nested = _split(fields)
    for head, sub in nested.items():
        top[head] = _replaced(top.get(head, _field(obj, head)), sub)
    return {**obj, **top} if isinstance(obj, Mapping) else dataclasses.replace(obj, **top)


def _field(obj, name: str):
    """A field of a configuration object, or of its fields as a mapping (absent: {}, the defaults)."""
    return obj.get(name, {}) if isinstance(obj, Mapping) else getattr(obj, name)


def _shown(obj, fields: dict, cls_name: str | None = None) -> str:
    """The call to write instead, e.g. ``ScoreModelConfig(ridge=..., mehler=MehlerRule(tol=...))``."""
    top, nested = _split(fields)
    parts = [f"{k}=..." for k in top if k not in nested]
    for head, sub in nested.items():
        inner = top.get(head, _field(obj, head))
        kind = _field(obj, head) if isinstance(inner, Mapping) else inner  # a mapping is named by the field's type
        parts.append(f"{head}={_shown(inner, sub, type(kind).__name__)}")
    return f"{cls_name or type(obj).__name__}({', '.join(parts)})"


def renamed_fields(**new_of_old: str):
    """Class decorator (above the dataclass one): the field ``old`` is now ``new``. Reading ``obj.old`` and the
    constructor keyword ``old=`` keep working for one version, each with one DeprecationWarning."""

    def deco(cls):
        for old, new in new_of_old.items():
            def getter(self, _old=old, _new=new):
                _warn(f"{type(self).__name__}.{_old} is deprecated; use .{_new} (same value)")
                return getattr(self, _new)
            setattr(cls, old, property(getter))
        cls.__init__ = renamed_keywords(**new_of_old)(cls.__init__)
        return cls

    return deco
