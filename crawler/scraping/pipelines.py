"""The item pipeline: pages to the extraction pool, results to SQLite in batches."""

from __future__ import annotations

import logging
import os
import time
from typing import TYPE_CHECKING, Any

from scrapy import signals
from sqlite_utils import Database

from crawler.context import context_of
from crawler.items import FetchRecord, PageItem
from crawler.pages import PageResult
from crawler.pool import ExtractionPool
from crawler.store.ingest import IngestOptions, ingest_results, record_fetch_records
from crawler.store.listings import ListingLedger

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


class StoragePipeline:
    """Send pages to the extraction pool and write results in batched transactions.

    Listing validators wait for the end of the run (crawler/store/listings.py).
    """

    # Results per ingest transaction; NEWSWATCH_INGEST_BATCH overrides it (benchmarks show that
    # stories and flags do not depend on it: linking waits for the run's end).
    BATCH_SIZE = int(os.environ.get("NEWSWATCH_INGEST_BATCH") or 50)
    BATCH_FROM_ENV = True
    FLUSH_SECONDS = 2.0  # a slow crawl still commits often: a kill loses little

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.pool: ExtractionPool | None = None
        self.last_flush = time.monotonic()
        self.pending: list[tuple[PageResult, dict[str, Any]]] = []
        self.fetches: list[FetchRecord] = []
        self.listings = ListingLedger()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StoragePipeline:
        pipeline = cls(crawler)
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    def spider_closed(self, reason: str) -> None:
        if reason != "finished":
            logger.info("run stopped (%s): listings will be re-read next time", reason)
            return
        self.listings.incomplete |= getattr(self.crawler.spider, "incomplete_listings", set())
        self.listings.save(self.db)

    def open_spider(self) -> None:
        context = context_of(self.crawler)
        if context.db is None:  # only a distributed worker has none, and it has no such pipeline
            raise RuntimeError("the storage pipeline needs the run's database")
        self.db: Database = context.db
        topics = [(t.name, t.query) for t in context.config.topics]
        self.pool = ExtractionPool(topics, context.config.crawl.workers)

    async def process_item(self, item: Any) -> Any:
        if isinstance(item, FetchRecord):
            self.fetches.append(self.listings.hold(item))
        elif isinstance(item, PageItem):
            assert self.pool is not None
            result = await self.pool.process(item.job)
            self.pending.append((result, item.fetch_meta))
        due = time.monotonic() - self.last_flush >= self.FLUSH_SECONDS
        if due or len(self.pending) + len(self.fetches) >= self.BATCH_SIZE:
            self.flush()
        return None

    def flush(self) -> None:
        self.last_flush = time.monotonic()
        context = context_of(self.crawler)
        if self.fetches:
            record_fetch_records(self.db, self.fetches, context.run_id)
            self.fetches.clear()
        if self.pending:
            options = IngestOptions(
                context.run_id, bool(context.config.topics), context.baseline, defer_links=True
            )
            counts = ingest_results(
                self.db,
                [r for r, _ in self.pending],
                options,
                {r.url: meta for r, meta in self.pending},
            )
            context.counts.update(counts)
            self.pending.clear()

    def close_spider(self) -> None:
        self.flush()
        if self.pool is not None:
            self.pool.close()
