"""The final pass over extracted paragraphs: titles, lexicon boilerplate, stamps, comments.

Runs on trafilatura's text after ``crawler.extraction.cleaning`` pruned the page; each line
it drops is recorded for the extraction trace (``crawler.extraction.trace``).
"""

from __future__ import annotations

import re

from crawler.extraction.lexicon import LEXICON, Lexicon, normalize
from crawler.extraction.trace import note, tracing_on

__all__ = ["clean_paragraphs"]

_MAX_HEADING = 60  # a section heading is a few words; longer text is a paragraph
_MAX_BUTTON_LINE = 40  # an extracted line this short that is a button label is a leftover
_MAX_CONSENT_LINE = 500  # a consent sentence in the text; longer lines are the article's
_LEAD_LINES = 3  # a standfirst repeated as a heading stands among the first lines
# A comment section below the article: its heading, then comments each with its time.
_COMMENT_TIME = re.compile(
    r"^(?:hace|há|il y a|vor|for|fa)\s+(?:\d+|una?|une?|einer?|ein|et|en)\s+\w+"
    r"|^\d+\s+\w+\s+(?:ago|siden|sedan|geleden|fa)\b|^(?:yesterday|ayer|ontem|hier|gestern)\b",
    re.IGNORECASE,
)
_MIN_COMMENT_STAMPS = 2
_MAX_STAMP_LINE = 200  # an "updated 10:32" stamp is cut from a byline or dateline this short
_STAMP_LEFTOVER = " \t·|•,;:-–—/()"  # separators a removed stamp leaves at a line's edges


# "This story was updated at 5:45 p.m. ET to include ..." is an editor's note, not a stamp:
# the stamp's word follows a lowercase word, more words follow it, and the line ends a sentence.
_WORD_BEFORE = re.compile(r"[a-zà-öø-ÿ]+\s+$")
_MIN_WORDS_AFTER = 3
_SENTENCE_END = (".", "!", "?", '."', ".”")


def _in_sentence(line: str, stamp: re.Match[str]) -> bool:
    """Whether a stamp match sits inside a sentence of the article (see above)."""
    return (
        _WORD_BEFORE.search(line, 0, stamp.start()) is not None
        and len(line[stamp.end() :].split()) >= _MIN_WORDS_AFTER
        and line.endswith(_SENTENCE_END)
    )


def _is_button_line(norm: str, lex: Lexicon) -> bool:
    return len(norm) < _MAX_BUTTON_LINE and norm in lex.buttons


def clean_paragraphs(
    text: str,
    titles: tuple[str | None, ...] = (),
    lead: str | None = None,
    headings: set[str] | None = None,
    lex: Lexicon = LEXICON,
) -> str:
    """Final pass over extracted paragraphs: drop lexicon boilerplate and trailing lists.

    ``titles`` (page title, og:title, h1, the page's own URL) are dropped wherever they
    repeat; ``lead`` (the
    meta description) only when it is one of the first lines and set as a heading
    (``headings``): a standfirst above the body, not the body's first paragraph.
    Returns paragraphs separated by blank lines, with no relative timestamps, so that two
    crawls of an unchanged article give the same text.
    """
    lines = [" ".join(line.split()) for line in text.splitlines()]
    lines = [line for line in lines if line]
    title_norms = {normalize(t) for t in titles if t}
    lead_norm = normalize(lead) if lead else None
    heads = headings or set()
    kept: list[str] = []
    last_kept = -1
    for i, line in enumerate(lines):
        norm = normalize(line)
        if not norm:
            # separators such as "___" carry no words but keep layout; a wordless line
            # right after a dropped one is its leftover (a closing bracket)
            if i == 0 or last_kept == i - 1:
                kept.append(line)
                last_kept = i
            continue
        if norm in title_norms:
            note("title", line)
            continue
        if i < _LEAD_LINES and norm == lead_norm and norm in heads:
            note("lead-heading", line)
            continue
        if lex.drop_paragraph.match(line):
            note("drop-paragraph", line)
            continue
        if len(norm) <= _MAX_HEADING and lex.comment_headings.matches(norm):
            rest = lines[i + 1 :]
            stamps = sum(1 for x in rest if len(x) < _MAX_HEADING and _COMMENT_TIME.match(x))
            if i >= len(lines) / 2 or (i >= _LEAD_LINES and stamps >= _MIN_COMMENT_STAMPS):
                if tracing_on():  # the joined tail is built only for a trace
                    note("comments-cut", "\n".join(lines[i:]))
                break  # readers' comments follow
            note("comment-heading", line)
            continue
        if len(norm) <= _MAX_HEADING and (
            lex.related_headings.matches(norm) or lex.popular_headings.matches(norm)
        ):
            # a leftover "Related articles" heading in the second half ends the article
            if i >= len(lines) / 2:
                if tracing_on():
                    note("related-cut", "\n".join(lines[i:]))
                break
            note("related-heading", line)
            continue
        if _is_button_line(norm, lex):
            note("button", line)
            continue
        if len(line) < _MAX_CONSENT_LINE and lex.is_consent_text(line):
            near = lines[max(0, i - 2) : i + 3]
            if i >= len(lines) - 3 or any(_is_button_line(normalize(x), lex) for x in near):
                note("consent-line", line)
                continue
        cut = lex.inline_drop.sub("", line).strip()
        if len(cut) < _MAX_STAMP_LINE and (stamp := lex.stamp.search(cut)):
            if not _in_sentence(cut, stamp):
                cut = lex.stamp.sub("", cut).strip(_STAMP_LEFTOVER)
        if cut != line:
            note("inline-stamp", line)
            line = cut
        if line:
            kept.append(line)
            last_kept = i
    # An article never ends on a heading: one left there introduced a block pruned above.
    while len(kept) > 1 and normalize(kept[-1]) in heads:
        note("end-heading", kept.pop())
    return "\n\n".join(kept)
