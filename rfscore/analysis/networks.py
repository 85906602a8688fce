"""Trained networks against the random-features theory: read-offs, exponents, collapse (theory/trained_networks.md §7).

Input: the rows of one or more `rfscore train-net` runs (train_net.csv + sidecar), collected into one
table with the columns of `rfscore.networks.training.HEADER` plus ``width`` and ``arch`` (`collect`).
Output: the read-off table (N12) per (width, seed, n) — τ_mem at several f_mem thresholds, τ_gen from the KL,
censored read-offs flagged (`run_readoffs`) — with the exponents in n and their 95 % CIs over the seeds
(`exponent_table`, through `rfscore.analysis.timescales.fit_exponent`), the collapse f_mem/f_mem(τ_max) against
τ/n or τW/n (`plateau_collapse`), the width fit (N13, `width_table`), the optimiser and batch controls (N14,
`control_table`); and the random-features prediction for the same data law (its covariance), d and n
(`rf_prediction`, through `rfscore.generative.generation.generation_experiment`). Needs no equinox.

Status (`rfscore.core.status`; theory/trained_networks.md §5, "Status of a run and of its read-offs"): every table
carries ``converged``, ``error`` and ``message`` (``.status``) beside its per-row detail. A read-off table is
converged when no read-off is censored (τ_mem at a threshold or τ_gen flagged, τ_gap never reached); an exponent,
width or control table when every fit has its points (no ``error`` entry, no seed dropped for a censored read-off);
the collapse when every curve reached its plateau (N11). The message names the (width, n, seed) and the threshold of each failure.
``error`` is NaN: the tables add no estimate of their own (each fit carries its CI). Each entry point takes
``throw`` (default True: `ConvergenceError` with the message; False: the table, flagged).
"""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np

from ..core.crossing import first_crossing
from ..core.errors import ConvergenceError, InputError
from ..core.status import NoErrorEstimate, PointStatus, Status
from ..finite.exact import MehlerRule
from ..generative.generation import (GENERATION_MEHLER, DataSource, SamplingConfig, generation_experiment,
                                     tau_gen_samples, tau_mem_samples)
from ..generative.score_model import ScoreModelConfig
from ..runtime.io import write_result
from ..runtime.sweep import SweepRunner
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


THRESHOLDS = (0.02, 0.05, 0.1, 0.2)   # the f_mem levels of the τ_mem read-off table (N12)
KL_TOLERANCE = 0.1                   # τ_gen: first τ with the KL estimate within 10 % of its minimum
GAP_RATIOS = (1.25, 1.5, 2.0)        # τ_gap: the held-out/train loss ratios at t = 0.01 of the loss-level read-off (N15)
UPPER_SPAN = 4.0                     # the upper range of n (N12): from the largest n down a factor ≥ 4, ≥ 3 values
MESSAGE_ITEMS = 8                    # failures named in a status message; the rest are counted
# protocol keys added after runs were written, with the value those runs used (so that their folders still resume
# and merge): a sidecar from before --gmm-split drew each row's component by a fair coin
PROTOCOL_DEFAULTS = {"gmm_split": "random"}


def protocol_of(side: dict) -> dict | None:
    """The protocol a `train-net` sidecar records, completed with `PROTOCOL_DEFAULTS` (None where it records none):
    the one form in which protocols are compared, by a resumed --out and by `merge_runs`."""
    proto = side.get("protocol") if isinstance(side, dict) else None
    return {**PROTOCOL_DEFAULTS, **proto} if isinstance(proto, dict) else None


def _listing(items: list, what: str) -> str:
    """'what: a; b; … (and k more)' of at most MESSAGE_ITEMS items; '' for none."""
    if not items:
        return ""
    more = f" (and {len(items) - MESSAGE_ITEMS} more)" if len(items) > MESSAGE_ITEMS else ""
    return f"{what}: " + "; ".join(items[:MESSAGE_ITEMS]) + more


def row_failures(row: dict) -> list:
    """The censored read-offs of one `run_readoffs` row, e.g. ['tau_mem[0.2] right', 'tau_gap[2.0] never
    reached']; τ_gen undefined without a KL (real data) is not a failure."""
    out = [f"tau_mem[{thr}] {c}" for thr, c in row["censored"].items() if c]
    if row.get("tau_gen_censored") not in ("", "no KL", None):
        out.append(f"tau_gen {row['tau_gen_censored']}")
    out += [f"tau_gap[{g}] never reached" for g, v in (row.get("tau_gap") or {}).items() if not math.isfinite(v)]
    return out


class ReadoffTable(list, NoErrorEstimate, PointStatus):
    """The read-off table (N12): a list of `run_readoffs` rows (dicts, one per (width, seed, n)), each with its
    ``converged`` (no censored read-off: `row_failures`) as the per-point detail. ``point_converged`` (rows,):
    those flags; ``converged`` when every row is; ``error`` NaN (read-offs carry no estimate; the f_mem
    intervals are in the run table); ``message`` names each failing (width, n, seed) and its read-offs."""

    @property
    def point_converged(self):
        return np.array([bool(r.get("converged", True)) for r in self], dtype=bool) if len(self) else None

    @property
    def message(self) -> str:
        bad = [f"(width {r['width']}, n {r['n']}, seed {r['seed']}"
               + (f", {r['label']}" if r.get("label") else "") + "): " + ", ".join(row_failures(r))
               for r in self if not r.get("converged", True)]
        return _listing(bad, "censored read-offs")


