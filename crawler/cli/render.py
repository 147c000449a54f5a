"""Terminal output: rich tables on a terminal, plain tab-separated lines when piped."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from crawler.crawl import RunSummary


def is_terminal() -> bool:
    return sys.stdout.isatty()


def print_table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A rich table on a terminal; tab-separated lines (no header decoration) otherwise."""
    if is_terminal():
        from rich.console import Console
        from rich.markup import escape
        from rich.table import Table

        table = Table(title=title, show_lines=False, header_style="bold")
        for column in columns:
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*("" if v is None else escape(str(v)) for v in row))
        Console().print(table)
        return
    for row in rows:
        click.echo("\t".join("" if v is None else str(v).replace("\t", " ") for v in row))


def print_run_summary(summary: RunSummary) -> None:
    """The end-of-crawl summary: pages, articles, duplicates, flags, errors."""
    stats = summary.stats()
    parts = [
        f"run {summary.run_id}: {summary.status}",
        f"pages fetched {stats['pages_fetched']}",
        f"articles new {stats['articles_new']}",
        f"updated {stats['articles_updated']}",
        f"unchanged {stats['articles_unchanged']}",
        f"duplicates {stats['duplicates']}",
        f"off-topic {stats['off_topic']}",
        f"flags {stats['flags']}",
        f"errors {stats['errors']}",
        f"not articles {stats.get('not_article', 0)}",
    ]
    click.echo(", ".join(parts))
    if summary.interrupted_before:
        ids = ", ".join(str(i) for i in summary.interrupted_before)
        click.echo(f"(marked earlier run(s) {ids} as interrupted)")


def flag_rows(flags: Sequence[dict[str, Any]]) -> list[list[Any]]:
    return [
        [
            f["id"],
            f["kind"],
            f["created_at"],
            f.get("source") or f.get("site"),
            f.get("title"),
            f.get("url"),
            f.get("story_id"),
        ]
        for f in flags
    ]


FLAG_COLUMNS = ("id", "kind", "time", "outlet", "title", "url", "story")
