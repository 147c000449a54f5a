"""The item pipeline: pages to the extraction pool, results to SQLite in batches."""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from typing import TYPE_CHECKING, Any

from scrapy import signals
from sqlite_utils import Database

from crawler.core.items import FetchRecord, PageItem
from crawler.core.pages import PageResult
from crawler.ingest.ingest import IngestOptions, ingest_results, record_fetch_records
from crawler.ingest.listings import ListingLedger
from crawler.processing.pool import ExtractionPool, pool_for
from crawler.scraping.context import context_of
from crawler.topics.query import topics_key

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


class StoragePipeline:
    """Send pages to the extraction pool and write results in batched transactions.

    A listing's validators (ETag, Last-Modified, body hash) are written only when the run
    finishes: they make the next run skip the listing as unchanged, which is only right once
    every article it lists was dealt with. A killed or stopped run re-reads its listings, and
    so does the run after one in which an article of the listing failed, or in which any
    database write failed (a full disk): the pages lost then are fetched again next run.
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
        context = context_of(self.crawler)
        if context.write_error is not None:
            logger.info("a write failed: listings will be re-read next time")
            self.listings.validators.clear()
            return
        self.listings.incomplete |= getattr(self.crawler.spider, "incomplete_listings", set())
        try:
            self.listings.save(self.db)
        except sqlite3.Error as error:  # nothing lost: the listings are re-read next run
            self._write_failed(error, 0)

    def open_spider(self) -> None:
        context = context_of(self.crawler)
        if context.db is None:  # only a distributed worker has none, and it has no such pipeline
            raise RuntimeError("the storage pipeline needs the run's database")
        self.db: Database = context.db
        if context.extraction is None:  # run_crawl makes it early; a bare Scrapy run here
            context.extraction = pool_for(context.config)
        self.pool = context.extraction

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
        """Write what is pending. A failed write (disk full, read-only file) is counted and
        fails the run; what it held is fetched again next run (see ``spider_closed``)."""
        self.last_flush = time.monotonic()
        context = context_of(self.crawler)
        records = [*self.fetches, *context.extra_records]
        self.fetches.clear()
        context.extra_records.clear()
        if records:
            try:
                record_fetch_records(self.db, records, context.run_id)
            except sqlite3.Error as error:
                self._write_failed(error, 0)
        if self.pending:
            pending, self.pending = self.pending, []
            options = IngestOptions(
                context.run_id,
                bool(context.config.topics),
                context.baseline,
                topics_key([(t.name, t.query) for t in context.config.topics]),
                defer_links=True,
            )
            try:
                counts = ingest_results(
                    self.db,
                    [r for r, _ in pending],
                    options,
                    {r.url: meta for r, meta in pending},
                )
            except sqlite3.Error as error:
                self._write_failed(error, len(pending))
            else:
                context.counts.update(counts)

    def _write_failed(self, error: sqlite3.Error, pages: int) -> None:
        context = context_of(self.crawler)
        context.write_error = context.write_error or f"{type(error).__name__}: {error}"
        context.counts["write_failures"] += 1
        if pages:
            context.counts["errors"] += pages
            context.counts["errors.write"] += pages
        logger.error("database write failed (%s pages lost to this run): %s", pages, error)

    def close_spider(self) -> None:
        self.flush()
        if self.pool is not None:
            self.pool.close()
