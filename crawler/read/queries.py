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
from crawler.store import reads
from crawler.store.flags import query_flags
from crawler.topics.query import fts5_match, parse_query


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


def flags_with_content(
    db: Database, *, topic: str | None = None, kind: str | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """Flags (newest first) with their subject and article description/text start: the feed."""
    flags = query_flags(db, topic=topic, kind=kind, limit=limit)
    extra = reads.flag_articles(db, [f["id"] for f in flags])
    return attach_coverage(db, [{**flag, **extra.get(flag["id"], {})} for flag in flags])


# -- stories ----------------------------------------------------------------------------------


def story_detail(db: Database, story_id: int) -> dict[str, Any] | None:
    """A story and its coverage: originals, each with the copies linked to it."""
    story = reads.story_summary(db, story_id)
    if story is None:
        return None
    articles = reads.story_article_briefs(db, story_id)
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
    article = reads.article_record(db, article_id)
    if article is None:
        return None
    article["authors"] = _json_list(article["authors"])
    article["topics"] = _json_list(article["topics"])
    versions = article["versions"]
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
    if not query.strip():
        return SearchResult([])
    plan = plan_search(db, fts5_match(parse_query(query)))
    rows = reads.search_rows(db, plan.match, limit)
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
    runs = reads.run_rows(db, limit=limit, run_id=run_id)
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
        detected = reads.main_language(db, source.name)
        if detected is not None:
            language, language_from = detected, "detected"
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
    from crawler.store.sources import source_states

    state = source_states(db)
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
    rows = reads.run_fetches(db, run_id)
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
