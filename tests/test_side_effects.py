"""The library leaves the caller's process alone: plotting changes neither the matplotlib backend
nor rcParams (rfscore/figures/style.py), and library functions print no progress bar unless asked."""
import ast
import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from rfscore.runtime.sweep import SweepRunner
from rfscore.finite.simulation import SimulationOptions

ROOT = Path(__file__).resolve().parents[1]

# Every public plot function, called on small real results (or a stand-in where the result is
# expensive), in a fresh interpreter whose backend is "svg": had anything forced Agg, changed an
# rcParam or registered a pyplot figure, the snapshot taken before `import rfscore` would differ.
_SCRIPT = r"""
import json, sys
import matplotlib
BACKEND = sys.argv[1]
if BACKEND != "auto":
    matplotlib.use(BACKEND)
raw = lambda: dict.__getitem__(matplotlib.rcParams, "backend")
before_backend = raw()
# dict.items: RcParams.items() would resolve an undecided backend (importing pyplot) by itself
snapshot = lambda: {k: repr(v) for k, v in dict.items(matplotlib.rcParams) if k != "backend"}
before = snapshot()
out = sys.argv[2]

import math
from types import SimpleNamespace
import numpy as np
import jax
import rfscore
from rfscore.finite.model_dispatch import sample_eigensystem
from rfscore.finite.dynamics import trajectory
from rfscore.limit.spectrum import solve_spectrum
from rfscore.analysis.phase import PhaseDiagram
from rfscore.figures import plots, phase, generation, timescales, digits, digit_samples, fig4
from rfscore.figures.style import save

tau = np.logspace(-1, 5, 40)
es = sample_eigensystem(jax.random.PRNGKey(0), d=4, psi_p=4, psi_n=2, t=0.1)
tr = trajectory(es, tau)
params = dict(model="gep", d=4, psi_p=4.0, psi_n=2.0, t=0.1, data="digits", n=8, p=16)
spec = solve_spectrum(np.linspace(0.05, 3.0, 12), psi_p=4, psi_n=2, t=0.1)
fit = SimpleNamespace(exponent=1.0, ci=(0.9, 1.1))
pn = np.array([1.0, 2.0, 1.0, 2.0]); pp = np.array([2.0, 2.0, 4.0, 4.0])
rng = np.random.default_rng(0)
pd = PhaseDiagram(psi_n=np.repeat(pn, 2), psi_p=np.repeat(pp, 2), tau=np.tile([1e2, math.inf], 4),
                  train_loss=rng.uniform(0.5, 1, 8), test_loss=rng.uniform(1, 2, 8), gen_loss=rng.uniform(0.1, 20, 8),
                  regime=np.array(["memorization", "dynamical_regularization", "architectural_regularization",
                                   "memorization"] * 2), delta_t=0.1, gap_threshold=10.0)
asym = SimpleNamespace(tau=tau, excess=tr.excess, score_error=tr.score_error, tau_gen=10.0, tau_mem=1e3,
                       parameters=params)
gtab = {k: np.tile(rng.uniform(0.1, 1, 3), 2) for k in ("f_mem", "f_mem_lo", "f_mem_hi", "frechet", "frechet_floor")}
gtab.update(tau=np.tile([1e1, 1e3, math.inf], 2), psi_n=np.repeat([2.0, 4.0], 3))
gen = SimpleNamespace(table=gtab, psi_n_run=[2.0, 4.0], parameters=dict(d=4, p=16, mem_threshold=0.1),
                      fits={"tau_mem_samples": {"exponent": 1.0, "ci": [0.8, 1.2]}})
ttab = {"psi_n": np.array([1.0, 2.0]), "psi_p": np.array([4.0, 4.0]), "t": np.array([0.1, 0.1]),
        "tau_mem": np.array([10.0, 20.0]), "tau_gen": np.array([1.0, 1.1]), "tau_early_stop": np.array([2.0, 3.0]),
        "n_peaks": np.array([2, 1])}
scan = SimpleNamespace(table=ttab, fits={"tau_mem": fit})
dtab = {"psi_n": np.array([1.0, 2.0])}
dtab.update({k + s: np.array([5.0, 9.0]) for k in ("tau_mem", "tau_gap", "tau_early_stop") for s in ("", "_gauss")})
dtab.update({"n_peaks": np.array([2, 1]), "n_peaks_gauss": np.array([2, 2])})
dig = dict(curves=[(4, tr, tr), (8, tr, tr)], d=4, p=16, delta_t=0.1, table=dtab, fits={"tau_mem": fit})
dsn = SimpleNamespace(d_raw=64, columns=tuple(k for k in range(64) if k not in (0, 32, 39)), scale=4.0,
                      mean=np.full(61, 5.0), d=61)
drun = dict(n=6, samples=rng.standard_normal((2, 5, 61)), X=rng.standard_normal((6, 61)),
            nearest=np.zeros((2, 5), dtype=int), ratio=rng.uniform(0, 1, (2, 5)), f_mem=np.array([0.0, 0.4]))
dsamp = dict(runs=[drun], tau=np.array([1e2, math.inf]), dataset=dsn, d=61, p=366)

lcols = {"psi_p": [2.0, 4.0, 2.0, 4.0], "psi_n": [2.0] * 4, "noise_samples": [4.0, 4.0, float("inf"), float("inf")],
         "ridge": [1e-3] * 4, "tau": [float("inf")] * 4, "test_loss": [1.2, 1.5, 1.1, 1.3],
         "test_loss_finite": [1.2, 1.5, 1.1, 1.3], "test_loss_finite_std": [0.1] * 4}

calls = {
    "plots.plot_density": lambda f: plots.plot_density(spec, f, eigenvalues=np.linspace(0.1, 2, 16), model="gep"),
    "plots.plot_losses": lambda f: plots.plot_losses(tr, params, f),
    "plots.plot_real_data_losses": lambda f: plots.plot_real_data_losses(tr, tr, params, f),
    "plots.plot_asymptotic": lambda f: plots.plot_asymptotic(asym, f),
    "phase.plot_phase": lambda f: phase.plot_phase(pd, f),
    "generation.plot_generation": lambda f: generation.plot_generation(gen, f),
    "timescales.plot_scaling": lambda f: timescales.plot_scaling(scan, f),
    "timescales.plot_collapse": lambda f: timescales.plot_collapse([(2.0, tr), (4.0, tr)], f),
    "digits.plot": lambda f: digits.plot(dig, f),
    "digit_samples.plot": lambda f: digit_samples.plot(dsamp, f),
    "plots.plot_learning_curve": lambda f: plots.plot_learning_curve(lcols, "psi_p", f, finite=True),
    "fig4.spectrum_figure": lambda f: save(fig4.spectrum_figure({"gep": np.linspace(0.05, 3.0, 40)},
                                                                (((0.05, 1.0), 8, True), ((1.0, 3.0), 8, False)),
                                                                [spec, spec], "spectrum"), f),
}
report = {}
import os
for name, call in calls.items():
    path = os.path.join(out, name + ".png")
    call(path)
    now = snapshot()
    changed = sorted(k for k in set(now) | set(before) if now.get(k) != before.get(k))
    report[name] = dict(png=open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n", changed=changed,
                        backend_same=raw() is before_backend or raw() == before_backend,
                        pyplot="matplotlib.pyplot" in sys.modules)
report["get_backend"] = matplotlib.get_backend() if BACKEND != "auto" else None
print(json.dumps(report))
"""

