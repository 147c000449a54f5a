"""Which rule drops gold text: recall losses on development pages, per rule, against trafilatura.

    python -m benchmarks.dropped DIR/aeb /work/data/devset /work/data/devset2 \\
        /work/data/devset3 [--pages]

Runs ``extract_article`` in-process with the extraction trace on (``crawler.extraction.trace``)
on every page with gold text of the given sets, held-out pages excepted (they are never
looked at page by page). Each gold line our text misses is put down to the rule that
recorded it as dropped (a pruned block's kind, a paragraph rule, an edge byline); a line no
rule dropped is ``extractor`` when it is in the page (the main-block choice or trafilatura's
own cleaning) and ``not in page`` otherwise. Characters are counted per rule, with the share
that ``trafilatura.extract`` (defaults) keeps: those are recall we lose to it. ``--pages``
lists the lines (development pages only).
"""

from __future__ import annotations

import argparse
import re
from collections import defaultdict
from pathlib import Path

import trafilatura
from lxml.html import fromstring

from benchmarks.pagesets import Page, load_set
from crawler.extraction.extract import extract_article
from crawler.extraction.trace import tracing

_WORD = re.compile(r"\w+", re.UNICODE)
_MIN_LINE = 3  # words: a shorter gold line is a label, often repeated elsewhere on the page
_FOUND_SHARE = 0.5  # a line with this share of its word 4-grams in a text is in it (the gold
# joins some words, "printand", and splits lines where a page does not)


def _grams(line: str) -> list[str]:
    tokens = line.split()
    return [" ".join(tokens[i : i + 4]) for i in range(max(1, len(tokens) - 3))]


def found(line: str, text: str) -> bool:
    """Whether ``line`` (``words()``) is in ``text`` (``words()``), give or take a join."""
    if line in text:
        return True
    grams = _grams(line)
    return sum(1 for g in grams if g in text) >= _FOUND_SHARE * len(grams)


def words(text: str) -> str:
    """Lowercased words separated by one space: line breaks and punctuation do not count."""
    return " ".join(_WORD.findall(text.lower()))


def blame(line: str, dropped: list[tuple[str, str]], page_words: str) -> str:
    """The rule that dropped ``line`` (already ``words()``; ``dropped`` as (rule, its text's
    ``words()``)), or where it was lost."""
    for rule, text in dropped:
        if found(line, text):
            return rule
    return "extractor" if found(line, page_words) else "not in page"


def missed_lines(page: Page) -> list[tuple[str, str, bool]]:
    """(rule, gold line, trafilatura keeps it) for each gold line our text misses."""
    url = page.origin_url
    with tracing() as notes:
        ours = words(extract_article(page.html, url).text)
    theirs = words(trafilatura.extract(page.html, url=url) or "")
    page_words = words(fromstring(page.html).text_content())
    dropped = [(rule, words(text)) for rule, text in notes]  # once, not per missed line
    out = []
    for raw in (page.gold_text or "").splitlines():
        line = words(raw)
        if line.count(" ") + 1 < _MIN_LINE or found(line, ours):
            continue
        out.append((blame(line, dropped, page_words), raw.strip(), found(line, theirs)))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("sets", nargs="+", type=Path, help="page sets (aeb, devset folders)")
    parser.add_argument("--pages", action="store_true", help="list missed lines per page")
    args = parser.parse_args(argv)
    chars: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # lines, chars, traf keeps
    gold_chars = pages = 0
    for folder in args.sets:
        for page in load_set(folder):
            if not page.gold_text or page.set.endswith("heldout"):
                continue
            pages += 1
            gold_chars += len(page.gold_text)
            missed = missed_lines(page)
            for rule, line, kept in missed:
                row = chars[rule]
                row[0] += 1
                row[1] += len(line)
                row[2] += len(line) if kept else 0
            if args.pages and missed:
                print(f"== {page.set} {page.id}")
                for rule, line, theirs in missed:
                    print(f"  [{rule}{' | traf keeps' if theirs else ''}] {line[:160]}")
    print(f"{pages} development pages with gold text, {gold_chars} gold characters")
    print(f"{'rule':<22} {'lines':>6} {'chars':>8} {'traf keeps':>11}")
    for rule, (lines, size, traf) in sorted(chars.items(), key=lambda kv: -kv[1][1]):
        print(f"{rule:<22} {lines:>6} {size:>8} {traf:>11}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
