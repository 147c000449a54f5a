"""Flags: what a person should look at. Each is created once for the thing it names."""

from __future__ import annotations

import json
from typing import Any

from sqlite_utils import Database

from crawler.core.models import FlagKind
from crawler.store.storage import id_chunks, utcnow, write_transaction

# The kinds as plain strings (click's Choice would show an enum's member names).
FLAG_KINDS = tuple(kind.value for kind in FlagKind)


def create_flag(
    db: Database,
    kind: FlagKind,
    subject: str,
    *,
    run_id: int,
    article_id: int | None,
    story_id: int | None,
    detail: dict[str, Any] | None = None,
) -> int | None:
    """Insert a flag unless one of this kind already names this subject; return its id.

    ``subject`` identifies the thing flagged (an article, an article version, a related
    link) so re-crawls and concurrent runs can never flag it twice.
    """
    try:
        kind = FlagKind(kind)
    except ValueError:
        raise ValueError(f"unknown flag kind {kind!r}") from None
    cursor = db.execute(
        "INSERT INTO flags (kind, subject, article_id, story_id, run_id, detail, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(kind, subject) DO NOTHING",
        [
            kind.value,
            subject,
            article_id,
            story_id,
            run_id,
            json.dumps(detail, ensure_ascii=False) if detail else None,
            utcnow(),
        ],
    )
    return cursor.lastrowid if cursor.rowcount else None


def move_story_flags_to_original(db: Database, original_id: int) -> None:
    """The unread story flags (new story, new coverage) of ``original_id``'s copies name the
    original instead (one that already has such a flag keeps the copy's flag as it was)."""
    db.execute(
        "UPDATE OR IGNORE flags SET article_id = ?, subject = ? "
        "WHERE kind IN (?, ?) AND acked_at IS NULL "
        "AND article_id IN (SELECT id FROM articles WHERE duplicate_of = ?)",
        [
            original_id,
            f"article:{original_id}",
            FlagKind.NEW_STORY.value,
            FlagKind.NEW_COVERAGE.value,
            original_id,
        ],
    )


def flags_of_run(db: Database, run_id: int) -> list[dict[str, Any]]:
    """The flags a run created, oldest first, joined with their article."""
    return query_flags(db, run_id=run_id, newest_first=False)


def query_flags(
    db: Database,
    *,
    run_id: int | None = None,
    since: str | None = None,
    kind: str | None = None,
    topic: str | None = None,
    unacked: bool = False,
    newest_first: bool = True,
    limit: int | None = None,
    briefs: bool = True,
) -> list[dict[str, Any]]:
    """Flags with their article's URL, title, source and story, filtered (``briefs=False``:
    none on a brief)."""
    filters = [  # (asked for, condition, its parameter)
        (run_id is not None, "f.run_id = ?", run_id),
        (bool(since), "f.created_at >= ?", since),
        (bool(kind), "f.kind = ?", kind),
        (
            bool(topic),
            "EXISTS (SELECT 1 FROM json_each(a.topics) WHERE json_each.value = ?)",
            topic,
        ),
    ]
    where = [condition for asked, condition, _ in filters if asked]
    params: list[Any] = [value for asked, _, value in filters if asked]
    if unacked:
        where.append("f.acked_at IS NULL")
    if not briefs:
        where.append("COALESCE(a.brief, 0) = 0")
    sql = (
        "SELECT f.id, f.kind, f.created_at, f.run_id, f.article_id, f.story_id, a.url, a.title, "
        "a.source, a.site, a.published, a.language, a.brief, s.title AS story_title, f.acked_at, "
        "f.detail "
        "FROM flags f LEFT JOIN articles a ON a.id = f.article_id "
        "LEFT JOIN stories s ON s.id = f.story_id"
    )
    if where:
        sql += " WHERE " + " AND ".join(where)
    order = "DESC" if newest_first else "ASC"
    sql += f" ORDER BY f.created_at {order}, f.id {order}"
    if limit:
        sql += " LIMIT ?"
        params.append(limit)
    rows = list(db.query(sql, params))
    for item in rows:
        item["detail"] = json.loads(item["detail"]) if item["detail"] else None
    return rows


def ack_flags(db: Database, flag_ids: list[int]) -> str:
    """Mark these flags as seen (those not seen already), in one transaction; return the time."""
    now = utcnow()
    with write_transaction(db):
        for chunk in id_chunks(flag_ids):
            marks = ", ".join("?" for _ in chunk)
            db.execute(
                f"UPDATE flags SET acked_at = ? WHERE acked_at IS NULL AND id IN ({marks})",
                [now, *chunk],
            )
    return now
