"""Write processed pages into the database: articles, versions, related links, stories, flags.

Called in batches, one ``BEGIN IMMEDIATE`` transaction per batch, by the crawl's pipeline
(or the distributed ingest writer). Idempotent: ingesting the same result twice changes
nothing the second time, so a crash between commit and acknowledgement is harmless.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlite_utils import Database

from crawler.models import RelatedLink
from crawler.pages import PageResult
from crawler.store.flags import create_flag
from crawler.store.storage import record_fetch, utcnow, write_transaction
from crawler.stories import dedup
from crawler.urls import canonicalize_url


@dataclass(frozen=True)
class IngestOptions:
    run_id: int
    topics_configured: bool
    baseline: bool = False  # record what is there without flagging it


def ingest_results(
    db: Database,
    results: Iterable[PageResult],
    options: IngestOptions,
    fetch_meta: dict[str, dict] | None = None,
) -> Counter[str]:
    """Ingest one batch in one transaction; return counts (articles, duplicates, flags…)."""
    counts: Counter[str] = Counter()
    fetch_meta = fetch_meta or {}
    with write_transaction(db):
        for result in results:
            meta = fetch_meta.get(result.url, {})
            article_id = _ingest_one(db, result, options, counts)
            record_fetch(
                db,
                result.request_url or result.url,
                source=result.source,
                kind="article" if result.is_article else "page",
                status=meta.get("status", 200),
                run_id=options.run_id,
                etag=meta.get("etag"),
                last_modified=meta.get("last_modified"),
                body_hash=meta.get("body_hash"),
                error=result.error or result.reason,
                article_id=article_id,
            )
            if result.reason and not result.error:
                # "not_article: too short (123 chars)" counts as "not_article.too_short"
                cause = result.reason.removeprefix("not_article:").split("(")[0].strip()
                counts["not_article"] += 1
                counts["not_article." + cause.replace(" ", "_")] += 1
            if result.article is not None and result.article.text_source == "trafilatura":
                counts["text_trafilatura"] += 1
            if result.error:
                counts["errors"] += 1
                counts["errors.extraction"] += 1
    return counts


def record_fetch_records(db: Database, records: Iterable[Any], run_id: int) -> None:
    """Store the fetch state of pages that gave no article (listings, failures, 304s)."""
    with write_transaction(db):
        for record in records:
            record_fetch(
                db,
                record.url,
                source=record.source,
                kind=record.kind,
                status=record.status,
                run_id=run_id,
                etag=record.etag,
                last_modified=record.last_modified,
                body_hash=record.body_hash,
                error=record.error,
            )


def _urls_of(result: PageResult) -> set[str]:
    """Every URL the article was reached by: its canonical, the response's and the request's."""
    urls = {result.key_url, canonicalize_url(result.url)}
    if result.request_url:
        urls.add(canonicalize_url(result.request_url))
    return urls


def _find_article(db: Database, result: PageResult) -> tuple | None:
    for url in _urls_of(result):
        row = db.execute(
            "SELECT a.id, a.text, a.title, a.content_hash, a.story_id, a.duplicate_of "
            "FROM article_urls u JOIN articles a ON a.id = u.article_id WHERE u.url = ?",
            [url],
        ).fetchone()
        if row:
            return row
    return None


def _remember_urls(db: Database, article_id: int, result: PageResult) -> None:
    for url in _urls_of(result):
        db.execute(
            "INSERT INTO article_urls (url, article_id) VALUES (?, ?) ON CONFLICT(url) DO NOTHING",
            [url, article_id],
        )


def _ingest_one(
    db: Database, result: PageResult, options: IngestOptions, counts: Counter[str]
) -> int | None:
    article = result.article
    if article is None:
        return None
    counts["pages_extracted"] += 1
    if options.topics_configured and not result.topics:
        counts["off_topic"] += 1
        return None
    now = utcnow()
    existing = _find_article(db, result)
    if existing:
        return _ingest_known(db, existing, result, options, counts, now)
    cursor = db.execute(
        """INSERT INTO articles (url, canonical_url, source, site, title, text, description,
               published, published_source, language, authors, image, feed_guid, content_hash,
               fingerprint, topics, first_seen, last_seen, run_id)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [
            result.key_url,
            article.canonical_url,
            result.source,
            article.site,
            article.title,
            article.text,
            article.description,
            article.published,
            article.published_source if article.published else None,
            article.language,
            json.dumps(article.authors, ensure_ascii=False),
            article.image,
            result.guid,
            result.content_hash,
            result.fingerprint,
            json.dumps(result.topics),
            now,
            now,
            options.run_id,
        ],
    )
    article_id = int(cursor.lastrowid or 0)
    _remember_urls(db, article_id, result)
    _save_version(db, article_id, result, now, options.run_id)
    for link in article.related:  # an article's first links are never news
        _add_related(db, article_id, link, now, options.run_id)
    link = dedup.link_article(db, article_id, _fingerprints(result, now))
    counts["articles_new"] += 1
    # A copy never counts as news; nor does an original whose text arrived first as a copy.
    if link.duplicate_of is not None or link.text_already_stored:
        counts["duplicates"] += 1
        if link.text_already_stored:
            move_flags_to_original(db, article_id)
        return article_id
    if options.baseline:
        return article_id
    kind = "new_story" if link.new_story else "new_coverage"
    if kind == "new_coverage" and _takes_new_story_flag(db, link.story_id, result, options.run_id):
        kind = "new_story"
        counts["flags.new_coverage"] += 1  # the flag it took over became one
        counts["flags.new_story"] -= 1
    _flag(db, counts, kind, f"article:{article_id}", options.run_id, article_id, link.story_id)
    return article_id


