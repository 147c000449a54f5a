"""User-facing messages of the demo, extract, worker and the sample web's fixed ports."""

from __future__ import annotations

import gzip
import shutil
import socket
import sqlite3
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from crawler.cli.demo import DemoError, clear_previous_demo, explain
from crawler.cli.main import cli
from crawler.sample_site import SampleWeb
from crawler.store.storage import open_database
from tests.conftest import REPO, MonitoredWeb

# -- demo -------------------------------------------------------------------------------------


@pytest.mark.e2e
def test_demo_explains_flags_and_what_it_left_alone(
    monitored_web: MonitoredWeb, tmp_path: Path
) -> None:
    """The demo's closing part, on the sample web after it published (crawl 2)."""
    db_path = tmp_path / "newswatch-demo.db"
    shutil.copy(monitored_web.second.db_path, db_path)
    web = monitored_web.web
    urls = {key: web.article_url(key) for key in web.expected["articles"]}
    db = open_database(db_path)
    runner = CliRunner()
    with runner.isolation() as (out, _err, _):
        explain(db, urls, web.expected["no_flag_state2"], db_path)
    text = out.getvalue().decode()
    db.close()
    flags = sqlite3.connect(db_path).execute(
        "SELECT kind, story_id, article_id FROM flags WHERE run_id = 2"
    )
    by_kind = {kind: (story, article) for kind, story, article in flags}
    assert "\nFlags from crawl 2 (4):\n" in text
    assert "  new_coverage  another outlet's own report joins a story already known\n" in text
    assert "  updated       a known article's text changed for real" in text
    prose = [line for line in text.splitlines() if "\t" not in line and str(db_path) not in line]
    assert max(len(line) for line in prose) <= 80  # piped flag rows are whole, by design
    copy_id = _article_id(db_path, web.article_url("np-sanctions-copy"))
    original_id = _article_id(db_path, web.article_url("bw-sanctions"))
    assert f"  a{copy_id:<12} near-duplicate of a{original_id}\n" in text
    assert "  (not stored)  off-topic\n" in text
    assert f"The database stays at {db_path} (the next demo replaces it). Try:" in text
    flags_command = f"  newswatch flags --db {db_path} --unacked --ack\n"
    assert f"  # the new flags, then mark them seen\n{flags_command}" in text
    assert f"newswatch show s{by_kind['new_coverage'][0]} --db {db_path}" in text
    assert f"newswatch show a{by_kind['updated'][1]} --db {db_path}" in text


def _article_id(db_path: Path, url: str) -> int:
    return (
        sqlite3.connect(db_path)
        .execute("SELECT id FROM articles WHERE url = ?", [url])
        .fetchone()[0]
    )


@pytest.mark.e2e
def test_demo_replaces_its_own_database_only(monitored_web: MonitoredWeb, tmp_path: Path) -> None:
    demo_db = tmp_path / "newswatch-demo.db"
    shutil.copy(monitored_web.first.db_path, demo_db)
    Path(f"{demo_db}-wal").write_bytes(b"")
    clear_previous_demo(demo_db)
    assert not demo_db.exists() and not Path(f"{demo_db}-wal").exists()
    mine = tmp_path / "mine.db"
    db = open_database(mine)
    db.execute(
        "INSERT INTO articles (url, source, first_seen, last_seen) "
        "VALUES ('u', 'reuters', 'x', 'x')"
    )
    db.close()
    with pytest.raises(DemoError):
        clear_previous_demo(mine)
    result = CliRunner().invoke(cli, ["demo", "--db", str(mine)])
    assert result.exit_code == 1
    assert result.output == (
        f"newswatch: {mine} is not a demo database: not replacing it (pass another --db)\n"
    )
    assert mine.stat().st_size > 0


def test_demo_options_all_do_something() -> None:
    help_text = CliRunner().invoke(cli, ["demo", "--help"]).output
    assert "[default: newswatch-demo.db]" in help_text
    for gone in ("--keep", "--config"):
        result = CliRunner().invoke(cli, ["demo", gone, "x"])
        assert result.exit_code == 2 and "No such option" in result.output


def test_worker_rejects_db() -> None:
    result = CliRunner().invoke(cli, ["worker", "--db", "x.db"])
    assert result.exit_code == 2
    assert result.output == (
        "newswatch: worker takes no --db: workers keep no database; pass --db to "
        "`newswatch crawl`\n"
    )


# -- extract ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "body", "message"),
    [
        ("empty.html", b"", "newswatch: no article in {path}: empty body\n"),
        (
            "logo.html",
            bytes(range(256)) * 8,
            "newswatch: no article in {path}: binary content, not an HTML page\n",
        ),
        (
            "page.html.gz",
            b"<html><body><p>plain, not gzip</p></body></html>",
            "newswatch: cannot read {path}: not gzip data (rename it without .gz?)\n",
        ),
        (
            "blank.html",
            b"<html><head><title>Home</title></head><body><div> </div></body></html>",
            "newswatch: no article found in {path}: the page has no article text\n",
        ),
    ],
)
def test_extract_says_why_it_found_no_article(
    tmp_path: Path, name: str, body: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(body)
    result = CliRunner().invoke(cli, ["extract", str(path)])
    assert result.exit_code == 1
    assert result.output == message.format(path=path)


def test_extract_reads_a_real_gzip_file(tmp_path: Path) -> None:
    path = tmp_path / "page.html.gz"
    paragraph = "The ministers met in Washington to talk about cartels and border security. " * 4
    html = f"<html><body><article><h1>Talks</h1><p>{paragraph}</p></article></body></html>"
    path.write_bytes(gzip.compress(html.encode()))
    result = CliRunner().invoke(cli, ["extract", str(path)])
    assert result.exit_code == 0, result.output
    assert "ministers met in Washington" in result.output


# -- the sample web on fixed ports -------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_sample_web_serves_every_host_on_a_fixed_port() -> None:
    port = _free_port()
    with SampleWeb(port=port) as web:
        assert set(web.base_urls.values()) == {f"http://127.0.0.{n}:{port}" for n in (1, 2, 3, 9)}
        with urllib.request.urlopen(web.url("diario", "/robots.txt")) as response:
            assert b"Sitemap:" in response.read()


@pytest.mark.e2e
def test_sample_site_module_prints_urls_and_a_config(tmp_path: Path) -> None:
    port = _free_port()
    config = tmp_path / "sample.toml"
    child = subprocess.Popen(
        [sys.executable, "-m", "crawler.sample_site", "--port", str(port), "--config", str(config)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert child.stdout is not None
        lines = [child.stdout.readline() for _ in range(6)]
    finally:
        child.terminate()
        child.wait(timeout=30)
        child.stdout.close()
    assert lines[0] == f"borderwire  http://127.0.0.1:{port}/\n"
    assert lines[5] == f"wrote a config for it to {config}\n"
    assert f'feeds = ["http://127.0.0.1:{port}/rss.xml"]' in config.read_text("utf-8")