class FitTable(dict, NoErrorEstimate):
    """A table of fits (`exponent_table`, `width_table`, `control_table`): the dict it always was, plus
    ``converged`` (every fit has its points and no seed was dropped for a censored read-off), ``error`` NaN (each
    fit carries its CI) and ``message`` (each failing fit by its place in the table: width or label, quantity,
    threshold, with why; the censored (n, seed) it dropped). ``failures``: those lines, one per fit."""

    def __init__(self, entries=(), failures=()):
        super().__init__(entries)
        self.failures = list(failures)

    @property
    def converged(self) -> bool:
        return not self.failures

    @property
    def message(self) -> str:
        return _listing(self.failures, "fits lacking points")


def _fit_failure(where: str, fit, key: str = "n") -> list:
    """[why] for one `_fit` dict that has no exponent or dropped seeds (censored read-offs), else []; ``key`` names
    the first entry of each censored cell (n, or the width of a width exponent at one n)."""
    if not isinstance(fit, dict):
        return []
    if "error" in fit:
        return [f"{where}: {fit['error']}"]
    cen = fit.get("censored") or []
    if fit.get("dropped_seeds") or cen:
        named = ", ".join(f"({key} {c[0]}, seed {c[1]}{', ' + str(c[2]) if len(c) > 2 and c[2] else ''})" for c in cen)
        return [f"{where}: {fit.get('dropped_seeds', len(cen))} seed(s) dropped" + (f", censored at {named}" if named
                                                                                      else "")]
    return []


class PlateauCollapse(dict, NoErrorEstimate, PointStatus):
    """`plateau_collapse`: n -> (x, f_mem/f_mem(τ_max), reached_plateau), the dict it always was; the per-curve
    flags are ``point_converged`` (n,), ``converged`` when every curve reached its plateau (N11) (a curve that did
    not is normalised by a value still rising), ``error`` NaN, ``message`` the (width, seed, n) that did not."""

    def __init__(self, entries=(), width=None, seed=None):
        super().__init__(entries)
        self.width, self.seed = width, seed

    @property
    def point_converged(self):
        return np.array([bool(v[2]) for v in self.values()], dtype=bool) if len(self) else None

    @property
    def message(self) -> str:
        bad = [str(n) for n, v in sorted(self.items()) if not v[2]]
        return "" if not bad else (f"no plateau (N11) reached at width {self.width}, seed {self.seed}, "
                                   f"n = {', '.join(bad)}: those curves are normalised by a value still rising")


def status_dict(result) -> dict:
    """A result's status as the JSON a sidecar holds: {converged, error (null if NaN), message}."""
    st = result.status
    return {"converged": st.converged, "error": None if math.isnan(st.error) else st.error, "message": st.message}


def read_off_bracket(tau, f_mem, threshold: float) -> float:
    """τ[j]/τ[j−1] for the checkpoints j−1, j that bracket the first crossing of f_mem ≥ ``threshold`` (N12): the
    true first crossing lies in between, so this factor is the resolution of the log-interpolated τ_mem (a
    checkpoint grid coarser than the curve's rise leaves a wide bracket). NaN when the crossing is censored (never
    reached, or reached at the first checkpoint). tau (T,) and f_mem (T,) in any common order."""
    order = np.argsort(tau)
    t, f = np.asarray(tau, dtype=float)[order], np.asarray(f_mem, dtype=float)[order]
    j = first_crossing(t, f, threshold)[1]
    return float(t[j] / t[j - 1]) if j and np.isfinite(t[j]) else math.nan


def _run_rows(table: dict, width, seed, n, time: str = "tau") -> np.ndarray:
    """Indices into the table's columns of one run's checkpoints (width, seed, n), in time order (by its ``time``
    column: tau or step, the same order within a run); a table without a ``width`` column is one width."""
    w = table["width"] if "width" in table else np.zeros(len(table["n"]))
    idx = np.flatnonzero((w == width) & (table["seed"] == seed) & (table["n"] == n))
    return idx[np.argsort(table[time][idx])]


def run_readoffs(table: dict, thresholds=THRESHOLDS, kl_tolerance: float = KL_TOLERANCE, plateau=None, *,
                 throw: bool = True) -> ReadoffTable:
    """(N12) one dict per (width, seed, n) of a run table (the CSV columns of `rfscore train-net`):
    tau_mem[thr] per threshold (first τ with f_mem ≥ thr, log-interpolated (Y11); NaN if never reached),
    censored[thr] ('right': never reached within the run, 'left': reached at the first checkpoint, '' else),
    bracket[thr] (`read_off_bracket`: the factor between the two checkpoints that bracket that crossing, within
    which the read-off is known; NaN where censored),
    tau_gen (first τ with the KL estimate (N6) within ``kl_tolerance`` of its minimum, NaN without KL;
    flagged 'right' when that minimum is the last checkpoint: KL still falling), f_mem_last, tau_max,
    plateau (from ``plateau``: {(width, seed, n): bool}, the sidecar's (N11) flags; None if unknown), and with the
    loss columns the loss-level onset (N15) tau_gap[ratio]: first τ with test_loss/train_loss ≥ ratio (the loss (N2)
    at t = 0.01, held-out over train), log-interpolated, NaN if never reached, per ratio of `GAP_RATIOS`; and
    converged: no read-off of the row censored (`row_failures`).

    Returns a `ReadoffTable` (the list of rows, with the table's status); throw: raise `ConvergenceError` naming
    each censored (width, n, seed) and threshold (default), or return the table flagged (False)."""
    width = table["width"] if "width" in table else np.zeros(len(table["n"]))
    keys = sorted({(int(w), int(s), int(n)) for w, s, n in zip(width, table["seed"], table["n"])})
    out = []
    for w, s, n in keys:
        i = _run_rows(table, w, s, n)
        tau, f = table["tau"][i], table["f_mem"][i]
        row = {"width": w, "seed": s, "n": n, "tau_mem": {}, "censored": {}, "f_mem_last": float(f[-1]),
               "tau_max": float(tau[-1]), "checkpoints": int(tau.size),
               "plateau": None if plateau is None else plateau.get((w, s, n))}
        row["bracket"] = {}
        for thr in thresholds:
            v = tau_mem_samples(tau, f, thr)
            row["tau_mem"][str(thr)] = v
            row["censored"][str(thr)] = "right" if not math.isfinite(v) else ("left" if v == tau[0] else "")
            row["bracket"][str(thr)] = read_off_bracket(tau, f, thr)
        # no KL on real data: the column holds None (in memory) or NaN (read back from the CSV)
        kl = (np.array([math.nan if v is None else v for v in table["kl"][i]], dtype=float) if "kl" in table
              else np.full(tau.size, math.nan))
        if np.all(np.isfinite(kl)):
            row["tau_gen"] = tau_gen_samples(tau, kl, kl_tolerance)
            row["tau_gen_censored"] = "right" if int(np.argmin(kl)) == tau.size - 1 else ""
        else:
            row["tau_gen"], row["tau_gen_censored"] = math.nan, "no KL"
        if "train_loss" in table and "test_loss" in table:
            ratio = table["test_loss"][i] / table["train_loss"][i]
            row["tau_gap"] = {str(g): first_crossing(tau, ratio, g)[0] for g in GAP_RATIOS}
        row["converged"] = not row_failures(row)
        out.append(row)
    out = ReadoffTable(out)
    out.status.check(throw)
    return out


