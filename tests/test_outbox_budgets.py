"""Unattended and hostile (webhook outbox, memory budgets, error kinds, search bounds), driven
through the CLI against loopback servers. Nothing may be lost, every cap is recorded."""

from __future__ import annotations

import gzip
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from crawler.sample_site import SampleWeb
from tests.conftest import run_cli, sample_web
from tests.support.cli import invoke
from tests.support.hostile_site import ARTICLES, HOST, HostileSite, article_html
from tests.support.small_servers import running

# -- a webhook receiver that can fail, recover, or drip ----------------------------------------


class Receiver(ThreadingHTTPServer):
    """Records every POST; ``mode`` is "ok", "fail" (HTTP 500) or "drip" (one byte a second)."""

    daemon_threads = True

    def __init__(self) -> None:
        self.mode = "ok"
        self.payloads: list[dict[str, Any]] = []
        self.failed_posts = 0
        self.drip_cut = threading.Event()  # the client hung up before the drip finished
        super().__init__(("127.0.0.1", 0), _ReceiverHandler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}/hook"


class _ReceiverHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Receiver

    def log_message(self, *args: Any) -> None:
        """Quiet."""

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.server.mode == "fail":
            self.server.failed_posts += 1
            self.send_response(500)
            self.send_header("Content-Length", "5")
            self.end_headers()
            self.wfile.write(b"down!")
            return
        if self.server.mode == "drip":
            try:
                for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n" + b"X" * 300:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(1.0)
            except OSError:
                self.server.drip_cut.set()
            self.close_connection = True
            return
        self.server.payloads.append(json.loads(body))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running(Receiver()) as server:
        yield server


def _query(db: Path, sql: str, params: list[Any] | None = None) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, params or []).fetchall()
    finally:
        conn.close()


def _sample_config(web: SampleWeb, db: Path, notify: str) -> str:
    return web.config_toml(str(db)) + "\n[notify]\n" + notify + "\n"


@pytest.mark.e2e
def test_webhook_outage_then_recovery_delivers_every_flag(
    tmp_path: Path, receiver: Receiver
) -> None:
    db = tmp_path / "hook.db"
    config = tmp_path / "hook.toml"
    with sample_web() as web:
        config.write_text(_sample_config(web, db, f'webhook = "{receiver.url}"'), "utf-8")
        receiver.mode = "fail"
        first = run_cli("crawl", "--config", str(config))
        assert first.returncode == 0, first.stderr[-2000:]
        flags_1 = {r[0] for r in _query(db, "SELECT id FROM flags")}
        assert flags_1 and receiver.failed_posts >= 1 and not receiver.payloads
        pending = {r[0] for r in _query(db, "SELECT flag_id FROM outbox")}
        assert pending == flags_1  # every undelivered flag waits in the outbox
        stats = json.loads(_query(db, "SELECT stats FROM runs")[0][0])
        assert stats["webhook"] == "failed" and stats["webhook_pending"] == len(flags_1)
        assert "HTTP 500" in stats["webhook_error"]
        shown = run_cli("runs", "--config", str(config))
        assert f"webhook backlog: {len(flags_1)} flag" in shown.stdout + shown.stderr

        receiver.mode = "ok"  # the receiver recovers; the site publishes more
        web.set_state(2)
        second = run_cli("crawl", "--config", str(config))
        assert second.returncode == 0, second.stderr[-2000:]
    every_flag = {r[0] for r in _query(db, "SELECT id FROM flags")}
    assert every_flag > flags_1
    delivered = [f["id"] for p in receiver.payloads for f in p["flags"]]
    assert set(delivered) == every_flag and len(delivered) == len(every_flag)
    assert delivered == sorted(delivered)  # the backlog went first, oldest first
    assert _query(db, "SELECT count(*) FROM outbox") == [(0,)]
    last = json.loads(_query(db, "SELECT stats FROM runs ORDER BY id DESC")[0][0])
    assert last["webhook"] == "sent" and last["webhook_sent"] == len(every_flag)
    shown = run_cli("runs", "--config", str(config), "--json")
    runs = json.loads(shown.stdout)
    assert runs[0]["webhook"]["state"] == "sent" and runs[0]["webhook"]["pending"] == 0
    assert "webhook backlog: none" in run_cli("runs", "--config", str(config)).stdout


