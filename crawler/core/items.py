"""What the spider hands to the storage pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crawler.core.failures import FailureKind
from crawler.core.pages import PageJob


@dataclass(frozen=True)
class RunTags:
    """[distributed]: what travels with every request of a run (in ``meta["nw_run"]``) and
    every stream entry: the run's id, a unique token, the baseline flag.

    The token, not the id, names the run's Redis keys: two databases sharing one Redis both
    have a run 1.
    """

    id: int
    token: str
    baseline: bool = False


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
    # Why it failed or was not stored: the kind, and a readable message.
    error: str | None = None
    error_kind: FailureKind | None = None
    # [distributed]: the queue lease of the request this came from, and its run's tags.
    lease: bytes | None = None
    run: RunTags | None = None


@dataclass
class PageItem:
    """A page to extract, with the HTTP facts to store with its fetch state."""

    job: PageJob
    fetch_meta: dict[str, Any] = field(default_factory=dict)
    lease: bytes | None = None
    run: RunTags | None = None
