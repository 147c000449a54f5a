"""``process_page`` stopped after the article: for tests that read only what extraction gives."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from crawler.processing.pages import configure_topics

# A query of one made-up word: no page matches it.
_NO_MATCH = "qxqxqxnomatch"


@contextmanager
def articles_only() -> Iterator[None]:
    """``process_page`` in this process extracts every page the same way (the pre-filter
    off), records a page that is no article with the same reason, and then stops: one
    topic that no page matches leaves out the fingerprints, the story terms and the
    language identification (about a tenth of the time on the eval pages), which tests of
    the extracted title, text and date never read."""
    configure_topics([("no page", _NO_MATCH)], prefilter=False)
    try:
        yield
    finally:
        configure_topics([])
