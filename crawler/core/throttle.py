"""Slowing down for a host that says it is overloaded (429, 503), as AutoThrottle would.

- ``Retry-After`` (seconds or an HTTP date) on a 429 or 503 is honoured for the whole host:
  no request goes to it before that time, up to ``MAX_RETRY_AFTER``. A host asking for
  longer is not fetched again in this run (its URLs are recorded as throttled and fetched
  next run), rather than holding the run for minutes per URL.
- Each further 429 or 503 doubles the host's delay (from at least ``MIN_BACKOFF``), up to
  ``MAX_BACKOFF``; each good answer halves it back towards the configured delay.
"""

from __future__ import annotations

from datetime import UTC, datetime

from crawler.core.timeutil import parse_http_date

THROTTLE_STATUSES = (429, 503)
MAX_RETRY_AFTER = 60.0  # seconds: a longer wait closes the host for the run
MIN_BACKOFF = 1.0
MAX_BACKOFF = 60.0


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date); None if
    absent or unreadable; 0 for a date in the past."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(min(int(value), 10**9))
    when = parse_http_date(value)
    if when is None:
        return None
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def throttled_delay(current: float, base: float, strikes: int, retry_after: float | None) -> float:
    """The host's delay after its ``strikes``-th 429/503 in a row (``strikes`` >= 1)."""
    backoff = min(MAX_BACKOFF, max(base, MIN_BACKOFF) * 2 ** (strikes - 1))
    return max(current, backoff, min(retry_after or 0.0, MAX_RETRY_AFTER))


def relaxed_delay(current: float, base: float) -> float:
    """The host's delay after a good answer: half-way back to the configured one."""
    return max(base, current / 2) if current > base else base


def throttle_reason(status: int, retry_after: float | None) -> str:
    """What is recorded for a throttled URL."""
    if retry_after is None:
        return f"HTTP {status}: the host asked to slow down"
    return f"HTTP {status}: the host asked to wait {retry_after:g}s (Retry-After)"
