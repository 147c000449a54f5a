"""Retry-After and backoff: a host answering 429/503 is waited for as it asks (up to a cap),
slowed down further on repeated answers, the reason recorded; a source that got nothing but
throttling makes the run exit 1 and shows as throttled in `newswatch sources`."""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from crawler.core.throttle import (
    MAX_BACKOFF,
    parse_retry_after,
    relaxed_delay,
    throttled_delay,
)
from tests.conftest import run_cli
from tests.support.hostile_site import HostileSite


def test_retry_after_forms() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_retry_after("120") == 120
    assert parse_retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True), now) == 30
    assert parse_retry_after(format_datetime(now - timedelta(days=1), usegmt=True), now) == 0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None
    assert parse_retry_after("9" * 40) == 10**9  # no overflow


def test_backoff_doubles_and_relaxes() -> None:
    delays = [throttled_delay(0.0, 0.0, n, None) for n in range(1, 10)]
    assert delays[:4] == [1.0, 2.0, 4.0, 8.0] and delays[-1] == MAX_BACKOFF
    assert throttled_delay(0.0, 0.0, 1, 5.0) == 5.0
    assert relaxed_delay(8.0, 0.5) == 4.0 and relaxed_delay(0.6, 0.5) == 0.5


def _crawl(site: HostileSite, tmp_path: Path) -> tuple[int, float, str]:
    config = tmp_path / "c.toml"
    db = tmp_path / "n.db"
    text = site.config_toml(str(db), feeds=["/gen-feed.xml"], workers=1, concurrency=1)
    config.write_text(text, "utf-8")
    started = time.monotonic()
    done = run_cli("crawl", "--config", str(config), timeout=300)
    return done.returncode, time.monotonic() - started, done.stdout + done.stderr


def _sources_health(tmp_path: Path) -> str:
    done = run_cli("sources", "--config", str(tmp_path / "c.toml"), "--json")
    return json.loads(done.stdout)[0]["health"]


@pytest.mark.e2e
@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_honoured_per_host(tmp_path: Path, status: int) -> None:
    with HostileSite(generated=2, throttle=(status, "1")) as site:
        code, _, output = _crawl(site, tmp_path)
        hits = [h.time for h in site.hits if h.path.startswith("/gen/")]
    assert len(hits) == 4, hits  # each article once, and retried once
    # The first two went out together (delay = 0) before any answer; after the first 429
    # nothing reaches the host sooner than it asked, and each further one slows it more.
    gaps = [b - a for a, b in zip(hits[1:], hits[2:], strict=False)]
    assert min(gaps) >= 0.9, gaps
    assert gaps[-1] > gaps[0] + 0.5, gaps
    assert code == 1, output  # the source got nothing but throttling
    conn = sqlite3.connect(tmp_path / "n.db")
    errors = [
        r[0]
        for r in conn.execute(
            "SELECT error_kind || ': ' || error FROM fetches WHERE url LIKE '%/gen/%'"
        )
    ]
    assert len(errors) == 2
    assert all(e.startswith(f"throttled: HTTP {status}: the host asked to wait 1s") for e in errors)
    assert _sources_health(tmp_path) == "throttled (1 in a row)"


@pytest.mark.e2e
def test_a_retry_after_past_the_cap_closes_the_host_for_the_run(tmp_path: Path) -> None:
    with HostileSite(generated=20, throttle=(503, "120")) as site:
        code, seconds, output = _crawl(site, tmp_path)
        hits = [h for h in site.hits if h.path.startswith("/gen/")]
    # delay = 0: two requests to the host are in flight at once before the first answer;
    # after it, nothing more.
    assert len(hits) <= 2, [h.path for h in hits]
    assert seconds < 60
    assert code == 1, output
    conn = sqlite3.connect(tmp_path / "n.db")
    errors = [
        r[0]
        for r in conn.execute(
            "SELECT error_kind || ': ' || error FROM fetches WHERE url LIKE '%/gen/%'"
        )
    ]
    assert len(errors) == 20
    assert all(e.startswith("throttled: HTTP 503: the host asked to wait 120s") for e in errors)
    assert sum("not fetched again this run" in e for e in errors) == 20 - len(hits)
