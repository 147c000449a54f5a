"""One crawl run: open the database, run the spider, record the run, notify."""

from __future__ import annotations

import logging
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from crawler.config import Config, Source
from crawler.context import CrawlContext
from crawler.store.storage import (
    articles_to_recheck,
    finish_run,
    mark_interrupted_runs,
    open_database,
    start_run,
)

logger = logging.getLogger(__name__)


@dataclass
class RunSummary:
    run_id: int
    status: str
    counts: Counter[str] = field(default_factory=Counter)
    interrupted_before: list[int] = field(default_factory=list)

    def stats(self) -> dict[str, Any]:
        c = self.counts
        return {
            "pages_fetched": c["pages_fetched"],
            "articles_new": c["articles_new"],
            "articles_updated": c["articles_updated"],
            "articles_unchanged": c["articles_unchanged"],
            "duplicates": c["duplicates"],
            "off_topic": c["off_topic"],
            "flags": c["flags"],
            "errors": c["errors"],
            "not_article": c["not_article"],
            "refused": c["refused"],
            "counts": dict(sorted(c.items())),
        }


def select_sources(config: Config, names: list[str] | None) -> tuple[Source, ...]:
    """The named sources (ConfigError for an unknown name), or all of them."""
    if not names:
        return config.sources
    return tuple(config.source(name) for name in names)


def run_status(counts: Counter[str]) -> str:
    """ok: no failure; partial: some URLs failed; failed: nothing could be fetched."""
    if counts["errors"] and not counts["pages_fetched"]:
        return "failed"
    if counts["errors"]:
        return "partial"
    return "ok"


def recheck_urls(config: Config, db: Any, sources: tuple[Source, ...]) -> dict[str, list[str]]:
    """Known article URLs per source, re-fetched (conditionally) within the recheck window."""
    since = datetime.now(UTC) - timedelta(seconds=config.crawl.recheck_articles_for_seconds)
    since_text = since.replace(microsecond=0).isoformat()
    return {s.name: articles_to_recheck(db, s.name, since_text) for s in sources}


def run_crawl(
    config: Config,
    *,
    database: str | None = None,
    source_names: list[str] | None = None,
    trigger: str = "manual",
    baseline: bool = False,
) -> RunSummary:
    """Crawl the selected sources once, in this process (Scrapy's reactor starts here)."""
    from scrapy.crawler import CrawlerProcess

    from crawler.scraping.settings import build_settings
    from spiders.news import NewsSpider

    sources = select_sources(config, source_names)
    db = open_database(database or config.database)
    interrupted = mark_interrupted_runs(db)
    run_id = start_run(db, trigger, [s.name for s in sources])
    recheck = recheck_urls(config, db, sources)
    context = CrawlContext(config, db, run_id, sources, baseline, recheck)
    status = "failed"
    error: str | None = None
    writer: Any = None
    try:
        if config.redis_url:
            writer = _start_distributed(config, context, database or config.database)
        process = CrawlerProcess(build_settings(config))
        crawler = process.create_crawler(NewsSpider)
        process.crawl(crawler, context=context)
        process.start()
        stats = crawler.stats.get_stats() if crawler.stats else {}
        reason = stats.get("finish_reason", "finished")
        if writer is not None:
            _finish_distributed(context, writer, reason == "finished")
        else:
            context.counts["pages_fetched"] = int(stats.get("response_received_count", 0))
        status = run_status(context.counts)
        if reason not in ("finished",):
            status = "partial" if context.counts["pages_fetched"] else "failed"
            error = f"crawl stopped: {reason}"
    except BaseException as exc:  # record the run before re-raising (KeyboardInterrupt too)
        if writer is not None:
            writer.stopping.set()
        error = f"{type(exc).__name__}: {exc}"
        status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
        summary = RunSummary(run_id, status, context.counts, interrupted)
        finish_run(db, run_id, status, summary.stats(), error)
        raise
    summary = RunSummary(run_id, status, context.counts, interrupted)
    finish_run(db, run_id, status, summary.stats(), error)
    if config.webhook and context.counts["flags"]:
        from crawler.read.notify import notify_run

        notify_run(db, config.webhook, run_id)
    db.close()
    logger.debug("run %s finished with %s (pid %s)", run_id, status, os.getpid())
    return summary


def _start_distributed(config: Config, context: CrawlContext, database: str) -> Any:
    """Join the shared queue as the run's seeder and worker, and start the ingest writer."""
    from crawler.distributed import Cluster, IngestWriter, connect, new_run_tags

    assert config.redis_url is not None
    server = connect(config.redis_url)
    tags = new_run_tags(context.run_id, context.baseline)
    context.distributed = Cluster(server, config.lease_seconds, "crawl", tags)
    context.distributed.writer = IngestWriter(config, database, server).start()
    return context.distributed.writer


def _finish_distributed(context: CrawlContext, writer: Any, finished: bool) -> None:
    """Stop the writer (everything is ingested once the queue drained), write the listing
    validators, and take the run's counters from Redis: every worker added to them."""
    from crawler.distributed import forget_run, read_counts

    cluster = context.distributed
    writer.stop()
    writer.finish_run(context.db, cluster.tags, finished)
    if finished:
        forget_run(cluster.server, cluster.tags)
    context.counts.clear()
    context.counts.update(read_counts(cluster.server, cluster.tags))


def run_worker(config: Config) -> None:
    """`newswatch worker`: fetch and extract from the shared queue until SIGINT/SIGTERM."""
    from scrapy.crawler import CrawlerProcess

    from crawler.distributed import Cluster, connect
    from crawler.scraping.settings import build_settings
    from spiders.news import NewsSpider

    assert config.redis_url is not None
    cluster = Cluster(connect(config.redis_url), config.lease_seconds, "worker")
    cluster.server.ping()  # fail now, with Redis's message, rather than inside Scrapy
    # No sources to seed and no database: requests come from the queue, results go back.
    context = CrawlContext(config, None, 0, (), distributed=cluster)
    process = CrawlerProcess(build_settings(config, worker=True))
    process.crawl(process.create_crawler(NewsSpider), context=context)
    process.start()


def seed_distributed_run(
    config: Config, db: Any, source_names: list[str], trigger: str, server: Any
) -> tuple[int, dict[str, Any], int]:
    """Record a run and put its start requests on the shared queue, fetching nothing here.

    Returns the run id, its tags and how many requests were queued.
    """
    import asyncio

    from crawler.distributed import Cluster, new_run_tags
    from crawler.scraping.distributed import seeding_scheduler
    from spiders.news import NewsSpider

    sources = select_sources(config, source_names)
    run_id = start_run(db, trigger, [s.name for s in sources])
    tags = new_run_tags(run_id)
    cluster = Cluster(server, config.lease_seconds, "seed", tags)
    context = CrawlContext(
        config, db, run_id, sources, False, recheck_urls(config, db, sources), distributed=cluster
    )
    spider = NewsSpider(context)
    scheduler = seeding_scheduler(spider, cluster)

    async def seed() -> int:
        queued = 0
        async for request in spider.start():
            queued += bool(scheduler.enqueue_request(request))
        return queued

    return run_id, tags, asyncio.run(seed())
