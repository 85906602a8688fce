"""τ_gen and τ_mem against ψ_n (τ_mem ∝ ψ_n, τ_gen constant) and the τ/ψ_n collapse of the losses."""
from rfscore.figures import script_main

if __name__ == "__main__":
    script_main("timescales")
