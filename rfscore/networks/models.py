"""ε-prediction networks ε_θ(x, t) for the denoising loss (N2) of theory/trained_networks.md.

Two architectures, equinox modules (initialised by `build`) whose every leaf is an array (so a module is a JAX pytree
that `jax.jit` and the sampler of `rfscore.generative.sampler` accept as an argument):

* `ResidualMLP`: x (…, d) → ε (…, d); a linear embedding of x, ``depth`` residual blocks
  h ← h + W₂ silu(W₁ silu(h) + E_b e(t)), a linear read-out. The time embedding e(t) is a
  sinusoidal embedding of log t (`time_features`), shared by the blocks.
* `UNet`: x (…, 64) → ε (…, 64) for 8×8 single-channel images: two resolutions (8×8, 4×4),
  3×3 convolutions, a skip connection at 8×8, the time embedding added to every block. The
  convolutions keep equinox's `Conv2d` parameters (weight (O, I, kh, kw), bias (O, 1, 1)) but are
  computed by `conv2d` as one matrix product with the stacked shifted images (im2col): XLA on CPU
  runs `lax.conv` inside a loop body (the training `fori_loop`, the sampler's `scan`) with a naive
  kernel, ≈ 10× slower than outside a loop (jax-ml/jax#12868), while matrix products are fast
  everywhere (benchmarks/bench_train_net.py).

The networks compute in float32 (the parameters and the activations): the library runs in
float64 (theory/model.md §5), but these networks are trained by stochastic gradients with an
O(lr) noise floor far above float32 rounding, and float32 is ≈ 2× faster on CPU and far faster on
GPU. Inputs of any float dtype are cast to float32; outputs are float32. Metrics are computed in
float64 from the samples (rfscore.generative.metrics).
"""
from __future__ import annotations

import numpy as np

import equinox as eqx
import jax
import jax.numpy as jnp

from .ddpm import index_of_t

ARCHS = ("mlp", "paper-mlp", "unet")
DTYPE = jnp.float32
EMBED = 32  # sinusoidal features of log t (16 frequencies × sin, cos)


def time_features(t, size: int = EMBED):
    """Sinusoidal embedding of log t, shape t.shape + (size,); frequencies 1 … 2^(size/2 - 1)/8 in log t."""
    half = size // 2
    freq = jnp.exp2(jnp.arange(half, dtype=DTYPE) * (7.0 / max(half - 1, 1))) / 8.0
    u = jnp.log(jnp.asarray(t, dtype=DTYPE))[..., None] * freq
    return jnp.concatenate([jnp.sin(u), jnp.cos(u)], axis=-1)


def _linear(key, n_in, n_out):
    return eqx.nn.Linear(n_in, n_out, key=key, dtype=DTYPE)


class _Block(eqx.Module):
    lin1: eqx.nn.Linear
    lin2: eqx.nn.Linear
    emb: eqx.nn.Linear

    def __call__(self, h, e):
        u = self.lin1(jax.nn.silu(h)) + self.emb(e)
        return h + self.lin2(jax.nn.silu(u))


class ResidualMLP(eqx.Module):
    """Residual MLP ε_θ(x, t): x (d,), t scalar → (d,) (vmapped by `apply`). width W, depth blocks."""

    inp: eqx.nn.Linear
    temb: eqx.nn.Linear
    blocks: tuple
    out: eqx.nn.Linear

    def __init__(self, key, d: int, width: int = 256, depth: int = 3):
        keys = jax.random.split(key, 3 + 3 * depth)
        self.inp = _linear(keys[0], d, width)
        self.temb = _linear(keys[1], EMBED, width)
        self.blocks = tuple(_Block(_linear(keys[3 + 3 * i], width, width), _linear(keys[4 + 3 * i], width, width),
                                   _linear(keys[5 + 3 * i], width, width)) for i in range(depth))
        self.out = _linear(keys[2], width, d)

    def __call__(self, x, t):
        e = jax.nn.silu(self.temb(time_features(t)))
        h = self.inp(x.astype(DTYPE))
        for b in self.blocks:
            h = b(h, e)
        return self.out(jax.nn.silu(h))


def step_embedding(s, size: int):
    """The fixed sinusoidal embedding of the (fractional) DDPM step index s, shape s.shape + (size,):
    [sin(s ω_i), cos(s ω_i)], ω_i = 10000^{-i/half}, i < half = size//2 (zero-padded to ``size``)."""
    half = size // 2
    freq = jnp.exp(-jnp.log(10000.0) * jnp.arange(half, dtype=DTYPE) / max(half, 1))
    u = jnp.asarray(s, dtype=DTYPE)[..., None] * freq
    e = jnp.concatenate([jnp.sin(u), jnp.cos(u)], axis=-1)
    return jnp.pad(e, [(0, 0)] * (e.ndim - 1) + [(0, size - 2 * half)])


