"""Every solver says when it failed: flag False with its error estimate above tol, and a
ConvergenceError naming the parameters where the caller requires convergence (the CLI always:
exit 1, nothing written). theory/krylov.md §6, theory/exact_matrices.md §8."""
import jax
import numpy as np
import pytest

from rfscore import ge_constants
from rfscore.analysis.timescales import timescales
from rfscore.cli import main
from rfscore.core.errors import ConvergenceError
from rfscore.finite.inputs import sample_inputs
from rfscore.finite.dynamics import trajectory
from rfscore.finite.eigensystem import eigensystem
from rfscore.finite.exact import exact_matrices
from rfscore.finite.gep import gep_matrices
from rfscore.finite.model_dispatch import sample_eigensystem
from rfscore.generative.score_model import ScoreModelConfig, fit_score_model
from rfscore.limit.asymptotic import asymptotic_curves
from rfscore.limit.spectrum import solve_spectrum
from rfscore.finite.exact import MehlerRule
from rfscore.finite.krylov import KrylovRule
from rfscore.limit.contour_losses import ContourRule
from rfscore.limit.fixed_point import FixedPointRule
from rfscore.limit.spectrum import ContinuationRule

TAU = np.array([1.0, 1e3, np.inf])


@pytest.fixture(scope="module")
def small():
    # d = 16, p = 64, n = 32: small enough to be quick, (E4) reaches 1e-8 within 64 orders
    W, X, key = sample_inputs(jax.random.PRNGKey(11), d=16, psi_p=4, psi_n=2)
    return W, X, key


def test_exact_matrices_converged_status(small):
    W, X, _ = small
    m = exact_matrices(W, X, t=0.1, mehler=MehlerRule(tol=1e-8), throw=True)
    assert m.converged and m.tol == 1e-8 and m.error <= 1e-8
    assert m.error == max(m.truncation_bound, m.quadrature_error)


def test_exact_matrices_flag_a_too_small_max_order(small):
    W, X, _ = small
    m = exact_matrices(W, X, t=0.1, mehler=MehlerRule(tol=1e-8, max_order=2), throw=False)
    assert not m.converged and m.truncation_bound > 1e-8 and m.error > m.tol
    with pytest.raises(ConvergenceError, match=r"truncation bound .* > tol = 1e-08 \(p = 64, d = 16, n = 32, "
                                               r"t = 0.1, activation = tanh, max_order = 2\)"):
        exact_matrices(W, X, t=0.1, mehler=MehlerRule(tol=1e-8, max_order=2), throw=True)


def test_exact_matrices_flag_a_capped_quadrature_step(small):
    # the rule may not be refined below h = 1/4: the two coarsest rules disagree far above 1e-12
    W, X, _ = small
    m = exact_matrices(W, X, t=0.1, mehler=MehlerRule(tol=1e-12, max_order=4, h_finest=0.25), throw=False)
    assert not m.converged and m.quadrature_error > 1e-12
    with pytest.raises(ConvergenceError, match=r"quadrature error .* h_finest = 0.25.*p = 64"):
        exact_matrices(W, X, t=0.1, mehler=MehlerRule(tol=1e-12, max_order=4, h_finest=0.25), throw=True)


def test_closed_forms_report_converged_with_zero_error(small):
    W, X, key = small
    m = gep_matrices(W, X, t=0.1, key=key)
    assert m.converged and m.error == 0.0
    tr = trajectory(eigensystem(m, X.shape[0]), TAU)
    assert tr.converged and tr.error == 0.0


def test_timescales_status():
    es = sample_eigensystem(jax.random.PRNGKey(0), d=20, psi_p=8, psi_n=2, t=0.1)
    ts = timescales(es, ge_constants(0.1, "tanh"))
    assert ts.converged and 0 < ts.error < 0.05 and ts.to_dict()["converged"]


@pytest.mark.parametrize("kw, why", [
    (dict(contour=ContourRule(nodes_per_panel=2)), "contour quadrature not converged"),  # too few contour nodes
    (dict(fixed_point=FixedPointRule(max_damped=1, damping=1e-3)), r"\(A1\) did not converge"),  # too few iterations
])
def test_asymptotic_curves_flag_and_raise(kw, why):
    ok = asymptotic_curves(TAU, psi_p=8, psi_n=2, t=0.1)
    assert ok.converged and ok.error < 1e-3
    bad = asymptotic_curves(TAU, psi_p=8, psi_n=2, t=0.1, throw=False, **kw)
    assert not bad.converged and why.replace("\\", "") in bad.diagnostics["message"]
    if "contour" in kw:
        assert bad.error > 1e-3  # the two-contour estimate is above its tolerance
    else:
        assert bad.diagnostics["a1_residual"] > 1e-10
    with pytest.raises(ConvergenceError, match=why + r".*psi_p=8"):
        asymptotic_curves(TAU, psi_p=8, psi_n=2, t=0.1, **kw)


