"""One generic spider for every source: feeds, sitemaps, section pages, known articles."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response
from scrapy.linkextractors import LinkExtractor
from twisted.python.failure import Failure

from crawler.context import CrawlContext
from crawler.discovery import DiscoveryError, Entry, looks_like_feed, parse_feed, parse_sitemap
from crawler.items import FetchRecord, PageItem
from crawler.pages import PageJob
from crawler.urls import canonicalize_url, is_crawlable_url


def _header(response: Response, name: str) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


class NewsSpider(scrapy.Spider):
    """Crawls the configured sources once; everything it finds goes to the storage pipeline."""

    name = "news"

    def __init__(self, context: CrawlContext, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.context = context
        self.sitemaps_seen: Counter[str] = Counter()
        self.link_extractor = LinkExtractor(unique=True)

    async def start(self) -> AsyncIterator[Request]:
        for source in self.context.sources:
            for url in source.feeds:
                yield self._listing(url, source.name, "feed")
            for url in source.sitemaps:
                yield self._listing(url, source.name, "sitemap")
            for url in source.pages:
                yield self._listing(url, source.name, "section", hops=0)
            for url in self.context.recheck.get(source.name, []):
                yield self._article(url, source.name, None)

    # -- request builders ------------------------------------------------------------------

    def _listing(self, url: str, source: str, kind: str, hops: int = 0) -> Request:
        meta: dict[str, Any] = {"source": source, "kind": kind, "conditional": True, "hops": hops}
        callback = self.parse_section if kind == "section" else self.parse_listing
        if kind == "sitemap":
            meta["download_maxsize"] = self.context.config.crawl.max_sitemap_bytes
        # Listings are re-read on every run: the duplicate filter must not hide them.
        return Request(url, callback=callback, errback=self.on_error, meta=meta, dont_filter=True)

    def _article(self, url: str, source: str, entry: Entry | None, hops: int | None = None,
                 ) -> Request:
        meta: dict[str, Any] = {"source": source, "kind": "article", "conditional": True}
        if entry is not None:
            meta["entry"] = entry
        if hops is not None:
            meta["hops"] = hops
        return Request(url, callback=self.parse_article, errback=self.on_error, meta=meta)

    # -- callbacks -------------------------------------------------------------------------

    def _record(self, response: Response, kind: str, error: str | None = None) -> FetchRecord:
        return FetchRecord(
            url=response.request.url if response.request else response.url,
            source=response.meta.get("source"), kind=kind, status=response.status,
            etag=_header(response, "ETag"), last_modified=_header(response, "Last-Modified"),
            body_hash=response.meta.get("body_hash"), error=error,
        )

    def parse_listing(self, response: Response) -> Iterator[Any]:
        """A feed or sitemap: queue the articles it lists (and child sitemaps)."""
        source = response.meta["source"]
        kind = response.meta["kind"]
        if response.meta.get("unchanged"):
            self.context.counts["listings_unchanged"] += 1
            yield self._record(response, kind)
            return
        body = response.body
        try:
            if kind == "feed" or looks_like_feed(body):
                entries, children = parse_feed(body, response.url), []
            else:
                body = self._maybe_gunzip(response)
                entries, children = parse_sitemap(
                    body, response.url, self.context.config.crawl.max_urls_per_sitemap)
        except (DiscoveryError, OSError, ValueError) as error:
            self.context.counts["errors"] += 1
            self.context.counts[f"errors.{kind}"] += 1
            yield self._record(response, kind, error=f"{type(error).__name__}: {error}")
            return
        yield self._record(response, kind)
        self.context.counts[f"{kind}s_read"] += 1
        for child in children:
            self.sitemaps_seen[source] += 1
            if self.sitemaps_seen[source] > self.context.config.crawl.max_sitemaps:
                self.context.counts["limits.max_sitemaps"] += 1
                break
            yield self._listing(child, source, "sitemap")
        for entry in entries:
            url = canonicalize_url(entry.url)
            yield self._article(url, source, entry)

    def _maybe_gunzip(self, response: Response) -> bytes:
        body = response.body
        if body[:2] == b"\x1f\x8b":
            from scrapy.utils.gz import gunzip

            return gunzip(body, max_size=self.context.config.crawl.max_sitemap_bytes)
        return body

    def parse_section(self, response: Response) -> Iterator[Any]:
        """A section or front page: follow its links (within scope) as article candidates."""
        yield self._record(response, "section")
        yield from self._follow_links(response)

    def _follow_links(self, response: Response) -> Iterator[Request]:
        hops = response.meta.get("hops")
        if hops is None or hops >= self.context.config.crawl.max_depth:
            return
        if not hasattr(response, "text"):
            return
        source = response.meta["source"]
        for link in self.link_extractor.extract_links(response):
            if is_crawlable_url(link.url):
                yield self._article(canonicalize_url(link.url), source, None, hops=hops + 1)

    def parse_article(self, response: Response) -> Iterator[Any]:
        """An article candidate: unchanged ones are only recorded, others extracted."""
        if response.meta.get("unchanged"):
            self.context.counts["articles_unchanged"] += 1
            yield self._record(response, "article")
            return
        entry: Entry | None = response.meta.get("entry")
        request_url = response.request.url if response.request else response.url
        job = PageJob(
            url=response.url, body=response.body, source=response.meta["source"],
            request_url=request_url,
            fallback_title=entry.title if entry else None,
            fallback_published=entry.published if entry else None,
            guid=entry.guid if entry else None,
        )
        yield PageItem(job, {
            "status": response.status, "etag": _header(response, "ETag"),
            "last_modified": _header(response, "Last-Modified"),
            "body_hash": response.meta.get("body_hash"),
        })
        yield from self._follow_links(response)

    def on_error(self, failure: Failure) -> Iterator[FetchRecord]:
        """Record a failed request (HTTP error, timeout, refused, too big) and carry on."""
        request: Request = failure.request  # type: ignore[attr-defined]
        response = getattr(failure.value, "response", None)
        reason = failure.value.__class__.__name__
        message = str(failure.value) or reason
        if failure.check(IgnoreRequest) and response is None:
            # Robots.txt, scope and scheme refusals are the crawler being polite, not failures.
            self.context.counts["refused"] += 1
        else:
            self.context.counts["errors"] += 1
            self.context.counts[f"errors.{reason}"] += 1
        yield FetchRecord(
            url=request.url, source=request.meta.get("source"),
            kind=request.meta.get("kind", "page"),
            status=response.status if response is not None else None,
            error=f"{reason}: {message}"[:500],
        )
