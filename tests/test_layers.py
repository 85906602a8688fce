"""Layers point down only (README "Layout"): the import graph of rfscore/, every in-package import counted
(at module level or inside a function), has no cycle between modules and no arrow from a lower wing to a
higher one; and no in-package import hides inside a function unless it is there for start-up time (the
command line importing matplotlib or equinox only when it plots or trains), said in a comment on the
import ("start-up time")."""
import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "rfscore"

# rank of each wing: a module may import its own wing or a wing of lower rank only
RANK = {"_version": 0, "_entry": 0, "core": 0, "runtime": 1, "finite": 1, "limit": 1, "analysis": 2, "data": 3, "generative": 4,
        "networks": 5, "figures": 6, "cli": 7, "__main__": 8, "": 8}
# modules that compare the trained networks with the theory: they read the generation read-offs, so they sit
# above generative whatever folder holds them today (rfscore/analysis/networks.py)
ABOVE_GENERATIVE = {"rfscore.analysis.networks": 5}
# no known exception: the command's start-up Ctrl-C handling lives in rfscore/_entry.py (stdlib only)
KNOWN_UP = set()
# an in-function in-package import must say why on its own lines: this phrase, in a comment
STARTUP_COMMENT = "# start-up time"


def _module(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict:
    """{module: set of rfscore modules it imports}, relative imports resolved, `from x import name` pointing
    at x.name when that is a module of the package."""
    modules = {_module(p): p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts}
    graph = {}
    for mod, path in modules.items():
        pkg = mod if path.name == "__init__.py" else mod.rsplit(".", 1)[0]
        out = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = pkg.split(".")[:len(pkg.split(".")) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                names = [f"{target}.{a.name}" for a in node.names]
                targets = [n for n in names if n in modules] or [target]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            out.update(t for t in targets if t.split(".")[0] == "rfscore" and t != mod)
        graph[mod] = {t for t in out if t in modules}
    return graph


def in_function_imports() -> list:
    """(module, line, source) of every in-package import inside a function (any depth) of rfscore/."""
    found = []
    for path in PACKAGE.rglob("*.py"):
        if "__pycache__" in path.parts:
            continue
        text = path.read_text()
        lines = text.splitlines()

        def visit(node, in_function):
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.Import, ast.ImportFrom)) and in_function:
                    names = [child.module or ""] if isinstance(child, ast.ImportFrom) else [a.name for a in child.names]
                    if (isinstance(child, ast.ImportFrom) and child.level) or any(
                            n == "rfscore" or n.startswith("rfscore.") for n in names):
                        found.append((_module(path), child.lineno, "\n".join(lines[child.lineno - 1:child.end_lineno])))
                visit(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

        visit(ast.parse(text), False)
    return found


def _rank(mod: str) -> int:
    if mod in ABOVE_GENERATIVE:
        return ABOVE_GENERATIVE[mod]
    wing = (mod.split(".") + [""])[1]
    return RANK[wing]


def test_every_wing_has_a_rank():
    wings = {(m.split(".") + [""])[1] for m in import_graph()}
    assert wings <= set(RANK), wings - set(RANK)


def test_no_arrow_points_up():
    graph = import_graph()
    up = sorted(f"{a} -> {b}" for a, bs in graph.items() for b in bs if _rank(b) > _rank(a))
    assert set(up) <= KNOWN_UP, sorted(set(up) - KNOWN_UP)


def test_no_import_cycle():
    graph = import_graph()
    index, low, stack, on, cycles = {}, {}, [], set(), []

    def strong(v):  # Tarjan
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in graph:
        if v not in index:
            strong(v)
    # a package's __init__ importing its own submodules is not a cycle of layers
    cycles = [c for c in cycles if not all(m == c[0] or m.startswith(c[0] + ".") for m in c)]
    assert not cycles, cycles


def test_no_hidden_import_inside_a_function():
    hidden = [f"{mod}:{line}: {src.strip()}" for mod, line, src in in_function_imports()
              if STARTUP_COMMENT not in src]
    assert not hidden, "in-package imports inside functions without a start-up-time comment:\n" + "\n".join(hidden)


def test_the_hidden_import_check_sees_one():
    """The walk finds the command line's lazy plotting imports (and would find an uncommented one)."""
    found = {mod for mod, _, src in in_function_imports() if STARTUP_COMMENT in src}
    assert "rfscore.cli.dynamics" in found and "rfscore.cli.train_net" in found


def test_the_library_names_no_command_line_option():
    """Library messages name the library's parameters (in backticks); the command line maps them to its options
    (rfscore/cli/common.py `cli_text`). Below the CLI (figures aside), no raised message spells an option and no
    function takes the command line's argument names (``checkpoint_arg``)."""
    option = re.compile(r"(?<![\w-])--[a-z]")
    found = []
    for path in PACKAGE.rglob("*.py"):
        mod = _module(path)
        if "__pycache__" in path.parts or mod.split(".")[1:2] in (["cli"], ["figures"]):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Raise):
                texts = [c.value for c in ast.walk(node) if isinstance(c, ast.Constant) and isinstance(c.value, str)]
                found += [f"{mod}:{node.lineno}: {t!r}" for t in texts if option.search(t)]
            if isinstance(node, ast.arg) and node.arg == "checkpoint_arg":
                found.append(f"{mod}:{node.lineno}: takes checkpoint_arg")
    assert not found, found
