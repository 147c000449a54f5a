"""Commands import only what they use: help and read commands load no crawler machinery."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from crawler.store.storage import open_database

pytestmark = pytest.mark.e2e  # each test starts a fresh interpreter

REPO = Path(__file__).resolve().parent.parent
HEAVY = ("scrapy", "twisted", "trafilatura", "htmldate", "apscheduler", "feedparser", "wordfreq")

SCRIPT = """
import sys
from crawler.cli.main import cli
db = sys.argv[1]
for args in (["--help"], ["crawl", "--help"], ["flags", "--db", db], ["stories", "--db", db],
             ["search", "cartel", "--db", db], ["runs", "--db", db], ["sources", "--db", db],
             ["feed", "--db", db], ["flags", "--json", "--db", db]):
    try:
        cli.main(args, standalone_mode=False)
    except SystemExit:
        pass
heavy = [m for m in sys.argv[2:] if m in sys.modules]
assert not heavy, heavy
"""


def test_help_and_read_commands_import_no_crawl_machinery(tmp_path: Path) -> None:
    db = tmp_path / "read.db"
    open_database(db).close()
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(db), *HEAVY],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_the_crawl_process_leaves_extraction_to_its_workers() -> None:
    """The crawl's own imports (before its spider opens) carry no extraction library: the
    workers import it after the fork, while the crawl process imports Scrapy."""
    code = (
        "import sys, crawler.crawl, crawler.processing.pool, crawler.ingest.ingest;"
        "import crawler.scraping.pipelines, spiders.news;"
        "bad = [m for m in ('trafilatura', 'htmldate', 'py3langid', 'wordfreq')"
        " if m in sys.modules]; assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, timeout=120)
