"""The one status convention on the networks wing (rfscore/core/status.py; theory/trained_networks.md §5, "Status of a
run and of its read-offs"): every result of a training run and of its read-offs carries converged, error and a message
naming what failed, with throw (default True) on every entry point; a converged and a failing case of each, at tiny
sizes (n = 4, W ≤ 16, a few hundred steps)."""
import importlib
import inspect
import json
import math
import pkgutil

import numpy as np
import pytest

pytest.importorskip("equinox")

import jax  # noqa: E402

from rfscore.analysis import networks as an  # noqa: E402
from rfscore.cli import main  # noqa: E402
from rfscore.core.errors import ConvergenceError  # noqa: E402
from rfscore.core.status import HasStatus, Status  # noqa: E402
from rfscore.networks import training  # noqa: E402
from rfscore.networks.data import load_net_data  # noqa: E402
from test_train_net import _synthetic_curves  # noqa: E402  (the one synthetic run table of the read-off tests)

RESULTS = {"rfscore.networks.training.NetRun", "rfscore.networks.training.RunReadoffs",
           "rfscore.analysis.networks.ReadoffTable", "rfscore.analysis.networks.FitTable",
           "rfscore.analysis.networks.PlateauCollapse"}
ENTRY_POINTS = {"rfscore.networks.training.train_one", "rfscore.networks.training.train_job",
                "rfscore.networks.training.readoffs", "rfscore.analysis.networks.run_readoffs",
                "rfscore.analysis.networks.exponent_table", "rfscore.analysis.networks.width_table",
                "rfscore.analysis.networks.plateau_collapse", "rfscore.analysis.networks.control_readoffs",
                "rfscore.analysis.networks.control_table", "rfscore.analysis.networks.merge_runs",
                "rfscore.analysis.networks.merge_controls", "rfscore.analysis.networks.rf_prediction"}


def _public(kind):
    mods = [importlib.import_module("rfscore.analysis.networks")]
    pkg = importlib.import_module("rfscore.networks")
    mods += [importlib.import_module(i.name) for i in pkgutil.walk_packages(pkg.__path__, prefix="rfscore.networks.")]
    for mod in mods:
        for name, obj in vars(mod).items():
            if not name.startswith("_") and getattr(obj, "__module__", None) == mod.__name__ and kind(obj):
                yield f"{mod.__name__}.{name}", obj


def test_the_wing_walks_one_status_and_throw_defaults_to_true():
    classes = dict(_public(inspect.isclass))
    assert RESULTS <= set(classes)
    for name in RESULTS:
        assert issubclass(classes[name], HasStatus) and isinstance(getattr(classes[name], "status"), property), name
    fns = dict(_public(inspect.isfunction))
    with_throw = {n for n, f in fns.items() if "throw" in inspect.signature(f).parameters}
    assert ENTRY_POINTS <= with_throw, sorted(ENTRY_POINTS - with_throw)
    not_true = sorted(n for n in with_throw if inspect.signature(fns[n]).parameters["throw"].default is not True)
    assert not not_true, not_true
    # every public function returning one of the result types takes throw
    returns = {n for n, f in fns.items() if any(r.rsplit(".", 1)[1] in str(inspect.signature(f).return_annotation)
                                                 for r in RESULTS)}
    assert returns and returns <= with_throw, sorted(returns - with_throw)


# ----------------------------------------------------------------------------- a training run
@pytest.fixture(scope="module")
def gmm():
    return load_net_data("gmm", jax.random.PRNGKey(0), 8)


@pytest.mark.slow  # training compiles: 2-15 s each on 2 cores; the full suite (CI) runs it
def test_a_finished_run_is_converged(gmm, tmp_path):
    cfg = training.TrainConfig(width=16, steps=300, samples=100, checkpoints=3, times=6, lr=3e-3)
    run = training.train_one(gmm, 4, cfg, tmp_path)
    assert run.converged and run.message == "" and math.isnan(run.error) and run.diverged_at is None
    st = run.status
    assert isinstance(st, Status) and st.converged and math.isnan(st.error) and st.message == ""
    assert run.info["last_step"] == 300 and len(run.rows) >= 2  # the per-checkpoint detail beside the status
    job = training.train_job(data="gmm", max_n=8, gmm_mean=0.8, gmm_std=0.6, n=4, config=cfg.to_dict(),
                             folder=str(tmp_path))  # resumed from the finished checkpoint
    assert job["converged"] and job["message"] == "" and job["diverged_at"] is None and job["rows"] == run.rows


