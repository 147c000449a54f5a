"""Reading the results: stories, one story or article (with its diff), search, runs, sources.

Plain query functions returning JSON-ready dicts; the CLI (``crawler.cli.read``) only renders.
"""

from __future__ import annotations

import difflib
import json
import sqlite3
from typing import Any
from urllib.parse import urlsplit

from sqlite_utils import Database

from crawler.config.settings import Config
from crawler.read.coverage_text import attach_coverage
from crawler.read.search import SearchResult, plan_search
from crawler.store.flags import query_flags
from crawler.topics.query import fts5_match, parse_query


def with_limit(sql: str, params: list[Any], limit: int | None) -> str:
    """``sql`` with a LIMIT when one is asked for (its value appended to ``params``)."""
    if not limit:
        return sql
    params.append(limit)
    return sql + " LIMIT ?"


def _rows(db: Database, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    return list(db.query(sql, params or []))


def _json_list(value: str | None) -> list[Any]:
    try:
        loaded = json.loads(value) if value else []
    except ValueError:
        return []
    return loaded if isinstance(loaded, list) else []


def format_seconds(seconds: float | None) -> str:
    """90 -> "90s", 1800 -> "30m", 7200 -> "2h": the config's duration style for a whole
    number of its unit; any other interval (an adapted one) to the second in at most two
    units: 67.5 -> "1m 8s", 4000 -> "1h 7m"."""
    if seconds is None:
        return ""
    for unit, size, below in (("s", 1, 120), ("m", 60, 7200), ("h", 3600, 172800)):
        if seconds < below:
            if seconds % size == 0:
                return f"{seconds / size:g}{unit}"
            break
    else:
        if seconds % 86400 == 0:
            return f"{seconds / 86400:g}d"
    whole = round(seconds)
    units = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
    lead = next(i for i, (_, size) in enumerate(units) if whole >= size or size == 1)
    unit, size = units[lead]
    text = f"{whole // size}{unit}"
    if lead + 1 < len(units):
        next_unit, next_size = units[lead + 1]
        rest = round((whole % size) / next_size)  # whole % size < size: at most one unit
        if rest:
            text += f" {rest}{next_unit}"
    return text


# -- flags ------------------------------------------------------------------------------------


def stored_topics(db: Database) -> list[str]:
    """The topic names articles in the database were matched under, sorted."""
    return [
        row[0]
        for row in db.execute(
            "SELECT DISTINCT j.value FROM articles a, json_each(a.topics) j "
            "WHERE a.topics IS NOT NULL AND json_valid(a.topics) ORDER BY 1"
        ).fetchall()
    ]


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
    return attach_coverage(db, [{**flag, **extra.get(flag["id"], {})} for flag in flags])


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
    sql = with_limit(sql, params, limit)
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
        "a.duplicate_of, a.first_seen, a.last_seen, a.updated_at, a.text, a.text_source, "
        "a.title_source, a.brief "
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
    for number, version in enumerate(versions, 1):
        version["number"] = number  # this article's own count: version 1, 2, …
    article["versions"] = [
        {k: v for k, v in version.items() if k != "text"} for version in versions
    ]
    article["diff"] = None
    if len(versions) > 1:
        previous, current = versions[-2], versions[-1]
        article["diff"] = text_diff(previous, current)
    return article


def text_diff(previous: dict[str, Any], current: dict[str, Any]) -> str:
    """A unified diff of two versions (title line, then text), labelled with the article's
    own version numbers ("version 1 → version 2", not the table's global ids) and times."""

    def label(version: dict[str, Any]) -> Any:
        return version.get("number", version["id"])

    def lines(version: dict[str, Any]) -> list[str]:
        return [f"# {version['title'] or ''}", "", *(version["text"] or "").splitlines()]

    return "\n".join(
        difflib.unified_diff(
            lines(previous),
            lines(current),
            lineterm="",
            fromfile=f"version {label(previous)} ({previous['captured_at']})",
            tofile=f"version {label(current)} ({current['captured_at']})",
        )
    )


# -- search -----------------------------------------------------------------------------------

SNIPPET_OPEN, SNIPPET_CLOSE = "**", "**"


def search_articles(db: Database, query: str, *, limit: int | None = 20) -> list[dict[str, Any]]:
    """Full-text search over title and text, best (bm25) first, with a snippet each."""
    return search(db, query, limit=limit).rows


def search(db: Database, query: str, *, limit: int | None = 20) -> SearchResult:
    """Full-text search with bounded cost, saying how the query was searched.

    ``query`` is in the topic query language (crawler/topics/query.py: words, "phrases",
    prefix*, AND, OR, NOT or a leading -, parentheses), translated to FTS5; a query that
    does not parse raises :class:`~crawler.topics.query.QueryError` (with its column), never
    a silent fallback. Past the bounds of crawler/read/search.py it is searched in a cheaper
    form, and the result's note says so.
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
    sql = with_limit(sql, params, limit)
    if not query.strip():
        return SearchResult([])
    plan = plan_search(db, fts5_match(parse_query(query)))
    rows = _rows(db, sql, [plan.match, *params])
    for row in rows:
        row["rank"] = round(row["rank"], 6)
    return SearchResult(rows, plan.note)


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


def list_runs(
    db: Database, *, limit: int | None = 20, run_id: int | None = None
) -> list[dict[str, Any]]:
    """Crawl history, newest first, with the headline counts pulled out of the stats JSON
    (only run ``run_id`` when given)."""
    where = "" if run_id is None else "WHERE id = ? "
    sql = (
        "SELECT id, trigger, started_at, finished_at, status, sources, stats, error "
        f"FROM runs {where}ORDER BY started_at DESC, id DESC"
    )
    params: list[Any] = [] if run_id is None else [run_id]
    sql = with_limit(sql, params, limit)
    runs = _rows(db, sql, params)
    pending = webhook_backlog(db)
    by_run = pending["pending_by_run"] if pending else {}
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
        run["webhook"] = {
            "state": stats.get("webhook"),  # sent, failed, idle; None: no webhook then
            "sent": stats.get("webhook_sent"),
            "error": stats.get("webhook_error"),
            "pending": by_run.get(run["id"], 0),  # this run's flags still in the outbox
        }
    return runs


def webhook_backlog(db: Database) -> dict[str, Any] | None:
    """The webhook outbox: flags pending, since when, last error (None: no outbox table, a
    database from before it existed)."""
    from crawler.read.notify import backlog

    try:
        return backlog(db)
    except sqlite3.OperationalError:
        return None


def webhook_cell(run: dict[str, Any]) -> str:
    """``sent 5``, ``failed: HTTP 500 (3 pending)``, ``3 pending``: one run's delivery."""
    hook = run.get("webhook") or {}
    state, pending = hook.get("state"), hook.get("pending") or 0
    waiting = f"{pending} pending" if pending else ""
    if state == "failed":
        return f"failed: {hook.get('error') or '?'}" + (f" ({waiting})" if waiting else "")
    if state == "sent" and hook.get("sent"):
        return f"sent {hook['sent']}" + (f", {waiting}" if waiting else "")
    return waiting


def backlog_line(pending: dict[str, Any] | None) -> str | None:
    """One line on the webhook outbox for `newswatch runs` (None: no outbox table)."""
    if pending is None:
        return None
    if not pending["pending"]:
        return "webhook backlog: none"
    line = (
        f"webhook backlog: {pending['pending']} flag(s) pending since "
        f"{pending['oldest_queued_at']}, {pending['attempts']} attempt(s)"
    )
    return line + (f"; last error: {pending['last_error']}" if pending["last_error"] else "")


def _source_profile(db: Database, source: Any) -> dict[str, Any]:
    """A source's country and language, declared or derived (from its articles' hosts'
    ccTLDs and detected languages), and whether it is news or the official record."""
    from crawler.extraction.outlets import country_of_host

    country, country_from = source.country, "declared" if source.country else None
    language, language_from = source.language, "declared" if source.language else None
    if not country:
        hosts = [
            urlsplit(u).hostname or "" for u in (*source.feeds, *source.sitemaps, *source.pages)
        ]
        found = sorted({c for c in map(country_of_host, hosts) if c})
        if len(found) == 1:
            country, country_from = found[0], "cctld"
    if not language:
        row = db.execute(
            "SELECT language, COUNT(*) AS n FROM articles WHERE source = ? AND language IS NOT"
            " NULL GROUP BY language ORDER BY n DESC, language LIMIT 1",
            [source.name],
        ).fetchone()
        if row:
            language, language_from = row[0], "detected"
    return {
        "country": country,
        "country_from": country_from,
        "language": language,
        "language_from": language_from,
        "kind": source.kind,
    }


def source_health(db: Database, config: Config) -> list[dict[str, Any]]:
    """Each configured source: its configured interval, current adaptive one and its health
    (``never run``, ``ok``, ``failing (N in a row)``, manual and scheduled runs alike)."""
    from crawler.store.health import health_label

    state = {row["name"]: row for row in _rows(db, "SELECT * FROM sources")}
    report = []
    for source in config.sources:
        row = state.get(source.name, {})
        failures = row.get("consecutive_failures") or 0
        report.append(
            {
                "name": source.name,
                **_source_profile(db, source),
                "every": format_seconds(source.every_seconds),
                "every_seconds": source.every_seconds,
                "interval": format_seconds(row.get("interval_seconds")),
                "interval_seconds": row.get("interval_seconds"),
                "next_run_at": row.get("next_run_at"),
                "last_run_at": row.get("last_run_at"),
                "last_status": row.get("last_status"),
                "consecutive_failures": failures,
                "failing": failures > 0,
                "health": health_label(row.get("last_run_at"), failures, row.get("last_status")),
            }
        )
    return report


# -- a dry run --------------------------------------------------------------------------------


def run_outcomes(db: Database, run_id: int) -> list[dict[str, Any]]:
    """Each URL run ``run_id`` fetched, with what became of it: ``outcome`` is "new",
    "new copy", "updated", "unchanged" for an article, the kind of its failure ("refused",
    "not-article", …), or the fetch's kind (feed, sitemap, off-topic, …); ``topics`` those
    the article matched."""
    rows = _rows(
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
    for row in rows:
        if row["error_kind"]:  # not_article, refused, http, … (FailureKind)
            outcome = row["error_kind"].replace("_", "-")
        elif row["article_id"] is None:
            outcome = (row["kind"] or "page").replace("_", "-")
        elif row["is_new"]:
            outcome = "new copy" if row["duplicate_of"] else "new"
        else:
            outcome = "updated" if row["is_updated"] else "unchanged"
        row["outcome"] = outcome
        row["topics"] = _json_list(row["topics"])
        for key in ("is_new", "is_updated", "kind", "error_kind"):
            row.pop(key)
    return rows
