# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 7. Trained networks beside the theory
#
# <a href="07_trained_networks.ipynb" download>Download this notebook (.ipynb)</a> ·
# size: residual MLP of width 64, n = 16 and 64, 1500 Adam steps, 300 samples at each of 5 checkpoints ·
# 34 s measured in the site build on a 2-core machine shared with other jobs (load average ≈ 14). Needs the `nets` extra (`pip install "rfscore[nets]"`, equinox).
#
# A time-conditioned ε-prediction network is trained on n points of the two-Gaussian mixture
# ({ref}`(N1) <theory-n1>`, {ref}`(N2) <theory-n2>`) and sampled through rfscore's sampler at
# log-spaced checkpoints ({ref}`(N4) <theory-n4>`), with training time τ = steps × lr
# ({ref}`(N5) <theory-n5>`). The random-features theory predicts that memorisation starts at
# τ_mem ∝ n: the f_mem curves should line up against τ/n.

# %%
import importlib.util

HAVE_NETS = importlib.util.find_spec("equinox") is not None
if not HAVE_NETS:
    print("equinox is not installed (pip install 'rfscore[nets]'): this tutorial is skipped.")

# %%
import csv, os, subprocess, sys, tempfile
import numpy as np, matplotlib.pyplot as plt

out = os.path.join(tempfile.mkdtemp(), "run")
cmd = [sys.executable, "-m", "rfscore", "train-net", "--data", "gmm", "--arch", "mlp", "--width", "64",
       "--n", "16,64", "--steps", "1500", "--lr", "1e-3", "--samples", "300", "--checkpoints", "5",
       "--times", "12", "--seed", "0", "--out", out, "--no-progress"]
if HAVE_NETS:
    subprocess.run(cmd, check=True)          # the same as the shell command rfscore train-net ...
    with open(os.path.join(out, "train_net.csv")) as f:
        rows = list(csv.DictReader(f))
    table = {k: np.array([float(r[k]) for r in rows]) for k in ("n", "tau", "f_mem", "f_mem_lo", "f_mem_hi",
                                                                "frechet", "train_loss", "test_loss")}
    print(len(rows), "checkpoints; columns:", ", ".join(rows[0]))

# %%
if HAVE_NETS:
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.2))
    for k, n in enumerate(np.unique(table["n"])):
        s = table["n"] == n
        tau, f = table["tau"][s], table["f_mem"][s]
        axes[0].semilogx(tau, f, "o-", color=f"C{k}", label=f"n = {n:g}")
        axes[0].fill_between(tau, table["f_mem_lo"][s], table["f_mem_hi"][s], color=f"C{k}", alpha=0.2)
        axes[1].semilogx(tau / n, f, "o-", color=f"C{k}", label=f"n = {n:g}")
        axes[2].semilogx(tau, table["train_loss"][s], "--", color=f"C{k}")
        axes[2].semilogx(tau, table["test_loss"][s], "-", color=f"C{k}", label=f"n = {n:g}")
    axes[0].set(xlabel=r"$\tau$ = steps × lr", ylabel=r"$f_{\rm mem}$")
    axes[1].set(xlabel=r"$\tau/n$", ylabel=r"$f_{\rm mem}$")
    axes[2].set(xlabel=r"$\tau$", ylabel="loss at t = 0.01 (test solid, train dashed)")
    axes[0].legend()
    fig.suptitle("residual MLP, width 64, two-Gaussian mixture d = 8, Adam lr = 1e-3")
    plt.show()

# %% [markdown]
# At this size the networks are trained only a short time: f_mem starts to rise first for the
# smaller n. The committed study (theory/trained_networks.md) runs 3 seeds to 10⁵ steps and fits
# τ_mem ∝ n^a with its confidence interval (`rfscore.analysis.networks.exponent_table`, (N12)).
#
# **Scaling up.** `rfscore train-net --n "32,64,128,256" --steps 100000 --seed S --out run_S/` for
# three seeds S, then `python -m rfscore.analysis.networks run_*` for the exponents; `--arch unet
# --data digits` trains the 8×8 U-Net on the digits. Runs resume after Ctrl-C.
