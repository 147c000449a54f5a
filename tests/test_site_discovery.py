"""`newswatch discover`: feeds and sitemaps found on real loopback servers, politely."""

from __future__ import annotations

import gzip
import tomllib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from crawler.cli.main import cli
from crawler.config.settings import CrawlSettings, parse_config
from crawler.listings.site_discovery import Found, SiteReport, discover_site, sources_toml
from crawler.sample_site import SampleWeb
from tests.support.small_servers import running

AGENT = "discover-test/1.0 (+https://example.org/)"
FAST = CrawlSettings(delay=0.0, user_agent=AGENT, timeout=5.0)

RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
<item><title>One</title><link>/one</link></item></channel></rss>"""
SITEMAP = b"""<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<url><loc>/a</loc></url><url><loc>/b</loc></url></urlset>"""


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        self.server.log.append((self.path, self.headers.get("User-Agent", "")))
        status, body = self.server.files.get(self.path, (404, b"not found"))
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, files: dict[str, tuple[int, bytes]]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.files = files
        self.log: list[tuple[str, str]] = []

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def site() -> Iterator[_Server]:
    with running(_Server({})) as server:
        yield server


def page(*head: str, body: str = "") -> tuple[int, bytes]:
    return 200, f"<html><head>{''.join(head)}</head><body>{body}</body></html>".encode()


def test_the_sample_web_feeds_and_sitemaps_are_found_and_read() -> None:
    with SampleWeb() as web:
        reports = {k: discover_site(web.url(k, "/"), FAST) for k in ("diario", "nordpost")}
        diario, nordpost = reports["diario"], reports["nordpost"]
        assert [(f.url, f.format, f.found_in) for f in diario.feeds] == [
            (web.url("diario", "/atom.xml"), "Atom 1.0", "page")
        ]
        assert [(s.url, s.format, s.found_in) for s in diario.sitemaps] == [
            (web.url("diario", "/news-sitemap.xml"), "news sitemap", "robots.txt")
        ]
        assert [(s.format, s.entries) for s in nordpost.sitemaps] == [("sitemap index", 1)]
        assert all(r.headers.get("User-Agent") == AGENT for r in web.requests)
        assert web.requested_paths("offsite") == []
        block = sources_toml(list(reports.values()))
    config = parse_config(tomllib.loads(block))
    assert [s.name for s in config.sources] == ["127.0.0.2", "127.0.0.3"]
    assert config.sources[0].feeds and config.sources[0].sitemaps


def test_robots_txt_is_obeyed_and_its_crawl_delay_read(site: _Server) -> None:
    site.files.update(
        {
            "/robots.txt": (200, b"User-agent: *\nDisallow: /private/\nDisallow: /feed.xml\n"),
            "/": page('<link rel="alternate" type="application/rss+xml" href="/feed.xml">'),
            "/feed.xml": (200, RSS),
        }
    )
    report = discover_site(site.base + "/", FAST)
    assert report.feeds == []
    assert [(r.url, r.reason) for r in report.rejected] == [
        (site.base + "/feed.xml", "disallowed by robots.txt")
    ]
    assert "/feed.xml" not in [path for path, _ in site.log]
    private = discover_site(site.base + "/private/", FAST)
    assert private.error is None and private.rejected[0].reason == "disallowed by robots.txt"


def test_a_robots_txt_that_fails_keeps_discovery_out(site: _Server) -> None:
    site.files.update({"/robots.txt": (503, b"busy"), "/": page()})
    report = discover_site(site.base + "/", FAST)
    assert report.error == "robots.txt answered HTTP 503: not crawling this site"
    assert [path for path, _ in site.log] == ["/robots.txt"]


def test_feed_links_in_the_page_and_common_sitemap_locations(site: _Server) -> None:
    site.files.update(
        {
            "/": page(body='<a href="/news.rss">RSS</a> <a href="/broken.xml">x</a>'),
            "/news.rss": (200, RSS),
            "/sitemap.xml.gz": (200, gzip.compress(SITEMAP)),
        }
    )
    report = discover_site(site.base + "/", FAST)
    assert [(f.url, f.entries) for f in report.feeds] == [(site.base + "/news.rss", 1)]
    assert [(s.url, s.format, s.entries, s.found_in) for s in report.sitemaps] == [
        (site.base + "/sitemap.xml.gz", "sitemap", 2, "common location")
    ]


def test_a_candidate_that_does_not_parse_is_skipped_with_its_reason(site: _Server) -> None:
    site.files.update(
        {
            "/": page('<link rel="alternate" type="application/rss+xml" href="/feed">'),
            "/feed": (200, b"<html><body>not a feed</body></html>"),
            "/robots.txt": (200, b"Sitemap: /sitemap.xml\n"),
            "/sitemap.xml": (200, b"<html>nope</html>"),
        }
    )
    report = discover_site(site.base + "/", FAST)
    assert not report.found
    reasons = {r.url.removeprefix(site.base): r.reason for r in report.rejected}
    assert reasons["/feed"].startswith("not")
    assert reasons["/sitemap.xml"] == "not a sitemap (no <urlset> or <sitemapindex>)"
    # Nothing found: the block follows links from the page instead.
    assert f'pages = ["{site.base}/"]' in sources_toml([report])


def test_the_request_budget_is_kept(site: _Server) -> None:
    links = "".join(
        f'<link rel="alternate" type="application/rss+xml" href="/f{i}.xml">' for i in range(9)
    )
    site.files.update({"/": page(links)})
    report = discover_site(site.base + "/", FAST, budget=4)
    assert report.requests == 4 and len(site.log) == 4
    assert report.rejected[-1].reason == "stopped: request budget of 4 spent"


def test_cli_toml_goes_to_stdout_and_the_report_to_stderr(site: _Server, tmp_path: Path) -> None:
    site.files.update(
        {
            "/": page('<link rel="alternate" type="application/rss+xml" href="/rss">'),
            "/rss": (200, RSS),
        }
    )
    config = tmp_path / "c.toml"
    config.write_text(
        f'[crawl]\ndelay = 0.0\nuser_agent = "{AGENT}"\n\n'
        '[[sources]]\nname = "127.0.0.1"\nfeeds = ["https://example.org/rss"]\n',
        "utf-8",
    )
    args = ["discover", site.base + "/", "--toml", "--config", str(config)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    # The configured user agent, and a name the config does not use yet.
    assert {agent for _, agent in site.log} == {AGENT}
    assert tomllib.loads(result.stdout)["sources"] == [
        {"name": "127.0.0.1-2", "feeds": [site.base + "/rss"], "every": "30m"}
    ]
    assert f"  feed     {site.base}/rss  (RSS 2.0, 1 entry; from page)" in result.stderr
    assert "robots.txt names none, and /sitemap.xml, /sitemap.xml.gz" in result.stderr


def test_cli_unreachable_site_exits_1_and_bad_url_exits_2(site: _Server) -> None:
    port = site.server_address[1]
    site.shutdown()
    site.server_close()
    result = CliRunner().invoke(cli, ["discover", f"http://127.0.0.1:{port}/"])
    assert result.exit_code == 1
    assert "robots.txt unreachable" in result.output
    bad = CliRunner().invoke(cli, ["discover", "example.org"])
    assert bad.exit_code == 2
    assert bad.output == (
        "newswatch: bad URL 'example.org': give an absolute http:// or https:// URL\n"
    )


def test_a_feed_on_another_host_keeps_the_site_in_scope() -> None:
    report = SiteReport("https://www.example.org/world/")
    report.feeds.append(Found("https://feeds.example.org/world.rss", "feed", "RSS 2.0", 3, "page"))
    config = parse_config(tomllib.loads(sources_toml([report])))
    (source,) = config.sources
    assert source.name == "example.org"
    assert source.allowed_domains == ("example.org",)  # www.example.org's articles included
    same_host = SiteReport("https://example.org/")
    same_host.feeds.append(Found("https://example.org/rss", "feed", "RSS 2.0", 3, "page"))
    assert "allowed_domains" not in sources_toml([same_host])


def test_a_page_that_answers_404_still_gives_the_sitemap_robots_txt_names(
    site: _Server, tmp_path: Path
) -> None:
    site.files.update(
        {
            "/robots.txt": (200, f"User-agent: *\nSitemap: {site.base}/map.xml\n".encode()),
            "/map.xml": (200, SITEMAP),
        }
    )
    report = discover_site(f"{site.base}/gone/", FAST)
    assert report.error is None
    assert [s.url for s in report.sitemaps] == [f"{site.base}/map.xml"]
    assert any("HTTP 404" in r.reason for r in report.rejected)
    # The CLI on a config without the shipped one's pause between requests (as FAST above).
    config = tmp_path / "c.toml"
    config.write_text(
        '[crawl]\ndelay = 0.0\n\n[[sources]]\nname = "x"\nfeeds = ["https://example.org/rss"]\n',
        "utf-8",
    )
    args = ["discover", f"{site.base}/gone/", "--toml", "--config", str(config)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert f'sitemaps = ["{site.base}/map.xml"]' in result.stdout


def test_a_page_that_answers_404_with_nothing_found_is_an_error(site: _Server) -> None:
    report = discover_site(f"{site.base}/gone/", FAST)
    assert report.error is not None and "HTTP 404" in report.error
