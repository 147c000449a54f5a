"""Crash safety: SIGKILL a real crawl mid-run, then check the database and re-crawl."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.support.hostile_site import HostileSite
from tests.support.process_tree import process_alive
from tests.support.scheduler import start_cli
from tests.support.wait import wait_until

pytestmark = pytest.mark.e2e  # every test here runs real newswatch processes

ARTICLES = 100


def _count(db: Path, sql: str) -> int:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            return int(conn.execute(sql).fetchone()[0])
        finally:
            conn.close()
    except sqlite3.Error:  # not created or not migrated yet
        return 0


def _descendants(pid: int) -> list[int]:
    try:
        import psutil
    except ImportError:
        return []
    try:
        return [p.pid for p in psutil.Process(pid).children(recursive=True)]
    except psutil.Error:
        return []


def test_sigkill_mid_crawl_leaves_a_sound_database_and_a_clean_recrawl(tmp_path: Path) -> None:
    db = tmp_path / "crash.db"
    with HostileSite(generated=ARTICLES, article_delay=0.08) as site:
        config = tmp_path / "crash.toml"
        config.write_text(
            site.config_toml(str(db), feeds=["/gen-feed.xml"], concurrency=2), "utf-8"
        )
        child = start_cli(
            "crawl", "--config", str(config), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )

        def stored() -> int:
            assert child.poll() is None, f"crawl ended before the kill: {child.stderr.read()}"
            return _count(db, "SELECT count(*) FROM articles")

        try:
            wait_until(stored, 60, what="an article stored")
            workers = _descendants(child.pid)
            os.kill(child.pid, signal.SIGKILL)
            child.wait(timeout=10)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
            child.stderr.close()
        stored_before = _count(db, "SELECT count(*) FROM articles")
        assert 0 < stored_before < ARTICLES, "the kill did not land mid-crawl"

        # Extraction workers notice their parent is gone and exit on their own.
        try:
            wait_until(lambda: not any(process_alive(pid) for pid in workers), 10, 0.1)
        except AssertionError:
            pass  # named below, after the clean-up
        orphans = [pid for pid in workers if process_alive(pid)]
        for pid in orphans:  # clean up before failing: these are this test's own processes
            os.kill(pid, signal.SIGKILL)
        assert orphans == [], "extraction workers outlived the killed crawl"

        conn = sqlite3.connect(db)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT status FROM runs WHERE id = 1").fetchone()[0] == "running"
        conn.close()

        site.article_delay = 0.0  # slow only to be caught mid-crawl: the re-crawl need not be
        done = run_cli("crawl", "--config", str(config), timeout=90)
        assert done.returncode == 0, done.stderr[-3000:]
        assert "marked earlier run(s) 1 as interrupted" in done.stdout

    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    runs = conn.execute("SELECT id, status, finished_at FROM runs ORDER BY id").fetchall()
    assert [(r[0], r[1]) for r in runs] == [(1, "interrupted"), (2, "ok")]
    assert runs[0][2] is not None
    urls = [r[0] for r in conn.execute("SELECT url FROM articles")]
    assert len(urls) == len(set(urls)) == ARTICLES
    assert {u.rsplit("/", 1)[1] for u in urls} == {str(n) for n in range(ARTICLES)}
    # One story flag per article: the re-crawl did not flag the ones stored before the kill again.
    flagged = conn.execute(
        "SELECT article_id, count(*) FROM flags WHERE kind IN ('new_story', 'new_coverage') "
        "GROUP BY article_id HAVING count(*) > 1"
    ).fetchall()
    assert flagged == []
    assert conn.execute("SELECT count(*) FROM fetches WHERE error IS NOT NULL").fetchone()[0] == 0
