"""One generic spider for every source: feeds, sitemaps, section pages, known articles."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict, deque
from collections.abc import AsyncIterator, Iterator
from collections.abc import Set as AbstractSet
from typing import Any

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response, TextResponse
from scrapy.linkextractors import LinkExtractor
from twisted.python.failure import Failure

from crawler.core.failures import FailureKind
from crawler.core.items import FetchRecord, PageItem
from crawler.core.pages import PageJob, not_a_page, with_declared_bom
from crawler.core.throttle import THROTTLE_STATUSES
from crawler.core.urls import canonicalize_url, is_crawlable_url
from crawler.listings.discovery import (
    DiscoveryError,
    Entry,
    SitemapTooLarge,
    is_well_formed_stream,
    is_well_formed_xml,
    iter_sitemap,
    looks_like_feed,
    parse_feed,
)
from crawler.scraping.budgets import SourceBudget
from crawler.scraping.context import CrawlContext
from crawler.scraping.errors import RedirectLoop, Refused, RobotsUnavailable, Throttled

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
SITEMAPS_IN_FLIGHT = 2  # child sitemaps of one source downloaded or parsed at once


def _header(response: Response, name: str) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


def _canonical(url: str) -> str | None:
    try:
        return canonicalize_url(url)
    except ValueError:  # a bad port or IPv6 literal in a listed URL
        return None


def failure_kind(failure: Failure, max_size: int) -> tuple[FailureKind, str]:
    """(kind, readable reason) of a failed request, kind as counted in ``errors.<kind>``."""
    error = failure.value
    name = type(error).__name__
    message = str(error) or name
    response = getattr(error, "response", None)
    if response is not None and name == "HttpError":
        if response.status in THROTTLE_STATUSES:  # the reason ThrottleMiddleware read
            throttled = response.request.meta.get("throttled", f"HTTP {response.status}")
            return FailureKind.THROTTLED, throttled
        return FailureKind.HTTP, f"HTTP {response.status}"
    if isinstance(error, Throttled):
        return FailureKind.THROTTLED, message
    if name in _TIMEOUTS:
        return FailureKind.TIMEOUT, message
    if isinstance(error, RedirectLoop):
        return FailureKind.REDIRECT_LOOP, message
    if isinstance(error, RobotsUnavailable):
        return FailureKind.ROBOTS_UNAVAILABLE, message
    if name in _CANCELLED or "DOWNLOAD_MAXSIZE" in message or "max size" in message:
        if message == name:  # Scrapy cancels a body that grows past the limit without a word
            message = f"download cancelled: body larger than the max size ({max_size} bytes)"
        return FailureKind.TOO_LARGE, f"{name}: {message}"
    if isinstance(error, IgnoreRequest) and "redirections" in message:
        return FailureKind.REDIRECTS, message
    if name in _CONNECTION:
        return FailureKind.CONNECTION, f"{name}: {message}"
    return FailureKind.ERROR, f"{name}: {message}" if message != name else name


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
        self.budgets: dict[str, SourceBudget] = {}
        # Child sitemaps wait here and are read a few at a time per source, so a big index
        # never holds many 50 MB bodies at once, and a spent budget stops the rest unread.
        self.sitemap_queue: defaultdict[str, deque[tuple[str, str]]] = defaultdict(deque)
        self.sitemaps_in_flight: Counter[str] = Counter()
        self.parents: dict[str, str] = {}  # child sitemap -> the index that listed it
        # Per source: responses handled and requests failed, for its health in this run.
        self.source_fetched: Counter[str] = Counter()
        self.source_failed: Counter[str] = Counter()
        # Per source: URLs the host throttled, and articles it did answer (a source with the
        # first and none of the second got nothing but throttling this run).
        self.source_throttled: Counter[str] = Counter()
        self.source_articles: Counter[str] = Counter()

    async def start(self) -> AsyncIterator[Request]:
        for source in self.context.sources:
            for url in source.feeds:
                yield self._listing(url, source.name, "feed")
            for url in source.sitemaps:
                yield self._listing(url, source.name, "sitemap")
            for url in source.pages:
                yield self._listing(url, source.name, "section", hops=0)
            for url in self.context.recheck.get(source.name, []):
                if self._take_request(source.name, None):
                    yield self._article(url, source.name, None)

    # -- budgets ---------------------------------------------------------------------------

    def _budget(self, source: str) -> SourceBudget:
        if source not in self.budgets:
            self.budgets[source] = SourceBudget.of(self.context.config.crawl)
        return self.budgets[source]

    def _take_request(self, source: str, listing: str | None) -> bool:
        """Whether the source may make one more request this run (counted when not)."""
        if self._budget(source).take_request():
            return True
        self.context.counts["limits.requests_per_source"] += 1
        self._incomplete(listing)
        return False

    # -- request builders ------------------------------------------------------------------

    def _listing(
        self, url: str, source: str, kind: str, hops: int = 0, parent: str | None = None
    ) -> Request:
        meta: dict[str, Any] = {"source": source, "kind": kind, "conditional": True, "hops": hops}
        if parent is not None:
            meta["parent"] = parent
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
        off_topic = self.context.off_topic.kind(url)
        if off_topic is not None:  # a 304 keeps it known as off-topic
            meta["off_topic"] = off_topic
        return Request(url, callback=self.parse_article, errback=self.on_error, meta=meta)

    # -- callbacks -------------------------------------------------------------------------

    def _record(
        self,
        response: Response,
        kind: str,
        error: tuple[FailureKind, str] | None = None,
    ) -> FetchRecord:
        return FetchRecord(
            url=response.request.url if response.request else response.url,
            source=response.meta.get("source"),
            kind=kind,
            status=response.status,
            etag=_header(response, "ETag"),
            last_modified=_header(response, "Last-Modified"),
            body_hash=response.meta.get("body_hash"),
            error=error[1][:500] if error else None,
            error_kind=error[0] if error else None,
            lease=response.meta.get("nw_lease"),
            run=response.meta.get("nw_run"),
        )

    async def parse_listing(self, response: Response) -> AsyncIterator[Any]:
        """A feed or sitemap: queue the articles it lists (and child sitemaps)."""
        source = response.meta["source"]
        kind = response.meta["kind"]
        self.source_fetched[source] += 1
        if response.meta.get("unchanged"):
            self.context.counts["listings_unchanged"] += 1
            yield self._record(response, kind)
        elif kind == "feed" or looks_like_feed(response.body):
            for item in self._read_feed(response, source, kind):
                yield item
        else:
            async for item in self._read_sitemap(response, source):
                yield item
        for request in self._sitemap_done(response.meta):
            yield request

    def _own_urls(self, response: Response) -> set[str | None]:
        # An item without a link resolves to the listing itself: that is no article.
        request_url = response.request.url if response.request else None
        return {
            response.url,
            request_url,
            _canonical(response.url),
            _canonical(request_url) if request_url else None,
        }

    def _listing_error(self, response: Response, kind: str, error: Exception) -> FetchRecord:
        counted = FailureKind.TOO_LARGE if isinstance(error, SitemapTooLarge) else FailureKind(kind)
        self._incomplete(self.parents.get(response.request.url if response.request else ""))
        self.context.counts["errors"] += 1
        self.context.counts[f"errors.{counted}"] += 1
        self.source_failed[response.meta["source"]] += 1
        return self._record(response, kind, error=(counted, f"{type(error).__name__}: {error}"))

    def _read_feed(self, response: Response, source: str, kind: str) -> Iterator[Any]:
        try:
            own = self._own_urls(response)
            entries = [
                e for e in parse_feed(response.body, response.url) if _canonical(e.url) not in own
            ]
            if not entries and not is_well_formed_xml(response.body):
                raise DiscoveryError(f"not a readable {kind}: not well-formed XML, no entries")
        except (DiscoveryError, OSError, ValueError) as error:
            yield self._listing_error(response, kind, error)
            return
        self.context.counts[f"{kind}s_read"] += 1
        listing = response.request.url if response.request else response.url
        yield from self._entry_requests(entries, source, listing)
        # The record comes last: distributed mode acknowledges the request with it, which is
        # only right once every request it led to is queued.
        yield self._record(response, kind)

    def _entry_requests(
        self,
        entries: list[Entry],
        source: str,
        listing: str,
        own: AbstractSet[str | None] = frozenset(),
    ) -> Iterator[Request]:
        for entry in entries:
            url = _canonical(entry.url)
            if url is None:
                self.context.counts["skipped.bad_url"] += 1
            elif url in own:  # the listing itself, listed in it: no article
                continue
            elif self._recently_off_topic(url):
                continue
            elif self._take_request(source, listing):
                yield self._article(url, source, entry, listing=listing)

    async def _read_sitemap(self, response: Response, source: str) -> AsyncIterator[Any]:
        """Parse a sitemap as a stream within the source's budgets, letting the event loop
        (downloads, timeouts) run between pieces: a 50 MB sitemap starves no fetch."""
        crawl = self.context.config.crawl
        budget = self._budget(source)
        listing = response.request.url if response.request else response.url
        own = self._own_urls(response)
        found = children_found = parsed = 0

        def take() -> bool:
            """Whether the next <url> fits this sitemap's and the source's budgets."""
            nonlocal found
            found += 1
            if found > crawl.max_urls_per_sitemap:
                cap = "urls_per_sitemap"
            elif budget.requests <= 0:
                cap = "requests_per_source"
            elif not budget.take_sitemap_url():
                cap = "sitemap_urls"
            else:
                return True
            self.context.counts[f"limits.{cap}"] += 1
            self._incomplete(listing)
            return False

        try:
            for part in iter_sitemap(
                response.body, response.url, max_bytes=crawl.max_sitemap_bytes, take=take
            ):
                spent, parsed = part.parsed_bytes - parsed, part.parsed_bytes
                if not budget.take_sitemap_bytes(spent):
                    self.context.counts["limits.sitemap_bytes"] += 1
                    self._incomplete(listing)
                    break
                children_found += len(part.children)
                for request in self._child_sitemaps(part.children, source, listing):
                    yield request
                for request in self._entry_requests(part.entries, source, listing, own):
                    yield request
                await asyncio.sleep(0)  # let the reactor serve downloads between pieces
            if (
                not found
                and not children_found
                and not is_well_formed_stream(response.body, crawl.max_sitemap_bytes)
            ):
                raise DiscoveryError("not a readable sitemap: not well-formed XML, no entries")
        except (DiscoveryError, OSError, ValueError) as error:
            yield self._listing_error(response, "sitemap", error)
            return
        self.context.counts["sitemaps_read"] += 1
        yield self._record(response, "sitemap")

    def _child_sitemaps(self, children: list[str], source: str, parent: str) -> Iterator[Request]:
        """Queue an index's children (at most ``max_sitemaps`` per source and run)."""
        for child in children:
            self.sitemaps_seen[source] += 1
            if self.sitemaps_seen[source] > self.context.config.crawl.max_sitemaps:
                self.context.counts["limits.max_sitemaps"] += 1
                break
            self.parents.setdefault(child, parent)
            if self.context.distributed is not None:
                # Any worker may read it: the queue is shared, so is the order.
                yield self._listing(child, source, "sitemap", parent=parent)
            else:
                self.sitemap_queue[source].append((child, parent))
        yield from self._release_sitemaps(source)

    def _release_sitemaps(self, source: str) -> Iterator[Request]:
        queue = self.sitemap_queue[source]
        while queue and self.sitemaps_in_flight[source] < SITEMAPS_IN_FLIGHT:
            if self._budget(source).sitemaps_exhausted:
                # The budget is spent: the rest stay unread this run, and their index is read
                # again next run (it is incomplete).
                self.context.counts["limits.sitemaps_not_read"] += len(queue)
                for _, parent in queue:
                    self._incomplete(parent)
                queue.clear()
                return
            child, parent = queue.popleft()
            self.sitemaps_in_flight[source] += 1
            yield self._listing(child, source, "sitemap", parent=parent)

    def _sitemap_done(self, meta: dict[str, Any]) -> Iterator[Request]:
        """A queued child sitemap was read (or failed): let the next one go."""
        if meta.get("kind") != "sitemap" or "parent" not in meta:
            return
        if self.context.distributed is not None:
            return
        source = meta["source"]
        self.sitemaps_in_flight[source] = max(0, self.sitemaps_in_flight[source] - 1)
        yield from self._release_sitemaps(source)

    def parse_section(self, response: Response) -> Iterator[Any]:
        """A section or front page: follow its links (within scope) as article candidates."""
        self.source_fetched[response.meta["source"]] += 1
        yield from self._follow_links(response)
        yield self._record(response, "section")

    def _follow_links(self, response: Response) -> Iterator[Request]:
        hops = response.meta.get("hops")
        if hops is None or hops >= self.context.config.crawl.max_depth:
            return
        if not isinstance(response, TextResponse):
            return
        source = response.meta["source"]
        page = response.request.url if response.request else response.url
        cap = self.context.config.crawl.max_links_per_page
        links = [
            link
            for link in self.link_extractor.extract_links(response)
            if is_crawlable_url(link.url)
        ]
        if len(links) > cap:
            self.context.counts["limits.links_per_page"] += len(links) - cap
            links = links[:cap]
        for link in links:
            url = canonicalize_url(link.url)
            if self._recently_off_topic(url):
                continue
            if self._take_request(source, page if response.meta["kind"] == "section" else None):
                yield self._article(url, source, None, hops=hops + 1)

    def parse_article(self, response: Response) -> Iterator[Any]:
        """An article candidate: unchanged ones are only recorded, others extracted."""
        self.source_fetched[response.meta["source"]] += 1
        self.source_articles[response.meta["source"]] += 1
        if response.meta.get("unchanged"):
            self.context.counts["articles_unchanged"] += 1
            yield self._record(response, response.meta.get("off_topic", "article"))
            return
        body = with_declared_bom(response.body, _header(response, "Content-Type"))
        problem = not_a_page(body)
        if problem is not None:
            kind, reason = problem
            self._incomplete(response.meta.get("listing"))
            self.context.counts["errors"] += 1
            self.context.counts[f"errors.{kind}"] += 1
            yield self._record(response, "article", error=(kind, reason))
            return
        entry: Entry | None = response.meta.get("entry")
        request_url = response.request.url if response.request else response.url
        job = PageJob(
            url=response.url,
            body=body,
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

    def _recently_off_topic(self, url: str) -> bool:
        """A page judged off-topic (same topics) inside the recheck window: not fetched."""
        if not self.context.off_topic.recent(url):
            return False
        self.context.counts["skipped.known_off_topic"] += 1
        return True

    def _incomplete(self, listing: str | None) -> None:
        """Read this listing (and the index that listed it) again next run, even unchanged."""
        while listing is not None and listing not in self.incomplete_listings:
            self.incomplete_listings.add(listing)
            listing = self.parents.get(listing)

    def on_error(self, failure: Failure) -> Iterator[FetchRecord | Request]:
        """Record a failed request (HTTP error, timeout, refused, too big) and carry on."""
        request: Request = failure.request  # type: ignore[attr-defined]
        response = getattr(failure.value, "response", None)
        if is_refusal(failure):
            self.context.counts["refused"] += 1
            if not failure.check(Refused):  # scope refusals count themselves by reason
                self.context.counts["refused.robots"] += 1
            kind, message = FailureKind.REFUSED, str(failure.value)
        else:
            max_size = request.meta.get(
                "download_maxsize", self.context.config.crawl.max_page_bytes
            )
            kind, message = failure_kind(failure, max_size)
            self._incomplete(request.meta.get("listing"))
            self._incomplete(request.meta.get("parent"))
            self.context.counts["errors"] += 1
            self.context.counts[f"errors.{kind}"] += 1
            if request.meta.get("source"):
                self.source_failed[request.meta["source"]] += 1
                if kind == "throttled":
                    self.source_throttled[request.meta["source"]] += 1
            if response is not None:
                self.context.counts[f"http_status.{response.status}"] += 1
        # A redirect that failed (loop, off-site) is recorded under the URL that was listed.
        yield FetchRecord(
            url=request.meta.get("redirect_urls", [request.url])[0],
            source=request.meta.get("source"),
            kind=request.meta.get("kind", "page"),
            status=response.status if response is not None else None,
            error=message[:500],
            error_kind=kind,
            lease=request.meta.get("nw_lease"),
            run=request.meta.get("nw_run"),
        )
        yield from self._sitemap_done(request.meta)
