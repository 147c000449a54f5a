"""Exceptions shared by the spider and the downloader middlewares (no storage imports)."""

from __future__ import annotations

from scrapy.exceptions import IgnoreRequest


class Refused(IgnoreRequest):
    """A request the crawler declines to make (scheme, scope): politeness, not a failure."""


class RedirectLoop(IgnoreRequest):
    """A redirect back to a URL already in its own redirect chain."""


class RobotsUnavailable(IgnoreRequest):
    """A request to a host closed for the run: its robots.txt answered 5xx or could not be
    fetched (RFC 9309). A failure, retried next run, not politeness."""


class Throttled(IgnoreRequest):
    """A request to a host that asked (429/503 with a Retry-After past the cap) not to be
    fetched for longer than a run waits: recorded as throttled, fetched next run."""
