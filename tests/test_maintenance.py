"""`newswatch backup` and `newswatch prune` on a real database, with a writer running."""

from __future__ import annotations

import shutil
import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from crawler.cli.main import cli
from crawler.store.maintenance import backup_database, prune
from crawler.store.storage import open_database, write_transaction
from tests.conftest import MonitoredWeb, run_cli

NOW = datetime.now(UTC).replace(microsecond=0)


def ago(days: float) -> str:
    return (NOW - timedelta(days=days)).isoformat()


def fill(path: Path) -> None:
    """Two articles: a1 with versions 200, 100 and 10 days old; a2 with one old version.
    Flags: acked old, acked recent, unacked old."""
    db = open_database(path)
    with write_transaction(db):
        for article_id, seen in ((1, ago(200)), (2, ago(150))):
            db.execute(
                "INSERT INTO articles (id, url, title, text, first_seen, last_seen) "
                "VALUES (?, ?, 't', 'x', ?, ?)",
                [article_id, f"https://ex.org/{article_id}", seen, seen],
            )
        for article_id, days in ((1, 200), (1, 100), (1, 10), (2, 150)):
            db.execute(
                "INSERT INTO article_versions (article_id, text, captured_at) VALUES (?, 'v', ?)",
                [article_id, ago(days)],
            )
        flags = (
            ("new_story", "article:1", ago(200), ago(199)),
            ("updated", "article:1:h2", ago(10), ago(9)),
            ("new_story", "article:2", ago(150), None),
        )
        for kind, subject, created, acked in flags:
            db.execute(
                "INSERT INTO flags (kind, subject, article_id, created_at, acked_at) "
                "VALUES (?, ?, 1, ?, ?)",
                [kind, subject, created, acked],
            )
    db.close()


def test_prune_keeps_newest_versions_unacked_and_recent_flags(tmp_path: Path) -> None:
    path = tmp_path / "nw.db"
    fill(path)
    db = open_database(path)
    result = prune(db, 90 * 86400)
    assert (result.versions, result.flags) == (2, 1)
    versions = db.execute("SELECT article_id, captured_at FROM article_versions ORDER BY id")
    assert list(versions) == [(1, ago(10)), (2, ago(150))]  # a2 keeps its only version
    assert [r[0] for r in db.execute("SELECT subject FROM flags ORDER BY id")] == [
        "article:1:h2",
        "article:2",
    ]
    assert prune(db, 90 * 86400).versions == 0  # idempotent


def test_prune_cli_reports_what_it_freed(tmp_path: Path) -> None:
    path = tmp_path / "nw.db"
    fill(path)
    result = CliRunner().invoke(cli, ["prune", "--older-than", "90d", "--db", str(path)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("removed 2 article versions and 1 acknowledged flag from before ")
    assert lines[1].endswith(f" now free inside {path} for later crawls")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--older-than", "90"], "--older-than: bad duration '90'"),
        (["--older-than", "ninety days"], "--older-than: bad duration"),
    ],
)
def test_prune_bad_age_exits_2(tmp_path: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["prune", *args, "--db", str(tmp_path / "x.db")])
    assert result.exit_code == 2
    assert message in result.output


