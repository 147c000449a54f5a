"""Terminal output: rich tables on a terminal, plain tab-separated lines when piped.

Everything printed from the database goes through ``strip_controls``, on a terminal or not:
a title that reached the database before controls were stripped at ingest, an error
message or a URL must not clear the screen, write the clipboard or hide a link.
"""

from __future__ import annotations

import shutil
import sys
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click

from crawler.core.models import FlagKind
from crawler.core.sanitize import strip_controls
from crawler.core.timeutil import parse_utc

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


_GAP = 2  # between columns: a space of padding on each side
_MIN_FLEX = 30  # optional columns go while flex columns would get less than this each


@dataclass(frozen=True)
class Column:
    """A table column and where its cells come from: ``field``, the record's key (the column's
    name when None), or a function of the record. On a terminal, ``time`` columns show
    "11-30 14:05" (UTC) and ``flex`` columns (titles, URLs, snippets) shrink with an ellipsis
    so the table fits the window; other columns never wrap. Piped, every value is printed in
    full."""

    name: str
    field: str | Callable[[dict[str, Any]], Any] | None = None
    flex: bool = False
    time: bool = False
    optional: bool = False  # left out on a narrow terminal (the URL: `show aN` has it)
    below: str | None = None  # on a terminal, this field on a second line of the cell
    terminal: bool = True  # False: piped only (a terminal shows it ``below`` another)

    def cell_of(self, record: dict[str, Any]) -> Any:
        if callable(self.field):
            return self.field(record)
        return record[self.field or self.name]


def story_ref(story_id: int | None) -> str:
    """The one way a story is named in output: ``s5`` (what ``show`` takes)."""
    return f"s{story_id}" if story_id is not None else ""


def article_ref(article_id: int | None) -> str:
    """The one way an article is named in output: ``a45`` (what ``show`` takes)."""
    return f"a{article_id}" if article_id is not None else ""


def short_time(value: str | None) -> str:
    """ "2026-11-30T14:05:09+00:00" -> "11-30 14:05" (stored times are UTC)."""
    if not value:
        return ""
    moment = parse_utc(value)
    return value if moment is None else moment.strftime("%m-%d %H:%M")


def plural(count: int, noun: str) -> str:
    """1 -> "1 flag", 2 -> "2 flags", 2 -> "2 stories"."""
    if count == 1:
        return f"{count} {noun}"
    return f"{count} {noun[:-1]}ies" if noun.endswith("y") else f"{count} {noun}s"


def day_time(value: str | None) -> str:
    """ "2026-11-30T14:05:09+01:00" -> "2026-11-30 13:05" (UTC, to the minute)."""
    short = short_time(value)
    if not value or short == value:
        return value or ""
    moment = parse_utc(value)
    return value if moment is None else moment.strftime("%Y-%m-%d %H:%M")


def elapsed(start: str | None, end: str | None) -> str:
    """How long a run took: "45s", "3m05s", "1h02m"; "" while it runs."""
    if not start or not end:
        return ""
    began, ended = parse_utc(start), parse_utc(end)
    if began is None or ended is None:
        return ""
    seconds = int((ended - began).total_seconds())
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def one_line(value: Any) -> str:
    """A cell as one line: newlines and tabs become spaces (one row per line when piped)."""
    if value is None:
        return ""
    return " ".join(strip_controls(str(value)).split())


def terminal_width() -> int:
    return shutil.get_terminal_size((80, 24)).columns