@pytest.mark.slow  # training compiles: 2-15 s each on 2 cores; the full suite (CI) runs it
def test_a_diverged_run_is_flagged_and_raises_naming_its_parameters(gmm, tmp_path):
    cfg = training.TrainConfig(width=8, steps=200, samples=50, checkpoints=1, times=2, optimizer="sgd", lr=10.0)
    run = training.train_one(gmm, 4, cfg, tmp_path / "a", throw=False)
    assert not run.converged and not run.status.converged and run.diverged_at is not None
    assert "diverged" in run.status.message and "n = 4, width = 8, seed = 0" in run.message and "lr = 10" in run.message
    (tmp_path / "b").mkdir()
    with pytest.raises(ConvergenceError, match=r"diverged at step \d+ \(n = 4, width = 8, seed = 0, optimizer sgd, "
                                               r"lr = 10\).*`lr`"):
        training.train_one(gmm, 4, cfg, tmp_path / "b")


@pytest.mark.slow  # training compiles: 2-15 s each on 2 cores; the full suite (CI) runs it
def test_a_run_that_missed_its_plateau_is_flagged_and_raises(gmm, tmp_path):
    cfg = training.TrainConfig(width=16, steps=300, samples=100, checkpoints=3, times=6, lr=3e-3, until_plateau=True)
    run = training.train_one(gmm, 4, cfg, tmp_path, throw=False)
    assert not run.info["plateau"] and run.diverged_at is None and run.info["last_step"] == 300
    assert not run.status.converged and "plateau (N11) by step 300 (n = 4, width = 16, seed = 0" in run.message
    with pytest.raises(ConvergenceError, match=r"plateau \(N11\) by step 300 \(n = 4, width = 16, seed = 0"):
        training.train_one(gmm, 4, cfg, tmp_path)  # resumed: the finished run, the same status


@pytest.mark.slow  # training compiles: 2-15 s each on 2 cores; the full suite (CI) runs it
def test_cli_writes_an_unplateaued_run_flagged_and_exits_0(tmp_path):
    out = tmp_path / "run"
    assert main(["train-net", "--n", "4", "--steps", "300", "--width", "16", "--lr", "3e-3", "--samples", "100",
                 "--checkpoints", "3", "--times", "6", "--until-plateau", "--no-progress", "--out", str(out)]) == 0
    side = json.loads((out / "train_net.json").read_text())
    header = (out / "train_net.csv").read_text().splitlines()[0].split(",")
    assert header == list(training.HEADER)  # the CSV contract: the same columns
    assert side["status"]["converged"] is False and "plateau (N11)" in side["status"]["message"]
    job = side["readoffs"]["n4_w16_s0"]
    assert job["plateau"] is False and job["converged"] is False and "n = 4, width = 16, seed = 0" in job["message"]
    assert all("converged" in r for r in side["readoff_table"])


# ----------------------------------------------------------------------------- read-offs of one run
def _rows(f_mem, frechet):
    return [{"n": 4, "width": 16, "seed": 3, "tau": 0.1 * 2 ** k, "f_mem": f, "frechet": fd}
            for k, (f, fd) in enumerate(zip(f_mem, frechet))]


def test_run_readoffs_status():
    ok = training.readoffs(_rows([0.0, 0.05, 0.2, 0.4], [3.0, 1.0, 1.2, 1.5]))
    assert ok.converged and ok.status.message == "" and ok["tau_mem"] > 0 and math.isnan(ok.status.error)
    rows = _rows([0.0, 0.01, 0.02, 0.03], [3.0, 2.0, 1.5, 1.0])
    bad = training.readoffs(rows, throw=False)
    assert not bad.status.converged and math.isnan(bad["tau_mem"])
    assert "tau_mem censored (f_mem never reached 0.1)" in bad.message and "tau_gen right-censored" in bad.message
    with pytest.raises(ConvergenceError, match=r"tau_mem censored .*\(n = 4, width = 16, seed = 3\)"):
        training.readoffs(rows)


