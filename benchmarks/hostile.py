"""Every attack of the hostile probe against the real `newswatch`, one line each.

Each attack runs the real CLI (or the library the CLI calls) against servers on loopback;
the network ones run in a private network namespace where the cloud metadata address is on
the namespace's own loopback with a listener that counts every connection (they are
reported as skipped where no namespace can be made). Each line says:

- ``held``: the program did what it should;
- ``leaked``: a request went where no user sent it (a connection to the metadata address, a
  private host, a file), or a refused database was written to;
- ``lost``: something the user should have got is gone or wrong (an article, the right
  backup, a truthful summary), or the program hung or crashed.

    .venv/bin/python -m benchmarks.hostile [--only NAME[,NAME]]

Exit status 0 when every attack held (skips aside), 1 otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from crawler.config.settings import CrawlSettings
from crawler.core.fetch_policy import FetchPolicy
from crawler.core.robots import ROBOTS_MAX_BYTES
from crawler.store.storage import open_database, write_transaction
from tests.support.hostile_site import BIDI, ESC_ARTICLES, HostileSite
from tests.support.policy_site import netns_problem, run_in_netns
from tests.support.process_tree import process_alive
from tests.support.scheduler import running_crawl_child, start_scheduler, stop_scheduler
from tests.support.small_servers import DrippingHandler, robots_server, serving
from tests.support.wait import wait_until

ROOT = Path(__file__).resolve().parents[1]

Verdict = tuple[str, str]  # ("held" | "lost" | "leaked" | "skipped", detail)


def cli(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crawler", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


def _one_line(done: subprocess.CompletedProcess[str]) -> bool:
    return len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


# -- 1. fetch policy ----------------------------------------------------------------------


def _netns(mode: str) -> Verdict:
    problem = netns_problem()
    if problem:
        return "skipped", problem
    result = run_in_netns(mode)
    meta, private = len(result["metadata_hits"]), len(result["private_hits"])
    if meta or (private and "allow-private" not in mode):
        return "leaked", f"{meta} connection(s) to 169.254.169.254, {private} to 127.0.0.2"
    refused = sum("never fetched" in line for line in result["stdout"].splitlines())
    refused += sum("never fetched" in why for _, why in result.get("fetches", []))
    return (
        "held",
        f"0 connections to the metadata address or an unnamed private host; {refused} refusals",
    )


def discover_metadata() -> Verdict:
    """discover: a feed link, Sitemap: lines (file: too), a 302, all to 169.254.169.254."""
    return _netns("discover")


def crawl_metadata() -> Verdict:
    """crawl: feed entries and a redirect to the metadata address, by name and literally."""
    return _netns("crawl")


def discover_huge_robots() -> Verdict:
    """discover: a 50 MB robots.txt."""
    from crawler.listings.site_discovery import PoliteFetcher

    with robots_server(size=50 * 1024 * 1024) as base:
        fetcher = PoliteFetcher(base, CrawlSettings(delay=0), 5, FetchPolicy.for_urls([base]))
        fetcher.load_robots()
    read = len((fetcher.robots_text or "").encode())
    verdict = "held" if 0 < read <= ROBOTS_MAX_BYTES else "lost"
    return verdict, f"{read:,} bytes of rules read (limit {ROBOTS_MAX_BYTES:,})"


def discover_robots_429() -> Verdict:
    """discover: robots.txt answers 429 (slow down), which is not allow-all."""
    from crawler.listings.site_discovery import discover_site

    with robots_server(status=429) as base:
        report = discover_site(base + "/", CrawlSettings(delay=0))
    if report.error and "429" in report.error:
        return "held", f"site not crawled: {report.error}"
    return "leaked", f"{report.requests} request(s) after a 429 robots.txt"


# -- 2. paths -----------------------------------------------------------------------------


def backup_quoted_paths() -> Verdict:
    """backup and prune in folders named 'pct%20dir', 'hash#dir', 'q?dir', 'año'."""
    bad: list[str] = []
    with tempfile.TemporaryDirectory() as folder:
        for name in ("pct%20dir", "hash#dir", "q?dir=1", "año ñandú", "with space"):
            path = Path(folder) / name / "n.db"
            path.parent.mkdir()
            _fill(path, 3)
            decoy = Path(folder) / name.replace("%20", " ").split("#")[0].split("?")[0] / "n.db"
            if decoy != path:
                decoy.parent.mkdir(exist_ok=True)
                _fill(decoy, 1)
            copy = Path(folder) / f"copy-{len(bad)}-{hashlib.md5(name.encode()).hexdigest()}.db"
            done = cli("backup", str(copy), "--db", str(path))
            pruned = cli("prune", "--older-than", "1d", "--db", str(path))
            if done.returncode or not done.stdout.rstrip().endswith("3 articles"):
                bad.append(f"backup {name!r}: {done.stdout.strip() or done.stderr.strip()}")
            if pruned.returncode:
                bad.append(f"prune {name!r}: {pruned.stderr.strip()}")
    return (
        ("lost", "; ".join(bad)) if bad else ("held", "5 folders: the right file copied and pruned")
    )


def _fill(path: Path, articles: int) -> None:
    db = open_database(path)
    with write_transaction(db):
        for n in range(articles):
            db.execute(
                "INSERT INTO articles (url, title, text, first_seen, last_seen) "
                "VALUES (?, 't', 'x', '2020-01-01', '2020-01-01')",
                [f"https://ex.org/{n}"],
            )
    db.close()


# -- 3. Retry-After -----------------------------------------------------------------------


def _site_crawl(site: HostileSite, folder: Path, feeds: list[str], extra: str = "") -> tuple:
    db = folder / "n.db"
    config = folder / "c.toml"
    text = site.config_toml(str(db), feeds=feeds, workers=1, concurrency=1, extra_crawl=extra)
    config.write_text(text, "utf-8")
    started = time.monotonic()
    done = cli("crawl", "--config", str(config))
    return done, time.monotonic() - started, db, config


def retry_after() -> Verdict:
    """Every article answers 429 with Retry-After: 1."""
    with (
        tempfile.TemporaryDirectory() as folder,
        HostileSite(generated=3, throttle=(429, "1")) as site,
    ):
        done, _, _, config = _site_crawl(site, Path(folder), ["/gen-feed.xml"])
        hits = [h.time for h in site.hits if h.path.startswith("/gen/")]
        health = json.loads(cli("sources", "--config", str(config), "--json").stdout)[0]["health"]
    gaps = [b - a for a, b in zip(hits[1:], hits[2:], strict=False)]
    if gaps and min(gaps) < 0.9:
        return "leaked", f"a request {min(gaps):.2f}s after the host asked for 1s"
    if done.returncode != 1 or not health.startswith("throttled"):
        return "lost", f"exit {done.returncode}, sources says {health!r}"
    return (
        "held",
        f"{len(hits)} requests, gaps {', '.join(f'{g:.1f}s' for g in gaps)}; exit 1; {health}",
    )


def retry_after_long() -> Verdict:
    """Every article answers 503 with Retry-After: 120."""
    with (
        tempfile.TemporaryDirectory() as folder,
        HostileSite(generated=40, throttle=(503, "120")) as site,
    ):
        done, seconds, _, _ = _site_crawl(site, Path(folder), ["/gen-feed.xml"])
        hits = [h for h in site.hits if h.path.startswith("/gen/")]
    if len(hits) > 2:
        return "leaked", f"{len(hits)} requests to a host that asked to wait 120s"
    verdict = "held" if done.returncode == 1 else "lost"
    return verdict, f"{len(hits)} request(s) of 40, run {seconds:.0f}s, exit {done.returncode}"


# -- 4. robots.txt redirect across hosts --------------------------------------------------


def robots_redirect() -> Verdict:
    """robots.txt redirects to another host whose robots.txt says Disallow: /."""
    with (
        tempfile.TemporaryDirectory() as folder,
        HostileSite(generated=5, robots="offsite") as site,
    ):
        _site_crawl(site, Path(folder), ["/gen-feed.xml"])
        fetched = [p for p in site.paths("site") if p != "/robots.txt"]
        outside = site.paths("outside")
    if fetched:
        return (
            "leaked",
            f"{len(fetched)} page(s) crawled against the rules found after the redirect",
        )
    return "held", f"redirect followed ({outside}), Disallow: / applied, 0 pages fetched"


# -- 5. schema version --------------------------------------------------------------------


def newer_schema() -> Verdict:
    """A database with a migration this version does not know, given to every command."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "newer.db"
        _fill(path, 2)
        conn = sqlite3.connect(path)
        conn.execute(
            "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
            "VALUES ('newswatch', 'm999_future', '2030')"
        )
        conn.commit()
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
        before = hashlib.sha256(path.read_bytes()).hexdigest()
        config = Path(folder) / "c.toml"
        config.write_text('[[sources]]\nname = "x"\nfeeds = ["http://127.0.0.1:9/f"]\n')
        commands = [
            ["crawl"],
            ["schedule"],
            ["flags"],
            ["sources"],
            ["feed"],
            ["prune", "--older-than", "1d"],
            ["backup", str(Path(folder) / "b.db")],
        ]
        wrong = []
        for command in commands:
            done = cli(*command, "--config", str(config), "--db", str(path), timeout=60)
            if done.returncode != 2 or not _one_line(done) or "m999_future" not in done.stderr:
                wrong.append(f"{command[0]} exit {done.returncode}")
        after = hashlib.sha256(path.read_bytes()).hexdigest()
    if after != before:
        return "leaked", "the newer database was written to"
    return (
        ("lost", ", ".join(wrong))
        if wrong
        else ("held", f"{len(commands)} commands: exit 2, one line, file untouched")
    )


