"""The statements of the story index (``story_terms``: (term, hour) -> article and story) as
``crawler.stories.story`` posts, looks up and reads its candidates."""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlite_utils import Database

__all__ = [
    "CandidateRow",
    "candidate_rows",
    "postings_in_window",
    "post_terms",
    "site_and_language",
    "unpost_terms",
]

# (article id, story id, hour, story_blob, weight, published, published_source, title, site,
# language) of one candidate
CandidateRow = tuple[
    int, int, int, bytes, float, str | None, str | None, str | None, str | None, str | None
]


def postings_in_window(
    db: Database, terms: list[str], window: tuple[int, int], limit: int, *, newest: bool = False
) -> list[str | None]:
    """Each term's postings inside the window (hours, both ends in), at most ``limit``, as
    comma-separated article ids (None for none), in the order of ``terms``: the earliest
    postings of the window, or with ``newest`` the latest (hour, then article id, descending)."""
    # one statement, one bounded index range per term (read backwards for ``newest``: the
    # primary key is (term, hour, article_id), so LIMIT stops the read whatever the window
    # spans), each answered as one comma-separated row: hundreds of postings cost a few dozen
    # rows
    order = " ORDER BY hour DESC, article_id DESC" if newest else ""
    rows = db.execute(
        "SELECT (SELECT group_concat(article_id) FROM (SELECT article_id FROM story_terms"
        f" WHERE term = j.value AND hour BETWEEN ? AND ?{order} LIMIT ?)) FROM json_each(?) j"
        " ORDER BY j.key",
        [*window, limit, json.dumps(terms)],
    ).fetchall()
    return [ids for (ids,) in rows]


def candidate_rows(
    db: Database, found: list[tuple[str, int]], window: tuple[int, int]
) -> list[CandidateRow]:
    """The row of each (term, article id) posted inside the window: its posting's story and
    hour, its packed story terms and weight, and what the articles table says of it. One
    statement."""
    if not found:
        return []
    # every posting of an article carries the same (story, hour): the one under the given
    # term is found in a short index range
    scan = (
        "SELECT s.article_id, s.story_id, s.hour, d.story_blob, d.weight, a.published,"
        " a.published_source, a.title, a.site, a.language"
        " FROM (SELECT article_id, story_id, hour FROM story_terms"
        " WHERE term = ? AND hour BETWEEN ? AND ? AND article_id = ? LIMIT 1) s"
        " JOIN dedup_docs d ON d.article_id = s.article_id JOIN articles a ON a.id = s.article_id"
    )
    params: list[object] = []
    for term, other in found:
        params += [term, *window, other]
    return db.execute(" UNION ALL ".join([scan] * len(found)), params).fetchall()


def site_and_language(db: Database, article_id: int) -> tuple[str | None, str | None]:
    """An article's site and language (None, None for no such article)."""
    row = db.execute("SELECT site, language FROM articles WHERE id = ?", [article_id]).fetchone()
    return (row[0], row[1]) if row else (None, None)


def post_terms(
    db: Database, article_id: int, story_id: int, terms: Iterable[str], hour: int
) -> None:
    """Post an article under each term at one hour (a posting already there stays)."""
    db.conn.executemany(
        "INSERT OR IGNORE INTO story_terms (term, hour, article_id, story_id) VALUES (?, ?, ?, ?)",
        [(t, hour, article_id, story_id) for t in terms],
    )


def unpost_terms(db: Database, article_id: int, terms: Iterable[str], hour: int) -> None:
    """Take an article's postings under each term at one hour out of the index."""
    db.conn.executemany(
        "DELETE FROM story_terms WHERE term = ? AND hour = ? AND article_id = ?",
        [(t, hour, article_id) for t in terms],
    )
