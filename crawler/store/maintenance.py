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
from pathlib import Path

from sqlite_utils import Database

from crawler.core.timeutil import seconds_ago, utcnow
from crawler.store.index import remove_from_index
from crawler.store.storage import (
    BUSY_TIMEOUT_MS,
    DatabaseRefused,
    connect_readonly,
    file_uri,
    schema_state,
    write_transaction,
)


class MaintenanceError(Exception):
    """A backup or prune that failed on the way (the message is for a person). A file that
    is not a current newswatch database is refused earlier, with ``DatabaseRefused``."""


@dataclass(frozen=True)
class BackupResult:
    path: str
    bytes: int
    articles: int


def check_newswatch_database(path: str | os.PathLike[str]) -> None:
    """DatabaseRefused unless ``path`` is an existing newswatch database that this version
    can read (a read-only look: the same checks as every other command)."""
    if not Path(path).is_file():
        raise DatabaseRefused(f"no database at {path}: run `newswatch crawl` first, or pass --db")
    if Path(path).stat().st_size == 0:
        raise DatabaseRefused(f"{path} is empty: not a newswatch database")
    conn = connect_readonly(path)
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        try:
            state, _ = schema_state(conn)
        except DatabaseRefused as error:
            raise DatabaseRefused(f"{path}: {error}") from None
        except sqlite3.OperationalError:  # locked, I/O: a problem of the moment
            raise
        except sqlite3.DatabaseError as error:
            raise DatabaseRefused(
                f"{path} is not a SQLite database, or a damaged one ({error}): left untouched"
            ) from None
    finally:
        conn.close()
    if state == "empty":
        raise DatabaseRefused(f"{path} is empty: not a newswatch database")
    if state != "newswatch":
        raise DatabaseRefused(
            f"{path} is a SQLite database but not newswatch's (left untouched): give another --db"
        )