def _fit(ns, grid, d, key: str = "n"):
    """fit_exponent over the seeds (rows) whose read-off is finite at every n (at every width: ``key``); dict with
    the dropped count."""
    ok = np.all(np.isfinite(grid) & (grid > 0), axis=1)
    if len(ns) < 2 or not ok.any():
        return {"error": f"not finite at every {key} for any seed", key: list(ns), "dropped_seeds": int((~ok).sum())}
    try:
        fit = fit_exponent(np.asarray(ns, dtype=float) / d, grid[ok])
    except InputError as exc:
        return {"error": exc.msg, key: list(ns)}
    return {"exponent": fit.exponent, "ci": list(fit.ci), "slopes": list(fit.per_seed), "method": fit.method,
            key: list(ns), "seeds_used": int(ok.sum()), "dropped_seeds": int((~ok).sum())}


def geometric_mean(values) -> float:
    """exp(mean(log v)) over the finite values of ``values`` (read-offs in updates or τ; a censored read-off, NaN
    or ∞, is left out), NaN when none is finite: the seed average of τ_mem and τ_gen that the figures draw."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return float(np.exp(np.mean(np.log(v)))) if v.size else math.nan


def _seed_grid(rows: list, ns: list, seeds: list, get, key: str = "n") -> np.ndarray:
    """(seeds, n) array of ``get(row)`` for the row of each (seed, n), NaN where no row was run: the input of `_fit`.
    ``key`` names the column of ``ns`` ("width": the widths at one n, for the width exponent of `width_table`)."""
    return np.array([[next((get(r) for r in rows if r["seed"] == s and r[key] == n), math.nan) for n in ns]
                     for s in seeds], dtype=float)


def upper_range(ns, span: float = UPPER_SPAN, least: int = 3) -> list | None:
    """The upper range of n (N12): the largest values of ``ns`` down to the largest one at least ``span`` times
    smaller than the maximum, if that makes ≥ ``least`` values; None otherwise (too few n, or too short a span).
    The paper's claim τ_mem ∝ n is about large n: a law τ_mem = a(n − n₀) fitted by a power law over n near n₀
    gives an exponent n/(n − n₀) > 1, which the fit over the upper range alone reduces."""
    ns = sorted(ns)
    for i in range(len(ns) - 1, -1, -1):
        if ns[-1] >= span * ns[i]:
            return ns[i:] if len(ns) - i >= least else None
    return None


def _exp(x: float) -> float:
    """exp(x), ∞ (or 0) beyond float range: nearly parallel fits put their crossing n_gm at an astronomic n."""
    return math.exp(x) if abs(x) < 709.0 else (math.inf if x > 0 else 0.0)


def exponent_table(reads: list, thresholds=THRESHOLDS, d: int = 8, *, throw: bool = True) -> FitTable:
    """(N12) per width: for each f_mem threshold the exponent β of τ_mem ∝ n^β with its 95 % CI over the seeds
    (`fit_exponent`: Student-t over the per-seed slopes; a seed censored at some n is left out and counted), the
    same for τ_gen, and n_gm, the n where the fitted τ_gen(n) and τ_mem(n) cross (per seed, from that seed's two
    power laws; mean of log n_gm over the seeds with its Student-t 95 % CI), per threshold; the same exponent of
    τ_mem over the upper range of n alone (`upper_range`; ``tau_mem_upper``, with ``upper_n``, None and no fits
    where the n run have no such range); and, where the rows carry it, the exponent of the loss-level onset
    τ_gap ∝ n^β per ratio (N15).

    Returns a `FitTable` (width -> entry, as before, with the table's status: not converged where a fit lacks
    points or dropped a seed for a censored read-off; τ_gen and n_gm are not counted where no row has a KL, real
    data); throw: raise `ConvergenceError` naming them (default), or return the table flagged (False)."""
    from scipy import stats

    out, failures = {}, []
    for w in sorted({r["width"] for r in reads}):
        rs = [r for r in reads if r["width"] == w]
        ns = sorted({r["n"] for r in rs})
        seeds = sorted({r["seed"] for r in rs})

        def grid(get):
            return _seed_grid(rs, ns, seeds, get)

        gen = grid(lambda r: r["tau_gen"])
        upper = upper_range(ns)
        entry = {"n": ns, "seeds": seeds, "tau_mem": {}, "n_gm": {},
                 "tau_gen": _fit(ns, gen, d), "all_plateaued": all(bool(r["plateau"]) for r in rs),
                 "upper_n": upper, "tau_mem_upper": {}}
        x = np.log(np.asarray(ns, dtype=float))
        for thr in thresholds:
            mem = grid(lambda r: r["tau_mem"][str(thr)])
            fit = _fit(ns, mem, d)
            if upper is not None:  # its censored read-offs are those of the full fit's, flagged there
                entry["tau_mem_upper"][str(thr)] = _fit(upper, mem[:, [ns.index(n) for n in upper]], d)
            if thr == thresholds[0] and all("tau_gap" in r for r in rs):
                entry["tau_gap"] = {str(g): _fit(ns, grid(lambda r, g=g: r["tau_gap"][str(g)]), d) for g in GAP_RATIOS}
            fit["censored"] = [[r["n"], r["seed"], r["censored"][str(thr)]] for r in rs if r["censored"][str(thr)]]
            # the widest checkpoint bracket of the read-offs fitted: how finely the grid resolved them
            # (a sidecar read back holds null for NaN; rows from before the bracket have none)
            brackets = np.array([r.get("bracket", {}).get(str(thr)) for r in rs], dtype=float)
            brackets = brackets[np.isfinite(brackets)]
            fit["max_bracket"] = float(brackets.max()) if brackets.size else math.nan
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
                entry["n_gm"][str(thr)] = {"n_gm": _exp(m), "ci": ci,
                                           "seeds_used": len(logs), "extrapolated": not ns[0] <= _exp(m) <= ns[-1]}
            elif logs:
                entry["n_gm"][str(thr)] = {"n_gm": _exp(logs[0]), "ci": None, "seeds_used": 1,
                                           "extrapolated": not ns[0] <= _exp(logs[0]) <= ns[-1]}
            else:
                entry["n_gm"][str(thr)] = {"error": "no seed with finite tau_gen and tau_mem at every n"}
        out[str(w)] = entry
        has_kl = any(r.get("tau_gen_censored") != "no KL" for r in rs)
        for thr in thresholds:
            failures += _fit_failure(f"width {w}, tau_mem[{thr}]", entry["tau_mem"][str(thr)])
            if has_kl:
                failures += _fit_failure(f"width {w}, n_gm[{thr}]", entry["n_gm"][str(thr)])
        if has_kl:
            failures += _fit_failure(f"width {w}, tau_gen", entry["tau_gen"])
        for g, fit in entry.get("tau_gap", {}).items():
            failures += _fit_failure(f"width {w}, tau_gap[{g}]", fit)
    out = FitTable(out, failures)
    out.status.check(throw)
    return out


def plateau_collapse(table: dict, reads: list, *, width: int, seed: int, by_width: bool = False,
                     throw: bool = True) -> PlateauCollapse:
    """n -> (τ/n (τW/n with ``by_width``), f_mem/f_mem(τ_max), reached_plateau) of one (width, seed): the collapse
    that τ_mem ∝ n (∝ n/W) predicts, normalised by the last checkpoint's f_mem, with each curve flagged by (N11)
    (a curve that did not reach its plateau is normalised by a value still rising).

    Returns a `PlateauCollapse` (that dict, with the per-curve flags as its status); throw: raise
    `ConvergenceError` naming the n whose curve did not reach its plateau (default), or return it flagged (False)."""
    out = PlateauCollapse(width=width, seed=seed)
    for r in reads:
        if r["width"] != width or r["seed"] != seed:
            continue
        i = _run_rows(table, width, seed, r["n"])
        tau, f = table["tau"][i], table["f_mem"][i]
        x = tau * (width if by_width else 1) / r["n"]
        out[r["n"]] = (x, f / f[-1] if f[-1] > 0 else np.full_like(f, math.nan), bool(r["plateau"]))
    out.status.check(throw)
    return out


def f_mem_at_per_point(table: dict, per_point: float, *, width: int) -> dict:
    """n -> {seed: (f_mem, f_mem_lo, f_mem_hi)} at ``per_point`` updates per training point (step = per_point·n)
    for one width (N12): the collapse against τ/n read at one abscissa, so that curves of different n compare
    number for number (τ_mem ∝ n puts them level there). Each value and its Wilson interval are interpolated
    linearly in log step between the two checkpoints around that step, as the read-offs (Y11); an (n, seed)
    whose run stopped short of that step, or started after it, is absent (nothing is extrapolated).

    table: `read_csv` columns (step, width, n, seed, f_mem, f_mem_lo, f_mem_hi); per_point > 0, in updates."""
    if not per_point > 0:
        raise InputError("per_point", f"must be > 0, got {per_point}")
    out: dict = {}
    sel_w = table["width"] == width
    for n in sorted({int(v) for v in table["n"][sel_w]}):
        for seed in sorted({int(v) for v in table["seed"][sel_w & (table["n"] == n)]}):
            i = _run_rows(table, width, seed, n, time="step")
            step = table["step"][i]
            x = per_point * n
            if not step[0] <= x <= step[-1]:
                continue
            out.setdefault(n, {})[seed] = tuple(float(np.interp(np.log(x), np.log(step), table[k][i]))
                                                for k in ("f_mem", "f_mem_lo", "f_mem_hi"))
    return out


def combined_status(*results) -> Status:
    """One `Status` of several tables: converged when each is; the messages joined; error NaN."""
    msgs = [r.status.message for r in results if r is not None and not r.status.converged]
    return Status(converged=not msgs, error=math.nan, message="; ".join(msgs))


def _run_output(item) -> tuple:
    """(CSV path, sidecar) of one input of `merge_runs`: a `train-net` folder (train_net.csv, train_net.json) or a
    CSV that `merge_runs` wrote (its sidecar beside it, same stem)."""
    path = Path(item)
    csv_path = path if path.suffix == ".csv" else path / "train_net.csv"
    return csv_path, json.loads(csv_path.with_suffix(".json").read_text())


def merge_runs(run_dirs, out_csv, *, throw: bool = True) -> FitTable:
    """Concatenate the rows of several `rfscore train-net` folders of one protocol (e.g. more seeds or sizes run
    apart) into ``out_csv`` with a sidecar holding the protocol, the (N11) plateau flags, the read-off table and the
    exponent table (N12) of the union, and with two or more widths the fit τ_mem ∝ n^β W^(−γ) (N13, `width_table`).
    An input may also be a CSV this function wrote: a committed union grows by a new run without the folders it was
    made of (its ``runs`` carry over into the new sidecar). A folder of another protocol, or a run (n, W, seed) that
    two inputs both hold, is refused (InputError naming ``runs``). The sidecar's ``status`` is the
    combined status of the read-off, exponent and width tables; throw: raise `ConvergenceError` with it before
    anything is written (default), or write the tables flagged (False). Returns the exponent table."""
    cols, readoffs_by_job, protocol, params, sources, jobs = None, {}, None, None, [], {}
    for folder in run_dirs:
        csv_path, side = _run_output(folder)
        if protocol is None:
            protocol, params = protocol_of(side), side["parameters"]
        elif protocol_of(side) != protocol:
            raise InputError("runs", f"{folder} holds another protocol than {run_dirs[0]}")
        table = read_csv(csv_path)
        for job in {(int(n), int(w), int(s)) for n, w, s in zip(table["n"], table["width"], table["seed"])}:
            if job in jobs:  # the same (n, W, seed) twice would enter every fit twice
                raise InputError("runs", f"{folder} repeats the run n = {job[0]}, W = {job[1]}, seed {job[2]} "
                                         f"of {jobs[job]}; nothing written")
            jobs[job] = folder
        cols = table if cols is None else {k: np.concatenate([cols[k], table[k]]) for k in cols}
        readoffs_by_job.update(side.get("readoffs", {}))
        # a merged CSV's sidecar lists the folders it was made of (a train-net sidecar has no `runs`): passed on,
        # so that the provenance stays one flat list
        sources += side.get("runs", [str(folder)])
    plateau = {}
    for key, r in readoffs_by_job.items():  # n{n}_w{W}_s{seed}
        n, w, s = (int(x[1:]) for x in key.split("_"))
        plateau[(w, s, n)] = bool(r.get("plateau"))
    reads = run_readoffs(cols, plateau=plateau, throw=False)
    exps = exponent_table(reads, throw=False)
    wfit = width_table(reads, throw=False) if len({r["width"] for r in reads}) >= 2 else None
    status = combined_status(reads, exps, wfit).check(throw)
    header = list(cols)
    cols = {k: v.astype(np.int64) if k in ("n", "seed", "width", "batch", "step") else v for k, v in cols.items()}
    write_result(out_csv, cols, dict(params, n=sorted({int(v) for v in cols["n"]}),
                                     width=sorted({int(v) for v in cols["width"]}),
                                     seeds=sorted({int(v) for v in cols["seed"]})),
                 header=header, undefined=("kl",), protocol=protocol, runs=sources,
                 readoffs=readoffs_by_job, readoff_table=reads, exponents=exps, width_fit=wfit,
                 status={"converged": status.converged, "error": None, "message": status.message})
    return exps


def width_table(reads: list, thresholds=THRESHOLDS, *, throw: bool = True) -> FitTable:
    """(N13) τ_mem ∝ n^β W^(−γ) over an (n, W) grid of `run_readoffs` rows: per f_mem threshold, one least-squares
    fit of log τ_mem = c + β log n − γ log W per seed over its cells with a finite read-off (≥ 3 cells, both n and W
    varying), and β, γ as the mean over the seeds with Student-t 95 % CIs (one seed: the point estimates, CI None);
    the same fit for τ_gen; censored cells are left out of their seed's fit and listed. The collapse variable of
    (N13) is τW/n: β = γ = 1 is the paper's τ_mem ∝ n/W. Only the n run at every width enter (a balanced grid: an n
    run at one width only would tie β to that width's exponent); the others are listed in ``n_not_at_every_width``.
    ``at_n``: for every n run at two or more widths, γ at that n alone (`_width_at_n`), keyed by str(n).

    Returns a `FitTable` (not converged where a fit has no seed with enough cells or left a censored cell out,
    each named by (n, width, seed)); throw: raise `ConvergenceError` with that (default), or return it flagged."""
    from scipy import stats

    widths_at = {}  # n -> the widths run at that n: the balanced grid below, and the n of `at_n`
    for r in reads:
        widths_at.setdefault(r["n"], set()).add(r["width"])
    widths = set().union(*widths_at.values())
    partial = sorted(n for n, ws in widths_at.items() if ws != widths)
    balanced = [r for r in reads if widths_at[r["n"]] == widths]

    def fit(get) -> dict:
        seeds = sorted({r["seed"] for r in balanced})
        betas, gammas, left_out = [], [], []
        for s in seeds:
            rs = [r for r in balanced if r["seed"] == s]
            ok = [r for r in rs if math.isfinite(get(r)) and get(r) > 0]
            left_out += [[r["n"], r["width"], s] for r in rs if r not in ok]
            if len(ok) < 3 or len({r["n"] for r in ok}) < 2 or len({r["width"] for r in ok}) < 2:
                continue
            A = np.array([[1.0, math.log(r["n"]), -math.log(r["width"])] for r in ok])
            coef = np.linalg.lstsq(A, np.log([get(r) for r in ok]), rcond=None)[0]
            betas.append(float(coef[1]))
            gammas.append(float(coef[2]))
        if not betas:
            return {"error": "no seed with finite read-offs at two n and two widths", "censored": left_out}
        out = {"seeds_used": len(betas), "censored": left_out, "per_seed_beta": betas, "per_seed_gamma": gammas,
               "n": sorted({r["n"] for r in balanced}), "widths": sorted(widths)}
        for name, v in (("beta", np.array(betas)), ("gamma", np.array(gammas))):
            out[name] = float(v.mean())
            if v.size >= 2:
                half = float(stats.t.ppf(0.975, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size))
                out[name + "_ci"] = [out[name] - half, out[name] + half]
            else:
                out[name + "_ci"] = None
        return out

    def gen(r):
        return r["tau_gen"] if not r.get("tau_gen_censored") else math.nan

    table = {"tau_mem": {str(thr): fit(lambda r, thr=thr: r["tau_mem"][str(thr)]) for thr in thresholds},
             "tau_gen": fit(gen), "n_not_at_every_width": partial,
             "at_n": {str(n): _width_at_n([r for r in reads if r["n"] == n], thresholds, gen)
                      for n in sorted(widths_at) if len(widths_at[n]) >= 2}}
    failures = []
    for where, f in [*((f"tau_mem[{thr}]", table["tau_mem"][str(thr)]) for thr in thresholds),
                     *([("tau_gen", table["tau_gen"])] if any(r.get("tau_gen_censored") != "no KL" for r in balanced)
                       else [])]:
        if "error" in f:
            failures.append(f"width fit {where}: {f['error']}")
        elif f["censored"]:
            failures.append(f"width fit {where}: censored cells left out at "
                            + ", ".join(f"(n {n}, width {w}, seed {s})" for n, w, s in f["censored"]))
    for n, entry in table["at_n"].items():
        for thr in thresholds:
            failures += _fit_failure(f"width exponent at n = {n}, tau_mem[{thr}]", entry["tau_mem"][str(thr)],
                                     key="width")
    table = FitTable(table, failures)
    table.status.check(throw)
    return table


def _width_at_n(rows: list, thresholds, gen) -> dict:
    """(N13) at one n: γ of τ ∝ W^−γ over the widths run at that n (≥ 2), per seed the slope of log τ on log W over
    those widths, Student-t 95 % CI over the seeds (`_fit`, the fit of (N12) with W in place of n; a seed censored
    at some width is left out, counted in ``dropped_seeds`` and listed in ``censored`` as [width, seed, side]).
    Each fit dict carries ``gamma`` (= −exponent), its ``gamma_ci`` and ``per_seed_gamma`` besides `_fit`'s keys.
    The fit of (N13) over the balanced grid ties γ to the small n that every width was run at; this one reads the
    width dependence at each n by itself, the paper's sizes included."""
    widths = sorted({r["width"] for r in rows})
    seeds = sorted({r["seed"] for r in rows})

    def one(get) -> dict:
        fit = _fit(widths, _seed_grid(rows, widths, seeds, get, key="width"), 1, key="width")
        if "exponent" in fit:
            fit.update(gamma=-fit["exponent"], gamma_ci=[-fit["ci"][1], -fit["ci"][0]],
                       per_seed_gamma=[-x for x in fit["slopes"]])
        return fit

    out = {"widths": widths, "seeds": seeds, "tau_mem": {}, "tau_gen": one(gen)}
    for thr in thresholds:
        fit = one(lambda r, thr=thr: r["tau_mem"][str(thr)])
        fit["censored"] = [[r["width"], r["seed"], r["censored"][str(thr)]] for r in rows if r["censored"][str(thr)]]
        out["tau_mem"][str(thr)] = fit
    return out


