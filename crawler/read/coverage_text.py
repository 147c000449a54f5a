"""A story's coverage as text for a terminal (80 columns), and attached to flags for the feed
and the webhook."""

from __future__ import annotations

import textwrap
from typing import Any

from sqlite_utils import Database

from crawler.core.timeutil import parse_utc
from crawler.read.coverage import FactRow, StoryCoverage, lag_words, story_coverage

WIDTH = 80


def _when(value: str | None) -> str:
    """2026-03-03T08:05:00-06:00 -> 2026-03-03 14:05: in UTC, like every time ``show`` prints
    (a report's own offset would put a later Mexican report before an earlier US one)."""
    if not value:
        return "?"
    moment = parse_utc(value)
    return value.replace("T", " ")[:16] if moment is None else moment.strftime("%Y-%m-%d %H:%M")


def _value(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"


def _fact_lines(row: FactRow, width: int) -> list[str]:
    head = f"{row.fact} ({row.unit})" + ("  DIFFER" if row.disputed else "")
    lines = [f"  {head}"]
    for item in row.values:
        who = ", ".join(f"{r['outlet']} a{r['article_id']}" for r in item.reports)
        lines += textwrap.wrap(
            f"{_value(item.value)}: {who}",
            width,
            initial_indent="    ",
            subsequent_indent="      ",
        )
    if row.changed_in_versions:
        ids = ", ".join(f"a{a}" for a in row.changed_in_versions)
        lines.append(f"    changed between versions of {ids}")
    return lines


def coverage_lines(coverage: StoryCoverage, width: int = WIDTH) -> list[str]:
    """The coverage block of `newswatch show s12`, every line at most ``width`` wide."""
    wrap = lambda text, indent="  ": textwrap.wrap(  # noqa: E731
        text, width, initial_indent=indent, subsequent_indent=indent + "  "
    )
    lines = textwrap.wrap("Coverage: " + coverage.summary_line(), width, subsequent_indent="  ")
    first = coverage.first_report
    if first:
        where = f" ({first.country})" if first.country else ""
        lines += wrap(
            f"first reported by {first.outlet}{where} at {_when(first.published)}, "
            f"date from {first.published_source} (a{first.article_id})",
            "",
        )
    else:
        lines.append("first reported by: unknown (no report has a reliable date)")
    if coverage.one_sided:
        sides = ", ".join(f"{k} {v}" for k, v in coverage.one_sided.items())
        lines.append(f"one-sided: only {sides}")
    if coverage.outlets:
        lines.append("outlets:")
        for outlet in coverage.outlets:
            place = "/".join(x for x in (outlet.country, outlet.language) if x) or "?"
            n = outlet.articles
            lines += wrap(
                f"{outlet.name} ({place}) {n} article{'' if n == 1 else 's'}, "
                f"first {_when(outlet.first_report)}"
            )
    for label, items in (("countries", coverage.countries), ("languages", coverage.languages)):
        if items:
            text = ", ".join(f"{c.name} {c.outlets} (first {_when(c.first_report)})" for c in items)
            lines += wrap(f"{label}: {text}", "")
    for wire in coverage.wires:
        n = len(wire.articles)
        lines += wrap(
            f"wire {wire.wire}: {n} article{' counts' if n == 1 else 's count'} as one report "
            f"({', '.join(wire.outlets)})",
            "",
        )
    if coverage.official:
        lines.append("official record:")
        for record in coverage.official:
            gov = f" ({record.government})" if record.government else ""
            lines += wrap(
                f"{record.source}{gov} at {_when(record.when)}, {lag_words(record.lag_seconds)}"
                f" (a{record.article_id})"
            )
    else:
        lines.append("official record: none yet")
    if coverage.facts:
        lines.append("facts:")
        for row in coverage.facts:
            lines += _fact_lines(row, width)
    return lines


def attach_coverage(db: Database, flags: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each flag with a story gets ``coverage`` (its story's coverage, JSON-ready, with its
    ``summary`` line); one computation per story."""
    cache: dict[int, dict[str, Any]] = {}
    for flag in flags:
        story_id = flag.get("story_id")
        if not story_id:
            continue
        if story_id not in cache:
            coverage = story_coverage(db, story_id)
            cache[story_id] = {"summary": coverage.summary_line(), **coverage.to_json()}
        flag["coverage"] = cache[story_id]
    return flags
