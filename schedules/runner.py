"""`newswatch schedule`: one APScheduler 3 process; each crawl in a child process.

A child per crawl because Scrapy's reactor cannot restart in one process, and because a
child caps memory growth: the scheduler itself stays small however long it runs. Each child
is forked from the crawl zygote (schedules/zygote.py), started once with the crawl machinery
imported, so a scheduled crawl starts without an interpreter's start-up; where the platform
has no fork server, or the zygote cannot fork, the child is a fresh interpreter.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import IO, Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers import SchedulerNotRunningError
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlite_utils import Database

from crawler.config.settings import Config, Source
from crawler.core.items import RunTags
from crawler.core.timeutil import parse_iso
from crawler.read.queries import format_seconds
from crawler.store.health import record_source_outcomes
from crawler.store.sources import (
    consecutive_failures,
    last_scheduled_run,
    poll_row,
    run_outcome,
    save_source,
)
from crawler.store.storage import finish_run, open_database, start_run, utcnow
from schedules import zygote
from schedules.lock import SchedulerLock
from schedules.polling import PollState, next_interval
from schedules.survivors import wait_for_survivors

logger = logging.getLogger("newswatch.schedule")

MISFIRE_GRACE_SECONDS = 300
STOP_GRACE_SECONDS = 30.0  # a crawl in flight at SIGTERM may finish this long
STOP_KILL_SECONDS = 10.0  # then, asked to close (SIGTERM), this long before it is killed
ERROR_TAIL_CHARS = 400  # of a failed child's stderr, kept as its run's error


def load_poll_state(db: Database, source: Source) -> tuple[PollState, datetime | None]:
    """The source's stored interval and next run time (reset when `every` changed)."""
    row = poll_row(db, source.name)
    if not row or row[1] != source.every_seconds:
        state = PollState(source.every_seconds, source.every_seconds)
        save_poll_state(db, source.name, state, None)
        return state, None
    return PollState(row[1], row[0] or row[1], row[3] or 0), parse_iso(row[2])


def save_poll_state(
    db: Database, name: str, state: PollState, next_run: datetime | None, **extra: Any
) -> None:
    columns = {
        "interval_seconds": state.interval_seconds,
        "base_interval_seconds": state.base_seconds,
        "quiet_runs": state.quiet_runs,
        "next_run_at": next_run.replace(microsecond=0).isoformat() if next_run else None,
        **extra,
    }
    save_source(db, name, columns)


def run_line(name: str, run: tuple[Any, ...] | None, error: str | None) -> tuple[int, str]:
    """(log level, message) for one finished run: its status and counts, never a bare
    "executed successfully" for a crawl that failed."""
    if run is None:
        return logging.WARNING, f"crawl of {name}: no run recorded ({error or 'unknown'})"
    run_id, status, stats_text, run_error = run
    stats = json.loads(stats_text or "{}")
    counts = ", ".join(
        f"{label} {stats.get(key) or 0}"
        for label, key in (
            ("pages", "pages_fetched"),
            ("new", "articles_new"),
            ("updated", "articles_updated"),
            ("flags", "flags"),
            ("errors", "errors"),
        )
    )
    kinds = sorted(
        (
            (v, k.removeprefix("errors."))
            for k, v in stats.get("counts", {}).items()
            if k.startswith("errors.") and v
        ),
        reverse=True,
    )
    message = f"run {run_id} of {name}: {status} ({counts})"
    if kinds:
        message += "; errors by kind: " + ", ".join(f"{kind} {n}" for n, kind in kinds[:4])
    why = run_error or error
    if status in ("failed", "interrupted") and why:
        message += f"; {why.strip().splitlines()[-1][:300]}"
    return (logging.WARNING if status == "failed" else logging.INFO), message


def log_run(name: str, run: tuple[Any, ...] | None, error: str | None) -> None:
    level, message = run_line(name, run, error)
    logger.log(level, "%s", message)


def stderr_tail(handle: IO[bytes], chars: int = ERROR_TAIL_CHARS) -> str:
    """The last ``chars`` characters written to the file ``handle`` (UTF-8, 4 bytes a
    character at most), read without reading the whole file."""
    size = handle.seek(0, os.SEEK_END)
    handle.seek(max(0, size - 4 * chars))
    return handle.read().decode("utf-8", "replace")[-chars:]


