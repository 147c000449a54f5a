"""SQL of the morning brief: a period's flags by story, a story's reports and versions, and
the digest outbox (one row per digest and receiver, kept until the receiver took it)."""

from __future__ import annotations

from typing import Any

from sqlite_utils import Database

from crawler.store.storage import utcnow, write_transaction

_ARTICLE_COLUMNS = (
    "a.id, a.url, a.title, a.source, a.site, a.language, a.published, a.first_seen, "
    "a.updated_at, a.duplicate_of, a.story_id"
)


def last_flag_id(db: Database) -> int:
    """The newest flag's id (0 without flags): a brief covers the flags up to it."""
    row = db.execute("SELECT max(id) FROM flags").fetchone()
    return int(row[0] or 0) if row else 0


def period_flags(
    db: Database,
    since: str | None,
    until: str | None,
    topics: tuple[str, ...] = (),
    *,
    after_flag: int | None = None,
    through_flag: int | None = None,
) -> list[dict[str, Any]]:
    """Flags created in [since, until), oldest first, with their article and story (the
    story of the flag, else of its article); ``topics``: only articles matching one.

    Flag ids make the bounds exact where times in whole seconds cannot: ``through_flag``,
    the newest flag the brief covers (flags stored after it wait for the next brief);
    ``after_flag``, the newest flag the previous brief covered (a flag stamped before
    ``since`` but stored after that brief was made comes in this one)."""
    where = ["1 = 1"]
    params: list[Any] = []
    if since and after_flag is not None:
        where.append("(f.created_at >= ? OR f.id > ?)")
        params.extend([since, after_flag])
    elif since:
        where.append("f.created_at >= ?")
        params.append(since)
    elif after_flag is not None:
        where.append("f.id > ?")
        params.append(after_flag)
    if until:
        where.append("f.created_at < ?")
        params.append(until)
    if through_flag is not None:
        where.append("f.id <= ?")
        params.append(through_flag)
    if topics:
        marks = ", ".join("?" for _ in topics)
        where.append(
            f"EXISTS (SELECT 1 FROM json_each(a.topics) WHERE json_each.value IN ({marks}))"
        )
        params.extend(topics)
    sql = (
        "SELECT f.id AS flag_id, f.kind, f.created_at, f.article_id, "
        "coalesce(f.story_id, a.story_id) AS story_id, a.url, a.title, a.source, a.site, "
        "a.language, a.published, s.title AS story_title "
        "FROM flags f LEFT JOIN articles a ON a.id = f.article_id "
        "LEFT JOIN stories s ON s.id = coalesce(f.story_id, a.story_id) "
        f"WHERE {' AND '.join(where)} ORDER BY f.created_at, f.id"
    )
    return list(db.query(sql, params))


def story_row(db: Database, story_id: int) -> dict[str, Any] | None:
    rows = list(db.query("SELECT * FROM stories WHERE id = ?", [story_id]))
    return rows[0] if rows else None


def story_articles(db: Database, story_id: int) -> list[dict[str, Any]]:
    """Every article of a story, first seen first."""
    return list(
        db.query(
            f"SELECT {_ARTICLE_COLUMNS}, a.text, a.published_source, a.country AS stored_country "
            "FROM articles a WHERE a.story_id = ? ORDER BY a.first_seen, a.id",
            [story_id],
        )
    )


