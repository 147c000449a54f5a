"""A lossless topic pre-filter: skip extraction for pages that cannot match any watched topic.

Extraction (trafilatura, pruning, metadata, dates) costs about ten times what it takes to
parse a page and walk its text. A monitoring crawl watches topics that most fetched pages
never mention, so a page is first checked against a *necessary* condition of each query on a
cheap superset of everything extraction could keep:

- every text node of the parsed page except ``<script>``/``<style>`` (what trafilatura, its
  fallbacks and this project's pruning can output is a selection of those nodes);
- the ``content`` of every ``<meta>`` tag (the title can come from og:/twitter:/dc: tags,
  the lead from the description), the strings of JSON-LD blocks (headline, articleBody, which
  trafilatura's fallback can use as the text) and the feed or sitemap title;
- each of those also HTML-unescaped and with markup removed, because trafilatura unescapes
  its text output and its metadata, and renders escaped markup found in JSON.

All of it is folded exactly as :func:`crawler.topics.query.tokenize_text` folds (NFKD, marks
removed, casefolded) and then *every* character that is not a letter or a digit is deleted,
so the page becomes one run of word characters. Extraction only ever selects, trims and joins
pieces of that text (``<b>Mex</b>ico`` gives "Mexico"; soft hyphens, zero-width spaces and
line breaks disappear), so each token of the extracted title or text is a substring of the
run. A query is then judged possible when every word or prefix it needs is such a substring:
an AND needs every side possible, an OR one side, a phrase all of its words (their order and
adjacency are not checked: removing a footnote mark can make words adjacent), and a NOT never
prunes. Substrings over-approximate ("mexico" is found in "newmexicoborder"), never the
reverse, so a page that fails the check cannot match after extraction.

What is not modelled: extraction joining the two halves of a word around a removed element
(``Mex<button>x</button>ico``). ``tests/test_prefilter.py`` checks the whole argument on
every real evaluation page: each token extraction keeps is found in the run.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from html import unescape
from typing import Any

from lxml.etree import iterwalk
from lxml.html import HtmlElement

from crawler.core.sanitize import strip_controls
from crawler.topics.query import Query

__all__ = ["PageText", "could_match", "fold_words", "page_text"]

_NON_WORD = re.compile(r"[\W_]+")  # the complement of topics' token pattern [^\W_]+
_MARKUP = re.compile(r"<[^<>]*>")
_SKIP = frozenset({"script", "style"})  # never output by trafilatura, its fallbacks or ours
_JSON_SCRIPTS = frozenset({"application/ld+json", "application/settings+json"})
_ESCAPES = re.compile(r"[\x1b\x90-\x9f]")  # what starts an escape sequence
_MAX_JSON_DEPTH = 2  # a JSON string holding JSON (Discourse's data-preloaded) is read too


def fold_words(text: str) -> str:
    """``text`` folded as topic matching folds it, with every non-word character removed.

    Equal to ``"".join(tokenize_text(text))`` (a property test checks it) at about a third of
    the cost: the marks that tokenize_text strips before casefolding are not word characters,
    so deleting non-word characters after NFKD removes them in the same step.
    """
    if text.isascii():
        return _NON_WORD.sub("", text.lower())
    text = _NON_WORD.sub("", unicodedata.normalize("NFKD", text))
    return _NON_WORD.sub("", text.casefold())


class PageText:
    """The folded word run of a page (see the module docstring); ``in`` tests a token."""

    __slots__ = ("run",)

    def __init__(self, run: str) -> None:
        self.run = run

    def __contains__(self, token: object) -> bool:
        return isinstance(token, str) and token in self.run


def _variants(value: str) -> Iterator[str]:
    """``value`` as it is, unescaped, and without markup: what metadata steps can make of it."""
    yield value
    if "&" in value:
        value = unescape(value)
        yield value
    if "<" in value:
        stripped = _MARKUP.sub("", value)
        yield stripped
        if "&" in stripped:
            yield unescape(stripped)


def _json_strings(value: Any, out: list[str], depth: int = 0) -> None:
    if isinstance(value, str):
        out.append(value)
        if depth < _MAX_JSON_DEPTH and value[:1] in ("{", "["):
            _json_text(value, out, depth + 1)
    elif isinstance(value, dict):
        for item in value.values():
            _json_strings(item, out, depth)
    elif isinstance(value, list):
        for item in value:
            _json_strings(item, out, depth)


def _json_text(raw: str, out: list[str], depth: int = 0) -> None:
    """The strings of a JSON document, or its raw text when it does not parse (trafilatura
    then reads it with regular expressions)."""
    try:
        data = json.loads(raw, strict=False)
    except (ValueError, RecursionError):
        out.append(raw)
        return
    _json_strings(data, out, depth)


def _segments(tree: HtmlElement, extra: Iterable[str | None]) -> list[str]:
    """The page's visible text (one string) and its metadata strings, before folding."""
    parts: list[str] = []
    for event, el in iterwalk(tree, events=("start", "end")):
        if event == "start":
            if el.text and el.tag not in _SKIP:
                parts.append(el.text)
        elif el.tail:  # a tail comes after the element's own subtree
            parts.append(el.tail)
    text = "".join(parts)
    segments = [text]
    if "&" in text:  # trafilatura unescapes its text output once more
        unescaped = unescape(text)
        if unescaped != text:
            segments.append(unescaped)
    meta: list[str] = [c for el in tree.iter("meta") if (c := el.get("content"))]
    for script in tree.iter("script"):
        if script.text and script.get("type", "").strip().lower() in _JSON_SCRIPTS:
            _json_text(script.text, meta)
    for div in tree.iter("div"):
        if preloaded := div.get("data-preloaded"):  # trafilatura's fallback for Discourse
            _json_text(preloaded, meta)
    meta.extend(v for v in extra if v)
    seen: set[str] = set()
    for value in meta:
        for variant in _variants(value):
            if variant not in seen:
                seen.add(variant)
                segments.append(variant)
    # Stored texts lose their escape sequences (crawler/core/sanitize.py), which can join the
    # letters around one ("Mex\x1b[1mico"): those segments go in without them too.
    return segments + [strip_controls(s) for s in segments if _ESCAPES.search(s)]


def page_text(tree: HtmlElement, extra: Iterable[str | None] = ()) -> PageText:
    """The pre-filter's view of a parsed page; ``extra``: the feed or sitemap title."""
    return PageText(" ".join(fold_words(s) for s in _segments(tree, extra)))


def could_match(topics: Sequence[tuple[str, Query]], page: PageText) -> bool:
    """Whether any watched topic can match the page once extracted."""
    return any(query.possible(page) for _, query in topics)
