"""All Scrapy wiring in one place: politeness, safety limits, our components."""

from __future__ import annotations

import logging
import os
from typing import Any

from crawler.config.settings import Config

FETCH_SHARE = 0.9  # of run_time_limit, for fetching; the rest is kept for linking


def _extensions_base() -> dict[str, int]:
    """Scrapy's base extensions less its remote control."""
    from scrapy.settings.default_settings import EXTENSIONS_BASE

    return {k: v for k, v in EXTENSIONS_BASE.items() if not k.endswith(".RemoteControl")}


def build_settings(config: Config, *, worker: bool = False, verbosity: int = 0) -> dict[str, Any]:
    """Scrapy settings for a newswatch crawl under ``config`` (a ``newswatch worker``'s with
    ``worker``); with ``[distributed]`` set, the scrapy-redis wiring on top. ``verbosity``
    0 keeps Scrapy's log off (the run summary says what went wrong), 1 shows it at INFO,
    2 at DEBUG; ``NEWSWATCH_LOG_LEVEL`` sets a level outright."""
    settings = _single_node_settings(config)
    settings.update(log_settings(verbosity, worker=worker))
    if config.redis_url:
        settings.update(distributed_settings(config, settings, worker=worker))
    return settings


def distributed_settings(config: Config, base: dict[str, Any], *, worker: bool) -> dict[str, Any]:
    """scrapy-redis's scheduler and our leased queue, per-run dupefilter, gate and stream."""
    return {
        "REDIS_URL": config.redis_url,
        "SCHEDULER": "crawler.distributed.scrapy.DistributedScheduler",
        "SCHEDULER_QUEUE_CLASS": "crawler.distributed.scrapy.LeasedQueue",
        "SCHEDULER_QUEUE_KEY": "newswatch:requests",
        "DUPEFILTER_CLASS": "crawler.distributed.scrapy.RunDupeFilter",
        # The queue outlives every process: a worker stopping must not clear it.
        "SCHEDULER_PERSIST": True,
        # The per-host delay is kept by a gate in Redis shared by all workers, not per process.
        "DOWNLOAD_DELAY": 0.0,
        "DOWNLOAD_DELAY_JITTER": 0.0,
        "NEWSWATCH_HOST_DELAY": config.crawl.delay,
        # A worker runs until stopped; the crawl's time limit still applies to `crawl`.
        "CLOSESPIDER_TIMEOUT": 0 if worker else base["CLOSESPIDER_TIMEOUT"],
        "EXTENSIONS": {
            **base["EXTENSIONS"],
            "crawler.distributed.scrapy.DistributedLoop": 300,
        },
        "DOWNLOADER_MIDDLEWARES": {
            **base["DOWNLOADER_MIDDLEWARES"],
            # Last before the download: robots.txt and scope checks come first.
            "crawler.distributed.scrapy.HostGateMiddleware": 950,
        },
        "SPIDER_MIDDLEWARES": {"crawler.distributed.scrapy.RunTagMiddleware": 100},
        "ITEM_PIPELINES": {"crawler.distributed.scrapy.DistributedPipeline": 300},
    }


def named_hosts(config: Config) -> list[str]:
    """The hosts the user wrote in the config (source URLs, allowed domains, the webhook):
    the fetch policy lets these be private or loopback addresses."""
    from urllib.parse import urlsplit

    urls = [url for s in config.sources for url in (*s.feeds, *s.sitemaps, *s.pages)]
    if config.webhook:
        urls.append(config.webhook)
    hosts = {(urlsplit(url).hostname or "").lower() for url in urls}
    hosts |= {domain.lower() for s in config.sources for domain in s.allowed_domains}
    return sorted(h for h in hosts if h)


