"""Bad and edge-case input through every command: exit 2, one stderr line naming the option, nothing written.

Each row of `ROWS` is (command, extra arguments appended to a small valid run of that command,
the option the one-line message must name[, a text the message must contain]). Later
occurrences of an option override the valid base value (argparse keeps the last one). Every
row asserts: exit status 2, exactly one line on stderr, no "Traceback", the option named,
and the folder unchanged afterwards (no CSV, sidecar, plot, NPY or checkpoint left, and the
files a row sets up untouched). `{tmp}` in an argument is the row's temporary folder.
"""
import functools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jax
import numpy as np
import pytest

from rfscore import __version__
from rfscore.cli import COMMANDS, main

jax.devices()  # initialise the backend now, so its one-off log lines are not captured by a row

HUGE_SEED = "99999999999999999999"
OUT = ["--out", "{tmp}/o.csv"]
BASE = {
    "constants": ["constants", "--t", "0.01"],
    "spectrum": ["spectrum", "--psi-p", "4", "--psi-n", "1.5", "--t", "0.01", "--lambda-min", "0", "--lambda-max", "3",
                 "--num", "20", *OUT],
    "dynamics": ["dynamics", "--d", "4", "--psi-p", "3", "--psi-n", "2", "--t", "0.1", "--model", "gep",
                 "--tau-min", "1", "--tau-max", "100", "--num", "5", *OUT],
    "simulate": ["simulate", "--d", "4", "--psi-p", "3", "--psi-n", "2", "--t", "0.1", "--model", "gep", "--lr", "0.5",
                 "--steps", "5", "--record", "3", *OUT],
    "timescales": ["timescales", "--psi-p", "8", "--psi-n", "2,4", "--t", "0.01", "--d", "10", "--no-progress", *OUT],
    "phase": ["phase", "--psi-p", "4", "--psi-n", "2", "--t", "0.01", "--d", "6", "--tau", "1e2", "--workers", "1",
              "--no-progress", *OUT],
    "asymptotic": ["asymptotic", "--psi-p", "8", "--psi-n", "2", "--t", "0.01", "--tau-min", "1", "--tau-max", "1e4",
                   "--num", "10", *OUT],
    "reproduce": ["reproduce", "--quick", "--only", "fig4", "--out", "{tmp}/figs"],
    "curve": ["curve", "--vary", "psi_p", "--values", "2,4", "--psi-n", "2", "--t", "0.1", "--noise-samples", "4",
              "--ridge", "1e-3", *OUT],
    "generate": ["generate", "--d", "4", "--psi-p", "4", "--psi-n", "2", "--times", "4", "--tau", "1e2",
                 "--samples", "10", "--workers", "1", "--no-progress", *OUT],
    "train-net": ["train-net", "--n", "4", "--steps", "5", "--width", "4", "--samples", "10", "--checkpoints", "1",
                  "--times", "2", "--no-progress", "--out", "{tmp}/run"],
}
WITH_PLOT = ("spectrum", "dynamics", "phase", "asymptotic", "generate", "curve")
WRITERS = ("spectrum", "dynamics", "simulate", "timescales", "phase", "asymptotic", "generate", "curve")
MODEL = ("dynamics", "simulate")  # commands with the shared model options (--data, --seed, ...)
NOISE_RIDGE = ("dynamics", "simulate", "asymptotic", "timescales", "phase")  # --noise-samples M, --ridge L

