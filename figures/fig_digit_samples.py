"""Generated 8×8 digits at an early, a middle and the last τ, each beside its nearest training image."""
from rfscore.figures import script_main

if __name__ == "__main__":
    script_main("digit_samples")
