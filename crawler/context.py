"""What one crawl run shares between the spider, its middlewares and its pipeline."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlite_utils import Database

from crawler.config import Config, Source


@dataclass
class CrawlContext:
    config: Config
    db: Database
    run_id: int
    sources: tuple[Source, ...]
    baseline: bool = False
    recheck: dict[str, list[str]] = field(default_factory=dict)  # source -> known article URLs
    counts: Counter[str] = field(default_factory=Counter)

    def source(self, name: str) -> Source:
        return self.config.source(name)