def test_spectrum_flags_and_raises():
    lam = np.linspace(0.01, 5, 12)
    ok = solve_spectrum(lam, psi_p=4, psi_n=2, t=0.1)
    assert ok.success and ok.error <= ok.tol
    bad = solve_spectrum(lam, psi_p=4, psi_n=2, t=0.1, continuation=ContinuationRule(tol=1e-30), throw=False)
    assert not bad.success and not np.all(bad.converged) and bad.error > bad.tol
    with pytest.raises(ConvergenceError):
        solve_spectrum(lam, psi_p=4, psi_n=2, t=0.1, continuation=ContinuationRule(tol=1e-30), throw=True)


def test_score_model_requires_converged_matrices(small):
    W, X, _ = small
    times = np.array([0.05, 0.5])
    rule = MehlerRule(max_order=64, tol=1e-8)
    model = fit_score_model(W, X, times, [10.0, np.inf], score_model=ScoreModelConfig(mehler=rule))
    assert model.converged and model.error <= 1e-8
    assert all(dg.converged and dg.readout_error == 0.0 for dg in model.diagnostics)
    kr = fit_score_model(W, X, times, [10.0, np.inf],
                         score_model=ScoreModelConfig(mehler=rule, krylov=KrylovRule(tol=1e-6), krylov_above=8))
    assert kr.converged and all(dg.solver == "krylov" and dg.readout_error <= 1e-6 for dg in kr.diagnostics)
    with pytest.raises(ConvergenceError, match=r"max_order = 2"):
        fit_score_model(W, X, times, [np.inf], score_model=ScoreModelConfig(mehler=MehlerRule(max_order=2, tol=1e-8)))


def test_cli_exits_1_on_unconverged_matrices(tmp_path, capsys):
    # d = 8, p = 128: the Mehler bound stops near 2e-8 at order 64, above the default 1e-12 (met at K = 135
    # within the default cap of 256, theory/exact_matrices.md §8)
    out = tmp_path / "a.csv"
    cmd = ["dynamics", "--d", "8", "--psi-p", "16", "--psi-n", "2", "--t", "0.1", "--model", "exact",
           "--tau-min", "1", "--tau-max", "1e3", "--num", "4", "--out", str(out)]
    rc = main([*cmd, "--max-order", "64"])
    err = capsys.readouterr().err.strip()
    assert rc == 1 and len(err.splitlines()) == 1 and "max_order = 64" in err and "p = 128" in err
    assert "--max-order" in err
    assert not out.exists() and not (tmp_path / "a.json").exists()
    assert main(cmd) == 0 and out.exists()  # the default cap reaches the tolerance


# ----------------------------------------------------------------------------- one status convention
def _public(kind):
    import importlib
    import inspect
    import pkgutil
    from rfscore.core.deprecation import MOVED_MODULES
    for wing in ("core", "finite", "limit", "analysis", "generative", "data"):
        pkg = importlib.import_module(f"rfscore.{wing}")
        for info in pkgutil.walk_packages(pkg.__path__, prefix=f"rfscore.{wing}."):
            # rfscore.analysis.networks is walked too; rfscore.networks (the optional equinox extra) is walked by
            # tests/test_status_networks.py
            if info.name in MOVED_MODULES:
                continue
            mod = importlib.import_module(info.name)
            for name, obj in vars(mod).items():
                if not name.startswith("_") and getattr(obj, "__module__", None) == mod.__name__ and kind(obj):
                    yield f"{mod.__name__}.{name}", obj


