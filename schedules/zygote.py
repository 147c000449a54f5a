"""The crawl zygote: `python -m crawler ARGS` forked from a process that has imported it all.

A scheduled crawl in a fresh interpreter spends 1.5-2 s of CPU importing Scrapy, Twisted and
the extraction libraries before its spider opens. The zygote is multiprocessing's fork
server: a fresh, single-threaded interpreter started once, which imports ``PRELOAD`` and then
only forks. Each command forked from it is a separate process running the real command with
its own cwd, environment, stdout and stderr, exit status, signal handlers, atexit handlers and
extraction workers; it shares with the zygote only the modules already imported (their pages
stay shared too). The caller is never forked itself, so its threads do not matter.

Variables read while an interpreter starts or a module is imported (``PYTHON*``, the locale,
``NEWSWATCH_INGEST_BATCH``) cannot change in a forked child: a caller whose environment differs
from the zygote's (``forkable``) starts a fresh interpreter instead.
"""

from __future__ import annotations

import atexit
import gc
import io
import locale
import logging
import multiprocessing
import multiprocessing.connection
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
import threading
import time
from collections.abc import Mapping
from typing import Any

from schedules.survivors import die_with_parent, signal_at_parent_death

logger = logging.getLogger("newswatch.schedule")

# What the zygote imports: the command line and everything a crawl imports on its way to the
# spider's open (Scrapy's components are named in its settings, so imported late). Names of
# installed packages only: Python 3.11's fork server ignores the caller's sys.path. None of
# these starts a thread or installs a reactor (twisted.internet.reactor would install the
# default one, and the child could not install Scrapy's asyncio reactor).
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
# Imported first, by a zygote that is to die with the process that started it.
GUARD = "schedules.zygote_guard"
_STARTUP_PREFIXES = ("PYTHON", "LC_", "LANG")
_IMPORT_TIME_VARIABLES = frozenset({"NEWSWATCH_INGEST_BATCH"})

_lock = threading.Lock()
_zygote_env: dict[str, str] | None = None  # the environment the zygote started with


def available() -> bool:
    """Whether this platform has a fork server (POSIX, file descriptors passed on sockets)."""
    return "forkserver" in multiprocessing.get_all_start_methods()


def _startup_variables(env: Mapping[str, str]) -> dict[str, str]:
    return {
        k: v
        for k, v in env.items()
        if k.startswith(_STARTUP_PREFIXES) or k in _IMPORT_TIME_VARIABLES
    }


def start_zygote(*, die_with_parent: bool = False) -> int:
    """Start the zygote unless it runs (it imports ``PRELOAD`` while the caller goes on); its
    pid. With ``die_with_parent``, called from the main thread on Linux, the kernel kills it
    when this process dies (PR_SET_PDEATHSIG belongs to the thread that started it, and
    only the main thread lives as long as the process)."""
    global _zygote_env
    with _lock:
        if _zygote_env is None:
            preload = list(PRELOAD)
            if die_with_parent and threading.current_thread() is threading.main_thread():
                preload.insert(0, GUARD)
            multiprocessing.forkserver.set_forkserver_preload(preload)
            _zygote_env = dict(os.environ)
    multiprocessing.forkserver.ensure_running()
    pid = zygote_pid()
    assert pid is not None
    return pid


def forkable(env: Mapping[str, str]) -> bool:
    """Whether a child forked from the zygote can run with ``env`` as a fresh interpreter would."""
    zygote = _zygote_env if _zygote_env is not None else os.environ
    return _startup_variables(env) == _startup_variables(zygote)


def zygote_pid() -> int | None:
    """The zygote's process id, if this process started one."""
    pid: int | None = getattr(multiprocessing.forkserver._forkserver, "_forkserver_pid", None)
    return pid


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


class _Popen(multiprocessing.popen_forkserver.Popen):
    """The fork server's launch (Python 3.11's own lines) without the caller's ``__main__``:
    a child would run that script (crawler/__main__.py runs the command line) before its
    command."""

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


