"""Real-page failure classes, each pinned by a small recorded page (tests/realpages/): one
table of cases, checked through ``process_page`` and through a crawl of a local site into
SQLite (the same expectations both ways).

- og:type=website on a page that is one article is a hint (kept); a real listing is dropped
  with its reason; so is a page too short to be an article;
- a long article in a div-only layout comes out without its page frame; one whose text is
  mostly a numbered list (a guide's steps) keeps the list;
- teasers whose byline links are longer than their headline, or name several authors, are a
  teaser block; so is a sign-up plug whose form has long fine print, and a heading left alone
  above a pruned block does not end the text; a person's byline above the first paragraph
  and a "Published <date>" line below the last are no part of the text (a wire's byline,
  an embedded post's signature and an event's dates are);
- a page without any title takes the feed's title, else a heading or bold first line of the
  article, else the URL's slug (``title_source``), and is never refused for want of one;
- a short report with article evidence is stored as a brief; one without, or a short
  listing, is not, with its reason;
- related-article blocks and "updated HH:MM" stamps in es, pt, no, de, fr and en stay out of
  the text (the recorded pages of tests/recorded_pages/, dev and held-out);
- text our pruning empties falls back to trafilatura's own output (``text_source``);
- dates: a year in the text, a teaser's date, a copyright year, an "updated" date and a date
  after the fetch are not publication dates; a dateline under the headline is (also with
  "updated" after it), as is a ``<time>``'s printed day where its attribute contradicts it,
  and a date in the address; a feed date wins over a printed one; each says where it came from;
  dates in application-state JSON are not taken (nor called metadata); a printed date is read
  in the order of its form and the page's language, and an ambiguous one is not taken.
"""

from __future__ import annotations

import gzip
import json
import os
import sqlite3
import threading
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from crawler.extraction.bylines import drop_edge_bylines
from crawler.extraction.dates import dateline_date
from crawler.extraction.extract import choose_title, looks_like_frame
from crawler.extraction.pagemeta import parse_html
from crawler.extraction.teasers import teaser_block
from crawler.processing.pages import PageJob, process_page
from tests.conftest import run_cli
from tests.support.extraction import articles_only

PAGES = Path(__file__).parent / "realpages"
RECORDED = Path(__file__).parent / "recorded_pages"
URL = "http://127.0.0.1:1/news/story.html"
FEED_DATE = (datetime.now(UTC) - timedelta(days=3)).replace(microsecond=0)
LISTING = "listing ("
FRAME = ("Section 3", "Other headline", "Footer link", "Copyright")


def page(name: str) -> bytes:
    if name.startswith("recorded/"):
        return (RECORDED / name.removeprefix("recorded/")).read_bytes()
    return (PAGES / f"{name}.html").read_bytes()


@dataclass(frozen=True)
class Case:
    """A recorded page, where the local site serves it, and what must become of it."""

    page: str
    path: str
    reason: str | None = None  # start of the recorded reason; None: stored as an article
    title: str | None = None
    published: str | None = None  # the day (or None: unknown)
    source: str | None = None  # published_source
    text_source: str = "newswatch"
    has: tuple[str, ...] = ()
    lacks: tuple[str, ...] = ()
    feed_title: str | None = None  # listed in the feed (with FEED_DATE), not the sitemap
    title_source: str | None = None  # checked when given
    brief: bool = False

    def job(self, base: str) -> PageJob:
        return PageJob(
            url=base + self.path,
            body=page(self.page),
            source="local",
            fallback_title=self.feed_title,
            fallback_published=FEED_DATE.isoformat() if self.feed_title else None,
            fallback_published_source="feed" if self.feed_title else None,
        )


