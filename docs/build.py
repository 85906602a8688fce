"""Build the rfscore documentation site: ``python docs/build.py --out site/`` (``--no-execute``: fast).

Needs ``pip install ".[docs]"`` and no network. Steps, in a temporary folder:
1. stage the sources: docs/index.md, docs/about.md, docs/tutorials/*.py (jupytext percent notebooks),
   theory/*.md with one anchor per label of theory/README.md's table (``theory-d3`` for (D3));
2. generate the API reference (api/, one page per wing, from the docstrings of every public module
   of rfscore found by walking the package, and a table of every name that ``rfscore`` exports) and
   the CLI reference (cli.md, by introspecting ``rfscore.cli.build_parser()``);
3. run Sphinx strictly (``-W``: any warning — a broken link, a missing reference, a failing
   tutorial — fails the build, exit 1) and copy the HTML and the executed notebooks
   (tutorials/*.ipynb) to ``--out``.
"""
from __future__ import annotations

import argparse
import importlib
import inspect
import os
import pkgutil
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(DOCS / "_ext"))
from rfscore_docs import anchor_theory, label_registry  # noqa: E402

# the wings in the order of the layers (core -> finite / limit -> analysis -> generative -> networks,
# data and runtime beside, figures on top); a wing found by walking rfscore but missing here comes last
WINGS = ["core", "finite", "limit", "analysis", "generative", "networks", "data", "runtime", "figures"]
SKIP = ("rfscore.cli", "rfscore.__main__")  # the CLI has its own, generated, reference page


# ---------------------------------------------------------------- theory
def stage_theory(dest: Path) -> None:
    theory = ROOT / "theory"
    by_file = defaultdict(list)
    for label, name in label_registry(theory).items():
        by_file[name].append(label)
    dest.mkdir(parents=True)
    for path in sorted(theory.glob("*.md")):
        text = path.read_text(encoding="utf8")
        text = anchor_theory(text, by_file.get(path.name, []))
        if path.name == "README.md":  # every theory page in the site's navigation, in the README's order
            pages = [p.stem for p in sorted(theory.glob("*.md")) if p.name != "README.md"]
            listed = [m for m in re.findall(r"\]\((\w+)\.md\)", text) if m in pages]
            order = list(dict.fromkeys(listed + pages))
            text += "\n```{toctree}\n:hidden:\n\n" + "\n".join(order) + "\n```\n"
        (dest / path.name).write_text(text, encoding="utf8")


# ---------------------------------------------------------------- API reference
def public_modules() -> dict[str, list[str]]:
    """{wing: [module names]} for every importable public module of rfscore (not the CLI)."""
    import rfscore
    from rfscore.core.deprecation import MOVED_MODULES  # former module paths: shims, not documented

    wings = defaultdict(list)
    for info in pkgutil.walk_packages(rfscore.__path__, "rfscore."):
        name = info.name
        if any(part.startswith("_") for part in name.split(".")) or name.startswith(SKIP) or name in MOVED_MODULES:
            continue
        try:
            importlib.import_module(name)
        except ImportError as exc:  # an optional extra that is not installed: say so in the build log
            print(f"docs: {name} not documented ({exc})", file=sys.stderr)
            continue
        wings[name.split(".")[1]].append(name)
    return dict(wings)


def _first_line(obj) -> str:
    doc = inspect.getdoc(obj) or ""
    return doc.strip().split("\n\n")[0].replace("\n", " ").replace("|", "\\|")


def write_api(dest: Path) -> None:
    import rfscore

    dest.mkdir(parents=True)
    wings = public_modules()
    order = [w for w in WINGS if w in wings] + sorted(set(wings) - set(WINGS))
    rows = []
    for name in rfscore.__all__:
        if name == "__version__":
            continue
        obj = getattr(rfscore, name)
        if not inspect.isclass(obj) and not inspect.isfunction(obj):  # a constant: where the lowest wing holds it
            holders = [m for w in order for m in wings[w] if getattr(sys.modules[m], name, None) is obj]
            assigned = re.compile(rf"^{re.escape(name)}\s*[:=]", re.M)
            home = next((m for m in holders if assigned.search(inspect.getsource(sys.modules[m]))),
                        holders[0] if holders else "rfscore")
            rows.append(f"| `{name}` | the value `{obj!r}` (`{home}`) |")
            continue
        home = obj.__module__
        rows.append(f"| {{py:obj}}`{name} <{home}.{name}>` | {_first_line(obj)} (`{home}`) |")
    toc = "\n".join(order)
    (dest / "index.md").write_text(f"""# API reference

Generated from the docstrings of the code this site was built from. An equation label in a
docstring, such as (D3), links to the place in {{doc}}`theory </theory/README>` where it is defined.

## `import rfscore`: the exported names

Each name is documented in the module that defines it (its wing, below).

| name | summary (module) |
|---|---|
{chr(10).join(rows)}

## The wings

```{{toctree}}
:maxdepth: 2

{toc}
```
""", encoding="utf8")
    for wing in order:
        pkg = importlib.import_module(f"rfscore.{wing}")
        parts = [f"# `rfscore.{wing}`\n", "```{eval-rst}", f".. automodule:: rfscore.{wing}", "   :no-members:", "```\n"]
        for mod in sorted(m for m in wings[wing] if m != pkg.__name__):
            parts += [f"## `{mod}`\n", "```{eval-rst}", f".. automodule:: {mod}", "```\n"]
        (dest / f"{wing}.md").write_text("\n".join(parts), encoding="utf8")