PLOT_FUNCTIONS = {"plots.plot_density", "plots.plot_losses", "plots.plot_real_data_losses", "plots.plot_asymptotic",
                  "phase.plot_phase", "generation.plot_generation", "timescales.plot_scaling",
                  "timescales.plot_collapse", "digits.plot", "digit_samples.plot", "plots.plot_learning_curve",
                  "fig4.spectrum_figure"}


def _public_plot_functions():
    """Names of the public functions of rfscore.figures.* that draw (call `figure`), other than `make`."""
    found = set()
    for path in (ROOT / "rfscore" / "figures").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_") and node.name != "make":
                if any(isinstance(n, ast.Call) and getattr(n.func, "id", None) == "figure" for n in ast.walk(node)):
                    found.add(f"{path.stem}.{node.name}")
    return found


def test_every_public_plot_function_is_checked():
    assert _public_plot_functions() == PLOT_FUNCTIONS


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["svg", "auto"])
def test_plotting_leaves_backend_and_rcparams(tmp_path, backend):
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    run = subprocess.run([sys.executable, "-c", _SCRIPT, backend, str(tmp_path)], capture_output=True, text=True,
                         env=env, cwd=tmp_path, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    if backend == "svg":
        assert report.pop("get_backend") == "svg"
    else:
        report.pop("get_backend")
    assert set(report) == PLOT_FUNCTIONS
    for name, r in report.items():
        assert r == dict(png=True, changed=[], backend_same=True, pyplot=False), name


def test_figure_modules_never_touch_global_state():
    """The figure makers (``make``, which plot inline) draw through style.figure under `styled`;
    no module selects a backend, updates rcParams or uses pyplot."""
    for path in (ROOT / "rfscore").rglob("*.py"):
        src = path.read_text()
        for bad in ("matplotlib.use(", "rcParams.update", "rcParams[", "import matplotlib.pyplot", "pyplot"):
            assert bad not in src or path.name == "style.py" and bad == "pyplot", (path, bad)
    import rfscore.figures.style as style
    for path in (ROOT / "rfscore" / "figures").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and any(
                    isinstance(n, ast.Call) and getattr(n.func, "id", None) == "figure" for n in ast.walk(node)):
                decorators = [getattr(d, "id", None) for d in node.decorator_list]
                assert "styled" in decorators, (path.name, node.name)
    assert inspect.isfunction(style.styled)


def test_style_applies_inside_only():
    import matplotlib

    from rfscore.figures.style import RC, figure, styled

    before = dict(matplotlib.rcParams)

    @styled
    def draw():
        fig, ax = figure(figsize=(2, 2))
        (line,) = ax.plot([0, 1], [0, 1])
        return fig, line, matplotlib.rcParams["font.size"]

    fig, line, size = draw()
    assert size == RC["font.size"] and line.get_linewidth() == RC["lines.linewidth"]
    assert not ax_spine_visible(fig.axes[0], "top")
    assert dict(matplotlib.rcParams) == before


def ax_spine_visible(ax, side):
    return ax.spines[side].get_visible()


def _double(x):
    return 2 * x


PROGRESS_DEFAULTS = ("rfscore.runtime.sweep:run_sweep", "rfscore.analysis.phase:phase_diagram",
                     "rfscore.analysis.timescales:timescale_scan", "rfscore.data.realdata:realdata_scan",
                     "rfscore.generative.generation:generation_experiment",
                     "rfscore.generative.score_model:fit_score_model", "rfscore.finite.simulation:simulate",
                     "rfscore.finite.krylov:krylov_trajectory")


@pytest.mark.parametrize("target", PROGRESS_DEFAULTS)
def test_library_progress_is_off_by_default(target):
    import importlib

    mod, name = target.split(":")
    assert inspect.signature(getattr(importlib.import_module(mod), name)).parameters["progress"].default is False


def test_library_sweep_prints_nothing(capsys, tmp_path):
    from rfscore.runtime.sweep import run_sweep

    pts = [dict(x=i) for i in range(3)]
    assert run_sweep(_double, pts, runner=SweepRunner(workers=1)) == [0, 2, 4]
    assert capsys.readouterr().err == ""
    assert run_sweep(_double, pts, runner=SweepRunner(workers=1, checkpoint=tmp_path / "c.jsonl"), progress=True) == [0, 2, 4]
    assert "3/3" in capsys.readouterr().err  # asked for: the bar is there


def test_library_simulation_prints_nothing(capfd):
    import jax

    from rfscore.finite.inputs import sample_inputs
    from rfscore.finite.simulation import simulate, training_problem

    W, X, ko = sample_inputs(jax.random.PRNGKey(0), d=4, psi_p=2, psi_n=2)
    prob = training_problem(W, X, t=0.1, model="gep", key=ko)
    simulate(prob, lr=0.1, steps=8, options=SimulationOptions(block=2))
    assert "gd p=" not in capfd.readouterr().err
    simulate(prob, lr=0.1, steps=8, options=SimulationOptions(block=2), progress=True)
    assert "gd p=8" in capfd.readouterr().err  # asked for: the bar is there
