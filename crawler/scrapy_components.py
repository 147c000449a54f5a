"""Thin Scrapy adapters over crawler/: scope, conditional GET, crawl-delay, storage."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import os
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from scrapy import signals
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Request, Response
from w3lib.url import safe_url_string

from crawler.ingest import IngestOptions, ingest_results, record_fetch_records
from crawler.items import FetchRecord, PageItem
from crawler.pagemeta import detect_language
from crawler.pages import PageResult, configure_topics, process_page, reset_caches
from crawler.storage import get_fetch_state, write_transaction
from crawler.urls import canonicalize_url, is_crawlable_url, url_in_domains

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    from crawler.context import CrawlContext

logger = logging.getLogger(__name__)


def _context(crawler: Crawler) -> CrawlContext:
    return crawler.spider.context  # type: ignore[union-attr]


def body_hash(body: bytes) -> str:
    return hashlib.blake2b(body, digest_size=16).hexdigest()


class Refused(IgnoreRequest):
    """A request the crawler declines to make (scheme, scope): politeness, not a failure."""


class RedirectLoop(IgnoreRequest):
    """A redirect back to a URL already in its own redirect chain."""


class RobotsCrawlDelay:
    """Honour robots.txt ``Crawl-delay`` (Scrapy ignores it) as the host's minimum delay."""

    def __init__(self, crawler: Crawler) -> None:
        if not crawler.settings.getbool("ROBOTSTXT_OBEY"):
            raise NotConfigured
        self.crawler = crawler
        self.max_delay = 60.0  # a robots.txt asking for an hour per page is not honoured as such
        crawler.signals.connect(self.robots_parsed, signal=signals.robots_parsed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RobotsCrawlDelay:
        return cls(crawler)

    def robots_parsed(self, robotparser: Any, request: Request) -> None:
        agent = self.crawler.settings.get("USER_AGENT")
        delay = robotparser.crawl_delay(agent) if hasattr(robotparser, "crawl_delay") else None
        if not delay:
            return
        delay = min(float(delay), self.max_delay)
        downloader = self.crawler.engine.downloader  # type: ignore[union-attr]
        key = downloader.get_slot_key(request)
        current = downloader.per_slot_settings.get(key, {})
        if delay > current.get("delay", downloader._delay):
            # per_slot_settings survives the slot being garbage-collected when idle.
            downloader.per_slot_settings[key] = {**current, "delay": delay, "concurrency": 1}
            if key in downloader.slots:
                downloader.slots[key].delay = delay
                downloader.slots[key].concurrency = 1
        self.crawler.stats.set_value(f"newswatch/crawl_delay/{key}", delay)  # type: ignore


class SourceScopeMiddleware:
    """Drop requests (redirects included) outside http(s) or the source's allowed domains."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SourceScopeMiddleware:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        if not is_crawlable_url(request.url):
            self._refuse(request, "scheme")
        source_name = request.meta.get("source")
        if source_name is None:  # robots.txt and other internal requests
            return
        source = _context(self.crawler).source(source_name)
        if not url_in_domains(request.url, source.allowed_domains):
            self._refuse(request, "offsite")

    def _refuse(self, request: Request, why: str) -> None:
        self.crawler.stats.inc_value(f"newswatch/refused/{why}")  # type: ignore[union-attr]
        _context(self.crawler).counts[f"refused.{why}"] += 1
        raise Refused(f"refused ({why}): {request.url}")


class RedirectLoopMiddleware:
    """Fail a redirect that points back into its own chain, naming the loop.

    Without this Scrapy's duplicate filter silently drops the second visit of a looping URL,
    so the URL a feed listed ends up with no fetch record and no counted failure.
    """

    REDIRECT_CODES = (301, 302, 303, 307, 308)

    def process_response(self, request: Request, response: Response) -> Response:
        location = response.headers.get("Location")
        if response.status not in self.REDIRECT_CODES or not location:
            return response
        target = urljoin(request.url, safe_url_string(location.decode("latin-1")))
        chain = [*request.meta.get("redirect_urls", []), request.url]
        try:
            seen = {canonicalize_url(url) for url in chain}
            looping = canonicalize_url(target) in seen
        except ValueError:  # an unparseable Location: RedirectMiddleware deals with it
            return response
        if looping:
            raise RedirectLoop("redirect loop: " + " -> ".join([*chain, target]))
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

    def process_response(self, request: Request, response: Response) -> Request | Response:
        if not may_refresh(response.body):
            return response
        return super().process_response(request, response)


def stored_validators(db: Any, url: str) -> dict[str, str | None] | None:
    """ETag, Last-Modified and body hash of a URL's last good fetch (None: no database, or
    nothing usable stored)."""
    if db is None:
        return None
    state = get_fetch_state(db, url)
    if state is None or state.status not in (200, 304):
        return None
    return {"etag": state.etag, "last_modified": state.last_modified, "body_hash": state.body_hash}


class ConditionalGetMiddleware:
    """Send If-None-Match / If-Modified-Since from stored state; mark unchanged bodies.

    A 304, or a 200 whose body hash equals the stored one, sets ``meta['unchanged']``:
    some servers change ETags for nothing, others keep them through a change.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ConditionalGetMiddleware:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        if not request.meta.get("conditional"):
            return
        # A distributed worker has no database: the seeding side sent the validators along.
        validators = request.meta.get("validators")
        if validators is None:
            validators = stored_validators(
                _context(self.crawler).db, request.meta.get("state_url", request.url)
            )
        if not validators:
            return
        request.meta["previous_body_hash"] = validators.get("body_hash")
        if validators.get("etag"):
            request.headers.setdefault(
                b"If-None-Match", validators["etag"].encode("latin-1", "ignore")
            )
        if validators.get("last_modified"):
            request.headers.setdefault(
                b"If-Modified-Since", validators["last_modified"].encode("latin-1", "ignore")
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


def _exit_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def init_worker(topics: list[tuple[str, str]], parent: int) -> None:
    """Pool initializer: compile the topics, and exit when the crawl process is gone.

    A worker blocks on the call queue forever if its parent is SIGKILLed (OOM killer,
    ``kill -9``): without this watchdog every such crash leaves the whole pool behind.
    """
    configure_topics(topics)
    threading.Thread(
        target=_exit_with_parent, args=(parent,), name="parent-watchdog", daemon=True
    ).start()


class StoragePipeline:
    """Send pages to the extraction pool and write results in batched transactions.

    A listing's validators (ETag, Last-Modified, body hash) are written only when the run
    finishes: they make the next run skip the listing as unchanged, which is only right once
    every article it lists was dealt with. A killed or stopped run re-reads its listings, and
    so does the run after one in which an article of the listing failed.
    """

    BATCH_SIZE = 50
    FLUSH_SECONDS = 2.0  # a slow crawl still commits often: a kill loses little
    LISTING_KINDS = ("feed", "sitemap", "section")

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.pool: ProcessPoolExecutor | None = None
        self.last_flush = time.monotonic()
        self.topics: list[tuple[str, str]] = []
        self.workers = 1
        self.pending: list[tuple[Any, dict[str, Any]]] = []
        self.fetches: list[FetchRecord] = []
        self.listing_validators: list[FetchRecord] = []

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StoragePipeline:
        pipeline = cls(crawler)
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    def _hold_validators(self, record: FetchRecord) -> FetchRecord:
        """The record to write now: a listing's without its validators (kept for the end)."""
        if record.kind not in self.LISTING_KINDS:
            return record
        if record.error is None:
            self.listing_validators.append(record)
        return dataclasses.replace(record, etag=None, last_modified=None, body_hash=None)

    def spider_closed(self, reason: str) -> None:
        if reason != "finished":
            logger.info("run stopped (%s): listings will be re-read next time", reason)
            return
        context = _context(self.crawler)
        incomplete = getattr(self.crawler.spider, "incomplete_listings", set())
        with write_transaction(context.db):
            for record in self.listing_validators:
                if record.url in incomplete:  # an article it lists failed: retry it next run
                    continue
                context.db.execute(
                    "UPDATE fetches SET etag = COALESCE(?, etag), "
                    "last_modified = COALESCE(?, last_modified), "
                    "body_hash = COALESCE(?, body_hash) WHERE url = ?",
                    [record.etag, record.last_modified, record.body_hash, record.url],
                )
        self.listing_validators.clear()

    def open_spider(self) -> None:
        context = _context(self.crawler)
        self.topics = [(t.name, t.query) for t in context.config.topics]
        configure_topics(self.topics)  # the in-process path uses it too
        self.workers = context.config.crawl.workers
        if self.workers > 1 and os.environ.get("NEWSWATCH_INPROCESS") != "1":
            self.pool = self._new_pool()

    async def process_item(self, item: Any) -> Any:
        if isinstance(item, FetchRecord):
            self.fetches.append(self._hold_validators(item))
        elif isinstance(item, PageItem):
            result = await self._process(item)
            self.pending.append((result, item.fetch_meta))
        due = time.monotonic() - self.last_flush >= self.FLUSH_SECONDS
        if due or len(self.pending) + len(self.fetches) >= self.BATCH_SIZE:
            self.flush()
        return None

    async def _process(self, item: PageItem) -> PageResult:
        if self.pool is None:
            return process_page(item.job)
        loop = asyncio.get_running_loop()
        # The language model (77 MB) lives in this process only: workers leave an undeclared
        # language to it. Most pages declare theirs; identifying the rest costs little here.
        item.job.identify_language = False
        try:
            result = await loop.run_in_executor(self.pool, process_page, item.job)
        except BrokenProcessPool as error:
            # A worker died (out of memory, killed): record this page, start a fresh pool.
            logger.error("extraction worker died on %s: %s", item.job.url, error)
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = self._new_pool()
            return PageResult(
                item.job.url,
                canonicalize_url(item.job.url),
                item.job.source,
                None,
                request_url=item.job.request_url,
                error=f"extraction worker died: {error}",
            )
        article = result.article
        if article is not None and article.language is None:
            article.language = detect_language(article.text)
        return result

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            self.workers, initializer=init_worker, initargs=(self.topics, os.getpid())
        )

    def flush(self) -> None:
        self.last_flush = time.monotonic()
        context = _context(self.crawler)
        if self.fetches:
            record_fetch_records(context.db, self.fetches, context.run_id)
            self.fetches.clear()
        if self.pending:
            options = IngestOptions(context.run_id, bool(context.config.topics), context.baseline)
            counts = ingest_results(
                context.db,
                [r for r, _ in self.pending],
                options,
                {r.url: meta for r, meta in self.pending},
            )
            context.counts.update(counts)
            self.pending.clear()

    def close_spider(self) -> None:
        self.flush()
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)  # the workers' caches go too
        else:
            reset_caches()  # extraction ran here: its caches must not outlive the run