# ---------------------------------------------------------------- CLI reference
def _md(text, labels: set[str] = frozenset()) -> str:
    """Help text as Markdown: markup characters escaped, theory labels as links to their anchors."""
    text = " ".join(str(text).split())
    special = r"([\\*_<>\[\]{}$|#])" if text.count("`") % 2 == 0 else r"([\\`*_<>\[\]{}$|#])"
    parts = re.split(r"(`[^`]+`)", text) if text.count("`") % 2 == 0 else [text]
    text = "".join(p if k % 2 else re.sub(special, r"\\\1", p) for k, p in enumerate(parts))
    return re.sub(r"\\\(|\(([A-Z]\d{1,2})\)", lambda m: (f"{{ref}}`({m.group(1)}) <theory-{m.group(1).lower()}>`"
                                                    if m.group(1) in labels else m.group(0)), text)


def _type_name(action) -> str:
    t = action.type
    if t is None:
        return "flag" if action.nargs == 0 else "text"
    name = getattr(t, "__name__", type(t).__name__)
    m = re.fullmatch(r"float_in_(.+)_(.+)", name)
    return f"float in [{m.group(1)}, {m.group(2)}]" if m else name.replace("_", " ")


def write_cli(dest: Path) -> None:
    import argparse as ap

    from rfscore.cli import build_parser

    labels = set(label_registry(ROOT / "theory"))
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, ap._SubParsersAction))
    out = ["# Command-line reference", "",
           "Generated from the argparse parsers of `rfscore.cli` (the text of `rfscore COMMAND --help`). "
           "Ranges are enforced: a value outside its range exits with status 2 and one line naming the option; "
           "nothing is written.", "", "```text", parser.format_help().rstrip(), "```", ""]
    for name, p in sub.choices.items():
        out += [f"## `rfscore {name}`", "", _md(p.description or "", labels), "", "```text",
                p.format_usage().rstrip(), "```", ""]
        fmt = p._get_formatter()
        for a in p._actions:
            if isinstance(a, ap._HelpAction):
                continue
            opts = ", ".join(f"`{o}`" for o in a.option_strings) or f"`{a.dest}`"
            if a.metavar or (a.nargs != 0 and a.option_strings):
                opts += f" `{a.metavar or a.dest.upper()}`"
            facts = [_md(_type_name(a))]
            if a.required:
                facts.append("**required**")
            elif a.default not in (None, ap.SUPPRESS, False) and isinstance(a.default, (str, int, float, list, tuple)):
                facts.append(f"default `{a.default!r}`")
            if a.choices:
                facts.append("one of " + ", ".join(f"`{c}`" for c in a.choices))
            help_ = fmt._expand_help(a) if a.help not in (None, ap.SUPPRESS) else ""
            out.append(f"- {opts} ({'; '.join(facts)}): {_md(help_, labels)}")
        if p.epilog:
            out += ["", _md(p.epilog, labels)]
        out.append("")
    (dest / "cli.md").write_text("\n".join(out), encoding="utf8")


# ---------------------------------------------------------------- build
def stage(src: Path) -> None:
    src.mkdir(parents=True)
    for f in ("index.md", "about.md"):
        shutil.copy(DOCS / f, src / f)
    (src / "tutorials").mkdir()
    for f in sorted((DOCS / "tutorials").glob("*")):
        if f.suffix in (".py", ".md"):
            shutil.copy(f, src / "tutorials" / f.name)
    stage_theory(src / "theory")
    write_api(src / "api")
    write_cli(src)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python docs/build.py", description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "site", help="output folder (default site/); replaced")
    ap.add_argument("--no-execute", action="store_true", help="render the tutorials without running them")
    ap.add_argument("--keep-work", action="store_true", help="keep the temporary staging folder and say where")
    args = ap.parse_args(argv)
    out = args.out.resolve()
    if out.exists() and any(out.iterdir()) and not (out / ".buildinfo").exists():
        print(f"docs: --out {out} exists and is not a site built by this script; choose another folder",
              file=sys.stderr)
        return 2
    # the notebook kernels pick matplotlib's inline backend (figures into the pages) only when no
    # MPLBACKEND is set (.ci/run sets Agg); conf.py uses Agg for Sphinx's own process
    os.environ.pop("MPLBACKEND", None)
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
    t0 = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="rfscore-docs-"))
    try:
        stage(work / "src")
        cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-q", "-j", "1",
               "-c", str(DOCS), "-d", str(work / "doctrees"), str(work / "src"), str(work / "html"),
               "-D", f"nb_execution_mode={'off' if args.no_execute else 'force'}"]
        rc = subprocess.call(cmd)
        if rc:
            print(f"docs: the strict build failed (exit {rc}); nothing written to {out}", file=sys.stderr)
            return 1
        executed = work / "jupyter_execute" / "tutorials"
        for nb in sorted(executed.glob("*.ipynb")):  # each tutorial downloadable beside its page
            shutil.copy(nb, work / "html" / "tutorials" / nb.name)
        if out.exists():
            shutil.rmtree(out)
        shutil.copytree(work / "html", out)
    finally:
        if args.keep_work:
            print(f"docs: staging kept in {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    mode = "without executing the tutorials" if args.no_execute else "tutorials executed"
    print(f"docs: built {out / 'index.html'} in {time.perf_counter() - t0:.1f} s ({mode})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
