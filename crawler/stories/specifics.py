"""What two reports of one topic say differently: the specifics of their leads.

Two events of one topic (two earthquakes in one region, two players put on injured reserve by
one club) share most of their words and names; what tells them apart is written in the
leads: who (a person the other report never names), how many (26 pirates against 23), when
("in 2009" against "in 2008"). Shared evidence (``story.compare``) cannot see this: it only
counts what the two have in common. Conflict is what stops a streaming linker from chaining
two similar events through one bridging pair.

Pure text work on ``story_terms`` output (or its packed form): no database. A report's lead is
its title and its first ``terms.LEAD_WORDS`` words, where a term keeps its full kind weight.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from functools import lru_cache
from itertools import repeat
from operator import itemgetter
from typing import NamedTuple

from crawler.stories.terms import (
    NAME_GROUP,
    NUMBER,
    WEIGHT_NAME,
    WEIGHT_NUMBER,
    is_year,
    packed_bag,
    packed_weights,
)

YEAR_IN_LEAD = 0.5  # a year weighs as a small count; at that weight it is in the lead
LEAD_MIN = min(YEAR_IN_LEAD, WEIGHT_NUMBER, WEIGHT_NAME)  # the least weight of a specific


class Specifics(NamedTuple):
    """The specifics of one report's lead."""

    names: dict[str, tuple[str, ...]]  # name group -> its single-word terms in the lead
    numbers: frozenset[str]  # quantities of two digits or more (years aside)
    years: frozenset[str]


def specifics(
    terms: Mapping[str, float], groups: Mapping[str, str], lead: Iterable[str] | None = None
) -> Specifics:
    """The lead's names, numbers and years of ``story_terms`` output (kind x position weights,
    not yet weighed by rarity). ``lead``, if given, holds (in order) every term weighing at
    least LEAD_MIN, the least a specific weighs: the few terms looked at."""
    names: dict[str, list[str]] = {}
    numbers: set[str] = set()
    years: set[str] = set()
    if lead is None:
        lead = [t for t, w in terms.items() if w >= LEAD_MIN]
    for term in lead:
        weight = terms[term]
        if term.startswith(NUMBER):
            if is_year(term):
                if weight >= YEAR_IN_LEAD:
                    years.add(term)
            elif weight >= WEIGHT_NUMBER:  # two digits or more, in the lead
                numbers.add(term)
            continue
        group = groups.get(term, term)
        if weight >= WEIGHT_NAME and group.startswith(NAME_GROUP) and "_" not in term:
            names.setdefault(group, []).append(term)
    return Specifics(
        {g: tuple(words) for g, words in names.items()}, frozenset(numbers), frozenset(years)
    )


@lru_cache(maxsize=512)
def packed_specifics(blob: bytes) -> Specifics:
    """``specifics`` of packed terms (``terms.pack_terms``), remembered per process: the
    lookups of a crawl compare against the same recent articles."""
    terms, groups = packed_weights(blob)
    return specifics(terms, groups)


@lru_cache(maxsize=512)
def packed_words(blob: bytes) -> frozenset[str]:
    """The whole vocabulary of packed terms (``terms.packed_bag``) as a set, remembered per
    process like ``packed_specifics``: what ``conflict`` asks "does it write this?"."""
    return frozenset(packed_bag(blob))


class Conflict(NamedTuple):
    names: float  # the lighter of the two reports' heaviest lead name the other never writes
    numbers: float  # the share of lead quantities the other never writes, the lower of the two
    years: float  # 1 when each report's lead has a year the other never writes


class Lead(NamedTuple):
    """A report's lead specifics with its names weighed by their rarity in the watch, as one
    lookup knows it: a lookup weighs the new report's once for all its candidates."""

    specifics: Specifics
    names: list[tuple[float, tuple[str, ...]]]  # (rarity 0 to 1, words) of each, rarest first


def weigh_lead(lead: Specifics, df: Mapping[str, int], total: int) -> Lead:
    """``lead`` with each name's rarity in the watch: that of its rarest word ("Pierre
    Thomas" is as specific as "Pierre"), ``df`` holding every name word's count."""
    if total <= 0 or not lead.names:
        return Lead(lead, [])
    scale = math.log(total + 1)
    names = [
        (math.log((total + 1) / max(1, min(map(df.get, words, repeat(0))))) / scale, words)
        for words in lead.names.values()
    ]
    names.sort(key=itemgetter(0), reverse=True)
    return Lead(lead, names)


def _missing_name(mine: Lead, other_bag: AbstractSet[str]) -> float:
    """The rarity in the watch (0 to 1) of the rarest-worded lead name of ``mine`` of which
    the other report writes no word."""
    # rarest first: the first name missing is the rarest missing
    for rarity, words in mine.names:
        if other_bag.isdisjoint(words):
            return max(0.0, rarity)
    return 0.0


def _missing_rarest(
    mine: Specifics, other_bag: AbstractSet[str], df: Mapping[str, int], total: int
) -> float:
    """``_missing_name`` of a lead not weighed (the candidate's, read once per lookup): only
    the names the other report never writes are weighed."""
    if total <= 0:
        return 0.0
    scale = math.log(total + 1)
    best = 0.0
    for words in mine.names.values():
        if other_bag.isdisjoint(words):
            rarest = min(map(df.get, words, repeat(0)))
            best = max(best, math.log((total + 1) / max(1, rarest)) / scale)
    return best


def _missing_share(mine: frozenset[str], other_bag: AbstractSet[str]) -> float:
    if not mine:
        return 0.0
    return len(mine.difference(other_bag)) / len(mine)


def lead_conflict(
    a: Lead,
    b: Specifics,
    a_bag: AbstractSet[str],
    b_bag: AbstractSet[str],
    df: Mapping[str, int],
    total: int,
) -> Conflict:
    """``conflict`` of a weighed lead (``weigh_lead``) and another report's specifics."""
    names = _missing_name(a, b_bag)
    if names > 0.0:  # (else the lower of the two directions is 0 whatever b's)
        names = min(names, _missing_rarest(b, a_bag, df, total))
    sa = a.specifics
    numbers = 0.0
    if sa.numbers and b.numbers:
        numbers = min(_missing_share(sa.numbers, b_bag), _missing_share(b.numbers, a_bag))
    years = float(bool(sa.years.difference(b_bag)) and bool(b.years.difference(a_bag)))
    return Conflict(names, numbers, years)


def conflict(
    a: Specifics,
    b: Specifics,
    a_bag: AbstractSet[str],
    b_bag: AbstractSet[str],
    df: Mapping[str, int],
    total: int,
) -> Conflict:
    """What each report's lead says that the other report never writes; symmetric.

    Each measure takes the lower of the two directions: a short report that names less than a
    long one is no conflict; two reports that each name someone the other does not are. A
    report without a number or a year in its lead conflicts with nothing on that count.
    """
    return lead_conflict(weigh_lead(a, df, total), b, a_bag, b_bag, df, total)
