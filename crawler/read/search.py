"""Bounds on what one `newswatch search` may cost: terms, prefix expansions.

FTS5 expands ``pre*`` against every indexed term sharing the prefix and evaluates every term
of a query; a 3,000-term prefix query took minutes of CPU. A query over the bounds is not
refused: it is searched in a cheaper form, and the note says how.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from crawler.store.reads import indexed_terms_between

MAX_TERMS = 32  # words and phrases in one query
MAX_PREFIXES = 8  # prefix* terms in one query
MAX_EXPANSIONS = 2_000  # indexed terms all the prefixes of a query may stand for together
MIN_PREFIX_CHARS = 2

_TOKEN = re.compile(r'"(?:[^"]|"")*"\*?|[()]|[^\s()"]+')
_OPERATORS = {"AND", "OR", "NOT"}


@dataclass(frozen=True)
class SearchPlan:
    """The FTS5 query actually run, and a note when it differs from what was asked."""

    match: str
    note: str | None = None


def quote_words(query: str) -> str:
    """Each word of ``query`` as an FTS5 phrase: what a query with syntax errors becomes."""
    words = re.findall(r"[^\s\"]+", query)
    return " ".join('"' + word.replace('"', '""') + '"' for word in words)


def _is_term(token: str) -> bool:
    return token not in _OPERATORS and token not in ("(", ")") and not token.startswith("NEAR")


def _folded(prefix: str) -> str:
    """The prefix as the unicode61 tokenizer indexes it: lower case, accents removed."""
    decomposed = unicodedata.normalize("NFKD", prefix.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def prefix_expansions(db: Database, prefixes: list[str]) -> int | None:
    """How many indexed terms the prefixes stand for (None: cannot tell on this database)."""
    ranges = []
    for prefix in prefixes:
        low = _folded(prefix)
        if not low:  # only combining marks: no range to count
            return None
        ranges.append((low, low[:-1] + chr(ord(low[-1]) + 1)))
    return indexed_terms_between(db, ranges)


def plan_search(db: Database, query: str) -> SearchPlan:
    """The query to run: ``query`` itself when within bounds, otherwise a bounded form."""
    tokens = _TOKEN.findall(query)
    terms = [t for t in tokens if _is_term(t)]
    if len(terms) > MAX_TERMS:
        any_of = "OR" in tokens
        words = [quote_words(t.rstrip("*")) for t in terms[:MAX_TERMS]]
        return SearchPlan(
            (" OR " if any_of else " ").join(w for w in words if w),
            f"the query has {len(terms)} terms; searched the first {MAX_TERMS} as plain "
            f"words, {'any' if any_of else 'all'} of them",
        )
    prefixes = [t[:-1].strip('"') for t in terms if t.endswith("*")]
    whole_words = " ".join(t[:-1] if _is_term(t) and t.endswith("*") else t for t in tokens)
    short = [p for p in prefixes if len(p) < MIN_PREFIX_CHARS]
    if short or len(prefixes) > MAX_PREFIXES:
        why = (
            f"a prefix shorter than {MIN_PREFIX_CHARS} characters"
            if short
            else f"{len(prefixes)} prefix terms (at most {MAX_PREFIXES})"
        )
        return SearchPlan(whole_words, f"{why}; searched prefix terms as whole words")
    if prefixes:
        expansions = prefix_expansions(db, prefixes)
        if expansions is not None and expansions > MAX_EXPANSIONS:
            return SearchPlan(
                whole_words,
                f"the prefixes stand for {expansions} indexed words "
                f"(at most {MAX_EXPANSIONS}); searched prefix terms as whole words",
            )
    return SearchPlan(query)


@dataclass(frozen=True)
class SearchResult:
    """Hits, and how the query was searched when not as written (None: as written)."""

    rows: list[dict[str, Any]]
    note: str | None = None
