"""Peak memory of a child process with all its descendants, sampled while it runs.

Shared by the hostile-site tests and ``benchmarks/hostile_memory.py``: the crawl process and
its extraction workers together are what a memory budget has to hold.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from types import TracebackType


def tree_rss(pid: int) -> int:
    """Resident memory of process ``pid`` and its descendants, in bytes (0 if it is gone or
    psutil is not installed)."""
    try:
        import psutil
    except ImportError:
        return 0
    try:
        root = psutil.Process(pid)
        return sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])
    except psutil.Error:
        return 0


class PeakRss:
    """``with PeakRss(child.pid) as peak: child.communicate()``; then ``peak.bytes`` is the
    largest summed RSS of the tree seen, sampled every ``interval`` seconds."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid = pid
        self.interval = interval
        self.bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="peak-rss", daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.bytes = max(self.bytes, tree_rss(self.pid))
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()


def process_alive(pid: int) -> bool:
    """The process exists and is no zombie (dead, not yet reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
