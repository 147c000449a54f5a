"""Reading the results: stories, one story or article (with its diff), search, runs, sources.

Plain query functions returning JSON-ready dicts; the CLI (``crawler.cli.read``) only renders.
"""

from __future__ import annotations

import difflib
import json
import re
import sqlite3
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlite_utils import Database

from crawler.config import Config
from crawler.store.flags import query_flags
from crawler.store.storage import utcnow, write_transaction

FAILING_AFTER = 3  # consecutive failed runs before a source is reported as failing
_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _rows(db: Database, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    return list(db.query(sql, params or []))


def _json_list(value: str | None) -> list[Any]:
    try:
        loaded = json.loads(value) if value else []
    except ValueError:
        return []
    return loaded if isinstance(loaded, list) else []


def parse_since(value: str, now: datetime | None = None) -> str:
    """An ISO date/datetime (or a relative "6h", "2d": that long ago) as ISO 8601 UTC.

    Naive datetimes are taken as UTC, like every time in the database. Raises ValueError.
    """
    relative = _RELATIVE.match(value)
    if relative:
        seconds = float(relative.group(1)) * _UNITS[relative.group(2)]
        moment = (now or datetime.now(UTC)) - timedelta(seconds=seconds)
        return moment.replace(microsecond=0).isoformat()
    text = value.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC).isoformat()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not an ISO date or datetime: {value!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    # Stored times are UTC strings compared as text, so normalise the bound the same way.
    return moment.astimezone(UTC).isoformat()


def format_seconds(seconds: float | None) -> str:
    """90 -> "90s", 1800 -> "30m", 7200 -> "2h": the config's duration style."""
    if seconds is None:
        return ""
    for unit, size, below in (("s", 1, 120), ("m", 60, 7200), ("h", 3600, 172800)):
        if seconds < below:
            return f"{round(seconds / size, 1):g}{unit}"
    return f"{round(seconds / 86400, 1):g}d"


# -- flags ------------------------------------------------------------------------------------


def ack_flags(db: Database, flag_ids: list[int]) -> str:
    """Mark these flags as seen (those not seen already), in one transaction; return the time."""
    now = utcnow()
    with write_transaction(db):
        for start in range(0, len(flag_ids), 500):
            chunk = flag_ids[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            db.execute(
                f"UPDATE flags SET acked_at = ? WHERE acked_at IS NULL AND id IN ({marks})",
                [now, *chunk],
            )
    return now


def flags_with_content(
    db: Database, *, topic: str | None = None, kind: str | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """Flags (newest first) with their subject and article description/text start: the feed."""
    flags = query_flags(db, topic=topic, kind=kind, limit=limit)
    extra: dict[int, dict[str, Any]] = {}
    ids = [f["id"] for f in flags]
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        for row in _rows(
            db,
            "SELECT f.id, f.subject, a.description, substr(a.text, 1, 1000) "
            f"AS text FROM flags f LEFT JOIN articles a ON a.id = f.article_id "
            f"WHERE f.id IN ({marks})",
            chunk,
        ):
            extra[row.pop("id")] = row
    return [{**flag, **extra.get(flag["id"], {})} for flag in flags]


# -- stories ----------------------------------------------------------------------------------

_STORY_SELECT = (
    "SELECT s.id, s.title, s.first_seen, s.last_seen, COUNT(a.id) AS article_count, "
    "COUNT(DISTINCT a.source) AS outlets, "
    "SUM(CASE WHEN a.duplicate_of IS NULL THEN 0 ELSE 1 END) AS copies "
    "FROM stories s LEFT JOIN articles a ON a.story_id = s.id"
)


def list_stories(
    db: Database, *, topic: str | None = None, since: str | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """Stories, most recently active first, with article and distinct-outlet counts."""
    where: list[str] = []
    params: list[Any] = []
    if since:
        where.append("s.last_seen >= ?")
        params.append(since)
    if topic:
        where.append(
            "EXISTS (SELECT 1 FROM articles t, json_each(t.topics) j "
            "WHERE t.story_id = s.id AND j.value = ?)"
        )
        params.append(topic)
    sql = _STORY_SELECT
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " GROUP BY s.id ORDER BY s.last_seen DESC, s.id DESC"
    if limit:
        sql += " LIMIT ?"
        params.append(limit)
    return _rows(db, sql, params)


_ARTICLE_BRIEF = "id, url, title, source, published, language, first_seen, duplicate_of, updated_at"


def story_detail(db: Database, story_id: int) -> dict[str, Any] | None:
    """A story and its coverage: originals, each with the copies linked to it."""
    rows = _rows(db, _STORY_SELECT + " WHERE s.id = ? GROUP BY s.id", [story_id])
    if not rows:
        return None
    story = rows[0]
    articles = _rows(
        db,
        f"SELECT {_ARTICLE_BRIEF} FROM articles WHERE story_id = ? "
        "ORDER BY COALESCE(published, first_seen), id",
        [story_id],
    )
    by_id = {a["id"]: a for a in articles}

    def root(article: dict[str, Any]) -> int:
        # Follow copy-of-a-copy chains, but only within the story (and never loop).
        seen = {article["id"]}
        current = article
        while current["duplicate_of"] in by_id and current["duplicate_of"] not in seen:
            current = by_id[current["duplicate_of"]]
            seen.add(current["id"])
        return current["id"]

    originals: list[dict[str, Any]] = []
    for article in articles:
        top = root(article)
        if top == article["id"]:
            originals.append({**article, "copies": []})
    index = {o["id"]: o for o in originals}
    for article in articles:
        top = root(article)
        if top != article["id"]:
            index[top]["copies"].append(article)
    story["coverage"] = originals
    return story


# -- one article ------------------------------------------------------------------------------


def article_detail(db: Database, article_id: int) -> dict[str, Any] | None:
    """An article with its story, related links, versions and a diff of its latest change."""
    rows = _rows(
        db,
        "SELECT a.id, a.url, a.canonical_url, a.title, a.source, a.site, a.published, "
        "a.published_source, a.language, a.authors, a.topics, a.description, a.story_id, "
        "s.title AS story_title, "
        "a.duplicate_of, a.first_seen, a.last_seen, a.updated_at, a.text "
        "FROM articles a LEFT JOIN stories s ON s.id = a.story_id WHERE a.id = ?",
        [article_id],
    )
    if not rows:
        return None
    article = rows[0]
    article["authors"] = _json_list(article["authors"])
    article["topics"] = _json_list(article["topics"])
    article["related"] = _rows(
        db,
        "SELECT url, title, first_seen FROM related_links "
        "WHERE article_id = ? ORDER BY first_seen, url",
        [article_id],
    )
    versions = _rows(
        db,
        "SELECT id, title, text, content_hash, captured_at, run_id "
        "FROM article_versions WHERE article_id = ? ORDER BY captured_at, id",
        [article_id],
    )
    article["versions"] = [
        {k: v for k, v in version.items() if k != "text"} for version in versions
    ]
    article["diff"] = None
    if len(versions) > 1:
        previous, current = versions[-2], versions[-1]
        article["diff"] = text_diff(previous, current)
    return article


def text_diff(previous: dict[str, Any], current: dict[str, Any]) -> str:
    """A unified diff of two versions (title line, then text), labelled with capture times."""

    def lines(version: dict[str, Any]) -> list[str]:
        return [f"# {version['title'] or ''}", "", *(version["text"] or "").splitlines()]

    return "\n".join(
        difflib.unified_diff(
            lines(previous),
            lines(current),
            lineterm="",
            fromfile=f"version {previous['id']} ({previous['captured_at']})",
            tofile=f"version {current['id']} ({current['captured_at']})",
        )
    )


# -- search -----------------------------------------------------------------------------------

SNIPPET_OPEN, SNIPPET_CLOSE = "**", "**"


def quote_words(query: str) -> str:
    """Each word of ``query`` as an FTS5 phrase: what a query with syntax errors becomes."""
    words = re.findall(r"[^\s\"]+", query)
    return " ".join('"' + word.replace('"', '""') + '"' for word in words)


def search_articles(db: Database, query: str, *, limit: int | None = 20) -> list[dict[str, Any]]:
    """Full-text search over title and text, best (bm25) first, with a snippet each.

    ``query`` is an FTS5 query (words, "phrases", prefix*, AND/OR/NOT); if FTS5 rejects it,
    each word is searched as a quoted phrase instead.
    """
    sql = (
        "SELECT a.id AS article_id, a.url, a.title, a.story_id, a.source, a.published, "
        "a.duplicate_of, "
        f"snippet(articles_fts, -1, '{SNIPPET_OPEN}', '{SNIPPET_CLOSE}', '…', 16) AS snippet, "
        "bm25(articles_fts) AS rank "
        "FROM articles_fts JOIN articles a ON a.rowid = articles_fts.rowid "
        "WHERE articles_fts MATCH ? ORDER BY rank, a.id"
    )
    params: list[Any] = []
    if limit:
        sql += " LIMIT ?"
        params.append(limit)
    if not query.strip():
        return []
    try:
        rows = _rows(db, sql, [query, *params])
    except sqlite3.OperationalError:
        # Syntax errors, unknown column filters ("foo:bar"), stray quotes or parentheses.
        fallback = quote_words(query)
        if not fallback:
            return []
        rows = _rows(db, sql, [fallback, *params])
    for row in rows:
        row["rank"] = round(row["rank"], 6)
    return rows


# -- runs and sources -------------------------------------------------------------------------

RUN_COUNTS = (
    "pages_fetched",
    "articles_new",
    "articles_updated",
    "duplicates",
    "flags",
    "errors",
    "not_article",
)


def list_runs(db: Database, *, limit: int | None = 20) -> list[dict[str, Any]]:
    """Crawl history, newest first, with the headline counts pulled out of the stats JSON."""
    sql = (
        "SELECT id, trigger, started_at, finished_at, status, sources, stats, error "
        "FROM runs ORDER BY started_at DESC, id DESC"
    )
    params: list[Any] = []
    if limit:
        sql += " LIMIT ?"
        params.append(limit)
    runs = _rows(db, sql, params)
    for run in runs:
        try:
            stats = json.loads(run["stats"]) if run["stats"] else {}
        except ValueError:
            stats = {}
        stats = stats if isinstance(stats, dict) else {}
        run["sources"] = _json_list(run["sources"])
        for key in RUN_COUNTS:
            run[key] = stats.get(key)
        run["stats"] = stats
    return runs


def source_health(db: Database, config: Config) -> list[dict[str, Any]]:
    """Each configured source: its configured interval, current adaptive one and last result."""
    state = {row["name"]: row for row in _rows(db, "SELECT * FROM sources")}
    report = []
    for source in config.sources:
        row = state.get(source.name, {})
        failures = row.get("consecutive_failures") or 0
        report.append(
            {
                "name": source.name,
                "every": format_seconds(source.every_seconds),
                "every_seconds": source.every_seconds,
                "interval": format_seconds(row.get("interval_seconds")),
                "interval_seconds": row.get("interval_seconds"),
                "next_run_at": row.get("next_run_at"),
                "last_run_at": row.get("last_run_at"),
                "last_status": row.get("last_status"),
                "consecutive_failures": failures,
                "failing": failures >= FAILING_AFTER,
            }
        )
    return report