def article_versions(db: Database, article_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Each article's stored versions, oldest first."""
    found: dict[int, list[dict[str, Any]]] = {article_id: [] for article_id in article_ids}
    if not article_ids:
        return found
    marks = ", ".join("?" for _ in article_ids)
    for row in db.query(
        "SELECT id, article_id, title, text, captured_at, run_id FROM article_versions "
        f"WHERE article_id IN ({marks}) ORDER BY captured_at, id",
        article_ids,
    ):
        found[row["article_id"]].append(row)
    return found


def story_flags(db: Database, story_id: int) -> list[dict[str, Any]]:
    return list(
        db.query(
            "SELECT f.id, f.kind, f.created_at, f.article_id FROM flags f "
            "LEFT JOIN articles a ON a.id = f.article_id "
            "WHERE coalesce(f.story_id, a.story_id) = ? ORDER BY f.created_at, f.id",
            [story_id],
        )
    )


def has_table(db: Database, name: str) -> bool:
    return bool(
        db.execute(
            "SELECT 1 FROM sqlite_master WHERE type IN ('table', 'view') AND name = ?", [name]
        ).fetchone()
    )


def table_rows(db: Database, name: str, story_id: int) -> list[dict[str, Any]]:
    """Rows of a per-story table (``story_id`` column), when such a table exists."""
    if not has_table(db, name):
        return []
    columns = {column.name for column in db[name].columns}
    if "story_id" not in columns:
        return []
    return list(db.query(f'SELECT * FROM "{name}" WHERE story_id = ? LIMIT 200', [story_id]))


# -- the digest outbox ----------------------------------------------------------------------


def create_digest(
    db: Database,
    name: str,
    period: tuple[str, str],
    content: tuple[str, str, str, int],
    targets: list[tuple[str, str]],
    through_flag: int | None = None,
) -> int | None:
    """Store a period's digest (``through_flag``: the newest flag it covers) and queue it
    for each (target, label); None when this period's digest already exists (it is then
    never made, nor sent, again)."""
    title, body, body_format, stories = content
    now = utcnow()
    with write_transaction(db):
        cursor = db.execute(
            "INSERT INTO digests (name, period_start, period_end, created_at, title, body, "
            "body_format, stories, last_flag_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(name, period_end) DO NOTHING",
            [name, period[0], period[1], now, title, body, body_format, stories, through_flag],
        )
        if not cursor.rowcount:
            return None
        digest_id = int(cursor.lastrowid or 0)
        for target, label in targets:
            db.execute(
                "INSERT INTO digest_outbox (digest_id, target, label, queued_at) "
                "VALUES (?, ?, ?, ?)",
                [digest_id, target, label, now],
            )
    return digest_id


def digest_exists(db: Database, name: str, period_end: str) -> bool:
    return bool(
        db.execute(
            "SELECT 1 FROM digests WHERE name = ? AND period_end = ?", [name, period_end]
        ).fetchone()
    )


def last_period(db: Database, name: str) -> tuple[str, int | None] | None:
    """Where the last digest of this name ended, and the newest flag it covered (None for a
    brief made before briefs kept it): the next one starts there."""
    row = db.execute(
        "SELECT period_end, last_flag_id FROM digests WHERE name = ? "
        "ORDER BY period_end DESC LIMIT 1",
        [name],
    ).fetchone()
    return (row[0], row[1]) if row else None


def last_sent(db: Database) -> tuple[str, int | None] | None:
    """The end of the newest period whose digest every receiver took, and the newest flag
    that digest covered."""
    row = db.execute(
        "SELECT d.period_end, d.last_flag_id FROM digests d WHERE EXISTS (SELECT 1 FROM "
        "digest_outbox o WHERE o.digest_id = d.id) AND NOT EXISTS (SELECT 1 FROM "
        "digest_outbox o WHERE o.digest_id = d.id AND o.sent_at IS NULL) "
        "ORDER BY d.period_end DESC LIMIT 1"
    ).fetchone()
    return (row[0], row[1]) if row else None


def pending_deliveries(db: Database) -> list[dict[str, Any]]:
    """Deliveries not yet taken, oldest period first."""
    return list(
        db.query(
            "SELECT o.digest_id, o.target, o.label, o.attempts, d.name, d.title, d.body, "
            "d.body_format, d.period_start, d.period_end FROM digest_outbox o "
            "JOIN digests d ON d.id = o.digest_id WHERE o.sent_at IS NULL "
            "ORDER BY d.period_end, d.id, o.target"
        )
    )


def settle_delivery(db: Database, digest_id: int, target: str, error: str | None) -> None:
    """Mark a delivery sent, or count a failed attempt with its (already masked) error."""
    now = utcnow()
    with write_transaction(db):
        if error is None:
            db.execute(
                "UPDATE digest_outbox SET sent_at = ?, attempts = attempts + 1, "
                "last_attempt_at = ?, last_error = NULL WHERE digest_id = ? AND target = ?",
                [now, now, digest_id, target],
            )
        else:
            db.execute(
                "UPDATE digest_outbox SET attempts = attempts + 1, last_attempt_at = ?, "
                "last_error = ? WHERE digest_id = ? AND target = ?",
                [now, error[:500], digest_id, target],
            )


def digest_log(db: Database) -> list[dict[str, Any]]:
    """Every digest with its deliveries (for tests and `runs`-like reports)."""
    return list(
        db.query(
            "SELECT d.id, d.name, d.period_start, d.period_end, o.label, o.target, o.sent_at, "
            "o.attempts, o.last_error FROM digests d LEFT JOIN digest_outbox o "
            "ON o.digest_id = d.id ORDER BY d.period_end, d.id, o.target"
        )
    )


def latest_stories(db: Database, limit: int) -> list[dict[str, Any]]:
    """The most recently active stories with their report and outlet counts."""
    return list(
        db.query(
            "SELECT s.id, s.title, s.first_seen, s.last_seen, count(a.id) AS reports, "
            "count(DISTINCT coalesce(a.site, a.source)) AS outlets FROM stories s "
            "LEFT JOIN articles a ON a.story_id = s.id GROUP BY s.id "
            "ORDER BY s.last_seen DESC, s.id DESC LIMIT ?",
            [limit],
        )
    )
