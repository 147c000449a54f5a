"""What the spider hands to the storage pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crawler.core.pages import PageJob


@dataclass
class FetchRecord:
    """The outcome of fetching a URL that produced no article to extract."""

    url: str
    source: str | None
    kind: str
    status: int | None
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    error: str | None = None
    # [distributed]: the queue lease of the request this came from, and its run's tags.
    lease: bytes | None = None
    run: dict[str, Any] | None = None


@dataclass
class PageItem:
    """A page to extract, with the HTTP facts to store with its fetch state."""

    job: PageJob
    fetch_meta: dict[str, Any] = field(default_factory=dict)
    lease: bytes | None = None
    run: dict[str, Any] | None = None
