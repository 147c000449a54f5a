"""Commands that read the results: flags, stories, show, search, feed, browse, runs, sources.

Thin adapters over ``crawler.read.queries``; ``register(cli)`` adds them to the main group.
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Sequence
from typing import Any

import click
from sqlite_utils import Database

from crawler.cli.common import common_options, database_path, fail, load_or_exit
from crawler.cli.render import (
    FLAG_COLUMNS,
    Column,
    article_ref,
    day_time,
    echo,
    echo_wrapped,
    elapsed,
    is_terminal,
    plural,
    print_table,
    secho,
    story_ref,
    terminal_width,
)
from crawler.read.queries import webhook_cell
from crawler.store.flags import FLAG_KINDS

_LIMIT = click.option("--limit", type=click.IntRange(min=1), help="Show at most N.")
_JSON = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
_ID = re.compile(r"^(?:(s|story|a|article):?)?(\d+)$", re.IGNORECASE)


def existing_database_path(config_path: str | None, db_path: str | None) -> str:
    """The database to read, checked like ``open_existing`` does (and closed again)."""
    path = database_path(load_or_exit(config_path), db_path)
    open_existing_path(path).close()
    return path


def open_existing(config_path: str | None, db_path: str | None, *, write: bool = False) -> Database:
    """The configured database, read-only (``write`` for acking flags); exit 2 with one line
    if it is missing, not newswatch's or needs a migration, 1 if SQLite cannot open it."""
    return open_existing_path(database_path(load_or_exit(config_path), db_path), write=write)


def open_existing_path(path: str, *, write: bool = False) -> Database:
    import sqlite3

    from crawler.store.storage import DatabaseRefused, open_existing_database

    try:
        return open_existing_database(path, write=write)
    except DatabaseRefused as error:
        fail(str(error))
    except sqlite3.Error as error:
        fail(f"cannot open {path}: {error}", 1)


def since_option(value: str | None) -> str | None:
    from crawler.core.timeutil import parse_since

    if value is None:
        return None
    try:
        return parse_since(value)
    except ValueError:
        fail(
            f"--since: expected an ISO date or datetime (2026-03-01, 2026-03-01T08:00:00Z) "
            f"or a duration ago (6h, 6h ago, 2d), got {value!r}"
        )


def check_topic(config_path: str | None, db: Database, topic: str | None) -> None:
    """Exit 2 naming ``topic`` and the known ones when neither the config nor the database
    knows it: a typo must not read as "nothing new"."""
    from crawler.store.reads import stored_topics

    if topic is None:
        return
    known = sorted({t.name for t in load_or_exit(config_path).topics} | set(stored_topics(db)))
    if topic not in known:
        fail(f"--topic: unknown topic {topic!r}; known topics: {', '.join(known) or 'none'}")


def echo_json(value: Any) -> None:
    """JSON with control characters stripped from every string: JSON escapes C0 controls
    (``\\u001b``) but prints C1 ones (an 8-bit CSI) as they are."""
    from crawler.core.sanitize import strip_controls_deep

    echo(json.dumps(strip_controls_deep(value), ensure_ascii=False, indent=2))


def print_found(
    found: list[dict[str, Any]], as_json: bool, title: str, columns: Sequence[Column], *, empty: str
) -> None:
    """What a read command found: JSON with ``--json``, else a table (``empty`` if none)."""
    if as_json:
        echo_json(found)
    else:
        print_table(title, columns, found, empty=empty)


