"""Commands that set up and keep a watch: init, discover, backup, prune.

Thin adapters over ``crawler.config.starter``, ``crawler.listings.site_discovery`` and
``crawler.store.maintenance``; ``register(cli)`` adds them to the main group.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import click

from crawler.cli.common import (
    checked_folder,
    common_options,
    config_option,
    database_path,
    fail,
    load_or_exit,
)
from crawler.cli.render import echo_wrapped, plural
from crawler.scraping.budgets import DISCOVERY_REQUESTS


def human_bytes(size: int) -> str:
    """1536 -> "1.5 KB" (powers of 1024, one decimal)."""
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError


def existing_file(path: str) -> str:
    """``path`` when a database is there, else exit 2 with one line (a bad path, like
    `crawl`'s)."""
    if not Path(path).is_file():
        fail(f"no database at {path}: run `newswatch crawl` first, or pass --db")
    return path


@click.command()
@click.argument("path", default="newswatch.toml", type=click.Path(dir_okay=False))
@click.option(
    "--from",
    "from_urls",
    multiple=True,
    metavar="URL",
    help="A site's front or section page (repeatable): its feeds and sitemaps are "
    "discovered (as `newswatch discover` does) and written as [[sources]].",
)
@click.option(
    "--print-default",
    is_flag=True,
    help="Print the config newswatch uses when no --config is given (shipped in the "
    "package) and write nothing.",
)
def init(path: str, from_urls: tuple[str, ...], print_default: bool) -> None:
    """Write a commented starter config to PATH (default: newswatch.toml here).

    It holds one example topic, every [crawl] key with its default, and a [[sources]] table
    for each site given with --from (without --from, a commented example source). An
    existing file is never overwritten. Without --config, every command uses the config
    shipped with newswatch (real public sources on US-Mexico security cooperation):
    `newswatch init --print-default` prints it. Exit 1 if a --from site could not be
    reached (nothing is written).
    """
    from crawler.config.settings import CrawlSettings
    from crawler.config.starter import default_config_text, write_starter_config

    if print_default:
        click.echo(default_config_text(), nl=False)
        return
    checked_folder(path)
    if Path(path).exists():
        fail(f"{path} already exists: not overwriting it (pick another PATH)", 1)
    sources = None
    if from_urls:
        from crawler.listings.site_discovery import describe, discover_site, sources_toml

        reports = []
        for url in [_check_site_url(url) for url in from_urls]:
            report = discover_site(url, CrawlSettings(), budget=DISCOVERY_REQUESTS)
            reports.append(report)
            for line in describe(report):
                click.echo(line, err=True)
        if any(report.error for report in reports):
            fail("a site could not be reached: nothing written (see above)", 1)
        sources = sources_toml(reports)
    try:
        write_starter_config(path, sources)
    except FileExistsError:
        fail(f"{path} already exists: not overwriting it (pick another PATH)", 1)
    except OSError as error:
        fail(f"cannot write {path}: {error.strerror}", 1)
    click.echo(f"wrote {path}" + (f" with {plural(len(from_urls), 'source')}" if sources else ""))
    if not sources:
        click.echo(
            f"next: add sources (`newswatch discover URL --toml --config {path} >> {path}`),"
        )
        click.echo(f"then run: newswatch crawl --config {path} --baseline")
    else:
        click.echo(f"next: newswatch crawl --config {path} --baseline")


def _check_site_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        fail(f"bad URL {url!r}: give an absolute http:// or https:// URL")
    return url.strip()


@click.command()
@click.argument("urls", nargs=-1, required=True, metavar="URL...")
@config_option(
    "TOML config whose [crawl] user_agent, obey_robots, delay and timeout are used "
    "(default: the one shipped with newswatch)."
)
@click.option(
    "--toml",
    "as_toml",
    is_flag=True,
    help="Print ready [[sources]] blocks on stdout (the report goes to stderr).",
)
@click.option(
    "--max-requests",
    type=click.IntRange(2, 100),
    default=DISCOVERY_REQUESTS,
    show_default=True,
    help="Requests per site at most, robots.txt included.",
)
def discover(
    urls: tuple[str, ...], config_path: str | None, as_toml: bool, max_requests: int
) -> None:
    """Find the feeds and sitemaps of the sites at URL... (a front or section page).

    Looks at the page's <link rel="alternate"> feeds (else its feed links), the Sitemap:
    lines of robots.txt (else the common sitemap locations), and reads each candidate as the
    crawl would. Obeys robots.txt, waits the configured delay (or robots.txt Crawl-delay)
    between requests and sends the configured user agent. Exit 1 if a site could not be
    reached.
    """
    from crawler.listings.site_discovery import describe, discover_site, sources_toml

    checked = [_check_site_url(url) for url in urls]
    config = load_or_exit(config_path)
    reports = []
    for url in checked:
        report = discover_site(url, config.crawl, budget=max_requests)
        reports.append(report)
        for line in describe(report):
            click.echo(line, err=as_toml)
    if as_toml:
        taken = {source.name for source in config.sources} if config_path else set()
        click.echo(sources_toml(reports, taken), nl=False)
    if any(report.error for report in reports):
        raise SystemExit(1)


@click.command()
@common_options
@click.argument("target", metavar="FILE", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
def backup(config_path: str | None, db_path: str | None, target: str, force: bool) -> None:
    """Copy the database to FILE, consistently, even while a crawl writes to it.

    Uses SQLite's online backup API: FILE is one snapshot, checked, and self-contained
    (no -wal file); it appears only once complete.
    """
    from crawler.store.maintenance import MaintenanceError, backup_database

    source = existing_file(database_path(load_or_exit(config_path), db_path))
    if Path(target).exists() and not force:
        fail(f"{target} already exists: not overwriting it (--force replaces it)", 1)
    if Path(target).resolve() == Path(source).resolve():
        fail(f"{target} is the database itself: back it up to another file", 2)
    try:
        result = backup_database(source, target)
    except MaintenanceError as error:
        fail(str(error), 1)
    click.echo(
        f"backed up {source} to {result.path}: {human_bytes(result.bytes)}, "
        f"{result.articles} articles"
    )


@click.command()
@common_options
@click.option(
    "--older-than",
    "older_than",
    required=True,
    help='Age of what to remove: "90d", "12h", "30m".',
)
@click.option(
    "--articles",
    is_flag=True,
    help="Also remove stories last active before then (no unacknowledged flag on them), "
    "with their articles; their pages are never stored as new again.",
)
def prune(config_path: str | None, db_path: str | None, older_than: str, articles: bool) -> None:
    """Remove article versions and acknowledged flags older than --older-than.

    Each article keeps its newest version; unacknowledged flags stay whatever their age.
    Safe while a crawl or the scheduler runs (it waits for the writer's batch). The space
    freed is reused by later crawls; the file itself shrinks only with SQLite's VACUUM
    (`sqlite3 newswatch.db VACUUM`, with no crawl running).
    """
    from crawler.config.settings import ConfigError, parse_duration
    from crawler.store.maintenance import MaintenanceError, prune_database

    try:
        seconds = parse_duration(older_than, "--older-than")
    except ConfigError as error:
        fail(str(error))
    source = existing_file(database_path(load_or_exit(config_path), db_path))
    try:
        result = prune_database(source, seconds, articles=articles)
    except MaintenanceError as error:
        fail(str(error), 1)
    removed = [
        plural(result.versions, "article version"),
        plural(result.flags, "acknowledged flag"),
    ]
    if articles:
        removed = [plural(result.stories, "story"), plural(result.articles, "article"), *removed]
    echo_wrapped(f"removed {', '.join(removed[:-1])} and {removed[-1]} from before {result.cutoff}")
    echo_wrapped(f"{human_bytes(result.free_bytes)} now free inside {source} for later crawls")


COMMANDS = (init, discover, backup, prune)


def register(cli: click.Group) -> None:
    """Add the setup and upkeep commands to the ``newswatch`` group."""
    for command in COMMANDS:
        cli.add_command(command)
