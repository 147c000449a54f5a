"""What a robots.txt fetch means for its host, per RFC 9309 (section 2.3.1).

- 2xx: the rules, from the first 500 KiB (the minimum the RFC asks a crawler to read; a
  longer file is cut at the last line break inside that limit, not refused);
- 3xx: redirects are followed up to five hops, to other hosts too (RFC 9309 2.3.1.2), each
  through the fetch policy, and the rules found at the end apply to the host asked; a 3xx
  left over (more than five hops) or a hop the fetch policy refuses: unavailable, so
  everything is allowed;
- 4xx: unavailable, everything allowed, except 429, which asks a crawler to slow down:
  treated like a server error, as Google does;
- 5xx, or unreachable (DNS, refused connection, timeout, a body that cannot be read):
  everything disallowed for the run. The reason is recorded per host.
"""

from __future__ import annotations

from dataclasses import dataclass

ROBOTS_MAX_BYTES = 500 * 1024
ROBOTS_MAX_REDIRECTS = 5
DISALLOW_ALL = b"User-agent: *\nDisallow: /\n"


@dataclass(frozen=True)
class RobotsOutcome:
    """The rules to apply to a host for this run, and why when it is closed."""

    rules: bytes  # robots.txt text to parse (b"" allows everything)
    unavailable_reason: str | None = None  # set: the host is disallowed for the run
    note: str | None = None  # an unusual answer that still allows crawling

    @property
    def disallowed(self) -> bool:
        return self.unavailable_reason is not None


def limit_rules(body: bytes, limit: int = ROBOTS_MAX_BYTES) -> bytes:
    """The first ``limit`` bytes of a robots.txt, cut at a line break (no half rule)."""
    if len(body) <= limit:
        return body
    head = body[:limit]
    cut = max(head.rfind(b"\n"), head.rfind(b"\r"))
    return head[: cut + 1] if cut >= 0 else b""


def outcome_for_response(status: int, body: bytes) -> RobotsOutcome:
    """The host's rules from the final (redirects followed) robots.txt response."""
    if 200 <= status < 300:
        return RobotsOutcome(limit_rules(body))
    if status == 429 or status >= 500:
        return RobotsOutcome(DISALLOW_ALL, f"robots.txt answered HTTP {status}")
    if 300 <= status < 400:
        return RobotsOutcome(b"", note=f"robots.txt redirect not followed (HTTP {status})")
    return RobotsOutcome(b"", note=f"robots.txt answered HTTP {status}")


def outcome_for_error(error: BaseException, *, refused: bool) -> RobotsOutcome:
    """The host's rules when robots.txt could not be fetched.

    ``refused``: the crawler itself declined the request (a hop the fetch policy refuses, too many
    redirects): robots.txt is unavailable, as after a 4xx. Anything else means the server
    could not be reached or its answer not read: the host is closed for the run.
    """
    message = str(error) or type(error).__name__
    if refused:
        return RobotsOutcome(b"", note=f"robots.txt not fetched: {message}"[:300])
    reason = f"robots.txt unreachable: {type(error).__name__}: {message}"
    return RobotsOutcome(DISALLOW_ALL, reason[:300])
