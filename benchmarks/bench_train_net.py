"""Training steps/s of the train-net networks (equinox) against a plain-JAX version of the same network, same run.

Both architectures at their default width (mlp 256, d = 8, batch 256; unet 32, d = 64, batch 256), Adam,
the same loss (N2)-(N3) and the same compiled `lax.fori_loop` of steps; the plain-JAX baseline writes the
forward pass as a pure function of a dict of the same arrays (no equinox). Then the time to draw 2000
samples at one checkpoint (24 grid times × 4 steps, reverse SDE). Run: python benchmarks/bench_train_net.py
"""
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

STEPS = 300


def _lin(p, x):
    return p["weight"] @ x + p["bias"]


def _conv(p, h):
    y = jax.lax.conv_general_dilated(h[None], p["weight"], (1, 1), "SAME", dimension_numbers=("NCHW", "OIHW", "NCHW"))
    return y[0] + p["bias"]


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


def _block(b, h, e):
    u = _conv(b["conv1"], jax.nn.silu(h)) + _lin(b["emb"], e)[:, None, None]
    return _conv(b["skip"], h) + _conv(b["conv2"], jax.nn.silu(u))


def unet_plain(p, x, t):
    e = jax.nn.silu(_lin(p["temb"], time_features(t)))
    h = _conv(p["inp"], x.reshape(1, 8, 8))
    h8 = _block(p["down"], h, e)
    h4 = h8.reshape(h8.shape[0], 4, 2, 4, 2).mean(axis=(2, 4))
    h4 = _block(p["mid2"], _block(p["mid1"], h4, e), e)
    up = jnp.repeat(jnp.repeat(h4, 2, axis=1), 2, axis=2)
    h = _block(p["up"], jnp.concatenate([up, h8], axis=0), e)
    return _conv(p["out"], jax.nn.silu(h)).reshape(64)


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


def bench(arch, d, width, fwd, STEPS=STEPS):
    net = build(arch, jax.random.PRNGKey(0), d, width)
    X = jnp.asarray(np.random.default_rng(0).standard_normal((256, d)), dtype=DTYPE)
    opt = training.make_optimizer("adam", 1e-3)
    state = opt.init(eqx.filter(net, eqx.is_array))
    key = jax.random.PRNGKey(1)
    out = training._train_chunk(net, state, X, key, 0, 2, 1e-3, 3.0, opt, 256)
    jax.block_until_ready(jax.tree_util.tree_leaves(out))
    t0 = time.perf_counter()
    out = training._train_chunk(net, state, X, key, 0, STEPS, 1e-3, 3.0, opt, 256)
    jax.block_until_ready(jax.tree_util.tree_leaves(out))
    eqx_rate = STEPS / (time.perf_counter() - t0)
    p = _as_dict(net)
    s = opt.init(p)
    run = plain_chunk(fwd, opt)
    # same function value: the plain forward pass reproduces the module
    x0, t0_ = X[0], jnp.float32(0.1)
    assert np.allclose(np.asarray(net(x0, t0_)), np.asarray(fwd(p, x0, t0_)), atol=1e-5)
    jax.block_until_ready(jax.tree_util.tree_leaves(run(p, s, X, key, 0, 2)))
    t0 = time.perf_counter()
    jax.block_until_ready(jax.tree_util.tree_leaves(run(p, s, X, key, 0, STEPS)))
    plain_rate = STEPS / (time.perf_counter() - t0)
    grid = time_grid(1e-3, 3.0, 24)
    sample(net_score(net, grid), key, times=grid, num_samples=2000, d=d)
    t0 = time.perf_counter()
    sample(net_score(net, grid), jax.random.PRNGKey(2), times=grid, num_samples=2000, d=d)
    t_sample = time.perf_counter() - t0
    print(f"{arch} width {width} d {d} batch 256: equinox {eqx_rate:.1f} steps/s, plain JAX {plain_rate:.1f} steps/s "
          f"(ratio {eqx_rate / plain_rate:.2f}); 2000 samples: {t_sample:.2f} s; backend {jax.default_backend()}")


if __name__ == "__main__":
    import sys

    which = sys.argv[1:] or ["mlp", "unet"]
    if "mlp" in which:
        bench("mlp", 8, 256, mlp_plain)
    if "unet" in which:
        bench("unet", 64, 32, unet_plain, STEPS=20)  # a U-Net step at batch 256 costs seconds on 2 CPU cores
