"""Scale-out over Redis: a shared, leased request queue, a results stream, one ingest writer.

Layout in Redis (one database, every key under ``newswatch:``):

===========================  ======  ===========================================================
key                          type    what
===========================  ======  ===========================================================
``newswatch:requests``       zset    scrapy-redis's priority queue of serialized requests
``newswatch:inflight``       zset    leased requests, scored by the lease's deadline (ms)
``newswatch:seen:<token>``   set     one run's duplicate filter, expires after the recheck window
``newswatch:pages``          stream  fetched and extracted pages, fetch records (pickled)
``newswatch:run:<token>``    hash    one run's counters, from every worker and the writer
``newswatch:gate:<host>``    string  the per-host politeness gate (SET NX PX delay)
``newswatch:off-topic:<k>``  hash    url -> kind, time of pages judged off-topic (topics key k)
===========================  ======  ===========================================================

Invariant: every piece of work is in exactly one of the queue, the in-flight set or the
stream until it is committed to SQLite. A worker moves a request from the queue to the
in-flight set atomically (Lua), queues what the response led to, pushes the result to the
stream and only then removes the lease; the writer deletes a stream entry only after the
SQLite commit. So "drained" is one atomic look at three sizes, and a killed worker or writer
loses nothing: an expired lease goes back to the queue, an unacknowledged entry is read again
(and ``ingest_results`` is idempotent).
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, cast

import redis
from redis.client import Pipeline
from sqlite_utils import Database

from crawler.config.settings import Config
from crawler.core.items import FetchRecord, RunTags
from crawler.core.pages import PageResult
from crawler.ingest.ingest import IngestOptions, ingest_results, record_fetch_records
from crawler.ingest.listings import ListingLedger
from crawler.store.storage import open_database, write_transaction
from crawler.topics.query import topics_key

logger = logging.getLogger(__name__)


# What a worker puts on the results stream (pickled), one entry per result; ``run`` is the
# run's tags (new_run_tags) so the writer counts it for the right run.
@dataclass(frozen=True)
class FetchEntry:
    """A fetch that produced no page to extract (its outcome goes to ``fetches``)."""

    run: RunTags
    record: FetchRecord


@dataclass(frozen=True)
class PageEntry:
    """An extracted page, with the HTTP facts to store with its fetch state."""

    run: RunTags
    result: PageResult
    meta: dict[str, Any]


@dataclass(frozen=True)
class IncompleteEntry:
    """A listing a worker could not read to its end: its validators are not saved."""

    run: RunTags
    url: str


StreamEntry = FetchEntry | PageEntry | IncompleteEntry

PREFIX = "newswatch"
QUEUE_KEY = f"{PREFIX}:requests"
INFLIGHT_KEY = f"{PREFIX}:inflight"
SEEN_KEY = f"{PREFIX}:seen"
STREAM_KEY = f"{PREFIX}:pages"
STATS_KEY = f"{PREFIX}:stats"  # cluster-wide counters (requeued leases)
WORKERS_KEY = f"{PREFIX}:workers"  # worker name -> JSON heartbeat (for people and tests)
PAYLOAD_FIELD = b"d"  # the one field of a stream entry: the pickled StreamEntry
GROUP = "ingest"
WRITER = "writer"  # one writer: a fixed consumer name lets a restarted one re-read its backlog
RUN_KEY_TTL = 7 * 86400  # a run's counters outlive any run

# Take the first request of the queue and lease it until now + ARGV[1] ms, in one step.
_POP_LEASE = """
local item = redis.call('ZRANGE', KEYS[1], 0, 0)[1]
if not item then return false end
redis.call('ZREM', KEYS[1], item)
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZADD', KEYS[2], ms + tonumber(ARGV[1]), item)
return item
"""

# Put requests whose lease ran out back at the head of the queue.
_REQUEUE_EXPIRED = """
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local items = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ms, 'LIMIT', 0, 500)
for _, item in ipairs(items) do
  redis.call('ZREM', KEYS[2], item)
  redis.call('ZADD', KEYS[1], -1000, item)
