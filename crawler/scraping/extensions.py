"""Scrapy extensions: robots.txt Crawl-delay, the progress line."""

from __future__ import annotations

import logging
import os
import sys
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.http import Request

from crawler.scraping.context import context_of

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


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
        downloader = self.crawler.engine.downloader
        key = downloader.get_slot_key(request)
        current = downloader.per_slot_settings.get(key, {})
        if delay > current.get("delay", downloader._delay):
            # per_slot_settings survives the slot being garbage-collected when idle.
            downloader.per_slot_settings[key] = {**current, "delay": delay, "concurrency": 1}
            if key in downloader.slots:
                downloader.slots[key].delay = delay
                downloader.slots[key].concurrency = 1
        self.crawler.stats.set_value(f"newswatch/crawl_delay/{key}", delay)


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
        counts = context_of(self.crawler).counts
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
