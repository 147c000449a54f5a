"""One scheduler per database: a lock file next to it, with the holder's pid and heartbeat.

The lock itself is an ``flock`` on the file, which the kernel drops when its holder dies, so a
crashed or SIGKILLed scheduler never blocks the next one; the pid, host and heartbeat written
inside say who holds it (and who held it last, when a new scheduler takes over).
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crawler.core.timeutil import parse_utc

HEARTBEAT_SECONDS = 30.0


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


@dataclass(frozen=True)
class Holder:
    """What a lock file says about the scheduler that holds (or held) it."""

    pid: int
    host: str
    started_at: str
    heartbeat_at: str

    def describe(self) -> str:
        age = ""
        heartbeat = parse_utc(self.heartbeat_at)
        if heartbeat is not None:
            seconds = int((datetime.now(UTC) - heartbeat).total_seconds())
            age = f", last heartbeat {seconds}s ago"
        return f"pid {self.pid} on {self.host}, started {self.started_at}{age}"


class SchedulerLockHeld(RuntimeError):
    """Another scheduler holds the database's lock."""

    def __init__(self, path: Path, holder: Holder | None) -> None:
        who = f" ({holder.describe()})" if holder else ""
        super().__init__(
            f"another `newswatch schedule` is running on this database{who}; lock file {path}"
        )
        self.holder = holder


def lock_path(database: str | os.PathLike[str]) -> Path:
    """The lock file of a database, named after its resolved real path: a symlink to the
    database (or another spelling of its path) must find the same lock."""
    return Path(f"{os.path.realpath(database)}.schedule-lock")


def read_holder(path: Path) -> Holder | None:
    try:
        data: dict[str, Any] = json.loads(path.read_text("utf-8") or "{}")
        return Holder(
            int(data["pid"]), str(data["host"]), str(data["started_at"]), str(data["heartbeat_at"])
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


class SchedulerLock:
    """Held for the scheduler's lifetime; ``acquire`` raises SchedulerLockHeld if taken."""

    def __init__(
        self, database: str | os.PathLike[str], heartbeat_seconds: float = HEARTBEAT_SECONDS
    ) -> None:
        self.path = lock_path(database)
        self.heartbeat_seconds = heartbeat_seconds
        self.fd: int | None = None
        self.started_at = _now()
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None

    def acquire(self) -> Holder | None:
        """Take the lock; return the previous holder if it had died holding it (a stale lock
        taken over), else None."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise SchedulerLockHeld(self.path, read_holder(self.path)) from None
        self.fd = fd
        stale = read_holder(self.path)
        self._write()
        self.thread = threading.Thread(target=self._beat, name="scheduler-heartbeat", daemon=True)
        self.thread.start()
        return stale

    def _write(self) -> None:
        if self.fd is None:
            return
        data = json.dumps(
            {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "started_at": self.started_at,
                "heartbeat_at": _now(),
            }
        )
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, data.encode("utf-8"), 0)

    def _beat(self) -> None:
        while not self.stopping.wait(self.heartbeat_seconds):
            try:
                self._write()
            except OSError:  # a full disk must not stop the scheduler; the flock still holds
                pass

    def release(self) -> None:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout=5)
        if self.fd is not None:
            os.ftruncate(self.fd, 0)  # no holder; the file stays (unlinking races a newcomer)
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> SchedulerLock:
        self.acquire()
        return self

    def __exit__(self, *_: object) -> None:
        self.release()
