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
from crawler.discovery import (
    DiscoveryError,
    Entry,
    is_well_formed_xml,
    looks_like_feed,
    parse_feed,
    parse_sitemap,
)
from crawler.items import FetchRecord, PageItem
from crawler.pages import PageJob, not_a_page
from crawler.scraping.errors import RedirectLoop, Refused
from crawler.urls import canonicalize_url, is_crawlable_url

_TIMEOUTS = {"DownloadTimeoutError", "TimeoutError", "TCPTimedOutError", "UserTimeoutError"}
_CONNECTION = {
    "DownloadConnectionRefusedError",
    "ConnectionRefusedError",
    "ConnectionLost",
    "ConnectionDone",
    "ResponseNeverReceived",
    "ResponseFailed",
    "DNSLookupError",
    "CannotResolveHostError",
    "ResponseDataLossError",
    "DownloadFailedError",
    "ConnectError",
    "ConnectionResetError",
}
_CANCELLED = {"DownloadCancelledError", "CancelledError"}


def _header(response: Response, name: str) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


def _canonical(url: str) -> str | None:
    try:
        return canonicalize_url(url)
    except ValueError:  # a bad port or IPv6 literal in a listed URL
        return None


def failure_kind(failure: Failure, max_size: int) -> tuple[str, str]:
    """(kind, readable reason) of a failed request, kind as counted in ``errors.<kind>``."""
    error = failure.value
    name = type(error).__name__
    message = str(error) or name
    response = getattr(error, "response", None)
    if response is not None and name == "HttpError":
        return "http", f"HTTP {response.status}"
    if name in _TIMEOUTS:
        return "timeout", message
    if isinstance(error, RedirectLoop):
        return "redirect_loop", message
    if name in _CANCELLED or "DOWNLOAD_MAXSIZE" in message or "max size" in message:
        if message == name:  # Scrapy cancels a body that grows past the limit without a word
            message = f"download cancelled: body larger than the max size ({max_size} bytes)"
        return "too_large", f"{name}: {message}"
    if isinstance(error, IgnoreRequest) and "redirections" in message:
        return "redirects", message
    if name in _CONNECTION:
        return "connection", f"{name}: {message}"
    return name, message


def is_refusal(failure: Failure) -> bool:
    """Scope, scheme and robots.txt refusals: the crawler being polite, not a failure."""
    if failure.check(Refused):
        return True
    return bool(failure.check(IgnoreRequest)) and str(failure.value) == "Forbidden by robots.txt"


