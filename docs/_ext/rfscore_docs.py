"""Sphinx extension of the rfscore site: theory labels as anchors, and docstring labels as links.

Every label of theory/README.md's table, e.g. (D3), gets the anchor ``theory-d3`` on the page that
defines it (docs/build.py puts the targets in while it stages theory/*.md, see ``anchor_theory``);
here a docstring's "(D3)" becomes a ``:ref:`` to that anchor, so a broken label fails the strict build.
"""
from __future__ import annotations

import re
from pathlib import Path

LABEL_ROW = re.compile(r"^\| \(([A-Z]\d{1,2})\) \| ([\w.]+\.md) \|", re.M)
LABEL = re.compile(r"\(([A-Z]\d{1,2})\)")
# where a label is defined, best first: an equation tag, a bold or leading label, a heading
_TAG = r"\\tag\{{{0}\}}|\\text(?:bf)?\{{\({0}\)"


def label_registry(theory_dir: Path) -> dict[str, str]:
    """{label: file name} from the label table of theory/README.md."""
    return dict(LABEL_ROW.findall((theory_dir / "README.md").read_text(encoding="utf8")))


def target(label: str) -> str:
    """The anchor id of a theory label (Sphinx lower-cases ids): (D3) -> theory-d3."""
    return f"theory-{label.lower()}"


def _math_block_start(lines: list[str], i: int) -> int | None:
    """Index of the line opening the $$ display block that contains line i, else None."""
    open_at = None
    for k, line in enumerate(lines[: i + 1]):
        n = line.count("$$")
        if open_at is None:
            block = k if n else None
            open_at = k if n % 2 else None
        else:
            block = open_at
            open_at = None if n % 2 else open_at
        if k == i:
            return block
    return None


def anchor_theory(text: str, labels: list[str]) -> str:
    """theory file text with one MyST target per label at its definition (see module docstring)."""
    lines = text.split("\n")
    before: dict[int, list[str]] = {}  # line index -> target lines to insert before it
    for lab in labels:
        tag = re.compile(_TAG.format(re.escape(lab)))
        plain = f"({lab})"
        hit = next((i for i, l in enumerate(lines) if tag.search(l)), None)
        if hit is not None:
            start = _math_block_start(lines, hit)
            if start is not None:
                before.setdefault(start, []).append(lab)
                continue
        lead = re.compile(r"^\s*(?:[-*]\s+)?(?:\*\*)?" + re.escape(plain))
        hit = next((i for i, l in enumerate(lines) if lead.search(l)), None)
        if hit is None:
            hit = next((i for i, l in enumerate(lines) if l.startswith("#") and plain in l), None)
            if hit is not None:
                before.setdefault(hit, []).append(lab)
                continue
            hit = next((i for i, l in enumerate(lines) if plain in l and "`" + plain not in l), None)
        if hit is None:
            raise ValueError(f"theory label {plain} is listed in theory/README.md but not found in its file")
        if _math_block_start(lines, hit) is not None:
            before.setdefault(_math_block_start(lines, hit), []).append(lab)
        else:  # inline: an attribute span on the label's first plain occurrence of that line
            lines[hit] = lines[hit].replace(plain, f"[{plain}]{{#{target(lab)}}}", 1)
    out = []
    for i, line in enumerate(lines):
        indent = line[: len(line) - len(line.lstrip())]
        if before.get(i) and out and out[-1].strip():
            out.append("")  # a target line after a paragraph line would continue that paragraph
        for lab in before.get(i, []):
            out.append(f"{indent}({target(lab)})=")
        out.append(line)
    return "\n".join(out)


_LITERAL = re.compile(r"(``.+?``|`[^`]+`)")
_THEORY_FILE = re.compile(r"theory/(\w+)\.md")
_SPECIAL = re.compile(r"([\\*|_<>\[\]`])")


def _escape(text: str, known: set[str], files: set[str]) -> str:
    """Plain text as reStructuredText inline text: labels and theory/*.md as links, the rest literal."""
    out, pos = [], 0
    tokens = [(m.start(), m.end(), m) for m in LABEL.finditer(text) if m.group(1) in known]
    tokens += [(m.start(), m.end(), m) for m in _THEORY_FILE.finditer(text) if m.group(1) in files]
    for start, end, m in sorted(tokens, key=lambda t: t[0]):
        if start < pos:
            continue
        out.append(_SPECIAL.sub(r"\\\1", text[pos:start]))
        if m.re is LABEL:
            out.append(rf"\ :ref:`({m.group(1)}) <{target(m.group(1))}>`\ ")
        else:
            out.append(rf"\ :doc:`theory/{m.group(1)}.md </theory/{m.group(1)}>`\ ")
        pos = end
    out.append(_SPECIAL.sub(r"\\\1", text[pos:]))
    return "".join(out)


def docstring_as_rst(lines: list[str], known: set[str], files: set[str]) -> list[str]:
    """A plain-text docstring as a reStructuredText line block, read exactly as written.

    rfscore's docstrings are plain text (indented continuation lines, ``literals`` and `code`, labels
    such as (D3)), not reStructuredText: each line becomes one line of a line block (indentation and
    line breaks kept, blank lines kept), the text is escaped so that nothing in it is markup, both
    kinds of backtick quotes become inline literals, and every theory label and theory/NAME.md a link.
    """
    out = []
    for line in lines:
        if not line.strip():
            out.append("|")
            continue
        indent = len(line) - len(line.lstrip())
        body = line.strip()
        parts = _LITERAL.split(body)
        if body.count("``") % 2:  # an unbalanced literal: keep every backtick as a character
            parts = [body]
        text = []
        for k, part in enumerate(parts):
            if k % 2:
                inner = part.strip("`")
                text.append(rf"\ ``{inner}``\ " if inner.strip() == inner else _escape(part, known, files))
            else:
                text.append(_escape(part, known, files))
        out.append("| " + "\u00a0" * indent + "".join(text))
    while out and out[-1] == "|":
        out.pop()
    return out + [""] if out else out


def _process_docstring(app, what, name, obj, options, lines):
    lines[:] = docstring_as_rst(list(lines), app.config.rfscore_theory_labels, app.config.rfscore_theory_files)


def _svg_math(app, config):
    """MathJax's SVG output: no font files to load (sphinx-mathjax-offline picks the CHTML one)."""
    config.mathjax_path = "mathjax/tex-svg.js"


def setup(app):
    app.add_config_value("rfscore_theory_labels", set(), "env")
    app.add_config_value("rfscore_theory_files", set(), "env")
    app.connect("autodoc-process-docstring", _process_docstring)
    app.connect("config-inited", _svg_math, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
