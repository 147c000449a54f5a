"""Frozen for migration m100_error_kind: how an error recorded before it was written.

Until m100 a fetch's failure was one string, ``"<kind>: <message>"``, with a few that did not
follow the form. This reads those strings once; live code never parses an error again.
"""

from __future__ import annotations

# The kinds recorded before m100 under their own name.
_KINDS = (
    "refused",
    "connection",
    "timeout",
    "http",
    "throttled",
    "too_large",
    "redirect_loop",
    "redirects",
    "robots_unavailable",
    "empty",
    "not_html",
    "feed",
    "sitemap",
    "not_article",
)
# Strings whose lead was no kind name.
_LEADS = (
    ("extraction failed:", "extraction"),
    ("extraction worker died:", "worker_died"),
)


def split_error(error: str) -> tuple[str, str]:
    """(kind, message) of an error string as recorded before m100."""
    for lead, kind in _LEADS:
        if error.startswith(lead):
            return kind, error[len(lead) :].strip()
    if error.startswith("pruned earlier (prune --articles)"):
        return "pruned", error
    kind, colon, message = error.partition(":")
    if colon and kind.strip() in _KINDS:
        return kind.strip(), message.strip()
    return "error", error  # another exception: its class name leads the message
