"""Scale-out over a real Redis: workers plus `newswatch crawl` equal a single-node crawl.

A session-scoped `redis-server` runs on a free 127.0.0.1 port (no persistence, a temporary
directory); the tests skip, saying why, only when the binary is missing (`.ci/run` installs
Debian's `redis-server`).
"""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.config.settings import ConfigError, parse_config
from crawler.sample_site import SampleWeb
from tests.conftest import MonitoredWeb, run_cli, sample_web
from tests.support.redis_server import BINARY as REDIS_BINARY
from tests.support.redis_server import free_port as _free_port
from tests.support.redis_server import (
    start_forked_worker,
    start_redis,
    start_worker,
    stop_processes,
)
from tests.support.scheduler import start_cli
from tests.support.wait import wait_until


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if REDIS_BINARY is None:
        pytest.skip(
            "redis-server is not installed (Debian: apt-get install redis-server; "
            ".ci/run does this)"
        )
    try:
        process, url = start_redis(tmp_path_factory.mktemp("redis"))
    except RuntimeError as error:
        pytest.fail(str(error))
    yield url
    process.terminate()
    process.wait(10)


@pytest.fixture
def redis_url(redis_server: str) -> str:
    import redis

    redis.Redis.from_url(redis_server).flushdb()
    return redis_server


def distributed_config(
    web: SampleWeb, db: Path, redis_url: str, *, delay: float = 0.0, lease: str = "60s"
) -> str:
    return (
        web.config_toml(str(db), delay=delay)
        + f'\n[distributed]\nredis_url = "{redis_url}"\nlease = "{lease}"\n'
    )


# -- what a crawl produced, independent of ports and ids -------------------------------------


def _path(url: str) -> str:
    return url.split("://", 1)[1].split("/", 1)[1] if "/" in url.split("://", 1)[1] else ""


def outcome(db_path: Path) -> dict:
    """Articles (by path, with text), story grouping, duplicates and flags per run."""
    conn = sqlite3.connect(db_path)
    conn.row_factory = sqlite3.Row
    articles = {r["id"]: r for r in conn.execute("SELECT * FROM articles")}
    path = {i: _path(r["url"]) for i, r in articles.items()}
    stories: dict[int, set[str]] = {}
    for i, row in articles.items():
        stories.setdefault(row["story_id"], set()).add(path[i])
    runs = [r[0] for r in conn.execute("SELECT id FROM runs ORDER BY id")]
    flags = sorted(
        (runs.index(r["run_id"]), r["kind"], path.get(r["article_id"]))
        for r in conn.execute("SELECT run_id, kind, article_id FROM flags")
    )
    return {
        "articles": sorted(
            (path[i], r["title"], r["text"], r["topics"]) for i, r in articles.items()
        ),
        "stories": sorted(sorted(members) for members in stories.values()),
        "duplicates": sorted(
            (path[i], path[r["duplicate_of"]]) for i, r in articles.items() if r["duplicate_of"]
        ),
        "flags": flags,
        "runs": [r[0] for r in conn.execute("SELECT status FROM runs ORDER BY id")],
    }


def _last_run_count(db_path: Path, key: str) -> int:
    conn = sqlite3.connect(db_path)
    stats = conn.execute("SELECT stats FROM runs ORDER BY id DESC LIMIT 1").fetchone()[0]
    conn.close()
    return int(json.loads(stats)["counts"].get(key, 0))


def article_fetches(web: SampleWeb) -> Counter[str]:
    return Counter(
        f"{r.host}{r.path}" for r in web.requests if r.kind == "article" and r.bytes_sent > 0
    )


# -- tests -----------------------------------------------------------------------------------


def test_workers_read_the_crawls_off_topic_verdicts(redis_url: str) -> None:
    import redis

    from crawler.topics.offtopic import LocalVerdicts, RedisVerdicts, publish_verdicts

    known = {
        "https://a.example/old": ("off_topic", "2026-01-01T00:00:00+00:00"),
        "https://a.example/new": ("off_topic (prefilter)", "2026-11-30T00:00:00+00:00"),
    }
    server = redis.Redis.from_url(redis_url)
    publish_verdicts(server, "k1", {"https://gone.example/": ("off_topic", "2026-11-30")})
    publish_verdicts(server, "k1", known)  # replaces, never merges: the database is the truth
    since = "2026-11-01T00:00:00+00:00"
    local, remote = LocalVerdicts(known, since), RedisVerdicts(server, "k1", lambda: since)
    for url in (*known, "https://gone.example/", "https://a.example/other"):
        assert remote.kind(url) == local.kind(url) and remote.recent(url) == local.recent(url)
    assert remote.recent("https://a.example/new") and not remote.recent("https://a.example/old")
    assert remote.kind("https://a.example/old") == "off_topic"
    other_topics = RedisVerdicts(server, "k2", lambda: since)  # other topics' verdicts: none
    assert other_topics.kind("https://a.example/new") is None
    assert RedisVerdicts(server, None, lambda: since).kind("https://a.example/new") is None
    # a long-lived worker sees the next run's verdicts, and the window as it moves
    publish_verdicts(server, "k1", {"https://a.example/other": ("off_topic", "2026-11-30")})
    assert remote.recent("https://a.example/other") and remote.kind("https://a.example/new") is None
    since = "2026-12-01T00:00:00+00:00"
    assert not remote.recent("https://a.example/other")


