"""Shared matplotlib style for publication-quality figures (Agg backend, no screen needed)."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

RC = {"figure.dpi": 110, "savefig.dpi": 200, "font.size": 10, "axes.labelsize": 11, "axes.titlesize": 11,
      "legend.fontsize": 8.5, "lines.linewidth": 1.6, "axes.spines.top": False, "axes.spines.right": False,
      "savefig.bbox": "tight"}


def figure(*args, **kw):
    """plt.subplots under the project's style."""
    plt.rcParams.update(RC)
    return plt.subplots(*args, **kw)


def save(fig, path) -> str:
    """Save atomically (tmp file then rename) and close."""
    from ..runtime.io import atomic_path
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return str(path)
