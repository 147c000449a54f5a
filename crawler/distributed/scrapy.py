"""Thin Scrapy adapters for ``[distributed]``: scrapy-redis's scheduler with leases, a per-run
duplicate filter, the per-host gate, the results stream, and the idle/drain loop.

The logic lives in crawler/distributed/queue.py; these classes only plug it into Scrapy. They are
small subclasses of scrapy-redis 0.9.1 (pinned), not a fork.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import CloseSpider, DontCloseSpider, NotConfigured
from scrapy.http import Request, Response
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.queue import PriorityQueue
from scrapy_redis.scheduler import Scheduler

from crawler.core.items import FetchRecord, PageItem, RunTags
from crawler.distributed.queue import (
    Cluster,
    FetchEntry,
    IncompleteEntry,
    PageEntry,
    StreamEntry,
    host_gate_wait,
    queue_state,
    seen_key,
)
from crawler.processing.pool import ExtractionPool, pool_for
from crawler.scraping.middlewares import stored_validators

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    from crawler.scraping.context import CrawlContext

logger = logging.getLogger(__name__)


def _context_of(spider: Any) -> CrawlContext:
    return spider.context


def _cluster_of(spider: Any) -> Cluster:
    """The shared queue's handle: these components are installed only with one."""
    cluster = _context_of(spider).distributed
    assert cluster is not None, "a [distributed] component without a cluster"
    return cluster


def _cluster(crawler: Crawler) -> Cluster:
    return _cluster_of(crawler.spider)


class LeasedQueue(PriorityQueue):
    """scrapy-redis's priority queue whose pop leases the request instead of removing it."""

    def pop(self, timeout: int = 0) -> Request | None:
        cluster = _cluster_of(self.spider)
        data = cluster.pop(self.key)
        if data is None:
            return None
        request = self._decode_request(data)
        request.meta["nw_lease"] = data
        return request


class RunDupeFilter(RFPDupeFilter):
    """One duplicate filter per run (like single-node's in-memory one), kept in Redis and
    expiring after the recheck window: it never grows for ever, and the next run re-reads
    feeds, sitemaps and known articles as the single-node crawler does."""

    ttl_seconds = 48 * 3600

    @classmethod
    def from_spider(cls, spider: Any) -> RunDupeFilter:
        cluster = _cluster_of(spider)
        dupefilter = cls(cluster.server, key=seen_key(None))
        dupefilter.ttl_seconds = int(_context_of(spider).config.crawl.recheck_articles_for_seconds)
        return dupefilter

    def request_seen(self, request: Request) -> bool:
        key = seen_key(request.meta.get("nw_run"))
        pipe = self.server.pipeline(transaction=False)
        pipe.sadd(key, self.request_fingerprint(request))
        pipe.expire(key, self.ttl_seconds, nx=True)
        added, _ = pipe.execute()
        return added == 0

    def clear(self) -> None:
        """Nothing to clear: each run's set expires by itself (and another run may be live)."""

    def close(self, reason: str = "") -> None:
        """Kept: the per-run sets are shared by every worker of the run."""


class DistributedScheduler(Scheduler):
    """scrapy-redis's scheduler, plus: run tags and validators on what this process queues,
    and the lease of a redirected or retried request handed over to its successor."""

    def enqueue_request(self, request: Request) -> bool:
        context = _context_of(self.spider)
        cluster = _cluster_of(self.spider)
        # A redirect or retry is a copy of a leased request: once the copy is queued (or
        # filtered as a duplicate) the original is done.
        inherited = request.meta.pop("nw_lease", None)
        if "nw_run" not in request.meta and cluster.tags is not None:
            request.meta["nw_run"] = cluster.tags
        if request.meta.get("conditional") and "validators" not in request.meta:
            validators = stored_validators(context.db, request.meta.get("state_url", request.url))
            if validators:  # the seeding side has SQLite; remote workers get them from here
                request.meta["validators"] = validators
        queued = True
        if not request.dont_filter and self.df.request_seen(request):
            self.df.log(request, self.spider)
            queued = False
        else:
            self.queue.push(request)
            if self.stats:  # scrapy-redis passes Scrapy 2.19 a deprecated `spider` argument
                self.stats.inc_value("scheduler/enqueued/redis")
        if inherited is not None:
            cluster.ack(inherited)
        return queued

    def next_request(self) -> Request | None:
        request = self.queue.pop()
        if request is not None and self.stats:
            self.stats.inc_value("scheduler/dequeued/redis")
        return request