def test_every_entry_point_takes_throw_and_require_is_its_deprecated_alias():
    import inspect
    fns = dict(_public(inspect.isfunction))
    # one rule: `require_keyword` reads the former keyword, outside the signature
    with_require = {n: f for n, f in fns.items() if "require" in getattr(f, "__former_keywords__", {})}
    assert len(with_require) >= 7, sorted(with_require)  # exact_matrices, spectra, Krylov, d → ∞ curves
    in_signature = sorted(n for n, f in fns.items() if "require" in inspect.signature(f).parameters
                          and n != "rfscore.core.status.throw_option")  # the helper that reads the two keywords
    assert not in_signature, in_signature
    with_throw = {n: f for n, f in fns.items() if "throw" in inspect.signature(f).parameters
                  and n != "rfscore.core.status.throw_option"}
    assert set(with_require) <= set(with_throw)
    not_true = sorted(n for n, f in with_throw.items() if inspect.signature(f).parameters["throw"].default is not True)
    assert not not_true, f"throw must default to True (raise unless asked not to): {not_true}"


def test_every_result_type_carries_one_status():
    import dataclasses
    import inspect
    from rfscore.core.status import Status
    classes = dict(_public(inspect.isclass))
    results = {n: c for n, c in classes.items()
               if dataclasses.is_dataclass(c) and ("converged" in {f.name for f in dataclasses.fields(c)}
                                                   or isinstance(getattr(c, "converged", None), property))}
    assert {"rfscore.analysis.timescales.TimescaleScan", "rfscore.analysis.phase.PhaseDiagram",
            "rfscore.limit.spectrum.SpectrumResult", "rfscore.core.trajectory.Trajectory",
            "rfscore.generative.generation.GenerationResult"} <= set(results)
    missing = sorted(n for n, c in results.items()
                     if c is not Status and not isinstance(getattr(c, "status", None), property))
    assert not missing, missing
    s = Status(converged=False, error=0.5, message="(A1) did not converge")
    with pytest.raises(ConvergenceError, match=r"\(A1\)"):
        s.check()
    assert s.check(throw=False) == s


def test_status_of_results_throw_and_the_deprecated_require(small):
    import warnings
    W, X, _ = small
    m = exact_matrices(W, X, t=0.1, mehler=MehlerRule(tol=1e-8, max_order=2), throw=False)
    assert not m.status.converged and m.status.error == m.error and m.status.message
    with pytest.raises(ConvergenceError):
        exact_matrices(W, X, t=0.1, mehler=MehlerRule(tol=1e-8, max_order=2), throw=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ConvergenceError):
            exact_matrices(W, X, t=0.1, mehler=MehlerRule(tol=1e-8, max_order=2), require=True)
    assert any(issubclass(w.category, DeprecationWarning) and "throw" in str(w.message) for w in caught)
    ok = solve_spectrum(np.linspace(0.05, 3.0, 6), psi_p=4, psi_n=2, t=0.1)
    assert ok.status.converged and ok.status.message == "" and ok.converged.shape == (6,)  # per point beside


def test_scan_and_phase_diagram_carry_status():
    import math
    from rfscore.analysis.phase import PhaseDiagram
    from rfscore.analysis.timescales import timescale_scan
    scan = timescale_scan([2.0, 4.0], 8.0, t=0.1, d=8, seeds=1)
    assert scan.status.converged and scan.point_converged.shape == (2,) and scan.status.error == scan.error > 0
    rows = dict(psi_n=np.array([1.0, 2.0]), psi_p=np.array([4.0, 4.0]), tau=np.array([1e2, math.inf]),
                train_loss=np.array([0.9, 0.8]), test_loss=np.array([1.1, math.nan]), gen_loss=np.array([0.2, 0.3]),
                regime=np.array(["memorization", "memorization"]), delta_t=0.1, gap_threshold=10.0)
    pd = PhaseDiagram(**rows)
    assert not pd.status.converged and "psi_n = 2" in pd.status.message
    assert list(pd.point_converged) == [True, False]


# ----------------------------------------------------------------------------- renamed for one version
def test_moved_modules_still_import_with_one_warning():
    import importlib
    import sys
    import warnings
    from rfscore.core.deprecation import MOVED_MODULES
    for old, new in MOVED_MODULES.items():
        sys.modules.pop(old, None)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            shim = importlib.import_module(old)
        dep = [w for w in caught if issubclass(w.category, DeprecationWarning)]
        assert len(dep) == 1 and new in str(dep[0].message), (old, [str(w.message) for w in caught])
        target = importlib.import_module(new)
        public = [k for k in vars(target) if not k.startswith("__")]
        assert public and all(getattr(shim, k) is getattr(target, k) for k in public), old


