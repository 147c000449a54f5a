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
from collections.abc import Collection, Mapping
from functools import lru_cache
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


class Specifics(NamedTuple):
    """The specifics of one report's lead."""

    names: dict[str, tuple[str, ...]]  # name group -> its single-word terms in the lead
    numbers: frozenset[str]  # quantities of two digits or more (years aside)
    years: frozenset[str]


def specifics(terms: Mapping[str, float], groups: Mapping[str, str]) -> Specifics:
    """The lead's names, numbers and years of ``story_terms`` output (kind x position weights,
    not yet weighed by rarity)."""
    names: dict[str, list[str]] = {}
    numbers: set[str] = set()
    years: set[str] = set()
    for term, weight in terms.items():
        if term.startswith(NUMBER):
            if is_year(term):
                # a year weighs as a small count; at that weight it is in the lead
                if weight >= 0.5:
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


def _missing_name(
    mine: Specifics, other_bag: Collection[str], df: Mapping[str, int], total: int
) -> float:
    """The rarity in the watch (0 to 1) of the rarest-worded lead name of ``mine`` of which
    the other report writes no word."""
    if total <= 0:
        return 0.0
    scale = math.log(total + 1)
    best = 0.0
    for words in mine.names.values():
        if any(w in other_bag for w in words):
            continue
        # a name is as specific as its rarest word: "Pierre Thomas" by "Pierre"
        rarest = min(df.get(w, 0) for w in words)
        best = max(best, math.log((total + 1) / max(1, rarest)) / scale)
    return best


def _missing_share(mine: frozenset[str], other_bag: Collection[str]) -> float:
    if not mine:
        return 0.0
    return sum(n not in other_bag for n in mine) / len(mine)


def conflict(
    a: Specifics,
    b: Specifics,
    a_bag: Collection[str],
    b_bag: Collection[str],
    df: Mapping[str, int],
    total: int,
) -> Conflict:
    """What each report's lead says that the other report never writes; symmetric.

    Each measure takes the lower of the two directions: a short report that names less than a
    long one is no conflict; two reports that each name someone the other does not are. A
    report without a number or a year in its lead conflicts with nothing on that count.
    """
    names = min(_missing_name(a, b_bag, df, total), _missing_name(b, a_bag, df, total))
    numbers = 0.0
    if a.numbers and b.numbers:
        numbers = min(_missing_share(a.numbers, b_bag), _missing_share(b.numbers, a_bag))
    years = float(bool(a.years.difference(b_bag)) and bool(b.years.difference(a_bag)))
    return Conflict(names, numbers, years)
