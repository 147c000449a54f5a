"""Feed and sitemap parsing, including Google News fields Scrapy's SitemapSpider drops."""

from __future__ import annotations

import pytest

from crawler.listings.discovery import DiscoveryError, parse_feed, parse_listing_date, parse_sitemap

RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
<item><title>Cartel leaders sent to US</title><link>https://ex.org/a?utm_source=rss</link>
<guid>ex-1</guid><pubDate>Fri, 20 Nov 2026 10:00:00 GMT</pubDate></item>
<item><title>Relative</title><link>/b</link></item>
<item><title>Bad scheme</title><link>javascript:alert(1)</link></item>
<item><title>No link at all</title><description>text</description></item>
</channel></rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">
<title>F</title><id>urn:f</id><updated>2026-11-20T10:00:00Z</updated>
<entry><title>Reuni\xc3\xb3n en Washington</title><id>urn:e1</id>
<link rel="alternate" href="https://ex.org/es/reunion"/><updated>2026-11-20T09:00:00Z</updated>
</entry></feed>"""

NEWS_SITEMAP = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>https://ex.org/n1</loc><lastmod>2026-11-21T00:00:00Z</lastmod>
<news:news><news:publication><news:name>Ex</news:name><news:language>es</news:language>
</news:publication><news:publication_date>2026-11-20T08:30:00+01:00</news:publication_date>
<news:title>Decomisan laboratorio</news:title></news:news></url>
<url><loc>file:///etc/passwd</loc></url>
<url><loc>https://ex.org/n2</loc><lastmod>2999-01-01</lastmod></url>
</urlset>"""

INDEX = b"""<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>https://ex.org/s1.xml</loc></sitemap><sitemap><loc>https://ex.org/s2.xml</loc>
</sitemap></sitemapindex>"""


def test_rss_entries_keep_title_date_guid_and_resolve_links() -> None:
    entries = parse_feed(RSS, "https://ex.org/rss.xml")
    assert [e.url for e in entries] == ["https://ex.org/a?utm_source=rss", "https://ex.org/b"]
    assert entries[0].title == "Cartel leaders sent to US"
    assert entries[0].guid and entries[0].guid.endswith("ex-1")
    assert entries[0].published == "2026-11-20T10:00:00+00:00"


def test_atom_entries() -> None:
    (entry,) = parse_feed(ATOM, "https://ex.org/atom.xml")
    assert entry.url == "https://ex.org/es/reunion"
    assert entry.title == "Reunión en Washington"
    assert entry.published == "2026-11-20T09:00:00+00:00"


def test_google_news_sitemap_keeps_news_title_and_publication_date() -> None:
    entries, children = parse_sitemap(NEWS_SITEMAP, "https://ex.org/news-sitemap.xml")
    assert children == []
    assert [e.url for e in entries] == ["https://ex.org/n1", "https://ex.org/n2"]
    assert entries[0].title == "Decomisan laboratorio"
    assert entries[0].published == "2026-11-20T07:30:00+00:00"
    assert entries[1].published is None  # a future lastmod is never a publication date


def test_sitemap_index_lists_children_and_respects_the_limit() -> None:
    entries, children = parse_sitemap(INDEX, "https://ex.org/sitemap.xml")
    assert entries == [] and children == ["https://ex.org/s1.xml", "https://ex.org/s2.xml"]
    _, limited = parse_sitemap(INDEX, "https://ex.org/sitemap.xml", max_urls=1)
    assert limited == ["https://ex.org/s1.xml"]


@pytest.mark.parametrize("body", [b"<html><body>not a feed</body></html>", b"", b"\x00\x01"])
def test_not_a_feed(body: bytes) -> None:
    with pytest.raises(DiscoveryError):
        parse_feed(body, "https://ex.org/feed")


@pytest.mark.parametrize("body", [b"<html><body>nope</body></html>", b"<<<", b""])
def test_not_a_sitemap(body: bytes) -> None:
    with pytest.raises(DiscoveryError):
        parse_sitemap(body, "https://ex.org/sitemap.xml")


def test_entities_are_not_expanded() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        b"<url><loc>https://ex.org/&b;</loc></url></urlset>"
    )
    entries, _ = parse_sitemap(bomb, "https://ex.org/s.xml")
    assert all(len(e.url) < 200 for e in entries)


def test_listing_dates() -> None:
    assert parse_listing_date("2026-11-20") == "2026-11-20T00:00:00+00:00"
    assert parse_listing_date("garbage") is None
    assert parse_listing_date(None) is None


def test_well_formed_xml() -> None:
    from crawler.listings.discovery import is_well_formed_xml

    assert is_well_formed_xml(RSS)
    assert not is_well_formed_xml(b"<rss><channel><item></rss>")


def test_gzip_sitemap_is_read_as_a_stream_and_a_bomb_is_too_large() -> None:
    import gzip

    from crawler.listings.discovery import SitemapTooLarge

    entries, _ = parse_sitemap(gzip.compress(NEWS_SITEMAP), "https://ex.org/s.xml.gz")
    assert [e.url for e in entries] == ["https://ex.org/n1", "https://ex.org/n2"]
    head = b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
    bomb = gzip.compress(head + b" " * (4 * 1024 * 1024))
    with pytest.raises(SitemapTooLarge, match="more than 1048576 bytes"):
        parse_sitemap(bomb, "https://ex.org/s.xml.gz", max_bytes=1024 * 1024)
    with pytest.raises(DiscoveryError):
        parse_sitemap(b"\x1f\x8bnot gzip at all", "https://ex.org/s.xml.gz")
