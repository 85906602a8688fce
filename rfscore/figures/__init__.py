"""Figure makers. Each module ``rfscore.figures.<name>`` exposes

    make(out_dir: pathlib.Path, *, quick: bool = False, progress: bool = False) -> dict

which writes its PNG(s) (and the data behind them) into ``out_dir`` and returns a
manifest entry ``{"files": [...], "parameters": {...}}``; ``quick`` shrinks the sizes and
``progress`` shows tqdm bars on stderr (`rfscore.runtime.progress.stages`; the command line turns
it on). Figures draw: the numbers they show come from library functions (rfscore.analysis,
rfscore.limit, rfscore.finite). The scripts in the repository's ``figures/`` folder are thin
wrappers; ``rfscore reproduce`` runs them all (the paper's figures in ``rfscore.figures.paper``
have the same interface).
"""
import argparse
import importlib
from pathlib import Path

FIGURES = ("fig4", "fig5ab", "timescales", "phase", "asymptotic", "powerlaw", "generation", "digits",
           "digit_samples", "noise_ridge", "noise_generation", "networks")


def script_main(name: str, argv=None) -> None:
    """Entry point of the thin scripts in ``figures/``: ``--out DIR`` (default: figures/), ``--quick``."""
    ap = argparse.ArgumentParser(description=f"Regenerate figure '{name}' of rfscore.")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[2] / "figures"), help="output folder")
    ap.add_argument("--quick", action="store_true", help="smaller sizes, a few seconds to a minute")
    args = ap.parse_args(argv)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    entry = importlib.import_module(f"rfscore.figures.{name}").make(Path(args.out), quick=args.quick, progress=True)
    print("\n".join(entry["files"]))
