"""`python -m crawler ARGS` in a forked child: the tests' CLI runner without interpreter start-up.

Each test process starts one zygote (multiprocessing's fork server: a fresh interpreter that
imports ``PRELOAD``, Scrapy, Twisted, extraction, the command line, and starts no thread or
reactor) and forks a child of it per command. The child is a separate process running the
real command: its own cwd, environment, stdout and stderr (files read back here), exit
status, signal handlers, atexit handlers and extraction workers (forked from it); it shares
with the zygote only the modules already imported. The test process itself is not forked:
pytest-xdist runs threads there.

Variables read while an interpreter starts or a module is imported (``PYTHON*``, the locale,
``NEWSWATCH_INGEST_BATCH``) cannot change in a forked child: a call that sets them to values
other than the zygote's runs a fresh interpreter instead.
"""

from __future__ import annotations

import atexit
import gc
import io
import locale
import multiprocessing
import multiprocessing.context
import multiprocessing.forkserver
import multiprocessing.popen_forkserver
import multiprocessing.process
import multiprocessing.reduction
import multiprocessing.spawn
import multiprocessing.util
import os
import runpy
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# What the zygote imports: the command line and everything a crawl imports on its way to the
# spider's open (Scrapy's components are named in its settings, so imported late). Names of
# installed packages only: Python 3.11's fork server ignores the test process's sys.path.
# None of these starts a thread or installs a reactor (twisted.internet.reactor would install
# the default one, and the child could not install Scrapy's asyncio reactor).
PRELOAD = (
    "crawler.cli.main",
    "crawler.crawl",
    "crawler.core.fetch_policy",
    "crawler.core.robots",
    "crawler.extraction.facts",
    "crawler.ingest.desk",
    "crawler.ingest.ingest",
    "crawler.ingest.listings",
    "crawler.ingest.pending",
    "crawler.processing.pages",
    "crawler.processing.pool",
    "crawler.scraping.extensions",
    "crawler.scraping.middlewares",
    "crawler.scraping.pipelines",
    "crawler.scraping.resolver",
    "crawler.scraping.settings",
    "crawler.store.frozen.m007_aliases",
    "crawler.store.frozen.m007_terms",
    "crawler.store.frozen.m007_text",
    "crawler.store.frozen.m014_signature",
    "crawler.store.health",
    "crawler.store.index",
    "crawler.stories.copies",
    "crawler.stories.dedup",
    "crawler.stories.prior",
    "crawler.stories.story",
    "spiders.news",
    "multiprocessing.synchronize",
    "numpy.ma",
    "resource",
    "xml.sax.expatreader",
    "protego",
    "queuelib",
    "scrapy.core.downloader.handlers.http11",
    "scrapy.crawler",
    "scrapy.downloadermiddlewares.cookies",
    "scrapy.downloadermiddlewares.defaultheaders",
    "scrapy.downloadermiddlewares.downloadtimeout",
    "scrapy.downloadermiddlewares.httpauth",
    "scrapy.downloadermiddlewares.httpcache",
    "scrapy.downloadermiddlewares.httpcompression",
    "scrapy.downloadermiddlewares.httpproxy",
    "scrapy.downloadermiddlewares.offsite",
    "scrapy.downloadermiddlewares.redirect",
    "scrapy.downloadermiddlewares.retry",
    "scrapy.downloadermiddlewares.robotstxt",
    "scrapy.downloadermiddlewares.stats",
    "scrapy.downloadermiddlewares.useragent",
    "scrapy.dupefilters",
    "scrapy.extensions.closespider",
    "scrapy.extensions.corestats",
    "scrapy.extensions.feedexport",
    "scrapy.extensions.logcount",
    "scrapy.extensions.logstats",
    "scrapy.extensions.memdebug",
    "scrapy.extensions.memusage",
    "scrapy.extensions.spiderstate",
    "scrapy.extensions.telnet",
    "scrapy.extensions.throttle",
    "scrapy.logformatter",
    "scrapy.pqueues",
    "scrapy.robotstxt",
    "scrapy.spidermiddlewares.depth",
    "scrapy.spidermiddlewares.httperror",
    "scrapy.spidermiddlewares.metacopy",
    "scrapy.spidermiddlewares.referer",
    "scrapy.spidermiddlewares.start",
    "scrapy.spidermiddlewares.urllength",
    "scrapy.squeues",
    "scrapy.statscollectors",
)
_STARTUP_PREFIXES = ("PYTHON", "LC_", "LANG")
_IMPORT_TIME_VARIABLES = frozenset({"NEWSWATCH_INGEST_BATCH"})

