"""Terminal output: rich tables on a terminal, plain tab-separated lines when piped.

Everything printed from the database goes through ``strip_controls``, on a terminal or not:
a title that reached the database before controls were stripped at ingest, an error
message or a URL must not clear the screen, write the clipboard or hide a link.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

from crawler.sanitize import strip_controls

if TYPE_CHECKING:
    from crawler.crawl import RunSummary


def is_terminal() -> bool:
    return sys.stdout.isatty()


def echo(text: Any = "", **kwargs: Any) -> None:
    """``click.echo`` without control characters or escape sequences."""
    click.echo(strip_controls(str(text)), **kwargs)


def secho(text: Any, **kwargs: Any) -> None:
    """``click.secho`` of stripped text (the style is added after stripping)."""
    click.secho(strip_controls(str(text)), **kwargs)


def cell(value: Any) -> str:
    return "" if value is None else strip_controls(str(value))


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
            table.add_row(*(escape(cell(v)) for v in row))
        Console().print(table)
        return
    for row in rows:  # one line per row: tabs and newlines inside a cell become spaces
        click.echo("\t".join(cell(v).replace("\t", " ").replace("\n", " ") for v in row))


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
    ]
    echo(", ".join(parts))
    if summary.interrupted_before:
        ids = ", ".join(str(i) for i in summary.interrupted_before)
        echo(f"(marked earlier run(s) {ids} as interrupted)")
    for line in summary_digest(summary):
        echo(line)


def summary_digest(summary: RunSummary) -> list[str]:
    """Under the summary line: failures by cause, hosts closed by robots.txt, lost writes."""
    from crawler.failures import digest_lines

    lines = digest_lines(
        summary.failures,
        total=summary.failures_total,
        lost_pages=summary.counts["errors.write"],
        write_error=summary.write_error,
    )
    closed = sorted(summary.robots_closed.items())
    if closed:
        hosts = "; ".join(f"{host} ({why})" for host, why in closed[:5])
        more = f"; and {len(closed) - 5} more" if len(closed) > 5 else ""
        lines.append(f"not crawled this run, robots.txt unavailable: {hosts}{more}")
    if summary.record_error:
        lines.append(f"the end of the run could not be recorded: {summary.record_error}")
    if lines and summary.failures_total:
        lines.append(f"details: newswatch runs {summary.run_id}")
    return lines


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