def _report_order(published: str | None, url: str) -> tuple[datetime, str]:
    """Earliest publication first (undated last), then by URL: an order the network's
    arrival order cannot change."""
    moment = dedup.parse_time(published) if published else None
    return moment or datetime.max.replace(tzinfo=UTC), url


def _takes_new_story_flag(
    db: Database, story_id: int | None, result: PageResult, run_id: int
) -> bool:
    """Within one run the first report of a new story to arrive is whichever the network
    delivered first: the earliest published one carries its new_story flag instead (flags of
    earlier runs were news when they were made and stay as they are)."""
    if story_id is None or result.article is None:
        return False
    row = db.execute(
        "SELECT f.id, a.published, a.url FROM flags f JOIN articles a ON a.id = f.article_id "
        "WHERE f.kind = 'new_story' AND f.story_id = ? AND f.run_id = ? AND f.acked_at IS NULL",
        [story_id, run_id],
    ).fetchone()
    if row is None or (
        _report_order(result.article.published, result.key_url) >= _report_order(row[1], row[2])
    ):
        return False
    cursor = db.execute("UPDATE OR IGNORE flags SET kind = 'new_coverage' WHERE id = ?", [row[0]])
    return cursor.rowcount > 0  # else the flag stays, and this report is coverage


def _fingerprints(result: PageResult, now: str) -> dedup.Fingerprints:
    """What the extraction worker computed for dedup, as link_article and update_article take it."""
    article = result.article
    assert article is not None
    return dedup.Fingerprints(
        title=article.title or "",
        text=article.text,
        published=article.published,
        seen_at=now,
        content_hash=result.content_hash or "",
        fingerprint=result.fingerprint or 0,
        feed_guid=result.guid,
        signature=result.signature,
        terms=result.story_terms,
    )


def move_flags_to_original(db: Database, original_id: int) -> None:
    """An original that arrived after its copy takes over the copy's unread story flag, so
    the reader is sent to the original, and no flag names a duplicate."""
    db.execute(
        "UPDATE OR IGNORE flags SET article_id = ?, subject = ? "
        "WHERE kind IN ('new_story', 'new_coverage') AND acked_at IS NULL "
        "AND article_id IN (SELECT id FROM articles WHERE duplicate_of = ?)",
        [original_id, f"article:{original_id}", original_id],
    )


def _ingest_known(
    db: Database,
    existing: tuple,
    result: PageResult,
    options: IngestOptions,
    counts: Counter[str],
    now: str,
) -> int:
    article_id, old_text, _old_title, old_hash, story_id, duplicate_of = existing
    article = result.article
    assert article is not None
    counts["articles_seen"] += 1
    db.execute("UPDATE articles SET last_seen = ? WHERE id = ?", [now, article_id])
    _remember_urls(db, article_id, result)
    flag = duplicate_of is None and not options.baseline
    if result.content_hash != old_hash and dedup.is_material_change(old_text or "", article.text):
        db.execute(
            "UPDATE articles SET title = ?, text = ?, content_hash = ?, fingerprint = ?, "
            "updated_at = ? WHERE id = ?",
            [article.title, article.text, result.content_hash, result.fingerprint, now, article_id],
        )
        version_id = _save_version(db, article_id, result, now, options.run_id)
        dedup.update_article(db, article_id, _fingerprints(result, now))
        counts["articles_updated"] += 1
        if flag:
            _flag(
                db,
                counts,
                "updated",
                f"article:{article_id}:{result.content_hash}",
                options.run_id,
                article_id,
                story_id,
                {"version_id": version_id},
            )
    for link in article.related:
        url = _add_related(db, article_id, link, now, options.run_id)
        if url and flag:
            _flag(
                db,
                counts,
                "new_related",
                f"article:{article_id}:related:{url}",
                options.run_id,
                article_id,
                story_id,
                {"url": url, "title": link.title},
            )
    return article_id


def _save_version(db: Database, article_id: int, result: PageResult, now: str, run_id: int) -> int:
    """Keep this text of the article, so a later update can be shown as a diff."""
    article = result.article
    assert article is not None
    cursor = db.execute(
        "INSERT INTO article_versions (article_id, title, text, content_hash, captured_at, run_id)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [article_id, article.title, article.text, result.content_hash, now, run_id],
    )
    return int(cursor.lastrowid or 0)


def _add_related(
    db: Database, article_id: int, link: RelatedLink, now: str, run_id: int
) -> str | None:
    """Record a related link; its canonical URL when it was not known for this article."""
    url = canonicalize_url(link.url)
    cursor = db.execute(
        "INSERT INTO related_links (article_id, url, title, first_seen, run_id) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        [article_id, url, link.title, now, run_id],
    )
    return url if cursor.rowcount else None


def _flag(
    db: Database,
    counts: Counter[str],
    kind: str,
    subject: str,
    run_id: int,
    article_id: int,
    story_id: int | None,
    detail: dict | None = None,
) -> None:
    if create_flag(
        db, kind, subject, run_id=run_id, article_id=article_id, story_id=story_id, detail=detail
    ):
        counts["flags"] += 1
        counts[f"flags.{kind}"] += 1