class Scheduler:
    """Runs each source on its adaptive interval until stopped."""

    FORKS_CRAWLS = True  # its crawls run in children forked from the zygote

    def __init__(
        self, config: Config, config_path: str | None, database: str, max_parallel: int = 2
    ) -> None:
        self.config = config
        self.config_path = config_path
        self.database = database
        self.db = open_database(database)
        self.stopping = threading.Event()
        self.children: dict[str, zygote.Child] = {}
        self.forking = False  # the zygote runs: crawls are forked from it
        self.lock = threading.Lock()
        self.scheduler = BlockingScheduler(
            # The briefs have their own thread: crawls holding every default thread for an
            # hour must not hold a brief back.
            executors={
                "default": ThreadPoolExecutor(max_parallel),
                "digests": ThreadPoolExecutor(1),
            },
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": MISFIRE_GRACE_SECONDS,
            },
            timezone=UTC,
        )

    def crawl_args(self, source: str) -> list[str]:
        """The arguments of `python -m crawler` for a scheduled crawl of ``source``."""
        config = ["--config", self.config_path] if self.config_path else []
        where = ["--db", self.database, "--source", source]
        return ["crawl", *config, *where, "--trigger", "scheduled"]

    def schedule_all(self) -> None:
        now = datetime.now(UTC)
        for index, source in enumerate(self.config.sources):
            state, next_run = load_poll_state(self.db, source)
            if next_run is None or next_run < now:
                # Missed while the scheduler was down: run once (coalesced), but staggered
                # so a restart does not fire every source in the same second.
                next_run = now + timedelta(seconds=min(2.0 * index, state.interval_seconds))
            self.scheduler.add_job(
                self.run_source,
                IntervalTrigger(seconds=state.interval_seconds, timezone=UTC),
                args=[source.name],
                id=source.name,
                name=f"crawl {source.name}",
                next_run_time=next_run,
                replace_existing=True,
            )
            save_poll_state(self.db, source.name, state, next_run)

    def schedule_digests(self) -> None:
        """The briefs ([[notify.digest]]): a tick now (what came due while the scheduler was
        down goes out once) and then twice a period, every 30 s at most (schedules/digests.py)."""
        if not self.config.digests:
            return
        from schedules.digests import digest_tick, tick_seconds

        self.scheduler.add_job(
            digest_tick,
            IntervalTrigger(seconds=tick_seconds(self.config), timezone=UTC),
            args=[self.config, self.database],
            id="newswatch-digests",
            executor="digests",
            name="send the briefs",
            next_run_time=datetime.now(UTC),
            replace_existing=True,
        )

    def run_source(self, name: str) -> None:
        """One scheduled crawl of a source in a child process, then adapt its interval."""
        if self.stopping.is_set():
            return
        source = self.config.source(name)
        limit = self.config.crawl.run_time_limit_seconds + 60
        db = open_database(self.database)
        try:  # a crawl of this source that outlived a scheduler, or a manual one: not twice
            if wait_for_survivors(db, name, self.stopping, limit):
                return  # its run is this round's; the next one comes on the interval
        finally:
            db.close()
        started = utcnow()
        # The child's stderr goes to a file (a pipe would need a reader): its tail is the
        # error of a run that failed.
        with tempfile.NamedTemporaryFile(prefix="newswatch-crawl-", suffix=".stderr") as stderr:
            with self.lock:
                if self.stopping.is_set():  # _shutdown would not see this child
                    return
                child = zygote.start_command(self.crawl_args(name), stderr.name, fork=self.forking)
                self.children[name] = child
            try:
                code = child.wait(timeout=limit)
                error = None if code == 0 else f"child exited {code}: {stderr_tail(stderr)}"
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
                error = f"child exceeded the time limit of {limit:.0f}s and was killed"
            finally:
                with self.lock:
                    self.children.pop(name, None)
        db = open_database(self.database)  # sqlite3 connections belong to one thread
        try:
            self._after_child(db, source, started, error)
        finally:
            db.close()

    def _after_child(self, db: Database, source: Source, started: str, error: str | None) -> None:
        name = source.name
        run = last_scheduled_run(db, name, started)
        stopping = self.stopping.is_set()
        crashed = run is None or run[1] == "running"  # the child could not finish its run
        if run and run[1] == "running":
            finish_run(
                db,
                run[0],
                "interrupted" if stopping else "failed",
                json.loads(run[2] or "{}"),
                error,
            )
        elif run is None and error:
            run_id = start_run(db, "scheduled", [name], started_at=started)
            finish_run(db, run_id, "interrupted" if stopping else "failed", {}, error)
            run = (run_id, "failed", "{}")
        if crashed and error and not stopping:
            # A finished child recorded its sources' health itself; a crashed one could not.
            record_source_outcomes(db, {name: True})
        final = None if run is None else run_outcome(db, run[0])
        log_run(name, final, error)
        stats = json.loads(final[2] or "{}") if final else {}
        failed = (error is not None and not stopping) or bool(final and final[1] == "failed")
        # An update is news from the source as much as a new article: both count as change.
        changes = (stats.get("articles_new") or 0) + (stats.get("articles_updated") or 0)
        self.adapt(db, source, changes, failed)

    def adapt(self, db: Database, source: Source, new_items: int, failed: bool) -> None:
        """Poll a busy source more often and a quiet or failing one less (its health, failures
        in a row, is recorded by the run itself: crawler/store/health.py)."""
        state, _ = load_poll_state(db, source)
        new_state = next_interval(state, new_items, failed)
        failures = consecutive_failures(db, source.name)
        if failed and failures and failures % 3 == 0:
            logger.warning("source %s has failed %d runs in a row", source.name, failures)
        next_run = datetime.now(UTC) + timedelta(seconds=new_state.interval_seconds)
        # Under self.lock and only while not stopping: APScheduler's shutdown(wait=True) holds
        # its job-store lock while it waits for running jobs, so a job that asked the scheduler
        # for its job during shutdown would wait forever (_shutdown takes self.lock first).
        with self.lock:
            job = None if self.stopping.is_set() else self.scheduler.get_job(source.name)
            if job is not None:
                if new_state.interval_seconds != state.interval_seconds:
                    job.reschedule(
                        IntervalTrigger(seconds=new_state.interval_seconds, timezone=UTC)
                    )
                next_run = job.next_run_time or next_run
        save_poll_state(db, source.name, new_state, next_run)
        if new_state.interval_seconds != state.interval_seconds:
            logger.info(
                "polling %s every %s (was %s; configured %s)",
                source.name,
                format_seconds(new_state.interval_seconds),
                format_seconds(state.interval_seconds),
                format_seconds(state.base_seconds),
            )

    def stop(self, *_: Any) -> None:
        """Stop scheduling; ask running children to finish cleanly, kill them if they don't."""
        # A signal handler: no locks here (the main thread may hold APScheduler's), the rest
        # happens in a thread.
        if self.stopping.is_set():
            return
        self.stopping.set()
        threading.Thread(target=self._shutdown, name="newswatch-stop", daemon=True).start()

    def _shutdown(self) -> None:
        with self.lock:  # no job is between its stopping check and a scheduler call after this
            running = dict(self.children)
        in_flight = [name for name, child in running.items() if child.poll() is None]
        if in_flight:
            logger.info(
                "stopping: waiting up to %s for the crawl in flight (%s) to finish",
                format_seconds(STOP_GRACE_SECONDS),
                ", ".join(in_flight),
            )
        else:
            logger.info("stopping: no crawl in flight")
        # The crawl in flight may finish within the grace period, and is then recorded as
        # what it was (ok, partial). Past it, Scrapy is asked to close the spider (the run
        # is recorded interrupted), and a child that still does not end is killed.
        deadline = time.monotonic() + STOP_GRACE_SECONDS  # one grace period for all children
        for name, child in running.items():
            try:
                child.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.warning("stopping: the crawl of %s did not finish in time", name)
                child.send_signal(signal.SIGTERM)  # Scrapy closes the spider gracefully
                try:
                    child.wait(timeout=STOP_KILL_SECONDS)
                except subprocess.TimeoutExpired:
                    child.kill()
        # A stop during start-up: wait until the scheduler runs, so that shutdown() ends it.
        for _ in range(200):
            if self.scheduler.running:
                break
            time.sleep(0.05)
        try:
            self.scheduler.shutdown(wait=True)
        except SchedulerNotRunningError:
            pass

    def start_zygote(self) -> None:
        """Start the crawl zygote (it imports while the scheduler starts up): from the main
        thread, before APScheduler's threads, so that the kernel kills it when this process
        dies. Without a fork server each crawl is a fresh interpreter, as it is then."""
        if not self.FORKS_CRAWLS or not zygote.available():
            return
        try:
            zygote.start_zygote(die_with_parent=True)
            self.forking = True
        except OSError as error:
            logger.warning("no crawl zygote (%s): each crawl starts a fresh interpreter", error)

    def run(self) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        if STOP_BEFORE_START.is_set():  # SIGTERM while starting up: stop as asked
            self.db.close()
            return
        self.start_zygote()
        try:
            self.schedule_all()
            self.schedule_digests()
            logger.info(
                "scheduler started with %d sources (pid %d)",
                len(self.config.sources),
                os.getpid(),
            )
            if not self.stopping.is_set():
                self.scheduler.start()
            self.db.close()
        finally:
            zygote.stop_zygote()  # every crawl has ended: reaped, not left to init


