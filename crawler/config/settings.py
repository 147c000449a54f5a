"""Load and validate the TOML config; every mistake becomes a ConfigError naming the key."""

from __future__ import annotations

import math
import os
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from crawler.config.codes import ISO_COUNTRIES, ISO_LANGUAGES
from crawler.config.digest import DigestConfigError, DigestSpec, parse_base_url, parse_digests
from crawler.core.timeutil import duration_seconds
from crawler.topics.query import QueryError, parse_query

DEFAULT_DATABASE = "newswatch.db"
DEFAULT_USER_AGENT = "newswatch/0.1 (+https://github.com/newswatch/newswatch)"
# `newswatch discover`: requests per site at most, robots.txt included (--max-requests).
DISCOVERY_REQUESTS = 15
# Every duration has a floor and a ceiling: a schedule of "0.0001s" runs crawls back to back
# and floods the log, one of "99999999999999999999d" overflows every date computation.
MIN_DURATION = 1.0
MAX_DURATION = 366 * 86400.0
# The documented range of every number in [crawl] (README "Config bounds"): inclusive, and
# finite (nan and inf are refused). A delay of 1e308 would hang a run through SIGTERM.
NUMBER_BOUNDS: dict[str, tuple[float, float]] = {
    "delay": (0.0, 3600.0),
    "timeout": (1.0, 30.0),
    "concurrency": (1, 1024),
    "max_depth": (0, 20),
    "workers": (1, 256),
    "max_page_bytes": (1, 1024**3),
    "max_sitemap_bytes": (1, 1024**3),
    "max_sitemaps": (1, 1_000_000),
    "max_urls_per_sitemap": (1, 10_000_000),
    "max_sitemap_urls_per_source": (1, 100_000_000),
    "max_sitemap_bytes_per_source": (1, 64 * 1024**3),
    "max_links_per_page": (1, 1_000_000),
    "max_requests_per_source": (1, 100_000_000),
}
# The range of each duration key, in seconds (README "Config bounds").
DURATION_BOUNDS: dict[str, tuple[float, float]] = {
    "every": (MIN_DURATION, MAX_DURATION),
    "recheck_articles_for": (MIN_DURATION, MAX_DURATION),
    "run_time_limit": (MIN_DURATION, 7 * 86400.0),
    "lease": (MIN_DURATION, 86400.0),
    "deadline": (0.1, 120.0),
}


