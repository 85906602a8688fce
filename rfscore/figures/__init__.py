"""Figure makers. Each module ``rfscore.figures.<name>`` exposes

    make(out_dir: pathlib.Path, quick: bool = False) -> dict

which writes its PNG(s) (and the data behind them) into ``out_dir`` and returns a
manifest entry ``{"files": [...], "parameters": {...}}``. The scripts in the
repository's ``figures/`` folder are thin wrappers; ``rfscore reproduce`` runs them all.
"""
