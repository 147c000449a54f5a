"""Article extraction: one parse, boilerplate pruning, trafilatura, a final paragraph pass.

>>> article = extract_article(html_bytes, "https://example.org/story")
>>> article.text, article.published, article.related
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

from lxml.etree import XPath
from lxml.html import HtmlElement
from trafilatura import bare_extraction
from trafilatura.settings import Document

from crawler.extraction.cleaning import (
    clean_paragraphs,
    merge_split_bodies,
    prune_boilerplate,
    unwrap_embedded_posts,
)
from crawler.extraction.lexicon import normalize
from crawler.extraction.pagemeta import (
    absolute_url,
    base_url,
    canonical_url,
    declared_language,
    detect_language,
    meta_content,
    meta_tags,
    page_metadata,
    parse_html,
    published_date,
    valid_fallback,
)
from crawler.models import Article

__all__ = ["extract_article", "extract_from_tree"]


def _without_fragment(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(fragment=""))


def _authors(value: str | None) -> list[str]:
    if not value:
        return []
    out: list[str] = []
    for name in value.split(";"):
        name = " ".join(name.split())
        if name and name not in out:
            out.append(name)
    return out


def _first_h1(tree: HtmlElement) -> str | None:
    h1 = tree.find(".//h1")
    return h1.text_content() if h1 is not None else None


# trafilatura's fast mode skips its comparison with readability and jusText, about a fifth
# of a page's CPU. On the aeb and boilerplate pages (334) the fast text equals the full one on
# 320; the full pass changes the result where the fast text is short, or much shorter than the
# page's real paragraphs (its own extractor under-delivered). Only those pages pay for both.
_CONFIDENT_CHARS = 1000
_CONFIDENT_SHARE = 0.7
_PARAGRAPH_CHARS = 80
_TEXT_LEN = XPath("string-length(normalize-space())")


def _paragraph_chars(tree: HtmlElement) -> int:
    """Characters in the page's paragraphs long enough to be article text."""
    total = 0
    for p in tree.iter("p"):
        size = int(_TEXT_LEN(p))
        if size >= _PARAGRAPH_CHARS:
            total += size
    return total


def _extract(tree: HtmlElement, url: str | None, fast: bool) -> Document | None:
    return bare_extraction(  # type: ignore[return-value]
        tree,
        url=url,
        fast=fast,
        include_comments=False,
        include_tables=True,
        with_metadata=False,
    )


def _main_text(tree: HtmlElement, url: str | None) -> tuple[str, set[str]]:
    """trafilatura's text, and the normalised texts of the headings it kept.

    bare_extraction works on a copy, so the tree can be given twice.
    """
    document = _extract(tree, url, fast=True)
    size = len(document.text) if document is not None and document.text else 0
    if size < _CONFIDENT_CHARS or size < _CONFIDENT_SHARE * _paragraph_chars(tree):
        document = _extract(tree, url, fast=False)
    if document is None or not document.text:
        return "", set()
    heads = {normalize(" ".join(h.itertext())) for h in document.body.iter("head")}
    return document.text, heads


def extract_from_tree(
    tree: HtmlElement,
    url: str | None = None,
    *,
    fallback_title: str | None = None,
    fallback_published: str | None = None,
    now: datetime | None = None,
    identify_language: bool = True,
) -> Article:
    """Extract an article from a parsed page (the tree is pruned in place).

    With ``identify_language=False`` a page that declares no language gets none: the caller
    identifies it from the text (the crawl does so in its own process, see
    ``crawler.scraping.pipelines``).
    """
    meta = page_metadata(tree)
    metas = meta_tags(tree)  # read before pruning, like the rest of the page's metadata
    base = base_url(tree, url)
    canonical = canonical_url(tree, base)
    page_urls = {_without_fragment(u) for u in (url, canonical) if u}
    published = published_date(tree, url, fallback=fallback_published, now=now, found=meta.date)
    language = declared_language(tree, metas)
    title = meta.title or fallback_title
    if title and len(title) > _MAX_TITLE:
        # An unclosed <h1> swallows the body; the declared titles are the better guess.
        title = (
            meta_content(metas, "og:title", "twitter:title")
            or fallback_title
            or _document_title(tree)
            or title[:_MAX_TITLE].rsplit(" ", 1)[0]
        )
    site = meta_content(metas, "og:site_name") or meta.sitename
    if not site and url:
        site = urlsplit(url).hostname
    image = meta_content(metas, "og:image", "og:image:url", "twitter:image") or meta.image

    unwrap_embedded_posts(tree)
    related = prune_boilerplate(tree, base, page_urls)
    merge_split_bodies(tree)
    # The section name ("World", "Política") repeats as a kicker line above the headline.
    section = meta_content(metas, "article:section")
    titles = (
        title,
        meta_content(metas, "og:title", "twitter:title"),
        _first_h1(tree),
        section,
        *page_urls,
    )
    raw_text, headings = _main_text(tree, url)
    text = clean_paragraphs(raw_text, titles, lead=meta.description, headings=headings)
    return Article(
        url=url,
        title=title,
        text=text,
        published=published,
        language=language or (detect_language(text) if identify_language else None),
        canonical_url=canonical,
        site=site,
        authors=_authors(meta.author),
        image=absolute_url(image, base),
        description=meta.description or None,
        related=related,
    )


_MAX_TITLE = 300


def _document_title(tree: HtmlElement) -> str | None:
    node = tree.find(".//title")
    text = " ".join((node.text_content() if node is not None else "").split())
    return text if 0 < len(text) <= _MAX_TITLE else None


def extract_article(
    html: str | bytes,
    url: str | None = None,
    *,
    fallback_title: str | None = None,
    fallback_published: str | None = None,
    identify_language: bool = True,
) -> Article:
    """Clean text and metadata of one article page.

    ``fallback_title``/``fallback_published`` come from the feed or sitemap entry and are
    used when the page itself says nothing (a future date is never used).
    """
    tree = parse_html(html)
    if tree is None:
        now = datetime.now(UTC)
        return Article(
            url=url,
            title=fallback_title,
            published=valid_fallback(fallback_published, now),
        )
    return extract_from_tree(
        tree,
        url,
        fallback_title=fallback_title,
        fallback_published=fallback_published,
        identify_language=identify_language,
    )
