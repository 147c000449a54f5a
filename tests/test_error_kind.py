"""Failure kinds are typed values in their own column: m100 splits the strings recorded before
it, and nothing reads a kind back out of a message."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

from crawler.core.failures import FailureKind
from crawler.read.failures import digest_lines, failures_by_kind
from crawler.store.frozen.m100_error_kind import split_error
from crawler.store.storage import open_database, start_run

ROOT = Path(__file__).resolve().parent.parent

OLD = {
    "http://a.test/1": ("http: HTTP 404", "http", "HTTP 404"),
    "http://a.test/2": ("refused: Forbidden by robots.txt", "refused", "Forbidden by robots.txt"),
    "http://a.test/3": (
        "not_article: listing (og:type website, no article evidence)",
        "not_article",
        "listing (og:type website, no article evidence)",
    ),
    "http://a.test/4": (
        "extraction failed: ValueError: bad",
        "extraction",
        "ValueError: bad",
    ),
    "http://a.test/5": ("extraction worker died: gone", "worker_died", "gone"),
    "http://a.test/6": (
        "pruned earlier (prune --articles): old, not stored again",
        "pruned",
        "pruned earlier (prune --articles): old, not stored again",
    ),
    "http://a.test/7": ("KeyError: 'x'", "error", "KeyError: 'x'"),
    "http://a.test/8": (
        "robots_unavailable: robots.txt answered HTTP 503; host not crawled this run",
        "robots_unavailable",
        "robots.txt answered HTTP 503; host not crawled this run",
    ),
}


def test_every_kind_the_old_strings_name_is_a_failure_kind() -> None:
    for old, kind, message in OLD.values():
        assert split_error(old) == (kind, message)
        assert FailureKind(kind).value == kind


def test_m100_splits_the_errors_of_a_database_made_before_it(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = open_database(str(path))
    run_id = start_run(db, "manual", ["a"])
    db.close()
    # The database as the code before m100 left it: no error_kind, "kind: message" strings,
    # and the run's kept failures as [url, error] pairs.
    conn = sqlite3.connect(path)
    conn.execute("ALTER TABLE fetches DROP COLUMN error_kind")
    conn.execute("DELETE FROM _sqlite_migrations WHERE name = 'm100_error_kind'")
    conn.executemany(
        "INSERT INTO fetches (url, kind, fetched_at, error, run_id) VALUES (?, 'article', "
        "'2026-01-01T00:00:00+00:00', ?, ?)",
        [(url, old, run_id) for url, (old, _, _) in OLD.items()],
    )
    conn.execute(
        "INSERT INTO fetches (url, kind, fetched_at, run_id) VALUES ('http://a.test/ok', "
        "'article', '2026-01-01T00:00:00+00:00', ?)",
        [run_id],
    )
    stats = {"failures": [[url, old] for url, (old, _, _) in OLD.items()], "errors": 8}
    conn.execute("UPDATE runs SET stats = ? WHERE id = ?", [json.dumps(stats), run_id])
    conn.commit()
    conn.close()

    open_database(str(path)).close()  # runs m100
    conn = sqlite3.connect(path)
    rows = {
        url: (kind, error)
        for url, kind, error in conn.execute("SELECT url, error_kind, error FROM fetches")
    }
    assert rows.pop("http://a.test/ok") == (None, None)
    assert rows == {url: (kind, message) for url, (_, kind, message) in OLD.items()}
    kept = json.loads(conn.execute("SELECT stats FROM runs").fetchone()[0])
    assert kept["errors"] == 8
    assert kept["failures"] == [[url, kind, message] for url, (_, kind, message) in OLD.items()]
    conn.close()
    # The digest reads the migrated failures as it reads new ones.
    lines = digest_lines(kept["failures"])
    assert lines[0].startswith("2 requests failed:"), lines
    assert "HTTP 404 (1 URL)" in lines[0] and "robots.txt answered HTTP 503" in lines[0]
    assert set(failures_by_kind(kept["failures"])) == {FailureKind(k) for _, k, _ in OLD.values()}


def test_no_code_reads_a_kind_out_of_an_error_message() -> None:
    """The kind is a column and a FailureKind: no "kind: message" parsing is left (only the
    copy frozen for m100 reads the old strings)."""
    pattern = re.compile(
        r"(error|reason)(\"\])?\.(partition|split|removeprefix|startswith)\("
        r"|error (NOT )?LIKE '[a-z_]+:"
    )
    found = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for package in ("crawler", "spiders", "schedules")
        for path in sorted((ROOT / package).rglob("*.py"))
        if "frozen" not in path.parts
        for n, line in enumerate(path.read_text("utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert found == []
