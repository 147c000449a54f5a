"""A scheduled and a manual crawl of the same config on the same database, at the same time."""

from __future__ import annotations

import json
import multiprocessing
import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from crawler.store.storage import open_database
from tests.conftest import REPO
from tests.support import forked
from tests.support.hostile_site import HostileSite

ARTICLES = 120


@pytest.mark.e2e
def test_scheduled_and_manual_crawls_at_once_neither_fail_nor_duplicate(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"  # created by whichever process gets there first
    with HostileSite(generated=ARTICLES, article_delay=0.01) as site:
        config = tmp_path / "shared.toml"
        config.write_text(
            site.config_toml(str(db), feeds=["/gen-feed.xml"], concurrency=8), "utf-8"
        )
        # Two processes forked from the zygote (tests/support/forked.py), each its own crawl.
        errs = [tmp_path / "scheduled.err", tmp_path / "manual.err"]
        children = [
            forked.start_forked(
                ["crawl", "--config", str(config), *trigger],
                cwd=REPO,
                env=os.environ,
                stdout=os.devnull,
                stderr=str(err),
            )
            for trigger, err in zip((["--trigger", "scheduled"], []), errs, strict=True)
        ]
        codes = [child.wait(timeout=90) for child in children]
        fetched = site.paths("site")
    for code, err in zip(codes, errs, strict=True):
        stderr = err.read_text("utf-8")
        assert code == 0, stderr[-3000:]
        assert "database is locked" not in stderr, stderr[-3000:]
        assert "Traceback" not in stderr, stderr[-3000:]
    # Both really crawled: every article was fetched by each process.
    assert fetched.count("/gen-feed.xml") == 2
    assert all(fetched.count(f"/gen/{n}") == 2 for n in range(ARTICLES))

    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    runs = conn.execute(
        "SELECT trigger, status, stats, started_at, finished_at FROM runs ORDER BY id"
    ).fetchall()
    assert sorted(r[0] for r in runs) == ["manual", "scheduled"]
    assert [r[1] for r in runs] == ["ok", "ok"]
    assert runs[1][3] <= runs[0][4], "the two crawls did not overlap"
    urls = [r[0] for r in conn.execute("SELECT url FROM articles")]
    assert len(urls) == len(set(urls)) == ARTICLES  # nothing duplicated, nothing lost
    assert {u.rsplit("/", 1)[1] for u in urls} == {str(n) for n in range(ARTICLES)}
    # Each article was new to exactly one of the two runs, and flagged once.
    new = sum(json.loads(r[2])["articles_new"] for r in runs)
    assert new == ARTICLES
    flagged = conn.execute(
        "SELECT article_id FROM flags WHERE kind IN ('new_story', 'new_coverage')"
    ).fetchall()
    assert len(flagged) == len(set(flagged))
    versions = conn.execute("SELECT count(*) FROM article_versions").fetchone()[0]
    assert versions == ARTICLES


def _open_when_released(path: str, barrier: Any, errors: Any) -> None:
    barrier.wait()
    try:
        open_database(path).close()
    except sqlite3.Error as error:
        errors.put(repr(error))


@pytest.mark.e2e
def test_two_processes_creating_the_database_at_once(tmp_path: Path) -> None:
    # The switch to WAL on a new file raced ("database is locked") in about one round in ten.
    context = multiprocessing.get_context("fork")
    errors = context.Queue()
    for round_ in range(60):
        barrier = context.Barrier(2)
        path = str(tmp_path / f"new-{round_}.db")
        workers = [
            context.Process(target=_open_when_released, args=(path, barrier, errors))
            for _ in range(2)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(60)
    assert errors.empty(), errors.get()