def _batch_label(protocol: dict) -> str:
    return "B = n" if str(protocol["batch"]) == "full" else f"B = {int(protocol['batch'])}"


def _variant(protocol: dict) -> str:
    """What a folder's protocol changes of the paper's mixture protocol (theory/trained_networks.md §8) besides the
    optimiser, lr and batch: '' for none, else e.g. "t log-uniform" or "μ 0.8, σ 0.6" (one thing at a time)."""
    parts = []
    if protocol.get("time_sampling", "ddpm") != "ddpm":
        parts.append("t log-uniform" if protocol["time_sampling"] == "loguniform" else f"t {protocol['time_sampling']}")
    if protocol.get("optimizer") == "sgd" and float(protocol.get("momentum", 0.95)) != 0.95:
        parts.append(f"momentum {float(protocol['momentum']):g}")
    if float(protocol.get("gmm_mean", 1.0)) != 1.0 or float(protocol.get("gmm_std", 1.0)) != 1.0:
        parts.append(f"μ {float(protocol.get('gmm_mean', 1.0)):g}, σ {float(protocol.get('gmm_std', 1.0)):g}")
    if protocol.get("gmm_split", "random") != "random":
        parts.append(f"components {protocol['gmm_split']}")
    if protocol.get("arch", "paper-mlp") != "paper-mlp":
        parts.append(str(protocol["arch"]))
    return ", ".join(parts)


