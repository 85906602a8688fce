# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 1. Quick start: τ_gen, and τ_mem ∝ n
#
# <a href="01_quickstart.ipynb" download>Download this notebook (.ipynb)</a> ·
# size: d = 8, ψ_p = 256, ψ_n = 4, 8, 16, 32, three seeds · 66 s measured in the site build on a 2-core machine shared with other jobs (load average ≈ 14).
#
# The first cell is the README's Python block: the public API in a dozen lines. Every function
# cites its equations; the links go to the {doc}`theory </theory/README>`.

# %%
import jax, numpy as np
import rfscore
from rfscore import (ge_constants, SigmaSpectrum, solve_spectrum, sample_eigensystem, sample_inputs,
                     exact_matrices, trajectory, krylov_trajectory, timescales, asymptotic_curves,
                     generation_experiment, SamplingConfig)

c = ge_constants(0.01, "tanh")                    # (G1)-(G3) by converged quadrature
rho = solve_spectrum(np.linspace(1e-3, 20, 400), psi_p=32, psi_n=4, t=0.01)
rho.density, rho.converged, rho.atom_weight       # ρ(λ), per-point flags, the atom at s_t²

es = sample_eigensystem(jax.random.PRNGKey(0), d=20, psi_p=256, psi_n=8, t=0.01)  # thin SVD path
tr = trajectory(es, np.logspace(0, 7, 400))       # (D3), (D4), (L3) on any τ grid
ts = timescales(es, c)                            # τ_gen, τ_mem, τ_early_stop, τ_gap, predictions

W, X, _ = sample_inputs(jax.random.PRNGKey(0), d=16, psi_p=16, psi_n=4)  # exact model, Krylov path:
m = exact_matrices(W, X, t=0.01)                  # (E1)-(E3); m.truncation_bound, m.quadrature_error
kt = krylov_trajectory(m, X.shape[0], np.logspace(0, 7, 400))   # kt.krylov_dim, kt.converged, kt.error

from rfscore.finite.ensemble import RFSetting, trajectory_ensemble   # seeds 0-2, keys by the recipe (P1)
ens = trajectory_ensemble(range(3), np.logspace(0, 7, 100), setting=RFSetting(d=12, psi_p=16, psi_n=4, t=0.01))
ens.mean("test_loss"), ens.sem("test_loss"), ens.status  # (P2): one run per seed, stacked, one status

curve = asymptotic_curves(np.logspace(0, 6, 200), psi_p=32, psi_n=4, t=0.01,
                          sigma=SigmaSpectrum.parse("powerlaw:1.5"))      # d → ∞, any ρ_Σ
gen = generation_experiment([2, 4], d=4, psi_p=16, tau=[1e2, 1e4, np.inf],
                            sampling=SamplingConfig(times=8, samples=500))  # options as small objects
gen.table["f_mem"], gen.summary()                 # f_mem, Fréchet, KL estimate per (ψ_n, seed, τ); read-offs

# %% [markdown]
# Every result says whether it converged and how accurate it is:

# %%
print("spectrum converged at every λ:", bool(np.all(rho.converged)))
print("Krylov path converged:", kt.converged, " dimension", kt.krylov_dim, " error bound", kt.error)
print("τ_gen =", ts.tau_gen, " τ_mem =", ts.tau_mem)

# %% [markdown]
# ## From the spectrum of U to the read-off
#
# The gradient flow trains each eigenmode of $U$ at the rate $c\lambda_k$ with $c=2\Delta/\psi_p$
# ({ref}`(D1) <theory-d1>`, {ref}`(D3) <theory-d3>`). The spectrum of $U$ has two bulks when
# $\psi_p\gg\psi_n\gg1$ ({ref}`(S1) <theory-s1>`–{ref}`(S3) <theory-s3>`): the large eigenvalues are
# learnt first and generalise (τ_gen), the small bulk, at $\lambda\sim1/\psi_n$, is learnt at
# $\tau\sim\psi_n$ and memorises (τ_mem). Here is $\rho(\lambda)$ at ψ_p = 256, ψ_n = 8:

# %%
import matplotlib.pyplot as plt

lam = np.logspace(-3, 1.5, 600)
rho = solve_spectrum(lam, psi_p=256, psi_n=8, t=0.01)
fig, ax = plt.subplots(figsize=(5, 3))
ax.loglog(lam, np.maximum(rho.density, 1e-12))
ax.set(xlabel=r"$\lambda$", ylabel=r"$\rho(\lambda)$", ylim=(1e-4, None),
       title=r"spectrum of $U$, $\psi_p=256$, $\psi_n=8$, $t=0.01$")
plt.show()

# %% [markdown]
# The timescale spectrum $-dL_{\rm train}/d\log\tau$ ({ref}`(T1) <theory-t1>`) has one peak per
# bulk; its two peaks are the read-offs τ_gen and τ_mem. `timescale_scan` samples the
# Gaussian-equivalent model at each ψ_n and reads them off:

# %%
scan = rfscore.timescale_scan([4, 8, 16, 32], psi_p=256, t=0.01, d=8, seeds=3, seed=0)
tab = scan.table
for k in range(len(tab["psi_n"])):
    print(f"seed {tab['seed'][k]}  ψ_n = {tab['psi_n'][k]:5.1f}   τ_gen = {tab['tau_gen'][k]:9.3g}   τ_mem = {tab['tau_mem'][k]:9.3g}"
          f"   peaks = {tab['n_peaks'][k]}")

# %%
fig, ax = plt.subplots(figsize=(5, 3.2))
ax.loglog(tab["psi_n"], tab["tau_mem"], "o-", label=r"$\tau_{\rm mem}$")
ax.loglog(tab["psi_n"], tab["tau_gen"], "s-", label=r"$\tau_{\rm gen}$")
ax.set(xlabel=r"$\psi_n = n/d$", ylabel=r"$\tau$", title=r"$\psi_p=256$, $d=8$, $t=0.01$")
ax.legend()
plt.show()
for name, fit in scan.fits.items():
    print(f"{name:15s} ∝ ψ_n^{fit.exponent:+.2f}   95 % CI [{fit.ci[0]:+.2f}, {fit.ci[1]:+.2f}] over {len(fit.per_seed)} seeds")

# %% [markdown]
# τ_mem grows linearly with ψ_n, i.e. with n; τ_gen does not move. The fitted exponents come
# with 95 % confidence intervals over the seeds (theory/timescales.md).
#
# **Scaling up.** The paper's headline run is `timescale_scan([8, 16, 32, 64], psi_p=1024, t=0.01,
# d=16, seeds=3)` (about a minute), or from the shell
# `rfscore timescales --psi-p 1024 --psi-n 8,16,32,64 --t 0.01 --d 16 --seeds 3 --out ts.csv`;
# larger `d` brings the finite-size read-offs closer to the d → ∞ predictions `tau_gen_pred`,
# `tau_mem_pred` of the table.
