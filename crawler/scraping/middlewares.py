"""Downloader middlewares: scope, redirect loops, quick meta refresh, conditional GET,
robots.txt, extraction backpressure."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import urljoin, urlsplit

from scrapy import signals
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware
from scrapy.exceptions import IgnoreRequest, NotConfigured, StopDownload
from scrapy.http import Request, Response
from scrapy.http.request import NO_CALLBACK
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import build_from_crawler, load_object
from twisted.internet.defer import Deferred
from w3lib.url import safe_url_string

from crawler.core.failures import FailureKind
from crawler.core.fetch_policy import FetchRefused
from crawler.core.items import FetchRecord
from crawler.core.robots import (
    ROBOTS_MAX_BYTES,
    RobotsOutcome,
    outcome_for_error,
    outcome_for_response,
)
from crawler.core.throttle import (
    MAX_RETRY_AFTER,
    THROTTLE_STATUSES,
    parse_retry_after,
    relaxed_delay,
    throttle_reason,
    throttled_delay,
)
from crawler.core.urls import canonicalize_url, is_crawlable_url, url_in_domains
from crawler.scraping.context import context_of
from crawler.scraping.errors import RedirectLoop, Refused, RobotsUnavailable, Throttled
from crawler.scraping.resolver import PolicyResolver, policy_of
from crawler.store.storage import get_fetch_state

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from sqlite_utils import Database


def body_hash(body: bytes) -> str:
    return hashlib.blake2b(body, digest_size=16).hexdigest()


class _WithCrawler:
    """A middleware that needs nothing but the crawler (its context, stats and settings)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)


class ExtractionBackpressureMiddleware(_WithCrawler):
    """Article downloads wait while the extraction pool has a full backlog.

    Without it a fast site fills memory with fetched pages waiting for extraction (up to
    Scrapy's scraper limit, which leaves room for a sitemap of the maximum size).
    Feeds, sitemaps and section pages never wait: they are not extracted.
    """

    async def process_request(self, request: Request) -> None:
        if request.meta.get("kind") != "article":
            return
        pool = context_of(self.crawler).extraction
        if pool is not None:
            await pool.wait_for_room()


class FetchPolicyMiddleware(_WithCrawler):
    """Every request (robots.txt and redirects included) through the fetch policy
    (``crawler.core.fetch_policy``): its scheme and a literal address here, the addresses
    of a name in ``PolicyResolver`` after each lookup."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.policy = policy_of(crawler.settings)

    def process_request(self, request: Request) -> None:
        try:
            self.policy.check_url(request.url)
        except FetchRefused as refusal:
            why = "scheme" if "(scheme)" in str(refusal) else "address"
            self.crawler.stats.inc_value(f"newswatch/refused/{why}")
            context_of(self.crawler).counts[f"refused.{why}"] += 1
            raise Refused(str(refusal)) from None

    def process_exception(self, request: Request, exception: Exception) -> None:
        """A lookup the resolver refused fails with the policy's reason, not "no results"."""
        host = (urlparse_cached(request).hostname or "").lower()
        reason = PolicyResolver.refused.get(host)
        if reason is not None and "DNS" in type(exception).__name__ + str(exception):
            self.crawler.stats.inc_value("newswatch/refused/address")
            context_of(self.crawler).counts["refused.address"] += 1
            raise Refused(reason)


class SourceScopeMiddleware(_WithCrawler):
    """Drop requests (redirects included) outside http(s) or the source's allowed domains."""

    def process_request(self, request: Request) -> None:
        if not is_crawlable_url(request.url):
            self._refuse(request, "scheme")
        source_name = request.meta.get("source")
        # robots.txt (and its redirects, up to five hops across hosts, RFC 9309 2.3.1.2) is
        # not the source's content: the fetch policy alone decides where it may go.
        if source_name is None or ROBOTS_META in request.meta:
            return
        source = context_of(self.crawler).source(source_name)
        if not url_in_domains(request.url, source.allowed_domains):
            self._refuse(request, "offsite")

    def _refuse(self, request: Request, why: str) -> None:
        self.crawler.stats.inc_value(f"newswatch/refused/{why}")
        context_of(self.crawler).counts[f"refused.{why}"] += 1
        raise Refused(f"refused ({why}): {request.url}")


