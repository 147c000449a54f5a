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
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import quote

from sqlite_utils import Database

from crawler.core.timeutil import utcnow
from crawler.store.migrations import migrations

if TYPE_CHECKING:
    from crawler.core.items import FetchRecord

BUSY_TIMEOUT_MS = 60_000
# SQLite's page cache for a writing connection. Linking one article dirties a few hundred
# index pages scattered over the file (postings, document frequencies, bands); with SQLite's
# default 2 MiB a batch's dirty pages spill to the WAL mid-transaction and are read back by
# the next lookups. Pages are allocated as used: a small database never takes it all.
WRITER_CACHE_MIB = 64


# The schema version this code writes in SQLite's user_version (set by migration
# m060_schema_version). A file with a higher one, or with a migration this code does not
# know, comes from a newer newswatch: it is refused by every command and left untouched.
SCHEMA_VERSION = 1


# bound parameters in one ``IN (...)`` list: far under SQLite's limit, few statements
IDS_PER_STATEMENT = 500


def id_chunks(ids: list[int]) -> Iterator[list[int]]:
    """``ids`` in parts small enough for one statement's ``IN (...)`` list."""
    for start in range(0, len(ids), IDS_PER_STATEMENT):
        yield ids[start : start + IDS_PER_STATEMENT]


def file_uri(path: str | os.PathLike[str], **params: str) -> str:
    """A SQLite ``file:`` URI for ``path``, every character that means something in a URI
    (space, ``%``, ``#``, ``?``, non-ASCII) quoted: ``f"file:{path}"`` opens ``pct dir/n.db``
    for a folder named ``pct%20dir`` and cuts the path at ``#`` or ``?``."""
    uri = "file:" + quote(os.path.abspath(path), safe="/")
    if params:
        uri += "?" + "&".join(f"{key}={quote(value, safe='')}" for key, value in params.items())
    return uri


class DatabaseRefused(Exception):
    """A database newswatch will not open: not SQLite, another program's, in a missing
    folder, or (to read) one that needs a migration. One line for the user; the file is
    left as it was, byte for byte."""