ROWS = [
    # --- 1. size guards: overflow, memory estimated before allocating, seeds that do not fit the PRNG
    ("spectrum", ["--psi-p", "1e300", "--psi-n", "2"], "--psi-p", "must be in [0.0001, 1e+06]"),
    ("spectrum", ["--psi-p", "8", "--psi-n", "1e-300"], "--psi-n", "must be in [0.0001, 1e+06]"),
    ("asymptotic", ["--psi-p", "1e300"], "--psi-p", "must be in"),
    ("spectrum", ["--num", "100000000000"], "--num", "available"),
    ("dynamics", ["--num", "100000000000"], "--num", "available"),
    ("asymptotic", ["--num", "100000000000"], "--num", "available"),
    ("dynamics", ["--d", "10000000"], "--d", "available"),
    ("simulate", ["--d", "10000000"], "--d", "available"),
    ("timescales", ["--d", "10000000"], "--d", "available"),
    ("phase", ["--d", "10000000"], "--d", "available"),
    ("dynamics", ["--d", "10000", "--psi-p", "1e6"], "--psi-p", "available"),
    ("dynamics", ["--d", "10000", "--psi-p", "1e6", "--model", "exact"], "--psi-p", "available"),
    ("timescales", ["--d", "10000", "--psi-p", "1e6"], "--psi-p", "available"),
    ("phase", ["--d", "10000", "--psi-p", "1e6"], "--psi-p", "available"),
    ("simulate", ["--d", "1000", "--psi-n", "1e6"], "--psi-n", "available"),
    # one range for ψ in every command (issue 28): [1e-4, 1e6], checked before any size or memory rule
    *[(c, ["--psi-p", "1e9"], "--psi-p", "must be in [0.0001, 1e+06]") for c in ("dynamics", "simulate", "timescales", "phase", "generate")],
    *[(c, ["--psi-n", "1e-5"], "--psi-n", "must be in [0.0001, 1e+06]") for c in ("dynamics", "simulate", "timescales", "phase", "generate")],
    ("phase", ["--psi-n", "2,2"], "--psi-n", "repeats a value"),
    ("simulate", ["--fresh-noise", "1000000000000"], "--fresh-noise", "available"),
    ("simulate", ["--noise-samples", "1000000000"], "--noise-samples", "available"),
    ("simulate", ["--record", "1000000000000"], "--record", "available"),
    ("dynamics", ["--psi-p", "1e300"], "--psi-p", "must be in [0.0001, 1e+06]"),
    ("spectrum", ["--empirical-d", "10000000", "--psi-p", "1e-3"], "--empirical-d"),
    ("simulate", ["--seed", HUGE_SEED], "--seed", "2^63"),
    ("dynamics", ["--seed", HUGE_SEED], "--seed"),
    ("spectrum", ["--empirical-d", "10", "--seed", HUGE_SEED], "--seed"),
    ("timescales", ["--seed", HUGE_SEED], "--seed"),
    ("phase", ["--seed", HUGE_SEED], "--seed"),
    ("timescales", ["--seed", str(2**63 - 1), "--seeds", "2"], "--seeds"),
    ("dynamics", ["--seed", "-1"], "--seed"),
    # --- 2. every output path checked before computing (really writable, no folder in the way)
    *[(c, ["--out", "/proc/curve.csv"], "--out") for c in WRITERS],
    *[(c, ["--plot", "/proc/p.png"], "--plot") for c in WITH_PLOT],
    *[(c, ["--out", "{tmp}/missing/o.csv"], "--out", "does not exist") for c in ("dynamics", "timescales", "phase")],
    ("asymptotic", ["--out", "{tmp}/sidecar_dir.csv"], "--out", "sidecar"),
    ("spectrum", ["--out", "{tmp}/sidecar_dir.csv"], "--out", "sidecar"),
    ("simulate", ["--out", "{tmp}/sidecar_dir.csv"], "--out", "sidecar"),
    ("dynamics", ["--out", "{tmp}/adir"], "--out", "folder"),
    ("phase", ["--plot", "{tmp}/adir"], "--plot", "folder"),
    ("asymptotic", ["--out", "/dev/null"], "--out", "regular file"),
    ("spectrum", ["--out", "{tmp}/o.csv", "--empirical-d", "10", "--plot", "{tmp}/o_eigenvalues.npy"], "--plot"),
    ("dynamics", ["--out", ""], "--out", "file name"),
    ("spectrum", ["--lambda-min", "-1e308", "--lambda-max", "1e308"], "--lambda-max", "overflows"),
    ("spectrum", ["--eta", "1e-320"], "--eta", "too small"),
    ("simulate", ["--steps", "100000000000000000000"], "--steps"),
    ("reproduce", ["--out", "{tmp}/afile"], "--out"),
    ("reproduce", ["--out", "/proc/figs"], "--out"),
    # --- 4. sweep checkpoints: corrupt, foreign (other numerics / other parameters / no numerics recorded)
    ("phase", ["--out", "{tmp}/garbage.csv"], "--out", "corrupt"),
    ("phase", ["--out", "{tmp}/foo.csv"], "--out", "corrupt"),
    ("phase", ["--out", "{tmp}/oldversion.csv"], "--out", "other numerics"),
    ("phase", ["--out", "{tmp}/legacy.csv"], "--out", "did not record the numerics"),
    ("phase", ["--out", "{tmp}/otherparams.csv"], "--out", "other parameters"),
    # --- 5. colliding outputs
    *[(c, ["--out", "{tmp}/x.json"], "--out", "sidecar") for c in WRITERS],
    *[(c, ["--plot", "{tmp}/o.csv"], "--plot", "same file") for c in WITH_PLOT],
    *[(c, ["--plot", "{tmp}/o.json"], "--plot", "same file") for c in WITH_PLOT],
    # --- 6. sizes actually run: duplicates after rounding, n or p below 1
    ("timescales", ["--psi-n", "2,2.04", "--psi-p", "8", "--d", "10"], "--psi-n", "both give n = "),
    ("timescales", ["--psi-n", "1e-3,2"], "--psi-n", "n = round"),
    ("timescales", ["--psi-p", "0.01"], "--psi-p", "p = round"),
    ("phase", ["--psi-n", "2,2.04", "--d", "10"], "--psi-n", "both give"),
    ("phase", ["--psi-p", "4,4"], "--psi-p", "repeats a value"),
    ("phase", ["--psi-p", "4,4.04", "--d", "10"], "--psi-p", "both give"),
    ("phase", ["--psi-n", "1e-6"], "--psi-n"),
    ("phase", ["--tau", "1e2,1e2"], "--tau", "repeats"),
    ("dynamics", ["--psi-n", "0.01"], "--psi-n", "n = round"),
    ("simulate", ["--psi-p", "0.01"], "--psi-p", "p = round"),
    ("spectrum", ["--empirical-d", "10", "--psi-n", "0.01"], "--psi-n"),
    # --- 7. validation before any file: scheduler
    ("phase", ["--scheduler", "not a url"], "--scheduler"),
    ("phase", ["--scheduler", "http://x"], "--scheduler"),
    # --- 8. smaller ones
    *[(c, ["--sigma-spectrum", "-1:1"], "--sigma-spectrum", "> 0") for c in ("constants", "spectrum", "dynamics",
                                                                            "asymptotic", "phase")],
    ("dynamics", ["--data", "{tmp}/text.npy"], "--data", "not a .npy"),
    ("simulate", ["--weights", "{tmp}/text.npy"], "--weights", "not a .npy"),
    ("spectrum", ["--empirical-d", "0"], "--empirical-d", ">= 2"),
    ("spectrum", ["--empirical-d", "1"], "--empirical-d", ">= 2"),
    ("simulate", ["--lr", "1e6"], "--lr"),
    # --- curve: m frozen noise draws, ridge λ, the varied and the fixed ratio
    ("curve", ["--noise-samples", "0"], "--noise-samples", "integer"),
    ("curve", ["--noise-samples", "2.5"], "--noise-samples", "integer"),
    ("curve", ["--noise-samples", "two"], "--noise-samples"),
    ("curve", ["--noise-samples", "1,,4"], "--noise-samples", "empty item"),
    ("curve", ["--noise-samples", "1e12"], "--noise-samples", "1e9"),
    ("curve", ["--ridge", "-1"], "--ridge", "[0, 1e6]"),
    ("curve", ["--ridge", "nan"], "--ridge", "[0, 1e6]"),
    ("curve", ["--ridge", "1e-3,,1"], "--ridge", "empty item"),
    ("curve", ["--vary", "psi_q"], "--vary"),
    ("curve", ["--values", "2,,4"], "--values", "empty item"),
    ("curve", ["--values", "0"], "--values"),
    ("curve", ["--vary", "psi_n", "--values", "2"], "--psi-p", "required"),
    ("curve", ["--psi-p", "4"], "--psi-p", "varied"),
    ("curve", ["--tau", "0"], "--tau"),
    ("curve", ["--tau", "nan"], "--tau"),
    ("curve", ["--finite-d", "1"], "--finite-d", ">= 2"),
    ("curve", ["--finite-d", "10000000"], "--finite-d", "available"),
    ("curve", ["--seeds", "0"], "--seeds"),
    ("curve", ["--sigma-spectrum", "0.5:0.5,1.5:0.5"], "--sigma-spectrum", "σ_x² I"),
    ("curve", ["--activation", "linear"], "--activation"),
    ("curve", ["--t", "0"], "--t"),
    # --- --noise-samples / --ridge on dynamics, simulate, asymptotic
    *[(c, ["--noise-samples", "0"], "--noise-samples", "integer") for c in NOISE_RIDGE],
    *[(c, ["--noise-samples", "2.5"], "--noise-samples", "integer") for c in NOISE_RIDGE],
    *[(c, ["--ridge", "-1"], "--ridge", "[0, 1e6]") for c in NOISE_RIDGE],
    *[(c, ["--ridge", "nan"], "--ridge", "[0, 1e6]") for c in NOISE_RIDGE],
    ("timescales", ["--noise-samples", "1000000000"], "--noise-samples", "available"),
    ("timescales", ["--data", "digits", "--ridge", "1e-3"], "--ridge", "synthetic"),
    ("dynamics", ["--data", "digits", "--noise-samples", "2"], "--noise-samples", "synthetic"),
    ("asymptotic", ["--noise-samples", "4", "--ridge", "1e-3", "--sigma-spectrum", "0.5:0.5,1.5:0.5"],
     "--sigma-spectrum", "σ_x² I"),
    ("dynamics", ["--noise-samples", "2", "--solver", "krylov"], "--solver", "eigh"),
    ("simulate", ["--noise-samples", "2", "--fresh-noise", "2"], "--fresh-noise", "frozen"),
    ("simulate", ["--fresh-noise", "0"], "--fresh-noise"),
    # --- ordinary range checks on every command
    ("constants", ["--t", "0"], "--t"),
    ("constants", ["--t", "nan"], "--t"),
    ("constants", ["--activation", "relu"], "--activation"),
    ("spectrum", ["--lambda-min", "5"], "--lambda-min"),
    ("spectrum", ["--eta", "-1"], "--eta"),
    ("dynamics", ["--tau-min", "10", "--tau-max", "1"], "--tau-max"),
    ("dynamics", ["--solver", "lu"], "--solver"),
    ("simulate", ["--steps", "0"], "--steps"),
    ("simulate", ["--optimizer", "sgd"], "--optimizer"),
    ("timescales", ["--psi-n", "8"], "--psi-n"),
    ("timescales", ["--seeds", "0"], "--seeds"),
    ("phase", ["--gap-threshold", "0"], "--gap-threshold"),
    ("phase", ["--workers", "0"], "--workers"),
    ("asymptotic", ["--tau-min", "10", "--tau-max", "1"], "--tau-max"),
    ("asymptotic", ["--t", "inf"], "--t"),
    ("reproduce", ["--only", "fig9"], "--only"),
    ("reproduce", ["--paper", "--only", "fig5ab"], "--only", "with --paper"),
    ("reproduce", ["--only", "fig4,fig4"], "--only", "distinct"),
    ("reproduce", ["--only", ""], "--only"),
    ("generate", ["--seed", HUGE_SEED], "--seed"),
    ("generate", ["--save-samples", "{tmp}/o.csv"], "--save-samples", "same file"),
    ("generate", ["--save-samples", "/proc/s.npz"], "--save-samples"),
    ("generate", ["--scheduler", "not a url"], "--scheduler"),
    ("generate", ["--psi-n", "2,2.04", "--d", "10"], "--psi-n"),
    # --- 9. accepted ranges of the physical inputs (rfscore/cli/common.py: T_RANGE, TAU_RANGE, RATIO_RANGE)
    ("asymptotic", ["--psi-p", "1e-300"], "--psi-p", "must be in"),
    ("asymptotic", ["--psi-n", "1e7"], "--psi-n", "must be in"),
    ("asymptotic", ["--tau-max", "1e308"], "--tau-max", "must be in [1e-12, 1e+30]"),
    ("asymptotic", ["--tau-min", "1e-20"], "--tau-min", "must be in"),
    ("dynamics", ["--tau-max", "1e308"], "--tau-max", "must be in"),
    ("dynamics", ["--tau-min", "1e-300"], "--tau-min", "must be in"),
    ("timescales", ["--t", "1e300"], "--t", "must be in [1e-05, 50]"),
    *[(c, ["--t", "1e-9"], "--t", "must be in") for c in ("constants", "spectrum", "dynamics", "simulate",
                                                           "timescales", "phase", "asymptotic")],
    ("constants", ["--t", "100"], "--t", "must be in"),
    ("phase", ["--tau", "1e31"], "--tau", "1e+30"),
    ("generate", ["--tau", "1e2,1e40"], "--tau", "1e+30"),
    ("generate", ["--t-min", "1e-9"], "--t-min", "must be in"),
    ("generate", ["--t-max", "100"], "--t-max", "must be in"),
    ("generate", ["--t-min", "2", "--t-max", "1"], "--t-min", "t_max"),
    ("generate", ["--max-order", "2000"], "--max-order", "1024"),
    ("dynamics", ["--mehler-tol", "1e-20"], "--mehler-tol", "must be in"),
    # --- 10. number and list syntax
    ("dynamics", ["--num", "1.5"], "--num"),
    ("dynamics", ["--num", "abc"], "--num"),
    ("dynamics", ["--d", "4x"], "--d"),
    ("timescales", ["--psi-n", "2,,4"], "--psi-n"),
    ("timescales", ["--psi-n", ""], "--psi-n"),
    ("phase", ["--tau", "1e2,abc"], "--tau"),
    ("phase", ["--psi-p", "4;8"], "--psi-p"),
    ("constants", ["--t", ""], "--t"),
    ("spectrum", ["--lambda-max", "nan"], "--lambda-max"),
    ("asymptotic", ["--num", "0"], "--num"),
    ("simulate", ["--lr", "-1"], "--lr"),
    ("generate", ["--samples", "1"], "--samples"),
    ("generate", ["--times", "1"], "--times"),
    ("generate", ["--psi-n", "0"], "--psi-n"),
    ("generate", ["--seeds", "0"], "--seeds"),
    ("dynamics", ["--max-order", "0"], "--max-order"),
    ("dynamics", ["--mehler-tol", "0"], "--mehler-tol"),
    ("simulate", ["--mehler-tol", "2"], "--mehler-tol"),
    ("generate", ["--max-order", "0"], "--max-order"),
    # --- generate: m frozen noise draws, ridge λ (rf score only), real data (--data digits|X.npy)
    ("generate", ["--noise-samples", "0"], "--noise-samples", "integer"),
    ("generate", ["--noise-samples", "2.5"], "--noise-samples", "integer"),
    ("generate", ["--noise-samples", "1e12"], "--noise-samples", "1e9"),
    ("generate", ["--ridge", "-1"], "--ridge", "[0, 1e6]"),
    ("generate", ["--ridge", "nan"], "--ridge", "[0, 1e6]"),
    ("generate", ["--noise-samples", "4", "--score", "empirical"], "--noise-samples", "reference score"),
    ("generate", ["--noise-samples", "inf", "--score", "population"], "--noise-samples", "reference score"),
    ("generate", ["--ridge", "0.1", "--score", "empirical"], "--ridge", "reference score"),
    ("generate", ["--ridge", "0", "--score", "population"], "--ridge", "reference score"),
    ("generate", ["--data", "{tmp}/text.npy", "--test-fraction", "0.2"], "--data", "not a .npy"),
    ("generate", ["--data", "{tmp}/cube.npy", "--test-fraction", "0.2"], "--data"),
    ("generate", ["--data", "{tmp}/nan.npy", "--test-fraction", "0.2"], "--data"),
    ("generate", ["--data", "{tmp}/missing.npy", "--test-fraction", "0.2"], "--data"),
    ("generate", ["--data", "{tmp}/good.npy"], "--test-fraction", "held-out"),
    ("generate", ["--data", "{tmp}/good.npy", "--test-data", "{tmp}/cube.npy"], "--test-data"),
    ("generate", ["--test-fraction", "0.2"], "--test-fraction", "needs --data"),
    ("generate", ["--data", "digits", "--test-fraction", "1.5"], "--test-fraction"),
    ("generate", ["--data", "digits"], "--d", "contradicts"),
    ("generate", ["--data", "digits", "--d", "61", "--score", "population"], "--score", "Σ"),
    ("generate", ["--data", "digits", "--d", "61", "--psi-n", "30"], "--psi-n", "training rows"),
    ("generate", ["--data", "digits", "--d", "61", "--sigma-spectrum", "1:1"], "--sigma-spectrum", "unknown"),
    # --- 11. input files: missing, a folder, wrong shape, non-finite entries
    ("dynamics", ["--data", "{tmp}/missing.npy"], "--data"),
    ("timescales", ["--data", "{tmp}/missing.npy"], "--data"),
    ("dynamics", ["--data", "{tmp}/adir"], "--data"),
    ("dynamics", ["--data", "{tmp}/cube.npy"], "--data"),
    ("dynamics", ["--data", "{tmp}/nan.npy"], "--data"),
    ("simulate", ["--weights", "{tmp}/cube.npy"], "--weights"),
    ("dynamics", ["--sigma-matrix", "{tmp}/cube.npy"], "--sigma-matrix"),
    # --- 12. train-net (theory/trained_networks.md); the missing extra is tests/test_train_net.py
    ("train-net", ["--arch", "resnet"], "--arch", "mlp or unet"),
    ("train-net", ["--width", "0"], "--width", "[1, 4096]"),
    ("train-net", ["--width", "-3"], "--width"),
    ("train-net", ["--width", "2.5"], "--width", "integer"),
    ("train-net", ["--steps", "0"], "--steps", "[1, "),
    ("train-net", ["--steps", "-5"], "--steps"),
    ("train-net", ["--steps", "abc"], "--steps", "integer"),
    ("train-net", ["--arch", "unet"], "--data", "d = 64"),
    ("train-net", ["--arch", "unet", "--data", "{tmp}/d10.npy"], "--data", "d = 64"),
    ("train-net", ["--data", "{tmp}/missing.npy"], "--data"),
    ("train-net", ["--data", "{tmp}/cube.npy"], "--data"),
    ("train-net", ["--n", "4,,8"], "--n", "empty item"),
    ("train-net", ["--n", "1"], "--n", ">= 2"),
    ("train-net", ["--n", "4,4"], "--n", "twice"),
    ("train-net", ["--n", "four"], "--n", "integer"),
    ("train-net", ["--data", "digits", "--n", "100000"], "--n", "training rows"),
    ("train-net", ["--optimizer", "rmsprop"], "--optimizer"),
    ("train-net", ["--lr", "0"], "--lr"),
    ("train-net", ["--lr", "100"], "--lr"),
    ("train-net", ["--samples", "1"], "--samples"),
    ("train-net", ["--times", "1"], "--times"),
    ("train-net", ["--seed", HUGE_SEED], "--seed"),
    ("train-net", ["--out", "{tmp}/afile"], "--out", "not a folder"),
    ("train-net", ["--out", "{tmp}/missing/run"], "--out", "does not exist"),
    ("train-net", ["--out", "{tmp}/clash"], "--out", "folder"),
    ("train-net", ["--out", "{tmp}/clash_json"], "--out", "sidecar"),
    # --- issue 28: nothing lost, nothing stale (output guard, identity by content, memory, conventions)
    # an output (CSV, sidecar, plot, samples, checkpoint) on an input file: by path, symlink or hard link
    ("dynamics", ["--data", "{tmp}/good.npy", "--out", "{tmp}/good.npy"], "--out", "input file --data"),
    ("dynamics", ["--weights", "{tmp}/w.npy", "--plot", "{tmp}/w.npy"], "--plot", "input file --weights"),
    ("dynamics", ["--sigma-matrix", "{tmp}/eye.npy", "--out", "{tmp}/eye.npy"], "--out", "input file --sigma-matrix"),
    ("dynamics", ["--data", "{tmp}/xj.json", "--out", "{tmp}/xj.csv"], "--out", "input file --data"),
    ("dynamics", ["--data", "{tmp}/good.npy", "--test-data", "{tmp}/t.npy", "--out", "{tmp}/t.npy"], "--out",
     "input file --test-data"),
    ("dynamics", ["--data", "{tmp}/good.npy", "--out", "{tmp}/link.npy"], "--out", "input file --data"),
    ("dynamics", ["--data", "{tmp}/good.npy", "--out", "{tmp}/hard.npy"], "--out", "input file --data"),
    ("dynamics", ["--data", "{tmp}/good.npy", "--out", "{tmp}/adir/.." "/good.npy"], "--out", "input file --data"),
    ("dynamics", ["--data", "{tmp}/good.npy", "--plot", "{tmp}/hard.npy"], "--plot", "input file --data"),
    ("simulate", ["--data", "{tmp}/good.npy", "--out", "{tmp}/good.npy"], "--out", "input file --data"),
    ("simulate", ["--weights", "{tmp}/w.npy", "--out", "{tmp}/w.npy"], "--out", "input file --weights"),
    ("simulate", ["--data", "{tmp}/xj.json", "--out", "{tmp}/xj.csv"], "--out", "input file --data"),
    ("timescales", ["--data", "{tmp}/good.npy", "--test-fraction", "0.2", "--out", "{tmp}/good.npy"], "--out",
     "input file --data"),
    ("timescales", ["--data", "{tmp}/good.npy", "--test-data", "{tmp}/t.npy", "--out", "{tmp}/t.npy"], "--out",
     "input file --test-data"),
    ("generate", ["--data", "{tmp}/good.npy", "--test-fraction", "0.2", "--out", "{tmp}/good.npy"], "--out",
     "input file --data"),
    ("generate", ["--data", "{tmp}/good.npy", "--test-fraction", "0.2", "--save-samples", "{tmp}/good.npy"],
     "--save-samples", "input file --data"),
    ("generate", ["--data", "{tmp}/good.npy", "--test-fraction", "0.2", "--plot", "{tmp}/hard.npy"], "--plot",
     "input file --data"),
    ("generate", ["--data", "{tmp}/good.npy", "--test-data", "{tmp}/t.npy", "--out", "{tmp}/t.npy"], "--out",
     "input file --test-data"),
    ("generate", ["--data", "{tmp}/good.npy", "--test-data", "{tmp}/t.npy", "--save-samples", "{tmp}/t.npy"],
     "--save-samples", "input file --test-data"),
    ("generate", ["--data", "{tmp}/xj.json", "--test-fraction", "0.2", "--out", "{tmp}/xj.csv"], "--out",
     "input file --data"),
    ("train-net", ["--data", "{tmp}/net/checkpoint_n4_w4_s0.npz", "--out", "{tmp}/net"], "--out", "input file --data"),
    # empty output paths: never the current folder
    *[(c, ["--out", ""], "--out", "empty") for c in ("spectrum", "simulate", "timescales", "phase", "asymptotic",
                                                      "curve", "generate", "train-net", "reproduce")],
    ("dynamics", ["--plot", ""], "--plot", "empty"),
    ("generate", ["--save-samples", ""], "--save-samples", "empty"),
    # the plot format is the extension's: .png, .pdf, .svg; others refused
    *[(c, ["--plot", "{tmp}/p.jpg"], "--plot", "extension") for c in WITH_PLOT],
    ("dynamics", ["--plot", "{tmp}/plot"], "--plot", "extension"),
    # corrupt sweep checkpoints: refused naming the file, nothing appended
    ("phase", ["--out", "{tmp}/nullres.csv"], "--out", "result is null"),
    ("phase", ["--out", "{tmp}/deep.csv"], "--out", "corrupt"),
    ("phase", ["--out", "{tmp}/negloss.csv"], "--out", "outside"),
    ("phase", ["--out", "{tmp}/badregime.csv"], "--out", "corrupt"),
    ("phase", ["--out", "{tmp}/shortrow.csv"], "--out", "corrupt"),
    ("phase", ["--out", "{tmp}/infloss.csv"], "--out", "corrupt"),
    # input files whose scale overflows float64, and files that are not regular files (a pipe blocks a read)
    ("dynamics", ["--data", "{tmp}/big.npy"], "--data", "overflow"),
    ("simulate", ["--weights", "{tmp}/bigw.npy"], "--weights", "overflow"),
    ("dynamics", ["--sigma-matrix", "{tmp}/bigs.npy"], "--sigma-matrix", "overflow"),
    ("timescales", ["--data", "{tmp}/big.npy", "--test-fraction", "0.2"], "--data", "overflow"),
    ("generate", ["--data", "{tmp}/big.npy", "--test-fraction", "0.2"], "--data", "overflow"),
    ("generate", ["--data", "{tmp}/good.npy", "--test-data", "{tmp}/big.npy"], "--test-data", "overflow"),
    ("train-net", ["--data", "{tmp}/big.npy"], "--data", "overflow"),
    ("dynamics", ["--data", "{tmp}/pipe.npy"], "--data", "regular file"),
    ("generate", ["--data", "{tmp}/pipe.npy", "--test-fraction", "0.2"], "--data", "regular file"),
    ("train-net", ["--data", "{tmp}/pipe.npy"], "--data", "regular file"),
    ("simulate", ["--weights", "{tmp}/pipe.npy"], "--weights", "regular file"),
    # memory: every factor counted, checked before work, naming the option
    ("phase", ["--noise-samples", "1000000000"], "--noise-samples", "available"),
    ("curve", ["--finite-d", "4", "--noise-samples", "1000000000"], "--noise-samples", "available"),
    ("train-net", ["--n", "1000000000"], "--n", "available"),
    ("train-net", ["--samples", "1000000000"], "--samples", "available"),
    ("curve", ["--seed", str(2**63 - 1), "--seeds", "2"], "--seeds", "2^63"),
    ("curve", ["--seeds", "100000000000000000000"], "--seeds", "2^63"),
    # one range per quantity in every command (τ lower bound 1e-12, ψ in [1e-4, 1e6]); no repeated list items
    ("phase", ["--tau", "1e-13"], "--tau", "1e-12"),
    ("generate", ["--tau", "1e-13"], "--tau", "1e-12"),
    ("curve", ["--tau", "1e-13"], "--tau", "1e-12"),
    ("curve", ["--values", "1e-10"], "--values", "[0.0001, 1e+06]"),
    ("curve", ["--values", "1e-300"], "--values", "[0.0001, 1e+06]"),
    ("curve", ["--values", "2,2"], "--values", "repeats"),
    ("curve", ["--tau", "1,1"], "--tau", "repeats"),
    ("curve", ["--noise-samples", "4,4"], "--noise-samples", "repeats"),
    ("curve", ["--ridge", "1e-3,0.001"], "--ridge", "repeats"),
    ("generate", ["--tau", "1e2,100"], "--tau", "repeats"),
    ("asymptotic", ["--noise-samples", "4", "--ridge", "1e-3", "--activation", "linear"], "--activation", "linear"),
    ("asymptotic", ["--activation", "linear"], "--activation", "linear"),
    ("reproduce", ["--out", "{tmp}/afile/figs"], "--out", "cannot"),
    # --- issue 30: the memorisation map of generate (second CSV, collapse criterion)
    ("generate", ["--map-out", "{tmp}/missing/m.csv"], "--map-out", "does not exist"),
    ("generate", ["--map-out", "{tmp}/adir"], "--map-out"),
    ("generate", ["--map-out", "{tmp}/o.csv"], "--map-out", "same file"),
    ("generate", ["--collapse-entropy", "0"], "--collapse-entropy", "(0, 1)"),
    ("generate", ["--collapse-entropy", "1"], "--collapse-entropy", "(0, 1)"),
    ("generate", ["--collapse-entropy", "nan"], "--collapse-entropy", "(0, 1)"),
    ("generate", ["--score", "empirical", "--map-out", "{tmp}/m.csv"], "--map-out", "--score rf"),
    # --- issue 27: train-net at the paper's protocol
    ("train-net", ["--momentum", "1"], "--momentum", "[0, 1)"),
    ("train-net", ["--momentum", "-0.1"], "--momentum", "[0, 1)"),
    ("train-net", ["--momentum", "nan"], "--momentum"),
    ("train-net", ["--batch", "0"], "--batch", "[1, "),
    ("train-net", ["--batch", "5"], "--batch", "[1, n] = [1, 4]"),
    ("train-net", ["--batch", "half"], "--batch", "integer"),
    ("train-net", ["--time-sampling", "uniform"], "--time-sampling", "loguniform or ddpm"),
    ("train-net", ["--sampler-steps", "0"], "--sampler-steps", "[1, "),
    ("train-net", ["--sampler-steps", "x"], "--sampler-steps", "integer"),
    ("train-net", ["--gmm-std", "0"], "--gmm-std", "(0, "),
    ("train-net", ["--gmm-std", "-1"], "--gmm-std", "(0, "),
    ("train-net", ["--gmm-mean", "inf"], "--gmm-mean"),
    ("train-net", ["--gmm-split", "stratified"], "--gmm-split", "random, balanced"),
    ("train-net", ["--seeds", "0"], "--seeds", "[1, "),
    ("train-net", ["--width", "8,8"], "--width", "twice"),
    ("train-net", ["--width", "8,x"], "--width", "integers"),
    ("train-net", ["--arch", "paper-cnn"], "--arch", "paper-mlp"),
    ("train-net", ["--protocol", "nature"], "--protocol"),
    ("train-net", ["--protocol", "paper", "--out", "{tmp}/otherproto"], "--out", "another protocol"),
    ("train-net", ["--scheduler", "tcp://127.0.0.1:9"], "--scheduler", "cannot connect"),
    ("train-net", ["--scheduler", "localhost"], "--scheduler", "tcp://HOST:PORT"),
    ("train-net", ["--workers", "0"], "--workers"),
    ("train-net", ["--out", "{tmp}/corruptnet"], "--out", "corrupt checkpoint"),
]


