"""End-of-run linking cost: ``link_pending`` over every article of a crawled database.

    python -m benchmarks.crawl --pages DATA/aeb/html,DATA/boilerplate/pages --count 1000 \\
        --only newswatch --keep DIR
    python -m benchmarks.link_cost DIR/newswatch.db [--repeat 3]

The database a crawl left is copied, its linking undone (stories, duplicate links, the
duplicate and story indexes, document frequencies, flags), and every article held again with
what an extraction worker computes for it (text signature, packed story terms), as one run
that stored them all. ``crawler.ingest.pending.link_pending`` then links them in canonical
order; the script prints its wall and CPU time and a digest of the stories, duplicate links and
flags, so two versions of the code can be compared on the same articles: the digests must be
equal. The general-language rarity table is built first (a crawl prefetches it while it runs).
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from crawler.ingest.pending import link_pending
from crawler.store.storage import open_database
from crawler.stories import prior
from crawler.stories.dedup_text import text_digests
from crawler.stories.terms import pack_terms, story_terms

ROOT = Path(__file__).resolve().parents[1]

UNDONE = (
    "outbox",
    "flags",
    "story_pending",
    "dedup_bands",
    "dedup_docs",
    "story_terms",
    "term_df",
    "dedup_stats",
    "stories",
)


def prepare(source: Path, target: Path) -> tuple[int, int]:
    """Copy ``source`` to ``target`` with its linking undone and every article held."""
    shutil.copy(source, target)
    db = open_database(target)
    run_id = db.execute("SELECT max(id) FROM runs").fetchone()[0]
    with db.conn:
        db.execute("UPDATE articles SET story_id = NULL, duplicate_of = NULL")
        for table in UNDONE:
            db.execute(f"DELETE FROM {table}")
        db.execute("UPDATE runs SET finished_at = NULL WHERE id = ?", [run_id])
        rows = db.execute("SELECT id, title, text FROM articles ORDER BY id").fetchall()
        for article_id, title, text in rows:
            signature = text_digests(text or "")[2]
            blob = pack_terms(*story_terms(title or "", text or ""))
            db.execute(
                "INSERT INTO story_pending (article_id, run_id, signature, story_blob)"
                " VALUES (?, ?, ?, ?)",
                [article_id, run_id, signature, blob],
            )
    db.conn.execute("VACUUM")
    db.close()
    return run_id, len(rows)


def digest(rows: Sequence[object]) -> str:
    return hashlib.sha1(repr(rows).encode()).hexdigest()[:12]


def link_once(prepared: Path, work: Path, run_id: int) -> tuple[float, float, str]:
    shutil.copy(prepared, work)
    db = open_database(work)
    start, cpu = time.perf_counter(), time.process_time()
    counts = link_pending(db, run_id)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    groups: dict[int, list[int]] = {}
    rows = db.execute("SELECT id, story_id, duplicate_of FROM articles ORDER BY id").fetchall()
    for article_id, story_id, _ in rows:
        groups.setdefault(story_id, []).append(article_id)
    copies = [(a, d) for a, _, d in rows if d is not None]
    flags = db.execute("SELECT kind, article_id FROM flags ORDER BY kind, article_id").fetchall()
    db.close()
    summary = (
        f"{len(groups)} stories {digest(sorted(groups.values()))}, {len(copies)} copies "
        f"{digest(copies)}, {len(flags)} flags {digest(flags)}; linked {counts['linked']}"
    )
    return wall, cpu, summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("database", type=Path, help="a database a crawl left (crawl.py --keep)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    prior.stem_zipf()
    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.db"
        run_id, articles = prepare(args.database, prepared)
        print(f"{articles} articles held for linking")
        for i in range(args.repeat):
            wall, cpu, summary = link_once(prepared, Path(tmp) / f"run{i}.db", run_id)
            print(f"link_pending: {wall:.2f} s wall, {cpu:.2f} s CPU; {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
