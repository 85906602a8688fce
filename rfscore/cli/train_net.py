"""`rfscore train-net`: train time-conditioned ε-prediction networks per n beside the RF theory (theory/trained_networks.md)."""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import jax

from ..analysis.networks import combined_status, exponent_table, protocol_of, run_readoffs
from ..core.errors import ConvergenceError, InputError
from ..networks.data import GMM, GMM_D, check_gmm_split, load_net_data
from ..runtime.io import OutputSet
from ..runtime.resources import check_memory, net_bytes
from ..runtime.sweep import SweepRunner, check_scheduler, connect, run_sweep
from .common import Range, guard_outputs, positive_float, positive_int, seed

EXTRA = 'pip install "rfscore[nets]"'
OUT_CSV = "train_net.csv"
STEPS_LIMIT = 10**9
WIDTH_LIMIT = 4096


def _n_list(text):
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


# --protocol: the values of the protocol-setting options (an option given explicitly overrides them).
# 'paper' is the mixture protocol of the paper's SM B (theory/trained_networks.md §8, (N7)-(N10)).
PROTOCOLS = {
    "default": {"arch": "mlp", "width": None, "optimizer": "adam", "lr": 1e-3, "momentum": 0.9, "batch": "auto",
                "time_sampling": "loguniform", "gmm_mean": 0.8, "gmm_std": 0.6, "gmm_split": "random", "sampler_steps": 0,
                "samples": 2000},
    "paper": {"arch": "paper-mlp", "width": [128], "optimizer": "sgd", "lr": 6e-3, "momentum": 0.95, "batch": "full",
              "time_sampling": "ddpm", "gmm_mean": 1.0, "gmm_std": 1.0, "gmm_split": "random", "sampler_steps": 1000,
              "samples": 1000},
}
SEEDS_LIMIT = 1000
SAMPLER_STEPS_LIMIT = 100000
# the ranges of the options resolved after parsing (a --protocol value or the option given): one Range each
STEPS_RANGE = Range(1, STEPS_LIMIT, integer=True)
SEEDS_RANGE = Range(1, SEEDS_LIMIT, integer=True)
SAMPLER_STEPS_RANGE = Range(1, SAMPLER_STEPS_LIMIT, integer=True)
BATCH_RANGE = Range(1, 10**9, integer=True)
MOMENTUM_RANGE = Range(0.0, 1.0, hi_open=True)
GMM_MEAN_RANGE = Range(-1e3, 1e3)
GMM_STD_RANGE = Range(0.0, 1e3, lo_open=True)
LR_RANGE = Range(0.0, 10.0, lo_open=True)


def _width_list(text):
    out = []
    for item in str(text).split(","):
        try:
            v = int(item.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be integers in [1, {WIDTH_LIMIT}] separated by commas, "
                                             f"got {item.strip()!r}") from None
        if not 1 <= v <= WIDTH_LIMIT:
            raise argparse.ArgumentTypeError(f"every width must be an integer in [1, {WIDTH_LIMIT}], got {v}")
        if v in out:
            raise argparse.ArgumentTypeError(f"width {v} is given twice")
        out.append(v)
    return out


