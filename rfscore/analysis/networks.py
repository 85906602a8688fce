"""Trained networks against the random-features theory: read-offs, exponents, collapse (theory/trained_networks.md §7).

Input: the rows of one or more `rfscore train-net` runs (train_net.csv + sidecar), collected into one
table with the columns of `rfscore.networks.training.HEADER` plus ``width`` and ``arch`` (`collect`).
Output: per (arch, width, seed, n) τ_mem (first τ with f_mem ≥ 0.1, (Y11)) and τ_gen (Fréchet within 10 %
of its minimum, (Y10)); exponents of τ in n with 95 % CIs (`rfscore.analysis.timescales.fit_exponent`:
Student-t over the per-seed slopes with ≥ 2 seeds, OLS with one); the collapse f_mem/f_mem(τ_max)
against τ/n; and the random-features prediction for the same data law (its covariance), d and n
(`rf_prediction`, through `rfscore.generative.generation.generation_experiment`). Needs no equinox.
"""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np

from ..core.errors import InputError
from ..generative.generation import generation_experiment, tau_gen_samples, tau_mem_samples
from ..runtime.io import write_result
from .timescales import fit_exponent

RUN_COLUMNS = ("arch", "width", "n", "seed", "step", "tau", "f_mem", "f_mem_lo", "f_mem_hi", "frechet", "kl",
               "train_loss", "test_loss")
# covariance of the mixture (N1): Σ = μμᵀ + s²I, eigenvalues s² (d - 1 times) and s² + ‖μ‖² (once), d = 8
GMM_SIGMA_SPECTRUM = "0.36:0.875,5.48:0.125"


def read_csv(path) -> dict:
    """A CSV as columns: numbers as float arrays (empty -> NaN), text as object arrays."""
    with open(path) as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        raise InputError("runs", f"{path} has no rows")
    out = {}
    for k in rows[0]:
        vals = [r[k] for r in rows]
        try:
            out[k] = np.array([float(v) if v != "" else math.nan for v in vals])
        except ValueError:
            out[k] = np.array(vals, dtype=object)
    return out


def collect(run_dirs) -> dict:
    """The rows of several `rfscore train-net` output folders as one table (RUN_COLUMNS), arch and width
    from each sidecar."""
    cols = {k: [] for k in RUN_COLUMNS}
    for folder in run_dirs:
        folder = Path(folder)
        side = json.loads((folder / "train_net.json").read_text())
        table = read_csv(folder / "train_net.csv")
        m = len(table["n"])
        cols["arch"] += [side["parameters"]["arch"]] * m
        # the width column (one run per width since --width takes a list); older runs: the sidecar's one width
        cols["width"] += list(table["width"]) if "width" in table else [side["parameters"]["width"]] * m
        for k in RUN_COLUMNS[2:]:
            cols[k] += list(table[k])
    return {k: np.array(v, dtype=object if k == "arch" else np.float64) for k, v in cols.items()}


def readoffs(table: dict, mem_threshold: float = 0.1, gen_tolerance: float = 0.1) -> list:
    """One dict per (arch, width, seed, n): tau_mem, tau_gen, f_mem_max, tau_max."""
    keys = sorted({(str(a), int(w), int(s), int(n)) for a, w, s, n in
                   zip(table["arch"], table["width"], table["seed"], table["n"])})
    out = []
    for a, w, s, n in keys:
        sel = ((table["arch"] == a) & (table["width"] == w) & (table["seed"] == s) & (table["n"] == n))
        tau, f, fd = table["tau"][sel], table["f_mem"][sel], table["frechet"][sel]
        out.append({"arch": a, "width": w, "seed": s, "n": n, "tau_mem": tau_mem_samples(tau, f, mem_threshold),
                    "tau_gen": tau_gen_samples(tau, fd, gen_tolerance), "f_mem_max": float(np.max(f)),
                    "tau_max": float(np.max(tau))})
    return out


