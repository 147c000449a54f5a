"""A user's corrections to story grouping: split an article off its story, merge two stories.

A correction rewrites the grouping where it is stored, so that what reads stories and what
links later articles sees the corrected one, and records itself (``story_corrections``) with
who was on each side (``story_correction_members``): the labelled pairs a fit of the story
decision learns from (:func:`labelled_pairs`).

How later articles follow a correction (the rule): a new article goes where the report the
story engine matches it with stands *now*. Every place a story id is read from when linking
is rewritten by the correction: ``articles.story_id`` (what a near-copy or an exact copy
joins) and the story index's postings (``story_terms.story_id``, what an own report joins).
So:

- after ``split a45``, a later copy of a45, or a report the engine matches with a45 (or one
  of its copies), joins a45's new story; one matched with a report left in the old story joins
  the old story. No later article re-joins the two: it lands in one of them.
- after ``merge s12 s15``, a later article matched with a report of either story joins s12.

The corrected state is the input of linking like any other stored state, and linking runs in
its canonical order (crawler.ingest.pending): articles linked after the same corrections get
the same stories whatever order they arrive in. A correction moves what is stored when it is
made: an article linked before a split stays in the old story unless it is split off too.
A correction creates no flag (existing flags follow their articles): the split-off part is a
known story, and an article joining it later is ``new_coverage``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from crawler.core.timeutil import event_time, reliable_published, utcnow
from crawler.store.storage import id_chunks, write_transaction


class CorrectionError(ValueError):
    """A correction that cannot be made (an unknown id, nothing to split); one line."""


@dataclass(frozen=True)
class Correction:
    id: int
    kind: str  # 'split' | 'merge'
    article_id: int | None  # split: the article named
    story_id: int  # split: the story it left; merge: the story kept
    other_story_id: int  # split: the new story; merge: the story merged into story_id
    moved: int  # articles that changed story


@dataclass(frozen=True)
class _Member:
    id: int
    duplicate_of: int | None
    title: str | None
    when: str  # event time, as linking computed it for the story's first/last seen


def _members(db: Database, story_id: int) -> list[_Member]:
    """The story's articles with their event times: the reliable publication date, else
    the start of the run that stored them (what linking took), else their first sight."""
    rows = db.execute(
        "SELECT a.id, a.duplicate_of, a.title, a.published, a.published_source,"
        " COALESCE(r.started_at, a.first_seen) FROM articles a"
        " LEFT JOIN runs r ON r.id = a.run_id WHERE a.story_id = ? ORDER BY a.id",
        [story_id],
    ).fetchall()
    return [
        _Member(i, dup, title, event_time(reliable_published(pub, source), seen))
        for i, dup, title, pub, source, seen in rows
    ]


def _story(db: Database, story_id: int) -> tuple[Any, ...]:
    row = db.execute(
        "SELECT id, title, lead_article_id, first_seen, last_seen FROM stories WHERE id = ?",
        [story_id],
    ).fetchone()
    if row is None:
        raise CorrectionError(f"no story with id {story_id} (s{story_id})")
    return tuple(row)


def _lead(members: list[_Member]) -> _Member:
    """The story's first report: the earliest original (a copy only if no original is left)."""
    originals = [m for m in members if m.duplicate_of is None] or members
    return min(originals, key=lambda m: (m.when, m.id))


def _refresh_story(db: Database, story_id: int, *, keep_lead: bool = True) -> None:
    """Count, first and last seen from the story's articles now; its lead and title again
    when the lead left (or ``keep_lead`` is False)."""
    members = _members(db, story_id)
    if not members:
        return
    _, _, lead_id, _, _ = _story(db, story_id)
    ids = {m.id for m in members}
    lead = next((m for m in members if m.id == lead_id), None)
    if lead is None or not keep_lead:
        lead = _lead(members)
        db.execute(
            "UPDATE stories SET title = ?, lead_article_id = ? WHERE id = ?",
            [lead.title, lead.id, story_id],
        )
    db.execute(
        "UPDATE stories SET article_count = ?, first_seen = ?, last_seen = ? WHERE id = ?",
        [len(ids), min(m.when for m in members), max(m.when for m in members), story_id],
    )


