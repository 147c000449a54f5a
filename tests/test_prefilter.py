"""The topic pre-filter loses nothing: every page the full pipeline marks on-topic passes it.

The eval-page tests read the shared evaluation pages (``NEWSWATCH_EVAL_DIR``, default
``../shared/eval``) and skip without them.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from crawler.extraction.pagemeta import parse_html
from crawler.processing.pages import PageJob, configure_topics, process_page
from crawler.sample_site import SampleWeb
from crawler.topics.prefilter import could_match, fold_words, page_text
from crawler.topics.query import QueryError, _Document, parse_query, tokenize_text
from tests.conftest import run_cli, sample_web
from tests.support.extraction import articles_only

REPO = Path(__file__).resolve().parents[1]
EVAL_DIR = Path(os.environ.get("NEWSWATCH_EVAL_DIR", REPO.parent / "shared" / "eval"))
PAGE_DIRS = (EVAL_DIR / "aeb" / "html", EVAL_DIR / "boilerplate" / "pages")


def _page_files() -> list[Path]:
    return [p for d in PAGE_DIRS if d.is_dir() for p in sorted(d.glob("*.html*"))]


needs_eval = pytest.mark.skipif(not _page_files(), reason="shared eval data not present")


def _passes(html: str, query: str, feed_title: str | None = None) -> bool:
    tree = parse_html(html)
    assert tree is not None
    return could_match([("t", parse_query(query))], page_text(tree, [feed_title]))


def _page(body: str, head: str = "") -> str:
    filler = " ".join(["Filler words about the weather and the harbour today."] * 12)
    return (
        f"<html><head><title>A headline</title>{head}</head><body><article>"
        f"<h1>A headline</h1><p>{filler}</p>{body}<p>{filler}</p></article></body></html>"
    )


# -- the folded text and the necessary condition ----------------------------------------------


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_fold_words_is_the_topic_tokenizer_joined(text: str) -> None:
    assert fold_words(text) == "".join(tokenize_text(text))


@pytest.mark.parametrize(
    ("body", "query"),
    [
        ("<p>El <b>Méx</b>ico de hoy</p>", "Mexico"),  # a word split by inline markup
        ("<p>M&eacute;xico y la extradici&oacute;n</p>", "México AND extradici*"),
        ("<p>M&amp;eacute;xico</p>", "Mexico"),  # double-escaped: trafilatura unescapes again
        ("<p>Mexi\u00adco, fentanyl</p>", "Mexico AND fentanyl"),  # soft hyphen
        ("<p>security<sup>[1]</sup> cooperation</p>", '"security cooperation"'),
        ("<p>MÉXICO</p>", "méxico"),
        ("<p>Straße</p>", "STRASSE"),
        ("<p>ﬁnance</p>", "finance"),  # a ligature folds to its letters
    ],
)
def test_visible_text_in_any_form_passes(body: str, query: str) -> None:
    assert _passes(_page(body), query)


@pytest.mark.parametrize(
    ("head", "feed_title"),
    [
        ('<meta property="og:title" content="Cártel news">', None),
        ('<meta name="description" content="&lt;b&gt;C&lt;/b&gt;artel news">', None),
        ('<script type="application/ld+json">{"headline": "C\\u00e1rtel news"}</script>', None),
        ('<script type="application/ld+json">{"headline": "Cartel news", }</script>', None),
        ("", "Cartel news from the feed"),
        ("", "C\x1b[1martel news"),  # stored titles lose escape sequences
        ("", "Car\u202etel news"),  # and bidi controls, which join the letters around them
        ('<meta property="og:title" content="Car\u2066tel\u200b news">', None),
        ('<script type="application/ld+json">{"headline": "C\\u001b[1martel"}</script>', None),
    ],
)
def test_titles_from_metadata_and_the_feed_pass(head: str, feed_title: str | None) -> None:
    assert _passes(_page("<p>Nothing here.</p>", head), "cartel", feed_title)


def test_pages_that_cannot_match_are_pruned() -> None:
    html = _page("<p>Mexico</p><script>var cartel = 1;</script><style>.cartel{}</style>")
    assert not _passes(html, "cartel")
    assert not _passes(html, "cartel AND Mexico")
    assert _passes(html, "cartel OR Mexico")
    assert _passes(html, "NOT cartel")  # NOT never prunes
    assert _passes(html, "Mexico -cartel")
    assert not _passes(html, "carteles*")


# -- against the real pipeline on the real pages ----------------------------------------------


@dataclass(frozen=True)
class Extracted:
    name: str
    page: object  # PageText of the raw page
    doc: _Document  # tokens of the extracted title + text, as topic matching sees them
    words: tuple[str, ...]  # surface words of the extracted title + text (accents, case)
    lines: tuple[str, ...]


@pytest.fixture(scope="module")
def extracted() -> list[Extracted]:
    out: list[Extracted] = []
    with articles_only():  # the article is all this reads
        for path in _page_files():
            body = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
            feed_title = "Feed title of the page"
            result = process_page(
                PageJob(
                    "https://example.org/news/a",
                    body,
                    "s",
                    fallback_title=feed_title,
                    identify_language=False,
                )
            )
            tree = parse_html(body)
            if result.article is None or tree is None:
                continue
            full = f"{result.article.title}\n{result.article.text}"
            out.append(
                Extracted(
                    path.name,
                    page_text(tree, [feed_title]),
                    _Document(tokenize_text(full)),
                    tuple(w for w in re.findall(r"[^\W_]+", full) if len(w) > 1),
                    tuple(line for line in full.splitlines() if line.strip()),
                )
            )
    return out


@pytest.mark.e2e
@needs_eval
def test_every_token_extraction_keeps_is_in_the_page_text(extracted: list[Extracted]) -> None:
    assert len(extracted) > 250
    missing = {
        e.name: sorted(t for t in e.doc.token_set if t not in e.page)[:5]  # type: ignore[operator]
        for e in extracted
    }
    assert {name: m for name, m in missing.items() if m} == {}


_TOPIC_WORDS = [
    "fentanyl",
    "México",
    "Mexican",
    "cartel*",
    "extradit*",
    "Sheinbaum",
    '"security cooperation"',
    "Trump",
    "climate",
    "Ukraine",
    "Covid*",
    "Straße",
]


def _pick(draw: st.DrawFn, items: tuple[str, ...]) -> str:
    # An index, not sampled_from: hypothesis would describe the whole page list in reprs.
    return items[draw(st.integers(0, len(items) - 1))]


def _query(pages: list[Extracted]) -> st.SearchStrategy[str]:
    @st.composite
    def term(draw: st.DrawFn) -> str:
        page = pages[draw(st.integers(0, len(pages) - 1))]
        kind = draw(st.sampled_from(["word", "word", "prefix", "phrase", "fixed"]))
        if kind == "fixed" or not page.words:
            return draw(st.sampled_from(_TOPIC_WORDS))
        word = _pick(draw, page.words)
        if kind == "word":
            return draw(st.sampled_from([word, word.upper(), word.lower()]))
        if kind == "prefix":
            return word[: draw(st.integers(2, max(2, len(word))))] + "*"
        line = _pick(draw, page.lines).replace('"', " ").split()
        start = draw(st.integers(0, max(0, len(line) - 2)))
        words = line[start : start + draw(st.integers(2, 4))]
        return '"' + " ".join(words) + draw(st.sampled_from(["", "*"])) + '"'

    return st.recursive(
        term(),
        lambda inner: st.one_of(
            st.tuples(inner, st.sampled_from([" AND ", " OR ", " "]), inner).map(
                lambda t: f"({t[0]}{t[1]}{t[2]})"
            ),
            inner.map(lambda q: f"NOT {q}"),
            inner.map(lambda q: f"-({q})"),
        ),
        max_leaves=6,
    )


@pytest.mark.e2e
@needs_eval
def test_generated_queries_never_lose_an_on_topic_page(extracted: list[Extracted]) -> None:
    matched = 0

    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(_query(extracted), min_size=1, max_size=3))
    def check(queries: list[str]) -> None:
        nonlocal matched
        try:
            topics = [(str(i), parse_query(q)) for i, q in enumerate(queries)]
        except QueryError:
            assume(False)
            return
        for e in extracted:
            if any(q.root.evaluate(e.doc) for _, q in topics):
                matched += 1
                assert could_match(topics, e.page), (e.name, queries)  # type: ignore[arg-type]

    check()
    assert matched > 1000  # the generated queries did match pages: the check checked something


# -- the worker step --------------------------------------------------------------------------


@pytest.fixture
def watching() -> Iterator[None]:
    configure_topics([("t", "cartel* AND (Mexico OR Mexican)")])
    yield
    configure_topics([])


def _article(text: str) -> bytes:
    return _page(f"<p>{text}</p>").encode()


def test_a_page_that_cannot_match_is_not_extracted(watching: None) -> None:
    result = process_page(PageJob("https://example.org/a", _article("Rain in Oslo."), "s"))
    assert result.prefiltered and result.article is None and result.error is None


def test_an_off_topic_article_gets_no_fingerprints_terms_or_language(watching: None) -> None:
    # passes the pre-filter (both words are there), but the query needs "cartel*" as a word
    body = _article("The Mexican anticartel law was debated.")
    result = process_page(PageJob("https://example.org/a", body, "s"))
    assert not result.prefiltered and result.article is not None and result.topics == []
    assert result.content_hash is None and result.fingerprint is None
    assert result.story_terms is None and result.article.language is None


def test_an_on_topic_article_is_complete(watching: None) -> None:
    body = _article("The cartel moved fentanyl across the Mexican border.")
    result = process_page(PageJob("https://example.org/a", body, "s"))
    assert result.topics == ["t"] and result.content_hash and result.story_terms
    assert result.article is not None and result.article.language == "en"


def test_switched_off_it_extracts_every_page() -> None:
    configure_topics([("t", "cartel*")], prefilter=False)
    try:
        result = process_page(PageJob("https://example.org/a", _article("Rain in Oslo."), "s"))
    finally:
        configure_topics([])
    assert not result.prefiltered and result.article is not None and result.topics == []


# -- end to end: the real crawler, a local server, SQLite -------------------------------------


def _crawl(web: SampleWeb, workdir: Path, name: str, prefilter: bool) -> sqlite3.Connection:
    db = workdir / f"{name}.db"
    config = workdir / f"{name}.toml"
    switch = "true" if prefilter else "false"
    text = web.config_toml(str(db)).replace("[crawl]\n", f"[crawl]\nprefilter = {switch}\n")
    config.write_text(text, "utf-8")
    done = run_cli("crawl", "--config", str(config))
    assert done.returncode == 0, done.stderr[-3000:]
    return sqlite3.connect(db)


def _on_topic(conn: sqlite3.Connection) -> set[tuple]:
    return set(conn.execute("SELECT url, title, text, topics, published FROM articles"))


def _stats(conn: sqlite3.Connection) -> dict:
    return json.loads(conn.execute("SELECT stats FROM runs ORDER BY id DESC").fetchone()[0])


@pytest.mark.e2e
def test_crawl_with_the_prefilter_stores_the_same_on_topic_set(tmp_path: Path) -> None:
    with sample_web() as web:
        without = _crawl(web, tmp_path, "without", prefilter=False)
        web.reset_log()
        conn = _crawl(web, tmp_path, "with", prefilter=True)
        assert _on_topic(conn) == _on_topic(without) and len(_on_topic(conn)) > 5

        kinds = dict(conn.execute("SELECT url, kind FROM fetches"))
        skipped = {u for u, k in kinds.items() if k == "off_topic (prefilter)"}
        assert skipped, "the sample web has off-topic articles the pre-filter rules out"
        kinds_without = dict(without.execute("SELECT url, kind FROM fetches"))
        assert {kinds_without[u] for u in skipped} <= {"off_topic", "page"}
        assert "off_topic (prefilter)" not in kinds_without.values()
        counts = _stats(conn)["counts"]
        assert counts["off_topic.prefilter"] == len(skipped)
        # A front page no topic can match is off-topic (prefilter) with it, and a listing
        # (not_article) without it: together they are the same pages.
        dropped = _stats(conn)["off_topic"] + _stats(conn)["not_article"]
        assert dropped == _stats(without)["off_topic"] + _stats(without)["not_article"]

        # Validators are kept; the next run inside the recheck window does not fetch them.
        off_topic = {u for u, k in kinds.items() if k.startswith("off_topic")}
        kept = conn.execute(
            "SELECT count(*) FROM fetches WHERE kind LIKE 'off_topic%' AND etag IS NOT NULL "
            "AND body_hash IS NOT NULL AND topics_key IS NOT NULL"
        ).fetchone()[0]
        assert kept == len(off_topic)
        first = {(r.host, r.path) for r in web.requests if r.kind == "article"}
        with conn:  # listings read again in full: they list the off-topic pages again
            conn.execute(
                "UPDATE fetches SET etag = NULL, last_modified = NULL, body_hash = NULL "
                "WHERE kind IN ('feed', 'sitemap', 'section')"
            )
        web.reset_log()
        conn = _crawl(web, tmp_path, "with", prefilter=True)
        again = {(r.host, r.path) for r in web.requests if r.kind == "article"}
        paths = {(h, p) for h, p in first if any(u.endswith(p) for u in off_topic)}
        assert paths and not (paths & again)
        assert _stats(conn)["counts"]["skipped.known_off_topic"] >= len(paths)
        assert _on_topic(conn) == _on_topic(without)
