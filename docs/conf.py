"""Sphinx configuration of the rfscore site. Build it with ``python docs/build.py --out site/``.

docs/build.py stages the sources (docs/*.md, docs/tutorials/*.py, theory/*.md with anchors, the
generated API and CLI pages) into a temporary folder and runs Sphinx there with this file.
"""
import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(DOCS / "_ext"))
sys.path.insert(0, str(ROOT))

import matplotlib  # noqa: E402

matplotlib.use("Agg")  # in this process only: the notebook kernels draw inline (build.py unsets MPLBACKEND)

import rfscore  # noqa: E402
from rfscore_docs import label_registry  # noqa: E402

project = "rfscore"
author = "the rfscore authors"
copyright = "the rfscore authors"
release = version = rfscore.__version__

extensions = [
    "myst_nb",                   # MyST Markdown and executed notebooks (jupytext .py sources)
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",    # MathJax 3 shipped in the wheel, copied into _static/ (no CDN)
    "rfscore_docs",
]
rfscore_theory_labels = set(label_registry(ROOT / "theory"))
rfscore_theory_files = {p.stem for p in (ROOT / "theory").glob("*.md")}

# --- offline: MathJax from _static, SVG output (no font files at all), the theme with system fonts
mathjax_path = "mathjax/tex-svg.js"
html_theme = "furo"
html_title = f"rfscore {release}"
html_static_path = [str(DOCS / "_static")]
html_css_files = ["rfscore.css"]
html_show_sourcelink = False
html_copy_source = False  # each tutorial has its .ipynb; theory/ and docs/ are in the repository
html_last_updated_fmt = None
html_theme_options = {"top_of_page_buttons": []}

# --- MyST and notebooks
myst_enable_extensions = ["dollarmath", "amsmath", "attrs_inline", "colon_fence"]
myst_heading_anchors = 3
nb_custom_formats = {".py": ["jupytext.reads", {"fmt": "py:percent"}]}
nb_execution_mode = "force"          # build.py --no-execute sets "off"
nb_execution_timeout = 600
nb_execution_raise_on_error = True   # a failing tutorial fails the build
nb_execution_show_tb = True
nb_merge_streams = True
nb_output_stderr = "remove"          # progress bars and library notices on stderr stay out of the pages

# --- API reference
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": False}
autodoc_mock_imports = []

exclude_patterns = ["**/.ipynb_checkpoints"]
suppress_warnings = ["myst.header"]
