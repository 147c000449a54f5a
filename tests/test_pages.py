"""Page-level checks done before extraction."""

from __future__ import annotations

import pytest

from crawler.processing.pages import is_listing_page, not_a_page


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b"", "empty"),
        (b"   \n\t ", "empty"),
        (b"\x00\x01\x02binary\x03\x04" * 50, "not_html"),
        (b"<html><body><p>Hola, M\xc3\xa9xico</p></body></html>", None),
        ("\ufeff<html>ok</html>".encode("utf-16"), None),
    ],
)
def test_not_a_page(body: bytes, kind: str | None) -> None:
    problem = not_a_page(body)
    assert (problem[0] if problem else None) == kind


def test_listing_pages_declare_themselves() -> None:
    assert is_listing_page(b'<html><head><meta property="og:type" content="website"></head>')
    assert not is_listing_page(b'<html><head><meta property="og:type" content="article"></head>')


def test_text_digests_equal_the_separate_functions() -> None:
    from crawler.stories.dedup_text import (
        content_hash,
        text_digests,
        text_fingerprint,
        text_signature,
    )

    text = "WASHINGTON (Reuters) - Mexico extradited 29 cartel figures.\n\n" + " ".join(
        f"word{i % 37} México" for i in range(300)
    )
    for sample in (text, "short text"):
        assert text_digests(sample) == (
            content_hash(sample),
            text_fingerprint(sample),
            text_signature(sample),
        )


def test_meta_refresh_is_still_followed_and_other_pages_are_not_decoded() -> None:
    from scrapy.http import HtmlResponse, Request
    from scrapy.utils.test import get_crawler

    from crawler.scraping.middlewares import QuickMetaRefreshMiddleware, may_refresh

    refresh = b'<html><head><meta http-equiv="Refresh" content="0; url=/moved"></head></html>'
    article = b"<html><head><title>x</title></head><body>" + b"<p>text</p>" * 5000 + b"</body>"
    assert may_refresh(refresh) and not may_refresh(article)
    assert may_refresh("\ufeff<html>".encode("utf-16"))

    middleware = QuickMetaRefreshMiddleware.from_crawler(get_crawler())
    request = Request("https://example.org/a")
    moved = middleware.process_response(
        request, HtmlResponse(request.url, body=refresh, request=request)
    )
    assert isinstance(moved, Request) and moved.url == "https://example.org/moved"
    page = HtmlResponse(request.url, body=article, request=request)
    assert middleware.process_response(request, page) is page


def test_workers_can_leave_an_undeclared_language_to_the_crawl_process() -> None:
    from crawler.processing.pages import PageJob, process_page

    paragraphs = "".join(
        f"<p>The government of Mexico extradited {n} alleged cartel members to the United "
        f"States on day {n} of the operation, officials in both countries said.</p>"
        for n in range(2, 10)
    )
    body = "<html><head><title>Extraditions</title></head><body><article><h1>Extraditions"
    body += f"</h1>{paragraphs}</article></body></html>"
    job = PageJob("https://example.org/a", body.encode(), "s")
    assert process_page(job).article.language == "en"
    job.identify_language = False
    assert process_page(job).article.language is None
