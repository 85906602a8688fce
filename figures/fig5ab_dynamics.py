"""Paper Fig. 5A-B (training dynamics): python figures/fig5ab_dynamics.py [--quick] [--out DIR]."""
import argparse
from pathlib import Path

from rfscore.figures.fig5ab import make

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="small sizes, under a minute")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent, help="output folder")
    a = ap.parse_args()
    print(make(a.out, quick=a.quick)["files"])
