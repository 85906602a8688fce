"""Figure makers. Each module ``rfscore.figures.<name>`` exposes

    make(out_dir: pathlib.Path, quick: bool = False) -> dict

which writes its PNG(s) (and the data behind them) into ``out_dir`` and returns a
manifest entry ``{"files": [...], "parameters": {...}}``. The scripts in the
repository's ``figures/`` folder are thin wrappers; ``rfscore reproduce`` runs them all.
"""

FIGURES = ("fig4", "fig5ab", "timescales", "phase", "asymptotic", "powerlaw", "generation", "digits",
           "digit_samples", "noise_ridge", "noise_generation", "networks")


def script_main(name: str, argv=None) -> None:
    """Entry point of the thin scripts in ``figures/``: ``--out DIR`` (default: figures/), ``--quick``."""
    import argparse
    import importlib
    from pathlib import Path

    ap = argparse.ArgumentParser(description=f"Regenerate figure '{name}' of rfscore.")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[2] / "figures"), help="output folder")
    ap.add_argument("--quick", action="store_true", help="smaller sizes, a few seconds to a minute")
    args = ap.parse_args(argv)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    entry = importlib.import_module(f"rfscore.figures.{name}").make(Path(args.out), quick=args.quick)
    print("\n".join(entry["files"]))
