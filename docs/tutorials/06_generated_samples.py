# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 6. Generated samples: memorisation, quality, and the nearest training point
#
# <a href="06_generated_samples.ipynb" download>Download this notebook (.ipynb)</a> ·
# size: d = 4, ψ_p = 16, ψ_n = 2, 4, 8 grid times, 500 samples · 27 s measured in the site build on a 2-core machine shared with other jobs (load average ≈ 14).
#
# The random-features score is trained in closed form at every grid time of the diffusion
# ({ref}`(Y1) <theory-y1>`) and the reverse-time SDE is run from it ({ref}`(Y3) <theory-y3>`).
# Over training time τ we measure the memorised fraction f_mem ({ref}`(Y7) <theory-y7>`), the
# Fréchet distance to the data ({ref}`(Y8) <theory-y8>`) and the Girsanov KL estimate
# ({ref}`(Y9) <theory-y9>`).

# %%
import numpy as np, matplotlib.pyplot as plt
from rfscore import generation_experiment, SamplingConfig

tau = [1e1, 1e2, 1e3, 1e4, 1e5, np.inf]
gen = generation_experiment([2, 4], d=4, psi_p=16, sampling=SamplingConfig(times=8, samples=500, keep_samples=True), tau=tau)
tab = gen.table
print("converged:", gen.converged)
for k in range(len(tab["tau"])):
    print(f"ψ_n = {tab['psi_n'][k]:g}  τ = {tab['tau'][k]:8.3g}  f_mem = {tab['f_mem'][k]:.3f} "
          f"[{tab['f_mem_lo'][k]:.3f}, {tab['f_mem_hi'][k]:.3f}]  Fréchet = {tab['frechet'][k]:.4f}")

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
for k, pn in enumerate(np.unique(tab["psi_n"])):
    sel = tab["psi_n"] == pn
    x = np.where(np.isinf(tab["tau"][sel]), 1e6, tab["tau"][sel])   # τ = ∞ drawn at 10⁶
    axes[0].semilogx(x, tab["f_mem"][sel], "o-", color=f"C{k}", label=rf"$\psi_n={pn:g}$")
    axes[0].fill_between(x, tab["f_mem_lo"][sel], tab["f_mem_hi"][sel], color=f"C{k}", alpha=0.2)
    axes[1].loglog(x, tab["frechet"][sel], "o-", color=f"C{k}", label=rf"$\psi_n={pn:g}$")
axes[0].set(xlabel=r"$\tau$ ($\infty$ at $10^6$)", ylabel=r"$f_{\rm mem}$ (Wilson 95 %)")
axes[1].set(xlabel=r"$\tau$ ($\infty$ at $10^6$)", ylabel="Fréchet distance")
axes[0].legend()
plt.show()
print(gen.summary())

# %% [markdown]
# Samples beside their nearest training point, for the first ψ_n: early in training the samples
# are new points; at τ = ∞ they are copies of the training set.

# %%
X = np.asarray(gen.X)
fig, axes = plt.subplots(1, len(gen.tau_samples), figsize=(3 * len(gen.tau_samples), 3), sharex=True, sharey=True)
for ax, tt, S in zip(axes, gen.tau_samples, gen.samples):
    S = np.asarray(S)[:200]
    near = X[np.argmin(((S[:, None, :] - X[None]) ** 2).sum(-1), axis=1)]
    for s, x in zip(S[:40], near[:40]):
        ax.plot([s[0], x[0]], [s[1], x[1]], color="0.7", lw=0.5)
    ax.plot(S[:, 0], S[:, 1], ".", ms=2, label="samples")
    ax.plot(X[:, 0], X[:, 1], "r*", ms=6, label="training points")
    ax.set(title=rf"$\tau={tt:g}$", xlabel=r"$x_1$")
axes[0].set_ylabel(r"$x_2$")
axes[0].legend(fontsize=7)
plt.show()

# %% [markdown]
# **Scaling up.** The paper-sized run is `rfscore generate --d 8 --psi-p 128 --psi-n "2,8" --times 40
# --samples 2000 --seeds 3 --out gen.csv` (about half a minute per ψ_n); `--data digits` runs the
# same on real images (theory/generation.md (Y13)) and `--save-samples` keeps the samples.
