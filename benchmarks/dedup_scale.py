"""The dedup benchmark's scale part: a synthetic index of 10k to 1M stored articles, and the
cost of ``link_article`` for real texts on it (``python -m benchmarks.dedup --scale``;
``benchmarks/lookup_ab.py`` times two trees on one such database)."""

from __future__ import annotations

import json
import random
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlite_utils import Database

from benchmarks.dedup import HERE, Item, _headline, new_db, story_items
from crawler.core.timeutil import event_hour
from crawler.store import storage
from crawler.stories import dedup
from crawler.stories.terms import Groups

PER_DAY = 1000  # the database grows over time at a steady rate, as a crawler's does
# On a shared machine one pass over the probes can take 1.5x another: each figure is the
# median of PASSES passes (the fastest and slowest go to stderr).
PASSES = 5


def _fill(
    db: Database,
    start: int,
    stop: int,
    vocab: list[str],
    rng: np.random.Generator,
    blobs: list[bytes],
) -> None:
    """Synthetic originals start..stop-1: articles rows, band rows, story postings, df, and
    parsed story terms (real articles' ``blobs`` in turn, so comparing with a candidate costs
    what it does in a crawl)."""
    chunk = 20_000
    for lo in range(start, stop, chunk):
        hi = min(stop, lo + chunk)
        zipf = np.minimum(rng.zipf(1.3, size=(hi - lo, 40)) - 1, len(vocab) - 1)
        ids = range(lo + 1, hi + 1)
        hours = [480_000 + i * 24 // PER_DAY for i in ids]
        db.conn.executemany(
            "INSERT INTO articles (id, url, content_hash, fingerprint, story_id, first_seen,"
            " last_seen) VALUES (?, ?, ?, ?, ?, '2025', '2025')",
            [
                (
                    i,
                    f"https://example.org/{i}",
                    f"{rng.integers(2**62):032x}",
                    int(rng.integers(-(2**63), 2**63 - 1)),
                    i,
                )
                for i in ids
            ],
        )
        values = rng.integers(0, 2**31, size=(hi - lo, dedup.BANDS + dedup.LEAD_BANDS))
        db.conn.executemany(
            "INSERT OR IGNORE INTO dedup_bands (band, value, article_id) VALUES (?, ?, ?)",
            [
                (b, int(v), i)
                for i, row in zip(ids, values.tolist(), strict=True)
                for b, v in enumerate(row)
            ],
        )
        postings: list[tuple[str, int, int, int]] = []
        df: defaultdict[str, int] = defaultdict(int)
        for i, hour, row in zip(ids, hours, zipf.tolist(), strict=True):
            terms = list(dict.fromkeys(vocab[t] for t in row))[:32]
            postings += [(t, hour, i, i) for t in terms]
            for t in terms:
                df[t] += 1
        db.conn.executemany(
            "INSERT OR IGNORE INTO story_terms (term, hour, article_id, story_id) VALUES (?,?,?,?)",
            postings,
        )
        db.conn.executemany(
            "INSERT INTO term_df (term, df) VALUES (?, ?)"
            " ON CONFLICT(term) DO UPDATE SET df = df + excluded.df",
            list(df.items()),
        )
        db.conn.executemany(
            "INSERT INTO dedup_docs (article_id, signature, story_hour, story_terms, weight,"
            " story_blob) VALUES (?, NULL, ?, '', 40.0, ?)",
            [(i, h, blobs[i % len(blobs)]) for i, h in zip(ids, hours, strict=True)],
        )
        db.conn.commit()
    db.execute("INSERT OR REPLACE INTO dedup_stats (key, value) VALUES ('story_docs', ?)", [stop])
    db.conn.commit()


Prepared = tuple[Item, str, int, bytes, tuple[dict[str, float], Groups]]


def prepare_probes(probes: list[Item]) -> list[Prepared]:
    """What the crawl's extraction workers compute before the writer looks anything up:
    content hash, SimHash, signature and story terms."""
    return [
        (
            p,
            dedup.content_hash(p.text),
            dedup.text_fingerprint(p.text),
            dedup.text_signature(p.text),
            dedup.story.story_terms(p.title, p.text),
        )
        for p in probes
    ]


def _probe(
    db: Database, prepared: list[Prepared], size: int, *, link: bool = True, dated: bool = True
) -> tuple[float, float]:
    """Mean ms per new article dated at the newest hour: (lookups only, whole link_article).

    Lookups are what ``link_article`` reads (GUID, exact hash, bands, story postings); the
    whole call adds its index writes (skipped unless ``link``). Rolled back, so every size
    sees the same database. ``dated`` False: the articles have no date, crawled at that hour.
    """
    newest = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(hours=480_000 + size * 24 // PER_DAY)
    seen = newest.isoformat()
    db.execute("BEGIN IMMEDIATE")
    lookups = linking = 0.0
    for n, (item, chash, fp, sig, parsed) in enumerate(prepared):
        article_id = int(
            db.execute(
                "INSERT INTO articles (url, title, text, content_hash, fingerprint, first_seen,"
                " last_seen) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [f"probe:{n}", item.title, item.text, chash, fp, seen, seen],
            ).lastrowid
            or 0
        )
        started = time.perf_counter()
        dedup.find_original(
            db,
            article_id,
            dedup._Words(item.text),
            content_hash=chash,
            feed_guid=None,
            signature=sig,
        )
        terms, groups = dedup.story.remember_terms(article_id, item.title, item.text, parsed)
        hour = event_hour(seen, seen)
        dedup.story.find_story(db, article_id, terms, groups, hour, dated=dated)
        middle = time.perf_counter()
        lookups += middle - started
        if not link:
            continue
        dedup.link_article(
            db,
            article_id,
            dedup.Fingerprints(
                item.title,
                item.text,
                seen if dated else None,
                seen,
                chash,
                fp,
                signature=sig,
                terms=parsed,
            ),
        )
        linking += time.perf_counter() - middle
    db.execute("ROLLBACK")
    return lookups / len(prepared) * 1000, linking / len(prepared) * 1000


def _index_bytes(db: Database) -> int:
    names = ("dedup_bands", "dedup_docs", "story_terms", "term_df", "dedup_stats")
    marks = ",".join("?" * len(names))
    row = db.execute(f"SELECT sum(pgsize) FROM dbstat WHERE name IN ({marks})", names).fetchone()
    return int(row[0] or 0)


def scale_probes(data: Path | None, stories: Path = HERE / "dedup_stories.toml") -> list[Item]:
    """The scale test's probe articles: the hand-written reports, and 80 real gold texts
    (``data``'s ground-truth.json) under made-up headlines."""
    probes = story_items(stories)
    if data and (data / "ground-truth.json").exists():
        gold = json.loads((data / "ground-truth.json").read_text())
        texts = [v["articleBody"] for _, v in sorted(gold.items())][:80]
        probes += [Item("bg", "bg", _headline(t, random.Random(0)), t) for t in texts]
    return probes


class _ScaleBuilder:
    """A synthetic index grown size by size into one WAL database file."""

    def __init__(self, path: Path, probes: list[Item]) -> None:
        self.rng = np.random.default_rng(1)
        # The heaviest synthetic terms are real ones, so probes hit long postings lists.
        parsed = [dedup.story.story_terms(p.title, p.text) for p in probes]
        real = [t for terms, _ in parsed for t in terms]
        self.blobs = [dedup.story.pack_terms(*p) for p in parsed]
        self.vocab = list(dict.fromkeys(real)) + [f"t{i}" for i in range(300_000)]
        self.db = new_db(str(path))
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.size = 0

    def grow(self, size: int) -> None:
        started = time.perf_counter()
        _fill(self.db, self.size, size, self.vocab, self.rng, self.blobs)
        # a running crawler's WAL is checkpointed as it goes; right after a bulk fill it
        # holds hundreds of MiB that every page read would look up first
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.size = size
        print(
            f"  {size:>9,} articles built in {time.perf_counter() - started:.0f} s",
            file=sys.stderr,
        )


def build_scale_db(path: Path, size: int, probes: list[Item]) -> None:
    """The synthetic index of ``run_scale`` at one size, in ``path``."""
    builder = _ScaleBuilder(path, probes)
    builder.grow(size)
    builder.db.close()


def run_scale(probes: list[Item], sizes: tuple[int, ...] = (10_000, 100_000, 1_000_000)) -> list:
    """Build the database size by size (a copy of the file kept at each), then time the
    probes on every size in turn, pass by pass: a change in the shared machine's speed
    during the run falls on all sizes alike."""
    with tempfile.TemporaryDirectory() as tmp:
        building = Path(tmp) / "scale.db"
        builder = _ScaleBuilder(building, probes)
        files: dict[int, Path] = {}
        for size in sizes:
            builder.grow(size)
            files[size] = Path(tmp) / f"scale-{size}.db"
            if size != sizes[-1]:  # a page-for-page copy: the same layout as built
                with closing(sqlite3.connect(files[size])) as copy:
                    builder.db.conn.backup(copy)
        builder.db.close()
        building.rename(files[sizes[-1]])
        rows = []
        for size, timing in _time_sizes(probes, files).items():
            with closing(Database(str(files[size]))) as db:
                rows.append((size, *timing, _index_bytes(db), files[size].stat().st_size))
        return rows


def _time_sizes(probes: list[Item], files: dict[int, Path]) -> dict[int, tuple[float, ...]]:
    """(lookups, link_article, lookups with mmap) ms per article for each database: the
    median of PASSES passes each, the sizes taking turns."""
    prepared = prepare_probes(probes)
    timings: dict[int, tuple[float, ...]] = {}
    for mmap in (False, True):
        dbs = {}
        for size, path in files.items():
            db = Database(str(path))
            storage.use_writer_cache(db)  # as open_database sets the writing connection
            if mmap:  # SQLite reading the file through mmap instead of read() calls
                db.execute(f"PRAGMA mmap_size = {2**31}")
            _probe(db, prepared[:20], size)  # warm the caches as a running crawler has them
            dbs[size] = db
        passes: dict[int, list[tuple[float, float]]] = {size: [] for size in dbs}
        for _ in range(PASSES):
            for size, db in dbs.items():
                passes[size].append(_probe(db, prepared, size))
        for size, measured in passes.items():
            lookups = [m[0] for m in measured]
            middle = statistics.median(lookups)
            if mmap:
                timings[size] += (middle,)
                continue
            timings[size] = (middle, statistics.median(m[1] for m in measured))
            print(
                f"  {size:>9,} articles: lookups {middle:.3f} ms (passes {min(lookups):.3f}"
                f" to {max(lookups):.3f}), link_article {timings[size][1]:.3f} ms",
                file=sys.stderr,
            )
        for db in dbs.values():
            db.close()
    return timings


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
