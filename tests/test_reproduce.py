"""Smoke tests of the main job and of the smallest command, through the real CLI entry point."""
import json
from pathlib import Path

import numpy as np
import pytest

from rfscore import ge_constants
from rfscore.cli import main
from rfscore.figures import FIGURES


def test_constants_command_prints_the_constants(capsys):
    assert main(["constants", "--t", "0.05", "--sigma-spectrum", "0.5:0.5,1.5:0.5"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(out) == {"a_t", "b_t", "v_t2", "s_t2", "delta_t"}
    from rfscore.core.covariance import SigmaSpectrum
    ref = ge_constants(0.05, "tanh", SigmaSpectrum((0.5, 1.5), (0.5, 0.5)))
    for k, v in out.items():
        assert v == pytest.approx(getattr(ref, k), rel=1e-14)
    assert out["delta_t"] == pytest.approx(-np.expm1(-0.1), rel=1e-14)


@pytest.mark.slow
def test_reproduce_quick_writes_every_figure(tmp_path):
    out = tmp_path / "figs"
    assert main(["reproduce", "--quick", "--out", str(out)]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["figures"]) == set(FIGURES)
    for name, entry in manifest["figures"].items():
        assert "error" not in entry, name
        pngs = [f for f in entry["files"] if str(f).endswith(".png")]
        assert pngs, f"{name} wrote no figure"
        for f in entry["files"]:
            path = Path(f) if Path(f).is_absolute() else out / f
            assert path.exists() and path.stat().st_size > 0, (name, f)
    assert manifest["rfscore_version"] and manifest["parameters"]["quick"] is True


def test_reproduce_only_keeps_the_manifest_entries_of_the_other_figures(tmp_path):
    """--only remakes the figures named and keeps the record of the others already in the folder's manifest (same
    --paper and --quick); a manifest of another --quick is replaced, not mixed."""
    out = tmp_path / "figs"
    assert main(["reproduce", "--quick", "--no-progress", "--only", "networks", "--out", str(out)]) == 0
    first = json.loads((out / "manifest.json").read_text())["figures"]["networks"]
    assert first["made_utc"] and "error" not in first
    assert main(["reproduce", "--quick", "--no-progress", "--only", "powerlaw", "--out", str(out)]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert list(manifest["figures"]) == [f for f in FIGURES if f in ("networks", "powerlaw")]
    assert manifest["parameters"]["figures"] == list(manifest["figures"])
    assert manifest["figures"]["networks"] == first  # kept as it was
    assert main(["reproduce", "--no-progress", "--only", "networks", "--out", str(out)]) == 0  # not --quick
    manifest = json.loads((out / "manifest.json").read_text())
    assert list(manifest["figures"]) == ["networks"] and manifest["parameters"]["quick"] is False