def _setup(tmp: Path) -> None:
    """Files some rows need; the folder snapshot taken after this must be unchanged by the row."""
    (tmp / "text.npy").write_text("1 2 3\n4 5 6\n")
    np.save(tmp / "cube.npy", np.zeros((3, 4, 5)))
    np.save(tmp / "nan.npy", np.full((40, 4), np.nan))
    np.save(tmp / "good.npy", np.random.default_rng(0).standard_normal((40, 4)))
    (tmp / "sidecar_dir.json").mkdir()
    (tmp / "adir").mkdir()
    (tmp / "afile").write_text("not a folder\n")
    np.save(tmp / "d10.npy", np.arange(400.0).reshape(40, 10) % 7)
    (tmp / "clash" / "train_net.csv").mkdir(parents=True)  # train-net: its CSV path is a folder
    (tmp / "clash_json" / "train_net.json").mkdir(parents=True)  # ... or its sidecar path
    (tmp / "otherproto").mkdir()  # train-net: a run of the default protocol, resumed with --protocol paper
    (tmp / "otherproto" / "train_net.json").write_text(json.dumps({"protocol": {"arch": "mlp", "optimizer": "adam"}}))
    (tmp / "garbage.csv.partial.jsonl").write_text("garbage{{\n")
    from rfscore.analysis.phase import phase_point
    from rfscore.runtime.sweep import _header

    params = {"tau": [100.0], "d": 6, "t": 0.01, "activation": "tanh", "sigma": "1:1", "seed": 0, "model": "gep",
              "gap_threshold": 10.0}
    header = _header(params, phase_point)
    key = header["sweep"]["key"]
    (tmp / "foo.csv.partial.jsonl").write_text(json.dumps(header) + '\n{"foo": 1}\n{"foo": 2}\n')
    old = {"sweep": {"key": {**key, "numerics": "0" * 64}, "rfscore_version": __version__}}
    (tmp / "oldversion.csv.partial.jsonl").write_text(json.dumps(old) + "\n")
    legacy = {"sweep": {"rfscore_version": "0.0.1", "parameters": params}}
    (tmp / "legacy.csv.partial.jsonl").write_text(json.dumps(legacy) + "\n")
    other = {"sweep": {"key": {**key, "parameters": {**params, "d": 7}}, "rfscore_version": __version__}}
    (tmp / "otherparams.csv.partial.jsonl").write_text(json.dumps(other) + "\n")
    # issue 28: input files for the output guard, the overflow and the pipe rows; corrupt checkpoint records
    rng = np.random.default_rng(1)
    np.save(tmp / "w.npy", rng.standard_normal((12, 4)))
    np.save(tmp / "eye.npy", np.eye(4))
    np.save(tmp / "t.npy", rng.standard_normal((10, 4)))
    with open(tmp / "xj.json", "wb") as fh:  # a .npy file named like the sidecar of --out xj.csv
        np.save(fh, rng.standard_normal((40, 4)))
    (tmp / "link.npy").symlink_to(tmp / "good.npy")
    os.link(tmp / "good.npy", tmp / "hard.npy")
    np.save(tmp / "big.npy", np.full((40, 4), 1e200) * rng.standard_normal((40, 4)))
    np.save(tmp / "bigw.npy", np.full((12, 4), 1e200))
    np.save(tmp / "bigs.npy", np.eye(4) * 1e200)
    os.mkfifo(tmp / "pipe.npy")
    (tmp / "corruptnet").mkdir()  # train-net: a checkpoint file that is not one
    (tmp / "corruptnet" / "checkpoint_n4_w4_s0.npz").write_bytes(b"PK\x03\x04 not a checkpoint")
    (tmp / "net").mkdir()
    with open(tmp / "net" / "checkpoint_n4_w4_s0.npz", "wb") as fh:  # --data named like train-net's checkpoint
        np.save(fh, rng.standard_normal((40, 8)))
    point = json.dumps({"psi_n": 2.0, "psi_p": 4.0, **params}, sort_keys=True)
    bad = {"nullres": None, "negloss": [[2.0, 4.0, 100.0, -0.5, 0.3, 0.8, "memorization"]],
           "badregime": [[2.0, 4.0, 100.0, 0.5, 0.3, -0.2, "unknown"]], "shortrow": [[2.0, 4.0, 100.0]],
           "infloss": [[2.0, 4.0, 100.0, "inf", 0.3, 0.8, "memorization"]]}
    for name, result in bad.items():
        (tmp / f"{name}.csv.partial.jsonl").write_text(json.dumps(header) + "\n"
                                                       + json.dumps({"key": point, "result": result}) + "\n")
    (tmp / "deep.csv.partial.jsonl").write_text(json.dumps(header) + "\n" + "[" * 200000 + "\n"
                                                + json.dumps({"key": point, "result": bad["negloss"]}) + "\n")