def control_runs(run_dirs) -> dict:
    """(N14) the rows of several `rfscore train-net` folders of any protocols as one run table, with the columns
    ``label`` (e.g. "sgd lr 0.006, B = 6", or "sgd lr 0.006, B = n, t log-uniform" for a folder that changes
    something else of the paper's protocol), ``variant`` (that change, '' for none: `_variant`), ``lr`` and
    ``batch_rule`` ('full' or B) from each folder's sidecar."""
    cols = None
    for folder in run_dirs:
        folder = Path(folder)
        side = json.loads((folder / "train_net.json").read_text())
        proto = side.get("protocol") or {}
        lr = float(side["parameters"]["lr"])
        table = read_csv(folder / "train_net.csv")
        m = len(table["n"])
        table["optimizer"] = np.asarray(table["optimizer"], dtype=object)
        table["lr"] = np.full(m, lr)
        table["batch_rule"] = np.array([str(proto.get("batch"))] * m, dtype=object)
        variant = _variant(proto)
        label = f"{proto.get('optimizer')} lr {lr:g}, {_batch_label(proto)}" + (f", {variant}" if variant else "")
        table["label"] = np.array([label] * m, dtype=object)
        table["variant"] = np.array([variant] * m, dtype=object)
        cols = table if cols is None else {k: np.concatenate([cols[k], table[k]]) for k in cols}
    return cols


