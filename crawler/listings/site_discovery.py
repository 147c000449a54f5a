"""Find a site's feeds and sitemaps for `newswatch discover`, politely.

Candidates come from trafilatura's heuristics (``<link rel="alternate">`` feeds, else feed
links in the page; ``Sitemap:`` lines in robots.txt, else its common sitemap locations). Each
candidate is then fetched and read with the same parsers the crawl uses
(:func:`crawler.listings.discovery.parse_feed`,
:func:`crawler.listings.discovery.parse_sitemap`), so a source
block built from the result is one the crawl can read. Politeness: robots.txt rules (Protego,
Scrapy's parser), the configured user agent, the configured delay or robots ``Crawl-delay``
between requests, and a small request budget per site.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from protego import Protego
from trafilatura.feeds import FeedParameters, determine_feed
from trafilatura.sitemaps import GUESSES, extract_robots_sitemaps

from crawler.config.settings import DISCOVERY_REQUESTS, CrawlSettings
from crawler.core.fetch_policy import FetchPolicy, FetchRefused
from crawler.core.http_get import request
from crawler.core.robots import ROBOTS_MAX_BYTES, outcome_for_error, outcome_for_response
from crawler.listings.discovery import (
    DiscoveryError,
    looks_like_feed,
    looks_like_sitemap,
    parse_feed,
    parse_sitemap,
    sitemap_xml_chunks,
)

DEFAULT_BUDGET = DISCOVERY_REQUESTS
MAX_CRAWL_DELAY = 10.0  # a robots.txt asking for more is honoured as this, for a one-off look
FEED_FORMATS = {
    "rss20": "RSS 2.0",
    "rss10": "RSS 1.0",
    "rss092": "RSS 0.92",
    "rss091u": "RSS 0.91",
    "rss091n": "RSS 0.91",
    "rss": "RSS",
    "atom10": "Atom 1.0",
    "atom03": "Atom 0.3",
    "atom": "Atom",
}
_NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"


class BudgetExhausted(Exception):
    """The site's request budget is spent."""


@dataclass(frozen=True)
class Response:
    url: str
    status: int
    body: bytes
    content_type: str


@dataclass(frozen=True)
class Found:
    """A feed or sitemap that was fetched and read."""

    url: str
    kind: str  # "feed" or "sitemap"
    format: str  # "RSS 2.0", "Atom 1.0", "sitemap", "news sitemap", "sitemap index"
    entries: int
    found_in: str  # "given", "page", "robots.txt", "common location"


@dataclass(frozen=True)
class Rejected:
    """A candidate that was not used, and why (one line)."""

    url: str
    found_in: str
    reason: str


@dataclass
class SiteReport:
    """What discovery found for one URL."""

    url: str
    feeds: list[Found] = field(default_factory=list)
    sitemaps: list[Found] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    guessed: list[str] = field(default_factory=list)  # common sitemap locations not there
    requests: int = 0
    error: str | None = None

    @property
    def found(self) -> bool:
        return bool(self.feeds or self.sitemaps)

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""


class PoliteFetcher:
    """GETs for one site: robots.txt first, its rules obeyed, a delay between requests, and
    at most ``budget`` requests; every request (redirects too) through the fetch policy."""

    def __init__(
        self, base_url: str, settings: CrawlSettings, budget: int, policy: FetchPolicy
    ) -> None:
        self.base_url = base_url
        self.settings = settings
        self.budget = budget
        self.policy = policy
        self.requests = 0
        self.delay = settings.delay
        self._last: float | None = None
        self._robots: Protego | None = None
        self.robots_text: str | None = None
        self.robots_problem: str | None = None

    def load_robots(self) -> None:
        """robots.txt under the crawl's one policy (crawler.core.robots): redirects followed
        up to five hops, across hosts, through the fetch policy; 4xx means no rules, 429,
        5xx or no answer means stay out (RFC 9309). Read up to the crawl's size limit."""
        try:
            response = self._get(self.base_url + "/robots.txt", max_bytes=ROBOTS_MAX_BYTES)
        except FetchRefused as error:
            outcome = outcome_for_error(error, refused=True)
        except OSError as error:
            outcome = outcome_for_error(error, refused=False)
        else:
            outcome = outcome_for_response(response.status, response.body)
        self.robots_problem = outcome.unavailable_reason
        text = outcome.rules.decode("utf-8", "replace")
        self._robots = Protego.parse(text)
        if outcome.disallowed:
            return
        self.robots_text = text
        crawl_delay = self._robots.crawl_delay(self.settings.user_agent)
        if crawl_delay:
            self.delay = max(self.delay, min(float(crawl_delay), MAX_CRAWL_DELAY))

    def allowed(self, url: str) -> bool:
        if not self.settings.obey_robots or self._robots is None:
            return True
        return bool(self._robots.can_fetch(url, self.settings.user_agent))

    def get(self, url: str) -> Response:
        """One GET within the budget; PermissionError if robots.txt disallows it,
        FetchRefused if the fetch policy does."""
        self.policy.check_url(url)
        if not self.allowed(url):
            raise PermissionError("disallowed by robots.txt")
        return self._get(url)

    def _get(self, url: str, max_bytes: int | None = None) -> Response:
        if self.requests >= self.budget:
            raise BudgetExhausted
        if self._last is not None:
            wait = self._last + self.delay - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        self.requests += 1
        try:
            answer = request(
                url,
                self.policy,
                headers={"User-Agent": self.settings.user_agent},
                max_bytes=max_bytes or self.settings.max_sitemap_bytes,
                deadline=self.settings.timeout,
            )
        finally:
            self._last = time.monotonic()
        return Response(
            answer.url, answer.status, answer.body, answer.headers.get("content-type", "")
        )