def _snapshot(tmp: Path) -> dict:
    """Every path under ``tmp`` with its bytes (files), its mode and inode: any change, new or removed file shows."""
    snap = {}
    for p in sorted(tmp.rglob("*")):
        st = p.lstat()
        snap[str(p.relative_to(tmp))] = (p.read_bytes() if p.is_file() and not p.is_symlink() else "other",
                                         st.st_mode, st.st_ino)
    return snap


def run_cli(argv) -> int:
    try:
        return main(argv)
    except SystemExit as exc:  # argparse rejects before main's own handling
        return exc.code


def _row_id(row):
    return f"{row[0]}:{' '.join(row[1])}"[:80]


@pytest.mark.parametrize("row", ROWS, ids=[_row_id(r) for r in ROWS])
def test_bad_input(row, tmp_path, capsys):
    command, extra, option = row[:3]
    _setup(tmp_path)
    before = _snapshot(tmp_path)
    argv = [a.replace("{tmp}", str(tmp_path)) for a in BASE[command] + extra]
    rc = run_cli(argv)
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert rc == 2, (argv, err)
    assert len(lines) == 1 and "Traceback" not in err, err
    assert option in lines[0], (option, err)
    if len(row) > 3:
        assert row[3] in lines[0], (row[3], err)
    assert _snapshot(tmp_path) == before, "files were left behind or changed"