def _repost(db: Database, article_ids: list[int], story_id: int) -> None:
    """Point the story index's postings of these articles at ``story_id`` (by primary key:
    the cost is the articles' own postings, never the size of the index). An index that
    keeps no story ids (its lookups read ``articles.story_id``) has nothing to repoint."""
    if "story_id" not in {row[1] for row in db.execute("PRAGMA table_info(story_terms)")}:
        return
    for part in id_chunks(article_ids):
        marks = ",".join("?" * len(part))
        docs = db.execute(
            "SELECT article_id, story_hour, story_terms FROM dedup_docs"
            f" WHERE article_id IN ({marks})",
            part,
        ).fetchall()
        db.conn.executemany(
            "UPDATE story_terms SET story_id = ? WHERE term = ? AND hour = ? AND article_id = ?",
            [(story_id, t, hour, a) for a, hour, terms in docs for t in (terms or "").split()],
        )


def _move(db: Database, article_ids: list[int], story_id: int) -> None:
    """Articles, their postings and their flags to ``story_id``."""
    for part in id_chunks(article_ids):
        marks = ",".join("?" * len(part))
        db.execute(f"UPDATE articles SET story_id = ? WHERE id IN ({marks})", [story_id, *part])
        db.execute(
            f"UPDATE flags SET story_id = ? WHERE article_id IN ({marks})", [story_id, *part]
        )
    _repost(db, article_ids, story_id)


def _record(
    db: Database,
    kind: str,
    article_id: int | None,
    story_id: int,
    other: int,
    note: str | None,
    sides: tuple[list[int], list[int]],
) -> int:
    cursor = db.execute(
        "INSERT INTO story_corrections (kind, article_id, story_id, other_story_id, created_at,"
        " note) VALUES (?, ?, ?, ?, ?, ?)",
        [kind, article_id, story_id, other, utcnow(), note],
    )
    correction_id = int(cursor.lastrowid or 0)
    db.conn.executemany(
        "INSERT OR IGNORE INTO story_correction_members (correction_id, article_id, side)"
        " VALUES (?, ?, ?)",
        [(correction_id, a, side) for side, ids in enumerate(sides) for a in ids],
    )
    return correction_id


def split_article(db: Database, article_id: int, note: str | None = None) -> Correction:
    """Take the article, with its duplicate group (its original and that original's copies),
    out of its story into a new story of its own. One ``BEGIN IMMEDIATE`` transaction."""
    with write_transaction(db):
        row = db.execute(
            "SELECT story_id, duplicate_of FROM articles WHERE id = ?", [article_id]
        ).fetchone()
        if row is None:
            raise CorrectionError(f"no article with id {article_id} (a{article_id})")
        old, duplicate_of = row
        if old is None:
            raise CorrectionError(
                f"article a{article_id} is in no story yet (off-topic, or not linked until "
                "its crawl ends): nothing to split"
            )
        root = duplicate_of if duplicate_of is not None else article_id
        members = _members(db, old)
        group = [m for m in members if m.id == root or m.duplicate_of == root]
        rest = [m for m in members if m not in group]
        if not rest:
            raise CorrectionError(
                f"article a{article_id} is the only report in story s{old} (with its copies): "
                "nothing to split"
            )
        lead = _lead(group)
        cursor = db.execute(
            "INSERT INTO stories (title, lead_article_id, first_seen, last_seen, article_count)"
            " VALUES (?, ?, ?, ?, ?)",
            [
                lead.title,
                lead.id,
                min(m.when for m in group),
                max(m.when for m in group),
                len(group),
            ],
        )
        new = int(cursor.lastrowid or 0)
        _move(db, [m.id for m in group], new)
        _refresh_story(db, old)
        correction_id = _record(
            db,
            "split",
            article_id,
            old,
            new,
            note,
            ([m.id for m in group], [m.id for m in rest]),
        )
    return Correction(correction_id, "split", article_id, old, new, len(group))


