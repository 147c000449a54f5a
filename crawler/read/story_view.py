"""What a story's page shows: its reports in time, coverage per day by country and by
language (an inline SVG chart: nothing is fetched when the page opens), the coverage and
fact tables where the database has them, and each article's text and versions."""

from __future__ import annotations

import html
from collections import Counter, defaultdict
from typing import Any
from urllib.parse import urlsplit

from sqlite_utils import Database

from crawler.read.digest import _coverage_line
from crawler.store.digests import (
    article_versions,
    story_articles,
    story_flags,
    story_row,
    table_rows,
)

# Per-story tables other parts of newswatch may add (shown when they exist).
STORY_TABLES = ("story_coverage", "coverage", "story_facts", "facts", "fact_disagreements")
# Two-letter endings that are used as generic names, not as a country.
GENERIC_CCTLDS = {"co", "io", "tv", "me", "fm", "ai", "ly", "cc", "ws"}
PALETTE = ("#3366cc", "#dc3912", "#ff9900", "#109618", "#990099", "#0099c6", "#dd4477")
OTHER_COLOUR = "#999999"


def country_of(url: str | None) -> str:
    """The country a report's address names (its ccTLD), "unknown" when it names none."""
    host = (urlsplit(url or "").hostname or "").rstrip(".")
    last = host.rsplit(".", 1)[-1] if "." in host else ""
    if len(last) == 2 and last.isalpha() and last not in GENERIC_CCTLDS:
        return last.upper()
    return "unknown"


def report_day(article: dict[str, Any]) -> str:
    """The day of a report: its publication date when known, else when it was first seen."""
    return str(article.get("published") or article.get("first_seen") or "")[:10]


def story_page_data(db: Database, story_id: int) -> dict[str, Any] | None:
    """Everything the page shows (None: no such story)."""
    story = story_row(db, story_id)
    if story is None:
        return None
    articles = story_articles(db, story_id)
    versions = article_versions(db, [a["id"] for a in articles])
    flags_by_article: dict[int, list[str]] = defaultdict(list)
    for flag in story_flags(db, story_id):
        if flag["article_id"] is not None:
            flags_by_article[flag["article_id"]].append(flag["kind"])
    for article in articles:
        # The outlet's country as the desk stored it (declared, or its ccTLD), else the URL's.
        stored = article.pop("stored_country", None)
        article["country"] = stored.upper() if stored else country_of(article["url"])
        article["day"] = report_day(article)
        article["versions"] = versions.get(article["id"], [])
        article["flags"] = flags_by_article.get(article["id"], [])
    # The timeline runs by when each report was published (else first seen).
    articles.sort(key=lambda a: (a["published"] or a["first_seen"] or "", a["id"]))
    tables = {name: rows for name in STORY_TABLES if (rows := table_rows(db, name, story_id))}
    return {
        "story": story,
        "coverage": _coverage_line(db, story_id),
        "articles": articles,
        "by_country": per_day(articles, "country"),
        "by_language": per_day(articles, "language"),
        "tables": tables,
    }


def per_day(articles: list[dict[str, Any]], key: str) -> dict[str, Counter[str]]:
    """{day: Counter(value → reports)} over the story's own reports and copies alike."""
    days: dict[str, Counter[str]] = defaultdict(Counter)
    for article in articles:
        if article["day"]:
            days[article["day"]][str(article.get(key) or "unknown")] += 1
    return dict(sorted(days.items()))


def coverage_chart(days: dict[str, Counter[str]], label: str, *, width: int = 470) -> str:
    """A stacked bar per day, one colour per value (the most frequent first), as inline SVG
    with a legend; each bar segment carries its day, value and count."""
    esc = html.escape
    totals: Counter[str] = Counter()
    for counts in days.values():
        totals.update(counts)
    values = [value for value, _ in totals.most_common()]
    colours = {
        value: PALETTE[i] if i < len(PALETTE) else OTHER_COLOUR for i, value in enumerate(values)
    }
    height, top, bottom, left = 180, 24, 34, 28
    plot_h = height - top - bottom
    peak = max((sum(c.values()) for c in days.values()), default=1) or 1
    slot = (width - left - 10) / max(1, len(days))
    bar = max(6.0, min(48.0, slot * 0.7))
    parts = [
        f'<svg class="coverage-chart" data-by="{esc(label)}" xmlns="http://www.w3.org/2000/svg" '
        f'width="{width}" height="{height + 18 * ((len(values) + 2) // 3)}" role="img" '
        f'aria-label="Reports per day by {esc(label)}">',
        f'<text x="{left}" y="14" font-size="13" font-weight="bold">Reports per day by '
        f"{esc(label)}</text>",
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 6}" y2="{top + plot_h}" '
        'stroke="#888"/>',
        f'<text x="{left - 6}" y="{top + 10}" font-size="10" text-anchor="end">{peak}</text>',
        f'<text x="{left - 6}" y="{top + plot_h}" font-size="10" text-anchor="end">0</text>',
    ]
    for i, (day, counts) in enumerate(days.items()):
        x = left + i * slot + (slot - bar) / 2
        y = float(top + plot_h)
        for value in values:
            n = counts.get(value, 0)
            if not n:
                continue
            h = plot_h * n / peak
            y -= h
            parts.append(
                f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{colours[value]}" data-day="{esc(day)}" data-value="{esc(value)}" '
                f'data-count="{n}"><title>{esc(day)}: {n} from {esc(value)}</title></rect>'
            )
        parts.append(
            f'<text x="{x + bar / 2:.1f}" y="{top + plot_h + 14}" font-size="10" '
            f'text-anchor="middle">{esc(day[5:])}</text>'
        )
    for i, value in enumerate(values):
        lx = left + (i % 3) * 140
        ly = height - 6 + 18 * (i // 3)
        parts.append(
            f'<rect x="{lx}" y="{ly - 10}" width="10" height="10" fill="{colours[value]}"/>'
            f'<text class="legend" x="{lx + 14}" y="{ly}" font-size="11">{esc(value)} '
            f"({totals[value]})</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
