import os

os.environ.setdefault("MPLBACKEND", "Agg")

import rfscore  # noqa: E402,F401  (enables jax_enable_x64 before any test builds arrays)