def _seed_grid(pts: list, name: str, along: str):
    """The values of ``along`` (sorted), the seeds, and the read-off ``name`` on (seeds, values); NaN where missing."""
    xs = sorted({r[along] for r in pts})
    seeds = sorted({r["seed"] for r in pts})
    grid = np.array([[next((r[name] for r in pts if r["seed"] == s and r[along] == x), math.nan) for x in xs]
                     for s in seeds])
    return xs, seeds, grid


def exponent(reads: list, name: str, *, arch: str, width: int, d: int = 8) -> dict:
    """Fit log τ = β log(n/d) + c over n for ``name`` ('tau_mem' or 'tau_gen'), seeds as repeats.

    Seeds with a non-finite read-off at some n (threshold never reached) are left out and counted.
    Returns {"exponent", "ci", "seeds", "n", "dropped_seeds", "method"} or {"error": why}.
    """
    ns, seeds, grid = _seed_grid([r for r in reads if r["arch"] == arch and r["width"] == width], name, "n")
    ok = np.all(np.isfinite(grid) & (grid > 0), axis=1)
    if len(ns) < 2 or not ok.any():
        return {"error": f"{name} is not finite at every n for any seed", "n": ns}
    try:
        fit = fit_exponent(np.array(ns) / d, grid[ok])
    except InputError as exc:
        return {"error": exc.msg, "n": ns}
    return {"exponent": fit.exponent, "ci": list(fit.ci), "seeds": [s for s, k in zip(seeds, ok) if k], "n": ns,
            "dropped_seeds": int((~ok).sum()), "method": fit.method}


def width_exponent(reads: list, name: str, *, arch: str, n: int) -> dict:
    """Fit log τ = γ log W + c over the widths W at one n for ``name``, seeds as repeats (Fig. 3 of the paper:
    γ = −1 for τ ∝ 1/W). Widths where some seed never reaches the threshold are left out and named.
    Returns {"exponent", "ci", "seeds", "widths", "censored_widths", "method"} or {"error": why}."""
    widths, seeds, grid = _seed_grid([r for r in reads if r["arch"] == arch and r["n"] == n], name, "width")
    keep = np.all(np.isfinite(grid) & (grid > 0), axis=0)
    censored = [w for w, k in zip(widths, keep) if not k]
    if keep.sum() < 2:
        return {"error": f"{name} finite for every seed at fewer than 2 widths", "widths": widths,
                "censored_widths": censored}
    try:
        fit = fit_exponent(np.array(widths, dtype=float)[keep], grid[:, keep])
    except InputError as exc:
        return {"error": exc.msg, "widths": widths, "censored_widths": censored}
    return {"exponent": fit.exponent, "ci": list(fit.ci), "seeds": seeds,
            "widths": [w for w, k in zip(widths, keep) if k], "censored_widths": censored, "method": fit.method}


def collapse(table: dict, *, arch: str, width: int, seed: int) -> dict:
    """n -> (τ/n, f_mem/f_mem(τ_max)) of one run: the collapse that τ_mem ∝ n predicts."""
    out = {}
    for n in sorted({int(v) for v in table["n"]}):
        sel = ((table["arch"] == arch) & (table["width"] == width) & (table["seed"] == seed) & (table["n"] == n))
        if not sel.any():
            continue
        tau, f = table["tau"][sel], table["f_mem"][sel]
        last = f[np.argmax(tau)]
        out[n] = (tau / n, f / last if last > 0 else np.full_like(f, math.nan))
    return out


THRESHOLDS = (0.02, 0.05, 0.1, 0.2)   # the f_mem levels of the τ_mem read-off table (N12)
KL_TOLERANCE = 0.1                   # τ_gen: first τ with the KL estimate within 10 % of its minimum


