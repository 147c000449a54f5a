"""Keeping a database: a consistent backup of a live file, and pruning old history.

Both run safely next to a crawl or the scheduler: the backup reads one snapshot (WAL readers
never block the writer), and pruning writes in ``BEGIN IMMEDIATE`` transactions that queue
behind a crawl's batch (busy timeout) instead of failing.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlite_utils import Database

from crawler.store.storage import BUSY_TIMEOUT_MS, write_transaction


class MaintenanceError(Exception):
    """A backup or prune that cannot be done (the message is for a person)."""


@dataclass(frozen=True)
class BackupResult:
    path: str
    bytes: int
    articles: int


def check_newswatch_database(path: str | os.PathLike[str]) -> None:
    """MaintenanceError unless ``path`` is an existing newswatch database (read-only look)."""
    if not Path(path).is_file():
        raise MaintenanceError(f"no database at {path}: run `newswatch crawl` first, or pass --db")
    try:
        conn = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True)
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        tables = set()
    if not {"articles", "flags", "article_versions"} <= tables:
        raise MaintenanceError(f"{path} is not a newswatch database")


def backup_database(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> BackupResult:
    """Copy ``source`` to ``target`` with SQLite's online backup API, in one step (one
    consistent snapshot, however busy the writer), into a temporary file that replaces
    ``target`` only once the copy has been checked."""
    target = Path(target)
    check_newswatch_database(source)
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{Path(source).resolve()}?mode=ro", uri=True)
    handle, temp_name = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".part", dir=target.parent
    )
    os.close(handle)
    try:
        src.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        dst = sqlite3.connect(temp_name)
        try:
            src.backup(dst, pages=-1)  # all pages in one step: one snapshot
            check = dst.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise MaintenanceError(f"the copy failed its integrity check: {check}")
            dst.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
            articles = dst.execute("SELECT count(*) FROM articles").fetchone()[0]
        finally:
            dst.close()
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    finally:
        src.close()
    return BackupResult(str(target), target.stat().st_size, int(articles))


@dataclass(frozen=True)
class PruneResult:
    cutoff: str
    versions: int
    flags: int
    free_bytes: int  # free pages inside the file after pruning (reused by later writes)


def cutoff_before(seconds: float, now: datetime | None = None) -> str:
    """The ISO time ``seconds`` before now, as stored times compare."""
    moment = (now or datetime.now(UTC)) - timedelta(seconds=seconds)
    return moment.replace(microsecond=0).isoformat()


def prune_database(path: str | os.PathLike[str], older_than_seconds: float) -> PruneResult:
    """:func:`prune` on the newswatch database at ``path``."""
    from crawler.store.storage import open_database

    check_newswatch_database(path)
    db = open_database(path)
    try:
        return prune(db, older_than_seconds)
    finally:
        db.close()


def prune(db: Database, older_than_seconds: float) -> PruneResult:
    """Remove article versions captured before the cutoff (each article keeps its newest
    version) and acknowledged flags created before it."""
    cutoff = cutoff_before(older_than_seconds)
    with write_transaction(db):
        versions = db.execute(
            "DELETE FROM article_versions WHERE captured_at < ? AND id NOT IN "
            "(SELECT max(id) FROM article_versions GROUP BY article_id)",
            [cutoff],
        ).rowcount
        flags = db.execute(
            "DELETE FROM flags WHERE acked_at IS NOT NULL AND created_at < ?", [cutoff]
        ).rowcount
    page_size = db.execute("PRAGMA page_size").fetchone()[0]
    free_pages = db.execute("PRAGMA freelist_count").fetchone()[0]
    return PruneResult(cutoff, versions, flags, int(page_size) * int(free_pages))
