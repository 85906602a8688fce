"""Training steps/s of the train-net networks (equinox) against a plain-JAX version of the same network, same run.

Both architectures at their default width (mlp 256, d = 8, batch 256; unet 32, d = 64, batch 256), Adam,
the same loss (N2)-(N3) and the same compiled `lax.fori_loop` of steps; the plain-JAX baseline writes the
forward pass as a pure function of a dict of the same arrays (no equinox; for the U-Net the same im2col
convolution as `models.conv2d`). For the U-Net a second baseline writes the convolutions with
`lax.conv_general_dilated` (the former formulation, which XLA on CPU runs with a naive kernel inside a loop
body, jax-ml/jax#12868). Then the time to draw 2000 samples at one checkpoint (24 grid times × 4 steps,
reverse SDE; sampler batches of 500, the first batch compiled before timing). Every variant of one
architecture is timed in the same process; the load average is printed before and after.

The paper's protocol (``--arch paper``, theory/trained_networks.md §8): full-batch SGD (lr 6e-3, momentum 0.95,
DDPM t-law (N8)) with the paper's residual MLP (N10), W = 128, at n = 512 and n = 4096, against the same network
written as a plain-JAX function of the same arrays with the same optax optimiser, in the same process; the
Euler–Maruyama sampler (N9) (1000 steps) in samples/s; and the grid runner: the same 4-job `train-net` grid with
2 local worker processes against serially (wall-clock speed-up).

Run: python benchmarks/bench_train_net.py [--arch mlp|unet|paper|both] [--steps N] [--lax-steps N] [--samples N] [--reps R]
(default steps: 300 for the MLP, 20 for the U-Net, 5 for the lax.conv U-Net baseline; 3 rounds, the variants
timed in turn in each, medians reported).
"""
import argparse
import os
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

import rfscore  # noqa: F401  (float64 on; the networks are float32)
import equinox as eqx
from rfscore.generative.sampler import sample
from rfscore.generative.score_model import time_grid
from rfscore.networks import training
from rfscore.networks.models import DTYPE, build, net_score, time_features

DEFAULT_STEPS = {"mlp": 300, "unet": 20}
SAMPLE_BATCH = 500


def _lin(p, x):
    return p["weight"] @ x + p["bias"]


def _conv_lax(p, h):
    y = jax.lax.conv_general_dilated(h[None], p["weight"], (1, 1), "SAME", dimension_numbers=("NCHW", "OIHW", "NCHW"))
    return y[0] + p["bias"]


