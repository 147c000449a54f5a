from __future__ import annotations

import pytest

from crawler.core.urls import (
    canonicalize_url,
    choose_canonical,
    host_of,
    is_crawlable_url,
    url_in_domains,
)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        # tracking parameters, names matched case-insensitively
        ("https://ex.com/a?UTM_Source=x&Fbclid=y&id=3", "https://ex.com/a?id=3"),
        ("https://ex.com/a?utm_source=x&utm_medium=y&utm_campaign=z", "https://ex.com/a"),
        ("https://ex.com/a?utm_whatever=1&id=2", "https://ex.com/a?id=2"),
        (
            "https://ex.com/a?gclid=1&dclid=2&gbraid=3&wbraid=4&msclkid=5&yclid=6&igshid=7&p=1",
            "https://ex.com/a?p=1",
        ),
        ("https://ex.com/a?mc_cid=1&mc_eid=2&mkt_tok=3&p=1", "https://ex.com/a?p=1"),
        ("https://ex.com/a?_ga=1&_gl=2&ref_src=twsrc&p=1", "https://ex.com/a?p=1"),
        ("https://ex.com/a?cmpid=1&ocid=2&smid=3&ito=4&s_cid=5&spm=6&p=1", "https://ex.com/a?p=1"),
        ("https://ex.com/a?__twitter_impression=true&CMP=share_btn_tw", "https://ex.com/a"),
        ("https://ex.com/a?utm%5Fsource=x&p=1", "https://ex.com/a?p=1"),  # encoded name
        ("https://ex.com/a?ref=home&source=rss", "https://ex.com/a?ref=home&source=rss"),
        # fragment and empty query
        ("https://ex.com/a#comments", "https://ex.com/a"),
        ("https://ex.com/a?#top", "https://ex.com/a"),
        ("https://ex.com/a?", "https://ex.com/a"),
        ("https://ex.com/a?fbclid=1#x", "https://ex.com/a"),
        # scheme, host, ports
        ("HTTPS://WWW.Example.COM/Path/To", "https://www.example.com/Path/To"),
        ("http://ex.com:80/a", "http://ex.com/a"),
        ("https://ex.com:443/a", "https://ex.com/a"),
        ("http://ex.com:443/a", "http://ex.com:443/a"),
        ("https://ex.com:8443/a", "https://ex.com:8443/a"),
        ("http://[::1]:80/a", "http://[::1]/a"),
        # query order: sorted, deterministic
        ("https://ex.com/a?b=2&a=1&c=3", "https://ex.com/a?a=1&b=2&c=3"),
        ("https://ex.com/a?a=1&b=2&c=3", "https://ex.com/a?a=1&b=2&c=3"),
        ("https://ex.com/a?q=&x=1", "https://ex.com/a?q=&x=1"),
        # percent-encoding normalised, path case and trailing slash kept
        ("https://ex.com/caf%c3%a9/%7euser", "https://ex.com/caf%C3%A9/~user"),
        ("https://ex.com/café", "https://ex.com/caf%C3%A9"),
        ("https://ex.com/News/", "https://ex.com/News/"),
        ("https://ex.com/News", "https://ex.com/News"),
        ("https://ex.com", "https://ex.com/"),
        ("  https://ex.com/a  ", "https://ex.com/a"),
        ("https://ex.com/a/./b/../c", "https://ex.com/a/c"),
    ],
)
def test_canonicalize_url(url: str, expected: str) -> None:
    assert canonicalize_url(url) == expected


def test_canonicalize_url_is_idempotent() -> None:
    url = "HTTP://Ex.com:80/Caf%c3%a9/?b=2&UTM_Source=x&a=1#f"
    once = canonicalize_url(url)
    assert once == "http://ex.com/Caf%C3%A9/?a=1&b=2"
    assert canonicalize_url(once) == once


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://ex.com/a", True),
        ("http://ex.com", True),
        ("HTTPS://EX.COM/", True),
        ("http://127.0.0.1:8000/x", True),
        ("file:///etc/passwd", False),
        ("data:text/html,hi", False),
        ("javascript:alert(1)", False),
        ("mailto:someone@ex.com", False),
        ("ftp://ex.com/file", False),
        ("tel:+5255", False),
        ("//ex.com/a", False),  # scheme-relative: resolve first
        ("/relative/path", False),
        ("https:///no-host", False),
        ("http://[::1", False),
        ("http://ex.com:notaport/", False),
        ("", False),
    ],
)
def test_is_crawlable_url(url: str, expected: bool) -> None:
    assert is_crawlable_url(url) is expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://WWW.Example.org:8080/a", "www.example.org"),
        ("http://example.org./", "example.org"),
        ("https://user:pw@Ex.com/", "ex.com"),
        ("https://münchen.de/", "xn--mnchen-3ya.de"),
        ("mailto:a@b.c", ""),
        ("not a url", ""),
    ],
)
def test_host_of(url: str, expected: str) -> None:
    assert host_of(url) == expected


