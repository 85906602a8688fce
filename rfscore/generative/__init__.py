"""Generation: the trained score model over diffusion time, the reverse-time sampler, and sample metrics
(theory/generation.md)."""
