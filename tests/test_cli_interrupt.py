"""Ctrl-C while the command is still importing JAX: one line, exit 130, as a Ctrl-C anywhere else."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINE = "rfscore: interrupted while starting; nothing was written"
# The `rfscore` console script as pip writes it (pyproject: rfscore = "rfscore.cli:main").
SCRIPT = ('import re\nimport sys\nfrom rfscore.cli import main\nif __name__ == "__main__":\n'
          '    sys.argv[0] = re.sub(r"(-script\\.pyw|\\.exe)?$", "", sys.argv[0])\n    sys.exit(main())\n')


def _fake_jax(tmp_path, body):
    """A `jax` package first on the path whose import runs ``body`` (stands in for the slow real import)."""
    pkg = tmp_path / "fake" / "jax"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(body)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path / "fake"), str(ROOT)]))
    return env


def _commands(tmp_path):
    script = tmp_path / "bin" / "rfscore"
    script.parent.mkdir()
    script.write_text(SCRIPT)
    out = str(tmp_path / "o.csv")
    args = ["dynamics", "--d", "4", "--psi-p", "2", "--psi-n", "1", "--t", "0.1", "--tau-min", "1",
            "--tau-max", "10", "--num", "3", "--out", out]
    return {"module": [sys.executable, "-m", "rfscore", *args], "script": [sys.executable, str(script), *args]}


@pytest.mark.parametrize("how", ["module", "script"])
def test_sigint_during_jax_import_one_line_exit_130(tmp_path, how):
    marker = tmp_path / "importing"
    env = _fake_jax(tmp_path, f"import pathlib, time\npathlib.Path({str(marker)!r}).touch()\ntime.sleep(60)\n")
    proc = subprocess.Popen(_commands(tmp_path)[how], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not marker.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    assert marker.exists(), proc.communicate()
    proc.send_signal(signal.SIGINT)  # a real Ctrl-C, delivered inside `import jax`
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and err.strip() == LINE and out == "", err
    assert not (tmp_path / "o.csv").exists()


def test_library_import_reraises(tmp_path):
    env = _fake_jax(tmp_path, "raise KeyboardInterrupt\n")
    res = subprocess.run([sys.executable, "-c", "import rfscore"], env=env, cwd=tmp_path, capture_output=True,
                         text=True, timeout=120)
    assert res.returncode != 130 and "KeyboardInterrupt" in res.stderr and LINE not in res.stderr