class ProgressLine:
    """On a terminal, a one-line progress display on stderr while the crawl runs."""

    INTERVAL = 1.0

    def __init__(self, crawler: Crawler) -> None:
        if not sys.stderr.isatty() or os.environ.get("NEWSWATCH_NO_PROGRESS"):
            raise NotConfigured
        self.crawler = crawler
        self.task: Any = None
        crawler.signals.connect(self.opened, signal=signals.spider_opened)
        crawler.signals.connect(self.closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ProgressLine:
        return cls(crawler)

    def opened(self) -> None:
        from twisted.internet import task

        self.task = task.LoopingCall(self.show)
        self.task.start(self.INTERVAL, now=False)

    def show(self) -> None:
        stats = self.crawler.stats.get_stats() if self.crawler.stats else {}
        counts = _context(self.crawler).counts
        sys.stderr.write(
            f"\r  fetched {stats.get('response_received_count', 0)}"
            f" · new {counts['articles_new']} · updated {counts['articles_updated']}"
            f" · duplicates {counts['duplicates']} · off-topic {counts['off_topic']}"
            f" · errors {counts['errors']}   "
        )
        sys.stderr.flush()

    def closed(self) -> None:
        if self.task is not None and self.task.running:
            self.task.stop()
        sys.stderr.write("\r" + " " * 100 + "\r")
        sys.stderr.flush()
