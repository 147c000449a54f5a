"""fold and strip_chrome as of m007's freeze (crawler/stories/dedup_text.py), for m007 only."""

from __future__ import annotations

import re
import unicodedata

_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")

_CHROME_LINE = re.compile(
    r"^\s*(?:"
    r"(?:additional |with )?(?:reporting|writing|editing|edited|written|compiled|translated)"
    r"(?: and \w+)? by\b"
    r"|copyright\b|©|\(c\)\s*\d{4}|all rights reserved"
    r"|our standards\b|the thomson reuters trust principles"
    r"|(?:the )?associated press (?:writers? )?.{0,80}contributed"
    r"|con informaci[oó]n de\b|(?:read|see) (?:more|also)\b|related\s*:"
    r"|lea (?:también|mas|más)\b|lee (?:también|mas|más)\b|te puede interesar\b"
    r"|(?:follow|s[ií]guenos|sign up|subscribe|suscr[ií]bete)\b"
    r"|(?:photo|foto|image|imagen)\s*:"
    r")",
    re.IGNORECASE,
)
# Wire dateline at the start: "WASHINGTON (Reuters) - ", "Ciudad de México, 26 ene (EFE).- "
_DATELINE = re.compile(
    r"^[^\n]{0,70}?\((?:reuters|ap|afp|efe|dpa|ansa|xinhua|bloomberg|europa press|notimex|apro)"
    r"\)\s*\.?\s*[-—–:]+\s*",
    re.IGNORECASE,
)
_CHROME_MAX_WORDS = 30


def strip_chrome(text: str) -> str:
    """Drop syndication chrome (datelines, credit and copyright lines) from article text."""
    text = _DATELINE.sub("", text.lstrip(), count=1)
    kept = [
        line
        for line in text.splitlines()
        if not (_CHROME_LINE.match(line) and len(line.split()) <= _CHROME_MAX_WORDS)
    ]
    return "\n".join(kept)


def fold(text: str) -> str:
    """Casefold and strip accents ("México" -> "mexico")."""
    if text.isascii():
        return text.casefold()
    return _COMBINING.sub("", unicodedata.normalize("NFKD", text.casefold()))
