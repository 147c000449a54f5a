"""An Atom 1.0 feed of flags, with entry ids that never change.

Everything in an entry comes from crawled pages, so it is untrusted: ElementTree escapes it,
and characters XML 1.0 cannot carry at all are dropped first.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import quote

from crawler.core.models import FLAG_LABELS, FlagKind
from crawler.core.sanitize import strip_controls
from crawler.store.storage import utcnow

ATOM_NS = "http://www.w3.org/2005/Atom"
TAG_AUTHORITY = "tag:newswatch,2026:"
SUMMARY_CHARS = 300
# Control characters, surrogates and U+FFFE/U+FFFF are not allowed anywhere in XML 1.0.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _clean(text: Any) -> str:
    """Valid XML, and no escape sequence or C1 control for a reader that shows it raw."""
    return _NOT_XML.sub("", strip_controls("" if text is None else str(text)))


def entry_id(kind: str, subject: str) -> str:
    """The flag's permanent id: (kind, subject) is unique in the database and never changes."""
    # '#' would start a fragment and spaces are not URI characters; '%' is escaped so the
    # mapping stays one-to-one.
    return f"{TAG_AUTHORITY}flag:{kind}:" + quote(subject, safe=":/?@!$&'()*+,;=-._~")


def feed_id(topic: str | None, kind: str | None) -> str:
    """One id per feed selection, so a reader subscribed to a filtered feed keeps its place."""
    parts = [
        f"topic={quote(topic, safe='')}" if topic else "",
        f"kind={quote(kind, safe='')}" if kind else "",
    ]
    query = "&".join(p for p in parts if p)
    return f"{TAG_AUTHORITY}flags" + (f"?{query}" if query else "")


def summarize(flag: dict[str, Any]) -> str:
    """The article's description (or the start of its text), then the story it belongs to."""
    text = " ".join((flag.get("description") or flag.get("text") or "").split())
    if len(text) > SUMMARY_CHARS:
        text = text[:SUMMARY_CHARS].rsplit(" ", 1)[0] + " …"
    detail = flag.get("detail") or {}
    lines = []
    if flag["kind"] == FlagKind.NEW_RELATED and detail.get("url"):
        lines.append(f"New related link: {detail.get('title') or detail['url']} <{detail['url']}>")
    if text:
        lines.append(text)
    if flag.get("story_title") or flag.get("story_id"):
        lines.append(f"Story: {flag.get('story_title') or ''} (s{flag.get('story_id')})".strip())
    coverage = flag.get("coverage") or {}
    if coverage.get("summary"):
        lines.append(f"Coverage: {coverage['summary']}")
    if detail.get("official"):
        lines.append("The official record (a government's own release).")
    return "\n\n".join(lines)


def _sub(parent: ET.Element, tag: str, text: Any = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", {k: _clean(v) for k, v in attrs.items()})
    if text is not None:
        element.text = _clean(text)
    return element


def build_feed(
    flags: list[dict[str, Any]],
    *,
    topic: str | None = None,
    kind: str | None = None,
    title: str | None = None,
) -> bytes:
    """The feed document (UTF-8 bytes) for these flags, newest first as given."""
    ET.register_namespace("", ATOM_NS)
    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    what = ", ".join(x for x in (kind, topic) if x)
    _sub(feed, "title", title or ("newswatch flags" + (f" ({what})" if what else "")))
    _sub(feed, "subtitle", "New stories, coverage, updates and related links found by newswatch")
    _sub(feed, "id", feed_id(topic, kind))
    # The newest flag dates the feed, so regenerating an unchanged feed gives the same bytes.
    _sub(feed, "updated", max((f["created_at"] for f in flags), default=None) or utcnow())
    author = _sub(feed, "author")
    _sub(author, "name", "newswatch")
    _sub(feed, "generator", "newswatch")
    for flag in flags:
        entry = _sub(feed, "entry")
        label = FLAG_LABELS.get(flag["kind"], flag["kind"])
        _sub(entry, "title", f"{label}: {flag.get('title') or flag.get('url') or 'untitled'}")
        _sub(entry, "id", entry_id(flag["kind"], flag["subject"]))
        _sub(entry, "updated", flag["created_at"])
        if flag.get("url"):
            _sub(entry, "link", rel="alternate", type="text/html", href=flag["url"])
        related = (flag.get("detail") or {}).get("url")
        if flag["kind"] == FlagKind.NEW_RELATED and related:
            _sub(entry, "link", rel="related", href=related)
        if flag.get("source"):
            entry_author = _sub(entry, "author")
            _sub(entry_author, "name", flag["source"])
        _sub(entry, "category", term=flag["kind"], label=label, scheme=f"{TAG_AUTHORITY}flag-kinds")
        summary = summarize(flag)
        if summary:
            _sub(entry, "summary", summary, type="text")
    ET.indent(feed)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True) + b"\n"
