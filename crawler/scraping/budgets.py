"""Per-source budgets for one run: what a source may make the crawler request and read.

A hostile or merely huge site (a sitemap index of many 50 MB sitemaps, a page with 60,000
links) must not grow the crawl without bound. Every cap hit is counted by the spider as
``limits.<what>`` on the run, and the listing it cut short is read again next run.
"""

from __future__ import annotations

from dataclasses import dataclass

from crawler.config.settings import CrawlSettings


@dataclass
class SourceBudget:
    """What one source may still take in this run."""

    requests: int
    sitemap_urls: int
    sitemap_bytes: int

    @classmethod
    def of(cls, crawl: CrawlSettings) -> SourceBudget:
        return cls(
            crawl.max_requests_per_source,
            crawl.max_sitemap_urls_per_source,
            crawl.max_sitemap_bytes_per_source,
        )

    def take_request(self) -> bool:
        if self.requests <= 0:
            return False
        self.requests -= 1
        return True

    def take_sitemap_url(self) -> bool:
        if self.sitemap_urls <= 0:
            return False
        self.sitemap_urls -= 1
        return True

    def take_sitemap_bytes(self, count: int) -> bool:
        """Spend ``count`` bytes of parsed sitemap XML; False once the budget is overdrawn."""
        self.sitemap_bytes -= count
        return self.sitemap_bytes >= 0

    @property
    def sitemaps_exhausted(self) -> bool:
        """Nothing more worth reading from sitemaps: no URL or no byte left."""
        return self.sitemap_urls <= 0 or self.sitemap_bytes <= 0
