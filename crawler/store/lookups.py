"""Small lookups by key that commands need (the demo's explanations, its database check)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlite_utils import Database

from crawler.store.storage import file_uri


def latest_run_id(db: Database) -> int | None:
    return db.execute("SELECT max(id) FROM runs").fetchone()[0]


def article_id_by_url(db: Database, url: str) -> int | None:
    row = db.execute("SELECT id FROM articles WHERE url = ?", [url]).fetchone()
    return int(row[0]) if row else None


def article_sources(path: Path) -> set[str] | None:
    """The sources of the articles stored in the file at ``path``, read without changing it
    (None: the file is no SQLite database, or has no articles table)."""
    try:
        conn = sqlite3.connect(file_uri(path.resolve(), mode="ro"), uri=True)
        try:
            return {row[0] for row in conn.execute("SELECT DISTINCT source FROM articles")}
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return None