STORY_COLUMNS = (
    Column("story", lambda s: story_ref(s["id"])),
    Column("title", flex=True),
    Column("articles", "article_count"),
    Column("outlets"),
    Column("first seen", "first_seen", time=True),
    Column("last seen", "last_seen", time=True),
)
# On a terminal the snippet goes under the title (both get the width); piped, its own column.
SEARCH_COLUMNS = (
    Column("article", lambda r: article_ref(r["article_id"])),
    Column("story", lambda r: story_ref(r["story_id"]), optional=True),
    Column("source"),
    Column("title", flex=True, below="snippet"),
    Column("snippet", flex=True, terminal=False),
    Column("url", flex=True, optional=True),
)
# On a narrow terminal "not art" and then "trigger" go; the webhook column stays.
RUN_COLUMNS = (
    Column("run", "id"),
    Column("trigger", optional=True),
    Column("started", "started_at", time=True),
    Column("took", lambda r: elapsed(r["started_at"], r["finished_at"])),
    Column("status"),
    Column("pages", "pages_fetched"),
    Column("new", "articles_new"),
    Column("dups", "duplicates"),
    Column("flags"),
    Column("errors"),
    Column("not art", "not_article", optional=True),
    Column("webhook", webhook_cell, flex=True),
)
SOURCE_COLUMNS = (
    Column("source", "name", flex=True),
    Column("country", lambda s: s["country"] or "?"),
    Column("lang", lambda s: s["language"] or "?"),
    Column("kind"),
    Column("every"),
    Column("now", "interval"),
    Column("next run", "next_run_at", time=True),
    Column("last status", "last_status"),
    Column("failures", "consecutive_failures"),
    Column("health"),
)


def parse_show_id(value: str) -> tuple[str, int]:
    """``s12``/``story:12`` name a story; ``a45``/``article:45`` and a bare ``45`` an article."""
    match = _ID.match(value.strip())
    if not match:
        fail(
            f"bad ID {value!r}: use s12 or story:12 for a story, a45, article:45 or 45 for "
            "an article"
        )
    prefix = (match.group(1) or "a").lower()
    return ("story" if prefix.startswith("s") else "article"), int(match.group(2))


@click.command()
@common_options
@click.option("--run", "run_id", type=int, help="Only flags created by this run.")
@click.option("--since", help="Only flags created at or after this ISO time (or e.g. 6h ago).")
@click.option("--kind", type=click.Choice(FLAG_KINDS), help="Only flags of this kind.")
@click.option("--topic", help="Only flags on articles matching this topic.")
@click.option("--unacked", is_flag=True, help="Only flags not yet acknowledged with --ack.")
@click.option("--ack", is_flag=True, help="Mark the listed flags as seen.")
@click.option("--no-briefs", is_flag=True, help="Leave out flags on briefs (short reports).")
@_JSON
@_LIMIT
def flags(
    config_path: str | None,
    db_path: str | None,
    run_id: int | None,
    since: str | None,
    kind: str | None,
    topic: str | None,
    unacked: bool,
    ack: bool,
    no_briefs: bool,
    as_json: bool,
    limit: int | None,
) -> None:
    """List flagged items (what is new), newest first."""
    from crawler.store.flags import ack_flags, query_flags

    since = since_option(since)
    db = open_existing(config_path, db_path, write=ack)
    check_topic(config_path, db, topic)
    found = query_flags(
        db,
        run_id=run_id,
        since=since,
        kind=kind,
        topic=topic,
        unacked=unacked,
        limit=limit,
        briefs=not no_briefs,
    )
    if as_json:  # all the webhook sends of a flag: its story's coverage too
        from crawler.read.coverage_text import attach_coverage

        attach_coverage(db, found)
    if ack and found:
        import sqlite3

        try:
            acked_at = ack_flags(db, [f["id"] for f in found])
        except sqlite3.Error as error:  # a read-only file or mount, a full disk
            fail(f"cannot acknowledge flags: {error}", 1)
        for flag in found:
            flag["acked_at"] = flag["acked_at"] or acked_at
    print_found(found, as_json, "Flags", FLAG_COLUMNS, empty="No flags.")
    if ack:
        echo(f"acknowledged {len(found)} flag(s)", err=True)


