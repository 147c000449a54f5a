"""One crawl run: open the database, run the spider, record the run, notify."""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlite_utils import Database

from crawler.config.settings import Config, Source, require_sources
from crawler.core.items import RunTags
from crawler.core.timeutil import seconds_ago
from crawler.processing.pool import pool_for
from crawler.read.failures import run_failures
from crawler.scraping.context import CrawlContext
from crawler.store.desk import save_source_profiles
from crawler.store.storage import (
    articles_to_recheck,
    finish_run,
    known_off_topic,
    mark_interrupted_runs,
    open_database,
    start_run,
)
from crawler.topics.offtopic import LocalVerdicts, RedisVerdicts, publish_verdicts
from crawler.topics.query import topics_key

if TYPE_CHECKING:  # [distributed] only: redis may not be installed
    import redis

    from crawler.distributed.queue import IngestWriter

logger = logging.getLogger(__name__)


@dataclass
class RunSummary:
    run_id: int
    status: str
    counts: Counter[str] = field(default_factory=Counter)
    interrupted_before: list[int] = field(default_factory=list)
    # [url, kind, message] of the run's failed fetches (capped), how many there were in all.
    failures: list[list[str]] = field(default_factory=list)
    failures_total: int = 0
    robots_closed: dict[str, str] = field(default_factory=dict)  # host -> why
    write_error: str | None = None  # the first failed database write
    record_error: str | None = None  # the run's end could not be recorded either

    @property
    def exit_code(self) -> int:
        """0: the run finished (URLs that failed are recorded); 1: it failed (nothing
        fetched, a database write failed, or it was interrupted)."""
        if self.counts.get("sources_throttled"):  # a source got nothing but 429/503
            return 1
        return 0 if self.status in ("ok", "partial") and not self.record_error else 1

    delivery: Any = None  # crawler.read.notify.Delivery, with a webhook configured

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
            "failures": self.failures,
            "failures_total": self.failures_total,
            "robots_closed": self.robots_closed,
            "write_error": self.write_error,
        }


def select_sources(config: Config, names: list[str] | None) -> tuple[Source, ...]:
    """The named sources (ConfigError for an unknown name), or all of them (ConfigError if
    there are none)."""
    require_sources(config)
    if not names:
        return config.sources
    return tuple(config.source(name) for name in names)


def run_status(counts: Counter[str]) -> str:
    """ok: no failure; partial: some URLs failed; failed: nothing could be fetched, or a
    database write failed (pages were lost to this run: they are fetched again next run)."""
    if counts["write_failures"] or (counts["errors"] and not counts["pages_fetched"]):
        return "failed"
    if counts["errors"]:
        return "partial"
    return "ok"


def _window_start(config: Config) -> str:
    return seconds_ago(config.crawl.recheck_articles_for_seconds)


def off_topic_verdicts(config: Config, db: Database) -> LocalVerdicts:
    """The pages judged off-topic against the configured topics: those judged inside the
    recheck window are not fetched again (their validators stay, so the first fetch after
    the window can be a 304)."""
    known = known_off_topic(db, _topics_key(config))
    return LocalVerdicts(known, _window_start(config))


def _topics_key(config: Config) -> str | None:
    return topics_key([(t.name, t.query) for t in config.topics])


def recheck_urls(config: Config, db: Database, sources: tuple[Source, ...]) -> dict[str, list[str]]:
    """Known article URLs per source, re-fetched (conditionally) within the recheck window."""
    since_text = _window_start(config)
    return {s.name: articles_to_recheck(db, s.name, since_text) for s in sources}


