"""The `newswatch` command line: thin adapters over the crawler library."""

from __future__ import annotations

import json
import sys

import click

from crawler.cli.admin import register as register_admin_commands
from crawler.cli.common import (
    checked_folder,
    common_options,
    config_option,
    database_path,
    db_option,
    fail,
    load_or_exit,
)
from crawler.cli.corrections import register as register_correction_commands
from crawler.cli.digest import register as register_digest_command
from crawler.cli.read import register as register_read_commands
from crawler.cli.topics import topics as topics_group
from crawler.config.settings import Config, ConfigError, require_sources


def check_redis(config: Config) -> None:
    """With [distributed], fail early: exit 2 without the extra installed, exit 1 with Redis's
    own message if it is unreachable."""
    if not config.redis_url:
        return
    try:
        import redis  # noqa: F401
        import scrapy_redis  # noqa: F401
    except ImportError as error:
        fail(
            f"[distributed] needs the extra ({error.name} is missing): "
            "pip install 'newswatch[distributed]'"
        )
    from crawler.distributed.queue import connect

    try:
        connect(config.redis_url).ping()
    except Exception as error:  # redis.ConnectionError, AuthenticationError, …
        fail(f"cannot use Redis at {config.redis_url}: {error}", 1)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="newswatch")
def cli() -> None:
    """newswatch: monitor news coverage of a topic, without duplicates or banner junk.

    \b
    Try it offline:  newswatch demo
    Your own watch:  newswatch init --from URL           (writes newswatch.toml)
                     newswatch discover URL --toml       (another site's feeds)
                     newswatch topics test QUERY URL     (try a topic query)
                     newswatch crawl --config newswatch.toml --baseline
                     newswatch schedule --config newswatch.toml
                     newswatch flags --config newswatch.toml --unacked --ack

    Without --config, commands use the config shipped with newswatch (real public sources
    on US-Mexico security cooperation); `newswatch init --print-default` prints it.
    """


@cli.command()
@common_options
@click.option("--source", "sources", multiple=True, help="Crawl only this source (repeatable).")
@click.option("--baseline", is_flag=True, help="Record what is there without flagging it.")
@click.option(
    "--trigger", type=click.Choice(["manual", "scheduled"]), default="manual", hidden=True
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="List what would be fetched and matched; store nothing, send no webhook (the crawl "
    "runs on a temporary copy of the database).",
)
@click.option("-v", "--verbose", is_flag=True, help="Show Scrapy's log (without tracebacks).")
@click.option("--debug", is_flag=True, help="Show Scrapy's debug log and every traceback.")
def crawl(
    config_path: str | None,
    db_path: str | None,
    sources: tuple[str, ...],
    baseline: bool,
    trigger: str,
    dry_run: bool,
    verbose: bool,
    debug: bool,
) -> None:
    """Crawl every source (or the named ones) once, then exit.

    Exit status: 0 the run finished (URLs that failed are recorded with their reason),
    1 the run failed (nothing could be fetched, or a database write failed),
    2 bad config, arguments or database file.
    """
    import sqlite3

    from crawler.cli.render import print_run_summary
    from crawler.crawl import run_crawl, select_sources
    from crawler.store.storage import DatabaseRefused

    config = load_or_exit(config_path)
    try:
        select_sources(config, list(sources))
    except ConfigError as error:
        fail(str(error))
    database = database_path(config, db_path)
    if dry_run:
        from crawler.cli.dryrun import dry_run_crawl

        dry_run_crawl(config, database, list(sources), 2 if debug else int(verbose))
        return
    check_redis(config)
    try:
        summary = run_crawl(
            config,
            database=database,
            source_names=list(sources),
            trigger=trigger,
            baseline=baseline,
            verbosity=2 if debug else int(verbose),
        )
    except DatabaseRefused as error:
        fail(str(error))
    except sqlite3.Error as error:  # cannot create, open or write the database at all
        if debug:
            raise
        fail(f"database {database}: {error}", 1)
    except Exception as error:
        if debug:
            raise
        fail(f"crawl failed: {type(error).__name__}: {error} (--debug shows where)", 1)
    print_run_summary(summary)
    sys.exit(summary.exit_code)


@cli.command()
@common_options
def schedule(config_path: str | None, db_path: str | None) -> None:
    """Run the scheduler in the foreground until SIGINT/SIGTERM."""
    import logging

    from crawler.store.storage import DatabaseRefused
    from schedules.lock import SchedulerLockHeld
    from schedules.runner import run_scheduler

    config = load_or_exit(config_path)
    try:
        require_sources(config)
    except ConfigError as error:
        fail(f"config error: {error}")
    check_redis(config)
    database = database_path(config, db_path)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        run_scheduler(config, config_path, database)
    except SchedulerLockHeld as error:
        fail(str(error), 1)
    except DatabaseRefused as error:
        fail(str(error))


