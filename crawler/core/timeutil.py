"""Time parsing and formatting, written once.

Every time newswatch stores is ISO 8601 text in UTC to the second (so text order is time
order), and a time without a zone is taken as UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime

# Durations, in the config ("every", "recheck_articles_for") and on the command line ("6h").
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration_seconds(text: str) -> float | None:
    """ "90s", "10m", "2h", "1d" in seconds; None if ``text`` is no such duration."""
    match = _DURATION.match(text)
    return float(match.group(1)) * _UNITS[match.group(2)] if match else None


def seconds_ago(seconds: float, now: datetime | None = None) -> str:
    """The time ``seconds`` before ``now`` (default: now) as stored: ISO 8601 UTC, to the
    second, so that it compares with stored times as text."""
    moment = (now or datetime.now(UTC)) - timedelta(seconds=seconds)
    return moment.replace(microsecond=0).isoformat()


def utcnow() -> str:
    """The current time as ISO 8601 UTC, second precision."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def parse_iso(value: str | None, naive_as_utc: bool = True) -> datetime | None:
    """An ISO 8601 date or datetime ("Z" accepted); None if empty or unreadable.

    A time without a zone becomes UTC, unless ``naive_as_utc`` is False (a page's own
    metadata, whose zone is unknown, stays naive).
    """
    if not value:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if naive_as_utc and moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def parse_utc(value: str | None) -> datetime | None:
    """An ISO time as a UTC datetime to the second (naive means UTC); None if unreadable."""
    moment = parse_iso(value)
    return moment.astimezone(UTC).replace(microsecond=0) if moment is not None else None


def parse_day(value: str) -> date | None:
    """The date an ISO date or datetime starts with; None if it starts with none."""
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def parse_http_date(value: str | None) -> datetime | None:
    """An RFC 822 / HTTP date ("Tue, 02 Mar 2026 12:00:00 GMT"); None if empty or
    unreadable. A time without a zone is UTC."""
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_date_header(value: str | None) -> datetime | None:
    """An ISO 8601 time, else an RFC 822 one (HTTP dates, some sitemaps); None if neither."""
    return parse_iso(value) or parse_http_date(value)


def iso_utc(moment: datetime) -> str:
    """``moment`` as stored: ISO 8601 in UTC, to the second (naive means UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def is_future(moment: datetime, now: datetime | None = None) -> bool:
    """True when ``moment`` is later than ``now`` (default: now); a naive time is UTC."""
    now = now or datetime.now(UTC)
    if moment.tzinfo is None:
        return moment > now.astimezone(UTC).replace(tzinfo=None)
    return moment > now


def parse_since(value: str, now: datetime | None = None) -> str:
    """An ISO date/datetime (or a relative "6h", "2d", "6h ago": that long ago) as ISO 8601
    UTC.

    Naive datetimes are taken as UTC, like every time in the database. Raises ValueError.
    """
    seconds = duration_seconds(re.sub(r"\s+ago\s*$", "", value))
    if seconds is not None:
        return seconds_ago(seconds, now)
    text = value.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC).isoformat()
    parsed = parse_iso(text)
    if parsed is None:
        raise ValueError(f"not an ISO date or datetime: {value!r}")
    # Stored times are UTC strings compared as text, so normalise the bound the same way.
    return parsed.astimezone(UTC).isoformat()


def event_time(published: str | None, seen_at: str) -> str:
    """ISO UTC time of the article for story first/last seen: published, unless later than seen."""
    seen = parse_utc(seen_at)
    pub = parse_utc(published)
    chosen = pub if pub is not None and (seen is None or pub <= seen) else seen
    return chosen.isoformat() if chosen is not None else seen_at


def event_hour(published: str | None, seen_at: str) -> int:
    """Hours since 1970 of the event: publication time, else (or if later) the crawl time."""
    seen = _hour(seen_at)
    pub = _hour(published) if published else None
    if seen is None:
        return pub if pub is not None else 0
    return seen if pub is None or pub > seen else pub


def _hour(value: str) -> int | None:
    moment = parse_iso(value)
    if moment is None:
        return None
    if len(value.strip()) == 10:  # a bare date: noon is at most half a day off
        moment = moment.replace(hour=12)
    return int(moment.timestamp()) // 3600


# Where a publication date can come from (``articles.published_source``). A date read from
# metadata, the URL, a feed, a sitemap or a dateline is evidence of when the event was; one
# guessed from the text (a teaser's "since 2017", a copyright line) or of unknown origin is not.
RELIABLE_SOURCES = frozenset({"metadata", "url", "feed", "sitemap", "dateline"})


def reliable_published(published: str | None, source: str | None) -> str | None:
    """The publication date if it is evidence of the event's time, else None.

    With no recorded provenance, a date that states a time of day is taken: the text search
    of ``published_date`` only ever yields bare days, metadata, feeds and sitemaps give times.
    """
    if not published:
        return None
    if source is not None:
        return published if source in RELIABLE_SOURCES else None
    value = published.strip()
    if len(value) > 10 and value[10] in "T " and value[11:19] not in ("", "00:00:00"):
        return published
    return None