def register(sub) -> None:
    p = sub.add_parser(
        "train-net", help="train score networks (residual MLP, U-Net) per n: f_mem, Fréchet, KL, losses over τ",
        description="Train one time-conditioned ε-prediction network per training-set size n with the denoising "
                    "loss (t log-uniform on [t_min, T] or the paper's DDPM law, fresh t and noise every step; "
                    "theory/trained_networks.md (N2)-(N3), (N8)), and at checkpoints on a log grid of steps, refined "
                    "where f_mem moves (N11), sample it with rfscore's reverse-time sampler (score -ε/√Δ_t, (N4)) or "
                    "Euler-Maruyama in DDPM time (N9) and write one row per (n, W, seed, checkpoint) to "
                    "OUT/train_net.csv: f_mem with its Wilson 95 % interval, the Fréchet distance to the held-out rows, for --data "
                    "gmm the KL estimate (N6) (nan otherwise), and the train and test losses at t = 0.01; "
                    "τ = steps × lr (N5). Resumable: after Ctrl-C the same command continues from the last "
                    "checkpoint of each run (OUT/checkpoint_nN_wW_sS.npz). Needs the extra rfscore[nets] (equinox).")
    p.add_argument("--data", default="gmm",
                   help="'gmm' (the two-Gaussian mixture (N1), d = 8; default), 'digits' (8×8, d = 64) or X.npy (n, d)")
    p.add_argument("--protocol", default="default", choices=sorted(PROTOCOLS),
                   help="'default' (the options' defaults below) or 'paper': the paper's mixture protocol (SM B): "
                        "--gmm-mean 1 --gmm-std 1 --arch paper-mlp --width 128 --optimizer sgd --lr 6e-3 --momentum "
                        "0.95 --batch full --time-sampling ddpm --sampler-steps 1000 (theory/trained_networks.md §8); "
                        "options given explicitly override it")
    p.add_argument("--arch", default=None,
                   help="mlp (residual MLP with a time embedding; default), paper-mlp (the paper's residual MLP (N10)) "
                        "or unet (small U-Net for 8×8 images, d = 64)")
    p.add_argument("--width", type=_width_list, default=None,
                   help=f"comma-separated hidden widths (mlp default 256, paper-mlp 128) or base channels (unet, "
                        f"default 32), integers in [1, {WIDTH_LIMIT}]; one run per width")
    p.add_argument("--gmm-mean", type=str, default=None,
                   help="--data gmm: the entry of μ = m·(1, …, 1), finite (default 0.8; paper 1)")
    p.add_argument("--gmm-std", type=str, default=None,
                   help="--data gmm: the component standard deviation s > 0 (default 0.6; paper 1)")
    p.add_argument("--gmm-split", default=None,
                   help="--data gmm: how the training rows' components are drawn: 'random' (a fair coin per row, the "
                        "mixture law; default) or 'balanced' (alternating, n/2 rows of each for even n, as the paper's "
                        "data; theory/trained_networks.md §8)")
    p.add_argument("--n", type=_n_list, default=[32, 256], help="comma-separated training-set sizes n >= 2 (default 32,256)")
    p.add_argument("--steps", type=str, default="10000", help=f"training steps per n, integer {STEPS_RANGE.text} (default 10000)")
    p.add_argument("--seed", type=seed, default=0, help="PRNG seed, 0 <= seed < 2^63 (default 0): data, init, training, sampling")
    p.add_argument("--seeds", type=str, default="1",
                   help=f"number K of seeds, integer {SEEDS_RANGE.text}: runs seed, seed + 1, …, seed + K - 1 "
                        "(each its own data, initialisation, draws; default 1)")
    p.add_argument("--optimizer", default=None, help="adam (default) or sgd (heavy-ball momentum --momentum)")
    p.add_argument("--momentum", type=str, default=None, help=f"SGD momentum {MOMENTUM_RANGE.text} (default 0.9; paper 0.95)")
    p.add_argument("--lr", type=positive_float, default=None, help="learning rate > 0 (default 1e-3; paper 6e-3); "
                                                                   "τ = steps × lr (N5)")
    p.add_argument("--batch", default=None,
                   help="rows per step: 'full' (B = n) or an integer 1 <= B <= n (default min(n, 512); paper full)")
    p.add_argument("--time-sampling", default=None,
                   help="the law of t in the loss: loguniform on [1e-3, 3] ((N3), default) or ddpm (the paper's "
                        "schedule, t = -½ log ᾱ_k, k uniform in 1 … 1000, (N7)-(N8))")
    p.add_argument("--sampler-steps", type=str, default=None,
                   help="K: sample by Euler–Maruyama with K uniform steps in the DDPM time ((N9); paper 1000); "
                        "without it the grid sampler (Y3) on --times")
    p.add_argument("--until-plateau", action="store_true",
                   help="stop each run once f_mem has plateaued ((N11): f_mem ≥ 0.1 and the last 3 checkpoints, "
                        "spanning a factor ≥ 2 in steps, have overlapping 95 %% intervals), else at --steps")
    p.add_argument("--samples", type=positive_int, default=None,
                   help="samples per checkpoint >= 2 (default 2000; 1000 with --protocol paper, whose samples cost "
                        "1000 sampler steps each)")
    p.add_argument("--checkpoints", type=positive_int, default=12,
                   help="number of log-spaced checkpoints from step 100 (or --steps) to --steps (default 12)")
    p.add_argument("--times", type=positive_int, default=24, help="sampler grid times K >= 2, log-spaced in [1e-3, 3] (default 24)")
    p.add_argument("--out", required=True, help="output folder (created if its parent exists): train_net.csv, "
                                                "train_net.json, checkpoints, samples")
    p.add_argument("--save-samples", action="store_true",
                   help="keep each checkpoint's samples as OUT/samples_nN_wW_sS_stepK.npz (samples, X, tau, f_mem)")
    p.add_argument("--no-refine", action="store_true",
                   help="checkpoints on the log grid only (default: refined where f_mem moves, (N11))")
    p.add_argument("--workers", type=positive_int, default=None,
                   help="local worker processes over the (n, width, seed) jobs (default min(jobs, CPU cores)); 1 runs "
                        "them in this process")
    p.add_argument("--scheduler", default=None,
                   help="run the jobs on a Dask cluster at tcp://HOST:PORT (the extra rfscore[dask]); --out must be a "
                        "folder the workers can write (their checkpoints), the CSV is written here")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=run)


