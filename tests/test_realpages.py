"""Real-page failure classes, each pinned by a small hand-written page (tests/realpages/):
through ``process_page``, and through a crawl of a local site into SQLite.

- an article whose head says og:type=website is kept; a real listing is dropped with a reason;
- a long article in a div-only layout comes out without its page frame;
- a page without any title takes the feed's title;
- text our pruning empties falls back to trafilatura's own output;
- dates: a year in the text, a teaser's date and a copyright year are not publication dates;
  a dateline under the headline is; a feed date wins over it; each says where it came from.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from crawler.extraction.dates import dateline_date
from crawler.extraction.extract import choose_title, extract_article, looks_like_frame
from crawler.extraction.pagemeta import parse_html
from crawler.pages import PageJob, process_page
from tests.conftest import run_cli

PAGES = Path(__file__).parent / "realpages"
URL = "http://127.0.0.1:1/news/story.html"


def page(name: str) -> bytes:
    return (PAGES / f"{name}.html").read_bytes()


def process(name: str, **job: Any) -> Any:
    return process_page(PageJob(url=URL, body=page(name), source="test", **job))


# -- process_page ---------------------------------------------------------------------------


def test_og_type_website_is_a_hint_when_the_page_is_one_article() -> None:
    result = process("website_article")
    assert result.article is not None and result.reason is None
    assert result.article.title == "Joint plan against fentanyl reviewed"


def test_og_type_website_at_a_front_or_section_address_stays_a_listing() -> None:
    for url in ("http://127.0.0.1:1/", "http://127.0.0.1:1/world/"):
        result = process_page(PageJob(url=url, body=page("website_article"), source="t"))
        assert result.article is None
        assert result.reason is not None and result.reason.startswith("not_article: listing")


def test_a_real_listing_is_dropped_with_its_reason() -> None:
    result = process("website_listing")
    assert result.article is None and result.error is None
    assert result.reason is not None and result.reason.startswith("not_article: listing")


def test_short_page_is_dropped_with_its_length() -> None:
    body = b"<html><head><title>Video</title></head><body><h1>Video</h1><p>Watch it.</p></body>"
    result = process_page(PageJob(url=URL, body=body, source="test"))
    assert result.article is None
    assert result.reason is not None and result.reason.startswith("not_article: too short (")


def test_page_frame_of_a_div_only_layout_is_not_kept() -> None:
    article = process("frame_divs").article
    assert article is not None
    assert "Point 13 of the review" in article.text
    for frame in ("Section 3", "Other headline", "Footer link", "Copyright"):
        assert frame not in article.text, frame


def test_frame_test_reads_runs_of_short_lines() -> None:
    menu = "\n".join(f"Section {i}" for i in range(20))
    assert looks_like_frame(menu + "\nA paragraph of article text that ends with a stop.")
    prose = "\n".join("A full sentence of article text that ends properly." for _ in range(30))
    assert not looks_like_frame(prose)


def test_page_without_title_takes_the_feed_title() -> None:
    result = process("no_title", fallback_title="Plan reviewed, says the feed")
    assert result.article is not None and result.article.title == "Plan reviewed, says the feed"
    assert process("no_title").reason == "not_article: no title"


def test_title_fallback_order() -> None:
    tree = parse_html(
        "<html><head><title>Plan reviewed | Border Gazette</title></head>"
        "<body><h1>Heading</h1></body></html>"
    )
    assert tree is not None
    assert choose_title(tree, None, {}, "Border Gazette", "Feed title") == "Plan reviewed"
    metas = {"og:title": ["Open graph title"]}
    assert choose_title(tree, None, metas, None, "Feed title") == "Open graph title"
    bare = parse_html("<html><body><h1>Only a heading</h1><p>x</p></body></html>")
    assert bare is not None
    assert choose_title(bare, None, {}, None, "Feed title") == "Feed title"
    assert choose_title(bare, None, {}, None, None) == "Only a heading"


def test_text_emptied_by_pruning_falls_back_to_trafilatura() -> None:
    # the whole article sits in a block whose class names say "related": pruning takes it
    paragraphs = "".join(
        f"<p>Paragraph {i}: officials reviewed the plan against trafficking at length, and "
        f"both sides agreed to meet again next month to compare the figures.</p>"
        for i in range(5)
    )
    html = (
        "<html lang='en'><head><title>Plan reviewed</title></head><body>"
        "<div class='related-posts'><a href='/a.html'>Earlier</a><a href='/b.html'>Later</a>"
        f"{paragraphs}</div></body></html>"
    )
    article = extract_article(html, URL)
    assert article.text_source == "trafilatura"
    assert "Paragraph 4: officials reviewed the plan" in article.text


# -- dates ----------------------------------------------------------------------------------


def test_year_teaser_and_copyright_are_not_publication_dates() -> None:
    article = process("date_traps").article
    assert article is not None
    assert article.published is None and article.published_source is None


def test_dateline_under_the_headline() -> None:
    article = process("dateline").article
    assert article is not None
    assert (article.published, article.published_source) == ("2024-03-03", "dateline")


def test_feed_date_wins_over_a_printed_date() -> None:
    article = process(
        "dateline", fallback_published="2024-03-02T18:00:00+00:00", fallback_published_source="feed"
    ).article
    assert article is not None
    assert (article.published, article.published_source) == ("2024-03-02T18:00:00+00:00", "feed")


def test_metadata_and_url_dates_say_so() -> None:
    meta = page("dateline").replace(
        b"<title>", b'<meta property="article:published_time" content="2024-03-01"><title>'
    )
    article = process_page(PageJob(url=URL, body=meta, source="t")).article
    assert article is not None
    assert (article.published, article.published_source) == ("2024-03-01", "metadata")
    dated_url = "http://127.0.0.1:1/2024/02/28/story.html"
    article = process_page(PageJob(url=dated_url, body=page("date_traps"), source="t")).article
    assert article is not None
    assert (article.published, article.published_source) == ("2024-02-28", "url")


def test_a_printed_date_after_the_fetch_is_not_taken() -> None:
    tree = parse_html(page("dateline"))
    assert tree is not None
    before = datetime(2024, 3, 1, tzinfo=UTC)
    assert dateline_date(tree, "Extradition approved", "", before).value is None
    after = datetime(2024, 3, 5, tzinfo=UTC)
    assert dateline_date(tree, "Extradition approved", "", after).value == "2024-03-03"


# -- through a crawl of a local site ---------------------------------------------------------


@pytest.fixture
def site() -> Iterator[str]:
    """The pages on 127.0.0.1, listed by a plain sitemap and an RSS feed (titles, dates)."""
    stamp = (datetime.now(UTC) - timedelta(days=3)).strftime("%a, %d %b %Y %H:%M:%S +0000")
    names = [p.stem for p in sorted(PAGES.glob("*.html"))]

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            base = f"http://127.0.0.1:{self.server.server_address[1]}"
            name = self.path.strip("/").removesuffix(".html")
            if self.path == "/sitemap.xml":
                locs = "".join(
                    f"<url><loc>{base}/{n}.html</loc></url>" for n in names if n != "no_title"
                )
                body = (
                    '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/'
                    f'sitemap/0.9">{locs}</urlset>'
                ).encode()
            elif self.path == "/feed.xml":
                body = (
                    '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
                    f"<item><title>Plan reviewed, says the feed</title><link>{base}/no_title.html"
                    f"</link><pubDate>{stamp}</pubDate></item></channel></rss>"
                ).encode()
            elif name in names:
                body = page(name)
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/html" if name in names else "application/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.e2e
def test_crawl_records_every_page_and_where_each_date_came_from(site: str, tmp_path: Path) -> None:
    db = tmp_path / "news.db"
    config = tmp_path / "config.toml"
    config.write_text(
        f'[crawl]\nobey_robots = false\ndelay = 0\nworkers = 1\n\n[[sources]]\nname = "local"\n'
        f'sitemaps = ["{site}/sitemap.xml"]\nfeeds = ["{site}/feed.xml"]\n'
    )
    done = run_cli("crawl", "--config", str(config), "--db", str(db))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "not articles 1" in done.stdout
    conn = sqlite3.connect(db)
    rows = {
        url.rsplit("/", 1)[1]: (error, title, published, source)
        for url, error, title, published, source in conn.execute(
            "SELECT f.url, f.error, a.title, a.published, a.published_source FROM fetches f "
            "LEFT JOIN articles a ON a.id = f.article_id WHERE f.url LIKE '%.html'"
        )
    }
    assert rows["website_listing.html"][0].startswith("not_article: listing")
    assert rows["website_article.html"][1] == "Joint plan against fentanyl reviewed"
    assert rows["frame_divs.html"][1] == "Review of the joint plan"
    assert rows["no_title.html"][1] == "Plan reviewed, says the feed"
    assert rows["no_title.html"][3] == "feed"
    assert rows["date_traps.html"][2:] == (None, None)
    assert rows["dateline.html"][2:] == ("2024-03-03", "dateline")
    assert len(rows) == len(list(PAGES.glob("*.html")))
    runs = run_cli("runs", "--db", str(db), "--json")
    assert '"not_article": 1' in runs.stdout
    shown = run_cli("show", "--db", str(db), "a" + str(_article_id(conn, "dateline.html")))
    assert "2024-03-03 (dateline)" in shown.stdout


def _article_id(conn: sqlite3.Connection, name: str) -> int:
    row = conn.execute("SELECT article_id FROM fetches WHERE url LIKE ?", ["%/" + name]).fetchone()
    return int(row[0])


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("By Ana Ruiz · 3 March 2024", "2024-03-03"),
        ("Updated 09:41, 3 March 2024", None),  # the last change, not the publication
        ("Offer valid 21.10.2019 – 27.10.2019", None),  # a range names no single day
        ("In business since 2017", None),  # a bare year
        ("© 2023 Border Gazette", None),  # a copyright line
    ],
)
def test_dateline_lines(line: str, expected: str | None) -> None:
    tree = parse_html(
        f"<html><body><article><h1>Headline</h1><div>{line}</div><p>Text.</p></article>"
        "</body></html>"
    )
    assert tree is not None
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert dateline_date(tree, "Headline", "", now).value == expected
