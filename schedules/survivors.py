"""A crawl child never outlives its scheduler unnoticed, and never runs twice.

- On Linux each crawl child asks the kernel for SIGTERM when its parent dies
  (``prctl(PR_SET_PDEATHSIG)``): a SIGKILLed scheduler takes its crawls with it, each
  stopping as on SIGTERM (its run recorded as cut short), not crawling on unwatched. A crawl
  forked from the zygote (schedules/zygote.py) has the zygote for its parent, and the zygote
  is killed when the scheduler dies: the crawl follows.
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


def _prctl() -> Callable[..., int] | None:
    """libc's ``prctl`` (Linux), else None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return prctl


def _ask(prctl: Callable[..., int], sig: int, parent: int) -> None:
    """``sig`` when the parent dies; at once if ``parent`` died before the request took hold.
    Nothing but system calls: it runs between fork and exec."""
    prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)
    if os.getppid() != parent:
        os.kill(os.getpid(), sig)


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` for ``subprocess.Popen`` that makes the child get SIGTERM when this
    process dies (Linux); None elsewhere (the scheduler then relies on waiting)."""
    prctl = _prctl()
    if prctl is None:
        return None
    parent = os.getpid()

    def preexec() -> None:
        _ask(prctl, signal.SIGTERM, parent)

    return preexec


def signal_at_parent_death(sig: int, parent: int) -> bool:
    """Have the kernel send ``sig`` to this process when its parent, ``parent``, dies (Linux:
    whether it could)."""
    prctl = _prctl()
    if prctl is None:
        return False
    _ask(prctl, sig, parent)
    return True


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
