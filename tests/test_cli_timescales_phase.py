"""CLI contracts of `rfscore timescales`, `rfscore phase` and `rfscore reproduce`, and their bad-input errors."""
import csv
import json

import pytest

from rfscore.cli import main


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_timescales_writes_rows_and_prints_exponents(tmp_path, capsys):
    out = tmp_path / "ts.csv"
    code, stdout, _ = _run(capsys, "timescales", "--psi-p", "128", "--psi-n", "4,8", "--t", "0.01", "--d", "8",
                           "--seeds", "2", "--out", str(out), "--no-progress")
    assert code == 0
    last = json.loads(stdout.strip().splitlines()[-1])
    # ψ_p/ψ_n ≥ 16: two peaks at every point, so the exponents are τ_mem and τ_gen ones
    assert set(last) == {"n_peaks", "tau_mem_exponent", "tau_mem_exponent_ci", "tau_gen_exponent", "tau_gen_exponent_ci"}
    rows = list(csv.reader(open(out)))
    assert rows[0] == ["psi_n", "psi_p", "t", "seed", "tau_gen", "tau_mem", "n_peaks", "tau_early_stop", "tau_gap"]
    assert len(rows) == 1 + 4 and {r[3] for r in rows[1:]} == {"0", "1"}
    assert {r[6] for r in rows[1:]} == {"2"} and last["n_peaks"] == [2, 2]
    side = json.load(open(tmp_path / "ts.json"))
    assert side["rfscore_version"] and side["created_utc"] and side["parameters"]["psi_p"] == 128


def test_timescales_single_peak_is_labelled(tmp_path, capsys):
    # ψ_p = 32, ψ_n ≤ 2: one peak (theory/timescales.md §5); no bare τ_mem exponent anywhere
    out = tmp_path / "ts.csv"
    code, stdout, _ = _run(capsys, "timescales", "--psi-p", "32", "--psi-n", "1,2", "--t", "0.01", "--d", "8",
                           "--out", str(out), "--no-progress")
    assert code == 0
    last = json.loads(stdout.strip().splitlines()[-1])
    assert set(last) == {"n_peaks", "tau_single_peak_exponent", "tau_single_peak_exponent_ci"} and last["n_peaks"] == [1, 1]
    rows = list(csv.DictReader(open(out)))
    assert [r["n_peaks"] for r in rows] == ["1"] * 6 and all(r["tau_gen"] == r["tau_mem"] for r in rows)
    side = json.load(open(tmp_path / "ts.json"))
    assert "tau_mem_exponent" not in side and "tau_single_peak_exponent" in side and side["n_peaks"] == [1, 1]
    assert "tau_single_peak" in side["fits"] and not {"tau_mem", "tau_gen"} & set(side["fits"])


def test_phase_writes_table_and_plot(tmp_path, capsys):
    out, plot = tmp_path / "phase.csv", tmp_path / "phase.png"
    code, _, _ = _run(capsys, "phase", "--psi-p", "4,8", "--psi-n", "2,8", "--t", "0.01", "--d", "10",
                      "--tau", "1e2,inf", "--workers", "1", "--out", str(out), "--plot", str(plot), "--no-progress")
    assert code == 0
    rows = list(csv.DictReader(open(out)))
    assert list(rows[0]) == ["psi_n", "psi_p", "tau", "train_loss", "test_loss", "gen_loss", "regime"]
    assert len(rows) == 2 * 2 * 2 and {r["tau"] for r in rows} == {"100.0", "inf"}
    assert plot.stat().st_size > 10_000
    assert not (tmp_path / "phase.csv.partial.jsonl").exists()


@pytest.mark.parametrize("argv, option", [
    (["timescales", "--psi-p", "64", "--psi-n", "8", "--t", "0.01", "--d", "8"], "--psi-n"),
    (["timescales", "--psi-p", "-1", "--psi-n", "8,16", "--t", "0.01", "--d", "8"], "--psi-p"),
    (["timescales", "--psi-p", "64", "--psi-n", "8,16", "--t", "0", "--d", "8"], "--t"),
    (["timescales", "--psi-p", "64", "--psi-n", "8,16", "--t", "0.01", "--d", "0"], "--d"),
    (["phase", "--psi-p", "4", "--psi-n", "2,x", "--t", "0.01", "--d", "8"], "--psi-n"),
    (["phase", "--psi-p", "4", "--psi-n", "2", "--t", "0.01", "--d", "8", "--tau", "-1"], "--tau"),
    (["phase", "--psi-p", "4", "--psi-n", "2", "--t", "0.01", "--d", "8", "--sigma-spectrum", "1:0.5"],
     "--sigma-spectrum"),
    (["phase", "--psi-p", "4", "--psi-n", "2", "--t", "0.01", "--d", "8", "--activation", "relu"], "--activation"),
    (["reproduce", "--only", "fig9"], "--only"),
])
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, argv, option):
    out = tmp_path / "o.csv"
    code = None
    with pytest.raises(SystemExit) as exc:
        code = main(argv + (["--out", str(out)] if argv[0] != "reproduce" else ["--out", str(tmp_path / "r")]))
        raise SystemExit(code)
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 2
    assert len(err.splitlines()) == 1 and option in err, err
    assert not out.exists() and not (tmp_path / "o.json").exists()


def test_unwritable_output_named(tmp_path, capsys):
    code, _, err = _run(capsys, "timescales", "--psi-p", "64", "--psi-n", "8,16", "--t", "0.01", "--d", "8",
                        "--out", str(tmp_path / "missing" / "ts.csv"))
    assert code == 2 and "--out" in err and len(err.strip().splitlines()) == 1