# -- 6. config bounds ---------------------------------------------------------------------


def config_bounds() -> Verdict:
    """delay = inf / 1e308 / nan, every = huge / tiny, 600 nested parentheses."""
    source = '[[sources]]\nname = "s"\nfeeds = ["http://127.0.0.1:9/f"]\n'
    cases = {
        "crawl.delay": [
            "[crawl]\ndelay = inf\n" + source,
            "[crawl]\ndelay = 1e308\n" + source,
            "[crawl]\ndelay = nan\n" + source,
        ],
        "sources[0].every": [
            source + 'every = "99999999999999999999d"\n',
            source + 'every = "0.0001s"\n',
        ],
        "topics[0].query": [
            "[[topics]]\nname = 't'\nquery = '" + "(" * 600 + "a" + ")" * 600 + "'\n" + source
        ],
    }
    wrong = []
    with tempfile.TemporaryDirectory() as folder:
        for key, texts in cases.items():
            for text in texts:
                config = Path(folder) / "c.toml"
                config.write_text(text, "utf-8")
                for command in ("crawl", "schedule"):
                    try:
                        done = cli(
                            command,
                            "--config",
                            str(config),
                            "--db",
                            str(Path(folder) / "n.db"),
                            timeout=60,
                        )
                    except subprocess.TimeoutExpired:
                        wrong.append(f"{command} hung on {key}")
                        continue
                    if done.returncode != 2 or key not in done.stderr or "Traceback" in done.stderr:
                        wrong.append(f"{command} {key}: exit {done.returncode}")
    return (
        ("lost", "; ".join(wrong))
        if wrong
        else ("held", "6 values x 2 commands: exit 2 naming the key")
    )