def _reason(error: BaseException) -> str:
    return str(error) or type(error).__name__


def read_feed(url: str, body: bytes) -> tuple[str, int]:
    """(format, number of entries) of a feed; DiscoveryError if the crawl could not read it."""
    import feedparser

    entries = parse_feed(body, url)
    version = feedparser.parse(body).get("version") or ""
    return FEED_FORMATS.get(version, version or "feed"), len(entries)


def read_sitemap(url: str, body: bytes, limit: int) -> tuple[str, int]:
    """(format, number of URLs) of a sitemap; DiscoveryError if the crawl could not read it."""
    # gunzipped as the crawl reads it: over ``limit`` bytes, unreadable (SitemapTooLarge)
    body = b"".join(sitemap_xml_chunks(body, limit))
    entries, children = parse_sitemap(body, url)
    if children:
        return "sitemap index", len(children)
    if _NEWS_NS.encode() in body[:4096]:
        return "news sitemap", len(entries)
    return "sitemap", len(entries)


def _sniff(body: bytes) -> str | None:
    if looks_like_feed(body):
        return "feed"
    return "sitemap" if looks_like_sitemap(body) else None


class _Discovery:
    """One site's discovery run (state shared by the steps)."""

    def __init__(self, url: str, settings: CrawlSettings, budget: int) -> None:
        parts = urlsplit(url)
        self.base = f"{parts.scheme}://{parts.netloc}"
        self.settings = settings
        policy = FetchPolicy.for_urls([url], allow_private=settings.allow_private)
        self.fetcher = PoliteFetcher(self.base, settings, budget, policy)
        self.report = SiteReport(url)
        self.seen: set[str] = set()
        self.page_problem: str | None = None

    def run(self) -> SiteReport:
        url = self.report.url
        try:
            self.fetcher.load_robots()
            if self.fetcher.robots_problem and self.settings.obey_robots:
                self.report.error = f"{self.fetcher.robots_problem}: not crawling this site"
                return self.report
            self._look_at_page(url)
            robots_maps = extract_robots_sitemaps(self.fetcher.robots_text, self.base)
            for sitemap in robots_maps:
                self._check(sitemap, "sitemap", "robots.txt")
            if not robots_maps and not self.report.sitemaps:
                for guess in GUESSES:
                    found = len(self.report.sitemaps)
                    self._check(f"{self.base}/{guess}", "sitemap", "common location", quiet=True)
                    if len(self.report.sitemaps) == found:
                        self.report.guessed.append("/" + guess)
        except BudgetExhausted:
            self.report.rejected.append(
                Rejected(self.base, "", f"stopped: request budget of {self.fetcher.budget} spent")
            )
        finally:
            self.report.requests = self.fetcher.requests
        if self.page_problem and not (self.report.feeds or self.report.sitemaps):
            self.report.error = self.page_problem
        return self.report

    def _look_at_page(self, url: str) -> None:
        self.seen.add(url)
        try:
            response = self.fetcher.get(url)
        except PermissionError as error:
            self.report.rejected.append(Rejected(url, "given", str(error)))
            return
        except (OSError, FetchRefused) as error:
            self.report.error = f"cannot fetch {url}: {_reason(error)}"
            return
        if response.status != 200:
            # The page given may be gone while the site's robots.txt still names its sitemaps:
            # what they hold is still worth a source. The page is an error only if nothing is.
            self.report.rejected.append(Rejected(url, "given", f"HTTP {response.status}"))
            self.page_problem = f"cannot fetch {url}: HTTP {response.status}"
            return
        kind = _sniff(response.body)
        if kind:  # the URL given is itself a feed or a sitemap
            self._read(url, kind, "given", response.body)
            return
        html = response.body.decode("utf-8", "replace")
        landed = urlsplit(response.url or url)  # after redirects
        base = f"{landed.scheme}://{landed.netloc}"
        params = FeedParameters(base, landed.hostname or "", response.url or url)
        for feed in determine_feed(html, params):
            self._check(feed, "feed", "page")

    def _check(self, url: str, kind: str, found_in: str, *, quiet: bool = False) -> None:
        if url in self.seen:
            return
        self.seen.add(url)
        try:
            response = self.fetcher.get(url)
        except PermissionError as error:
            self.report.rejected.append(Rejected(url, found_in, str(error)))
            return
        except (OSError, FetchRefused) as error:
            self.report.rejected.append(Rejected(url, found_in, _reason(error)))
            return
        if response.status != 200:
            if not quiet:
                self.report.rejected.append(Rejected(url, found_in, f"HTTP {response.status}"))
            return
        self._read(response.url if response.url else url, kind, found_in, response.body)

    def _read(self, url: str, kind: str, found_in: str, body: bytes) -> None:
        try:
            if kind == "feed":
                form, count = read_feed(url, body)
                self.report.feeds.append(Found(url, "feed", form, count, found_in))
            else:
                form, count = read_sitemap(url, body, self.settings.max_sitemap_bytes)
                self.report.sitemaps.append(Found(url, "sitemap", form, count, found_in))
        except DiscoveryError as error:
            self.report.rejected.append(Rejected(url, found_in, str(error)))


