"""Small signatures (issue 29, item 6): no public function of a wing takes more than MAX_PARAMETERS parameters;
the options travel as small frozen configuration objects, and the former loose keywords keep working for one
version with one DeprecationWarning line and the same numbers."""
import ast
import json
import math
import warnings
from pathlib import Path

import jax
import numpy as np
import pytest

import rfscore
from rfscore.core.errors import InputError
from rfscore.finite.exact import MehlerRule
from rfscore.finite.inputs import sample_inputs
from rfscore.finite.krylov import KrylovRule
from rfscore.generative.generation import (DataSource, ReadoffConfig, SamplingConfig, generation_experiment,
                                           generation_point, validate)
from rfscore.generative.score_model import ScoreModelConfig, fit_score_model
from rfscore.runtime.sweep import SweepRunner

# the wings (directories of rfscore/) whose public functions are held to the limit: every library wing (the
# command line and the figures take their options as argparse namespaces and small keyword sets)
WINGS = ("core", "finite", "limit", "analysis", "data", "runtime", "generative", "networks")
MAX_PARAMETERS = 12
PACKAGE = Path(rfscore.__file__).resolve().parent


def _count(fn: ast.FunctionDef | ast.AsyncFunctionDef, method: bool) -> int:
    """Every parameter of the signature, positional and keyword (*args, **kwargs included), except self/cls."""
    a = fn.args
    names = [x.arg for x in a.posonlyargs + a.args]
    static = any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in fn.decorator_list)
    n = len(names) + len(a.kwonlyargs) + (a.vararg is not None) + (a.kwarg is not None)
    return n - 1 if method and not static and names and names[0] in ("self", "cls") else n