class _PaperBlock(eqx.Module):
    fc1: eqx.nn.Linear
    fc2: eqx.nn.Linear
    norm: eqx.nn.LayerNorm

    def __call__(self, h):
        return self.norm(h + self.fc2(jax.nn.gelu(self.fc1(h), approximate=False)))


class PaperMLP(eqx.Module):
    """The paper's residual MLP (theory/trained_networks.md (N10)): x (d,), t scalar → (d,).

    An input layer d → W; 3 blocks h ← LayerNorm(u + fc2(GELU(fc1(u)))), u = h + e(s); an output layer W → d.
    e(s) is the fixed sinusoidal embedding (`step_embedding`, no parameters) of the DDPM step index s of t
    (`rfscore.networks.ddpm.index_of_t`: s = k exactly at t = t_k of (N7)), added to every block's input.
    """

    inp: eqx.nn.Linear
    blocks: tuple
    head: eqx.nn.Linear

    def __init__(self, key, d: int, width: int = 128, depth: int = 3):
        keys = jax.random.split(key, 2 + 2 * depth)
        self.inp = _linear(keys[0], d, width)
        self.blocks = tuple(_PaperBlock(_linear(keys[2 + 2 * i], width, width), _linear(keys[3 + 2 * i], width, width),
                                        eqx.nn.LayerNorm(width, dtype=DTYPE)) for i in range(depth))
        self.head = _linear(keys[1], width, d)

    def __call__(self, x, t):
        e = step_embedding(index_of_t(jnp.asarray(t, dtype=DTYPE)), self.inp.out_features)
        h = self.inp(x.astype(DTYPE))
        for b in self.blocks:
            h = b(h + e)
        return self.head(h)