@pytest.mark.e2e
def test_dripping_webhook_is_cut_at_the_deadline(tmp_path: Path, receiver: Receiver) -> None:
    db = tmp_path / "drip.db"
    config = tmp_path / "drip.toml"
    receiver.mode = "drip"
    with sample_web() as web:
        config.write_text(
            _sample_config(web, db, f'webhook = "{receiver.url}"\ndeadline = "2s"'), "utf-8"
        )
        # Undeadlined, 338 bytes at one a second would hold each POST for minutes.
        done = run_cli("crawl", "--config", str(config), timeout=90)
    assert done.returncode == 0, done.stderr[-2000:]
    assert receiver.drip_cut.wait(10)  # the crawl hung up on the receiver
    stats = json.loads(_query(db, "SELECT stats FROM runs")[0][0])
    assert stats["webhook"] == "failed" and "2s deadline" in stats["webhook_error"]
    flags = _query(db, "SELECT count(*) FROM flags")[0][0]
    assert flags and _query(db, "SELECT count(*) FROM outbox")[0][0] == flags


@pytest.mark.e2e
def test_slack_format_posts_text_and_blocks(tmp_path: Path, receiver: Receiver) -> None:
    db = tmp_path / "slack.db"
    config = tmp_path / "slack.toml"
    with sample_web() as web:
        config.write_text(
            _sample_config(web, db, f'webhook = "{receiver.url}"\nformat = "slack"'), "utf-8"
        )
        done = run_cli("crawl", "--config", str(config))
    assert done.returncode == 0, done.stderr[-2000:]
    flags = _query(db, "SELECT count(*) FROM flags")[0][0]
    assert receiver.payloads and set(receiver.payloads[0]) == {"text", "blocks"}
    lines = [line for p in receiver.payloads for line in p["text"].splitlines()[1:]]
    assert len(lines) == flags
    assert receiver.payloads[0]["text"].startswith("newswatch: ")
    first = receiver.payloads[0]["blocks"][1]["text"]
    assert first["type"] == "mrkdwn" and "<http://" in first["text"]


@pytest.mark.parametrize(
    ("notify", "key"),
    [
        ('webhook = "http://127.0.0.1:9/x"\nformat = "teams"', "notify.format"),
        ('webhook = "http://127.0.0.1:9/x"\ndeadline = "5 minutes"', "notify.deadline"),
        ('format = "slack"', "notify.webhook"),
    ],
)
def test_notify_config_errors_name_the_key(tmp_path: Path, notify: str, key: str) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(
        f'[[sources]]\nname = "x"\nfeeds = ["http://127.0.0.1:9/f"]\n[notify]\n{notify}\n', "utf-8"
    )
    done = invoke("crawl", "--config", str(config), "--db", str(tmp_path / "x.db"))
    assert done.returncode == 2 and f"config error: {key}:" in done.stderr, done.stderr


# -- a hostile site with caps to hit -------------------------------------------------------------

LINKS_ON_PAGE = 60
CHILD_URLS = 40


