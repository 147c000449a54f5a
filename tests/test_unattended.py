"""newswatch as an unattended job against hostile input: the real CLI, a loopback site, SQLite.

A full disk fails the run and loses nothing; robots.txt follows RFC 9309; no control
character reaches the database or the terminal; exit codes a scheduler can use; database
files newswatch did not write are refused and left untouched.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.read.failures import digest_lines
from tests.conftest import run_cli, run_cli_bytes, run_python
from tests.support.cli import invoke
from tests.support.hostile_site import BIDI, ESC_ARTICLES, ROBOTS_CHAIN, HostileSite

pytestmark = pytest.mark.e2e  # every test here runs real newswatch processes

CONTROL_BYTES = bytes([*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F])
C1 = [chr(c) for c in range(0x80, 0xA0)]


def write_config(site: HostileSite, path: Path, db: Path, **kwargs: object) -> Path:
    path.write_text(site.config_toml(str(db), **kwargs), "utf-8")  # type: ignore[arg-type]
    return path


def count(db: Path, sql: str) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchone()[0]
    finally:
        conn.close()


# -- 1. a failed write fails the run, and nothing is lost ------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 600 KB tmpfs (the tests run as root); skipped where mounting is not permitted."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def _assert_disk_full_run(done: subprocess.CompletedProcess[str], db: Path) -> int:
    assert done.returncode == 1, (done.stdout, done.stderr[-2000:])
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout
    assert "database write failed" in done.stdout, done.stdout
    assert "fetched again next run" in done.stdout
    status = count(db, "SELECT count(*) FROM runs WHERE status IN ('ok', 'partial')")
    assert status == 0, "a run with a failed write is never recorded as ok"
    stored = count(db, "SELECT count(*) FROM articles")
    assert stored < 80
    # The feed's validators were not saved: the next run reads it again.
    assert (
        count(db, "SELECT count(*) FROM fetches WHERE kind = 'feed' AND body_hash IS NOT NULL") == 0
    )
    return stored


def _rerun_stores_all(config: Path, db: Path, stored: int, how: str) -> None:
    """The next run, with room to write, stores every one of the 80 articles."""
    second = run_cli("crawl", "--config", str(config), timeout=300)
    assert second.returncode == 0, (second.stdout, second.stderr[-2000:])
    after = count(db, "SELECT count(*) FROM articles")
    print(f"{how}: {stored}/80 stored by the disk-full run, {after}/80 after the re-run")
    assert after == 80


def test_disk_full_on_a_small_tmpfs_fails_the_run_then_a_rerun_stores_all(
    tmp_path: Path, small_disk: Path
) -> None:
    db = small_disk / "news.db"
    with HostileSite(generated=80) as site:
        config = write_config(site, tmp_path / "c.toml", db, feeds=["/gen-feed.xml"], workers=1)
        first = run_cli("crawl", "--config", str(config), timeout=300)
        stored = _assert_disk_full_run(first, db)
        subprocess.run(["mount", "-o", "remount,size=50m", str(small_disk)], check=True)
        _rerun_stores_all(config, db, stored, "tmpfs")
    assert count(db, "SELECT count(*) FROM fetches WHERE kind = 'article' AND error IS NULL") == 80


def test_disk_full_by_page_limit_fails_the_run_then_a_rerun_stores_all(tmp_path: Path) -> None:
    """The same with SQLite's max_page_count: runs on any machine."""
    db = tmp_path / "news.db"
    with HostileSite(generated=80) as site:
        config = write_config(site, tmp_path / "c.toml", db, feeds=["/gen-feed.xml"], workers=1)
        first = run_python(
            "tests/support/page_limited_cli.py", "40", "crawl", "--config", str(config), timeout=300
        )
        stored = _assert_disk_full_run(first, db)
        _rerun_stores_all(config, db, stored, "max_page_count")


# -- 2. robots.txt per RFC 9309 --------------------------------------------------------------


def _robots_crawl(
    tmp_path: Path, site: HostileSite, timeout: float = 5.0
) -> subprocess.CompletedProcess[str]:
    config = write_config(
        site,
        tmp_path / "c.toml",
        tmp_path / "news.db",
        feeds=["/gen-feed.xml"],
        sitemaps=["/sitemap.xml"],
        workers=1,
        timeout=timeout,
    )
    return run_cli("crawl", "--config", str(config), timeout=120)


