"""Stopping the scheduler: a line at once, the crawl in flight finishes and is recorded as
what it was; adapted intervals follow change (new or updated articles)."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

from crawler.config.settings import load_config
from crawler.sample_site import SampleWeb
from crawler.store.storage import open_database, utcnow
from schedules.polling import FASTEST_FACTOR, SLOWEST_FACTOR
from schedules.runner import Scheduler, load_poll_state
from tests.support.scheduler import start_scheduler
from tests.test_schedule import _query, _wait_for


@pytest.mark.e2e
def test_sigterm_lets_the_crawl_in_flight_finish_and_records_it_as_it_was(
    tmp_path: Path,
) -> None:
    db = tmp_path / "stop.db"
    # A slow site (robots.txt asks 0.4 s between requests): a crawl takes seconds.
    with SampleWeb(crawl_delay=0.4) as web:
        config = tmp_path / "stop.toml"
        text = web.config_toml(str(db)).replace('every = "10m"', 'every = "1h"')
        config.write_text(text, "utf-8")
        process, log = start_scheduler(config, tmp_path / "schedule.log")
        try:
            _wait_for(
                lambda: _query(db, "SELECT 1 FROM runs WHERE status = 'running'"),
                60,
                "a crawl in flight",
            )
            time.sleep(0.5)
            process.send_signal(signal.SIGTERM)
            sent = time.monotonic()
            _wait_for(lambda: "stopping:" in Path(log.name).read_text(), 5, "a line at SIGTERM")
            assert time.monotonic() - sent < 5
            process.wait(timeout=90)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    output = Path(log.name).read_text()
    log.close()
    assert process.returncode == 0, output[-3000:]
    assert "Adding job tentatively" not in output and "Scheduler started" not in output
    statuses = [row[0] for row in _query(db, "SELECT status FROM runs")]
    assert statuses and set(statuses) <= {"ok"}, (statuses, output[-3000:])
    assert not _query(db, "SELECT 1 FROM runs WHERE error LIKE '%shutdown%'")


def _scheduler_after_runs(tmp_path: Path, changes: list[tuple[int, int]]) -> list[float]:
    """The adapted interval after each of a source's runs with (new, updated) articles."""
    config_path = tmp_path / "c.toml"
    config_path.write_text('[[sources]]\nname = "a"\nfeeds = ["https://example.org/rss"]\n')
    config = load_config(config_path)
    database = str(tmp_path / "a.db")
    scheduler = Scheduler(config, str(config_path), database)
    source = config.source("a")
    db = open_database(database)
    intervals = []
    for new, updated in changes:
        started = utcnow()
        stats = {"articles_new": new, "articles_updated": updated}
        db.execute(
            "INSERT INTO runs (trigger, started_at, finished_at, status, sources, stats) "
            "VALUES ('scheduled', ?, ?, 'ok', ?, ?)",
            [started, started, json.dumps(["a"]), json.dumps(stats)],
        )
        db.conn.commit()
        scheduler._after_child(db, source, started, None)
        intervals.append(load_poll_state(db, source)[0].interval_seconds)
    return intervals


def test_a_source_that_changes_every_run_is_polled_more_often(tmp_path: Path) -> None:
    # Updates only: an updated article is change as much as a new one.
    intervals = _scheduler_after_runs(tmp_path, [(0, 1)] * 4)
    base = 1800  # the default every
    assert intervals[0] < base
    assert all(b <= a for a, b in zip(intervals, intervals[1:], strict=False))
    assert intervals[-1] == base * FASTEST_FACTOR


def test_a_source_that_never_changes_backs_off_and_a_change_never_slows_it(
    tmp_path: Path,
) -> None:
    quiet = _scheduler_after_runs(tmp_path, [(0, 0)] * 10 + [(0, 1), (0, 0)])
    assert quiet[0] == 1800  # one quiet run is noise
    assert max(quiet) == 1800 * SLOWEST_FACTOR
    assert quiet[-2] < quiet[-3]  # the run with an update speeds it up
    assert quiet[-1] <= quiet[-2]  # and the quiet run right after does not slow it down


def test_adapted_intervals_are_shown_rounded() -> None:
    from crawler.read.queries import format_seconds

    assert [format_seconds(s) for s in (67.5, 45, 151.875, 4000, 1800)] == [
        "1m 8s",
        "45s",
        "2m 32s",
        "1h 7m",
        "30m",
    ]
