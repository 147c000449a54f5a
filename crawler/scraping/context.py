"""What one crawl run shares between the spider, its middlewares and its pipeline."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlite_utils import Database

from crawler.config.settings import Config, Source
from crawler.topics.offtopic import LocalVerdicts, OffTopicVerdicts

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    from crawler.core.items import FetchRecord
    from crawler.distributed.queue import Cluster
    from crawler.processing.pool import ExtractionPool


@dataclass
class CrawlContext:
    config: Config
    db: Database | None  # None on a distributed worker: it never touches SQLite
    run_id: int
    sources: tuple[Source, ...]
    baseline: bool = False
    recheck: dict[str, list[str]] = field(default_factory=dict)  # source -> known article URLs
    # pages judged off-topic against the current topics (crawler/topics/offtopic.py)
    off_topic: OffTopicVerdicts = field(default_factory=LocalVerdicts)
    counts: Counter[str] = field(default_factory=Counter)
    distributed: Cluster | None = None  # with [distributed] set
    extraction: ExtractionPool | None = None  # the pipeline's, once the spider is open
    # Hosts closed for the run because robots.txt answered 5xx or could not be fetched.
    robots_closed: dict[str, str] = field(default_factory=dict)
    # Fetch records made outside the spider (robots.txt verdicts), written with the next batch.
    extra_records: list[FetchRecord] = field(default_factory=list)
    write_error: str | None = None  # the first failed database write of the run

    def source(self, name: str) -> Source:
        return self.config.source(name)


def context_of(crawler: Crawler) -> CrawlContext:
    """The run's context, carried by the spider (every Scrapy component reaches it this way)."""
    return crawler.spider.context  # type: ignore[union-attr]
