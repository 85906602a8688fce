"""The one progress helper of rfscore: a tqdm bar on stderr when asked, else silent.

Library functions take ``progress: bool`` (default False: the library is quiet); the command line turns it
on. Figures, analyses and the ensemble of seed-averaged runs all wrap their loops in `stages`.
"""
from __future__ import annotations

import sys

from tqdm.auto import tqdm


def stages(items, desc: str, progress: bool):
    """``items`` as a list, wrapped in a tqdm bar named ``desc`` on stderr when ``progress``."""
    items = list(items)
    if not progress:
        return items
    return tqdm(items, desc=desc, file=sys.stderr, leave=False)