@click.command()
@common_options
@click.option("--topic", help="Only stories with an article matching this topic.")
@click.option("--since", help="Only stories active at or after this ISO time (or e.g. 2d ago).")
@click.option("--no-briefs", is_flag=True, help="Leave out stories told only by briefs.")
@click.option(
    "--only-country",
    metavar="CC",
    help="Only stories covered by outlets of this country alone (ISO code, e.g. mx).",
)
@click.option(
    "--missing-country", metavar="CC", help="Only stories no outlet of this country carried."
)
@_JSON
@_LIMIT
def stories(
    config_path: str | None,
    db_path: str | None,
    topic: str | None,
    since: str | None,
    no_briefs: bool,
    only_country: str | None,
    missing_country: str | None,
    as_json: bool,
    limit: int | None,
) -> None:
    """List stories, most recently active first."""
    from crawler.config.codes import ISO_COUNTRIES
    from crawler.store.reads import list_stories

    for option, value in (("--only-country", only_country), ("--missing-country", missing_country)):
        if value is not None and value.lower() not in ISO_COUNTRIES:
            fail(f"{option}: unknown country code {value!r} (ISO 3166 alpha-2, e.g. mx)", 2)
    since = since_option(since)
    db = open_existing(config_path, db_path)
    check_topic(config_path, db, topic)
    found = list_stories(
        db,
        topic=topic,
        since=since,
        limit=limit,
        only_country=only_country,
        missing_country=missing_country,
        briefs=not no_briefs,
    )
    print_found(found, as_json, "Stories", STORY_COLUMNS, empty="No stories.")


def _print_story(story: dict[str, Any]) -> None:
    echo_wrapped(f"Story s{story['id']}: {story['title'] or '(untitled)'}")
    echo_wrapped(
        f"first seen {day_time(story['first_seen'])}, last seen "
        f"{day_time(story['last_seen'])}; {plural(story['article_count'], 'article')} "
        f"from {plural(story['outlet_count'], 'outlet')}, {story['copies'] or 0} of them copies"
    )
    for original in story["coverage"]:
        echo()
        when = day_time(original["published"] or original["first_seen"])
        # Hanging indent: a long title wraps under itself, not under the id.
        echo_wrapped(
            f"a{original['id']}  {original['source'] or ''}  {when}  {original['title']}",
            hanging="    ",
        )
        echo(f"    {original['url']}")
        for copy in original["copies"]:
            echo_wrapped(
                f"copy a{copy['id']}  {copy['source'] or ''}  {copy['title']}",
                indent="    ",
                hanging="     ",
            )
            echo(f"         {copy['url']}")


# ``articles.text_source``: which extraction gave the stored text (NULL: not recorded)
_TEXT_SOURCES = {
    "newswatch": "newswatch",
    "trafilatura": "trafilatura (newswatch's own text was far shorter)",
}


# ``articles.title_source``: where the title came from
_TITLE_SOURCES = {
    "metadata": "metadata",
    "feed": "the feed or sitemap entry",
    "h1": "the page's <h1>",
    "heading": "the article's first heading",
    "first_line": "the text's first line",
    "url": "the address",
}


def _print_article(article: dict[str, Any]) -> None:
    echo_wrapped(f"# {article['title'] or '(untitled)'}")
    story = (
        f"s{article['story_id']} {article['story_title'] or ''}".strip()
        if article["story_id"]
        else None
    )
    meta = [
        ("article", f"a{article['id']}"),
        ("url", article["url"]),
        ("source", article["source"]),
        (
            "published",
            article["published"]
            and f"{article['published']} ({article['published_source'] or 'source unknown'})",
        ),
        ("language", article["language"]),
        ("title from", _TITLE_SOURCES.get(article["title_source"] or "")),
        ("text from", _TEXT_SOURCES.get(article["text_source"] or "")),
        (
            "brief",
            "yes (a short report, stored for its article evidence)" if article["brief"] else None,
        ),
        ("authors", ", ".join(article["authors"])),
        ("topics", ", ".join(article["topics"])),
        ("story", story),
        ("copy of", f"a{article['duplicate_of']}" if article["duplicate_of"] else None),
        ("first seen", article["first_seen"]),
        ("updated", article["updated_at"]),
    ]
    for name, value in meta:
        if value and name == "url":
            echo(f"{name}: {value}")  # never broken: it is copied as it is
        elif value:
            echo_wrapped(f"{name}: {value}")
    echo()
    for paragraph in (article["text"] or "").split("\n"):
        echo_wrapped(paragraph, hanging="")
    if article["related"]:
        echo("\nRelated:")
        for link in article["related"]:
            echo_wrapped(f"- {link['title'] or ''} <{link['url']}>")
    if article["diff"]:
        echo(f"\nChanges since the previous version ({len(article['versions'])} versions):")
        colours = {"+": "green", "-": "red", "@": "cyan"}
        for line in article["diff"].splitlines():
            fg = None if line.startswith(("+++", "---")) else colours.get(line[:1])
            # A long line wraps under its own marker, so each piece still reads as + or -.
            marker = line[:1] if line[:1] in "+- " and not line.startswith(("+++", "---")) else ""
            pieces = [line[len(marker) :]]
            if is_terminal():
                width = terminal_width() - 1
                pieces = textwrap.wrap(pieces[0], width=width, break_long_words=False) or [""]
            for piece in pieces:
                secho(marker + piece, fg=fg)


