"""`newswatch` in a child process (a fresh interpreter), and `newswatch schedule` started and
stopped the one way the tests and the benchmarks (benchmarks/hostile.py) both use."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from tests.support.forked import ForkedPopen, forkable, start_forked

REPO = Path(__file__).resolve().parents[2]


def start_cli(*args: str, **popen: Any) -> subprocess.Popen[str]:
    """`python -m crawler ARGS` started in a fresh interpreter (text mode, from the
    repository); ``popen``: where its output goes, its environment."""
    return subprocess.Popen([sys.executable, "-m", "crawler", *args], cwd=REPO, text=True, **popen)


Process = subprocess.Popen[str] | ForkedPopen


def start_scheduler(
    config: Path, log: Path, env: Mapping[str, str] | None = None
) -> tuple[Process, IO[str]]:
    """`newswatch schedule`, its stdout and stderr to ``log`` (a pipe nobody reads would fill
    up): the process and the open log. The scheduler is forked from the test process's zygote
    (tests/support/forked.py): a process of its own, which starts its own crawl zygote and
    forks its crawls from that; a fresh interpreter when ``env`` changes what is read at
    start-up."""
    handle = log.open("w+")
    environment = dict(os.environ if env is None else env)
    if forkable(environment):
        args = ["schedule", "--config", str(config)]
        process = start_forked(args, cwd=REPO, env=environment, stdout=str(log), stderr=str(log))
        return process, handle
    fresh = start_cli(
        "schedule", "--config", str(config), env=env, stdout=handle, stderr=subprocess.STDOUT
    )
    return fresh, handle


def terminate(process: Process, *, must_stop: bool = True) -> None:
    """SIGTERM, and a wait. A process still running 60 s later is killed; with ``must_stop``
    (a test) that is an AssertionError."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        if must_stop:
            raise AssertionError("scheduler did not stop on SIGTERM") from None


def stop_scheduler(process: Process, handle: IO[str], *, must_stop: bool = True) -> str:
    """`terminate`, then its output (a benchmark, ``must_stop`` false, reads the output of a
    scheduler it had to kill)."""
    try:
        terminate(process, must_stop=must_stop)
    finally:
        # a second stop (a test's ``finally`` after a failed step) keeps the first's error
        output = ""
        if not handle.closed:
            handle.seek(0)
            output = handle.read()
            handle.close()
    return output


def running_crawl_child(db: Path, scheduler_pid: int) -> int:
    """The pid of a scheduled crawl running in a child of the scheduler (0: none yet)."""
    if not db.exists():
        return 0
    conn = sqlite3.connect(db, timeout=30)
    try:
        rows = conn.execute("SELECT pid FROM runs WHERE status = 'running'").fetchall()
    except sqlite3.OperationalError:  # the scheduler has not made the tables yet
        return 0
    finally:
        conn.close()
    pids = [int(r[0]) for r in rows if r[0] and int(r[0]) != scheduler_pid]
    return pids[0] if pids else 0
