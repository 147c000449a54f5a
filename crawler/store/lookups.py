"""Small lookups by key that commands need (the demo's explanations, its database check)."""

from __future__ import annotations

import sqlite3

from sqlite_utils import Database


def latest_run_id(db: Database) -> int | None:
    return db.execute("SELECT max(id) FROM runs").fetchone()[0]


def article_id_by_url(db: Database, url: str) -> int | None:
    row = db.execute("SELECT id FROM articles WHERE url = ?", [url]).fetchone()
    return int(row[0]) if row else None


def article_sources(conn: sqlite3.Connection) -> set[str]:
    """The sources of the stored articles (sqlite3.DatabaseError if there is no such table)."""
    return {row[0] for row in conn.execute("SELECT DISTINCT source FROM articles")}
