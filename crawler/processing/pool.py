"""The extraction pool: pages are extracted in worker processes, off the crawl's event loop.

Plain Python (no Scrapy): the single-node and the distributed pipelines both own one.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from crawler.config.settings import Config
from crawler.core.failures import FailureKind
from crawler.core.pages import PageJob, PageResult
from crawler.core.urls import canonicalize_url

logger = logging.getLogger(__name__)


def pool_for(config: Config) -> ExtractionPool:
    """The run's extraction pool, its workers forked at once.

    Called before the crawl imports Scrapy: a worker forked from the crawl process later
    would carry a copy of Scrapy, Twisted and their state it never uses (about 40 MB each).
    """
    topics = [(t.name, t.query) for t in config.topics]
    return ExtractionPool(topics, config.crawl.workers, config.crawl.prefilter)


def _process_page(job: PageJob) -> PageResult:
    """``process_page`` in a worker (named here: the crawl process need not import it)."""
    from crawler.processing.pages import process_page

    return process_page(job)


def _exit_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def init_worker(topics: list[tuple[str, str]], parent: int, prefilter: bool = True) -> None:
    """Pool initializer: compile the topics, and exit when the crawl process is gone.

    A worker blocks on the call queue forever if its parent is SIGKILLed (OOM killer,
    ``kill -9``): without this watchdog every such crash leaves the whole pool behind.
    """
    # Extraction (trafilatura, lxml, htmldate) is imported here, in each worker after the
    # fork, while the crawl process goes on importing Scrapy: the crawl process never
    # extracts a page when it has workers, and its start-up is shorter by that import.
    from crawler.processing.pages import configure_topics

    configure_topics(topics, prefilter)
    threading.Thread(
        target=_exit_with_parent, args=(parent,), name="parent-watchdog", daemon=True
    ).start()


class ExtractionPool:
    """``process_page`` in ``workers`` processes, or in this process with one worker (or
    ``NEWSWATCH_INPROCESS=1``). A worker that dies costs its page, recorded as an error,
    and a fresh pool."""

    def __init__(self, topics: list[tuple[str, str]], workers: int, prefilter: bool = True) -> None:
        self.topics = topics
        self.workers = workers
        self.prefilter = prefilter  # crawler/topics/prefilter.py: [crawl] prefilter
        # Pages handed over and not yet extracted; downloads of more wait (wait_for_room)
        # beyond this many, so a fast site never piles fetched pages up in memory.
        self.in_flight = 0
        self.backlog = max(4, workers * 4)
        self._room: asyncio.Event | None = None
        self.closed = False
        self.executor: ProcessPoolExecutor | None = None
        if workers > 1 and os.environ.get("NEWSWATCH_INPROCESS") != "1":
            self.executor = self._new_executor()
        else:
            from crawler.processing.pages import configure_topics

            configure_topics(topics, prefilter)  # the in-process path

    def _new_executor(self) -> ProcessPoolExecutor:
        executor = ProcessPoolExecutor(
            self.workers,
            mp_context=multiprocessing.get_context("fork"),
            initializer=init_worker,
            initargs=(self.topics, os.getpid(), self.prefilter),
        )
        # Fork them now (the first task starts every worker): a pool made before Scrapy and
        # Twisted are imported (see pool_for) gives workers that lean process to copy.
        executor.submit(os.getpid)
        return executor

    async def wait_for_room(self) -> None:
        """Return once fewer than ``backlog`` pages are waiting for or in extraction."""
        while self.in_flight >= self.backlog:
            if self._room is None:
                self._room = asyncio.Event()
            self._room.clear()
            await self._room.wait()

    async def process(self, job: PageJob) -> PageResult:
        self.in_flight += 1
        try:
            return await self._process(job)
        finally:
            self.in_flight -= 1
            if self._room is not None:
                self._room.set()

    async def _process(self, job: PageJob) -> PageResult:
        if self.executor is None:
            from crawler.processing.pages import process_page

            return process_page(job)
        loop = asyncio.get_running_loop()
        # The language model (77 MB) lives in this process only: workers leave an undeclared
        # language to it. Most pages declare theirs; identifying the rest costs little here.
        job.identify_language = False
        try:
            result = await loop.run_in_executor(self.executor, _process_page, job)
        except BrokenProcessPool as error:
            # A worker died (out of memory, killed): record this page, start a fresh pool.
            logger.error("extraction worker died on %s: %s", job.url, error)
            self.executor.shutdown(wait=False, cancel_futures=True)
            self.executor = self._new_executor()
            return PageResult(
                job.url,
                canonicalize_url(job.url),
                job.source,
                None,
                request_url=job.request_url,
                error=str(error) or type(error).__name__,
                error_kind=FailureKind.WORKER_DIED,
            )
        article = result.article
        on_topic = bool(result.topics) or not self.topics  # off-topic pages are not stored
        if article is not None and article.language is None and on_topic:
            from crawler.extraction.pagemeta import detect_language

            article.language = detect_language(article.text)
        return result

    def close(self) -> None:
        """Stop the workers (the pipeline does at spider close; the run again, in case)."""
        if self.closed:
            return
        self.closed = True
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)  # the workers' caches go too
        else:
            from crawler.processing.pages import reset_caches

            reset_caches()  # extraction ran here: its caches must not outlive the run
