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
COMMON = ["--seeds", "3", "--times", "12", "--tau", TAU, "--samples", "1000", "--max-order", "32",
          "--workers", "1", "--no-progress"]
# name: (d, ψ_p, ψ_n list)
CONFIGS = {
    "d8_pp64": (8, 64, "2,4,8"),
    "d16_pp32": (16, 32, "2,4,8"),
    "d12_pp64": (12, 64, "2,4,8"),
}
CALIBRATE = ("d8_pp64", "d16_pp32")  # κ is fitted on these only; every other run is a check


def run(names):
    HERE.mkdir(exist_ok=True)
    for name in names or CONFIGS:
        d, psi_p, psi_n = CONFIGS[name]
        if (HERE / f"{name}.csv").exists():
            continue
        cmd = ["rfscore", "generate", "--d", str(d), "--psi-p", str(psi_p), "--psi-n", psi_n, *COMMON,
               "--out", str(HERE / f"{name}.csv")]
        print(" ".join(cmd), flush=True)
        subprocess.run(cmd, check=True)


def load(name) -> list:
    """Per (ψ_n, seed): tau_mem_samples, delta_collapse, the map (times, delta_t, tau_mem_t, n_peaks)."""
    from rfscore.generative.generation import tau_mem_samples

    side = HERE / f"{name}.json"
    pts = []
    if side.exists():
        meta = json.loads(side.read_text())
        thr = meta["parameters"]["mem_threshold"]
        with open(HERE / f"{name}_map.csv") as fh:
            rows = [dict((k, float(v)) for k, v in r.items()) for r in csv.DictReader(fh)]
        for q in meta["points"]:
            mine = [r for r in rows if r["psi_n"] == q["psi_n"] and r["seed"] == q["seed"]]
            pts.append(dict(psi_n=q["psi_n"], seed=q["seed"], n=q["n"], tau_mem_samples=q["tau_mem_samples"],
                            delta_collapse=q["map"]["delta_collapse"],
                            times=np.array([r["t"] for r in mine]), delta_t=np.array([r["delta_t"] for r in mine]),
                            tau_mem_t=np.array([r["tau_mem_t"] for r in mine]),
                            n_peaks_t=np.array([int(r["n_peaks"]) for r in mine])))
        return pts
    part = HERE / f"{name}.csv.partial.jsonl"
    if not part.exists():
        return pts
    for line in part.read_text().splitlines()[1:]:
        res = json.loads(line)["result"]
        rows = res["rows"]
        tau = np.array([float(r[2]) for r in rows])
        mp = res["map"]
        pts.append(dict(psi_n=res["psi_n"], seed=res["seed"], n=res["n"],
                        tau_mem_samples=tau_mem_samples(tau, np.array([r[3] for r in rows]), 0.1),
                        delta_collapse=mp["delta_collapse"], times=np.array(mp["times"], dtype=float),
                        delta_t=np.array(mp["delta_t"], dtype=float),
                        tau_mem_t=np.array(mp["tau_mem_t"], dtype=float), n_peaks_t=np.array(mp["n_peaks_t"])))
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
    kap = [kappa_of(q["delta_t"], q["tau_mem_t"], q["delta_collapse"], q["tau_mem_samples"])
           for name in CALIBRATE for q in runs[name]]
    kap = np.array([k for k in kap if np.isfinite(k)])
    kappa = float(np.exp(np.mean(np.log(kap)))) if kap.size else math.nan
    spread = float(np.std(np.log(kap), ddof=1)) if kap.size > 1 else math.nan
    rows, table = [], {}
    for name, pts in runs.items():
        if not pts:
            continue
        d, psi_p, _ = CONFIGS[name]
        for q in pts:
            pred, flag = predicted_onset(q["delta_t"], q["tau_mem_t"], q["n_peaks_t"], q["delta_collapse"], kappa)
            q["pred"], q["flag"] = pred, flag
            rows.append(dict(run=name, d=d, psi_p=psi_p, psi_n=q["psi_n"], seed=q["seed"], n=q["n"],
                             delta_collapse=q["delta_collapse"], tau_mem_samples=q["tau_mem_samples"],
                             tau_mem_samples_predicted=pred, prediction_flag=flag,
                             ratio=q["tau_mem_samples"] / pred if pred > 0 else math.nan,
                             kappa_point=kappa_of(q["delta_t"], q["tau_mem_t"], q["delta_collapse"],
                                                  q["tau_mem_samples"]),
                             calibration=name in CALIBRATE))
        psi = sorted({q["psi_n"] for q in pts})
        seeds = sorted({q["seed"] for q in pts})
        complete = [s for s in seeds if all(any(q["seed"] == s and q["psi_n"] == x for q in pts) for x in psi)]

        def grid(key, pts=pts, psi=psi, complete=complete):
            return [[next(q[key] for q in pts if q["seed"] == s and q["psi_n"] == x) for x in psi] for s in complete]
        # loss level at a fixed t_κ: Δ = κ × the geometric mean of Δ_C over the run (the middle n's collapse)
        dref = kappa * float(np.exp(np.mean(np.log([q["delta_collapse"] for q in pts]))))
        for q in pts:
            q["loss_at_fixed"] = float(np.exp(np.interp(math.log(dref), np.log(q["delta_t"]), np.log(q["tau_mem_t"]))))
            # α: the local slope -d log τ_mem/d log Δ at t_κ, from the two grid times around it
            j = int(np.clip(np.searchsorted(q["delta_t"], dref), 1, q["delta_t"].size - 1))
            q["alpha"] = -float(np.log(q["tau_mem_t"][j] / q["tau_mem_t"][j - 1])
                                / np.log(q["delta_t"][j] / q["delta_t"][j - 1]))
        table[name] = dict(d=d, psi_p=psi_p, psi_n=psi, seeds=len(complete),
                           ratio_psi_p_psi_n=[psi_p / x for x in psi],
                           sample=_fit(psi, grid("tau_mem_samples")), predicted=_fit(psi, grid("pred")),
                           loss_at_t_kappa=_fit(psi, grid("loss_at_fixed")),
                           delta_collapse=_fit(psi, grid("delta_collapse")),
                           alpha_at_t_kappa=float(np.mean([q["alpha"] for q in pts])),
                           delta_t_kappa=dref)
    out = dict(kappa=kappa, kappa_log_sd=spread, kappa_points=int(kap.size), calibrated_on=list(CALIBRATE),
               law="tau_mem(t_kappa), Delta_t_kappa = kappa * Delta_C(n)", table=table,
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
    print(json.dumps(dict(kappa=kappa, kappa_log_sd=spread, n=int(kap.size)), indent=None))
    for r in rows:
        print(f"{r['run']:>10} psi_n={r['psi_n']:g} seed={r['seed']} Dc={r['delta_collapse']:.3g} "
              f"meas={r['tau_mem_samples']:.3g} pred={r['tau_mem_samples_predicted']:.3g} ({r['prediction_flag']}) "
              f"ratio={r['ratio']:.2f} kappa_pt={r['kappa_point']:.3g}")
    for name, t in table.items():
        print(name, {k: t[k] for k in ("sample", "predicted", "loss_at_t_kappa", "delta_collapse", "alpha_at_t_kappa")})
    return out


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "run":
        run(sys.argv[2:])
    else:
        analyse()
