"""A crawl's fixed start-up: from launching `newswatch crawl` to its first request.

The first request a crawl sends (robots.txt of its one source) marks the spider open: the
process has imported what it needs, opened and migrated the database, forked its extraction
workers and started Scrapy. A loopback server notes when it arrives; the crawl is then
stopped (its process group killed), since nothing after it is start-up.

The present tree and another revision (``--baseline REV``, extracted with ``git archive``)
are measured alternately in the same run, with the same interpreter and packages, each in a
fresh database and a fresh process::

    .venv/bin/python -m benchmarks.startup --baseline main --runs 5
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


def start_up_seconds(tree: Path, workdir: Path) -> tuple[float, float]:
    """Seconds from launching a crawl with the code in ``tree`` to its first request, and the
    CPU seconds its main process spent by then (less sensitive to other load)."""
    server = _FirstRequest()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    config = workdir / "startup.toml"
    config.write_text(
        f'[crawl]\nworkers = 2\n[[sources]]\nname = "one"\n'
        f'feeds = ["http://127.0.0.1:{server.server_port}/feed.xml"]\n'
    )
    database = workdir / "startup.db"
    database.unlink(missing_ok=True)
    env = dict(os.environ, PYTHONPATH=str(tree))
    launched = time.monotonic()
    child = subprocess.Popen(
        [sys.executable, "-m", "crawler", "crawl", "--config", str(config), "--db", str(database)],
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


def extract(rev: str, into: Path) -> Path:
    """The tree of ``rev`` (``git archive``) in ``into``."""
    archive = subprocess.run(
        ["git", "archive", rev], cwd=REPO, capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", help="a git revision to measure in the same run")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
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
    for name, values in times.items():
        walls = [wall for wall, _ in values]
        cpus = [cpu for _, cpu in values]
        shown = " ".join(f"{v:.2f}" for v in walls)
        print(
            f"{name:<24} median {statistics.median(walls):.2f} s wall"
            f" ({statistics.median(cpus):.2f} s CPU of the main process)  runs: {shown}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