@pytest.mark.parametrize(
    ("url", "domains", "expected"),
    [
        ("https://example.org/a", ["example.org"], True),
        ("https://www.example.org/a", ["example.org"], True),
        ("https://a.b.example.org/a", ["example.org"], True),
        ("https://badexample.org/a", ["example.org"], False),
        ("https://example.org.evil.com/a", ["example.org"], False),
        ("https://example.org/a", ["www.example.org"], False),
        ("https://WWW.EXAMPLE.ORG/a", ["Example.org"], True),
        ("https://news.ex.com/a", ["other.com", "ex.com"], True),
        ("https://ex.com/a", [], False),
        ("https://ex.com/a", [""], False),
        ("mailto:x@example.org", ["example.org"], False),
    ],
)
def test_url_in_domains(url: str, domains: list[str], expected: bool) -> None:
    assert url_in_domains(url, domains) is expected


def test_url_in_domains_accepts_any_iterable() -> None:
    assert url_in_domains("https://www.ex.com/", (d for d in ["ex.com"]))


PAGE = "https://www.example.com/news/2024/story.html?utm_source=x"
PAGE_CANONICAL = "https://www.example.com/news/2024/story.html"


@pytest.mark.parametrize(
    ("page_url", "declared", "expected"),
    [
        # no or blank declaration: the page URL, canonicalised
        (PAGE, None, PAGE_CANONICAL),
        (PAGE, "", PAGE_CANONICAL),
        (PAGE, "   ", PAGE_CANONICAL),
        # absolute and relative declarations on the same site
        (PAGE, "https://www.example.com/news/story", "https://www.example.com/news/story"),
        (PAGE, "/news/story?id=7&utm_medium=rss", "https://www.example.com/news/story?id=7"),
        (PAGE, "story-canonical.html", "https://www.example.com/news/2024/story-canonical.html"),
        (PAGE, "//www.example.com/news/story", "https://www.example.com/news/story"),
        (PAGE, " https://www.example.com/a \n", "https://www.example.com/a"),
        # same registered site: www / subdomains / scheme change
        (PAGE, "https://example.com/news/story", "https://example.com/news/story"),
        (PAGE, "https://amp.example.com/news/story", "https://amp.example.com/news/story"),
        (PAGE, "http://www.example.com/news/story", "http://www.example.com/news/story"),
        (
            "https://news.bbc.co.uk/1/story",
            "https://www.bbc.co.uk/news/story",
            "https://www.bbc.co.uk/news/story",
        ),
        # cross-site declarations are ignored
        (PAGE, "https://syndicator.net/news/story", PAGE_CANONICAL),
        (PAGE, "https://badexample.com/news/story", PAGE_CANONICAL),
        (
            "https://www.bbc.co.uk/news/story",
            "https://www.itv.co.uk/news/story",
            "https://www.bbc.co.uk/news/story",
        ),
        (
            "https://alice.blogspot.com/2024/post.html",
            "https://bob.blogspot.com/2024/post.html",
            "https://alice.blogspot.com/2024/post.html",
        ),
        # home-page canonical (CMS bug) is ignored
        (PAGE, "https://www.example.com/", PAGE_CANONICAL),
        (PAGE, "https://www.example.com", PAGE_CANONICAL),
        (PAGE, "/", PAGE_CANONICAL),
        (PAGE, "/?utm_source=x#top", PAGE_CANONICAL),
        (PAGE, "/?p=123", "https://www.example.com/?p=123"),
        # non-http(s) or broken declarations are ignored
        (PAGE, "javascript:void(0)", PAGE_CANONICAL),
        (PAGE, "mailto:desk@example.com", PAGE_CANONICAL),
        (PAGE, "ftp://www.example.com/news/story", PAGE_CANONICAL),
        (PAGE, "http://[::1", PAGE_CANONICAL),
        # same host without a public suffix (IPs, localhost)
        ("http://127.0.0.1:8000/a/b", "/a/c", "http://127.0.0.1:8000/a/c"),
        ("http://localhost/a/b", "http://otherhost/a/b", "http://localhost/a/b"),
    ],
)
def test_choose_canonical(page_url: str, declared: str | None, expected: str) -> None:
    assert choose_canonical(page_url, declared) == expected
