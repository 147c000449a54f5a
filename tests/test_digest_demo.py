"""`newswatch digest` on the demo's database: the demo's stories in the brief's order
(new story, new coverage, then the updates, newest first) in all three formats."""

from __future__ import annotations

import re
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from crawler.core.timeutil import parse_iso
from tests.conftest import SAMPLE_CRAWL_DELAY, run_cli

pytestmark = pytest.mark.e2e


def test_digest_of_the_demo_in_three_formats(tmp_path: Path) -> None:
    db = tmp_path / "newswatch-demo.db"
    # The sample web's Crawl-delay shortened (the demo's own 1 s is not what this tests).
    delay = str(SAMPLE_CRAWL_DELAY)
    done = run_cli("demo", "--db", str(db), "--crawl-delay", delay, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    conn = sqlite3.connect(db)
    flags = conn.execute(
        "SELECT kind, story_id, created_at FROM flags WHERE run_id = (SELECT max(id) FROM runs)"
    ).fetchall()
    conn.close()
    story = {kind: f"s{story_id}" for kind, story_id, _ in flags}
    # Updates: the newest first, then the lower story id (two flags may share a second).
    newest_first = sorted(flags, key=lambda f: (-parse_iso(f[2]).timestamp(), f[1]))
    updates = [
        f"s{story_id}" for kind, story_id, _ in newest_first if kind in ("updated", "new_related")
    ]
    expected = [story["new_story"], story["new_coverage"], *updates]
    assert len(set(expected)) == 4  # the demo makes one story of each kind, two updates

    # A brief runs to the newest flag stored, one stored in the second it is asked for too.
    text = run_cli("digest", "--db", str(db), cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    assert re.findall(r"\[(s\d+)\]$", text.stdout, re.MULTILINE) == expected
    headings = re.findall(r"^== (.+) ==$", text.stdout, re.MULTILINE)
    assert headings == ["New stories", "New coverage", "Updates"]
    assert "US Treasury sanctions money-laundering network" in text.stdout

    markdown = run_cli("digest", "--db", str(db), "--format", "markdown", cwd=tmp_path)
    assert markdown.returncode == 0, markdown.stderr
    assert re.findall(r"^### .* \((s\d+)\)$", markdown.stdout, re.MULTILINE) == expected
    assert re.findall(r"^## (.+)$", markdown.stdout, re.MULTILINE) == headings

    page = run_cli("digest", "--db", str(db), "--format", "html", cwd=tmp_path)
    assert page.returncode == 0, page.stderr
    assert re.findall(r'<div class="story" data-ref="(s\d+)">', page.stdout) == expected

    # A period with nothing in it says so plainly.
    quiet = run_cli("digest", "--db", str(db), "--since", "2000-01-01T00:00:00Z", cwd=tmp_path)
    assert "Nothing new" not in quiet.stdout
    # A second past the newest flag (flags are stamped in whole seconds): nothing after it.
    newest = max(parse_iso(created) for *_, created in flags)
    after = (newest + timedelta(seconds=1)).isoformat()
    later = run_cli("digest", "--db", str(db), "--since", after, cwd=tmp_path)
    assert later.returncode == 0 and "Nothing new since" in later.stdout