@pytest.mark.parametrize("mode", ["500", "503", "stall"])
def test_robots_5xx_or_unreachable_closes_the_host_for_the_run(tmp_path: Path, mode: str) -> None:
    with HostileSite(generated=3, robots=mode) as site:
        done = _robots_crawl(tmp_path, site, timeout=2.0)
        others = [p for p in site.paths("site") if p != "/robots.txt"]
        assert others == [], others  # not one request beyond robots.txt
        assert done.returncode == 1, (done.stdout, done.stderr[-2000:])  # nothing was fetched
        assert done.stderr == ""
        host = site.base.removeprefix("http://")
        assert f"robots.txt unavailable: {host}" in done.stdout, done.stdout
        conn = sqlite3.connect(tmp_path / "news.db")
        kind, error = conn.execute(
            "SELECT error_kind, error FROM fetches WHERE url = ?", [site.base + "/robots.txt"]
        ).fetchone()
        assert kind == "robots_unavailable" and error, error
        stats = json.loads(conn.execute("SELECT stats FROM runs").fetchone()[0])
        assert host in stats["robots_closed"]
        assert stats["counts"]["robots.hosts_closed"] == 1
        # The host answers again: everything it lists is fetched, nothing was lost.
        site.robots = "rules"
        again = _robots_crawl(tmp_path, site)
        assert again.returncode == 0, again.stdout
        assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] == 4  # 3 + ok-3
    assert not any(p.startswith("/private/") for p in site.paths("site"))


def test_robots_404_allows_everything(tmp_path: Path) -> None:
    with HostileSite(generated=3, robots="404") as site:
        done = _robots_crawl(tmp_path, site)
        assert done.returncode == 0, done.stdout
        assert "/private/secret" in site.paths("site")  # no rules: allowed (RFC 9309 2.3.1.3)
    assert count(tmp_path / "news.db", "SELECT count(*) FROM articles") == 5


def test_huge_robots_txt_is_read_up_to_500_kib_and_obeyed(tmp_path: Path) -> None:
    with HostileSite(generated=3, robots="huge") as site:
        done = _robots_crawl(tmp_path, site)
        assert done.returncode == 0, (done.stdout, done.stderr)
        assert not any(p.startswith("/private/") for p in site.paths("site"))
    assert count(tmp_path / "news.db", "SELECT count(*) FROM articles") == 4
    assert (
        count(
            tmp_path / "news.db",
            "SELECT count(*) FROM fetches WHERE error_kind = 'refused' AND error LIKE 'Forbidden%'",
        )
        == 1
    )


def test_robots_redirects_are_followed_across_hosts(tmp_path: Path) -> None:
    with HostileSite(generated=3, robots="chain") as site:
        done = _robots_crawl(tmp_path, site)
        assert done.returncode == 0, done.stdout
        paths = site.paths("site")
        assert all(step in paths for step in ROBOTS_CHAIN)  # 4 hops followed
        assert not any(p.startswith("/private/") for p in paths)  # and the rules applied
    # RFC 9309 2.3.1.2: a redirect to another host is followed (through the fetch policy)
    # and the rules found there apply: that host's Disallow: / closes the site.
    with HostileSite(generated=3, robots="offsite") as site:
        done = _robots_crawl(tmp_path, site)
        assert site.paths("outside") == ["/robots.txt"]
        assert site.paths("site") == ["/robots.txt"], site.paths("site")
        assert done.returncode == 1, done.stdout  # nothing could be fetched


# -- 3. no control characters, stored or printed --------------------------------------------


def _printed(db: Path, config: Path) -> dict[str, bytes]:
    """What every read command prints (piped) on ``db``."""
    commands = [
        ["flags"],
        ["flags", "--json"],
        ["stories"],
        ["stories", "--json"],
        ["search", "fentanyl"],
        ["search", "fentanyl", "--json"],
        ["show", "a1"],
        ["show", "s1"],
        ["show", "a1", "--json"],
        ["runs"],
        ["runs", "1"],
        ["runs", "--json"],
        ["sources"],
        ["feed"],
    ]
    out = {}
    for command in commands:
        done = run_cli_bytes(*command, "--db", str(db), "--config", str(config))
        assert done.returncode == 0, (command, done.stderr)
        out[" ".join(command)] = done.stdout + done.stderr
    return out


