"""`newswatch demo`: the bundled sample news web, crawled before and after it publishes."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import click

from crawler.cli.render import FLAG_COLUMNS, flag_rows, print_table
from crawler.store.flags import query_flags
from crawler.store.storage import open_database


def crawl_in_child(config_path: Path, database: Path) -> None:
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
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    click.echo(done.stdout.rstrip())
    if done.returncode != 0:
        click.echo(done.stderr[-2000:], err=True)
        raise SystemExit(done.returncode)


def run_demo(database: str | None = None) -> None:
    """Serve the sample web on 127.0.0.1, crawl, publish, re-crawl, print the new flags."""
    from crawler.sample_site import SampleWeb

    with tempfile.TemporaryDirectory(prefix="newswatch-demo-") as workdir:
        db_path = Path(database) if database else Path(workdir) / "demo.db"
        config_path = Path(workdir) / "demo.toml"
        with SampleWeb(state=1) as web:
            config_path.write_text(web.config_toml(str(db_path)), "utf-8")
            click.echo(f"Sample news web on {', '.join(web.base_urls.values())}")
            click.echo("\n== Crawl 1: the sites as they are ==")
            crawl_in_child(config_path, db_path)
            web.set_state(2)
            click.echo("\n== The sites publish: new stories, an update, a new related link ==")
            click.echo("\n== Crawl 2: what is new ==")
            crawl_in_child(config_path, db_path)
        db = open_database(db_path)
        last_run = db.execute("SELECT max(id) FROM runs").fetchone()[0]
        flags = query_flags(db, run_id=last_run, newest_first=False)
        click.echo(f"\nFlags from crawl 2 ({len(flags)}):")
        print_table(None, FLAG_COLUMNS, flag_rows(flags))
        stories = db.execute(
            "SELECT id, title, article_count FROM stories ORDER BY last_seen DESC, id"
        ).fetchall()
        click.echo(f"\nStories ({len(stories)}):")
        print_table(None, ("story", "title", "articles"), stories)
        db.close()
        if database:
            click.echo(f"\nDatabase kept at {db_path}: try `newswatch flags --db {db_path}`")
