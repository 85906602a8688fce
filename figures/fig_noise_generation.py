"""Finite noise samples m and the generated samples: f_mem over τ for m = 1, 4, 16, 64, ∞ and τ_mem against m."""
from rfscore.figures import script_main

if __name__ == "__main__":
    script_main("noise_generation")
