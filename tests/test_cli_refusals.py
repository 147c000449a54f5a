"""Databases the CLI must refuse or leave untouched: a file that is not SQLite, another
program's database, a missing folder, a database that needs a migration (read commands never
migrate). Each command runs in this process (click's CliRunner); the exit codes of a real
process are tested in tests/test_unattended.py and tests/test_config.py."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from tests.support.cli import invoke

READ_COMMANDS = [
    ["flags"],
    ["stories"],
    ["runs"],
    ["search", "x"],
    ["show", "1"],
    ["flags", "--ack"],
    ["sources"],
    ["story", "corrections"],
    ["story", "merge", "s1", "s2"],
]


def _snapshot(path: Path) -> tuple[str, list[str]]:
    siblings = sorted(p.name for p in path.parent.iterdir())
    return hashlib.sha256(path.read_bytes()).hexdigest(), siblings


def _refused_untouched(path: Path, expected: str, code: int = 2) -> None:
    before = _snapshot(path)
    for command in [*READ_COMMANDS, ["crawl"]]:
        done = invoke(*command, "--db", str(path))
        assert done.returncode == code, (command, done.stderr)
        assert done.stderr.count("\n") == 1 and expected in done.stderr, (command, done.stderr)
        assert done.stdout == ""
        assert _snapshot(path) == before, command


def test_a_file_that_is_not_sqlite_is_refused_and_untouched(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"my precious notes\n" * 100)
    _refused_untouched(path, "is not a SQLite database")


def test_another_programs_sqlite_database_is_refused_and_untouched(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE contacts (name TEXT, phone TEXT)")
    conn.execute("INSERT INTO contacts VALUES ('Ana', '555')")
    conn.commit()
    conn.close()
    _refused_untouched(path, "not newswatch's")
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "delete"


def test_missing_folder_is_an_error_and_is_not_created(tmp_path: Path) -> None:
    target = tmp_path / "nonexistent" / "dir" / "x.db"
    for command in (["crawl"], ["flags"]):
        done = invoke(*command, "--db", str(target))
        assert done.returncode == 2, done.stderr
        assert "does not exist" in done.stderr or "no database" in done.stderr
    assert not (tmp_path / "nonexistent").exists()


def _newswatch_db(path: Path, *, stop_before: str | None = None) -> None:
    from sqlite_utils import Database

    from crawler.store.migrations import migrations

    db = Database(path)
    migrations.apply(db, stop_before=stop_before)
    db.conn.close()


def test_read_commands_never_migrate_or_change_the_journal_mode(tmp_path: Path) -> None:
    old = tmp_path / "old.db"
    _newswatch_db(old, stop_before="m006_published_source")
    before = _snapshot(old)
    for command in (["flags"], ["runs"]):
        done = invoke(*command, "--db", str(old))
        assert done.returncode == 2 and "needs a migration" in done.stderr, done.stderr
    assert _snapshot(old) == before
    current = tmp_path / "current.db"
    _newswatch_db(current)  # rollback journal, as sqlite-utils leaves it
    before = _snapshot(current)
    for command in (
        ["flags"],
        ["stories"],
        ["runs"],
        ["search", "x"],
        ["sources"],
        ["story", "corrections"],
    ):
        done = invoke(*command, "--db", str(current))
        assert done.returncode == 0, (command, done.stderr)
    assert _snapshot(current) == before  # no WAL switch, no migration, no -wal file