def run_crawl(
    config: Config,
    *,
    database: str | None = None,
    source_names: list[str] | None = None,
    trigger: str = "manual",
    baseline: bool = False,
    verbosity: int = 0,
) -> RunSummary:
    """Crawl the selected sources once, in this process (Scrapy's reactor starts here).

    ``verbosity``: 0 no Scrapy log, 1 its log without tracebacks, 2 everything (debug)."""
    # run_time_limit covers the whole run: fetching (Scrapy's CLOSESPIDER_TIMEOUT) and the
    # end-of-run linking, which stops at this deadline (the next run links what is left).
    until = time.monotonic() + config.crawl.run_time_limit_seconds
    sources = select_sources(config, source_names)
    db = open_database(database or config.database)
    interrupted = mark_interrupted_runs(db)
    run_id = start_run(db, trigger, [s.name for s in sources])
    save_source_profiles(db, config.sources)
    budget = webhook_budget(config)  # one deadline for all of the run's posts
    earlier = deliver_backlog(config, db, run_id, interrupted, budget)
    recheck = recheck_urls(config, db, sources)
    context = CrawlContext(config, db, run_id, sources, baseline, recheck)
    context.off_topic = off_topic_verdicts(config, db)
    context.extraction = pool_for(config)  # before Scrapy is imported: lean workers
    # Imported here, not by the engine: Scrapy's TLS context module builds deprecated aliases
    # with inspect.stack(), whose cost grows with the depth of the stack (about 0.3 s of CPU
    # inside the engine's start-up, a few milliseconds here).
    import scrapy.core.downloader.handlers.http11  # noqa: F401
    from scrapy.crawler import CrawlerProcess

    from crawler.scraping.settings import FETCH_SHARE, build_settings, shorten_log_tracebacks
    from spiders.news import NewsSpider

    status = "failed"
    error: str | None = None
    writer: IngestWriter | None = None
    spider: Any = None
    try:
        if config.redis_url:
            writer = _start_distributed(config, context, database or config.database)
        settings = build_settings(config, verbosity=verbosity)
        if not config.redis_url:  # the time spent starting up counts against the limit too
            settings["CLOSESPIDER_TIMEOUT"] = max(1.0, (until - time.monotonic()) * FETCH_SHARE)
        process = CrawlerProcess(settings)
        if verbosity == 1:  # with --debug: tracebacks too
            shorten_log_tracebacks()
        crawler = process.create_crawler(NewsSpider)
        process.crawl(crawler, context=context)
        process.start()
        spider = crawler.spider
        stats = crawler.stats.get_stats() if crawler.stats else {}
        reason = stats.get("finish_reason", "finished")
        if writer is not None:
            _finish_distributed(context, db, writer, reason == "finished")
        else:
            # robots.txt answers are not pages: a run that got only those fetched nothing.
            fetched = stats.get("response_received_count", 0)
            fetched -= stats.get("robotstxt/response_count", 0)
            context.counts["pages_fetched"] = max(0, int(fetched))
            context.counts["sources_throttled"] = len(throttled_sources(crawler.spider))
        status = run_status(context.counts)
        if reason not in ("finished",):
            status = "partial" if context.counts["pages_fetched"] else "failed"
            error = f"crawl stopped: {reason}"
        if reason == "closespider_timeout":
            context.counts["stopped.time_limit"] = 1
            error = STOPPED_AT_TIME_LIMIT
    except BaseException as exc:  # record the run before re-raising (KeyboardInterrupt too)
        context.extraction.close()
        if writer is not None:
            writer.stopping.set()
        error = f"{type(exc).__name__}: {exc}"
        status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
        link_stored(db, run_id, baseline, context.counts, until)
        summary = _summarize(db, run_id, status, context, interrupted)
        _record_end(db, summary, error)
        _record_health(db, sources, None if writer is not None else spider, summary.status)
        raise
    context.extraction.close()
    link_stored(db, run_id, baseline, context.counts, until)
    if context.counts["limits.link_deferred"]:
        context.counts["stopped.time_limit"] = 1
        status = "partial" if status == "ok" else status
        error = STOPPED_AT_TIME_LIMIT
    summary = _summarize(db, run_id, status, context, interrupted)
    _record_end(db, summary, error)
    if summary.record_error:
        db.close()
        return summary
    # Distributed: other workers fetched too, so this process's per-source counts say little.
    _record_health(db, sources, None if writer is not None else spider, summary.status)
    if config.webhook:
        from crawler.read.notify import Webhook, notify_run

        try:
            summary.delivery = notify_run(
                db, Webhook.of(config), run_id, earlier=earlier, budget=budget
            )
        except sqlite3.Error as exc:  # the flags stay stored; the next run queues them
            logger.error("could not record the webhook delivery: %s", exc)
    db.close()
    logger.debug("run %s finished with %s (pid %s)", run_id, status, os.getpid())
    return summary


