"""`rfscore reproduce`: regenerate every figure of the project with a manifest."""
import datetime as dt
import importlib
import json
import sys
import time
import traceback
from pathlib import Path

from tqdm.auto import tqdm

from ..core.errors import InputError
from ..figures import FIGURES
from ..figures.paper import PAPER_FIGURES
from ..runtime.io import check_writable, metadata, write_json
from .common import add_progress_option, echo


def register(sub) -> None:
    p = sub.add_parser("reproduce", help="regenerate every figure (Fig. 4, 5A-C, scaling, collapse, asymptotic, power law, generation, digits)",
                       description="Regenerate every figure of the project into OUT with manifest.json "
                                   "(files, parameters, durations, version, time): " + ", ".join(FIGURES) + ". "
                                   "About 1.5 minutes on 2 idle cores (89 s measured), up to 2.5 under load (--quick: about a minute).")
    p.add_argument("--out", default="rfscore-figures", help="output folder, created if missing (default rfscore-figures)")
    p.add_argument("--quick", action="store_true", help="small sizes (about a third of the default run's time)")
    p.add_argument("--paper", action="store_true",
                   help="the paper's theory figures at the paper's own parameters instead (" + ", ".join(PAPER_FIGURES)
                        + "); manifest.json gives per figure the paper's parameters, the ones run and every "
                          "difference. About 10 minutes on 2 cores (--quick: about a minute)")
    p.add_argument("--only", default=None,
                   help=f"comma-separated subset of: {', '.join(FIGURES)} (with --paper: {', '.join(PAPER_FIGURES)})")
    add_progress_option(p)
    p.set_defaults(func=run)


def run(args) -> int:
    paper = getattr(args, "paper", False)
    registry, package = (PAPER_FIGURES, "rfscore.figures.paper") if paper else (FIGURES, "rfscore.figures")
    names = registry if args.only is None else [x.strip() for x in args.only.split(",") if x.strip()]
    unknown = [x for x in names if x not in registry]
    if unknown or not names or len(set(names)) != len(names):
        what = f"unknown figure(s) {unknown}" if unknown else "needs distinct figure names"
        raise InputError("only", f"{what}; accepted{' with --paper' if paper else ''}: {', '.join(registry)}")
    if not str(args.out).strip():
        raise InputError("out", "is empty; give a folder name")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise InputError("out", f"{out} exists and is not a folder")
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    try:  # the manifest must be writable before any figure is computed (a read-only folder fails here)
        check_writable(out / "manifest.json", "out")
    except InputError:
        if created:
            out.rmdir()
        raise
    entries, failed = {}, []
    start = time.perf_counter()
    # one bar over the figures (stderr); the figures' own bars (sweeps, simulated GD) appear below it
    bar = tqdm(total=len(names), desc="rfscore reproduce", unit="figure", file=sys.stderr,
               bar_format="{desc}: {n_fmt}/{total_fmt} figures [{elapsed}]{postfix}", disable=args.no_progress)
    for name in names:
        bar.set_postfix_str(name)
        t0 = time.perf_counter()
        try:
            module = importlib.import_module(f"{package}.{name}")
            entry = module.make(out, quick=args.quick, progress=not args.no_progress)
            entry["seconds"] = round(time.perf_counter() - t0, 2)
            entry["made_utc"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
            entries[name] = entry
            bar.write(f"[rfscore reproduce] {name} done in {entry['seconds']:.1f} s "
                      f"({time.perf_counter() - start:.0f} s so far)", file=sys.stderr)
        except Exception as exc:  # noqa: BLE001 - report every figure, then fail at the end
            failed.append(name)
            entries[name] = {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
            bar.write(f"[rfscore reproduce] {name} FAILED: {type(exc).__name__}: {exc}", file=sys.stderr)
        bar.update(1)
    bar.close()
    entries, made = _kept_entries(out / "manifest.json", args, paper, registry, entries)
    write_json(out / "manifest.json", metadata({"quick": args.quick, "paper": paper, "figures": made}, figures=entries,
                                               finished_utc=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")))
    echo(f"[rfscore reproduce] wrote {out / 'manifest.json'}" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


def _kept_entries(path: Path, args, paper: bool, registry, entries: dict) -> tuple:
    """The manifest's figures after this run: with --only, the entries of the other figures of a manifest already in
    the folder (same --paper and --quick) are kept, so that remaking one figure does not erase the record of the
    others; the figures listed in registry order. Without --only, or over an unreadable or other manifest: this
    run's entries alone."""
    if args.only is None or not path.is_file():
        return entries, list(entries)
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
        same = old["parameters"]["paper"] == paper and old["parameters"]["quick"] == args.quick
        kept = {k: v for k, v in old["figures"].items() if k in registry and k not in entries} if same else {}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        kept = {}
    merged = {**kept, **entries}
    order = [k for k in registry if k in merged]
    return {k: merged[k] for k in order}, order