FEED_DAY = FEED_DATE.date().isoformat()
CASES = [
    # kept, dropped with a reason
    Case(
        "website_article",
        "/news/website-article.html",
        title="Joint plan against fentanyl reviewed",
    ),
    Case("website_listing", "/news/website-listing.html", reason=LISTING),
    Case("too_short", "/news/too-short.html", reason="too short ("),
    # titles: never refused for want of one
    Case(
        "no_title",
        "/news/officials-review-fentanyl-plan.html",
        title="Officials review fentanyl plan",
        title_source="url",
    ),
    Case(
        "no_head_bold",
        "/news/2024/88123.html",
        title="Border officials review joint fentanyl plan",
        title_source="heading",
    ),
    Case(
        "site_name_title",
        "/news/talks.html",
        title="Extradition treaty talks resume in Washington",
        title_source="heading",
    ),
    # briefs
    Case("brief_byline", "/news/flash-cartel-leader.html", brief=True, has=("in Culiacán",)),
    Case("brief_no_evidence", "/news/weather.html", reason="too short, no article"),
    Case("listing_short", "/world/index.html", reason=LISTING),
    Case(
        "no_title",
        "/feed/no-title.html",
        title="Plan reviewed, says the feed",
        published=FEED_DAY,
        source="feed",
        feed_title="Plan reviewed, says the feed",
        title_source="feed",
    ),
    # text
    Case("frame_divs", "/news/frame-divs.html", has=("Point 13 of the review",), lacks=FRAME),
    Case(
        "es_teaser_bylines",
        "/news/es-teaser-bylines.html",
        has=("El gobierno de Sonora", "de San Luis Río Colorado."),
        lacks=(
            "A fondo",  # the heading of a teaser block, left alone in its own wrapper
            "Cae red de tráfico",  # a teaser whose author link is longer than its headline
            "Filas de seis horas",  # a teaser with three author links
            "Aduanas estrena",
            "camioneros esperan",
            "Mantente informado",  # a sign-up plug whose form has long fine print
            "Recibe cada mañana",
            "Al suscribirte",
        ),
    ),
    Case(
        "en_edge_bylines",
        "/news/en-edge-bylines.html",
        has=("Every spring the lines", "the investigators do their work."),
        lacks=("By Laura Méndez", "Published March 4, 2025"),
    ),
    Case(
        "list_article",
        "/guides/list-article.html",
        has=(
            "Every working day more than twelve thousand trucks",
            "Make sure the seal numbers on the trailer",  # the article's own numbered list
            "After every crossing, note how long",
            "What changes next year",
        ),
        lacks=("All rights reserved",),
    ),
    Case(
        "text_emptied",
        "/news/text-emptied.html",
        text_source="trafilatura",
        has=("Paragraph 4: officials reviewed the plan",),
    ),
    # dates that are not publication dates
    Case("year_in_text", "/news/year-in-text.html"),
    Case("teaser_date", "/news/teaser-date.html"),
    Case("copyright_year", "/news/copyright-year.html"),
    Case("updated_date", "/news/updated-date.html"),
    Case("future_date", "/news/future-date.html"),
    # dates that are, with where they came from
    Case("dateline", "/news/dateline.html", published="2024-03-03", source="dateline"),
    Case(
        "updated_after_date",
        "/news/updated-after-date.html",
        published="2024-03-03",
        source="dateline",
    ),
    Case(
        "time_text_differs",
        "/news/time-text-differs.html",
        published="2024-03-03",
        source="dateline",
    ),
    Case("url_date", "/2024-02/28/url-date.html", published="2024-02-28", source="url"),
    Case("app_state_date", "/news/app-state-date.html"),
    Case("jsonld_untyped", "/news/jsonld-untyped.html", published="2024-01-28", source="metadata"),
    Case("de_juni", "/news/de-juni.html", published="2025-06-01", source="dateline"),
    Case("es_junio", "/news/es-junio.html", published="2025-06-01", source="dateline"),
    Case("us_slash", "/news/us-slash.html", published="2025-06-01", source="dateline"),
    Case("en_ambiguous", "/news/en-ambiguous.html"),
    Case(
        "feed_dated",
        "/feed/feed-dated.html",
        published=FEED_DAY,
        source="feed",
        feed_title="Extradition signed",
    ),
]


def _recorded_cases() -> list[Case]:
    """The recorded related-block and time-stamp pages: every snippet of their related
    blocks and stamps stays out of the text, their article sentences stay in."""
    table = tomllib.loads((RECORDED / "cases.toml").read_text("utf-8"))["case"]
    return [
        Case(
            f"recorded/{item['file']}",
            f"/{item['split']}/{item['file']}",
            published=None,
            has=tuple(item["must_contain"]),
            lacks=(*item["related"], *item["stamp"]),
        )
        for item in table
    ]


