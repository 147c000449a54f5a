"""Shared fixtures: the sample news web crawled three times by the real `newswatch crawl`."""

from __future__ import annotations

import shutil
import socketserver
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

from crawler.sample_site import SampleWeb

REPO = Path(__file__).resolve().parent.parent
ServerT = TypeVar("ServerT", bound=socketserver.BaseServer)

# The sample web's robots.txt asks for a Crawl-delay of 1 s on borderwire (the demo shows it).
# Tests that crawl it keep the rule, one request at a time with a pause between them, and
# shorten the pause: the crawler takes the same path through RobotsCrawlDelay either way.
SAMPLE_CRAWL_DELAY = 0.05


def sample_web(state: int = 1) -> SampleWeb:
    """The sample web for a crawl in a test: robots.txt's Crawl-delay is ``SAMPLE_CRAWL_DELAY``."""
    return SampleWeb(state=state, crawl_delay=SAMPLE_CRAWL_DELAY)


def run_python(
    *args: str, timeout: float = 120, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """`python ARGS` in a real child process, run to its end; its output kept as text."""
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=timeout, cwd=cwd or REPO
    )


def run_cli(
    *args: str, timeout: float = 120, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m crawler ARGS` in a real child process."""
    return run_python("-m", "crawler", *args, timeout=timeout, cwd=cwd)


def start_cli(*args: str, **popen: Any) -> subprocess.Popen[str]:
    """`python -m crawler ARGS` started in a child process (text mode, from the repository);
    ``popen``: where its output goes, its environment."""
    return subprocess.Popen([sys.executable, "-m", "crawler", *args], cwd=REPO, text=True, **popen)


@contextmanager
def serving(server: ServerT) -> Iterator[ServerT]:
    """``server`` answering in a daemon thread until the block ends (shut down within 50 ms:
    serve_forever's default half-second poll would add that much to every test)."""
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


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
# Fixtures built once and shared by several tests (a crawl, a server): with the suite on
# several processes (pytest-xdist, --dist=loadgroup), the tests using one run in the same
# process, so it is built once. A test using two goes with the first listed.
SHARED_FIXTURES = ("monitored_web", "hostile", "budget_crawl", "redis_server", "extracted")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests that use a process-starting fixture as e2e, so `-m "not e2e"` stays fast;
    group the tests of each shared fixture on one test process."""
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if PROCESS_FIXTURES & names:
            item.add_marker(pytest.mark.e2e)
        shared = next((name for name in SHARED_FIXTURES if name in names), None)
        if shared is not None:
            item.add_marker(pytest.mark.xdist_group(shared))