def merge_stories(
    db: Database, story_id: int, other_story_id: int, note: str | None = None
) -> Correction:
    """Merge story ``other_story_id`` into ``story_id`` (which keeps its id; the other is
    removed, its flags now name ``story_id``). One ``BEGIN IMMEDIATE`` transaction."""
    if story_id == other_story_id:
        raise CorrectionError(f"cannot merge story s{story_id} into itself")
    with write_transaction(db):
        kept = _story(db, story_id)
        gone = _story(db, other_story_id)
        kept_ids = [m.id for m in _members(db, story_id)]
        moved = [m.id for m in _members(db, other_story_id)]
        _move(db, moved, story_id)
        db.execute("UPDATE flags SET story_id = ? WHERE story_id = ?", [story_id, other_story_id])
        if gone[3] < kept[3]:  # the merged story was reported first: its lead heads both
            db.execute(
                "UPDATE stories SET title = ?, lead_article_id = ? WHERE id = ?",
                [gone[1], gone[2], story_id],
            )
        db.execute("DELETE FROM stories WHERE id = ?", [other_story_id])
        _refresh_story(db, story_id)
        correction_id = _record(
            db, "merge", None, story_id, other_story_id, note, (kept_ids, moved)
        )
    return Correction(correction_id, "merge", None, story_id, other_story_id, len(moved))


def list_corrections(db: Database) -> list[dict[str, Any]]:
    """Every correction, oldest first, with the titles of its stories as they are now."""
    return list(
        db.query(
            "SELECT c.id, c.kind, c.article_id, c.story_id, c.other_story_id, c.created_at,"
            " c.note, a.title AS article_title, s.title AS story_title,"
            " o.title AS other_story_title,"
            " (SELECT count(*) FROM story_correction_members m WHERE m.correction_id = c.id"
            "  AND m.side = 0) AS side_0,"
            " (SELECT count(*) FROM story_correction_members m WHERE m.correction_id = c.id"
            "  AND m.side = 1) AS side_1"
            " FROM story_corrections c LEFT JOIN articles a ON a.id = c.article_id"
            " LEFT JOIN stories s ON s.id = c.story_id"
            " LEFT JOIN stories o ON o.id = c.other_story_id ORDER BY c.id"
        )
    )


def merged_into(db: Database, story_id: int) -> int | None:
    """The story a merged (removed) story now lives in, following later merges; else None."""
    seen: set[int] = set()
    target = None
    current = story_id
    while current not in seen:
        seen.add(current)
        row = db.execute(
            "SELECT story_id FROM story_corrections WHERE kind = 'merge' AND other_story_id = ?"
            " ORDER BY id DESC LIMIT 1",
            [current],
        ).fetchone()
        if row is None:
            break
        target = current = int(row[0])
    return target


def labelled_pairs(db: Database) -> list[tuple[int, int, bool]]:
    """(article id, article id, same event) from every correction: a split labels its
    article's group against each report left in the old story False, a merge labels the
    reports of the two stories against each other True. Pairs join originals only (the
    reports the story decision compares; a copy is settled by the duplicate test) that are
    still stored; a later correction of the same pair wins. Sorted by the pair."""
    rows = db.execute(
        "SELECT c.id, c.kind, m.side, m.article_id FROM story_corrections c"
        " JOIN story_correction_members m ON m.correction_id = c.id"
        " JOIN articles a ON a.id = m.article_id AND a.duplicate_of IS NULL"
        " ORDER BY c.id, m.side, m.article_id"
    ).fetchall()
    kinds: dict[int, str] = {}
    sides: dict[int, tuple[list[int], list[int]]] = {}
    for correction_id, kind, side, article_id in rows:
        kinds[correction_id] = kind
        sides.setdefault(correction_id, ([], []))[side].append(article_id)
    labels: dict[tuple[int, int], bool] = {}
    for correction_id in sorted(sides):
        first, second = sides[correction_id]
        for a in first:
            for b in second:
                if a != b:
                    labels[(min(a, b), max(a, b))] = kinds[correction_id] == "merge"
    return [(a, b, same) for (a, b), same in sorted(labels.items())]
