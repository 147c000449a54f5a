"""SQLite storage: connection setup, migrations, runs and fetch state.

One connection per process, WAL, a long busy timeout, and ``BEGIN IMMEDIATE`` for every
read-then-write so two writers (a scheduled and a manual crawl) queue instead of failing.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from crawler.store.migrations import migrations
from crawler.timeutil import utcnow

BUSY_TIMEOUT_MS = 60_000


def open_database(path: str | os.PathLike[str]) -> Database:
    """Open (creating and migrating as needed) the newswatch database at ``path``."""
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    # isolation_level=None: we issue BEGIN IMMEDIATE ourselves; Python's implicit
    # deferred BEGIN is exactly what fails with "database is locked" under two writers.
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    db = Database(conn)
    db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    _use_wal(db)
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("PRAGMA foreign_keys = ON")
    with write_transaction(db):
        migrations.apply(db)
    return db


def _use_wal(db: Database) -> None:
    """Switch the file to WAL (it stays so). Two processes creating the file at once can get
    "database is locked" from the switch without SQLite's busy handler being asked (its
    deadlock avoidance): retry within the busy timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            db.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


@contextmanager
def write_transaction(db: Database) -> Iterator[Database]:
    """A write transaction taken with BEGIN IMMEDIATE (nested calls become savepoints)."""
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        if db.conn.in_transaction:
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


# -- runs -------------------------------------------------------------------------------------

RUN_STATUSES = ("running", "ok", "partial", "failed", "interrupted")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def mark_interrupted_runs(db: Database) -> list[int]:
    """Mark runs left 'running' by a process that no longer exists as 'interrupted'."""
    host = socket.gethostname()
    interrupted: list[int] = []
    with write_transaction(db):
        rows = db.execute("SELECT id, pid, stats FROM runs WHERE status = 'running'").fetchall()
        for run_id, pid, stats in rows:
            info = json.loads(stats or "{}")
            same_host = info.get("host", host) == host
            if same_host and pid and _pid_alive(int(pid)) and int(pid) != os.getpid():
                continue
            db.execute(
                "UPDATE runs SET status = 'interrupted', finished_at = COALESCE(finished_at, ?) "
                "WHERE id = ?",
                [utcnow(), run_id],
            )
            interrupted.append(run_id)
    return interrupted


def start_run(db: Database, trigger: str, sources: list[str]) -> int:
    """Record the start of a crawl and return its run id."""
    with write_transaction(db):
        cursor = db.execute(
            "INSERT INTO runs (trigger, started_at, status, sources, pid, stats) "
            "VALUES (?, ?, 'running', ?, ?, ?)",
            [
                trigger,
                utcnow(),
                json.dumps(sources),
                os.getpid(),
                json.dumps({"host": socket.gethostname()}),
            ],
        )
        return int(cursor.lastrowid or 0)


def finish_run(
    db: Database, run_id: int, status: str, stats: dict[str, Any], error: str | None = None
) -> None:
    """Record the end of a crawl with its status and counts."""
    if status not in RUN_STATUSES:
        raise ValueError(f"unknown run status {status!r}")
    stats = {"host": socket.gethostname(), **stats}
    with write_transaction(db):
        db.execute(
            "UPDATE runs SET finished_at = ?, status = ?, stats = ?, error = ? WHERE id = ?",
            [utcnow(), status, json.dumps(stats, sort_keys=True), error, run_id],
        )


def update_run_stats(db: Database, run_id: int, **values: Any) -> None:
    """Merge values into a run's stats JSON (e.g. a webhook failure after the run)."""
    with write_transaction(db):
        row = db.execute("SELECT stats FROM runs WHERE id = ?", [run_id]).fetchone()
        stats = json.loads(row[0] or "{}") if row else {}
        stats.update(values)
        db.execute(
            "UPDATE runs SET stats = ? WHERE id = ?", [json.dumps(stats, sort_keys=True), run_id]
        )


# -- fetch state ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FetchState:
    url: str
    status: int | None
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    fetched_at: str | None
    first_fetched_at: str | None
    article_id: int | None


def get_fetch_state(db: Database, url: str) -> FetchState | None:
    """The stored fetch state of one URL, if it was fetched before."""
    row = db.execute(
        "SELECT url, status, etag, last_modified, body_hash, fetched_at, first_fetched_at, "
        "article_id FROM fetches WHERE url = ?",
        [url],
    ).fetchone()
    return FetchState(*row) if row else None


def record_fetch(
    db: Database,
    url: str,
    *,
    source: str | None,
    kind: str,
    status: int | None,
    run_id: int,
    etag: str | None = None,
    last_modified: str | None = None,
    body_hash: str | None = None,
    error: str | None = None,
    article_id: int | None = None,
) -> None:
    """Upsert the fetch state of one URL. A 304 or a failure keeps the validators we had."""
    now = utcnow()
    db.execute(
        """
        INSERT INTO fetches (url, source, kind, status, etag, last_modified, body_hash,
                             fetched_at, first_fetched_at, error, run_id, article_id)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT(url) DO UPDATE SET
            source = COALESCE(excluded.source, source),
            kind = excluded.kind,
            status = excluded.status,
            etag = COALESCE(excluded.etag, etag),
            last_modified = COALESCE(excluded.last_modified, last_modified),
            body_hash = COALESCE(excluded.body_hash, body_hash),
            fetched_at = excluded.fetched_at,
            error = excluded.error,
            run_id = excluded.run_id,
            article_id = COALESCE(excluded.article_id, article_id)
        """,
        [
            url,
            source,
            kind,
            status,
            etag,
            last_modified,
            body_hash,
            now,
            now,
            error,
            run_id,
            article_id,
        ],
    )


def articles_to_recheck(db: Database, source: str, since: str) -> list[str]:
    """Article URLs of a source first seen after ``since``: re-fetched conditionally."""
    rows = db.execute(
        "SELECT url FROM articles WHERE source = ? AND first_seen >= ? ORDER BY first_seen",
        [source, since],
    ).fetchall()
    return [row[0] for row in rows]