def resolve(args) -> dict:
    """The protocol of a command: --protocol's values, overridden by every option given explicitly; validated."""
    proto = dict(PROTOCOLS[args.protocol])
    for k in proto:
        if getattr(args, k) is not None:
            proto[k] = getattr(args, k)
    if proto["arch"] not in ("mlp", "paper-mlp", "unet"):
        raise InputError("arch", f"must be mlp, paper-mlp or unet, got {proto['arch']!r}")
    if proto["optimizer"] not in ("adam", "sgd"):
        raise InputError("optimizer", f"must be adam or sgd, got {proto['optimizer']!r}")
    if proto["time_sampling"] not in ("loguniform", "ddpm"):
        raise InputError("time_sampling", f"must be loguniform or ddpm, got {proto['time_sampling']!r}")
    proto["momentum"] = MOMENTUM_RANGE.value(proto["momentum"], "momentum")
    proto["gmm_mean"] = GMM_MEAN_RANGE.value(proto["gmm_mean"], "gmm_mean")
    proto["gmm_std"] = GMM_STD_RANGE.value(proto["gmm_std"], "gmm_std")
    check_gmm_split(proto["gmm_split"])
    proto["sampler_steps"] = SAMPLER_STEPS_RANGE.value(proto["sampler_steps"], "sampler_steps") \
        if args.sampler_steps is not None else int(proto["sampler_steps"])
    LR_RANGE.value(proto["lr"], "lr")
    b = str(proto["batch"])
    if b not in ("auto", "full"):
        B = BATCH_RANGE.value(b, "batch")
        if B > min(args.n):
            raise InputError("batch", f"must be 'full' or an integer in [1, n] = [1, {min(args.n)}] (the smallest "
                                      f"--n), got {B}")
        b = str(B)
    proto["batch"] = b
    proto["data"] = args.data
    return proto


def _validate(args):
    steps = STEPS_RANGE.value(args.steps, "steps")
    seeds = SEEDS_RANGE.value(args.seeds, "seeds")
    if args.seed + seeds > 2**63:
        raise InputError("seeds", f"seed + seeds - 1 must be < 2^63, got {args.seed} + {seeds} - 1")
    proto = resolve(args)
    if proto["samples"] < 2:
        raise InputError("samples", f"needs at least 2 samples, got {proto['samples']}")
    if args.times < 2:
        raise InputError("times", f"needs at least 2 grid times, got {args.times}")
    if not str(args.out).strip():
        raise InputError("out", "is empty; give a folder name")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise InputError("out", f"{out} exists and is not a folder; --out names a folder")
    if not out.exists() and not (out.parent if str(out.parent) else Path(".")).is_dir():
        raise InputError("out", f"the folder {out.parent} of {out} does not exist")
    return steps, seeds, proto, out


def _check_resume(out: Path, protocol: dict, fingerprints: dict) -> None:
    """A resumed --out must hold the same protocol (sidecar) and its checkpoints the same fingerprints."""
    from ..networks.training import read_fingerprint  # start-up time: equinox, optax on training only

    side = out / "train_net.json"
    if side.is_file():
        try:
            old = protocol_of(json.loads(side.read_text()))
        except (OSError, ValueError):
            old = None
        if old is not None and old != protocol:
            diff = sorted(k for k in set(old) | set(protocol) if old.get(k) != protocol.get(k))
            k = diff[0]
            raise InputError("out", f"{out} holds a run of another protocol ({k} = {old.get(k)!r} there, "
                                         f"{protocol.get(k)!r} now); choose another --out")
    for path, fp in fingerprints.items():
        if path.exists():
            old = read_fingerprint(path)
            if old is not None and old != fp:
                raise InputError("out", f"{path} is a checkpoint of a run with other parameters (protocol, "
                                             "--steps or --checkpoints) or another content of --data; choose "
                                             "another --out or delete it")


