# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 8. Your own data: X.npy in, theory and Gaussian comparison out
#
# <a href="08_your_own_data.ipynb" download>Download this notebook (.ipynb)</a> ·
# size: d = 12, 480 rows (a quarter held out), ψ_p = 32, ψ_n = 2, 4, 8 · 37 s measured in the site build on a 2-core machine shared with other jobs (load average ≈ 14).
#
# Any data set of shape (rows, d) saved with `numpy.save` can be used as it is. rfscore
# normalises it, holds out test rows, computes the exact noise-averaged matrices on the real rows
# ({ref}`(R1) <theory-r1>`, {ref}`(R2) <theory-r2>`) and compares with the Gaussian-equivalent
# model that has the same covariance Σ̂ ({ref}`(R3) <theory-r3>`, {ref}`(R4) <theory-r4>`).
# Here we make a small non-Gaussian X.npy: a curved, heavy-tailed cloud.

# %%
import os, tempfile
import numpy as np, matplotlib.pyplot as plt
from rfscore.data.realdata import realdata_scan

rng = np.random.default_rng(0)
z = rng.standard_normal((480, 12))
X = np.tanh(1.5 * z) + 0.3 * z[:, :1] ** 2 * np.linspace(1, -1, 12)   # non-Gaussian, correlated columns
path = os.path.join(tempfile.mkdtemp(), "X.npy")
np.save(path, X)
print("saved", path, X.shape)

# %%
scan = realdata_scan(path, [2, 4, 8], psi_p=32, t=0.01, test_fraction=0.25, seeds=1, compare_gaussian=True)
tab = scan.table
print("sizes run:", scan.sizes)
for k in range(len(tab["psi_n"])):
    print(f"ψ_n = {tab['psi_n'][k]:.3g} (n = {tab['n'][k]:g}):  τ_gen = {tab['tau_gen'][k]:8.3g} "
          f"(Gaussian {tab['tau_gen_gauss'][k]:8.3g}),  τ_mem = {tab['tau_mem'][k]:8.3g} "
          f"(Gaussian {tab['tau_mem_gauss'][k]:8.3g}),  peaks {tab['n_peaks'][k]:g}")

# %%
fig, ax = plt.subplots(figsize=(5, 3.2))
ax.loglog(tab["psi_n"], tab["tau_mem"], "o-", label=r"$\tau_{\rm mem}$, your data")
ax.loglog(tab["psi_n"], tab["tau_mem_gauss"], "o--", label=r"$\tau_{\rm mem}$, Gaussian with $\hat\Sigma$")
ax.loglog(tab["psi_n"], tab["tau_gen"], "s-", label=r"$\tau_{\rm gen}$, your data")
ax.loglog(tab["psi_n"], tab["tau_gen_gauss"], "s--", label=r"$\tau_{\rm gen}$, Gaussian")
ax.set(xlabel=r"$\psi_n = n/d$", ylabel=r"$\tau$", title=r"X.npy, $d=12$, $\psi_p=32$, $t=0.01$")
ax.legend(fontsize=7)
plt.show()

# %% [markdown]
# A point with one peak (n_peaks = 1) has τ_gen = τ_mem by convention (theory/timescales.md §5):
# at small ψ_n the two bulks of the spectrum have not separated yet.
# Where the solid and dashed lines agree, the Gaussian theory with the data's own covariance
# describes your data; where they do not, the non-Gaussian structure matters.
#
# **Scaling up.** From the shell: `rfscore timescales --data X.npy --test-fraction 0.25 --psi-p 16
# --psi-n "1,2,4,8" --t 0.01 --seeds 3 --compare-gaussian --out ts.csv`, and `rfscore dynamics --data
# X.npy ... --compare-gaussian` for the learning curves; the exact matrices cost O(p² n) per time,
# so larger ψ_p and n grow quadratically. `--data digits` uses scikit-learn's 8×8 digits.
