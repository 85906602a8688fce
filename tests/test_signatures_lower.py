"""Small signatures in the lower wings (issue 29, item 6; the limit itself is walked by tests/test_signatures.py):
the loose keywords folded into `RFSetting` (the four ready-made ensembles), `SimulationOptions`
(`simulation_ensemble`'s ``record``) and `PhaseFlow` (`phase_diagram`), and the former ``require``, keep working
for one version with one DeprecationWarning and give the same numbers."""
import dataclasses
import inspect
import warnings

import numpy as np
import pytest

import rfscore
from rfscore.analysis.phase import PhaseFlow, phase_diagram
from rfscore.finite.ensemble import (RFSetting, frozen_noise_ensemble, noise_split_ensemble, simulation_ensemble,
                                     trajectory_ensemble)
from rfscore.finite.simulation import SimulationOptions
from rfscore.limit.spectrum import solve_spectrum
from rfscore.runtime.sweep import SweepRunner

# (the limit of 12 parameters on every public function of every library wing: tests/test_signatures.py)


@pytest.mark.parametrize("cls", [RFSetting, PhaseFlow])
def test_the_new_objects_are_small_frozen_documented_and_exported(cls):
    fields = [f.name for f in dataclasses.fields(cls)]
    assert cls.__dataclass_params__.frozen and len(fields) <= 10
    assert all(f"{f}:" in cls.__doc__ for f in fields), fields
    assert getattr(rfscore, cls.__name__) is cls and cls.__name__ in rfscore.__all__
    obj = cls(d=4, psi_p=2.0, psi_n=1.0, t=0.1) if cls is RFSetting else cls()
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(obj, fields[0], getattr(obj, fields[0]))


def _deprecations(call):
    """(result, DeprecationWarning messages) of ``call()``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = call()
    return out, [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)]


def _quiet(call):
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        return call()


def _same_values(a, b):
    assert a.values.keys() == b.values.keys()
    for k in a.values:
        np.testing.assert_array_equal(a[k], b[k])


SETTING = RFSetting(d=5, psi_p=4.0, psi_n=2.0, t=0.1)
LOOSE = dict(d=5, psi_p=4.0, psi_n=2.0, t=0.1)
TAU = np.array([10.0, 1e3, np.inf])


@pytest.mark.parametrize("name", ["trajectory", "frozen_noise", "noise_split"])
def test_ensembles_take_one_setting_and_the_former_keywords_warn_once(name):
    fn, extra = {"trajectory": (trajectory_ensemble, dict(ridge=1e-3)),
                 "frozen_noise": (frozen_noise_ensemble, dict(noise_samples=3, ridge=1e-3)),
                 "noise_split": (noise_split_ensemble, dict(copies=2, noise_samples=3, ridge=1e-3))}[name]
    new = _quiet(lambda: fn([0, 1], TAU, setting=SETTING, **extra))
    old, msgs = _deprecations(lambda: fn([0, 1], TAU, **LOOSE, activation="tanh", sigma=None, **extra))
    assert len(msgs) == 1 and "setting=RFSetting(" in msgs[0] and "psi_p" in msgs[0], msgs
    _same_values(new, old)
    # a field given loose beside the object replaces that field (as every folded keyword does)
    moved, msgs = _deprecations(lambda: fn([0, 1], TAU, setting=RFSetting(d=5, psi_p=8.0, psi_n=2.0, t=0.1),
                                           psi_p=4.0, **extra))
    assert len(msgs) == 1
    _same_values(new, moved)
    with pytest.raises(TypeError), pytest.warns(DeprecationWarning):  # a missing field is named as in any call
        fn([0], TAU, d=5, psi_p=4.0, psi_n=2.0, **extra)


def test_simulation_ensemble_takes_the_setting_and_simulation_options():
    kw = dict(lr=0.05, steps=12, optimizer="gd", fresh_noise=1)
    new = _quiet(lambda: simulation_ensemble([0, 1], setting=SETTING, options=SimulationOptions(record=4), **kw))
    old, msgs = _deprecations(lambda: simulation_ensemble([0, 1], **LOOSE, record=4, **kw))
    assert len(msgs) == 1 and "setting=RFSetting(" in msgs[0] and "options=SimulationOptions(record=...)" in msgs[0]
    _same_values(new, old)
    assert new["step"].shape == (2, 4)
    default, _ = _deprecations(lambda: simulation_ensemble([0], **LOOSE, **kw))  # record 50 as before
    np.testing.assert_array_equal(default["step"][0],
                                  _quiet(lambda: simulation_ensemble([0], setting=SETTING, **kw))["step"][0])


def test_phase_diagram_takes_a_flow_and_the_former_keywords_warn_once():
    grid = dict(psi_n=[1.0, 2.0], psi_p=[2.0], tau=[1e2, np.inf], d=6, t=0.1, runner=SweepRunner(workers=1))
    new = _quiet(lambda: phase_diagram(**grid, flow=PhaseFlow(model="gep", noise_samples=2, ridge=1e-3)))
    old, msgs = _deprecations(lambda: phase_diagram(**grid, model="gep", noise_samples=2, ridge=1e-3))
    assert len(msgs) == 1 and "flow=PhaseFlow(" in msgs[0], msgs
    for k in ("train_loss", "test_loss", "gen_loss", "regime"):
        np.testing.assert_array_equal(getattr(new, k), getattr(old, k))
    plain = _quiet(lambda: phase_diagram(**grid))
    assert not np.array_equal(plain.train_loss, new.train_loss)  # the flow's fields reach the points


def test_require_is_read_outside_every_signature_with_the_one_line_of_throw_option():
    from rfscore.core.deprecation import REQUIRE_NOTE
    from rfscore.core.status import throw_option
    lam = np.linspace(0.05, 3.0, 6)
    new = _quiet(lambda: solve_spectrum(lam, psi_p=4, psi_n=2, t=0.1, throw=False))
    old, msgs = _deprecations(lambda: solve_spectrum(lam, psi_p=4, psi_n=2, t=0.1, require=False))
    assert msgs == [REQUIRE_NOTE]
    np.testing.assert_array_equal(new.density, old.density)
    assert "require" not in inspect.signature(solve_spectrum).parameters
    _, msgs = _deprecations(lambda: solve_spectrum(lam, psi_p=4, psi_n=2, t=0.1, require=None))
    assert msgs == []  # None: not given, as the former default
    _, msgs = _deprecations(lambda: throw_option(True, require=False))
    assert msgs == [REQUIRE_NOTE]  # the helper and the decorator say the same line
