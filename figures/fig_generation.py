"""Generated samples against training time: f_mem and Fréchet distance vs τ and τ/ψ_n (the paper's Fig. 2)."""
from rfscore.figures import script_main

if __name__ == "__main__":
    script_main("generation")
