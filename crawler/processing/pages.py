"""Per-page work done off the event loop: extraction, topic match, fingerprints.

``process_page`` is a plain function of picklable inputs so it runs the same in a worker
process (the crawl's pool), in the main process (tests), or in a distributed worker.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import urlsplit

from crawler.core.failures import FailureKind
from crawler.core.models import Article, RelatedLink
from crawler.core.pages import PageJob as PageJob
from crawler.core.pages import PageResult as PageResult
from crawler.core.pages import not_a_page as not_a_page
from crawler.core.pages import with_declared_bom as with_declared_bom
from crawler.core.sanitize import strip_controls
from crawler.core.urls import choose_canonical
from crawler.extraction.extract import (
    MIN_ARTICLE_CHARS,
    extract_article,
    extract_from_tree,
    looks_like_frame,
)
from crawler.extraction.pagemeta import detect_language, parse_html
from crawler.stories.dedup_text import text_digests
from crawler.stories.terms import story_terms
from crawler.topics.prefilter import could_match, page_text
from crawler.topics.query import Query, matching_topics, parse_query

# Listing pages (front pages, sections, tags) declare themselves: a hint, see is_listing_page.
_LISTING_TYPE = re.compile(
    rb"""<meta[^>]+(?:property|name)=["']og:type["'][^>]+content=["'](?:website|blog|profile)["']"""
    rb"""|<meta[^>]+content=["'](?:website|blog|profile)["'][^>]+(?:property|name)=["']og:type["']""",
    re.IGNORECASE,
)

# A paragraph this long is article evidence on a page whose head says og:type=website.
_LONG_BLOCK = 200


_compiled_topics: list[tuple[str, Query]] | None = None
_topics_configured = False
_prefilter = True


def configure_topics(topics: Sequence[tuple[str, str]], prefilter: bool = True) -> None:
    """Compile the watched topics once per process (the pool initializer calls this).

    ``prefilter``: skip the extraction of pages that no topic can match
    (``crawler.topics.prefilter``).
    """
    global _compiled_topics, _topics_configured, _prefilter
    _compiled_topics = [(name, parse_query(query)) for name, query in topics]
    _topics_configured = bool(topics)
    _prefilter = prefilter


def reset_caches() -> None:
    """Drop what extraction cached in this process (trafilatura, htmldate, courlan, word
    hashes), so that a long-lived process does not carry one run's caches into the next."""
    from trafilatura.meta import reset_caches as reset_trafilatura

    from crawler.stories.dedup_text import clear_word_hashes

    reset_trafilatura()
    clear_word_hashes()


def is_listing_page(body: bytes) -> bool:
    """True when the page's head says it is a website/section page (og:type=website).

    A hint, not a verdict: :func:`not_article_reason` keeps such a page when it carries
    article evidence.
    """
    head_end = body.find(b"</head>", 0, 200_000)
    return bool(_LISTING_TYPE.search(body, 0, head_end if head_end > 0 else 65_536))


def without_controls(article: Article) -> Article:
    """The article with no control characters or escape sequences in what is stored: a
    page, or the feed or sitemap title used for a page without one, may carry them (a
    clear-screen, a clipboard write); stripped before hashing, so copies still match."""
    article.title = strip_controls(article.title).strip() if article.title else article.title
    article.text = strip_controls(article.text)
    if article.description:
        article.description = strip_controls(article.description)
    if article.site:
        article.site = strip_controls(article.site)
    article.authors = [strip_controls(author) for author in article.authors]
    article.related = [
        RelatedLink(link.url, strip_controls(link.title)) for link in article.related
    ]
    return article


def _is_section_url(url: str | None) -> bool:
    """A front or section page address: "/", "/world/" (one segment ending in a slash)."""
    path = urlsplit(url or "").path
    segments = [s for s in path.split("/") if s]
    return not segments or (len(segments) == 1 and path.endswith("/"))


def has_article_evidence(article: Article) -> bool:
    """One long text block, or a headline with a byline or a date, over enough text, at an
    address that is not a front or section page (whose lead teaser can be long)."""
    if len(article.text) < MIN_ARTICLE_CHARS or _is_section_url(article.url):
        return False
    if any(len(p) >= _LONG_BLOCK for p in article.text.split("\n\n")):
        return True
    return bool(article.title and (article.published or article.authors))


# A brief: a short report of one or more full sentences, kept with article evidence.
MIN_BRIEF_CHARS = 150
_SENTENCE = re.compile(r"[^.!?]*\w[^.!?]*[.!?][\"'”’»)]*(?=\s|$)")
_MIN_SENTENCE_WORDS = 6
_SENTENCE_SHARE = 0.6  # of a brief's characters in full sentences (not labels and links)
_ARTICLE_TYPE = re.compile(
    rb"""<meta[^>]+(?:property|name)=["']og:type["'][^>]+content=["']article["']"""
    rb"""|<meta[^>]+content=["']article["'][^>]+(?:property|name)=["']og:type["']""",
    re.IGNORECASE,
)