def test_backup_and_prune_refuse_what_is_not_a_newswatch_database(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    for args in (["backup", str(tmp_path / "b.db")], ["prune", "--older-than", "1d"]):
        result = CliRunner().invoke(cli, [*args, "--db", str(other)])
        assert result.exit_code == 1
        assert result.output == f"newswatch: {other} is not a newswatch database\n"
    missing = CliRunner().invoke(cli, ["prune", "--older-than", "1d", "--db", str(tmp_path / "n")])
    assert missing.exit_code == 2 and "no database at" in missing.output
    assert not (tmp_path / "n").exists() and not (tmp_path / "b.db").exists()


def test_backup_is_consistent_while_a_writer_commits(tmp_path: Path) -> None:
    """Each writer transaction adds an article and its version together: every snapshot
    must hold as many of one as of the other."""
    path = tmp_path / "live.db"
    open_database(path).close()
    stop = threading.Event()

    def write() -> None:
        db = open_database(path)
        n = 0
        while not stop.is_set():
            n += 1
            with write_transaction(db):
                db.execute(
                    "INSERT INTO articles (id, url, text, first_seen, last_seen) "
                    "VALUES (?, ?, ?, 'x', 'x')",
                    [n, f"https://ex.org/{n}", "word " * 2000],
                )
                db.execute(
                    "INSERT INTO article_versions (article_id, captured_at) VALUES (?, 'x')", [n]
                )
        db.close()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        copies = [backup_database(path, tmp_path / f"copy{i}.db") for i in range(5)]
    finally:
        stop.set()
        writer.join()
    for copy in copies:
        conn = sqlite3.connect(copy.path)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        articles = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
        versions = conn.execute("SELECT count(*) FROM article_versions").fetchone()[0]
        assert articles == versions == copy.articles
        assert not Path(f"{copy.path}-wal").exists()
    assert not list(tmp_path.glob("*.part"))


def test_backup_cli_never_overwrites_without_force(tmp_path: Path) -> None:
    path = tmp_path / "nw.db"
    fill(path)
    target = tmp_path / "backups" / "nw-copy.db"
    first = CliRunner().invoke(cli, ["backup", str(target), "--db", str(path)])
    assert first.exit_code == 0, first.output
    assert first.output.startswith(f"backed up {path} to {target}: ")
    assert first.output.endswith(", 2 articles\n")
    again = CliRunner().invoke(cli, ["backup", str(target), "--db", str(path)])
    assert again.exit_code == 1
    assert again.output == (
        f"newswatch: {target} already exists: not overwriting it (--force replaces it)\n"
    )
    forced = CliRunner().invoke(cli, ["backup", str(target), "--db", str(path), "--force"])
    assert forced.exit_code == 0
    itself = CliRunner().invoke(cli, ["backup", str(path), "--db", str(path), "--force"])
    assert itself.exit_code == 2 and "is the database itself" in itself.output


@pytest.mark.e2e
def test_prune_articles_removes_old_stories_for_good(
    monitored_web: MonitoredWeb, tmp_path: Path
) -> None:
    """On the crawled sample web: every story but one with an unread flag goes, with its
    articles; a re-crawl that reads every page again stores and flags none of them."""
    path = tmp_path / "nw.db"
    shutil.copy(monitored_web.third.db_path, path)
    conn = sqlite3.connect(path)
    keep_flag, keep_story = conn.execute(
        # the story whose article was updated (its older version is pruned): flag ids follow
        # the order a run links its reports in, not the order the network delivered them
        "SELECT id, story_id FROM flags WHERE story_id IS NOT NULL AND kind = 'updated'"
        " ORDER BY id DESC"
    ).fetchone()
    conn.execute(
        "UPDATE flags SET acked_at = '2026-01-01T00:00:00+00:00' WHERE id != ?", [keep_flag]
    )
    conn.commit()
    kept = conn.execute(
        "SELECT count(*) FROM articles WHERE story_id = ?", [keep_story]
    ).fetchone()[0]
    stories = conn.execute("SELECT count(*) FROM stories").fetchone()[0]
    total = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    flags = conn.execute("SELECT count(*) FROM flags").fetchone()[0]
    time.sleep(1.1)  # one-second time precision: let everything age past "1s"
    result = CliRunner().invoke(
        cli, ["prune", "--older-than", "1s", "--articles", "--db", str(path)]
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith(
        f"removed {stories - 1} stories, {total - kept} articles, 1 article version and "
        f"{flags - 1} acknowledged flags from before "
    )
    assert conn.execute("SELECT DISTINCT story_id FROM articles").fetchall() == [(keep_story,)]
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    assert conn.execute("SELECT count(*) FROM articles_fts").fetchone()[0] == kept
    pruned = conn.execute("SELECT count(*) FROM pruned_urls").fetchone()[0]
    assert pruned >= total - kept
    # Read every page again (no validators): the pruned pages are not stored again.
    conn.execute("UPDATE fetches SET etag = NULL, last_modified = NULL, body_hash = NULL")
    conn.commit()
    config = monitored_web.first.db_path.parent / "sample.toml"
    done = run_cli("crawl", "--config", str(config), "--db", str(path))
    assert done.returncode == 0, done.stderr[-2000:]
    assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] == kept
    assert conn.execute("SELECT count(*) FROM flags").fetchone()[0] == 1
    reasons = conn.execute(
        "SELECT count(*) FROM fetches WHERE error = "
        "'pruned earlier (prune --articles): old, not stored again'"
    ).fetchone()[0]
    assert reasons >= total - kept - 2  # wire copies may share a page with their original
