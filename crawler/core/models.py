"""Plain data types shared by extraction, dedup, storage and the spiders."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class FlagKind(StrEnum):
    """What a flag says happened. The values are what the database stores and the CLI, the
    Atom feed and the webhook show: a member compares and hashes as its value."""

    NEW_STORY = "new_story"
    NEW_COVERAGE = "new_coverage"
    UPDATED = "updated"
    NEW_RELATED = "new_related"
    OFFICIAL = "official"


# What a person reads for each flag kind (the Atom feed's titles, the webhook's lines).
FLAG_LABELS: dict[str, str] = {
    FlagKind.NEW_STORY: "New story",
    FlagKind.NEW_COVERAGE: "New coverage",
    FlagKind.UPDATED: "Updated article",
    FlagKind.NEW_RELATED: "New related link",
    FlagKind.OFFICIAL: "Official record",
}


@dataclass(frozen=True)
class RelatedLink:
    """One link from an article's "related articles" block."""

    url: str
    title: str


@dataclass
class Article:
    """What extraction knows about one article page.

    ``published`` is an ISO 8601 date or datetime string (never in the future);
    ``text`` is the cleaned article body, paragraphs separated by blank lines.
    """

    url: str | None = None
    title: str | None = None
    text: str = ""
    published: str | None = None
    published_source: str | None = None  # metadata, url, feed, sitemap, dateline, text
    language: str | None = None
    canonical_url: str | None = None
    site: str | None = None
    authors: list[str] = field(default_factory=list)
    image: str | None = None
    description: str | None = None
    related: list[RelatedLink] = field(default_factory=list)
    # whose text this is: "newswatch" (pruned and cleaned) or "trafilatura" (its own output,
    # kept when ours came out far shorter)
    text_source: str | None = None
    # where the title came from: metadata, feed, h1, heading, first_line, url (None: no title)
    title_source: str | None = None
    # a short report (under the article length) kept for its article evidence
    brief: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
