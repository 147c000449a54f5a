"""The duplicate and story indexes' rows of one article (written by crawler/stories): its
document row in ``dedup_docs`` and its MinHash band keys in ``dedup_bands``."""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database

from crawler.store import story_postings

# Candidates read per band key: a key shared by more articles than this is boilerplate.
BAND_SCAN_LIMIT = 50


def _band_values(signature: bytes) -> list[int]:
    # crawler.stories.dedup_text.text_signature packs the band values as little-endian uint32
    return [int.from_bytes(signature[i : i + 4], "little") for i in range(0, len(signature), 4)]


def indexed_doc(db: Database, article_id: int) -> tuple[bytes | None, int, str] | None:
    """The article's (signature, story hour, posted story terms), None when not indexed."""
    row = db.execute(
        "SELECT signature, story_hour, story_terms FROM dedup_docs WHERE article_id = ?",
        [article_id],
    ).fetchone()
    return (row[0], row[1], row[2]) if row is not None else None


@dataclass(frozen=True)
class Doc:
    """An indexed article's ``dedup_docs`` row (but its id)."""

    signature: bytes | None  # None: too short for near-duplicate lookups
    hour: int  # the event's hour (crawler.core.timeutil.event_hour)
    posted: str  # the story terms posted to ``story_terms``, space-separated
    weight: float  # their summed weight
    story_blob: bytes | None  # the packed story terms (crawler.stories.terms.pack_terms)


def save_doc(db: Database, article_id: int, doc: Doc) -> None:
    """Write (or replace) the article's document row."""
    db.execute(
        "INSERT OR REPLACE INTO dedup_docs (article_id, signature, story_hour, story_terms, weight,"
        " story_blob) VALUES (?, ?, ?, ?, ?, ?)",
        [article_id, doc.signature, doc.hour, doc.posted, doc.weight, doc.story_blob],
    )


def update_doc(db: Database, article_id: int, doc: Doc) -> None:
    """Rewrite the document row of an indexed article (none written for one that is not)."""
    db.execute(
        "UPDATE dedup_docs SET signature = ?, story_hour = ?, story_terms = ?, weight = ?,"
        " story_blob = ? WHERE article_id = ?",
        [doc.signature, doc.hour, doc.posted, doc.weight, doc.story_blob, article_id],
    )


def post_bands(db: Database, article_id: int, values: list[int]) -> None:
    """Index the article under each band's key (``values[band]``)."""
    db.conn.executemany(
        "INSERT OR IGNORE INTO dedup_bands (band, value, article_id) VALUES (?, ?, ?)",
        [(band, value, article_id) for band, value in enumerate(values)],
    )


def remove_bands(db: Database, article_id: int, signature: bytes) -> None:
    """Take the article's band keys of ``signature`` out of the index."""
    db.conn.executemany(
        "DELETE FROM dedup_bands WHERE band = ? AND value = ? AND article_id = ?",
        [(b, v, article_id) for b, v in enumerate(_band_values(signature))],
    )


def band_hits(db: Database, values: list[int]) -> list[int]:
    """The articles indexed under each band's key, one entry per shared band (at most
    ``BAND_SCAN_LIMIT`` a key), band by band."""
    scan = (
        "SELECT * FROM (SELECT article_id FROM dedup_bands WHERE band = ? AND value = ?"
        f" LIMIT {BAND_SCAN_LIMIT})"
    )
    params = [x for band, value in enumerate(values) for x in (band, value)]
    return [row[0] for row in db.execute(" UNION ALL ".join([scan] * len(values)), params)]


def remove_from_index(db: Database, article_id: int) -> None:
    """Take an article out of the duplicate and story indexes (its bands, story terms and
    document row); nothing else about it changes."""
    doc = indexed_doc(db, article_id)
    if doc is None:
        return
    signature, hour, terms = doc
    if signature is not None:
        remove_bands(db, article_id, signature)
    story_postings.unpost_terms(db, article_id, terms.split(), hour)
    db.execute("DELETE FROM dedup_docs WHERE article_id = ?", [article_id])
