"""The generation-clock study (theory/generation.md §9-§10): runs and analysis.

    python figures/generation_study.py run [NAME ...]   # rfscore generate per configuration, resumable
    python figures/generation_study.py analyse          # rfscore/figures/data/generation_clock*.{csv,json}

Each configuration of CONFIGS is one `rfscore generate` run writing figures/generation_study/NAME.csv
(+ .json sidecar, NAME_map.csv); an interrupted run resumes from its checkpoint NAME.csv.partial.jsonl,
and a finished one is skipped. `analyse` reads the finished runs (and the finished points of unfinished
ones), calibrates κ of the law (M4) on the d = 8 and 16 runs only (`CALIBRATE`), and writes, per run,
the measured and predicted onsets and the exponents of the table of theory/generation.md §10.
"""
from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent / "generation_study"
TAU = "1e2,3e2,1e3,3e3,1e4,3e4,1e5,3e5,1e6,3e6,1e7,3e7,1e8,inf"
COMMON = ["--seeds", "3", "--times", "12", "--tau", TAU, "--samples", "1000", "--max-order", "64",
          "--workers", "1", "--no-progress"]
# run name: (d, ψ_p, ψ_n list); one `rfscore generate` each
CONFIGS = {
    "d8_pp64": (8, 64, "2,4,8"),
    "d16_pp32": (16, 32, "2,4,8"),
    "d12_pp64": (12, 64, "2,4,8"),
    # fixed ψ_p/ψ_n = 16 and 64: one run per (ψ_p, ψ_n); the points at ψ_p = 64, ψ_n = 4 (d = 8) and
    # ψ_p = 32, ψ_n = 2 (d = 16) are those of the runs above (same keys, same draws)
    "d8_pp32_pn2": (8, 32, "2"),
    "d8_pp128_pn8": (8, 128, "8"),
    "d16_pp64_pn4": (16, 64, "4"),
    "d16_pp128_pn8": (16, 128, "8"),
    "d32_pp16_pn1": (32, 16, "1"),
    "d32_pp32_pn2": (32, 32, "2"),
    "d32_pp64_pn4": (32, 64, "4"),
    "d8_pp128_pn2": (8, 128, "2"),
    "d8_pp256_pn4": (8, 256, "4"),
    # d = 32 copies (f_mem(inf) >= 0.02) only with few points per feature: ψ_p/ψ_n = 64, ψ_n <= 1
    "d32_pp16_pn025": (32, 16, "0.25"),
    "d32_pp32_pn05": (32, 32, "0.5"),
    "d32_pp64_pn1": (32, 64, "1"),
    # ψ_p/ψ_n = 256 at d = 8 (n >= 4 needs ψ_n >= 0.5) and ψ_p/ψ_n = 64 at d = 16
    "d8_pp128_pn05": (8, 128, "0.5"),
    "d8_pp256_pn1": (8, 256, "1"),
    # p = 4096: the block-Lanczos path (p >= krylov_above), no map; 48.5 min for one seed on two shared cores,
    # not finished (theory/generation.md §10) and in no series
    "d8_pp512_pn2": (8, 512, "2"),
    "d16_pp64_pn1": (16, 64, "1"),
    "d16_pp128_pn2": (16, 128, "2"),
    # ψ_p/ψ_n = 256 at d = 16 and 32, n = 4 and 8
    "d16_pp64_pn025": (16, 64, "0.25"),
    "d16_pp128_pn05": (16, 128, "0.5"),
    "d32_pp32_pn0125": (32, 32, "0.125"),
    "d32_pp64_pn025": (32, 64, "0.25"),
}
CALIBRATE = ("d8_pp64", "d16_pp32")  # κ is fitted on these only; every other run is a check
# series of the exponent table (theory/generation.md §10): name -> [(run, ψ_n or None for all of the run's)]
SERIES = {
    "d8_pp64": [("d8_pp64", None)],
    "d16_pp32": [("d16_pp32", None)],
    "d12_pp64": [("d12_pp64", None)],
    "d8_r16": [("d8_pp32_pn2", None), ("d8_pp64", 4.0), ("d8_pp128_pn8", None)],
    "d16_r16": [("d16_pp32", 2.0), ("d16_pp64_pn4", None), ("d16_pp128_pn8", None)],
    "d32_r16": [("d32_pp16_pn1", None), ("d32_pp32_pn2", None), ("d32_pp64_pn4", None)],
    "d8_r64": [("d8_pp128_pn2", None), ("d8_pp256_pn4", None)],
    "d32_r64": [("d32_pp16_pn025", None), ("d32_pp32_pn05", None), ("d32_pp64_pn1", None)],
    "d8_r256": [("d8_pp128_pn05", None), ("d8_pp256_pn1", None)],
    "d16_r64": [("d16_pp64_pn1", None), ("d16_pp128_pn2", None)],
    "d16_r256": [("d16_pp64_pn025", None), ("d16_pp128_pn05", None)],
    "d32_r256": [("d32_pp32_pn0125", None), ("d32_pp64_pn025", None)],
}


