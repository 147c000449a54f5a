"""A throwaway redis-server on 127.0.0.1 (no persistence), for the distributed tests and the
distributed benchmark."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

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
