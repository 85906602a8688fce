"""Trained score networks beside the random-features theory, from the committed runs (figures/networks_*.csv)."""
from rfscore.figures import script_main

if __name__ == "__main__":
    script_main("networks")
