"""Finite noise samples m and ridge λ: the interpolation peak at ψ_p = mψ_n, its p/n scaling, the tuned-ridge envelope, m along τ."""
from rfscore.figures import script_main

if __name__ == "__main__":
    script_main("noise_ridge")