class ConfigError(ValueError):
    """A config problem, with the dotted key it concerns."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


@dataclass(frozen=True)
class Topic:
    name: str
    query: str


@dataclass(frozen=True)
class Source:
    name: str
    feeds: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()
    pages: tuple[str, ...] = ()
    allowed_domains: tuple[str, ...] = ()
    every_seconds: float = 1800.0
    country: str | None = None  # ISO 3166-1 alpha-2, lower case; None: from the host's ccTLD
    language: str | None = None  # ISO 639-1, lower case; None: detected per article
    kind: str = "news"  # or "official": a government's releases, the record
    outlet: str | None = None  # the outlet's name; None: the page's og:site_name or domain


@dataclass(frozen=True)
class CrawlSettings:
    obey_robots: bool = True
    delay: float = 1.0
    concurrency: int = 16
    max_depth: int = 1
    user_agent: str = DEFAULT_USER_AGENT
    recheck_articles_for_seconds: float = 48 * 3600.0
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    timeout: float = 30.0
    max_page_bytes: int = 5 * 1024 * 1024
    max_sitemap_bytes: int = 50 * 1024 * 1024
    max_sitemaps: int = 500
    max_urls_per_sitemap: int = 50_000
    run_time_limit_seconds: float = 3600.0
    # Memory budgets, per source and run (a cap hit is counted as limits.<what> on the run).
    max_sitemap_urls_per_source: int = 50_000  # across a whole sitemap index
    max_sitemap_bytes_per_source: int = 100 * 1024 * 1024  # XML read, gunzipped, whole index
    max_links_per_page: int = 500  # links followed from one section (or article) page
    max_requests_per_source: int = 50_000
    # Skip the extraction of pages no topic can match (crawler/topics/prefilter.py; lossless).
    prefilter: bool = True
    # Private and loopback addresses for hosts not named in the config (fetch policy).
    allow_private: bool = False


# Every [crawl] key: the CrawlSettings field it sets and one line for a person. The parser
# accepts exactly these keys, and `newswatch init` writes each with its default from here.
CRAWL_KEYS: dict[str, tuple[str, str]] = {
    "obey_robots": ("obey_robots", "obey robots.txt (and its Crawl-delay)"),
    "delay": ("delay", "seconds between requests to one host"),
    "concurrency": ("concurrency", "requests in flight at once, over all hosts"),
    "max_depth": ("max_depth", "link hops followed from section pages"),
    "user_agent": ("user_agent", "sent with every request: name yourself and give a contact URL"),
    "recheck_articles_for": (
        "recheck_articles_for_seconds",
        "re-fetch known articles this long after first seen",
    ),
    "workers": ("workers", "extraction processes"),
    "timeout": ("timeout", "seconds to wait for one response (at most 30)"),
    "max_page_bytes": ("max_page_bytes", "larger pages are dropped, with the reason recorded"),
    "max_sitemap_bytes": ("max_sitemap_bytes", "larger sitemaps are dropped likewise"),
    "max_sitemaps": ("max_sitemaps", "sitemaps read per source and run (index children too)"),
    "max_urls_per_sitemap": ("max_urls_per_sitemap", "URLs read from one sitemap"),
    "run_time_limit": ("run_time_limit_seconds", "a run stops cleanly after this long"),
    "max_sitemap_urls_per_source": (
        "max_sitemap_urls_per_source",
        "URLs taken from all sitemaps of a source in one run (a whole index)",
    ),
    "max_sitemap_bytes_per_source": (
        "max_sitemap_bytes_per_source",
        "bytes of sitemap XML read per source and run (gunzipped, a whole index)",
    ),
    "max_links_per_page": ("max_links_per_page", "links followed from one page"),
    "max_requests_per_source": ("max_requests_per_source", "article requests per source and run"),
    "prefilter": ("prefilter", "extract only pages a topic can match (a lossless check)"),
    "allow_private": (
        "allow_private",
        "private or loopback addresses for hosts not named here",
    ),
}
# Defaults that depend on the machine: `init` writes them commented out.
MACHINE_DEFAULTS: dict[str, str] = {"workers": "the number of CPU cores"}


@dataclass(frozen=True)
class Config:
    database: str = DEFAULT_DATABASE
    crawl: CrawlSettings = field(default_factory=CrawlSettings)
    topics: tuple[Topic, ...] = ()
    sources: tuple[Source, ...] = ()
    redis_url: str | None = None
    webhook: str | None = None
    path: str | None = None
    # [distributed] lease: how long a worker may hold a request before others may take it.
    lease_seconds: float = 60.0
    # [notify]: the payload shape ("json" or "slack") and the total deadline of one POST.
    webhook_format: str = "json"
    webhook_deadline_seconds: float = 10.0
    # [[notify.digest]]: the briefs to send (crawler/config/digest.py); [notify] base_url:
    # where `newswatch browse` is reached, for the story links in a brief.
    digests: tuple[DigestSpec, ...] = ()
    base_url: str | None = None

    def source(self, name: str) -> Source:
        for source in self.sources:
            if source.name == name:
                return source
        known = ", ".join(s.name for s in self.sources) or "none"
        raise ConfigError("--source", f"unknown source {name!r} (known: {known})")


def parse_duration(
    value: Any, key: str, low: float = MIN_DURATION, high: float = MAX_DURATION
) -> float:
    """Parse "90s", "10m", "2h", "1d" into seconds, refusing anything outside [low, high]."""
    if isinstance(value, bool) or not isinstance(value, str):
        raise ConfigError(
            key, f'expected a duration string like "90s", "10m", "2h", "1d", got {value!r}'
        )
    seconds = duration_seconds(value)
    if seconds is None or seconds <= 0:
        raise ConfigError(
            key, f'bad duration {value!r}: use a positive number with s, m, h or d, like "10m"'
        )
    if not math.isfinite(seconds) or seconds > high:
        raise ConfigError(key, f"duration {value!r} is too long: at most {format_duration(high)}")
    if seconds < low:
        raise ConfigError(key, f"duration {value!r} is too short: at least {format_duration(low)}")
    return seconds


def _duration(table: dict[str, Any], name: str, prefix: str, default: str) -> float:
    low, high = DURATION_BOUNDS[name]
    return parse_duration(table.get(name, default), f"{prefix}.{name}", low, high)


def _number(value: Any, key: str, name: str, *, integer: bool) -> Any:
    """A [crawl] number inside its documented range (NUMBER_BOUNDS), finite."""
    if integer:
        number: Any = _expect(value, int, key, "an integer")
    else:
        number = float(_expect(value, (int, float), key, "a number of seconds"))
    low, high = NUMBER_BOUNDS[name]
    if not math.isfinite(number):
        raise ConfigError(key, f"must be a finite number, got {number}")
    if not low <= number <= high:
        side = f"at least {low:g}" if number < low else f"at most {high:g}"
        raise ConfigError(key, f"must be {side} (range {low:g} to {high:g}), got {number:g}")
    return number


def format_duration(seconds: float) -> str:
    """Seconds in the config's duration style, exactly: 172800 -> "48h", 90 -> "90s"."""
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def _check_url(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(key, f"expected a URL string, got {type(value).__name__}")
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            key, f"bad URL {value!r}: only absolute http:// or https:// URLs are allowed"
        )
    return value.strip()


