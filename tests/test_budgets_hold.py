"""Budgets that hold and say so: run_time_limit covers the whole run and the summary says
the run was cut; the webhook deadline covers all of a run's posts."""

from __future__ import annotations

import sqlite3
import time
from datetime import datetime
from pathlib import Path

import pytest

from crawler.read.notify import Webhook, deliver_pending
from crawler.store.storage import write_transaction
from tests.conftest import run_cli
from tests.support.hostile_site import HostileSite
from tests.support.small_servers import DrippingHandler, serving
from tests.support.template_db import new_database


@pytest.mark.e2e
def test_run_time_limit_covers_the_run_and_the_summary_says_so(tmp_path: Path) -> None:
    db = tmp_path / "n.db"
    with HostileSite(generated=200, article_delay=0.2) as site:
        config = tmp_path / "c.toml"
        text = site.config_toml(
            str(db), feeds=["/gen-feed.xml"], workers=1, extra_crawl='run_time_limit = "4s"'
        )
        config.write_text(text, "utf-8")
        done = run_cli("crawl", "--config", str(config), timeout=120)
    assert "stopped at the time limit" in done.stdout, done.stdout
    conn = sqlite3.connect(db)
    started, finished, error = conn.execute(
        "SELECT started_at, finished_at, error FROM runs"
    ).fetchone()
    seconds = (datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds()
    # Not a timing test (benchmarks/hostile.py measures it): only that the run ended, cut,
    # long before the 200 articles at 0.2 s each that it would otherwise take.
    assert seconds < 30, seconds
    assert "stopped at the time limit" in error


def test_the_webhook_deadline_covers_all_of_a_runs_posts(tmp_path: Path) -> None:
    db = new_database(tmp_path / "n.db")
    with write_transaction(db):
        for n in range(250):  # three batches of 100
            db.execute(
                "INSERT INTO flags (kind, subject, created_at) VALUES ('new_story', ?, '2026')",
                [f"s{n}"],
            )
        db.execute("INSERT INTO outbox (flag_id, queued_at) SELECT id, '2026' FROM flags")
    with serving(DrippingHandler) as base:
        url = f"{base}/hook"
        started = time.monotonic()
        delivery = deliver_pending(db, Webhook(url, "json", 0.4), run_id=1)
        seconds = time.monotonic() - started
    # One deadline, all told: two attempts of 0.4 s and the 1 s pause between them (the first
    # batch alone, were each POST given its own deadline) take 1.8 s or more.
    assert seconds < 1.4, seconds
    assert delivery.error is not None and delivery.pending == 250
