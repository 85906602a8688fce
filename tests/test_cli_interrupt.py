"""Ctrl-C while the command is still starting (importing JAX): one line, exit 130, as a Ctrl-C anywhere else;
SIGTERM: one line, exit 143, no temporary file left (rfscore/_entry.py)."""
import os
import re
import signal
import subprocess
import sys
import threading
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


# Real SIGINTs at several delays through every entry point. The interpreter's own start (site and the .pth
# files of the environment: 0.1 s on an idle machine, several tenths under load) runs no code of rfscore: that
# window is Python's. So each delay counts from the moment the child has loaded numpy's C extension, which
# `import jax` does right after rfscore/__init__.py installed the handler of rfscore/_entry.py (its first
# line); from there to the first line of work that handler ends the command, and after that every command
# handles KeyboardInterrupt itself.
DELAYS = (0.0, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0)


def _wait_for_numpy(proc) -> None:
    maps = Path(f"/proc/{proc.pid}/maps")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if "_multiarray_umath" in maps.read_text():
                return
        except OSError:
            pass
        time.sleep(0.002)
    raise AssertionError("the command never loaded numpy")


# 24 points: several seconds of work on any machine, so that every signal below lands while the command works.
CURVE = ["curve", "--vary", "psi_p", "--values", ",".join(map(str, range(1, 25))), "--psi-n", "2", "--t", "0.1",
         "--tau", "1,10"]


def _entry_points(tmp_path):
    script = tmp_path / "bin" / "rfscore"
    script.parent.mkdir(exist_ok=True)
    script.write_text(SCRIPT)
    return {"module": [sys.executable, "-m", "rfscore"], "cli": [sys.executable, "-m", "rfscore.cli"],
            "script": [sys.executable, str(script)]}


@pytest.mark.slow  # longer than a few seconds on 2 cores: the full suite (CI) runs it
@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs /proc to see the child's start")
@pytest.mark.parametrize("how", ["module", "cli", "script"])
def test_sigint_at_every_delay_in_the_first_second(tmp_path, how):
    env = dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="Agg")
    out = tmp_path / "o.csv"
    for delay in DELAYS:
        proc = subprocess.Popen(_entry_points(tmp_path)[how] + CURVE + ["--out", str(out)], env=env, cwd=tmp_path,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _wait_for_numpy(proc)
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        lines = err.strip().splitlines()
        assert proc.returncode == 130 and len(lines) == 1 and "interrupted" in lines[0], (how, delay, err)
        assert "Traceback" not in err and "Exception ignored" not in err, err
        assert sorted(p.name for p in tmp_path.iterdir()) == ["bin"], (how, delay, list(tmp_path.iterdir()))


def _stderr_reader(proc):
    """Collect the child's stderr in a thread (tqdm writes '\\r', not lines) and return the growing buffer."""
    buf = bytearray()

    def pump():
        while chunk := os.read(proc.stderr.fileno(), 4096):
            buf.extend(chunk)

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    return buf, thread


@pytest.mark.slow  # longer than a few seconds on 2 cores: the full suite (CI) runs it
def test_sigterm_while_working_leaves_no_temporary_file(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="Agg")
    # The signal is sent as soon as the progress bar shows (the work has begun: the output probe was created and
    # removed, the first point is compiling), with all 24 points still to do: a fixed sleep was a race that the
    # command won on a fast machine (it finished first), and waiting for a given count can miss it (tqdm
    # redraws at most every 0.1 s).
    proc = subprocess.Popen([sys.executable, "-m", "rfscore", *CURVE, "--out", str(tmp_path / "o.csv"),
                             "--plot", str(tmp_path / "o.png")], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    buf, thread = _stderr_reader(proc)
    deadline = time.monotonic() + 120
    while b"/24 [" not in buf and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.005)
    assert b"/24 [" in buf and proc.poll() is None, buf.decode(errors="replace")
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    thread.join(timeout=10)
    err = buf.decode(errors="replace")
    # Besides the progress bar (cleared with spaces), one line.
    lines = [line.strip() for line in re.split(r"[\r\n]", err) if line.strip() and "%|" not in line]
    assert proc.returncode in (130, 143) and len(lines) == 1 and "Traceback" not in err, err
    assert "stopped" in lines[0] and "nothing was written" in lines[0], err
    assert list(tmp_path.iterdir()) == [], list(tmp_path.iterdir())


@pytest.mark.slow  # longer than a few seconds on 2 cores: the full suite (CI) runs it
def test_python_m_rfscore_cli_version():
    res = subprocess.run([sys.executable, "-m", "rfscore.cli", "--version"], capture_output=True, text=True,
                         timeout=120, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert res.returncode == 0 and res.stdout.strip().startswith("rfscore "), res


def test_a_sigint_inside_a_gc_callback_is_sent_again_not_lost():
    """JAX's gc callback would print "Exception ignored" and drop a KeyboardInterrupt raised inside it."""
    import gc

    from rfscore import _entry

    seen = []

    def callback(phase, info):
        if phase == "start":
            seen.append(_entry._swallowing(sys._getframe()))

    gc.callbacks.append(callback)
    try:
        gc.collect()
    finally:
        gc.callbacks.remove(callback)
    assert seen and all(seen)
    assert not _entry._swallowing(sys._getframe())  # ordinary code: the KeyboardInterrupt is raised there
