from __future__ import annotations

import pickle
import sys
import unicodedata

import pytest

from crawler.topics.query import (
    MARK_PLANES,
    Query,
    QueryError,
    _marks_table,
    matching_topics,
    parse_query,
    tokenize_text,
)

DEFAULT_QUERY = (
    '(fentanyl OR cartel* OR extradit* OR "security cooperation") '
    "AND (Mexico OR Mexican OR México OR Sheinbaum)"
)


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("Hello, World!", ["hello", "world"]),
        ("¿Extradición a MÉXICO?", ["extradicion", "a", "mexico"]),
        ("Sheinbaum's plan", ["sheinbaum", "s", "plan"]),
        ("anti-cartel snake_case", ["anti", "cartel", "snake", "case"]),
        ("Straße ﬁnance", ["strasse", "finance"]),  # casefold and NFKD ligature
        ("İstanbul NAÏVE", ["istanbul", "naive"]),
        ("Me\u0301xico", ["mexico"]),  # already decomposed input
        ("covid-19 in 2024", ["covid", "19", "in", "2024"]),
        ("Ｍｅｘｉｃｏ", ["mexico"]),  # full-width letters
        ("", []),
        ("  ...  ", []),
    ],
)
def test_tokenize_text(text: str, tokens: list[str]) -> None:
    assert tokenize_text(text) == tokens


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        # words: whole tokens only, case- and accent-insensitive
        ("cartel", "The cartel grew", True),
        ("cartel", "Cartels grew", False),
        ("CARTEL", "the cartel", True),
        ("mexico", "Viaje a México", True),
        ("México", "mexico city", True),
        ("extradición", "extradicion request", True),
        ("extradicion", "La EXTRADICIÓN fue aprobada", True),
        # prefixes
        ("cartel*", "Cartels grew", True),
        ("cartel*", "the cartel", True),
        ("cartel*", "a carte blanche", False),
        ("extradit*", "He was extradited", True),
        ("extradit*", "Pidieron la extradición", False),  # 'extradic' != 'extradit'
        ("extradi*", "Pidieron la extradición", True),
        ("zz*", "aa bb", False),
        # phrases: consecutive tokens
        ('"security cooperation"', "new Security Cooperation deal", True),
        ('"security cooperation"', "cooperation on security", False),
        ('"security cooperation"', "security and cooperation", False),
        ('"security cooperation"', "security\ncooperation", True),
        ('"cooperation"', "cooperation", True),
        ('"a b a c"', "a b a b a c", True),  # overlapping start candidates
        ('"a a a a a"', "a a a", False),  # phrase longer than the text
        ('"a a a"', "a a a", True),
        ('"b c"', "a b", False),  # first token at the very end
        ('"Ciudad de México"', "en la ciudad de mexico", True),
        ("anti-cartel", "an anti cartel law", True),
        ("anti-cartel", "anti drug cartel", False),
        ("anti-cart*", "anti-cartel law", True),
        ("U.S.", "the U.S. said", True),
        # NOT and '-'
        ("NOT cartel", "nothing here", True),
        ("NOT cartel", "a cartel", False),
        ("mexico -cartel", "mexico news", True),
        ("mexico -cartel", "mexico cartel", False),
        ('mexico -"drug cartel"', "mexico cartel drug", True),
        ("mexico -(cartel OR fentanyl)", "mexico fentanyl", False),
        ("NOT NOT cartel", "cartel", True),
        # implicit AND
        ("mexico cartel", "cartel in mexico", True),
        ("mexico cartel", "mexico only", False),
        # precedence: NOT > AND > OR
        ("a OR b c", "a", True),  # a OR (b AND c)
        ("a OR b c", "b", False),
        ("a OR b AND c", "b c", True),
        ("a b OR c", "c", True),  # (a AND b) OR c
        ("NOT a OR b", "b a", True),  # (NOT a) OR b
        ("NOT a OR b", "a", False),
        ("NOT a b", "b", True),  # (NOT a) AND b
        ("NOT a b", "a b", False),
        # parentheses
        ("(a OR b) c", "b c", True),
        ("(a OR b) c", "b", False),
        ("a (b OR (c d))", "a c d", True),
        ("a (b OR (c d))", "a c", False),
        # lower-case operators are plain words
        ("mexico or cartel", "mexico cartel", False),
        ("mexico or cartel", "mexico or cartel", True),
        ("war and peace", "war and peace", True),
        # the default topic, in English and Spanish
        (DEFAULT_QUERY, "Mexico extradites cartel leaders", True),
        (DEFAULT_QUERY, "Sheinbaum discusses security cooperation", True),
        (DEFAULT_QUERY, "Fentanyl deaths rise in Ohio", False),
        (DEFAULT_QUERY, "Mexican peso rallies", False),
        (DEFAULT_QUERY, "El cártel de Sinaloa y el gobierno de México", True),
        (DEFAULT_QUERY, "Sheinbaum anuncia extradiciones", False),
        (DEFAULT_QUERY, "Sheinbaum: el fentanilo no se produce en México", False),
    ],
)
def test_matches(query: str, text: str, expected: bool) -> None:
    assert parse_query(query).matches(text) is expected


