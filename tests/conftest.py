"""Shared fixtures: the sample news web crawled three times by the real `newswatch crawl`."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from crawler.sample_site import SampleWeb

REPO = Path(__file__).resolve().parent.parent

# The sample web's robots.txt asks for a Crawl-delay of 1 s on borderwire (the demo shows it).
# Tests that crawl it keep the rule, one request at a time with a pause between them, and
# shorten the pause: the crawler takes the same path through RobotsCrawlDelay either way.
SAMPLE_CRAWL_DELAY = 0.05


def sample_web(state: int = 1) -> SampleWeb:
    """The sample web for a crawl in a test: robots.txt's Crawl-delay is ``SAMPLE_CRAWL_DELAY``."""
    return SampleWeb(state=state, crawl_delay=SAMPLE_CRAWL_DELAY)


def run_cli(
    *args: str, timeout: float = 120, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m crawler ARGS` in a real child process."""
    return subprocess.run(
        [sys.executable, "-m", "crawler", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd or REPO,
    )


@dataclass
class Stage:
    """One crawl of the sample web: the database after it and the requests it made."""

    db_path: Path
    requests: list = field(default_factory=list)
    output: str = ""

    def db(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.db_path)
        conn.row_factory = sqlite3.Row
        return conn


@dataclass
class MonitoredWeb:
    web: SampleWeb
    first: Stage
    second: Stage
    third: Stage

    @property
    def expected(self) -> dict:
        return self.web.expected


def crawl_stage(web: SampleWeb, config: Path, db: Path, snapshot: Path) -> Stage:
    web.reset_log()
    done = run_cli("crawl", "--config", str(config), "--db", str(db))
    assert done.returncode == 0, done.stderr[-3000:]
    shutil.copy(db, snapshot)
    for suffix in ("-wal", "-shm"):
        if Path(f"{db}{suffix}").exists():
            shutil.copy(f"{db}{suffix}", f"{snapshot}{suffix}")
    return Stage(snapshot, web.requests, done.stdout + done.stderr)


@pytest.fixture(scope="session")
def monitored_web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MonitoredWeb]:
    """State 1 crawled, the site publishes (state 2) and is crawled, then crawled again."""
    workdir = tmp_path_factory.mktemp("monitored")
    db = workdir / "newswatch.db"
    with sample_web() as web:
        config = workdir / "sample.toml"
        config.write_text(web.config_toml(str(db)), "utf-8")
        first = crawl_stage(web, config, db, workdir / "after-1.db")
        web.set_state(2)
        second = crawl_stage(web, config, db, workdir / "after-2.db")
        third = crawl_stage(web, config, db, workdir / "after-3.db")
        yield MonitoredWeb(web, first, second, third)


# Fixtures that run real newswatch processes: every test using one belongs to the e2e tier.
PROCESS_FIXTURES = frozenset({"monitored_web"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests that use a process-starting fixture as e2e, so `-m "not e2e"` stays fast."""
    for item in items:
        if PROCESS_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.e2e)