# -- 7. scheduler -------------------------------------------------------------------------


def scheduler_symlink() -> Verdict:
    """A second scheduler given a symlink to the database."""
    from schedules.lock import lock_path, read_holder

    with tempfile.TemporaryDirectory() as folder, HostileSite(generated=1) as site:
        db = Path(folder) / "real.db"
        _fill(db, 0)
        (Path(folder) / "link.db").symlink_to(db)
        config = Path(folder) / "c.toml"
        config.write_text(
            site.config_toml(str(db), feeds=["/gen-feed.xml"]).replace(
                'allowed_domains = ["127.0.0.1"]', 'allowed_domains = ["127.0.0.1"]\nevery = "1h"'
            )
        )
        first, handle = start_scheduler(config, Path(folder) / "s.log")
        try:
            wait_until(
                lambda: (h := read_holder(lock_path(db))) is not None and h.pid == first.pid,
                60,
                what="lock",
            )
            second = cli(
                "schedule",
                "--config",
                str(config),
                "--db",
                str(Path(folder) / "link.db"),
                timeout=60,
            )
        finally:
            stop_scheduler(first, handle, must_stop=False)
    if second.returncode == 1 and "another `newswatch schedule`" in second.stderr:
        return "held", "the second scheduler refused: one lock for the real path"
    return "leaked", f"second scheduler exit {second.returncode}: two schedulers on one database"