def _expect(value: Any, kind: type | tuple[type, ...], key: str, what: str) -> Any:
    # bool is an int subclass in Python; a config saying `delay = true` is a mistake.
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise ConfigError(key, f"expected {what}, got a boolean")
    if not isinstance(value, kind):
        raise ConfigError(key, f"expected {what}, got {type(value).__name__} {value!r}")
    return value


def _check_keys(table: dict[str, Any], allowed: set[str], prefix: str) -> None:
    for key in table:
        if key not in allowed:
            where = f"{prefix}.{key}" if prefix else key
            raise ConfigError(where, f"unknown key (allowed: {', '.join(sorted(allowed))})")


def _url_list(table: dict[str, Any], name: str, prefix: str) -> tuple[str, ...]:
    key = f"{prefix}.{name}"
    values = _expect(table.get(name, []), list, key, "a list of URLs")
    return tuple(_check_url(v, f"{key}[{i}]") for i, v in enumerate(values))


def _crawl_settings(table: dict[str, Any]) -> CrawlSettings:
    defaults = CrawlSettings()
    allowed = set(CRAWL_KEYS)
    _check_keys(table, allowed, "crawl")
    values: dict[str, Any] = {}
    for name in ("obey_robots", "prefilter", "allow_private"):
        if name in table:
            values[name] = _expect(table[name], bool, f"crawl.{name}", "true or false")
    for name in ("delay", "timeout"):
        if name in table:
            values[name] = _number(table[name], f"crawl.{name}", name, integer=False)
    int_keys = (
        "concurrency",
        "max_depth",
        "workers",
        "max_page_bytes",
        "max_sitemap_bytes",
        "max_sitemaps",
        "max_urls_per_sitemap",
        "max_sitemap_urls_per_source",
        "max_sitemap_bytes_per_source",
        "max_links_per_page",
        "max_requests_per_source",
    )
    for name in int_keys:
        if name in table:
            values[name] = _number(table[name], f"crawl.{name}", name, integer=True)
    if "user_agent" in table:
        agent = _expect(table["user_agent"], str, "crawl.user_agent", "a string").strip()
        if not agent:
            raise ConfigError("crawl.user_agent", "must not be empty")
        values["user_agent"] = agent
    if "recheck_articles_for" in table:
        values["recheck_articles_for_seconds"] = _duration(
            table, "recheck_articles_for", "crawl", "48h"
        )
    if "run_time_limit" in table:
        values["run_time_limit_seconds"] = _duration(table, "run_time_limit", "crawl", "1h")
    return CrawlSettings(**{**defaults.__dict__, **values})