def test_table_covers_every_command():
    assert len(ROWS) >= 160
    new = ROWS[[i for i, r in enumerate(ROWS) if r[1] == ["--out", "{tmp}/clash_json"]][0] + 1:]
    assert len(new) >= 60  # issue 28's block
    assert {r[0] for r in ROWS} == set(COMMANDS)


def test_failed_plot_leaves_nothing(tmp_path, capsys, monkeypatch):
    # the plot fails after the CSV and sidecar were staged: all outputs or none
    import rfscore.figures.plots as plots

    def broken(*a, **k):
        raise OSError(28, "No space left on device", str(tmp_path / "o.png"))

    monkeypatch.setattr(plots, "plot_losses", broken)
    argv = [a.replace("{tmp}", str(tmp_path)) for a in BASE["dynamics"]] + ["--plot", str(tmp_path / "o.png")]
    rc = run_cli(argv)
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and "--plot" in err and "Traceback" not in err, err
    assert list(tmp_path.iterdir()) == []


def test_effective_ratios_label_the_table(tmp_path, capsys):
    # ψ_n = 2.04 at d = 10 runs n = 20: the table, fits and labels say 2.0; the sidecar keeps what was asked
    out = tmp_path / "ts.csv"
    rc = run_cli(["timescales", "--psi-p", "8", "--psi-n", "2.04,4", "--t", "0.01", "--d", "10", "--no-progress",
                  "--out", str(out)])
    stdout = capsys.readouterr().out
    assert rc == 0
    col = np.genfromtxt(out, delimiter=",", names=True)["psi_n"]
    np.testing.assert_array_equal(col, [2.0, 4.0] * 3)  # the default 3 seeds
    side = json.loads((tmp_path / "ts.json").read_text())
    assert side["parameters"]["psi_n"] == [2.04, 4.0] and side["psi_n_run"] == [2.0, 4.0]

    def no_constants(name):
        raise AssertionError(f"not strict JSON: {name}")

    last = json.loads(stdout.strip().splitlines()[-1], parse_constant=no_constants)  # a 2-point fit: CI is null
    ci = last["tau_single_peak_exponent_ci" if 1 in last["n_peaks"] else "tau_mem_exponent_ci"]  # n_peaks labels the fit
    assert ci == [None, None] or all(np.isfinite(ci))