class BudgetSite(HostileSite):
    """The hostile site plus: a section page with many links, a sitemap index whose children
    list many URLs, a gzip bomb as ``.xml.gz``, redirects to other schemes, UTF-16."""

    def __init__(self, bomb_gz: bytes, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bomb_gz = bomb_gz

    def _routes(self) -> dict[str, Callable[[Any, str], None]]:
        def redirect(target: str) -> Callable[[Any, str], None]:
            return lambda h, p: self._send(h, 302, headers=[("Location", target)])

        utf16 = article_html(*ARTICLES["ok-2"]).replace('<meta charset="utf-8">', "")
        return {
            **super()._routes(),
            "/many-links": lambda h, p: self._send(
                h,
                200,
                (
                    "<html><head><meta property='og:type' content='website'></head><body>"
                    + "".join(f"<a href='/gen/{n}'>Case {n}</a> " for n in range(LINKS_ON_PAGE))
                    + "</body></html>"
                ).encode(),
            ),
            "/budget-index.xml": lambda h, p: self._send(
                h,
                200,
                (
                    '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/'
                    'sitemap/0.9">'
                    + "".join(
                        f"<sitemap><loc>{self.base}/budget-{i}.xml</loc></sitemap>"
                        for i in range(4)
                    )
                    + "</sitemapindex>"
                ).encode(),
                "application/xml",
            ),
            **{f"/budget-{i}.xml": self._budget_child for i in range(4)},
            "/bomb.xml.gz": lambda h, p: self._send(h, 200, self.bomb_gz, "application/gzip"),
            "/news/utf16": lambda h, p: self._send(
                h, 200, utf16.encode("utf-16-le"), "text/html; charset=UTF-16"
            ),
            "/news/to-file": redirect("file:///etc/passwd"),
            "/news/to-gopher": redirect("gopher://127.0.0.1:70/1"),
            "/news/to-ftp": redirect("ftp://127.0.0.1/pub/x.html"),
            "/news/to-js": redirect("javascript:alert(1)"),
            "/feed-b.xml": lambda h, p: self._send(
                h,
                200,
                self._rss(
                    "B",
                    [
                        f"{self.base}/news/{slug}"
                        for slug in ("utf16", "to-file", "to-gopher", "to-ftp", "to-js", "ok-1")
                    ],
                ),
                "application/rss+xml",
            ),
        }

    def _budget_child(self, h: Any, path: str) -> None:
        child = int(path.split("-")[1].split(".")[0])
        start = 1000 + child * CHILD_URLS
        self._send(
            h,
            200,
            self._urlset([f"{self.base}/gen/{n}" for n in range(start, start + CHILD_URLS)]),
            "application/xml",
        )


def _gzip_bomb_xml() -> bytes:
    """A .xml.gz of ~60 KB that inflates to 64 MiB of XML whitespace."""
    head = b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
    return gzip.compress(head + b" " * (64 * 1024 * 1024), compresslevel=9)


@pytest.fixture(scope="module")
def budget_crawl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Any, Any]]:
    workdir = tmp_path_factory.mktemp("budgets")
    db = workdir / "budgets.db"
    with BudgetSite(_gzip_bomb_xml(), generated=0) as site:
        config = workdir / "budgets.toml"
        text = site.config_toml(
            str(db),
            feeds=["/feed-b.xml"],
            sitemaps=["/budget-index.xml", "/bomb.xml.gz"],
            extra_crawl="max_links_per_page = 10\nmax_sitemap_urls_per_source = 100\n"
            "max_sitemap_bytes = 8388608",
        )
        text = text.replace(
            "[[sources]]",
            f'[[sources]]\nname = "sections"\n'
            f'pages = ["{site.base}/many-links"]\n'
            f'allowed_domains = ["{HOST}"]\n\n[[sources]]',
            1,
        )
        config.write_text(text, "utf-8")
        done = run_cli("crawl", "--config", str(config), timeout=120)
        site.first_paths = site.paths()  # type: ignore[attr-defined]
        again = run_cli("crawl", "--config", str(config), timeout=120)
        yield db, site, (done, again)


def _error(db: Path, url: str) -> str | None:
    rows = _query(db, "SELECT error_kind || ': ' || error FROM fetches WHERE url = ?", [url])
    return rows[0][0] if rows else None


@pytest.mark.e2e
def test_caps_are_hit_and_recorded(budget_crawl: tuple[Path, Any, Any]) -> None:
    db, site, (done, _) = budget_crawl
    assert done.returncode == 0, done.stderr[-2000:]
    stats = json.loads(_query(db, "SELECT stats FROM runs ORDER BY id")[0][0])
    counts = stats["counts"]
    assert counts["limits.links_per_page"] == LINKS_ON_PAGE - 10
    assert counts["limits.sitemap_urls"] == 4 * CHILD_URLS - 100
    # Distinct paths: on a loaded machine a slow answer may be retried once.
    gen = {int(p[5:]) for p in site.first_paths if p.startswith("/gen/")}
    assert len([n for n in gen if n < 1000]) == 10  # links followed: the cap
    assert len([n for n in gen if n >= 1000]) == 100  # sitemap URLs: the budget
    assert "caps hit:" in done.stdout and "links_per_page 50" in done.stdout


