"""The page sets the extraction benchmarks read, and what a page looks like without its dates.

A page set is a folder: an aeb folder (``ground-truth.json`` + ``html/*.html.gz``), a
boilerplate folder (``cases.jsonl`` + ``pages/``), a development set built by
``benchmarks/devset.py`` (``pages.jsonl`` + ``pages/``, each page with its ``split``) or
recorded pages (``cases.toml``, as ``tests/recorded_pages``).
"""

from __future__ import annotations

import gzip
import json
import re
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Page:
    set: str  # aeb, boilerplate, dev, heldout, <group>-dev, <group>-heldout, recorded...
    id: str
    html: bytes
    gold_text: str | None = None
    gold_date: str | None = None
    with_snippets: list[str] = field(default_factory=list)
    boilerplate: list[str] = field(default_factory=list)
    origin_url: str | None = None


# -- loading page sets ------------------------------------------------------------------------


def _gunzip(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix == ".gz" else data


def load_set(folder: Path) -> list[Page]:
    if (folder / "ground-truth.json").exists():
        truth = json.loads((folder / "ground-truth.json").read_text("utf-8"))
        return [
            Page(
                "aeb",
                key,
                _gunzip(folder / "html" / f"{key}.html.gz"),
                gold_text=item.get("articleBody") or None,
                origin_url=item.get("url"),
            )
            for key, item in sorted(truth.items())
        ]
    if (folder / "cases.jsonl").exists():
        pages = []
        for line in (folder / "cases.jsonl").read_text("utf-8").splitlines():
            case = json.loads(line)
            pages.append(
                Page(
                    "boilerplate",
                    case["page"],
                    _gunzip(folder / case["page"]),
                    with_snippets=case.get("with", []),
                    boilerplate=case.get("boilerplate_without", []),
                    origin_url=case.get("url"),
                )
            )
        return pages
    if (folder / "pages.jsonl").exists():
        pages = []
        for line in (folder / "pages.jsonl").read_text("utf-8").splitlines():
            item = json.loads(line)
            group = item.get("group")  # a second devset: "<group>-dev", "<group>-heldout"
            pages.append(
                Page(
                    f"{group}-{item['split']}" if group else item["split"],
                    item["id"],
                    _gunzip(folder / "pages" / f"{item['id']}.html.gz"),
                    gold_text=item.get("gold_text"),
                    gold_date=item.get("gold_date"),
                    origin_url=item.get("url"),
                )
            )
        return pages
    if (folder / "cases.toml").exists():  # recorded pages (tests/recorded_pages)
        table = tomllib.loads((folder / "cases.toml").read_text("utf-8"))["case"]
        return [
            Page(
                "recorded" if item.get("split", "dev") == "dev" else "recorded-heldout",
                item["file"],
                (folder / item["file"]).read_bytes(),
                with_snippets=item.get("must_contain", []),
                boilerplate=[*item.get("related", []), *item.get("stamp", [])],
                origin_url=item.get("url"),
            )
            for item in table
        ]
    sys.exit(f"{folder}: neither ground-truth.json, cases.jsonl, pages.jsonl nor cases.toml")


# -- date metadata: the declared date (gold on aeb/boilerplate) and stripping it ------------

_DECLARED = [
    re.compile(
        rb"""<meta[^>]+(?:property|name|itemprop)=["'](?:article:published_time|"""
        rb"""datePublished)["'][^>]*content=["'](\d{4}-\d{2}-\d{2})""",
        re.I,
    ),
    re.compile(
        rb"""<meta[^>]+content=["'](\d{4}-\d{2}-\d{2})[^"']*["'][^>]*(?:property|name|"""
        rb"""itemprop)=["'](?:article:published_time|datePublished)["']""",
        re.I,
    ),
    re.compile(rb""""datePublished"\s*:\s*"(\d{4}-\d{2}-\d{2})"""),
    re.compile(rb"""itemprop=["']datePublished["'][^>]*datetime=["'](\d{4}-\d{2}-\d{2})""", re.I),
]


def declared_date(html: bytes) -> str | None:
    """The publication date the page's metadata declares (first match, in order above)."""
    for pattern in _DECLARED:
        match = pattern.search(html)
        if match:
            found = match.group(1).decode()
            return found if found >= "1995" else None  # "0001-01-01": a placeholder
    return None


_DATE_WORD = rb"(?:date|time|publish|modif|lastmod|review|creat|updat|issued)"
_STRIP = [
    # <meta> whose property/name/itemprop/http-equiv names a date
    (
        re.compile(
            rb"<meta\b[^>]*?(?:property|name|itemprop|http-equiv)\s*=\s*[\"']?[^\"'>]*"
            + _DATE_WORD
            + rb"[^>]*>",
            re.I,
        ),
        b"",
    ),
    # date keys in JSON-LD and inline JSON: the value emptied, the JSON stays valid
    (
        re.compile(
            rb"(\"[\w:@-]*(?:[Dd]ate|[Pp]ublish|[Mm]odif|[Cc]reat|[Uu]pdat)[\w:-]*\"\s*:\s*)"
            rb"\"[^\"]{0,60}\""
        ),
        rb'\1""',
    ),
    (re.compile(rb"<time\b[^>]*>", re.I), b"<span>"),
    (re.compile(rb"</time\s*>", re.I), b"</span>"),
    (re.compile(rb"\sdatetime\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>]+)", re.I), b""),
    (re.compile(rb"\sitemprop\s*=\s*[\"']?(?:date\w*|uploadDate)[\"']?", re.I), b""),
]
_DATED_URL_TAG = re.compile(rb"<(?:link|meta)\b[^>]*(?:canonical|og:url)[^>]*>", re.I)
_DATE_IN_URL = re.compile(rb"(?:19|20)\d{2}[/_-]?[01]?\d(?:[/_-]?[0-3]?\d)?[/_.-]")


def strip_dates(html: bytes) -> bytes:
    """``html`` without machine-readable dates (what a page without metadata looks like)."""
    for pattern, replacement in _STRIP:
        html = pattern.sub(replacement, html)
    return _DATED_URL_TAG.sub(
        lambda m: b"" if _DATE_IN_URL.search(m.group(0)) else m.group(0), html
    )
