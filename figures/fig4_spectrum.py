"""Paper Fig. 4: spectrum of U, theory (S1)-(S3) vs finite-size eigenvalues.

Usage: python figures/fig4_spectrum.py [--out DIR] [--quick]   (default DIR: this folder)
"""
import argparse
import json
from pathlib import Path

from rfscore.figures import fig4

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent), help="output folder (default: figures/)")
    ap.add_argument("--quick", action="store_true", help="small matrices (d = 20), well under a minute")
    args = ap.parse_args()
    print(json.dumps(fig4.make(Path(args.out), quick=args.quick), indent=2))
