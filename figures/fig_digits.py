"""Digits against the Gaussian-equivalent theory with Σ̂: losses vs τ for several n, timescales vs ψ_n."""
from rfscore.figures import script_main

if __name__ == "__main__":
    script_main("digits")