def _merged_note(db: Database, kind: str, number: int) -> str:
    """Where a story merged by `newswatch story merge` went, for the message that it is gone."""
    from crawler.store.corrections import merged_into

    target = merged_into(db, number) if kind == "story" else None
    return f": it was merged into s{target}" if target is not None else ""


@click.command()
@common_options
@click.argument("item_id", metavar="ID")
@_JSON
def show(config_path: str | None, db_path: str | None, item_id: str, as_json: bool) -> None:
    """Show a story (s12, story:12) or an article (a45, article:45, or a bare 45).

    A story lists its coverage, each copy under the article it copies; an article prints
    its text, related links and, if it was updated, a diff against its previous version.
    """
    from crawler.read.queries import article_detail, story_detail

    kind, number = parse_show_id(item_id)
    db = open_existing(config_path, db_path)
    found = story_detail(db, number) if kind == "story" else article_detail(db, number)
    if found is None:
        fail(f"no {kind} with id {number}{_merged_note(db, kind, number)}", 1)
        return
    coverage = None
    if kind == "story":
        from crawler.read.coverage import story_coverage

        coverage = story_coverage(db, number)
        # `outlets` is the list of outlets that covered it; the plain count stays beside it
        found["outlet_count"] = len(coverage.outlets)
        found.update(coverage.to_json())
        found["summary"] = coverage.summary_line()
        del found["story_id"]
    if as_json:
        echo_json({"type": kind, **found})
    elif kind == "story":
        _print_story(found)
        from crawler.read.coverage_text import coverage_lines

        assert coverage is not None
        echo()
        for line in coverage_lines(coverage):
            echo(line)
    else:
        _print_article(found)


@click.command()
@common_options
@click.argument("query")
@_JSON
@click.option(
    "--limit", type=click.IntRange(min=1), default=20, show_default=True, help="Show at most N."
)
def search(
    config_path: str | None, db_path: str | None, query: str, as_json: bool, limit: int
) -> None:
    """Full-text search of article titles and text, in the topic query language: words,
    "phrases", prefix*, AND, OR, NOT (or a leading -), parentheses. Exit 2 naming the
    position when the query does not parse."""
    from crawler.read.queries import search as run_search
    from crawler.topics.query import QueryError

    db = open_existing(config_path, db_path)
    try:
        result = run_search(db, query, limit=limit)
    except QueryError as error:
        where = f" at column {error.column}" if error.column else ""
        fail(f"bad query{where}: {error}")
    if result.note:
        click.echo(f"note: {result.note}", err=True)
    print_found(
        result.rows,
        as_json,
        f"Search: {query}",
        SEARCH_COLUMNS,
        empty=f"No articles match {query!r}.",
    )


@click.command()
@common_options
@click.option("--topic", help="Only flags on articles matching this topic.")
@click.option("--kind", type=click.Choice(FLAG_KINDS), help="Only flags of this kind.")
@click.option(
    "--limit", type=click.IntRange(min=1), default=100, show_default=True, help="At most N entries."
)
def feed(
    config_path: str | None, db_path: str | None, topic: str | None, kind: str | None, limit: int
) -> None:
    """Print an Atom feed of flags (stable entry ids) on stdout."""
    from crawler.read.atom import build_feed
    from crawler.read.queries import flags_with_content

    db = open_existing(config_path, db_path)
    check_topic(config_path, db, topic)
    found = flags_with_content(db, topic=topic, kind=kind, limit=limit)
    click.echo(build_feed(found, topic=topic, kind=kind), nl=False)  # bytes, stripped XML


