"""The shared write mechanism (rfscore/runtime/io.py): one finiteness check, one JSON convention."""
import json
import math
import os
from pathlib import Path

import numpy as np
import pytest

from rfscore.core.errors import ConvergenceError
from rfscore.runtime.io import OutputSet, check_finite, json_line, jsonable, write_result
from rfscore.runtime.sweep import SweepRunner

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


# --- issue 28: one output guard, run identity by content, checkpoint records validated on read
def _square(x):
    return [[x, x * x]]


def test_guard_refuses_an_output_on_an_input_by_path_symlink_and_hard_link(tmp_path):
    from rfscore.core.errors import InputError
    from rfscore.runtime.io import check_outputs

    data = tmp_path / "X.npy"
    np.save(data, np.zeros((3, 2)))
    (tmp_path / "link.npy").symlink_to(data)
    os.link(data, tmp_path / "hard.npy")
    for out in (data, tmp_path / "link.npy", tmp_path / "hard.npy", tmp_path / "sub" / ".." / "X.npy"):
        (tmp_path / "sub").mkdir(exist_ok=True)
        with pytest.raises(InputError, match="input file `data`") as e:
            check_outputs(out=out, inputs={"data": str(data)})
        assert e.value.arg == "out"
    with pytest.raises(InputError, match="input file `test_data`") as e:  # the sidecar X.json of --out X.csv
        (tmp_path / "T.json").write_text("{}")
        check_outputs(out=tmp_path / "T.csv", inputs={"test_data": str(tmp_path / "T.json")})
    with pytest.raises(InputError, match="same file") as e:  # two outputs, one file through a hard link
        (tmp_path / "a.png").write_bytes(b"x")
        os.link(tmp_path / "a.png", tmp_path / "b.png")
        check_outputs(out=tmp_path / "o.csv", plot=tmp_path / "a.png", eigenvalues=(tmp_path / "b.png", "out"))
    with pytest.raises(InputError, match="is empty"):
        check_outputs(out="")
    check_outputs(out=tmp_path / "o.csv", plot=tmp_path / "o.pdf", inputs={"data": "digits", "weights": None})


def test_plot_format_from_the_extension(tmp_path):
    from rfscore.core.errors import InputError
    from rfscore.runtime.io import check_outputs, plot_format

    assert [plot_format(f"p.{e}") for e in ("png", "PDF", "svg")] == ["png", "pdf", "svg"]
    for bad in ("p.jpg", "p", "p.csv"):
        with pytest.raises(InputError, match="extension") as e:
            check_outputs(out=tmp_path / "o.csv", plot=tmp_path / bad)
        assert e.value.arg == "plot"


def test_probe_and_staged_names_no_longer_than_the_real_one(tmp_path):
    from rfscore.runtime.io import check_outputs, temp_sibling

    for name in ("o", "ab", "p.png", "x" * 100 + ".csv", "y" * 251 + ".csv"):
        tmp = temp_sibling(tmp_path / name, Path(name).suffix)
        assert len(tmp.name.encode()) <= len(name.encode()) and tmp.name != name
        tmp.unlink()
    long = tmp_path / ("z" * 245 + ".csv")  # 249 bytes: the sidecar .json too; a longer probe name would fail
    check_outputs(out=long)
    write_result(long, {"x": [1.0]}, {"k": 1})
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([long.name, long.with_suffix(".json").name])


def test_sweep_checkpoint_keyed_on_input_content(tmp_path):
    from rfscore.core.errors import InputError
    from rfscore.runtime.sweep import run_sweep

    data = tmp_path / "X.npy"
    np.save(data, np.zeros(3))
    ckpt = tmp_path / "c.jsonl"
    run_sweep(_square, [{"x": 1.0}], parameters={"data": str(data)}, runner=SweepRunner(checkpoint=ckpt))
    np.save(data, np.ones(3))  # same path, other content
    before = ckpt.read_bytes()
    with pytest.raises(InputError, match="other contents of the input file") as e:
        run_sweep(_square, [{"x": 1.0}, {"x": 2.0}], parameters={"data": str(data)}, runner=SweepRunner(checkpoint=ckpt))
    assert e.value.arg == "checkpoint" and str(ckpt) in e.value.msg and ckpt.read_bytes() == before
    assert run_sweep(_square, [{"x": 2.0}], parameters={"data": str(data)},
                     runner=SweepRunner(checkpoint=ckpt, restart=True)) == [[[2.0, 4.0]]]


