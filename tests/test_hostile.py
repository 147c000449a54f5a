"""The real `newswatch crawl` against a hostile site: every failure recorded, nothing unsafe.

One crawl (module fixture) of ``tests/support/hostile_site.py``; each test checks one promise.
"""

from __future__ import annotations

import json
import resource
import socket
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from crawler.store.storage import RUN_STATUSES
from tests.conftest import run_cli
from tests.support.hostile_site import (
    ARTICLES,
    BOMB_INFLATED_BYTES,
    HostileSite,
    build_gzip_bomb,
)
from tests.support.process_tree import PeakRss
from tests.support.scheduler import start_cli

pytestmark = pytest.mark.e2e  # every test here runs real newswatch processes

MAX_SITEMAPS = 3
MAX_SITEMAP_BYTES = 1024 * 1024
RSS_LIMIT = 600 * 1024 * 1024

# Listed URL path -> the failure kind its fetch must record (fetches.error starts "<kind>:").
EXPECTED_FAILURES = {
    "/news/huge": "too_large",
    "/news/huge-stream": "too_large",
    "/news/bomb": "too_large",
    "/news/loop-a": "redirect_loop",
    "/news/stall": "timeout",
    "/news/error-500": "http",
    "/news/missing": "http",
    "/news/binary": "not_html",
    "/news/empty": "empty",
    "/bad-feed.xml": "feed",
    "/missing-feed.xml": "http",
    "/big-sitemap.xml": "too_large",
}
REFUSED = {"/news/offsite-redirect": "offsite", "/private/secret": "robots.txt"}


@dataclass
class HostileCrawl:
    site: HostileSite
    db_path: Path
    done: subprocess.CompletedProcess[str]
    seconds: float
    peak_rss: int  # bytes, the crawl process and its extraction workers together

    def db(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.db_path)
        conn.row_factory = sqlite3.Row
        return conn

    def url(self, path: str) -> str:
        return self.site.base + path

    def run(self) -> sqlite3.Row:
        return self.db().execute("SELECT * FROM runs ORDER BY id DESC LIMIT 1").fetchone()

    def stats(self) -> dict:
        return json.loads(self.run()["stats"])


@pytest.fixture(scope="session")
def gzip_bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """~1 MB of gzip that inflates to 1 GiB of zeros, built once per session."""
    return build_gzip_bomb(tmp_path_factory.mktemp("bomb") / "bomb.gz")


