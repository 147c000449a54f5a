"""The story page, the browse home page and the HTML brief, opened in headless Chromium:
the elements a person reads are checked in the DOM Chromium built, and a screenshot of each
is kept under the test's tmp folder."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import lxml.html
import pytest
from click.testing import CliRunner

from crawler.cli.main import cli
from tests.browser import chromium, dump_dom, screenshot
from tests.receivers import free_port
from tests.test_reading import make_sample_db

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def browse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`newswatch browse` on the sample database; yields its base URL."""
    chromium()  # fail (CI) or skip before starting anything
    pytest.importorskip("datasette")
    db = make_sample_db(tmp_path_factory.mktemp("browse") / "watch.db")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "crawler", "browse", "--db", str(db), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(base + "/-/stories", timeout=2) as response:
                    assert response.status == 200
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    server.kill()
                    _, stderr = server.communicate(timeout=10)
                    pytest.fail(f"browse did not start: {stderr!r}")
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        server.stderr.close()  # type: ignore[union-attr]


def text(node: lxml.html.HtmlElement) -> str:
    return " ".join(node.text_content().split())


def test_story_page_in_chromium(browse: str, tmp_path: Path) -> None:
    url = f"{browse}/-/story/1"
    page = lxml.html.fromstring(dump_dom(url, tmp_path / "profile"))
    assert text(page.get_element_by_id("story-title")).startswith(
        "México extradita a 29 narcotraficantes a Estados Unidos"
    )
    assert text(page.get_element_by_id("coverage-line")) == (
        "4 outlets · en, es · 3 independent reports"
    )
    # The chart: per day by country and by language, drawn inline (no script, no fetch).
    charts = page.cssselect("svg.coverage-chart")
    assert [c.get("data-by") for c in charts] == ["country", "language"]
    language_bars = {
        (bar.get("data-day"), bar.get("data-value")): int(bar.get("data-count"))
        for bar in charts[1].cssselect("rect.bar")
    }
    assert language_bars == {
        ("2026-03-01", "es"): 1,
        ("2026-03-01", "en"): 2,
        ("2026-03-02", "es"): 1,
    }
    assert not page.cssselect("script[src]") and not page.cssselect("link[href^='http']")
    # The timeline: every report in order, the copy marked, flags shown.
    rows = page.cssselect("#timeline tbody tr.report")
    assert [r.get("data-article") for r in rows] == ["1", "2", "3", "5"]
    assert "copy of a2" in text(rows[2])
    assert "new_story" in text(rows[0]) and "updated" in text(rows[0])
    # Each article's text and versions.
    first = page.get_element_by_id("a1")
    assert len(first.cssselect("details.nw-version")) == 2
    assert "La presidenta defendió" in text(
        page.get_element_by_id("a5").cssselect("pre.nw-text")[0]
    )
    shot = screenshot(url, tmp_path / "story.png", tmp_path / "profile")
    print(f"screenshot: {shot}")


def test_home_page_leads_to_the_stories(browse: str, tmp_path: Path) -> None:
    home = lxml.html.fromstring(dump_dom(browse + "/", tmp_path / "profile"))
    link = home.get_element_by_id("stories-link")
    assert link.get("href") == "/-/stories"
    assert {"articles", "stories", "flags"} <= {text(a) for a in home.cssselect("a")}
    screenshot(browse + "/", tmp_path / "home.png", tmp_path / "profile")
    listing = lxml.html.fromstring(dump_dom(browse + "/-/stories", tmp_path / "profile"))
    links = [a.get("href") for a in listing.cssselect("#stories a.story-link")]
    assert links == ["/-/story/1", "/-/story/2"]
    missing = urllib.request.Request(browse + "/-/story/99")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(missing, timeout=10)
    assert caught.value.code == 404
    caught.value.close()


def test_html_brief_in_chromium(tmp_path: Path) -> None:
    chromium()
    db = make_sample_db(tmp_path / "watch.db")
    result = CliRunner().invoke(
        cli, ["digest", "--db", str(db), "--since", "2026-03-01", "--format", "html"]
    )
    assert result.exit_code == 0
    page_file = tmp_path / "brief.html"
    page_file.write_text(result.stdout, "utf-8")
    url = page_file.as_uri()
    page = lxml.html.fromstring(dump_dom(url, tmp_path / "profile"))
    assert text(page.get_element_by_id("digest-title")).startswith("newswatch brief: 2 stories")
    assert [text(h) for h in page.cssselect("h2.section")] == ["New stories"]
    stories = page.cssselect("div.story")
    # s1 was active last (its report on 2 March): it comes first.
    assert [s.get("data-ref") for s in stories] == ["s1", "s2"]
    assert "<seizures>" in text(stories[1].cssselect("h3")[0])  # shown, not parsed as a tag
    assert len(stories[0].cssselect("a.report")) == 3
    screenshot(url, tmp_path / "brief.png", tmp_path / "profile", size="900,1000")
