"""Exceptions shared by the spider and the downloader middlewares (no storage imports)."""

from __future__ import annotations

from scrapy.exceptions import IgnoreRequest


class Refused(IgnoreRequest):
    """A request the crawler declines to make (scheme, scope): politeness, not a failure."""


class RedirectLoop(IgnoreRequest):
    """A redirect back to a URL already in its own redirect chain."""
