"""Parse feeds (RSS, Atom) and sitemaps (index, urlset, Google News) into article entries."""

from __future__ import annotations

import calendar
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin

import feedparser
from lxml import etree

from crawler.urls import is_crawlable_url


class DiscoveryError(ValueError):
    """A feed or sitemap that cannot be read."""


@dataclass(frozen=True)
class Entry:
    """An article URL found in a feed or sitemap, with what the listing says about it."""

    url: str
    title: str | None = None
    published: str | None = None
    guid: str | None = None
    origin: str = "feed"  # "feed" or "sitemap": where ``published`` came from


def _iso_from_struct(value: time.struct_time | None) -> str | None:
    if not value:
        return None
    moment = datetime.fromtimestamp(calendar.timegm(value), UTC)
    return _not_future(moment)


def _not_future(moment: datetime) -> str | None:
    # A listing date in the future is a publisher bug; it must never become `published`.
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if moment > datetime.now(UTC):
        return None
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def parse_listing_date(value: str | None) -> str | None:
    """An ISO 8601 / W3C date from a sitemap, as UTC ISO text; None if unreadable or future."""
    if not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        return _not_future(datetime.fromisoformat(text))
    except ValueError:
        pass
    try:
        return _not_future(parsedate_to_datetime(value))  # RFC 822, as some sitemaps use
    except (TypeError, ValueError, IndexError):
        return None


def looks_like_feed(body: bytes) -> bool:
    head = body[:2048].lstrip().lower()
    return b"<rss" in head or b"<feed" in head or b"<rdf:rdf" in head


def is_well_formed_xml(body: bytes) -> bool:
    """Strictly well-formed XML (no recovery, no entities, no network)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, recover=False)
    try:
        etree.fromstring(body, parser=parser)
    except etree.XMLSyntaxError:
        return False
    return True


def parse_feed(body: bytes, base_url: str, max_entries: int = 10_000) -> list[Entry]:
    """Entries of an RSS or Atom feed; DiscoveryError when the body is not a feed."""
    parsed = feedparser.parse(body, response_headers={"content-location": base_url})
    if parsed.get("bozo") and not parsed.get("entries"):
        reason = parsed.get("bozo_exception")
        raise DiscoveryError(f"not a readable feed: {reason}")
    if not parsed.get("version") and not parsed.get("entries"):
        raise DiscoveryError("not an RSS or Atom feed")
    entries: list[Entry] = []
    for item in parsed.entries[:max_entries]:
        link = item.get("link") or ""
        if not link:
            for candidate in item.get("links", []):
                if candidate.get("rel", "alternate") == "alternate" and candidate.get("href"):
                    link = candidate["href"]
                    break
        if not link.strip():
            continue  # an item without a link names no article (urljoin would give the feed)
        url = urljoin(base_url, link.strip())
        if not is_crawlable_url(url):
            continue
        published = _iso_from_struct(item.get("published_parsed") or item.get("updated_parsed"))
        entries.append(
            Entry(
                url,
                (item.get("title") or "").strip() or None,
                published,
                (item.get("id") or "").strip() or None,
            )
        )
    return entries


_SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
_NEWS_NS = "{http://www.google.com/schemas/sitemap-news/0.9}"


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def parse_sitemap(
    body: bytes, base_url: str, max_urls: int = 50_000
) -> tuple[list[Entry], list[str]]:
    """(article entries, child sitemap URLs) of a sitemap, sitemap index or Google News sitemap.

    Keeps ``news:title`` and ``news:publication_date`` (falling back to ``lastmod``), which
    Scrapy's SitemapSpider drops.
    """
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, huge_tree=False, recover=True, remove_comments=True
    )
    try:
        root = etree.fromstring(body, parser=parser)
    except etree.XMLSyntaxError as error:
        raise DiscoveryError(f"not a readable sitemap: {error}") from None
    if root is None or _local(root.tag) not in ("urlset", "sitemapindex"):
        raise DiscoveryError("not a sitemap (no <urlset> or <sitemapindex>)")
    entries: list[Entry] = []
    children: list[str] = []
    for node in root:
        if len(entries) + len(children) >= max_urls:
            break
        kind = _local(node.tag)
        fields: dict[str, str] = {}
        for child in node.iter():
            name = _local(child.tag)
            if name in ("loc", "lastmod", "title", "publication_date") and child.text:
                fields.setdefault(name, child.text.strip())
        loc = urljoin(base_url, fields.get("loc", ""))
        if not fields.get("loc") or not is_crawlable_url(loc):
            continue
        if kind == "sitemap":
            children.append(loc)
        elif kind == "url":
            published = parse_listing_date(fields.get("publication_date"))
            title = fields.get("title")
            # lastmod is when the page changed, not when it was published: only a fallback.
            published = published or parse_listing_date(fields.get("lastmod"))
            entries.append(Entry(loc, title, published, origin="sitemap"))
    return entries, children
