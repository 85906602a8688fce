"""rfscore train-net and rfscore.networks (theory/trained_networks.md): small sizes, one shared compiled configuration."""
import csv
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

pytest.importorskip("equinox")

import equinox as eqx  # noqa: E402

from rfscore.cli import main  # noqa: E402
from rfscore.generative.metrics import memorisation  # noqa: E402
from rfscore.networks import training  # noqa: E402
from rfscore.networks.data import gmm_prior_kl_bound, gmm_sample, gmm_score, load_net_data  # noqa: E402
from rfscore.core.errors import InputError  # noqa: E402
from rfscore.networks.models import UNet, apply, build, conv2d, net_score  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["train-net", "--n", "4", "--steps", "800", "--width", "32", "--lr", "3e-3", "--samples", "300",
        "--checkpoints", "3", "--times", "8", "--save-samples", "--no-progress"]


def _rows(path):
    with open(path) as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("full") / "run"
    assert main(ARGS + ["--out", str(out)]) == 0
    return out


def test_csv_columns_tau_and_memorisation_rises(full_run):
    rows = _rows(full_run / "train_net.csv")
    assert list(rows[0]) == list(training.HEADER)
    steps = [int(r["step"]) for r in rows]
    # the log grid 100, 283, 800 refined where f_mem moves (N11): from 100 to 800, increasing
    assert steps[0] == 100 and steps[-1] == 800 and all(a < b for a, b in zip(steps[:-1], steps[1:])), steps
    for r in rows:
        assert float(r["tau"]) == pytest.approx(int(r["step"]) * 3e-3)  # (N5)
        assert float(r["f_mem_lo"]) <= float(r["f_mem"]) <= float(r["f_mem_hi"])
        assert math.isfinite(float(r["kl"])) and float(r["kl"]) > 0
    f = [float(r["f_mem"]) for r in rows]
    assert f[0] <= 0.05 and f[-1] >= 0.1 and f[-1] > f[0] + 0.08, f  # n = 4 copies its training set late in training
    assert float(rows[-1]["train_loss"]) < float(rows[-1]["test_loss"])  # memorisation: the gap opens at t = 0.01
    side = json.loads((full_run / "train_net.json").read_text())
    assert side["parameters"]["steps"] == 800 and side["conventions"]["tau"].startswith("tau = steps * lr")
    assert side["readoffs"]["n4_w32_s0"]["tau_mem"] is not None
    assert {r["width"] for r in rows} == {"32"} and {r["optimizer"] for r in rows} == {"adam"}
    assert {r["batch"] for r in rows} == {"4"}  # min(n, 512)
    assert side["protocol"]["time_sampling"] == "loguniform" and side["protocol"]["optimizer"] == "adam"


def test_saved_samples_give_the_csv_f_mem(full_run):
    rows = {int(r["step"]): r for r in _rows(full_run / "train_net.csv")}
    files = sorted(full_run.glob("samples_n4_w32_s0_step*.npz"))
    assert len(files) == len(rows)
    for f in files:
        z = np.load(f)
        row = rows[int(z["step"])]
        m = memorisation(z["samples"], z["X"])
        assert m.f_mem == float(row["f_mem"]) and m.lo == float(row["f_mem_lo"]) and m.hi == float(row["f_mem_hi"])