def test_no_escape_sequence_is_stored_or_printed(tmp_path: Path) -> None:
    db = tmp_path / "news.db"
    with HostileSite() as site:
        config = write_config(site, tmp_path / "c.toml", db, feeds=["/esc-feed.xml"], workers=1)
        done = run_cli_bytes("crawl", "--config", str(config))
        assert done.returncode == 0, done.stdout
    conn = sqlite3.connect(db)
    titles = [r[0] for r in conn.execute("SELECT title FROM articles")]
    assert len(titles) == ESC_ARTICLES  # every page stored, under its cleaned feed title
    # What the sequences wrapped stays (an OSC 8 link's text, "click"); they are gone.
    assert all("Cartel fentanyl Mexico report" in t for t in titles), titles
    texts = [
        value or ""
        for sql in (
            "SELECT title || text || coalesce(description, '') FROM articles",
            "SELECT title || text FROM article_versions",
            "SELECT title FROM stories",
            "SELECT coalesce(title, '') FROM related_links",
        )
        for (value,) in conn.execute(sql)
    ]
    stored = "".join(texts).encode()
    assert stored.count(b"\x1b") == 0 and not any(c in "".join(texts) for c in C1)
    assert not any(b in stored for b in CONTROL_BYTES)
    assert not any(c in "".join(texts) for c in BIDI)
    # A database written before stripping (or by hand): the output is stripped anyway.
    conn.execute(
        "UPDATE articles SET title = ? || title, text = ? || text",
        ["\x1b]52;c;cm0gLXJmIH4K\x07\x1b[2J\u202e", "\x1b]8;;http://evil/\x1b\\x\x9b8m\u2067"],
    )
    conn.execute("UPDATE stories SET title = ? || title", ["\x1b[8m\x1b]0;pwned\x07"])
    conn.commit()
    conn.close()
    printed = _printed(db, config)
    for command, output in printed.items():
        assert output.count(b"\x1b") == 0, (command, output[:300])
        assert not any(c.encode() in output for c in C1), command
        assert not any(b in output for b in CONTROL_BYTES), (command, output[:300])
        assert not any(c.encode() in output for c in BIDI), (command, output[:300])
    print(f"ESC bytes: 0 in the database, 0 in the output of {len(printed)} read commands")


# -- 4/5. exit codes and quiet output --------------------------------------------------------


def test_exit_codes_for_bad_config_and_arguments(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[crawl\nnot toml", "utf-8")
    assert run_cli("crawl", "--config", str(bad)).returncode == 2
    assert run_cli("crawl", "--no-such-option").returncode == 2
    done = run_cli("crawl", "--source", "no-such-source", "--db", str(tmp_path / "x.db"))
    assert done.returncode == 2 and "Traceback" not in done.stderr


def test_offline_digest_names_the_cause() -> None:
    failures = [
        [
            f"https://site{n}.example/feed.xml",
            "connection",
            f"DNSLookupError: DNS lookup failed: no results for hostname lookup: site{n}.example.",
        ]
        for n in range(7)
    ]
    failures += [
        [
            "https://site0.example/robots.txt",
            "robots_unavailable",
            "robots.txt unreachable: DNSLookupError: DNS lookup failed; host not crawled this run",
        ]
    ] * 3
    lines = digest_lines(failures)
    assert lines == ["10 requests failed: DNS lookup failed for 7 hosts (10 URLs; offline?)"]


def test_verbose_shows_scrapy_log_without_tracebacks(tmp_path: Path) -> None:
    with HostileSite(generated=1) as site:
        config = write_config(
            site,
            tmp_path / "c.toml",
            tmp_path / "n.db",
            feeds=["/gen-feed.xml", "/missing-feed.xml"],
            workers=1,
        )
        quiet = run_cli("crawl", "--config", str(config))
        verbose = run_cli("crawl", "--config", str(config), "-v")
        debug = run_cli("crawl", "--config", str(config), "--debug")
    assert quiet.stderr == "" and "request failed: HTTP 404 (1 URL)" in quiet.stdout
    assert "[scrapy.core.engine] INFO" in verbose.stderr and "DEBUG" not in verbose.stderr
    assert "Traceback" not in verbose.stderr
    assert "DEBUG" in debug.stderr


# -- 6. database files -----------------------------------------------------------------------


def test_a_database_on_a_read_only_mount_can_be_read(tmp_path: Path) -> None:
    source = tmp_path / "data"
    source.mkdir()
    db = source / "news.db"
    with HostileSite(generated=2) as site:
        config = write_config(site, tmp_path / "c.toml", db, feeds=["/gen-feed.xml"], workers=1)
        assert run_cli("crawl", "--config", str(config)).returncode == 0
    readonly = tmp_path / "ro"
    readonly.mkdir()
    if (
        subprocess.run(
            ["mount", "--bind", str(source), str(readonly)], capture_output=True
        ).returncode
        != 0
    ):
        pytest.skip("cannot bind-mount here")
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(readonly)], check=True)
        for command in (["flags"], ["stories"], ["runs"], ["search", "fentanyl"]):
            done = invoke(*command, "--db", str(readonly / "news.db"))
            assert done.returncode == 0, (command, done.stderr)
        assert "Case 0" in invoke("search", "fentanyl", "--db", str(readonly / "news.db")).stdout
        crawl = run_cli("crawl", "--config", str(config), "--db", str(readonly / "news.db"))
        assert crawl.returncode == 1 and crawl.stderr.count("\n") == 1, crawl.stderr
        ack = invoke("flags", "--ack", "--db", str(readonly / "news.db"))
        assert ack.returncode == 1 and ack.stderr.count("\n") == 1, ack.stderr
    finally:
        subprocess.run(["umount", "-l", str(readonly)], capture_output=True)
