"""Paper Fig. 5C / Fig. 1 (right): generalisation loss and regimes in the (ψ_n, ψ_p) plane."""
from rfscore.figures import script_main

if __name__ == "__main__":
    script_main("phase")