def control_readoffs(table: dict, thresholds=THRESHOLDS, *, throw: bool = True) -> ReadoffTable:
    """(N14) `run_readoffs` per protocol ``label`` of a `control_runs` table (or its merged CSV read back), in
    updates (the step column: τ = step · lr differs between optimisers); each row with its ``label``,
    ``optimizer``, ``lr`` and ``batch`` (the batch rule: 'full' or B). A `ReadoffTable` (its message names the
    label of each censored row); throw as `run_readoffs`."""
    out = ReadoffTable()
    for label in sorted(set(table["label"])):
        sel = table["label"] == label
        sub = {k: v[sel] for k, v in table.items()}
        sub["tau"] = sub["step"]
        for r in run_readoffs(sub, thresholds, throw=False):
            r.update(label=str(label), optimizer=str(sub["optimizer"][0]), lr=float(sub["lr"][0]),
                     batch=str(sub["batch_rule"][0]),
                     variant=str(sub["variant"][0]) if "variant" in sub else "")
            out.append(r)
    out.status.check(throw)
    return out


def control_table(reads: list, *, sweep_n: int, thresholds=THRESHOLDS, throw: bool = True) -> FitTable:
    """(N14) from `control_readoffs` rows: per protocol label, the exponent of τ_mem (updates) in n with its CI over
    the seeds (`_fit`), per threshold; and per optimiser, the batch sweep at n = ``sweep_n``: the exponent ζ of
    τ_mem ∝ B^ζ over the batch sizes run there (B = n counted as B = sweep_n), Student-t over the per-seed slopes
    (`fit_exponent`), per threshold. The candidate mechanism of (N14) predicts ζ = 0 for SGD and ζ = −½ for
    Adam. The sweep uses only rows without a `_variant` (the paper's protocol but for the optimiser and batch).

    Returns a `FitTable` ({exponents_in_n, batch_sweep} as before; a label run at one n only is a batch-sweep
    point, its entries ``{"not_fitted": ...}``, not a failure; not converged where a fit lacks points or dropped a
    seed, each named by label or optimiser and threshold); throw: raise `ConvergenceError` (default) or
    return it flagged (False)."""
    exps, failures = {}, []
    for label in sorted({r["label"] for r in reads}):
        rs = [r for r in reads if r["label"] == label]
        ns, seeds = sorted({r["n"] for r in rs}), sorted({r["seed"] for r in rs})
        entry = {"n": ns, "seeds": seeds}
        for thr in thresholds:
            grid = _seed_grid(rs, ns, seeds, lambda r, thr=thr: r["tau_mem"][str(thr)])
            # a protocol run at one n is a point of the batch sweep, by design: no exponent in n to fit, and no failure
            entry[str(thr)] = _fit(ns, grid, 1) if len(ns) >= 2 else {"not_fitted": "one n only (a batch-sweep point)"}
        if len(ns) >= 2 and all("tau_gap" in r for r in rs):  # the loss-level onset (N15), per ratio
            entry["tau_gap"] = {str(g): _fit(ns, _seed_grid(rs, ns, seeds, lambda r, g=g: r["tau_gap"][str(g)]), 1)
                                for g in GAP_RATIOS}
        exps[label] = entry
        for thr in thresholds:
            failures += _fit_failure(f"{label}, tau_mem[{thr}] in n", entry[str(thr)])
        for g, fit in entry.get("tau_gap", {}).items():
            failures += _fit_failure(f"{label}, tau_gap[{g}] in n", fit)
    sweep = {}
    for opt in sorted({r["optimizer"] for r in reads}):
        rs = [r for r in reads if r["optimizer"] == opt and r["n"] == sweep_n and not r.get("variant")]
        bs = sorted({sweep_n if r["batch"] == "full" else int(r["batch"]) for r in rs})
        seeds = sorted({r["seed"] for r in rs})
        entry = {"batches": bs, "seeds": seeds}
        for thr in thresholds:
            grid = np.array([[next((r["tau_mem"][str(thr)] for r in rs if r["seed"] == s and
                                    (sweep_n if r["batch"] == "full" else int(r["batch"])) == b), math.nan)
                              for b in bs] for s in seeds], dtype=float)
            entry[str(thr)] = _fit(bs, grid, 1) if len(bs) >= 2 else {"error": "one batch size only"}
            entry[str(thr)]["tau_mem_mean"] = [float(np.nanmean(c)) if np.isfinite(c).any() else math.nan
                                               for c in grid.T]
            failures += _fit_failure(f"{opt} batch sweep at n {sweep_n}, tau_mem[{thr}]", entry[str(thr)])
        sweep[opt] = entry
    out = FitTable({"exponents_in_n": exps, "batch_sweep": {"n": sweep_n, **sweep}}, failures)
    out.status.check(throw)
    return out


