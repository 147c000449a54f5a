"""`newswatch story split|merge|corrections`: a user's corrections to story grouping.

Thin adapters over ``crawler.store.corrections``; ``register(cli)`` adds the ``story`` group.
"""

from __future__ import annotations

from pathlib import Path

import click
from sqlite_utils import Database

from crawler.cli.common import common_options, database_path, fail, load_or_exit
from crawler.cli.read import open_existing, parse_show_id, print_found
from crawler.cli.render import Column, article_ref, echo, story_ref

CORRECTION_COLUMNS = (
    Column("id"),
    Column("kind"),
    Column("article", lambda c: article_ref(c["article_id"])),
    Column("story", lambda c: story_ref(c["story_id"])),
    Column("other", lambda c: story_ref(c["other_story_id"])),
    Column("made", "created_at", time=True),
    Column("title", lambda c: c["article_title"] or c["story_title"], flex=True),
    Column("note", flex=True, optional=True),
)
_NOTE = click.option("--note", help="Why (kept with the correction).")


def _open_for_writing(config_path: str | None, db_path: str | None) -> Database:
    """The existing database, migrated if this version needs it (like `crawl`), for one
    correction; exit 2 with one line if it is missing, empty or not newswatch's."""
    import sqlite3

    from crawler.store.storage import DatabaseRefused, open_database

    path = database_path(load_or_exit(config_path), db_path)
    file = Path(path)
    if not file.is_file():
        fail(f"no database at {path}: run `newswatch crawl` first, or pass --db")
    if file.stat().st_size == 0:
        fail(f"{path} is empty: not a newswatch database")
    try:
        return open_database(path)
    except DatabaseRefused as error:
        fail(str(error))
    except sqlite3.Error as error:
        fail(f"cannot open {path}: {error}", 1)


def _story_id(value: str) -> int:
    """A story as `show` names one (s12, story:12); a bare number is a story here too."""
    kind, number = parse_show_id(value)
    if kind != "story" and value.strip().lower().startswith("a"):
        fail(f"bad story ID {value!r}: `story merge` takes stories (s12 or story:12)")
    return number


def _article_id(value: str) -> int:
    """An article as `show` names one (a45, article:45, 45)."""
    kind, number = parse_show_id(value)
    if kind != "article":
        fail(f"bad article ID {value!r}: `story split` takes an article (a45 or article:45)")
    return number


@click.group()
def story() -> None:
    """Correct story grouping: split an article off its story, merge two stories.

    A correction is stored: later crawls place new articles consistently with it, and it
    never re-announces a known story (no flag is created by a correction).
    """


@story.command()
@common_options
@click.argument("article", metavar="ARTICLE")
@_NOTE
def split(config_path: str | None, db_path: str | None, article: str, note: str | None) -> None:
    """Take ARTICLE (a45), with its near-duplicate copies, out of its story into a new one."""
    import sqlite3

    from crawler.store.corrections import CorrectionError, split_article

    article_id = _article_id(article)
    db = _open_for_writing(config_path, db_path)
    try:
        done = split_article(db, article_id, note)
    except CorrectionError as error:
        fail(str(error))
    except sqlite3.Error as error:
        fail(f"cannot record the correction: {error}", 1)
    others = done.moved - 1  # its copies, or its original and the original's other copies
    with_copies = f" with {others} near-duplicate(s)" if others else ""
    echo(
        f"split a{article_id}{with_copies} off story s{done.story_id} into new story "
        f"s{done.other_story_id} (correction {done.id})"
    )


@story.command()
@common_options
@click.argument("keep", metavar="STORY")
@click.argument("other", metavar="OTHER")
@_NOTE
def merge(
    config_path: str | None, db_path: str | None, keep: str, other: str, note: str | None
) -> None:
    """Merge story OTHER (s15) into STORY (s12), which keeps its id."""
    import sqlite3

    from crawler.store.corrections import CorrectionError, merge_stories

    keep_id, other_id = _story_id(keep), _story_id(other)
    if keep_id == other_id:
        fail(f"cannot merge story s{keep_id} into itself")
    db = _open_for_writing(config_path, db_path)
    try:
        done = merge_stories(db, keep_id, other_id, note)
    except CorrectionError as error:
        fail(str(error))
    except sqlite3.Error as error:
        fail(f"cannot record the correction: {error}", 1)
    echo(
        f"merged story s{other_id} ({done.moved} article(s)) into s{keep_id} (correction {done.id})"
    )


@story.command()
@common_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def corrections(config_path: str | None, db_path: str | None, as_json: bool) -> None:
    """List the corrections made, oldest first."""
    from crawler.store.corrections import list_corrections

    found = list_corrections(open_existing(config_path, db_path))
    print_found(found, as_json, "Story corrections", CORRECTION_COLUMNS, empty="No corrections.")


def register(cli: click.Group) -> None:
    """Add the ``story`` group to the ``newswatch`` group."""
    cli.add_command(story)