def backup_database(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> BackupResult:
    """Copy ``source`` to ``target`` with SQLite's online backup API, in one step (one
    consistent snapshot, however busy the writer), into a temporary file that replaces
    ``target`` only once the copy has been checked."""
    target = Path(target)
    check_newswatch_database(source)
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(file_uri(Path(source).resolve(), mode="ro"), uri=True)
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
    articles: int = 0
    stories: int = 0


def prune_database(
    path: str | os.PathLike[str], older_than_seconds: float, *, articles: bool = False
) -> PruneResult:
    """:func:`prune` on the newswatch database at ``path``."""
    from crawler.store.storage import open_database

    check_newswatch_database(path)
    db = open_database(path)
    try:
        return prune(db, older_than_seconds, articles=articles)
    finally:
        db.close()


def prune(db: Database, older_than_seconds: float, *, articles: bool = False) -> PruneResult:
    """Remove article versions captured before the cutoff (each article keeps its newest
    version) and acknowledged flags created before it; with ``articles``, also the stories
    last active before it, with all their articles (:func:`prune_old_stories`)."""
    cutoff = seconds_ago(older_than_seconds)
    removed_articles = removed_stories = removed_flags = 0
    if articles:
        removed_articles, removed_stories, removed_flags = prune_old_stories(db, cutoff)
    with write_transaction(db):
        # The counted facts of a removed version stay (a drift once reported is still news),
        # no longer tied to its text.
        db.execute(
            "UPDATE article_facts SET version_id = NULL WHERE version_id IN (SELECT id FROM "
            "article_versions WHERE captured_at < ? AND id NOT IN "
            "(SELECT max(id) FROM article_versions GROUP BY article_id))",
            [cutoff],
        )
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
    return PruneResult(
        cutoff,
        versions,
        flags + removed_flags,
        int(page_size) * int(free_pages),
        removed_articles,
        removed_stories,
    )


_OLD_STORIES = """
    SELECT s.id FROM stories s
    WHERE s.last_seen < :cutoff
      AND NOT EXISTS (SELECT 1 FROM articles a WHERE a.story_id = s.id AND a.last_seen >= :cutoff)
      AND NOT EXISTS (SELECT 1 FROM flags f WHERE f.story_id = s.id AND f.acked_at IS NULL)
      AND NOT EXISTS (
          SELECT 1 FROM flags f JOIN articles a ON a.id = f.article_id
          WHERE a.story_id = s.id AND f.acked_at IS NULL)
    ORDER BY s.id LIMIT :batch
"""


def prune_old_stories(db: Database, cutoff: str, batch: int = 200) -> tuple[int, int, int]:
    """Remove stories whose articles were all last seen before ``cutoff`` and that carry no
    unacknowledged flag, with their articles and everything hanging on them.

    Their URLs go to ``pruned_urls``, so a page that comes back is not stored or flagged as
    new; their fetch state stays, so an unchanged page is not even read. Document
    frequencies keep counting them (a statistic of everything seen). One short write
    transaction per batch of stories, so a running crawl only waits briefly. Returns
    (articles, stories, acknowledged flags) removed."""
    articles = stories = flags = 0
    skip: set[int] = set()  # stories a kept article is a copy of
    while True:
        with write_transaction(db):
            ids = [
                row[0]
                for row in db.execute(_OLD_STORIES, {"cutoff": cutoff, "batch": batch + len(skip)})
                if row[0] not in skip
            ][:batch]
            if not ids:
                return articles, stories, flags
            db.execute("CREATE TEMP TABLE IF NOT EXISTS prune_ids (id INTEGER PRIMARY KEY)")
            db.execute("DELETE FROM prune_ids")
            marks = ",".join("?" * len(ids))
            db.execute(
                f"INSERT INTO prune_ids SELECT id FROM articles WHERE story_id IN ({marks})", ids
            )
            # A copy outside these stories whose original is inside keeps that story.
            held = {
                row[0]
                for row in db.execute(
                    "SELECT o.story_id FROM articles c JOIN articles o ON o.id = c.duplicate_of "
                    "WHERE c.duplicate_of IN (SELECT id FROM prune_ids) "
                    "AND c.id NOT IN (SELECT id FROM prune_ids)"
                )
            }
            if held:
                skip |= held
                db.execute("DELETE FROM prune_ids")
                continue
            flags += db.execute(  # all acknowledged, or the story would not be here
                "DELETE FROM flags WHERE article_id IN (SELECT id FROM prune_ids) "
                f"OR story_id IN ({marks})",
                ids,
            ).rowcount
            articles += _delete_articles(db)
            stories += db.execute(f"DELETE FROM stories WHERE id IN ({marks})", ids).rowcount


def _delete_articles(db: Database) -> int:
    """Delete the articles listed in the temp table ``prune_ids`` and what refers to them."""
    for (article_id,) in db.execute("SELECT id FROM prune_ids").fetchall():
        remove_from_index(db, article_id)
    now = utcnow()
    in_set = "IN (SELECT id FROM prune_ids)"
    db.execute(
        "INSERT OR IGNORE INTO pruned_urls (url, pruned_at) "
        f"SELECT url, ? FROM article_urls WHERE article_id {in_set} "
        f"UNION SELECT url, ? FROM articles WHERE id {in_set}",
        [now, now],
    )
    for statement in (
        f"DELETE FROM related_links WHERE article_id {in_set}",
        f"DELETE FROM article_facts WHERE article_id {in_set}",
        f"DELETE FROM article_versions WHERE article_id {in_set}",
        f"DELETE FROM article_urls WHERE article_id {in_set}",
        f"UPDATE fetches SET article_id = NULL WHERE article_id {in_set}",
        f"UPDATE articles SET duplicate_of = NULL WHERE id {in_set}",
    ):
        db.execute(statement)
    return db.execute(f"DELETE FROM articles WHERE id {in_set}").rowcount
