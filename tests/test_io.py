"""The shared write mechanism (rfscore/runtime/io.py): one finiteness check, one JSON convention."""
import json
import math

import numpy as np
import pytest

from rfscore.core.errors import ConvergenceError
from rfscore.runtime.io import OutputSet, check_finite, json_line, jsonable, write_result

PARAMS = {"d": 4, "psi_p": 16.0, "activation": "linear"}


def test_check_finite_refuses_nan_and_inf_names_the_run():
    tau = np.array([1.0, 10.0, 100.0])
    check_finite({"tau": tau, "train_loss": [0.9, 0.7, 0.6]}, PARAMS)  # all finite: passes
    for bad in (np.nan, np.inf, -np.inf):
        with pytest.raises(ConvergenceError) as exc:
            check_finite({"tau": tau, "train_loss": [0.9, bad, 0.6]}, PARAMS)
        msg = str(exc.value)
        assert "\n" not in msg and "train_loss" in msg and "row 2 of 3" in msg and "tau=10" in msg
        assert "d=4" in msg and "psi_p=16.0" in msg and "activation=linear" in msg


def test_check_finite_declared_exceptions_only():
    # τ columns may be +inf (τ = ∞, or never reached), never NaN or -inf; NaN only where declared undefined.
    check_finite({"tau": [1.0, np.inf], "tau_gap": [np.inf, 2.0], "regime": ["a", "b"], "seed": [0, 1]})
    for cols in ({"tau": [1.0, np.nan]}, {"tau_gap": [-np.inf, 1.0]}, {"kl_estimate": [np.nan, 1.0]}):
        with pytest.raises(ConvergenceError):
            check_finite(cols, PARAMS)
    check_finite({"kl_estimate": [np.nan, 1.0]}, PARAMS, undefined=("kl_estimate",))
    # a row flagged converged = false is declared not a result (spectrum writes it and exits 1)
    check_finite({"density": [np.nan, 1.0], "converged": np.array([False, True])}, PARAMS)
    with pytest.raises(ConvergenceError):
        check_finite({"density": [1.0, np.nan], "converged": np.array([False, True])}, PARAMS)
    with pytest.raises(ConvergenceError):
        check_finite({"kl_estimate": [np.inf, 1.0]}, PARAMS, undefined=("kl_estimate",))


def test_outputset_writes_nothing_on_a_nonfinite_result(tmp_path):
    out = tmp_path / "r.csv"
    with pytest.raises(ConvergenceError):
        with OutputSet() as outs:
            outs.path(tmp_path / "plot.png").write_bytes(b"x")  # staged before the result, as the CLI does
            outs.result(out, {"tau": [1.0], "x": [math.nan]}, PARAMS)
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    with pytest.raises(ConvergenceError):
        write_result(out, {"tau": [1.0], "x": [math.inf]}, PARAMS)
    assert list(tmp_path.iterdir()) == []


def test_one_json_convention_null(tmp_path):
    out = tmp_path / "r.csv"
    write_result(out, {"tau": [1.0, np.inf], "x": [0.5, 0.25]}, {"tau_max": np.inf, "t": 0.1},
                 bound=np.float64(np.nan), ci=[-np.inf, 1.0])
    text = (tmp_path / "r.json").read_text()
    meta = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-strict JSON constant {c}"))
    assert meta["parameters"]["tau_max"] is None and meta["bound"] is None and meta["ci"] == [None, 1.0]
    assert '"inf"' not in text and '"nan"' not in text
    obj = {"a": np.inf, "b": [np.nan, 2.0], "c": np.float32(1.5)}
    assert json.loads(json_line(obj)) == jsonable(obj) == {"a": None, "b": [None, 2.0], "c": 1.5}
    assert out.read_text().splitlines() == ["tau,x", "1.0,0.5", "inf,0.25"]


def test_lossless_form_is_the_checkpoints_only():
    assert jsonable([np.inf, -np.inf, np.nan, 1.0], lossless=True) == ["inf", "-inf", "nan", 1.0]
    assert [float(v) for v in jsonable([np.inf, 2.0], lossless=True)] == [np.inf, 2.0]
