"""A crawl child never outlives its scheduler unnoticed, and never runs twice.

- On Linux each crawl child asks the kernel for SIGTERM when its parent dies
  (``prctl(PR_SET_PDEATHSIG)``): a SIGKILLed scheduler takes its crawls with it, each
  stopping as on SIGTERM (its run recorded as cut short), not crawling on unwatched.
- Wherever that is not available, or a crawl of the source was started by hand: before
  starting a crawl, the scheduler looks for a live run of the source and waits for it
  instead of starting a second one beside it.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable

from sqlite_utils import Database

from crawler.store.storage import live_runs_of

logger = logging.getLogger("newswatch.schedule")

PR_SET_PDEATHSIG = 1
POLL_SECONDS = 1.0


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` for ``subprocess.Popen`` that makes the child get SIGTERM when this
    process dies (Linux); None elsewhere (the scheduler then relies on waiting)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def preexec() -> None:  # runs in the child between fork and exec: nothing but syscalls
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the request took hold
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec


def wait_for_survivors(
    db: Database, source: str, stopping: threading.Event, limit: float
) -> list[int]:
    """Wait (up to ``limit`` seconds, or until ``stopping``) while a crawl of ``source`` is
    running in another live process; the ids of the runs waited for."""
    survivors = live_runs_of(db, source)
    if not survivors:
        return []
    for run_id, pid in survivors:
        logger.warning(
            "a crawl of %s is still running (run %d, pid %d): waiting for it instead of "
            "starting another",
            source,
            run_id,
            pid,
        )
    deadline = time.monotonic() + limit
    while live_runs_of(db, source) and not stopping.is_set() and time.monotonic() < deadline:
        stopping.wait(POLL_SECONDS)
    return [run_id for run_id, _ in survivors]