def test_asymptotic_single_peak_reported_as_such(tmp_path, capsys):
    # at ψ_p = 0.5, ψ_n = 8 the d → ∞ timescale spectrum has one peak: no τ_gen = τ_mem pair is reported
    out = tmp_path / "a.csv"
    rc = run_cli(["asymptotic", "--psi-p", "0.5", "--psi-n", "8", "--t", "0.01", "--tau-min", "1", "--tau-max", "1e6",
                  "--num", "20", "--out", str(out)])
    err = capsys.readouterr().err
    side = json.loads((tmp_path / "a.json").read_text())
    assert rc == 0 and "single peak" in err
    assert side["timescale_peaks"] == 1 and side["tau_gen"] is None and side["tau_mem"] is None
    assert 1 < side["tau_peak"] < 1e6


def test_timescales_help_has_no_double_percent(capsys):
    assert run_cli(["timescales", "--help"]) == 0
    text = capsys.readouterr().out
    assert "95 %" in " ".join(text.split()) and "%%" not in text


@pytest.mark.slow  # longer than a few seconds on 2 cores: the full suite (CI) runs it
def test_ctrl_c_exits_130_with_resume_hint(tmp_path):
    """SIGINT to a real sweep: exit 130, one line naming the checkpoint, no traceback, finished points kept."""
    out = tmp_path / "phase.csv"
    psi_n = ",".join(str(2 + 0.5 * i) for i in range(200))  # 800 points: far more than finish before the signal
    cmd = [sys.executable, "-m", "rfscore", "phase", "--psi-p", "2,4,8,16", "--psi-n", psi_n, "--t", "0.01",
           "--d", "16", "--tau", "1e2", "--workers", "1", "--no-progress", "--out", str(out)]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "MPLBACKEND": "Agg"})
    ckpt = tmp_path / "phase.csv.partial.jsonl"
    deadline = time.monotonic() + 50
    while time.monotonic() < deadline and proc.poll() is None:
        if ckpt.exists() and len(ckpt.read_text().splitlines()) >= 3:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the sweep ended before it could be interrupted"
    assert len(ckpt.read_text().splitlines()) < 700, "the sweep was nearly done: it cannot test the interrupt"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    lines = err.strip().splitlines()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and len(lines) == 1, err
    assert "interrupted" in lines[0] and str(ckpt) in lines[0] and "resume" in lines[0]
    assert len(ckpt.read_text().splitlines()) >= 3 and not out.exists()
    # rerun on the finished part of the grid: every point comes from the checkpoint, which is then removed
    cmd[cmd.index("--psi-p") + 1], cmd[cmd.index("--psi-n") + 1] = "2", "2.0,2.5"
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env={**os.environ, "MPLBACKEND": "Agg"})
    assert done.returncode == 0, done.stderr
    assert len(out.read_text().splitlines()) == 1 + 2 and not ckpt.exists()