def _child(args: list[str], cwd: str, env: dict[str, str], out: str, err: str, zygote: int) -> None:
    """In the forked child: run the command as `python -m crawler` would, then exit as an
    interpreter does (threads joined, atexit handlers run, streams flushed)."""
    # A child dies with the zygote (SIGTERM: a crawl stops as asked), so with its scheduler.
    signal_at_parent_death(signal.SIGTERM, zygote)
    if "twisted.internet.reactor" in sys.modules:
        raise RuntimeError("the zygote installed a reactor: see PRELOAD")
    # The zygote's objects are left out of garbage collection (their pages stay shared, and
    # the collections here only walk what this command makes), as CPython's docs advise.
    gc.freeze()
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    for fd, path in ((1, out), (2, err)):
        if fd == 2 and err == out:  # stderr to stdout: one file, one offset (2>&1)
            os.dup2(1, 2)
            break
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


def start_forked(
    args: list[str], *, cwd: str, env: Mapping[str, str], stdout: str, stderr: str
) -> multiprocessing.process.BaseProcess:
    """`python -m crawler ARGS` started in a child forked from the zygote (started now unless
    it runs), its output written to the files (or terminal) at paths ``stdout`` and
    ``stderr``; ``join``, ``exitcode`` (negative: killed by that signal) and ``kill`` as for
    any multiprocessing process (``stderr`` the same path as ``stdout``: both to one file,
    as ``2>&1``). Raises ValueError unless ``forkable(env)``, OSError or EOFError when the
    zygote cannot fork."""
    if not forkable(env):
        raise ValueError("this environment changes what an interpreter reads at start-up")
    zygote = start_zygote()
    child = _Process(
        target=_child, args=(list(args), cwd, dict(env), stdout, stderr, zygote), name="newswatch"
    )
    child.start()
    return child


class ForkedPopen:
    """A command started by ``start_forked``, with the part of ``subprocess.Popen``'s interface
    that its callers use (``pid``, ``returncode``, ``poll``, ``wait``, ``send_signal``,
    ``kill``). Safe from several threads: the exit status is read once, under a lock (two
    readers of the zygote's status pipe would leave the second one an end of file)."""

    def __init__(self, process: multiprocessing.process.BaseProcess) -> None:
        assert process.pid is not None, "not started"
        self.process = process
        self.pid: int = process.pid
        self._lock = threading.Lock()

    @property
    def returncode(self) -> int | None:
        return self.poll()

    def poll(self) -> int | None:
        with self._lock:
            code = self.process.exitcode
            if code is not None:
                self.process.join(0)  # multiprocessing forgets the child
            return code

    def wait(self, timeout: float | None = None) -> int:
        multiprocessing.connection.wait([self.process.sentinel], timeout)
        code = self.poll()
        if code is None:
            raise subprocess.TimeoutExpired(["newswatch", "(forked)"], timeout or 0)
        return code

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:  # not yet reaped by the zygote: the pid is still this child's
            os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


Child = subprocess.Popen[bytes] | ForkedPopen


def start_command(
    args: list[str], stderr: str, *, fork: bool, env: Mapping[str, str] | None = None
) -> Child:
    """`python -m crawler ARGS` with stdin and stdout on /dev/null and stderr written to the
    file at path ``stderr``, dying with this process (Linux), in this process's cwd and
    environment (or ``env``): forked from the zygote when ``fork`` and the environment allow
    it, else in a fresh interpreter."""
    environment = dict(os.environ if env is None else env)
    if fork and forkable(environment):
        try:
            process = start_forked(
                args, cwd=os.getcwd(), env=environment, stdout=os.devnull, stderr=stderr
            )
            return ForkedPopen(process)
        except Exception as error:  # noqa: BLE001 - the zygote only saves start-up time
            # (a dead fork server, or a Python whose fork server launches otherwise than the
            # lines of _Popen): the crawl runs all the same, in a fresh interpreter
            logger.warning("the zygote could not fork (%r): a fresh interpreter instead", error)
    with open(stderr, "wb") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "crawler", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=environment,
            preexec_fn=die_with_parent(),  # SIGKILL of this process stops the child
        )
