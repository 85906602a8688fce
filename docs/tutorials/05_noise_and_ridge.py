# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 5. Finite noise samples and ridge: the interpolation peak at p = nm
#
# <a href="05_noise_and_ridge.ipynb" download>Download this notebook (.ipynb)</a> ·
# size: d → ∞, 16 values of ψ_p, m = 1, 4, ∞ · 11 s measured in the site build on a 2-core machine shared with other jobs (load average ≈ 14).
#
# With m noise draws per training point, drawn once and frozen, the readout fits N = n·m noisy
# points; at τ = ∞ the test loss peaks where the number of features p equals nm, i.e. at
# ψ_p = m ψ_n, and a ridge λ tames the peak ({ref}`(F11) <theory-f11>`, theory/finite_noise_ridge.md).

# %%
import numpy as np, matplotlib.pyplot as plt
from rfscore.limit.finite_noise import finite_noise_curves

psi_n, t, ridge = 2.0, 0.1, 1e-3
psi_p = np.geomspace(0.5, 64, 16)
rows = {}
for m in (1, 4, None):                                # None: the exact noise average, m = ∞
    rows[m] = [finite_noise_curves([np.inf], psi_p=float(pp), psi_n=psi_n, t=t, noise_samples=m,
                                   ridge=ridge).test_loss[0] for pp in psi_p]

# %%
fig, ax = plt.subplots(figsize=(5.5, 3.4))
for k, (m, loss) in enumerate(rows.items()):
    label = r"$m=\infty$" if m is None else f"$m={m}$"
    ax.semilogx(psi_p, loss, "o-", ms=3, color=f"C{k}", label=label)
    if m is not None:
        ax.axvline(m * psi_n, color=f"C{k}", ls=":")
ax.set(xlabel=r"$\psi_p = p/d$", ylabel=r"test loss at $\tau=\infty$",
       title=rf"$d\to\infty$, $\psi_n={psi_n:g}$, $\lambda={ridge:g}$, $t={t:g}$; dotted: $\psi_p=m\psi_n$")
ax.legend()
plt.show()
for m, loss in rows.items():
    if m is None:
        continue                                      # no interpolation point for the exact noise average
    k = int(np.argmax(loss))
    print(f"m = {m}: highest test loss at ψ_p = {psi_p[k]:.3g} (m ψ_n = {m * psi_n:g}; the grid's spacing is a factor 1.38)")

# %% [markdown]
# **Scaling up.** `rfscore curve --vary psi_p --values ... --psi-n 2 --t 0.1 --noise-samples
# "1,4,16,inf" --ridge 1e-3 --finite-d 8 --seeds 3 --out lc.csv` adds finite-size markers and the
# bias–variance split; a finer ψ_p grid resolves the peak, and a smaller ridge sharpens it.
