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

from crawler.core.models import Article
from crawler.extraction.bylines import drop_edge_bylines
from crawler.extraction.cleaning import (
    merge_split_bodies,
    prune_boilerplate,
    unwrap_embedded_posts,
)
from crawler.extraction.dates import (
    Dated,
    dateline_date,
    declared_date,
    publication_date,
    valid_fallback,
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
)
from crawler.extraction.paragraphs import clean_paragraphs
from crawler.extraction.teasers import text_len
from crawler.extraction.titles import choose_title, first_h1, late_title

__all__ = ["MIN_ARTICLE_CHARS", "choose_title", "extract_article", "extract_from_tree"]

# Below this much body text a page is navigation, a video stub or an error page, not an article.
MIN_ARTICLE_CHARS = 400


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


# trafilatura's fast mode skips its comparison with readability and jusText, about a fifth
# of a page's CPU. On the aeb and boilerplate pages (334) the fast text equals the full one on
# 320; the full pass changes the result where the fast text is short, or much shorter than the
# page's real paragraphs (its own extractor under-delivered). Only those pages pay for both.
_CONFIDENT_CHARS = 1000
_CONFIDENT_SHARE = 0.7
_PARAGRAPH_CHARS = 80


def _paragraph_chars(tree: HtmlElement) -> int:
    """Characters in the page's paragraphs long enough to be article text."""
    total = 0
    for p in tree.iter("p"):
        size = text_len(p)
        if size >= _PARAGRAPH_CHARS:
            total += size
    return total


# Article text set as a list (tips, steps, findings) is in ``li``, not ``p``: a fast text
# that leaves such a list out still covers the page's paragraphs. A list item counts as
# prose when it is long and barely linked; teaser and menu lists are mostly links. Counted,
# 11 of 425 development pages more go through the full cascade, and one text changes: a
# "10 tips" article whose fast text was its intro alone (2,455 characters of 7,022).
_PROSE_ITEM_LINKED = 0.2


_LONG_ITEMS = XPath(  # innermost list items long enough to be article text, found in C
    f"//li[not(.//li)][string-length(normalize-space()) >= {_PARAGRAPH_CHARS}]"
)


def _prose_item_chars(tree: HtmlElement) -> int:
    """Characters in list items that read as article text: long, barely linked, innermost."""
    total = 0
    for item in _LONG_ITEMS(tree):
        size = text_len(item)
        linked = sum(text_len(a) for a in item.iter("a"))
        if linked < _PROSE_ITEM_LINKED * size:
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


# A page frame (menus, datelines, teaser lists, footers) comes out as runs of short lines
# that end without punctuation; article text, even with lists, rarely has long runs of them.
_SHORT_LINE = 40
_FRAME_RUN = 12
_FRAME_SHARE = 0.5
_FRAME_MIN_LINES = 24


def looks_like_frame(text: str) -> bool:
    """True when ``text`` reads like a page frame: long runs of short, unpunctuated lines."""
    run = longest = short = lines = 0
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        lines += 1
        if len(line) < _SHORT_LINE and line[-1] not in '.!?:;"”»)':
            short += 1
            run += 1
            longest = max(longest, run)
        else:
            run = 0
    return longest >= _FRAME_RUN or (lines >= _FRAME_MIN_LINES and short >= _FRAME_SHARE * lines)