_lock = threading.Lock()
_zygote_env: dict[str, str] | None = None  # the environment the zygote started with


def _startup_variables(env: Mapping[str, str]) -> dict[str, str]:
    return {
        k: v
        for k, v in env.items()
        if k.startswith(_STARTUP_PREFIXES) or k in _IMPORT_TIME_VARIABLES
    }


class _Popen(multiprocessing.popen_forkserver.Popen):
    """The fork server's launch (Python 3.11's own lines) without the caller's ``__main__``:
    a child would run that script, or import pytest, before its command."""

    def _launch(self, process_obj: Any) -> None:
        prep_data = {
            key: value
            for key, value in multiprocessing.spawn.get_preparation_data(process_obj._name).items()
            if not key.startswith("init_main_from")
        }
        buf = io.BytesIO()
        multiprocessing.context.set_spawning_popen(self)
        try:
            multiprocessing.reduction.dump(prep_data, buf)
            multiprocessing.reduction.dump(process_obj, buf)
        finally:
            multiprocessing.context.set_spawning_popen(None)
        server = multiprocessing.forkserver
        self.sentinel, w = server.connect_to_new_process(self._fds)  # type: ignore[attr-defined]
        _parent_w = os.dup(w)
        util: Any = multiprocessing.util
        self.finalizer = util.Finalize(self, util.close_fds, (_parent_w, self.sentinel))
        with open(w, "wb", closefd=True) as f:
            f.write(buf.getbuffer())
        self.pid = server.read_signed(self.sentinel)


class _Process(multiprocessing.context.ForkServerProcess):
    @staticmethod
    def _Popen(process_obj: Any) -> Any:
        return _Popen(process_obj)


def _start(target: Any, args: tuple[Any, ...]) -> _Process:
    """A child of the zygote running ``target(*args)`` (the zygote starts on the first call)."""
    global _zygote_env
    with _lock:
        if _zygote_env is None:
            multiprocessing.forkserver.set_forkserver_preload(list(PRELOAD))
            _zygote_env = dict(os.environ)
    child = _Process(target=target, args=args, name="newswatch")
    child.start()
    return child


def forkable(env: Mapping[str, str]) -> bool:
    """Whether a child forked from the zygote can run with ``env`` as a fresh interpreter would."""
    zygote = _zygote_env if _zygote_env is not None else os.environ
    return _startup_variables(env) == _startup_variables(zygote)


def _stream(fd: int, errors: str, line_buffering: bool) -> io.TextIOWrapper:
    """A text stream on ``fd`` as a fresh interpreter opens it (line-buffered on a terminal)."""
    return io.TextIOWrapper(
        open(fd, "wb", closefd=False),  # noqa: SIM115 - the child's stdio for its whole life
        encoding=locale.getpreferredencoding(False),
        errors=errors,
        line_buffering=line_buffering or os.isatty(fd),
    )


def _exit_code(stop: SystemExit) -> int:
    """The status an interpreter exits with on ``SystemExit`` (its message to stderr)."""
    if stop.code is None:
        return 0
    if isinstance(stop.code, int):
        return stop.code & 0xFF
    print(stop.code, file=sys.stderr)
    return 1


def _close_databases() -> None:
    """What the interpreter's teardown does to SQLite connections still open (os._exit skips
    it): each is closed, and the last one on a file checkpoints and removes its -wal. (The
    zygote's own objects are frozen: it opens no database.)"""
    gc.collect()
    for thing in gc.get_objects():
        if isinstance(thing, sqlite3.Connection):
            try:
                thing.close()
            except sqlite3.Error:
                pass


def _child(args: list[str], cwd: str, env: dict[str, str], out: str, err: str) -> None:
    """In the forked child: run the command as `python -m crawler` would, then exit as an
    interpreter does (threads joined, atexit handlers run, streams flushed)."""
    if "twisted.internet.reactor" in sys.modules:
        raise RuntimeError("the zygote installed a reactor: see PRELOAD")
    # The zygote's objects are left out of garbage collection (their pages stay shared, and
    # the collections here only walk what this command makes), as CPython's docs advise.
    gc.freeze()
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    for fd, path in ((1, out), (2, err)):
        # A terminal (a pty's slave) is opened as an inherited one is: not as controlling tty.
        target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOCTTY, 0o600)
        os.dup2(target, fd)
        os.close(target)
    sys.stdout = _stream(1, "strict", False)
    sys.stderr = _stream(2, "backslashreplace", True)
    setattr(sys, "__stdout__", sys.stdout)  # noqa: B010 - typeshed calls them final
    setattr(sys, "__stderr__", sys.stderr)  # noqa: B010
    sys.argv = ["-m", *args]  # runpy puts the module's path first, as `-m` does
    interrupted = False
    try:
        runpy.run_module("crawler", run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as stop:
        code = _exit_code(stop)
    except KeyboardInterrupt:
        sys.excepthook(*sys.exc_info())
        code, interrupted = 1, True
    except BaseException:
        sys.excepthook(*sys.exc_info())
        code = 1
    threading._shutdown()  # type: ignore[attr-defined]  # the interpreter's own exit steps
    atexit._run_exitfuncs()
    _close_databases()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, ValueError):
            pass
    if interrupted:  # an interpreter stopped by ^C exits by SIGINT
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    os._exit(code)


