"""theory/ is the reference: every label the code cites is listed in theory/README.md and
defined in the file named there, every theory file is listed, and nothing in the
repository points outside it."""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
THEORY = ROOT / "theory"
CODE_GLOBS = ("rfscore/**/*.py", "figures/*.py", "tests/*.py", "benchmarks/*.py", "README.md")
TEXT_SUFFIXES = {".py", ".md", ".toml", ".txt", ".cfg", ".json", ".csv", ""}
SKIP_DIRS = {".git", ".venv", "venv", "__pycache__", ".pytest_cache", "build", "dist", "site"}  # site: docs/build.py output

# A label is "(X12)" not glued to a preceding word or dot: "(D4)" yes, "isfinite(A0)" no.
LABEL = re.compile(r"(?<![\w.])\(([A-Z])(\d+)\)")
RANGE = re.compile(r"(?<![\w.])\(([A-Z])(\d+)\)\s*[-–]\s*\(\1(\d+)\)")


def _registry() -> dict:
    rows = re.findall(r"^\|\s*\(([A-Z]\d+)\)\s*\|\s*([\w.]+\.md)\s*\|", (THEORY / "README.md").read_text(), re.M)
    assert rows, "theory/README.md has no label table"
    return {label: file for label, file in rows}


def _cited_labels() -> dict:
    cited = {}
    for pattern in CODE_GLOBS:
        for path in ROOT.glob(pattern):
            text = path.read_text(encoding="utf-8")
            labels = {f"{a}{n}" for a, n in LABEL.findall(text)}
            for a, lo, hi in RANGE.findall(text):
                labels |= {f"{a}{k}" for k in range(int(lo), int(hi) + 1)}
            for label in labels:
                cited.setdefault(label, path.relative_to(ROOT).as_posix())
    return cited


def test_every_cited_label_is_defined_in_theory():
    registry = _registry()
    families = {label[0] for label in registry}
    cited = {k: v for k, v in _cited_labels().items() if k[0] in families}
    missing = {label: where for label, where in cited.items() if label not in registry}
    assert not missing, f"labels cited in the code but not listed in theory/README.md: {missing}"


@pytest.mark.parametrize("label", sorted(_registry()))
def test_registered_label_is_defined_where_listed(label):
    file = _registry()[label]
    text = (THEORY / file).read_text(encoding="utf-8")
    assert f"({label})" in text or f"\\tag{{{label}}}" in text, f"({label}) is not written in theory/{file}"


def test_every_theory_file_is_listed():
    listed = set(re.findall(r"\]\(([\w.]+\.md)\)", (THEORY / "README.md").read_text()))
    files = {p.name for p in THEORY.glob("*.md")} - {"README.md"}
    assert files <= listed, f"theory files missing from theory/README.md: {sorted(files - listed)}"


def test_nothing_points_outside_the_repository():
    words = re.compile("|".join(["b" + "rief", r"shared" + "/", r"\.\./"]), re.I)
    hits = []
    for path in ROOT.rglob("*"):
        if any(part in SKIP_DIRS or part.endswith(".egg-info") for part in path.relative_to(ROOT).parts):
            continue
        if not path.is_file() or path.suffix not in TEXT_SUFFIXES:
            continue
        for i, line in enumerate(path.read_text(encoding="utf-8", errors="ignore").splitlines(), 1):
            if words.search(line):
                hits.append(f"{path.relative_to(ROOT)}:{i}")
    assert not hits, f"references outside the repository: {hits[:20]}"
