"""`python -m crawler ARGS` in a forked child: the tests' CLI runner without interpreter start-up.

Each test process starts one zygote (schedules/zygote.py, the scheduler's: multiprocessing's
fork server, a fresh interpreter that has imported the command line, Scrapy, Twisted and
extraction, and starts no thread or reactor) and forks a child of it per command. The child
is a separate process running the real command: its own cwd, environment, stdout and stderr
(files read back here), exit status, signal handlers, atexit handlers and extraction workers.
The test process itself is not forked: pytest-xdist runs threads there.

An environment that changes what an interpreter reads at start-up (``forkable``) cannot be
forked: such a call runs a fresh interpreter instead (tests/conftest.py).
"""

from __future__ import annotations

import locale
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from schedules.zygote import ForkedPopen, forkable, stop_zygote, zygote_pid
from schedules.zygote import start_forked as _start_forked

__all__ = [
    "ForkedPopen",
    "forkable",
    "run_forked",
    "run_forked_bytes",
    "start_forked",
    "stop_zygote",
    "zygote_pid",
]


def start_forked(
    args: list[str], *, cwd: Path, env: Mapping[str, str], stdout: str, stderr: str
) -> ForkedPopen:
    """`python -m crawler ARGS` started in a child forked from the zygote, its output written
    to the files (or terminal) at paths ``stdout`` and ``stderr``."""
    process = _start_forked(list(args), cwd=str(cwd), env=env, stdout=stdout, stderr=stderr)
    return ForkedPopen(process)


def _text(data: bytes) -> str:
    """Output decoded as ``subprocess.run(..., text=True)`` decodes it."""
    text = data.decode(locale.getpreferredencoding(False))
    return text.replace("\r\n", "\n").replace("\r", "\n")


def run_forked_bytes(
    args: list[str], *, cwd: Path, env: Mapping[str, str], timeout: float
) -> subprocess.CompletedProcess[bytes]:
    """`python -m crawler ARGS` in a child forked from the zygote, run to its end, its output
    as bytes; killed (and ``subprocess.TimeoutExpired`` raised) after ``timeout`` seconds."""
    command = [sys.executable, "-m", "crawler", *args]
    with tempfile.TemporaryDirectory(prefix="newswatch-forked-") as folder:
        out, err = Path(folder, "stdout"), Path(folder, "stderr")
        child = start_forked(args, cwd=cwd, env=env, stdout=str(out), stderr=str(err))
        try:
            code = child.wait(timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
            raise subprocess.TimeoutExpired(
                command, timeout, out.read_bytes(), err.read_bytes()
            ) from None
        return subprocess.CompletedProcess(command, code, out.read_bytes(), err.read_bytes())


def run_forked(
    args: list[str], *, cwd: Path, env: Mapping[str, str], timeout: float
) -> subprocess.CompletedProcess[str]:
    """``run_forked_bytes`` with the output as text."""
    done = run_forked_bytes(args, cwd=cwd, env=env, timeout=timeout)
    return subprocess.CompletedProcess(
        done.args, done.returncode, _text(done.stdout), _text(done.stderr)
    )
