"""The duplicate and story indexes' rows of one article (written by crawler/stories)."""

from __future__ import annotations

from sqlite_utils import Database


def _band_values(signature: bytes) -> list[int]:
    # crawler.stories.dedup_text.text_signature packs the band values as little-endian uint32
    return [int.from_bytes(signature[i : i + 4], "little") for i in range(0, len(signature), 4)]


def remove_from_index(db: Database, article_id: int) -> None:
    """Take an article out of the duplicate and story indexes (its bands, story terms and
    document row); nothing else about it changes."""
    doc = db.execute(
        "SELECT signature, story_hour, story_terms FROM dedup_docs WHERE article_id = ?",
        [article_id],
    ).fetchone()
    if doc is None:
        return
    signature, hour, terms = doc
    if signature is not None:
        db.conn.executemany(
            "DELETE FROM dedup_bands WHERE band = ? AND value = ? AND article_id = ?",
            [(b, v, article_id) for b, v in enumerate(_band_values(signature))],
        )
    db.conn.executemany(
        "DELETE FROM story_terms WHERE term = ? AND hour = ? AND article_id = ?",
        [(t, hour, article_id) for t in terms.split()],
    )
    db.execute("DELETE FROM dedup_docs WHERE article_id = ?", [article_id])