def test_renamed_keyword_and_folded_options_warn_once_and_mean_the_same():
    import dataclasses
    import warnings
    from rfscore.core.deprecation import options_from_keywords, renamed_keywords
    from rfscore.core.precision import float64

    @float64
    @dataclasses.dataclass(frozen=True)
    class Rule:
        tol: float = 1.0
        steps: int = 2

    @renamed_keywords(lam="ridge")
    @options_from_keywords(rule=Rule, aliases={"n_steps": ("rule", "steps")})
    def f(x, *, ridge=0.0, rule=Rule()):
        return x, ridge, rule

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert f(1, ridge=0.5, rule=Rule(tol=3.0)) == (1, 0.5, Rule(3.0, 2))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert f(1, lam=0.5, tol=3.0, n_steps=7) == (1, 0.5, Rule(3.0, 7))
    msgs = [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)]
    assert len(msgs) == 2 and "'ridge'" in msgs[0] and "rule=Rule(" in msgs[1], msgs
    with pytest.raises(TypeError):
        f(1, lam=0.5, ridge=0.5)
    with pytest.raises(TypeError):
        f(1, unknown=1)


CONFIGS = ("rfscore.finite.exact.MehlerRule", "rfscore.finite.krylov.KrylovRule",
           "rfscore.limit.contour_losses.ContourRule", "rfscore.limit.fixed_point.FixedPointRule",
           "rfscore.limit.spectrum.ContinuationRule", "rfscore.runtime.sweep.SweepRunner",
           "rfscore.generative.generation.SamplingConfig", "rfscore.generative.generation.ReadoffConfig",
           "rfscore.finite.simulation.SimulationOptions", "rfscore.analysis.phase.PhaseFlow",
           "rfscore.generative.generation.DataSource", "rfscore.generative.score_model.ScoreModelConfig")


@pytest.mark.parametrize("path", CONFIGS)
def test_configuration_objects_are_small_frozen_and_documented(path):
    import dataclasses
    import importlib
    mod, name = path.rsplit(".", 1)
    cls = getattr(importlib.import_module(mod), name)
    fields = [f.name for f in dataclasses.fields(cls)]
    assert cls.__dataclass_params__.frozen and len(fields) <= 10, path
    doc = cls.__doc__ or ""
    assert all(f"{f}:" in doc or f"{f} " in doc for f in fields), [f for f in fields if f"{f}:" not in doc]
    obj = cls()
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(obj, fields[0], getattr(obj, fields[0]))
    assert hash(cls()) == hash(obj) or path.endswith("SweepRunner")  # usable as a static (jit) argument


FOLDED = {  # entry point -> the keywords now fields of its configuration objects (accepted for one version)
    "rfscore.finite.exact.exact_matrices": ("max_order", "tol", "h_finest"),
    "rfscore.finite.krylov.krylov_trajectory": ("tol", "max_dim", "check_every"),
    "rfscore.finite.krylov.krylov_readouts": ("tol", "max_dim", "check_every"),
    "rfscore.limit.spectrum.solve_spectrum": ("tol", "steps_per_decade"),
    "rfscore.limit.spectrum.stieltjes": ("tol", "steps_per_decade"),
    "rfscore.limit.asymptotic.asymptotic_curves": ("theta", "panels_per_decade", "nodes_per_panel", "mu_nodes", "tol",
                                                   "max_damped", "damping", "check_quadrature"),
    "rfscore.limit.finite_noise.finite_noise_curves": ("kappa_nodes", "theta", "panels_per_decade", "nodes_per_panel",
                                                       "tol", "check_quadrature"),
    "rfscore.generative.score_model.fit_score_model": ("max_order", "mehler_tol", "krylov_tol", "activation",
                                                       "noise_samples", "ridge", "model", "krylov_above", "mehler",
                                                       "krylov"),
    "rfscore.generative.generation.generation_experiment": (
        "t_min", "t_max", "times", "spacing", "samples", "sampler", "integrator", "steps_per_time", "score",
        "mem_threshold", "gen_tolerance", "collapse_entropy", "max_order", "mehler_tol", "workers", "scheduler",
        "checkpoint", "checkpoint_arg", "restart", "sigma", "data", "test_data", "test_fraction", "keep_samples",
        "activation", "noise_samples", "ridge", "model", "krylov_above", "mehler"),
    "rfscore.generative.generation.generation_point": ("t_min", "t_max", "times", "spacing", "samples", "sampler",
                                                       "integrator", "steps_per_time", "score", "max_order",
                                                       "mehler_tol", "keep_samples", "sigma", "data", "test_data",
                                                       "test_fraction", "activation", "noise_samples", "ridge",
                                                       "krylov_above", "mehler", "collapse_entropy", "floor_draws"),
    "rfscore.generative.generation.validate": ("t_min", "t_max", "times", "spacing", "samples", "sampler", "integrator",
                                               "steps_per_time", "score", "mem_threshold", "gen_tolerance", "model",
                                               "data", "test_data", "test_fraction", "noise_samples", "ridge"),
    "rfscore.analysis.phase.phase_diagram": ("workers", "scheduler", "checkpoint", "checkpoint_arg", "restart", "model",
                                             "noise_samples", "ridge"),
    "rfscore.finite.ensemble.trajectory_ensemble": ("d", "psi_p", "psi_n", "t", "activation", "sigma"),
    "rfscore.finite.ensemble.frozen_noise_ensemble": ("d", "psi_p", "psi_n", "t", "activation", "sigma"),
    "rfscore.finite.ensemble.noise_split_ensemble": ("d", "psi_p", "psi_n", "t", "activation", "sigma"),
    "rfscore.finite.ensemble.simulation_ensemble": ("d", "psi_p", "psi_n", "t", "activation", "sigma", "record"),
    "rfscore.data.realdata.realdata_scan": ("max_order", "tol"),
    "rfscore.finite.simulation.simulate": ("record", "block", "check_stability", "sampler", "noise_samples"),
}


