"""The `newswatch` command line: thin adapters over the crawler library."""

from __future__ import annotations

import json

import click

from crawler.cli.common import common_options, database_path, fail, load_or_exit
from crawler.cli.read import register as register_read_commands
from crawler.config import Config, ConfigError


def check_redis(config: Config) -> None:
    """With [distributed], fail early (exit 1) with Redis's own message if it is unreachable."""
    if not config.redis_url:
        return
    from crawler.distributed import connect

    try:
        connect(config.redis_url).ping()
    except Exception as error:  # redis.ConnectionError, AuthenticationError, …
        fail(f"cannot use Redis at {config.redis_url}: {error}", 1)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="newswatch")
def cli() -> None:
    """newswatch: monitor news coverage of a topic, without duplicates or banner junk."""


@cli.command()
@common_options
@click.option("--source", "sources", multiple=True, help="Crawl only this source (repeatable).")
@click.option("--baseline", is_flag=True, help="Record what is there without flagging it.")
@click.option(
    "--trigger", type=click.Choice(["manual", "scheduled"]), default="manual", hidden=True
)
def crawl(
    config_path: str | None,
    db_path: str | None,
    sources: tuple[str, ...],
    baseline: bool,
    trigger: str,
) -> None:
    """Crawl every source (or the named ones) once, then exit."""
    from crawler.cli.render import print_run_summary
    from crawler.crawl import run_crawl, select_sources

    config = load_or_exit(config_path)
    try:
        select_sources(config, list(sources))
    except ConfigError as error:
        fail(str(error))
    check_redis(config)
    summary = run_crawl(
        config,
        database=database_path(config, db_path),
        source_names=list(sources),
        trigger=trigger,
        baseline=baseline,
    )
    print_run_summary(summary)


@cli.command()
@common_options
def schedule(config_path: str | None, db_path: str | None) -> None:
    """Run the scheduler in the foreground until SIGINT/SIGTERM."""
    import logging

    from schedules.lock import SchedulerLockHeld
    from schedules.runner import run_scheduler

    config = load_or_exit(config_path)
    check_redis(config)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        run_scheduler(config, config_path, database_path(config, db_path))
    except SchedulerLockHeld as error:
        fail(str(error), 1)


@cli.command()
@common_options
def worker(config_path: str | None, db_path: str | None) -> None:
    """A crawl worker on the shared Redis queue ([distributed] in the config); any machine."""
    from crawler.crawl import run_worker

    config = load_or_exit(config_path)
    if not config.redis_url:
        fail("config error: distributed.redis_url: missing (`worker` needs [distributed])")
    check_redis(config)
    run_worker(config)


@cli.command()
@common_options
@click.option(
    "--keep",
    type=click.Path(dir_okay=False),
    help="Keep the demo database at this path (default: a temporary file).",
)
def demo(config_path: str | None, db_path: str | None, keep: str | None) -> None:
    """Serve the bundled sample news site, crawl it, let it publish, re-crawl, show flags."""
    from crawler.cli.demo import run_demo

    run_demo(db_path or keep)


@cli.command()
@click.argument("target")
@click.option("--url", help="The page's URL (for relative links) when TARGET is a file.")
@click.option("--json", "as_json", is_flag=True, help="Print the Article as JSON.")
def extract(target: str, url: str | None, as_json: bool) -> None:
    """Extract one page (a file, or an http(s) URL) and print the article."""
    from crawler.extraction.extract import extract_article

    if target.startswith(("http://", "https://")):
        import urllib.request

        request = urllib.request.Request(target, headers={"User-Agent": "newswatch-extract/0.1"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                body = response.read(5 * 1024 * 1024)
        except OSError as error:
            fail(f"cannot fetch {target}: {error}", 1)
        url = url or target
    else:
        try:
            with open(target, "rb") as handle:
                body = handle.read()
        except OSError as error:
            fail(f"cannot read {target}: {error.strerror}")
        if target.endswith(".gz"):
            import gzip

            body = gzip.decompress(body)
    article = extract_article(body, url)
    if as_json:
        click.echo(json.dumps(article.to_dict(), ensure_ascii=False, indent=2))
        return
    click.echo(f"# {article.title or '(no title)'}")
    meta = [
        ("published", article.published),
        ("language", article.language),
        ("site", article.site),
        ("canonical", article.canonical_url),
        ("authors", ", ".join(article.authors) or None),
    ]
    for name, value in meta:
        if value:
            click.echo(f"{name}: {value}")
    click.echo()
    click.echo(article.text)
    if article.related:
        click.echo("\nRelated:")
        for link in article.related:
            click.echo(f"- {link.title} <{link.url}>")


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="newswatch")


register_read_commands(cli)