def test_distributed_config_is_validated() -> None:
    source = {"sources": [{"name": "a", "feeds": ["https://example.org/rss"]}]}
    with pytest.raises(ConfigError) as error:
        parse_config({**source, "distributed": {"lease": "5s"}})
    assert error.value.key == "distributed.redis_url"
    with pytest.raises(ConfigError) as error:
        parse_config({**source, "distributed": {"redis_url": "redis://h/0", "lease": "soon"}})
    assert error.value.key == "distributed.lease"
    config = parse_config({**source, "distributed": {"redis_url": "redis://h:1/0"}})
    assert config.redis_url == "redis://h:1/0" and config.lease_seconds == 60


@pytest.mark.e2e
def test_worker_without_distributed_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[[sources]]\nname = "a"\nfeeds = ["https://example.org/rss"]\n')
    done = run_cli("worker", "--config", str(config), timeout=60)
    assert done.returncode == 2
    assert "distributed.redis_url" in done.stderr


@pytest.mark.e2e
def test_unreachable_redis_exits_1_with_its_message(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        f'[distributed]\nredis_url = "redis://127.0.0.1:{_free_port()}/0"\n'
        '[[sources]]\nname = "a"\nfeeds = ["https://example.org/rss"]\n'
    )
    db = ("--db", str(tmp_path / "x.db"))
    for command, args in (("crawl", db), ("worker", ())):  # a worker keeps no database
        done = run_cli(command, "--config", str(config), *args, timeout=60)
        assert done.returncode == 1, done.stderr[-2000:]
        assert "cannot use Redis" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.e2e
def test_two_workers_and_crawl_equal_single_node(
    tmp_path: Path, redis_url: str, monitored_web: MonitoredWeb
) -> None:
    db = tmp_path / "distributed.db"
    with sample_web() as web:
        config = tmp_path / "distributed.toml"
        config.write_text(distributed_config(web, db, redis_url), "utf-8")
        workers = [start_forked_worker(config, tmp_path / f"worker{i}.log") for i in range(2)]
        try:
            for state, single in ((1, monitored_web.first), (2, monitored_web.second)):
                web.set_state(state)
                web.reset_log()
                done = run_cli("crawl", "--config", str(config), timeout=180)
                assert done.returncode == 0, done.stderr[-3000:]
                fetched = article_fetches(web)
                assert fetched, "no article fetched"
                twice = {url: n for url, n in fetched.items() if n > 1}
                assert not twice, f"state {state}: fetched more than once: {twice}"
                mine, theirs = outcome(db), outcome(single.db_path)
                # the same story partition and duplicate roots, not only the same counts
                assert mine["stories"] == theirs["stories"], f"state {state}: stories differ"
                assert mine["duplicates"] == theirs["duplicates"], f"state {state}: roots differ"
                assert mine == theirs, f"state {state} differs"
                # workers skip the pages judged off-topic last run, as a single node does
                skipped = [
                    _last_run_count(p, "skipped.known_off_topic") for p in (db, single.db_path)
                ]
                assert skipped[0] == skipped[1] and (state == 1 or skipped[0] > 0), skipped
                assert all(w.poll() is None for w in workers), "a worker died"
        finally:
            stop_processes(workers)
    logs = [(tmp_path / f"worker{i}.log").read_text("utf-8", "replace") for i in range(2)]
    assert not any("Traceback" in log for log in logs), logs