def run(names):
    HERE.mkdir(exist_ok=True)
    for name in names or CONFIGS:
        d, psi_p, psi_n = CONFIGS[name]
        if (HERE / f"{name}.csv").exists():
            continue
        cmd = ["rfscore", "generate", "--d", str(d), "--psi-p", str(psi_p), "--psi-n", psi_n, *COMMON,
               "--out", str(HERE / f"{name}.csv")]
        print(" ".join(cmd), flush=True)
        import time
        t0 = time.time()
        subprocess.run(cmd, check=False)  # a failed run (exit 1, one line) leaves no output; the next one goes on
        if (HERE / f"{name}.csv").exists():  # wall seconds of the whole run (a resumed run: of its last part)
            (HERE / f"{name}.wall_s").write_text(f"{time.time() - t0:.1f}\n")


THRESHOLDS = (0.02, 0.05, 0.1)  # f_mem levels of the onset read-off (Y11); 0.1 is the default of generate
REL = 0.25
KEYS = tuple(f"{th:g}" for th in THRESHOLDS) + ("rel",)


def load(name) -> list:
    """Per (ψ_n, seed): the onsets (Y11) at every THRESHOLDS level (``tau_mem_samples`` at 0.1),
    delta_collapse, f_mem at τ = inf, the map (times, delta_t, tau_mem_t, n_peaks_t)."""
    from rfscore.generative.generation import tau_mem_samples, tau_mem_samples_relative

    side = HERE / f"{name}.json"
    raw = []  # (psi_n, seed, n, tau list, f_mem list, map dict)
    if side.exists():
        meta = json.loads(side.read_text())
        with open(HERE / f"{name}_map.csv") as fh:
            mrows = [dict((k, float(v)) for k, v in r.items()) for r in csv.DictReader(fh)]
        with open(HERE / f"{name}.csv") as fh:
            rows = [dict((k, float(v)) for k, v in r.items()) for r in csv.DictReader(fh)]
        for q in meta["points"]:
            mine = [r for r in mrows if r["psi_n"] == q["psi_n"] and r["seed"] == q["seed"]]
            curve = [r for r in rows if r["psi_n"] == q["psi_n"] and r["seed"] == q["seed"]]
            mp = dict(delta_collapse=q["map"]["delta_collapse"], times=[r["t"] for r in mine],
                      delta_t=[r["delta_t"] for r in mine], tau_mem_t=[r["tau_mem_t"] for r in mine],
                      n_peaks_t=[int(r["n_peaks"]) for r in mine])
            raw.append((q["psi_n"], q["seed"], q["n"], [r["tau"] for r in curve], [r["f_mem"] for r in curve], mp))
    elif (HERE / f"{name}.csv.partial.jsonl").exists():
        for line in (HERE / f"{name}.csv.partial.jsonl").read_text().splitlines()[1:]:
            res = json.loads(line)["result"]
            raw.append((res["psi_n"], res["seed"], res["n"], [float(r[2]) for r in res["rows"]],
                        [float(r[3]) for r in res["rows"]], res["map"]))
    pts = []
    for psi_n, seed, n, tau, fm, mp in raw:
        tau, fm = np.array(tau, dtype=float), np.array(fm, dtype=float)
        q = dict(psi_n=float(psi_n), seed=int(seed), n=int(n), delta_collapse=float(mp["delta_collapse"]),
                 f_mem_inf=float(fm[np.argmax(tau)]), times=np.array(mp["times"], dtype=float),
                 delta_t=np.array(mp["delta_t"], dtype=float), tau_mem_t=np.array(mp["tau_mem_t"], dtype=float),
                 n_peaks_t=np.array(mp["n_peaks_t"], dtype=int))
        for th in THRESHOLDS:
            q[f"onset_{th:g}"] = tau_mem_samples(tau, fm, th)
        q["tau_mem_samples"] = q["onset_0.1"]
        # relative read-off: the first τ with f_mem >= REL × f_mem(τ = inf) (not the CLI's; a check of reason 2, §5)
        q["onset_rel"] = tau_mem_samples_relative(tau, fm, REL)
        pts.append(q)
    return pts


