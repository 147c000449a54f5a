"""`newswatch schedule` in a child process, started and stopped the one way the tests and the
benchmarks (benchmarks/hostile.py) both use."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import IO

REPO = Path(__file__).resolve().parents[2]


def start_scheduler(config: Path, log: Path) -> tuple[subprocess.Popen[str], IO[str]]:
    """`newswatch schedule` in a fresh interpreter, its output to ``log`` (a pipe nobody
    reads would fill up): the process and the open log."""
    handle = log.open("w+")
    process = subprocess.Popen(
        [sys.executable, "-m", "crawler", "schedule", "--config", str(config)],
        cwd=REPO,
        text=True,
        stdout=handle,
        stderr=subprocess.STDOUT,
    )
    return process, handle


def terminate(process: subprocess.Popen[str], *, must_stop: bool = True) -> None:
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


def stop_scheduler(
    process: subprocess.Popen[str], handle: IO[str], *, must_stop: bool = True
) -> str:
    """`terminate`, then its output (a benchmark, ``must_stop`` false, reads the output of a
    scheduler it had to kill)."""
    try:
        terminate(process, must_stop=must_stop)
    finally:
        handle.seek(0)
        output = handle.read()
        handle.close()
    return output
