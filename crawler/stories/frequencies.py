"""Document frequencies of story terms (``term_df``), read through a per-process cache that is
kept exact.

A story lookup weighs a few hundred stems (two reports' whole vocabularies); most of them
(the language's common words, the recent reports' own) were weighed a moment before. The
cache keeps each count as the database holds it, and is dropped or corrected whenever the
database may hold another:

- another connection (another process, or the same one through another handle) committed:
  SQLite's ``PRAGMA data_version`` differs, so the whole cache is dropped;
- this connection counted an article (``bump``): the counts it changed are changed here the
  same way, and the database gets a new random ``df_token`` (in ``dedup_stats``);
- this connection rolled those counts back: the database's ``df_token`` is an earlier one, so
  the changes made since then are undone here too (each keeps the terms it touched), or the
  whole cache is dropped when that token is no longer known.

Each term read has a number for the life of the process (``term_ids``): the counts are kept
in an array by that number, so a lookup weighs a report's whole vocabulary in a few array
operations instead of a dictionary step per stem.

The state (data version, token) is read in the same statement as the counts missing from
the cache, so the cache is checked on every read and serves only counts of the database's
present state. A lookup runs inside the writer's transaction, where no other connection can
commit between its statements.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from itertools import repeat
from weakref import WeakKeyDictionary

import numpy as np
import numpy.typing as npt
from sqlite_utils import Database

from crawler.store import term_counts

__all__ = [
    "bump",
    "counts_and_total",
    "document_frequencies",
    "frequencies_and_total",
    "renumber_if_full",
    "term_ids",
]

CACHE_MAX = 200_000  # terms kept per connection; past it the cache starts over
UNDO_MAX = 256  # this connection's own changes that a rollback can still be followed through
VOCABULARY_MAX = 400_000  # numbered terms per process; past it the numbering starts over

Ids = npt.NDArray[np.intp]

_IDS: dict[str, int] = {}  # every term numbered in this process, by its number's order
_TERMS: list[str] = []
_generation = 0  # the numbering's: a number of an earlier one names nothing


def term_ids(keys: Iterable[str]) -> Ids:
    """Each key's number in this process (a new key gets the next)."""
    keys = keys if isinstance(keys, list) else list(keys)
    # looked up in C, and checked for new keys in one array comparison
    ids = np.fromiter(map(_IDS.get, keys, repeat(-1)), dtype=np.intp, count=len(keys))
    if len(ids) and ids.min() < 0:
        for i in np.flatnonzero(ids < 0).tolist():
            key = keys[i]
            number = _IDS.get(key)
            if number is None:  # (a key twice in ``keys`` is numbered once)
                number = _IDS[key] = len(_TERMS)
                _TERMS.append(key)
            ids[i] = number
    return ids


def numbered() -> int:
    """How many terms the numbering holds (every number taken is below it)."""
    return len(_TERMS)


def generation() -> int:
    """The numbering's generation: numbers kept from another one are void."""
    return _generation


def renumber_if_full() -> None:
    """Start the numbering over when it holds VOCABULARY_MAX terms. Called where no number
    is held: at the start of a lookup's cosines and of each call here that takes numbers."""
    global _generation
    if len(_TERMS) >= VOCABULARY_MAX:
        _IDS.clear()
        _TERMS.clear()
        _generation += 1


class _Cache:
    """The counts read on one connection, and the database state they are the counts of."""

    def __init__(self) -> None:
        self.version: int | None = None  # PRAGMA data_version when they were read
        self.token: int | None = None  # dedup_stats.df_token when they were read
        self.generation = _generation  # the numbering ``counts`` is indexed by
        # each term's count by its number, -1 for a term not read (0: never counted)
        self.counts = np.full(max(1024, len(_TERMS)), -1, dtype=np.int64)
        self.held = 0  # terms read since the cache started (some may have been dropped)
        # (token before, terms' numbers, delta) of each count this connection made, newest
        # last
        self.undo: list[tuple[int | None, Ids, int]] = []

    def numbered(self) -> npt.NDArray[np.int64]:
        """``counts``, long enough for every number taken, of the present numbering."""
        if self.generation != _generation:
            # other numbers: the counts held name nothing, the undo log neither
            self.generation = _generation
            self.reset(self.version, self.token)
        if len(self.counts) < len(_TERMS):
            grown = np.full(max(2 * len(self.counts), len(_TERMS)), -1, dtype=np.int64)
            grown[: len(self.counts)] = self.counts
            self.counts = grown
        return self.counts

    def reset(self, version: int | None, token: int | None) -> None:
        self.version, self.token = version, token
        self.counts.fill(-1)
        self.held = 0
        self.undo.clear()

    def follow(self, version: int, token: int | None) -> bool:
        """Make the cache the counts of the database state (version, token); False if it had
        to start over."""
        if version == self.version and token == self.token:
            return True
        if version == self.version and any(before == token for before, _, _ in self.undo):
            # this connection's own counts, rolled back: undone here too, newest first (each
            # count here is then the one after that change: one more than before it; the
            # caller numbered the cache, and a numbering that changed emptied the undo log)
            counts = self.counts
            while self.token != token:
                self.token, touched, delta = self.undo.pop()
                held, times = _held(counts, touched)
                if delta > 0:
                    counts[held] -= delta * times
                else:
                    counts[held] = -1
                    self.held -= len(held)
            return True
        self.reset(version, token)
        return False


