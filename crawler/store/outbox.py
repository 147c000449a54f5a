"""The webhook outbox (crawler/read/notify.py delivers): flags wait here until a receiver
has taken them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlite_utils import Database

from crawler.store.storage import utcnow, write_transaction


def enqueue_runs(db: Database, run_ids: Iterable[int]) -> int:
    """Put the flags of these runs in the outbox (once each); return how many were added."""
    ids = sorted(set(run_ids))
    if not ids:
        return 0
    marks = ", ".join("?" for _ in ids)
    with write_transaction(db):
        cursor = db.execute(
            "INSERT OR IGNORE INTO outbox (flag_id, run_id, queued_at) "
            f"SELECT id, run_id, ? FROM flags WHERE run_id IN ({marks})",
            [utcnow(), *ids],
        )
    return max(0, cursor.rowcount)


def pending_count(db: Database) -> int:
    return int(db.execute("SELECT count(*) FROM outbox").fetchone()[0])


def backlog(db: Database) -> dict[str, Any]:
    """Flags waiting for the webhook: how many, since when, and why the last attempt failed."""
    row = db.execute("SELECT count(*), min(queued_at), max(attempts) FROM outbox").fetchone()
    last = db.execute(
        "SELECT last_error, last_attempt_at FROM outbox WHERE last_error IS NOT NULL "
        "ORDER BY last_attempt_at DESC LIMIT 1"
    ).fetchone()
    per_run = dict(db.execute("SELECT run_id, count(*) FROM outbox GROUP BY run_id").fetchall())
    return {
        "pending": row[0],
        "oldest_queued_at": row[1],
        "attempts": row[2] or 0,
        "last_error": last[0] if last else None,
        "last_attempt_at": last[1] if last else None,
        "pending_by_run": per_run,
    }


def next_batch(db: Database, size: int) -> list[dict[str, Any]]:
    """The oldest pending flags with their article, source and story."""
    return list(
        db.query(
            "SELECT f.id, f.kind, f.created_at, f.run_id, f.article_id, f.story_id, a.url, "
            "a.title, a.source, s.title AS story_title, f.detail "
            "FROM outbox o JOIN flags f ON f.id = o.flag_id "
            "LEFT JOIN articles a ON a.id = f.article_id "
            "LEFT JOIN stories s ON s.id = f.story_id "
            "ORDER BY o.flag_id LIMIT ?",
            [size],
        )
    )


def settle(db: Database, flag_ids: list[int], error: str | None) -> None:
    """Delivered (``error`` None): the flags leave the outbox; else the attempt is noted."""
    marks = ", ".join("?" for _ in flag_ids)
    with write_transaction(db):
        if error is None:
            db.execute(f"DELETE FROM outbox WHERE flag_id IN ({marks})", flag_ids)
        else:
            db.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_attempt_at = ?, "
                f"last_error = ? WHERE flag_id IN ({marks})",
                [utcnow(), error[:500], *flag_ids],
            )


def drop_pruned(db: Database) -> int:
    """Remove entries whose flag `prune` removed; return how many."""
    with write_transaction(db):
        gone = db.execute("DELETE FROM outbox WHERE flag_id NOT IN (SELECT id FROM flags)")
    return max(0, gone.rowcount)
