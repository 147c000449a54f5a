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
from typing import cast

from sqlite_utils import Database

from crawler.core.failures import FailureKind
from crawler.core.items import FetchRecord
from crawler.core.models import FlagKind, RelatedLink
from crawler.core.pages import PageResult
from crawler.core.urls import canonicalize_url
from crawler.ingest import desk, pending
from crawler.store import articles
from crawler.store import pending as story_pending
from crawler.store.dedup import detach_copy
from crawler.store.flags import create_flag
from crawler.store.storage import record_fetch, utcnow, write_transaction
from crawler.stories import copies, dedup
from crawler.stories.terms import Groups, pack_terms


@dataclass(frozen=True)
class IngestOptions:
    run_id: int
    topics_configured: bool
    baseline: bool = False  # record what is there without flagging it
    # crawler.topics.query.topics_key of the watched topics, stored with off-topic verdicts
    topics_key: str | None = None
    # Link new articles to copies and stories when the run ends (crawler.ingest.pending),
    # not at the end of this batch: a crawl's batches follow the network's arrival order.
    defer_links: bool = False


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
            pruned = _pruned_reason(db, result)
            article_id = None if pruned else _ingest_one(db, result, options, counts)
            if pruned:
                counts["articles_pruned_before"] += 1
            kind = fetch_kind(result, options.topics_configured)
            error_kind, error = _why_not_stored(result, pruned)
            fetch = FetchRecord(
                result.request_url or result.url,
                result.source,
                kind,
                meta.get("status", 200),
                meta.get("etag"),
                meta.get("last_modified"),
                meta.get("body_hash"),
                error=error,
                error_kind=error_kind,
            )
            record_fetch(
                db,
                fetch,
                options.run_id,
                article_id=article_id,
                topics_key=options.topics_key if kind.startswith("off_topic") else None,
            )
            if result.reason and not result.error:
                counts["not_article"] += 1
                counts[f"not_article.{result.reason_cause}"] += 1
            if result.article is not None and result.article.text_source == "trafilatura":
                counts["text_trafilatura"] += 1
            if result.error:
                counts["errors"] += 1
                counts["errors.extraction"] += 1
        if not options.defer_links:
            pending.link_held_in_transaction(db, options.run_id, options.baseline, counts)
    return counts


def _why_not_stored(
    result: PageResult, pruned: str | None
) -> tuple[FailureKind | None, str | None]:
    """The kind and message ``fetches`` records for a processed page (None, None: stored)."""
    if result.error:
        return result.error_kind or FailureKind.ERROR, result.error
    if result.reason:
        return FailureKind.NOT_ARTICLE, result.reason
    if pruned:
        return FailureKind.PRUNED, pruned
    return None, None


def fetch_kind(result: PageResult, topics_configured: bool) -> str:
    """What ``fetches.kind`` says of a processed page: ``article``, ``page`` (no article),
    ``off_topic`` (extracted, matched no topic) or ``off_topic (prefilter)`` (could not match
    any topic, so not extracted)."""
    if result.prefiltered:
        return "off_topic (prefilter)"
    if result.article is None:
        return "page"
    return "off_topic" if topics_configured and not result.topics else "article"


def record_fetch_records(db: Database, records: Iterable[FetchRecord], run_id: int) -> None:
    """Store the fetch state of pages that gave no article (listings, failures, 304s)."""
    with write_transaction(db):
        for record in records:
            record_fetch(db, record, run_id)


def _urls_of(result: PageResult) -> set[str]:
    """Every URL the article was reached by: its canonical, the response's and the request's."""
    urls = {result.key_url, canonicalize_url(result.url)}
    if result.request_url:
        urls.add(canonicalize_url(result.request_url))
    return urls


def _pruned_reason(db: Database, result: PageResult) -> str | None:
    """Why an article removed by `newswatch prune --articles` is not stored again: its page
    coming back is old news (None for any other page)."""
    if result.article is None:
        return None
    if articles.any_pruned(db, sorted(_urls_of(result))):
        return "pruned earlier (prune --articles): old, not stored again"
    return None


