"""Extraction: hand-written pages (text, boilerplate, related links) and metadata."""

from __future__ import annotations

import gzip
import json
import os
import tomllib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from crawler.core.models import RelatedLink
from crawler.extraction.extract import extract_article
from crawler.extraction.pagemeta import decode_html, parse_html, published_date
from crawler.extraction.paragraphs import clean_paragraphs

PAGES = Path(__file__).parent / "extraction_pages"
CASES = tomllib.loads((PAGES / "cases.toml").read_text("utf-8"))["case"]
REPO = Path(__file__).resolve().parents[1]
EVAL_DIR = Path(os.environ.get("NEWSWATCH_EVAL_DIR", REPO.parent / "shared" / "eval"))

ARTICLE_BODY = "".join(
    f"<p>Paragraph {i} of a story about border security cooperation between the two "
    f"countries, with enough words to count as article text for the extractor.</p>"
    for i in range(1, 6)
)


def page(head: str = "", body: str = ARTICLE_BODY, lang: str | None = "en") -> str:
    lang_attr = f' lang="{lang}"' if lang else ""
    return (
        f"<!DOCTYPE html><html{lang_attr}><head><meta charset='utf-8'><title>Story</title>"
        f"{head}</head><body><article><h1>Story</h1>{body}</article></body></html>"
    )


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_hand_written_pages(case: dict) -> None:
    article = extract_article((PAGES / case["file"]).read_bytes(), case["url"])
    for snippet in case["must_contain"]:
        assert snippet in article.text, f"missing: {snippet!r}"
    for snippet in case["must_not_contain"]:
        assert snippet not in article.text, f"leaked: {snippet!r}"
    assert article.related == [RelatedLink(url=u, title=t) for u, t in case["related"]]
    assert article.language == case["language"]
    assert "\n\n" in article.text  # paragraphs separated by blank lines


def test_extraction_is_deterministic() -> None:
    html = (PAGES / "no_relaterte.html").read_bytes()
    assert extract_article(html).text == extract_article(html).text


def test_metadata_from_page() -> None:
    article = extract_article(
        (PAGES / "no_relaterte.html").read_bytes(),
        "https://nordnytt.example/verden/usa-mexico-fentanyl?utm_source=feed",
    )
    assert article.title == "USA og Mexico vil skjerpe kampen mot fentanyl"
    assert article.published == "2025-11-20T14:05:00+01:00"
    assert article.canonical_url == "https://nordnytt.example/verden/usa-mexico-fentanyl"
    assert article.site == "Nordnytt"
    assert article.image == "https://nordnytt.example/bilder/moete.jpg"
    assert article.authors == ["Kari Nordmann"]
    assert article.description == "Landene ble enige om tettere samarbeid mot kriminelle nettverk."


def test_canonical_from_og_url_is_made_absolute() -> None:
    article = extract_article(
        (PAGES / "en_banner_inside.html").read_bytes(),
        "https://borderwire.example/world/joint-fentanyl-screening?ref=rss",
    )
    assert article.canonical_url == "https://borderwire.example/world/joint-fentanyl-screening"
    assert article.authors == ["Maria Lopez"]
    assert article.published == "2025-10-02T08:30:00+00:00"
    assert article.site == "borderwire.example"  # no declared name: the host


def test_future_date_is_dropped_and_feed_date_used() -> None:
    future = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    html = page(f'<meta property="article:published_time" content="{future}">')
    assert extract_article(html, "https://x.example/a").published is None
    got = extract_article(html, "https://x.example/a", fallback_published="2024-05-06")
    assert got.published == "2024-05-06"


def test_feed_date_used_when_page_has_none_but_never_a_future_one() -> None:
    html = page()
    assert extract_article(html, fallback_published="2023-01-02T10:00:00+00:00").published == (
        "2023-01-02T10:00:00+00:00"
    )
    future = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    assert extract_article(html, fallback_published=future).published is None