def is_brief_text(text: str) -> bool:
    """One or more full sentences: most of the text in sentences of several words that end
    with a full stop (a flash, a two-paragraph brief), not a list of labels or headlines."""
    if len(text) < MIN_BRIEF_CHARS or looks_like_frame(text):
        return False
    sentences = [m.group(0) for m in _SENTENCE.finditer(text)]
    full = [x for x in sentences if len(x.split()) >= _MIN_SENTENCE_WORDS]
    return bool(full) and sum(len(x) for x in full) >= _SENTENCE_SHARE * len(text)


def brief_evidence(article: Article, job: PageJob) -> str | None:
    """What says a short page is a report: a byline, a date (metadata, dateline, feed…),
    og:type=article, or a feed or news-sitemap entry; None when nothing does."""
    if article.authors:
        return "byline"
    if article.published:
        return f"date ({article.published_source})"
    if job.fallback_title:
        return "feed entry"
    head_end = job.body.find(b"</head>", 0, 200_000)
    if _ARTICLE_TYPE.search(job.body, 0, head_end if head_end > 0 else 65_536):
        return "og:type article"
    return None


_LISTING_REASON = "listing (og:type website, no article evidence)"


def not_article_reason(
    article: Article, listing_hint: bool, job: PageJob | None = None
) -> tuple[str, str] | None:
    """Why an extracted page is not stored as an article: (the cause it is counted under,
    a readable reason); None to store it.

    A text under the article length is stored as a brief (``article.brief`` set) when it is
    full sentences, the page carries article evidence and the address is no front or
    section page. A page is never refused for want of a title.
    """
    if len(article.text) < MIN_ARTICLE_CHARS:
        if _is_section_url(article.url) and len(article.text) >= MIN_BRIEF_CHARS:
            return "section_page", f"front or section page, too short ({len(article.text)} chars)"
        if not is_brief_text(article.text):
            return "too_short", f"too short ({len(article.text)} chars)"
        if listing_hint and not (article.authors or article.published):
            return "listing", _LISTING_REASON
        if job is None or brief_evidence(article, job) is None:
            return "no_evidence", f"too short, no article evidence ({len(article.text)} chars)"
        article.brief = True
    elif listing_hint and not has_article_evidence(article):
        return "listing", _LISTING_REASON
    return None


def _no_article(
    job: PageJob,
    key_url: str | None = None,
    *,
    prefiltered: bool = False,
    error: tuple[FailureKind, str] | None = None,
    reason: tuple[str, str] | None = None,
) -> PageResult:
    """The result for a page that gave no article, and why (prefiltered, error or reason)."""
    return PageResult(
        job.url,
        key_url or choose_canonical(job.url, None),
        job.source,
        None,
        request_url=job.request_url,
        error=error[1] if error else None,
        error_kind=error[0] if error else None,
        prefiltered=prefiltered,
        reason=reason[1] if reason else None,
        reason_cause=reason[0] if reason else None,
    )


def process_page(job: PageJob) -> PageResult:
    """Extract, match topics and fingerprint one page; never raises for a bad page.

    With topics configured, a page that the pre-filter shows cannot match is not extracted,
    and an extracted page that matches no topic gets no fingerprints, story terms or
    language identification: it is only recorded as off-topic.
    A page read fine but not stored gets its ``reason`` (recorded in ``fetches``).
    """
    listing_hint = is_listing_page(job.body)
    try:
        tree = parse_html(job.body)
        if tree is None:  # extract_article's own path for a page that is no HTML
            article = extract_article(
                job.body,
                job.url,
                fallback_title=job.fallback_title,
                fallback_published=job.fallback_published,
                fallback_published_source=job.fallback_published_source,
                identify_language=False,
            )
        elif (
            _topics_configured
            and _prefilter
            and not could_match(_compiled_topics or [], page_text(tree, [job.fallback_title]))
        ):
            return _no_article(job, prefiltered=True)
        else:
            article = extract_from_tree(
                tree,
                job.url,
                fallback_title=job.fallback_title,
                fallback_published=job.fallback_published,
                fallback_published_source=job.fallback_published_source,
                identify_language=False,
                source_html=job.body,
            )
    except Exception as error:  # a broken page is a recorded failure, not a crashed crawl
        return _no_article(job, error=(FailureKind.EXTRACTION, f"{type(error).__name__}: {error}"))
    article = without_controls(article)
    key_url = choose_canonical(job.url, article.canonical_url)
    reason = not_article_reason(article, listing_hint, job)
    if reason is not None:
        return _no_article(job, key_url, reason=reason)
    topics: list[str] = []
    if _topics_configured:
        topics = matching_topics(_compiled_topics or [], article.title or "", article.text)
        if not topics:  # recorded as off-topic, nothing more: ingest stores none of it
            return PageResult(job.url, key_url, job.source, article, request_url=job.request_url)
    if article.language is None and job.identify_language:
        article.language = detect_language(article.text)
    digest, fingerprint, signature = text_digests(article.text)
    return PageResult(
        url=job.url,
        key_url=key_url,
        source=job.source,
        article=article,
        topics=topics,
        content_hash=digest,
        fingerprint=fingerprint,
        signature=signature,
        story_terms=story_terms(article.title or "", article.text),
        guid=job.guid,
        request_url=job.request_url,
    )