def _public_functions(wing: str):
    """(file:qualname, parameter count) of every public function of the wing: module level and methods of public
    classes (closures inside functions are not API)."""
    for path in sorted((PACKAGE / wing).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        where = path.relative_to(PACKAGE.parent)
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.name.startswith("_"):
                yield f"{where}:{node.name}", _count(node, method=False)
            elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                for item in node.body:
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and not item.name.startswith("_"):
                        yield f"{where}:{node.name}.{item.name}", _count(item, method=True)


@pytest.mark.parametrize("wing", WINGS)
def test_no_public_function_takes_more_than_twelve_parameters(wing):
    found = dict(_public_functions(wing))
    assert found, f"no public function found under rfscore/{wing}"
    too_many = {name: n for name, n in found.items() if n > MAX_PARAMETERS}
    assert not too_many, too_many


def test_the_counter_counts_every_parameter_but_self():
    tree = ast.parse("def f(a, /, b, *c, d, e=1, **f): pass\nclass K:\n    def m(self, x, *, y): pass\n"
                     "    @staticmethod\n    def s(x, y): pass\n")
    f, k = tree.body
    assert _count(f, method=False) == 6
    assert _count(k.body[0], method=True) == 2 and _count(k.body[1], method=True) == 2


# ----------------------------------------------------------------------------- the former keywords
FORMER = {  # function -> its former keywords, now fields of its configuration objects
    "fit_score_model": ("activation", "noise_samples", "ridge", "model", "krylov_above", "mehler", "krylov",
                        "max_order", "mehler_tol", "krylov_tol"),
    "generation_point": ("t_min", "t_max", "times", "spacing", "samples", "sampler", "integrator", "steps_per_time",
                         "score", "keep_samples", "sigma", "data", "test_data", "test_fraction", "activation",
                         "noise_samples", "ridge", "krylov_above", "mehler", "max_order", "mehler_tol",
                         "collapse_entropy", "floor_draws"),
    "generation_experiment": ("t_min", "t_max", "times", "spacing", "samples", "sampler", "integrator",
                              "steps_per_time", "score", "keep_samples", "sigma", "data", "test_data",
                              "test_fraction", "mem_threshold", "gen_tolerance", "collapse_entropy", "activation",
                              "noise_samples", "ridge", "model", "krylov_above", "mehler", "max_order", "mehler_tol",
                              "workers", "scheduler", "checkpoint", "restart"),
    "validate": ("t_min", "t_max", "times", "spacing", "samples", "sampler", "integrator", "steps_per_time", "score",
                 "mem_threshold", "gen_tolerance", "model", "data", "test_data", "test_fraction", "noise_samples",
                 "ridge"),
}


def test_no_caller_in_the_package_uses_a_former_keyword():
    # every call of these functions inside rfscore/ is in the new form: the package itself emits no
    # DeprecationWarning (a call through a module alias, e.g. ``generation.validate(...)``, counts too)
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name in FORMER:
                if name == "validate" and not ({k.arg for k in node.keywords} & {"psi_n", "seeds"}):
                    continue  # another function called validate
                bad = sorted({k.arg for k in node.keywords} & set(FORMER[name]))
                if bad:
                    offenders.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {name}({', '.join(bad)})")
    assert not offenders, offenders


def _same(a, b) -> bool:
    """Equal as JSON (NaN equal to NaN: read-offs that are undefined are NaN in both)."""
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def _deprecations(caught):
    return [w for w in caught if issubclass(w.category, DeprecationWarning)]


@pytest.fixture(scope="module")
def draw():
    W, X, _ = sample_inputs(jax.random.PRNGKey(4), d=4, psi_p=4, psi_n=1)  # p = 16, n = 4
    return W, X


def test_fit_score_model_former_keywords_same_numbers_one_warning(draw):
    W, X = draw
    times, tau, key = [0.1, 0.3], [10.0, math.inf], jax.random.PRNGKey(9)
    rule = MehlerRule(max_order=64, tol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # the new form warns about nothing
        new = fit_score_model(W, X, times, tau, noise_key=key,
                              score_model=ScoreModelConfig(activation="erf", noise_samples=2, ridge=0.01, mehler=rule))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        old = fit_score_model(W, X, times, tau, noise_key=key, activation="erf", noise_samples=2, ridge=0.01,
                              max_order=64, mehler_tol=1e-6)
    dep = _deprecations(caught)
    assert len(dep) == 1, [str(w.message) for w in dep]
    msg = str(dep[0].message)
    assert "score_model=ScoreModelConfig(" in msg and "mehler=MehlerRule(" in msg and "max_order" in msg, msg
    assert Path(dep[0].filename).resolve() == Path(__file__).resolve()  # attributed to the caller's line
    for name in ("B", "train_loss", "test_loss", "score_error"):
        np.testing.assert_array_equal(getattr(old, name), getattr(new, name), err_msg=name)
    # both forms at once: the former keyword replaces that field of the object passed (one warning)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        both = fit_score_model(W, X, times, tau, noise_key=key, ridge=0.01,
                               score_model=ScoreModelConfig(activation="erf", noise_samples=2, ridge=0.5, mehler=rule))
    assert len(_deprecations(caught)) == 1
    np.testing.assert_array_equal(both.B, new.B)
    # a whole rule and one of its fields as former keywords: the field wins over the rule's value
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        krylov = fit_score_model(W, X, times, tau, mehler=rule, krylov=KrylovRule(tol=1e-3), krylov_tol=1e-9,
                                 krylov_above=8)
    assert len(_deprecations(caught)) == 1
    assert all(dg.solver == "krylov" and dg.readout_error <= 1e-9 for dg in krylov.diagnostics)
    with pytest.raises(TypeError):
        fit_score_model(W, X, times, tau, not_an_option=1)


def test_configuration_objects_check_their_fields():
    for kw, arg in ((dict(ridge=-1.0), "ridge"), (dict(noise_samples=0), "noise_samples"), (dict(model="gep"), "model"),
                    (dict(krylov_above=0), "krylov_above"), (dict(activation="relu?"), "activation"),
                    (dict(mehler=3), "mehler"), (dict(krylov="tight"), "krylov")):
        with pytest.raises(InputError) as exc:
            ScoreModelConfig(**kw)
        assert exc.value.arg == arg, (kw, exc.value.arg)
    assert ScoreModelConfig(mehler={"max_order": 8, "tol": 1e-3}).mehler == MehlerRule(max_order=8, tol=1e-3)
    assert ScoreModelConfig(noise_samples=math.inf).noise_samples == math.inf  # kept as given: the exact average
    for kw, arg in ((dict(test_fraction=0.2), "test_fraction"), (dict(test_data="t.npy"), "test_data"),
                    (dict(data="digits", test_fraction=1.5), "test_fraction"),
                    (dict(data="x.npy", test_data="t.npy", test_fraction=0.2), "test_fraction")):
        with pytest.raises(InputError) as exc:
            DataSource(**kw)
        assert exc.value.arg == arg, (kw, exc.value.arg)
    assert hash(DataSource()) == hash(DataSource(sigma="1:1"))


SMALL = dict(d=4, psi_p=2, tau=[1e2, math.inf], seeds=1, seed=0)


def test_generation_experiment_former_keywords_same_numbers_one_warning():
    sampling = SamplingConfig(t_min=0.1, t_max=1.0, times=2, samples=60, keep_samples=True)
    model = ScoreModelConfig(activation="erf", ridge=0.01, mehler=MehlerRule(max_order=64, tol=1e-4))
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        new = generation_experiment([2], **SMALL, source=DataSource(sigma="0.5:0.5,1.5:0.5"), sampling=sampling,
                                    readoff=ReadoffConfig(mem_threshold=0.2), score_model=model,
                                    runner=SweepRunner(workers=1))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        old = generation_experiment([2], **SMALL, sigma="0.5:0.5,1.5:0.5", t_min=0.1, t_max=1.0, times=2, samples=60,
                                    keep_samples=True, mem_threshold=0.2, activation="erf", ridge=0.01, max_order=64,
                                    workers=1)
    dep = _deprecations(caught)
    assert len(dep) == 1, [str(w.message) for w in dep]
    msg = str(dep[0].message)
    for shown in ("source=DataSource(", "sampling=SamplingConfig(", "readoff=ReadoffConfig(",
                  "score_model=ScoreModelConfig(", "runner=SweepRunner("):
        assert shown in msg, (shown, msg)
    for col in new.table:
        np.testing.assert_array_equal(old.table[col], new.table[col], err_msg=col)
    np.testing.assert_array_equal(old.samples, new.samples)
    assert _same(old.parameters, new.parameters) and _same(old.points, new.points)
    assert new.samples.shape == (2, 60, 4) and new.parameters["ridge"] == 0.01 and new.parameters["activation"] == "erf"
    # both forms: a former keyword beside its object replaces that field of the object passed
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        both = generation_experiment([2], **SMALL, source=DataSource(sigma="0.5:0.5,1.5:0.5"), sampling=sampling,
                                     readoff=ReadoffConfig(mem_threshold=0.2), runner=SweepRunner(workers=1),
                                     score_model=ScoreModelConfig(activation="erf", mehler=MehlerRule(64, 1e-4)),
                                     ridge=0.01)
    assert len(_deprecations(caught)) == 1
    np.testing.assert_array_equal(both.table["f_mem"], new.table["f_mem"])
    np.testing.assert_array_equal(both.table["frechet"], new.table["frechet"])


def test_generation_point_takes_objects_their_json_form_and_the_former_keywords():
    common = dict(d=4, psi_p=2, psi_n=2, seed=1, tau=[1e2, math.inf])
    sampling = dict(t_min=0.1, t_max=1.0, times=2, samples=40)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        new = generation_point(**common, sampling=SamplingConfig(**sampling),
                               score_model=ScoreModelConfig(mehler=MehlerRule(max_order=64, tol=1e-4)),
                               readoff=ReadoffConfig(floor_draws=3))
        as_json = generation_point(**common, sampling=sampling, score_model={"mehler": {"max_order": 64, "tol": 1e-4}},
                                   readoff={"floor_draws": 3}, source={"sigma": "1:1"})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        old = generation_point(**common, sampling=sampling, mehler={"max_order": 64, "tol": 1e-4}, floor_draws=3)
    assert len(_deprecations(caught)) == 1
    assert _same(new, as_json) and _same(new, old)
    default_floor = generation_point(**common, sampling=sampling,
                                     score_model=ScoreModelConfig(mehler=MehlerRule(max_order=64, tol=1e-4)))
    assert default_floor["rows"][0][7] != new["rows"][0][7]  # floor_draws reaches the Fréchet floor (Y8)


def test_validate_former_keywords_refuse_as_before():
    kw = dict(d=4, psi_p=2, psi_n=[2], tau=[math.inf], seeds=1, seed=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(InputError) as exc:
            validate(**kw, model="gep")
        assert exc.value.arg == "model"
        with pytest.raises(InputError) as exc:
            validate(**kw, score="empirical", noise_samples=4)
        assert exc.value.arg == "noise_samples"
        pairs, p, tau = validate(**kw, times=4, samples=50)
    assert len(_deprecations(caught)) == 3 and p == 8 and tau == [math.inf]
    with pytest.raises(InputError) as exc:
        validate(**kw, sampling=SamplingConfig(score="population"), score_model=ScoreModelConfig(ridge=0.1))
    assert exc.value.arg == "ridge"
    with pytest.raises(InputError) as exc:
        validate(**kw, readoff=ReadoffConfig(floor_draws=0))
    assert exc.value.arg == "floor_draws"
