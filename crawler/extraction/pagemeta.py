"""Decoding, parsing and page metadata (language, canonical URL, site, image; dates: .dates)."""

from __future__ import annotations

import codecs
import re
from urllib.parse import urljoin, urlsplit

import lxml.html
import py3langid
from charset_normalizer import from_bytes
from lxml import etree
from lxml.html import HtmlComment, HtmlElement, HtmlProcessingInstruction
from trafilatura.metadata import (
    examine_meta,
    extract_meta_json,
    extract_sitename,
    extract_title,
)
from trafilatura.settings import Document
from trafilatura.utils import DOCTYPE_TAG as _DOCTYPE_TAG
from trafilatura.utils import FAULTY_HTML as _FAULTY_HTML
from trafilatura.utils import load_html
from w3lib.encoding import html_body_declared_encoding, read_bom

from crawler.extraction.dates import published_date, valid_fallback  # noqa: F401 (re-export)
from crawler.extraction.lexicon import LEXICON

_LANG_CODE = re.compile(r"^[a-zA-Z]{2,3}(?=$|[-_])")
_MIN_DETECT_CHARS = 40


def decode_html(data: bytes) -> str:
    """Decode page bytes: BOM, then valid UTF-8, then the declared charset, then detection.

    UTF-8 is tried before the declaration because a page that decodes as UTF-8 almost
    certainly is UTF-8; a latin-1 page labelled utf-8 fails that test and is detected.
    """
    bom_encoding, bom = read_bom(data)
    if bom_encoding and bom:
        return data[len(bom) :].decode(bom_encoding, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    declared = html_body_declared_encoding(data)
    if declared and codecs.lookup(declared).name not in ("utf-8", "utf-16", "utf-32"):
        try:
            return data.decode(declared)
        except (LookupError, UnicodeDecodeError):
            pass
    sample = data if len(data) < 60000 else data[:30000] + data[-30000:]
    best = from_bytes(sample).best()
    if best is not None and best.encoding:
        try:
            return data.decode(best.encoding)
        except (LookupError, UnicodeDecodeError):
            pass
    return data.decode("cp1252", errors="replace")


# lxml.html's own parser picks each element's class in a Python callback (FormElement,
# InputElement …), run every time an element is touched: about 5 % of a page's CPU here.
# Nothing downstream (trafilatura, htmldate, jusText, this package) uses those form
# classes, so every element is a plain HtmlElement, looked up in C. Copies of the tree
# (trafilatura works on copies) inherit the parser.
_PARSER = etree.HTMLParser(
    collect_ids=False,
    default_doctype=False,
    encoding="utf-8",
    remove_comments=True,
    remove_pis=True,
)
_PARSER.set_element_class_lookup(
    etree.ElementDefaultClassLookup(
        element=HtmlElement, comment=HtmlComment, pi=HtmlProcessingInstruction
    )
)


# A character reference to a C0 control (tab, newline and carriage return aside) or DEL:
# lxml turns "&#27;" into an ESC in the tree, which XML cannot hold, and trafilatura's
# XML steps then lose the whole text ("too short (0 chars)"). It stands for nothing
# readable: it becomes nothing. (&#128;-&#159; are windows-1252 letters in HTML: kept.)
_CONTROL_REFS = re.compile(
    r"&#(?:0*(?:[1-8]|1[1-2]|1[4-9]|2[0-9]|3[01]|127)|[xX]0*(?:[1-8]|[bBcCeEfF]|1[0-9a-fA-F]|7[fF]))"
    r"(?![0-9a-fA-F]);?"
)
# The same controls written raw into the page.
_RAW_CONTROLS = re.compile(r"[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]+")
# A regex scan of the whole page costs about a tenth of trafilatura's own extraction; one
# substring test per control character (a C memchr each) finds the rare page that has one.
_CONTROL_CHARS = tuple(chr(c) for c in (*range(1, 9), 11, 12, *range(14, 32), 127))


def without_control_characters(html: str) -> str:
    """``html`` without C0 controls (tab, newline, carriage return kept) or DEL, written raw
    or as character references."""
    if "&#" in html:
        html = _CONTROL_REFS.sub("", html)
    if any(char in html for char in _CONTROL_CHARS):
        return _RAW_CONTROLS.sub("", html)
    return html


# What trafilatura's repair_faulty_html does, without its regex pass over the whole page
# for characters XML cannot hold: the controls are gone already (without_control_characters),
# and NUL and the two non-characters are found by substring tests.
_INVALID_XML = re.compile("[\x00\ufffe\uffff]")


def _repair(html: str, beginning: str) -> str:
    """``html`` made palatable to libxml2 (as trafilatura.utils.repair_faulty_html)."""
    if "\x00" in html or "\ufffe" in html or "\uffff" in html:
        html = _INVALID_XML.sub("", html)
    if "doctype" in beginning:  # libxml2 rejects a self-closed doctype
        first, _, rest = html.partition("\n")
        html = _DOCTYPE_TAG.sub("", first, count=1) + "\n" + rest
    for line in html[:4096].splitlines()[:4]:  # a self-closing <html/> in the first lines
        if "<html" in line and line.endswith("/>"):
            return _FAULTY_HTML.sub(r"\1>", html, count=1)
    return html


def parse_html(html: str | bytes) -> HtmlElement | None:
    """Parse once, as trafilatura's ``load_html`` does (it repairs doctypes and XML
    declarations lxml rejects), with a parser whose element classes cost nothing."""
    if isinstance(html, bytes):
        html = decode_html(html)
    html = without_control_characters(html)
    beginning = html[:50].lower()
    html = _repair(html, beginning)
    tree: HtmlElement | None = None
    try:
        tree = lxml.html.fromstring(html, parser=_PARSER)
    except ValueError:  # "Unicode strings with encoding declaration are not supported."
        pass
    except etree.LxmlError:
        return load_html(html)
    if tree is None or len(tree) < 1:
        try:
            tree = lxml.html.fromstring(html.encode("utf8", "surrogatepass"), parser=_PARSER)
        except (ValueError, etree.LxmlError):
            return None
    if "html" not in beginning and len(tree) < 2:
        return None  # not (well-formed) HTML at all, as load_html judges it
    return tree


def page_metadata(tree: HtmlElement) -> Document:
    """Title, authors, site name, description and image from meta tags and JSON-LD.

    trafilatura's own steps without its category/tag/licence/date searches, which
    this project does not use (the date comes from :func:`published_date`).
    """
    meta = examine_meta(tree)
    if meta.author and " " not in meta.author:
        meta.author = None  # a bare handle, not a name
    try:
        meta = extract_meta_json(tree, meta)
    except Exception:  # noqa: BLE001 - malformed JSON-LD must not lose the page
        pass
    meta.title = meta.title or extract_title(tree)
    meta.author = meta.author or byline_author(tree)
    meta.sitename = meta.sitename or extract_sitename(tree)
    if meta.sitename:
        meta.sitename = meta.sitename.lstrip("@")
    meta.clean_and_trim()
    return meta


_BYLINE = etree.XPath(
    "//a[@rel='author'] | //*[@itemprop='author']//*[@itemprop='name']"
    " | //*[@itemprop='author'][not(*)]"
    " | //*[contains(@class,'byline') or contains(@class,'author-name')][not(*) or not(*/*)]"
)


def byline_author(tree: HtmlElement) -> str | None:
    """Author from a visible byline (rel=author, itemprop=author, a byline class)."""
    for el in _BYLINE(tree):
        name = LEXICON.byline_prefix.sub("", " ".join(el.text_content().split()))
        if 3 <= len(name) <= 80 and " " in name and not any(c.isdigit() for c in name):
            return name
    return None


# Compiled once: meta_content runs several times per page.
_META_CONTENT = etree.XPath("//meta[@property=$name or @name=$name]/@content")


def _first_of(values: list) -> str | None:
    for value in values:
        value = " ".join(str(value).split())
        if value:
            return value
    return None


def _first(tree: HtmlElement, xpath: etree.XPath) -> str | None:
    return _first_of(xpath(tree))


# Compiled once, like every XPath of this module: tree.xpath(string) compiles on each call.
_BASE_HREF = etree.XPath("//head/base/@href")
_CANONICAL_LINK = etree.XPath("//link[translate(@rel,'CANONIL','canonil')='canonical']/@href")
_OG_URL = etree.XPath("//meta[@property='og:url' or @name='og:url']/@content")
_CONTENT_LANGUAGE = etree.XPath(
    "//meta[translate(@http-equiv,'CONTENT-LANGUAGE','content-language')"
    "='content-language']/@content"
)
_JSONLD = etree.XPath("//script[@type='application/ld+json']/text()")


def absolute_url(value: str | None, base: str | None) -> str | None:
    if not value:
        return None
    url = urljoin(base or "", value.strip())
    return url if urlsplit(url).scheme in ("http", "https") else None


def base_url(tree: HtmlElement, url: str | None) -> str | None:
    """The URL relative links resolve against (``<base href>`` wins over the page URL)."""
    base = _first(tree, _BASE_HREF)
    return urljoin(url or "", base) if base else url


def canonical_url(tree: HtmlElement, base: str | None) -> str | None:
    """What the page declares: ``<link rel=canonical>`` then og:url, made absolute."""
    value = _first(tree, _CANONICAL_LINK) or _first(tree, _OG_URL)
    return absolute_url(value, base)


MetaTags = dict[str, list[str]]


def meta_tags(tree: HtmlElement) -> MetaTags:
    """Contents of the page's ``<meta property|name=…>`` tags by property and by name, in
    page order: one walk over the tree instead of one XPath search per lookup."""
    tags: MetaTags = {}
    for meta in tree.iter("meta"):
        content = meta.get("content")
        if content is None:
            continue
        prop, name = meta.get("property"), meta.get("name")
        if prop is not None:
            tags.setdefault(prop, []).append(content)
        if name is not None and name != prop:
            tags.setdefault(name, []).append(content)
    return tags


def meta_content(tree: HtmlElement | MetaTags, *names: str) -> str | None:
    """First non-empty ``<meta property|name=…>`` content among ``names``.

    ``tree`` may be :func:`meta_tags` of the page when several lookups follow.
    """
    for name in names:
        found = tree.get(name) if isinstance(tree, dict) else _META_CONTENT(tree, name=name)
        value = _first_of(found or [])
        if value:
            return value
    return None


def declared_language(tree: HtmlElement, metas: MetaTags | None = None) -> str | None:
    """ISO 639 code declared by ``<html lang>``, Content-Language or og:locale."""
    for value in (
        lambda: tree.get("lang"),
        lambda: tree.get("{http://www.w3.org/XML/1998/namespace}lang"),
        lambda: _first(tree, _CONTENT_LANGUAGE),
        lambda: meta_content(
            tree if metas is None else metas, "og:locale", "language", "dc.language"
        ),
    ):  # in order, and only as far as needed: most pages settle it with <html lang>
        match = _LANG_CODE.match((value() or "").strip())
        if match:
            return match.group(0).lower()
    return None


def detect_language(text: str) -> str | None:
    """Language of ``text`` by py3langid (offline, model shipped in the package)."""
    sample = text[:1000]
    if len(sample.strip()) < _MIN_DETECT_CHARS:
        return None
    code, _ = py3langid.classify(sample)
    return code
