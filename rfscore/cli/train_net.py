"""`rfscore train-net`: train time-conditioned ε-prediction networks per n beside the RF theory (theory/trained_networks.md)."""
from __future__ import annotations

import math
import sys
import time
from pathlib import Path

from ..core.errors import ConvergenceError, InputError
from .common import guard_outputs, positive_float, positive_int, seed

EXTRA = 'pip install "rfscore[nets]"'
OUT_CSV = "train_net.csv"
STEPS_LIMIT = 10**9
WIDTH_LIMIT = 4096


def _n_list(text):
    import argparse

    out = []
    for item in str(text).split(","):
        item = item.strip()
        if not item:
            raise argparse.ArgumentTypeError(f"has an empty item in {text!r}: write sizes separated by single commas")
        try:
            v = int(item)
        except ValueError:
            raise argparse.ArgumentTypeError(f"every n must be an integer >= 2, got {item!r}") from None
        if v < 2:
            raise argparse.ArgumentTypeError(f"every n must be an integer >= 2 (the copy criterion needs two "
                                             f"training points), got {item}")
        if v in out:
            raise argparse.ArgumentTypeError(f"n = {v} is given twice")
        out.append(v)
    return out


def register(sub) -> None:
    p = sub.add_parser(
        "train-net", help="train score networks (residual MLP, U-Net) per n: f_mem, Fréchet, KL, losses over τ",
        description="Train one time-conditioned ε-prediction network per training-set size n with the denoising "
                    "loss (t log-uniform on [t_min, T], fresh t and noise every step; theory/trained_networks.md "
                    "(N2)-(N3)), and at checkpoints on a log grid of steps sample it with rfscore's reverse-time "
                    "sampler (score -ε/√Δ_t, (N4)) and write one row per (n, checkpoint) to OUT/train_net.csv: "
                    "f_mem with its Wilson 95 %% interval, the Fréchet distance to the held-out rows, for --data "
                    "gmm the KL estimate (N6) (nan otherwise), and the train and test losses at t = 0.01; "
                    "τ = steps × lr (N5). Resumable: after Ctrl-C the same command continues from the last "
                    "checkpoint of each n (OUT/checkpoint_nN.npz). Needs the extra rfscore[nets] (equinox).")
    p.add_argument("--data", default="gmm",
                   help="'gmm' (the two-Gaussian mixture (N1), d = 8; default), 'digits' (8×8, d = 64) or X.npy (n, d)")
    p.add_argument("--arch", default="mlp",
                   help="mlp (residual MLP with a time embedding; default) or unet (small U-Net for 8×8 images, d = 64)")
    p.add_argument("--width", type=str, default=None,
                   help=f"hidden width (mlp, default 256) or base channels (unet, default 32), integer in [1, {WIDTH_LIMIT}]")
    p.add_argument("--n", type=_n_list, default=[32, 256], help="comma-separated training-set sizes n >= 2 (default 32,256)")
    p.add_argument("--steps", type=str, default="10000", help=f"training steps per n, integer in [1, {STEPS_LIMIT}] (default 10000)")
    p.add_argument("--seed", type=seed, default=0, help="PRNG seed, 0 <= seed < 2^63 (default 0): data, init, training, sampling")
    p.add_argument("--optimizer", default="adam", help="adam (default) or sgd (momentum 0.9)")
    p.add_argument("--lr", type=positive_float, default=1e-3, help="learning rate > 0 (default 1e-3); τ = steps × lr")
    p.add_argument("--samples", type=positive_int, default=2000, help="samples per checkpoint >= 2 (default 2000)")
    p.add_argument("--checkpoints", type=positive_int, default=12,
                   help="number of log-spaced checkpoints from step 100 (or --steps) to --steps (default 12)")
    p.add_argument("--times", type=positive_int, default=24, help="sampler grid times K >= 2, log-spaced in [1e-3, 3] (default 24)")
    p.add_argument("--out", required=True, help="output folder (created if its parent exists): train_net.csv, "
                                                "train_net.json, checkpoints, samples")
    p.add_argument("--save-samples", action="store_true",
                   help="keep each checkpoint's samples as OUT/samples_nN_stepS.npz (samples, X, tau, f_mem)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=run)


def _int_in(text, arg, lo, hi) -> int:
    try:
        v = int(text)
    except (TypeError, ValueError):
        raise InputError(arg, f"must be an integer, got {text!r}") from None
    if not lo <= v <= hi:
        raise InputError(arg, f"must be an integer in [{lo}, {hi}], got {text}")
    return v


def _validate(args):
    if args.arch not in ("mlp", "unet"):
        raise InputError("arch", f"must be mlp or unet, got {args.arch!r}")
    if args.optimizer not in ("adam", "sgd"):
        raise InputError("optimizer", f"must be adam or sgd, got {args.optimizer!r}")
    steps = _int_in(args.steps, "steps", 1, STEPS_LIMIT)
    width = None if args.width is None else _int_in(args.width, "width", 1, WIDTH_LIMIT)
    if args.samples < 2:
        raise InputError("samples", f"needs at least 2 samples, got {args.samples}")
    if args.times < 2:
        raise InputError("times", f"needs at least 2 grid times, got {args.times}")
    if not math.isfinite(args.lr) or args.lr > 10:
        raise InputError("lr", f"must be in (0, 10], got {args.lr:g}")
    if not str(args.out).strip():
        raise InputError("out", "is empty; give a folder name")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise InputError("out", f"{out} exists and is not a folder; --out names a folder")
    if not out.exists() and not (out.parent if str(out.parent) else Path(".")).is_dir():
        raise InputError("out", f"the folder {out.parent} of {out} does not exist")
    return steps, width, out


def _check_net_memory(args, d: int, width: int) -> None:
    """Memory of the largest n (every factor: n, d, --samples, --width, --times), before any array is made."""
    from ..runtime.resources import check_memory, net_bytes
    n = max(args.n)
    nbytes = net_bytes(n, d, args.samples, width, args.times)
    arg = "samples" if net_bytes(2, d, args.samples, width, args.times) > nbytes / 2 else "n"
    check_memory(nbytes, f"train-net at n = {n}, d = {d}, {args.samples} samples", arg)


def run(args) -> int:
    steps, width, out = _validate(args)
    try:
        import equinox  # noqa: F401
    except ImportError:
        raise InputError("arch", f"--arch {args.arch} needs equinox, the extra rfscore[nets]: {EXTRA}") from None
    import jax

    from ..networks.data import GMM, GMM_D, load_net_data
    from ..networks.models import DEFAULT_WIDTH
    from ..networks.training import (HEADER, TrainConfig, checkpoint_path, checkpoint_steps, columns, readoffs,
                                     train_one)
    from ..runtime.io import OutputSet

    width = DEFAULT_WIDTH[args.arch] if width is None else width
    if args.data == GMM:  # the mixture's pool of max(n) rows is drawn: check before drawing it
        _check_net_memory(args, GMM_D, width)
    data = load_net_data(args.data, jax.random.PRNGKey(args.seed), max(args.n))
    if args.arch == "unet" and data.d != 64:
        raise InputError("data", f"--arch unet needs 8×8 images (d = 64 columns), but {data.name} has d = {data.d}")
    _check_net_memory(args, data.d, width)
    cfg = TrainConfig(arch=args.arch, width=width, steps=steps, seed=args.seed, optimizer=args.optimizer, lr=args.lr,
                      times=args.times, samples=args.samples, checkpoints=args.checkpoints)
    existed = out.exists()
    if existed:  # the CSV, sidecar and checkpoints must be writable files, none of them an input file
        guard_outputs(args, out=out / OUT_CSV, **{f"checkpoint_n{n}": (checkpoint_path(out, n), "out") for n in args.n})
    else:
        out.mkdir()
    grid = checkpoint_steps(steps, args.checkpoints, cfg.first_checkpoint)
    bar = None
    if not args.no_progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=steps * len(args.n), unit="step", desc="train-net", file=sys.stderr)
    done = {}

    def progress(n, step):
        if bar is not None:
            bar.update(step - done.get(n, 0))
        done[n] = step

    runs = []
    t0 = time.perf_counter()
    try:
        for n in args.n:
            runs.append(train_one(data, n, cfg, out, save_samples=args.save_samples, on_progress=progress))
    except ConvergenceError as exc:
        if "--steps-per-time" not in str(exc):  # the sampler's hint names an option of `rfscore generate`
            raise
        raise ConvergenceError(f"the network's samples are non-finite: training diverged with --optimizer "
                               f"{args.optimizer} --lr {args.lr:g}; use a smaller --lr") from None
    except KeyboardInterrupt:
        if bar is not None:
            bar.close()
        print(f"rfscore train-net: interrupted; checkpoints are kept in {out}/checkpoint_n*.npz; rerun the same "
              f"command to resume", file=sys.stderr)
        return 130
    finally:
        if bar is not None:
            bar.close()
    params = dict(cfg.to_dict(), data=args.data, n=args.n, save_samples=args.save_samples)
    reads = {str(r.n): readoffs(r.rows) for r in runs}
    with OutputSet() as outs:
        # kl is defined for the mixture only (the true score is known there): NaN (written nan) for real data
        outs.result(out / OUT_CSV, columns(runs), params, header=HEADER, undefined=("kl",),
                    dataset=data.info(), checkpoint_steps=grid, device=jax.default_backend(),
                    num_params=runs[0].num_params, seconds={str(r.n): r.seconds for r in runs},
                    resumed_from_step={str(r.n): r.resumed_from for r in runs}, readoffs=reads,
                    conventions={"tau": "tau = steps * lr (N5)", "t_distribution": "log-uniform on [t_min, t_max] (N3)",
                                 "loss": "(1/d)||eps_theta(x_t, t) - xi||^2 (N2), reported at t = 0.01",
                                 "kl": "KL estimate per dimension (N6), gmm only",
                                 "frechet": "Frechet distance between the Gaussian fits of samples and held-out rows",
                                 "batch": "min(n, 512)"},
                    total_seconds=time.perf_counter() - t0)
    return 0
