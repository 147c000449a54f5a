"""Parse feeds (RSS, Atom) and sitemaps (index, urlset, Google News) into article entries."""

from __future__ import annotations

import calendar
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import feedparser
from lxml import etree

from crawler.core.timeutil import is_future, iso_utc, parse_date_header
from crawler.core.urls import is_crawlable_url


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
    return _stored_unless_future(moment)


def _stored_unless_future(moment: datetime) -> str | None:
    # A listing date in the future is a publisher bug; it must never become `published`.
    return None if is_future(moment) else iso_utc(moment)


def parse_listing_date(value: str | None) -> str | None:
    """An ISO 8601 / W3C date from a sitemap, as UTC ISO text; None if unreadable or future."""
    if not value:
        return None
    moment = parse_date_header(value)
    return _stored_unless_future(moment) if moment is not None else None


def looks_like_feed(body: bytes) -> bool:
    """An RSS, Atom or RDF root near the start: a feed, whatever the URL or type says."""
    head = body[:2048].lstrip().lower()
    return b"<rss" in head or b"<feed" in head or b"<rdf:rdf" in head


def looks_like_sitemap(body: bytes) -> bool:
    """A urlset or sitemapindex root near the start, or gzip data (a ``.xml.gz`` sitemap)."""
    head = body[:2048].lstrip().lower()
    return b"<urlset" in head or b"<sitemapindex" in head or body.startswith(b"\x1f\x8b")


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


class SitemapTooLarge(DiscoveryError):
    """A sitemap whose XML (after gunzip) is larger than allowed: an XML or gzip bomb."""


# Parse in pieces this big: the caller can let the event loop run between pieces.
SITEMAP_CHUNK_BYTES = 256 * 1024


def sitemap_xml_chunks(
    body: bytes, max_bytes: int, chunk: int = SITEMAP_CHUNK_BYTES
) -> Iterator[bytes]:
    """The sitemap's XML in pieces, gunzipped on the fly for a ``.xml.gz`` body.

    Raises SitemapTooLarge once the XML passes ``max_bytes`` (the inflated size is never
    held), DiscoveryError for a broken gzip stream.
    """
    if body[:2] != b"\x1f\x8b":
        if len(body) > max_bytes:
            raise SitemapTooLarge(f"sitemap larger than {max_bytes} bytes")
        for start in range(0, len(body), chunk):
            yield body[start : start + chunk]
        return
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    produced = 0
    data = body
    while not inflater.eof:
        try:
            piece = inflater.decompress(data, chunk)
        except zlib.error as error:
            raise DiscoveryError(f"not a readable gzip stream: {error}") from None
        data = inflater.unconsumed_tail
        if not piece and not data:
            break  # truncated: what came out is parsed, as a browser would
        produced += len(piece)
        if produced > max_bytes:
            raise SitemapTooLarge(
                f"gzip sitemap decompresses to more than {max_bytes} bytes (a gzip bomb?)"
            )
        yield piece


@dataclass
class SitemapPart:
    """What one piece of a sitemap added: entries, child sitemaps, XML bytes parsed so far."""

    entries: list[Entry]
    children: list[str]
    parsed_bytes: int


def _sitemap_parser() -> etree.XMLPullParser:
    # No entity expansion, no DTD or network access, no huge-tree mode: XXE and bombs stay
    # inert. recover: real sitemaps carry stray bytes; what parses is kept.
    return etree.XMLPullParser(
        events=("start", "end"),
        resolve_entities=False,
        load_dtd=False,
        no_network=True,
        huge_tree=False,
        recover=True,
        remove_comments=True,
        remove_pis=True,
    )


