"""The fetch state beyond recording a fetch (crawler/store/storage.py): a run's failed
fetches, and a listing's validators written when its run ends."""

from __future__ import annotations

from typing import Any

from sqlite_utils import Database

from crawler.core.items import FetchRecord

# How many failures a run keeps in its stats for `newswatch runs RUN`.
MAX_RECORDED = 500


def run_failures(db: Any, run_id: int, limit: int = MAX_RECORDED) -> tuple[list[list[str]], int]:
    """A run's failed fetches (refusals are politeness, not failures): up to ``limit``
    [url, kind, message] triples (kind a crawler.core.failures.FailureKind value), and how
    many there are in all."""
    where = "run_id = ? AND error_kind IS NOT NULL AND error_kind != 'refused'"
    total = db.execute(f"SELECT count(*) FROM fetches WHERE {where}", [run_id]).fetchone()[0]
    rows = db.execute(
        f"SELECT url, error_kind, error FROM fetches WHERE {where} ORDER BY url LIMIT ?",
        [run_id, limit],
    ).fetchall()
    return [[row[0], row[1], row[2] or ""] for row in rows], int(total)


def save_validators(db: Database, record: FetchRecord) -> None:
    """Write a listing's validators (ETag, Last-Modified, body hash), keeping any stored value
    the record lacks."""
    db.execute(
        "UPDATE fetches SET etag = COALESCE(?, etag), "
        "last_modified = COALESCE(?, last_modified), "
        "body_hash = COALESCE(?, body_hash) WHERE url = ?",
        [record.etag, record.last_modified, record.body_hash, record.url],
    )
