"""The README's Python API block (between the ```python fences under "## Python API") runs as written."""
import re
import time
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parents[1] / "README.md"


def api_block() -> str:
    text = README.read_text()
    section = text.split("\n## Python API\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1, "expected one python block under '## Python API'"
    return blocks[0]


def test_readme_api_block_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # anything the block might write stays out of the repository
    ns = {"__name__": "readme_api"}
    t0 = time.perf_counter()
    exec(compile(api_block(), str(README) + ":Python API", "exec"), ns)
    elapsed = time.perf_counter() - t0
    # what the block's comments promise, checked on the objects it made
    assert ns["rho"].converged.all() and np.all(np.isfinite(ns["rho"].density))
    kt, p = ns["kt"], ns["W"].shape[0]
    # converged: the bound (K3) met tol, or the basis is complete (M = p), where the bound may stay
    # pessimistic (its λ_min lower bound) while the comparison below is exact up to rounding
    assert kt.converged and (kt.residual <= kt.tol or kt.krylov_dim == p)
    # the Krylov path and the full eigendecomposition agree on the same exact model
    from rfscore.finite.eigensystem import eigensystem
    ref = ns["trajectory"](eigensystem(ns["m"], ns["X"].shape[0]), np.logspace(0, 7, 400))
    np.testing.assert_allclose(ns["kt"].test_loss, ref.test_loss, rtol=1e-7, atol=1e-8)
    assert ns["tr"].tau.shape == (400,) and np.all(np.isfinite(ns["tr"].test_loss))
    f_mem = ns["gen"].table["f_mem"]
    assert f_mem.size == 2 * 3 and np.all((0 <= f_mem) & (f_mem <= 1))
    assert elapsed < 120, f"the README API block took {elapsed:.0f} s; keep it under a minute"
    # float64 results although the block never enables x64 (import rfscore leaves the flag alone)
    import jax
    assert not jax.config.jax_enable_x64
    for arr in (ns["rho"].density, ns["tr"].test_loss, ns["kt"].test_loss, ns["curve"].test_loss, ns["W"], f_mem):
        assert np.asarray(arr).dtype == np.float64 and not isinstance(arr, jax.Array)
    assert not list(tmp_path.iterdir())
