"""A run's failures, by cause: the digest under the crawl summary and `newswatch runs RUN`.

Each failed fetch is stored with its kind (crawler.core.failures.FailureKind) and a message;
this module turns those into causes a person can act on ("DNS lookup failed for 7 hosts (offline?)")
instead of the 600 lines of tracebacks they come from.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

from crawler.core.failures import FailureKind
from crawler.store.fetches import MAX_RECORDED as MAX_RECORDED
from crawler.store.fetches import run_failures as run_failures

# A failure as a run keeps it: [url, kind, message] (kind a FailureKind value).
Failure = Sequence[str]

_CONNECTION_CAUSES = (
    ("DNSLookupError", "DNS lookup failed"),
    ("CannotResolveHostError", "DNS lookup failed"),
    ("ConnectionRefused", "connection refused"),
    ("Connection refused", "connection refused"),
    ("ConnectionLost", "connection lost"),
    ("ResponseNeverReceived", "no response"),
    ("DataLoss", "response cut short"),
)


def failure_kind(failure: Failure) -> FailureKind:
    """The kind a failure was recorded under (a kind this version does not know: ERROR)."""
    try:
        return FailureKind(failure[1])
    except ValueError:
        return FailureKind.ERROR


def failure_cause(kind: FailureKind, message: str) -> str:
    """A short, readable cause for one recorded failure."""
    message = message.strip()
    if kind == FailureKind.HTTP:
        return message or "HTTP error"
    if kind == FailureKind.CONNECTION:
        for marker, cause in _CONNECTION_CAUSES:
            if marker in message:
                return cause
        return "connection failed"
    if kind == FailureKind.ROBOTS_UNAVAILABLE:  # the host's robots.txt failed: say how
        status = re.search(r"answered (HTTP \d+)", message)
        if status:
            return f"robots.txt answered {status.group(1)}"
        for marker, cause in _CONNECTION_CAUSES:
            if marker in message:
                return cause
        if "Timeout" in message or "took longer" in message:
            return "timed out"
        return "robots.txt unreachable"
    return _CAUSES.get(kind, kind.replace("_", " "))


_CAUSES = {
    FailureKind.TIMEOUT: "timed out",
    FailureKind.TOO_LARGE: "too large",
    FailureKind.REDIRECT_LOOP: "redirect loop",
    FailureKind.REDIRECTS: "too many redirects",
    FailureKind.NOT_HTML: "not HTML",
    FailureKind.EMPTY: "empty page",
    FailureKind.FEED: "unreadable feed",
    FailureKind.SITEMAP: "unreadable sitemap",
    FailureKind.EXTRACTION: "extraction failed",
    FailureKind.WORKER_DIED: "extraction worker died",
}


def _host(url: str) -> str:
    try:
        return urlsplit(url).netloc or url
    except ValueError:
        return url


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _group(failures: Iterable[Failure]) -> dict[str, tuple[int, set[str]]]:
    causes: dict[str, list[Any]] = defaultdict(lambda: [0, set()])
    for failure in failures:
        entry = causes[failure_cause(failure_kind(failure), failure[2])]
        entry[0] += 1
        entry[1].add(_host(failure[0]))
    return {cause: (n, hosts) for cause, (n, hosts) in causes.items()}


_HOST_CAUSES = ("DNS lookup failed", "connection refused", "robots.txt")


def _describe(cause: str, urls: int, hosts: int) -> str:
    if cause.startswith(_HOST_CAUSES):
        return f"{cause} for {_plural(hosts, 'host')}" + (
            f" ({_plural(urls, 'URL')})" if urls != hosts else ""
        )
    return f"{cause} ({_plural(urls, 'URL')})"


def digest_lines(
    failures: Sequence[Failure],
    *,
    total: int | None = None,
    lost_pages: int = 0,
    write_error: str | None = None,
) -> list[str]:
    """One line for failed requests and one for unusable pages, each by cause (most first);
    one for a failed database write (``lost_pages`` pages not saved). ``failures``: [url,
    kind, message]; ``total``: how many failed in all, when ``failures`` was capped."""
    requests = [f for f in failures if failure_kind(f).request_failed]
    pages = [f for f in failures if not failure_kind(f).request_failed]
    lines = []
    for items, noun, verb in ((requests, "request", "failed"), (pages, "page", "unusable")):
        if not items:
            continue
        groups = sorted(_group(items).items(), key=lambda kv: (-kv[1][0], kv[0]))
        parts = [_describe(cause, n, len(hosts)) for cause, (n, hosts) in groups]
        if requests is items and all(cause == "DNS lookup failed" for cause, _ in groups):
            parts[-1] = (
                parts[-1][:-1] + "; offline?)"
                if parts[-1].endswith(")")
                else (parts[-1] + " (offline?)")
            )
        lines.append(f"{_plural(len(items), noun)} {verb}: " + "; ".join(parts))
    if total is not None and total > len(failures):
        lines.append(f"(and {total - len(failures)} more failures not listed)")
    if write_error:
        lines.append(
            f"database write failed ({write_error}): "
            f"{_plural(lost_pages, 'page')} not saved, fetched again next run"
        )
    return lines


def failures_by_kind(failures: Sequence[Failure]) -> dict[FailureKind, list[tuple[str, str]]]:
    """(url, message) pairs grouped by failure kind, kinds sorted, URLs sorted in each."""
    grouped: dict[FailureKind, list[tuple[str, str]]] = defaultdict(list)
    for failure in failures:
        grouped[failure_kind(failure)].append((failure[0], failure[2]))
    return {kind: sorted(grouped[kind]) for kind in sorted(grouped)}