@pytest.mark.e2e
def test_killing_a_worker_mid_crawl_loses_nothing(
    tmp_path: Path, redis_url: str, monitored_web: MonitoredWeb
) -> None:
    import redis

    from crawler.distributed.queue import INFLIGHT_KEY, STATS_KEY, WORKERS_KEY

    client = redis.Redis.from_url(redis_url)
    db = tmp_path / "killed.db"
    with sample_web() as web:
        config = tmp_path / "distributed.toml"
        # A per-host delay slows the crawl down enough to kill a worker in the middle of it;
        # a short lease lets the others take over its requests soon.
        # Two requests per process at most, so the work spreads over all three and the victim
        # holds leases most of the time (with 8, whoever finds the links keeps them).
        config.write_text(
            distributed_config(web, db, redis_url, delay=0.4, lease="3s").replace(
                "concurrency = 8", "concurrency = 2"
            )
        )
        victim = start_worker(config, tmp_path / "victim.log")
        survivor = start_worker(config, tmp_path / "survivor.log")
        # Both workers up before the queue is seeded: on a loaded machine a late victim could
        # find the crawl already drained and never hold a lease.
        names = [f"{socket.gethostname()}:{worker.pid}" for worker in (victim, survivor)]
        wait_until(lambda: all(client.hget(WORKERS_KEY, n) for n in names), 60, 0.1, "workers")
        crawl = start_cli(
            "crawl", "--config", str(config), stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        try:
            # Kill the victim while it holds leased requests (its heartbeat says how many).

            def leased() -> int:
                beat = client.hget(WORKERS_KEY, names[0])
                return json.loads(beat)["held"] if beat else 0

            try:
                held = wait_until(leased, 60)
            except AssertionError:
                held = 0  # asserted below, after the crawl's own checks
            in_flight = client.zcard(INFLIGHT_KEY)
            victim.kill()  # SIGKILL: no chance to give its leases back
            victim.wait(10)
            out, err = crawl.communicate(timeout=180)
            assert crawl.returncode == 0, err[-3000:]
        finally:
            if crawl.poll() is None:
                crawl.kill()
            stop_processes([victim, survivor])
    assert held > 0 and in_flight > 0
    got, want = outcome(db), outcome(monitored_web.first.db_path)
    assert got["articles"] == want["articles"]
    assert got["stories"] == want["stories"]
    assert got["duplicates"] == want["duplicates"]
    assert got["flags"] == want["flags"]
    assert got["runs"] == ["ok"]
    # The victim's leases ran out and others fetched those requests.
    assert int(client.hget(STATS_KEY, "requeued") or 0) >= 1


@pytest.mark.e2e
def test_schedule_seeds_runs_that_workers_crawl(tmp_path: Path, redis_url: str) -> None:
    from tests.test_schedule import _query, borderwire_every_3s, schedule_through_publication

    db = tmp_path / "scheduled.db"
    with sample_web() as web:
        config = tmp_path / "distributed.toml"
        config.write_text(borderwire_every_3s(distributed_config(web, db, redis_url)), "utf-8")
        worker = start_forked_worker(config, tmp_path / "worker.log")
        try:
            returncode, output = schedule_through_publication(
                config, db, web, tmp_path / "schedule.log", finished="'ok'"
            )
        finally:
            stop_processes([worker])
    assert returncode == 0, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    assert "running" not in {row[0] for row in _query(db, "SELECT status FROM runs")}
    kinds = {row[0] for row in _query(db, "SELECT kind FROM flags")}
    assert {"new_story", "updated"} <= kinds
    assert len(_query(db, "SELECT name FROM sources WHERE last_run_at IS NOT NULL")) == 3


@pytest.mark.e2e
def test_writer_crash_between_commit_and_ack_redelivers_idempotently(
    tmp_path: Path, redis_url: str
) -> None:
    import redis

    from crawler.config.settings import Config
    from crawler.distributed.queue import (
        GROUP,
        STREAM_KEY,
        WRITER,
        IngestWriter,
        PageEntry,
        new_run_tags,
        push_entries,
    )
    from crawler.processing.pages import PageJob, configure_topics, process_page
    from crawler.sample_site.server import SITE_DIR
    from crawler.store.storage import open_database, start_run

    configure_topics([])
    pages = sorted(p for p in (SITE_DIR / "state1").rglob("*.html") if "private" not in p.parts)
    results = [
        process_page(
            PageJob(
                url=f"http://127.0.0.1/{p.relative_to(SITE_DIR)}",
                body=p.read_bytes(),
                source="sample",
            )
        )
        for p in pages
    ]
    results = [r for r in results if r.article is not None]
    assert len(results) >= 5
    client = redis.Redis.from_url(redis_url)
    db_path = tmp_path / "writer.db"
    db = open_database(db_path)
    tags = new_run_tags(start_run(db, "manual", ["sample"]))
    push_entries(client, [PageEntry(tags, r, {"status": 200}) for r in results])

    def table_counts() -> tuple[int, int, int]:
        return tuple(
            db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("articles", "flags", "article_versions")
        )

    # The first writer commits its batch to SQLite and dies before acknowledging it.
    crashed = IngestWriter(Config(), str(db_path), client)
    reply = client.xreadgroup(GROUP, WRITER, {STREAM_KEY: ">"}, count=1000)
    crashed.commit(db, reply[0][1])
    after_crash = table_counts()
    assert after_crash[0] == len(results)
    assert client.xlen(STREAM_KEY) == len(results)  # still there: not acknowledged

    # Its successor reads the unacknowledged entries again; ingesting them changes nothing.
    writer = IngestWriter(Config(), str(db_path), client).start()
    try:
        wait_until(lambda: client.xlen(STREAM_KEY) == 0, 30)
    except AssertionError:
        pass  # asserted below, once the writer is stopped
    writer.stop()
    assert client.xlen(STREAM_KEY) == 0
    assert writer.ingested == len(results)
    assert table_counts() == after_crash


def test_distributed_without_the_extra_exits_2_saying_how(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from crawler.cli.main import cli

    config = tmp_path / "c.toml"
    config.write_text(
        '[distributed]\nredis_url = "redis://127.0.0.1:1/0"\n\n'
        '[[sources]]\nname = "a"\nfeeds = ["https://example.org/rss"]\n'
    )
    monkeypatch.setitem(sys.modules, "scrapy_redis", None)  # as if never installed
    result = CliRunner().invoke(cli, ["worker", "--config", str(config)])
    assert result.exit_code == 2
    assert "pip install 'newswatch[distributed]'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