end
if #items > 0 then redis.call('HINCRBY', KEYS[3], 'requeued', #items) end
return #items
"""

# Extend the leases still in flight (XX: never resurrect one that expired and was requeued).
_RENEW = """
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local renewed = 0
for i = 2, #ARGV do
  renewed = renewed + redis.call('ZADD', KEYS[1], 'XX', 'CH', ms + tonumber(ARGV[1]), ARGV[i])
end
return renewed
"""

# Give leases back at once (a worker stopping cleanly): queue again what was still in flight.
_RELEASE = """
local moved = 0
for i = 1, #ARGV do
  if redis.call('ZREM', KEYS[2], ARGV[i]) == 1 then
    redis.call('ZADD', KEYS[1], -1000, ARGV[i])
    moved = moved + 1
  end
end
return moved
"""


def connect(url: str) -> redis.Redis:
    """A Redis client for ``url`` (bytes in, bytes out)."""
    return redis.Redis.from_url(url, socket_timeout=30, health_check_interval=30)


def new_run_tags(run_id: int, baseline: bool = False) -> RunTags:
    """A new run's tags: its id, a unique token (crawler.core.items.RunTags), the baseline
    flag."""
    return RunTags(run_id, uuid.uuid4().hex[:16], baseline)


def run_key(tags: RunTags) -> str:
    return f"{PREFIX}:run:{tags.token}"


def seen_key(tags: RunTags | None) -> str:
    return f"{SEEN_KEY}:{tags.token if tags else 'none'}"


@dataclass
class Cluster:
    """This process's handle on the shared queue: its Redis client and the leases it holds."""

    server: redis.Redis
    lease_seconds: float
    role: str  # "crawl" (seeds, works, ingests, returns when drained) or "worker"
    tags: RunTags | None = None  # the run this process seeds (None on a worker)
    held: set[bytes] = field(default_factory=set)
    synced: Counter[str] = field(default_factory=Counter)  # counters already sent to Redis
    writer: IngestWriter | None = None  # the ingest writer running in this process, if any

    def __post_init__(self) -> None:
        self._pop = self.server.register_script(_POP_LEASE)
        self._requeue = self.server.register_script(_REQUEUE_EXPIRED)
        self._renew = self.server.register_script(_RENEW)
        self._release = self.server.register_script(_RELEASE)

    @property
    def lease_ms(self) -> int:
        return int(self.lease_seconds * 1000)

    def pop(self, queue_key: str = QUEUE_KEY) -> bytes | None:
        """Lease the next queued request (its serialized form is the lease's name)."""
        item = self._pop(keys=[queue_key, INFLIGHT_KEY], args=[self.lease_ms])
        if item:
            self.held.add(item)
        return item or None

    def ack(self, lease: bytes) -> None:
        """The request is done: everything it led to is queued or pushed."""
        self.held.discard(lease)
        self.server.zrem(INFLIGHT_KEY, lease)

    def renew(self) -> None:
        if self.held:
            self._renew(keys=[INFLIGHT_KEY], args=[self.lease_ms, *self.held])

    def requeue_expired(self, queue_key: str = QUEUE_KEY) -> int:
        moved = int(self._requeue(keys=[queue_key, INFLIGHT_KEY, STATS_KEY]))
        if moved:
            logger.warning("requeued %d requests whose lease expired (a worker died?)", moved)
        return moved

    def release_held(self, queue_key: str = QUEUE_KEY) -> int:
        if not self.held:
            return 0
        moved = int(self._release(keys=[queue_key, INFLIGHT_KEY], args=list(self.held)))
        self.held.clear()
        return moved

    def heartbeat(self) -> None:
        """Say who is working and how many requests it holds (removed on a clean stop)."""
        state = {"role": self.role, "held": len(self.held), "at": round(time.time(), 1)}
        self.server.hset(WORKERS_KEY, worker_name(), json.dumps(state))

    def leave(self) -> None:
        self.server.hdel(WORKERS_KEY, worker_name())

    def sync_counts(self, counts: Counter[str], tags: RunTags | None) -> None:
        """Send the counters that grew since the last call to the run's hash."""
        delta = self._delta(counts)
        if not delta or not tags:
            return
        add_counts(self.server, tags, delta)
        self.synced.update(delta)

    def _delta(self, counts: Counter[str]) -> dict[str, int]:
        return {k: v - self.synced[k] for k, v in counts.items() if v != self.synced[k]}

    def complete(
        self,
        entries: list[StreamEntry],
        lease: bytes | None,
        counts: Counter[str],
        tags: RunTags,
    ) -> None:
        """One request done, in one round trip and one transaction: its results onto the
        stream, the counters that grew, and only then the lease removed."""
        pipe = self.server.pipeline(transaction=True)
        for entry in entries:
            pipe.xadd(STREAM_KEY, {PAYLOAD_FIELD: _pickled(entry)})
        delta = self._delta(counts)
        if delta:
            _queue_counts(pipe, tags, delta)
        if lease is not None:
            pipe.zrem(INFLIGHT_KEY, lease)
        pipe.execute()
        self.synced.update(delta)
        if lease is not None:
            self.held.discard(lease)


