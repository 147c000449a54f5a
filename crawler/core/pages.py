"""A fetched page and what its processing gives: the data handed between the crawl's
processes (picklable), and the cheap byte checks made before any parsing."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from crawler.core.failures import FailureKind
from crawler.core.models import Article


@dataclass
class PageJob:
    """A fetched page to process, with what the feed or sitemap said about it."""

    url: str
    body: bytes
    source: str
    request_url: str | None = None
    fallback_title: str | None = None
    fallback_published: str | None = None
    fallback_published_source: str | None = None  # "feed" or "sitemap"
    guid: str | None = None
    # False: leave an undeclared language to the caller (the crawl identifies it in its own
    # process, so that the 77 MB language model is loaded once, not in every worker)
    identify_language: bool = True


@dataclass
class PageResult:
    url: str
    key_url: str
    source: str
    article: Article | None
    topics: list[str] = field(default_factory=list)
    content_hash: str | None = None
    fingerprint: int | None = None
    signature: bytes | None = None  # MinHash-LSH keys, computed off the main process
    # story_terms(title, text), parsed here too: the one writer then only looks up and decides
    # (terms, crawler.stories.terms.Groups); core names no type of the parts above it
    story_terms: tuple[dict[str, float], dict[str, str]] | None = None
    guid: str | None = None
    request_url: str | None = None
    # Processing failed: how (extraction, worker_died) and a readable message.
    error: str | None = None
    error_kind: FailureKind | None = None
    # The topic pre-filter showed that no watched topic can match: nothing was extracted.
    prefiltered: bool = False
    # Why a page that was read fine is not stored as an article ("listing (og:type website,
    # no article evidence)"), and the cause it is counted under (``not_article.listing``).
    reason: str | None = None
    reason_cause: str | None = None

    @property
    def is_article(self) -> bool:
        return self.article is not None


# Bytes that never occur in an HTML page (TAB, LF, FF and CR do).
_CONTROL = bytes(set(range(32)) - {9, 10, 12, 13})


_UTF16_DECLARED = re.compile(r"charset\s*=\s*[\"']?\s*utf-?16(-?[lb]e)?", re.IGNORECASE)


def with_declared_bom(body: bytes, content_type: str | None) -> bytes:
    """A body declared UTF-16 only in its Content-Type header, with the byte-order mark that
    says so in the bytes themselves (which the binary check and the HTML parser read);
    every other body unchanged."""
    if not content_type or body.startswith((b"\xff\xfe", b"\xfe\xff")):
        return body
    match = _UTF16_DECLARED.search(content_type)
    if match is None:
        return body
    order = (match.group(1) or "").lower().lstrip("-")
    if not order:  # "utf-16" without a BOM: ASCII markup puts its zero bytes on one side
        head = body[:512]
        order = "be" if head[0::2].count(0) > head[1::2].count(0) else "le"
    return (b"\xff\xfe" if order == "le" else b"\xfe\xff") + body


def not_a_page(body: bytes) -> tuple[FailureKind, str] | None:
    """(kind, reason) when a body cannot be an HTML page: empty, or binary bytes."""
    if not body.strip():
        return FailureKind.EMPTY, "empty body"
    head = body[:4096]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with a BOM
        return None
    if b"\x00" in head or sum(head.count(c) for c in _CONTROL) > len(head) // 20:
        return FailureKind.NOT_HTML, "binary content, not an HTML page"
    return None
