"""Publication dates with their provenance: metadata, url, feed, sitemap, dateline, text.

A wrong date is worse than none: story grouping, the "earliest report starts the story" rule
and ``flags --since`` trust ``published``. So a date is taken, in this order, from the
page's machine-readable metadata, its URL, the feed or sitemap entry, a dateline under the
headline, or the opening line of the text; and never from a bare year (htmldate turns
"since 2017" or "© 2026" into 1 January), a teaser or a copyright line, or a date after
the fetch. When unsure the date is left unknown (the story layer uses ``first_seen``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from htmldate import find_date
from htmldate.extractors import try_date_expr
from lxml import etree
from lxml.html import HtmlElement

from crawler.core.timeutil import is_future, parse_day, parse_iso
from crawler.extraction.printed import Ambiguous, printed_dates

_STRUCTURED_DATES = etree.XPath(
    "//meta[@property='article:published_time' or @property='og:published_time'"
    " or @name='article:published_time' or @itemprop='datePublished'"
    " or @name='pubdate' or @name='publishdate' or @name='date'"
    " or @name='dc.date' or @name='DC.date.issued' or @name='sailthru.date']/@content"
    " | //*[@itemprop='datePublished']/@datetime | //time[@datetime][1]/@datetime"
)
_FIRST_TIME = etree.XPath("//time[@datetime][1]/@datetime")
_JSONLD = etree.XPath("//script[@type='application/ld+json']/text()")
_JSONLD_PUBLISHED = re.compile(r'"datePublished"\s*:\s*"([^"]{8,40})"')
# Every machine-readable date of the page: meta contents, datetime/content attributes, JSON.
# (a <time> inside a link is a teaser's)
_MACHINE_DATES = etree.XPath(
    "//meta/@content | //*[not(ancestor::a)]/@datetime | //*[@itemprop]/@content"
)
_JSON_DATE = re.compile(r'"\w*(?:[Dd]ate|[Pp]ublish|[Cc]reat)\w*"\s*:\s*"(\d{4}-\d{2}-\d{2})')
_ISO_DAY = re.compile(r"(?<!\d)((?:19|20)\d{2})-(\d{2})-(\d{2})")

_MIN_DATE = datetime(1995, 1, 1)
_DATELINE_WINDOW = 700  # characters of text after the headline searched for a dateline
_BEFORE_WINDOW = 250  # and before it (a date above the headline)
_MAX_DATELINE = 160  # a dateline is a short line, not a paragraph
_COPYRIGHT = re.compile(r"©|\(c\)|copyright|all rights reserved", re.IGNORECASE)
# htmldate's parsers accept a lone year or month-year; a publication date names the day.
_HAS_DAY = re.compile(
    r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|\d{1,2}(?:st|nd|rd|th)?\b\D{0,14}"
    r"\b(?:19|20)\d{2}|\b\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}",
    re.IGNORECASE,
)
# "Updated Nov 13, 2019": the date of the last change, not of publication
_UPDATED = re.compile(
    r"\b(updated?|last modified|as of|stand|aktualisiert|actualizad[oa]|atualizad[oa]|"
    r"mis à jour|modifié|bijgewerkt|oppdatert|opdateret|uppdaterad|aggiornat[oa])\b",
    re.IGNORECASE,
)
_SKIP_TAGS = frozenset({"script", "style", "noscript", "a", "nav", "footer", "aside", "button"})

SOURCES = ("metadata", "url", "feed", "sitemap", "dateline", "text")


@dataclass(frozen=True)
class Dated:
    """A publication date and where it came from (both None when unknown)."""

    value: str | None = None
    source: str | None = None


def _jsonld(tree: HtmlElement) -> list[str]:
    """The page's JSON-LD: ``application/ld+json`` scripts, and scripts of another or no type
    that hold a schema.org ``@context`` (a mislabelled JSON-LD block is still the article's
    description; application state such as ``__NEXT_DATA__`` has none)."""
    found = [str(text) for text in _JSONLD(tree)]
    for script in tree.iter("script"):
        text = script.text
        if (
            text
            and script.get("type") != "application/ld+json"
            and '"@context"' in text
            and "schema.org" in text[:2000]
        ):
            found.append(text)
    return found


def structured_dates(tree: HtmlElement) -> list[datetime]:
    """Publication dates the page declares (meta tags, itemprop, first <time>, JSON-LD)."""
    values = [str(v) for v in _STRUCTURED_DATES(tree)]
    for script in _jsonld(tree):
        values.extend(_JSONLD_PUBLISHED.findall(script))
    out = []
    for value in values:
        # A page's own time without a zone stays naive (its zone is unknown); is_future
        # compares such a time as UTC.
        moment = parse_iso(value, naive_as_utc=False)
        if moment is not None:
            out.append(moment)
    return out


def _machine_days(tree: HtmlElement) -> set[date]:
    """Days named by any machine-readable date of the page (meta, attributes, JSON)."""
    days: set[date] = set()
    values = [str(v) for v in _MACHINE_DATES(tree)]
    # JSON-LD describes the page; application state (Next.js, Apollo, ad records) holds dates
    # of every other item the page shows, so it confirms nothing
    for script in _jsonld(tree):
        if "ate" in script:
            values.extend(_JSON_DATE.findall(script))
    for value in values:
        for y, m, d in _ISO_DAY.findall(value[:40]):
            try:
                days.add(date(int(y), int(m), int(d)))
            except ValueError:
                continue
    return days


def url_has_day(url: str, day: date) -> bool:
    """True when the address names ``day``: "20231117", or year, month and day with any of
    ``/ - _`` between them ("2023/11/17", "2023-11-17", "2023-11/17")."""
    y, m, d = f"{day.year:04d}", f"{day.month:02d}", f"{day.day:02d}"
    return f"{y}{m}{d}" in url or re.search(rf"{y}[/_-]{m}[/_-]{d}(?!\d)", url) is not None


def valid_fallback(value: str | None, now: datetime) -> str | None:
    """A feed or sitemap date as given, unless it is in the future or unreadable."""
    if not value:
        return None
    moment = parse_iso(value, naive_as_utc=False)
    if moment is not None:
        return value if not is_future(moment, now) else None
    day = parse_day(value)
    return day.isoformat() if day is not None and day <= now.date() else None


def declared_date(
    tree: HtmlElement,
    url: str | None,
    now: datetime,
    found: str | None = None,
    canonical: str | None = None,
) -> Dated:
    """The date the page states in machine-readable form: its metadata or its URL.

    htmldate (non-extensive, ``original_date``) picks the date; it is kept when the page's
    declared publication date confirms it; else the declared date wins; else htmldate's
    pick when another machine-readable date of the page or the URL confirms it. A date it
    found only in the visible text is left to :func:`dateline_date`.
    """
    today = now.date()
    structured = [
        m for m in structured_dates(tree) if not is_future(m, now) and m.year >= _MIN_DATE.year
    ]
    if found is None:
        found = find_date(
            tree,
            url=url,
            extensive_search=False,
            original_date=True,
            outputformat="%Y-%m-%d",
            max_date=today.isoformat(),
        )
    day = parse_day(found) if found else None
    if day is None or day > today:
        return _first_declared(tree, structured)
    if any(m.date() == day for m in structured):
        for moment in structured:  # the metadata carries the time of day: keep it
            if moment.date() == day and (moment.hour or moment.minute):
                return Dated(moment.isoformat(), "metadata")
        return Dated(day.isoformat(), "metadata")
    if structured and _printed_time_day(tree, structured, now) == day:
        return Dated(day.isoformat(), "dateline")
    if structured:  # htmldate picked another date (a modification, a teaser): the declared wins
        return _first_declared(tree, structured)
    if day in _machine_days(tree):
        return Dated(day.isoformat(), "metadata")
    if any(u is not None and url_has_day(u, day) for u in (url, canonical)):
        return Dated(day.isoformat(), "url")
    return _first_declared(tree, structured)


_FIRST_TIME_ELEMENT = etree.XPath("(//time[@datetime])[1]")


def _first_time_moments(tree: HtmlElement) -> set[datetime]:
    """The moments the page's first ``<time datetime>`` declares."""
    return {
        t
        for t in (parse_iso(str(v), naive_as_utc=False) for v in _FIRST_TIME(tree))
        if t is not None
    }


