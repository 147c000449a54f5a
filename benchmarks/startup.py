"""A crawl's fixed start-up: from launching `newswatch crawl` to its first request.

The first request a crawl sends (robots.txt of its one source) marks the spider open: the
process has imported what it needs, opened and migrated the database, forked its extraction
workers and started Scrapy. A loopback server notes when it arrives; the crawl is then
stopped (its process group killed), since nothing after it is start-up.

The present tree and another revision (``--baseline REV``, extracted with ``git archive``)
are measured alternately in the same run, with the same interpreter and packages, each in a
fresh database and a fresh process::

    .venv/bin/python -m benchmarks.startup --baseline main --runs 5

``--scheduled`` measures a scheduled crawl's start-up as the scheduler launches it
(schedules/zygote.py): forked from the crawl zygote, against a fresh interpreter (what the
scheduler starts without a fork server, and all it started before the zygote), alternately::

    .venv/bin/python -m benchmarks.startup --scheduled --runs 5
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent

FEED = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<item><title>a</title><link>http://127.0.0.1/a</link></item></channel></rss>"""


class _FirstRequest(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.first = threading.Event()
        self.at = 0.0


class _Handler(BaseHTTPRequestHandler):
    server: _FirstRequest

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        if not self.server.first.is_set():
            self.server.at = time.monotonic()
            self.server.first.set()
        body = b"User-agent: *\nAllow: /\n" if self.path == "/robots.txt" else FEED
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _crawl_args(server: _FirstRequest, workdir: Path) -> list[str]:
    """`crawl` of one source on ``server``, in a fresh database."""
    config = workdir / "startup.toml"
    config.write_text(
        f'[crawl]\nworkers = 2\n[[sources]]\nname = "one"\n'
        f'feeds = ["http://127.0.0.1:{server.server_port}/feed.xml"]\n'
    )
    database = workdir / "startup.db"
    database.unlink(missing_ok=True)
    return ["crawl", "--config", str(config), "--db", str(database)]


def _serve() -> _FirstRequest:
    server = _FirstRequest()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def start_up_seconds(tree: Path, workdir: Path) -> tuple[float, float]:
    """Seconds from launching a crawl with the code in ``tree`` to its first request, and the
    CPU seconds its main process spent by then (less sensitive to other load)."""
    server = _serve()
    args = _crawl_args(server, workdir)
    env = dict(os.environ, PYTHONPATH=str(tree))
    launched = time.monotonic()
    child = subprocess.Popen(
        [sys.executable, "-m", "crawler", *args],
        cwd=tree,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        if not server.first.wait(60):
            raise RuntimeError(f"no request from the crawl of {tree} within 60 s")
        return server.at - launched, _cpu_seconds(child.pid)
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
        server.shutdown()
        server.server_close()


def scheduled_start_seconds(fork: bool, workdir: Path) -> tuple[float, float]:
    """``start_up_seconds`` of a crawl launched as the scheduler launches it: forked from the
    zygote, or (``fork`` false) in a fresh interpreter."""
    from schedules.zygote import start_command

    server = _serve()
    args = _crawl_args(server, workdir)
    launched = time.monotonic()
    child = start_command(args, str(workdir / "stderr"), fork=fork)
    try:
        if not server.first.wait(60):
            raise RuntimeError(f"no request from the scheduled crawl within 60 s (fork={fork})")
        return server.at - launched, _cpu_seconds(child.pid)
    finally:
        # the crawl and its extraction workers (a forked crawl shares no process group)
        for process in [*psutil.Process(child.pid).children(recursive=True)]:
            process.kill()
        child.kill()
        child.wait()
        server.shutdown()
        server.server_close()


def _scheduled(runs: int, scratch: Path) -> dict[str, list[tuple[float, float]]]:
    """Both ways of starting a scheduled crawl, alternately, after one warm-up each."""
    from schedules.zygote import start_zygote

    start_zygote(die_with_parent=True)
    ways = {"forked from the zygote": True, "fresh interpreter": False}
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in ways}
    for fork in ways.values():  # the warm-up also waits for the zygote's imports
        scheduled_start_seconds(fork, scratch)
    for _ in range(runs):
        for name, fork in ways.items():
            times[name].append(scheduled_start_seconds(fork, scratch))
    return times


def extract(rev: str, into: Path) -> Path:
    """The tree of ``rev`` (``git archive``) in ``into``."""
    archive = subprocess.run(
        ["git", "archive", rev], cwd=REPO, capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    # compiled as the present tree is (the README's install runs compileall): where bytecode
    # may not be written, an uncompiled tree would compile itself at every launch
    packages = [p for p in ("crawler", "spiders", "schedules") if (into / p).is_dir()]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *packages], cwd=into, check=True)
    return into


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", help="a git revision to measure in the same run")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--scheduled", action="store_true", help="a scheduled crawl: forked vs fresh interpreter"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        if args.scheduled:
            _report(_scheduled(args.runs, Path(scratch)))
            return 0
        trees = {"present": REPO}
        if args.baseline:
            base = Path(scratch) / "baseline"
            base.mkdir()
            trees[f"baseline ({args.baseline})"] = extract(args.baseline, base)
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in trees}
        for tree in trees.values():  # one warm-up each: the page cache, .pyc files
            start_up_seconds(tree, Path(scratch))
        for _ in range(args.runs):
            for name, tree in trees.items():
                times[name].append(start_up_seconds(tree, Path(scratch)))
    _report(times)
    return 0


def _report(times: dict[str, list[tuple[float, float]]]) -> None:
    for name, values in times.items():
        walls = [wall for wall, _ in values]
        cpus = [cpu for _, cpu in values]
        shown = " ".join(f"{v:.2f}" for v in walls)
        print(
            f"{name:<24} median {statistics.median(walls):.2f} s wall"
            f" ({statistics.median(cpus):.2f} s CPU of the main process)  runs: {shown}"
        )


if __name__ == "__main__":
    sys.exit(main())
