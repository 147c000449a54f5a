"""The links crawler/stories/dedup.py and copies.py record: which original an article copies
(``articles.duplicate_of``), which story it is in (``articles.story_id``), and the counts and
times of the ``stories`` rows.

Every function runs inside the caller's write transaction (no BEGIN/COMMIT here).
"""

from __future__ import annotations

from sqlite_utils import Database

# (article id, the original it copies or None, its story id): a linked article
Linked = tuple[int, int | None, int]
# the same with the article's text (id, text, duplicate_of, story_id)
LinkedText = tuple[int, str | None, int | None, int]


def linked_by_guid(db: Database, feed_guid: str, article_id: int) -> Linked | None:
    """The first linked article of the same source with this feed GUID (not ``article_id``)."""
    return db.execute(
        "SELECT id, duplicate_of, story_id FROM articles WHERE feed_guid = ? AND id != ?"
        " AND story_id IS NOT NULL"
        " AND source IS (SELECT source FROM articles WHERE id = ?) ORDER BY id LIMIT 1",
        [feed_guid, article_id, article_id],
    ).fetchone()


def linked_by_hash(db: Database, content_hash: str, article_id: int) -> Linked | None:
    """The first linked article with this exact text hash (not ``article_id``)."""
    return db.execute(
        "SELECT id, duplicate_of, story_id FROM articles WHERE content_hash = ? AND id != ?"
        " AND story_id IS NOT NULL ORDER BY id LIMIT 1",
        [content_hash, article_id],
    ).fetchone()


def linked_texts(db: Database, article_ids: list[int]) -> list[LinkedText]:
    """(id, text, duplicate_of, story_id) of those of ``article_ids`` that are linked."""
    marks = ",".join("?" * len(article_ids))
    return db.execute(
        f"SELECT id, text, duplicate_of, story_id FROM articles WHERE id IN ({marks})"
        " AND story_id IS NOT NULL",
        article_ids,
    ).fetchall()


def story_of(db: Database, article_id: int) -> int | None:
    """The article's story (None: not linked, or no such article)."""
    row = db.execute("SELECT story_id FROM articles WHERE id = ?", [article_id]).fetchone()
    return row[0] if row else None


def article_times(db: Database, article_id: int) -> tuple[str | None, str | None, str] | None:
    """The article's (published, published_source, first_seen)."""
    return db.execute(
        "SELECT published, published_source, first_seen FROM articles WHERE id = ?", [article_id]
    ).fetchone()


def article_text(db: Database, article_id: int) -> str | None:
    """The article's stored text ("" for none), None when there is no such article."""
    row = db.execute("SELECT text FROM articles WHERE id = ?", [article_id]).fetchone()
    return None if row is None else row[0] or ""


def group_texts(db: Database, root: int, article_id: int) -> list[str]:
    """Texts of the duplicate group of ``root`` (it and its copies) but ``article_id``."""
    rows = db.execute(
        "SELECT text FROM articles WHERE (id = ? OR duplicate_of = ?) AND id != ?",
        [root, root, article_id],
    ).fetchall()
    return [r[0] or "" for r in rows]


def mark_copy(db: Database, article_id: int, original: int, story_id: int) -> None:
    db.execute(
        "UPDATE articles SET duplicate_of = ?, story_id = ? WHERE id = ?",
        [original, story_id, article_id],
    )


def mark_original(db: Database, article_id: int, story_id: int) -> None:
    db.execute(
        "UPDATE articles SET duplicate_of = NULL, story_id = ? WHERE id = ?",
        [story_id, article_id],
    )


def make_root(db: Database, old: int, new: int) -> None:
    """``old``'s copies, and ``old`` itself, point at ``new`` instead."""
    db.execute("UPDATE articles SET duplicate_of = ? WHERE duplicate_of = ?", [new, old])
    db.execute("UPDATE articles SET duplicate_of = ? WHERE id = ?", [new, old])


def detach_copy(db: Database, article_id: int, story_id: int | None) -> None:
    """The article copies nothing and is in no story; its story counts one article less."""
    db.execute(
        "UPDATE articles SET duplicate_of = NULL, story_id = NULL WHERE id = ?", [article_id]
    )
    if story_id is not None:
        db.execute(
            "UPDATE stories SET article_count = max(0, article_count - 1) WHERE id = ?",
            [story_id],
        )


def new_story(db: Database, title: str, article_id: int, when: str) -> int:
    """A story of one article, ``article_id`` its lead; its id."""
    cursor = db.execute(
        "INSERT INTO stories (title, lead_article_id, first_seen, last_seen, article_count)"
        " VALUES (?, ?, ?, ?, 1)",
        [title, article_id, when, when],
    )
    return int(cursor.lastrowid or 0)


def touch_story(
    db: Database, story_id: int, when: str, *, title: str | None = None, article_id: int = 0
) -> None:
    """One more article in the story, at ``when``; with ``title``, an original published
    before the story's first report becomes its headline and lead."""
    if title is not None:
        db.execute(
            "UPDATE stories SET title = ?, lead_article_id = ? WHERE id = ? AND first_seen > ?",
            [title, article_id, story_id, when],
        )
    db.execute(
        "UPDATE stories SET article_count = article_count + 1, first_seen = min(first_seen, ?),"
        " last_seen = max(last_seen, ?) WHERE id = ?",
        [when, when, story_id],
    )