def _entry_of(
    node: Any, base_url: str, take: Callable[[], bool] | None = None
) -> tuple[str, Entry | str] | None:
    """A ``<url>`` as an Entry or a ``<sitemap>`` as its URL; an entry ``take`` declines (a
    budget spent) is not built at all: counting it is all a cap costs."""
    kind = _local(node.tag)
    if kind == "url" and take is not None and not take():
        return None
    fields: dict[str, str] = {}
    for child in node.iter():
        name = _local(child.tag)
        if name in ("loc", "lastmod", "title", "publication_date") and child.text:
            fields.setdefault(name, child.text.strip())
    if not fields.get("loc"):
        return None
    loc = urljoin(base_url, fields["loc"])
    if not is_crawlable_url(loc):
        return None
    if kind == "sitemap":
        return kind, loc
    # lastmod is when the page changed, not when it was published: only a fallback.
    published = parse_listing_date(fields.get("publication_date")) or parse_listing_date(
        fields.get("lastmod")
    )
    return kind, Entry(loc, fields.get("title"), published, origin="sitemap")


def iter_sitemap(
    body: bytes,
    base_url: str,
    *,
    max_bytes: int = 50 * 1024 * 1024,
    chunk: int = SITEMAP_CHUNK_BYTES,
    take: Callable[[], bool] | None = None,
) -> Iterator[SitemapPart]:
    """A sitemap, sitemap index or Google News sitemap, parsed as a stream: one part per
    piece of XML, each element dropped once read, so memory stays near the body's size.

    Keeps ``news:title`` and ``news:publication_date`` (falling back to ``lastmod``), which
    Scrapy's SitemapSpider drops. DiscoveryError when it is no sitemap.
    """
    parser = _sitemap_parser()
    root: Any = None
    parsed = 0
    for piece in sitemap_xml_chunks(body, max_bytes, chunk):
        parsed += len(piece)
        try:
            parser.feed(piece)
            events = list(parser.read_events())
        except etree.XMLSyntaxError as error:
            raise DiscoveryError(f"not a readable sitemap: {error}") from None
        part = SitemapPart([], [], parsed)
        for event, node in events:
            if root is None:
                if _local(node.tag) not in ("urlset", "sitemapindex"):
                    raise DiscoveryError("not a sitemap (no <urlset> or <sitemapindex>)")
                root = node
                continue
            if event != "end" or node.getparent() is not root:
                continue
            if _local(node.tag) in ("url", "sitemap"):
                found = _entry_of(node, base_url, take)
                if found is not None:
                    kind, value = found
                    if kind == "sitemap":
                        part.children.append(value)  # type: ignore[arg-type]
                    else:
                        part.entries.append(value)  # type: ignore[arg-type]
            node.clear()
            while node.getprevious() is not None:  # siblings already read
                del root[0]
        yield part
    try:
        parser.close()
    except etree.XMLSyntaxError as error:
        if root is None:
            raise DiscoveryError(f"not a readable sitemap: {error}") from None
    if root is None:
        raise DiscoveryError("not a sitemap (no <urlset> or <sitemapindex>)")


def parse_sitemap(
    body: bytes, base_url: str, max_urls: int = 50_000, max_bytes: int = 50 * 1024 * 1024
) -> tuple[list[Entry], list[str]]:
    """(article entries, child sitemap URLs) of a whole sitemap, at most ``max_urls``."""
    entries: list[Entry] = []
    children: list[str] = []
    for part in iter_sitemap(body, base_url, max_bytes=max_bytes):
        room = max_urls - len(entries) - len(children)
        children.extend(part.children[:room])
        room = max_urls - len(entries) - len(children)
        entries.extend(part.entries[:room])
        if len(entries) + len(children) >= max_urls:
            break
    return entries, children


def is_well_formed_stream(body: bytes, max_bytes: int) -> bool:
    """Strictly well-formed XML (no recovery, no entities, no network), read as a stream."""
    parser = etree.XMLPullParser(
        events=("end",),
        resolve_entities=False,
        load_dtd=False,
        no_network=True,
        huge_tree=False,
        recover=False,
    )
    try:
        for piece in sitemap_xml_chunks(body, max_bytes):
            parser.feed(piece)
            for _, node in parser.read_events():
                node.clear()
        parser.close()
    except (etree.XMLSyntaxError, DiscoveryError):
        return False
    return True