def _conv_im2col(p, h):
    """'same' convolution of h (C, H, W) as one product with the kh·kw shifted copies (written apart from models.conv2d)."""
    w = p["weight"]
    o, c, kh, kw = w.shape
    H, W = h.shape[1:]
    hp = jnp.pad(h, ((0, 0), (kh // 2, kh // 2), (kw // 2, kw // 2)))
    cols = jnp.stack([hp[:, i:i + H, j:j + W] for i in range(kh) for j in range(kw)], axis=1)
    return jnp.einsum("ok,kp->op", w.reshape(o, -1), cols.reshape(c * kh * kw, H * W)).reshape(o, H, W) + p["bias"]


def _as_dict(module):
    """The arrays of an equinox module as nested dicts (fields by name)."""
    if isinstance(module, tuple):
        return tuple(_as_dict(m) for m in module)
    if isinstance(module, eqx.Module):
        def keep(v):
            return isinstance(v, (jax.Array, eqx.Module)) or (isinstance(v, tuple) and v and isinstance(v[0], eqx.Module))
        return {k: _as_dict(getattr(module, k)) for k in module.__dataclass_fields__ if keep(getattr(module, k))}
    return module


def mlp_plain(p, x, t):
    e = jax.nn.silu(_lin(p["temb"], time_features(t)))
    h = _lin(p["inp"], x)
    for b in p["blocks"]:
        u = _lin(b["lin1"], jax.nn.silu(h)) + _lin(b["emb"], e)
        h = h + _lin(b["lin2"], jax.nn.silu(u))
    return _lin(p["out"], jax.nn.silu(h))


def _block(conv, b, h, e):
    u = conv(b["conv1"], jax.nn.silu(h)) + _lin(b["emb"], e)[:, None, None]
    return conv(b["skip"], h) + conv(b["conv2"], jax.nn.silu(u))


def _unet(conv, p, x, t):
    e = jax.nn.silu(_lin(p["temb"], time_features(t)))
    h = conv(p["inp"], x.reshape(1, 8, 8))
    h8 = _block(conv, p["down"], h, e)
    h4 = h8.reshape(h8.shape[0], 4, 2, 4, 2).mean(axis=(2, 4))
    h4 = _block(conv, p["mid2"], _block(conv, p["mid1"], h4, e), e)
    up = jnp.repeat(jnp.repeat(h4, 2, axis=1), 2, axis=2)
    h = _block(conv, p["up"], jnp.concatenate([up, h8], axis=0), e)
    return conv(p["out"], jax.nn.silu(h)).reshape(64)


def unet_plain(p, x, t):
    return _unet(_conv_im2col, p, x, t)


def unet_plain_lax(p, x, t):
    return _unet(_conv_lax, p, x, t)


def plain_chunk(fwd, opt):
    @jax.jit
    def run(p, s, X, key, k0, k1):
        def loss(q, x, t, xi):
            t = t.astype(DTYPE)
            xt = jnp.exp(-t)[:, None] * x + jnp.sqrt(-jnp.expm1(-2 * t))[:, None] * xi
            return jnp.mean((jax.vmap(lambda a, b: fwd(q, a, b))(xt, t) - xi) ** 2)

        def body(k, c):
            q, st = c
            x, t, xi = training._draw(jax.random.fold_in(key, k), X, 1e-3, 3.0, X.shape[0])
            g = jax.grad(loss)(q, x, t, xi)
            u, st = opt.update(g, st, q)
            return optax.apply_updates(q, u), st
        return jax.lax.fori_loop(k0, k1, body, (p, s))
    return run


def _compile(run):
    jax.block_until_ready(jax.tree_util.tree_leaves(run(0, 2)))  # compile (traced bounds: one program)
    return run


def _rate(run, steps):
    t0 = time.perf_counter()
    jax.block_until_ready(jax.tree_util.tree_leaves(run(0, steps)))
    return steps / (time.perf_counter() - t0)


def bench(arch, d, width, baselines, steps, samples, reps):
    """baselines: [(label, plain forward, steps)]. The variants are timed in turn, ``reps`` rounds (so that a
    changing load on a shared machine falls on all of them); prints the median rate and the rounds of each
    variant, its ratio to equinox per round, and the sampling time."""
    net = build(arch, jax.random.PRNGKey(0), d, width)
    X = jnp.asarray(np.random.default_rng(0).standard_normal((256, d)), dtype=DTYPE)
    opt = training.make_optimizer("adam", 1e-3)
    state = opt.init(eqx.filter(net, eqx.is_array))
    key = jax.random.PRNGKey(1)
    p = _as_dict(net)
    s = opt.init(p)
    x0, t0_ = X[0], jnp.float32(0.1)
    # array bounds, as train_one passes them (eqx.filter_jit would hold Python ints static and compile again)
    variants = [("equinox (rfscore.networks)", steps, _compile(lambda k0, k1: training._train_chunk(
        net, state, X, key, jnp.asarray(k0), jnp.asarray(k1), 1e-3, 3.0, opt, 256)))]
    for label, fwd, n_steps in baselines:
        if n_steps > 0:
            # same function value: the plain forward pass reproduces the module
            assert np.allclose(np.asarray(net(x0, t0_)), np.asarray(fwd(p, x0, t0_)), atol=1e-5), label
            run = plain_chunk(fwd, opt)
            variants.append((label, n_steps, _compile(lambda k0, k1, run=run: run(p, s, X, key, k0, k1))))
    rates = np.array([[_rate(run, n) for _, n, run in variants] for _ in range(reps)])  # (reps, variants)
    print(f"{arch} width {width} d {d} batch 256, Adam, {reps} rounds:", flush=True)
    for v, (label, n, _) in enumerate(variants):
        ratio = rates[:, 0] / rates[:, v]
        print(f"  {label}: {np.median(rates[:, v]):.2f} steps/s median ({n} steps; rounds "
              f"{', '.join(f'{r:.2f}' for r in rates[:, v])})"
              + ("" if v == 0 else f"; equinox / this per round {', '.join(f'{r:.2f}' for r in ratio)}"), flush=True)
    grid = time_grid(1e-3, 3.0, 24)
    sample(net_score(net, grid), key, times=grid, num_samples=SAMPLE_BATCH, d=d, batch=SAMPLE_BATCH)  # compile
    t0 = time.perf_counter()
    sample(net_score(net, grid), jax.random.PRNGKey(2), times=grid, num_samples=samples, d=d, batch=SAMPLE_BATCH)
    t_sample = time.perf_counter() - t0
    print(f"  {samples} samples (24 times x 4 steps, batches of {SAMPLE_BATCH}): {t_sample:.2f} s; "
          f"backend {jax.default_backend()}; load average now %.2f %.2f %.2f" % os.getloadavg(), flush=True)


def paper_mlp_plain(p, x, t):
    """(N10) written apart from models.PaperMLP: input layer, 3 × LayerNorm(u + fc2(GELU(fc1(u)))), u = h + e(k)."""
    from rfscore.networks.ddpm import index_of_t
    from rfscore.networks.models import step_embedding
    e = step_embedding(index_of_t(jnp.asarray(t, dtype=DTYPE)), p["inp"]["weight"].shape[0])
    h = _lin(p["inp"], x)
    for b in p["blocks"]:
        u = h + e
        z = u + _lin(b["fc2"], jax.nn.gelu(_lin(b["fc1"], u), approximate=False))
        z = (z - z.mean()) / jnp.sqrt(z.var() + 1e-5)
        h = z * b["norm"]["weight"] + b["norm"]["bias"]
    return _lin(p["head"], h)


def bench_paper(steps, reps, samples):
    """Full-batch SGD steps/s of the paper's MLP at n = 512 and 4096 against plain JAX + optax; EM samples/s;
    the grid runner with 2 workers against serial."""
    import tempfile

    from rfscore.cli import main as cli
    from rfscore.networks.ddpm import em_sample, draw_t
    opt = training.make_optimizer("sgd", 6e-3, 0.95)
    for n in (512, 4096):
        net = build("paper-mlp", jax.random.PRNGKey(0), 8, 128)
        X = jnp.asarray(np.random.default_rng(0).standard_normal((n, 8)), dtype=DTYPE)
        state = opt.init(eqx.filter(net, eqx.is_array))
        key = jax.random.PRNGKey(1)
        p = _as_dict(net)
        s = opt.init(p)
        t1 = jnp.float32(0.3)
        assert np.allclose(np.asarray(net(X[0], t1)), np.asarray(paper_mlp_plain(p, X[0], t1)), atol=1e-4)

        @jax.jit
        def plain(k0, k1):
            def loss(q, x, t, xi):
                xt = jnp.exp(-t)[:, None] * x + jnp.sqrt(-jnp.expm1(-2 * t))[:, None] * xi
                return jnp.mean((jax.vmap(lambda a, b: paper_mlp_plain(q, a, b))(xt, t) - xi) ** 2)

            def body(k, c):
                q, st = c
                kk = jax.random.fold_in(key, k)
                _, kt, kx = jax.random.split(kk, 3)
                t, xi = draw_t(kt, (n,), DTYPE), jax.random.normal(kx, X.shape, dtype=DTYPE)
                u, st = opt.update(jax.grad(loss)(q, X, t, xi), st, q)
                return optax.apply_updates(q, u), st
            return jax.lax.fori_loop(k0, k1, body, (p, s))

        variants = [("equinox (rfscore.networks)", _compile(lambda k0, k1: training._train_chunk(
            net, state, X, key, jnp.asarray(k0), jnp.asarray(k1), 1e-3, 3.0, opt, n, "ddpm"))),
                    ("plain JAX + optax", _compile(lambda k0, k1: plain(jnp.asarray(k0), jnp.asarray(k1))))]
        rates = np.array([[_rate(run, steps) for _, run in variants] for _ in range(reps)])
        print(f"paper-mlp W 128, full-batch SGD 6e-3 m 0.95, n = {n}, {reps} rounds of {steps} steps:", flush=True)
        for v, (label, _) in enumerate(variants):
            print(f"  {label}: {np.median(rates[:, v]):.1f} steps/s median (rounds "
                  f"{', '.join(f'{r:.1f}' for r in rates[:, v])})"
                  + ("" if v == 0 else f"; equinox / this {np.median(rates[:, 0] / rates[:, v]):.2f}"), flush=True)
    em_sample(lambda ts: net_score(net, ts), key, K=1000, num_samples=100, d=8)  # compile
    t0 = time.perf_counter()
    em_sample(lambda ts: net_score(net, ts), jax.random.PRNGKey(3), K=1000, num_samples=samples, d=8)
    dt = time.perf_counter() - t0
    print(f"  Euler-Maruyama, 1000 steps, W 128: {samples / dt:.0f} samples/s ({samples} in {dt:.2f} s)", flush=True)
    grid = ["train-net", "--protocol", "paper", "--width", "32", "--n", "8,16,24,32", "--steps", "2000",
            "--samples", "200", "--checkpoints", "4", "--sampler-steps", "200", "--no-progress"]
    with tempfile.TemporaryDirectory() as tmp:
        walls = {}
        for w in (1, 2):
            t0 = time.perf_counter()
            assert cli(grid + ["--workers", str(w), "--out", f"{tmp}/w{w}"]) == 0
            walls[w] = time.perf_counter() - t0
    print(f"  grid runner, 4 jobs: serial {walls[1]:.1f} s, 2 workers {walls[2]:.1f} s: speed-up "
          f"{walls[1] / walls[2]:.2f}x; load average now %.2f %.2f %.2f" % os.getloadavg(), flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", choices=("mlp", "unet", "paper", "both"), default="both")
    ap.add_argument("--steps", type=int, default=None, help="timed training steps (default: mlp 300, unet 20)")
    ap.add_argument("--lax-steps", type=int, default=5, help="timed steps of the lax.conv U-Net baseline (0: skip)")
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--reps", type=int, default=3, help="rounds of timing, the variants in turn (default 3)")
    args = ap.parse_args(argv)
    print("load average before: %.2f %.2f %.2f" % os.getloadavg(), f"({os.cpu_count()} cores)", flush=True)
    archs = ("mlp", "unet") if args.arch == "both" else (args.arch,)
    t0 = time.perf_counter()
    if args.arch == "paper":
        bench_paper(args.steps or 200, args.reps, args.samples)
        archs = ()
    for arch in archs:
        steps = args.steps or DEFAULT_STEPS[arch]
        if arch == "mlp":
            bench("mlp", 8, 256, [("plain JAX", mlp_plain, steps)], steps, args.samples, args.reps)
        else:
            bench("unet", 64, 32, [("plain JAX, im2col convolutions", unet_plain, steps),
                                   ("plain JAX, lax.conv_general_dilated", unet_plain_lax, args.lax_steps)],
                  steps, args.samples, args.reps)
    print("load average after: %.2f %.2f %.2f" % os.getloadavg(), f"; total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
