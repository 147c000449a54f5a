"""The morning brief: what a period brought, grouped by story.

New stories first, then stories with new coverage (another outlet's own report, an
official release), then updates (changed texts, new related links). Each story carries
its title, one coverage line, its newest reports in the period and its id. Rendering is
in ``crawler/read/digest_render.py``; this module only decides what the brief says.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from sqlite_utils import Database

from crawler.core.models import FlagKind
from crawler.core.timeutil import parse_iso
from crawler.read.coverage import story_coverage
from crawler.store.digests import last_flag_id, period_flags, story_articles

# Which section a flag puts its story in (the lowest rank of its flags wins).
SECTION_OF_KIND: dict[str, int] = {
    FlagKind.NEW_STORY: 0,
    FlagKind.OFFICIAL: 1,
    FlagKind.NEW_COVERAGE: 1,
    FlagKind.UPDATED: 2,
    FlagKind.NEW_RELATED: 2,
}
SECTIONS = ("New stories", "New coverage", "Updates")
KIND_WORDS: dict[str, str] = {
    FlagKind.NEW_STORY: "first report",
    FlagKind.NEW_COVERAGE: "new report",
    FlagKind.OFFICIAL: "official statement",
    FlagKind.UPDATED: "updated",
    FlagKind.NEW_RELATED: "new related link",
}
MAX_REPORTS = 3  # newest reports shown per story; the rest are counted


@dataclass(frozen=True)
class Report:
    """One article the period brought to a story."""

    article_id: int | None
    title: str
    url: str | None
    outlet: str
    kind: str
    at: str


@dataclass
class StoryEntry:
    """A story in the brief."""

    ref: str  # "s12", or "a5" for a flag whose article has no story
    story_id: int | None
    title: str
    section: int
    coverage: str
    reports: list[Report] = field(default_factory=list)
    more: int = 0  # reports in the period beyond MAX_REPORTS
    latest: str = ""
    page_url: str | None = None


@dataclass
class Digest:
    """A period's brief: [since, until), its stories by section; ``through_flag``: the
    newest flag it covers (the next brief starts after it)."""

    since: str | None
    until: str
    stories: list[StoryEntry]
    topics: tuple[str, ...] = ()
    timezone: str = "UTC"
    through_flag: int = 0

    @property
    def empty(self) -> bool:
        return not self.stories

    def sections(self) -> list[tuple[str, list[StoryEntry]]]:
        """(heading, stories) for each section that has stories, in order."""
        return [
            (heading, [s for s in self.stories if s.section == rank])
            for rank, heading in enumerate(SECTIONS)
            if any(s.section == rank for s in self.stories)
        ]


def story_page_url(base_url: str | None, story_id: int | None) -> str | None:
    """The story's page in `newswatch browse` (crawler/read/story_page.py)."""
    if not base_url or story_id is None:
        return None
    return f"{base_url.rstrip('/')}/-/story/{quote(str(story_id))}"


def _site_of(article: dict[str, Any]) -> str:
    return str(article.get("site") or article.get("source") or "?")


def _coverage_line(db: Database, story_id: int | None) -> str:
    """One line on who covered the story: the story desk's summary (crawler.read.coverage):
    outlets by country, languages, independent reports and the wires reprinted, one-sided
    coverage, the official record and its lag, facts the reports disagree on."""
    if story_id is None:
        return "not grouped into a story yet"
    if not story_articles(db, story_id):
        return "no reports stored"
    return story_coverage(db, story_id).summary_line()


def build_digest(
    db: Database,
    since: str | None,
    until: str | None = None,
    *,
    topics: tuple[str, ...] = (),
    base_url: str | None = None,
    timezone: str = "UTC",
    after_flag: int | None = None,
) -> Digest:
    """The brief of the flags created in [since, until), or after flag ``after_flag`` (the
    previous brief's newest); without ``until``, every flag stored so far, to the newest
    one, including those stored in the very second the brief is asked for."""
    end = until or datetime.now(UTC).replace(microsecond=0).isoformat()
    through = last_flag_id(db)
    entries: dict[str, StoryEntry] = {}
    seen_articles: dict[str, set[int | None]] = {}
    flags = period_flags(db, since, until, topics, after_flag=after_flag, through_flag=through)
    for flag in flags:
        story_id = flag["story_id"]
        ref = f"s{story_id}" if story_id is not None else f"a{flag['article_id']}"
        rank = SECTION_OF_KIND.get(flag["kind"], 2)
        entry = entries.get(ref)
        if entry is None:
            entry = entries[ref] = StoryEntry(
                ref=ref,
                story_id=story_id,
                title=flag["story_title"] or flag["title"] or flag["url"] or "(untitled)",
                section=rank,
                coverage=_coverage_line(db, story_id),
                page_url=story_page_url(base_url, story_id),
            )
            seen_articles[ref] = set()
        entry.section = min(entry.section, rank)
        entry.latest = max(entry.latest, flag["created_at"])
        if flag["article_id"] in seen_articles[ref]:
            continue  # one line per article: its first flag in the period names it
        seen_articles[ref].add(flag["article_id"])
        entry.reports.append(
            Report(
                flag["article_id"],
                flag["title"] or flag["url"] or "(untitled)",
                flag["url"],
                flag["source"] or flag["site"] or "?",
                flag["kind"],
                flag["created_at"],
            )
        )
    for entry in entries.values():
        entry.reports.sort(key=lambda r: (r.at, r.article_id or 0), reverse=True)
        entry.more = max(0, len(entry.reports) - MAX_REPORTS)
        del entry.reports[MAX_REPORTS:]
    # Within a section: the story with the newest activity first, then the lower id.
    ordered = sorted(
        entries.values(),
        key=lambda e: (e.section, _negated(e.latest), e.story_id or 0, e.ref),
    )
    return Digest(since, end, ordered, topics, timezone, through)


def _negated(stamp: str) -> float:
    moment = parse_iso(stamp)
    return -(moment.timestamp() if moment else 0.0)