@dataclass
class OpenRun:
    """A scheduled run seeded onto the shared queue and not yet finished."""

    run_id: int
    tags: RunTags
    started: str
    deadline: float


class SeedingScheduler(Scheduler):
    """`schedule` with ``[distributed]``: each due source is seeded onto the shared queue
    (the `newswatch worker` processes fetch it), and this process is the one ingest writer.
    A run finishes when the whole queue has drained (or at the crawl time limit)."""

    FORKS_CRAWLS = False  # no crawl child: the workers crawl

    DRAIN_CHECK_SECONDS = 1.0

    def __init__(self, config: Config, config_path: str | None, database: str) -> None:
        from crawler.distributed.queue import IngestWriter, connect

        super().__init__(config, config_path, database)
        assert config.redis_url is not None
        self.server = connect(config.redis_url)
        self.writer = IngestWriter(config, database, self.server)
        self.open_runs: dict[str, OpenRun] = {}

    def run_source(self, name: str) -> None:
        """Seed one source's run, unless its previous run is still being worked on."""
        from crawler.crawl import seed_distributed_run

        if self.stopping.is_set():
            return
        with self.lock:
            if name in self.open_runs:
                return
        db = open_database(self.database)
        try:
            started = utcnow()
            run_id, tags, queued = seed_distributed_run(
                self.config, db, [name], "scheduled", self.server
            )
        finally:
            db.close()
        logger.info("seeded run %d of %s: %d requests queued", run_id, name, queued)
        deadline = time.monotonic() + self.config.crawl.run_time_limit_seconds
        with self.lock:
            self.open_runs[name] = OpenRun(run_id, tags, started, deadline)

    def check_runs(self) -> None:
        """Finish the open runs once the queue, the leases and the stream are all empty."""
        from crawler.distributed.queue import queue_state

        with self.lock:
            runs = dict(self.open_runs)
        if not runs:
            return
        drained = queue_state(self.server).drained
        db = open_database(self.database)
        try:
            for name, run in runs.items():
                if drained or time.monotonic() > run.deadline:
                    self._finish(db, name, run, "finished" if drained else "time limit")
        finally:
            db.close()

    def _finish(self, db: Database, name: str, run: OpenRun, how: str) -> None:
        from crawler.crawl import RunSummary, link_stored, record_health, run_status
        from crawler.distributed.queue import forget_run, read_counts

        counts = read_counts(self.server, run.tags)
        link_stored(db, run.run_id, run.tags.baseline, counts)
        status = run_status(counts) if how == "finished" else "partial"
        if self.stopping.is_set() and how != "finished":
            status = "interrupted"
        self.writer.finish_run(db, run.tags, how == "finished")
        if how == "finished":
            forget_run(self.server, run.tags)
        finish_run(
            db,
            run.run_id,
            status,
            RunSummary(run.run_id, status, counts).stats(),
            None if how == "finished" else f"run stopped: {how}",
        )
        record_health(db, (self.config.source(name),), None, status)
        if self.config.webhook:
            from crawler.read.notify import Webhook, notify_run

            notify_run(db, Webhook.of(self.config), run.run_id)
        with self.lock:
            self.open_runs.pop(name, None)
        self._after_child(db, self.config.source(name), run.started, None)

    def run(self) -> None:
        self.writer.start()
        self.scheduler.add_job(
            self.check_runs,
            IntervalTrigger(seconds=self.DRAIN_CHECK_SECONDS, timezone=UTC),
            id="newswatch-drain-check",
            name="finish drained runs",
            replace_existing=True,
        )
        try:
            super().run()
        finally:
            db = open_database(self.database)
            for name, run in list(self.open_runs.items()):
                self._finish(db, name, run, "scheduler stopped")
            db.close()
            self.writer.stop()


STOP_BEFORE_START = threading.Event()


def _stop_before_start(*_: Any) -> None:
    STOP_BEFORE_START.set()


def run_scheduler(config: Config, config_path: str | None, database: str) -> None:
    """Run the scheduler in the foreground until SIGINT/SIGTERM: one per database (raises
    SchedulerLockHeld when another one runs)."""
    # APScheduler logs "executed successfully" for every job that returned, failed crawl
    # or not: each run gets its own line with its status instead (log_run).
    # The rest of APScheduler's INFO lines ("Adding job tentatively -- it will be properly
    # scheduled when the scheduler starts", "Scheduler started") are library chatter.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # Until the scheduler installs its own handlers, SIGINT/SIGTERM only ask it not to start.
    signal.signal(signal.SIGTERM, _stop_before_start)
    signal.signal(signal.SIGINT, _stop_before_start)
    lock = SchedulerLock(database)
    stale = lock.acquire()
    try:
        if stale is not None:
            logger.warning("took over the lock of a scheduler that is gone (%s)", stale.describe())
        if config.redis_url:
            SeedingScheduler(config, config_path, database).run()
            return
        Scheduler(config, config_path, database).run()
    finally:
        lock.release()