def merge_controls(run_dirs, out_csv, *, sweep_n: int, throw: bool = True) -> FitTable:
    """The rows of several `rfscore train-net` folders of different optimisers and batch rules as one CSV
    (`control_runs`: the run columns plus ``lr``, ``batch_rule``, ``label``), with the sidecar holding each folder's
    protocol and the `control_table` (N14), and ``status``: the combined status of the read-offs and the control
    table; throw: raise `ConvergenceError` with it before anything is written (default), or write them flagged."""
    protocols = {}
    for folder in run_dirs:
        side = json.loads((Path(folder) / "train_net.json").read_text())
        protocols[str(folder)] = dict(side.get("protocol") or {}, lr=float(side["parameters"]["lr"]))
    cols = control_runs(run_dirs)
    creads = control_readoffs(cols, throw=False)
    tab = control_table(creads, sweep_n=sweep_n, throw=False)
    status = combined_status(creads, tab).check(throw)
    header = list(cols)
    cols = {k: v.astype(np.int64) if k in ("n", "seed", "width", "batch", "step") else v for k, v in cols.items()}
    write_result(out_csv, cols, dict(n=sorted({int(v) for v in cols["n"]}), seeds=sorted({int(v) for v in cols["seed"]}),
                                     widths=sorted({int(v) for v in cols["width"]}), sweep_n=sweep_n),
                 header=header, undefined=("kl",), protocols=protocols, runs=[str(r) for r in run_dirs], controls=tab,
                 status={"converged": status.converged, "error": None, "message": status.message})
    return tab


