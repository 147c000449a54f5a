"""What the fetch state tells of a run: its failed fetches."""

from __future__ import annotations

from typing import Any

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