def _summarize(
    db: Any, run_id: int, status: str, context: CrawlContext, interrupted: list[int]
) -> RunSummary:
    """The run's summary with its failures, as recorded in ``fetches``, and its closed hosts."""
    summary = RunSummary(run_id, status, context.counts, interrupted)
    summary.robots_closed = dict(context.robots_closed)
    summary.write_error = context.write_error
    try:
        summary.failures, summary.failures_total = run_failures(db, run_id)
    except sqlite3.Error as exc:  # a broken database still gets its run summary
        summary.write_error = summary.write_error or str(exc)
    return summary


def _record_end(db: Any, summary: RunSummary, error: str | None) -> None:
    """Record the run's end; if even that fails (disk full), the run has failed."""
    try:
        finish_run(db, summary.run_id, summary.status, summary.stats(), error)
    except sqlite3.Error as exc:
        logger.error("could not record the end of run %s: %s", summary.run_id, exc)
        summary.status = "failed"
        summary.record_error = str(exc)


def webhook_budget(config: Config) -> Any:
    """The seconds a run may spend posting (``[notify] deadline``), None without a webhook."""
    if not config.webhook:
        return None
    from crawler.read.notify import PostBudget

    return PostBudget(config.webhook_deadline_seconds)


def deliver_backlog(
    config: Config, db: Any, run_id: int, interrupted: list[int], budget: Any = None
) -> Any:
    """Before crawling: queue the flags of runs killed before they could notify, and post
    what earlier runs left undelivered, oldest first. None without a webhook or a backlog."""
    if not config.webhook:
        return None
    from crawler.read.notify import Webhook, deliver_pending, enqueue_runs, pending_count

    enqueue_runs(db, interrupted)
    if not pending_count(db):
        return None
    return deliver_pending(db, Webhook.of(config), run_id, budget=budget)


def _record_health(db: Any, sources: tuple[Source, ...], spider: Any, status: str) -> None:
    """Each source's outcome, unless the database cannot take it (the run says why)."""
    try:
        record_health(db, sources, spider, status)
    except sqlite3.Error as exc:
        logger.error("could not record the sources' health: %s", exc)


def record_health(db: Any, sources: tuple[Source, ...], spider: Any, status: str) -> None:
    """Each source's outcome in this run, for `newswatch sources` (an interrupted run, stopped
    on purpose, says nothing about the sources)."""
    from crawler.store.health import record_source_outcomes, source_outcomes

    if status == "interrupted":
        return
    fetched: Counter[str] = Counter(getattr(spider, "source_fetched", None) or {})
    failed: Counter[str] = Counter(getattr(spider, "source_failed", None) or {})
    record_source_outcomes(
        db,
        source_outcomes([s.name for s in sources], fetched, failed, status),
        throttled_sources(spider),
    )


def throttled_sources(spider: Any) -> list[str]:
    """The sources that got nothing but throttling (429/503) in the run: URLs throttled, no
    article answered."""
    throttled: Counter[str] = Counter(getattr(spider, "source_throttled", None) or {})
    articles: Counter[str] = Counter(getattr(spider, "source_articles", None) or {})
    return sorted(name for name, n in throttled.items() if n and not articles[name])


STOPPED_AT_TIME_LIMIT = "stopped at the time limit (run_time_limit)"


def link_stored(
    db: Any, run_id: int, baseline: bool, counts: Counter[str], until: float | None = None
) -> None:
    """Link what the run stored to copies and stories, in canonical order, and count the story
    flags (whatever stopped the run: what it stored is linked, by the next run otherwise);
    ``until``: the run's deadline (``time.monotonic()``), past which linking waits."""
    from crawler.ingest.pending import link_pending

    try:
        counts.update(link_pending(db, run_id, baseline=baseline, until=until))
    except Exception:  # the run's record matters more; the next run links what is left
        logger.exception("run %s: linking stories failed; the next run retries", run_id)


