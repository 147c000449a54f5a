"""Printed dates ("1. Juni 2025", "1 de junio de 2025", "June 1, 2025", "01.06.2025", "6/1/2025")
read with the day and month order of their own form and of the page's language.

htmldate's parsers guess the order of a numeric date and read some month names in one
language only ("1. Juni" came out as 6 January). Here a date with a month name says its own
order; a dotted numeric date is day first (German, Norwegian, Russian use); a slashed or
dashed one is day first on a page whose language writes so, month first on an en-US page,
and not taken at all when neither its numbers nor its page say which is which.
"""

from __future__ import annotations

import re
from datetime import date

_MONTHS: dict[int, tuple[str, ...]] = {
    1: (
        "january",
        "jan",
        "enero",
        "ene",
        "janeiro",
        "janvier",
        "janv",
        "januar",
        "jänner",
        "gennaio",
        "gen",
        "januari",
        "januar",
    ),
    2: (
        "february",
        "feb",
        "febrero",
        "fevereiro",
        "fev",
        "février",
        "févr",
        "fevr",
        "februar",
        "febbraio",
        "februari",
        "febr",
    ),
    3: ("march", "mar", "marzo", "março", "marco", "mars", "märz", "maerz", "mrz", "maart"),
    4: ("april", "apr", "abril", "abr", "avril", "avr", "aprile", "aprill"),
    5: ("may", "mayo", "maio", "mai", "maggio", "mei", "mag"),
    6: ("june", "jun", "junio", "junho", "juin", "juni", "giugno", "giu"),
    7: ("july", "jul", "julio", "julho", "juillet", "juil", "juli", "luglio", "lug"),
    8: ("august", "aug", "agosto", "ago", "août", "aout", "augusti", "aug"),
    9: (
        "september",
        "sep",
        "sept",
        "septiembre",
        "setiembre",
        "set",
        "setembro",
        "septembre",
        "settembre",
        "sett",
    ),
    10: (
        "october",
        "oct",
        "octubre",
        "outubro",
        "out",
        "octobre",
        "oktober",
        "okt",
        "ottobre",
        "ott",
    ),
    11: ("november", "nov", "noviembre", "novembro", "novembre"),
    12: (
        "december",
        "dec",
        "diciembre",
        "dic",
        "dezembro",
        "dez",
        "décembre",
        "déc",
        "dezember",
        "dicembre",
        "desember",
        "des",
        "december",
    ),
}
_MONTH_OF = {name: number for number, names in _MONTHS.items() for name in names}
_MONTH = "(" + "|".join(sorted(map(re.escape, _MONTH_OF), key=len, reverse=True)) + r")\.?"
_YEAR = r"((?:19|20)\d{2})"
# 1 June 2025, 1. Juni 2025, 1 de junio de 2025, 1er juin 2025, 1º de maio de 2025, 1 juni 2025
_DAY_MONTH_YEAR = re.compile(
    rf"(?<!\d)(\d{{1,2}})(?:\.|º|°|er|st|nd|rd|th)?\s+(?:de\s+)?{_MONTH}(?![a-zäöüéû])"
    rf",?\s+(?:de\s+|del\s+)?{_YEAR}(?!\d)",
    re.IGNORECASE,
)
# June 1, 2025; Jun. 1st 2025
_MONTH_DAY_YEAR = re.compile(
    rf"(?<![a-zäöüéû]){_MONTH}\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+{_YEAR}(?!\d)", re.IGNORECASE
)
_ISO = re.compile(r"(?<!\d)((?:19|20)\d{2})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)")
_NUMERIC = re.compile(r"(?<![\d/.-])(\d{1,2})([./-])(\d{1,2})\2(\d{4}|\d{2})(?![\d/-])")

# Languages that write a numeric date day first. en-US writes month first; plain "en" could
# be either, so an ambiguous numeric date on such a page is not taken.
_DAY_FIRST = frozenset(
    "es pt fr de nb nn no da sv it nl fi pl ru cs sk hu ro ca gl eu tr el uk hr sl sr bg".split()
)
_DAY_FIRST_EN = frozenset("en-gb en-ie en-au en-nz en-in en-za en-ng en-ke".split())
_MONTH_FIRST = frozenset({"en-us", "en-ph"})


class Ambiguous(Exception):
    """A numeric date whose day and month neither its numbers nor the page's language tell."""


def _valid(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _order(locale: str | None) -> str | None:
    """'dmy', 'mdy' or None (unknown) for a page language such as "de", "en-US", "es_MX"."""
    code = (locale or "").strip().lower().replace("_", "-")
    if code in _MONTH_FIRST:
        return "mdy"
    if code in _DAY_FIRST_EN:
        return "dmy"
    if code.split("-")[0] in _DAY_FIRST:
        return "dmy"
    return None


def _numeric(a: int, sep: str, b: int, year: int, locale: str | None) -> date | None:
    if year < 100:
        year += 2000
    if sep == ".":  # 01.06.2025: day first wherever dots are used
        return _valid(year, b, a)
    if a > 12 or b > 12 or a == b:
        return _valid(year, b, a) if a > 12 or a == b else _valid(year, a, b)
    order = _order(locale)
    if order is None:
        raise Ambiguous(f"{a}{sep}{b}{sep}{year}")
    return _valid(year, b, a) if order == "dmy" else _valid(year, a, b)


def printed_dates(string: str, locale: str | None = None) -> list[date]:
    """Every full date (day, month, year) written in ``string``, in order of position.

    Raises :class:`Ambiguous` for a numeric date whose order cannot be told.
    """
    found: list[tuple[int, date]] = []
    taken: list[tuple[int, int]] = []

    def add(start: int, end: int, day: date | None) -> None:
        if day is not None and not any(s < end and start < e for s, e in taken):
            taken.append((start, end))
            found.append((start, day))

    for m in _DAY_MONTH_YEAR.finditer(string):
        add(m.start(), m.end(), _valid(int(m[3]), _MONTH_OF[m[2].lower()], int(m[1])))
    for m in _MONTH_DAY_YEAR.finditer(string):
        add(m.start(), m.end(), _valid(int(m[3]), _MONTH_OF[m[1].lower()], int(m[2])))
    for m in _ISO.finditer(string):
        add(m.start(), m.end(), _valid(int(m[1]), int(m[2]), int(m[3])))
    for m in _NUMERIC.finditer(string):
        if not any(s < m.end() and m.start() < e for s, e in taken):
            add(m.start(), m.end(), _numeric(int(m[1]), m[2], int(m[3]), int(m[4]), locale))
    return [day for _, day in sorted(found, key=lambda pair: pair[0])]