def test_shared_checks_api(tmp_path):
    """The mechanisms behind the table, called directly (as new commands call them)."""
    from rfscore.core.errors import InputError
    from rfscore.runtime.io import OutputSet, check_outputs
    from rfscore.runtime.resources import check_memory, format_bytes
    from rfscore.finite.inputs import effective_ratios, sizes

    with pytest.raises(InputError, match="needs about 2 GB of memory, more than the 1 GB available") as e:
        check_memory(2e9, "a test", "num", available=10**9)
    assert e.value.arg == "num"
    check_memory(1e9, "a test", "num", available=10**9)
    assert format_bytes(1.5e12) == "1.5 TB"
    assert effective_ratios([2.04, 4], 10) == [(20, 2.0), (40, 4.0)]
    with pytest.raises(InputError) as e:
        sizes(10, 0.01, 2)
    assert e.value.arg == "psi_p"
    paths = check_outputs(out=tmp_path / "a.csv", save_samples=tmp_path / "s.npz", plot=None)
    assert set(paths) == {"out", "save_samples"}
    with pytest.raises(InputError) as e:
        check_outputs(out=tmp_path / "a.csv", save_samples=tmp_path / "a.json")
    assert e.value.arg == "save_samples"
    with pytest.raises(RuntimeError):
        with OutputSet() as outs:
            outs.result(tmp_path / "a.csv", {"x": [1.0]}, {"k": 1})
            outs.npz(tmp_path / "s.npz", x=np.zeros(2))
            raise RuntimeError("a later step failed")
    assert list(tmp_path.iterdir()) == []
    with OutputSet() as outs:
        outs.result(tmp_path / "a.csv", {"x": [1.0]}, {"k": 1})
        outs.npz(tmp_path / "s.npz", x=np.zeros(2))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "a.json", "s.npz"]
    assert np.load(tmp_path / "s.npz")["x"].shape == (2,)


