"""The lead's words of an article as of m210, frozen for that migration.

A copy of crawler/stories/terms.py's ``lead_words`` (with crawler/stories/dedup_text.py's
``fold`` and ``strip_chrome``) when packed story terms gained their fifth line. Never edit: a
later change of the live lead needs a new migration with its own frozen copy.
"""

from __future__ import annotations

import re
import unicodedata
import zlib

LEAD = "^"
LEAD_COSINE_WORDS = 40

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


def fold(text: str) -> str:
    """Casefold and strip accents ("México" -> "mexico")."""
    if text.isascii():
        return text.casefold()
    return _COMBINING.sub("", unicodedata.normalize("NFKD", text.casefold()))


def strip_chrome(text: str) -> str:
    """Drop syndication chrome (datelines, credit and copyright lines) from article text."""
    text = _DATELINE.sub("", text.lstrip(), count=1)
    kept = [
        line
        for line in text.splitlines()
        if not (_CHROME_LINE.match(line) and len(line.split()) <= _CHROME_MAX_WORDS)
    ]
    return "\n".join(kept)


_STOP = frozenset(
    fold(w)
    for w in """
    a an and are as at be been but by can could did do does for from had has have he her his
    i if in into is it its may more most new not of on or our over says said she so than that
    the their them then there these they this those to up us was we were what when where which
    while who will with would after before about against between during under also just only
    other some such very first last one two three four five six seven eight nine ten mr mrs ms
    monday tuesday wednesday thursday friday saturday sunday january february march april june
    july august september october november december jan feb mar apr jun jul aug sep sept oct
    nov dec today yesterday tomorrow week weeks year years day days month months people
    el la los las un una unos unas y o u e de del al a en por para con sin sobre entre desde
    hasta que quien quienes como cuando donde este esta estos estas ese esa eso esos esas su sus
    se le les lo no ni mas pero ya muy tambien segun tras ante hacia durante mediante es son fue
    fueron ser ha han hay habia dijo dice informo lunes martes miercoles jueves viernes sabado
    domingo enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre
    diciembre ene hoy ayer semana semanas ano anos dia dias mes meses uno dos tres cuatro cinco
    seis siete ocho nueve diez ee uu eu eua
    """.split()
)

_LEAD_WORD = re.compile(r"[^\W\d_]{3,}")


def lead_words(title: str, text: str) -> list[str]:
    """The lead's words as ``LEAD`` keys: the title's and the first LEAD_COSINE_WORDS words of
    the text's, folded, of 3 letters or more, no function word, each once, in order."""
    words = strip_chrome(text[: LEAD_COSINE_WORDS * 12]).split()[:LEAD_COSINE_WORDS]
    found = _LEAD_WORD.findall(fold(f"{title}\n{' '.join(words)}"))
    return [LEAD + w for w in dict.fromkeys(found) if w not in _STOP]


def with_lead(blob: bytes, lead: list[str]) -> bytes:
    """Packed story terms of four lines (before m210) with the lead's words as a fifth."""
    lines = zlib.decompress(blob).decode().split("\n")
    if len(lines) != 4:
        raise ValueError(f"packed story terms of {len(lines)} lines, 4 expected")
    lines.append(" ".join(word[len(LEAD) :] for word in lead))
    return zlib.compress("\n".join(lines).encode(), 6)
