"""`newswatch demo`: the bundled sample news web, crawled before and after it publishes.

The database stays (``newswatch-demo.db`` in the current folder, replaced by the next demo)
so the commands it suggests at the end work on it.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import click
from sqlite_utils import Database

from crawler.cli.render import FLAG_COLUMNS, article_ref, print_table
from crawler.core.models import FlagKind
from crawler.store.flags import query_flags
from crawler.store.lookups import article_id_by_url, article_sources, latest_run_id
from crawler.store.storage import open_database

DEMO_DATABASE = "newswatch-demo.db"
DEMO_SOURCES = {"borderwire", "diario", "nordpost"}
KIND_MEANINGS: dict[str, str] = {
    FlagKind.NEW_STORY: "a topic-matching article that starts a story not seen before",
    FlagKind.NEW_COVERAGE: "another outlet's own report joins a story already known",
    FlagKind.UPDATED: "a known article's text changed for real (not a date or a banner)",
    FlagKind.NEW_RELATED: "a tracked article's related-articles block gained a new link",
    FlagKind.OFFICIAL: "a government's release joined a story the press carried",
}


class DemoError(Exception):
    """The demo cannot run (the message is for a person)."""


def crawl_in_child(config_path: Path, database: Path, *extra: str) -> None:
    """One `newswatch crawl` in a child process (Scrapy's reactor starts once per process)."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "crawler",
            "crawl",
            "--config",
            str(config_path),
            "--db",
            str(database),
            *extra,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    click.echo(done.stdout.rstrip())
    if done.returncode != 0:
        click.echo(done.stderr[-2000:], err=True)
        raise SystemExit(done.returncode)


def clear_previous_demo(path: Path) -> None:
    """Remove the previous demo's database; DemoError if the file holds anything else."""
    if not path.exists():
        return
    sources = article_sources(path)
    if sources is None or not sources <= DEMO_SOURCES:
        raise DemoError(f"{path} is not a demo database: not replacing it (pass another --db)")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def run_demo(database: str | Path = DEMO_DATABASE, crawl_delay: float | None = None) -> None:
    """Serve the sample web on loopback, crawl it (baseline), let it publish, crawl again,
    and explain the flags; the database stays at ``database``. ``crawl_delay`` replaces the
    seconds the sample web's robots.txt asks for (its own 1 s, None)."""
    from crawler.sample_site import OUTLETS, SampleWeb

    db_path = Path(database)
    clear_previous_demo(db_path)
    with tempfile.TemporaryDirectory(prefix="newswatch-demo-") as workdir:
        config_path = Path(workdir) / "demo.toml"
        with SampleWeb(state=1, crawl_delay=crawl_delay) as web:
            config_path.write_text(web.config_toml(str(db_path)), "utf-8")
            outlets = ", ".join(web.base_urls[key] for key in OUTLETS)
            click.echo(f"Sample news web on {outlets}")
            click.echo("\n== Crawl 1 (--baseline): record the sites as they are, flag nothing ==")
            crawl_in_child(config_path, db_path, "--baseline")
            web.set_state(2)
            click.echo("\n== The sites publish: a new story, a new report, an update, a link ==")
            click.echo("\n== Crawl 2: what is new ==")
            crawl_in_child(config_path, db_path)
            urls = {key: web.article_url(key) for key in web.expected["articles"]}
            not_flagged = web.expected["no_flag_state2"]
    db = open_database(db_path)
    try:
        explain(db, urls, not_flagged, db_path)
    finally:
        db.close()


def explain(
    db: Database, urls: dict[str, str], not_flagged: list[dict[str, Any]], db_path: Path
) -> None:
    """The flags of the last run, what each kind means, what was left unflagged and why,
    and three commands to try next."""
    last_run = latest_run_id(db)
    flags = query_flags(db, run_id=last_run, newest_first=False)
    click.echo(f"\nFlags from crawl 2 ({len(flags)}):")
    print_table(None, FLAG_COLUMNS, flags, empty="No flags.")
    click.echo("\nWhat each kind means:")
    for kind, meaning in KIND_MEANINGS.items():
        click.echo(f"  {kind:<13} {meaning}")
    ids = {
        key: article_id
        for key, url in urls.items()
        if (article_id := article_id_by_url(db, url)) is not None
    }
    click.echo("\nDeliberately not flagged:")
    for item in not_flagged:
        reason = item["reason"]
        for key in sorted(ids, key=len, reverse=True):
            reason = reason.replace(key, article_ref(ids[key]))
        name = article_ref(ids[item["article"]]) if item["article"] in ids else "(not stored)"
        click.echo(f"  {name:<13} {reason}")
    by_kind = {flag["kind"]: flag for flag in flags}
    story = by_kind.get(FlagKind.NEW_COVERAGE) or by_kind.get(FlagKind.NEW_STORY) or {}
    updated = by_kind.get(FlagKind.UPDATED) or {}
    click.echo(f"\nThe database stays at {db_path} (the next demo replaces it). Try:")
    commands = [
        ("the new flags, then mark them seen", f"flags --db {db_path} --unacked --ack"),
        ("a story: each report, copies under it", f"show s{story.get('story_id')} --db {db_path}"),
        ("an updated article, with its diff", f"show a{updated.get('article_id')} --db {db_path}"),
    ]
    for what, command in commands:
        click.echo(f"  # {what}\n  newswatch {command}")
