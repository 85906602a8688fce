"""The paper's theory figures at the paper's own parameters (`rfscore reproduce --paper`).

Each module ``rfscore.figures.paper.<name>`` exposes

    make(out_dir: pathlib.Path, *, quick: bool = False, progress: bool = False) -> dict

which writes its PNG(s) and the data behind them into ``out_dir`` and returns a manifest entry
``{"files": [...], "paper_parameters": {...}, "parameters": {...}, "differences": [...]}``:
what the paper states, what was run (sizes actually used, seeds, grids) and every difference
between the two, in words. ``quick`` shrinks sizes for tests (the entry says so in
``differences``); ``progress`` shows tqdm bars on stderr (`rfscore.runtime.progress.stages`; the CLI turns it on).
"""

PAPER_FIGURES = ("fig4", "fig5a", "fig5b", "fig5c", "fig7", "sm9", "sm11", "sm12", "sm13", "sm14", "sm15")