def rf_prediction(ns, *, d: int = 8, psi_p: float = 32.0, seeds: int = 2, tau=None, times: int = 12,
                  samples: int = 1000, sigma: str = GMM_SIGMA_SPECTRUM, max_order: int = 128, throw: bool = True) -> dict:
    """The random-features model on N(0, Σ) with the mixture's covariance at the same d and n: per (n, seed)
    τ_mem^samples, τ_gen^samples (theory/generation.md (Y10)-(Y11)) and the loss-based τ_mem at t_min, with
    the fitted exponents. Columns n, seed, tau_mem_samples, tau_gen_samples; fits in "fits"; "status" the
    experiment's (`GenerationResult.status` as {converged, error, message}); throw: raise `ConvergenceError` when
    it did not converge (default), or return it flagged (False)."""
    tau = list(np.geomspace(10, 1e7, 13)) + [math.inf] if tau is None else list(tau)
    res = generation_experiment([n / d for n in ns], d=d, psi_p=psi_p, tau=tau, seeds=seeds,
                                source=DataSource(sigma=sigma), sampling=SamplingConfig(times=times, samples=samples),
                                score_model=ScoreModelConfig(mehler=MehlerRule(max_order=max_order,
                                                                               tol=GENERATION_MEHLER.tol)),
                                runner=SweepRunner(workers=1))
    res.status.check(throw)
    rows = {"n": [], "seed": [], "tau_mem_samples": [], "tau_gen_samples": []}
    for q in res.points:
        rows["n"].append(int(q["n"]))
        rows["seed"].append(int(q["seed"]))
        rows["tau_mem_samples"].append(float(q["tau_mem_samples"]))
        rows["tau_gen_samples"].append(float(q["tau_gen_samples"]))
    return {"columns": {k: np.array(v) for k, v in rows.items()}, "fits": res.summary(), "status": status_dict(res),
            "parameters": dict(d=d, psi_p=psi_p, p=int(round(psi_p * d)), seeds=seeds, times=times, samples=samples,
                               sigma=sigma, tau=tau, max_order=max_order)}


def main(argv=None) -> int:
    """Regenerate the committed inputs of the figure: ``python -m rfscore.analysis.networks RUN_DIR ... --out DIR``.
    Bad input (a folder that is not a train-net output, folders of different protocols) is one line and exit 2, a
    failed fit one line and exit 1, Ctrl-C one line and exit 130, as for the rfscore commands."""
    import sys

    prog = "python -m rfscore.analysis.networks"
    try:
        return _main(argv)
    except InputError as exc:
        print(f"{prog}: error: {exc.arg}: {exc.msg}", file=sys.stderr)
    except (OSError, KeyError, ValueError) as exc:  # a folder without a readable train-net CSV and sidecar
        name = getattr(exc, "filename", None) or exc
        print(f"{prog}: error: runs: cannot read a train-net output ({type(exc).__name__}: {name}); nothing written",
              file=sys.stderr)
    except ConvergenceError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{prog}: interrupted; nothing written", file=sys.stderr)
        return 130
    return 2


def _main(argv) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m rfscore.analysis.networks", description=main.__doc__)
    ap.add_argument("runs", nargs="+", help="output folders of rfscore train-net (with --merge, also CSVs that "
                                            "--merge wrote)")
    ap.add_argument("--merge", default=None, help="instead: write the union of the runs (one protocol) to this CSV "
                                                  "with its read-off and exponent tables (`merge_runs`)")
    ap.add_argument("--controls", default=None, help="instead: write the union of runs of several optimisers and "
                                                     "batch rules to this CSV with the control table (`merge_controls`)")
    ap.add_argument("--sweep-n", type=int, default=48, help="with --controls: the n of the batch sweep")
    ap.add_argument("--out", default=None, help="folder for networks_runs.csv and networks_rf.csv (required without --merge)")
    ap.add_argument("--rf-psi-p", type=float, default=32.0)
    ap.add_argument("--rf-seeds", type=int, default=2)
    args = ap.parse_args(argv)
    if args.merge:
        merge_runs(args.runs, args.merge, throw=False)  # censored read-offs are flagged in the sidecar, as train-net's
        return 0
    if args.controls:
        merge_controls(args.runs, args.controls, sweep_n=args.sweep_n, throw=False)
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
                 fits=rf["fits"], status=rf["status"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