# -- counters, state ---------------------------------------------------------------------------


def _queue_counts(pipe: Pipeline, tags: RunTags, counts: dict[str, int]) -> None:
    for name, value in counts.items():
        if value:
            pipe.hincrby(run_key(tags), name, int(value))
    pipe.expire(run_key(tags), RUN_KEY_TTL)


def add_counts(server: redis.Redis, tags: RunTags, counts: dict[str, int]) -> None:
    pipe = server.pipeline(transaction=False)
    _queue_counts(pipe, tags, counts)
    pipe.execute()


def forget_run(server: redis.Redis, tags: RunTags) -> None:
    """A finished run's duplicate filter is no longer needed (its TTL only covers crashes)."""
    server.delete(seen_key(tags))


def read_counts(server: redis.Redis, tags: RunTags) -> Counter[str]:
    raw = cast("dict[bytes, bytes]", server.hgetall(run_key(tags)))
    return Counter({k.decode(): int(v) for k, v in raw.items()})


@dataclass(frozen=True)
class QueueState:
    queued: int
    in_flight: int
    unwritten: int  # stream entries not yet committed to SQLite

    @property
    def drained(self) -> bool:
        return not (self.queued or self.in_flight or self.unwritten)


def queue_state(server: redis.Redis) -> QueueState:
    """The three sizes read in one transaction, so no work can slip between them."""
    pipe = server.pipeline(transaction=True)
    pipe.zcard(QUEUE_KEY)
    pipe.zcard(INFLIGHT_KEY)
    pipe.xlen(STREAM_KEY)
    queued, in_flight, unwritten = pipe.execute()
    return QueueState(int(queued), int(in_flight), int(unwritten))


def host_gate_wait(server: redis.Redis, host: str, delay: float) -> float:
    """0 when this process may fetch from ``host`` now (and takes the gate for ``delay``);
    otherwise the seconds until the gate opens. One gate per host across all workers."""
    key = f"{PREFIX}:gate:{host}"
    if server.set(key, b"1", nx=True, px=max(1, int(delay * 1000))):
        return 0.0
    ttl = server.pttl(key)
    return max(ttl, 10) / 1000 if ttl and ttl > 0 else 0.01


# -- the results stream ------------------------------------------------------------------------


def _pickled(entry: StreamEntry) -> bytes:
    return pickle.dumps(entry, protocol=pickle.HIGHEST_PROTOCOL)


def push_entries(server: redis.Redis, entries: Iterable[StreamEntry]) -> None:
    """Append results to the stream (one XADD each, in one round trip)."""
    pipe = server.pipeline(transaction=False)
    for entry in entries:
        pipe.xadd(STREAM_KEY, {PAYLOAD_FIELD: _pickled(entry)})
    pipe.execute()


def ensure_group(server: redis.Redis) -> None:
    try:
        server.xgroup_create(STREAM_KEY, GROUP, id="0", mkstream=True)
    except redis.ResponseError as error:
        if "BUSYGROUP" not in str(error):
            raise