def _single_node_settings(config: Config) -> dict[str, Any]:
    crawl = config.crawl
    return {
        "BOT_NAME": "newswatch",
        "USER_AGENT": crawl.user_agent,
        "ROBOTSTXT_OBEY": crawl.obey_robots,
        "DOWNLOAD_DELAY": crawl.delay,
        "DOWNLOAD_DELAY_JITTER": 0.5 if crawl.delay > 0 else 0.0,
        "CONCURRENT_REQUESTS": crawl.concurrency,
        # One request at a time per host is what "polite" means with a per-host delay.
        "CONCURRENT_REQUESTS_PER_DOMAIN": 1 if crawl.delay > 0 else max(2, crawl.concurrency // 2),
        "DOWNLOAD_TIMEOUT": crawl.timeout,
        "DOWNLOAD_MAXSIZE": crawl.max_page_bytes,
        "DOWNLOAD_WARNSIZE": crawl.max_page_bytes // 2,
        "REDIRECT_MAX_TIMES": 5,
        "RETRY_TIMES": 1,
        "RETRY_HTTP_CODES": [502, 503, 504, 522, 524, 408, 429],
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        # Scrapy's remote control runs Python sent to a local HTTP port: never wanted here. It
        # leaves the base extensions too (a None override would still import its module, and
        # with it aiohttp, at every crawl's start).
        "REMOTE_CONTROL_ENABLED": False,
        "EXTENSIONS_BASE": _extensions_base(),
        # run_time_limit covers the whole run: fetching stops at 90 % of it, leaving the rest
        # to the end-of-run linking (which stops at the limit itself, see crawl.py).
        "CLOSESPIDER_TIMEOUT": crawl.run_time_limit_seconds * FETCH_SHARE,
        # The fetch policy (crawler/core/fetch_policy.py): every address a name resolves to
        # is checked, literal addresses by FetchPolicyMiddleware.
        "TWISTED_DNS_RESOLVER": "crawler.scraping.resolver.PolicyResolver",
        "NEWSWATCH_ALLOW_PRIVATE": crawl.allow_private,
        "NEWSWATCH_NAMED_HOSTS": named_hosts(config),
        # Only http(s): no file://, data:, ftp://, s3:// fetched because a feed said so.
        "DOWNLOAD_HANDLERS": {"file": None, "data": None, "ftp": None, "s3": None},
        "EXTENSIONS": {
            "scrapy.extensions.telnet.TelnetConsole": None,
            "crawler.scraping.extensions.RobotsCrawlDelay": 100,
            "crawler.scraping.extensions.ProgressLine": 200,
        },
        "DOWNLOADER_MIDDLEWARES": {
            # First of all: no request leaves for an address the fetch policy refuses.
            "crawler.scraping.middlewares.FetchPolicyMiddleware": 40,
            # Before robots.txt (100) so an off-site request never even triggers its robots.txt.
            "crawler.scraping.middlewares.SourceScopeMiddleware": 50,
            # robots.txt per RFC 9309 in Scrapy's slot (5xx or unreachable closes the host).
            "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
            "crawler.scraping.middlewares.RobotsPolicyMiddleware": 100,
            "crawler.scraping.middlewares.ConditionalGetMiddleware": 560,
            # Above RetryMiddleware (550): it sees a 429/503 first and slows the host's slot
            # down, so the retry waits as the host asked (crawler/core/throttle.py).
            "crawler.scraping.middlewares.ThrottleMiddleware": 570,
            "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
            "crawler.scraping.middlewares.QuickMetaRefreshMiddleware": 580,  # Scrapy's slot
            # Above RedirectMiddleware (600): responses pass high to low, so it sees a 3xx first.
            "crawler.scraping.middlewares.RedirectLoopMiddleware": 610,
            # Late (before the distributed host gate): a request waits for extraction room once
            # every check passed.
            "crawler.scraping.middlewares.ExtractionBackpressureMiddleware": 940,
        },
        "SPIDER_MIDDLEWARES": {},
        "ITEM_PIPELINES": {"crawler.scraping.pipelines.StoragePipeline": 300},
        # Extraction runs in worker processes; a handful of responses waiting per worker is
        # enough to keep them busy, more only costs memory.
        "CONCURRENT_ITEMS": max(4, crawl.workers * 4),
        # Responses held by the scraper before the engine stops fetching: room for one sitemap
        # of the maximum size being parsed (a stream, piece by piece) next to 8 MB of pages,
        # so that parsing a big sitemap does not pause every download until it is done.
        "SCRAPER_SLOT_MAX_ACTIVE_SIZE": crawl.max_sitemap_bytes + 8 * 1024 * 1024,
        "HTTPERROR_ALLOWED_CODES": [304],
        "DEPTH_LIMIT": 0,
    }


def log_settings(verbosity: int, *, worker: bool = False) -> dict[str, Any]:
    """Scrapy's log: off by default (a worker, which prints no summary, keeps warnings),
    INFO with ``-v``, DEBUG with ``--debug``."""
    level = os.environ.get("NEWSWATCH_LOG_LEVEL")
    if level is None and verbosity <= 0:
        if worker:
            return {"LOG_ENABLED": True, "LOG_LEVEL": "WARNING"}
        return {"LOG_ENABLED": False, "LOG_LEVEL": "CRITICAL"}
    return {"LOG_ENABLED": True, "LOG_LEVEL": level or ("INFO" if verbosity == 1 else "DEBUG")}


class OneLineFormatter(logging.Formatter):
    """Log records without their traceback: the exception's type and message on the line."""

    def format(self, record: logging.LogRecord) -> str:
        exc_info, record.exc_info, record.exc_text = record.exc_info, None, None
        try:
            line = super().format(record)
        finally:
            record.exc_info = exc_info
        if exc_info and exc_info[1] is not None:
            line += f" ({type(exc_info[1]).__name__}: {exc_info[1]})"
        return line


def shorten_log_tracebacks() -> None:
    """With ``-v`` (not ``--debug``): Scrapy's log handler prints no tracebacks."""
    from scrapy.utils.log import get_scrapy_root_handler

    handler = get_scrapy_root_handler()
    if handler is not None and handler.formatter is not None:
        handler.setFormatter(OneLineFormatter(handler.formatter._fmt, handler.formatter.datefmt))