def column_widths(
    cols: Sequence[Column], cells: Sequence[Sequence[str]], total: int
) -> dict[int, int]:
    """Column index -> width for the columns that fit in ``total`` characters.

    Fixed columns are as wide as their longest value or their name (a header is never cut);
    flex columns share what is left (two spaces between columns) in proportion to their
    longest value, at least eight characters each; optional columns are left out (last
    first) while flex ones would get less than thirty each, or fixed ones would not fit.
    """
    natural = [
        max([len(c.name)] + [max(map(len, row[i].split("\n"))) for row in cells])
        for i, c in enumerate(cols)
    ]
    keep = list(range(len(cols)))
    while True:
        flex = [i for i in keep if cols[i].flex]
        fixed = sum(natural[i] for i in keep if not cols[i].flex)
        room = total - fixed - _GAP * (len(keep) - 1)
        optional = [i for i in keep if cols[i].optional]
        if optional and room < _MIN_FLEX * len(flex):
            keep.remove(optional[-1])
            continue
        widths = {i: natural[i] for i in keep}
        wanted = sum(natural[i] for i in flex)
        if flex and wanted > room:
            for i in flex:
                widths[i] = max(8, len(cols[i].name), room * natural[i] // wanted)
        return widths


def print_table(
    title: str | None,
    cols: Sequence[Column],
    records: Sequence[dict[str, Any]],
    *,
    empty: str,
) -> None:
    """The records as a rich table that fits the terminal, one row each; tab-separated lines,
    one per record, when piped.

    No records: ``empty`` ("No flags.") on a terminal, or on stderr when piped (stdout stays
    empty for scripts).
    """
    rows = [[c.cell_of(record) for c in cols] for record in records]
    if not rows:
        click.echo(empty, err=not is_terminal())
        return
    if not is_terminal():
        for row in rows:
            click.echo("\t".join(one_line(v) for v in row))
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    shown = [c for c in cols if c.terminal]
    cells = [
        [
            (short_time(c.cell_of(record)) if c.time else one_line(c.cell_of(record)))
            + (f"\n{one_line(record.get(c.below))}" if c.below else "")
            for c in shown
        ]
        for record in records
    ]
    widths = column_widths(shown, cells, terminal_width())
    table = Table(title=title, box=None, pad_edge=False, header_style="bold")
    for i, width in widths.items():
        table.add_column(shown[i].name, no_wrap=True, overflow="ellipsis", width=width)
    for row_cells in cells:
        table.add_row(*(escape(row_cells[i]) for i in widths))
    Console(width=terminal_width(), highlight=False).print(table)


def print_run_summary(summary: RunSummary) -> None:
    """The end-of-crawl summary: pages, articles, duplicates, flags, errors."""
    stats = summary.stats()
    echo(
        f"run {summary.run_id}: {summary.status}, flags {stats['flags']}, errors {stats['errors']}"
    )
    parts = [
        f"pages fetched {stats['pages_fetched']}",
        f"articles new {stats['articles_new']}",
        f"updated {stats['articles_updated']}",
        f"unchanged {stats['articles_unchanged']}",
        f"duplicates {stats['duplicates']}",
        f"off-topic {stats['off_topic']}" + _not_extracted(stats["counts"]),
        *_known_off_topic(stats["counts"]),
        f"not articles {stats.get('not_article', 0)}",
    ]
    # Packed into lines that fit the terminal (80 columns piped), not one long line.
    echo_wrapped(", ".join(parts), indent="  ", hanging="")
    if summary.counts["stopped.time_limit"]:
        deferred = summary.counts["limits.link_deferred"]
        echo(
            "stopped at the time limit (run_time_limit)"
            + (f"; {deferred} article(s) left to link by the next run" if deferred else "")
        )
    if summary.counts["sources_throttled"]:
        echo(
            f"throttled: {summary.counts['sources_throttled']} source(s) got nothing but "
            "429/503 answers (newswatch sources)"
        )
    if summary.interrupted_before:
        ids = ", ".join(str(i) for i in summary.interrupted_before)
        echo(f"(marked earlier run(s) {ids} as interrupted)")
    lines = summary_digest(summary)
    details = [lines.pop()] if lines and lines[-1].startswith("details:") else []
    caps = caps_hit(summary.counts)
    if caps:
        lines.append(f"caps hit: {caps} (see [crawl] max_*; cut listings are read again next run)")
    delivery = summary.delivery
    if delivery is not None and (delivery.sent or delivery.pending):
        line = f"webhook: {delivery.sent} flag(s) sent, {delivery.pending} pending"
        lines.append(line + (f" ({delivery.error})" if delivery.error else ""))
    for line in [*lines, *details]:  # the digest first, "details: newswatch runs N" last
        echo_wrapped(line)


def echo_wrapped(text: str, indent: str = "", hanging: str = "  ") -> None:
    """``text`` wrapped to the terminal's width, later lines indented by ``hanging``; a URL
    is never broken (a line holding only one may be longer). Piped, one line as it is: a
    file or a script gets whole lines."""
    if not text.strip() or not is_terminal():
        echo(indent + text)
        return
    width = terminal_width()
    for line in textwrap.wrap(
        text,
        width=width,
        initial_indent=indent,
        subsequent_indent=indent + hanging,
        break_long_words=False,
        break_on_hyphens=False,
    ):
        echo(line)


def summary_digest(summary: RunSummary) -> list[str]:
    """Under the summary line: failures by cause, hosts closed by robots.txt, lost writes."""
    from crawler.read.failures import digest_lines

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


def caps_hit(counts: dict[str, int]) -> str:
    """``links_per_page 50, sitemap_urls 60``: what the run's budgets left out, by cap."""
    return ", ".join(
        f"{key.removeprefix('limits.')} {value}"
        for key, value in sorted(counts.items())
        if key.startswith("limits.") and value
    )


def _not_extracted(counts: dict[str, Any]) -> str:
    """How many off-topic pages the topic pre-filter settled without extracting them."""
    n = counts.get("off_topic.prefilter", 0)
    return f" ({n} not extracted)" if n else ""


def _known_off_topic(counts: dict[str, Any]) -> list[str]:
    """Pages judged off-topic in an earlier run inside the recheck window: not fetched."""
    n = counts.get("skipped.known_off_topic", 0)
    return [f"known off-topic not fetched {n}"] if n else []


FLAG_COLUMNS = (
    # a release nobody carried yet: "new_story (official)"
    Column(
        "kind",
        lambda f: (
            f["kind"] + (" (official)" if (f.get("detail") or {}).get("official") else "")
            if f["kind"] != FlagKind.OFFICIAL
            else f["kind"]
        ),
    ),
    Column("time", "created_at", time=True),
    Column("article", lambda f: article_ref(f["article_id"])),
    Column("story", lambda f: story_ref(f["story_id"])),
    Column("outlet", lambda f: f["source"] or f["site"]),
    Column("title", flex=True),
    Column("url", flex=True, optional=True),
)