class IngestWriter:
    """The one SQLite writer: reads the stream in batches, commits, then acknowledges.

    Runs in a thread of the ``crawl`` (or ``schedule``) process with its own connection.
    """

    BATCH = 200
    BLOCK_MS = 200

    def __init__(self, config: Config, database: str, server: redis.Redis) -> None:
        self.config = config
        self.database = database
        self.server = server
        self.ledgers: dict[str, ListingLedger] = {}
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None
        self.error: BaseException | None = None
        self.ingested = 0
        ensure_group(server)

    def start(self) -> IngestWriter:
        self.thread = threading.Thread(target=self._run, name="ingest-writer", daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout=60)
        if self.error is not None:
            raise RuntimeError(f"ingest writer failed: {self.error}") from self.error

    def _run(self) -> None:
        db = open_database(self.database)
        try:
            # First what this writer read before and never acknowledged (a crash), then new.
            backlog = True
            while not self.stopping.is_set():
                stream_id = "0" if backlog else ">"
                reply = cast(
                    "list[tuple[bytes, list[tuple[bytes, dict[bytes, bytes]]]]]",
                    self.server.xreadgroup(
                        GROUP,
                        WRITER,
                        {STREAM_KEY: stream_id},
                        count=self.BATCH,
                        block=None if backlog else self.BLOCK_MS,
                    ),
                )
                entries = reply[0][1] if reply else []
                if backlog and not entries:
                    backlog = False
                    continue
                if entries:
                    self.write_batch(db, entries)
        except BaseException as error:  # surfaced by stop(); the crawl must not hang on it
            logger.exception("ingest writer failed")
            self.error = error
        finally:
            db.close()

    def write_batch(self, db: Database, entries: list[tuple[bytes, dict[bytes, bytes]]]) -> None:
        """Commit one batch in one transaction, then XACK and XDEL it."""
        counts_by_run = self.commit(db, entries)
        self.acknowledge([entry_id for entry_id, _ in entries], counts_by_run)

    def commit(
        self, db: Database, entries: list[tuple[bytes, dict[bytes, bytes]]]
    ) -> list[tuple[RunTags, Counter[str]]]:
        """Ingest a batch of stream entries in one SQLite transaction; counts per run."""
        by_run: dict[str, list[StreamEntry]] = {}
        for _, fields in entries:
            payload: StreamEntry = pickle.loads(fields[PAYLOAD_FIELD])
            by_run.setdefault(payload.run.token, []).append(payload)
        counts_by_run: list[tuple[RunTags, Counter[str]]] = []
        with write_transaction(db):
            for payloads in by_run.values():
                counts_by_run.append((payloads[0].run, self._ingest_run(db, payloads)))
        return counts_by_run

    def acknowledge(
        self, ids: list[bytes], counts_by_run: list[tuple[RunTags, Counter[str]]]
    ) -> None:
        """After the commit: count, XACK and XDEL (a crash before this re-delivers)."""
        # Counters and acknowledgement in one transaction: "drained" implies "counted".
        pipe = self.server.pipeline(transaction=True)
        for tags, counts in counts_by_run:
            _queue_counts(pipe, tags, counts)
        pipe.xack(STREAM_KEY, GROUP, *ids)
        pipe.xdel(STREAM_KEY, *ids)
        pipe.execute()
        self.ingested += len(ids)

    def _ingest_run(self, db: Database, payloads: list[StreamEntry]) -> Counter[str]:
        tags = payloads[0].run
        ledger = self.ledgers.setdefault(tags.token, ListingLedger())
        records: list[FetchRecord] = []
        results: list[PageResult] = []
        metas: dict[str, dict] = {}
        for payload in payloads:
            if isinstance(payload, IncompleteEntry):
                ledger.incomplete.add(payload.url)
            elif isinstance(payload, FetchEntry):
                records.append(ledger.hold(payload.record))
            else:
                results.append(payload.result)
                metas[payload.result.url] = payload.meta
        record_fetch_records(db, records, tags.id)
        topics = [(t.name, t.query) for t in self.config.topics]
        options = IngestOptions(
            tags.id,
            bool(topics),
            tags.baseline,
            topics_key(topics),
            defer_links=True,
        )
        return ingest_results(db, results, options, metas)

    def finish_run(self, db: Database, tags: RunTags, finished: bool) -> None:
        """Write the listing validators of a run that finished (not those of failed lists)."""
        ledger = self.ledgers.pop(tags.token, ListingLedger())
        if finished:
            ledger.save(db)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"