class RunTagMiddleware:
    """Requests found on a page belong to the page's run: copy its tags onto them."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RunTagMiddleware:
        return cls()

    def _tag(self, response: Response, element: Any) -> Any:
        if isinstance(element, Request) and "nw_run" in response.meta:
            element.meta.setdefault("nw_run", response.meta["nw_run"])
        return element

    def process_spider_output(self, response: Response, result: Iterable[Any]) -> Iterable[Any]:
        for element in result:
            yield self._tag(response, element)

    async def process_spider_output_async(
        self, response: Response, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        async for element in result:
            yield self._tag(response, element)


class HostGateMiddleware:
    """Politeness across workers: one request per host per ``delay``, via a gate in Redis."""

    def __init__(self, crawler: Crawler, delay: float) -> None:
        self.crawler = crawler
        self.delay = delay

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> HostGateMiddleware:
        delay = crawler.settings.getfloat("NEWSWATCH_HOST_DELAY")
        if delay <= 0:
            raise NotConfigured
        return cls(crawler, delay)

    async def process_request(self, request: Request) -> None:
        host = urlsplit(request.url).hostname or ""
        cluster = _cluster(self.crawler)
        while (wait := host_gate_wait(cluster.server, host, self.delay)) > 0:
            await asyncio.sleep(wait)


class DistributedPipeline:
    """Extract as single-node does, then push to the Redis stream and release the lease.

    The SQLite side (topics, fingerprints, stories, flags, listing validators) is the ingest
    writer's.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.pool: ExtractionPool | None = None
        self.sent_incomplete: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DistributedPipeline:
        return cls(crawler)

    def open_spider(self) -> None:
        context = _context_of(self.crawler.spider)
        if context.extraction is None:  # run_crawl and run_worker make it early
            context.extraction = pool_for(context.config)
        self.pool = context.extraction

    async def process_item(self, item: Any) -> Any:
        context = _context_of(self.crawler.spider)
        cluster = _cluster(self.crawler)
        if not isinstance(item, FetchRecord | PageItem):
            return None
        tags = item.run or cluster.tags
        if tags is None:  # a request queued without run tags: nobody would count it
            logger.warning("no run for %s: dropped", getattr(item, "url", item))
            return None
        entry: StreamEntry
        if isinstance(item, FetchRecord):
            entry = FetchEntry(tags, item)
        else:
            assert self.pool is not None
            result = await self.pool.process(item.job)
            entry = PageEntry(tags, result, item.fetch_meta)
        entries: list[StreamEntry] = [entry]
        spider = self.crawler.spider
        incomplete: set[str] = getattr(spider, "incomplete_listings", set())
        for url in incomplete - self.sent_incomplete:
            entries.append(IncompleteEntry(tags, url))
        self.sent_incomplete |= incomplete
        # Responses received count as single-node's "pages_fetched".
        stats = self.crawler.stats.get_stats() if self.crawler.stats else {}
        context.counts["pages_fetched"] = int(stats.get("response_received_count", 0))
        cluster.complete(entries, item.lease, context.counts, tags)
        return None

    def close_spider(self) -> None:
        if self.pool is not None:
            self.pool.close()


class DistributedLoop:
    """Keeps leases alive, requeues expired ones, polls the shared queue, and decides when
    the crawl is over: never for a worker; for ``crawl`` when everything is drained."""

    INTERVAL = 0.5

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.task: Any = None
        self.ticks = 0
        crawler.signals.connect(self.opened, signal=signals.spider_opened)
        crawler.signals.connect(self.idle, signal=signals.spider_idle)
        crawler.signals.connect(self.closed, signal=signals.spider_closed)
        crawler.signals.connect(self.spider_error, signal=signals.spider_error)
        crawler.signals.connect(self.item_error, signal=signals.item_error)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DistributedLoop:
        if not crawler.settings.get("REDIS_URL"):
            raise NotConfigured
        return cls(crawler)

    def opened(self) -> None:
        from twisted.internet import task

        self.task = task.LoopingCall(self.tick)
        self.task.start(self.INTERVAL, now=False)

    def tick(self) -> None:
        cluster = _cluster(self.crawler)
        self.ticks += 1
        try:
            if self.ticks % 2 == 0:
                cluster.renew()
                cluster.requeue_expired()
                cluster.heartbeat()
        except Exception:  # Redis away for a moment: the next tick tries again
            logger.exception("lease upkeep failed")
        # Scrapy polls its scheduler only every 5 s when idle; work queued by other workers
        # should start sooner than that.
        slot = getattr(self.crawler.engine, "_slot", None)
        if slot is not None:
            slot.nextcall.schedule()

    def spider_error(self, failure: Any, response: Response) -> None:
        """A callback crashed before its record: the request is done all the same (its
        lease would otherwise be renewed for ever and the crawl never drain)."""
        self._done(response.meta.get("nw_lease"), response.meta.get("nw_run"))

    def item_error(self, item: Any, response: Response | None, failure: Any) -> None:
        self._done(getattr(item, "lease", None), getattr(item, "run", None))

    def _done(self, lease: bytes | None, tags: RunTags | None) -> None:
        cluster = _cluster(self.crawler)
        context = _context_of(self.crawler.spider)
        context.counts["errors"] += 1
        context.counts["errors.internal"] += 1
        cluster.sync_counts(context.counts, tags or cluster.tags)
        if lease is not None:
            cluster.ack(lease)

    def idle(self) -> None:
        cluster = _cluster(self.crawler)
        if cluster.role != "crawl":
            raise DontCloseSpider
        if cluster.writer is not None and cluster.writer.error is not None:
            # Nothing would ever drain the stream: stop, and let the run record the failure.
            raise CloseSpider("ingest_failed")
        state = queue_state(cluster.server)
        if not state.drained:
            raise DontCloseSpider

    def closed(self, reason: str) -> None:
        if self.task is not None and self.task.running:
            self.task.stop()
        cluster = _cluster(self.crawler)
        released = cluster.release_held()
        if released:
            logger.info("gave %d unfinished requests back to the queue", released)
        cluster.leave()


def seeding_scheduler(spider: Any, cluster: Cluster) -> DistributedScheduler:
    """The scheduler alone, outside any crawl: `schedule` puts a run's start requests on the
    shared queue with it (same run tags, validators and duplicate filter as a crawl)."""
    from crawler.distributed.queue import QUEUE_KEY

    scheduler = DistributedScheduler(
        server=cluster.server,
        persist=True,
        queue_key=QUEUE_KEY,
        queue_cls="crawler.distributed.scrapy.LeasedQueue",
        dupefilter_cls="crawler.distributed.scrapy.RunDupeFilter",
    )
    scheduler.open(spider)
    return scheduler