def _check_net_memory(args, d: int, width: int, samples: int) -> None:
    """Memory of the largest n (every factor: n, d, --samples, --width, --times), before any array is made."""
    n = max(args.n)
    nbytes = net_bytes(n, d, samples, width, args.times)
    arg = "samples" if net_bytes(2, d, samples, width, args.times) > nbytes / 2 else "n"
    check_memory(nbytes, f"train-net at n = {n}, d = {d}, {samples} samples", arg)


def _check_diverged(runs) -> None:
    """ConvergenceError (exit 1, no CSV or sidecar written) with the message of the first run that diverged (a non-finite
    parameter, loss or sample: its numbers are wrong); a run that only missed its plateau is written, flagged."""
    for r in runs:
        if r.diverged_at is not None:
            raise ConvergenceError(r.message)


def run(args) -> int:
    steps, seeds, proto, out = _validate(args)
    try:
        import equinox  # noqa: F401
    except ImportError:
        raise InputError("arch", f"--arch {proto['arch']} needs equinox, the extra rfscore[nets]: {EXTRA}") from None
    from ..networks.models import DEFAULT_WIDTH  # start-up time: equinox, optax on training only
    from ..networks.training import TrainConfig  # start-up time: equinox, optax on training only

    seed_list = [args.seed + i for i in range(seeds)]
    widths = proto["width"] or [DEFAULT_WIDTH[proto["arch"]]]
    if args.data == GMM:  # the mixture's pool of max(n) rows is drawn: check before drawing it
        _check_net_memory(args, GMM_D, max(widths), proto["samples"])
    datas = {s: load_net_data(args.data, jax.random.PRNGKey(s), max(args.n), mean=proto["gmm_mean"],
                              std=proto["gmm_std"], split=proto["gmm_split"]) for s in seed_list}
    d = datas[seed_list[0]].d
    if proto["arch"] == "unet" and d != 64:
        raise InputError("data", f"--arch unet needs 8×8 images (d = 64 columns), but {args.data} has d = {d}")
    _check_net_memory(args, d, max(widths), proto["samples"])
    proto["width"] = widths
    protocol = {k: v for k, v in proto.items() if k != "width"}

    def config(w, s):
        return TrainConfig(arch=proto["arch"], width=w, steps=steps, seed=s, optimizer=proto["optimizer"],
                           lr=proto["lr"], times=args.times, samples=proto["samples"], checkpoints=args.checkpoints,
                           momentum=proto["momentum"], batch=proto["batch"], time_sampling=proto["time_sampling"],
                           sampler_steps=proto["sampler_steps"], until_plateau=args.until_plateau,
                           refine=not args.no_refine)

    jobs = [(n, w, s) for s in seed_list for w in widths for n in args.n]
    check_scheduler(args.scheduler)
    workers = args.workers or min(len(jobs), os.cpu_count() or 1)
    client, own = connect(args.scheduler) if args.scheduler is not None else (None, False)  # before any file
    try:
        return _run_jobs(args, steps, proto, protocol, out, datas, seed_list, widths, d, jobs, config, workers, client)
    finally:
        if own:
            client.close()


