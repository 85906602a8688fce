"""Asymptotic (d → ∞) learning curves for power-law data spectra against finite-size GEP curves."""
from rfscore.figures import script_main

if __name__ == "__main__":
    script_main("powerlaw")
