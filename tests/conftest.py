"""Shared fixtures: the sample news web crawled three times by the real `newswatch crawl`."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from crawler.sample_site import SampleWeb
from tests.support import forked

REPO = Path(__file__).resolve().parent.parent

# The sample web's robots.txt asks for a Crawl-delay of 1 s on borderwire (the demo shows it).
# Tests that crawl it keep the rule, one request at a time with a pause between them, and
# shorten the pause: the crawler takes the same path through RobotsCrawlDelay either way.
SAMPLE_CRAWL_DELAY = 0.05


def sample_web(state: int = 1) -> SampleWeb:
    """The sample web for a crawl in a test: robots.txt's Crawl-delay is ``SAMPLE_CRAWL_DELAY``."""
    return SampleWeb(state=state, crawl_delay=SAMPLE_CRAWL_DELAY)


def run_python(
    *args: str,
    timeout: float = 120,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """`python ARGS` in a fresh interpreter, run to its end; its output kept as text."""
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd or REPO,
        env=env,
    )


def run_cli(
    *args: str,
    timeout: float = 120,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """`python -m crawler ARGS` in a separate process forked from this test process's zygote
    (tests/support/forked.py: the real command, without the interpreter's start-up), or in a
    fresh interpreter when ``env`` changes what is read at start-up. Tests of kills,
    signals, the interpreter's own exit and memory use ``run_cli_process`` or ``start_cli``."""
    environment = dict(os.environ if env is None else env)
    if forked.forkable(environment):
        return forked.run_forked(list(args), cwd=cwd or REPO, env=environment, timeout=timeout)
    return run_cli_process(*args, timeout=timeout, cwd=cwd, env=environment)


def run_cli_bytes(
    *args: str, timeout: float = 120, cwd: Path | None = None
) -> subprocess.CompletedProcess[bytes]:
    """``run_cli`` with the output kept as bytes (escape sequences and all)."""
    if forked.forkable(os.environ):
        return forked.run_forked_bytes(list(args), cwd=cwd or REPO, env=os.environ, timeout=timeout)
    command = [sys.executable, "-m", "crawler", *args]
    return subprocess.run(command, capture_output=True, timeout=timeout, cwd=cwd or REPO)


def run_cli_process(
    *args: str,
    timeout: float = 120,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """`python -m crawler ARGS` in a fresh interpreter."""
    return run_python("-m", "crawler", *args, timeout=timeout, cwd=cwd, env=env)


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


# Fixtures that run real newswatch processes (crawls): every test using one belongs to the e2e
# tier.
PROCESS_FIXTURES = frozenset({"monitored_web", "desk", "crawled"})

# The suite runs on two processes (pytest-xdist). A fixture built once and shared by several
# tests (a crawl, a server) is built in each process that runs one of them, so the modules
# using one run in one process: the modules of the session-wide monitored web together, each
# module with a module-wide fixture as a whole; any other test goes wherever there is room.
# `SHARED_FIXTURES` names those fixtures: collection fails if a module using one is not here.
MONITORED_WEB_MODULES = frozenset(
    {
        "test_cli_messages.py",
        "test_crawl_sample.py",
        "test_distributed.py",
        "test_firsthour.py",
        "test_maintenance.py",
        "test_outbox_budgets.py",
    }
)
WHOLE_MODULES = frozenset(
    {
        "test_desk.py",
        "test_hostile.py",
        "test_prefilter.py",
        "test_realpages.py",
        "test_sample_site.py",
        "test_story_corrections.py",
        "test_story_links.py",
        "test_story_order.py",
        "test_story_page.py",
    }
)
SHARED_FIXTURES = frozenset(
    {"monitored_web", "redis_server", "hostile", "gzip_bomb", "budget_crawl", "extracted"}
    | {"web", "reports", "on_topic", "browse"}
    | {"split_crawl", "sample_corrected", "desk", "crawled"}
)


def _test_module(nodeid: str) -> str:
    return nodeid.split("::", 1)[0].rpartition("/")[2]


def xdist_unit(nodeid: str) -> str:
    """The unit of work a test belongs to: tests of one unit run in one process, in order."""
    module = _test_module(nodeid)
    if module in MONITORED_WEB_MODULES:
        return "monitored_web"
    return module if module in WHOLE_MODULES else nodeid


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark tests that use a process-starting fixture as e2e, so `-m "not e2e"` stays fast;
    check that every test of a shared fixture has its place in ``xdist_unit``. In a test
    process of xdist, put the units with e2e tests first (see ``pytest_xdist_make_scheduler``)."""
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if PROCESS_FIXTURES & names:
            item.add_marker(pytest.mark.e2e)
        shared = SHARED_FIXTURES & names
        if shared and xdist_unit(item.nodeid) == item.nodeid:
            raise pytest.UsageError(
                f"{item.nodeid} uses {sorted(shared)}: list its module in tests/conftest.py "
                "(MONITORED_WEB_MODULES or WHOLE_MODULES)"
            )
    if hasattr(config, "workerinput"):
        slow = {xdist_unit(i.nodeid) for i in items if i.get_closest_marker("e2e")}
        items.sort(key=lambda item: xdist_unit(item.nodeid) not in slow)  # stable: order kept


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """Test processes for ``-n auto`` (pyproject's addopts): three for the whole suite, two
    for the fast tier. Each process imports and collects in about 4 CPU seconds. The fast
    tier keeps both cores busy with two; e2e tests spend much of their time waiting on child
    processes, timers and loopback servers, and a third process works in those waits."""
    return 2 if "not e2e" in (config.option.markexpr or "") else 3


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Load balancing by ``xdist_unit`` (xdist's own --dist=loadgroup marks do not take
    effect with pytest 9). Units are handed out longest first, so that the processes finish
    together: those of many tests first (xdist's --loadscope-reorder, on by default), then
    the single e2e tests (first in the collection, ``pytest_collection_modifyitems``), then
    the quick ones, which fill the gaps at the end."""
    from xdist.scheduler import LoadScopeScheduling

    class UnitScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return xdist_unit(nodeid)

    return UnitScheduling(config, log)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop this test process's zygote (tests/support/forked.py), if it started one."""
    forked.stop_zygote()