def run_readoffs(table: dict, thresholds=THRESHOLDS, kl_tolerance: float = KL_TOLERANCE, plateau=None) -> list:
    """(N12) one dict per (width, seed, n) of a run table (the CSV columns of `rfscore train-net`):
    tau_mem[thr] per threshold (first τ with f_mem ≥ thr, log-interpolated (Y11); NaN if never reached),
    censored[thr] ('right': never reached within the run, 'left': reached at the first checkpoint, '' else),
    tau_gen (first τ with the KL estimate (N6) within ``kl_tolerance`` of its minimum, NaN without KL;
    flagged 'right' when that minimum is the last checkpoint: KL still falling), f_mem_last, tau_max,
    plateau (from ``plateau``: {(width, seed, n): bool}, the sidecar's (N11) flags; None if unknown)."""
    width = table["width"] if "width" in table else np.zeros(len(table["n"]))
    keys = sorted({(int(w), int(s), int(n)) for w, s, n in zip(width, table["seed"], table["n"])})
    out = []
    for w, s, n in keys:
        sel = (width == w) & (table["seed"] == s) & (table["n"] == n)
        order = np.argsort(table["tau"][sel])
        tau, f = table["tau"][sel][order], table["f_mem"][sel][order]
        row = {"width": w, "seed": s, "n": n, "tau_mem": {}, "censored": {}, "f_mem_last": float(f[-1]),
               "tau_max": float(tau[-1]), "checkpoints": int(tau.size),
               "plateau": None if plateau is None else plateau.get((w, s, n))}
        for thr in thresholds:
            v = tau_mem_samples(tau, f, thr)
            row["tau_mem"][str(thr)] = v
            row["censored"][str(thr)] = "right" if not math.isfinite(v) else ("left" if v == tau[0] else "")
        kl = table["kl"][sel][order] if "kl" in table else np.full(tau.size, math.nan)
        if np.all(np.isfinite(kl)):
            row["tau_gen"] = tau_gen_samples(tau, kl, kl_tolerance)
            row["tau_gen_censored"] = "right" if int(np.argmin(kl)) == tau.size - 1 else ""
        else:
            row["tau_gen"], row["tau_gen_censored"] = math.nan, "no KL"
        out.append(row)
    return out


def _fit(ns, grid, d):
    """fit_exponent over the seeds (rows) whose read-off is finite at every n; dict with the dropped count."""
    ok = np.all(np.isfinite(grid) & (grid > 0), axis=1)
    if len(ns) < 2 or not ok.any():
        return {"error": "not finite at every n for any seed", "n": list(ns), "dropped_seeds": int((~ok).sum())}
    try:
        fit = fit_exponent(np.asarray(ns, dtype=float) / d, grid[ok])
    except InputError as exc:
        return {"error": exc.msg, "n": list(ns)}
    return {"exponent": fit.exponent, "ci": list(fit.ci), "slopes": list(fit.per_seed), "method": fit.method,
            "n": list(ns), "seeds_used": int(ok.sum()), "dropped_seeds": int((~ok).sum())}


