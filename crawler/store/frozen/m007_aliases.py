"""A frozen copy of crawler/stories/aliases.py (and its table) for m007 only; never edit.

Language-independent spellings for story terms.

Reports of one event in four languages share names and numbers, but write places and
numbers their own way: "Estados Unidos", "EE.UU.", "États-Unis"; "catorce", "quatorze";
"48 millions", "48 milhões". :func:`canonical_text` rewrites those to one form before the
story terms are parsed, so they meet. The table is data: extend it without touching code.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

ALIASES_PATH = Path(__file__).resolve().parent / "m007_aliases.toml"
# "5 000", "9 000" (French, with a space or a narrow no-break space) are one number
_SPACED_THOUSANDS = re.compile(r"(?<![\d.,])(\d{1,3})((?:[ \u00a0\u202f]\d{3})+)(?![\d])")


@dataclass(frozen=True)
class Aliases:
    places: re.Pattern[str] | None
    place_of: dict[str, str]
    numbers: re.Pattern[str] | None  # matches lower-cased text
    number_of: dict[str, str]  # lower-cased alias -> digits
    multipliers: dict[str, str]  # folded word -> zeros


def _pattern(words: list[str]) -> re.Pattern[str] | None:
    """One alternation of ``words`` (the longest first), grouped by first character.

    The grouping matches exactly what the flat alternation matches, and spares the regex
    engine trying every alias at every position (story terms run on every stored article).
    """
    if not words:
        return None
    by_first: dict[str, list[str]] = {}
    for word in sorted(words, key=len, reverse=True):
        by_first.setdefault(word[0], []).append(word)
    alternatives = "|".join(
        re.escape(first) + "(?:" + "|".join(re.escape(w[1:]) for w in group) + ")"
        for first, group in by_first.items()
    )
    return re.compile(rf"(?<![\w.])(?:{alternatives})(?![\w])")


@lru_cache(maxsize=4)
def load_aliases(path: Path = ALIASES_PATH) -> Aliases:
    """The alias table (read once per process)."""
    from crawler.store.frozen.m007_text import fold

    data = tomllib.loads(path.read_text("utf-8"))
    place_of = {
        alias: name
        for name, aliases in data.get("places", {}).items()
        for alias in aliases
        if alias != name
    }
    number_of = {
        alias.lower(): str(n) for n, aliases in data.get("numbers", {}).items() for alias in aliases
    }
    multipliers = {
        fold(word): zeros for zeros, words in data.get("multipliers", {}).items() for word in words
    }
    return Aliases(
        _pattern(list(place_of)),
        place_of,
        _pattern(list(number_of)),
        number_of,
        multipliers,
    )


def canonical_text(text: str, aliases: Aliases | None = None) -> str:
    """``text`` with places, written-out numbers and spaced thousands in one spelling."""
    if not text:
        return text
    aliases = aliases or load_aliases()
    text = _SPACED_THOUSANDS.sub(lambda m: m.group(1) + re.sub(r"\D", "", m.group(2)), text)
    if aliases.places is not None:
        text = aliases.places.sub(lambda m: aliases.place_of[m.group(0)], text)
    if aliases.numbers is not None:
        text = _replace_numbers(text, aliases.numbers, aliases.number_of)
    return text


def _replace_numbers(text: str, pattern: re.Pattern[str], number_of: dict[str, str]) -> str:
    """Written-out numbers in any case ("Doce", "DOCE") as digits.

    Matched on the lower-cased text (a case-insensitive alternation is several times
    slower); where lower-casing changes the length (rare letters such as "İ"), the spans
    would not line up, so those texts go through a case-insensitive pattern instead.
    """
    lowered = text.lower()
    if len(lowered) != len(text):
        ignore_case = re.compile(pattern.pattern, re.IGNORECASE)
        return ignore_case.sub(lambda m: number_of[m.group(0).lower()], text)
    pieces: list[str] = []
    last = 0
    for match in pattern.finditer(lowered):
        pieces += (text[last : match.start()], number_of[match.group(0)])
        last = match.end()
    if not pieces:
        return text
    pieces.append(text[last:])
    return "".join(pieces)