class NewsSpider(scrapy.Spider):
    """Crawls the configured sources once; everything it finds goes to the storage pipeline."""

    name = "news"

    def __init__(self, context: CrawlContext, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.context = context
        self.sitemaps_seen: Counter[str] = Counter()
        # Listings with an article that failed this run: read again next run, even unchanged.
        self.incomplete_listings: set[str] = set()
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

    def _article(
        self,
        url: str,
        source: str,
        entry: Entry | None,
        hops: int | None = None,
        listing: str | None = None,
    ) -> Request:
        meta: dict[str, Any] = {"source": source, "kind": "article", "conditional": True}
        if listing is not None:
            meta["listing"] = listing
        if entry is not None:
            meta["entry"] = entry
        if hops is not None:
            meta["hops"] = hops
        return Request(url, callback=self.parse_article, errback=self.on_error, meta=meta)

    # -- callbacks -------------------------------------------------------------------------

    def _record(self, response: Response, kind: str, error: str | None = None) -> FetchRecord:
        return FetchRecord(
            url=response.request.url if response.request else response.url,
            source=response.meta.get("source"),
            kind=kind,
            status=response.status,
            etag=_header(response, "ETag"),
            last_modified=_header(response, "Last-Modified"),
            body_hash=response.meta.get("body_hash"),
            error=error,
            lease=response.meta.get("nw_lease"),
            run=response.meta.get("nw_run"),
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
                    body, response.url, self.context.config.crawl.max_urls_per_sitemap
                )
            # An item without a link resolves to the listing itself: that is no article.
            own = {
                _canonical(response.url),
                _canonical(response.request.url) if response.request else None,
            }
            entries = [e for e in entries if _canonical(e.url) not in own]
            if not entries and not children and not is_well_formed_xml(body):
                raise DiscoveryError(f"not a readable {kind}: not well-formed XML, no entries")
        except (DiscoveryError, OSError, ValueError) as error:
            self.context.counts["errors"] += 1
            self.context.counts[f"errors.{kind}"] += 1
            yield self._record(response, kind, error=f"{kind}: {type(error).__name__}: {error}")
            return
        self.context.counts[f"{kind}s_read"] += 1
        for child in children:
            self.sitemaps_seen[source] += 1
            if self.sitemaps_seen[source] > self.context.config.crawl.max_sitemaps:
                self.context.counts["limits.max_sitemaps"] += 1
                break
            yield self._listing(child, source, "sitemap")
        listing = response.request.url if response.request else response.url
        for entry in entries:
            url = _canonical(entry.url)
            if url is None:
                self.context.counts["skipped.bad_url"] += 1
                continue
            yield self._article(url, source, entry, listing=listing)
        # The record comes last: distributed mode acknowledges the request with it, which is
        # only right once every request it led to is queued.
        yield self._record(response, kind)

    def _maybe_gunzip(self, response: Response) -> bytes:
        body = response.body
        if body[:2] == b"\x1f\x8b":
            from scrapy.utils.gz import gunzip

            return gunzip(body, max_size=self.context.config.crawl.max_sitemap_bytes)
        return body

    def parse_section(self, response: Response) -> Iterator[Any]:
        """A section or front page: follow its links (within scope) as article candidates."""
        yield from self._follow_links(response)
        yield self._record(response, "section")

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
        problem = not_a_page(response.body)
        if problem is not None:
            kind, reason = problem
            self._incomplete(response.meta.get("listing"))
            self.context.counts["errors"] += 1
            self.context.counts[f"errors.{kind}"] += 1
            yield self._record(response, "article", error=f"{kind}: {reason}")
            return
        entry: Entry | None = response.meta.get("entry")
        request_url = response.request.url if response.request else response.url
        job = PageJob(
            url=response.url,
            body=response.body,
            source=response.meta["source"],
            request_url=request_url,
            fallback_title=entry.title if entry else None,
            fallback_published=entry.published if entry else None,
            fallback_published_source=entry.origin if entry else None,
            guid=entry.guid if entry else None,
        )
        yield from self._follow_links(response)
        yield PageItem(
            job,
            {
                "status": response.status,
                "etag": _header(response, "ETag"),
                "last_modified": _header(response, "Last-Modified"),
                "body_hash": response.meta.get("body_hash"),
            },
            lease=response.meta.get("nw_lease"),
            run=response.meta.get("nw_run"),
        )

    def _incomplete(self, listing: str | None) -> None:
        if listing is not None:
            self.incomplete_listings.add(listing)

    def on_error(self, failure: Failure) -> Iterator[FetchRecord]:
        """Record a failed request (HTTP error, timeout, refused, too big) and carry on."""
        request: Request = failure.request  # type: ignore[attr-defined]
        response = getattr(failure.value, "response", None)
        if is_refusal(failure):
            self.context.counts["refused"] += 1
            if not failure.check(Refused):  # scope refusals count themselves by reason
                self.context.counts["refused.robots"] += 1
            kind, message = "refused", str(failure.value)
        else:
            max_size = request.meta.get(
                "download_maxsize", self.context.config.crawl.max_page_bytes
            )
            kind, message = failure_kind(failure, max_size)
            self._incomplete(request.meta.get("listing"))
            self.context.counts["errors"] += 1
            self.context.counts[f"errors.{kind}"] += 1
            if response is not None:
                self.context.counts[f"http_status.{response.status}"] += 1
        # A redirect that failed (loop, off-site) is recorded under the URL that was listed.
        yield FetchRecord(
            url=request.meta.get("redirect_urls", [request.url])[0],
            source=request.meta.get("source"),
            kind=request.meta.get("kind", "page"),
            status=response.status if response is not None else None,
            error=f"{kind}: {message}"[:500],
            lease=request.meta.get("nw_lease"),
            run=request.meta.get("nw_run"),
        )
