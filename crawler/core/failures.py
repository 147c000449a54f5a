"""Why a fetched URL gave no article: the kind of failure, a typed value.

A fetch that failed or was not stored is recorded with its kind (``fetches.error_kind``) and a
readable message (``fetches.error``); nothing reads the kind back out of the message.
"""

from __future__ import annotations

from enum import StrEnum


class FailureKind(StrEnum):
    """The kinds a fetch record's error is counted under (``errors.<kind>``)."""

    # The crawler declined the request (scope, scheme, robots.txt): politeness, no failure.
    REFUSED = "refused"
    # The request itself failed.
    CONNECTION = "connection"
    TIMEOUT = "timeout"
    HTTP = "http"
    THROTTLED = "throttled"
    TOO_LARGE = "too_large"
    REDIRECT_LOOP = "redirect_loop"
    REDIRECTS = "redirects"
    ROBOTS_UNAVAILABLE = "robots_unavailable"
    # A response came but could not be used.
    EMPTY = "empty"
    NOT_HTML = "not_html"
    FEED = "feed"  # an unreadable feed
    SITEMAP = "sitemap"  # an unreadable sitemap
    EXTRACTION = "extraction"  # the extractor raised on the page
    WORKER_DIED = "worker_died"  # the extraction worker process died on it
    # Read fine, not stored as an article.
    NOT_ARTICLE = "not_article"
    PRUNED = "pruned"  # removed by `newswatch prune --articles` earlier: old news
    # Any other exception (its class name leads the message).
    ERROR = "error"

    @property
    def request_failed(self) -> bool:
        """The request itself failed (no usable response), as opposed to an unusable page."""
        return self in _REQUEST_KINDS


_REQUEST_KINDS = frozenset(
    {
        FailureKind.CONNECTION,
        FailureKind.TIMEOUT,
        FailureKind.HTTP,
        FailureKind.TOO_LARGE,
        FailureKind.REDIRECT_LOOP,
        FailureKind.REDIRECTS,
        FailureKind.ROBOTS_UNAVAILABLE,
    }
)