def scheduler_sigkill() -> Verdict:
    """SIGKILL of the scheduler while its crawl child runs."""
    with (
        tempfile.TemporaryDirectory() as folder,
        HostileSite(generated=200, article_delay=0.5) as site,
    ):
        db = Path(folder) / "n.db"
        config = Path(folder) / "c.toml"
        config.write_text(
            site.config_toml(str(db), feeds=["/gen-feed.xml"], concurrency=1, workers=1).replace(
                'allowed_domains = ["127.0.0.1"]', 'allowed_domains = ["127.0.0.1"]\nevery = "1h"'
            )
        )
        process, handle = start_scheduler(config, Path(folder) / "s.log")
        deadline = time.monotonic() + 90
        while not running_crawl_child(db, process.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        child = running_crawl_child(db, process.pid)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        handle.close()
        deadline = time.monotonic() + 60
        while child and process_alive(child) and time.monotonic() < deadline:
            time.sleep(0.2)
        alive = bool(child) and process_alive(child)
        if alive:
            os.kill(child, signal.SIGKILL)
    if not child:
        return "lost", "no crawl child seen"
    return (
        ("leaked", "the crawl child outlived its scheduler")
        if alive
        else ("held", "the crawl child stopped with its scheduler")
    )


# -- 8. text ------------------------------------------------------------------------------


def text_bidi_and_control_refs() -> Verdict:
    """Feed titles and pages with bidi overrides, escapes and &#27; &#7; &#8; references."""
    with tempfile.TemporaryDirectory() as folder, HostileSite() as site:
        done, _, db, config = _site_crawl(site, Path(folder), ["/esc-feed.xml"])
        printed = "".join(
            cli(*c, "--db", str(db), "--config", str(config)).stdout
            for c in (["flags"], ["feed"], ["search", "cartel"], ["stories"])
        )
        conn = sqlite3.connect(db)
        stored = "".join(r[0] or "" for r in conn.execute("SELECT title || text FROM articles"))
        articles = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    if any(c in stored + printed for c in BIDI) or "\x1b" in stored + printed:
        return "leaked", "a bidi control or escape stored or printed"
    if articles != ESC_ARTICLES:
        return "lost", f"{articles} of {ESC_ARTICLES} articles stored"
    return (
        "held",
        f"{articles}/{ESC_ARTICLES} articles kept, 0 bidi or escape characters stored or printed",
    )


# -- 9. budgets ---------------------------------------------------------------------------


def run_time_limit() -> Verdict:
    """run_time_limit = "4s" on a slow site of 200 articles."""
    with (
        tempfile.TemporaryDirectory() as folder,
        HostileSite(generated=200, article_delay=0.2) as site,
    ):
        done, _, db, _ = _site_crawl(site, Path(folder), ["/gen-feed.xml"], 'run_time_limit = "4s"')
        started, finished = (
            sqlite3.connect(db).execute("SELECT started_at, finished_at FROM runs").fetchone()
        )
    seconds = (datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds()
    if "stopped at the time limit" not in done.stdout:
        return "lost", "the summary does not say the run was cut"
    verdict = "held" if seconds <= 4 + 3 else "lost"
    return verdict, f"run recorded {seconds:.0f}s for a 4s limit; summary says so"


def webhook_drip() -> Verdict:
    """A receiver that drips its answer, 250 flags (3 batches), deadline 2s."""
    from crawler.read.notify import Webhook, deliver_pending

    with tempfile.TemporaryDirectory() as folder:
        db = open_database(Path(folder) / "n.db")
        with write_transaction(db):
            for n in range(250):
                db.execute(
                    "INSERT INTO flags (kind, subject, created_at) VALUES ('new_story', ?, '2026')",
                    [f"s{n}"],
                )
            db.execute("INSERT INTO outbox (flag_id, queued_at) SELECT id, '2026' FROM flags")
        with serving(DrippingHandler) as base:
            url = base + "/hook"
            started = time.monotonic()
            delivery = deliver_pending(db, Webhook(url, "json", 2.0), run_id=1)
            seconds = time.monotonic() - started
    verdict = "held" if seconds <= 3.0 and delivery.pending == 250 else "lost"
    return (
        verdict,
        f"posting held the run {seconds:.1f}s for a 2s deadline; {delivery.pending} flags kept",
    )


def prune_foreign_and_read_only() -> Verdict:
    """prune on another program's articles/flags database, and on a read-only one."""
    with tempfile.TemporaryDirectory() as folder:
        other = Path(folder) / "other.db"
        conn = sqlite3.connect(other)
        for table in ("articles", "flags", "article_versions"):
            conn.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY)")
        conn.commit()
        conn.close()
        foreign = cli("prune", "--older-than", "1d", "--db", str(other))
        ro = Path(folder) / "ro"
        ro.mkdir()
        _fill(ro / "n.db", 1)
        sqlite3.connect(ro / "n.db").execute("PRAGMA journal_mode = DELETE").connection.close()
        locked = (
            subprocess.run(
                ["chattr", "+i", str(ro / "n.db"), str(ro)], capture_output=True
            ).returncode
            == 0
        )
        try:
            read_only = cli("prune", "--older-than", "1d", "--db", str(ro / "n.db"))
        finally:
            subprocess.run(["chattr", "-i", str(ro), str(ro / "n.db")], capture_output=True)
    problems = []
    if foreign.returncode != 2 or not _one_line(foreign):
        problems.append(f"foreign: exit {foreign.returncode}")
    if locked and (read_only.returncode != 1 or not _one_line(read_only)):
        problems.append(f"read-only: exit {read_only.returncode}")
    detail = "foreign: exit 2, one line" + (
        "; read-only: exit 1, one line" if locked else "; read-only: skipped (no chattr)"
    )
    return ("lost", "; ".join(problems)) if problems else ("held", detail)


ATTACKS: dict[str, Callable[[], Verdict]] = {
    "discover-metadata": discover_metadata,
    "crawl-metadata": crawl_metadata,
    "discover-huge-robots": discover_huge_robots,
    "discover-robots-429": discover_robots_429,
    "backup-quoted-paths": backup_quoted_paths,
    "retry-after": retry_after,
    "retry-after-past-cap": retry_after_long,
    "robots-redirect-offsite": robots_redirect,
    "newer-schema": newer_schema,
    "config-bounds": config_bounds,
    "scheduler-symlink": scheduler_symlink,
    "scheduler-sigkill": scheduler_sigkill,
    "text-bidi-control-refs": text_bidi_and_control_refs,
    "run-time-limit": run_time_limit,
    "webhook-drip": webhook_drip,
    "prune-foreign-read-only": prune_foreign_and_read_only,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated attack names")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # the library's own warnings (a failed webhook) aside
    names = [n for n in args.only.split(",") if n] or list(ATTACKS)
    failed = 0
    for name in names:
        started = time.monotonic()
        try:
            verdict, detail = ATTACKS[name]()
        except Exception as error:  # an attack that crashes the harness did not hold
            verdict, detail = "lost", f"{type(error).__name__}: {error}"
        failed += verdict in ("lost", "leaked")
        print(f"{name:<26} {verdict:<7} {detail} ({time.monotonic() - started:.0f}s)", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
