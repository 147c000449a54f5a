"""Language-independent spellings for story terms, read from ``crawler/data/aliases.toml``.

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

ALIASES_PATH = Path(__file__).resolve().parents[1] / "data" / "aliases.toml"
# "5 000", "9 000" (French, with a space or a narrow no-break space) are one number
_SPACED_THOUSANDS = re.compile(r"(?<![\d.,])(\d{1,3})((?:[ \u00a0\u202f]\d{3})+)(?![\d])")


@dataclass(frozen=True)
class Aliases:
    places: re.Pattern[str] | None
    place_of: dict[str, str]
    numbers: re.Pattern[str] | None
    number_of: dict[str, str]
    multipliers: dict[str, str]  # folded word -> zeros


def _pattern(words: list[str], flags: int = 0) -> re.Pattern[str] | None:
    if not words:
        return None
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<![\w.])(?:{alternatives})(?![\w])", flags)


@lru_cache(maxsize=4)
def load_aliases(path: Path = ALIASES_PATH) -> Aliases:
    """The alias table (read once per process)."""
    from crawler.stories.dedup_text import fold

    data = tomllib.loads(path.read_text("utf-8"))
    place_of = {
        alias: name
        for name, aliases in data.get("places", {}).items()
        for alias in aliases
        if alias != name
    }
    number_of = {
        alias.casefold(): str(n)
        for n, aliases in data.get("numbers", {}).items()
        for alias in aliases
    }
    multipliers = {
        fold(word): zeros for zeros, words in data.get("multipliers", {}).items() for word in words
    }
    return Aliases(
        _pattern(list(place_of)),
        place_of,
        _pattern(list(number_of), re.IGNORECASE),
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
        text = aliases.numbers.sub(lambda m: aliases.number_of[m.group(0).casefold()], text)
    return text
