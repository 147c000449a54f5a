"""An article's rows as ingest writes them: the article, the URLs it was reached by, its
versions and its related links (crawler/ingest/ingest.py decides what to write).

Every function runs inside the caller's write transaction (no BEGIN/COMMIT here).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

from sqlite_utils import Database

from crawler.core.models import Article

# (id, text, title, content_hash, story_id, duplicate_of) of a stored article
KnownArticle = tuple[int, str | None, str | None, str | None, int | None, int | None]


@dataclass(frozen=True)
class NewArticle:
    """A new ``articles`` row, field by field in the order of its columns below."""

    url: str
    canonical_url: str | None
    source: str
    site: str | None
    title: str | None
    text: str
    description: str | None
    published: str | None
    published_source: str | None
    language: str | None
    authors: str  # JSON list
    image: str | None
    feed_guid: str | None
    content_hash: str | None
    fingerprint: int | None
    topics: str  # JSON list
    first_seen: str
    last_seen: str
    run_id: int
    text_source: str | None
    title_source: str | None
    brief: int


def insert_article(db: Database, article: NewArticle) -> int:
    """Store a new article; its id."""
    cursor = db.execute(
        """INSERT INTO articles (url, canonical_url, source, site, title, text, description,
               published, published_source, language, authors, image, feed_guid, content_hash,
               fingerprint, topics, first_seen, last_seen, run_id, text_source, title_source,
               brief)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        list(dataclasses.astuple(article)),
    )
    return int(cursor.lastrowid or 0)


def any_pruned(db: Database, urls: list[str]) -> bool:
    """Whether `newswatch prune --articles` removed an article reached by one of ``urls``."""
    marks = ",".join("?" * len(urls))
    return (
        db.execute(f"SELECT 1 FROM pruned_urls WHERE url IN ({marks})", urls).fetchone() is not None
    )


def find_by_urls(db: Database, urls: Iterable[str]) -> KnownArticle | None:
    """The stored article reached by one of ``urls``, asked in their order."""
    for url in urls:
        row = db.execute(
            "SELECT a.id, a.text, a.title, a.content_hash, a.story_id, a.duplicate_of "
            "FROM article_urls u JOIN articles a ON a.id = u.article_id WHERE u.url = ?",
            [url],
        ).fetchone()
        if row:
            return row
    return None


def remember_urls(db: Database, article_id: int, urls: Iterable[str]) -> None:
    """Record that ``urls`` lead to the article (a URL already known keeps its article)."""
    for url in urls:
        db.execute(
            "INSERT INTO article_urls (url, article_id) VALUES (?, ?) ON CONFLICT(url) DO NOTHING",
            [url, article_id],
        )


def mark_seen(db: Database, article_id: int, now: str) -> None:
    db.execute("UPDATE articles SET last_seen = ? WHERE id = ?", [now, article_id])


def replace_text(
    db: Database,
    article_id: int,
    article: Article,
    content_hash: str | None,
    fingerprint: int | None,
    updated_at: str,
) -> None:
    """The article's new text (its earlier one stays in ``article_versions``)."""
    db.execute(
        "UPDATE articles SET title = ?, text = ?, content_hash = ?, fingerprint = ?, "
        "updated_at = ?, text_source = ?, title_source = ?, brief = ? WHERE id = ?",
        [
            article.title,
            article.text,
            content_hash,
            fingerprint,
            updated_at,
            article.text_source,
            article.title_source,
            int(article.brief),
            article_id,
        ],
    )


def save_version(
    db: Database,
    article_id: int,
    title: str | None,
    text: str,
    content_hash: str | None,
    captured_at: str,
    run_id: int,
) -> int:
    """Keep this text of the article; the version's id."""
    cursor = db.execute(
        "INSERT INTO article_versions (article_id, title, text, content_hash, captured_at, run_id)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [article_id, title, text, content_hash, captured_at, run_id],
    )
    return int(cursor.lastrowid or 0)


def add_related_link(
    db: Database, article_id: int, url: str, title: str | None, first_seen: str, run_id: int
) -> bool:
    """Record a related link of the article; False when it was already recorded."""
    cursor = db.execute(
        "INSERT INTO related_links (article_id, url, title, first_seen, run_id) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        [article_id, url, title, first_seen, run_id],
    )
    return bool(cursor.rowcount)
