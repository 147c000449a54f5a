"""The brief as text (80 columns), Markdown or self-contained HTML (inline CSS, nothing
fetched when it is opened)."""

from __future__ import annotations

import html
import textwrap
from datetime import UTC
from zoneinfo import ZoneInfo

from crawler.core.sanitize import strip_controls
from crawler.core.timeutil import parse_iso
from crawler.read.digest import KIND_WORDS, Digest, StoryEntry

FORMATS = ("text", "markdown", "html")
WIDTH = 80


def local_time(stamp: str | None, timezone: str, seconds: bool = False) -> str:
    """``2026-12-07 07:00`` in the digest's timezone (with seconds for short periods)."""
    moment = parse_iso(stamp) if stamp else None
    if moment is None:
        return "the beginning"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    shape = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    return moment.astimezone(ZoneInfo(timezone)).strftime(shape)


def _clean(text: str) -> str:
    return " ".join(strip_controls(text).split())


def _short(digest: Digest) -> bool:
    """A period under an hour (digests every few minutes) shows its times to the second."""
    start, end = parse_iso(digest.since), parse_iso(digest.until)
    return bool(start and end and (end - start).total_seconds() < 3600)


def _at(digest: Digest, stamp: str | None) -> str:
    return local_time(stamp, digest.timezone, _short(digest))


def digest_title(digest: Digest) -> str:
    """The subject line: how many stories, and the period's end."""
    count = len(digest.stories)
    what = f"{count} stor{'ies' if count != 1 else 'y'}" if count else "nothing new"
    topics = f" [{', '.join(digest.topics)}]" if digest.topics else ""
    return f"newswatch brief{topics}: {what}, {_at(digest, digest.until)}"


def period_line(digest: Digest) -> str:
    return f"{_at(digest, digest.since)} to {_at(digest, digest.until)} ({digest.timezone})"


def counts_line(digest: Digest) -> str:
    if digest.empty:
        return f"Nothing new since {_at(digest, digest.since)}."
    words = {
        "New stories": ("new story", "new stories"),
        "New coverage": ("story with new coverage", "stories with new coverage"),
        "Updates": ("updated story", "updated stories"),
    }
    parts = [
        f"{len(stories)} {words[heading][len(stories) != 1]}"
        for heading, stories in digest.sections()
    ]
    return ", ".join(parts) + "."


def _report_words(kind: str, outlet: str) -> str:
    return f"{KIND_WORDS.get(kind, kind)}, {outlet}"


def render_text(digest: Digest) -> str:
    """Plain text for a terminal or a text-only channel; lines fit 80 columns (a URL longer
    than that stands alone on its line)."""
    lines = [digest_title(digest), period_line(digest), "", counts_line(digest)]
    for heading, stories in digest.sections():
        lines += [f"== {heading} ==", ""] if lines[-1] == "" else ["", f"== {heading} ==", ""]
        for story in stories:
            lines += _text_story(story)
    return "\n".join(lines).rstrip() + "\n"


def _wrap(text: str, first: str, rest: str) -> list[str]:
    return textwrap.wrap(
        text, WIDTH, initial_indent=first, subsequent_indent=rest, break_on_hyphens=False
    ) or [first.rstrip()]


def _text_story(story: StoryEntry) -> list[str]:
    lines = _wrap(f"{_clean(story.title)} [{story.ref}]", "* ", "  ")
    lines += _wrap(story.coverage, "  ", "  ")
    for report in story.reports:
        lines += _wrap(
            f"{_clean(report.title)} ({_report_words(report.kind, report.outlet)})",
            "  - ",
            "    ",
        )
        if report.url:
            lines.append(f"    {report.url}")
    if story.more:
        lines.append(f"  and {story.more} more report{'s' if story.more != 1 else ''}")
    if story.page_url:
        lines.append(f"  story page: {story.page_url}")
    lines.append("")
    return lines


def _md(text: str) -> str:
    """Escape Markdown's inline marks in a title."""
    out = _clean(text)
    for mark in "\\`*_[]<>#|":
        out = out.replace(mark, "\\" + mark)
    return out


def render_markdown(digest: Digest) -> str:
    lines = [f"# {_md(digest_title(digest))}", "", f"_{period_line(digest)}_", ""]
    lines.append(counts_line(digest))
    for heading, stories in digest.sections():
        lines += ["", f"## {heading}", ""]
        for story in stories:
            title = _md(story.title)
            head = f"[{title}]({story.page_url})" if story.page_url else title
            lines += [f"### {head} ({story.ref})", "", f"{story.coverage}", ""]
            for report in story.reports:
                text = _md(report.title)
                link = f"[{text}]({report.url})" if report.url else text
                lines.append(f"- {link} ({_report_words(report.kind, _md(report.outlet))})")
            if story.more:
                lines.append(f"- and {story.more} more")
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


_CSS = (
    "body{font-family:system-ui,sans-serif;max-width:44em;margin:1.5em auto;color:#1b1b1b;"
    "padding:0 1em}h1{font-size:1.35em}h2{font-size:1.1em;border-bottom:1px solid #ccc;"
    "padding-bottom:.2em;margin-top:1.6em}.story{margin:1em 0 1.4em}.story h3{margin:.2em 0;"
    "font-size:1.05em}.ref{color:#777;font-weight:normal;font-size:.85em}.coverage{color:#36c;"
    "margin:.2em 0 .4em}.period{color:#555}ul{margin:.3em 0;padding-left:1.2em}"
    ".kind{color:#666;font-size:.9em}.empty{font-size:1.1em}"
)


def render_html(digest: Digest) -> str:
    """One self-contained page (mail clients and the browser show the same)."""
    esc = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{esc(digest_title(digest))}</title><style>{_CSS}</style></head><body>",
        f'<h1 id="digest-title">{esc(digest_title(digest))}</h1>',
        f'<p class="period">{esc(period_line(digest))}</p>',
        f'<p class="{"empty" if digest.empty else "counts"}">{esc(counts_line(digest))}</p>',
    ]
    for rank, (heading, stories) in enumerate(digest.sections()):
        parts.append(f'<h2 class="section" data-rank="{rank}">{esc(heading)}</h2>')
        for story in stories:
            title = esc(_clean(story.title))
            if story.page_url:
                title = f'<a href="{esc(story.page_url)}">{title}</a>'
            parts.append(f'<div class="story" data-ref="{esc(story.ref)}">')
            parts.append(f'<h3>{title} <span class="ref">{esc(story.ref)}</span></h3>')
            parts.append(f'<p class="coverage">{esc(story.coverage)}</p><ul>')
            for report in story.reports:
                text = esc(_clean(report.title))
                if report.url:
                    text = f'<a class="report" href="{esc(report.url)}">{text}</a>'
                words = esc(_report_words(report.kind, report.outlet))
                parts.append(f'<li>{text} <span class="kind">{words}</span></li>')
            if story.more:
                parts.append(f"<li>and {story.more} more</li>")
            parts.append("</ul></div>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def render(digest: Digest, fmt: str) -> str:
    if fmt == "markdown":
        return render_markdown(digest)
    if fmt == "html":
        return render_html(digest)
    return render_text(digest)
