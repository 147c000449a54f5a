"""Story and duplicate linking in a canonical order, whatever order the network delivered.

A crawl stores each new article as it arrives, and holds it in ``story_pending`` with what the
extraction worker computed for it (text signature, parsed story terms). When the run ends,
:func:`link_pending` links the held articles to copies and stories in one canonical order:
earliest reliable publication first (an article without one last), then the run that first
saw it, then its URL. The same set of articles so gives the same stories, the same duplicate
roots and the same flags whatever the arrival order, the ingest batch boundaries, or how many
nodes did the crawl. An article held by a run that died is linked by the next run that ends.

Direct callers of ``ingest_results`` (tests, benchmarks) link at the end of each batch, in the
same canonical order within it.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlite_utils import Database

from crawler.core.models import FlagKind
from crawler.core.timeutil import parse_utc
from crawler.store import pending as story_pending
from crawler.store.desk import is_official, press_carried
from crawler.store.flags import create_flag, move_story_flags_to_original
from crawler.store.storage import run_started_at, utcnow, write_transaction
from crawler.stories import dedup

LINK_CHUNK = 200  # articles linked per transaction: a killed run loses no finished work


@dataclass(frozen=True)
class _Held:
    article_id: int
    title: str
    text: str
    published: str | None  # reliable only
    content_hash: str
    fingerprint: int
    feed_guid: str | None
    url: str
    run_id: int
    signature: bytes | None
    story_blob: bytes | None
    relink: bool

    def order(self) -> tuple[datetime, int, str]:
        moment = parse_utc(self.published)
        return moment or datetime.max.replace(tzinfo=UTC), self.run_id, self.url


def _held(db: Database, run_id: int) -> list[_Held]:
    """What this run holds, and what runs that ended (or died) left held."""
    held = [
        _Held(
            r[0],
            r[1] or "",
            r[2] or "",
            dedup.reliable_published(r[3], r[4]),
            r[5] or "",
            r[6] or 0,
            r[7],
            r[8],
            r[9] or 0,
            r[10],
            r[11],
            bool(r[12]),
        )
        for r in story_pending.held_rows(db, run_id)
    ]
    return sorted(held, key=_Held.order)


def link_pending(
    db: Database,
    run_id: int,
    *,
    baseline: bool = False,
    seen_at: str | None = None,
    until: float | None = None,
) -> Counter[str]:
    """Link every held article in canonical order; create the story flags; return counts.

    ``seen_at`` stands for the crawl time of articles without a reliable date (the run's
    start, the same for all of them, so the order they arrived in cannot matter).
    ``until``: a ``time.monotonic()`` deadline (the run's time limit); what is still held
    then stays held for the next run (counted as ``limits.link_deferred``).
    """
    counts: Counter[str] = Counter()
    with write_transaction(db):
        held = _held(db, run_id)
    seen_at = seen_at or run_started_at(db, run_id) or utcnow()
    for start in range(0, len(held), LINK_CHUNK):
        if until is not None and time.monotonic() > until:
            counts["limits.link_deferred"] += len(held) - start
            break
        with write_transaction(db):
            _link_all(db, held[start : start + LINK_CHUNK], run_id, baseline, seen_at, counts)
    return counts


def link_held_in_transaction(
    db: Database, run_id: int, baseline: bool, counts: Counter[str]
) -> None:
    """Link what is held, inside the caller's transaction (direct ``ingest_results`` callers)."""
    _link_all(db, _held(db, run_id), run_id, baseline, utcnow(), counts)


def _link_all(
    db: Database,
    items: list[_Held],
    run_id: int,
    baseline: bool,
    seen_at: str,
    counts: Counter[str],
) -> None:
    """Link ``items`` in their order, those still held (another writer may have linked some),
    and release them: two statements for the bookkeeping of the whole list."""
    still = story_pending.release(db, [item.article_id for item in items])
    for item in items:
        if item.article_id in still:
            _link(db, item, run_id, baseline, seen_at, counts)


def _link(
    db: Database, item: _Held, run_id: int, baseline: bool, seen_at: str, counts: Counter[str]
) -> None:
    fp = dedup.Fingerprints(
        title=item.title,
        text=item.text,
        published=item.published,
        seen_at=seen_at,
        content_hash=item.content_hash,
        fingerprint=item.fingerprint,
        feed_guid=item.feed_guid,
        signature=item.signature,
        packed_terms=item.story_blob,
    )
    link = dedup.link_article(db, item.article_id, fp)
    counts["linked"] += 1
    # A copy never counts as news; nor does an original whose text arrived first as a copy.
    if link.duplicate_of is not None or link.text_already_stored:
        counts["duplicates"] += 1
        if link.text_already_stored:
            move_story_flags_to_original(db, item.article_id)
        return
    if baseline or item.relink:
        return
    kind = FlagKind.NEW_STORY if link.new_story else FlagKind.NEW_COVERAGE
    detail = None
    if is_official(db, item.article_id):
        # The record: joining a story the press carried is news of its own (`official`); a
        # release no outlet carried yet starts a story, marked official.
        detail = {"official": True}
        if not link.new_story and press_carried(db, link.story_id, item.article_id):
            kind = FlagKind.OFFICIAL
    if create_flag(
        db,
        kind,
        f"article:{item.article_id}",
        run_id=run_id,
        article_id=item.article_id,
        story_id=link.story_id,
        detail=detail,
    ):
        counts["flags"] += 1
        counts[f"flags.{kind}"] += 1
