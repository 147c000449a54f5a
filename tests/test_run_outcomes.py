"""What a dry run lists for each URL (crawler/read/queries.py: run_outcomes)."""

from __future__ import annotations

from pathlib import Path

from crawler.read.queries import run_outcomes
from crawler.store.storage import open_database
from tests.test_reading import make_sample_db


def test_outcomes_follow_runs_not_seconds(tmp_path: Path) -> None:
    """A run that starts in the second the previous run stored an article (stamps have whole
    seconds) lists it as unchanged, not new; an article given a version in the run is
    updated."""
    db = open_database(make_sample_db(tmp_path / "w.db"))
    stored = db.execute("SELECT id, url, first_seen FROM articles WHERE run_id = 2").fetchone()
    db.execute(
        "INSERT INTO runs (id, trigger, started_at, status, sources, stats) "
        "VALUES (3, 'manual', ?, 'ok', '[]', '{}')",
        [stored[2]],
    )
    old = db.execute("SELECT id, url FROM articles WHERE run_id = 1 ORDER BY id").fetchone()
    db.execute(
        "INSERT INTO article_versions (article_id, title, text, content_hash, captured_at, "
        "run_id) VALUES (?, 't', 'x', 'h', ?, 3)",
        [old[0], stored[2]],
    )
    for article_id, url in ((stored[0], stored[1]), (old[0], old[1])):
        db.execute(
            "INSERT INTO fetches (url, kind, run_id, article_id) VALUES (?, 'article', 3, ?)",
            [url, article_id],
        )
    outcomes = {row["url"]: row["outcome"] for row in run_outcomes(db, 3)}
    assert outcomes == {stored[1]: "unchanged", old[1]: "updated"}
