"""The item pipeline: pages to the extraction pool, results to SQLite in batches."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import sqlite3
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any

from scrapy import signals

from crawler.context import context_of
from crawler.extraction.pagemeta import detect_language
from crawler.items import FetchRecord, PageItem
from crawler.pages import PageResult, configure_topics, process_page, reset_caches
from crawler.store.ingest import IngestOptions, ingest_results, record_fetch_records
from crawler.store.storage import write_transaction
from crawler.urls import canonicalize_url

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


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
    so does the run after one in which an article of the listing failed, or in which any
    database write failed (a full disk): the pages lost then are fetched again next run.
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
        context = context_of(self.crawler)
        if context.write_error is not None:
            logger.info("a write failed: listings will be re-read next time")
            self.listing_validators.clear()
            return
        incomplete = getattr(self.crawler.spider, "incomplete_listings", set())
        try:
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
        except sqlite3.Error as error:  # nothing lost: the listings are re-read next run
            self._write_failed(error, 0)
        self.listing_validators.clear()

    def open_spider(self) -> None:
        context = context_of(self.crawler)
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
        """Write what is pending. A failed write (disk full, read-only file) is counted and
        fails the run; what it held is fetched again next run (see ``spider_closed``)."""
        self.last_flush = time.monotonic()
        context = context_of(self.crawler)
        records = [*self.fetches, *context.extra_records]
        self.fetches.clear()
        context.extra_records.clear()
        if records:
            try:
                record_fetch_records(context.db, records, context.run_id)
            except sqlite3.Error as error:
                self._write_failed(error, 0)
        if self.pending:
            pending, self.pending = self.pending, []
            options = IngestOptions(context.run_id, bool(context.config.topics), context.baseline)
            try:
                counts = ingest_results(
                    context.db,
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
            self.pool.shutdown(wait=True, cancel_futures=True)  # the workers' caches go too
        else:
            reset_caches()  # extraction ran here: its caches must not outlive the run