class RedirectLoopMiddleware:
    """Fail a redirect that points back into its own chain, naming the loop; refuse one to
    another scheme (file:, ftp:, gopher:, javascript:) by its scheme.

    Without this Scrapy's duplicate filter silently drops the second visit of a looping URL,
    so the URL a feed listed ends up with no fetch record and no counted failure; and Scrapy
    leaves a redirect to another scheme as a bare 3xx, recorded as an HTTP error.
    """

    REDIRECT_CODES = (301, 302, 303, 307, 308)

    def __init__(self, crawler: Crawler | None = None) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RedirectLoopMiddleware:
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Response:
        location = response.headers.get("Location")
        if response.status not in self.REDIRECT_CODES or not location:
            return response
        target = urljoin(request.url, safe_url_string(location.decode("latin-1")))
        if urlsplit(target).scheme.lower() not in ("http", "https"):
            if self.crawler is not None:
                context_of(self.crawler).counts["refused.scheme"] += 1
            raise Refused(f"refused (scheme): redirect to {target[:200]}")
        chain = [*request.meta.get("redirect_urls", []), request.url]
        try:
            seen = {canonicalize_url(url) for url in chain}
            looping = canonicalize_url(target) in seen
        except ValueError:  # an unparseable Location: RedirectMiddleware deals with it
            return response
        if looping:
            raise RedirectLoop("redirect loop: " + " -> ".join([*chain, target]))
        return response