def _run_jobs(args, steps, proto, protocol, out, datas, seed_list, widths, d, jobs, config, workers, client) -> int:
    from ..networks.training import (HEADER, NetRun, TrainConfig, checkpoint_path, checkpoint_steps, columns,
                                     data_digest, fingerprint, readoffs, train_job, train_one)  # start-up time: equinox

    if out.exists():  # the CSV, sidecar and checkpoints must be writable files, none of them an input file
        guard_outputs(args, out=out / OUT_CSV, **{f"checkpoint_{n}_{w}_{s}": (checkpoint_path(out, n, w, s), "out")
                                                  for n, w, s in jobs})
        _check_resume(out, protocol, {checkpoint_path(out, n, w, s): fingerprint(config(w, s), datas[s].info(), n,
                                                                                 args.save_samples,
                                                                                 data_digest(datas[s]))
                                      for n, w, s in jobs})
    else:
        out.mkdir()
    grid = checkpoint_steps(steps, args.checkpoints, TrainConfig.first_checkpoint)
    bar = None
    if not args.no_progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=steps * len(jobs), unit="step", desc="train-net", file=sys.stderr)
    done = {}

    def progress_of(job):
        def progress(n, step):
            if bar is not None:
                bar.update(step - done.get(job, 0))
            done[job] = step
        return progress

    runs = []
    t0 = time.perf_counter()
    try:
        if client is None and (workers <= 1 or len(jobs) <= 1):
            for n, w, s in jobs:
                # throw=False: a run that ends at --steps before its plateau is written with its flags (exit 0);
                # a diverged run leaves with exit 1, nothing written (_check_diverged)
                runs.append(train_one(datas[s], n, config(w, s), out, save_samples=args.save_samples,
                                      on_progress=progress_of((n, w, s)), throw=False))
                _check_diverged(runs[-1:])
        else:
            if bar is not None:
                bar.close()
                bar = None
            points = [dict(data=args.data, max_n=max(args.n), gmm_mean=proto["gmm_mean"], gmm_std=proto["gmm_std"],
                           gmm_split=proto["gmm_split"], n=n, config=config(w, s).to_dict(), folder=str(out.resolve()),
                           save_samples=args.save_samples, throw=False) for n, w, s in jobs]
            res = run_sweep(train_job, points, runner=SweepRunner(workers=workers, scheduler=client),
                            desc="train-net jobs",
                            progress=not args.no_progress)
            runs = [NetRun(r["n"], r["rows"], r["num_params"], r["seconds"], r["resumed_from"], r["info"],
                           r["converged"], r["message"], r["diverged_at"]) for r in res]
            _check_diverged(runs)
    except KeyboardInterrupt:
        if bar is not None:
            bar.close()
        print(f"rfscore train-net: interrupted; checkpoints are kept in {out}/checkpoint_*.npz; rerun the same "
              f"command to resume", file=sys.stderr)
        return 130
    finally:
        if bar is not None:
            bar.close()
    params = dict(config(widths[0], args.seed).to_dict(), data=args.data, n=args.n, width=widths, seeds=seed_list,
                  protocol_name=args.protocol, save_samples=args.save_samples, workers=workers,
                  scheduler=args.scheduler)
    # throw=False: censored read-offs and fits lacking points are flagged in the CSV's sidecar (status, per row
    # converged) and the command exits 0, as before: the numbers written are right, their censoring is recorded
    run_reads = [readoffs(r.rows, throw=False) for r in runs]
    reads = {f"n{r.n}_w{r.info['width']}_s{r.info['seed']}": dict(ro, plateau=r.info["plateau"],
                                                                  last_step=r.info["last_step"],
                                                                  converged=r.converged and ro.converged,
                                                                  message="; ".join(m for m in (r.message, ro.message)
                                                                                    if m))
             for r, ro in zip(runs, run_reads)}
    cols = columns(runs)
    table = run_readoffs(cols, plateau={(r.info["width"], r.info["seed"], r.n): r.info["plateau"] for r in runs},
                         throw=False)
    exponents = exponent_table(table, d=d, throw=False)
    status = combined_status(*runs, *run_reads, table, exponents)
    t_law = ("DDPM: t_k = -1/2 log abar_k, beta linear 1e-4..2e-2, T = 1000, k uniform in 1..1000 (N7)-(N8)"
             if proto["time_sampling"] == "ddpm" else "log-uniform on [t_min, t_max] (N3)")
    sampler = (f"Euler-Maruyama, {proto['sampler_steps']} uniform steps in the DDPM index (N9)"
               if proto["sampler_steps"] else f"grid sampler (Y3) on {args.times} log-spaced times")
    with OutputSet() as outs:
        # kl is defined for the mixture only (the true score is known there): NaN (written nan) for real data
        outs.result(out / OUT_CSV, cols, params, header=HEADER, undefined=("kl",),
                    dataset=datas[seed_list[0]].info(), protocol=protocol, checkpoint_steps=grid,
                    device=jax.default_backend(), num_params={str(w): next(r.num_params for r in runs
                                                                          if r.info["width"] == w) for w in widths},
                    seconds={k: r.seconds for k, r in zip(reads, runs)},
                    resumed_from_step={k: r.resumed_from for k, r in zip(reads, runs)}, readoffs=reads,
                    readoff_table=table, exponents=exponents,
                    status={"converged": status.converged, "error": None, "message": status.message},
                    conventions={"tau": "tau = steps * lr (N5); the paper's tau (number of updates) is the step column",
                                 "t_distribution": t_law, "sampler": sampler,
                                 "loss": "(1/d)||eps_theta(x_t, t) - xi||^2 (N2), reported at t = 0.01",
                                 "kl": "KL estimate per dimension (N6), gmm only",
                                 "frechet": "Frechet distance between the Gaussian fits of samples and held-out rows",
                                 "batch": "rows per update (the batch column): " + {
                                     "auto": "min(n, 512)", "full": "n"}.get(proto["batch"], proto["batch"]),
                                 "checkpoints": "log grid refined where f_mem moves (N11)"},
                    total_seconds=time.perf_counter() - t0)
    return 0