def test_page_date_wins_over_feed_date() -> None:
    html = page('<meta property="article:published_time" content="2022-03-04">')
    assert extract_article(html, fallback_published="2024-01-01").published == "2022-03-04"


def test_crawl_day_printed_in_page_header_is_not_a_publication_date() -> None:
    today = datetime.now(UTC).date()
    header = f"<div class='topbar'>{today.strftime('%A %d %B %Y')}</div>"
    tree = parse_html(page(body=header + ARTICLE_BODY))
    assert published_date(tree, "https://x.example/story") is None


def test_structured_date_of_today_is_kept() -> None:
    now = datetime.now(UTC)
    stamp = now.replace(microsecond=0) - timedelta(minutes=5)
    tree = parse_html(
        page(f'<meta property="article:published_time" content="{stamp.isoformat()}">')
    )
    got = published_date(tree, "https://x.example/story", now=now)
    assert got is not None and date.fromisoformat(got[:10]) == stamp.date()


def test_language_detected_when_not_declared() -> None:
    body = "".join(
        f"<p>El gobierno anunció hoy nuevas medidas de seguridad en la frontera norte del país "
        f"para combatir el tráfico de drogas y armas, según informó el ministerio {i}.</p>"
        for i in range(5)
    )
    assert extract_article(page(body=body, lang=None)).language == "es"


def test_bytes_decoding_latin1_labelled_utf8() -> None:
    html = page(body=ARTICLE_BODY + "<p>Señal de cooperación: México y Perú firmaron.</p>")
    raw = html.encode("latin-1")  # declared utf-8, really latin-1
    text = decode_html(raw)
    assert "México" in text and "Perú" in text and "\ufffd" not in text
    assert "México y Perú" in extract_article(raw).text


def test_bytes_decoding_bom_and_declared_charset() -> None:
    assert decode_html(b"\xef\xbb\xbf<p>caf\xc3\xa9</p>") == "<p>café</p>"
    cp = '<meta charset="windows-1252"><p>“quoted” café</p>'.encode("cp1252")
    assert "“quoted” café" in decode_html(cp)


def test_text_pass_drops_trailing_boilerplate_and_timestamps() -> None:
    text = "\n".join(
        [
            "Title of the story",
            "Updated 5 minutes ago",
            "First real paragraph of the story with enough words in it.",
            "Second real paragraph of the story with enough words in it.",
            "Relaterte artikler",
            "A teaser about another story that should not be kept here.",
            "Bilde generert av AI",
        ]
    )
    cleaned = clean_paragraphs(text, ("Title of the story",))
    assert cleaned == (
        "First real paragraph of the story with enough words in it.\n\n"
        "Second real paragraph of the story with enough words in it."
    )


def _boilerplate_cases() -> list[dict]:
    path = EVAL_DIR / "boilerplate" / "cases.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


@pytest.mark.e2e
@pytest.mark.skipif(not _boilerplate_cases(), reason="shared eval data not present")
def test_no_boilerplate_leaks_on_eval_set() -> None:
    leaks = []
    for case in _boilerplate_cases():
        with gzip.open(EVAL_DIR / "boilerplate" / case["page"], "rb") as fh:
            text = extract_article(fh.read(), case.get("url"), identify_language=False).text
        leaks.extend((case["url"], s) for s in case["boilerplate_without"] if s in text)
    assert leaks == []


def test_unclosed_h1_does_not_swallow_the_body_into_the_title() -> None:
    body = " ".join(["Mexico handed over 26 cartel suspects to the United States."] * 30)
    html = (
        f"<html><head><title>Mexico hands over cartel suspects</title></head><body>"
        f"<article><h1>Mexico hands over cartel suspects<p>{body}</p><p>{body}</p>"
        f"</article></body></html>"
    )
    article = extract_article(html, "https://example.org/a")
    assert article.title and len(article.title) <= 300