def _ingest_one(
    db: Database, result: PageResult, options: IngestOptions, counts: Counter[str]
) -> int | None:
    article = result.article
    if result.prefiltered:
        counts["off_topic"] += 1
        counts["off_topic.prefilter"] += 1
        return None
    if article is None:
        return None
    counts["pages_extracted"] += 1
    if options.topics_configured and not result.topics:
        counts["off_topic"] += 1
        return None
    now = utcnow()
    existing = articles.find_by_urls(db, _urls_of(result))
    if existing:
        return _ingest_known(db, existing, result, options, counts, now)
    article_id = articles.insert_article(
        db,
        articles.NewArticle(
            url=result.key_url,
            canonical_url=article.canonical_url,
            source=result.source,
            site=article.site,
            title=article.title,
            text=article.text,
            description=article.description,
            published=article.published,
            published_source=article.published_source if article.published else None,
            language=desk.effective_language(db, result),
            authors=json.dumps(article.authors, ensure_ascii=False),
            image=article.image,
            feed_guid=result.guid,
            content_hash=result.content_hash,
            fingerprint=result.fingerprint,
            topics=json.dumps(result.topics),
            first_seen=now,
            last_seen=now,
            run_id=options.run_id,
            text_source=article.text_source,
            title_source=article.title_source,
            brief=int(article.brief),
        ),
    )
    articles.remember_urls(db, article_id, _urls_of(result))
    version_id = _save_version(db, article_id, result, now, options.run_id)
    desk.record_new(db, article_id, result, version_id)
    for related in article.related:  # an article's first links are never news
        _add_related(db, article_id, related, now, options.run_id)
    counts["articles_new"] += 1
    story_pending.hold(db, article_id, options.run_id, result.signature, _packed_terms(result))
    return article_id


def _packed_terms(result: PageResult) -> bytes | None:
    return pack_terms(*result.story_terms) if result.story_terms is not None else None


def _fingerprints(result: PageResult, now: str) -> dedup.Fingerprints:
    """What the extraction worker computed for dedup, as link_article and update_article take it."""
    article = result.article
    assert article is not None
    return dedup.Fingerprints(
        title=article.title or "",
        text=article.text,
        published=dedup.reliable_published(article.published, article.published_source),
        seen_at=now,
        content_hash=result.content_hash or "",
        fingerprint=result.fingerprint or 0,
        feed_guid=result.guid,
        signature=result.signature,
        terms=cast("tuple[dict[str, float], Groups] | None", result.story_terms),
    )


def _ingest_known(
    db: Database,
    existing: articles.KnownArticle,
    result: PageResult,
    options: IngestOptions,
    counts: Counter[str],
    now: str,
) -> int:
    article_id, old_text, _old_title, old_hash, story_id, duplicate_of = existing
    article = result.article
    assert article is not None
    counts["articles_seen"] += 1
    articles.mark_seen(db, article_id, now)
    articles.remember_urls(db, article_id, _urls_of(result))
    is_held = story_pending.is_held(db, article_id)  # stored this run (or by one that died)
    flag = not is_held and not options.baseline
    if result.content_hash != old_hash and dedup.is_material_change(old_text or "", article.text):
        articles.replace_text(db, article_id, article, result.content_hash, result.fingerprint, now)
        version_id = _save_version(db, article_id, result, now, options.run_id)
        desk.record_version(db, article_id, result, version_id)
        counts["articles_updated"] += 1
        if is_held:  # linked when the run ends, with this text
            story_pending.hold(
                db, article_id, options.run_id, result.signature, _packed_terms(result)
            )
            return article_id
        dedup.update_article(db, article_id, _fingerprints(result, now))
        news = copies.adds_text(db, article_id, duplicate_of, old_text or "", article.text)
        if duplicate_of is not None and copies.diverged(db, duplicate_of, article.text):
            detach_copy(db, article_id, story_id)  # linked again as a report of its own
            story_pending.hold(
                db,
                article_id,
                options.run_id,
                result.signature,
                _packed_terms(result),
                relink=True,
            )
            counts["copies_detached"] += 1
        if flag and news:
            _flag(
                db,
                counts,
                FlagKind.UPDATED,
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
                FlagKind.NEW_RELATED,
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
    return articles.save_version(
        db, article_id, article.title, article.text, result.content_hash, now, run_id
    )


def _add_related(
    db: Database, article_id: int, link: RelatedLink, now: str, run_id: int
) -> str | None:
    """Record a related link; its canonical URL when it was not known for this article."""
    url = canonicalize_url(link.url)
    return url if articles.add_related_link(db, article_id, url, link.title, now, run_id) else None


def _flag(
    db: Database,
    counts: Counter[str],
    kind: FlagKind,
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
