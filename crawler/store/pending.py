"""Articles held for linking (``story_pending``): stored by a crawl, linked to copies and
stories when its run ends (crawler/ingest/pending.py decides the order).

Every function runs inside the caller's write transaction (no BEGIN/COMMIT here).
"""

from __future__ import annotations

from sqlite_utils import Database

from crawler.store.storage import id_chunks

# Article ids in one ``IN (…)`` list: under SQLite's bound-parameter limit.

# (article id, title, text, published, published_source, content_hash, fingerprint,
#  feed_guid, url, holding run id, signature, story_blob, relink)
HeldRow = tuple[
    int,
    str | None,
    str | None,
    str | None,
    str | None,
    str | None,
    int | None,
    str | None,
    str,
    int | None,
    bytes | None,
    bytes | None,
    int,
]


def hold(
    db: Database,
    article_id: int,
    run_id: int,
    signature: bytes | None,
    story_blob: bytes | None,
    *,
    relink: bool = False,
) -> None:
    """Keep a stored article for linking when the run ends (``relink``: no story flags); an
    article already held keeps its run and takes the new signature and terms."""
    db.execute(
        "INSERT INTO story_pending (article_id, run_id, signature, story_blob, relink)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT(article_id) DO UPDATE SET"
        " signature = excluded.signature, story_blob = excluded.story_blob",
        [article_id, run_id, signature, story_blob, int(relink)],
    )


def is_held(db: Database, article_id: int) -> bool:
    return (
        db.execute("SELECT 1 FROM story_pending WHERE article_id = ?", [article_id]).fetchone()
        is not None
    )


def held_rows(db: Database, run_id: int) -> list[HeldRow]:
    """What run ``run_id`` holds, and what runs that ended (or died) left held, with the
    stored article's text and keys; in no particular order."""
    return db.execute(
        "SELECT p.article_id, a.title, a.text, a.published, a.published_source,"
        " a.content_hash, a.fingerprint, a.feed_guid, a.url, p.run_id, p.signature,"
        " p.story_blob, p.relink FROM story_pending p JOIN articles a ON a.id = p.article_id"
        " WHERE p.run_id = ? OR p.run_id IS NULL OR NOT EXISTS"
        " (SELECT 1 FROM runs r WHERE r.id = p.run_id AND r.finished_at IS NULL)",
        [run_id],
    ).fetchall()


def release(db: Database, article_ids: list[int]) -> set[int]:
    """Stop holding ``article_ids``; those of them that were still held (another writer may
    have linked some): two statements a few hundred ids."""
    still: set[int] = set()
    for part in id_chunks(article_ids):
        marks = ",".join("?" * len(part))
        still.update(
            r[0]
            for r in db.execute(
                f"SELECT article_id FROM story_pending WHERE article_id IN ({marks})", part
            )
        )
        db.execute(f"DELETE FROM story_pending WHERE article_id IN ({marks})", part)
    return still
