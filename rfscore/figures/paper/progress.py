"""Deprecated module path: the progress helper moved to `rfscore.runtime.progress` (`stages`) in 0.2.0; this
path goes in 0.3.0."""
from ...core.deprecation import moved_module

moved_module(__name__, globals())