def _fit(psi, table):
    """fit_exponent over seeds (rows) × ψ_n (columns) if every value is finite, else None."""
    from rfscore.analysis.timescales import fit_exponent

    a = np.asarray(table, dtype=float)
    if a.size == 0 or a.shape[1] < 2 or not np.all(np.isfinite(a)) or np.any(a <= 0):
        return None
    f = fit_exponent(psi, a)
    return {"exponent": f.exponent, "ci": list(f.ci)}


def analyse():
    from rfscore.analysis.memorisation_map import kappa_of, predicted_onset

    runs = {name: load(name) for name in CONFIGS}
    runs = {k: v for k, v in runs.items() if v}
    kappas = {}
    for th in KEYS:
        kp = np.array([kappa_of(q["delta_t"], q["tau_mem_t"], q["delta_collapse"], q[f"onset_{th}"], CONFIGS[name][0])
                       for name in CALIBRATE for q in runs.get(name, [])])
        kp = kp[np.isfinite(kp)]
        kappas[th] = dict(kappa=float(np.exp(np.mean(np.log(kp)))) if kp.size else math.nan,
                                 log_sd=float(np.std(np.log(kp), ddof=1)) if kp.size > 1 else math.nan,
                                 points=int(kp.size),
                                 of=sum(len(runs.get(name, [])) for name in CALIBRATE))
    kappa = kappas["rel"]["kappa"]  # the law (M4) predicts the relative onset (Y15)
    spread = kappas["rel"]["log_sd"]
    rows, table = [], {}
    for name, pts in runs.items():
        d, psi_p, _ = CONFIGS[name]
        for q in pts:
            row = dict(run=name, d=d, psi_p=psi_p, psi_n=q["psi_n"], seed=q["seed"], n=q["n"],
                       delta_collapse=q["delta_collapse"], f_mem_inf=q["f_mem_inf"], calibration=name in CALIBRATE)
            for th in KEYS:
                k = kappas[th]["kappa"]
                pred, flag = predicted_onset(q["delta_t"], q["tau_mem_t"], q["n_peaks_t"], q["delta_collapse"], d, k)
                q[f"pred_{th}"] = pred
                meas = q[f"onset_{th}"]
                row.update({f"onset_{th}": meas, f"predicted_{th}": pred,
                            f"ratio_{th}": meas / pred if pred > 0 else math.nan})
                if th == "0.1":
                    row.update(tau_mem_samples=meas)
                if th == "rel":
                    q["pred"], q["flag"] = pred, flag
                    row.update(tau_mem_samples_relative=meas, tau_mem_samples_predicted=pred, prediction_flag=flag,
                               kappa_point=kappa_of(q["delta_t"], q["tau_mem_t"], q["delta_collapse"], meas, d))
            rows.append(row)
    for sname, members in SERIES.items():
        pts = [dict(q, run=run) for run, only in members for q in runs.get(run, [])
               if only is None or q["psi_n"] == only]
        if not pts:
            continue
        psi = sorted({q["psi_n"] for q in pts})
        seeds = sorted({q["seed"] for q in pts})
        complete = [s for s in seeds if all(any(q["seed"] == s and q["psi_n"] == x for q in pts) for x in psi)]

        def grid(key, pts=pts, psi=psi, complete=complete):
            return [[next(q[key] for q in pts if q["seed"] == s and q["psi_n"] == x) for x in psi] for s in complete]
        # loss level at a fixed t_κ: Δ = κ/d × the geometric mean of Δ_C over the series (κ of the relative onset)
        dref = kappa / CONFIGS[members[0][0]][0] * float(np.exp(np.mean(np.log([q["delta_collapse"] for q in pts]))))
        for q in pts:
            q["loss_at_fixed"] = float(np.exp(np.interp(math.log(dref), np.log(q["delta_t"]), np.log(q["tau_mem_t"]))))
            # α: the local slope -d log τ_mem/d log Δ at t_κ, from the two grid times around it
            j = int(np.clip(np.searchsorted(q["delta_t"], dref), 1, q["delta_t"].size - 1))
            q["alpha"] = -float(np.log(q["tau_mem_t"][j] / q["tau_mem_t"][j - 1])
                                / np.log(q["delta_t"][j] / q["delta_t"][j - 1]))
        runs_in = sorted({q["run"] for q in pts})
        table[sname] = dict(d=CONFIGS[runs_in[0]][0], psi_n=psi, psi_p=[CONFIGS[r][1] for r, _ in members],
                            seeds=len(complete), runs=runs_in,
                            ratio_psi_p_psi_n=sorted({CONFIGS[q["run"]][1] / q["psi_n"] for q in pts}),
                            sample=_fit(psi, grid("tau_mem_samples")), predicted=_fit(psi, grid("pred")),
                            **{f"sample_{th}": _fit(psi, grid(f"onset_{th}")) for th in KEYS},
                            **{f"predicted_{th}": _fit(psi, grid(f"pred_{th}")) for th in KEYS},
                            f_mem_inf=[float(np.mean([q["f_mem_inf"] for q in pts if q["psi_n"] == x])) for x in psi],
                            loss_at_t_kappa=_fit(psi, grid("loss_at_fixed")),
                            delta_collapse=_fit(psi, grid("delta_collapse")),
                            alpha_at_t_kappa=float(np.mean([q["alpha"] for q in pts])), delta_t_kappa=dref,
                            single_peak_at_t_kappa=sorted({q["flag"] for q in pts}))
    out = dict(kappa=kappa, kappa_log_sd=spread, kappa_by_threshold=kappas, kappa_points=kappas["rel"]["points"], calibrated_on=list(CALIBRATE),
               law="tau_mem(t_kappa), Delta_t_kappa = kappa * Delta_C(n) / d, predicting the relative onset "
                   f"f_mem >= {REL} f_mem(inf) (Y15)", table=table,
               command="python figures/generation_study.py run && python figures/generation_study.py analyse",
               runs={k: dict(zip(("d", "psi_p", "psi_n"), v)) for k, v in CONFIGS.items()}, options=" ".join(COMMON))
    import rfscore
    from rfscore.runtime.io import write_json
    out.update(rfscore_version=rfscore.__version__, figure_run="d8_pp64")
    data = Path(rfscore.__file__).resolve().parent / "figures" / "data"
    write_json(data / "generation_clock.json", out)
    with open(data / "generation_clock.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    with open(data / "generation_clock_map.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["run", "psi_n", "seed", "t", "delta_t", "tau_mem_t", "n_peaks"])
        for name, pts in runs.items():
            for q in pts:
                for t, dl, tm, k in zip(q["times"], q["delta_t"], q["tau_mem_t"], q["n_peaks_t"]):
                    w.writerow([name, q["psi_n"], q["seed"], repr(float(t)), repr(float(dl)), repr(float(tm)), int(k)])
    print(json.dumps(kappas))
    for r in rows:
        print(f"{r['run']:>13} psi_n={r['psi_n']:g} s={r['seed']} Dc={r['delta_collapse']:.3g} finf={r['f_mem_inf']:.3f} "
              + " | ".join(f"{th}: {r[f'onset_{th}']:.2g}/{r[f'predicted_{th}']:.2g}={r[f'ratio_{th}']:.2f}"
                           for th in KEYS) + f" ({r['prediction_flag']})")
    def f(x):
        if not x:
            return "—"
        if not all(np.isfinite(x["ci"])):  # one complete seed, two ψ_n: a slope without an interval
            return f"{x['exponent']:.2f} (1 seed, no CI)"
        return f"{x['exponent']:.2f} [{x['ci'][0]:.2f}, {x['ci'][1]:.2f}]"
    def slow(t):  # the prediction of some point is read on a slow second peak (theory/generation.md §9)
        return " (flagged slow_second_peak)" if "slow_second_peak" in t["single_peak_at_t_kappa"] else ""
    md = ["| series | d | ψ_p | ψ_n | ψ_p/ψ_n | seeds | f_mem(∞) | sample, f_mem ≥ 0.1 | sample, relative (Y15) | "
          "loss τ_mem at t_κ | predicted (M4) | Δ_C(n) |", "|" + "---|" * 12]
    for name, t in table.items():
        md.append(f"| {name} | {t['d']} | {', '.join(f'{x:g}' for x in t['psi_p'])} | "
                  f"{', '.join(f'{x:g}' for x in t['psi_n'])} | {', '.join(f'{x:g}' for x in t['ratio_psi_p_psi_n'])} | "
                  f"{t['seeds']} | {', '.join(f'{x:.2f}' for x in t['f_mem_inf'])} | {f(t['sample'])} | "
                  f"{f(t['sample_rel'])} | {f(t['loss_at_t_kappa'])} | {f(t['predicted'])}{slow(t)} | {f(t['delta_collapse'])} |")
    (HERE / "table.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))
    for name, t in table.items():
        print(name, {k: t[k] for k in ("seeds", "sample", "predicted", "loss_at_t_kappa", "delta_collapse",
                                       "alpha_at_t_kappa", "single_peak_at_t_kappa")})
    return out


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "run":
        run(sys.argv[2:])
    else:
        analyse()
