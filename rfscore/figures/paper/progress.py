"""Progress of the paper figures' stages: a tqdm bar on stderr when asked (the CLI asks), else silent."""
from __future__ import annotations

import sys


def stages(items, desc: str, progress: bool):
    """``items`` as a list, wrapped in a tqdm bar named ``desc`` when ``progress``."""
    items = list(items)
    if not progress:
        return items
    from tqdm.auto import tqdm
    return tqdm(items, desc=desc, file=sys.stderr, leave=False)