def _printed_time_day(tree: HtmlElement, structured: list[datetime], now: datetime) -> date | None:
    """The day printed inside the page's first ``<time>`` when ``<time>`` attributes are all
    the page declares and the printed day contradicts the attribute ("Publié le 29 juin
    2019" on ``datetime="2019-07-03..."``, an edit or index time): readers see the print."""
    times = _first_time_moments(tree)
    found = _FIRST_TIME_ELEMENT(tree)
    if not found or any(m not in times for m in structured):
        return None
    element = found[0]
    text = " ".join(element.text_content().split())
    day = _day_in(text, now, page_locale(tree)) if not _updated_before("", text) else None
    attribute = parse_iso(str(element.get("datetime")), naive_as_utc=False)
    if day is None or attribute is None or abs((attribute.date() - day).days) <= 1:
        return None
    return day


def _first_declared(tree: HtmlElement, structured: list[datetime]) -> Dated:
    """The page's first declared publication date (meta, itemprop, JSON-LD before <time>)."""
    times = _first_time_moments(tree)
    declared = [m for m in structured if m not in times] or structured
    if not declared:
        return Dated()
    moment = declared[0]
    value = moment.isoformat() if moment.hour or moment.minute else moment.date().isoformat()
    return Dated(value, "metadata")


def _headline(tree: HtmlElement, title: str | None) -> HtmlElement | None:
    """The page's headline element: the <h1> that carries the title, else the only <h1>."""
    heads = list(tree.iter("h1"))
    if not heads:
        return None
    if title:
        key = " ".join(title.lower().split())[:40]
        for head in heads:
            if key and key[:25] in " ".join(head.text_content().lower().split()):
                return head
    return heads[0] if len(heads) == 1 else None


