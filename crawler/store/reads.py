"""The read commands' queries (crawler/read/queries.py shapes what they return): stories,
one story or article, full-text search, runs, a run's fetches, a flag's article.

Plain rows as dicts, in the order the commands show them; no writes.
"""

from __future__ import annotations

from typing import Any

from sqlite_utils import Database

from crawler.store.storage import id_chunks

SNIPPET_OPEN, SNIPPET_CLOSE = "**", "**"
# Flag ids in one ``IN (…)`` list: under SQLite's bound-parameter limit.


def _with_limit(sql: str, params: list[Any], limit: int | None) -> str:
    """``sql`` with a LIMIT when one is asked for (its value appended to ``params``)."""
    if not limit:
        return sql
    params.append(limit)
    return sql + " LIMIT ?"


def _rows(db: Database, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    return list(db.query(sql, params or []))


def _first(db: Database, sql: str, params: list[Any]) -> dict[str, Any] | None:
    rows = _rows(db, sql, params)
    return rows[0] if rows else None


def stored_topics(db: Database) -> list[str]:
    """The topic names articles in the database were matched under, sorted."""
    return [
        row[0]
        for row in db.execute(
            "SELECT DISTINCT j.value FROM articles a, json_each(a.topics) j "
            "WHERE a.topics IS NOT NULL AND json_valid(a.topics) ORDER BY 1"
        ).fetchall()
    ]


def flag_articles(db: Database, flag_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Each flag's subject and its article's description and first 1,000 characters of text."""
    found: dict[int, dict[str, Any]] = {}
    for chunk in id_chunks(flag_ids):
        marks = ", ".join("?" for _ in chunk)
        for row in _rows(
            db,
            "SELECT f.id, f.subject, a.description, substr(a.text, 1, 1000) "
            f"AS text FROM flags f LEFT JOIN articles a ON a.id = f.article_id "
            f"WHERE f.id IN ({marks})",
            chunk,
        ):
            found[row.pop("id")] = row
    return found


# -- stories ----------------------------------------------------------------------------------

_STORY_SELECT = (
    "SELECT s.id, s.title, s.first_seen, s.last_seen, COUNT(a.id) AS article_count, "
    "COUNT(DISTINCT a.source) AS outlets, "
    "SUM(CASE WHEN a.duplicate_of IS NULL THEN 0 ELSE 1 END) AS copies "
    "FROM stories s LEFT JOIN articles a ON a.story_id = s.id"
)


def list_stories(
    db: Database,
    *,
    topic: str | None = None,
    since: str | None = None,
    limit: int | None = None,
    briefs: bool = True,
    only_country: str | None = None,
    missing_country: str | None = None,
) -> list[dict[str, Any]]:
    """Stories, most recently active first, with article and distinct-outlet counts.

    ``briefs=False``: only stories with at least one article that is not a brief;
    ``only_country``: stories whose press coverage (from outlets of a known country) is all
    from that country; ``missing_country``: stories no outlet of that country carried."""
    where: list[str] = []
    params: list[Any] = []
    if not briefs:
        where.append("EXISTS (SELECT 1 FROM articles b WHERE b.story_id = s.id AND b.brief = 0)")
    press = "t.story_id = s.id AND COALESCE(t.source_kind, 'news') != 'official'"
    if only_country:
        where.append(
            f"EXISTS (SELECT 1 FROM articles t WHERE {press} AND t.country = ?) AND NOT EXISTS"
            f" (SELECT 1 FROM articles t WHERE {press} AND t.country IS NOT NULL"
            " AND t.country != ?)"
        )
        params += [only_country.lower(), only_country.lower()]
    if missing_country:
        where.append(f"NOT EXISTS (SELECT 1 FROM articles t WHERE {press} AND t.country = ?)")
        params.append(missing_country.lower())
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
    sql = _with_limit(sql, params, limit)
    return _rows(db, sql, params)


def story_summary(db: Database, story_id: int) -> dict[str, Any] | None:
    """One story with the counts :func:`list_stories` gives (None: no such story)."""
    return _first(db, _STORY_SELECT + " WHERE s.id = ? GROUP BY s.id", [story_id])


def story_article_briefs(db: Database, story_id: int) -> list[dict[str, Any]]:
    """The story's articles, earliest (published, else first seen) first."""
    return _rows(
        db,
        "SELECT id, url, title, source, published, language, first_seen, duplicate_of, "
        "updated_at FROM articles WHERE story_id = ? ORDER BY COALESCE(published, first_seen), id",
        [story_id],
    )


# -- one article ------------------------------------------------------------------------------


def article_record(db: Database, article_id: int) -> dict[str, Any] | None:
    """An article with its story's title (authors and topics as stored: JSON text), its
    related links (``related``, first seen first) and its versions with their text
    (``versions``, oldest first); None: no such article."""
    article = _first(
        db,
        "SELECT a.id, a.url, a.canonical_url, a.title, a.source, a.site, a.published, "
        "a.published_source, a.language, a.authors, a.topics, a.description, a.story_id, "
        "s.title AS story_title, "
        "a.duplicate_of, a.first_seen, a.last_seen, a.updated_at, a.text, a.text_source, "
        "a.title_source, a.brief "
        "FROM articles a LEFT JOIN stories s ON s.id = a.story_id WHERE a.id = ?",
        [article_id],
    )
    if article is None:
        return None
    article["related"] = _rows(
        db,
        "SELECT url, title, first_seen FROM related_links "
        "WHERE article_id = ? ORDER BY first_seen, url",
        [article_id],
    )
    article["versions"] = _rows(
        db,
        "SELECT id, title, text, content_hash, captured_at, run_id "
        "FROM article_versions WHERE article_id = ? ORDER BY captured_at, id",
        [article_id],
    )
    return article


# -- search -----------------------------------------------------------------------------------


def search_rows(db: Database, match: str, limit: int | None) -> list[dict[str, Any]]:
    """Articles matching the FTS5 query ``match``, best (bm25) first, with a snippet each."""
    sql = (
        "SELECT a.id AS article_id, a.url, a.title, a.story_id, a.source, a.published, "
        "a.duplicate_of, "
        f"snippet(articles_fts, -1, '{SNIPPET_OPEN}', '{SNIPPET_CLOSE}', '…', 16) AS snippet, "
        "bm25(articles_fts) AS rank "
        "FROM articles_fts JOIN articles a ON a.rowid = articles_fts.rowid "
        "WHERE articles_fts MATCH ? ORDER BY rank, a.id"
    )
    params: list[Any] = []
    sql = _with_limit(sql, params, limit)
    return _rows(db, sql, [match, *params])


def indexed_terms_between(db: Database, ranges: list[tuple[str, str]]) -> int | None:
    """How many indexed terms of the full-text index fall in the [low, high) ranges, summed
    (None: cannot tell on this database)."""
    try:
        db.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS temp.newswatch_vocab "
            "USING fts5vocab(main, 'articles_fts', 'row')"
        )
        total = 0
        for low, high in ranges:
            total += db.execute(
                "SELECT count(*) FROM temp.newswatch_vocab WHERE term >= ? AND term < ?",
                [low, high],
            ).fetchone()[0]
        return total
    except Exception:  # an old SQLite without fts5vocab, or no index yet
        return None


# -- runs and sources -------------------------------------------------------------------------


def run_rows(db: Database, *, limit: int | None, run_id: int | None) -> list[dict[str, Any]]:
    """Runs, newest first (only run ``run_id`` when given); stats and sources as stored."""
    where = "" if run_id is None else "WHERE id = ? "
    sql = (
        "SELECT id, trigger, started_at, finished_at, status, sources, stats, error "
        f"FROM runs {where}ORDER BY started_at DESC, id DESC"
    )
    params: list[Any] = [] if run_id is None else [run_id]
    sql = _with_limit(sql, params, limit)
    return _rows(db, sql, params)


def main_language(db: Database, source: str) -> str | None:
    """The language most of a source's articles were detected in (ties: alphabetical)."""
    top = _first(
        db,
        "SELECT language, COUNT(*) AS n FROM articles WHERE source = ? AND language IS NOT"
        " NULL GROUP BY language ORDER BY n DESC, language LIMIT 1",
        [source],
    )
    return top["language"] if top else None


def run_fetches(db: Database, run_id: int) -> list[dict[str, Any]]:
    """Each URL run ``run_id`` fetched, by URL, with its article: ``is_new`` when the run
    stored it, ``is_updated`` when the run stored a version of it."""
    return _rows(
        db,
        # By run id, not time: stamps have whole seconds, and a run may start in the second
        # the previous one stored its last article.
        "SELECT f.url, f.kind, f.error, f.error_kind, a.id AS article_id, a.title, a.topics, "
        "a.duplicate_of, "
        "a.run_id = f.run_id AS is_new, EXISTS (SELECT 1 FROM article_versions v "
        "WHERE v.article_id = a.id AND v.run_id = f.run_id) AS is_updated "
        "FROM fetches f LEFT JOIN articles a ON a.id = f.article_id "
        "WHERE f.run_id = ? ORDER BY f.url",
        [run_id],
    )