def discover_site(url: str, settings: CrawlSettings, budget: int = DEFAULT_BUDGET) -> SiteReport:
    """Feeds and sitemaps of the site at ``url``, each fetched and read; at most ``budget``
    requests (robots.txt included)."""
    return _Discovery(url, settings, budget).run()


def source_name(host: str, taken: set[str]) -> str:
    """A config source name for a host ("www.example.org" -> "example.org"), unique in
    ``taken``."""
    base = host.removeprefix("www.") or "site"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    return name


def sources_toml(reports: list[SiteReport], taken: set[str] | None = None) -> str:
    """Ready ``[[sources]]`` blocks, one per host; a host with neither feed nor sitemap gets
    its pages followed instead."""
    taken = set(taken or ())
    by_host: dict[str, list[SiteReport]] = {}
    for report in reports:
        if report.error is None:
            by_host.setdefault(report.host, []).append(report)
    blocks: list[str] = []
    for host, group in by_host.items():
        name = source_name(host, taken)
        taken.add(name)
        feeds = list(dict.fromkeys(f.url for r in group for f in r.feeds))
        sitemaps = list(dict.fromkeys(s.url for r in group for s in r.sitemaps))
        lines = ["[[sources]]", f"name = {json.dumps(name)}"]
        if feeds:
            lines.append(f"feeds = {_toml_list(feeds)}")
        if sitemaps:
            lines.append(f"sitemaps = {_toml_list(sitemaps)}")
        if not feeds and not sitemaps:
            lines.insert(0, "# no feed or sitemap found: newswatch follows links from the page")
            lines.append(f"pages = {_toml_list([r.url for r in group])}")
        domains = allowed_domains(host, feeds + sitemaps)
        if domains:
            lines.append(f"allowed_domains = {_toml_list(domains)}")
        lines.append('every = "30m"')
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n" if blocks else ""


def allowed_domains(host: str, urls: list[str]) -> list[str]:
    """The domains to write when a feed or sitemap lives on another host than the site
    (feeds.example.org for www.example.org): the crawl's default, the hosts of the listed
    URLs, would leave the site's own articles out. Empty when the default is right."""
    site = host.removeprefix("www.")
    hosts = {urlsplit(url).hostname or "" for url in urls}
    if all(h == host for h in hosts):
        return []
    others = sorted(h for h in hosts if h != site and not h.endswith("." + site))
    return [site, *others]


def _toml_list(values: list[str]) -> str:
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


def describe(report: SiteReport) -> list[str]:
    """The report as short lines for a person."""
    lines = [report.url]
    if report.error:
        lines.append(f"  error: {report.error}")
    for found in report.feeds + report.sitemaps:
        unit = {"feed": "entry", "sitemap index": "sitemap"}.get(found.kind, "URL")
        unit = {"feed": "entry", "sitemap index": "sitemap"}.get(found.format, unit)
        count = f"{found.entries} {unit}" + ("" if found.entries == 1 else "s")
        count = count.replace("entrys", "entries")
        lines.append(
            f"  {found.kind:<8} {found.url}  ({found.format}, {count}; from {found.found_in})"
        )
    for rejected in report.rejected:
        lines.append(f"  skipped  {rejected.url}  ({rejected.reason})")
    if report.guessed and not report.sitemaps:
        lines.append(
            f"  sitemap  none: robots.txt names none, and {', '.join(report.guessed)} are not there"
        )
    if not report.error and not report.found:
        lines.append("  no feed or sitemap found: the crawl can still follow links from the page")
    lines.append(f"  {report.requests} request(s)")
    return lines
