"""`newswatch crawl --dry-run`: what a crawl would fetch and match, with nothing stored.

The crawl runs for real (robots.txt, conditional GETs, the recheck window), but against a
snapshot of the database in a temporary folder that is deleted afterwards; no webhook is
sent. The configured database is only read (SQLite's backup API, read-only)."""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

from crawler.cli.common import fail
from crawler.cli.render import Column, echo, echo_wrapped, print_table
from crawler.config.settings import Config

DRY_RUN_COLUMNS = (
    Column("outcome"),
    Column("topics", lambda r: ", ".join(r["topics"]), optional=True),
    Column("title", flex=True, optional=True),
    Column("url", flex=True),
)


def dry_run_crawl(config: Config, database: str, sources: list[str], verbosity: int) -> None:
    """Crawl a throw-away copy of ``database`` and list each URL fetched with its outcome."""
    from crawler.crawl import run_crawl
    from crawler.read.queries import run_outcomes
    from crawler.store.maintenance import MaintenanceError, backup_database
    from crawler.store.storage import open_database

    with tempfile.TemporaryDirectory(prefix="newswatch-dry-run-") as folder:
        copy = str(Path(folder) / "dry-run.db")
        if Path(database).is_file():
            try:
                backup_database(database, copy)
            except MaintenanceError as error:
                fail(str(error))
        quiet = dataclasses.replace(config, webhook=None, redis_url=None, database=copy)
        summary = run_crawl(quiet, database=copy, source_names=sources, verbosity=verbosity)
        db = open_database(copy)
        try:
            found = run_outcomes(db, summary.run_id)
        finally:
            db.close()
    print_table("Dry run", DRY_RUN_COLUMNS, found, empty="Nothing would be fetched.")
    stats = summary.stats()
    echo()
    echo_wrapped(
        f"dry run: {stats['pages_fetched']} pages would be fetched: "
        f"{stats['articles_new']} new articles, {stats['articles_updated']} updated, "
        f"{stats['duplicates']} duplicates, {stats['off_topic']} off-topic, "
        f"{stats['flags']} flags, {stats['errors']} errors; nothing was stored in {database}"
    )
