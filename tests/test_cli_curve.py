"""`rfscore curve`: the CSV contract of the learning-curve command (theory/finite_noise_ridge.md)."""
import csv
import json
import math

import numpy as np
import pytest

from rfscore.cli import main
from rfscore.cli.curve import HEADER


@pytest.mark.slow  # longer than a few seconds on 2 cores: the full suite (CI) runs it
def test_curve_writes_the_contract_columns_and_finite_size(tmp_path):
    out = tmp_path / "lc.csv"
    rc = main(["curve", "--vary", "psi_p", "--values", "2,8", "--psi-n", "2", "--t", "0.1", "--noise-samples", "1,inf",
               "--ridge", "1e-3", "--tau", "1e3,inf", "--finite-d", "12", "--seeds", "3", "--out", str(out),
               "--plot", str(tmp_path / "lc.png")])
    assert rc == 0
    rows = list(csv.DictReader(open(out)))
    assert tuple(rows[0])[:len(HEADER)] == HEADER
    assert {"test_loss_finite", "test_loss_finite_std", "bias2_finite", "variance_finite", "d", "p", "n"} <= set(rows[0])
    assert len(rows) == 2 * 2 * 1 * 2
    side = json.loads((tmp_path / "lc.json").read_text())
    assert side["parameters"]["finite_d"] == 12 and "rfscore_version" in side
    for r in rows:
        m = float(r["noise_samples"])
        if math.isinf(m):  # m = ∞: the empirical test loss is the train loss, no noise variance
            assert float(r["test_loss_empirical"]) == float(r["train_loss"])
            assert float(r["variance"]) == 0.0
        elif math.isinf(float(r["tau"])):  # (F13) at τ = ∞, the finite size near it
            assert abs(float(r["test_loss_empirical"]) / float(r["test_loss_empirical_finite"]) - 1) < 0.2, r
        else:  # (F13) with (F15) along τ: near the finite size, between the train and the test loss
            emp = float(r["test_loss_empirical"])
            assert float(r["train_loss"]) <= emp <= float(r["test_loss"])
            assert abs(emp / float(r["test_loss_empirical_finite"]) - 1) < 0.2, r
            # finite size: floor + bias² + variance is the mean test loss of the noise resamplings
            assert float(r["variance_finite"]) >= 0
        # d = 12 against d → ∞: same order, within the seed spread plus an O(1/d) gap
        th, fin, sd = float(r["test_loss"]), float(r["test_loss_finite"]), float(r["test_loss_finite_std"])
        assert abs(th - fin) < 3 * sd + 0.25 * th, r
    assert (tmp_path / "lc.png").exists()


def test_curve_vary_psi_n(tmp_path):
    out = tmp_path / "lc.csv"
    assert main(["curve", "--vary", "psi_n", "--values", "1,4", "--psi-p", "8", "--t", "0.1", "--out", str(out)]) == 0
    rows = list(csv.DictReader(open(out)))
    assert [float(r["psi_n"]) for r in rows] == [1.0, 4.0] and all(r["psi_p"] == "8.0" for r in rows)
    # m = ∞, λ = 0, τ = ∞ is today's asymptotic value: more data, lower test loss here
    assert float(rows[1]["test_loss"]) < float(rows[0]["test_loss"])
    assert np.isfinite(float(rows[0]["bias2"]))