def _topics(items: Any) -> tuple[Topic, ...]:
    items = _expect(items, list, "topics", "an array of [[topics]] tables")
    topics: list[Topic] = []
    for i, item in enumerate(items):
        prefix = f"topics[{i}]"
        _expect(item, dict, prefix, "a table")
        _check_keys(item, {"name", "query"}, prefix)
        for required in ("name", "query"):
            if required not in item:
                raise ConfigError(f"{prefix}.{required}", "missing")
        name = _expect(item["name"], str, f"{prefix}.name", "a string")
        query = _expect(item["query"], str, f"{prefix}.query", "a string")
        try:
            parse_query(query)
        except QueryError as error:
            raise ConfigError(f"{prefix}.query", f"bad query: {error}") from None
        if any(t.name == name for t in topics):
            raise ConfigError(f"{prefix}.name", f"duplicate topic name {name!r}")
        topics.append(Topic(name=name, query=query))
    return tuple(topics)


def _sources(items: Any) -> tuple[Source, ...]:
    items = _expect(items, list, "sources", "an array of [[sources]] tables")
    sources: list[Source] = []
    allowed = {
        "name",
        "feeds",
        "sitemaps",
        "pages",
        "allowed_domains",
        "every",
        "country",
        "language",
        "kind",
        "outlet",
    }
    for i, item in enumerate(items):
        prefix = f"sources[{i}]"
        _expect(item, dict, prefix, "a table")
        _check_keys(item, allowed, prefix)
        if "name" not in item:
            raise ConfigError(f"{prefix}.name", "missing")
        name = _expect(item["name"], str, f"{prefix}.name", "a string").strip()
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
            raise ConfigError(
                f"{prefix}.name", f"bad name {name!r}: use letters, digits, '-', '_', '.'"
            )
        if any(s.name == name for s in sources):
            raise ConfigError(f"{prefix}.name", f"duplicate source name {name!r}")
        feeds = _url_list(item, "feeds", prefix)
        sitemaps = _url_list(item, "sitemaps", prefix)
        pages = _url_list(item, "pages", prefix)
        if not (feeds or sitemaps or pages):
            raise ConfigError(
                prefix, f"source {name!r} needs at least one of feeds, sitemaps, pages"
            )
        domains_key = f"{prefix}.allowed_domains"
        domains = _expect(
            item.get("allowed_domains", []), list, domains_key, "a list of host names"
        )
        cleaned: list[str] = []
        for j, domain in enumerate(domains):
            domain = _expect(domain, str, f"{domains_key}[{j}]", "a host name").strip().lower()
            if not re.fullmatch(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?", domain):
                raise ConfigError(
                    f"{domains_key}[{j}]", f"bad host name {domain!r} (no scheme, no path)"
                )
            cleaned.append(domain)
        if not cleaned:
            cleaned = sorted({urlsplit(u).hostname or "" for u in feeds + sitemaps + pages})
        every = _duration(item, "every", prefix, "30m")
        country, language, kind, outlet = _profile(item, prefix)
        sources.append(
            Source(
                name,
                feeds,
                sitemaps,
                pages,
                tuple(cleaned),
                every,
                country,
                language,
                kind,
                outlet,
            )
        )
    return tuple(sources)


SOURCE_KINDS = ("news", "official")


def _profile(item: dict[str, Any], prefix: str) -> tuple[str | None, str | None, str, str | None]:
    """A source's declared country, language, kind and outlet name, validated."""
    country = item.get("country")
    if country is not None:
        country = _expect(country, str, f"{prefix}.country", 'an ISO 3166 code like "mx"')
        country = country.strip().lower()
        if country not in ISO_COUNTRIES:
            raise ConfigError(
                f"{prefix}.country", f"unknown country code {country!r} (ISO 3166 alpha-2)"
            )
    language = item.get("language")
    if language is not None:
        language = _expect(language, str, f"{prefix}.language", 'an ISO 639-1 code like "es"')
        language = language.strip().lower()
        if language not in ISO_LANGUAGES:
            raise ConfigError(
                f"{prefix}.language", f"unknown language code {language!r} (ISO 639-1)"
            )
    kind = _expect(item.get("kind", "news"), str, f"{prefix}.kind", "a string")
    if kind not in SOURCE_KINDS:
        raise ConfigError(f"{prefix}.kind", f'expected "news" or "official", got {kind!r}')
    outlet = item.get("outlet")
    if outlet is not None:
        outlet = _expect(outlet, str, f"{prefix}.outlet", "a name").strip() or None
    return country, language, kind, outlet


WEBHOOK_FORMATS = ("json", "slack")
MAX_WEBHOOK_DEADLINE = 120.0


def _notify(table: dict[str, Any]) -> tuple[str | None, str, float]:
    """[notify]: (webhook URL, payload format, total deadline of one POST in seconds)."""
    _check_keys(table, {"webhook", "format", "deadline", "digest", "base_url"}, "notify")
    webhook = table.get("webhook")
    if webhook is not None:
        webhook = _check_url(webhook, "notify.webhook")
    elif "format" in table or "deadline" in table:
        raise ConfigError("notify.webhook", "missing (format and deadline need a webhook)")
    fmt = _expect(table.get("format", "json"), str, "notify.format", "a string")
    if fmt not in WEBHOOK_FORMATS:
        expected = " or ".join(f'"{name}"' for name in WEBHOOK_FORMATS)
        raise ConfigError("notify.format", f"expected {expected}, got {fmt!r}")
    deadline = _duration(table, "deadline", "notify", "10s")
    return webhook, fmt, deadline


def parse_config(data: dict[str, Any], path: str | None = None) -> Config:
    """Validate a parsed TOML document and build a Config."""
    _check_keys(data, {"database", "crawl", "topics", "sources", "distributed", "notify"}, "")
    database = _expect(data.get("database", DEFAULT_DATABASE), str, "database", "a file path")
    crawl = _crawl_settings(_expect(data.get("crawl", {}), dict, "crawl", "a [crawl] table"))
    distributed = _expect(data.get("distributed", {}), dict, "distributed", "a [distributed] table")
    _check_keys(distributed, {"redis_url", "lease"}, "distributed")
    redis_url = distributed.get("redis_url")
    if redis_url is not None:
        redis_url = _expect(redis_url, str, "distributed.redis_url", "a redis:// URL")
        parts = urlsplit(redis_url)
        if parts.scheme not in ("redis", "rediss", "unix") or (
            parts.scheme != "unix" and not parts.hostname
        ):
            raise ConfigError(
                "distributed.redis_url", f"bad URL {redis_url!r}: expected redis://host:port/db"
            )
    elif distributed:
        raise ConfigError("distributed.redis_url", "missing (the [distributed] table needs it)")
    lease = _duration(distributed, "lease", "distributed", "60s")
    notify = _expect(data.get("notify", {}), dict, "notify", "a [notify] table")
    webhook, webhook_format, webhook_deadline = _notify(notify)
    # No [[sources]] is a valid config (a fresh `newswatch init`, read commands); what
    # crawls refuses it: require_sources().
    sources = _sources(data.get("sources", []))
    topics = _topics(data.get("topics", []))
    try:
        digests = parse_digests(
            notify.get("digest", []), tuple(t.name for t in topics), parse_duration
        )
        base_url = parse_base_url(notify.get("base_url"))
    except DigestConfigError as error:
        raise ConfigError(error.key, error.problem) from None
    return Config(
        database,
        crawl,
        topics,
        sources,
        redis_url,
        webhook,
        path,
        lease,
        webhook_format,
        webhook_deadline,
        digests,
        base_url,
    )


def require_sources(config: Config) -> None:
    """ConfigError unless the config has a source to crawl."""
    if not config.sources:
        path = config.path or "newswatch.toml"
        raise ConfigError(
            "sources",
            "no [[sources]] configured: add one, e.g. "
            f"`newswatch discover URL --toml --config {path} >> {path}`",
        )


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Load a config file, or the default config shipped in the package."""
    if path is None:
        text = resources.files("crawler").joinpath("default_config.toml").read_text("utf-8")
        origin = "<default config>"
    else:
        try:
            text = Path(path).read_text("utf-8")
        except OSError as error:
            raise ConfigError("--config", f"cannot read {str(path)!r}: {error.strerror}") from None
        except UnicodeDecodeError:
            raise ConfigError("--config", f"{str(path)!r} is not UTF-8 text") from None
        origin = str(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError("--config", f"{origin} is not valid TOML: {error}") from None
    return parse_config(data, origin)
