"""The headline of a page, and where it came from (``Article.title_source``).

In order: the page's metadata (og:title, JSON-LD, ``<title>`` without the site name), the
feed or news-sitemap title, the ``<h1>``; when those are missing or only name the site, the
first heading-like line of the article block (a heading or a bold first line), the first
line of the text when it reads as a headline, or the words of the URL's slug.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from lxml.html import HtmlElement

from crawler.extraction.lexicon import LEXICON, normalize
from crawler.extraction.pagemeta import MetaTags, meta_content

_MAX_TITLE = 300
_TITLE_SEPARATOR = re.compile(r"\s+[|\-–—·:»•]+\s+")
_MIN_HEADLINE = 15  # a headline is a few words; shorter is a label ("Home", "News")
_MAX_HEADLINE = 200
_MIN_WORDS = 3
_PARAGRAPH_CHARS = 80  # the article's first real paragraph: a headline comes before it
_SLUG_ID = re.compile(r"^(?:\d+|[0-9a-f]{8,}|index|article|story|news|amp|html?)$", re.I)
_MIN_SLUG_WORDS = 2
_INLINE = frozenset({"b", "strong", "span", "a", "em", "i", "br"})


def first_h1(tree: HtmlElement) -> str | None:
    h1 = tree.find(".//h1")
    return h1.text_content() if h1 is not None else None


def _document_title(tree: HtmlElement) -> str | None:
    node = tree.find(".//title")
    text = " ".join((node.text_content() if node is not None else "").split())
    return text if 0 < len(text) <= _MAX_TITLE else None


def without_site_name(title: str | None, site: str | None) -> str | None:
    """``<title>`` without the site name ("Headline | Outlet" -> "Headline")."""
    if not title:
        return None
    parts = [p for p in _TITLE_SEPARATOR.split(title) if p.strip()]
    if len(parts) < 2:
        return title
    site_norm = normalize(site) if site else ""
    kept = [p for p in parts if not site_norm or normalize(p) != site_norm]
    if len(kept) == len(parts):
        kept = [max(parts, key=len)]  # unknown site name: the headline is the longest part
    return " - ".join(kept) or title


def _clean(value: str | None) -> str | None:
    value = " ".join((value or "").split())
    return value if value else None


def _site_names(site: str | None, url: str | None) -> set[str]:
    """What a title that only names the site looks like: its name and its host."""
    names = {normalize(site)} if site else set()
    host = (urlsplit(url or "").hostname or "").removeprefix("www.")
    if host:
        names.update({host, host.split(".")[0]})
    return names - {""}


def _heading_line(tree: HtmlElement) -> str | None:
    """The article block's first heading (h2/h3) or bold first line, before its first
    paragraph of article text, that reads as a headline (a few words, not a section label)."""
    body = tree.find("body")
    for el in (body if body is not None else tree).iter("h2", "h3", "p", "div", "strong", "b"):
        text = " ".join(el.text_content().split())
        if el.tag == "div" and any(c.tag not in _INLINE for c in el if isinstance(c.tag, str)):
            continue  # a container: its paragraphs are judged one by one
        if el.tag in ("p", "div"):
            bold = el.find("b") if el.find("b") is not None else el.find("strong")
            own = " ".join((bold.text_content() if bold is not None else "").split())
            if len(text) >= _PARAGRAPH_CHARS and own != text:
                return None  # the article's text began: no heading above it
            if bold is None or own != text:
                continue
        elif el.tag in ("strong", "b"):
            continue  # judged with its paragraph
        if _is_headline(text):
            return text
    return None


def _is_headline(text: str) -> bool:
    norm = normalize(text)
    return (
        _MIN_HEADLINE <= len(text) <= _MAX_HEADLINE
        and len(norm.split()) >= _MIN_WORDS
        and not LEXICON.related_headings.matches(norm)
        and not LEXICON.popular_headings.matches(norm)
    )


def first_line_title(text: str) -> str | None:
    """The text's first line when it reads as a headline: short, a few words, no full stop."""
    line = text.split("\n", 1)[0].strip() if text else ""
    if _is_headline(line) and line[-1] not in ".:;,":
        return line
    return None


def url_title(url: str | None) -> str | None:
    """The words of the address's last meaningful segment ("/2024/05/joint-plan-reviewed.html"
    -> "Joint plan reviewed"), or None when it names nothing (an id, a date)."""
    segments = [unquote(s) for s in urlsplit(url or "").path.split("/") if s]
    for segment in reversed(segments):
        stem = re.sub(r"\.[a-z0-9]{2,5}$", "", segment, flags=re.I)
        words = [w for w in re.split(r"[-_+\s]+", stem) if w and not _SLUG_ID.match(w)]
        if len(words) >= _MIN_SLUG_WORDS and sum(w.isalpha() for w in words) >= _MIN_SLUG_WORDS:
            title = " ".join(words)
            return title[0].upper() + title[1:]
    return None


def choose_title(
    tree: HtmlElement,
    ours: str | None,
    metas: MetaTags,
    site: str | None,
    fallback_title: str | None,
    url: str | None = None,
) -> tuple[str | None, str | None]:
    """(title, source): the first candidate that is not the site's name, cut to a sane length.

    Sources: metadata, feed, h1, heading (``ours`` from trafilatura's own search, or the
    article block's first heading or bold line). The text's first line and the URL come
    later (``Article`` is extracted first); see :func:`late_title`.
    """
    h1 = first_h1(tree)
    ours_source = "metadata"
    if ours and h1 and normalize(ours) == normalize(h1):
        ours_source = "h1"
    elif ours and (doc := _document_title(tree)) and normalize(ours) not in normalize(doc):
        if normalize(ours) != normalize(meta_content(metas, "og:title", "twitter:title") or ""):
            ours_source = "heading"  # trafilatura's title-class element or first <h2>
    candidates = (
        (lambda: ours, ours_source),
        (lambda: meta_content(metas, "og:title", "twitter:title"), "metadata"),
        (lambda: without_site_name(_document_title(tree), site), "metadata"),
        (lambda: fallback_title, "feed"),
        (lambda: h1, "h1"),
        (lambda: _heading_line(tree), "heading"),
    )
    names = _site_names(site, url)
    too_long: tuple[str, str] | None = None
    for get, source in candidates:
        title = _clean(get())
        if not title or normalize(title) in names:
            continue
        if len(title) <= _MAX_TITLE:
            return title, source
        too_long = too_long or (title, source)
    if too_long is not None:  # an unclosed <h1> swallows the body: cut it at a word
        return too_long[0][:_MAX_TITLE].rsplit(" ", 1)[0], too_long[1]
    return None, None


def late_title(text: str, url: str | None) -> tuple[str | None, str | None]:
    """For a page with no title of its own: the text's first line if it reads as a
    headline, else the URL's slug."""
    line = first_line_title(text)
    if line:
        return line, "first_line"
    slug = url_title(url)
    return (slug, "url") if slug else (None, None)
