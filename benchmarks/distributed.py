"""Distributed benchmark: crawl throughput with 1 and 2 workers, ingest rate at 1M stored.

    python -m benchmarks.distributed --pages DIR/aeb/html --count 600 [--stored 1000000]

Needs ``redis-server`` (started here on a free 127.0.0.1 port, no persistence).

Crawl throughput: ``--count`` real pages (``benchmarks/crawl.py``'s page set: the folder's
pages repeated under new URLs, each with a unique sentence) served on 127.0.0.1 with a
sitemap, crawled in one run by

(a) ``newswatch crawl`` single-node (no ``[distributed]``), the baseline;
(b) ``newswatch crawl`` with ``[distributed]`` alone: it seeds, fetches, extracts, ingests;
(c) the same plus one ``newswatch worker`` process on the same machine.

Each is timed from the crawl's start to its exit (imports and start-up included; the extra
worker is started and registered before). Same config for all: ``delay = 0``,
``obey_robots = false``, ``concurrency = 16``, ``workers`` = cores, no topics.

Ingest rate: extracted articles (the same page set, processed by ``process_page``) pushed to
the Redis stream, then written by the real ``IngestWriter`` (topic match, exact and
near-duplicate lookups, stories, flags, SQLite commit, XACK) into a database that already
holds ``--stored`` synthetic articles with their dedup and story indexes
(``benchmarks/dedup_scale.py``'s generator), and, in the same run, into an empty one.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks.harness import PageSet, load_originals, server_call, start_page_server
from tests.support.redis_server import start_redis, start_worker, stop_processes

ROOT = Path(__file__).resolve().parents[1]


def write_config(path: Path, port: int, db: Path, redis_url: str | None) -> None:
    text = (
        f'database = "{db}"\n\n[crawl]\nobey_robots = false\ndelay = 0\n'
        f"concurrency = 16\nworkers = {os.cpu_count() or 1}\n\n"
    )
    if redis_url:
        text += f'[distributed]\nredis_url = "{redis_url}"\n\n'
    text += f'[[sources]]\nname = "bench"\nsitemaps = ["http://127.0.0.1:{port}/sitemap.xml"]\n'
    path.write_text(text)


def crawl_run(
    work: Path, name: str, port: int, redis_url: str | None, extra_workers: int, pages: PageSet
) -> dict[str, Any]:
    import redis

    db = work / f"{name}.db"
    config = work / f"{name}.toml"
    write_config(config, port, db, redis_url)
    env = {**os.environ, "NEWSWATCH_NO_PROGRESS": "1"}
    workers: list[subprocess.Popen[bytes]] = []
    if redis_url:
        client = redis.Redis.from_url(redis_url)
        client.flushdb()
        workers = [
            start_worker(config, work / f"{name}-w{i}.log", cwd=work, env=env)
            for i in range(extra_workers)
        ]
        deadline = time.monotonic() + 60  # started and registered before the clock starts
        while client.hlen("newswatch:workers") < extra_workers and time.monotonic() < deadline:
            time.sleep(0.1)
    server_call(port, "/_reset")
    cpu_before = _children_cpu()
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "crawler", "crawl", "--config", str(config)],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    stop_processes(workers)
    cpu = _children_cpu() - cpu_before  # the crawl, its extraction pool, the workers
    if done.returncode != 0:
        sys.exit(f"{name}: crawl failed: {done.stderr[-2000:]}")
    stats = server_call(port, "/_stats")
    import sqlite3

    conn = sqlite3.connect(db)
    articles = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    conn.close()
    return {
        "name": name,
        "seconds": seconds,
        "pages_per_s": pages.count / seconds,
        "fetched": stats["unique_pages"],
        "repeated": stats["repeated"],
        "articles": articles,
        "cpu": cpu,
    }


def _children_cpu() -> float:
    """CPU seconds of the finished child processes (and the children they waited for)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# -- ingest rate -------------------------------------------------------------------------------


def _process(args: tuple[PageSet, int, int]) -> Any:
    from crawler.processing.pages import PageJob, configure_topics, process_page

    pages, index, port = args
    configure_topics([])
    url = f"http://127.0.0.1:{port}{pages.path(index)}"
    return process_page(PageJob(url=url, body=pages.body(index), source="bench", request_url=url))


def extracted(pages: PageSet) -> list[Any]:
    with ProcessPoolExecutor(os.cpu_count() or 1) as pool:
        results = list(pool.map(_process, [(pages, i, 1) for i in range(pages.count)], chunksize=8))
    return [r for r in results if r.article is not None]