@click.command()
@common_options
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8001, show_default=True)
def browse(config_path: str | None, db_path: str | None, host: str, port: int) -> None:
    """Explore the database in Datasette (needs the `browse` extra)."""
    from crawler.read.browse import BrowseUnavailable, database_name, make_datasette, serve

    path = existing_database_path(config_path, db_path)
    try:
        make_datasette(path)
    except BrowseUnavailable as error:
        fail(str(error))
    url = f"http://{host}:{port}/{database_name(path)}"
    echo(f"Datasette on {url} (new flags: {url}/new_flags); Ctrl-C to stop", err=True)
    serve(path, host=host, port=port)


@click.command()
@common_options
@_JSON
@click.option(
    "--limit", type=click.IntRange(min=1), default=20, show_default=True, help="Show at most N."
)
@click.argument("run_id", metavar="[RUN]", type=int, required=False)
def runs(
    config_path: str | None, db_path: str | None, as_json: bool, limit: int, run_id: int | None
) -> None:
    """Crawl history, newest first; with RUN, that run's failures by kind and URL."""
    from crawler.read.queries import backlog_line, list_runs, webhook_backlog

    db = open_existing(config_path, db_path)
    if run_id is not None:
        _show_run(db, run_id, as_json)
        return
    found = list_runs(db, limit=limit)
    print_found(found, as_json, "Runs", RUN_COLUMNS, empty="No runs yet.")
    if as_json:
        return
    backlog = webhook_backlog(db)
    if backlog is not None and (backlog["pending"] or any(r["webhook"]["state"] for r in found)):
        click.echo(backlog_line(backlog))


def _show_run(db: Database, run_id: int, as_json: bool) -> None:
    """One run: its counts, the digest of its failures and each failure by kind and URL."""
    from crawler.read.failures import digest_lines, failures_by_kind, run_failures
    from crawler.read.queries import RUN_COUNTS, list_runs

    found = list_runs(db, limit=None, run_id=run_id)
    if not found:
        fail(f"no run with id {run_id}", 1)
    run = found[0]
    stats = run["stats"]
    failures = stats.get("failures")
    total = stats.get("failures_total")
    if failures is None:  # a run recorded before failures were kept with it
        failures, total = run_failures(db, run_id)
    run["failures"] = failures
    if as_json:
        echo_json(run)
        return
    echo(
        f"run {run['id']}: {run['status']} ({run['trigger']}), "
        f"{run['started_at']} to {run['finished_at'] or '?'}"
    )
    echo(", ".join(f"{key.replace('_', ' ')} {run[key] or 0}" for key in RUN_COUNTS))
    if run["error"]:
        echo(f"error: {run['error']}")
    counts = stats.get("counts") or {}
    for line in digest_lines(
        failures,
        total=total,
        lost_pages=counts.get("errors.write", 0),
        write_error=stats.get("write_error"),
    ):
        echo(line)
    for host, why in sorted((stats.get("robots_closed") or {}).items()):
        echo(f"not crawled, robots.txt unavailable: {host} ({why})")
    for kind, items in failures_by_kind(failures).items():
        echo(f"\n{kind} ({len(items)})")
        for url, message in items:
            echo(f"  {url}  {message}")


@click.command()
@common_options
@_JSON
def sources(config_path: str | None, db_path: str | None, as_json: bool) -> None:
    """Configured sources with their polling interval, next run and health."""
    from crawler.read.queries import source_health

    config = load_or_exit(config_path)
    found = source_health(open_existing(config_path, db_path), config)
    print_found(found, as_json, "Sources", SOURCE_COLUMNS, empty="No sources.")


COMMANDS = (flags, stories, show, search, feed, browse, runs, sources)


def register(cli: click.Group) -> None:
    """Add the reading commands to the ``newswatch`` group."""
    for command in COMMANDS:
        cli.add_command(command)
