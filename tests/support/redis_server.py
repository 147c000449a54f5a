"""A throwaway redis-server on 127.0.0.1 (no persistence) and `newswatch worker` processes on
it, for the distributed tests and the distributed benchmarks."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

from tests.support import forked

REPO = Path(__file__).resolve().parents[2]

BINARY = shutil.which("redis-server") or (
    "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_redis(workdir: Path, timeout: float = 10) -> tuple[subprocess.Popen[bytes], str]:
    """Start redis-server and wait until it answers: the process and its URL.

    RuntimeError if the binary is missing or the server does not come up."""
    import redis

    if BINARY is None:
        raise RuntimeError("redis-server not found (Debian: apt-get install redis-server)")
    port = free_port()
    command = [BINARY, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    command += ["--appendonly", "no", "--dir", str(workdir)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.ping()
            client.close()
            return process, url
        except redis.ConnectionError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                process.wait()
                raise RuntimeError("redis-server did not start") from None
            time.sleep(0.05)


def start_worker(
    config: Path, log: Path, *, cwd: Path = REPO, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """`newswatch worker --config CONFIG` in a child (run from ``cwd``), its log to ``log``;
    ``env`` replaces the environment (the progress line is off either way)."""
    env = {**(os.environ if env is None else env), "NEWSWATCH_NO_PROGRESS": "1"}
    with log.open("wb") as stream:  # the child keeps its own copy of the file
        return subprocess.Popen(
            [sys.executable, "-m", "crawler", "worker", "--config", str(config)],
            cwd=cwd,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stream,
        )


def start_forked_worker(config: Path, log: Path) -> forked.ForkedPopen:
    """``start_worker`` forked from the test process's zygote (tests/support/forked.py): the
    same worker without an interpreter's start-up."""
    env = {**os.environ, "NEWSWATCH_NO_PROGRESS": "1"}
    return forked.start_forked(
        ["worker", "--config", str(config)], cwd=REPO, env=env, stdout=os.devnull, stderr=str(log)
    )


def stop_processes(
    processes: Iterable[subprocess.Popen[bytes] | forked.ForkedPopen], grace: float = 30
) -> None:
    """SIGTERM every process still running, then wait up to ``grace`` seconds for each;
    kill what is left."""
    processes = list(processes)
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
