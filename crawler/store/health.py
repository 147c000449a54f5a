"""Source health: every run, manual or scheduled, records how each of its sources fared.

A source failed in a run when nothing of it could be fetched although something was tried
(every request failed or was refused). ``newswatch sources`` reads ``never run``, ``ok`` or
``failing (N in a row)`` from what is recorded here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from sqlite_utils import Database

from crawler.store.storage import utcnow, write_transaction


def source_outcomes(
    names: Iterable[str], fetched: Counter[str], failed: Counter[str], run_status: str
) -> dict[str, bool]:
    """source -> whether it failed this run. Without per-source counts (a distributed run,
    a crawl that crashed), the run's own status stands for each of its sources."""
    outcomes: dict[str, bool] = {}
    for name in names:
        if fetched[name] or failed[name]:
            outcomes[name] = not fetched[name]
        else:
            outcomes[name] = run_status == "failed"
    return outcomes


def record_source_outcomes(
    db: Database, outcomes: dict[str, bool], throttled: Iterable[str] = ()
) -> None:
    """Count failures in a row per source (a success resets the count). A ``throttled``
    source got nothing but 429/503 answers: a failure, recorded as ``throttled``."""
    now = utcnow()
    throttled = set(throttled)
    with write_transaction(db):
        for name, failed in outcomes.items():
            if name in throttled:
                failed = True
            db.execute(
                "INSERT INTO sources (name, last_run_at, last_status, consecutive_failures) "
                "VALUES (?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET "
                "last_run_at = excluded.last_run_at, last_status = excluded.last_status, "
                "consecutive_failures = CASE WHEN excluded.last_status IN ('failed', 'throttled') "
                "THEN consecutive_failures + 1 ELSE 0 END",
                [
                    name,
                    now,
                    "throttled" if name in throttled else ("failed" if failed else "ok"),
                    1 if failed else 0,
                ],
            )


def health_label(
    last_run_at: str | None, consecutive_failures: int | None, last_status: str | None = None
) -> str:
    """``never run``, ``ok``, ``throttled (N in a row)`` or ``failing (N in a row)``."""
    if not last_run_at:
        return "never run"
    if last_status == "throttled" and consecutive_failures:
        return f"throttled ({consecutive_failures} in a row)"
    if consecutive_failures:
        return f"failing ({consecutive_failures} in a row)"
    return "ok"