# ----------------------------------------------------------------------------- read-off and fit tables
def _curves(cells):
    """The synthetic run table of the read-off tests (f_mem = 1 - exp(-(τ/T)²) per cell, KL minimal at 5·64/W)."""
    return _synthetic_curves(cells)


CELLS = [(w, s, n, c * n * 64 / w) for w in (32, 64) for s, c in enumerate((1.0, 1.2)) for n in (8, 16)]


def test_tables_of_uncensored_curves_are_converged():
    cols = _curves(CELLS)
    reads = an.run_readoffs(cols, plateau={(w, s, n): True for w, s, n, _ in CELLS})
    assert reads.status.converged and all(r["converged"] for r in reads) and list(reads.point_converged) == [True] * 8
    for tab in (an.exponent_table(reads), an.width_table(reads)):
        assert tab.converged and tab.status.message == "" and math.isnan(tab.status.error)
    col = an.plateau_collapse(cols, reads, width=32, seed=0)
    assert col.status.converged and set(col) == {8, 16}


def test_censored_readoffs_and_fits_lacking_points_are_named():
    cols = _curves(CELLS)
    cut = (cols["n"] == 16) & (cols["seed"] == 1) & (cols["width"] == 64) & (cols["f_mem"] > 0.15)
    short = {k: v[~cut] for k, v in cols.items()}
    reads = an.run_readoffs(short, throw=False)  # no plateau flags known
    assert not reads.status.converged and list(reads.point_converged).count(False) == 1
    assert "(width 64, n 16, seed 1): tau_mem[0.2] right" in reads.message
    with pytest.raises(ConvergenceError, match=r"\(width 64, n 16, seed 1\): tau_mem\[0.2\] right"):
        an.run_readoffs(short)
    exps = an.exponent_table(reads, throw=False)
    assert not exps.converged and "width 64, tau_mem[0.2]: 1 seed(s) dropped, censored at (n 16, seed 1, right)" \
        in exps.message and "tau_mem[0.1]" not in exps.message
    with pytest.raises(ConvergenceError, match=r"width 64, tau_mem\[0.2\]"):
        an.exponent_table(reads)
    wt = an.width_table(reads, throw=False)
    assert not wt.converged and "tau_mem[0.2]: censored cells left out at (n 16, width 64, seed 1)" in wt.message
    with pytest.raises(ConvergenceError, match=r"\(n 16, width 64, seed 1\)"):
        an.width_table(reads)
    one_n = an.exponent_table(an.run_readoffs(_curves(CELLS[:1])), throw=False)
    assert not one_n.converged and "width 32, tau_mem[0.1]:" in one_n.message
    col = an.plateau_collapse(short, reads, width=64, seed=1, throw=False)
    assert not col.converged and "width 64, seed 1, n = 8, 16" in col.message
    with pytest.raises(ConvergenceError, match="no plateau"):
        an.plateau_collapse(short, reads, width=64, seed=1)


def test_control_tables_status():
    cols = _curves([(32, s, n, c * n) for s, c in enumerate((1.0, 1.2)) for n in (8, 16)])
    m = cols["n"].size
    cols.update(label=np.array(["sgd lr 1, B = n"] * m, dtype=object), optimizer=np.array(["sgd"] * m, dtype=object),
                lr=np.ones(m), batch_rule=np.array(["full"] * m, dtype=object))
    reads = an.control_readoffs(cols)
    assert reads.converged and reads[0]["label"] == "sgd lr 1, B = n"
    tab = an.control_table(reads, sweep_n=8, throw=False)  # one batch size at n = 8: no sweep exponent
    assert tab.converged is False and "sgd batch sweep at n 8, tau_mem[0.1]: one batch size only" in tab.message
    assert "sgd lr 1, B = n, tau_mem" not in tab.message  # the exponents in n have their points
    with pytest.raises(ConvergenceError, match="one batch size only"):
        an.control_table(reads, sweep_n=8)