@pytest.mark.e2e
def test_capped_sitemaps_are_read_again_next_run(budget_crawl: tuple[Path, Any, Any]) -> None:
    """The URLs a budget left out are not lost: the index and the capped children are not
    saved as unchanged, so the next run reads them and takes what was left."""
    db, site, (_, again) = budget_crawl
    assert again.returncode == 0, again.stderr[-2000:]
    second = json.loads(_query(db, "SELECT stats FROM runs ORDER BY id")[1][0])["counts"]
    assert "limits.sitemap_urls" not in second
    fetched = {int(p[5:]) for p in site.paths() if p.startswith("/gen/")}
    assert set(range(1000, 1000 + 4 * CHILD_URLS)) <= fetched


@pytest.mark.e2e
def test_requests_per_source_cap(tmp_path: Path) -> None:
    db = tmp_path / "cap.db"
    with HostileSite(generated=30) as site:
        config = tmp_path / "cap.toml"
        config.write_text(
            site.config_toml(
                str(db), feeds=["/gen-feed.xml"], extra_crawl="max_requests_per_source = 12"
            ),
            "utf-8",
        )
        done = run_cli("crawl", "--config", str(config))
        assert done.returncode == 0, done.stderr[-2000:]
        fetched = {p for p in site.paths() if p.startswith("/gen/")}
    counts = json.loads(_query(db, "SELECT stats FROM runs")[0][0])["counts"]
    assert len(fetched) == 12 and counts["limits.requests_per_source"] == 30 - 12
    assert "requests_per_source 18" in done.stdout


@pytest.mark.e2e
def test_gzip_sitemap_bomb_is_too_large(budget_crawl: tuple[Path, Any, Any]) -> None:
    db, site, _ = budget_crawl
    error = _error(db, f"{site.base}/bomb.xml.gz")
    assert error and error.startswith("too_large:"), error
    assert "8388608" in error


@pytest.mark.e2e
def test_redirects_to_other_schemes_are_refused_by_scheme(
    budget_crawl: tuple[Path, Any, Any],
) -> None:
    db, site, (done, _) = budget_crawl
    for slug in ("to-file", "to-gopher", "to-ftp", "to-js"):
        error = _error(db, f"{site.base}/news/{slug}")
        assert error and error.startswith("refused:") and "(scheme)" in error, (slug, error)
    counts = json.loads(_query(db, "SELECT stats FROM runs ORDER BY id")[0][0])["counts"]
    assert counts["refused.scheme"] == 4
    assert "passwd" not in done.stderr


@pytest.mark.e2e
def test_page_declared_utf16_in_the_header_is_stored(budget_crawl: tuple[Path, Any, Any]) -> None:
    db, site, _ = budget_crawl
    assert _error(db, f"{site.base}/news/utf16") is None
    (title,) = _query(db, "SELECT title FROM articles WHERE url = ?", [f"{site.base}/news/utf16"])[
        0
    ]
    assert title == ARTICLES["ok-2"][0]


# -- search bounds -----------------------------------------------------------------------------


@pytest.mark.e2e
def test_search_bounds_terms_and_says_how(monitored_web: Any) -> None:
    db = str(monitored_web.third.db_path)
    huge = " OR ".join(f"w{n}*" for n in range(3000))
    done = run_cli("search", huge, "--db", db, "--json", timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "3000 terms; searched the first 32" in done.stderr
    short = run_cli("search", "c* fentanyl", "--db", db, "--json")
    assert "prefix shorter than 2" in short.stderr
    bad = run_cli("search", "fentanyl AND (", "--db", db, "--json")
    assert bad.returncode == 2 and "bad query at column 14" in bad.stderr  # no silent fallback
    plain = run_cli("search", "fentanyl", "--db", db, "--json")
    assert plain.stderr == "" and json.loads(plain.stdout)
