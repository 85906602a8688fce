"""Deprecated: the progress helper is `rfscore.runtime.progress.stages` (this path works in 0.2.0)."""
import warnings

from ...runtime.progress import stages  # noqa: F401

warnings.warn("rfscore.figures.paper.progress is deprecated; use rfscore.runtime.progress", DeprecationWarning,
              stacklevel=2)