def test_options_live_in_configuration_objects():
    # every former option keyword of these entry points is a field of one of their configuration objects now:
    # not in the signature (it still works for one version, through the deprecation decorators)
    import inspect
    fns = dict(_public(inspect.isfunction))
    fns["rfscore.runtime.sweep.run_sweep"] = __import__("rfscore.runtime.sweep", fromlist=["x"]).run_sweep
    for name, folded in {**FOLDED, "rfscore.runtime.sweep.run_sweep": ("workers", "scheduler", "checkpoint",
                                                                         "checkpoint_arg", "restart")}.items():
        params = inspect.signature(fns[name]).parameters
        assert not set(folded) & set(params), (name, sorted(set(folded) & set(params)))
        assert len(params) <= 12, (name, len(params))  # the limit of tests/test_signatures.py


def test_the_former_keywords_give_the_same_numbers_with_one_warning(small):
    import warnings
    W, X, _ = small
    lam = np.linspace(0.05, 3.0, 6)
    new_m = exact_matrices(W, X, t=0.1, mehler=MehlerRule(max_order=64, tol=1e-8))
    new_s = solve_spectrum(lam, psi_p=4, psi_n=2, t=0.1, continuation=ContinuationRule(steps_per_decade=8))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        old_m = exact_matrices(W, X, t=0.1, max_order=64, tol=1e-8)
        old_s = solve_spectrum(lam, psi_p=4, psi_n=2, t=0.1, steps_per_decade=8)
        es = eigensystem(old_m, X.shape[0])
        old_lam = es.lam
    dep = [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)]
    assert len(dep) == 3 and "mehler=MehlerRule(" in dep[0] and "continuation=ContinuationRule(" in dep[1], dep
    assert "eigvals" in dep[2]
    np.testing.assert_array_equal(old_m.U, new_m.U)
    np.testing.assert_array_equal(old_s.density, new_s.density)
    np.testing.assert_array_equal(old_lam, es.eigvals)


def test_per_point_results_take_their_status_from_one_rule():
    """A result with a flag per point (seed, sweep point, grid value) is converged when every point is: written
    once (`rfscore.core.status.PointStatus`) for the ensemble, the timescale scan, the phase diagram and the
    tuned-ridge envelope."""
    import numpy as np
    from rfscore.analysis.noise_ridge import RidgeEnvelope
    from rfscore.analysis.phase import PhaseDiagram
    from rfscore.analysis.timescales import TimescaleScan
    from rfscore.core.status import PointStatus
    from rfscore.finite.ensemble import Ensemble
    for cls in (Ensemble, TimescaleScan, PhaseDiagram, RidgeEnvelope):
        assert issubclass(cls, PointStatus) and "converged" not in vars(cls), cls
    env = RidgeEnvelope(psi_p=np.array([1.0, 2.0]), ridge=np.array([0.1, 0.2]), test_loss=np.array([1.0, 0.9]),
                        point_converged=np.array([True, False]), monotone=True)
    assert not env.status.converged and "ψ_p = [2.0]" in env.status.message
    assert TimescaleScan(table={}, fits={}).status.converged  # no per-point flags recorded: nothing failed