def check_database_file(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` holds a database already (False: it will be created). Refuses a
    missing folder: a typo in --db must not create directories.

    The file itself is not opened here: closing any descriptor of a database file drops the
    locks SQLite holds on it in this process (the scheduler keeps connections open), which
    corrupts it. SQLite says itself whether the file is a database (``_inspect``).
    """
    file = Path(path)
    if not file.parent.is_dir():
        raise DatabaseRefused(f"{path}: folder {file.parent} does not exist")
    if not file.exists():
        return False
    if not file.is_file():
        raise DatabaseRefused(f"{path} is not a file")
    return file.stat().st_size > 0  # an empty file is a new database


def connect_readonly(path: str | os.PathLike[str]) -> sqlite3.Connection:
    """A read-only connection (``mode=ro``), which never changes the file or its journal mode.

    On a read-only mount SQLite cannot create the WAL index next to the file: the database
    is then opened ``immutable`` (nothing can write to it there anyway).
    """
    try:
        conn = sqlite3.connect(
            file_uri(path, mode="ro"),
            uri=True,
            isolation_level=None,
            timeout=BUSY_TIMEOUT_MS / 1000,
        )
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.OperationalError:
        if os.access(os.path.dirname(os.path.abspath(path)), os.W_OK):
            raise
        conn = sqlite3.connect(file_uri(path, immutable="1"), uri=True, isolation_level=None)
    except sqlite3.DatabaseError as error:
        raise _not_sqlite(path, error) from None
    conn.execute("PRAGMA query_only = ON")
    return conn


def newer_schema(conn: sqlite3.Connection) -> str | None:
    """What marks a newswatch database as written by a newer version (a schema version
    above ours, a migration this code does not know), or None."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        return f"schema version {version}; this newswatch knows {SCHEMA_VERSION}"
    known = {migration.name for migration in migrations._migrations}
    unknown = sorted(
        row[0]
        for row in conn.execute(
            f"SELECT name FROM {migrations.migrations_table} WHERE migration_set = ?",
            [migrations.name],
        )
        if row[0] not in known
    )
    if unknown:
        return f"migration {unknown[-1]} unknown to this newswatch"
    return None


def schema_state(conn: sqlite3.Connection) -> tuple[str, int]:
    """("empty" | "newswatch" | "foreign", pending migrations) of an open database.
    DatabaseRefused for one written by a newer newswatch."""
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if not tables:
        return "empty", 0
    if migrations.migrations_table not in tables:
        return "foreign", 0
    applied = {
        row[0]
        for row in conn.execute(
            f"SELECT name FROM {migrations.migrations_table} WHERE migration_set = ?",
            [migrations.name],
        )
    }
    if not applied:
        return "foreign", 0
    newer = newer_schema(conn)
    if newer is not None:
        raise DatabaseRefused(
            f"database written by a newer newswatch ({newer}): left untouched; "
            "use the newer version"
        )
    return "newswatch", len(migrations.pending(Database(conn)))


def _connect(path: str | os.PathLike[str]) -> sqlite3.Connection:
    # isolation_level=None: we issue BEGIN IMMEDIATE ourselves; Python's implicit
    # deferred BEGIN is exactly what fails with "database is locked" under two writers.
    return sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)


def _inspect(conn: sqlite3.Connection, path: str | os.PathLike[str]) -> tuple[str, int]:
    """``schema_state`` with the connection that will be used: a read-only and a read-write
    connection to one WAL file in one process can share a read-only WAL index, and the
    writer then fails with "disk I/O error"."""
    try:
        return schema_state(conn)
    except DatabaseRefused as error:
        conn.close()
        raise DatabaseRefused(f"{path}: {error}") from None
    except sqlite3.OperationalError:  # locked, I/O: a problem of the moment, not the file
        conn.close()
        raise
    except sqlite3.DatabaseError as error:  # "file is not a database", malformed
        conn.close()
        raise _not_sqlite(path, error) from None


def _not_sqlite(path: str | os.PathLike[str], error: Exception) -> DatabaseRefused:
    return DatabaseRefused(
        f"{path} is not a SQLite database, or a damaged one ({error}): left untouched"
    )


def _refuse_foreign(conn: sqlite3.Connection, path: str | os.PathLike[str]) -> NoReturn:
    conn.close()
    raise DatabaseRefused(
        f"{path} is a SQLite database but not newswatch's (left untouched): give another --db"
    )


def open_database(path: str | os.PathLike[str]) -> Database:
    """Open (creating and migrating as needed) the newswatch database at ``path``.

    Checked first, without writing: a file that is not SQLite or another program's database
    is refused (``DatabaseRefused``) before anything is written to it.
    """
    exists = str(path) != ":memory:" and check_database_file(path)
    conn = _connect(path)
    if exists:
        conn.execute("PRAGMA query_only = ON")
        state, _ = _inspect(conn, path)
        if state == "foreign":
            _refuse_foreign(conn, path)
        conn.execute("PRAGMA query_only = OFF")
    db = Database(conn)
    db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    _use_wal(db)
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("PRAGMA foreign_keys = ON")
    use_writer_cache(db)
    with write_transaction(db):
        migrations.apply(db)
    return db


def use_writer_cache(db: Database) -> None:
    """Give a connection that links articles the page cache it needs (``WRITER_CACHE_MIB``)."""
    db.execute(f"PRAGMA cache_size = -{WRITER_CACHE_MIB * 1024}")


def open_existing_database(path: str | os.PathLike[str], *, write: bool = False) -> Database:
    """Open an existing, current newswatch database for the read commands: read-only (no
    migration, no journal mode change), or with ``write`` for small updates (acking flags)
    but still never migrated. Anything else is refused with a one-line reason."""
    if not Path(path).is_file():
        raise DatabaseRefused(f"no database at {path}: run `newswatch crawl` first, or pass --db")
    if not check_database_file(path):
        raise DatabaseRefused(f"{path} is empty: not a newswatch database")
    if write:
        conn = _connect(path)
        conn.execute("PRAGMA query_only = ON")
    else:
        conn = connect_readonly(path)
    state, pending = _inspect(conn, path)
    if state != "newswatch":
        _refuse_foreign(conn, path)
    if pending:
        conn.close()
        raise DatabaseRefused(
            f"{path} needs a migration ({pending} pending) that read commands do not make: "
            "run `newswatch crawl` on it once with this version"
        )
    if write:
        conn.execute("PRAGMA query_only = OFF")
    db = Database(conn)
    db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
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
    """Whether a process runs with this pid. A zombie (dead, not yet reaped: an orphan
    whose new parent does not reap, as in some containers) is not alive."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # no /proc (not Linux): the signal check is all there is
        return True
    return stat.rsplit(")", 1)[-1].split()[:1] != ["Z"]


def live_runs_of(db: Database, source: str) -> list[tuple[int, int]]:
    """(run id, pid) of the runs of ``source`` still crawling in a live process on this
    host (a crawl that outlived the scheduler that started it, or a manual one)."""
    host = socket.gethostname()
    live: list[tuple[int, int]] = []
    rows = db.execute(
        "SELECT id, pid, stats, sources FROM runs WHERE status = 'running' AND pid IS NOT NULL"
    ).fetchall()
    for run_id, pid, stats, sources in rows:
        try:
            names = json.loads(sources or "[]")
            same_host = json.loads(stats or "{}").get("host", host) == host
        except ValueError:
            continue
        if source in names and same_host and int(pid) != os.getpid() and _pid_alive(int(pid)):
            live.append((int(run_id), int(pid)))
    return live


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


def start_run(
    db: Database, trigger: str, sources: list[str], *, started_at: str | None = None
) -> int:
    """Record the start of a crawl (now, or at ``started_at``) and return its run id."""
    with write_transaction(db):
        cursor = db.execute(
            "INSERT INTO runs (trigger, started_at, status, sources, pid, stats) "
            "VALUES (?, ?, 'running', ?, ?, ?)",
            [
                trigger,
                started_at or utcnow(),
                json.dumps(sources),
                os.getpid(),
                json.dumps({"host": socket.gethostname()}),
            ],
        )
        return int(cursor.lastrowid or 0)


def run_started_at(db: Database, run_id: int) -> str | None:
    row = db.execute("SELECT started_at FROM runs WHERE id = ?", [run_id]).fetchone()
    return row[0] if row else None


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
    fetch: FetchRecord,
    run_id: int,
    *,
    article_id: int | None = None,
    topics_key: str | None = None,
) -> None:
    """Upsert the fetch state of one URL. A 304 or a failure keeps the validators we had.

    ``topics_key`` goes with an off-topic kind: the topics the verdict was made against.
    """
    now = utcnow()
    db.execute(
        """
        INSERT INTO fetches (url, source, kind, status, etag, last_modified, body_hash,
                             fetched_at, first_fetched_at, error, error_kind, run_id,
                             article_id, topics_key)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT(url) DO UPDATE SET
            source = COALESCE(excluded.source, source),
            kind = excluded.kind,
            status = excluded.status,
            etag = COALESCE(excluded.etag, etag),
            last_modified = COALESCE(excluded.last_modified, last_modified),
            body_hash = COALESCE(excluded.body_hash, body_hash),
            fetched_at = excluded.fetched_at,
            error = excluded.error,
            error_kind = excluded.error_kind,
            run_id = excluded.run_id,
            article_id = COALESCE(excluded.article_id, article_id),
            topics_key = CASE WHEN excluded.kind LIKE 'off_topic%'
                              THEN COALESCE(excluded.topics_key, topics_key) END
        """,
        [
            fetch.url,
            fetch.source,
            fetch.kind,
            fetch.status,
            fetch.etag,
            fetch.last_modified,
            fetch.body_hash,
            now,
            now,
            fetch.error,
            fetch.error_kind,
            run_id,
            article_id,
            topics_key,
        ],
    )


def articles_to_recheck(db: Database, source: str, since: str) -> list[str]:
    """Article URLs of a source first seen after ``since``: re-fetched conditionally."""
    rows = db.execute(
        "SELECT url FROM articles WHERE source = ? AND first_seen >= ? ORDER BY first_seen",
        [source, since],
    ).fetchall()
    return [row[0] for row in rows]


def known_off_topic(db: Database, topics_key: str | None) -> dict[str, tuple[str, str]]:
    """URL -> (kind, fetched_at) of pages last judged off-topic against these same topics."""
    if topics_key is None:
        return {}
    rows = db.execute(
        "SELECT url, kind, fetched_at FROM fetches WHERE kind LIKE 'off_topic%' AND topics_key = ?",
        [topics_key],
    ).fetchall()
    return {url: (kind, fetched_at or "") for url, kind, fetched_at in rows}