# --- issue 28: behaviours behind the rows that are not a plain exit 2
def test_plot_format_follows_the_extension(tmp_path, capsys):
    for ext, magic in (("pdf", b"%PDF"), ("svg", b"<?xml"), ("png", b"\x89PNG")):
        argv = [a.replace("{tmp}", str(tmp_path)) for a in BASE["asymptotic"]] + ["--plot", str(tmp_path / f"p.{ext}")]
        assert run_cli(argv) == 0, capsys.readouterr().err
        assert (tmp_path / f"p.{ext}").read_bytes()[:len(magic)] == magic
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_no_peak_message_names_the_ridge(tmp_path, capsys):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in BASE["asymptotic"]] + ["--ridge", "1e4"]
    assert run_cli(argv) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--ridge" in err and "widen" not in err, err
    assert list(tmp_path.iterdir()) == []


def test_every_command_but_constants_takes_no_progress(capsys):
    for command in COMMANDS:
        if command == "constants":
            continue
        assert run_cli([command, "--help"]) == 0
        assert "--no-progress" in capsys.readouterr().out, command


@pytest.mark.slow  # longer than a few seconds on 2 cores: the full suite (CI) runs it
def test_changed_input_between_interrupt_and_rerun_is_refused(tmp_path, capsys, monkeypatch):
    """generate --data X.npy interrupted after one point; X.npy changed; the rerun refuses to mix the two."""
    import rfscore.generative.generation as generation

    data = tmp_path / "X.npy"
    np.save(data, np.random.default_rng(0).standard_normal((60, 4)))
    original, calls = generation.generation_point, []

    @functools.wraps(original)  # the same sweep function name in the checkpoint's key
    def interrupted_after_one(**kw):
        calls.append(1)
        if len(calls) > 1:
            raise KeyboardInterrupt
        return original(**kw)

    monkeypatch.setattr(generation, "generation_point", interrupted_after_one)
    argv = ["generate", "--psi-p", "4", "--psi-n", "2,4", "--times", "4", "--tau", "1e2", "--samples", "10",
            "--seeds", "1", "--workers", "1", "--no-progress", "--data", str(data), "--test-fraction", "0.2",
            "--out", str(tmp_path / "o.csv")]
    assert run_cli(argv) == 130
    capsys.readouterr()
    ckpt = tmp_path / "o.csv.partial.jsonl"
    assert len(ckpt.read_text().splitlines()) == 2  # header and one finished point
    monkeypatch.setattr(generation, "generation_point", original)
    np.save(data, np.random.default_rng(1).standard_normal((60, 4)))  # same path, new content
    before = ckpt.read_bytes()
    assert run_cli(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--out" in err and "--data" in err and "contents" in err, err
    assert ckpt.read_bytes() == before and not (tmp_path / "o.csv").exists()
    assert run_cli(argv + ["--restart"]) == 0  # a fresh run on the new file
    assert not ckpt.exists() and (tmp_path / "o.csv").exists()


def test_help_texts_come_from_the_range_objects(capsys):
    from rfscore.cli.common import RATIO_RANGE, RIDGE_RANGE, TAU_RANGE

    for command, texts in (("phase", [TAU_RANGE.text, RIDGE_RANGE.text]), ("generate", [TAU_RANGE.text]),
                           ("curve", [TAU_RANGE.text, RATIO_RANGE.text]),
                           ("dynamics", [TAU_RANGE.text, RIDGE_RANGE.text]),
                           ("asymptotic", [TAU_RANGE.text, RATIO_RANGE.text, RIDGE_RANGE.text])):
        assert run_cli([command, "--help"]) == 0
        text = " ".join(capsys.readouterr().out.split())
        for t in texts:
            assert t in text, (command, t)
