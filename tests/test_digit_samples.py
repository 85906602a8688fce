"""Generated 8×8 digits (rfscore/generative/real_samples.py, drawn by rfscore/figures/digit_samples.py,
theory/generation.md §8) at an early, a middle and the last τ beside their nearest training image, at the
figure's default sizes."""
import math

import numpy as np
import pytest

pytest.importorskip("sklearn")

from rfscore.figures import FIGURES  # noqa: E402
from rfscore.figures import digit_samples  # noqa: E402
from rfscore.generative.real_samples import digit_samples as compute_samples, sample_table, to_pixels  # noqa: E402


def _compute(quick: bool):
    pr = digit_samples.parameters(quick=quick)
    return compute_samples(**{k: pr[k] for k in ("psi_p", "psi_n", "tau", "times", "t_min", "t_max", "samples",
                                                      "seed", "max_order", "mehler_tol")})


@pytest.fixture(scope="module")
def res():
    return _compute(quick=False)


@pytest.fixture(scope="module")
def res_quick():
    """The figure's quick sizes: pixels, table and plot do not depend on them (the everyday tier)."""
    return _compute(quick=True)


@pytest.mark.slow
def test_early_samples_are_new_and_late_small_n_samples_copy(res):
    # Measured at these sizes (d = 61, p = 366, K = 8, 400 samples), seeds 0 / 1: f_mem at τ = 1e2 is 0 / 0 for
    # n = 6 and 61; at τ = ∞ it is 0.385 / 0.38 for n = 6 and 0 / 0 for n = 61. The copies are tight (lower
    # quartile of the ratio 0.14 / 0.11) but at most ~40 % of the samples are copies: the others sit at ratio ≈ 0.6-0.9
    # (blends). Thresholds: the Wilson half-width at 400 samples is ≤ 0.05.
    small, large = res["runs"]
    assert (small["n"], large["n"]) == (6, 61) and list(res["tau"]) == [1e2, 1e4, math.inf]
    for r in (small, large):
        assert r["f_mem"][0] <= 0.02 and np.mean(r["ratio"][0] > 1 / 3) >= 0.95  # early τ: not copies
    assert small["f_mem"][2] >= 0.25 and np.quantile(small["ratio"][2], 0.25) < 1 / 3  # late τ, small n: copies
    assert np.all(np.diff(small["f_mem"]) > 0)
    assert large["f_mem"][2] <= 0.03  # more data: no copies even at τ = ∞
    assert small["converged"] and large["converged"]


def test_pixels_plot_and_table(res_quick, tmp_path):
    res = res_quick
    ds = res["dataset"]
    px = to_pixels(ds.train[:5], ds)  # the inverse of (R3): integer grey levels 0..16 again
    assert px.shape == (5, 8, 8) and np.allclose(px, np.round(px), atol=1e-9) and px.min() >= 0 and px.max() <= 16
    assert np.all(px.reshape(5, -1)[:, [0, 32, 39]] == 0)
    tab = sample_table(res)
    assert tab["f_mem"].shape == (6,) and np.all(tab["ratio_q25"] <= tab["ratio_median"])
    out = digit_samples.plot(res, tmp_path / "d.png")
    assert (tmp_path / "d.png").stat().st_size > 10_000 and out.endswith("d.png")
    assert "digit_samples" in FIGURES
