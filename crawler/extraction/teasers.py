"""Blocks of teasers: linked headlines of other articles with their leads.

A block whose children are mostly teasers is boilerplate whatever its heading says or its
class is called (``crawler.extraction.cleaning`` prunes it and keeps its links).
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

from lxml.etree import XPath
from lxml.html import HtmlElement

from crawler.extraction.lexicon import normalize

NEVER_PRUNE = frozenset({"html", "body", "head"})
BODY_SHARE = 0.5  # a block with over half the page's text ...
BODY_CHARS = 1500  # ... and over this many characters is the article, whatever its class

_TEXT_LEN = XPath("string-length(normalize-space())")


def text_len(el: HtmlElement) -> int:
    """Characters of the element's text, whitespace runs counted once (in C)."""
    return int(_TEXT_LEN(el))


TEASER_CONTAINERS = frozenset({"div", "section", "aside", "ul", "ol", "nav"})
_TEASER_ITEMS = frozenset({"div", "li", "article", "section", "a", "figure"})
_MIN_TEASER_HEADLINE = 15  # a linked headline: a few words (shorter is a label: "Video")
_MAX_TEASER_CHARS = 350  # a teaser is a headline and a lead; longer is a paragraph
_MAX_TEASER_KICKER = 30  # text a teaser may show before its headline (a section, a time)
MIN_TEASERS = 2
_MAX_TEASER_LINKS = 8  # a teaser: its headline and a byline's authors; more is a link list
_TEASER_SHARE = 0.8  # this share of a block's text in teasers makes it a teaser list
_MAX_TEASER_LABEL = 80  # a block's own heading next to its teasers ("Te recomendamos")


@lru_cache(maxsize=16384)
def _page_path(href: str | None) -> str | None:
    """The path a link leads to when it is another page of a site (not an anchor or script).

    Cached: a page repeats its links (menus, teasers, footers), and so do a site's pages."""
    href = (href or "").strip()
    if not href or href[0] == "#" or href.startswith(("javascript:", "mailto:", "tel:")):
        return None
    return urlsplit(href).path or "/"


def _teaser_chars(item: HtmlElement) -> int:
    """The text of ``item`` when it is one teaser: a linked headline to another page, first
    (after a short kicker at most), then at most a short lead and a byline; 0 when it is not.

    The headline is the item's first link long enough to be one: a byline's author link may
    be longer. Links past the headline's own may only be a byline's (one path section, as
    ``/author/a``, ``/author/b``): any other third address makes it a list of links."""
    size = text_len(item)  # one C-level call first: most items are too long or empty
    if size == 0 or size > _MAX_TEASER_CHARS:
        return 0
    head_text = ""
    head_path: str | None = None  # the headline's address, once one is found
    paths: set[str] = set()
    for a in item.iter("a"):  # the item itself first when it is a link
        path = _page_path(a.get("href"))
        if path is None:
            continue
        if path.strip("/") == "":
            return 0  # a link to the front page: a menu or a site header
        paths.add(path)
        if len(paths) > _MAX_TEASER_LINKS:
            return 0  # a list or a body of links, not one teaser
        if head_path is None:
            text = normalize(a.text_content())
            if len(text) >= _MIN_TEASER_HEADLINE and " " in text:
                head_text, head_path = text, path
    if head_path is None:
        return 0
    if len(paths) > 2:
        byline = {_section(p) for p in paths if p != head_path}
        if len(byline) > 1 or _section(head_path) in byline:
            return 0  # a list of links, or a byline of several authors itself
    before = normalize(item.text_content()).find(head_text[:20])
    return size if 0 <= before <= _MAX_TEASER_KICKER else 0


def _section(path: str) -> str:
    """The first section of a path (``/author/x`` -> ``author``)."""
    return path.strip("/").split("/", 1)[0]


def teaser_block(el: HtmlElement, page_len: int) -> HtmlElement | None:
    """``el`` (or its parent with a heading) when it is mostly teasers of other articles:
    linked headlines with leads, whatever its heading says or its class is called."""
    if el.tag not in TEASER_CONTAINERS or len(el) < MIN_TEASERS:
        return None
    if next(el.iter("a"), None) is None:
        return None  # no link at all (one C-level walk, before any list is built)
    items = [c for c in el if isinstance(c.tag, str)]
    # cheap first: most containers do not hold two children with links
    linked = [
        c
        for c in items
        if c.tag in _TEASER_ITEMS and (c.tag == "a" or next(c.iter("a"), None) is not None)
    ]
    if len(linked) < MIN_TEASERS:
        return None
    teasers = [c for c in linked if _teaser_chars(c)]
    if len(teasers) < MIN_TEASERS or el.find(".//h1") is not None:
        return None
    size = text_len(el)
    if size > BODY_SHARE * page_len and size > BODY_CHARS:
        return None
    teaser_text = sum(text_len(t) for t in teasers)
    label = size - teaser_text  # a heading of the list, if any
    if teaser_text < _TEASER_SHARE * size and label > _MAX_TEASER_LABEL:
        return None
    if any(c.tag == "p" and text_len(c) > _MAX_TEASER_LABEL for c in items):
        return None  # the article's own paragraphs sit here: not a teaser list
    parent = el.getparent()
    if (
        parent is not None
        and parent.tag not in NEVER_PRUNE
        and parent.tag != "article"
        and text_len(parent) - size <= _MAX_TEASER_LABEL
        and parent.find(".//h1") is None
    ):
        return parent  # the list with its heading
    return el