def exponent_table(reads: list, thresholds=THRESHOLDS, d: int = 8) -> dict:
    """(N12) per width: for each f_mem threshold the exponent β of τ_mem ∝ n^β with its 95 % CI over the seeds
    (`fit_exponent`: Student-t over the per-seed slopes; a seed censored at some n is left out and counted), the
    same for τ_gen, and n_gm, the n where the fitted τ_gen(n) and τ_mem(n) cross (per seed, from that seed's two
    power laws; mean of log n_gm over the seeds with its Student-t 95 % CI), per threshold."""
    from scipy import stats

    out = {}
    for w in sorted({r["width"] for r in reads}):
        rs = [r for r in reads if r["width"] == w]
        ns = sorted({r["n"] for r in rs})
        seeds = sorted({r["seed"] for r in rs})

        def grid(get):
            return np.array([[next((get(r) for r in rs if r["seed"] == s and r["n"] == n), math.nan) for n in ns]
                             for s in seeds], dtype=float)

        gen = grid(lambda r: r["tau_gen"])
        entry = {"n": ns, "seeds": seeds, "tau_mem": {}, "n_gm": {},
                 "tau_gen": _fit(ns, gen, d), "all_plateaued": all(bool(r["plateau"]) for r in rs)}
        x = np.log(np.asarray(ns, dtype=float))
        for thr in thresholds:
            mem = grid(lambda r: r["tau_mem"][str(thr)])
            fit = _fit(ns, mem, d)
            fit["censored"] = [[r["n"], r["seed"], r["censored"][str(thr)]] for r in rs if r["censored"][str(thr)]]
            entry["tau_mem"][str(thr)] = fit
            logs = []
            for m_row, g_row in zip(np.log(mem), np.log(gen)):
                if np.all(np.isfinite(m_row)) and np.all(np.isfinite(g_row)) and len(ns) >= 2:
                    bm, am = np.polyfit(x, m_row, 1)
                    bg, ag = np.polyfit(x, g_row, 1)
                    if bm != bg:
                        logs.append((ag - am) / (bm - bg))
            if len(logs) >= 2:
                m, se = float(np.mean(logs)), float(np.std(logs, ddof=1) / np.sqrt(len(logs)))
                half = float(stats.t.ppf(0.975, len(logs) - 1) * se)
                with np.errstate(over="ignore"):  # 2 seeds: t(0.975, 1) = 12.7 can push the upper end past 1e308
                    ci = [float(np.exp(m - half)), float(np.exp(m + half))]
                entry["n_gm"][str(thr)] = {"n_gm": math.exp(m), "ci": ci,
                                           "seeds_used": len(logs), "extrapolated": not ns[0] <= math.exp(m) <= ns[-1]}
            elif logs:
                entry["n_gm"][str(thr)] = {"n_gm": math.exp(logs[0]), "ci": None, "seeds_used": 1,
                                           "extrapolated": not ns[0] <= math.exp(logs[0]) <= ns[-1]}
            else:
                entry["n_gm"][str(thr)] = {"error": "no seed with finite tau_gen and tau_mem at every n"}
        out[str(w)] = entry
    return out


def plateau_collapse(table: dict, reads: list, *, width: int, seed: int, by_width: bool = False) -> dict:
    """n -> (τ/n (τW/n with ``by_width``), f_mem/f_mem(τ_max), reached_plateau) of one (width, seed): the collapse
    that τ_mem ∝ n (∝ n/W) predicts, normalised by the last checkpoint's f_mem, with each curve flagged by (N11)
    (a curve that did not reach its plateau is normalised by a value still rising)."""
    out = {}
    for r in reads:
        if r["width"] != width or r["seed"] != seed:
            continue
        sel = (table["width"] == width) & (table["seed"] == seed) & (table["n"] == r["n"])
        order = np.argsort(table["tau"][sel])
        tau, f = table["tau"][sel][order], table["f_mem"][sel][order]
        x = tau * (width if by_width else 1) / r["n"]
        out[r["n"]] = (x, f / f[-1] if f[-1] > 0 else np.full_like(f, math.nan), bool(r["plateau"]))
    return out


def merge_runs(run_dirs, out_csv) -> dict:
    """Concatenate the rows of several `rfscore train-net` folders of one protocol (e.g. more seeds or sizes run
    apart) into ``out_csv`` with a sidecar holding the protocol, the (N11) plateau flags, the read-off table and the
    exponent table (N12) of the union. A folder of another protocol is refused (InputError naming ``runs``)."""
    cols, readoffs_by_job, protocol, params = None, {}, None, None
    for folder in run_dirs:
        folder = Path(folder)
        side = json.loads((folder / "train_net.json").read_text())
        if protocol is None:
            protocol, params = side.get("protocol"), side["parameters"]
        elif side.get("protocol") != protocol:
            raise InputError("runs", f"{folder} holds another protocol than {run_dirs[0]}")
        table = read_csv(folder / "train_net.csv")
        cols = table if cols is None else {k: np.concatenate([cols[k], table[k]]) for k in cols}
        readoffs_by_job.update(side.get("readoffs", {}))
    plateau = {}
    for key, r in readoffs_by_job.items():  # n{n}_w{W}_s{seed}
        n, w, s = (int(x[1:]) for x in key.split("_"))
        plateau[(w, s, n)] = bool(r.get("plateau"))
    reads = run_readoffs(cols, plateau=plateau)
    exps = exponent_table(reads)
    header = list(cols)
    cols = {k: v.astype(np.int64) if k in ("n", "seed", "width", "batch", "step") else v for k, v in cols.items()}
    write_result(out_csv, cols, dict(params, n=sorted({int(v) for v in cols["n"]}),
                                     seeds=sorted({int(v) for v in cols["seed"]})),
                 header=header, undefined=("kl",), protocol=protocol, runs=[str(r) for r in run_dirs],
                 readoffs=readoffs_by_job, readoff_table=reads, exponents=exps)
    return exps


