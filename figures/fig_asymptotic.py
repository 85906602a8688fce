"""Asymptotic (d → ∞) learning curves over finite-size markers for several ψ_n, and the error against d."""
from rfscore.figures import script_main

if __name__ == "__main__":
    script_main("asymptotic")