@pytest.mark.parametrize("record", ['{"key": "{\\"x\\": 1.0}", "result": null}', "[" * 200000,
                                    '{"key": "{\\"x\\": 1.0}", "result": [[1.0, -4.0]]}',
                                    '{"key": "{\\"x\\": 1.0}", "result": [[1.0, "nan"]]}',
                                    '{"key": "{\\"x\\": 1.0}", "result": [[1.0]]}',
                                    '{"key": "{\\"x\\": 1.0}", "result": {"rows": 3}}',
                                    '{"key": "not json", "result": [[1.0, 1.0]]}'])
def test_corrupt_checkpoint_record_refused_before_appending(tmp_path, record):
    from rfscore.core.errors import InputError
    from rfscore.runtime.sweep import _header, run_sweep, table_rows

    ckpt = tmp_path / "c.jsonl"
    ckpt.write_text(json.dumps(_header({}, _square)) + "\n" + record + "\n" + '{"key": "{\\"x\\": 3.0}", "result": [[3.0, 9.0]]}\n')
    before = ckpt.read_bytes()
    with pytest.raises(InputError, match="corrupt") as e:
        run_sweep(_square, [{"x": 1.0}, {"x": 2.0}], runner=SweepRunner(checkpoint=ckpt),
                  check_result=table_rows(2, ranges={1: (0, math.inf)}))
    assert "\n" not in e.value.msg and str(ckpt) in e.value.msg
    assert ckpt.read_bytes() == before


def test_cut_last_record_is_dropped_and_recomputed(tmp_path):
    from rfscore.runtime.sweep import _header, run_sweep

    ckpt = tmp_path / "c.jsonl"
    ckpt.write_text(json.dumps(_header({}, _square)) + "\n" + '{"key": "{\\"x\\": 1.0}", "result": [[1.0, 1.0]]}\n'
                    + '{"key": "{\\"x\\": 2.0}", "resu')
    assert run_sweep(_square, [{"x": 1.0}, {"x": 2.0}], runner=SweepRunner(checkpoint=ckpt)) == [[[1.0, 1.0]], [[2.0, 4.0]]]
    assert [json.loads(line) for line in ckpt.read_text().splitlines()][-1]["result"] == [[2.0, 4.0]]


def test_large_and_non_regular_inputs_refused(tmp_path):
    from rfscore.core.errors import InputError
    from rfscore.runtime.io import load_array

    np.save(tmp_path / "big.npy", np.full((4, 2), 1e200))
    with pytest.raises(InputError, match="overflow") as e:
        load_array(tmp_path / "big.npy", "data", ndim=2)
    assert e.value.arg == "data"
    os.mkfifo(tmp_path / "pipe.npy")
    with pytest.raises(InputError, match="not a regular file"):
        load_array(tmp_path / "pipe.npy", "data", ndim=2)


@pytest.mark.slow  # longer than a few seconds on 2 cores: the full suite (CI) runs it
def test_train_net_checkpoint_keyed_on_data_content_and_validated(tmp_path, capsys):
    pytest.importorskip("equinox")
    from rfscore.cli import main

    data = tmp_path / "X.npy"
    np.save(data, np.random.default_rng(0).standard_normal((40, 3)))
    out = tmp_path / "run"
    argv = ["train-net", "--data", str(data), "--n", "4", "--steps", "5", "--width", "4", "--samples", "10",
            "--checkpoints", "1", "--times", "2", "--no-progress", "--out", str(out)]
    assert main(argv) == 0
    ckpt = out / "checkpoint_n4_w4_s0.npz"
    csv_before = (out / "train_net.csv").read_bytes()
    np.save(data, np.random.default_rng(1).standard_normal((40, 3)))  # same path, other content
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--out" in err and "content of --data" in err, err
    assert (out / "train_net.csv").read_bytes() == csv_before
    # a hand-edited checkpoint (a negative loss in its rows) is refused naming the file
    np.save(data, np.random.default_rng(0).standard_normal((40, 3)))  # the original content again
    with np.load(ckpt, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    rows = json.loads(str(arrays["rows"]))
    rows[0]["train_loss"] = -1.0
    arrays["rows"] = np.asarray(json.dumps(rows))
    with open(ckpt, "wb") as fh:
        np.savez(fh, **arrays)
    before = ckpt.read_bytes()
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(ckpt) in err and "corrupt" in err, err
    assert ckpt.read_bytes() == before
