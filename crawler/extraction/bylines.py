"""Byline and dateline lines at the edges of an article's text.

A line "By Maria Popova" above the first paragraph, or "Published March 4, 2026" below the
last, is the page's frame, not the article: the author and the date are stored in their own
columns. They are dropped after the date has been read from the text (``dates``), and only
at the text's edges. A byline that names a wire ("By X, Associated Press", or "By X" over an
"Associated Press" line) stays: ``crawler.extraction.wires`` reads it.
"""

from __future__ import annotations

import re

from crawler.extraction.dates import is_dateline
from crawler.extraction.lexicon import LEXICON, Lexicon
from crawler.extraction.trace import note

_NAME_WORD = re.compile(r"[\w.'’-]+")
_MAX_NAME_WORDS = 4  # "By" then one to four names ("Maria von Trapp")
_MAX_LINE = 80  # a byline or dateline is short; longer is a paragraph
_HEAD_LINES = 2  # how far from the top a byline may stand
_TAIL_LINES = 3  # how far from the bottom a "Published ..." line may stand
_MIN_PARAGRAPHS = 4  # a brief keeps its lines: there the byline is a good share of it
_MIN_NEXT = 80  # a byline over a short line may be a wire's ("By X" / "Associated Press")


def _is_person_byline(line: str, lex: Lexicon = LEXICON) -> bool:
    """ "By Maria Popova", "Escrito por Ana de la Cruz": a "by" word, then a person's name
    (capitalised words, with lowercase particles such as "von" between them)."""
    by = lex.byline_prefix.match(line)
    if by is None:
        return False
    names = line[by.end() :].split()
    if not 1 <= len(names) <= _MAX_NAME_WORDS or not all(map(_NAME_WORD.fullmatch, names)):
        return False
    return (
        names[0][0].isupper()
        and names[-1][0].isupper()
        and all(word[0].isupper() or word in lex.name_particles for word in names)
    )


def _is_frame_line(line: str, next_line: str | None) -> bool:
    if len(line) > _MAX_LINE:
        return False
    if _is_person_byline(line):
        return next_line is not None and len(next_line) >= _MIN_NEXT
    return (
        is_dateline(line)
        and LEXICON.date_marker.search(line) is not None  # not an event's dates, not a bare day
        and "@" not in line  # "— Name (@handle) October 9, 2018" signs an embedded post
        and not line.rstrip().endswith((".", "!", "?", ":"))
    )


def drop_edge_bylines(text: str) -> str:
    """``text`` (paragraphs separated by blank lines) without byline or dateline lines among
    its first two or last three paragraphs."""
    paragraphs = text.split("\n\n")
    if len(paragraphs) < _MIN_PARAGRAPHS:
        return text
    last = len(paragraphs) - 1
    kept = []
    for i, p in enumerate(paragraphs):
        if (i < _HEAD_LINES or i > last - _TAIL_LINES) and _is_frame_line(
            p, paragraphs[i + 1] if i < last else None
        ):
            note("edge-byline", p)
        else:
            kept.append(p)
    return "\n\n".join(kept)
