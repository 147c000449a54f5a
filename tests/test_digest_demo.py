"""`newswatch digest` on the demo's database: the demo's stories in the brief's order
(new story, new coverage, then the updates, newest first) in all three formats."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.support.wait import wait_until

pytestmark = pytest.mark.e2e


def test_digest_of_the_demo_in_three_formats(tmp_path: Path) -> None:
    db = tmp_path / "newswatch-demo.db"
    done = run_cli("demo", "--db", str(db), timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    conn = sqlite3.connect(db)
    flags = conn.execute(
        "SELECT kind, story_id, created_at FROM flags WHERE run_id = (SELECT max(id) FROM runs)"
    ).fetchall()
    conn.close()
    story = {kind: f"s{story_id}" for kind, story_id, _ in flags}
    updates = [
        f"s{story_id}"
        for kind, story_id, _ in sorted(flags, key=lambda f: f[2], reverse=True)
        if kind in ("updated", "new_related")
    ]
    expected = [story["new_story"], story["new_coverage"], *updates]
    assert len(set(expected)) == 4  # the demo makes one story of each kind, two updates

    # A brief covers [since, now) in whole seconds: flags stored in the second the brief is
    # asked for go to the next one, and "--since 1s" below must not reach the newest flag.
    # The forked CLI asks within that second; a person does not.
    newest = max(datetime.fromisoformat(created.replace("Z", "+00:00")) for *_, created in flags)
    wait_until(
        lambda: datetime.now(UTC) - newest > timedelta(seconds=2.5),
        timeout=10,
        what="a second past the newest flag",
    )
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
    later = run_cli("digest", "--db", str(db), "--since", "1s", cwd=tmp_path)
    assert later.returncode == 0 and "Nothing new since" in later.stdout