class ThrottleMiddleware(_WithCrawler):
    """Honour 429/503 and ``Retry-After`` per host (``crawler.core.throttle``): the host's
    download slot waits as asked (capped), backs off on repeated answers, relaxes on good
    ones; a host asking for longer than the cap is not fetched again this run."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.base = crawler.settings.getfloat("DOWNLOAD_DELAY")
        self.strikes: dict[str, int] = {}
        self.closed: dict[str, str] = {}  # slot key -> why

    def _slot(self, request: Request) -> tuple[str, Any]:
        assert self.crawler.engine is not None
        downloader = self.crawler.engine.downloader
        key = downloader.get_slot_key(request)
        return key, downloader.slots.get(key)

    def process_request(self, request: Request) -> None:
        if ROBOTS_META in request.meta or not self.closed:
            return
        key, _ = self._slot(request)
        if key in self.closed:
            raise Throttled(f"{self.closed[key]}; not fetched again this run")

    def process_response(self, request: Request, response: Response) -> Response:
        key, slot = self._slot(request)
        if response.status not in THROTTLE_STATUSES:
            if key in self.strikes and 200 <= response.status < 400:
                self.strikes.pop(key)
                if slot is not None:
                    slot.delay = relaxed_delay(slot.delay, self.base)
            return response
        raw = response.headers.get("Retry-After")
        retry_after = parse_retry_after(raw.decode("latin-1") if raw else None)
        reason = throttle_reason(response.status, retry_after)
        request.meta["throttled"] = reason
        context_of(self.crawler).counts["throttle.answers"] += 1
        strikes = self.strikes[key] = self.strikes.get(key, 0) + 1
        if retry_after is not None and retry_after > MAX_RETRY_AFTER:
            self.closed[key] = f"{reason}, more than the {MAX_RETRY_AFTER:g}s a run waits"
            request.meta["dont_retry"] = True
        elif slot is not None:
            slot.delay = throttled_delay(slot.delay, self.base, strikes, retry_after)
            slot.randomize_delay = False  # the host named the time: no earlier
        return response


def may_refresh(body: bytes) -> bool:
    """Whether a page can hold a ``<meta http-equiv="refresh">`` where Scrapy looks for one.

    Scrapy reads it from the first 4,096 characters, which fit in the first 16,384 bytes of
    any ASCII-compatible encoding; UTF-16 pages (rare) are always left to Scrapy.
    """
    if body.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    return b"refresh" in body[:16384].lower()


class QuickMetaRefreshMiddleware(MetaRefreshMiddleware):
    """Scrapy's meta-refresh redirects, without decoding every page to look for one.

    Scrapy decodes the whole body (``response.text``) of every HTML response to read its
    first 4,096 characters: about 0.3 ms of the crawl process's CPU per page, for a tag
    that almost no article has. A byte search settles most pages first.
    """

    # Scrapy 2.14+ calls it without `spider`; Scrapy's own annotation still lists it.
    def process_response(  # type: ignore[override]
        self, request: Request, response: Response
    ) -> Request | Response:
        if not may_refresh(response.body):
            return response
        return super().process_response(request, response)


def stored_validators(db: Database | None, url: str) -> dict[str, str | None] | None:
    """ETag, Last-Modified and body hash of a URL's last good fetch (None: no database, or
    nothing usable stored)."""
    if db is None:
        return None
    state = get_fetch_state(db, url)
    if state is None or state.status not in (200, 304):
        return None
    return {"etag": state.etag, "last_modified": state.last_modified, "body_hash": state.body_hash}


class ConditionalGetMiddleware(_WithCrawler):
    """Send If-None-Match / If-Modified-Since from stored state; mark unchanged bodies.

    A 304, or a 200 whose body hash equals the stored one, sets ``meta['unchanged']``:
    some servers change ETags for nothing, others keep them through a change.
    """

    def process_request(self, request: Request) -> None:
        if not request.meta.get("conditional"):
            return
        # A distributed worker has no database: the seeding side sent the validators along.
        validators = request.meta.get("validators")
        if validators is None:
            validators = stored_validators(
                context_of(self.crawler).db, request.meta.get("state_url", request.url)
            )
        if not validators:
            return
        request.meta["previous_body_hash"] = validators.get("body_hash")
        if etag := validators.get("etag"):
            request.headers.setdefault(b"If-None-Match", etag.encode("latin-1", "ignore"))
        if last_modified := validators.get("last_modified"):
            request.headers.setdefault(
                b"If-Modified-Since", last_modified.encode("latin-1", "ignore")
            )

    def process_response(self, request: Request, response: Response) -> Response:
        if response.status == 304:
            request.meta["unchanged"] = True
        elif response.status == 200:
            digest = body_hash(response.body)
            request.meta["body_hash"] = digest
            if digest == request.meta.get("previous_body_hash"):
                request.meta["unchanged"] = True
        return response


ROBOTS_META = "newswatch_robots"  # marks a robots.txt request (and its redirects)


class RobotsPolicyMiddleware:
    """robots.txt per RFC 9309: Scrapy's RobotsTxtMiddleware, adapted where it allows too much.

    Scrapy 2.19 parses whatever a robots.txt request answers (a 500 error page reads as
    "allow everything"), allows everything when the fetch fails (timeout, DNS, refused) or
    the file is over ``DOWNLOAD_MAXSIZE``, sends the request without its source (so scope
    checks never see its redirects), and hands "allow" to the second and later requests
    that waited for one host's robots.txt. This keeps its shape (one robots.txt per host and
    run, the configured parser, the ``robots_parsed`` signal) and decides with
    ``crawler.core.robots``: 5xx or unreachable closes the host for the run, recorded per host.
    """

    DOWNLOAD_PRIORITY = 1000

    def __init__(self, crawler: Crawler) -> None:
        if not crawler.settings.getbool("ROBOTSTXT_OBEY"):
            raise NotConfigured
        self.crawler = crawler
        self.user_agent: str = (
            crawler.settings.get("ROBOTSTXT_USER_AGENT") or crawler.settings["USER_AGENT"]
        )
        self.parser_class: Any = load_object(crawler.settings.get("ROBOTSTXT_PARSER"))
        self.max_page_bytes = crawler.settings.getint("DOWNLOAD_MAXSIZE")
        self.parsers: dict[str, Any] = {}  # netloc -> parser
        self.closed: dict[str, str] = {}  # netloc -> why the host is closed for the run
        self.waiting: dict[str, list[Deferred[Any]]] = {}
        crawler.signals.connect(self.headers_received, signal=signals.headers_received)
        crawler.signals.connect(self.bytes_received, signal=signals.bytes_received)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RobotsPolicyMiddleware:
        return cls(crawler)

    async def process_request(self, request: Request) -> None:
        if request.meta.get("dont_obey_robotstxt") or ROBOTS_META in request.meta:
            return
        netloc = urlparse_cached(request).netloc
        parser = await self._parser_for(netloc, request)
        if netloc in self.closed:
            self.crawler.stats.inc_value("robotstxt/host_closed")
            raise RobotsUnavailable(f"{self.closed[netloc]}: host not crawled this run")
        if not parser.allowed(request.url, self.user_agent):
            self.crawler.stats.inc_value("robotstxt/forbidden")
            raise IgnoreRequest("Forbidden by robots.txt")

    async def _parser_for(self, netloc: str, request: Request) -> Any:
        if netloc in self.parsers:
            return self.parsers[netloc]
        if netloc in self.waiting:  # another request is fetching it: wait for the answer
            waiter: Deferred[Any] = Deferred()
            self.waiting[netloc].append(waiter)
            return await maybe_deferred_to_future(waiter)
        self.waiting[netloc] = []
        url = f"{urlparse_cached(request).scheme}://{netloc}/robots.txt"
        meta = {
            ROBOTS_META: True,
            "source": request.meta.get("source"),
            "kind": "robots",
            # No size limit from Scrapy: bytes_received stops reading at ROBOTS_MAX_BYTES.
            "download_maxsize": 0,
            "download_warnsize": 0,
        }
        robots = Request(url, priority=self.DOWNLOAD_PRIORITY, meta=meta, callback=NO_CALLBACK)
        outcome, status = await self._fetch(robots)
        parser = build_from_crawler(self.parser_class, self.crawler, outcome.rules)
        self.parsers[netloc] = parser
        if outcome.unavailable_reason is not None:
            self.closed[netloc] = outcome.unavailable_reason
        self._record(url, netloc, request, outcome, status)
        await self.crawler.signals.send_catch_log_async(
            signal=signals.robots_parsed, robotparser=parser, request=request
        )
        for waiter in self.waiting.pop(netloc):
            waiter.callback(parser)
        return parser

    async def _fetch(self, robots: Request) -> tuple[RobotsOutcome, int | None]:
        stats = self.crawler.stats
        assert stats is not None and self.crawler.engine is not None
        stats.inc_value("robotstxt/request_count")
        try:
            response = await self.crawler.engine.download_async(robots)
        except Exception as error:  # every way of failing has a meaning here
            stats.inc_value(f"robotstxt/exception_count/{type(error).__name__}")
            # The crawler declining to follow (off scope, too many redirects) is "unavailable";
            # a compressed file inflating past the limit could not be read: "unreachable".
            refused = isinstance(error, IgnoreRequest) and "decompression" not in str(error)
            return outcome_for_error(error, refused=refused), None
        stats.inc_value("robotstxt/response_count")
        stats.inc_value(f"robotstxt/response_status_count/{response.status}")
        return outcome_for_response(response.status, response.body), response.status

    def _record(
        self, url: str, netloc: str, request: Request, outcome: RobotsOutcome, status: int | None
    ) -> None:
        """The host's verdict: counted on the run, and a fetch record when it is closed."""
        context = context_of(self.crawler)
        if outcome.unavailable_reason is None:
            if outcome.note:
                context.counts["robots.unavailable"] += 1
            return
        context.robots_closed[netloc] = outcome.unavailable_reason
        context.counts["robots.hosts_closed"] += 1
        context.counts["errors"] += 1
        context.counts["errors.robots_unavailable"] += 1
        reason = f"{outcome.unavailable_reason}; host not crawled this run"
        context.extra_records.append(
            FetchRecord(
                url=url,
                source=request.meta.get("source"),
                kind="robots",
                status=status,
                error=reason[:500],
                error_kind=FailureKind.ROBOTS_UNAVAILABLE,
            )
        )

    # -- reading at most ROBOTS_MAX_BYTES ------------------------------------------------------

    def headers_received(self, headers: Any, request: Request, **kwargs: Any) -> None:
        """A compressed robots.txt keeps the page size limit, which also bounds what it
        inflates to; a plain one is cut at ROBOTS_MAX_BYTES by ``bytes_received``."""
        if ROBOTS_META in request.meta and headers.get(b"Content-Encoding"):
            request.meta["download_maxsize"] = self.max_page_bytes

    def bytes_received(self, data: bytes, request: Request, **kwargs: Any) -> None:
        if ROBOTS_META not in request.meta or request.meta.get("download_maxsize"):
            return
        received = request.meta.get("robots_bytes", 0) + len(data)
        request.meta["robots_bytes"] = received
        if received >= ROBOTS_MAX_BYTES:
            raise StopDownload(fail=False)  # RFC 9309: parse what was read, 500 KiB at least