RECORDED_CASES = _recorded_cases()
CASES += RECORDED_CASES
IDS = [case.path.strip("/").removesuffix(".html") for case in CASES]


@dataclass
class Outcome:
    """What became of a page, read the same way from process_page and from SQLite."""

    reason: str | None
    title: str | None = None
    text: str = ""
    published: str | None = None
    source: str | None = None
    text_source: str | None = None
    title_source: str | None = None
    brief: bool = False


def check(case: Case, got: Outcome) -> None:
    if case.reason is not None:
        assert got.reason is not None and got.reason.startswith(case.reason), got.reason
        return
    assert got.reason is None
    if case.title is not None:
        assert got.title == case.title
    if case.title_source is not None:
        assert got.title_source == case.title_source
    assert bool(got.brief) == case.brief
    if case.page.startswith("recorded/"):
        assert got.source != "metadata" or got.published  # dates: see benchmarks/realpages.py
    else:
        assert (got.published[:10] if got.published else None, got.source) == (
            case.published,
            case.source,
        )
    assert got.text_source == case.text_source
    for snippet in case.has:
        assert snippet in got.text, snippet
    for snippet in case.lacks:
        assert snippet not in got.text, snippet


# -- process_page ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_process_page(case: Case) -> None:
    result = process_page(case.job("http://127.0.0.1:1"))
    assert result.error is None
    article = result.article
    if article is None:
        check(case, Outcome(result.reason))
    else:
        check(
            case,
            Outcome(
                result.reason,
                article.title,
                article.text,
                article.published,
                article.published_source,
                article.text_source,
                article.title_source,
                article.brief,
            ),
        )


def test_og_type_website_at_a_front_or_section_address_stays_a_listing() -> None:
    for url in ("http://127.0.0.1:1/", "http://127.0.0.1:1/world/"):
        result = process_page(PageJob(url=url, body=page("website_article"), source="t"))
        assert result.article is None
        assert result.reason is not None and result.reason.startswith(LISTING)


_BODY = "A paragraph of the article that is long enough to be prose, not a byline or a date."


@pytest.mark.parametrize(
    ("paragraphs", "dropped"),
    [
        (["By Maria Popova", _BODY, _BODY, _BODY, "Published March 4, 2026"], [0, 4]),
        (["Por Ana López", _BODY, _BODY, _BODY], [0]),
        (["By MARÍA VERZA", "Associated Press", _BODY, _BODY, _BODY], []),  # a wire's
        (["By María Verza, Associated Press", _BODY, _BODY, _BODY], []),
        ([_BODY, _BODY, _BODY, "— The Senate (@NGRSenate) October 9, 2018"], []),
        ([_BODY, _BODY, _BODY, "29 November 2018 | 20 January 2019"], []),  # an event's
        ([_BODY, "By the way, prices rose", _BODY, _BODY], []),
        (["By Maria Popova", _BODY, _BODY], []),  # a brief keeps its lines
    ],
)
def test_edge_bylines(paragraphs: list[str], dropped: list[int]) -> None:
    kept = [p for i, p in enumerate(paragraphs) if i not in dropped]
    assert drop_edge_bylines("\n\n".join(paragraphs)) == "\n\n".join(kept)


def test_a_byline_of_several_authors_is_no_teaser() -> None:
    """Author links (one path section) beside a topic link and the date are the article's
    byline, not two teasers: the dateline next to them stays for the date pass."""
    tree = parse_html(
        b"<html><body><div><ul>"
        b'<li><a href="/autoren/clara-loew">Clara L\xc3\xb6w</a>, '
        b'<a href="/autoren/siddharth-prakash">Siddharth Prakash</a> &amp; '
        b'<a href="/autoren/klaus-jacob">Klaus Jacob</a></li>'
        b'<li><a href="/schwerpunkte/energie-rohstoffe">Energie &amp; Umwelt</a></li>'
        b"<li>26. Oktober 2023</li></ul></div></body></html>"
    )
    assert tree is not None
    block = tree.find(".//ul")
    assert teaser_block(block, 1000) is None


def test_frame_test_reads_runs_of_short_lines() -> None:
    menu = "\n".join(f"Section {i}" for i in range(20))
    assert looks_like_frame(menu + "\nA paragraph of article text that ends with a stop.")
    prose = "\n".join("A full sentence of article text that ends properly." for _ in range(30))
    assert not looks_like_frame(prose)