def test_interrupt_then_resume_equals_uninterrupted(full_run, tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    real = training.save_checkpoint
    calls = []

    def interrupt_after_first(*a, **k):
        real(*a, **k)
        calls.append(1)
        if len(calls) == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(training, "save_checkpoint", interrupt_after_first)
    assert main(ARGS + ["--out", str(out)]) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "interrupted" in err[0] and "resume" in err[0], err
    assert not (out / "train_net.csv").exists() and (out / "checkpoint_n4_w32_s0.npz").exists()
    monkeypatch.setattr(training, "save_checkpoint", real)
    assert main(ARGS + ["--out", str(out)]) == 0
    assert _rows(out / "train_net.csv") == _rows(full_run / "train_net.csv")  # the same numbers, to the last digit
    side = json.loads((out / "train_net.json").read_text())
    assert side["resumed_from_step"]["n4_w32_s0"] == 100
    # a checkpoint of other parameters is refused, naming --out
    assert main(ARGS[:-1] + ["--lr", "1e-3", "--no-progress", "--out", str(out)]) == 2
    assert "--out" in capsys.readouterr().err


@pytest.mark.slow  # two runs of ARGS: the full suite (CI) runs it
def test_a_run_killed_between_checkpoints_resumes_from_the_state_in_flight(full_run, tmp_path, monkeypatch, capsys):
    """Between two checkpoints the state in flight is saved every SAVE_EVERY seconds (here after every chunk of 25
    steps); a run killed at step 50, before its first checkpoint (100), resumes from step 50: the rerun trains
    only the 750 steps after it, and its CSV is the uninterrupted run's number for number."""
    real = training._train_chunk
    trained = []

    def chunk(net, state, X, key, lo, hi, *a):
        if int(lo) >= 50 and not trained:  # the first run: killed once steps 0-50 are trained and saved
            raise KeyboardInterrupt
        trained.append((int(lo), int(hi)))
        return real(net, state, X, key, lo, hi, *a)

    monkeypatch.setattr(training, "CHUNK", 25)
    monkeypatch.setattr(training, "SAVE_EVERY", 0.0)
    monkeypatch.setattr(training, "_train_chunk", lambda *a: real(*a) if int(a[4]) < 50 else chunk(*a))
    out = tmp_path / "run"
    assert main(ARGS + ["--out", str(out)]) == 130
    capsys.readouterr()
    with np.load(out / "checkpoint_n4_w32_s0.npz") as z:
        assert int(z["step"]) == 0 and int(z["in_flight_step"]) == 50 and json.loads(str(z["rows"])) == []
    monkeypatch.setattr(training, "_train_chunk", chunk)
    trained.append((0, 0))  # from here on, no interruption
    assert main(ARGS + ["--out", str(out)]) == 0
    assert trained[1][0] == 50 and sum(hi - lo for lo, hi in trained) == 750
    assert _rows(out / "train_net.csv") == _rows(full_run / "train_net.csv")
    assert json.loads((out / "train_net.json").read_text())["resumed_from_step"]["n4_w32_s0"] == 50


def test_a_state_in_flight_not_beyond_its_checkpoint_is_a_corrupt_checkpoint(full_run, tmp_path, capsys):
    """A checkpoint whose state in flight is not beyond its accepted step (a file no run writes) is refused as
    corrupt: exit 2, one line naming --out, nothing trained or written."""
    import shutil

    out = tmp_path / "run"
    shutil.copytree(full_run, out)
    ckpt = out / "checkpoint_n4_w32_s0.npz"
    with np.load(ckpt) as z:
        arrays = dict(z)
    arrays.update({"in_flight_" + k: v for k, v in arrays.items() if k.startswith("leaf_")},
                  in_flight_step=np.int64(arrays["step"]))
    with open(ckpt, "wb") as fh:
        np.savez(fh, **arrays)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert main(ARGS + ["--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--out" in err[0] and "corrupt checkpoint" in err[0] and "not beyond" in err[0], err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


@pytest.mark.slow  # two runs of ARGS: the full suite (CI) runs it
def test_refinement_trains_each_step_once_and_equals_retraining(full_run, tmp_path, monkeypatch):
    """(N11) a checkpoint discarded by the refinement is continued from the states kept while its interval was
    trained, not trained again: every step of the run is trained exactly once (the trained chunks add up to the
    last step), and the CSV is the one of the retraining path (no kept states: the interval trained again from
    the last accepted checkpoint), number for number — step k trains on fold_in(key, k) whatever the path."""
    real = training._train_chunk
    trained = []

    def counting(net, state, X, key, lo, hi, *a):
        trained.append(int(hi) - int(lo))
        return real(net, state, X, key, lo, hi, *a)

    monkeypatch.setattr(training, "_train_chunk", counting)
    assert main(ARGS + ["--out", str(tmp_path / "kept")]) == 0
    rows = _rows(tmp_path / "kept" / "train_net.csv")
    base = {int(s) for s in training.checkpoint_steps(800, 3, 100)}
    assert any(int(r["step"]) not in base for r in rows)  # the grid was refined: some checkpoint was discarded
    assert sum(trained) == 800 and rows == _rows(full_run / "train_net.csv")
    trained.clear()
    monkeypatch.setattr(training, "_fine_chain", lambda cfg, step, target: [])  # keep no state: retrain
    assert main(ARGS + ["--out", str(tmp_path / "retrained")]) == 0
    assert sum(trained) > 800 and _rows(tmp_path / "retrained" / "train_net.csv") == rows


@pytest.mark.slow
def test_real_ctrl_c_then_resume_equals_uninterrupted(full_run, tmp_path):
    """`python -m rfscore train-net` in its own process, a real SIGINT once the first checkpoint is on disk: exit 130
    with one line on stderr; the same command then finishes, and its CSV is the uninterrupted run's (`full_run`,
    the same arguments into another folder) number for number."""
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "rfscore", *ARGS, "--out", str(out)]
    # JAX's persistent compilation cache, in tmp_path: the resumed process loads the programs the first one compiled
    # (≈ 16 s instead of ≈ 30 s for the two processes on 2 cores); the numbers do not depend on it
    env = dict(os.environ, PYTHONPATH=str(ROOT), JAX_COMPILATION_CACHE_DIR=str(tmp_path / "jax_cache"),
               JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0", JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="0")
    ckpt = out / "checkpoint_n4_w32_s0.npz"
    proc = subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300  # a shared, loaded machine: start-up and compilation can take minutes
    while not ckpt.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert ckpt.exists() and proc.poll() is None, proc.communicate()  # still training after the first checkpoint
    proc.send_signal(signal.SIGINT)  # a real Ctrl-C
    stdout, err = proc.communicate(timeout=120)
    line = (f"rfscore train-net: interrupted; checkpoints are kept in {out}/checkpoint_*.npz; rerun the same "
            f"command to resume")
    assert proc.returncode == 130 and err == line + "\n" and stdout == "", err  # one line, no traceback
    assert not (out / "train_net.csv").exists()
    with np.load(ckpt) as z:
        kept = int(z["step"])
    assert kept in [int(r["step"]) for r in _rows(full_run / "train_net.csv")][:-1], kept
    res = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and res.stderr == "", res.stderr
    assert json.loads((out / "train_net.json").read_text())["resumed_from_step"]["n4_w32_s0"] == kept
    resumed, whole = _rows(out / "train_net.csv"), _rows(full_run / "train_net.csv")
    assert list(resumed[0]) == list(whole[0]) == list(training.HEADER)  # no wall-clock column in the CSV
    for h in training.HEADER:  # every column, to the last digit (the wall-clock times are in the sidecar only)
        if h == "optimizer":
            assert [r[h] for r in resumed] == [r[h] for r in whole]
            continue
        np.testing.assert_array_equal([float(r[h]) for r in resumed], [float(r[h]) for r in whole], err_msg=h)


def test_missing_extra_exits_2_naming_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "equinox", None)  # `import equinox` raises ImportError
    assert main(["train-net", "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--arch" in err[0] and "rfscore[nets]" in err[0], err
    assert list(tmp_path.iterdir()) == []


def test_gmm_score_is_the_gradient_of_the_log_density():
    mu, std, t = np.full(8, 0.8), 0.6, 0.3
    a, v = np.exp(-t) * mu, np.exp(-2 * t) * std**2 - np.expm1(-2 * t)

    def logp(x):
        return jnp.logaddexp(-jnp.sum((x - a) ** 2) / (2 * v), -jnp.sum((x + a) ** 2) / (2 * v))

    x = gmm_sample(jax.random.PRNGKey(3), 5)
    np.testing.assert_allclose(gmm_score(x, t, mu, std), np.asarray(jax.jit(jax.vmap(jax.grad(logp)))(jnp.asarray(x))), rtol=1e-12)
    # mixture pool: zero mean, Tr Σ/d = 1
    X = gmm_sample(jax.random.PRNGKey(0), 4000)
    assert abs(X.mean()) < 0.05 and abs(np.mean(X**2) - 1) < 0.03


def test_balanced_split_holds_half_of_each_component_in_every_even_prefix():
    """--gmm-split balanced: the rows alternate +μ, −μ with the same noise z as the coin split, so every even n has
    n/2 rows of each component; the coin split is the mixture law (N1); the held-out rows are the same."""
    key = jax.random.PRNGKey(5)
    rand, bal = gmm_sample(key, 40, mean=1.0, std=1.0), gmm_sample(key, 40, mean=1.0, std=1.0, split="balanced")
    sign_b = np.where(np.arange(40) % 2 == 0, 1.0, -1.0)
    sign_r = np.rint((rand - bal)[:, 0] + sign_b)  # rand - bal = (sign_r - sign_b)·μ, μ = (1, …, 1)
    np.testing.assert_allclose(rand - bal, (sign_r - sign_b)[:, None] * np.ones((1, 8)), atol=1e-12)
    assert set(sign_r) <= {-1.0, 1.0} and 0 < np.sum(sign_r > 0) < 40  # a coin: some of each
    for n in range(2, 41, 2):
        assert np.sum(sign_b[:n] > 0) == n // 2
    a, b = (load_net_data("gmm", key, 12, 1.0, 1.0, split=s) for s in ("random", "balanced"))
    np.testing.assert_array_equal(a.test, b.test)
    assert b.info()["gmm_split"] == "balanced" and "gmm_split" not in a.info()
    with pytest.raises(InputError, match="gmm_split"):
        gmm_sample(key, 4, split="stratified")


class _TrueEps(eqx.Module):
    """ε*(x, t) = -√Δ_t s*(x, t) of the mixture, as a network: the KL estimate is then its prior term."""

    mu: jax.Array

    def __call__(self, x, t):
        a = jnp.exp(-t) * self.mu
        v = jnp.exp(-2 * t) * 0.36 - jnp.expm1(-2 * t)
        s = (jnp.tanh(x @ a / v) * a - x) / v
        return -jnp.sqrt(-jnp.expm1(-2 * t)) * s


def test_kl_estimate_of_the_true_score_is_the_prior_term():
    data = load_net_data("gmm", jax.random.PRNGKey(0), 8)
    grid = np.geomspace(1e-2, 3, 6)
    net = _TrueEps(jnp.asarray(data.mu, dtype=jnp.float32))
    prior = gmm_prior_kl_bound(3.0, data.mu, data.std) / 8
    kl = training.gmm_kl_estimate(net, data, grid, jax.random.PRNGKey(1), num=256)
    assert prior > 0 and abs(kl - prior) < 1e-3
    wrong = training.gmm_kl_estimate(build("mlp", jax.random.PRNGKey(0), 8, 8), data, grid, jax.random.PRNGKey(1), num=256)
    assert wrong > 10 * prior + 0.01


@pytest.mark.slow  # longer than a few seconds on 2 cores: the full suite (CI) runs it
def test_unet_shapes_score_and_gradient():
    net = build("unet", jax.random.PRNGKey(0), 64, 4)
    x = jax.random.normal(jax.random.PRNGKey(1), (3, 64))
    score = net_score(net, np.array([0.1, 1.0]))
    eps, s0 = eqx.filter_jit(lambda sc, y: (apply(sc.net, y, 0.1), sc(y, 0)))(score, x)  # one compiled program
    assert eps.shape == (3, 64) and eps.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(s0), -np.asarray(eps) / np.sqrt(-np.expm1(-0.2)), rtol=1e-4, atol=1e-8)
    with pytest.raises(ValueError):
        UNet(jax.random.PRNGKey(0), 8, 4)
    # the im2col convolution is equinox's Conv2d (3×3 'same' and 1×1), with the same parameters
    h = jax.random.normal(jax.random.PRNGKey(4), (4, 8, 8), dtype=jnp.float32)
    for layer, inp in ((net.down.conv1, h), (net.down.skip, h), (net.inp, h[:1]), (net.mid1.conv1, h[:, :4, :4])):
        np.testing.assert_allclose(np.asarray(conv2d(layer, inp)), np.asarray(layer(inp)), rtol=1e-5, atol=1e-5)
    X = jnp.asarray(np.asarray(jax.random.normal(jax.random.PRNGKey(2), (6, 64))), dtype=jnp.float32)
    grads = eqx.filter_jit(eqx.filter_grad(training.denoising_loss))(net, X, jnp.full(6, 0.1), X[::-1])
    g = [float(jnp.max(jnp.abs(a))) for a in jax.tree_util.tree_leaves(grads)]
    assert max(g) > 0 and all(np.isfinite(g))


# The U-Net on n = 4 digits: a reduced version (one n, 200 samples, 2 checkpoints, K = 8) of the run of
# theory/trained_networks.md §7 (`--n 4,8 --width 12 --steps 2000 --lr 3e-3 --samples 1000 --checkpoints 6`).
UNET_ARGS = ["train-net", "--data", "digits", "--arch", "unet", "--n", "4", "--width", "12", "--steps", "2000",
             "--lr", "3e-3", "--samples", "200", "--checkpoints", "2", "--times", "8", "--no-refine", "--no-progress"]


@pytest.mark.slow
def test_unet_on_digits_generates_new_images_early_and_copies_late(tmp_path):
    pytest.importorskip("sklearn")
    out = tmp_path / "unet"
    assert main(UNET_ARGS + ["--out", str(out)]) == 0
    rows = _rows(out / "train_net.csv")
    assert [int(r["step"]) for r in rows] == [100, 2000]
    f = [float(r["f_mem"]) for r in rows]
    # Measured for this configuration (2 shared cores): f_mem = 0 at step 100 and 0.845 at step 2000 (seed 0; Wilson
    # 95 % [0.79, 0.89] at 200 samples; with a third checkpoint, 0 at step 447 too), and 0.89, 0.885 at step 2000
    # for seeds 1 and 2. The early samples are not copies (no nearest/second-nearest ratio below 1/3); the bound 0.6
    # on the last checkpoint leaves 0.24 below the lowest of the three seeds (≈ 10 binomial standard deviations at
    # 200 samples), room for float rounding that differs between machines to change the trajectory, while still
    # asking that most samples be copies.
    assert f[0] <= 0.05 and f[-1] >= 0.6, f
    assert float(rows[-1]["train_loss"]) < float(rows[-1]["test_loss"])
    assert all(math.isnan(float(r["kl"])) for r in rows)  # no KL estimate for real data


def test_analysis_and_figure_from_a_run(full_run, tmp_path):
    """`collect` a run into the run table, read it off (N12) and draw the `networks` figure with that run standing
    for each of its three committed protocols; a copy relabelled n = 8 with τ doubled gives the exponent 1."""
    from rfscore.analysis.networks import RUN_COLUMNS, collect, exponent_table, run_readoffs
    from rfscore.figures import networks as fig
    from rfscore.runtime.io import write_result

    table = collect([full_run])
    assert set(table["width"]) == {32.0} and set(table["arch"]) == {"mlp"}
    reads = run_readoffs(table, throw=False)  # a short run: τ_mem at 0.2 may be censored, flagged
    assert len(reads) == 1 and reads[0]["tau_mem"]["0.1"] > 0 and reads[0]["n"] == 4
    one_n = exponent_table(reads, throw=False)
    assert "error" in one_n["32"]["tau_mem"]["0.1"] and not one_n.converged  # one n: no exponent, flagged
    t2 = {k: np.concatenate([v, v]) for k, v in table.items()}
    m = len(table["n"])
    t2["n"][m:] = 8
    t2["tau"][m:] *= 2
    t2["step"][m:] *= 2
    assert exponent_table(run_readoffs(t2, throw=False), d=8, throw=False)["32"]["tau_mem"]["0.1"]["exponent"] == \
        pytest.approx(1.0)
    for name in fig.RUNS.values():
        write_result(tmp_path / name, t2, {"test": True}, header=RUN_COLUMNS, undefined=("kl",))
    entry = fig.make(tmp_path, data_dir=tmp_path)
    assert (tmp_path / "fig_networks.png").stat().st_size > 0 and len(entry["files"]) == 2
    side = json.loads((tmp_path / "fig_networks.json").read_text())
    assert set(side) == set(fig.RUNS) and all(v["width"] == 32 for v in side.values())


@pytest.mark.slow  # longer than a few seconds on 2 cores: the full suite (CI) runs it
def test_sgd_with_momentum_is_optax_sgd_and_trains(tmp_path):
    """`--optimizer sgd`: optax SGD with heavy-ball momentum 0.9 (one update checked by hand), and a short run
    whose train loss at t = 0.01 falls between its first and last checkpoint."""
    import jax.numpy as jnp
    opt = training.make_optimizer("sgd", 0.1)
    p, g = {"w": jnp.array([1.0, -2.0])}, {"w": jnp.array([0.5, 0.25])}
    s = opt.init(p)
    u1, s = opt.update(g, s, p)
    u2, s = opt.update(g, s, p)
    np.testing.assert_allclose(u1["w"], -0.1 * g["w"], rtol=1e-6)
    np.testing.assert_allclose(u2["w"], -0.1 * (1 + 0.9) * g["w"], rtol=1e-6)  # velocity 0.9·g + g
    out = tmp_path / "run"
    assert main(["train-net", "--n", "8", "--steps", "400", "--width", "32", "--optimizer", "sgd", "--lr", "1e-2",
                 "--samples", "100", "--checkpoints", "2", "--times", "6", "--no-progress", "--out", str(out)]) == 0
    rows = _rows(out / "train_net.csv")
    assert [int(r["step"]) for r in rows] == [100, 400]
    assert float(rows[-1]["train_loss"]) < float(rows[0]["train_loss"])


# ----------------------------------------------------------------------------- the paper's protocol (issue 27)
def _alpha_bar_by_hand(T=1000, lo=1e-4, hi=2e-2):
    """ᾱ_k = Π_{j≤k}(1 - β_j) by a running product (not the library's cumulative log-sum)."""
    out, a = [], 1.0
    for k in range(T):
        a *= 1.0 - (lo + (hi - lo) * k / (T - 1))
        out.append(a)
    return np.array(out)


def test_ddpm_time_law_matches_the_schedule_by_hand():
    """(N7)-(N8): t_k = -½ log ᾱ_k; k uniform in 1 … 1000 gives P(t < 0.01) = #{k: t_k < 0.01}/1000 ≈ 0.04
    (the log-uniform law (N3) on [1e-3, 3] gives log 10/log 3000 = 0.288). 200 000 draws: the binomial standard
    error of 0.04 is 4.4e-4, the tolerance 5 of them."""
    from rfscore.networks import ddpm
    t_hand = -0.5 * np.log(_alpha_bar_by_hand())
    np.testing.assert_allclose(ddpm.T_TABLE[1:], t_hand, rtol=1e-12)
    p_exact = np.mean(t_hand < 0.01)
    assert 0.035 < p_exact < 0.045
    draws = np.asarray(ddpm.draw_t(jax.random.PRNGKey(0), (200_000,), jnp.float64))
    assert abs(np.mean(draws < 0.01) - p_exact) < 5 * math.sqrt(p_exact * (1 - p_exact) / 200_000)
    uq = np.unique(draws)  # only the schedule's times
    assert np.max(np.min(np.abs(uq[:, None] / t_hand[None, :] - 1), axis=1)) < 1e-12
    u = np.asarray(training._draw(jax.random.PRNGKey(1), jnp.zeros((4, 2)), 1e-3, 3.0, 4, "loguniform")[1])
    assert np.all((u >= 1e-3 * (1 - 1e-6)) & (u <= 3.0 * (1 + 1e-6)))
    # the network's step index recovers k at every t_k (float32)
    k = np.arange(1, 1001)
    np.testing.assert_allclose(np.asarray(ddpm.index_of_t(jnp.asarray(t_hand, dtype=jnp.float32))), k, atol=2e-3)


class _GaussScore(eqx.Module):
    v: jax.Array

    def __call__(self, y, k):
        return -y / self.v[k]


@pytest.mark.slow  # longer than a few seconds on 2 cores: the full suite (CI) runs it
def test_euler_maruyama_sampler_on_a_gaussian_with_its_exact_score():
    """(N9) with the exact score of N(0, σ²I), s(y, t) = -y/v_t, v_t = e^{-2t}σ² + Δ_t: the sample variance equals
    the variance propagated through the same Euler–Maruyama steps, var ← (1 + h - 2h/v)² var + 2h from var = 1,
    computed here step by step from the schedule by hand; and at K = 1000 it is σ² within the discretisation
    error (a few 1e-3). 40 000 samples × d = 4: the relative standard error of the variance is 3.5e-3, the
    tolerance 4 of them."""
    from rfscore.networks import ddpm
    sigma2, K, d, N = 0.25, 1000, 4, 40_000
    t_hand = np.concatenate([[0.0], -0.5 * np.log(_alpha_bar_by_hand())])  # t at the integer DDPM indices
    ts = t_hand[::-1]                                                      # K = 1000: the steps are the indices
    v = lambda t: np.exp(-2 * t) * sigma2 - np.expm1(-2 * t)  # noqa: E731
    var = 1.0
    for ta, tb in zip(ts[:-1], ts[1:]):
        h = ta - tb
        var = (1 + h - 2 * h / v(ta)) ** 2 * var + 2 * h
    y = ddpm.em_sample(lambda times: _GaussScore(jnp.asarray(v(np.asarray(times)))), jax.random.PRNGKey(3), K=K,
                       num_samples=N, d=d)
    assert y.shape == (N, d)
    emp = float(np.mean(y**2))
    assert abs(emp / var - 1) < 4 * math.sqrt(2 / (N * d)), (emp, var)
    assert abs(var / sigma2 - 1) < 0.02, var
    # fewer steps: the propagated variance of that schedule
    sch = ddpm.em_schedule(50)
    var50 = 1.0
    for ta, h in zip(sch["t"], sch["h"]):
        var50 = (1 + h - 2 * h / v(ta)) ** 2 * var50 + 2 * h
    y50 = ddpm.em_sample(lambda times: _GaussScore(jnp.asarray(v(np.asarray(times)))), jax.random.PRNGKey(4), K=50,
                         num_samples=N, d=d)
    assert abs(float(np.mean(y50**2)) / var50 - 1) < 4 * math.sqrt(2 / (N * d))


def test_sgd_momentum_095_update_by_hand():
    """--momentum 0.95: v ← 0.95 v + g, θ ← θ - lr v; two updates by hand."""
    opt = training.make_optimizer("sgd", 6e-3, 0.95)
    p = {"w": jnp.array([1.0, -2.0])}
    g1, g2 = {"w": jnp.array([0.5, 0.25])}, {"w": jnp.array([-1.0, 2.0])}
    s = opt.init(p)
    u1, s = opt.update(g1, s, p)
    u2, s = opt.update(g2, s, p)
    np.testing.assert_allclose(u1["w"], -6e-3 * g1["w"], rtol=1e-6)
    np.testing.assert_allclose(u2["w"], -6e-3 * (0.95 * g1["w"] + g2["w"]), rtol=1e-6)


def test_paper_mlp_is_the_stated_network():
    """(N10) by hand in NumPy from the module's weights: input layer, 3 × LayerNorm(u + fc2(GELU(fc1(u)))) with
    u = h + e(k), e the sinusoidal embedding of the DDPM step k, output layer."""
    from scipy.special import erf

    from rfscore.networks import ddpm
    d, W = 8, 16
    net = build("paper-mlp", jax.random.PRNGKey(5), d, W)
    x = np.random.default_rng(0).standard_normal((3, d)).astype(np.float32)
    ks = np.array([1, 40, 700])
    t = ddpm.T_TABLE[ks].astype(np.float32)
    lin = lambda layer, h: h @ np.asarray(layer.weight).T + np.asarray(layer.bias)  # noqa: E731
    freq = np.exp(-np.log(10000.0) * np.arange(W // 2) / (W // 2))
    e = np.concatenate([np.sin(ks[:, None] * freq), np.cos(ks[:, None] * freq)], axis=1)
    h = lin(net.inp, x)
    for b in net.blocks:
        u = h + e
        z = lin(b.fc1, u)
        z = u + lin(b.fc2, 0.5 * z * (1 + erf(z / np.sqrt(2))))
        mu, var = z.mean(1, keepdims=True), z.var(1, keepdims=True)
        h = (z - mu) / np.sqrt(var + 1e-5) * np.asarray(b.norm.weight) + np.asarray(b.norm.bias)
    want = lin(net.head, h)
    np.testing.assert_allclose(np.asarray(apply(net, jnp.asarray(x), jnp.asarray(t))), want, rtol=2e-4, atol=2e-4)
    assert np.all(np.asarray(net.blocks[0].norm.weight) == 1)


def test_plateau_criterion():
    """(N11): f_mem ≥ 0.1, last 3 checkpoints spanning ≥ a factor 2 in steps, overlapping 95 % intervals."""
    def row(step, f, w=0.02):
        return {"step": step, "f_mem": f, "f_mem_lo": f - w, "f_mem_hi": f + w}
    assert training.plateaued([row(100, 0.3), row(150, 0.31), row(200, 0.3)])
    assert not training.plateaued([row(100, 0.3), row(150, 0.31), row(190, 0.3)])  # spans < 2
    assert not training.plateaued([row(100, 0.2), row(150, 0.3), row(200, 0.4)])    # still rising
    assert not training.plateaued([row(100, 0.05), row(150, 0.05), row(200, 0.05)])  # not memorising yet
    assert not training.plateaued([row(100, 0.3), row(200, 0.3)])


PAPER = ["train-net", "--protocol", "paper", "--width", "16", "--n", "4,8", "--steps", "600", "--samples", "200",
         "--checkpoints", "3", "--sampler-steps", "100", "--no-progress"]


@pytest.fixture(scope="module")
def paper_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("paper") / "run"
    assert main(PAPER + ["--seeds", "2", "--out", str(out)]) == 0
    return out


@pytest.mark.slow  # longer than a few seconds on 2 cores: the full suite (CI) runs it
def test_protocol_paper_sets_every_option_and_explicit_ones_override(paper_run):
    rows = _rows(paper_run / "train_net.csv")
    side = json.loads((paper_run / "train_net.json").read_text())
    pr = side["protocol"]
    assert (pr["arch"], pr["optimizer"], pr["lr"], pr["momentum"], pr["batch"], pr["time_sampling"],
            pr["gmm_mean"], pr["gmm_std"]) == ("paper-mlp", "sgd", 6e-3, 0.95, "full", "ddpm", 1.0, 1.0)
    assert pr["sampler_steps"] == 100  # given explicitly: overrides the protocol's 1000
    assert side["parameters"]["width"] == [16] and side["parameters"]["seeds"] == [0, 1]
    assert side["dataset"]["gmm_mean"] == 1.0 and side["dataset"]["gmm_std"] == 1.0
    assert {(r["n"], r["seed"]) for r in rows} == {("4", "0"), ("8", "0"), ("4", "1"), ("8", "1")}
    for r in rows:
        assert r["width"] == "16" and r["optimizer"] == "sgd" and r["batch"] == r["n"]  # full batch
        assert float(r["tau"]) == pytest.approx(int(r["step"]) * 6e-3)
    # the refined log grid: consecutive accepted checkpoints differ in f_mem by ≤ JUMP, or are already fine
    r_fine = training.log_ratio(training.TrainConfig(steps=600, checkpoints=3)) ** (1 / training.REFINE)
    for n in ("4", "8"):
        rs = [r for r in rows if r["n"] == n and r["seed"] == "0"]
        for a, b in zip(rs[:-1], rs[1:]):
            jump = float(b["f_mem"]) - float(a["f_mem"])
            assert jump <= training.JUMP or int(b["step"]) <= round(int(a["step"]) * r_fine) + 1, (a, b)


@pytest.mark.slow  # longer than a few seconds on 2 cores: the full suite (CI) runs it
def test_resumed_out_with_another_protocol_is_refused(paper_run, tmp_path, capsys):
    import shutil
    out = tmp_path / "run"
    shutil.copytree(paper_run, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert main(PAPER + ["--seeds", "2", "--momentum", "0.9", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--out" in err[0] and "momentum" in err[0], err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    # the same protocol resumes: nothing left to train, the same CSV
    assert main(PAPER + ["--seeds", "2", "--out", str(out)]) == 0
    assert _rows(out / "train_net.csv") == _rows(paper_run / "train_net.csv")


def test_readoff_table_exponents_censoring_and_n_gm():
    """(N12) on synthetic curves with a known answer: f_mem(τ) = 1 - exp(-(τ/(c_s n))²) (τ_mem ∝ n exactly, a seed
    factor c_s) and KL(τ) = (log τ - log 5)² + 0.1 (τ_gen independent of n): the exponent is 1 at every threshold
    with a CI that contains 1; n_gm is where c_s n·√(-log(1 - thr)) = τ_gen(n) — computed here in closed form from
    the log-interpolated read-offs' own fits; a curve that never reaches a threshold is censored 'right'."""
    from rfscore.analysis.networks import exponent_table, run_readoffs
    tau = np.geomspace(0.1, 1000, 200)
    cols = {k: [] for k in ("width", "seed", "n", "tau", "f_mem", "kl")}
    for s, c in enumerate((1.0, 1.1, 0.9)):
        for n in (8, 16, 32):
            f = 1 - np.exp(-((tau / (c * n)) ** 2))
            kl = (np.log(tau) - np.log(5.0)) ** 2 + 0.1
            for k, v in (("width", 64), ("seed", s), ("n", n)):
                cols[k] += [v] * tau.size
            cols["tau"] += list(tau)
            cols["f_mem"] += list(f)
            cols["kl"] += list(kl)
    cols = {k: np.asarray(v, dtype=float) for k, v in cols.items()}
    reads = run_readoffs(cols, plateau={(64, s, n): True for s in range(3) for n in (8, 16, 32)})
    assert reads.converged and reads.status.message == ""  # no censored read-off: the defaults do not raise
    tab = exponent_table(reads, d=8)["64"]
    for thr in ("0.02", "0.05", "0.1", "0.2"):
        fit = tab["tau_mem"][thr]
        assert fit["exponent"] == pytest.approx(1.0, abs=0.01) and fit["ci"][0] <= 1.0 <= fit["ci"][1] + 0.01, fit
        assert fit["censored"] == []
        # τ_mem = c n q with q = √(-log(1 - thr)); τ_gen = 5 e^{-0.1} (KL ≤ 1.1 min: (log τ - log 5)² ≤ 0.01):
        # log n_gm = mean over seeds of log(τ_gen/(c q))
        q = math.sqrt(-math.log(1 - float(thr)))
        want = math.exp(np.mean([math.log(5 * math.exp(-0.1) / (c * q)) for c in (1.0, 1.1, 0.9)]))
        assert tab["n_gm"][thr]["n_gm"] == pytest.approx(want, rel=0.03), (thr, tab["n_gm"][thr], want)
    assert tab["tau_gen"]["exponent"] == pytest.approx(0.0, abs=0.02)
    assert tab["all_plateaued"]
    # a curve that stops before reaching 0.2: right-censored there, that seed dropped from the 0.2 fit only
    cut = (cols["n"] == 32) & (cols["seed"] == 0) & (cols["f_mem"] > 0.15)
    short = {k: v[~cut] for k, v in cols.items()}
    r2 = run_readoffs(short, throw=False)
    assert not r2.converged and "(width 64, n 32, seed 0): tau_mem[0.2] right" in r2.message
    t2 = exponent_table(r2, d=8, throw=False)["64"]
    assert t2["tau_mem"]["0.2"]["censored"] == [[32, 0, "right"]] and t2["tau_mem"]["0.2"]["dropped_seeds"] == 1
    assert t2["tau_mem"]["0.1"]["dropped_seeds"] == 0 and not t2["all_plateaued"]
    # the bracket of each read-off: the grid's step ratio there (200 points over 4 decades), NaN where censored
    step = (1000 / 0.1) ** (1 / 199)
    assert all(r["bracket"][t] == pytest.approx(step, rel=1e-9) for r in reads for t in r["bracket"])
    assert tab["tau_mem"]["0.05"]["max_bracket"] == pytest.approx(step, rel=1e-9)
    assert math.isnan(next(r for r in r2 if r["n"] == 32 and r["seed"] == 0)["bracket"]["0.2"])


def test_read_off_bracket_is_the_checkpoint_factor_around_the_crossing():
    """A coarse grid around the crossing gives a wide bracket; a crossing at the first checkpoint or never is NaN."""
    from rfscore.analysis.networks import read_off_bracket
    tau, f = [100.0, 400.0, 200.0, 800.0], [0.0, 0.045, 0.001, 0.3]  # any order: sorted by τ inside
    assert read_off_bracket(tau, f, 0.02) == 2.0 and read_off_bracket(tau, f, 0.1) == 2.0
    assert math.isnan(read_off_bracket(tau, f, 0.0)) and math.isnan(read_off_bracket(tau, f, 0.5))


@pytest.mark.slow  # longer than a few seconds on 2 cores: the full suite (CI) runs it
def test_grid_in_worker_processes_equals_serial(tmp_path):
    """(n, W) jobs in 2 local worker processes (`rfscore.runtime.sweep.run_sweep`) give the serial run's CSV, every
    column, and resume (a second call finds every job's last checkpoint and trains nothing)."""
    # two jobs, one per worker: the smallest grid that runs in two processes (each compiles its own network)
    base = ["train-net", "--n", "4", "--width", "8,16", "--steps", "100", "--samples", "20", "--checkpoints", "2",
            "--times", "2", "--no-progress"]
    assert main(base + ["--workers", "1", "--out", str(tmp_path / "serial")]) == 0
    assert main(base + ["--workers", "2", "--out", str(tmp_path / "par")]) == 0
    a, b = _rows(tmp_path / "serial" / "train_net.csv"), _rows(tmp_path / "par" / "train_net.csv")
    assert a == b and {(r["n"], r["width"]) for r in a} == {("4", "8"), ("4", "16")}
    assert main(base + ["--workers", "2", "--out", str(tmp_path / "par")]) == 0
    side = json.loads((tmp_path / "par" / "train_net.json").read_text())
    assert set(side["resumed_from_step"].values()) == {100} and side["parameters"]["workers"] == 2
    assert _rows(tmp_path / "par" / "train_net.csv") == a


@pytest.mark.slow  # longer than a few seconds on 2 cores: the full suite (CI) runs it
def test_sm9_figure_draws_a_paper_protocol_run(paper_run, tmp_path):
    """`reproduce --paper --only sm9` draws committed runs: here the small paper-protocol run as its data; the
    manifest entry states the paper's parameters, the differences and the exponent table per threshold."""
    import shutil

    from rfscore.figures.paper import sm9
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(paper_run / "train_net.csv", data / sm9.RUNS)
    shutil.copy(paper_run / "train_net.json", data / "sm9_runs.json")
    entry = sm9.make(tmp_path, data_dir=data)
    assert (tmp_path / "sm9_mixture.png").stat().st_size > 0 and entry["files"] == ["sm9_mixture.png"]
    assert set(entry["exponents"]["16"]["tau_mem"]) == {"0.02", "0.05", "0.1", "0.2"}
    assert entry["parameters"]["n"] == [4, 8] and any("instead of" in x for x in entry["differences"])
    # merge_runs of the one folder reproduces its rows and its sidecar's exponent table
    from rfscore.analysis.networks import merge_runs
    exps = merge_runs([paper_run], tmp_path / "merged.csv", throw=False)
    side = json.loads((paper_run / "train_net.json").read_text())
    from rfscore.runtime.io import jsonable
    assert jsonable(exps) == side["exponents"]  # as written: a NaN (max_bracket with no finite bracket) is null
    a, b = _rows(tmp_path / "merged.csv"), _rows(paper_run / "train_net.csv")
    assert [(r["n"], r["seed"], r["step"], float(r["f_mem"])) for r in a] == \
        [(r["n"], r["seed"], r["step"], float(r["f_mem"])) for r in b]


def _seed_part(run, out, seed):
    """A copy of the train-net folder ``run`` holding only its runs of one seed (rows and read-offs), as if that
    seed had been run apart."""
    out.mkdir()
    rows = [r for r in _rows(run / "train_net.csv") if r["seed"] == str(seed)]
    with open(out / "train_net.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    side = json.loads((run / "train_net.json").read_text())
    side["readoffs"] = {k: v for k, v in side["readoffs"].items() if k.endswith(f"_s{seed}")}
    (out / "train_net.json").write_text(json.dumps(side))
    return out


@pytest.mark.slow  # longer than a few seconds on 2 cores: the full suite (CI) runs it
def test_a_merged_csv_grows_by_a_new_run_as_the_folders_would_and_a_repeated_run_is_refused(paper_run, tmp_path,
                                                                                           capsys):
    """`--merge` of a CSV it wrote and a new folder gives the rows, read-offs, exponent table and provenance of
    the merge of all the folders at once (a committed union grows without the folders it was made of); a run
    (n, W, seed) held by two inputs is one line naming runs, exit 2, nothing written."""
    from rfscore.analysis.networks import main as networks_main
    s0, s1 = _seed_part(paper_run, tmp_path / "s0", 0), _seed_part(paper_run, tmp_path / "s1", 1)
    assert networks_main([str(s0), str(s1), "--merge", str(tmp_path / "all.csv")]) == 0
    assert networks_main([str(s0), "--merge", str(tmp_path / "part.csv")]) == 0
    assert networks_main([str(tmp_path / "part.csv"), str(s1), "--merge", str(tmp_path / "grown.csv")]) == 0
    assert (tmp_path / "grown.csv").read_text() == (tmp_path / "all.csv").read_text()
    a, b = (json.loads((tmp_path / f).read_text()) for f in ("all.json", "grown.json"))
    for key in ("readoffs", "readoff_table", "exponents", "protocol", "runs", "status"):
        assert a[key] == b[key], key
    assert b["runs"] == [str(s0), str(s1)] and b["parameters"]["seeds"] == [0, 1]
    capsys.readouterr()
    for runs in ([tmp_path / "all.csv", s1], [s0, s0]):
        assert networks_main([str(r) for r in runs] + ["--merge", str(tmp_path / "x.csv")]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "error: runs:" in err and "repeats the run" in err
        assert not (tmp_path / "x.csv").exists() and not (tmp_path / "x.json").exists()


@pytest.mark.slow  # longer than a few seconds on 2 cores: the full suite (CI) runs it
def test_merge_takes_folders_from_before_gmm_split_and_refuses_another_protocol(paper_run, tmp_path, capsys):
    """`python -m rfscore.analysis.networks --merge`: a folder whose sidecar predates --gmm-split (no key: the coin)
    merges with one that records 'random'; a 'balanced' folder or a missing one is one line naming runs, exit 2,
    nothing written."""
    from rfscore.analysis.networks import main as networks_main
    old, new = _seed_part(paper_run, tmp_path / "old", 0), _seed_part(paper_run, tmp_path / "new", 1)
    side = json.loads((old / "train_net.json").read_text())
    assert side["protocol"]["gmm_split"] == "random"
    del side["protocol"]["gmm_split"]
    (old / "train_net.json").write_text(json.dumps(side))
    assert networks_main([str(old), str(new), "--merge", str(tmp_path / "m.csv")]) == 0
    assert json.loads((tmp_path / "m.json").read_text())["protocol"]["gmm_split"] == "random"
    capsys.readouterr()
    side["protocol"]["gmm_split"] = "balanced"
    (old / "train_net.json").write_text(json.dumps(side))
    for runs in ([str(new), str(old)], [str(new), str(tmp_path / "absent")]):
        assert networks_main(runs + ["--merge", str(tmp_path / "x.csv")]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "error: runs:" in err and "Traceback" not in err
        assert not (tmp_path / "x.csv").exists() and not (tmp_path / "x.json").exists()


@pytest.mark.slow  # longer than a few seconds on 2 cores: the full suite (CI) runs it
def test_committed_paper_protocol_runs_draw_sm9_and_fig7(tmp_path):
    """`reproduce --paper --only sm9,fig7` from the committed runs (rfscore/figures/data): the exponent tables
    recomputed from the CSVs equal the ones committed in their sidecars, every τ_mem read-off of the paper-protocol
    runs is uncensored but four at W = 64 and f_mem ≥ 0.2 — n = 384, seed 2 (400 000 updates) and n = 512, every seed
    (600 000 updates) never reached it — which are flagged in the sidecar's status, its fit and the figure's manifest
    entry, and the figures are written."""
    from rfscore.analysis.networks import exponent_table, read_csv, run_readoffs
    data = ROOT / "rfscore" / "figures" / "data"
    for name in ("sm9_runs", "fig7_adam_runs"):
        side = json.loads((data / f"{name}.json").read_text())
        exps = exponent_table(run_readoffs(read_csv(data / f"{name}.csv"), throw=False), throw=False)
        for w in side["exponents"]:
            for thr in ("0.02", "0.05", "0.1", "0.2"):
                got, want = exps[w]["tau_mem"][thr], side["exponents"][w]["tau_mem"][thr]
                if "error" in want:  # no seed uncensored at every n: the fit is an error entry, flagged
                    assert got["error"] == want["error"] and "exponent" not in got, (name, w, thr)
                else:
                    assert got["exponent"] == pytest.approx(want["exponent"], rel=1e-9)
                censored = ([[512, 0, "right"], [512, 1, "right"], [384, 2, "right"], [512, 2, "right"]]
                            if (name, w, thr) == ("sm9_runs", "64", "0.2") else [])
                assert got["censored"] == want["censored"] == censored, (name, w, thr)
                if exps[w]["upper_n"] is not None:
                    got, want = exps[w]["tau_mem_upper"][thr], side["exponents"][w]["tau_mem_upper"][thr]
                    assert got["n"] == want["n"] and got.get("error") == want.get("error"), (name, w, thr)
                    if "error" not in want:
                        assert got["exponent"] == pytest.approx(want["exponent"], rel=1e-9), (name, w, thr)
        assert side["status"]["converged"] == (name != "sm9_runs")
    for n, seed in ((384, 2), (512, 0), (512, 1), (512, 2)):
        assert f"(width 64, n {n}, seed {seed}): tau_mem[0.2] right" in side_sm9_status(data)
    assert main(["reproduce", "--paper", "--only", "sm9,fig7", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "sm9_mixture.png").exists() and (tmp_path / "fig7_optimiser.png").exists()
    entry = json.loads((tmp_path / "manifest.json").read_text())["figures"]["sm9"]
    assert entry["status"]["message"] == side_sm9_status(data)
    # the updates actually run, per W and n, from the CSV (not the first merged folder's --steps)
    updates = entry["parameters"]["updates"]
    assert updates["64:12"] == 50000 and updates["64:512"] == 600000 and updates["128:512"] == 250000, updates
    assert "50000-600000 updates" in " ".join(entry["differences"]), entry["differences"]


def test_paper_width_memorises_linearly_over_the_upper_range_of_n():
    """Theory §7's claim at the paper's protocol and width (W = 128, the committed runs n = 12 … 512, 3 seeds): over
    the upper range of n (N12), n = 96 … 512, τ_mem ∝ n^β with a 95 % CI containing 1 at every f_mem threshold and
    every read-off there uncensored, while the fit over all n, n = 12 … 512, lies above 1 at f_mem ≥ 0.02 and 0.05
    (the offset of the linear law at small n); the onsets per training point τ_mem/n (f_mem ≥ 0.05, seed means)
    agree within a factor 1.15 over n = 96 … 512."""
    from rfscore.analysis.networks import exponent_table, geometric_mean, read_csv, run_readoffs
    data = ROOT / "rfscore" / "figures" / "data"
    reads = run_readoffs(read_csv(data / "sm9_runs.csv"), throw=False)
    tab = exponent_table(reads, throw=False)["128"]
    assert tab["upper_n"] == [96, 192, 256, 384, 512] and tab["seeds"] == [0, 1, 2]
    for thr in ("0.02", "0.05", "0.1", "0.2"):
        up = tab["tau_mem_upper"][thr]
        assert up["seeds_used"] == 3 and up["ci"][0] <= 1.0 <= up["ci"][1], (thr, up)
    for thr in ("0.02", "0.05"):
        assert tab["tau_mem"][thr]["ci"][0] > 1.0, (thr, tab["tau_mem"][thr])
    per_point = [geometric_mean([r["tau_mem"]["0.05"] for r in reads if r["width"] == 128 and r["n"] == n]) / n
                 for n in tab["upper_n"]]
    assert max(per_point) / min(per_point) < 1.15, per_point


def test_local_exponents_tend_to_one_at_the_paper_width_and_stay_above_at_width_64():
    """Theory §7, the local exponents of the committed runs: the slope of log τ_mem (seed means) between consecutive
    n. At the paper's width W = 128 it lies within [0.95, 1.1] at every step of n = 12 … 512 at f_mem ≥ 0.2, and at
    f_mem ≥ 0.05 it falls from above 1.2 (12 → 24) to at most 1.05 over the last two steps (256 → 384 → 512); at
    W = 64 it stays within [1.1, 1.25] at every step from n = 24 to 512 at f_mem ≥ 0.05."""
    from rfscore.analysis.networks import geometric_mean, read_csv, run_readoffs
    reads = run_readoffs(read_csv(ROOT / "rfscore" / "figures" / "data" / "sm9_runs.csv"), throw=False)

    def local(w, thr):
        ns = sorted({r["n"] for r in reads if r["width"] == w})
        m = [geometric_mean([r["tau_mem"][thr] for r in reads if r["width"] == w and r["n"] == n]) for n in ns]
        return ns, [math.log(m[i + 1] / m[i]) / math.log(ns[i + 1] / ns[i]) for i in range(len(ns) - 1)]

    ns, s128 = local(128, "0.2")
    assert ns == [12, 24, 48, 96, 192, 256, 384, 512] and all(0.95 <= x <= 1.1 for x in s128), s128
    _, s128 = local(128, "0.05")
    assert s128[0] > 1.2 and max(s128[-2:]) <= 1.05, s128
    ns, s64 = local(64, "0.05")
    assert ns == [12, 24, 48, 96, 192, 384, 512] and all(1.1 <= x <= 1.25 for x in s64[1:]), s64


def test_width_exponent_grows_with_n_and_stays_below_one_up_to_n_512():
    """Theory §7, the width exponent at each n (`width_fit.at_n`, (N13)) of the committed paper-protocol runs: at
    f_mem ≥ 0.05, γ of τ_mem ∝ W^−γ has a 95 % CI below 1 (the paper's 1/W excluded) at every n up to 512 where three
    or more widths were run, and exceeds its n = 12 and 24 values by at least 0.2 at n = 192; between W = 128 and
    256 alone (seed means) it rises at every step from n = 24 to 512, at f_mem ≥ 0.05, 0.1 and 0.2."""
    from rfscore.analysis.networks import geometric_mean, read_csv, run_readoffs, width_table
    reads = run_readoffs(read_csv(ROOT / "rfscore" / "figures" / "data" / "sm9_runs.csv"), throw=False)
    at = width_table(reads, throw=False)["at_n"]
    for n in ("12", "24", "48", "96", "192", "512"):
        fit = at[n]["tau_mem"]["0.05"]
        assert len(at[n]["widths"]) >= 3 and fit["seeds_used"] == 3 and fit["gamma_ci"][1] < 1.0, (n, fit)
    g = {n: at[n]["tau_mem"]["0.05"]["gamma"] for n in at}
    assert g["192"] > max(g["12"], g["24"]) + 0.2, g
    for thr in ("0.05", "0.1", "0.2"):
        def gamma(n):
            m = [geometric_mean([r["tau_mem"][thr] for r in reads if r["width"] == w and r["n"] == n]) for w in (128, 256)]
            return math.log(m[0] / m[1]) / math.log(2)
        steps = [gamma(n) for n in (24, 48, 96, 192, 512)]
        assert all(b > a for a, b in zip(steps, steps[1:])), (thr, steps)


def test_constant_costs_per_training_point_level_the_width_exponent_off_below_one():
    """Theory §7, why γ(128 → 256) levels off: from the committed paper-protocol runs (τ_mem at f_mem ≥ 0.05, seed
    means), W = 256 adds the same number of updates per added training point at every step from n = 24 to 512
    (within a factor 1.1) and τ_mem/n agrees within 4 % at n = 192 and 512; the ratio of W = 128's to W = 256's
    cost per added point from n = 192 to 512 gives log₂ in [0.5, 0.65], and γ(128 → 256) measured at n = 512
    lies within 0.05 of it — both far below the paper's 1."""
    from rfscore.analysis.networks import read_csv, run_readoffs
    reads = run_readoffs(read_csv(ROOT / "rfscore" / "figures" / "data" / "sm9_runs.csv"), throw=False)

    def mean(w, n):
        v = [r["tau_mem"]["0.05"] for r in reads if r["width"] == w and r["n"] == n]
        assert len(v) == 3 and all(math.isfinite(x) for x in v), (w, n)
        return float(np.mean(v))

    ns = (24, 48, 96, 192, 512)
    cost = [(mean(256, b) - mean(256, a)) / (b - a) for a, b in zip(ns, ns[1:])]
    assert max(cost) / min(cost) < 1.1, cost
    assert abs(mean(256, 512) / 512 / (mean(256, 192) / 192) - 1) < 0.04
    ratio = ((mean(128, 512) - mean(128, 192)) / 320) / ((mean(256, 512) - mean(256, 192)) / 320)
    level = math.log2(ratio)
    assert 0.5 <= level <= 0.65, level
    assert abs(math.log2(mean(128, 512) / mean(256, 512)) - level) < 0.05


def test_f_mem_at_equal_updates_per_point_interpolates_in_log_step():
    """`f_mem_at_per_point` on a hand-made table: at per_point·n between two checkpoints, the value a straight line
    in log step gives (computed here by hand), the Wilson bounds alike; at a checkpoint, its values; a run that
    stopped short of the step is absent; per_point <= 0 is an InputError."""
    from rfscore.analysis.networks import f_mem_at_per_point
    from rfscore.core.errors import InputError
    rows = [(64, 10, 0, 100, 0.0, 0.0, 0.01), (64, 10, 0, 1000, 0.3, 0.25, 0.35), (64, 10, 0, 10000, 0.9, 0.85, 0.95),
            (64, 20, 0, 100, 0.0, 0.0, 0.01), (64, 20, 0, 4000, 0.2, 0.15, 0.25),
            (128, 10, 0, 100, 0.5, 0.4, 0.6), (128, 10, 0, 1000, 0.7, 0.6, 0.8)]
    table = {k: np.array([r[i] for r in rows], dtype=float)
             for i, k in enumerate(("width", "n", "seed", "step", "f_mem", "f_mem_lo", "f_mem_hi"))}
    got = f_mem_at_per_point(table, 250.0, width=64)  # n = 10: step 2500, between the checkpoints 1000 and 10000
    w = math.log10(2.5)  # log10(2500/1000) / log10(10000/1000)
    assert got[10][0] == pytest.approx((0.3 + w * 0.6, 0.25 + w * 0.6, 0.35 + w * 0.6), abs=1e-12)
    assert 20 not in got  # n = 20 would need step 5000; its run stopped at 4000
    assert f_mem_at_per_point(table, 200.0, width=64)[20][0] == pytest.approx((0.2, 0.15, 0.25), abs=1e-12)
    assert f_mem_at_per_point(table, 100.0, width=64)[10][0] == pytest.approx((0.3, 0.25, 0.35))
    assert f_mem_at_per_point(table, 4.0, width=64) == {}  # before every first checkpoint
    assert list(f_mem_at_per_point(table, 50.0, width=128)) == [10]
    with pytest.raises(InputError):
        f_mem_at_per_point(table, 0.0, width=64)


def test_at_width_64_copying_slows_with_n_at_equal_updates_per_point():
    """Theory §7's observation at the paper's protocol (committed runs, 3 seeds): at 700 updates per training point,
    where every n ≥ 96 of both widths was run, f_mem at W = 64 falls with n for every seed — n = 96, 192, 384, 512,
    each Wilson interval (N12) below the previous n's — by a factor below 0.75 per step in n from 192 on, while at
    the paper's width W = 128 it stays within 15 % from n = 192 to 384 (τ_mem ∝ n puts the curves level there)."""
    from rfscore.analysis.networks import f_mem_at_per_point, read_csv
    table = read_csv(ROOT / "rfscore" / "figures" / "data" / "sm9_runs.csv")
    w64 = f_mem_at_per_point(table, 700.0, width=64)
    for small, big in ((96, 192), (192, 384), (384, 512)):
        for seed in (0, 1, 2):
            (f0, lo0, _), (f1, _, hi1) = w64[small][seed], w64[big][seed]
            assert hi1 < lo0, (small, big, seed, w64[small][seed], w64[big][seed])
            if small >= 192:
                assert f1 / f0 < 0.75, (small, big, seed, f0, f1)
    w128 = f_mem_at_per_point(table, 700.0, width=128)
    for seed in (0, 1, 2):
        assert w128[384][seed][0] / w128[192][seed][0] > 0.85, (seed, w128[192][seed], w128[384][seed])


def test_the_fall_of_copying_with_n_sets_in_later_the_wider_the_network():
    """Theory §7 (`sm9` panel h): f_mem at 700 updates per training point, seed means of the committed runs, falls
    with n from n = 12 on at W = 32 (n = 48 below half of n = 12), stays within 15 % of its maximum up to n = 48 at
    W = 64 and up to n = 192 at W = 128 before falling (W = 64: n = 384 below half of n = 96), and at W = 256 rises
    up to n = 48 and does not fall up to n = 192 (every seed ≥ 0.85 at n = 96 and 192)."""
    from rfscore.analysis.networks import f_mem_at_per_point, read_csv
    table = read_csv(ROOT / "rfscore" / "figures" / "data" / "sm9_runs.csv")

    def level(w):
        got = f_mem_at_per_point(table, 700.0, width=w)
        return {n: float(np.mean([v[0] for v in got[n].values()])) for n in got}

    w32, w64, w128, w256 = level(32), level(64), level(128), level(256)
    assert w32[48] < 0.5 * w32[12] and w32[24] < w32[12], w32
    assert min(w64[n] for n in (12, 24, 48)) > 0.85 * max(w64.values()) and w64[384] < 0.5 * w64[96], w64
    assert min(w128[n] for n in (24, 48, 96, 192)) > 0.85 * max(w128.values()) and w128[384] < w128[192], w128
    assert w256[12] < w256[24] < w256[48] < min(w256[96], w256[192]), w256
    at256 = f_mem_at_per_point(table, 700.0, width=256)
    assert all(v[0] >= 0.85 for n in (96, 192) for v in at256[n].values()), at256


def test_at_width_64_small_n_copies_almost_fully_given_ten_times_the_updates():
    """Theory §7 (committed `w64_long_runs`: W = 64, n = 48 and 96 run to 500 000 and 1 000 000 updates, 3 seeds):
    the late copying fraction is not capped well below 1 at these n — f_mem at the last update ≥ 0.93 for every
    seed, ≥ 0.96 at n = 48 — while at 2000 updates per training point n = 96 still lags n = 48 for every seed, and
    by 10 000 updates per point the two lie within 0.05 of each other (seed means)."""
    from rfscore.analysis.networks import f_mem_at_per_point, read_csv
    data = ROOT / "rfscore" / "figures" / "data"
    table = read_csv(data / "w64_long_runs.csv")
    side = json.loads((data / "w64_long_runs.json").read_text())
    last = {k: r["f_mem_last"] for k, r in side["readoffs"].items()}
    assert sorted(last) == [f"n{n}_w64_s{s}" for n in (48, 96) for s in (0, 1, 2)], sorted(last)
    assert min(last.values()) >= 0.93 and min(last[f"n48_w64_s{s}"] for s in (0, 1, 2)) >= 0.96, last
    early = f_mem_at_per_point(table, 2000.0, width=64)
    assert all(early[96][s][0] < early[48][s][0] for s in (0, 1, 2)), early
    late = f_mem_at_per_point(table, 10000.0, width=64)
    gap = np.mean([late[48][s][0] for s in (0, 1, 2)]) - np.mean([late[96][s][0] for s in (0, 1, 2)])
    assert abs(gap) < 0.05, late


def side_sm9_status(data) -> str:
    return json.loads((data / "sm9_runs.json").read_text())["status"]["message"]


@pytest.mark.slow  # longer than a few seconds on 2 cores: the full suite (CI) runs it
def test_diverged_training_names_lr_with_either_sampler(tmp_path, capsys):
    """Non-finite samples of a trained network come from a diverged training run: the message names --lr, not
    the sampler's step option, for the grid sampler and for the Euler-Maruyama sampler (N9) of --protocol paper."""
    from rfscore.cli import main

    base = ["train-net", "--n", "4", "--steps", "200", "--samples", "50", "--checkpoints", "1", "--times", "2",
            "--no-progress", "--optimizer", "sgd", "--lr", "10"]
    for i, extra in enumerate((["--width", "4"], ["--protocol", "paper", "--width", "8", "--sampler-steps", "20"])):
        capsys.readouterr()
        assert main([*base, *extra, "--out", str(tmp_path / f"r{i}")]) == 1
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "use a smaller --lr" in err and "sampler-steps" not in err, err


def test_upper_range_fit_of_a_linear_law_with_an_offset():
    """(N12) the upper range of n: on synthetic curves with τ_mem = c_s (n − 10) exactly (linear in n, an offset),
    the power fit over n = 12 … 384 is super-linear, as n/(n − 10) says, while the fit over the upper range
    (n = 96, 192, 384: down a factor 4 from the largest) is the per-seed least-squares slope of log(n − 10) on
    log n over those n, computed here independently; a range of n too short or too small has no upper fit."""
    from rfscore.analysis.networks import exponent_table, run_readoffs, upper_range
    assert upper_range([12, 24, 48, 96, 192, 384]) == [96, 192, 384]
    assert upper_range([12, 24, 48, 96, 192, 256, 384, 512]) == [96, 192, 256, 384, 512]
    assert upper_range([12, 24, 48]) == [12, 24, 48] and upper_range([24, 48]) is None
    assert upper_range([12, 24, 36]) is None and upper_range([8, 16, 32, 64]) == [16, 32, 64]
    assert upper_range([8, 16, 32, 64], least=4) is None  # the range stops at the first n a factor 4 down
    ns = (12, 24, 48, 96, 192, 384)
    cells = [(64, s, n, c * (n - 10)) for s, c in enumerate((1.0, 1.15, 0.9)) for n in ns]
    reads = run_readoffs(_synthetic_curves(cells, tau=np.geomspace(0.1, 1e4, 1200)))
    tab = exponent_table(reads, d=8)["64"]
    assert tab["upper_n"] == [96, 192, 384]
    x = np.log([96, 192, 384])
    want_upper = np.polyfit(x, np.log(np.array([96, 192, 384]) - 10.0), 1)[0]  # 1.063, the same for every seed
    want_full = np.polyfit(np.log(ns), np.log(np.array(ns) - 10.0), 1)[0]     # 1.36
    for thr in ("0.02", "0.05", "0.1", "0.2"):
        up, full = tab["tau_mem_upper"][thr], tab["tau_mem"][thr]
        assert up["n"] == [96, 192, 384] and up["seeds_used"] == 3
        # the log-interpolated read-off on a grid of ratio 1.0077 moves each slope by < 0.005
        assert up["exponent"] == pytest.approx(want_upper, abs=0.005), (thr, up)
        assert full["exponent"] == pytest.approx(want_full, abs=0.005), (thr, full)
    short = exponent_table(run_readoffs(_synthetic_curves([c for c in cells if c[2] in (96, 192)])), d=8)["64"]
    assert short["upper_n"] is None and short["tau_mem_upper"] == {}


def _synthetic_curves(cells, tau=np.geomspace(0.1, 1e4, 300)):
    """Run-table columns for f_mem(τ) = 1 - exp(-(τ/T)²) per cell (width, seed, n, T): the τ_mem read-off at
    threshold thr is T √(-log(1 - thr)) exactly (up to the log-interpolation between grid points)."""
    cols = {k: [] for k in ("width", "seed", "n", "tau", "step", "f_mem", "kl")}
    for w, s, n, T in cells:
        for k, v in (("width", w), ("seed", s), ("n", n)):
            cols[k] += [v] * tau.size
        cols["tau"] += list(tau)
        cols["step"] += list(tau)
        cols["f_mem"] += list(1 - np.exp(-((tau / T) ** 2)))
        cols["kl"] += list((np.log(tau) - np.log(5.0 * 64 / w)) ** 2 + 0.1)
    return {k: np.asarray(v, dtype=float) for k, v in cols.items()}


def test_width_table_recovers_tau_mem_n_over_w():
    """(N13) on synthetic curves with τ_mem = c_s n^1.0 W^-1 · q(thr) (seed factors c_s) and τ_gen ∝ 1/W: β = 1 and
    γ = 1 at every threshold within the fit's rounding, CIs containing them, τ_gen's γ = 1 and β = 0; a cell that
    never reaches a threshold is left out of its seed's fit and listed."""
    from rfscore.analysis.networks import run_readoffs, width_table
    cells = [(w, s, n, c * 40 * n / w) for s, c in enumerate((1.0, 1.2, 0.85)) for n in (12, 24, 48)
             for w in (32, 64, 128)]
    # an n run at one width only (here 10× off the law) stays out of the balanced fit and is listed
    tab = width_table(run_readoffs(_synthetic_curves(cells + [(64, s, 96, 400 * 96 / 64) for s in range(3)])))
    assert tab["n_not_at_every_width"] == [96]
    for thr in ("0.02", "0.05", "0.1", "0.2"):
        fit = tab["tau_mem"][thr]
        assert fit["beta"] == pytest.approx(1.0, abs=0.01) and fit["gamma"] == pytest.approx(1.0, abs=0.01), fit
        assert fit["beta_ci"][0] - 0.01 <= 1.0 <= fit["beta_ci"][1] + 0.01 and fit["seeds_used"] == 3
        assert fit["censored"] == []
    assert tab["tau_gen"]["gamma"] == pytest.approx(1.0, abs=0.03) and abs(tab["tau_gen"]["beta"]) < 0.03
    # the width exponent at each n alone: every n run at two or more widths (96 was run at one), γ = 1 at each
    assert sorted(tab["at_n"], key=int) == ["12", "24", "48"] and tab["at_n"]["48"]["widths"] == [32, 64, 128]
    for n, entry in tab["at_n"].items():
        for thr, fit in entry["tau_mem"].items():
            assert fit["gamma"] == pytest.approx(1.0, abs=0.01) and fit["seeds_used"] == 3, (n, thr, fit)
            assert fit["gamma_ci"][0] - 0.01 <= 1.0 <= fit["gamma_ci"][1] + 0.01 and fit["censored"] == []
            assert fit["per_seed_gamma"] == pytest.approx([1.0] * 3, abs=0.02)
    # a slower law, τ_mem ∝ n^1.5 W^-0.5, is told apart
    cells2 = [(w, s, n, c * n ** 1.5 / w ** 0.5) for s, c in enumerate((1.0, 1.2, 0.85)) for n in (12, 24, 48)
              for w in (32, 64, 128)]
    tab2 = width_table(run_readoffs(_synthetic_curves(cells2), throw=False), throw=False)
    fit2 = tab2["tau_mem"]["0.1"]
    assert fit2["beta"] == pytest.approx(1.5, abs=0.01) and fit2["gamma"] == pytest.approx(0.5, abs=0.01)
    assert [tab2["at_n"][n]["tau_mem"]["0.1"]["gamma"] for n in ("12", "24", "48")] == pytest.approx([0.5] * 3, abs=0.01)
    # a width exponent that grows with n (γ = log2(n/6) / 3 here: 1/3, 2/3, 1 at n = 12, 24, 48) is read at each n,
    # where the balanced fit gives one γ for all
    cells4 = [(w, s, n, c * 40 * n * w ** -(math.log2(n / 6) / 3)) for s, c in enumerate((1.0, 1.2, 0.85))
              for n in (12, 24, 48) for w in (32, 64, 128)]
    tab4 = width_table(run_readoffs(_synthetic_curves(cells4), throw=False), throw=False)
    assert [tab4["at_n"][n]["tau_mem"]["0.05"]["gamma"] for n in ("12", "24", "48")] == pytest.approx(
        [1 / 3, 2 / 3, 1.0], abs=0.01)
    # censor one cell at 0.2: its seed fits the rest, the cell is listed; at n = 48 alone that seed is dropped
    cols = _synthetic_curves(cells)
    cut = (cols["n"] == 48) & (cols["seed"] == 1) & (cols["width"] == 32) & (cols["f_mem"] > 0.15)
    tab3 = width_table(run_readoffs({k: v[~cut] for k, v in cols.items()}, throw=False), throw=False)
    fit3 = tab3["tau_mem"]["0.2"]
    assert fit3["censored"] == [[48, 32, 1]] and fit3["seeds_used"] == 3
    assert fit3["beta"] == pytest.approx(1.0, abs=0.01)
    at48 = tab3["at_n"]["48"]["tau_mem"]["0.2"]
    assert at48["censored"] == [[32, 1, "right"]] and at48["seeds_used"] == 2 and at48["dropped_seeds"] == 1
    assert at48["gamma"] == pytest.approx(1.0, abs=0.01) and tab3["at_n"]["24"]["tau_mem"]["0.2"]["seeds_used"] == 3
    assert not tab3.converged and any("width exponent at n = 48, tau_mem[0.2]" in f and "(width 32, seed 1, right)"
                                      in f for f in tab3.failures), tab3.failures


def test_control_table_batch_sweep_exponents(tmp_path):
    """(N14) on synthetic runs written as train-net folders: SGD with τ_mem independent of B and ∝ n, Adam with
    τ_mem ∝ n B^-½: the batch-sweep exponent ζ is 0 (SGD) and -½ (Adam) and the exponent in n is 1 for every
    protocol, read off in updates (the step column) whatever the lr."""
    from rfscore.analysis.networks import control_readoffs, control_runs, control_table, merge_controls, read_csv
    from rfscore.runtime.io import write_result
    folders = []
    for opt, lr in (("sgd", 6e-3), ("adam", 6e-4)):
        for batch in ("full", 6, 12):
            cells = []
            for s, c in enumerate((1.0, 1.1, 0.9)):
                for n in ((12, 24, 48) if batch in ("full", 6) else (48,)):
                    b = n if batch == "full" else batch
                    cells.append((64, s, n, c * 50 * n * (b ** -0.5 if opt == "adam" else 1.0)))
            cols = _synthetic_curves(cells, tau=np.unique(np.round(np.geomspace(1, 1e6, 400))))  # integer steps
            cols["tau"] = cols["step"] * lr
            cols["optimizer"] = np.array([opt] * len(cols["n"]), dtype=object)
            cols["batch"] = np.where(batch == "full", cols["n"], batch if batch != "full" else 0)
            folder = tmp_path / f"{opt}_{batch}"
            folder.mkdir()
            cols = {k: v.astype(np.int64) if k in ("n", "seed", "width", "batch") else v for k, v in cols.items()}
            write_result(folder / "train_net.csv", cols, {"lr": lr}, undefined=("kl",),
                         protocol={"optimizer": opt, "batch": batch})
            folders.append(folder)
    # one thing changed besides optimiser and batch (the time law): its own label, kept out of the sweep, which a
    # τ_mem 10× longer at n = 48 would otherwise move
    cols = _synthetic_curves([(64, s, n, 500.0 * n) for s in range(3) for n in (12, 24, 48)],
                             tau=np.unique(np.round(np.geomspace(1, 1e6, 400))))
    cols.update(tau=cols["step"] * 6e-3, optimizer=np.array(["sgd"] * len(cols["n"]), dtype=object), batch=cols["n"])
    (tmp_path / "sgd_loguniform").mkdir()
    write_result(tmp_path / "sgd_loguniform" / "train_net.csv",
                 {k: v.astype(np.int64) if k in ("n", "seed", "width", "batch") else v for k, v in cols.items()},
                 {"lr": 6e-3}, undefined=("kl",), protocol={"optimizer": "sgd", "batch": "full",
                                                             "time_sampling": "loguniform"})
    folders.append(tmp_path / "sgd_loguniform")
    tab = control_table(control_readoffs(control_runs(folders), throw=False), sweep_n=48, throw=False)
    assert "sgd lr 0.006, B = n, t log-uniform" in tab["exponents_in_n"]
    # the labels run at n = 48 only are batch-sweep points: not fitted in n, and not a failure
    assert tab["exponents_in_n"]["sgd lr 0.006, B = 12"]["0.05"] == {"not_fitted": "one n only (a batch-sweep point)"}
    assert tab.converged, tab.message
    for opt, zeta in (("sgd", 0.0), ("adam", -0.5)):
        sweep = tab["batch_sweep"][opt]
        assert sweep["batches"] == [6, 12, 48]
        for thr in ("0.05", "0.1"):
            assert sweep[thr]["exponent"] == pytest.approx(zeta, abs=0.01), (opt, sweep[thr])
    for label, e in tab["exponents_in_n"].items():
        if len(e["n"]) == 3:
            assert e["0.05"]["exponent"] == pytest.approx(1.0 if "B = n" not in label or "sgd" in label else 0.5,
                                                          abs=0.01), (label, e["0.05"])
    out = merge_controls(folders, tmp_path / "controls.csv", sweep_n=48, throw=False)
    side = json.loads((tmp_path / "controls.json").read_text())
    assert set(side["protocols"]) == {str(f) for f in folders} and out["batch_sweep"]["n"] == 48
    assert {r["optimizer"] for r in _rows(tmp_path / "controls.csv")} == {"sgd", "adam"}
    # the merged CSV read back gives the same table
    again = control_table(control_readoffs(read_csv(tmp_path / "controls.csv"), throw=False), sweep_n=48, throw=False)
    assert set(again["exponents_in_n"]) == set(out["exponents_in_n"])
    for opt in ("sgd", "adam"):
        for thr in ("0.05", "0.1"):
            assert again["batch_sweep"][opt][thr]["exponent"] == pytest.approx(out["batch_sweep"][opt][thr]["exponent"],
                                                                              abs=1e-6)


def test_loss_gap_onset_exponent():
    """(N15) the loss-level onset: on synthetic curves whose held-out/train loss ratio at t = 0.01 is 1 + (τ/T)²
    with T = c_s n^1.3, τ_gap at ratio g is T √(g − 1) and its exponent in n is 1.3 at every ratio; a curve whose
    ratio never reaches a level gives NaN there and its seed is dropped from that fit."""
    from rfscore.analysis.networks import GAP_RATIOS, exponent_table, run_readoffs
    cells = [(64, s, n, c * 3 * n ** 1.3) for s, c in enumerate((1.0, 1.15, 0.9)) for n in (12, 24, 48)]
    cols = _synthetic_curves(cells, tau=np.geomspace(1, 1e5, 400))
    T = np.repeat([c[3] for c in cells], 400)
    cols["train_loss"] = np.full(T.size, 0.5)
    cols["test_loss"] = 0.5 * (1 + (cols["tau"] / T) ** 2)
    reads = run_readoffs(cols, throw=False)  # τ_gap never reached at some ratio: flagged
    r0 = next(r for r in reads if r["seed"] == 0 and r["n"] == 24)
    for g in GAP_RATIOS:
        assert r0["tau_gap"][str(g)] == pytest.approx(3 * 24 ** 1.3 * math.sqrt(g - 1), rel=0.01)
    tab = exponent_table(reads, throw=False)["64"]["tau_gap"]
    for g in GAP_RATIOS:
        assert tab[str(g)]["exponent"] == pytest.approx(1.3, abs=0.01) and tab[str(g)]["seeds_used"] == 3
    # seed 1 at n = 48 never opens a gap of 2 within the run: NaN there, that seed left out of the ratio-2 fit
    m = (cols["seed"] == 1) & (cols["n"] == 48)
    cols["test_loss"][m] = 0.5 * 1.9
    tab = exponent_table(run_readoffs(cols, throw=False), throw=False)["64"]["tau_gap"]
    assert tab["2.0"]["seeds_used"] == 2 and tab["2.0"]["dropped_seeds"] == 1


def test_geometric_mean_of_the_seeds_leaves_out_censored_readoffs():
    """The seed average the network figures draw (`analysis.networks.geometric_mean`): exp(mean log) over the
    finite read-offs; NaN and ∞ (censored) are left out, none finite gives NaN."""
    import math
    from rfscore.analysis.networks import geometric_mean
    assert geometric_mean([1.0, 4.0, math.nan, math.inf]) == pytest.approx(2.0, rel=1e-15)
    assert geometric_mean([8.0]) == pytest.approx(8.0, rel=1e-15)
    assert math.isnan(geometric_mean([math.nan, math.inf])) and math.isnan(geometric_mean([]))


def test_readoffs_of_a_run_without_kl():
    """Real data has no KL (N6): the in-memory run table holds None there (the CSV NaN); both read off τ_mem and
    leave τ_gen NaN, flagged 'no KL', instead of failing."""
    from rfscore.analysis.networks import run_readoffs
    cols = _synthetic_curves([(128, 0, 12, 50.0)])
    for kl in (np.array([None] * len(cols["n"]), dtype=object), np.full(len(cols["n"]), np.nan)):
        r = run_readoffs(dict(cols, kl=kl))[0]
        assert math.isnan(r["tau_gen"]) and r["tau_gen_censored"] == "no KL" and math.isfinite(r["tau_mem"]["0.1"])


def test_a_folder_from_before_gmm_split_resumes_as_the_coin_split(tmp_path):
    """A sidecar protocol without 'gmm_split' (written before the option) is the coin split: the same protocol
    with gmm_split 'random' resumes it, 'balanced' is refused naming --out."""
    from rfscore.cli.train_net import PROTOCOLS, _check_resume
    proto = {**{k: v for k, v in PROTOCOLS["paper"].items() if k != "width"}, "data": "gmm"}
    old = {k: v for k, v in proto.items() if k != "gmm_split"}
    (tmp_path / "train_net.json").write_text(json.dumps({"protocol": old}))
    _check_resume(tmp_path, proto, {})
    with pytest.raises(InputError, match="gmm_split"):
        _check_resume(tmp_path, {**proto, "gmm_split": "balanced"}, {})