def rf_prediction(ns, *, d: int = 8, psi_p: float = 32.0, seeds: int = 2, tau=None, times: int = 12,
                  samples: int = 1000, sigma: str = GMM_SIGMA_SPECTRUM, max_order: int = 128) -> dict:
    """The random-features model on N(0, Σ) with the mixture's covariance at the same d and n: per (n, seed)
    τ_mem^samples, τ_gen^samples (theory/generation.md (Y10)-(Y11)) and the loss-based τ_mem at t_min, with
    the fitted exponents. Columns n, seed, tau_mem_samples, tau_gen_samples; fits in "fits"."""
    tau = list(np.geomspace(10, 1e7, 13)) + [math.inf] if tau is None else list(tau)
    res = generation_experiment([n / d for n in ns], d=d, psi_p=psi_p, times=times, tau=tau, samples=samples,
                                seeds=seeds, sigma=sigma, workers=1, max_order=max_order)
    rows = {"n": [], "seed": [], "tau_mem_samples": [], "tau_gen_samples": []}
    for q in res.points:
        rows["n"].append(int(q["n"]))
        rows["seed"].append(int(q["seed"]))
        rows["tau_mem_samples"].append(float(q["tau_mem_samples"]))
        rows["tau_gen_samples"].append(float(q["tau_gen_samples"]))
    return {"columns": {k: np.array(v) for k, v in rows.items()}, "fits": res.summary(),
            "parameters": dict(d=d, psi_p=psi_p, p=int(round(psi_p * d)), seeds=seeds, times=times, samples=samples,
                               sigma=sigma, tau=tau, max_order=max_order)}


def main(argv=None) -> int:
    """Regenerate the committed inputs of the figure: ``python -m rfscore.analysis.networks RUN_DIR ... --out DIR``."""
    import argparse

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("runs", nargs="+", help="output folders of rfscore train-net")
    ap.add_argument("--merge", default=None, help="instead: write the union of the runs (one protocol) to this CSV "
                                                  "with its read-off and exponent tables (`merge_runs`)")
    ap.add_argument("--out", default=None, help="folder for networks_runs.csv and networks_rf.csv (required without --merge)")
    ap.add_argument("--rf-psi-p", type=float, default=32.0)
    ap.add_argument("--rf-seeds", type=int, default=2)
    args = ap.parse_args(argv)
    if args.merge:
        merge_runs(args.runs, args.merge)
        return 0
    if args.out is None:
        ap.error("--out is required without --merge")
    table = collect(args.runs)
    out = Path(args.out)
    write_result(out / "networks_runs.csv", table, {"runs": [str(r) for r in args.runs]}, header=RUN_COLUMNS,
                 undefined=("kl",))
    ns = sorted({int(v) for v in table["n"]})
    rf = rf_prediction(ns, psi_p=args.rf_psi_p, seeds=args.rf_seeds)
    # NaN: the RF model does not reach f_mem = 0.1 at any τ of the list (theory/generation.md (Y11))
    write_result(out / "networks_rf.csv", rf["columns"], rf["parameters"], undefined=("tau_mem_samples", "tau_gen_samples"),
                 fits=rf["fits"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
