# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 3. Phase diagrams: a (ψ_n, ψ_p) grid, resumed, parallel, on Dask
#
# <a href="03_phase_diagrams.ipynb" download>Download this notebook (.ipynb)</a> ·
# size: d = 8, a 4 × 4 grid, τ = 10², 10⁴, ∞ · 14 s measured in the site build on a 2-core machine shared with other jobs (load average ≈ 14).
#
# `phase_diagram` evaluates the generalisation loss on a grid of (ψ_n, ψ_p) at several training
# times and classifies each point (theory/phase_diagram.md). With `checkpoint=` every finished
# point is appended to a file, and a rerun resumes from it.

# %%
import os, tempfile, time
import numpy as np, matplotlib.pyplot as plt
import rfscore
from rfscore import SweepRunner

psi_n = [1, 2, 4, 8]
psi_p = [2, 8, 32, 128]
tau = [1e2, 1e4, np.inf]
work = tempfile.mkdtemp()
ckpt = os.path.join(work, "phase.partial.jsonl")

t0 = time.perf_counter()
pd = rfscore.phase_diagram(psi_n, psi_p, tau, d=8, t=0.1, runner=SweepRunner(workers=1, checkpoint=ckpt))
print(f"first run: {time.perf_counter() - t0:.1f} s,", sum(1 for _ in open(ckpt)), "lines in the checkpoint")

t0 = time.perf_counter()
pd = rfscore.phase_diagram(psi_n, psi_p, tau, d=8, t=0.1, runner=SweepRunner(workers=1, checkpoint=ckpt))
print(f"rerun, resumed from the checkpoint: {time.perf_counter() - t0:.1f} s")

# %%
fig, axes = plt.subplots(1, 3, figsize=(10, 3), sharey=True)
for ax, tt in zip(axes, tau):
    pn, pp, g = pd.grid(tt)
    im = ax.pcolormesh(np.log2(pn), np.log2(pp), np.log10(g / pd.delta_t), shading="nearest", vmin=-2, vmax=2)
    bp, bn = pd.boundary(tt)                     # for each ψ_p, the ψ_n where g/Δ_t crosses the threshold
    ax.plot(np.log2(bn), np.log2(bp), "w-o", ms=3)
    ax.set(title=rf"$\tau={tt:g}$", xlabel=r"$\log_2\psi_n$")
axes[0].set_ylabel(r"$\log_2\psi_p$")
fig.colorbar(im, ax=axes, label=r"$\log_{10}$ generalisation loss / $\Delta_t$")
plt.show()
regimes, counts = np.unique(pd.regime, return_counts=True)
print({str(r): int(c) for r, c in zip(regimes, counts)})

# %% [markdown]
# **In parallel.** `workers=K` runs the grid in K local processes. **On a Dask cluster**, pass the
# scheduler: a `distributed.Client`, or its address `tcp://HOST:PORT` (the CLI's `--scheduler`).
# Here a local cluster of one worker stands in for a real one:

# %%
try:
    from dask.distributed import Client, LocalCluster
except ImportError:
    print("dask is not installed (pip install 'rfscore[dask]'): skipping the cluster run")
else:
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        small = rfscore.phase_diagram([2, 8], [8, 32], [1e3, np.inf], d=8, t=0.1, runner=SweepRunner(scheduler=client))
    print("grid points computed on the cluster:", len(small.psi_n))

# %% [markdown]
# **Scaling up.** The paper's Fig. 5C grid: `rfscore phase --psi-p "..." --psi-n "..." --t 0.01 --d 64
# --tau "1e2,1e4,inf" --out phase.csv` (or `rfscore reproduce --paper --only fig5c`); a larger `d` and
# a finer grid scale with the number of points, so spread them over workers or a cluster, and
# interrupt freely: the rerun resumes.