def test_title_fallback_order() -> None:
    tree = parse_html(
        "<html><head><title>Plan reviewed | Border Gazette</title></head>"
        "<body><h1>Heading</h1></body></html>"
    )
    assert tree is not None
    assert choose_title(tree, None, {}, "Border Gazette", "Feed title") == (
        "Plan reviewed",
        "metadata",
    )
    metas = {"og:title": ["Open graph title"]}
    assert choose_title(tree, None, metas, None, "Feed title") == ("Open graph title", "metadata")
    bare = parse_html("<html><body><h1>Only a heading</h1><p>x</p></body></html>")
    assert bare is not None
    assert choose_title(bare, None, {}, None, "Feed title") == ("Feed title", "feed")
    assert choose_title(bare, None, {}, None, None) == ("Only a heading", "h1")
    named = parse_html("<html><head><title>Border Gazette</title></head><body></body></html>")
    assert named is not None  # the site's own name is no headline
    assert choose_title(named, None, {}, "Border Gazette", None) == (None, None)


def test_metadata_date_says_so() -> None:
    meta = page("dateline").replace(
        b"<title>", b'<meta property="article:published_time" content="2024-03-01"><title>'
    )
    article = process_page(PageJob(url=URL, body=meta, source="t")).article
    assert article is not None
    assert (article.published, article.published_source) == ("2024-03-01", "metadata")


def test_a_printed_date_after_the_fetch_is_not_taken() -> None:
    tree = parse_html(page("dateline"))
    assert tree is not None
    before = datetime(2024, 3, 1, tzinfo=UTC)
    assert dateline_date(tree, "Extradition approved", "", before).value is None
    after = datetime(2024, 3, 5, tzinfo=UTC)
    assert dateline_date(tree, "Extradition approved", "", after).value == "2024-03-03"


# -- through a crawl of a local site ---------------------------------------------------------


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    """Every case's page on 127.0.0.1 at its path, listed by a plain sitemap (no titles, no
    dates) or, for the cases that have a feed title, by an RSS feed (titles and dates)."""
    by_path = {case.path: case for case in CASES}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            base = f"http://127.0.0.1:{self.server.server_address[1]}"
            ctype = "application/xml"
            if self.path == "/sitemap.xml":
                locs = "".join(
                    f"<url><loc>{base}{c.path}</loc></url>" for c in CASES if not c.feed_title
                )
                body = (
                    '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/'
                    f'sitemap/0.9">{locs}</urlset>'
                ).encode()
            elif self.path == "/feed.xml":
                items = "".join(
                    f"<item><title>{c.feed_title}</title><link>{base}{c.path}</link>"
                    f"<pubDate>{format_datetime(FEED_DATE)}</pubDate></item>"
                    for c in CASES
                    if c.feed_title
                )
                body = (
                    '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
                    f"{items}</channel></rss>"
                ).encode()
            elif self.path in by_path:
                body, ctype = page(by_path[self.path].page), "text/html"
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@dataclass
class Crawled:
    db: Path
    summary: str
    rows: dict[str, tuple[Outcome, int | None]]  # by path: outcome, article id


@pytest.fixture(scope="module")
def crawled(site: str, tmp_path_factory: pytest.TempPathFactory) -> Crawled:
    """One real ``newswatch crawl`` of the local site, read back from SQLite."""
    work = tmp_path_factory.mktemp("realpages")
    db = work / "news.db"
    config = work / "config.toml"
    config.write_text(
        f'[crawl]\nobey_robots = false\ndelay = 0\nworkers = 1\n\n[[sources]]\nname = "local"\n'
        f'sitemaps = ["{site}/sitemap.xml"]\nfeeds = ["{site}/feed.xml"]\n'
    )
    done = run_cli("crawl", "--config", str(config), "--db", str(db))
    assert done.returncode == 0, done.stderr[-2000:]
    conn = sqlite3.connect(db)
    rows = {
        url.removeprefix(site): (Outcome(error, *rest), article_id)
        for url, article_id, error, *rest in conn.execute(
            "SELECT f.url, f.article_id, f.error, a.title, coalesce(a.text, ''), a.published,"
            " a.published_source, a.text_source, a.title_source, a.brief FROM fetches f"
            " LEFT JOIN articles a ON a.id = f.article_id WHERE f.url LIKE '%.html'"
        )
    }
    conn.close()
    return Crawled(db, done.stdout, rows)