def page_locale(tree: HtmlElement) -> str | None:
    """The page's declared language with its region ("de", "en-US"), for day/month order."""
    root = tree.getroottree().getroot()
    return root.get("lang") or root.get("{http://www.w3.org/XML/1998/namespace}lang")


def _day_in(string: str, now: datetime, locale: str | None = None) -> date | None:
    """A full date (with its day) named in a short string, not after ``now``.

    Read in the order its own form and the page's language give (``printed_dates``); a
    numeric date whose order neither tells is not taken. Forms it does not know are left
    to htmldate's parser.
    """
    if len(string) > _MAX_DATELINE or _COPYRIGHT.search(string):
        return None
    if len(_HAS_DAY.findall(string)) != 1:
        return None  # no day named, or a range ("21.10.2019 – 27.10.2019")
    try:
        days = printed_dates(string, locale)
    except Ambiguous:
        return None
    if len(days) > 1:
        return None
    if days:
        day: date | None = days[0]
    else:
        found = try_date_expr(string, "%Y-%m-%d", False, _MIN_DATE, now.replace(tzinfo=None))
        day = parse_day(found) if found else None
    if day is None or day < _MIN_DATE.date():
        return None
    return day if day <= now.date() else None


def _updated_before(previous: str, string: str) -> bool:
    """True when "updated" (or its like) comes before the date in ``string``, or ends the
    text before it: "Updated Nov 13, 2019" is the last change. After the date it is not
    ("on Dec 27, 2014 at 12:06 PM, updated" then names the change's own date)."""
    match = _HAS_DAY.search(string)
    before = string[: match.start()] if match else string
    return _UPDATED.search(f"{previous[-40:]} {before}") is not None