def run_crawl_measured(
    config: Path, timeout: float = 90
) -> tuple[subprocess.CompletedProcess[str], float, int]:
    """`newswatch crawl` in a child; (result, seconds, peak RSS of its process tree)."""
    start = time.monotonic()
    child = start_cli(
        "crawl", "--config", str(config), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    with PeakRss(child.pid) as peak:
        try:
            stdout, stderr = child.communicate(timeout=timeout)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
    seconds = time.monotonic() - start
    done = subprocess.CompletedProcess(child.args, child.returncode, stdout, stderr)
    return done, seconds, peak.bytes


# The crawl's timeout, which cuts the stalled response (twice: one retry); every other page
# of the hostile site answers at once.
STALL_TIMEOUT = 3


@pytest.fixture(scope="module")
def hostile(gzip_bomb: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostileCrawl]:
    workdir = tmp_path_factory.mktemp("hostile")
    db = workdir / "hostile.db"
    with HostileSite(gzip_bomb) as site:
        config = workdir / "hostile.toml"
        config.write_text(
            site.config_toml(
                str(db),
                feeds=["/feed.xml", "/bad-feed.xml", "/missing-feed.xml"],
                sitemaps=["/sitemap.xml", "/sitemap-index.xml", "/big-sitemap.xml"],
                timeout=STALL_TIMEOUT,
                extra_crawl=(
                    f"max_sitemaps = {MAX_SITEMAPS}\nmax_sitemap_bytes = {MAX_SITEMAP_BYTES}"
                ),
            ),
            "utf-8",
        )
        done, seconds, peak = run_crawl_measured(config)
        yield HostileCrawl(site, db, done, seconds, peak)


def _fetch(crawl: HostileCrawl, path: str) -> sqlite3.Row | None:
    return crawl.db().execute("SELECT * FROM fetches WHERE url = ?", [crawl.url(path)]).fetchone()


def test_crawl_finishes_fast_with_exit_0(hostile: HostileCrawl) -> None:
    assert hostile.done.returncode == 0, hostile.done.stderr[-3000:]
    assert hostile.seconds < 60, f"hostile crawl took {hostile.seconds:.1f}s"
    # The stalled response is cut by the timeout (one retry), not waited out.
    assert "partial" in hostile.done.stdout
    # Quiet by default: no Scrapy log, no traceback; the summary says what failed, by cause.
    assert hostile.done.stderr == "", hostile.done.stderr[-3000:]
    lines = hostile.done.stdout.splitlines()
    assert lines[0].startswith("run ") and lines[1].startswith("  pages fetched ")  # summary
    assert lines[2].startswith(f"{len(EXPECTED_FAILURES) - 3} requests failed: "), lines
    assert "HTTP 404 (2 URLs)" in lines[2] and "redirect loop (1 URL)" in lines[2]
    assert (
        lines[3]
        == "3 pages unusable: empty page (1 URL); not HTML (1 URL); unreadable feed (1 URL)"
    )
    assert lines[-1] == f"details: newswatch runs {hostile.run()['id']}"


def test_runs_run_lists_the_failures_by_kind_and_url(hostile: HostileCrawl) -> None:
    done = run_cli("runs", str(hostile.run()["id"]), "--db", str(hostile.db_path))
    assert done.returncode == 0, done.stderr
    sections: dict[str, list[str]] = {}
    current = ""
    for line in done.stdout.splitlines():
        if line and not line.startswith(" ") and line.endswith(")") and "(" in line:
            current = line.split(" (")[0]
        elif line.startswith("  ") and current:
            sections.setdefault(current, []).append(line.split()[0])
    for path, kind in EXPECTED_FAILURES.items():
        assert hostile.url(path) in sections.get(kind, []), (path, kind, done.stdout)
    assert not any(hostile.url(p) in done.stdout for p in REFUSED)  # refusals are not failures


def test_every_readable_article_is_stored_once(hostile: HostileCrawl) -> None:
    conn = hostile.db()
    urls = [r[0] for r in conn.execute("SELECT url FROM articles")]
    assert len(urls) == len(set(urls))
    expected = {hostile.url(f"/news/{slug}") for slug in [*ARTICLES, "broken", "latin1"]}
    assert set(urls) == expected


def test_truncated_broken_html_is_still_an_article(hostile: HostileCrawl) -> None:
    row = (
        hostile.db()
        .execute("SELECT title, text FROM articles WHERE url = ?", [hostile.url("/news/broken")])
        .fetchone()
    )
    assert row["title"] == "Cartel violence in Mexico pushes fentanyl labs into remote mountains"
    assert "dismantled three fentanyl laboratories" in row["text"]
    assert "neighbouring states of Sinaloa and Chihuahua" in row["text"]


def test_latin1_page_labelled_utf8_is_stored_without_mojibake(hostile: HostileCrawl) -> None:
    row = (
        hostile.db()
        .execute("SELECT title, text FROM articles WHERE url = ?", [hostile.url("/news/latin1")])
        .fetchone()
    )
    assert "Querétaro" in row["title"]
    assert row["text"].count("Querétaro") >= 3
    assert "México" in row["text"]
    for junk in ("Ã", "\ufffd", "Quer?taro"):
        assert junk not in row["title"] + row["text"]


def test_every_failure_is_recorded_per_url_with_a_reason(hostile: HostileCrawl) -> None:
    for path, kind in EXPECTED_FAILURES.items():
        row = _fetch(hostile, path)
        assert row is not None, f"{path}: no fetch record"
        assert row["error_kind"] == kind and row["error"], (path, row["error_kind"], row["error"])
    assert _fetch(hostile, "/news/error-500")["status"] == 500
    assert _fetch(hostile, "/news/missing")["status"] == 404
    assert _fetch(hostile, "/missing-feed.xml")["status"] == 404
    for path, why in REFUSED.items():
        row = _fetch(hostile, path)
        assert row is not None and row["error_kind"] == "refused", (path, row and row["error"])
        assert why in row["error"], (path, row["error"])
    for slug in [*ARTICLES, "broken", "latin1"]:
        assert _fetch(hostile, f"/news/{slug}")["error"] is None


def test_failures_are_counted_on_the_run_by_kind(hostile: HostileCrawl) -> None:
    run = hostile.run()
    stats = hostile.stats()
    assert run["status"] == "partial"
    counts = stats["counts"]
    recorded = (
        hostile.db()
        .execute(
            "SELECT count(*) FROM fetches WHERE error_kind IS NOT NULL AND error_kind != 'refused'"
        )
        .fetchone()[0]
    )
    assert stats["errors"] == recorded == len(EXPECTED_FAILURES)
    by_kind: dict[str, int] = {}
    for kind in EXPECTED_FAILURES.values():
        by_kind[kind] = by_kind.get(kind, 0) + 1
    for kind, n in by_kind.items():
        assert counts.get(f"errors.{kind}") == n, (kind, counts)
    assert sum(v for k, v in counts.items() if k.startswith("errors.")) == stats["errors"]
    assert counts["http_status.404"] == 2 and counts["http_status.500"] == 1
    assert stats["refused"] == len(REFUSED)
    assert counts["refused.offsite"] == 1 and counts["refused.robots"] == 1


def test_run_health_is_recorded(hostile: HostileCrawl) -> None:
    run = hostile.run()
    stats = hostile.stats()
    assert run["status"] in RUN_STATUSES and run["finished_at"] and run["trigger"] == "manual"
    for key in ("pages_fetched", "articles_new", "duplicates", "flags", "errors", "refused"):
        assert isinstance(stats[key], int), key
    assert stats["articles_new"] == len(ARTICLES) + 2
    assert stats["pages_fetched"] >= 15
    assert stats["flags"] == hostile.db().execute("SELECT count(*) FROM flags").fetchone()[0]
    summary = hostile.done.stdout
    assert f"articles new {stats['articles_new']}" in summary
    assert f"errors {stats['errors']}" in summary


def test_disallowed_and_offsite_urls_are_never_requested(hostile: HostileCrawl) -> None:
    assert hostile.site.paths("outside") == []
    paths = hostile.site.paths("site")
    assert "/robots.txt" in paths
    assert not any(p.startswith("/private/") for p in paths)
    assert "/news/offsite-redirect" in paths  # asked, answered with a redirect, not followed


def test_size_limits_refuse_the_bomb_and_the_huge_page(hostile: HostileCrawl) -> None:
    for path in ("/news/bomb", "/news/huge", "/news/huge-stream"):
        error = _fetch(hostile, path)["error"].lower()
        assert "size" in error or "cancelled" in error, (path, error)
    assert "decompress" in _fetch(hostile, "/news/bomb")["error"]
    # Nothing near the 1 GiB the bomb inflates to, or the 21 MB page, was held in memory.
    assert hostile.peak_rss < RSS_LIMIT, hostile.peak_rss
    children_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # KiB
    assert children_peak < RSS_LIMIT < BOMB_INFLATED_BYTES, children_peak


def test_stalled_response_is_cut_by_the_timeout(hostile: HostileCrawl) -> None:
    error = _fetch(hostile, "/news/stall")["error"]
    assert f"took longer than {STALL_TIMEOUT:.1f} seconds" in error, error
    assert hostile.site.paths("site").count("/news/stall") <= 2  # one retry at most


def test_redirect_loop_is_one_named_failure(hostile: HostileCrawl) -> None:
    error = _fetch(hostile, "/news/loop-a")["error"]
    assert "/news/loop-b" in error
    assert hostile.site.paths("site").count("/news/loop-a") == 1


def test_file_and_data_urls_in_feeds_and_sitemaps_are_never_followed(hostile: HostileCrawl) -> None:
    conn = hostile.db()
    for table in ("fetches", "articles"):
        rows = conn.execute(f"SELECT url FROM {table} WHERE url NOT LIKE 'http%'").fetchall()
        assert rows == [], (table, [r[0] for r in rows])
    assert "passwd" not in hostile.done.stderr
    # The listings that carried them were read; the http entries next to them were followed.
    assert _fetch(hostile, "/feed.xml")["error"] is None
    assert _fetch(hostile, "/sitemap.xml")["error"] is None


def test_sitemap_index_with_thousands_of_children_is_bounded(hostile: HostileCrawl) -> None:
    children = [p for p in hostile.site.paths("site") if p.startswith("/sitemaps/child-")]
    assert len(children) == MAX_SITEMAPS
    assert hostile.stats()["counts"]["limits.max_sitemaps"] >= 1


def test_50mb_sitemap_is_bounded_by_max_sitemap_bytes(hostile: HostileCrawl) -> None:
    error = _fetch(hostile, "/big-sitemap.xml")["error"]
    assert str(MAX_SITEMAP_BYTES) in error, error
    assert not any(p.startswith("/big/") for p in hostile.site.paths("site"))


@pytest.mark.parametrize("obey_robots", ["false", "true"])
def test_unreachable_source_is_a_failed_run_with_exit_1(tmp_path: Path, obey_robots: str) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = tmp_path / "down.toml"
    config.write_text(
        f'database = "{tmp_path / "down.db"}"\n[crawl]\ndelay = 0\ntimeout = 5\n'
        f"obey_robots = {obey_robots}\nworkers = 1\n"
        f'[[sources]]\nname = "down"\nfeeds = ["http://127.0.0.1:{port}/feed.xml"]\n',
        "utf-8",
    )
    done = run_cli("crawl", "--config", str(config), timeout=60)
    assert done.returncode == 1, done.stderr[-3000:]  # a scheduler sees the failure
    assert done.stderr == ""
    assert "failed: connection refused for 1 host" in done.stdout, done.stdout
    conn = sqlite3.connect(tmp_path / "down.db")
    status, stats = conn.execute("SELECT status, stats FROM runs").fetchone()
    assert status == "failed"
    counts = json.loads(stats)["counts"]
    feed_kind, feed_error = conn.execute(
        "SELECT error_kind, error FROM fetches WHERE kind = 'feed'"
    ).fetchone()
    if obey_robots == "false":
        assert counts["errors.connection"] == 1
        assert feed_kind == "connection", feed_error
    else:  # robots.txt unreachable: the host is closed, the feed not even asked for
        assert counts["robots.hosts_closed"] == 1
        assert feed_kind == "robots_unavailable", feed_error


def test_article_that_failed_is_retried_although_its_feed_is_unchanged(tmp_path: Path) -> None:
    db = tmp_path / "flaky.db"
    with HostileSite(generated=2, flaky=True) as site:
        config = tmp_path / "flaky.toml"
        config.write_text(site.config_toml(str(db), feeds=["/gen-feed.xml"], workers=1), "utf-8")
        for _ in range(3):
            done = run_cli("crawl", "--config", str(config), timeout=60)
            assert done.returncode == 0, done.stderr[-3000:]
        # A 500, then stored on the retry, then re-checked as a recent article.
        assert site.paths("site").count("/flaky") == 3
    conn = sqlite3.connect(db)
    runs = conn.execute("SELECT status, stats FROM runs ORDER BY id").fetchall()
    assert [r[0] for r in runs] == ["partial", "ok", "ok"]
    assert [json.loads(r[1])["articles_new"] for r in runs] == [2, 1, 0]
    # The unchanged feed is re-read after the failure, not once every article was dealt with.
    assert "listings_unchanged" not in json.loads(runs[1][1])["counts"]
    assert json.loads(runs[2][1])["counts"].get("listings_unchanged") == 1
    assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] == 3
