"""The benchmarks' CI gate: small samples end to end, with quality floors.

    python -m benchmarks.smoke [--eval DIR]        # DIR: the eval folder (aeb/ inside)

Like trafilatura's evaluation gate, a quick run on small samples that fails (exit 1) when a
score falls below its floor; the full benchmarks give the figures (benchmarks/README.md):

- extraction: every 6th aeb page (31 pages) served on 127.0.0.1 and crawled by the real
  ``newswatch crawl`` (benchmarks/realpages.py's site and crawl); F1 of the stored texts
  against the gold text (token 4-gram shingles; a page not stored scores 0);
- dates, on the pages whose metadata declares a date: the share stored within a day of it
  (pages as published), and the share not more than a day wrong once their date metadata is
  stripped (unknown is right there: a date is never guessed);
- stories: one run of benchmarks/stories_e2e.py (the five-outlet web crawled twice, order 0,
  batch 50); pairwise story F1 on the held-out events.

The aeb pages come from ``--eval`` or ``NEWSWATCH_EVAL_DIR`` (else ``../shared/eval`` beside
the repository); without them the extraction and date gates are skipped, saying so. The story
web ships in the repository, so that gate always runs. ``--floors-from FILE`` (JSON) replaces
the floors, to check once on purpose that a broken floor fails the run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from benchmarks import pagesets, realpages, stories_e2e, storyweb

ROOT = Path(__file__).resolve().parents[1]
# Floors: a few points under what the samples score today (see the README's figures).
FLOORS = {
    "extraction_f1": 0.93,
    "dates_right": 0.90,
    "dates_not_wrong": 0.90,
    "story_f1": 0.95,
}
SAMPLE_EVERY = 6


def eval_dir(given: Path | None) -> Path | None:
    for candidate in (given, os.environ.get("NEWSWATCH_EVAL_DIR"), ROOT.parent / "shared/eval"):
        if candidate and (Path(candidate) / "aeb" / "ground-truth.json").exists():
            return Path(candidate)
    return None


def extraction_and_dates(aeb: Path, work: Path) -> dict[str, float]:
    """F1 of stored texts (pages as published) and right dates (date metadata stripped)."""
    pages = pagesets.load_set(aeb)[::SAMPLE_EVERY]
    site = realpages.Site(pages)
    try:
        meta_db, _, _ = realpages.crawl(site, "meta", work, workers=2)
        stripped_db, _, _ = realpages.crawl(site, "stripped", work, workers=2)
    finally:
        site.server.shutdown()
        site.server.server_close()
    meta, _ = realpages.landed(meta_db, site, "meta", len(pages))
    stripped, _ = realpages.landed(stripped_db, site, "stripped", len(pages))
    rows = [
        realpages.tp_fp_fn(page.gold_text, got.text) if got.kept else (0.0, 0.0, 1.0)
        for page, got in zip(pages, meta, strict=True)
        if page.gold_text
    ]
    _, _, f1 = realpages.prf(rows)
    declared = [pagesets.declared_date(page.html) for page in pages]
    with_meta = [
        realpages.date_verdict(got.published, gold)
        for gold, got in zip(declared, meta, strict=True)
        if gold
    ]
    without = [
        realpages.date_verdict(got.published, gold)
        for gold, got in zip(declared, stripped, strict=True)
        if gold
    ]
    return {
        "extraction_f1": f1,
        # pages as published: the date their metadata declares is found
        "dates_right": with_meta.count("right") / len(with_meta) if with_meta else 0.0,
        # metadata stripped: unknown is fine (never a guess), a date more than a day off is not
        "dates_not_wrong": 1 - without.count("wrong") / len(without) if without else 0.0,
        "pages": len(pages),
    }


def stories(work: Path) -> dict[str, float]:
    """Pairwise story F1 on the held-out events of one end-to-end run."""
    reports = storyweb.load_reports()
    truth = storyweb.expected(reports)
    result = stories_e2e.run_once(reports, 0, 50, work / "stories")
    held = stories_e2e.score(result, truth, "heldout")
    p, r = held["precision"], held["recall"]
    return {"story_f1": 2 * p * r / (p + r) if p + r else 0.0}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval", type=Path, help="the eval folder (aeb/ inside)")
    parser.add_argument("--floors-from", type=Path, help="JSON floors replacing the built-in")
    args = parser.parse_args(argv)
    floors = dict(FLOORS)
    if args.floors_from:
        floors.update(json.loads(args.floors_from.read_text("utf-8")))
    scores: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="newswatch-smoke-") as scratch:
        data = eval_dir(args.eval)
        if data is None:
            print("extraction and date gates skipped: no eval data (--eval, NEWSWATCH_EVAL_DIR)")
        else:
            scores.update(extraction_and_dates(data / "aeb", Path(scratch)))
        scores.update(stories(Path(scratch)))
    broken = []
    checked = 0
    for name, floor in floors.items():
        if name not in scores:
            continue
        checked += 1
        ok = scores[name] >= floor
        print(f"{name:<15} {scores[name]:.3f}  floor {floor:.3f}  {'ok' if ok else 'BROKEN'}")
        if not ok:
            broken.append(name)
    if broken:
        print(f"benchmark smoke gate failed: {', '.join(broken)} below the floor")
        return 1
    print(f"{checked} passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