@pytest.mark.e2e
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_crawl(case: Case, crawled: Crawled) -> None:
    assert case.path in crawled.rows, "not in fetches"
    outcome, article_id = crawled.rows[case.path]
    assert (article_id is None) == (case.reason is not None)
    check(case, outcome)


@pytest.mark.e2e
def test_crawl_counts_every_page_not_stored_and_shows_where_text_and_date_came_from(
    crawled: Crawled,
) -> None:
    assert set(crawled.rows) == {case.path for case in CASES}
    dropped = sum(1 for case in CASES if case.reason is not None)
    assert f"not articles {dropped}" in crawled.summary
    runs = run_cli("runs", "--db", str(crawled.db), "--json")
    assert f'"not_article": {dropped}' in runs.stdout
    for path, expected in (
        ("/news/dateline.html", ("2024-03-03 (dateline)", "text from: newswatch\n")),
        ("/news/text-emptied.html", ("text from: trafilatura",)),
        ("/news/officials-review-fentanyl-plan.html", ("title from: the address",)),
        ("/news/talks.html", ("title from: the article's first heading",)),
        ("/news/flash-cartel-leader.html", ("brief: yes",)),
    ):
        shown = run_cli("show", "--db", str(crawled.db), f"a{crawled.rows[path][1]}")
        for line in expected:
            assert line in shown.stdout


@pytest.mark.e2e
def test_briefs_are_flagged_and_can_be_left_out(crawled: Crawled) -> None:
    brief_id = crawled.rows["/news/flash-cartel-leader.html"][1]
    every = json.loads(run_cli("flags", "--db", str(crawled.db), "--json").stdout)
    assert [f["brief"] for f in every if f["article_id"] == brief_id] == [1]
    shown = json.loads(run_cli("flags", "--db", str(crawled.db), "--json", "--no-briefs").stdout)
    assert brief_id not in {f["article_id"] for f in shown}
    assert len(shown) == len(every) - 1
    stories = json.loads(run_cli("stories", "--db", str(crawled.db), "--json").stdout)
    fewer = json.loads(run_cli("stories", "--db", str(crawled.db), "--json", "--no-briefs").stdout)
    assert len(fewer) == len(stories) - 1


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("By Ana Ruiz · 3 March 2024", "2024-03-03"),
        ("Updated 09:41, 3 March 2024", None),  # the last change, not the publication
        ("Posted 3 March 2024 12:06, updated", "2024-03-03"),  # the change's date follows
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


# -- date provenance with the metadata stripped ------------------------------------------------

EVAL_DIR = Path(
    os.environ.get("NEWSWATCH_EVAL_DIR", Path(__file__).resolve().parents[2] / "shared" / "eval")
)


def _stripped_labels(pages: list[tuple[str, bytes]]) -> list[tuple[str, str | None, str | None]]:
    """(page, date, source) of every stored page whose date says ``metadata`` although its
    date metadata was stripped (``benchmarks/realpages.py``'s stripping, date-free URL)."""
    from benchmarks.pagesets import strip_dates

    wrong = []
    with articles_only():  # the date is all this reads
        for name, html in pages:
            result = process_page(
                PageJob(f"http://127.0.0.1:1/stripped/{len(wrong)}.html", strip_dates(html), "t")
            )
            article = result.article
            if article is not None and article.published_source == "metadata":
                wrong.append((name, article.published, article.published_source))
    return wrong


def test_no_metadata_label_once_metadata_is_stripped() -> None:
    pages = [(p.name, p.read_bytes()) for p in (*PAGES.glob("*.html"), *RECORDED.glob("*.html"))]
    assert _stripped_labels(pages) == []


@pytest.mark.e2e
@pytest.mark.skipif(not (EVAL_DIR / "aeb").is_dir(), reason="shared eval data not present")
def test_no_metadata_label_once_metadata_is_stripped_on_real_pages() -> None:
    pages = [
        (p.name, gzip.decompress(p.read_bytes()))
        for p in sorted((EVAL_DIR / "aeb" / "html").glob("*.html.gz"))
    ]
    assert _stripped_labels(pages) == []
