"""Lead specifics and their conflict: what tells two events of one topic apart."""

from __future__ import annotations

from crawler.stories.specifics import conflict, packed_specifics, specifics
from crawler.stories.terms import bag, pack_terms, story_terms

BUSH = (
    "Saints put Reggie Bush on injured reserve",
    "The New Orleans Saints placed running back Reggie Bush on injured reserve on Tuesday, "
    "ending his season. The club said the injury would keep him out for 26 days. "
    "Coach Sean Payton said the team would miss him.",
)
BUSH_AGAIN = (
    "Reggie Bush to miss the rest of the season",
    "Running back Reggie Bush was placed on injured reserve by the New Orleans Saints, the "
    "club said, and will miss 26 days. Coach Sean Payton praised him.",
)
THOMAS = (
    "Saints place Pierre Thomas on injured reserve",
    "The New Orleans Saints placed running back Pierre Thomas on injured reserve in 2011, "
    "the club said. He will be out 43 days. Coach Sean Payton said the team would miss him.",
)


def _report(title: str, text: str) -> tuple[object, frozenset[str]]:
    terms, groups = story_terms(title, text)
    return specifics(terms, groups), frozenset(bag(terms))


def _conflict(a: tuple[str, str], b: tuple[str, str]) -> tuple[float, float, float]:
    (sa, ba), (sb, bb) = _report(*a), _report(*b)
    # a watch of 10 articles in which every term is in 5 (the club, the coach) but the players
    df = dict.fromkeys(ba | bb, 5)
    df.update(reggie=1, bush=1, pierre=1, thomas=1)
    return tuple(conflict(sa, sb, ba, bb, df, 10))  # type: ignore[arg-type]


def test_two_players_of_one_club_conflict_one_player_twice_does_not() -> None:
    names, numbers, years = _conflict(BUSH, THOMAS)
    assert names > 0.5  # each names a player the other never writes
    assert numbers == 1.0  # 26 days against 43 days
    assert years == 0.0  # only one of the two writes a year
    assert _conflict(BUSH, BUSH_AGAIN) == (0.0, 0.0, 0.0)


def test_conflict_is_symmetric_and_names_every_report_shares_weigh_nothing() -> None:
    assert _conflict(BUSH, THOMAS) == _conflict(THOMAS, BUSH)
    (sa, ba), (sb, bb) = _report(*BUSH), _report(*THOMAS)
    # every name in every article of the watch: a missing one is hardly evidence
    every = dict.fromkeys(ba | bb, 10)
    assert conflict(sa, sb, ba, bb, every, 10).names < 0.05  # log(11 / 10) / log(11)


def test_packed_specifics_are_the_parsed_ones() -> None:
    terms, groups = story_terms(*THOMAS)
    parsed = specifics(terms, groups)
    assert packed_specifics(pack_terms(terms, groups)) == parsed
    assert {"#43"} == parsed.numbers and {"#2011"} == parsed.years
    assert any("pierre" in words for words in parsed.names.values())