def _held(counts: npt.NDArray[np.int64], ids: Ids) -> tuple[Ids, npt.NDArray[np.intp]]:
    """The distinct numbers among ``ids`` whose count the cache holds, and how many times
    each is in ``ids``."""
    distinct, times = np.unique(ids, return_counts=True)
    kept = counts[distinct] >= 0
    return distinct[kept], times[kept]


# One cache per Database object (sqlite3 connections take no weak reference): another handle
# on the same connection has its own, and sees this one's changes as unknown tokens.
_CACHES: WeakKeyDictionary[Database, _Cache] = WeakKeyDictionary()


def _cache(db: Database) -> _Cache:
    cache = _CACHES.get(db)
    if cache is None:
        cache = _CACHES[db] = _Cache()
    return cache


def counts_and_total(db: Database, ids: Ids) -> tuple[npt.NDArray[np.int64], int]:
    """The document frequency of every numbered term (0 for a term never counted), and the
    number of articles counted: one statement when the cache holds them all, two when it had
    to start over."""
    cache = _cache(db)
    counts = cache.numbered()
    if cache.held > CACHE_MAX:
        cache.reset(cache.version, cache.token)  # the state stays known, the counts start over
    held = counts[ids]
    lacking = held < 0
    # (most reads find every count held: no sort then)
    missing = np.unique(ids[lacking]) if lacking.any() else ids[:0]
    (version, token, total), rows = term_counts.read_counts(db, _names(missing))
    # the counts gathered are the present ones unless a rollback was followed or some missed
    current = version == cache.version and token == cache.token
    if not cache.follow(version, token):
        # the cache started over: the counts of the other terms wanted are read too (this
        # statement's own rows are of the present state)
        rest = np.setdiff1d(ids, missing)
        rows += term_counts.read_counts(db, _names(rest))[1]
        missing = np.union1d(missing, rest)
    counts[missing] = 0
    cache.held += len(missing)
    if rows:
        terms, values = zip(*rows, strict=True)
        counts[term_ids(list(terms))] = values
    if len(missing) or not current:
        held = counts[ids]
    return held, int(total or 0)


def _names(ids: Ids) -> list[str]:
    return [_TERMS[i] for i in ids.tolist()]


def frequencies_and_total(db: Database, keys: Iterable[str]) -> tuple[dict[str, int], int]:
    """The document frequency of every key (0 for a term never counted), and the number of
    articles counted."""
    keys = list(keys)
    renumber_if_full()
    counts, total = counts_and_total(db, term_ids(keys))
    return dict(zip(keys, counts.tolist(), strict=True)), total


def document_frequencies(db: Database, keys: Iterable[str]) -> dict[str, int]:
    """The document frequency of every key (0 for a term never counted)."""
    return frequencies_and_total(db, keys)[0]


def bump(db: Database, terms: list[str], delta: int) -> None:
    """Count ``terms`` in (``delta`` 1) or out (-1) of the document frequencies, with one more
    or one fewer article in all; the cache follows."""
    new = secrets.randbits(62)
    cache = _CACHES.get(db)
    before = None
    if cache is not None:
        version, token, _ = term_counts.read_state(db)
        if version == cache.version and token == cache.token:
            before = token
        else:
            cache.reset(None, None)
    term_counts.count_terms(db, terms, delta, new)
    if cache is None or cache.version is None:
        return
    renumber_if_full()
    ids = term_ids(terms)
    counts = cache.numbered()
    held, times = _held(counts, ids)
    if delta > 0:
        # as the statement did: a count of 0 here is a term counted 0 times or never, and
        # either becomes delta (once for each time the term is in ``terms``)
        counts[held] = np.maximum(0, counts[held] + delta * times)
    else:
        counts[held] = -1  # never counted would become delta, counted 0 stays 0
        cache.held -= len(held)
    cache.undo.append((before, ids, delta))
    if len(cache.undo) > UNDO_MAX:
        del cache.undo[0]
    cache.token = new
