"""Story terms of one article: names, numbers and lead words, weighted by kind and position.

Pure text work (no database): what ``crawler.stories.story`` compares and indexes. An article is
described by the terms that survive translation and rewording: names (capitalised words,
multiword names, acronyms), numbers, and the content words of its title and lead cut to a
6-character stem, so "extradition"/"extradición" or "fentanyl"/"fentanilo" meet.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Container, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from crawler.stories.aliases import canonical_text, load_aliases
from crawler.stories.dedup_text import fold, strip_chrome

LEAD_WORDS = 80  # the lead: where every outlet puts who, what, where and how many
BODY_WORDS = 600  # names further down: who took part (bounded, so the cost per text is too)
# Past the lead a name's weight halves every BODY_HALF words: the delegation listed in the
# sixth paragraph still counts, a background mention at the end barely does.
BODY_HALF = 250
STEM = 6
# Kinds: a capitalised word inside a sentence is a name; two or more in a row a full name.
# Names and numbers identify an event; plain words mostly describe its kind ("ambush",
# "seizure"), rarely survive translation, and only a large database tells rare from common.
WEIGHT_WORD = 0.1
WEIGHT_NAME = 1.5
WEIGHT_NUMBER = 1.5
# 2 to 9: a count ("eight guardsmen", "siete reactores") is a detail of the event, but two
# unrelated reports share one by chance far more often than they share "410" or "2023".
WEIGHT_SMALL_NUMBER = 0.5
# A year (1900-2099) is no quantity: this year's is in every report ("en 2026"), a past one
# is background ("the 1944 treaty"); it weighs as a small count and never counts double.
YEARS = range(1900, 2100)
WEIGHT_FULL_NAME = 2.0

# "~stem": the word was seen in lower case. Counted in the document frequencies (never
# posted), it tells a name made of common words ("Secretaría de Seguridad", "National Guard":
# bodies that recur in every report on a subject) from a person or place ("Lozada",
# "Aguililla"), which is never written in lower case.
LOWER = "~"
# "#digits": a quantity ("#26", "#2026"); numbers are keyed by their digits, whatever the
# language wrote ("veintiséis" and "26" are one term).
NUMBER = "#"
# "@...": a term's group is a name (a person, place or body), so one shared person counts once
# whichever of their names the reports use.
NAME_GROUP = "@"

_TOKEN = re.compile(r"\d(?:[\d.,]*\d)?|[^\W\d_]+")
# Sentence ends; then clause breaks. A name never runs across either, and a capital after
# a dash, quote or colon opens a clause like a sentence ("WASHINGTON — Senior officials").
_SENTENCE = re.compile(r"(?<=[.!?…])\s+|\n+")
# A comma between digits is a thousands or decimal separator ("10,000", "2,3"), no break.
_CLAUSE = re.compile(r"((?<!\d),|,(?!\d)|[;:()\[\]\"“”„«»—–]|\s-\s)")
# Numbers written out, so a report's "twelve" meets another's "12" or "doce" (one/uno/una
# are articles as often as numbers: left out).
_NUMBER_WORDS = {
    word: str(n)
    for words, n in [
        ("two dos", 2),
        ("three tres", 3),
        ("four cuatro", 4),
        ("five cinco", 5),
        ("six seis", 6),
        ("seven siete", 7),
        ("eight ocho", 8),
        ("nine nueve", 9),
        ("ten diez", 10),
        ("twelve doce", 12),
        ("fifteen quince", 15),
        ("twenty veinte", 20),
        ("thirty treinta", 30),
        ("forty cuarenta", 40),
        ("fifty cincuenta", 50),
        ("hundred cien", 100),
    ]
    for word in words.split()
}
# "10 mil", "10 thousand" and "10,000" are one number; so are "300 millones" and "300 million".
_MULTIPLIERS = {
    "mil": "000",
    "thousand": "000",
    "million": "000000",
    "millon": "000000",
    "millones": "000000",
}

_CONNECTORS = frozenset({"of", "de", "del", "la", "las", "los"})
# Function words, months, weekdays and news chrome in English and Spanish: capitalised at
# times, shared by unrelated reports always.
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


@dataclass(slots=True)
class _Token:
    word: str
    key: str
    initial: bool  # opens its sentence or clause: a capital there proves nothing
    pos: int  # word position in the body; -1 in the title
    last: bool  # last token of its clause: a name ends here


def _tokens(part: str, start: int) -> Iterator[_Token]:
    pos = start
    for sentence in _SENTENCE.split(part):
        initial = True
        for chunk in _CLAUSE.split(sentence):
            if _CLAUSE.fullmatch(chunk):
                # after a comma a capital is still a name ("..., Jesús Antonio Lozada")
                initial = chunk != ","
                continue
            words = _TOKEN.findall(chunk)
            for i, word in enumerate(words):
                key = _term_key(word)
                if key.startswith(NUMBER) and i + 1 < len(words):
                    following = fold(words[i + 1])
                    key += _MULTIPLIERS.get(following) or _multipliers().get(following, "")
                yield _Token(word, key, initial, pos if start >= 0 else -1, i == len(words) - 1)
                initial = False
                pos += 1


class Groups(dict[str, str]):
    """Term -> entity group ("@..." for a name; a plain word is its own group)."""


def story_terms(title: str, text: str) -> tuple[dict[str, float], Groups]:
    """Terms of the title and text with their kind and position weight, and entity groups.

    A capitalised run ("President Elena Carrasco") yields its words and adjacent pairs; all of
    them map to one group ("@presid_elena_carras"; "@" marks names), so one shared person
    counts once, not three or four times.
    """
    terms: dict[str, float] = {}
    groups = Groups()

    def add(key: str, weight: float, group: str | None = None) -> None:
        if weight > terms.get(key, -1.0):
            terms[key] = weight
        # a word that is also part of a name ("states", "United States") belongs to the name
        if key not in groups or (group and not groups[key].startswith(NAME_GROUP)):
            groups[key] = group or key

    # places, written-out numbers and spaced thousands in one spelling for all languages
    title = canonical_text(title or "")
    body = canonical_text(strip_chrome(text[: BODY_WORDS * 12])).split()[:BODY_WORDS]
    tokens = list(_tokens(" ".join(body), 0))
    # a capitalised word seen inside a sentence is a name at the start of one too ("Velasco
    # told reporters"); one seen only there is as likely a plain word ("Gunmen")
    known = {t.key for t in tokens if not t.initial and t.word[:1].isupper()}
    # the body first: its full names give the title's bare surnames their group
    for part in (tokens, list(_tokens(title or "", -1))):
        run: list[_Token] = []
        for tok in part:
            key = tok.key
            is_name = (
                bool(key)
                and tok.word[0].isupper()
                and not key.startswith(NUMBER)
                and tok.pos >= 0  # title case headlines capitalise everything
                and (not tok.initial or key in known or tok.word.isupper())
            )
            if is_name and run and tok.initial:
                _add_run(run, add)  # a new clause starts a new name
                run = []
            if is_name:
                run.append(tok)
                if tok.last:
                    _add_run(run, add)
                    run = []
                continue
            if run and fold(tok.word) in _CONNECTORS and not tok.last:
                run.append(tok)  # "Office of Foreign Assets Control", "Secretaría de la Defensa"
                continue
            if run:
                _add_run(run, add)
                run = []
            if not key:
                continue
            lead = tok.pos < LEAD_WORDS
            if key.startswith(NUMBER):
                kind = WEIGHT_SMALL_NUMBER if len(key) == 2 or is_year(key) else WEIGHT_NUMBER
                add(key, kind * _position(tok.pos))
            elif tok.word.isupper() and len(tok.word) >= 2:  # acronyms in title-case headlines
                add(key, WEIGHT_NAME * _position(tok.pos), NAME_GROUP + key)
            elif lead and (len(tok.word) >= 4 or tok.word[0].isupper()):
                add(key, WEIGHT_WORD)
            if tok.word.islower() and len(tok.word) >= 4 and tok.pos >= 0:
                add(LOWER + key, 0.0)  # see _generic
        if run:
            _add_run(run, add)
    return terms, groups


def pack_terms(terms: dict[str, float], groups: dict[str, str]) -> bytes:
    """A compact, version-stable form of ``story_terms`` output (about 1 KB an article).

    Four lines, zlib over the whole: the terms, their weights to four significant digits,
    the stems seen in lower case, and "term=group" where a term's group is not itself.
    """
    keys = [t for t in terms if not t.startswith(LOWER)]
    lines = [
        " ".join(keys),
        " ".join(f"{terms[t]:.4g}" for t in keys),
        " ".join(t[len(LOWER) :] for t in terms if t.startswith(LOWER)),
        " ".join(f"{t}={g}" for t in keys if (g := groups.get(t, t)) != t),
    ]
    return zlib.compress("\n".join(lines).encode(), 6)


def unpack_terms(blob: bytes) -> tuple[dict[str, float], Groups]:
    """The inverse of ``pack_terms`` (weights rounded to four significant digits)."""
    keys_line, weights_line, lower_line, groups_line = _packed_lines(blob)
    keys = keys_line.split()
    terms = dict(zip(keys, map(float, weights_line.split()), strict=True))
    lower = [LOWER + t for t in lower_line.split()]
    terms.update(dict.fromkeys(lower, 0.0))
    groups = Groups(zip(keys, keys, strict=True))
    groups.update(zip(lower, lower, strict=True))
    groups.update(pair.partition("=")[::2] for pair in groups_line.split())
    return terms, groups


def unpack_shared(
    blob: bytes, wanted: Mapping[str, object]
) -> tuple[dict[str, float], dict[str, str], Container[str]]:
    """From packed terms, what comparing them with another article's reads: the terms in
    ``wanted`` (the other article's), in packed order, with their weights and groups, and every
    stem written in lower case."""
    packed = _readable(blob)
    place = packed.place
    # a set intersection in C finds the few shared terms; only they are read further
    shared = sorted(map(place.__getitem__, wanted.keys() & place.keys()))
    keys, weights, groups = packed.keys, packed.weights, packed.groups
    terms = {keys[i]: weights[i] for i in shared}
    return terms, {key: groups.get(key, key) for key in terms}, packed.lower


class _Readable(NamedTuple):
    """Packed terms as ``unpack_shared`` reads them."""

    keys: list[str]
    place: dict[str, int]  # each term's place in ``keys``
    weights: list[float]
    groups: dict[str, str]  # of the terms whose group is not themselves
    lower: _StemLine


@lru_cache(maxsize=512)
def _readable(blob: bytes) -> _Readable:
    """Packed terms read once per process: a stored article's never change, and the lookups
    of a crawl compare against the same recent articles (as ``body`` keeps their numbers)."""
    keys_line, weights_line, lower_line, groups_line = _packed_lines(blob)
    keys = keys_line.split()
    return _Readable(
        keys,
        dict(zip(keys, range(len(keys)), strict=True)),
        list(map(float, weights_line.split())),
        dict(pair.partition("=")[::2] for pair in groups_line.split()),
        _StemLine(lower_line),
    )


def packed_weights(blob: bytes) -> tuple[dict[str, float], dict[str, str]]:
    """Every term of packed terms with its weight, and the groups of the terms whose group is
    not themselves (a term missing there is its own group)."""
    keys_line, weights_line, _lower, groups_line = _packed_lines(blob)
    terms = dict(zip(keys_line.split(), map(float, weights_line.split()), strict=True))
    return terms, dict(pair.partition("=")[::2] for pair in groups_line.split())


def packed_bag(blob: bytes) -> list[str]:
    """Every term of packed terms with a weight, and every stem written in lower case (as
    ``LOWER`` + stem): the article's whole vocabulary as ``story_terms`` keys it."""
    keys_line, _weights, lower_line, _groups = _packed_lines(blob)
    # the prefix put before every stem by one replace, not a Python step per stem
    stems = lower_line.split()
    return [*keys_line.split(), *(f"{LOWER}{f' {LOWER}'.join(stems)}".split() if stems else ())]


def bag(terms: Mapping[str, float]) -> list[str]:
    """The same vocabulary from ``story_terms`` output (``packed_bag``'s unpacked twin)."""
    return [t for t, w in terms.items() if w > 0 or t.startswith(LOWER)]


class Kinds(NamedTuple):
    """``story_terms`` output sorted in one pass, each list in the terms' order."""

    weighed: list[str]  # the terms that are not lower-case stems (they have a rarity)
    positive: list[str]  # the terms of some weight (not ``w <= 0``)
    bag: list[str]  # ``bag``: the whole vocabulary
    lead: list[str]  # the terms weighing at least ``least``


def kinds(terms: Mapping[str, float], least: float) -> Kinds:
    """What a lookup reads of the new report's terms, in one Python step per term (a few
    hundred of them: a pass for each list would cost as much again)."""
    weighed: list[str] = []
    positive: list[str] = []
    vocabulary: list[str] = []
    lead: list[str] = []
    stem = len(LOWER)
    for t, w in terms.items():
        # (float literals: a float compared with an int takes the interpreter's slow path)
        if not w <= 0.0:
            positive.append(t)
            if w >= least:
                lead.append(t)
        if t[:stem] == LOWER:  # (a slice costs less than a call of str.startswith)
            vocabulary.append(t)
        else:
            weighed.append(t)
            if w > 0.0:
                vocabulary.append(t)
    return Kinds(weighed, positive, vocabulary, lead)


class _StemLine:
    """The lower-case stems of packed terms, searched in their line as it is: a comparison
    asks for a few of them, a set of all would cost more than every search."""

    def __init__(self, line: str) -> None:
        self.line = f" {line} "

    def __contains__(self, stem: object) -> bool:
        return f" {stem} " in self.line


@lru_cache(maxsize=64)
def _packed_lines(blob: bytes) -> tuple[str, str, str, str]:
    """The four lines of ``pack_terms``: terms, weights, lower-case stems, term=group pairs."""
    # Cached: a lookup reads each candidate's packed terms twice (what it shares, its whole
    # vocabulary), and the next lookups of a crawl compare against the same recent articles.
    keys, weights, lower, groups = zlib.decompress(blob).decode().split("\n")
    return keys, weights, lower, groups


def _add_run(run: list[_Token], add: Callable[[str, float, str | None], None]) -> None:
    """A capitalised run: its words and adjacent pairs, all in one entity group."""
    keys = [t.key for t in run if t.key and fold(t.word) not in _CONNECTORS]
    if not keys:
        return
    weight = _position(run[0].pos)
    group = NAME_GROUP + "_".join(keys)
    for a, b in zip(keys, keys[1:], strict=False):
        add(f"{a}_{b}", WEIGHT_FULL_NAME * weight, group)
    for key in keys:
        add(key, WEIGHT_NAME * weight, group)


def is_year(key: str) -> bool:
    """A number term ("#2026") that reads as a year."""
    return len(key) == 5 and int(key[1:]) in YEARS


def _position(pos: int) -> float:
    """Weight of a name or number by where it first appears."""
    return 0.5 ** (max(0, pos - LEAD_WORDS) / BODY_HALF)


@lru_cache(maxsize=65536)
def _term_key(word: str) -> str:
    # a text repeats its words, and a crawl its vocabulary: fold each word once
    if not word:
        return ""
    folded = fold(word)
    digits = re.sub(r"\D", "", word) if word[0].isdigit() else _NUMBER_WORDS.get(folded, "")
    if digits:
        # 0 and 1 are in every text ("one of", "1 de enero")
        return NUMBER + digits if int(digits) >= 2 else ""
    if folded in _STOP or len(folded) < 2 or (len(folded) < 3 and not word.isupper()):
        return ""
    return folded[:STEM]


def _multipliers() -> dict[str, str]:
    """ "millions", "milhões", "milliards": the alias table's multipliers (folded word -> zeros)."""
    return load_aliases().multipliers
