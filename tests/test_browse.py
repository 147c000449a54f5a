"""`newswatch browse`: the bundled Datasette metadata, canned queries, and a real screenshot."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from crawler.cli.main import cli
from crawler.read.browse import database_name, load_metadata
from tests.browser import chromium as browser_chromium
from tests.test_reading import make_sample_db


@pytest.fixture
def sample_db(tmp_path: Path) -> Path:
    return make_sample_db(tmp_path / "watch.db")


def get_json(db_path: Path, path: str) -> Any:
    pytest.importorskip("datasette")
    from crawler.read.browse import make_datasette

    datasette = make_datasette(db_path)

    async def fetch() -> Any:
        response = await datasette.client.get(path)
        assert response.status_code == 200, response.text
        return response.json()

    return asyncio.run(fetch())


def test_metadata_follows_the_database_name() -> None:
    metadata = load_metadata("watch")
    assert list(metadata["databases"]) == ["watch"]
    queries = metadata["databases"]["watch"]["queries"]
    assert {"new_flags", "stories"} <= set(queries)
    assert load_metadata()["databases"]["newswatch"]["tables"]["flags"]["facets"] == ["kind"]
    assert database_name("/data/watch.db") == "watch"


def test_canned_query_new_flags(sample_db: Path) -> None:
    rows = get_json(sample_db, "/watch/new_flags.json?_shape=array")
    assert [r["id"] for r in rows] == [6, 5, 4, 3, 2, 1]
    assert rows[0]["title"] == "Sheinbaum defiende la cooperación en seguridad tras la extradición"
    assert rows[0]["story_title"] == "México extradita a 29 narcotraficantes a Estados Unidos"
    assert rows[0]["url"].startswith("https://www.milenio.com/")
    CliRunner().invoke(cli, ["flags", "--db", str(sample_db), "--kind", "new_story", "--ack"])
    assert [r["id"] for r in get_json(sample_db, "/watch/new_flags.json?_shape=array")] == [
        6,
        5,
        4,
        2,
    ]


def test_canned_query_stories(sample_db: Path) -> None:
    rows = get_json(sample_db, "/watch/stories.json?_shape=array")
    assert [r["id"] for r in rows] == [1, 2]
    assert rows[0]["articles"] == 4 and rows[0]["outlets"] == 4 and rows[0]["copies"] == 1
    assert rows[0]["latest_source"] == "milenio"


def test_facets_and_full_text_search(sample_db: Path) -> None:
    flags = get_json(sample_db, "/watch/flags.json")
    kinds = {r["value"]: r["count"] for r in flags["facet_results"]["kind"]["results"]}
    assert kinds == {"new_story": 2, "new_coverage": 2, "updated": 1, "new_related": 1}
    articles = get_json(sample_db, "/watch/articles.json?_search=extradicion&_shape=objects")
    assert {r["id"] for r in articles["rows"]} == {1, 5}
    assert {"source", "language"} <= set(articles["facet_results"])


def test_browse_without_datasette_exits_2(sample_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "datasette.app", None)  # makes the import fail
    result = CliRunner().invoke(cli, ["browse", "--db", str(sample_db)])
    assert result.exit_code == 2
    assert "pip install 'newswatch[browse]'" in result.output


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.e2e
def test_browse_screenshot(sample_db: Path, tmp_path: Path) -> None:
    chromium = browser_chromium()  # under CI a missing Chromium fails the test
    pytest.importorskip("datasette")
    port = _free_port()
    url = f"http://127.0.0.1:{port}/watch/new_flags"
    server = subprocess.Popen(
        [sys.executable, "-m", "crawler", "browse", "--db", str(sample_db), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60  # a loaded machine starts Datasette slowly
        while True:
            try:
                with urllib.request.urlopen(url + ".json", timeout=2) as response:
                    assert response.status == 200
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    # Stop it first: reading a live server's stderr would wait for ever.
                    server.kill()
                    _, stderr = server.communicate(timeout=10)
                    pytest.fail(f"browse did not start: {stderr!r}")
                time.sleep(0.2)
        shot = tmp_path / "shot.png"
        subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={tmp_path / 'profile'}",
                f"--screenshot={shot}",
                "--window-size=1280,900",
                url,
            ],
            check=False,
            timeout=60,
            capture_output=True,
        )
        assert shot.exists(), "chromium wrote no screenshot"
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert shot.stat().st_size > 20_000  # a rendered page, not a blank one
        print(f"screenshot: {shot}")
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        server.stderr.close()  # type: ignore[union-attr]