def _start_distributed(config: Config, context: CrawlContext, database: str) -> IngestWriter:
    """Join the shared queue as the run's seeder and worker, and start the ingest writer."""
    from crawler.distributed.queue import Cluster, IngestWriter, connect, new_run_tags

    assert config.redis_url is not None
    server = connect(config.redis_url)
    tags = new_run_tags(context.run_id, context.baseline)
    _share_off_topic(config, context, server)
    writer = IngestWriter(config, database, server).start()
    context.distributed = Cluster(server, config.lease_seconds, "crawl", tags, writer=writer)
    return writer


def _share_off_topic(config: Config, context: CrawlContext, server: redis.Redis) -> None:
    """Give the workers (no SQLite) this run's off-topic verdicts."""
    assert isinstance(context.off_topic, LocalVerdicts), "the crawl reads them from SQLite"
    publish_verdicts(server, _topics_key(config), context.off_topic.known)


def _finish_distributed(
    context: CrawlContext, db: Database, writer: IngestWriter, finished: bool
) -> None:
    """Stop the writer (everything is ingested once the queue drained), write the listing
    validators, and take the run's counters from Redis: every worker added to them."""
    from crawler.distributed.queue import forget_run, read_counts

    cluster = context.distributed
    assert cluster is not None and cluster.tags is not None, "a crawl's cluster seeds its run"
    writer.stop()
    writer.finish_run(db, cluster.tags, finished)
    if finished:
        forget_run(cluster.server, cluster.tags)
    context.counts.clear()
    context.counts.update(read_counts(cluster.server, cluster.tags))


def run_worker(config: Config, verbosity: int = 0) -> None:
    """`newswatch worker`: fetch and extract from the shared queue until SIGINT/SIGTERM."""
    from crawler.distributed.queue import Cluster, connect

    assert config.redis_url is not None
    cluster = Cluster(connect(config.redis_url), config.lease_seconds, "worker")
    cluster.server.ping()  # fail now, with Redis's message, rather than inside Scrapy
    # No sources to seed and no database: requests come from the queue, results go back.
    context = CrawlContext(config, None, 0, (), distributed=cluster)
    context.off_topic = RedisVerdicts(
        cluster.server, _topics_key(config), lambda: _window_start(config)
    )
    context.extraction = pool_for(config)  # before Scrapy is imported: lean workers
    from scrapy.crawler import CrawlerProcess

    from crawler.scraping.settings import build_settings, shorten_log_tracebacks
    from spiders.news import NewsSpider

    process = CrawlerProcess(build_settings(config, worker=True, verbosity=verbosity))
    if verbosity < 2:
        shorten_log_tracebacks()
    process.crawl(process.create_crawler(NewsSpider), context=context)
    process.start()


def seed_distributed_run(
    config: Config, db: Database, source_names: list[str], trigger: str, server: redis.Redis
) -> tuple[int, RunTags, int]:
    """Record a run and put its start requests on the shared queue, fetching nothing here.

    Returns the run id, its tags and how many requests were queued.
    """
    import asyncio

    from crawler.distributed.queue import Cluster, new_run_tags
    from crawler.distributed.scrapy import seeding_scheduler
    from spiders.news import NewsSpider

    sources = select_sources(config, source_names)
    run_id = start_run(db, trigger, [s.name for s in sources])
    save_source_profiles(db, config.sources)
    tags = new_run_tags(run_id)
    cluster = Cluster(server, config.lease_seconds, "seed", tags)
    context = CrawlContext(
        config, db, run_id, sources, False, recheck_urls(config, db, sources), distributed=cluster
    )
    context.off_topic = off_topic_verdicts(config, db)
    _share_off_topic(config, context, server)
    spider = NewsSpider(context)
    scheduler = seeding_scheduler(spider, cluster)

    async def seed() -> int:
        queued = 0
        async for request in spider.start():
            queued += bool(scheduler.enqueue_request(request))
        return queued

    return run_id, tags, asyncio.run(seed())
