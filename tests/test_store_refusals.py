"""The database file: quoted file: URIs (the right file, whatever its folder is called), a
database from a newer newswatch refused by every command and left untouched, and backup and
prune refusing as every other command does, in one line."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from crawler.cli.main import cli
from crawler.store.storage import SCHEMA_VERSION, file_uri, open_database, write_transaction
from schedules.lock import SchedulerLock, SchedulerLockHeld
from tests.conftest import run_cli
from tests.support.cli import invoke

FOLDERS = ["with space", "pct%20dir", "hash#dir", "q?dir=1", "año ñandú 東京", "mix %41#?&x"]


def _newswatch_db(path: Path, articles: int) -> None:
    db = open_database(path)
    with write_transaction(db):
        for n in range(articles):
            db.execute(
                "INSERT INTO articles (url, title, text, first_seen, last_seen) "
                "VALUES (?, 't', 'x', '2020-01-01', '2020-01-01')",
                [f"https://ex.org/{n}"],
            )
    db.close()


@pytest.mark.parametrize("folder", FOLDERS)
def test_file_uri_opens_the_file_named(tmp_path: Path, folder: str) -> None:
    path = tmp_path / folder / "n.db"
    path.parent.mkdir()
    sqlite3.connect(path).execute("CREATE TABLE mine (x)").connection.commit()
    conn = sqlite3.connect(file_uri(path, mode="ro"), uri=True)
    assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master")] == ["mine"]
    conn.close()


@pytest.mark.parametrize("folder", FOLDERS)
def test_backup_and_prune_work_on_the_right_file_whatever_the_folder(
    tmp_path: Path, folder: str
) -> None:
    path = tmp_path / folder / "n.db"
    path.parent.mkdir()
    _newswatch_db(path, 3)
    # The folder an unquoted URI would open instead ("pct%20dir" -> "pct dir").
    decoy = tmp_path / folder.replace("%20", " ").split("#")[0].split("?")[0] / "n.db"
    if decoy != path:
        decoy.parent.mkdir(exist_ok=True)
        _newswatch_db(decoy, 1)
    target = tmp_path / "copy.db"
    backup = CliRunner().invoke(cli, ["backup", str(target), "--db", str(path)])
    assert backup.exit_code == 0, backup.output
    assert backup.output.rstrip().endswith(", 3 articles")
    prune = CliRunner().invoke(cli, ["prune", "--older-than", "1d", "--db", str(path)])
    assert prune.exit_code == 0, prune.output


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(params=["unknown migration", "user_version"])
def newer_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Path, str]]:
    path = tmp_path / "newer.db"
    _newswatch_db(path, 2)
    conn = sqlite3.connect(path)
    if request.param == "unknown migration":
        conn.execute(
            "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
            "VALUES ('newswatch', 'm999_from_the_future', '2030-01-01')"
        )
        named = "m999_from_the_future"
    else:
        conn.execute("PRAGMA user_version = 99")
        named = "schema version 99"
    conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    yield path, named


@pytest.mark.e2e
def test_every_command_refuses_a_database_from_a_newer_version(
    tmp_path: Path, newer_db: tuple[Path, str]
) -> None:
    path, named = newer_db
    before = _digest(path)
    config = tmp_path / "c.toml"
    config.write_text('[[sources]]\nname = "x"\nfeeds = ["http://127.0.0.1:9/rss.xml"]\n', "utf-8")
    commands = [
        ["crawl"],
        ["schedule"],
        ["flags"],
        ["sources"],
        ["runs"],
        ["stories"],
        ["feed"],
        ["backup", str(tmp_path / "b.db")],
        ["prune", "--older-than", "1d"],
    ]
    for command in commands:
        done = run_cli(*command, "--config", str(config), "--db", str(path), timeout=60)
        assert done.returncode == 2, (command, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, (command, done.stderr)
        assert "newer newswatch" in lines[0] and named in lines[0], (command, lines)
        assert _digest(path) == before, command
    assert not (tmp_path / "b.db").exists()
    assert sqlite3.connect(path).execute("SELECT count(*) FROM runs").fetchone()[0] == 0


def test_a_new_database_carries_our_schema_version(tmp_path: Path) -> None:
    _newswatch_db(tmp_path / "n.db", 0)
    conn = sqlite3.connect(tmp_path / "n.db")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_prune_and_backup_refuse_another_programs_articles_and_flags(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    for table in ("articles", "flags", "article_versions"):
        conn.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, name TEXT)")
    conn.commit()
    conn.close()
    before = _digest(other)
    for args in (["prune", "--older-than", "1d"], ["backup", str(tmp_path / "b.db")]):
        done = invoke(*args, "--db", str(other))
        assert done.returncode == 2, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert "not newswatch's" in done.stderr and "Traceback" not in done.stderr
    assert _digest(other) == before


def _make_read_only(path: Path) -> None:
    if os.geteuid() != 0:
        path.chmod(0o444)
        path.parent.chmod(0o555)
        return
    if shutil.which("chattr") is None:
        pytest.skip("running as root without chattr: cannot make a file read-only")
    for file in (path, path.parent):
        done = subprocess.run(["chattr", "+i", str(file)], capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"chattr +i not supported here: {done.stderr.strip()}")


def _undo_read_only(path: Path) -> None:
    if os.geteuid() == 0:
        for file in (path.parent, path):
            subprocess.run(["chattr", "-i", str(file)], capture_output=True)
    path.parent.chmod(0o755)
    path.chmod(0o644)


def test_prune_on_a_read_only_database_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "ro" / "n.db"
    path.parent.mkdir()
    _newswatch_db(path, 2)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.close()
    _make_read_only(path)
    try:
        done = invoke("prune", "--older-than", "1d", "--db", str(path))
    finally:
        _undo_read_only(path)
    assert done.returncode == 1, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr and "readonly" in done.stderr.replace(
        "read-only", "readonly"
    )


def test_scheduler_lock_is_taken_on_the_real_path(tmp_path: Path) -> None:
    real = tmp_path / "real.db"
    _newswatch_db(real, 0)
    (tmp_path / "link.db").symlink_to(real)
    (tmp_path / "sub").mkdir()
    with SchedulerLock(real):
        for other in (tmp_path / "link.db", tmp_path / "sub" / ".." / "real.db"):
            with pytest.raises(SchedulerLockHeld):
                SchedulerLock(other).acquire()
