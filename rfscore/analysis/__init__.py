"""Analysis: timescale read-offs τ_gen, τ_mem (T1)-(T3), their scaling fits, and phase diagrams."""