@cli.command()
@config_option("TOML config with [distributed] (default: the one shipped with newswatch).")
@db_option(hidden=True)
@click.option("-v", "--verbose", is_flag=True, help="Show Scrapy's log at INFO.")
@click.option("--debug", is_flag=True, help="Show Scrapy's debug log and every traceback.")
def worker(config_path: str | None, db_path: str | None, verbose: bool, debug: bool) -> None:
    """A crawl worker on the shared Redis queue ([distributed] in the config); any machine.

    A worker keeps no database: it sends what it extracts to the `newswatch crawl` that
    seeded the run, which writes it.
    """
    from crawler.crawl import run_worker

    if db_path is not None:
        fail("worker takes no --db: workers keep no database; pass --db to `newswatch crawl`")
    config = load_or_exit(config_path)
    if not config.redis_url:
        fail("config error: distributed.redis_url: missing (`worker` needs [distributed])")
    check_redis(config)
    run_worker(config, verbosity=2 if debug else int(verbose))


@cli.command()
@db_option(
    "Where the demo keeps its database (the next demo replaces it).",
    default="newswatch-demo.db",
    show_default=True,
)
# The sample web's robots.txt asks for 1 s between borderwire's requests (the demo shows the
# rule kept); tests of what the demo leaves behind shorten the pause, not the rule.
@click.option("--crawl-delay", type=click.FloatRange(0, 60), default=None, hidden=True)
def demo(db_path: str, crawl_delay: float | None) -> None:
    """Serve the bundled sample news web, crawl it, let it publish, re-crawl, explain the
    flags. Offline: everything runs on 127.0.0.x."""
    from crawler.cli.demo import DemoError, run_demo

    try:
        run_demo(checked_folder(db_path), crawl_delay=crawl_delay)
    except DemoError as error:
        fail(str(error), 1)


@cli.command()
@click.argument("target")
@click.option("--url", help="The page's URL (for relative links) when TARGET is a file.")
@click.option("--json", "as_json", is_flag=True, help="Print the Article as JSON.")
@config_option("TOML config whose [[topics]] are tried on the page (each: matches or not).")
def extract(target: str, url: str | None, as_json: bool, config_path: str | None) -> None:
    """Extract one page (a file, a .gz file, or an http(s) URL) and print the article; with
    --config, whether each of its topics matches, and which words were found.

    Exit 1, with one line, when the file cannot be read or holds no article.
    """
    from crawler.cli.render import echo
    from crawler.cli.topics import extract_page, verdict
    from crawler.topics.query import parse_query

    config = load_or_exit(config_path) if config_path else None
    article = extract_page(target, url)
    topics = config.topics if config else ()
    verdicts = [verdict(t.name, parse_query(t.query), article) for t in topics]
    if as_json:
        data = article.to_dict()
        if config:  # the topics the crawl would store the article under
            data["topics"] = [t.name for t, (ok, _) in zip(topics, verdicts, strict=True) if ok]
        echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    echo(f"# {article.title or '(no title)'}")
    meta = [
        ("published", article.published),
        ("language", article.language),
        ("site", article.site),
        ("canonical", article.canonical_url),
        ("authors", ", ".join(article.authors) or None),
    ]
    for name, value in meta:
        if value:
            echo(f"{name}: {value}")
    for _, line in verdicts:
        echo(f"topic {line}")
    if config and not config.topics:
        echo("topics: none in the config (every article counts)")
    echo()
    echo(article.text)
    if article.related:
        echo("\nRelated:")
        for link in article.related:
            echo(f"- {link.title} <{link.url}>")


def main() -> None:
    """Console-script entry point. A reader that stops early (``newswatch show a6 | head -1``)
    is a quiet success: click alone would exit 1 on the broken pipe."""
    import os

    try:
        try:
            code = cli.main(prog_name="newswatch", standalone_mode=False)
            sys.stdout.flush()
        except click.ClickException as error:
            error.show()
            code = error.exit_code
        except click.Abort:
            click.echo("Aborted!", err=True)
            code = 1
        except SystemExit as stop:
            # click meets a broken pipe itself (even outside standalone mode): it wraps
            # stdout so that nothing more is written, and exits 1.
            if type(sys.stdout).__name__ != "_PacifyFlushWrapper":
                raise
            del stop
            code = 0
    except BrokenPipeError:
        # /dev/null behind stdout: the interpreter's last flush must not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 0
    sys.exit(code if isinstance(code, int) else 0)


register_read_commands(cli)
cli.add_command(topics_group)
register_admin_commands(cli)
register_correction_commands(cli)
register_digest_command(cli)