@pytest.mark.parametrize(
    ("query", "message", "column"),
    [
        ("", "empty query", 0),
        ("   ", "empty query", 0),
        ("(a OR b", "unbalanced parenthesis: '(' at column 1 is never closed", 1),
        ("a OR (b", "unbalanced parenthesis: '(' at column 6 is never closed", 6),
        ("(", "unbalanced parenthesis: '(' at column 1 is never closed", 1),
        ("a OR b)", "unbalanced parenthesis: ')' at column 7", 7),
        (")", "unbalanced parenthesis: ')' at column 1", 1),
        ("a ( )", "empty parentheses at column 3", 3),
        ('"security cooperation', "unterminated quote at column 1", 1),
        ('a "b" "c', "unterminated quote at column 7", 7),
        ('a ""', "empty phrase at column 3", 3),
        ("a AND", "dangling operator AND at column 3: expected a term, found end of query", 3),
        ("a OR", "dangling operator OR at column 3", 3),
        ("NOT", "dangling operator NOT at column 1", 1),
        ("a AND OR b", "dangling operator AND at column 3: expected a term, found 'OR'", 3),
        ("(a OR)", "dangling operator OR at column 4: expected a term, found ')' at column 6", 4),
        ("OR a", "operator OR at column 1 has no left operand", 1),
        ("(AND a)", "operator AND at column 2 has no left operand", 2),
        ("a - b", "'-' at column 3 must be followed by a term", 3),
        ("a *", "bare '*' at column 3", 3),
        ("a -*", "bare '*' at column 4", 4),
        ("ex*dit", "'*' at column 3 is only allowed at the end of a word", 3),
        ("a &", "term '&' at column 3 has no letters or digits", 3),
        ('"..."', "phrase '...' at column 1 has no letters or digits", 1),
    ],
)
def test_syntax_errors(query: str, message: str, column: int) -> None:
    with pytest.raises(QueryError) as excinfo:
        parse_query(query)
    assert message in str(excinfo.value)
    assert excinfo.value.column == column
    assert isinstance(excinfo.value, ValueError)


def test_query_is_picklable_and_reusable() -> None:
    query = parse_query(DEFAULT_QUERY)
    clone = pickle.loads(pickle.dumps(query))
    assert clone == query
    assert clone.source == DEFAULT_QUERY
    assert clone.matches("México extradites a cartel boss")
    assert query.matches("México extradites a cartel boss")
    assert not query.matches("nothing relevant")


def test_equivalent_spellings_compile_alike() -> None:
    assert parse_query("a AND NOT b").root == parse_query("a -b").root
    assert parse_query("(a OR b) OR c").root == parse_query("a OR b OR c").root


def test_matching_topics_returns_names_in_order() -> None:
    topics: list[tuple[str, Query]] = [
        ("mexico-security", parse_query(DEFAULT_QUERY)),
        ("ohio", parse_query("Ohio")),
        ("fentanyl", parse_query("fentanyl OR fentanilo")),
    ]
    title = "Sheinbaum y el fentanilo"
    text = "El gobierno de México habló de cooperación.\nNo cartel mentioned."
    assert matching_topics(topics, title, text) == ["mexico-security", "fentanyl"]
    assert matching_topics(topics, "", "") == []
    assert matching_topics([], title, text) == []


def test_phrase_may_span_title_and_body() -> None:
    # The join is only a newline, so tokens run on from title into body.
    query = parse_query('"security cooperation"')
    assert matching_topics([("t", query)], "Security", "cooperation talks") == ["t"]


def test_marks_table_covers_every_combining_mark_in_unicode() -> None:
    every = {
        cp for cp in range(sys.maxunicode + 1) if unicodedata.category(chr(cp)).startswith("M")
    }
    # Every mark is in MARK_PLANES (checked above over all of Unicode): the table deletes
    # each one of them and keeps every other character there (and, by construction, beyond).
    assert all(any(cp in plane for plane in MARK_PLANES) for cp in every)
    planes = "".join(chr(cp) for plane in MARK_PLANES for cp in plane)
    kept = planes.translate(_marks_table())
    assert kept == "".join(c for c in planes if ord(c) not in every)
    assert "a\U00030000\U0010ffff".translate(_marks_table()) == "a\U00030000\U0010ffff"
