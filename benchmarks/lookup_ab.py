"""Lookup cost of the working tree against another revision, on one database, in one run.

    python -m benchmarks.lookup_ab --data DIR/aeb --base REV [--size 1000000] [--db FILE]
        [--passes 8] [--instructions] [--undated]

Builds the synthetic index of ``dedup.py --scale`` at one size (or reuses ``--db``, which it
keeps), exports REV's ``crawler/`` with ``git archive``, then times the 139 probe articles
of ``dedup.py --scale`` (lookups, and the whole ``link_article``, rolled back) with each
tree in turn, a fresh process per pass, alternating. On a shared machine whose speed drifts
by 1.5x within minutes, only such a same-run comparison says whether a change made lookups
cheaper. ``--instructions`` counts CPU instructions instead (valgrind's callgrind, about 13
minutes per tree at 1M, mostly Python's imports): the same on every run, whatever else the
machine does, but blind to waiting for the disk.

``--undated``: the probes have no date (crawled at the newest hour): the lookup of a report
without a date.

REV must have the functions the harness calls (``dedup_scale.py``'s ``_probe``): any revision since
the story terms were parsed in the extraction workers.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def _child(tree: Path, db_path: Path, size: int, data: Path, plan: str, dated: bool) -> None:
    """One tree's passes (run in a fresh process), one per letter of ``plan``: "F" a full pass
    (lookups and link_article), "L" lookups only. One JSON line of (lookups, link) ms each."""
    # This tree's crawler package first, whatever an (editable) install or the working tree
    # (the child runs from ROOT, for the benchmarks package) maps "crawler" to: the one
    # path edit left in the benchmarks, as comparing two trees is this script's point.
    sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in type(f).__module__]
    sys.path.insert(0, str(tree))
    from sqlite_utils import Database

    import crawler.stories.dedup  # noqa: F401  (imported from `tree` before the harness)
    from benchmarks import dedup_scale as harness
    from crawler.store import storage

    prepared = harness.prepare_probes(harness.scale_probes(data))
    db = Database(str(db_path))
    if hasattr(storage, "use_writer_cache"):  # else the tree's writer kept SQLite's default
        storage.use_writer_cache(db)
    harness._probe(db, prepared, size, dated=dated)  # warm the caches as a crawler has them
    passes = [harness._probe(db, prepared, size, link=kind == "F", dated=dated) for kind in plan]
    print(json.dumps(passes))


def _export(rev: str, into: Path) -> Path:
    """REV's crawler package, as committed."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", rev, "crawler"],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def _run(tree: Path, args: argparse.Namespace, plan: str, tool: list[str]) -> str:
    command = [
        *tool,
        sys.executable,
        "-m",
        "benchmarks.lookup_ab",
        "--child",
        str(tree),
        "--db",
        str(args.db),
        "--size",
        str(args.size),
        "--data",
        str(args.data),
        "--plan",
        plan,
        *(["--undated"] if args.undated else []),
    ]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        sys.exit(f"the {tree} pass failed:\n{done.stderr[-3000:]}")
    return done.stdout + done.stderr


def _wall(trees: dict[str, Path], args: argparse.Namespace) -> None:
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in trees}
    for turn in range(args.passes):
        order = list(trees) if turn % 2 == 0 else list(reversed(trees))
        for name in order:
            out = _run(trees[name], args, "F", [])
            runs[name] += [tuple(p) for p in json.loads(out.strip().splitlines()[-1])]
    base, now = runs["base"], runs["working tree"]
    print("\n| tree | lookups ms/article (passes) | link_article ms/article |\n|---|---|---|")
    for name, passes in runs.items():
        lookups = [p[0] for p in passes]
        print(
            f"| {name} | {statistics.median(lookups):.3f} ({min(lookups):.2f}-{max(lookups):.2f})"
            f" | {statistics.median(p[1] for p in passes):.3f} |"
        )
    pairs = list(zip(now, base, strict=True))
    ratios = sorted(n[0] / b[0] for n, b in pairs)
    print(
        f"\nworking tree / base, lookups: median of {len(ratios)} pass-by-pass ratios"
        f" {statistics.median(ratios):.3f} (range {ratios[0]:.3f}-{ratios[-1]:.3f});"
        f" link_article {statistics.median(n[1] / b[1] for n, b in pairs):.3f}"
    )


def _instructions(trees: dict[str, Path], args: argparse.Namespace, probes: int) -> None:
    if shutil.which("valgrind") is None:
        sys.exit("--instructions needs valgrind (callgrind) on PATH")
    tool = ["valgrind", "--tool=callgrind", "--cache-sim=no", "--callgrind-out-file=/dev/null"]
    per: dict[str, dict[str, float]] = {}
    for name, tree in trees.items():
        # one pass's cost is the difference between runs with and without it (the probes'
        # preparation, the extraction workers' part, and a warming pass come before)
        counts = {}
        for plan in ("F", "FF", "FL"):
            out = _run(tree, args, plan, tool)
            counts[plan] = int(re.findall(r"Collected : (\d+)", out)[-1])
        per[name] = {
            "lookups": (counts["FL"] - counts["F"]) / probes,
            "lookups and link_article": (counts["FF"] - counts["F"]) / probes,
        }
    print("\n| instructions per probe | base | working tree | working tree / base |")
    print("|---|---|---|---|")
    for kind in per["base"]:
        base, now = per["base"][kind], per["working tree"][kind]
        print(f"| {kind} | {base / 1e6:.2f} M | {now / 1e6:.2f} M | {now / base:.3f} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="the aeb folder")
    parser.add_argument("--base", default="HEAD", help="the revision to compare with")
    parser.add_argument("--size", type=int, default=1_000_000, help="stored articles")
    parser.add_argument("--db", type=Path, help="a database built by an earlier run (kept)")
    parser.add_argument("--passes", type=int, default=8)
    parser.add_argument("--instructions", action="store_true")
    parser.add_argument("--undated", action="store_true", help="probes without a date")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--plan", default="F", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child, args.db, args.size, args.data, args.plan, not args.undated)
        return 0
    from benchmarks import dedup_scale as harness

    probes = harness.scale_probes(args.data)
    with tempfile.TemporaryDirectory() as tmp:
        args.db = args.db or Path(tmp) / "scale.db"
        if not args.db.exists():
            harness.build_scale_db(args.db, args.size, probes)
        trees = {"base": _export(args.base, Path(tmp) / "base"), "working tree": ROOT}
        dates = "without a date" if args.undated else "dated"
        print(f"{args.size:,} stored articles, {len(probes)} probes {dates}, base {args.base}")
        if args.instructions:
            _instructions(trees, args, len(probes))
        else:
            _wall(trees, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