def test_a_block_of_teasers_goes_whatever_its_heading_says() -> None:
    teasers = "".join(
        f'<div class="c3"><a href="/nacional/otra-nota-{i}"><span>Titular de otra nota número {i}'
        f" del día</span></a><p>Bajada breve de la otra nota, con una frase.</p></div>"
        for i in range(3)
    )
    middle = ARTICLE_BODY.index("<p>Paragraph 3")
    html = page(
        body=ARTICLE_BODY[:middle]
        + f'<div class="c1"><div class="c2">Lo que debes saber hoy</div>{teasers}</div>'
        + ARTICLE_BODY[middle:],
        lang="es",
    )
    article = extract_article(html, "https://diario.example/nacional/nota")
    for snippet in ("Lo que debes saber hoy", "Titular de otra nota", "Bajada breve"):
        assert snippet not in article.text
    assert "Paragraph 5 of a story" in article.text
    assert [link.url for link in article.related] == [
        f"https://diario.example/nacional/otra-nota-{i}" for i in range(3)
    ]


def test_readers_comments_end_the_article() -> None:
    comments = "".join(
        f"<div class='c'><p>Opinión número {i} de un lector sobre la nota.</p>"
        f"<p>Hace {i + 1} horas</p></div>"
        for i in range(3)
    )
    html = page(body=ARTICLE_BODY + f"<h3>Comentarios</h3>{comments}", lang="es")
    text = extract_article(html, "https://diario.example/nacional/nota").text
    assert "Paragraph 5 of a story" in text
    assert "Opinión número" not in text and "Comentarios" not in text
    # a "Comments" link under the lead, with no comments after it, cuts nothing
    early = page(body=ARTICLE_BODY[:300] + "<p>Comments</p>" + ARTICLE_BODY[300:])
    assert "Paragraph 5 of a story" in extract_article(early, "https://example.org/a").text


def test_widget_placeholders_and_editor_credits_are_not_text() -> None:
    text = "\n".join(
        [
            "First real paragraph of the story with enough words in it.",
            "Loading weather data ...",
            "Second real paragraph of the story with enough words in it.",
            "【纠错】",
            "【责任编辑:张樵苏",
            "】",
            "___",
        ]
    )
    assert clean_paragraphs(text) == (
        "First real paragraph of the story with enough words in it.\n\n"
        "Second real paragraph of the story with enough words in it."
    )


def test_fine_print_linking_the_sites_policies_is_not_text() -> None:
    fine_print = (
        '<div><p>We welcome a lively debate. Please read our <a href="/community_guidelines.html">'
        'guidelines</a>; your posts may be used under our <a href="/privacy.html">privacy '
        'policy</a> and <a href="/terms.html">terms of use</a>.</p>'
        "<p>The opinions below are their authors' own, not the site's.</p></div>"
        '<div class="fb-comments"></div>'
    )
    about = (
        "<p>The regulator said the platform's new rules, its <a href='https://social.example/"
        "privacy'>privacy policy</a> and its <a href='https://social.example/terms'>terms</a>, "
        "break the law on consent for data sharing across borders.</p>"
    )
    article = extract_article(
        page(body=ARTICLE_BODY + about + fine_print), "https://news.example/world/story"
    )
    assert "lively debate" not in article.text
    assert "opinions below" not in article.text
    assert "break the law on consent" in article.text  # another site's policies: the story
    assert "Paragraph 5 of a story" in article.text


def test_links_to_the_sites_own_articles_are_no_policy_fine_print() -> None:
    # "illegal" holds "legal", "midterms" holds "terms": an article's address is no policy page
    linking = (
        "<p>Agents raided an <a href='/2025/01/illegal-fentanyl-lab-raided'>illegal lab</a> "
        "weeks after the <a href='/2025/02/midterms-border-debate'>border debate</a>, officials "
        "said.</p>"
    )
    malformed = "<p>The ministry's <a href='http://[bad/x'>statement</a> named the suspects.</p>"
    article = extract_article(
        page(body=ARTICLE_BODY + linking + malformed), "https://news.example/world/story"
    )
    assert "Agents raided an illegal lab" in article.text
    assert "named the suspects" in article.text  # a malformed address loses nothing
