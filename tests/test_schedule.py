"""`newswatch schedule` in a real process: picks up what the site publishes, stops on SIGTERM."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from crawler.sample_site import SampleWeb
from tests.conftest import sample_web
from tests.support.scheduler import start_scheduler, stop_scheduler
from tests.support.wait import wait_until

pytestmark = pytest.mark.e2e  # every test here runs real newswatch processes


def _query(db: Path, sql: str) -> list[tuple]:
    if not db.exists():
        return []
    try:
        conn = sqlite3.connect(db, timeout=30)
        try:
            return conn.execute(sql).fetchall()
        finally:
            conn.close()
    except sqlite3.OperationalError:  # tables not created yet
        return []


def _wait_for(predicate, timeout: float, what: str) -> None:
    wait_until(predicate, timeout, 0.2, what)


def borderwire_every_3s(config_text: str) -> str:
    """The sample web's config with borderwire (first, and the outlet that publishes the
    article and the update the tests wait for) polled every 3 s, the other two hourly: each
    still runs once when the scheduler starts, without re-crawling all along."""
    return config_text.replace('every = "10m"', 'every = "3s"', 1).replace(
        'every = "10m"', 'every = "1h"'
    )


def schedule_through_publication(
    config: Path, db: Path, web: SampleWeb, log_path: Path, finished: str = "'ok', 'partial'"
) -> tuple[int, str]:
    """Run `newswatch schedule` until every source has a finished run and the state-2
    article is stored, then SIGTERM it: its exit code and output."""
    process, log = start_scheduler(config, log_path)
    try:
        _wait_for(
            lambda: (
                len(_query(db, f"SELECT DISTINCT sources FROM runs WHERE status IN ({finished})"))
                >= 3
            ),
            90,
            "one finished scheduled run per source",
        )
        web.set_state(2)
        _wait_for(
            lambda: _query(
                db, "SELECT 1 FROM articles WHERE url LIKE '%sanction%' AND source = 'borderwire'"
            ),
            90,
            "the article published in state 2",
        )
    finally:
        output = stop_scheduler(process, log)
    return process.returncode, output


def test_schedule_picks_up_new_items_and_stops_on_sigterm(tmp_path: Path) -> None:
    db = tmp_path / "sched.db"
    with sample_web() as web:
        config = tmp_path / "sched.toml"
        config.write_text(borderwire_every_3s(web.config_toml(str(db))), "utf-8")
        returncode, output = schedule_through_publication(
            config, db, web, tmp_path / "schedule.log"
        )
    assert returncode == 0, output[-3000:]
    assert "Traceback" not in output
    triggers = {row[0] for row in _query(db, "SELECT trigger FROM runs")}
    assert triggers == {"scheduled"}
    statuses = {row[0] for row in _query(db, "SELECT status FROM runs")}
    assert "running" not in statuses
    kinds = {row[0] for row in _query(db, "SELECT kind FROM flags")}
    assert {"new_story", "updated"} <= kinds
    sources = _query(db, "SELECT name, next_run_at, interval_seconds FROM sources")
    assert len(sources) == 3 and all(row[1] and row[2] for row in sources)