def _main_text(tree: HtmlElement, url: str | None) -> tuple[str, set[str]]:
    """trafilatura's text, and the normalised texts of the headings it kept.

    The fast path is kept when its text is long, covers the page's paragraphs and prose list
    items and does not read like a page frame; otherwise the full cascade runs
    (bare_extraction works on a copy, so the tree can be given twice).
    """
    document = _extract(tree, url, fast=True)
    text = document.text if document is not None and document.text else ""
    size = len(text)
    if (
        size < _CONFIDENT_CHARS
        or size < _CONFIDENT_SHARE * (_paragraph_chars(tree) + _prose_item_chars(tree))
        or looks_like_frame(text)
    ):
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
    fallback_published_source: str | None = None,
    now: datetime | None = None,
    identify_language: bool = True,
    source_html: str | bytes | None = None,
) -> Article:
    """Extract an article from a parsed page (the tree is pruned in place).

    With ``identify_language=False`` a page that declares no language gets none: the caller
    identifies it from the text (the crawl does so in its own process, see
    ``crawler.scraping.pipelines``). ``source_html`` (the page the tree was parsed from)
    allows the text fallback: when our text is far shorter than trafilatura's own output on
    the unpruned page, trafilatura's is kept (``Article.text_source``).
    """
    now = now or datetime.now(UTC)
    meta = page_metadata(tree)
    metas = meta_tags(tree)  # read before pruning, like the rest of the page's metadata
    base = base_url(tree, url)
    canonical = canonical_url(tree, base)
    page_urls = {_without_fragment(u) for u in (url, canonical) if u}
    declared = declared_date(tree, url, now, found=meta.date, canonical=canonical)
    language = declared_language(tree, metas)
    site = meta_content(metas, "og:site_name") or meta.sitename
    title, title_source = choose_title(tree, meta.title, metas, site, fallback_title, url)
    if not site and url:
        site = urlsplit(url).hostname
    image = meta_content(metas, "og:image", "og:image:url", "twitter:image") or meta.image
    page_chars = _paragraph_chars(tree) if source_html is not None else 0

    unwrap_embedded_posts(tree)
    related = prune_boilerplate(tree, base, page_urls)
    merge_split_bodies(tree)
    # The section name ("World", "Política") repeats as a kicker line above the headline.
    section = meta_content(metas, "article:section")
    titles = (
        title,
        meta_content(metas, "og:title", "twitter:title"),
        first_h1(tree),
        section,
        *page_urls,
    )
    raw_text, headings = _main_text(tree, url)
    text = clean_paragraphs(raw_text, titles, lead=meta.description, headings=headings)
    text_source = "newswatch"
    if source_html is not None and (
        len(text) < MIN_ARTICLE_CHARS or len(text) < _FALLBACK_SHARE * page_chars
    ):
        theirs = _trafilatura_text(source_html, url)
        if (
            len(theirs) >= MIN_ARTICLE_CHARS
            and (len(text) < MIN_ARTICLE_CHARS or len(theirs) >= _FALLBACK_RATIO * len(text))
        ) or (len(text) < _MIN_OWN_CHARS <= len(theirs)):
            text = clean_paragraphs(theirs, titles, lead=meta.description)
            text_source = "trafilatura"
    if title is None:
        title, title_source = late_title(text, url)
    printed = Dated()
    if not declared.value:
        printed = dateline_date(tree, title, text, now)
    text = drop_edge_bylines(text)  # after the date was read from the text's first line
    published = publication_date(
        declared, fallback_published, fallback_published_source, printed, now
    )
    return Article(
        url=url,
        title=title,
        text=text,
        published=published.value,
        published_source=published.source,
        language=language or (detect_language(text) if identify_language else None),
        canonical_url=canonical,
        site=site,
        authors=_authors(meta.author),
        image=absolute_url(image, base),
        description=meta.description or None,
        related=related,
        text_source=text_source,
        title_source=title_source,
    )


# The text fallback: our text below this share of the page's paragraph characters (or below
# MIN_ARTICLE_CHARS) is checked against trafilatura's own output; that is kept when ours is
# too short to store and trafilatura's is not, or when it is _FALLBACK_RATIO times longer.
_FALLBACK_SHARE = 0.35
_FALLBACK_RATIO = 2.0
# Below this ours is not even a brief (crawler.processing.pages.MIN_BRIEF_CHARS): a brief of
# trafilatura's is kept instead.
_MIN_OWN_CHARS = 150


def _trafilatura_text(html: str | bytes, url: str | None) -> str:
    """trafilatura's default extraction (full cascade, no comments) of the unpruned page."""
    tree = parse_html(html)
    if tree is None:
        return ""
    document = bare_extraction(tree, url=url, include_comments=False, with_metadata=False)
    return document.text if document is not None and document.text else ""  # type: ignore[union-attr]


def extract_article(
    html: str | bytes,
    url: str | None = None,
    *,
    fallback_title: str | None = None,
    fallback_published: str | None = None,
    fallback_published_source: str | None = None,
    identify_language: bool = True,
) -> Article:
    """Clean text and metadata of one article page.

    ``fallback_title``/``fallback_published`` come from the feed or sitemap entry
    (``fallback_published_source``: "feed" or "sitemap") and are used when the page itself
    says nothing (a future date is never used).
    """
    tree = parse_html(html)
    if tree is None:
        now = datetime.now(UTC)
        published = valid_fallback(fallback_published, now)
        return Article(
            url=url,
            title=fallback_title,
            title_source="feed" if fallback_title else None,
            published=published,
            published_source=(fallback_published_source or "feed") if published else None,
        )
    return extract_from_tree(
        tree,
        url,
        fallback_title=fallback_title,
        fallback_published=fallback_published,
        fallback_published_source=fallback_published_source,
        identify_language=identify_language,
        source_html=html,
    )
