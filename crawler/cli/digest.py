"""`newswatch digest`: the brief for a period, grouped by story (a thin adapter over
crawler/read/digest.py and crawler/read/digest_render.py)."""

from __future__ import annotations

import click

from crawler.cli.common import common_options, database_path, fail, load_or_exit
from crawler.cli.read import open_existing_path, since_option
from crawler.cli.render import echo
from crawler.read.digest_render import FORMATS


@click.command()
@common_options
@click.option(
    "--since",
    "since_text",
    help="Start of the period: a duration ago (24h, 2d) or an ISO date/time. Default: 24h.",
)
@click.option(
    "--since-last-sent",
    is_flag=True,
    help="Everything since the end of the last brief every receiver took.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="text (80 columns), markdown or html (one self-contained page).",
)
@click.option("--topic", "topics", multiple=True, help="Only this topic (repeatable).")
def digest(
    config_path: str | None,
    db_path: str | None,
    since_text: str | None,
    since_last_sent: bool,
    fmt: str,
    topics: tuple[str, ...],
) -> None:
    """The brief: new stories, then stories with new coverage, then updates.

    Each story with its coverage, newest reports with links, and its id (s12: `newswatch
    show s12`). With `[notify] base_url` set, story titles link to the story page of
    `newswatch browse`.
    """
    from crawler.read.digest import build_digest
    from crawler.read.digest_render import render
    from crawler.store.digests import has_table, last_sent

    if since_text is not None and since_last_sent:
        fail("--since and --since-last-sent: give one of them")
    config = load_or_exit(config_path)
    db = open_existing_path(database_path(config, db_path))
    try:
        after_flag = None
        if since_last_sent:
            sent = last_sent(db) if has_table(db, "digests") else None
            if sent is None:
                click.echo("newswatch: no brief sent yet: the last 24 hours", err=True)
                since = since_option("24h")
            else:
                since, after_flag = sent
        else:
            since = since_option(since_text or "24h")
        brief = build_digest(
            db, since, topics=topics, base_url=config.base_url, after_flag=after_flag
        )
        echo(render(brief, fmt).rstrip("\n"))
    finally:
        db.close()


def register(cli: click.Group) -> None:
    cli.add_command(digest)