def build_stored(path: Path, stored: int, results: list[Any]) -> None:
    """A database holding ``stored`` synthetic articles with full dedup/story indexes."""
    import numpy as np

    from benchmarks.dedup import new_db
    from benchmarks.dedup_scale import _fill
    from crawler.store.storage import open_database
    from crawler.stories import dedup

    if stored:
        # dedup_scale.py's generator commits per chunk itself (an implicit-transaction connection).
        db = new_db(str(path))
        parsed = [
            dedup.story.story_terms(r.article.title or "", r.article.text) for r in results[:200]
        ]
        real = [t for terms, _ in parsed for t in terms]
        vocab = list(dict.fromkeys(real)) + [f"t{i}" for i in range(300_000)]
        # synthetic articles carry real parsed terms, as in dedup_scale.py's
        blobs = [dedup.story.pack_terms(*p) for p in parsed]
        _fill(db, 0, stored, vocab, np.random.default_rng(1), blobs)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # as a running writer's WAL would be
        db.close()
    open_database(path).close()  # WAL and the rest of the crawler's setup


def ingest_rate(path: Path, redis_url: str, results: list[Any]) -> dict[str, Any]:
    import redis

    from crawler.config.settings import Config
    from crawler.distributed.queue import (
        STREAM_KEY,
        IngestWriter,
        PageEntry,
        new_run_tags,
        push_entries,
    )
    from crawler.store.storage import open_database, start_run

    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    db = open_database(path)
    run_id = start_run(db, "manual", ["bench"])
    db.close()
    tags = new_run_tags(run_id)
    for start in range(0, len(results), 500):
        push_entries(
            client,
            [PageEntry(tags, r, {"status": 200}) for r in results[start : start + 500]],
        )
    writer = IngestWriter(Config(), str(path), client)
    started = time.perf_counter()
    writer.start()
    while client.xlen(STREAM_KEY):
        time.sleep(0.02)
    seconds = time.perf_counter() - started
    writer.stop()
    return {"articles": len(results), "seconds": seconds, "per_s": len(results) / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", required=True, help="folder of real pages (*.html.gz)")
    parser.add_argument("--count", type=int, default=600, help="pages to serve and ingest")
    parser.add_argument(
        "--stored",
        type=int,
        default=1_000_000,
        help="synthetic articles already stored for the ingest rate",
    )
    parser.add_argument("--only", default="crawl,ingest")
    args = parser.parse_args()
    if not Path(args.pages).is_dir():
        sys.exit(f"--pages: {args.pages} is not a folder")
    originals, _ = load_originals(str(Path(args.pages).resolve()))
    pages = PageSet(originals, args.count)
    work = Path(tempfile.mkdtemp(prefix="nw-dist-bench-"))
    try:
        redis_process, redis_url = start_redis(work)
    except RuntimeError as error:
        sys.exit(str(error))
    only = set(args.only.split(","))
    try:
        if "crawl" in only:
            server, port = start_page_server(pages)
            rows = [
                crawl_run(work, "single", port, None, 0, pages),
                crawl_run(work, "dist-1", port, redis_url, 0, pages),
                crawl_run(work, "dist-2", port, redis_url, 1, pages),
            ]
            server.terminate()
            base = rows[0]["pages_per_s"]
            print(f"\n{pages.count} pages, {os.cpu_count()} cores, one run\n")
            print(
                "| run | seconds | pages/s | vs single-node | CPU s | CPU busy | "
                "pages fetched twice | articles |"
            )
            print("|---|---:|---:|---:|---:|---:|---:|---:|")
            labels = {
                "single": "(a) `newswatch crawl`, single-node",
                "dist-1": "(b) `newswatch crawl` with `[distributed]` (1 worker)",
                "dist-2": "(c) (b) plus one `newswatch worker` (2 workers)",
            }
            for row in rows:
                print(
                    f"| {labels[row['name']]} | {row['seconds']:.1f} | "
                    f"{row['pages_per_s']:.1f} | {row['pages_per_s'] / base:.2f}x | "
                    f"{row['cpu']:.1f} | "
                    f"{row['cpu'] / (row['seconds'] * (os.cpu_count() or 1)):.0%} | "
                    f"{row['repeated']} | {row['articles']} |"
                )
        if "ingest" in only:
            results = extracted(pages)
            print(f"\ningest: {len(results)} extracted articles", file=sys.stderr)
            empty = work / "empty.db"
            build_stored(empty, 0, results)
            big = work / "stored.db"
            started = time.perf_counter()
            build_stored(big, args.stored, results)
            print(
                f"built {args.stored:,} stored in {time.perf_counter() - started:.0f} s",
                file=sys.stderr,
            )
            rates = [
                (0, ingest_rate(empty, redis_url, results)),
                (args.stored, ingest_rate(big, redis_url, results)),
            ]
            print("\n| articles already stored | articles ingested | seconds | articles/s |")
            print("|---:|---:|---:|---:|")
            for stored, rate in rates:
                print(
                    f"| {stored:,} | {rate['articles']} | {rate['seconds']:.1f} | "
                    f"{rate['per_s']:.0f} |"
                )
    finally:
        redis_process.terminate()
        redis_process.wait(10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