def _texts_around(head: HtmlElement) -> tuple[list[str], list[str]]:
    """Visible texts next to the headline: those after it (up to the dateline window) in
    document order, and those before it (a shorter window, nearest first)."""
    before: list[str] = []
    after: list[str] = []
    # above the headline only inside its own block: a site header shows the day of the visit
    block = head.getparent()
    if block is not None and block.getparent() is not None and block.tag != "body":
        block = block.getparent() if block.getparent().tag != "body" else block
    scope = set(block.iter()) if block is not None else set()
    seen_before = seen_after = 0
    state = "before"  # before, head, after
    for event, el in etree.iterwalk(head.getroottree().getroot(), events=("start", "end")):
        if el is head:
            state = "head" if event == "start" else "after"
            text = el.tail if event == "end" else None
        elif state == "head" or not isinstance(el.tag, str) or el.tag in _SKIP_TAGS:
            continue
        elif any(a.tag in _SKIP_TAGS for a in el.iterancestors()):
            continue
        else:
            text = el.text if event == "start" else el.tail
        if not text or not text.strip():
            continue
        if state == "before":
            if el not in scope:
                continue
            before.append(text.strip())
            seen_before += len(text)
            while seen_before > _BEFORE_WINDOW and len(before) > 1:
                seen_before -= len(before.pop(0))
        else:
            after.append(text.strip())
            seen_after += len(text)
            if seen_after > _DATELINE_WINDOW:
                break
    return after, before[::-1]


_WORD = re.compile(r"[^\W\d_]{2,}")
_MAX_DATELINE_WORDS = 7  # words beside the date in a dateline: a byline, a place, "Posted"


def is_dateline(string: str) -> bool:
    """A short line that is mostly its date (with a byline or a place), not prose."""
    match = _HAS_DAY.search(string)
    if match is None:
        return False
    rest = string[: match.start()] + " " + string[match.end() :]
    return len(_WORD.findall(rest)) <= _MAX_DATELINE_WORDS


def dateline_date(tree: HtmlElement, title: str | None, text: str, now: datetime) -> Dated:
    """A date printed under the headline, or in the first line of the article text.

    Run on the pruned tree (related-article blocks and teasers removed); a date inside a
    link (a teaser), a copyright line, a bare year or a month-year is never taken.
    """
    head = _headline(tree, title)
    locale = page_locale(tree)
    if head is not None:
        after, before = _texts_around(head)
        # a dateline first ("By Ana Ruiz · 3 March 2024"), then a line that mentions a date
        # ("Letters to the Editor for Jan. 17, 2022", "Am 21. und 22. Mai 2022 wird …")
        for compact in (True, False):
            for strings in (after, before):
                previous = ""
                for string in strings:
                    string = " ".join(string.split())
                    if compact and not is_dateline(string):
                        previous = string
                        continue
                    day = _day_in(string, now, locale)
                    if day is not None and not _updated_before(previous, string):
                        return Dated(day.isoformat(), "dateline")
                    previous = string
    first = text.split("\n", 1)[0][:_MAX_DATELINE] if text else ""
    day = _day_in(first, now, locale) if first and not _updated_before("", first) else None
    if day is not None:
        return Dated(day.isoformat(), "text")
    return Dated()


def publication_date(
    declared: Dated,
    fallback: str | None,
    fallback_source: str | None,
    printed: Dated,
    now: datetime,
) -> Dated:
    """The first of: the page's metadata or URL, the feed/sitemap date, a printed date."""
    if declared.value:
        return declared
    fb = valid_fallback(fallback, now)
    if fb is not None:
        return Dated(fb, fallback_source if fallback_source in SOURCES else "feed")
    if printed.value and printed.value[:10] != now.date().isoformat():
        return printed  # a page header showing the crawl day is not a publication date
    return Dated()


def published_date(
    tree: HtmlElement,
    url: str | None,
    fallback: str | None = None,
    now: datetime | None = None,
    found: str | None = None,
) -> str | None:
    """The publication date from metadata, URL or ``fallback`` (no printed date)."""
    now = now or datetime.now(UTC)
    return publication_date(
        declared_date(tree, url, now, found), fallback, "feed", Dated(), now
    ).value