def _text(data: bytes) -> str:
    """Output decoded as ``subprocess.run(..., text=True)`` decodes it."""
    text = data.decode(locale.getpreferredencoding(False))
    return text.replace("\r\n", "\n").replace("\r", "\n")


def start_forked(
    args: list[str], *, cwd: Path, env: Mapping[str, str], stdout: str, stderr: str
) -> multiprocessing.process.BaseProcess:
    """`python -m crawler ARGS` started in a child forked from the zygote, its output written
    to the files (or terminal) at paths ``stdout`` and ``stderr``; ``join``, ``exitcode``
    (negative: killed by that signal) and ``kill`` as for any multiprocessing process."""
    if not forkable(env):
        raise ValueError("this environment changes what an interpreter reads at start-up")
    return _start(_child, (list(args), str(cwd), dict(env), stdout, stderr))


def run_forked_bytes(
    args: list[str], *, cwd: Path, env: Mapping[str, str], timeout: float
) -> subprocess.CompletedProcess[bytes]:
    """`python -m crawler ARGS` in a child forked from the zygote, run to its end, its output
    as bytes; killed (and ``subprocess.TimeoutExpired`` raised) after ``timeout`` seconds."""
    command = [sys.executable, "-m", "crawler", *args]
    with tempfile.TemporaryDirectory(prefix="newswatch-forked-") as folder:
        out, err = Path(folder, "stdout"), Path(folder, "stderr")
        child = start_forked(args, cwd=cwd, env=env, stdout=str(out), stderr=str(err))
        child.join(timeout)
        if child.exitcode is None:
            child.kill()
            child.join()
            raise subprocess.TimeoutExpired(command, timeout, out.read_bytes(), err.read_bytes())
        code = child.exitcode
        child.close()
        return subprocess.CompletedProcess(command, code, out.read_bytes(), err.read_bytes())


def run_forked(
    args: list[str], *, cwd: Path, env: Mapping[str, str], timeout: float
) -> subprocess.CompletedProcess[str]:
    """``run_forked_bytes`` with the output as text."""
    done = run_forked_bytes(args, cwd=cwd, env=env, timeout=timeout)
    return subprocess.CompletedProcess(
        done.args, done.returncode, _text(done.stdout), _text(done.stderr)
    )


def stop_zygote(grace: float = 10.0) -> None:
    """Stop the zygote, if this process started one, and reap it (its CPU time, and that of
    every child it reaped, then counts in this process's own children's times)."""
    server: Any = multiprocessing.forkserver._forkserver
    pid = getattr(server, "_forkserver_pid", None)
    if pid is None:
        return
    # The zygote exits once every holder of its "alive" pipe has closed it: this process, and
    # children still running (an extraction worker orphaned by a killed crawl).
    os.close(server._forkserver_alive_fd)
    server._forkserver_alive_fd = None
    server._forkserver_pid = None
    deadline = time.monotonic() + grace
    while os.waitpid(pid, os.WNOHANG) == (0, 0):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            break
        time.sleep(0.05)


def zygote_pid() -> int | None:
    """The zygote's process id, if this process started one."""
    pid: int | None = getattr(multiprocessing.forkserver._forkserver, "_forkserver_pid", None)
    return pid


class ForkedPopen:
    """A command started by ``start_forked``, with the part of ``subprocess.Popen``'s interface
    that the tests' process helpers use (``poll``, ``wait``, ``send_signal``, ``kill``)."""

    def __init__(self, process: multiprocessing.process.BaseProcess) -> None:
        self.process = process
        self.pid = process.pid

    def poll(self) -> int | None:
        return self.process.exitcode

    def wait(self, timeout: float | None = None) -> int:
        self.process.join(timeout)
        code = self.process.exitcode
        if code is None:
            raise subprocess.TimeoutExpired(["newswatch", "(forked)"], timeout or 0)
        return code

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:  # not yet reaped by the zygote: the pid is still this child's
            os.kill(self.process.pid or 0, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)
