"""Shared matplotlib style for the figures, without side effects on the caller's matplotlib.

Figures are built as bare ``matplotlib.figure.Figure`` objects, never through pyplot: no
backend is selected (PNG output goes through matplotlib's Agg renderer whatever the
backend), no figure is registered with pyplot's figure manager (a notebook shows
nothing it did not ask for), and the project's rcParams apply only inside
`matplotlib.rc_context` while a figure is drawn and saved (`styled`), so the caller's
``matplotlib.get_backend()`` and ``matplotlib.rcParams`` are left as they were.
"""
from __future__ import annotations

import functools
import math
from pathlib import Path

import matplotlib
from matplotlib.figure import Figure

from ..core.precision import float64
from ..runtime.io import PLOT_FORMATS, atomic_path

RC = {"figure.dpi": 110, "savefig.dpi": 200, "font.size": 10, "axes.labelsize": 11, "axes.titlesize": 11,
      "legend.fontsize": 8.5, "lines.linewidth": 1.6, "axes.spines.top": False, "axes.spines.right": False,
      "savefig.bbox": "tight"}


def style():
    """Context manager: the project's rcParams inside, the caller's restored on exit."""
    return matplotlib.rc_context(RC)


def styled(fn):
    """Decorator: run a function that draws and saves figures under `style` (rcParams are read
    when artists are created and when the figure is saved, so the whole body is inside), and in
    float64 as every public function of rfscore (`rfscore.core.precision.float64`)."""
    @functools.wraps(fn)
    def wrapper(*args, **kw):
        with style():
            return fn(*args, **kw)
    return float64(wrapper)


_SUBPLOTS_KW = ("sharex", "sharey", "squeeze", "width_ratios", "height_ratios", "subplot_kw", "gridspec_kw")


def figure(nrows: int = 1, ncols: int = 1, **kw):
    """``(fig, axes)`` like ``plt.subplots`` but on a bare Figure (not known to pyplot); call it
    inside `style` / `styled` for the project's look. Keywords of ``plt.subplots`` go to
    ``Figure.subplots``, the others (figsize, constrained_layout, ...) to ``Figure``."""
    sub = {k: kw.pop(k) for k in _SUBPLOTS_KW if k in kw}
    fig = Figure(**kw)
    return fig, fig.subplots(nrows, ncols, **sub)


def save(fig, path) -> str:
    """Save atomically (tmp file then rename) in the format of the extension (.png, .pdf, .svg; else PNG)."""
    ext = Path(path).suffix.lower().lstrip(".")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=ext if ext in PLOT_FORMATS else "png")
    return str(path)


def value_ticks(ax, values, fmt: str = "g", min_ratio: float = 1.0) -> None:
    """Label a log x-axis at ``values`` only (formatted with ``fmt``), without the minor labels that crowd a short
    log axis (3×10¹, 4×10¹, …). ``min_ratio`` > 1: a tick closer than that factor to the next labelled one above it
    keeps its mark but not its label (the largest value is always labelled), so that 192, 256 or 384, 512 do not
    print over each other."""
    from matplotlib.ticker import NullFormatter

    values = sorted(values)
    labels, above = [], None
    for x in reversed(values):
        show = above is None or above >= min_ratio * x
        labels.append(format(x, fmt) if show else "")
        above = x if show else above
    ax.set_xticks(values, labels[::-1])
    ax.xaxis.set_minor_formatter(NullFormatter())


def fit_label(fit: dict) -> str:
    """An exponent fit (`rfscore.analysis.networks.exponent_table` entry) as text: "β [lo, hi]" (95 % CI),
    "β" alone when the CI is not finite (too few seeds), "censored at n = …" when the fit failed for want of
    read-offs that never reached the threshold (the entry's ``censored`` list of (n, seed, side)), "n/a" when it
    failed otherwise."""
    if "error" in fit:
        ns = sorted({int(c[0]) for c in fit.get("censored", [])})
        return "censored at n = " + ", ".join(map(str, ns)) if ns else "n/a"
    lo, hi = fit["ci"]
    return f"{fit['exponent']:.2f} [{lo:.2f}, {hi:.2f}]" if math.isfinite(lo) else f"{fit['exponent']:.2f}"
