"""Topic queries: a small boolean search language matched against an article's title + text.

Syntax::

    fentanyl                 word (whole token: ``cartel`` does not match ``cartels``)
    cartel*                  prefix (``cartel``, ``cartels``, ``cartelización``)
    "security cooperation"   phrase (consecutive tokens)
    a AND b, a b             both (adjacent terms are an implicit AND)
    a OR b                   either
    NOT a, -a                not
    ( ... )                  grouping

Precedence is NOT > AND (explicit or implicit) > OR, so ``a OR b c`` is ``a OR (b AND c)``.
Only upper-case ``AND``/``OR``/``NOT`` are operators; lower-case ``and``/``or``/``not`` are
ordinary words, as in most search engines. Matching ignores case and accents (``México``
matches ``mexico``). A word containing punctuation (``anti-cartel``, ``U.S.``) is matched as a
phrase of its parts, and ``*`` inside quotes is ignored. A leading ``-`` means NOT only at the
start of a term, so ``anti-cartel`` is one term.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from bisect import bisect_left
from collections.abc import Container, Sequence
from dataclasses import dataclass
from functools import cache

__all__ = [
    "Query",
    "QueryError",
    "fts5_match",
    "matched_terms",
    "matching_topics",
    "parse_query",
    "tokenize_text",
    "topics_key",
]

_WORD_RE = re.compile(r"[^\W_]+")  # unicode letters and digits; '_' is a separator


# Where Unicode has combining marks: the Basic and Supplementary Multilingual Planes and the
# Supplementary Special-purpose Plane (variation selectors). Planes 2-3 are ideographs, 4-13
# unassigned, 15-16 private use (tests/test_topics.py checks this against all of Unicode).
MARK_PLANES = (range(0x0000, 0x20000), range(0xE0000, 0xF0000))


class _MarksTable(dict[int, int | None]):
    """``str.translate``'s table that deletes every combining mark: All of Mn/Mc/Me, not just
    accents (a mark left in place would split a word in two, because the tokenizer regex does
    not match marks). Filled as characters are met, each looked up once: listing every mark
    beforehand walks 200,000 code points (~0.04 s in every process that reads an accent)."""

    def __missing__(self, cp: int) -> int | None:
        mark = any(cp in plane for plane in MARK_PLANES) and unicodedata.category(chr(cp))[0] == "M"
        self[cp] = None if mark else cp
        return self[cp]


@cache
def _marks_table() -> _MarksTable:
    return _MarksTable()


def tokenize_text(text: str) -> list[str]:
    """Split text into normalised tokens: NFKD, combining marks stripped, casefolded.

    Tokens are runs of Unicode letters and digits, so ``"¿Extradición a México?"`` gives
    ``["extradicion", "a", "mexico"]``.
    """
    if text.isascii():
        return _WORD_RE.findall(text.lower())
    text = unicodedata.normalize("NFKD", text).translate(_marks_table())
    # Checked over all of Unicode: casefolding after NFKD + mark stripping brings no new marks.
    return _WORD_RE.findall(text.casefold())


class QueryError(ValueError):
    """A syntax error in a topic query; ``column`` is 1-based (0 when not positional)."""

    def __init__(self, message: str, column: int = 0) -> None:
        super().__init__(message)
        self.column = column


class _Document:
    """One tokenized document, shared by every query evaluated against it."""

    __slots__ = ("tokens", "token_set", "_sorted")

    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.token_set = frozenset(tokens)
        self._sorted: list[str] | None = None

    def has_prefix(self, prefix: str) -> bool:
        if self._sorted is None:  # only documents reaching a prefix term pay for the sort
            self._sorted = sorted(self.token_set)
        i = bisect_left(self._sorted, prefix)
        return i < len(self._sorted) and self._sorted[i].startswith(prefix)


# Query tree. Frozen dataclasses so a compiled Query pickles and compares by value.


@dataclass(frozen=True, slots=True)
class _Word:
    token: str

    def evaluate(self, doc: _Document) -> bool:
        return self.token in doc.token_set

    def possible(self, words: Container[str]) -> bool:
        return self.token in words


@dataclass(frozen=True, slots=True)
class _Prefix:
    prefix: str

    def evaluate(self, doc: _Document) -> bool:
        return doc.has_prefix(self.prefix)

    def possible(self, words: Container[str]) -> bool:
        return self.prefix in words


@dataclass(frozen=True, slots=True)
class _Phrase:
    tokens: tuple[str, ...]  # at least two
    last_is_prefix: bool = False

    def possible(self, words: Container[str]) -> bool:
        # Order and adjacency are not required: extraction can make words adjacent (a
        # footnote mark between them removed).
        return all(token in words for token in self.tokens)

    def evaluate(self, doc: _Document) -> bool:
        exact = self.tokens[:-1] if self.last_is_prefix else self.tokens
        if not all(t in doc.token_set for t in exact):  # cheap rejection
            return False
        if self.last_is_prefix and not doc.has_prefix(self.tokens[-1]):
            return False
        tokens, first, n = doc.tokens, self.tokens[0], len(self.tokens)
        last = len(tokens) - n  # last possible start; guard it, a negative end would wrap
        if last < 0:
            return False
        start = 0
        while True:
            try:
                i = tokens.index(first, start, last + 1)  # C-speed scan for candidates
            except ValueError:
                return False
            if self._matches_at(tokens, i):
                return True
            start = i + 1

    def _matches_at(self, tokens: list[str], i: int) -> bool:
        n = len(self.tokens)
        for k in range(1, n):
            want, have = self.tokens[k], tokens[i + k]
            if self.last_is_prefix and k == n - 1:
                if not have.startswith(want):
                    return False
            elif have != want:
                return False
        return True


@dataclass(frozen=True, slots=True)
class _Not:
    child: _Node

    def evaluate(self, doc: _Document) -> bool:
        return not self.child.evaluate(doc)

    def possible(self, words: Container[str]) -> bool:
        return True  # "NOT a" can hold whatever the page says


@dataclass(frozen=True, slots=True)
class _And:
    children: tuple[_Node, ...]

    def evaluate(self, doc: _Document) -> bool:
        return all(c.evaluate(doc) for c in self.children)

    def possible(self, words: Container[str]) -> bool:
        return all(c.possible(words) for c in self.children)


@dataclass(frozen=True, slots=True)
class _Or:
    children: tuple[_Node, ...]

    def evaluate(self, doc: _Document) -> bool:
        return any(c.evaluate(doc) for c in self.children)

    def possible(self, words: Container[str]) -> bool:
        return any(c.possible(words) for c in self.children)


_Node = _Word | _Prefix | _Phrase | _Not | _And | _Or


@dataclass(frozen=True)
class Query:
    """A compiled topic query; build it with :func:`parse_query`. Picklable and reusable."""

    source: str
    root: _Node

    def matches(self, text: str) -> bool:
        """True if ``text`` (title + "\\n" + body) satisfies the query."""
        return self.root.evaluate(_Document(tokenize_text(text)))

    def possible(self, words: Container[str]) -> bool:
        """A necessary condition of :meth:`matches`, for the topic pre-filter.

        ``words`` answers ``token in words`` for every token the text could contain (see
        ``crawler.topics.prefilter``); False means no text drawn from it can match.
        """
        return self.root.possible(words)


# Lexer. Token kinds: "(" ")" AND OR NOT TERM PHRASE. Columns are 1-based.


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    text: str
    column: int


_OPERATORS = frozenset({"AND", "OR", "NOT"})


def _lex(query: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(query)
    while i < n:
        ch, col = query[i], i + 1
        if ch.isspace():
            i += 1
        elif ch in "()":
            tokens.append(_Token(ch, ch, col))
            i += 1
        elif ch == '"':
            end = query.find('"', i + 1)
            if end < 0:
                raise QueryError(f"unterminated quote at column {col}", col)
            tokens.append(_Token("PHRASE", query[i + 1 : end], col))
            i = end + 1
        elif ch == "-" and i + 1 < n and query[i + 1] in '("':
            tokens.append(_Token("NOT", "-", col))
            i += 1
        else:
            j = i
            while j < n and query[j] not in '()"' and not query[j].isspace():
                j += 1
            word = query[i:j]
            if word == "-":
                raise QueryError(f"'-' at column {col} must be followed by a term", col)
            if word.startswith("-"):
                tokens.append(_Token("NOT", "-", col))
                word, col = word[1:], col + 1
            kind = word if word in _OPERATORS else "TERM"
            tokens.append(_Token(kind, word, col))
            i = j
    return tokens


# Parser: recursive descent over
#   or_expr  := and_expr (OR and_expr)*
#   and_expr := not_expr ((AND)? not_expr)*
#   not_expr := NOT not_expr | primary
#   primary  := TERM | PHRASE | "(" or_expr ")"

_STARTS_OPERAND = frozenset({"TERM", "PHRASE", "(", "NOT"})
# Parentheses and NOTs nested deeper than this are refused: each level costs a few Python
# frames here and in evaluation, and a hostile or mistyped query must not reach the
# interpreter's recursion limit (RecursionError). Real queries nest two or three levels.
MAX_NESTING = 100


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.depth = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def parse(self) -> _Node:
        node = self.or_expr()
        if (token := self.peek()) is not None:  # only an unmatched ')' stops or_expr early
            raise QueryError(f"unbalanced parenthesis: ')' at column {token.column}", token.column)
        return node

    def or_expr(self) -> _Node:
        children = [self.and_expr()]
        while (token := self.peek()) is not None and token.kind == "OR":
            self.take()
            self.expect_operand(token)
            children.append(self.and_expr())
        return children[0] if len(children) == 1 else _Or(_flatten(_Or, children))

    def and_expr(self) -> _Node:
        children = [self.not_expr()]
        while (token := self.peek()) is not None:
            if token.kind == "AND":
                self.take()
                self.expect_operand(token)
            elif token.kind not in _STARTS_OPERAND:
                break
            children.append(self.not_expr())
        return children[0] if len(children) == 1 else _And(_flatten(_And, children))

    def not_expr(self) -> _Node:
        token = self.peek()
        self.depth += 1
        if self.depth > MAX_NESTING:
            column = token.column if token is not None else 0
            raise QueryError(
                f"nested deeper than {MAX_NESTING} levels (parentheses or NOT) at column {column}",
                column,
            )
        try:
            if token is not None and token.kind == "NOT":
                self.take()
                self.expect_operand(token)
                return _Not(self.not_expr())
            return self.primary()
        finally:
            self.depth -= 1

    def expect_operand(self, op: _Token) -> None:
        token = self.peek()
        if token is None or token.kind not in _STARTS_OPERAND:
            found = "end of query" if token is None else f"{token.text!r} at column {token.column}"
            raise QueryError(
                f"dangling operator {op.text} at column {op.column}: "
                f"expected a term, found {found}",
                op.column,
            )

    def primary(self) -> _Node:
        token = self.take()  # callers guarantee there is one
        if token.kind in ("AND", "OR"):
            raise QueryError(
                f"operator {token.text} at column {token.column} has no left operand",
                token.column,
            )
        if token.kind == ")":
            raise QueryError(f"unbalanced parenthesis: ')' at column {token.column}", token.column)
        if token.kind == "(":
            return self.group(token)
        if token.kind == "PHRASE":
            return _phrase_node(token, tokenize_text(token.text), False, "phrase")
        return _term_node(token)

    def group(self, opening: _Token) -> _Node:
        inner = self.peek()
        if inner is not None and inner.kind == ")":
            raise QueryError(f"empty parentheses at column {opening.column}", opening.column)
        if inner is None:
            raise QueryError(
                f"unbalanced parenthesis: '(' at column {opening.column} is never closed",
                opening.column,
            )
        node = self.or_expr()
        closing = self.peek()
        if closing is None or closing.kind != ")":
            raise QueryError(
                f"unbalanced parenthesis: '(' at column {opening.column} is never closed",
                opening.column,
            )
        self.take()
        return node


def _flatten(cls: type[_And] | type[_Or], children: list[_Node]) -> tuple[_Node, ...]:
    # (a OR b) OR c evaluates like a OR b OR c; one level keeps evaluation shallow.
    flat: list[_Node] = []
    for child in children:
        flat.extend(child.children if isinstance(child, cls) else (child,))
    return tuple(flat)


def _term_node(token: _Token) -> _Node:
    word = token.text
    stripped = word.rstrip("*")
    prefix = stripped != word
    if not stripped:
        raise QueryError(f"bare '*' at column {token.column}: a prefix needs letters", token.column)
    if "*" in stripped:
        column = token.column + stripped.index("*")
        raise QueryError(f"'*' at column {column} is only allowed at the end of a word", column)
    return _phrase_node(token, tokenize_text(stripped), prefix, "term")


def _phrase_node(token: _Token, parts: list[str], prefix: bool, what: str) -> _Node:
    if not parts:
        if what == "phrase" and not token.text.strip():
            raise QueryError(f"empty phrase at column {token.column}", token.column)
        raise QueryError(
            f"{what} {token.text!r} at column {token.column} has no letters or digits",
            token.column,
        )
    if len(parts) == 1:
        return _Prefix(parts[0]) if prefix else _Word(parts[0])
    return _Phrase(tuple(parts), prefix)


def parse_query(query: str) -> Query:
    """Compile a topic query; raises :class:`QueryError` (a ``ValueError``) on bad syntax."""
    tokens = _lex(query)
    if not tokens:
        raise QueryError("empty query")
    return Query(query, _Parser(tokens).parse())


def matching_topics(topics: Sequence[tuple[str, Query]], title: str, text: str) -> list[str]:
    """Names of the topics whose query matches the page, in ``topics`` order.

    The page is tokenized once and every query is evaluated against the same tokens.
    """
    doc = _Document(tokenize_text(f"{title}\n{text}"))
    return [name for name, query in topics if query.root.evaluate(doc)]


def topics_key(topics: Sequence[tuple[str, str]]) -> str | None:
    """A digest of the watched (name, query) pairs: what an off-topic verdict was made against
    (None without topics, where nothing is off-topic)."""
    if not topics:
        return None
    text = "\n".join(f"{name}\t{query}" for name, query in sorted(topics))
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


# -- what matched, and the same query for SQLite's FTS5 ---------------------------------------


def _leaves(node: _Node, negated: bool = False) -> list[tuple[_Word | _Prefix | _Phrase, bool]]:
    """Every term of the tree with whether it stands under a NOT."""
    if isinstance(node, _Not):
        return _leaves(node.child, not negated)
    if isinstance(node, _And | _Or):
        return [leaf for child in node.children for leaf in _leaves(child, negated)]
    return [(node, negated)]


def _term_text(node: _Word | _Prefix | _Phrase) -> str:
    if isinstance(node, _Word):
        return node.token
    if isinstance(node, _Prefix):
        return f"{node.prefix}*"
    return '"' + " ".join(node.tokens) + ("*" if node.last_is_prefix else "") + '"'


def matched_terms(query: Query, title: str, text: str) -> list[str]:
    """The query's terms found in the page (title + text), in query order, as normalised
    words; a prefix names the words it matched (``cartel* (carteles, cartels)``); a term
    under NOT that was found is marked ``NOT …``. Empty when none was found."""
    doc = _Document(tokenize_text(f"{title}\n{text}"))
    found: list[str] = []
    for leaf, negated in _leaves(query.root):
        if not leaf.evaluate(doc):
            continue
        shown = _term_text(leaf)
        if isinstance(leaf, _Prefix):
            words = sorted(t for t in doc.token_set if t.startswith(leaf.prefix))
            shown += f" ({', '.join(words[:5])}{', …' if len(words) > 5 else ''})"
        shown = f"NOT {shown}" if negated else shown
        if shown not in found:
            found.append(shown)
    return found


def _fts_term(node: _Word | _Prefix | _Phrase) -> str:
    # Normalised tokens are letters and digits only: quoting cannot be broken out of.
    if isinstance(node, _Word):
        return f'"{node.token}"'
    if isinstance(node, _Prefix):
        return f'"{node.prefix}"*'
    return '"' + " ".join(node.tokens) + '"' + ("*" if node.last_is_prefix else "")


def fts5_match(query: Query) -> str:
    """The query as an FTS5 MATCH expression with the same meaning (the index folds case and
    accents as the topic matcher does). FTS5's NOT subtracts from something: a query (or an
    OR branch) made only of NOT terms raises :class:`QueryError`."""
    return _fts(query.root)


def _fts(node: _Node) -> str:
    if isinstance(node, _Word | _Prefix | _Phrase):
        return _fts_term(node)
    if isinstance(node, _Or):
        return "(" + " OR ".join(_fts(child) for child in node.children) + ")"
    children = node.children if isinstance(node, _And) else (node,)
    positive = [c for c in children if not isinstance(c, _Not)]
    negative = [c.child for c in children if isinstance(c, _Not)]
    if not positive:
        raise QueryError(
            "NOT needs something to leave out from: a search matches terms, e.g. "
            "'mexico NOT fentanyl' or 'mexico -fentanyl'",
            1,
        )
    text = " AND ".join(_fts(child) for child in positive)
    text = f"({text})" if len(positive) > 1 else text
    for child in negative:
        text += f" NOT {_fts(child)}"
    return f"({text})" if negative else text
