"""The scheduler's state in the database: each source's polling interval and next run, and the
runs of its crawl children (schedules/runner.py)."""

from __future__ import annotations

import json
from typing import Any

from sqlite_utils import Database

from crawler.store.storage import write_transaction


def poll_row(db: Database, name: str) -> tuple[Any, ...] | None:
    """(interval_seconds, base_interval_seconds, next_run_at, quiet_runs) of a source."""
    return db.execute(
        "SELECT interval_seconds, base_interval_seconds, next_run_at, quiet_runs "
        "FROM sources WHERE name = ?",
        [name],
    ).fetchone()


def save_source(db: Database, name: str, columns: dict[str, Any]) -> None:
    """Insert or update the ``sources`` row of ``name`` with ``columns`` (names are ours)."""
    names = ", ".join(columns)
    marks = ", ".join("?" for _ in columns)
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns)
    with write_transaction(db):
        db.execute(
            f"INSERT INTO sources (name, {names}) VALUES (?, {marks}) "
            f"ON CONFLICT(name) DO UPDATE SET {updates}",
            [name, *columns.values()],
        )


def consecutive_failures(db: Database, name: str) -> int:
    row = db.execute("SELECT consecutive_failures FROM sources WHERE name = ?", [name]).fetchone()
    return (row[0] or 0) if row else 0


def last_scheduled_run(db: Database, name: str, started: str) -> tuple[Any, ...] | None:
    """(id, status, stats) of the newest scheduled run of source ``name`` since ``started``."""
    return db.execute(
        "SELECT id, status, stats FROM runs WHERE trigger = 'scheduled' AND started_at >= ? "
        "AND sources = ? ORDER BY id DESC LIMIT 1",
        [started, json.dumps([name])],
    ).fetchone()


def run_outcome(db: Database, run_id: int) -> tuple[Any, ...] | None:
    """(id, status, stats, error) of a run."""
    return db.execute("SELECT id, status, stats, error FROM runs WHERE id = ?", [run_id]).fetchone()


def source_states(db: Database) -> dict[str, dict[str, Any]]:
    """Every source's stored state (interval, next and last run, failures) by name."""
    return {row["name"]: row for row in db.query("SELECT * FROM sources")}