def conv2d(layer: eqx.nn.Conv2d, h):
    """``layer``'s 'same' convolution (stride 1, odd kernel, padding k//2) of h (C, H, W) → (O, H, W), as one matrix
    product of the weight (O, C·kh·kw) with the kh·kw shifted copies of h (im2col); equals ``layer(h)`` up to
    float32 rounding (cross-correlation, as `lax.conv`)."""
    w = layer.weight
    O, C, kh, kw = w.shape
    _, H, W = h.shape
    hp = jnp.pad(h, ((0, 0), (kh // 2, kh // 2), (kw // 2, kw // 2))) if kh * kw > 1 else h
    cols = jnp.stack([hp[:, i:i + H, j:j + W] for i in range(kh) for j in range(kw)], axis=1)  # (C, kh·kw, H, W)
    out = (w.reshape(O, C * kh * kw) @ cols.reshape(C * kh * kw, H * W)).reshape(O, H, W)
    return out if layer.bias is None else out + layer.bias


class _ConvBlock(eqx.Module):
    conv1: eqx.nn.Conv2d
    conv2: eqx.nn.Conv2d
    emb: eqx.nn.Linear
    skip: eqx.nn.Conv2d

    def __init__(self, key, c_in, c_out):
        k1, k2, k3, k4 = jax.random.split(key, 4)
        self.conv1 = eqx.nn.Conv2d(c_in, c_out, 3, padding=1, key=k1, dtype=DTYPE)
        self.conv2 = eqx.nn.Conv2d(c_out, c_out, 3, padding=1, key=k2, dtype=DTYPE)
        self.emb = _linear(k3, EMBED, c_out)
        self.skip = eqx.nn.Conv2d(c_in, c_out, 1, key=k4, dtype=DTYPE)

    def __call__(self, h, e):
        u = conv2d(self.conv1, jax.nn.silu(h)) + self.emb(e)[:, None, None]
        return conv2d(self.skip, h) + conv2d(self.conv2, jax.nn.silu(u))


class UNet(eqx.Module):
    """Small U-Net ε_θ(x, t) for 8×8 single-channel images: x (64,), t scalar → (64,).

    Channels W at 8×8 and 2W at 4×4 (W = ``width``): in-conv, block (8×8), average-pool,
    block (4×4), block (4×4), nearest upsampling, concatenation with the 8×8 skip, block (8×8),
    1×1 out-conv.
    """

    inp: eqx.nn.Conv2d
    temb: eqx.nn.Linear
    down: _ConvBlock
    mid1: _ConvBlock
    mid2: _ConvBlock
    up: _ConvBlock
    out: eqx.nn.Conv2d

    def __init__(self, key, d: int = 64, width: int = 32):
        if d != 64:
            raise ValueError(f"the U-Net is for 8x8 images (d = 64), got d = {d}")
        ks = jax.random.split(key, 7)
        self.inp = eqx.nn.Conv2d(1, width, 3, padding=1, key=ks[0], dtype=DTYPE)
        self.temb = _linear(ks[1], EMBED, EMBED)
        self.down = _ConvBlock(ks[2], width, width)
        self.mid1 = _ConvBlock(ks[3], width, 2 * width)
        self.mid2 = _ConvBlock(ks[4], 2 * width, 2 * width)
        self.up = _ConvBlock(ks[5], 3 * width, width)
        self.out = eqx.nn.Conv2d(width, 1, 1, key=ks[6], dtype=DTYPE)

    def __call__(self, x, t):
        e = jax.nn.silu(self.temb(time_features(t)))
        h = conv2d(self.inp, x.astype(DTYPE).reshape(1, 8, 8))
        h8 = self.down(h, e)
        h4 = h8.reshape(h8.shape[0], 4, 2, 4, 2).mean(axis=(2, 4))
        h4 = self.mid2(self.mid1(h4, e), e)
        up = jnp.repeat(jnp.repeat(h4, 2, axis=1), 2, axis=2)
        h = self.up(jnp.concatenate([up, h8], axis=0), e)
        return conv2d(self.out, jax.nn.silu(h)).reshape(64)


DEFAULT_WIDTH = {"mlp": 256, "paper-mlp": 128, "unet": 32}


SMALL = ("out", "lin2")  # layers initialised at 0.1 × the default scale: each block starts near the identity


def _initialise(abstract, key, torch_biases: bool = False):
    """Fill an abstract module (ShapeDtypeStruct leaves) with draws seeded by ``key``: weights
    U(-1/√fan_in, 1/√fan_in) (fan_in = the product of all but the first axis, equinox's and PyTorch's
    default), 0.1 × that for the layers in SMALL, LayerNorm scale 1 and bias 0. Biases are 0, or with
    ``torch_biases`` U(-1/√fan_in, 1/√fan_in) of their layer's weight, PyTorch's default, which the paper's
    network (N10) keeps. NumPy draws: eager JAX initialisation of the layers costs seconds on CPU, this
    costs milliseconds; deterministic in the key."""
    seed = np.asarray(jax.random.key_data(key) if jnp.issubdtype(key.dtype, jax.dtypes.prng_key) else key)
    rng = np.random.default_rng(seed.astype(np.uint32).tolist())
    fans = {}  # layer path -> fan_in of its weight (a bias draws from its own layer's range)
    for path, leaf in jax.tree_util.tree_leaves_with_path(abstract):
        if str(getattr(path[-1], "name", "")) == "weight":
            fans[tuple(str(p) for p in path[:-1])] = int(np.prod(leaf.shape[1:]))

    def fill(path, leaf):
        names = [str(getattr(p, "name", "")) for p in path]
        if "norm" in names:  # LayerNorm: scale 1, bias 0
            return (jnp.ones if names[-1] == "weight" else jnp.zeros)(leaf.shape, leaf.dtype)
        if names[-1] == "bias" and not torch_biases:
            return jnp.zeros(leaf.shape, leaf.dtype)
        fan = fans[tuple(str(p) for p in path[:-1])] if names[-1] == "bias" else int(np.prod(leaf.shape[1:]))
        scale = (0.1 if any(n in SMALL for n in names) else 1.0) / np.sqrt(fan)
        return jnp.asarray(rng.uniform(-scale, scale, leaf.shape), dtype=leaf.dtype)

    return jax.tree_util.tree_map_with_path(fill, abstract)


def build(arch: str, key, d: int, width: int | None = None):
    """The network of ``arch`` ('mlp', 'paper-mlp' or 'unet') for inputs of dimension d, initialised from ``key`` (`_initialise`)."""
    if arch not in ARCHS:
        raise ValueError(f"unknown architecture {arch!r}")
    if arch == "unet" and d != 64:
        raise ValueError(f"the U-Net is for 8x8 images (d = 64), got d = {d}")
    width = DEFAULT_WIDTH[arch] if width is None else int(width)
    cls = {"mlp": ResidualMLP, "paper-mlp": PaperMLP, "unet": UNet}[arch]
    abstract = eqx.filter_eval_shape(cls, jax.random.PRNGKey(0), int(d), width)
    return _initialise(abstract, key, torch_biases=arch == "paper-mlp")


def apply(net, x, t):
    """ε_θ for a batch: x (B, d), t (B,) or scalar → (B, d) float32."""
    t = jnp.broadcast_to(jnp.asarray(t, dtype=DTYPE), x.shape[:1])
    return jax.vmap(net)(x, t)


class NetScore(eqx.Module):
    """The score s(y, k) = -ε_θ(y, t_k)/√Δ_{t_k} of (N4) on a grid of times, for `rfscore.generative.sampler.sample`.

    times (K,), sqrt_delta (K,) = √(1 - e^{-2 t_k}); y (B, d) of any float dtype, the result has y's dtype.
    """

    net: eqx.Module
    times: jax.Array
    sqrt_delta: jax.Array

    def __call__(self, y, k):
        eps = apply(self.net, y, self.times[k])
        return (-eps / self.sqrt_delta[k]).astype(y.dtype)


def net_score(net, times) -> NetScore:
    times = jnp.asarray(times, dtype=DTYPE)
    return NetScore(net, times, jnp.sqrt(-jnp.expm1(-2 * times)))


def num_params(net) -> int:
    return int(sum(x.size for x in jax.tree_util.tree_leaves(eqx.filter(net, eqx.is_array))))
