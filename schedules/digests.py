"""The brief on schedule: each ``[[notify.digest]]`` at its local time, through the outbox.

A period ends at each scheduled instant (``at`` in ``timezone``, every ``every``, a day by
default). A tick, at start-up and then at least every 30 seconds, stores the brief of the
latest period that ended (30 s ago, so writes in flight settle) if it is not stored yet:
a time that passed while the scheduler was down gets its brief once, at start-up,
covering everything since the last one. The tick then sends whatever the outbox holds, so
an undelivered brief is retried within a minute. The store's UNIQUE(name, period_end)
keeps one brief per period across restarts.
"""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from crawler.config.digest import DigestSpec
from crawler.config.settings import Config
from crawler.core.timeutil import iso_utc, parse_iso
from crawler.read.delivery import DigestDelivery, deliver_digests, queue_digest
from crawler.store.digests import digest_exists, last_period
from crawler.store.storage import open_database

logger = logging.getLogger("newswatch.schedule")

MAX_TICK_SECONDS = 30.0


def latest_due(spec: DigestSpec, now: datetime) -> datetime:
    """The latest scheduled instant at or before ``now`` (UTC)."""
    zone = ZoneInfo(spec.timezone)
    hour, minute = spec.hour_minute
    local_day = now.astimezone(zone).date()
    per_day = int(round(86400 / spec.every_seconds))
    best: datetime | None = None
    for back in range(0, 3):
        start = datetime.combine(local_day - timedelta(days=back), time(hour, minute), zone)
        start_utc = start.astimezone(UTC)
        if start_utc > now:
            continue
        steps = min(per_day - 1, math.floor((now - start_utc).total_seconds() / spec.every_seconds))
        candidate = start_utc + timedelta(seconds=steps * spec.every_seconds)
        best = candidate if best is None else max(best, candidate)
        break
    assert best is not None  # three days back always has an instant before now
    return best


def previous_due(spec: DigestSpec, instant: datetime) -> datetime:
    return latest_due(spec, instant - timedelta(seconds=min(1.0, spec.every_seconds / 2)))


def settle_seconds(spec: DigestSpec) -> float:
    """How long after its end a period's brief is written: 30 s, less for short periods."""
    return min(30.0, spec.every_seconds / 4)


def tick_seconds(config: Config) -> float:
    """How often the scheduler looks: at least twice a period, and every 30 s at most."""
    shortest = min((spec.every_seconds for spec in config.digests), default=MAX_TICK_SECONDS)
    return max(0.5, min(MAX_TICK_SECONDS, shortest / 2))


def queue_due(config: Config, database: str, now: datetime | None = None) -> list[int]:
    """Store (and queue) each digest whose period has ended and has no brief yet."""
    now = now or datetime.now(UTC)
    queued: list[int] = []
    db = open_database(database)
    try:
        for spec in config.digests:
            # A period closes a little after its time: a crawl's write that stamped a flag
            # just before the end may still be committing.
            due = latest_due(spec, now - timedelta(seconds=settle_seconds(spec)))
            end = iso_utc(due)
            if digest_exists(db, spec.name, end):
                continue
            previous = last_period(db, spec.name)
            last, after_flag = previous if previous is not None else (None, None)
            if last is not None and last > end:
                continue  # the clock went back: that period was briefed already
            start = last if last is not None else iso_utc(previous_due(spec, due))
            last_moment = parse_iso(start)
            if last_moment is not None and last_moment < due - timedelta(days=30):
                start = iso_utc(due - timedelta(days=30))  # a scheduler down for months
                after_flag = None
            digest_id = queue_digest(db, spec, (start, end), config.base_url, after_flag)
            if digest_id is not None:
                logger.info("digest %r for %s to %s queued", spec.name, start, end)
                queued.append(digest_id)
    finally:
        db.close()
    return queued


def digest_tick(config: Config, database: str) -> DigestDelivery | None:
    """One look: queue what is due, send what waits. Never raises (a job must not die)."""
    try:
        queue_due(config, database)
        db = open_database(database)
        try:
            return deliver_digests(db, config.digests)
        finally:
            db.close()
    except Exception as error:  # the database is busy or gone: the next tick tries again
        logger.warning("digest tick failed: %s: %s", type(error).__name__, error)
        return None
